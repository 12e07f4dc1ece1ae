//! Test support, one copy for the unit tests, the criterion benches (`benches/`) and the core in
//! wasm (`bench/wasmcore`), which get it through the `testkit` feature (never the Worker): RSA
//! keys made in the process, a token signer, a fake provider and a fake platform that counts and
//! records every subrequest and KV operation, so flows run natively and assert exact outcomes.
//! [`bench`] holds what only the benches use: a provider answering as Vipps does, and logins.

use crate::http::{InboundResponse, OutboundRequest, Outcome, Reply};
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
use std::task::{Context, Poll, Waker};

/// Two RSA-2048 keys, generated once per process.
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

/// The RSA public key of a JWK's base64url `n` and `e` (`None` when they are not one).
pub fn rsa_public(n_b64: &str, e_b64: &str) -> Option<RsaPublicKey> {
    let n = rsa::BigUint::from_bytes_be(&crate::util::b64url_decode(n_b64)?);
    let e = rsa::BigUint::from_bytes_be(&crate::util::b64url_decode(e_b64)?);
    RsaPublicKey::new(n, e).ok()
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

/// A fixed P-256 key (`i` picks one of a few) for ES256 tokens.
pub fn ec_key(i: u8) -> crate::oidc::es256::SigningKey {
    crate::oidc::es256::SigningKey::from_slice(&[i.saturating_add(1); 32]).expect("a valid P-256 scalar")
}

/// The public JWK of an [`ec_key`].
pub fn ec_jwk(key: &crate::oidc::es256::SigningKey, kid: &str) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
           "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y"))})
}

/// Signs `claims` as ES256 with `key`, header `kid`.
pub fn sign_es256(key: &crate::oidc::es256::SigningKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::empty().with_token_type("JWT");
    if let Some(k) = kid {
        header = header.with_key_id(k);
    }
    crate::oidc::es256::Es256.token(&header, &Claims::new(claims.clone()), key).unwrap()
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

/// Runs a future to completion on this thread. The first poll uses a no-op waker, so a future
/// that is ready at once (every one in the benches' timed loops) costs no allocation; otherwise
/// pollster takes over and parks until woken (a future that never wakes hangs visibly instead
/// of spinning).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        return v;
    }
    pollster::block_on(f)
}

/// Returns `Pending` once, waking itself: lets the executor run something else.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

pub fn reply(o: Outcome) -> Reply {
    match o {
        Outcome::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// `name=value` of the first `Set-Cookie` named `name` in `reply`.
pub fn cookie_pair(reply: &Reply, name: &str) -> Option<String> {
    reply
        .set_cookies()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// The query parameter `name` of `url` (which must have it).
pub fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).unwrap().1.into_owned()
}

pub const ISSUER: &str = "https://id.example/access-management-1.0/access/";
pub const DISCOVERY_URL: &str = "https://id.example/access-management-1.0/access/.well-known/openid-configuration";
pub const AUTHORIZE_URL: &str = "https://id.example/access-management-1.0/access/oauth2/auth";
pub const TOKEN_URL: &str = "https://id.example/access-management-1.0/access/oauth2/token";
pub const JWKS_URL: &str = "https://id.example/access-management-1.0/access/.well-known/jwks.json";
pub const USERINFO_URL: &str = "https://id.example/vipps-userinfo-api/userinfo";
/// Where the operator's consent notifications go in tests (`CONSENT_WEBHOOK_FORWARD`).
pub const FORWARD_URL: &str = "https://crm.example/hooks/vipps";
pub const SUB: &str = "c06c4afe-d9e1-4c5d-939a-177d752a0944";
/// The backchannel endpoint of login from phone number, in discovery when [`FakeIdp::ciba`] is on.
pub const BACKCHANNEL_URL: &str = "https://id.example/vipps-login-ciba/api/backchannel/authentication";

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
    /// The access token the token endpoint issues (the ID token's `at_hash` covers it).
    pub access_token: RefCell<String>,
    /// The token response's `expires_in`.
    pub expires_in: Cell<u64>,
    /// When set, the token endpoint answers this body as it is and signs nothing (timed loops
    /// must not sign; bench/wasmcore's ID token is signed by Node, which holds its key).
    pub canned_token_response: RefCell<Option<String>>,
    /// Login from phone number: discovery names [`BACKCHANNEL_URL`], which starts logins (and
    /// takes their `nonce` as [`FakeIdp::nonce`]); off by default.
    pub ciba: Cell<bool>,
    /// CIBA polls answered `authorization_pending` before the token response (counts down).
    pub ciba_pending: Cell<u64>,
}

