//! The edge: the only module that imports `worker`. It adapts the runtime to the core's
//! [`crate::platform::Platform`] ([`platform`]), converts requests and responses
//! ([`convert`]), and hands each request to the isolate's [`App`].

pub mod convert;
pub mod platform;

use crate::app::App;
use crate::error::{Code, Error};
use crate::http::Outcome;
use crate::respond;
use platform::EdgePlatform;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{event, Context, Env, Request, Response};

pub use convert::ASSETS_BINDING;
pub use platform::{KV_BINDING, MAX_BODY};

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
            .get_or_insert_with(|| Rc::new(App::from_lookup(&|k| env_string(env, k))))
            .clone()
    })
}

/// The edge's own errors (an unreadable request, a backend that did not answer), through the
/// one error mapping.
fn edge_error(platform: &EdgePlatform<'_>, code: Code, detail: String) -> worker::Result<Response> {
    convert::response(respond::error(platform, &Error::new(code, detail), false, None))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let app = app(&env);
    let platform = EdgePlatform { env: &env };
    let mut req = req;
    let path = match req.url() {
        Ok(u) => u.path().to_string(),
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e.to_string()),
    };
    let decision = app.decide(&path);
    let spec = decision.as_ref().map(|d| d.spec()).unwrap_or(crate::router::Route::NotFound.spec());
    let inc = match convert::incoming(&mut req, spec).await {
        Ok(i) => i,
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e.to_string()),
    };
    match app.handle_decided(&platform, &inc, decision).await {
        Outcome::Reply(r) => convert::response(r),
        Outcome::Forward(plan) => match app.config() {
            Some(config) => match convert::forward(&env, config, req, &plan).await {
                Ok(r) => convert::finish_forward(r, &plan),
                Err(e) => convert::response(app.forward_failed(&platform, &inc, spec, e.to_string()).await),
            },
            None => edge_error(&platform, Code::ConfigInvalid, "forward without a configuration".into()),
        },
    }
}
