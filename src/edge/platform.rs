//! The runtime as the core's [`Platform`]: clock, randomness, subrequests with a timeout and a
//! capped body, Workers KV, and JSON log lines.

use super::convert::read_capped;
use crate::http::{InboundResponse, OutboundRequest};
use crate::platform::{FetchError, Level, Platform, StoreError};
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{AbortController, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

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
        let headers = Headers::new();
        for (k, v) in &req.headers {
            headers.append(k, v).map_err(|_| FetchError::Network("bad header".into()))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(req.method.to_string()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if let Some(body) = req.body {
            init.with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
        }
        let request = Request::new_with_init(&req.url, &init).map_err(|e| FetchError::Network(e.to_string()))?;
        let mut resp = Fetch::Request(request)
            .send_with_signal(signal)
            .await
            .map_err(|e| FetchError::Network(e.to_string()))?;
        let declared = resp.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(FetchError::TooLarge);
        }
        let headers: Vec<(String, String)> = resp.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let status = resp.status_code();
        // Read with a cap as the bytes arrive: a chunked multi-megabyte body is cut off at
        // MAX_BODY instead of being buffered whole.
        if !matches!(resp.body(), worker::ResponseBody::Stream(_)) {
            let body = resp.bytes().await.map_err(|e| FetchError::Network(e.to_string()))?;
            return if body.len() > MAX_BODY { Err(FetchError::TooLarge) } else { Ok(InboundResponse { status, headers, body }) };
        }
        let stream = resp.stream().map_err(|e| FetchError::Network(e.to_string()))?;
        match read_capped(stream, MAX_BODY).await {
            Ok(body) if body.len() > MAX_BODY => Err(FetchError::TooLarge),
            Ok(body) => Ok(InboundResponse { status, headers, body }),
            Err(e) => Err(FetchError::Network(e.to_string())),
        }
    }
}

impl Platform for EdgePlatform<'_> {
    fn now_millis(&self) -> u64 {
        worker::Date::now().as_millis()
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        getrandom::getrandom(buf).map_err(|e| e.to_string())
    }

    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let work = std::pin::pin!(self.fetch_inner(req, &signal));
        let timeout = std::pin::pin!(Delay::from(Duration::from_millis(timeout_ms)));
        match select(work, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                controller.abort();
                Err(FetchError::Timeout)
            }
        }
    }

    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let kv = self.env.kv(KV_BINDING).map_err(|e| StoreError(e.to_string()))?;
        kv.get(key).text().await.map_err(|e| StoreError(e.to_string()))
    }

    async fn kv_put(&self, key: &str, value: String, ttl_secs: u64) -> Result<(), StoreError> {
        let kv = self.env.kv(KV_BINDING).map_err(|e| StoreError(e.to_string()))?;
        kv.put(key, value)
            .map_err(|e| StoreError(e.to_string()))?
            .expiration_ttl(ttl_secs)
            .execute()
            .await
            .map_err(|e| StoreError(e.to_string()))
    }

    async fn kv_delete(&self, key: &str) -> Result<(), StoreError> {
        let kv = self.env.kv(KV_BINDING).map_err(|e| StoreError(e.to_string()))?;
        kv.delete(key).await.map_err(|e| StoreError(e.to_string()))
    }

    async fn asset(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        super::convert::asset(self.env, path).await
    }

    fn log(&self, level: Level, code: &str, detail: &str) {
        log_line(level, code, detail);
    }
}