impl Default for FakeIdp {
    fn default() -> Self {
        FakeIdp::with_jwks(json!({"keys": [jwk(&keys()[0], "public:key-0")]}))
    }
}

pub fn json_response(status: u16, body: &Value, extra: &[(&str, &str)]) -> InboundResponse {
    json_bytes(status, body.to_string().into_bytes(), extra)
}

fn json_bytes(status: u16, body: Vec<u8>, extra: &[(&str, &str)]) -> InboundResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InboundResponse { status, headers, body }
}

impl FakeIdp {
    /// The provider the tests use, publishing `jwks` (generates no key: `jwks` may come from
    /// elsewhere, and ID tokens are signed with [`keys`] only when asked for one).
    pub fn with_jwks(jwks: Value) -> Self {
        FakeIdp {
            discovery_cache_control: RefCell::new(Some("max-age=3600".into())),
            jwks: RefCell::new(jwks),
            id_token_claims: RefCell::new(Box::new(|_| {})),
            signing_key: Cell::new(0),
            kid: RefCell::new(Some("public:key-0".into())),
            userinfo: RefCell::new(json!({"sub": SUB, "name": "Ada Lovelace", "email": "ada@example.com",
                "email_verified": true, "nin": "10121550047", "phone_number": "4712345678"})),
            down: Cell::new(false),
            nonce: RefCell::new(String::new()),
            forward_status: Cell::new(204),
            access_token: RefCell::new("access-token-1".into()),
            expires_in: Cell::new(3599),
            canned_token_response: RefCell::new(None),
            ciba: Cell::new(false),
            ciba_pending: Cell::new(0),
        }
    }

    /// Shaped like Vipps' (the core reads the endpoints and ignores the rest).
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

    /// The token endpoint's answer, with an ID token signed now.
    pub fn token_response(&self, now: u64) -> Value {
        let at = self.access_token.borrow();
        json!({"access_token": *at, "id_token": self.id_token(now, &at), "token_type": "bearer",
            "expires_in": self.expires_in.get(), "scope": "openid name email"})
    }

    pub fn answer(&self, req: &OutboundRequest, now: u64) -> Result<InboundResponse, FetchError> {
        if self.down.get() {
            return Err(FetchError::Network("connection refused".into()));
        }
        let body = req.body.as_deref().unwrap_or_default();
        Ok(match req.url.as_str() {
            DISCOVERY_URL => {
                let cc = self.discovery_cache_control.borrow().clone();
                let extra: Vec<(&str, &str)> = cc.as_deref().map(|c| vec![("cache-control", c)]).unwrap_or_default();
                let mut doc = Self::discovery_doc();
                if self.ciba.get() {
                    doc["backchannel_authentication_endpoint"] = json!(BACKCHANNEL_URL);
                }
                json_response(200, &doc, &extra)
            }
            BACKCHANNEL_URL if self.ciba.get() => {
                let nonce = url::form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "nonce").map(|(_, v)| v.into_owned());
                if let Some(n) = nonce {
                    *self.nonce.borrow_mut() = n;
                }
                json_response(200, &json!({"auth_req_id": "req-1", "expires_in": 600, "interval": 5}), &[("cache-control", "no-store")])
            }
            TOKEN_URL if self.ciba.get() && body.contains("grant-type%3Aciba&") && self.ciba_pending.get() > 0 => {
                self.ciba_pending.set(self.ciba_pending.get() - 1);
                json_response(400, &json!({"error": "authorization_pending"}), &[("cache-control", "no-store")])
            }
            JWKS_URL => json_response(200, &self.jwks.borrow(), &[]),
            TOKEN_URL => {
                let no_store = [("cache-control", "no-store")];
                match &*self.canned_token_response.borrow() {
                    Some(body) => json_bytes(200, body.clone().into_bytes(), &no_store),
                    None => json_response(200, &self.token_response(now), &no_store),
                }
            }
            USERINFO_URL => json_response(200, &self.userinfo.borrow(), &[]),
            FORWARD_URL => InboundResponse { status: self.forward_status.get(), headers: Vec::new(), body: Vec::new() },
            _ => json_response(404, &json!({"error": "not_found"}), &[]),
        })
    }
}

