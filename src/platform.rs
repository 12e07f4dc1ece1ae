//! What the core needs from the runtime: a clock, randomness, subrequests, a key-value store and
//! a log. The edge implements it with `worker`; tests implement it with fakes.

use crate::http::{InboundResponse, OutboundRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No answer within the configured timeout.
    Timeout,
    /// Connection failed, DNS failed, TLS failed...
    Network(String),
    /// The body was larger than the cap.
    TooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[allow(async_fn_in_trait)]
pub trait Platform {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64 {
        self.now_millis() / 1000
    }
    /// Fills `buf` from a CSPRNG.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String>;
    /// Performs a subrequest that must answer within `timeout_ms` (body included). Redirects are
    /// not followed; the body is read with a size cap.
    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError>;
    /// Waits `ms` milliseconds on this request's own timer (a request cannot be woken from
    /// another request's context in workerd).
    async fn sleep(&self, ms: u64);
    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn kv_put(&self, key: &str, value: String, ttl_secs: u64) -> Result<(), StoreError>;
    /// Deletes a key (a single-use record once used). Platforms without KV answer an error.
    async fn kv_delete(&self, key: &str) -> Result<(), StoreError> {
        let _ = key;
        Err(StoreError("no KV delete on this platform".into()))
    }
    /// A file of the static assets (an operator's page template): `Ok(None)` when there is no
    /// such file. Read with a cap of [`crate::pages::template::MAX_TEMPLATE`] + 1 bytes.
    async fn asset(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let _ = path;
        Err("no static assets on this platform".into())
    }
    /// Checks an RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) of `data` with
    /// the RSA public key `(n, e)` (big-endian, base64url as in a JWK) using the runtime's own
    /// crypto (WebCrypto in the Worker; the Worker holds no RSA code). `Some(valid)`, or `None`
    /// when the runtime cannot decide (it refuses the key, it fails): the core refuses the
    /// token then, with the same code as a bad signature. Never "accepted" without a check.
    async fn verify_rs256(&self, n_b64: &str, e_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        let _ = (n_b64, e_b64, data, signature);
        None
    }
    /// Checks an ES256 signature (ECDSA on P-256 with SHA-256, RFC 7518 §3.4: `r || s`, 64
    /// bytes) of `data` with the P-256 public key `(x, y)` (base64url as in a JWK), as
    /// [`Platform::verify_rs256`]: `None` (a point off the curve, a failure) is a refusal.
    async fn verify_es256(&self, x_b64: &str, y_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        let _ = (x_b64, y_b64, data, signature);
        None
    }
    /// Imports our own RSA private key (PKCS#8 DER) for RS256 signing under `key_id` (the
    /// runtime may keep it per isolate) and answers its public `(n, e)` (big-endian,
    /// base64url as in a JWK). `Err` when the runtime refuses the key.
    async fn rs256_key(&self, key_id: &str, pkcs8: &[u8]) -> Result<(String, String), String> {
        let _ = (key_id, pkcs8);
        Err("no RSA keys on this platform".into())
    }
    /// Signs `data` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with the key of
    /// [`Platform::rs256_key`]. `Err` when the runtime cannot import the key or sign.
    async fn sign_rs256(&self, key_id: &str, pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        let _ = (key_id, pkcs8, data);
        Err("no RSA signing on this platform".into())
    }
    /// One structured log line. `detail` must never hold secrets, tokens or personal data.
    fn log(&self, level: Level, code: &str, detail: &str);
}
