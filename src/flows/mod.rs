//! One endpoint per file. A flow gets a small [`Ctx`] (platform, configuration, per-isolate
//! state, the request) and returns an [`Answer`]: what to do, plus the cookies to set
//! whatever the outcome. Errors are returned, never rendered here: [`crate::respond`] does
//! that, once.

pub mod app;
pub mod auto_return;
pub mod callback;
pub mod ciba;
pub mod ciba_redirect;
#[cfg(test)]
mod ciba_tests;
pub mod consent_webhook;
pub mod gate;
pub mod jwks;
pub mod health;
pub mod logged_out;
pub mod login;
pub mod login_variants;
#[cfg(test)]
mod login_variants_tests;
pub mod logout;
pub mod session;
pub mod stored_login;

use crate::config::Config;
use crate::error::Error;
use crate::http::{IncomingRequest, Reply};
use crate::oidc::doc_cache::DocCache;
use crate::pages::{Look, Page, Templates};
use crate::platform::Platform;
use crate::policy::forward::Forward;
use crate::policy::identity::Assertions;
use crate::session::exchanges::Exchanges;
use crate::session::revocation::Revocations;
use crate::upstream::Budget;

/// What lives as long as the isolate, shared by its concurrent requests.
#[derive(Default)]
pub struct IsolateState {
    pub docs: DocCache,
    pub revocations: Revocations,
    /// Session cookies this isolate verified lately.
    pub sessions: crate::session::user::VerifiedSessions,
    pub exchanges: Exchanges,
    pub assertions: Assertions,
    /// Operators' page templates, read at first use.
    pub templates: Templates,
    /// `login_to_webpage` callbacks (no `state`) that failed lately: each costs a token request
    /// anyone can cause, so their number is bounded (see [`ciba_redirect`]).
    pub failed_blind_callbacks: crate::memo::Window,
    /// Logins kept in KV started lately (`STORED_LOGINS_PER_MINUTE`).
    pub stored_logins: crate::memo::Window,
    /// When this isolate last checked each bearer session against KV.
    pub bearers: crate::session::bearer::Bearers,
}

/// What a flow works with.
pub struct Ctx<'a, P: Platform> {
    pub p: &'a P,
    pub config: &'a Config,
    pub state: &'a IsolateState,
    pub req: &'a IncomingRequest,
}

impl<P: Platform> Ctx<'_, P> {
    /// A fresh budget for this request's calls to other servers (reads the clock: only flows
    /// that call out ask for one).
    pub fn budget(&self) -> Budget {
        Budget::new(self.p.now_millis(), &self.config.upstream)
    }

    /// The user's language (`Accept-Language`, when the route's spec reads it) and the
    /// market's brand.
    pub fn look(&self) -> Look {
        self.look_in(None)
    }

    /// As [`Ctx::look`], in `brand` when given (a login started for another market); else a
    /// `?market=` that `VIPPS_MARKETS` allows picks the brand.
    pub fn look_in(&self, brand: Option<crate::pages::Brand>) -> Look {
        let brand = brand
            .or_else(|| login_variants::requested_market(self.config, self.req).map(|m| m.brand()))
            .unwrap_or(self.config.pages.brand);
        Look::negotiate(self.req.header("accept-language"), brand)
    }

    /// What rendering an error page needs, in the error's brand.
    pub fn pages_in(&self, brand: Option<crate::pages::Brand>) -> crate::respond::Pages<'_> {
        crate::respond::Pages { look: self.look_in(brand), ..self.pages() }
    }

    /// What rendering a page for this request needs.
    pub fn pages(&self) -> crate::respond::Pages<'_> {
        crate::respond::Pages {
            look: self.look(),
            auth_prefix: &self.config.gate.auth_prefix,
            templates: &self.state.templates,
            dir: self.config.pages.templates(),
        }
    }

    /// A page as this request's response.
    pub async fn page(&self, page: Page) -> Reply {
        self.pages().reply(self.p, page).await
    }
}

/// What a flow decided.
#[derive(Debug)]
pub enum Action {
    Reply(Reply),
    Forward(Forward),
}

/// A flow's result and the cookies that go out with it, success or not (a consumed login
/// state stays consumed even when the login then fails).
#[derive(Debug)]
pub struct Answer {
    pub result: Result<Action, Error>,
    pub cookies: Vec<String>,
}

impl Answer {
    pub fn reply(r: Result<Reply, Error>) -> Answer {
        Answer { result: r.map(Action::Reply), cookies: Vec::new() }
    }
    pub fn with_cookie(mut self, cookie: Option<String>) -> Answer {
        self.cookies.extend(cookie);
        self
    }
}