/// Subrequests per endpoint, and KV operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub discovery: u64,
    pub jwks: u64,
    pub token: u64,
    pub userinfo: u64,
    /// Login from phone number: starts at [`BACKCHANNEL_URL`].
    pub backchannel: u64,
    pub other: u64,
    pub kv_get: u64,
    pub kv_put: u64,
    pub kv_delete: u64,
}

impl Counts {
    pub fn subrequests(&self) -> u64 {
        self.discovery + self.jwks + self.token + self.userinfo + self.backchannel + self.other
    }
    pub fn minus(&self, b: &Counts) -> Counts {
        Counts {
            discovery: self.discovery - b.discovery,
            jwks: self.jwks - b.jwks,
            token: self.token - b.token,
            userinfo: self.userinfo - b.userinfo,
            backchannel: self.backchannel - b.backchannel,
            other: self.other - b.other,
            kv_get: self.kv_get - b.kv_get,
            kv_put: self.kv_put - b.kv_put,
            kv_delete: self.kv_delete - b.kv_delete,
        }
    }
    pub fn plus(&self, b: &Counts) -> Counts {
        Counts {
            discovery: self.discovery + b.discovery,
            jwks: self.jwks + b.jwks,
            token: self.token + b.token,
            userinfo: self.userinfo + b.userinfo,
            backchannel: self.backchannel + b.backchannel,
            other: self.other + b.other,
            kv_get: self.kv_get + b.kv_get,
            kv_put: self.kv_put + b.kv_put,
            kv_delete: self.kv_delete + b.kv_delete,
        }
    }
    pub fn to_json(&self) -> Value {
        json!({"discovery": self.discovery, "jwks": self.jwks, "token": self.token, "userinfo": self.userinfo,
            "backchannel": self.backchannel, "other": self.other, "subrequests": self.subrequests(), "kv_get": self.kv_get, "kv_put": self.kv_put, "kv_delete": self.kv_delete})
    }
    fn subrequest(&mut self, url: &str) {
        *match url {
            BACKCHANNEL_URL => &mut self.backchannel,
            DISCOVERY_URL => &mut self.discovery,
            JWKS_URL => &mut self.jwks,
            TOKEN_URL => &mut self.token,
            USERINFO_URL => &mut self.userinfo,
            _ => &mut self.other,
        } += 1;
    }
}

