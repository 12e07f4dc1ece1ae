//! The edge: the only module that imports `worker`. It adapts the runtime to [`Platform`],
//! converts requests and responses, and forwards gated requests to the backend.

use crate::app::App;
use crate::config::{Backend, Config};
use crate::error::Code;
use crate::http::{IncomingRequest, InboundResponse, Outcome, OutboundRequest, Reply};
use crate::policy::forward::{self, Forward};
use crate::platform::{FetchError, Level, Platform, StoreError};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use worker::{
    event, AbortController, Context, Delay, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
    Response, ResponseBuilder,
};

/// Name of the KV binding that caches discovery and JWKS.
pub const KV_BINDING: &str = "VIPPS_CACHE";
/// Name of the static assets binding.
pub const ASSETS_BINDING: &str = "ASSETS";
/// Largest back-channel response body we read.
pub const MAX_BODY: usize = 1024 * 1024;

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

/// Reads a var or secret as a string; numbers and booleans from `[vars]` are accepted too.
fn env_string(env: &Env, name: &str) -> Option<String> {
    let v = js_sys::Reflect::get(env.as_ref(), &wasm_bindgen::JsValue::from_str(name)).ok()?;
    if let Some(s) = v.as_string() {
        Some(s)
    } else if let Some(n) = v.as_f64() {
        Some(format!("{n}"))
    } else {
        v.as_bool().map(|b| b.to_string())
    }
}

/// The isolate's `App`, with configuration parsed once.
fn app(env: &Env) -> Rc<App> {
    APP.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| Rc::new(App::new(Config::from_lookup(&|k| env_string(env, k)))))
            .clone()
    })
}

struct EdgePlatform<'a> {
    env: &'a Env,
}

fn log_line(level: Level, code: &str, detail: &str) {
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

    fn log(&self, level: Level, code: &str, detail: &str) {
        log_line(level, code, detail);
    }
}

/// The request headers the core reads. Copying only these keeps the hot path's trips across
/// the wasm boundary to a handful.
const CORE_HEADERS: [&str; 4] = ["cookie", "accept", "sec-fetch-mode", "origin"];

fn incoming(req: &Request) -> worker::Result<IncomingRequest> {
    let h = req.headers();
    let mut headers = Vec::with_capacity(CORE_HEADERS.len());
    for name in CORE_HEADERS {
        if let Some(v) = h.get(name)? {
            headers.push((name.to_string(), v));
        }
    }
    Ok(IncomingRequest { method: req.method().to_string(), url: req.url()?, headers, body: None })
}

/// Reads a request body for the core, at most `cap + 1` bytes: the core sees that it was too
/// large without the edge buffering a hostile multi-megabyte upload.
async fn read_body(req: &mut Request, cap: usize) -> worker::Result<Vec<u8>> {
    let declared = req.headers().get("content-length")?.and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Ok(vec![0; cap + 1]);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    read_capped(req.stream()?, cap).await
}

/// Reads a body stream as it arrives, stopping after `cap + 1` bytes: a longer result means
/// "too large", and a multi-megabyte body is never buffered whole.
async fn read_capped(mut stream: worker::ByteStream, cap: usize) -> worker::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > cap {
            body.truncate(cap + 1);
            break;
        }
    }
    Ok(body)
}

/// Applies the forward plan to the backend's answer: a personal answer (the request carried a
/// session, or gets a session cookie) is marked private with `Vary: Cookie` so no shared cache
/// serves it to someone else. Backend headers may be immutable, so the response is rebuilt
/// around a copy of them.
fn finish_forward(resp: Response, plan: &Forward) -> worker::Result<Response> {
    if !plan.is_personal() {
        return Ok(resp);
    }
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        headers.append(&k, &v)?;
    }
    let (cache_control, vary) =
        forward::personal_cache_headers(headers.get("cache-control")?.as_deref(), headers.get("vary")?.as_deref());
    headers.set("cache-control", &cache_control)?;
    headers.set("vary", &vary)?;
    if let Some(c) = &plan.set_cookie {
        headers.append("set-cookie", c)?;
    }
    Ok(resp.with_headers(headers))
}

fn response(reply: Reply) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in &reply.headers {
        headers.append(k, v)?;
    }
    Ok(ResponseBuilder::new().with_status(reply.status).with_headers(headers).fixed(reply.body.into_bytes()))
}

/// Sends a gated request on to the backend, as planned: exactly the canonical path the gate
/// decided on, the client's headers without reserved names or the Worker's cookies, the
/// identity header, method and body unchanged. The same for every backend.
async fn forward(env: &Env, config: &Config, req: Request, plan: &Forward) -> worker::Result<Response> {
    let incoming = req.url()?;
    let url = match &config.backend {
        Backend::Proxy(base) => forward::target_url(base, true, &plan.path, incoming.query()),
        Backend::Assets | Backend::Origin => forward::target_url(&incoming, false, &plan.path, incoming.query()),
    };
    let headers = Headers::new();
    for (k, v) in forward::request_headers(req.headers().entries(), plan.user.as_deref()) {
        headers.append(&k, &v)?;
    }
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    let out = Request::new_with_init(url.as_str(), &init)?;
    match &config.backend {
        Backend::Assets => env.assets(ASSETS_BINDING)?.fetch_request(out).await,
        Backend::Origin | Backend::Proxy(_) => Fetch::Request(out).send().await,
    }
}

/// The edge's own errors (an unreadable request, a backend that did not answer): JSON with
/// the stable code, one log line.
fn edge_error(code: Code, detail: &str) -> worker::Result<Response> {
    log_line(if code.is_broken() { Level::Error } else { Level::Warn }, code.as_str(), detail);
    let (_, message) = code.user_text();
    response(Reply::json(code.status(), &serde_json::json!({"error": code.as_str(), "message": message})))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let app = app(&env);
    let platform = EdgePlatform { env: &env };
    let mut req = req;
    let mut inc = match incoming(&req) {
        Ok(i) => i,
        Err(e) => return edge_error(Code::RequestInvalid, &e.to_string()),
    };
    if app.reads_body(&inc.method, inc.url.path()) {
        if let Ok(Some(ct)) = req.headers().get("content-type") {
            inc.headers.push(("content-type".into(), ct));
        }
        match read_body(&mut req, crate::webhook::MAX_BODY).await {
            Ok(b) => inc.body = Some(b),
            Err(e) => return edge_error(Code::RequestInvalid, &e.to_string()),
        }
    }
    match app.handle(&platform, &inc).await {
        Outcome::Reply(r) => response(r),
        Outcome::Forward(plan) => match app.config() {
            Some(config) => match forward(&env, config, req, &plan).await {
                Ok(r) => finish_forward(r, &plan),
                Err(e) => edge_error(Code::BackendUnavailable, &e.to_string()),
            },
            None => edge_error(Code::ConfigInvalid, "forward without a configuration"),
        },
    }
}
