//! The edge: the only module that imports `worker`. It adapts the runtime to the core's
//! [`crate::platform::Platform`] ([`platform`]), converts requests and responses
//! ([`convert`]), and hands each request to the isolate's [`App`].

pub mod convert;
pub(crate) mod js;
pub mod platform;

use crate::app::App;
use crate::error::{Code, Error};
use crate::http::Outcome;
use crate::respond;
use platform::EdgePlatform;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Poll, Waker};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use worker::{web_sys, Env};

pub use convert::ASSETS_BINDING;
pub use platform::{KV_BINDING, MAX_BODY};

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
    /// The two callbacks the JS side of a forward calls when the backend has answered (made once
    /// per isolate, so a request creates no closure): `fix` gives a personal answer's
    /// `Cache-Control` and `Vary`, `fail` the error page for a backend that did not answer.
    static HOOKS: (JsValue, JsValue) = (
        Closure::<dyn Fn(Option<String>, Option<String>) -> String>::new(|cc: Option<String>, vary: Option<String>| {
            let (cc, vary) = crate::policy::forward::personal_cache_headers(cc.as_deref(), vary.as_deref());
            format!("{cc}\n{vary}")
        })
        .into_js_value(),
        Closure::<dyn Fn(JsValue, JsValue, JsValue) -> JsValue>::new(|req: JsValue, env: JsValue, err: JsValue| {
            let detail = convert::js_error(&err);
            let failed = backend_failed(req.unchecked_into(), env.unchecked_into(), detail);
            JsValue::from(worker::wasm_bindgen_futures::future_to_promise(async move { Ok(failed.await) }))
        })
        .into_js_value(),
    );
}

/// The isolate's `App`, with configuration parsed once. Vars and secrets are read as text;
/// numbers and booleans from `[vars]` as JavaScript spells them ([`js::var`]).
fn app(env: &Env) -> Rc<App> {
    APP.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| Rc::new(App::from_lookup(&|k| js::var(env.as_ref(), k))))
            .clone()
    })
}

/// The edge's own errors (an unreadable request, a backend that did not answer), through the
/// one error mapping.
fn edge_error(platform: &EdgePlatform<'_>, code: Code, detail: String) -> Result<JsValue, String> {
    convert::response(respond::error(platform, &Error::new(code, detail), false, None)).map(JsValue::from)
}

/// The Worker's fetch handler: `worker-build`'s entrypoint calls the wasm export `fetch` with
/// the request, the env and the context, and awaits what it returns.
///
/// The answer is made by polling [`answer`] once, in this call: when the core needs no I/O
/// (the hot path, a gated page with a valid session) that poll finishes, and the handler
/// returns the reply itself or the backend's promise with the edits of the forward chained in
/// JS. Only a request that waits on I/O (a login, the callback, KV) is handed, half-done, to
/// wasm-bindgen's executor as a promise. (The `worker` crate's `#[event(fetch)]` would send
/// every request through that executor and a `JsFuture` for the backend.)
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> JsValue {
    let mut answer = Box::pin(answer(req, env));
    match answer.as_mut().poll(&mut std::task::Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        // Every future the core awaits keeps the waker of its latest poll (JsFuture does), so
        // the executor's next poll takes over from the no-op one.
        Poll::Pending => worker::wasm_bindgen_futures::future_to_promise(async move { Ok(answer.await) }).into(),
    }
}

/// The answer to one request: a Response, or a promise of one.
async fn answer(req: web_sys::Request, env: Env) -> JsValue {
    match serve(&req, &env).await {
        Ok(v) => v,
        // Whatever the runtime cannot take becomes the 500 of the one error mapping (and,
        // should even that fail, a bare 500).
        Err(e) => edge_error(&EdgePlatform { env: &env }, Code::Internal, e).unwrap_or_else(|_| js::bare_500()),
    }
}

/// The hot path crosses the JS/wasm boundary a fixed few times (see [`js`]): the request line
/// with the headers a gated route reads (one string), and on a forward the request itself,
/// passed on with its headers edited inside the runtime and the answer's edits chained there.
async fn serve(req: &web_sys::Request, env: &Env) -> Result<JsValue, String> {
    let app = app(env);
    let platform = EdgePlatform { env };
    let js::Head { method, url, hot } = js::head(req);
    let url = match url::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e.to_string()),
    };
    let decision = app.decide(url.path());
    let spec = decision.as_ref().map(|d| d.spec()).unwrap_or(crate::router::Route::NotFound.spec());
    let inc = match convert::incoming(req, spec, method, url, hot).await {
        Ok(i) => i,
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e),
    };
    match app.handle_decided(&platform, &inc, decision).await {
        Outcome::Reply(r) => convert::response(r).map(JsValue::from),
        Outcome::Forward(plan) => match app.config() {
            Some(config) => match convert::forward(env, config, req, &inc, &plan) {
                Ok(sent) => {
                    let personal = plan.is_personal().then(|| plan.set_cookies.join("\n"));
                    Ok(HOOKS.with(|(fix, fail)| js::finish(&sent, personal.as_deref(), fix, fail, req, env.as_ref())))
                }
                Err(e) => convert::response(app.forward_failed(&platform, &inc, spec, e).await).map(JsValue::from),
            },
            None => edge_error(&platform, Code::ConfigInvalid, "forward without a configuration".into()),
        },
    }
}

/// The answer when the backend of a forward did not answer: the route is decided again from
/// the request (its body went to the backend; the error page reads only the head).
async fn backend_failed(req: web_sys::Request, env: Env, detail: String) -> JsValue {
    let app = app(&env);
    let platform = EdgePlatform { env: &env };
    let js::Head { method, url, hot } = js::head(&req);
    let reply = match url::Url::parse(&url) {
        Ok(url) => {
            let spec = app.decide(url.path()).map(|d| d.spec()).unwrap_or(crate::router::Route::NotFound.spec());
            let inc = convert::incoming_head(&req, spec, method, url, hot);
            app.forward_failed(&platform, &inc, spec, detail).await
        }
        Err(_) => respond::error(&platform, &Error::new(Code::BackendUnavailable, detail), false, None),
    };
    match convert::response(reply) {
        Ok(r) => r.into(),
        Err(e) => edge_error(&platform, Code::Internal, e).unwrap_or_else(|_| js::bare_500()),
    }
}