/// A platform with a settable clock, an in-memory KV that honours expiration TTLs, counts of
/// everything, and a record of everything.
pub struct FakePlatform {
    pub now: Cell<u64>,
    pub idp: FakeIdp,
    pub kv: RefCell<HashMap<String, String>>,
    /// When each KV entry expires (seconds): from then on a read finds nothing, as in Workers KV.
    pub kv_expires: RefCell<HashMap<String, u64>>,
    pub kv_broken: Cell<bool>,
    pub counts: RefCell<Counts>,
    /// Milliseconds every subrequest takes (the clock moves on by it, or by the timeout when
    /// that is shorter, which then fails the call as a timeout).
    pub latency_ms: Cell<u64>,
    /// Milliseconds on top of `now` (seconds): moved by `latency_ms`.
    pub extra_ms: Cell<u64>,
    /// Keeps every subrequest, its timeout and every log line in `requests`, `timeouts` and
    /// `logs`. On by default; the benches turn it off, so their loops neither grow nor allocate.
    pub record: Cell<bool>,
    /// The timeout each subrequest was given.
    pub timeouts: RefCell<Vec<u64>>,
    pub requests: RefCell<Vec<OutboundRequest>>,
    pub logs: RefCell<Vec<(Level, String, String)>>,
    pub counter: Cell<u64>,
    /// Every `fill_random` gives the same bytes, so the state and nonce are known in advance (an
    /// ID token can be signed once, outside a timed loop, and one callback replayed).
    pub fixed_random: Cell<bool>,
    /// Every subrequest yields to the executor once before it answers, so concurrent requests
    /// interleave as they do in one isolate.
    pub yield_on_fetch: Cell<bool>,
    /// Static assets by path (operator page templates), how often they were read, and
    /// whether reading fails.
    pub assets: RefCell<HashMap<String, Vec<u8>>>,
    pub asset_reads: Cell<usize>,
    pub assets_broken: Cell<bool>,
    /// The runtime's crypto refuses every key (WebCrypto failing): [`Platform::verify_rs256`]
    /// and [`Platform::verify_es256`] answer `None`, [`Platform::sign_rs256`] an error.
    pub runtime_crypto_broken: Cell<bool>,
    /// When set, [`Platform::verify_rs256`] answers this without checking (benches: the
    /// runtime's crypto is measured apart, in workerd).
    pub runtime_rs256_verdict: Cell<Option<bool>>,
}

impl Default for FakePlatform {
    fn default() -> Self {
        FakePlatform::new(FakeIdp::default())
    }
}

