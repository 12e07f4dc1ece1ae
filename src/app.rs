//! Per-isolate state and the request path: route -> flow -> respond, nothing else.
//!
//! One [`App`] lives per isolate: the parsed configuration (or its problems) and the state the
//! isolate's concurrent requests share. Written against [`Platform`], so every flow runs
//! natively in tests with a fake one.

use crate::config::{Config, ConfigErrors, PagesConfig};
use crate::error::{Code, Error};
use crate::flows::{self, Action, Ctx, IsolateState};
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::pages::Look;
use crate::platform::{Level, Platform};
use crate::policy::cors;
use crate::respond;
use crate::return_to::SafeReturnPath;
use crate::router::{self, Decision, Route, Spec};
use std::cell::Cell;

pub struct App {
    config: Result<Config, ConfigErrors>,
    config_logged: Cell<bool>,
    state: IsolateState,
    /// Brand, template folder and auth prefix for the configuration page and the health
    /// route while the configuration is broken.
    fallback: (PagesConfig, String),
}

impl App {
    pub fn new(config: Result<Config, ConfigErrors>) -> App {
        let fallback = match &config {
            Ok(c) => (c.pages.clone(), c.gate.auth_prefix.clone()),
            Err(_) => (PagesConfig::default(), "/auth".to_string()),
        };
        App { config, config_logged: Cell::new(false), state: IsolateState::default(), fallback }
    }

    /// Parses the configuration from vars and secrets; when it is broken, still reads what
    /// the configuration page and the health route need.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> App {
        let mut app = App::new(Config::from_lookup(get));
        if app.config.is_err() {
            app.fallback = Config::fallback_for_pages(get);
        }
        app
    }

    /// Forgets the code exchanges this isolate remembers (a double-submitted callback shares
    /// one for a minute): benches replay one callback and must measure the whole exchange.
    #[cfg(any(test, feature = "testkit"))]
    pub fn forget_exchanges(&self) {
        self.state.exchanges.forget();
    }

    /// Forgets the session cookies this isolate verified: benches measure a value's first use
    /// (its HMAC and decode) as well as its later ones.
    #[cfg(any(test, feature = "testkit"))]
    pub fn forget_verified_sessions(&self) {
        self.state.sessions.forget();
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
            (Err(errors), _) => return Outcome::Reply(self.misconfigured(p, req, errors).await),
            (Ok(c), Some(d)) => (c, d),
            (Ok(c), None) => (c, router::decide(c, req.url.path())),
        };
        let spec = decision.spec();
        // A flow sees the headers its route's spec names, and no others: exactly what the edge
        // copies, so a flow cannot pass native tests and then miss a header at the edge.
        // (The edge copies no others, so the copy is made only for native callers.)
        let seen;
        let req = match req.headers.iter().all(|(k, _)| spec.headers.contains(&k.as_str())) {
            true => req,
            false => {
                let mut copy = req.clone();
                copy.headers.retain(|(k, _)| spec.headers.contains(&k.as_str()));
                seen = copy;
                &seen
            }
        };
        let html = spec.html_errors(req);
        let ctx = Ctx { p, config, state: &self.state, req };
        let route = match &decision {
            Decision::Routed { route, .. } => Some(*route),
            Decision::Refused(_) => None,
        };
        let answer = match decision {
            Decision::Refused(why) => {
                flows::Answer::reply(Err(Error::new(Code::PathRefused, format!("path refused: {}", why.as_str()))))
            }
            // Preflights carry no cookie: answered here, never gated, forwarded or logged in.
            Decision::Routed { .. } if spec.cors && cors::is_preflight(req) => {
                flows::Answer::reply(Ok(cors::preflight(&config.front_end.origins, req, spec.methods)))
            }
            Decision::Routed { .. } if !spec.allows(&req.method) => flows::Answer::reply(Err(Error::from(Code::MethodNotAllowed))),
            Decision::Routed { path, route } => match route {
                Route::Login => flows::login::run(&ctx).await,
                Route::Register => flows::login::run_register(&ctx).await,
                Route::Callback => flows::callback::run(&ctx).await,
                Route::Session => flows::session::run(&ctx).await,
                Route::Logout => flows::logout::run(&ctx).await,
                Route::LoggedOut => flows::logged_out::run(&ctx).await,
                Route::Health => flows::health::run(&ctx).await,
                Route::ConsentWebhook => flows::consent_webhook::run(&ctx).await,
                Route::Jwks => flows::jwks::run(&ctx).await,
                Route::Ciba(op) => flows::ciba::run(&ctx, op).await,
                Route::LoginConfirm => flows::auto_return::confirm(&ctx).await,
                Route::App(op) => flows::app::run(&ctx, op).await,
                Route::NotFound => flows::Answer::reply(Err(Error::from(Code::NotFound))),
                Route::Public | Route::Protected | Route::ProtectedApi => flows::gate::run(&ctx, path, route).await,
            },
        };
        let mut reply = match answer.result {
            Ok(Action::Forward(mut f)) => {
                f.set_cookies = answer.cookies;
                return Outcome::Forward(f);
            }
            Ok(Action::Reply(r)) => r,
            Err(e) => respond::error_for(p, &e, html, &ctx.pages_in(e.brand), wanted_page(route, req).as_ref()).await,
        };
        for c in answer.cookies {
            reply = reply.with_cookie(c);
        }
        if spec.cors {
            cors::allow(&config.front_end.origins, req, &mut reply);
        }
        Outcome::Reply(reply)
    }

    /// The backend did not answer a forwarded request: the same mapping as a flow's error (a
    /// page in the user's language with a reload of the page for navigations, JSON with the
    /// code for API clients), from the headers the route's spec read.
    pub async fn forward_failed<P: Platform>(&self, p: &P, req: &IncomingRequest, spec: &Spec, detail: String) -> Reply {
        let e = Error::new(Code::BackendUnavailable, detail);
        let Some(config) = self.config() else {
            return respond::error(p, &e, false, None);
        };
        let ctx = Ctx { p, config, state: &self.state, req };
        let wanted = SafeReturnPath::parse(crate::util::path_and_query(&req.url));
        respond::error_for(p, &e, spec.html_errors(req), &ctx.pages(), wanted.as_ref()).await
    }

    /// While the configuration is broken every request gets the configuration page (the
    /// health route a 503 naming the bad variables); the log says so once per isolate.
    async fn misconfigured<P: Platform>(&self, p: &P, req: &IncomingRequest, errors: &ConfigErrors) -> Reply {
        if !self.config_logged.replace(true) {
            p.log(Level::Error, Code::ConfigInvalid.as_str(), &errors.to_string());
        }
        let (pages_config, auth_prefix) = &self.fallback;
        if req.url.path() == format!("{auth_prefix}/health") {
            return flows::health::misconfigured(errors);
        }
        let pages = respond::Pages {
            look: Look::negotiate(req.header("accept-language"), pages_config.brand),
            auth_prefix,
            templates: &self.state.templates,
            dir: pages_config.templates(),
        };
        respond::config_error(p, errors, &pages).await
    }
}

/// The page a request was for, when its route knows: the `return_to` of a login, the page
/// itself on the gate. An error page's retry leads back there.
fn wanted_page(route: Option<Route>, req: &IncomingRequest) -> Option<SafeReturnPath> {
    match route? {
        Route::Login | Route::Register => req.url.query_pairs().find(|(k, _)| k == "return_to").and_then(|(_, v)| SafeReturnPath::parse(&v)),
        Route::Public | Route::Protected => SafeReturnPath::parse(crate::util::path_and_query(&req.url)),
        _ => None,
    }
}
