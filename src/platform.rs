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
    /// One structured log line. `detail` must never hold secrets, tokens or personal data.
    fn log(&self, level: Level, code: &str, detail: &str);
}