impl FakePlatform {
    pub fn new(idp: FakeIdp) -> Self {
        FakePlatform {
            now: Cell::new(1_700_000_000),
            idp,
            kv: RefCell::new(HashMap::new()),
            kv_expires: RefCell::new(HashMap::new()),
            kv_broken: Cell::new(false),
            counts: RefCell::new(Counts::default()),
            latency_ms: Cell::new(0),
            extra_ms: Cell::new(0),
            record: Cell::new(true),
            timeouts: RefCell::new(Vec::new()),
            requests: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            counter: Cell::new(0),
            fixed_random: Cell::new(false),
            yield_on_fetch: Cell::new(false),
            assets: RefCell::new(HashMap::new()),
            asset_reads: Cell::new(0),
            assets_broken: Cell::new(false),
            runtime_crypto_broken: Cell::new(false),
            runtime_rs256_verdict: Cell::new(None),
        }
    }
    /// A PKCS#8 RSA key as WebCrypto's `importKey('pkcs8')` reads it.
    fn private_key(&self, pkcs8: &[u8]) -> Result<RsaPrivateKey, String> {
        use rsa::pkcs8::DecodePrivateKey;
        if self.runtime_crypto_broken.get() {
            return Err("the runtime refused the key".into());
        }
        RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|e| e.to_string())
    }
    pub fn count(&self, url: &str) -> usize {
        self.requests.borrow().iter().filter(|r| r.url == url).count()
    }
    pub fn counts(&self) -> Counts {
        self.counts.borrow().clone()
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
        if self.fixed_random.get() {
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            return Ok(());
        }
        // Distinct per call, deterministic per test: the SHA-256 of the call's number, in
        // little-endian bytes without the trailing zeros (one byte up to 255).
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let seed = sha256(&n.to_le_bytes()[..8 - n.leading_zeros() as usize / 8]);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed[i % 32];
        }
        Ok(())
    }
    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        if self.yield_on_fetch.get() {
            yield_once().await;
        }
        self.counts.borrow_mut().subrequest(&req.url);
        let waited = self.latency_ms.get().min(timeout_ms);
        self.extra_ms.set(self.extra_ms.get() + waited);
        let answer = if self.latency_ms.get() > timeout_ms {
            Err(FetchError::Timeout)
        } else {
            self.idp.answer(&req, self.now.get())
        };
        if self.record.get() {
            self.requests.borrow_mut().push(req);
            self.timeouts.borrow_mut().push(timeout_ms);
        }
        answer
    }
    async fn sleep(&self, ms: u64) {
        // Lets other requests run, and moves the clock on.
        yield_once().await;
        self.extra_ms.set(self.extra_ms.get() + ms);
    }
    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.counts.borrow_mut().kv_get += 1;
        if self.kv_broken.get() {
            return Err(StoreError("kv down".into()));
        }
        if self.kv_expires.borrow().get(key).is_some_and(|&at| self.now() >= at) {
            return Ok(None);
        }
        Ok(self.kv.borrow().get(key).cloned())
    }
    async fn kv_put(&self, key: &str, value: String, ttl_secs: u64) -> Result<(), StoreError> {
        self.counts.borrow_mut().kv_put += 1;
        if self.kv_broken.get() {
            return Err(StoreError("kv down".into()));
        }
        self.kv_expires.borrow_mut().insert(key.to_string(), self.now() + ttl_secs);
        self.kv.borrow_mut().insert(key.to_string(), value);
        Ok(())
    }
    async fn kv_delete(&self, key: &str) -> Result<(), StoreError> {
        self.counts.borrow_mut().kv_delete += 1;
        if self.kv_broken.get() {
            return Err(StoreError("kv down".into()));
        }
        self.kv_expires.borrow_mut().remove(key);
        self.kv.borrow_mut().remove(key);
        Ok(())
    }
    async fn asset(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.asset_reads.set(self.asset_reads.get() + 1);
        if self.assets_broken.get() {
            return Err("assets down".into());
        }
        Ok(self.assets.borrow().get(path).cloned())
    }
    // The runtime's crypto (WebCrypto in the Worker), done with the Rust crates: the same
    // answers, natively.
    async fn verify_rs256(&self, n_b64: &str, e_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        if let Some(v) = self.runtime_rs256_verdict.get() {
            return Some(v);
        }
        if self.runtime_crypto_broken.get() {
            return None;
        }
        let key = rsa_public(n_b64, e_b64)?;
        let digest = crate::util::sha256(data);
        Some(key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature).is_ok())
    }
    async fn verify_es256(&self, x_b64: &str, y_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        use p256::ecdsa::signature::Verifier;
        if self.runtime_crypto_broken.get() {
            return None;
        }
        let key = crate::oidc::es256::public_key(&crate::util::b64url_decode(x_b64)?, &crate::util::b64url_decode(y_b64)?)?;
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return Some(false) };
        Some(key.verify(data, &sig).is_ok())
    }
    async fn rs256_key(&self, _key_id: &str, pkcs8: &[u8]) -> Result<(String, String), String> {
        use rsa::traits::PublicKeyParts;
        let key = self.private_key(pkcs8)?;
        Ok((b64url(&key.n().to_bytes_be()), b64url(&key.e().to_bytes_be())))
    }
    async fn sign_rs256(&self, _key_id: &str, pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let key = self.private_key(pkcs8)?;
        key.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &crate::util::sha256(data)).map_err(|e| e.to_string())
    }

    fn log(&self, level: Level, code: &str, detail: &str) {
        if self.record.get() {
            self.logs.borrow_mut().push((level, code.to_string(), detail.to_string()));
        }
    }
}

/// What the benches share (`benches/` natively, `bench/wasmcore` in wasm): one config, the
/// provider answering as Vipps does (claims and userinfo shaped like Vipps'), and logins.
pub mod bench {
    use super::*;
    use crate::app::App;
    use crate::config::Config;
    use crate::http::IncomingRequest;
    use crate::policy::forward::Forward;

    pub const ORIGIN: &str = "https://shop.example";
    pub const CLIENT_ID: &str = "bench-client";
    pub const SUB: &str = "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11";
    pub const KID: &str = "public:0b1f6c1e-8f7a-4c55-9d2a-6c1e0b1f6c1e";
    pub const ACCESS_TOKEN: &str = "eyJhbGciOi.access-token-opaque-to-the-client.sig";
    pub const T0: u64 = 1_760_000_000;
    /// What the native benches' browser sends with every request (before its cookie).
    pub const BROWSER: &[(&str, &str)] = &[("accept", "text/html,application/xhtml+xml"), ("user-agent", "bench")];

