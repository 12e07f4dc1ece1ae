//! Test support: an RSA key made in the test, a token signer, a fake provider and a fake
//! platform that records every subrequest, so flows run natively and assert exact outcomes.

use crate::http::{InboundResponse, OutboundRequest};
use crate::platform::{FetchError, Level, Platform, StoreError};
use crate::util::{b64url, sha256};
use jwt_compact::alg::{Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Claims, Header};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;

/// Two RSA-2048 keys, generated once per test binary.
pub fn keys() -> &'static [RsaPrivateKey; 2] {
    static KEYS: OnceLock<[RsaPrivateKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand_core::OsRng;
        [
            RsaPrivateKey::new(&mut rng, 2048).expect("keygen"),
            RsaPrivateKey::new(&mut rng, 2048).expect("keygen"),
        ]
    })
}

pub fn jwk(key: &RsaPrivateKey, kid: &str) -> Value {
    let public = RsaPublicKey::from(key);
    let jwk = JsonWebKey::from(&public);
    let mut v = serde_json::to_value(&jwk).unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v["alg"] = json!("RS256");
    v
}

/// Signs `claims` as RS256 with `key`, header `kid`.
pub fn sign(key: &RsaPrivateKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::empty().with_token_type("JWT");
    if let Some(k) = kid {
        header = header.with_key_id(k);
    }
    let claims = Claims::new(claims.clone());
    Rsa::rs256().token(&header, &claims, key).unwrap()
}

/// Builds an unsigned-looking token with an arbitrary header (for algorithm attacks).
pub fn raw_token(header: &Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(sig)
    )
}

pub fn at_hash(access_token: &str) -> String {
    b64url(&sha256(access_token.as_bytes())[..16])
}

/// Runs a future to completion on this thread (parks until woken: a future that never wakes
/// hangs visibly instead of spinning).
pub fn block_on<F: Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

pub const ISSUER: &str = "https://id.example/access-management-1.0/access/";
pub const DISCOVERY_URL: &str = "https://id.example/access-management-1.0/access/.well-known/openid-configuration";
pub const TOKEN_URL: &str = "https://id.example/access-management-1.0/access/oauth2/token";
pub const JWKS_URL: &str = "https://id.example/access-management-1.0/access/.well-known/jwks.json";
pub const USERINFO_URL: &str = "https://id.example/vipps-userinfo-api/userinfo";
/// Where the operator's consent notifications go in tests (`CONSENT_WEBHOOK_FORWARD`).
pub const FORWARD_URL: &str = "https://crm.example/hooks/vipps";
pub const SUB: &str = "c06c4afe-d9e1-4c5d-939a-177d752a0944";

/// Mutates ID token claims before signing.
pub type ClaimsHook = Box<dyn Fn(&mut Value)>;

/// A fake provider: what it answers can be changed per test.
pub struct FakeIdp {
    pub discovery_cache_control: RefCell<Option<String>>,
    pub jwks: RefCell<Value>,
    /// Mutates the ID token claims before signing (hostile cases).
    pub id_token_claims: RefCell<ClaimsHook>,
    pub signing_key: Cell<usize>,
    pub kid: RefCell<Option<String>>,
    pub userinfo: RefCell<Value>,
    pub down: Cell<bool>,
    /// The nonce the fake sends back; set by the test from the authorize URL.
    pub nonce: RefCell<String>,
    /// Status the forward target ([`FORWARD_URL`]) answers with.
    pub forward_status: Cell<u16>,
}

impl Default for FakeIdp {
    fn default() -> Self {
        FakeIdp {
            discovery_cache_control: RefCell::new(Some("max-age=3600".into())),
            jwks: RefCell::new(json!({"keys": [jwk(&keys()[0], "public:key-0")]})),
            id_token_claims: RefCell::new(Box::new(|_| {})),
            signing_key: Cell::new(0),
            kid: RefCell::new(Some("public:key-0".into())),
            userinfo: RefCell::new(json!({"sub": SUB, "name": "Ada Lovelace", "email": "ada@example.com",
                "email_verified": true, "nin": "10121550047", "phone_number": "4712345678"})),
            down: Cell::new(false),
            nonce: RefCell::new(String::new()),
            forward_status: Cell::new(204),
        }
    }
}

pub fn json_response(status: u16, body: &Value, extra: &[(&str, &str)]) -> InboundResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InboundResponse { status, headers, body: body.to_string().into_bytes() }
}

impl FakeIdp {
    pub fn discovery_doc() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://id.example/access-management-1.0/access/oauth2/auth",
            "token_endpoint": TOKEN_URL,
            "jwks_uri": JWKS_URL,
            "userinfo_endpoint": USERINFO_URL,
        })
    }

    pub fn id_token(&self, now: u64, access_token: &str) -> String {
        let mut claims = json!({
            "iss": ISSUER, "sub": SUB, "aud": ["client-1"], "exp": now + 3600, "iat": now,
            "auth_time": now, "nonce": *self.nonce.borrow(), "sid": "sid-1", "jti": "jti-1",
            "at_hash": at_hash(access_token),
        });
        (self.id_token_claims.borrow())(&mut claims);
        let key = &keys()[self.signing_key.get()];
        sign(key, self.kid.borrow().as_deref(), &claims)
    }

    pub fn answer(&self, req: &OutboundRequest, now: u64) -> Result<InboundResponse, FetchError> {
        if self.down.get() {
            return Err(FetchError::Network("connection refused".into()));
        }
        Ok(match req.url.as_str() {
            DISCOVERY_URL => {
                let cc = self.discovery_cache_control.borrow().clone();
                let extra: Vec<(&str, &str)> = cc.as_deref().map(|c| vec![("cache-control", c)]).unwrap_or_default();
                json_response(200, &Self::discovery_doc(), &extra)
            }
            JWKS_URL => json_response(200, &self.jwks.borrow(), &[]),
            TOKEN_URL => {
                let at = "access-token-1";
                json_response(200, &json!({"access_token": at, "id_token": self.id_token(now, at),
                    "token_type": "bearer", "expires_in": 3599, "scope": "openid name email"}), &[("cache-control", "no-store")])
            }
            USERINFO_URL => json_response(200, &self.userinfo.borrow(), &[]),
            FORWARD_URL => InboundResponse { status: self.forward_status.get(), headers: Vec::new(), body: Vec::new() },
            _ => json_response(404, &json!({"error": "not_found"}), &[]),
        })
    }
}

