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
use std::rc::Rc;
use worker::{event, web_sys, Context, Env};

pub use convert::ASSETS_BINDING;
pub use platform::{KV_BINDING, MAX_BODY};

thread_local! {
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
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
fn edge_error(platform: &EdgePlatform<'_>, code: Code, detail: String) -> worker::Result<web_sys::Response> {
    convert::response(respond::error(platform, &Error::new(code, detail), false, None))
}

/// The hot path crosses the JS/wasm boundary a fixed few times (see [`js`]): the request line
/// with the headers a gated route reads (one string), and on a forward the request itself,
/// passed on with its headers edited inside the runtime.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let app = app(&env);
    let platform = EdgePlatform { env: &env };
    let js::Head { method, url, hot } = js::head(&req);
    let url = match url::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e.to_string()),
    };
    let decision = app.decide(url.path());
    let spec = decision.as_ref().map(|d| d.spec()).unwrap_or(crate::router::Route::NotFound.spec());
    let inc = match convert::incoming(&req, spec, method, url, hot).await {
        Ok(i) => i,
        Err(e) => return edge_error(&platform, Code::RequestInvalid, e.to_string()),
    };
    match app.handle_decided(&platform, &inc, decision).await {
        Outcome::Reply(r) => convert::response(r),
        Outcome::Forward(plan) => match app.config() {
            Some(config) => match convert::forward(&env, config, &req, &inc, &plan).await {
                Ok(r) => convert::finish_forward(r, &plan),
                Err(e) => convert::response(app.forward_failed(&platform, &inc, spec, e).await),
            },
            None => edge_error(&platform, Code::ConfigInvalid, "forward without a configuration".into()),
        },
    }
}