    /// The vars of the root `wrangler.toml`, pointed at the fake provider.
    const VARS: &[(&str, &str)] = &[
        ("VIPPS_DISCOVERY_URL", DISCOVERY_URL),
        ("VIPPS_CLIENT_ID", CLIENT_ID),
        ("VIPPS_CLIENT_SECRET", "bench-client-secret"),
        ("VIPPS_REDIRECT_URI", "https://shop.example/auth/callback"),
        ("SESSION_SECRET", "bench-session-secret-0123456789abcdef"),
        ("VIPPS_SCOPE", "openid name email"),
        ("VIPPS_TOKEN_AUTH_METHOD", "client_secret_basic"),
        ("SESSION_TTL", "86400"),
        ("SESSION_CLAIMS", "name,given_name,family_name,email,email_verified"),
        ("LOGIN_TIMEOUT", "600"),
        ("AUTH_PATH_PREFIX", "/auth"),
        ("PUBLIC_PATHS", "/, /index.html, /favicon.ico, /assets/*"),
        ("PROTECTED_PATHS", "/*"),
        ("BACKEND", "assets"),
    ];

    /// [`VARS`] with `extra` added (or replacing a var of the same name).
    pub fn config_with(extra: &[(&str, &str)]) -> Config {
        let vars: HashMap<&str, &str> = VARS.iter().chain(extra).copied().collect();
        Config::from_lookup(&|k| vars.get(k).map(|v| v.to_string())).expect("bench config")
    }

    pub fn config() -> Config {
        config_with(&[])
    }

    pub fn new_app() -> App {
        App::new(Ok(config()))
    }

    /// The app URI of [`apps_app`].
    pub const APP_URI: &str = "myapp://login/done";
    /// The app's PKCE verifier in [`bearer_login`].
    pub const APP_VERIFIER: &str = "bench-app-verifier-bench-app-verifier-bench-app-verifier";

    /// [`config`] with automatic return and native-app logins on (`LOGIN_FLOWS`, `APP_URIS`).
    pub fn apps_app() -> App {
        App::new(Ok(config_with(&[("LOGIN_FLOWS", "automatic_return, app_to_app_v2"), ("APP_URIS", APP_URI)])))
    }

    fn post_json(path: &str, body: &Value) -> IncomingRequest {
        let mut req = IncomingRequest::get(&format!("{ORIGIN}{path}")).expect("url");
        req.method = "POST".into();
        req.body = Some(body.to_string().into_bytes());
        req.with_header("content-type", "application/json")
    }

