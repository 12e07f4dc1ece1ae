//! Conversions between `worker` values and the core's: the incoming request as its route's
//! spec names it, replies, and the forward to the backend as the plan says.

use crate::config::{Backend, Config};
use crate::http::{IncomingRequest, Reply};
use crate::policy::forward::{self, Forward};
use crate::router::Spec;
use wasm_bindgen::JsCast;
use worker::{web_sys, Env};

/// Name of the static assets binding.
pub const ASSETS_BINDING: &str = "ASSETS";

/// The request as the core sees it: exactly the headers the route's spec names (`hot`, read with
/// the request line, and any others in one more trip across the wasm boundary), and the body
/// when the spec reads one, capped. A forward to an origin reads the names of the others itself.
pub async fn incoming(
    req: &web_sys::Request,
    spec: &Spec,
    method: String,
    url: url::Url,
    hot: Vec<(&'static str, String)>,
) -> Result<IncomingRequest, String> {
    let mut inc = incoming_head(req, spec, method, url, hot);
    if let (Some(cap), "POST") = (spec.body_cap, inc.method.as_str()) {
        inc.body = Some(read_body(req, cap).await?);
    }
    Ok(inc)
}

/// As [`incoming`], without the body.
pub fn incoming_head(
    req: &web_sys::Request,
    spec: &Spec,
    method: String,
    url: url::Url,
    hot: Vec<(&'static str, String)>,
) -> IncomingRequest {
    let more: Vec<&str> = spec.headers.iter().copied().filter(|n| !super::js::HOT_HEADERS.contains(n)).collect();
    let mut values: Vec<(String, String)> =
        hot.into_iter().filter(|(n, _)| spec.headers.contains(n)).map(|(n, v)| (n.to_string(), v)).collect();
    if !more.is_empty() {
        values.extend(super::js::headers(req, &more, false).values);
    }
    // The core has always seen the method as `worker::Method` spells it (upper case; a method
    // it does not know reads as GET); kept. A forward sends the client's own method.
    let method = worker::Method::from(method).to_string();
    IncomingRequest { method, url, headers: values, body: None }
}

/// Reads a request body for the core, at most `cap + 1` bytes: the core sees that it was too
/// large without the edge buffering a hostile multi-megabyte upload.
async fn read_body(req: &web_sys::Request, cap: usize) -> Result<Vec<u8>, String> {
    let declared = super::js::headers(req, &["content-length"], false).values.pop().and_then(|(_, v)| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Ok(vec![0; cap + 1]);
    }
    super::js::body(req, cap).await
}

pub fn response(reply: Reply) -> Result<web_sys::Response, String> {
    match super::js::reply(reply.status, &reply.headers, &reply.body) {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => Err(js_error(&e)),
        None => Err("a header value with a line break".into()),
    }
}

/// Sends a gated request on to the backend, as planned: exactly the canonical path the gate
/// decided on, the client's headers without reserved names or the Worker's cookies, the
/// identity headers, method and body unchanged. The runtime copies the client's headers; only
/// their names and the edits cross the wasm boundary.
///
/// The static assets get the request as the client sent it, at the canonical path: the assets
/// server reads no cookie or identity header (only what selects and validates a file:
/// conditionals, ranges, encodings), so editing them would be work for nothing on the hot path.
///
/// Returns the backend's promise unawaited: the answer's own edits are chained to it in JS
/// ([`super::js::finish`]).
pub fn forward(env: &Env, config: &Config, req: &web_sys::Request, inc: &IncomingRequest, plan: &Forward) -> Result<js_sys::Promise, String> {
    if matches!(config.backend, Backend::Assets) {
        let url = (plan.path.as_str() != inc.url.path()).then(|| forward::target_url(&inc.url, false, &plan.path, inc.url.query()));
        return super::js::assets(env.as_ref(), req, url.as_ref().map(url::Url::as_str)).map_err(|e| js_error(&e));
    }
    let url = match &config.backend {
        Backend::Proxy(base) => forward::target_url(base, true, &plan.path, inc.url.query()),
        Backend::Assets | Backend::Origin => forward::target_url(&inc.url, false, &plan.path, inc.url.query()),
    };
    let read = super::js::headers(req, &["cookie", "authorization"], true);
    let value = |name: &str| read.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let edits = forward::header_edits(read.names.iter().map(String::as_str), value("cookie"), value("authorization"), &plan.identity);
    super::js::forward(env.as_ref(), None, req, url.as_str(), &edits).map_err(|e| js_error(&e))
}

pub(super) fn js_error(e: &wasm_bindgen::JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "the backend did not answer".into()),
    }
}

/// A file of the static assets through the `ASSETS` binding (an operator's page template):
/// `None` for a 404, the body read with a cap of [`MAX_TEMPLATE`] + 1 bytes, and at most two
/// redirects followed within the assets (their `html_handling` may redirect `/x.html` to `/x`).
pub async fn asset(env: &Env, path: &str) -> Result<Option<Vec<u8>>, String> {
    use crate::pages::template::MAX_TEMPLATE;
    let mut url = format!("https://assets.invalid{path}");
    for _ in 0..3 {
        let resp = super::js::binding_get(env.as_ref(), ASSETS_BINDING, &url).await.map_err(|e| js_error(&e))?;
        match resp.status() {
            200 => return super::js::body(&resp, MAX_TEMPLATE).await.map(Some),
            404 => return Ok(None),
            301 | 302 | 303 | 307 | 308 => {
                let to = super::js::headers(&resp, &["location"], false).values.pop().map(|(_, v)| v).unwrap_or_default();
                let next = url::Url::parse(&url).and_then(|base| base.join(&to)).map_err(|_| "a bad redirect".to_string())?;
                if next.host_str() != Some("assets.invalid") {
                    return Err("a redirect out of the assets".into());
                }
                url = next.to_string();
            }
            status => return Err(format!("status {status}")),
        }
    }
    Err("too many redirects".into())
}
