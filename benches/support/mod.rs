//! Shared by the benches: a fake Vipps (discovery, JWKS, token, userinfo) answering in-process,
//! and a platform that counts every subrequest and KV operation. Modelled on `src/testkit.rs`,
//! but built only on the crate's public API.
#![allow(dead_code)]

use jwt_compact::alg::{Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use vipps_edge_login::app::App;
use vipps_edge_login::config::Config;
use vipps_edge_login::http::{InboundResponse, IncomingRequest, OutboundRequest, Outcome, Reply};
pub use vipps_edge_login::platform::Platform;
use vipps_edge_login::platform::{FetchError, Level, StoreError};
use vipps_edge_login::util::{b64url, sha256};

pub const ORIGIN: &str = "https://shop.example";
pub const ISSUER: &str = "https://id.example/access-management-1.0/access/";
pub const DISCOVERY_URL: &str =
    "https://id.example/access-management-1.0/access/.well-known/openid-configuration";
pub const AUTHORIZE_URL: &str = "https://id.example/access-management-1.0/access/oauth2/auth";
pub const TOKEN_URL: &str = "https://id.example/access-management-1.0/access/oauth2/token";
pub const JWKS_URL: &str = "https://id.example/access-management-1.0/access/.well-known/jwks.json";
pub const USERINFO_URL: &str = "https://id.example/vipps-userinfo-api/userinfo";
pub const CLIENT_ID: &str = "bench-client";
pub const SUB: &str = "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11";
pub const KID: &str = "public:0b1f6c1e-8f7a-4c55-9d2a-6c1e0b1f6c1e";
pub const T0: u64 = 1_760_000_000;

/// The vars of the root `wrangler.toml`, pointed at the fake provider.
pub fn config() -> Config {
    let vars: HashMap<&str, &str> = [
        ("VIPPS_DISCOVERY_URL", DISCOVERY_URL),
        ("VIPPS_CLIENT_ID", CLIENT_ID),
        ("VIPPS_CLIENT_SECRET", "bench-client-secret"),
        ("VIPPS_REDIRECT_URI", "https://shop.example/auth/callback"),
        ("SESSION_SECRET", "bench-session-secret-0123456789abcdef"),
        ("VIPPS_SCOPE", "openid name email"),
        ("VIPPS_TOKEN_AUTH_METHOD", "client_secret_basic"),
        ("SESSION_TTL", "86400"),
        (
            "SESSION_CLAIMS",
            "name,given_name,family_name,email,email_verified",
        ),
        ("LOGIN_TIMEOUT", "600"),
        ("AUTH_PATH_PREFIX", "/auth"),
        ("PUBLIC_PATHS", "/, /index.html, /favicon.ico, /assets/*"),
        ("PROTECTED_PATHS", "/*"),
        ("BACKEND", "assets"),
    ]
    .into_iter()
    .collect();
    Config::from_lookup(&|k| vars.get(k).map(|v| v.to_string())).expect("bench config")
}

pub fn new_app() -> App {
    App::new(Ok(config()))
}

pub fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("RSA-2048 keygen")
}

pub fn jwks_json(key: &RsaPrivateKey) -> Value {
    let public = RsaPublicKey::from(key);
    let mut v = serde_json::to_value(JsonWebKey::from(&public)).unwrap();
    v["kid"] = json!(KID);
    v["use"] = json!("sig");
    v["alg"] = json!("RS256");
    json!({ "keys": [v] })
}

pub fn at_hash(access_token: &str) -> String {
    b64url(&sha256(access_token.as_bytes())[..16])
}

/// An ID token shaped like Vipps': RS256, `kid`, the usual claims.
pub fn id_token(key: &RsaPrivateKey, now: u64, nonce: &str, access_token: &str) -> String {
    let claims = json!({
        "iss": ISSUER, "sub": SUB, "aud": [CLIENT_ID], "exp": now + 3600, "iat": now, "auth_time": now,
        "nonce": nonce, "sid": "1f9b2c3d-0000-4000-8000-000000000001", "jti": "2a8c3d4e-0000-4000-8000-000000000002",
        "amr": ["BankID"], "at_hash": at_hash(access_token), "idp": "Vipps", "acr": "1",
    });
    let header = Header::empty().with_token_type("JWT").with_key_id(KID);
    Rsa::rs256()
        .token(&header, &Claims::new(claims), key)
        .unwrap()
}

pub fn userinfo() -> Value {
    json!({
        "sub": SUB, "name": "Kari Nordmann", "given_name": "Kari", "family_name": "Nordmann",
        "email": "kari.nordmann@example.no", "email_verified": true, "phone_number": "4791234567",
        "sid": "1f9b2c3d-0000-4000-8000-000000000001",
    })
}

pub fn json_response(body: &Value, extra: &[(&str, &str)]) -> InboundResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InboundResponse {
        status: 200,
        headers,
        body: body.to_string().into_bytes(),
    }
}