/// A platform with a settable clock, an in-memory KV, and a record of everything.
pub struct FakePlatform {
    pub now: Cell<u64>,
    pub idp: FakeIdp,
    pub kv: RefCell<HashMap<String, String>>,
    pub kv_broken: Cell<bool>,
    pub kv_reads: Cell<usize>,
    /// Milliseconds every subrequest takes (the clock moves on by it, or by the timeout when
    /// that is shorter, which then fails the call as a timeout).
    pub latency_ms: Cell<u64>,
    /// Milliseconds on top of `now` (seconds): moved by `latency_ms`.
    pub extra_ms: Cell<u64>,
    /// The timeout each subrequest was given.
    pub timeouts: RefCell<Vec<u64>>,
    pub requests: RefCell<Vec<OutboundRequest>>,
    pub logs: RefCell<Vec<(Level, String, String)>>,
    pub counter: Cell<u8>,
    /// Every subrequest yields to the executor once before it answers, so concurrent requests
    /// interleave as they do in one isolate.
    pub yield_on_fetch: Cell<bool>,
    /// Static assets by path (operator page templates), how often they were read, and
    /// whether reading fails.
    pub assets: RefCell<HashMap<String, Vec<u8>>>,
    pub asset_reads: Cell<usize>,
    pub assets_broken: Cell<bool>,
}

impl Default for FakePlatform {
    fn default() -> Self {
        FakePlatform {
            now: Cell::new(1_700_000_000),
            idp: FakeIdp::default(),
            kv: RefCell::new(HashMap::new()),
            kv_broken: Cell::new(false),
            kv_reads: Cell::new(0),
            latency_ms: Cell::new(0),
            extra_ms: Cell::new(0),
            timeouts: RefCell::new(Vec::new()),
            requests: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            counter: Cell::new(0),
            yield_on_fetch: Cell::new(false),
            assets: RefCell::new(HashMap::new()),
            asset_reads: Cell::new(0),
            assets_broken: Cell::new(false),
        }
    }
}

impl FakePlatform {
    pub fn count(&self, url: &str) -> usize {
        self.requests.borrow().iter().filter(|r| r.url == url).count()
    }
    pub fn logged(&self, code: &str) -> bool {
        self.logs.borrow().iter().any(|(_, c, _)| c == code)
    }
    pub fn advance(&self, secs: u64) {
        self.now.set(self.now.get() + secs);
    }
}

impl Platform for FakePlatform {
    fn now_millis(&self) -> u64 {
        self.now.get() * 1000 + self.extra_ms.get()
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        // Distinct per call, deterministic per test.
        self.counter.set(self.counter.get().wrapping_add(1));
        let seed = sha256(&[self.counter.get()]);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed[i % 32];
        }
        Ok(())
    }
    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        if self.yield_on_fetch.get() {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    std::task::Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
        }
        self.requests.borrow_mut().push(req.clone());
        self.timeouts.borrow_mut().push(timeout_ms);
        let waited = self.latency_ms.get().min(timeout_ms);
        self.extra_ms.set(self.extra_ms.get() + waited);
        if self.latency_ms.get() > timeout_ms {
            return Err(FetchError::Timeout);
        }
        self.idp.answer(&req, self.now.get())
    }
    async fn sleep(&self, ms: u64) {
        // Lets other requests run, and moves the clock on.
        let mut slept = false;
        std::future::poll_fn(|cx| {
            if slept {
                std::task::Poll::Ready(())
            } else {
                slept = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        self.extra_ms.set(self.extra_ms.get() + ms);
    }
    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.kv_reads.set(self.kv_reads.get() + 1);
        if self.kv_broken.get() {
            return Err(StoreError("kv down".into()));
        }
        Ok(self.kv.borrow().get(key).cloned())
    }
    async fn kv_put(&self, key: &str, value: String, _ttl: u64) -> Result<(), StoreError> {
        if self.kv_broken.get() {
            return Err(StoreError("kv down".into()));
        }
        self.kv.borrow_mut().insert(key.to_string(), value);
        Ok(())
    }
    async fn asset(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.asset_reads.set(self.asset_reads.get() + 1);
        if self.assets_broken.get() {
            return Err("assets down".into());
        }
        Ok(self.assets.borrow().get(path).cloned())
    }
    fn log(&self, level: Level, code: &str, detail: &str) {
        self.logs.borrow_mut().push((level, code.to_string(), detail.to_string()));
    }
}