    /// A native app's whole login on [`apps_app`]: start with its challenge, the callback
    /// (no cookie), the hand-off redeemed with its verifier. Returns the bearer token.
    pub fn bearer_login(app: &App, p: &FakePlatform) -> String {
        let challenge = crate::oidc::authorize::s256_challenge(&crate::secret::Secret::new(APP_VERIFIER));
        let body = json!({"app_uri": APP_URI, "code_challenge": challenge, "code_challenge_method": "S256"});
        let r = reply(block_on(app.handle(p, &post_json("/auth/app/start", &body))));
        assert_eq!(r.status, 200, "app start: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).expect("JSON");
        let authorize = v["authorize_url"].as_str().expect("authorize_url").to_string();
        *p.idp.nonce.borrow_mut() = query_param(&authorize, "nonce");
        let r = reply(block_on(app.handle(p, &callback_request(&[], "", &query_param(&authorize, "state")))));
        assert_eq!(r.status, 303, "app callback: {}", r.body);
        let handoff = query_param(r.header("location").expect("location"), "handoff");
        let r = reply(block_on(app.handle(p, &post_json("/auth/app/token", &json!({"handoff": handoff, "code_verifier": APP_VERIFIER})))));
        assert_eq!(r.status, 200, "app token: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).expect("JSON");
        v["access_token"].as_str().expect("access_token").to_string()
    }

    /// A protected request from [`BROWSER`] that, like a browser, takes the session cookie the
    /// Worker re-issues (after a revocation check, or sliding).
    pub fn protected_keeping(app: &App, p: &FakePlatform, session: &mut String) {
        match block_on(app.handle(p, &get(BROWSER, "/private/", session))) {
            Outcome::Forward(Forward { user: Some(_), set_cookies, .. }) => {
                if let Some(pair) = set_cookies.iter().filter_map(|c| c.split(';').next()).find(|c| c.starts_with("__Host-vipps-session=")) {
                    *session = pair.to_string();
                }
            }
            other => panic!("protected request not forwarded: {other:?}"),
        }
    }

    /// A protected request from a native app with its bearer session; asserts it is let
    /// through.
    pub fn protected_bearer(app: &App, p: &FakePlatform, token: &str) {
        let req = get(&[("accept", "application/json")], "/private/", "").with_header("authorization", &format!("Bearer {token}"));
        match block_on(app.handle(p, &req)) {
            Outcome::Forward(Forward { user: Some(_), .. }) => {}
            other => panic!("bearer request not forwarded: {other:?}"),
        }
    }

    /// An automatic-return login from [`BROWSER`] on [`apps_app`]; `same_browser`: the callback
    /// comes back with the login cookie, else without (then confirmed on the "Continue as" page).
    /// Returns the session cookie pair.
    pub fn auto_return_login(app: &App, p: &FakePlatform, same_browser: bool) -> String {
        let r = reply(block_on(app.handle(p, &get(BROWSER, "/auth/login?flow=automatic_return&return_to=%2Fprivate%2F", ""))));
        assert_eq!(r.status, 302, "automatic return start: {}", r.body);
        let loc = r.header("location").expect("location").to_string();
        *p.idp.nonce.borrow_mut() = query_param(&loc, "nonce");
        let tx = if same_browser { cookie_pair(&r, "__Host-vipps-login").expect("transaction cookie") } else { String::new() };
        let r = reply(block_on(app.handle(p, &callback_request(BROWSER, &tx, &query_param(&loc, "state")))));
        if same_browser {
            assert_eq!(r.status, 303, "callback: {}", r.body);
            return cookie_pair(&r, "__Host-vipps-session").expect("session cookie");
        }
        assert_eq!(r.status, 200, "the confirmation page: {}", r.body);
        let confirm = cookie_pair(&r, "__Host-vipps-confirm").expect("confirmation cookie");
        let start = r.body.find("action=\"").expect("a form") + 8;
        let end = r.body[start..].find('"').expect("a form") + start;
        let action = r.body[start..end].replace("&amp;", "&");
        let mut req = get(BROWSER, &action, &confirm).with_header("origin", ORIGIN);
        req.method = "POST".into();
        let r = reply(block_on(app.handle(p, &req)));
        assert_eq!(r.status, 303, "confirm: {}", r.body);
        cookie_pair(&r, "__Host-vipps-session").expect("session cookie")
    }

    /// The API key of login from phone number in [`ciba_app`].
    pub const TILL_KEY: &str = "bench-till-key-0123456789abcdef0123";

    /// [`config`] with login from phone number on (`CIBA_API_KEYS`, `login_to_webpage`).
    pub fn ciba_app() -> App {
        let keys = format!("till-1:{TILL_KEY}");
        App::new(Ok(config_with(&[("CIBA_API_KEYS", &keys), ("CIBA_LOGIN_TO_WEBPAGE", "true")])))
    }

    /// A merchant system's `POST {prefix}/ciba/{op}` with the till key and a JSON body.
    pub fn ciba_request(op: &str, body: &Value) -> IncomingRequest {
        post_json(&format!("/auth/ciba/{op}"), body).with_header("authorization", &format!("Bearer {TILL_KEY}"))
    }

    pub fn userinfo() -> Value {
        json!({
            "sub": SUB, "name": "Kari Nordmann", "given_name": "Kari", "family_name": "Nordmann",
            "email": "kari.nordmann@example.no", "email_verified": true, "phone_number": "4791234567",
            "sid": "1f9b2c3d-0000-4000-8000-000000000001",
        })
    }

    /// The JWKS of [`keys`]`()[0]` as [`KID`].
    pub fn signing_jwks() -> Value {
        json!({"keys": [jwk(&keys()[0], KID)]})
    }

    /// The provider, publishing `jwks`: discovery carries `public, max-age=3600` and the JWKS no
    /// `Cache-Control`, as the simulator (and, as far as is known, Vipps) sends them; ID tokens
    /// are shaped like Vipps' (RS256, `kid`, the usual claims), signed with [`keys`]`()[0]`.
    pub fn provider(jwks: Value) -> FakeIdp {
        let idp = FakeIdp::with_jwks(jwks);
        *idp.discovery_cache_control.borrow_mut() = Some("public, max-age=3600".into());
        *idp.kid.borrow_mut() = Some(KID.into());
        *idp.userinfo.borrow_mut() = userinfo();
        *idp.access_token.borrow_mut() = ACCESS_TOKEN.into();
        idp.expires_in.set(599);
        *idp.id_token_claims.borrow_mut() = Box::new(|c| {
            c["sub"] = json!(SUB);
            c["aud"] = json!([CLIENT_ID]);
            c["sid"] = json!("1f9b2c3d-0000-4000-8000-000000000001");
            c["jti"] = json!("2a8c3d4e-0000-4000-8000-000000000002");
            c["amr"] = json!(["BankID"]);
            c["idp"] = json!("Vipps");
            c["acr"] = json!("1");
        });
        idp
    }

    /// A platform at [`T0`] on `idp` that counts but records nothing (timed loops stay flat).
    pub fn platform(idp: FakeIdp) -> FakePlatform {
        let p = FakePlatform::new(idp);
        p.now.set(T0);
        p.record.set(false);
        p
    }

    /// A GET of `path` on [`ORIGIN`] with `headers` and, unless `cookie` is empty, `cookie`.
    pub fn get(headers: &[(&str, &str)], path: &str, cookie: &str) -> IncomingRequest {
        let mut r = IncomingRequest::get(&format!("{ORIGIN}{path}")).unwrap();
        for (name, value) in headers {
            r = r.with_header(name, value);
        }
        if !cookie.is_empty() {
            r = r.with_header("cookie", cookie);
        }
        r
    }

    /// The login start: returns (transaction cookie pair, state) and tells the fake the nonce.
    pub fn start_login(app: &App, p: &FakePlatform, headers: &[(&str, &str)], return_to: &str) -> (String, String) {
        let r = reply(block_on(app.handle(p, &get(headers, &format!("/auth/login?return_to={return_to}"), ""))));
        assert_eq!(r.status, 302, "login start");
        let loc = r.header("location").unwrap().to_string();
        *p.idp.nonce.borrow_mut() = query_param(&loc, "nonce");
        (cookie_pair(&r, "__Host-vipps-login").expect("transaction cookie"), query_param(&loc, "state"))
    }

    pub fn callback_request(headers: &[(&str, &str)], tx_cookie: &str, state: &str) -> IncomingRequest {
        let q = crate::util::form_encode([
            ("code", "a-single-use-code-0123456789"),
            ("state", state),
            ("scope", "openid name email"),
        ]);
        get(headers, &format!("/auth/callback?{q}"), tx_cookie)
    }

    /// A whole login from [`BROWSER`]; returns the session cookie pair.
    pub fn login(app: &App, p: &FakePlatform) -> String {
        let (tx, state) = start_login(app, p, BROWSER, "%2Fprivate%2F");
        let r = reply(block_on(app.handle(p, &callback_request(BROWSER, &tx, &state))));
        assert_eq!(r.status, 303, "callback: {}", r.body);
        cookie_pair(&r, "__Host-vipps-session").expect("session cookie")
    }

    /// A protected request from [`BROWSER`]; asserts it is let through.
    pub fn protected(app: &App, p: &FakePlatform, session: &str) {
        match block_on(app.handle(p, &get(BROWSER, "/private/", session))) {
            Outcome::Forward(Forward { user: Some(_), .. }) => {}
            other => panic!("protected request not forwarded: {other:?}"),
        }
    }
}
