//! Conversions between `worker` values and the core's: the incoming request as its route's
//! spec names it, replies, and the forward to the backend as the plan says.

use crate::config::{Backend, Config};
use crate::http::{IncomingRequest, Reply};
use crate::policy::forward::{self, Forward};
use crate::router::Spec;
use futures_util::StreamExt;
use worker::{Env, Fetch, Headers, Request, RequestInit, RequestRedirect, Response, ResponseBuilder};

/// Name of the static assets binding.
pub const ASSETS_BINDING: &str = "ASSETS";

/// The request as the core sees it: exactly the headers the route's spec names (few trips
/// across the wasm boundary on the hot path), and the body when the spec reads one, capped.
pub async fn incoming(req: &mut Request, spec: &Spec) -> worker::Result<IncomingRequest> {
    let h = req.headers();
    let mut headers = Vec::with_capacity(spec.headers.len());
    for &name in spec.headers {
        if let Some(v) = h.get(name)? {
            headers.push((name.to_string(), v));
        }
    }
    let mut inc = IncomingRequest { method: req.method().to_string(), url: req.url()?, headers, body: None };
    if let (Some(cap), "POST") = (spec.body_cap, inc.method.as_str()) {
        inc.body = Some(read_body(req, cap).await?);
    }
    Ok(inc)
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
pub async fn read_capped(mut stream: worker::ByteStream, cap: usize) -> worker::Result<Vec<u8>> {
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

pub fn response(reply: Reply) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in &reply.headers {
        headers.append(k, v)?;
    }
    Ok(ResponseBuilder::new().with_status(reply.status).with_headers(headers).fixed(reply.body.into_bytes()))
}

/// Sends a gated request on to the backend, as planned: exactly the canonical path the gate
/// decided on, the client's headers without reserved names or the Worker's cookies, the
/// identity header, method and body unchanged. The same for every backend.
pub async fn forward(env: &Env, config: &Config, req: Request, plan: &Forward) -> worker::Result<Response> {
    let incoming = req.url()?;
    let url = match &config.backend {
        Backend::Proxy(base) => forward::target_url(base, true, &plan.path, incoming.query()),
        Backend::Assets | Backend::Origin => forward::target_url(&incoming, false, &plan.path, incoming.query()),
    };
    let headers = Headers::new();
    for (k, v) in forward::request_headers(req.headers().entries(), &plan.identity) {
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

/// Applies the forward plan to the backend's answer: a personal answer (the request carried a
/// session, or gets a session cookie) is marked private with `Vary: Cookie` so no shared cache
/// serves it to someone else. Backend headers may be immutable, so the response is rebuilt
/// around a copy of them.
pub fn finish_forward(resp: Response, plan: &Forward) -> worker::Result<Response> {
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
    for c in &plan.set_cookies {
        headers.append("set-cookie", c)?;
    }
    Ok(resp.with_headers(headers))
}

/// A file of the static assets through the `ASSETS` binding (an operator's page template):
/// `None` for a 404, the body read with a cap of [`MAX_TEMPLATE`] + 1 bytes, and at most two
/// redirects followed within the assets (their `html_handling` may redirect `/x.html` to `/x`).
pub async fn asset(env: &Env, path: &str) -> Result<Option<Vec<u8>>, String> {
    use crate::pages::template::MAX_TEMPLATE;
    let assets = env.assets(ASSETS_BINDING).map_err(|_| format!("no {ASSETS_BINDING} binding"))?;
    let mut url = format!("https://assets.invalid{path}");
    for _ in 0..3 {
        let mut resp = assets.fetch(url.as_str(), None).await.map_err(|e| e.to_string())?;
        match resp.status_code() {
            200 => {
                let body = match resp.body() {
                    worker::ResponseBody::Stream(_) => read_capped(resp.stream().map_err(|e| e.to_string())?, MAX_TEMPLATE).await,
                    _ => resp.bytes().await,
                };
                return body.map(Some).map_err(|e| e.to_string());
            }
            404 => return Ok(None),
            301 | 302 | 303 | 307 | 308 => {
                let to = resp.headers().get("location").ok().flatten().unwrap_or_default();
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