/// The fake provider. Discovery carries `max-age=3600` and the JWKS no `Cache-Control`, as the
/// simulator (and, as far as is known, Vipps) sends them.
pub struct FakeVipps {
    pub key: RsaPrivateKey,
    pub jwks: Value,
    /// Nonce to put in the next ID token (the test reads it from the authorize URL).
    pub nonce: RefCell<String>,
    /// When set, the token endpoint answers this pre-built body (CPU benches: no RSA signing).
    pub canned_token_response: RefCell<Option<Value>>,
    pub discovery_cache_control: Option<String>,
    pub jwks_cache_control: Option<String>,
}

pub const ACCESS_TOKEN: &str = "eyJhbGciOi.access-token-opaque-to-the-client.sig";

impl FakeVipps {
    pub fn new(key: RsaPrivateKey) -> FakeVipps {
        let jwks = jwks_json(&key);
        FakeVipps {
            key,
            jwks,
            nonce: RefCell::new(String::new()),
            canned_token_response: RefCell::new(None),
            discovery_cache_control: Some("public, max-age=3600".into()),
            jwks_cache_control: None,
        }
    }

    pub fn discovery_doc() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": AUTHORIZE_URL,
            "token_endpoint": TOKEN_URL,
            "jwks_uri": JWKS_URL,
            "userinfo_endpoint": USERINFO_URL,
            "scopes_supported": ["openid", "address", "name", "email", "phoneNumber", "nin", "birthDate"],
            "code_challenge_methods_supported": ["plain", "S256"],
        })
    }

    pub fn token_response(&self, now: u64) -> Value {
        json!({"access_token": ACCESS_TOKEN, "id_token": id_token(&self.key, now, &self.nonce.borrow(), ACCESS_TOKEN),
            "token_type": "bearer", "expires_in": 599, "scope": "openid name email"})
    }

    pub fn answer(&self, req: &OutboundRequest, now: u64) -> InboundResponse {
        let cc = |c: &Option<String>| -> Vec<(&str, String)> {
            c.iter().map(|v| ("cache-control", v.clone())).collect()
        };
        match req.url.as_str() {
            DISCOVERY_URL => {
                let h = cc(&self.discovery_cache_control);
                let extra: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
                json_response(&Self::discovery_doc(), &extra)
            }
            JWKS_URL => {
                let h = cc(&self.jwks_cache_control);
                let extra: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
                json_response(&self.jwks, &extra)
            }
            TOKEN_URL => {
                let body = self
                    .canned_token_response
                    .borrow()
                    .clone()
                    .unwrap_or_else(|| self.token_response(now));
                json_response(&body, &[("cache-control", "no-store")])
            }
            USERINFO_URL => json_response(&userinfo(), &[]),
            _ => InboundResponse {
                status: 404,
                headers: Vec::new(),
                body: b"{}".to_vec(),
            },
        }
    }
}

/// Which endpoint a subrequest went to.
pub fn endpoint(url: &str) -> &'static str {
    match url {
        DISCOVERY_URL => "discovery",
        JWKS_URL => "jwks",
        TOKEN_URL => "token",
        USERINFO_URL => "userinfo",
        _ => "other",
    }
}

/// Counts per endpoint and per KV operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub discovery: u64,
    pub jwks: u64,
    pub token: u64,
    pub userinfo: u64,
    pub other: u64,
    pub kv_get: u64,
    pub kv_put: u64,
}

impl Counts {
    pub fn subrequests(&self) -> u64 {
        self.discovery + self.jwks + self.token + self.userinfo + self.other
    }
    pub fn minus(&self, b: &Counts) -> Counts {
        Counts {
            discovery: self.discovery - b.discovery,
            jwks: self.jwks - b.jwks,
            token: self.token - b.token,
            userinfo: self.userinfo - b.userinfo,
            other: self.other - b.other,
            kv_get: self.kv_get - b.kv_get,
            kv_put: self.kv_put - b.kv_put,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"discovery": self.discovery, "jwks": self.jwks, "token": self.token, "userinfo": self.userinfo,
            "other": self.other, "subrequests": self.subrequests(), "kv_get": self.kv_get, "kv_put": self.kv_put})
    }
}

/// A platform with a settable clock, a KV that honours expiration TTLs, and counters.
pub struct CountingPlatform<'v> {
    pub now_ms: Cell<u64>,
    pub vipps: &'v FakeVipps,
    /// key -> (value, expires at in seconds)
    pub kv: RefCell<HashMap<String, (String, u64)>>,
    pub counts: RefCell<Counts>,
    /// With `fixed_random`, every `fill_random` gives the same bytes (so state and nonce are
    /// known in advance and an ID token can be signed once, outside the timed loop).
    pub fixed_random: bool,
    pub counter: Cell<u64>,
}

