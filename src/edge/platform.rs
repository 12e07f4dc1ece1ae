//! The runtime as the core's [`Platform`]: clock, randomness, subrequests with a timeout and a
//! capped body, Workers KV, and JSON log lines.

use crate::http::{InboundResponse, OutboundRequest};
use crate::platform::{FetchError, Level, Platform, StoreError};
use futures_util::future::{select, Either};
use worker::{AbortController, Env};

/// Name of the KV binding that caches discovery and JWKS and records revocations.
pub const KV_BINDING: &str = "VIPPS_CACHE";
/// Largest back-channel response body we read.
pub const MAX_BODY: usize = 1024 * 1024;

pub struct EdgePlatform<'a> {
    pub env: &'a Env,
}

pub fn log_line(level: Level, code: &str, detail: &str) {
    let line = serde_json::json!({"level": level.as_str(), "code": code, "detail": detail}).to_string();
    match level {
        Level::Error => worker::console_error!("{}", line),
        Level::Warn => worker::console_warn!("{}", line),
        Level::Info => worker::console_log!("{}", line),
    }
}

impl EdgePlatform<'_> {
    async fn fetch_inner(&self, req: OutboundRequest, signal: &worker::AbortSignal) -> Result<InboundResponse, FetchError> {
        let sent = super::js::subrequest(req.method, &req.url, &req.headers, req.body, signal).await;
        let resp = match sent {
            None => return Err(FetchError::Network("bad header".into())),
            Some(Err(e)) => return Err(FetchError::Network(super::convert::js_error(&e))),
            Some(Ok(r)) => r,
        };
        let (status, headers) = super::js::response_head(&resp);
        let declared = crate::http::header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(FetchError::TooLarge);
        }
        // Read with a cap as the bytes arrive: a chunked multi-megabyte body is cut off at
        // MAX_BODY instead of being buffered whole.
        match super::js::body(&resp, MAX_BODY).await {
            Ok(body) if body.len() > MAX_BODY => Err(FetchError::TooLarge),
            Ok(body) => Ok(InboundResponse { status, headers, body }),
            Err(e) => Err(FetchError::Network(e)),
        }
    }
}

impl Platform for EdgePlatform<'_> {
    fn now_millis(&self) -> u64 {
        // `Date.now()`: one call, no Date object (the crate's `Date::now` makes one).
        js_sys::Date::now() as u64
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        getrandom::getrandom(buf).map_err(|e| e.to_string())
    }

    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let work = std::pin::pin!(self.fetch_inner(req, &signal));
        let timeout = std::pin::pin!(super::js::sleep(timeout_ms));
        match select(work, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                controller.abort();
                Err(FetchError::Timeout)
            }
        }
    }

    async fn sleep(&self, ms: u64) {
        super::js::sleep(ms).await;
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        super::js::kv_get(self.env.as_ref(), KV_BINDING, key).await.map_err(StoreError)
    }

    async fn kv_put(&self, key: &str, value: String, ttl_secs: u64) -> Result<(), StoreError> {
        super::js::kv_put(self.env.as_ref(), KV_BINDING, key, &value, ttl_secs).await.map_err(StoreError)
    }

    async fn kv_delete(&self, key: &str) -> Result<(), StoreError> {
        super::js::kv_delete(self.env.as_ref(), KV_BINDING, key).await.map_err(StoreError)
    }

    async fn asset(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        super::convert::asset(self.env, path).await
    }

    async fn verify_rs256(&self, n_b64: &str, e_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        super::js::rs256(n_b64, e_b64, data, signature).await
    }

    async fn verify_es256(&self, x_b64: &str, y_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        super::js::es256(x_b64, y_b64, data, signature).await
    }

    async fn rs256_key(&self, key_id: &str, pkcs8: &[u8]) -> Result<(String, String), String> {
        super::js::rs256_key(key_id, pkcs8).await
    }

    async fn sign_rs256(&self, key_id: &str, pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
        super::js::sign_rs256(key_id, pkcs8, data).await
    }

    fn log(&self, level: Level, code: &str, detail: &str) {
        log_line(level, code, detail);
    }
}

