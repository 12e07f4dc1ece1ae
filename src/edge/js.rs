//! The hot path's few trips across the JS/wasm boundary, each one call that moves one string:
//! the request line, the headers a route's spec names (with the names of all headers, for the
//! forward), and the forward itself (the runtime copies the client's headers; only the edits the
//! core decided cross), whose answer is finished in JS ([`finish`]: a personal answer's headers
//! are set there, without a trip back into wasm). Calling `web_sys` getters one value at a time
//! costs a crossing and a string copy each; this costs one per step.
//!
//! Every future here keeps the waker of its latest poll (a promise's `JsFuture` does; [`sleep`]
//! is one): the fetch handler polls its answer once with a no-op waker before it hands an
//! unfinished one to the executor ([`super::fetch`]).
//!
//! Encoding: fields are separated by `\n`, which a URL, a method, a header name or a header
//! value cannot contain (the Fetch standard forbids CR and LF in values); a header value read
//! is `+value`, or `-` when the header is absent.

use wasm_bindgen::prelude::*;
use worker::web_sys;

#[wasm_bindgen(inline_js = r#"
export function edge_var(env, name) {
  const v = env[name]
  const t = typeof v
  return t === 'string' || t === 'number' || t === 'boolean' ? String(v) : undefined
}
// The headers a gated route reads (`HOT_HEADERS` in Rust: keep the two in step), read with the
// request line so the hot path crosses once for all of it.
const HOT = 'cookie,accept,sec-fetch-mode,accept-language,origin,access-control-request-method,authorization'.split(',')
export function edge_head(req) {
  let out = req.method + '\n' + req.url + '\n'
  const h = req.headers
  for (const n of HOT) {
    const v = h.get(n)
    out += (v === null ? '-' : '+' + v) + '\n'
  }
  return out
}
export function edge_headers(from, wanted, names) {
  const headers = from.headers
  let out = ''
  if (names) {
    for (const k of headers.keys()) out += k + ','
  }
  out += '\n'
  if (wanted) {
    for (const n of wanted.split(',')) {
      const v = headers.get(n)
      out += (v === null ? '-' : '+' + v) + '\n'
    }
  }
  return out
}
export function edge_assets(env, req, url) {
  return env.ASSETS.fetch(url ? new Request(url, req) : req)
}
export function edge_reply(status, headers, body) {
  const h = new Headers()
  const a = headers.split('\n')
  for (let i = 0; i + 1 < a.length; i += 2) h.append(a[i], a[i + 1])
  const empty = body === '' && (status === 101 || status === 204 || status === 205 || status === 304)
  return new Response(empty ? null : body, { status, headers: h })
}
export function edge_kv_get(env, binding, key) {
  const kv = env[binding]
  if (!kv) throw new Error('no ' + binding + ' binding')
  return kv.get(key)
}
export function edge_kv_put(env, binding, key, value, ttl) {
  const kv = env[binding]
  if (!kv) throw new Error('no ' + binding + ' binding')
  return kv.put(key, value, { expirationTtl: ttl })
}
// A Request's or Response's body, read as it arrives and cut after cap + 1 bytes: a longer
// result means "too large", and a multi-megabyte body is never buffered whole.
export async function edge_body(from, cap) {
  if (!from.body) return new Uint8Array(0)
  const reader = from.body.getReader()
  const chunks = []
  let n = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    n += value.byteLength
    if (n > cap) {
      reader.cancel().catch(() => {})
      break
    }
  }
  const out = new Uint8Array(Math.min(n, cap + 1))
  let o = 0
  for (const c of chunks) {
    const take = Math.min(c.byteLength, out.length - o)
    out.set(c.subarray(0, take), o)
    o += take
    if (o >= out.length) break
  }
  return out
}
// `status\n` then `name\nvalue\n` per header (names lower case).
export function edge_response_head(resp) {
  let out = resp.status + '\n'
  for (const [k, v] of resp.headers) out += k + '\n' + v + '\n'
  return out
}
export function edge_kv_delete(env, binding, key) {
  const kv = env[binding]
  if (!kv) throw new Error('no ' + binding + ' binding')
  return kv.delete(key)
}
export function edge_binding_get(env, binding, url) {
  const b = env[binding]
  if (!b) throw new Error('no ' + binding + ' binding')
  return b.fetch(url)
}
export function edge_forward(env, binding, req, url, del, append) {
  const h = new Headers(req.headers)
  if (del) for (const n of del.split(',')) h.delete(n)
  if (append) {
    const a = append.split('\n')
    for (let i = 0; i + 1 < a.length; i += 2) h.append(a[i], a[i + 1])
  }
  const out = new Request(url, { method: req.method, headers: h, body: req.body, redirect: 'manual' })
  return binding ? env[binding].fetch(out) : fetch(out)
}
export function edge_subrequest(method, url, headers, body, signal) {
  const h = new Headers()
  if (headers) {
    const a = headers.split('\n')
    for (let i = 0; i + 1 < a.length; i += 2) h.append(a[i], a[i + 1])
  }
  return fetch(url, { method, headers: h, body, redirect: 'manual', signal })
}
// RS256 with WebCrypto; imported keys kept per isolate (a JWKS holds a handful).
const rsaKeys = new Map()
export async function edge_rs256(n, e, data, sig) {
  data = data.slice(); sig = sig.slice() // copies: wasm memory may grow while we wait
  try {
    const id = n + '.' + e
    let key = rsaKeys.get(id)
    if (!key) {
      key = await crypto.subtle.importKey('jwk', { kty: 'RSA', n, e, alg: 'RS256', ext: true },
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify'])
      if (rsaKeys.size >= 64) rsaKeys.clear()
      rsaKeys.set(id, key)
    }
    return await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, sig, data)
  } catch (_) {
    return null // undecided: the core refuses the token
  }
}
// ES256 (ECDSA P-256, SHA-256, `r || s`) with WebCrypto; keys kept as for RS256.
const ecKeys = new Map()
export async function edge_es256(x, y, data, sig) {
  data = data.slice(); sig = sig.slice()
  try {
    const id = x + '.' + y
    let key = ecKeys.get(id)
    if (!key) {
      key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x, y, ext: true },
        { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
      if (ecKeys.size >= 64) ecKeys.clear()
      ecKeys.set(id, key)
    }
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig, data)
  } catch (_) {
    return null // undecided (a point off the curve...): the core refuses the token
  }
}
// Our own RS256 signing keys (the identity assertion): PKCS#8 imported once per isolate under
// the core's id; the first import answers the public half. A key WebCrypto refuses rejects.
const signKeys = new Map()
async function signKey(id, der) {
  let key = signKeys.get(id)
  if (!key) {
    key = await crypto.subtle.importKey('pkcs8', der.slice(),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['sign'])
    if (signKeys.size >= 16) signKeys.clear()
    signKeys.set(id, key)
  }
  return key
}
export async function edge_rs256_key(id, der) {
  const jwk = await crypto.subtle.exportKey('jwk', await signKey(id, der))
  return jwk.n + '.' + jwk.e
}
export async function edge_sign_rs256(id, der, data) {
  data = data.slice()
  const key = await signKey(id, der)
  return new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, data))
}
// The last resort when even the error page could not be made.
export function edge_bare_500() {
  return new Response(null, { status: 500 })
}
// A promise resolved after `ms` milliseconds; `edge_sleep_cancel` clears its timer.
export function edge_sleep(ms) {
  let id
  const p = new Promise((resolve) => { id = setTimeout(resolve, ms) })
  p.timer = id
  return p
}
export function edge_sleep_cancel(p) {
  clearTimeout(p.timer)
}
// The answer of a forward, chained to the backend's promise: as it is, or, for a personal answer
// (`cookies` a string, maybe empty), rebuilt (a fetched response's headers are immutable) with the
// Cache-Control and Vary that `fix` (Rust) derives from the backend's, and the Set-Cookies.
// When the backend does not answer, `fail` (Rust) makes the error page.
// `fix` is a pure function of the two headers, so its answers are kept (a site has a few pairs).
const fixed = new Map()
export function edge_finish(sent, cookies, fix, fail, req, env) {
  return sent.then((resp) => {
    if (cookies === undefined) return resp
    const h = resp.headers
    const cc = h.get('cache-control'), vary = h.get('vary')
    const key = (cc ?? '\u0000') + '\n' + (vary ?? '\u0000')
    let cv = fixed.get(key)
    if (cv === undefined) {
      cv = fix(cc ?? undefined, vary ?? undefined)
      if (fixed.size >= 64) fixed.clear()
      fixed.set(key, cv)
    }
    const i = cv.indexOf('\n')
    const r = new Response(resp.body, resp)
    r.headers.set('cache-control', cv.slice(0, i))
    r.headers.set('vary', cv.slice(i + 1))
    if (cookies) for (const c of cookies.split('\n')) r.headers.append('set-cookie', c)
    return r
  }, (e) => fail(req, env, e))
}
"#)]
extern "C" {
    fn edge_var(env: &JsValue, name: &str) -> Option<String>;
    /// `METHOD\nURL\n`, then `+value\n` or `-\n` per name of [`HOT_HEADERS`].
    fn edge_head(req: &web_sys::Request) -> String;
    /// `name,name,...,\n` (when `names`), then `+value\n` or `-\n` per name in `wanted`
    /// (comma-separated).
    fn edge_headers(from: &JsValue, wanted: &str, names: bool) -> String;
    #[wasm_bindgen(catch)]
    fn edge_assets(env: &JsValue, req: &web_sys::Request, url: Option<&str>) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_reply(status: u16, headers: &str, body: &str) -> Result<web_sys::Response, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_kv_get(env: &JsValue, binding: &str, key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_kv_put(env: &JsValue, binding: &str, key: &str, value: &str, ttl: f64) -> Result<js_sys::Promise, JsValue>;
    fn edge_body(from: &JsValue, cap: f64) -> js_sys::Promise;
    fn edge_response_head(resp: &web_sys::Response) -> String;
    #[wasm_bindgen(catch)]
    fn edge_kv_delete(env: &JsValue, binding: &str, key: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_binding_get(env: &JsValue, binding: &str, url: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_forward(
        env: &JsValue,
        binding: Option<&str>,
        req: &web_sys::Request,
        url: &str,
        del: &str,
        append: &str,
    ) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(catch)]
    fn edge_subrequest(
        method: &str,
        url: &str,
        headers: &str,
        body: Option<String>,
        signal: &web_sys::AbortSignal,
    ) -> Result<js_sys::Promise, JsValue>;
    fn edge_rs256(n: &str, e: &str, data: &[u8], sig: &[u8]) -> js_sys::Promise;
    fn edge_es256(x: &str, y: &str, data: &[u8], sig: &[u8]) -> js_sys::Promise;
    fn edge_rs256_key(id: &str, der: &[u8]) -> js_sys::Promise;
    fn edge_sign_rs256(id: &str, der: &[u8], data: &[u8]) -> js_sys::Promise;
    fn edge_bare_500() -> JsValue;
    fn edge_sleep(ms: f64) -> js_sys::Promise;
    fn edge_sleep_cancel(p: &js_sys::Promise);
    fn edge_finish(sent: &js_sys::Promise, cookies: Option<&str>, fix: &JsValue, fail: &JsValue, req: &web_sys::Request, env: &JsValue) -> JsValue;
}

/// A var or secret of `env` as text: a string, or a number or boolean as JavaScript writes it
/// (the runtime formats the number, so no float formatting code is in the wasm).
pub fn var(env: &JsValue, name: &str) -> Option<String> {
    edge_var(env, name)
}

/// The headers the gated routes read (their specs' names), read with the request line in one
/// trip; the JS side names them in the same order (`HOT`).
pub const HOT_HEADERS: [&str; 7] =
    ["cookie", "accept", "sec-fetch-mode", "accept-language", "origin", "access-control-request-method", "authorization"];

/// The request line and the [`HOT_HEADERS`] present.
pub struct Head {
    pub method: String,
    pub url: String,
    pub hot: Vec<(&'static str, String)>,
}

/// The request's method and URL (as received), and the values of [`HOT_HEADERS`].
pub fn head(req: &web_sys::Request) -> Head {
    let s = edge_head(req);
    let mut lines = s.split('\n');
    let method = lines.next().unwrap_or_default().to_string();
    let url = lines.next().unwrap_or_default().to_string();
    let hot = HOT_HEADERS.iter().zip(lines).filter_map(|(&n, l)| l.strip_prefix('+').map(|v| (n, v.to_string()))).collect();
    Head { method, url, hot }
}

/// Values of the headers named in `wanted` (lower case), in that order, with the names of all
/// the headers when `names`.
pub struct ReadHeaders {
    pub names: Vec<String>,
    pub values: Vec<(String, String)>,
}

/// `from` is a Request or a Response.
pub fn headers(from: &JsValue, wanted: &[&str], names: bool) -> ReadHeaders {
    let s = edge_headers(from, &wanted.join(","), names);
    let mut lines = s.split('\n');
    let names = lines.next().unwrap_or("").split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
    let mut values = Vec::with_capacity(wanted.len());
    for (&name, line) in wanted.iter().zip(lines) {
        if let Some(v) = line.strip_prefix('+') {
            values.push((name.to_string(), v.to_string()));
        }
    }
    ReadHeaders { names, values }
}

/// Sends `req` to the static assets binding (`ASSETS`, named in the JS) as the client sent it,
/// at `url` when the path differs.
pub fn assets(env: &JsValue, req: &web_sys::Request, url: Option<&str>) -> Result<js_sys::Promise, JsValue> {
    edge_assets(env, req, url)
}

/// Sends `req` on to `url` with its headers edited: to the binding `binding` of `env`, or
/// with the global `fetch` when `None`. Method and body as the client sent them; redirects
/// are returned, not followed.
pub fn forward(
    env: &JsValue,
    binding: Option<&str>,
    req: &web_sys::Request,
    url: &str,
    edits: &crate::policy::forward::HeaderEdits,
) -> Result<js_sys::Promise, JsValue> {
    let del = edits.delete.join(",");
    let mut append = String::new();
    for (k, v) in &edits.append {
        append.push_str(k);
        append.push('\n');
        append.push_str(v);
        append.push('\n');
    }
    edge_forward(env, binding, req, url, &del, &append)
}

/// The answer of a forward: the backend's promise `sent` with, for a personal answer (`cookies`
/// given: the `Set-Cookie`s, one per line), `Cache-Control` and `Vary` set by `fix` and the
/// cookies appended, and `fail`'s answer when the backend does not answer. All in JS, after
/// this call returns: the answer does not cross back into wasm.
pub fn finish(sent: &js_sys::Promise, cookies: Option<&str>, fix: &JsValue, fail: &JsValue, req: &web_sys::Request, env: &JsValue) -> JsValue {
    edge_finish(sent, cookies, fix, fail, req, env)
}

/// An RS256 signature check with the runtime's WebCrypto (the key imported once per isolate):
/// `None` when WebCrypto refuses the key or fails, and the core refuses the token.
pub async fn rs256(n_b64: &str, e_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
    let v = worker::wasm_bindgen_futures::JsFuture::from(edge_rs256(n_b64, e_b64, data, signature)).await.ok()?;
    v.as_bool()
}

/// An ES256 signature check, as [`rs256`].
pub async fn es256(x_b64: &str, y_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
    let v = worker::wasm_bindgen_futures::JsFuture::from(edge_es256(x_b64, y_b64, data, signature)).await.ok()?;
    v.as_bool()
}

/// Imports our RSA private key (PKCS#8 DER, kept per isolate as `id`): its public `(n, e)`,
/// base64url.
pub async fn rs256_key(id: &str, der: &[u8]) -> Result<(String, String), String> {
    let v = worker::wasm_bindgen_futures::JsFuture::from(edge_rs256_key(id, der)).await.map_err(|e| super::convert::js_error(&e))?;
    let s = v.as_string().unwrap_or_default();
    match s.split_once('.') {
        Some((n, e)) if !n.is_empty() && !e.is_empty() => Ok((n.to_string(), e.to_string())),
        _ => Err("WebCrypto gave no public key".into()),
    }
}

/// An RS256 signature of `data` with the key of [`rs256_key`].
pub async fn sign_rs256(id: &str, der: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let v = worker::wasm_bindgen_futures::JsFuture::from(edge_sign_rs256(id, der, data)).await.map_err(|e| super::convert::js_error(&e))?;
    Ok(js_sys::Uint8Array::new(&v).to_vec())
}

/// An empty `500`, for when even the error page could not be made (nothing is left to fail).
pub fn bare_500() -> JsValue {
    edge_bare_500()
}

/// A timer: ready after `ms` milliseconds; dropped before, it clears its timer.
///
/// Not `worker::Delay`: that keeps the waker of its first poll, and the fetch handler's first
/// poll is a no-op one ([`super::fetch`]); a promise's future keeps the waker of its latest.
pub fn sleep(ms: u64) -> Sleep {
    let promise = edge_sleep(ms as f64);
    Sleep { wait: worker::wasm_bindgen_futures::JsFuture::from(promise.clone()), promise }
}

pub struct Sleep {
    promise: js_sys::Promise,
    wait: worker::wasm_bindgen_futures::JsFuture,
}

impl std::future::Future for Sleep {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::pin::Pin::new(&mut self.wait).poll(cx).map(|_| ())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        edge_sleep_cancel(&self.promise);
    }
}

/// Headers as `name\nvalue\n` pairs for the JS side; `None` when a name or value holds CR or
/// LF (it could not be sent as one header).
fn join_headers(headers: &[(String, String)]) -> Option<String> {
    let mut joined = String::new();
    for (k, v) in headers {
        if [k, v].iter().any(|s| s.contains(['\n', '\r'])) {
            return None;
        }
        joined.push_str(k);
        joined.push('\n');
        joined.push_str(v);
        joined.push('\n');
    }
    Some(joined)
}

/// A subrequest (the identity provider's endpoints): redirects are returned, not followed.
/// `None` for a header that cannot be sent (a name or value with CR or LF).
pub async fn subrequest(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<String>,
    signal: &web_sys::AbortSignal,
) -> Option<Result<web_sys::Response, JsValue>> {
    let joined = join_headers(headers)?;
    let run = async {
        let promise = edge_subrequest(method, url, &joined, body, signal)?;
        worker::wasm_bindgen_futures::JsFuture::from(promise).await?.dyn_into()
    };
    Some(run.await)
}

/// `GET url` from the binding `binding` of `env` (the static assets).
pub async fn binding_get(env: &JsValue, binding: &str, url: &str) -> Result<web_sys::Response, JsValue> {
    let promise = edge_binding_get(env, binding, url)?;
    worker::wasm_bindgen_futures::JsFuture::from(promise).await?.dyn_into()
}

/// A response the core made in full. `None` for a header that cannot be sent (CR or LF).
pub fn reply(status: u16, headers: &[(String, String)], body: &str) -> Option<Result<web_sys::Response, JsValue>> {
    let joined = join_headers(headers)?;
    Some(edge_reply(status, &joined, body))
}

/// A Workers KV value as text, `None` when absent.
pub async fn kv_get(env: &JsValue, binding: &str, key: &str) -> Result<Option<String>, String> {
    let run = async {
        let promise = edge_kv_get(env, binding, key)?;
        worker::wasm_bindgen_futures::JsFuture::from(promise).await
    };
    let v = run.await.map_err(|e| super::convert::js_error(&e))?;
    match v.as_string() {
        Some(s) => Ok(Some(s)),
        None if v.is_null() || v.is_undefined() => Ok(None),
        None => Err("a KV value that is not text".into()),
    }
}

/// Stores a Workers KV value that expires after `ttl_secs`.
pub async fn kv_put(env: &JsValue, binding: &str, key: &str, value: &str, ttl_secs: u64) -> Result<(), String> {
    let run = async {
        let promise = edge_kv_put(env, binding, key, value, ttl_secs as f64)?;
        worker::wasm_bindgen_futures::JsFuture::from(promise).await
    };
    run.await.map(|_| ()).map_err(|e| super::convert::js_error(&e))
}

/// A body (of a Request or a Response), at most `cap + 1` bytes: a longer one is cut there.
pub async fn body(from: &JsValue, cap: usize) -> Result<Vec<u8>, String> {
    let v = worker::wasm_bindgen_futures::JsFuture::from(edge_body(from, cap as f64)).await.map_err(|e| super::convert::js_error(&e))?;
    Ok(js_sys::Uint8Array::new(&v).to_vec())
}

/// A response's status and headers (names lower case, as the runtime gives them).
pub fn response_head(resp: &web_sys::Response) -> (u16, Vec<(String, String)>) {
    let s = edge_response_head(resp);
    let mut lines = s.split('\n');
    let status = lines.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let mut headers = Vec::new();
    while let (Some(k), Some(v)) = (lines.next(), lines.next()) {
        headers.push((k.to_string(), v.to_string()));
    }
    (status, headers)
}

/// Deletes a Workers KV value.
pub async fn kv_delete(env: &JsValue, binding: &str, key: &str) -> Result<(), String> {
    let run = async {
        let promise = edge_kv_delete(env, binding, key)?;
        worker::wasm_bindgen_futures::JsFuture::from(promise).await
    };
    run.await.map(|_| ()).map_err(|e| super::convert::js_error(&e))
}

#[cfg(test)]
mod tests {
    /// The JS half of this module names the hot headers and the assets binding itself; they must
    /// be the ones the Rust half expects.
    #[test]
    fn the_js_names_what_rust_expects() {
        let src = include_str!("js.rs");
        assert!(src.contains(&format!("const HOT = '{}'.split(',')", super::HOT_HEADERS.join(","))));
        assert!(src.contains(&format!("env.{}.fetch(", super::super::ASSETS_BINDING)));
    }
}