impl<'v> CountingPlatform<'v> {
    pub fn new(vipps: &'v FakeVipps) -> Self {
        CountingPlatform {
            now_ms: Cell::new(T0 * 1000),
            vipps,
            kv: RefCell::new(HashMap::new()),
            counts: RefCell::new(Counts::default()),
            fixed_random: false,
            counter: Cell::new(0),
        }
    }
    pub fn advance(&self, secs: u64) {
        self.now_ms.set(self.now_ms.get() + secs * 1000);
    }
    pub fn counts(&self) -> Counts {
        self.counts.borrow().clone()
    }
}

impl Platform for CountingPlatform<'_> {
    fn now_millis(&self) -> u64 {
        self.now_ms.get()
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        let n = if self.fixed_random {
            0
        } else {
            self.counter.get() + 1
        };
        self.counter.set(n);
        let seed = sha256(&n.to_le_bytes());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed[i % 32];
        }
        Ok(())
    }
    async fn fetch(&self, req: OutboundRequest, _timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        {
            let mut c = self.counts.borrow_mut();
            match endpoint(&req.url) {
                "discovery" => c.discovery += 1,
                "jwks" => c.jwks += 1,
                "token" => c.token += 1,
                "userinfo" => c.userinfo += 1,
                _ => c.other += 1,
            }
        }
        Ok(self.vipps.answer(&req, self.now()))
    }
    async fn sleep(&self, _ms: u64) {}
    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.counts.borrow_mut().kv_get += 1;
        let now = self.now();
        Ok(self
            .kv
            .borrow()
            .get(key)
            .filter(|(_, exp)| now < *exp)
            .map(|(v, _)| v.clone()))
    }
    async fn kv_put(&self, key: &str, value: String, ttl_secs: u64) -> Result<(), StoreError> {
        self.counts.borrow_mut().kv_put += 1;
        let exp = self.now() + ttl_secs;
        self.kv.borrow_mut().insert(key.to_string(), (value, exp));
        Ok(())
    }
    fn log(&self, _level: Level, _code: &str, _detail: &str) {}
}

/// Runs a future that never really waits (the fake platform answers at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

pub fn reply(o: Outcome) -> Reply {
    match o {
        Outcome::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// A browser-ish GET with a cookie header.
pub fn get(path: &str, cookie: &str) -> IncomingRequest {
    let mut r = IncomingRequest::get(&format!("{ORIGIN}{path}"))
        .unwrap()
        .with_header("accept", "text/html,application/xhtml+xml")
        .with_header("user-agent", "bench");
    if !cookie.is_empty() {
        r = r.with_header("cookie", cookie);
    }
    r
}

/// `name=value` of the first `Set-Cookie` named `name` in `reply`.
pub fn cookie_pair(reply: &Reply, name: &str) -> Option<String> {
    reply
        .set_cookies()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_string())
}

pub fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .unwrap()
        .1
        .into_owned()
}

/// The login start: returns (transaction cookie pair, state) and tells the fake the nonce.
pub fn start_login<P: Platform>(
    app: &App,
    p: &P,
    vipps: &FakeVipps,
    return_to: &str,
) -> (String, String) {
    let r = reply(block_on(
        app.handle(p, &get(&format!("/auth/login?return_to={return_to}"), "")),
    ));
    assert_eq!(r.status, 302, "login start");
    let loc = r.header("location").unwrap().to_string();
    *vipps.nonce.borrow_mut() = query_param(&loc, "nonce");
    (
        cookie_pair(&r, "__Host-vipps-login").expect("transaction cookie"),
        query_param(&loc, "state"),
    )
}

pub fn callback_request(tx_cookie: &str, state: &str) -> IncomingRequest {
    let q = vipps_edge_login::util::form_encode([
        ("code", "a-single-use-code-0123456789"),
        ("state", state),
        ("scope", "openid name email"),
    ]);
    get(&format!("/auth/callback?{q}"), tx_cookie)
}

/// A whole login; returns the session cookie pair.
pub fn login<P: Platform>(app: &App, p: &P, vipps: &FakeVipps) -> String {
    let (tx, state) = start_login(app, p, vipps, "%2Fprivate%2F");
    let r = reply(block_on(app.handle(p, &callback_request(&tx, &state))));
    assert_eq!(r.status, 303, "callback: {}", r.body);
    cookie_pair(&r, "__Host-vipps-session").expect("session cookie")
}

/// A protected request; asserts it is let through.
pub fn protected<P: Platform>(app: &App, p: &P, session: &str) {
    match block_on(app.handle(p, &get("/private/", session))) {
        Outcome::Forward(vipps_edge_login::policy::forward::Forward { user: Some(_), .. }) => {}
        other => panic!("protected request not forwarded: {other:?}"),
    }
}
