//! Per-isolate state and the request path: route -> flow -> respond, nothing else.
//!
//! One [`App`] lives per isolate: the parsed configuration (or its problems) and the state the
//! isolate's concurrent requests share. Written against [`Platform`], so every flow runs
//! natively in tests with a fake one.

use crate::config::{Config, ConfigErrors};
use crate::error::{Code, Error};
use crate::flows::{self, Action, Ctx, IsolateState};
use crate::http::{IncomingRequest, Outcome};
use crate::platform::{Level, Platform};
use crate::respond;
use crate::router::{self, Decision, Route};
use std::cell::Cell;

pub struct App {
    config: Result<Config, ConfigErrors>,
    config_logged: Cell<bool>,
    state: IsolateState,
}

impl App {
    pub fn new(config: Result<Config, ConfigErrors>) -> App {
        App { config, config_logged: Cell::new(false), state: IsolateState::default() }
    }

    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref().ok()
    }

    /// What a request to `raw_path` is; `None` while the configuration is broken. The edge
    /// reads the request as the decision's spec says, then calls [`App::handle_decided`].
    pub fn decide(&self, raw_path: &str) -> Option<Decision> {
        self.config().map(|c| router::decide(c, raw_path))
    }

    /// Handles one request (deciding its route first).
    pub async fn handle<P: Platform>(&self, p: &P, req: &IncomingRequest) -> Outcome {
        let decision = self.decide(req.url.path());
        self.handle_decided(p, req, decision).await
    }

    /// Handles one request whose route is decided.
    pub async fn handle_decided<P: Platform>(&self, p: &P, req: &IncomingRequest, decision: Option<Decision>) -> Outcome {
        let (config, decision) = match (&self.config, decision) {
            (Err(errors), _) => return Outcome::Reply(self.config_error(p, errors)),
            (Ok(c), Some(d)) => (c, d),
            (Ok(c), None) => (c, router::decide(c, req.url.path())),
        };
        let spec = decision.spec();
        // A flow sees the headers its route's spec names, and no others: exactly what the edge
        // copies, so a flow cannot pass native tests and then miss a header at the edge.
        let mut seen = req.clone();
        seen.headers.retain(|(k, _)| spec.headers.contains(&k.as_str()));
        let req = &seen;
        let html = spec.html_errors || req.wants_html();
        let ctx = Ctx { p, config, state: &self.state, req };
        let answer = match decision {
            Decision::Refused(why) => {
                flows::Answer::reply(Err(Error::new(Code::PathRefused, format!("path refused: {}", why.as_str()))))
            }
            Decision::Routed { .. } if !spec.allows(&req.method) => flows::Answer::reply(Err(Error::from(Code::MethodNotAllowed))),
            Decision::Routed { path, route } => match route {
                Route::Login => flows::login::run(&ctx).await,
                Route::Callback => flows::callback::run(&ctx).await,
                Route::Session => flows::session::run(&ctx).await,
                Route::Logout => flows::logout::run(&ctx).await,
                Route::ConsentWebhook => flows::consent_webhook::run(&ctx).await,
                Route::Jwks => flows::jwks::run(&ctx),
                Route::Ciba(op) => flows::ciba::run(&ctx, op).await,
                Route::NotFound => flows::Answer::reply(Err(Error::from(Code::NotFound))),
                Route::Public => flows::gate::run(&ctx, path, false).await,
                Route::Protected => flows::gate::run(&ctx, path, true).await,
            },
        };
        let mut reply = match answer.result {
            Ok(Action::Forward(mut f)) => {
                f.set_cookies = answer.cookies;
                return Outcome::Forward(f);
            }
            Ok(Action::Reply(r)) => r,
            Err(e) => respond::error(p, &e, html, Some(&config.login_path())),
        };
        for c in answer.cookies {
            reply = reply.with_cookie(c);
        }
        Outcome::Reply(reply)
    }

    /// Every request gets the configuration page while it is broken; the log says so once per
    /// isolate.
    fn config_error<P: Platform>(&self, p: &P, errors: &ConfigErrors) -> crate::http::Reply {
        if !self.config_logged.replace(true) {
            p.log(Level::Error, Code::ConfigInvalid.as_str(), &errors.to_string());
        }
        respond::config_error(errors)
    }
}
