//! The login variants the plain browser flow does not have, each off unless configured:
//! - what a login asks of Vipps ([`requested`]): a silent attempt (`?silent=1`), a market
//!   (`?market=DK`), the registration scopes (`/auth/register`), and what the return path's
//!   `STEP_UP_RULES` need (in-app confirmation, `step_up`, a maximum age);
//! - what a callback with a provider error does instead of an error page
//!   ([`instead_of_error`]): a silent attempt returns the user to the page unauthenticated with a
//!   marker; `temporarily_unavailable` (Safari's tracking prevention can cause it) starts one new
//!   login to the same page, marked in the transaction so it never loops;
//! - the gate's step-up ([`step_up`]): a session too weak or too old for its path logs in again.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::authorize;
use crate::oidc::callback::CallbackParams;
use crate::oidc::options::{LoginOptions, Market};
use crate::pages::texts::code_text;
use crate::platform::{Level, Platform};
use crate::policy::path::CanonicalPath;
use crate::return_to::SafeReturnPath;
use crate::session::{cookie, LoginTransaction, Session, TransactionCookie};
use crate::util::b64url;

/// The query parameter a silent attempt's return carries, for front ends.
pub const MARKER: &str = "vipps_login";
/// Remembers a failed silent attempt for `SILENT_LOGIN_BACKOFF` seconds; `/auth/session`
/// reports it as `silent_login`, so a front end does not try again on every page.
pub const SILENT_COOKIE: &str = "__Host-vipps-silent";

/// Why a silent attempt came back without a login (the marker's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilentOutcome {
    /// Vipps needs the user (`login_required`, `interaction_required`, `consent_required`,
    /// `account_selection_required`): not remembered in this browser, or new consent needed.
    LoginRequired,
    /// Any other provider error (`server_error`, undocumented ones).
    Failed,
    /// `SILENT_LOGIN` is off: nothing was asked of Vipps.
    Unavailable,
}

impl SilentOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SilentOutcome::LoginRequired => "login_required",
            SilentOutcome::Failed => "silent_failed",
            SilentOutcome::Unavailable => "silent_unavailable",
        }
    }
    fn of_provider_error(error: &str) -> SilentOutcome {
        match error {
            "login_required" | "interaction_required" | "consent_required" | "account_selection_required" => SilentOutcome::LoginRequired,
            _ => SilentOutcome::Failed,
        }
    }
    fn parse(s: &str) -> Option<SilentOutcome> {
        [SilentOutcome::LoginRequired, SilentOutcome::Failed, SilentOutcome::Unavailable].into_iter().find(|o| o.as_str() == s)
    }
}

fn query<P: Platform>(ctx: &Ctx<'_, P>, name: &str) -> Option<String> {
    ctx.req.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The market a request asks for with `?market=`, when `VIPPS_MARKETS` allows it.
pub fn requested_market(config: &crate::config::Config, req: &crate::http::IncomingRequest) -> Option<Market> {
    if config.login_options.markets.is_empty() {
        return None;
    }
    let m = req.url.query_pairs().find(|(k, _)| k == "market").map(|(_, v)| v.into_owned())?;
    Market::parse(&m).filter(|m| config.login_options.markets.contains(m))
}

/// The step-up requirements of a same-origin path (with or without its query); nothing for
/// anything else.
fn requirement_of(config: &crate::config::Config, raw: &str) -> crate::policy::step_up::Requirement {
    if config.login_options.step_up.is_empty() || !raw.starts_with('/') {
        return Default::default();
    }
    let path = raw.split(['?', '#']).next().unwrap_or("/");
    match CanonicalPath::parse(path) {
        Ok(p) => config.login_options.step_up.requirement(&p),
        Err(_) => Default::default(),
    }
}

/// What this login asks of Vipps; `Err` is the answer instead of a login (a silent attempt
/// while `SILENT_LOGIN` is off returns at once, unauthenticated, with the marker).
pub fn requested<P: Platform>(ctx: &Ctx<'_, P>, return_to: &SafeReturnPath, register: bool) -> Result<LoginOptions, Answer> {
    let config = ctx.config;
    let silent = query(ctx, "silent").is_some_and(|v| v == "1" || v == "true");
    if silent && config.login_options.silent.is_none() {
        ctx.p.log(Level::Info, "login.silent_unavailable", "a silent attempt while SILENT_LOGIN is off");
        return Err(silent_return(ctx, return_to, SilentOutcome::Unavailable, Vec::new()));
    }
    let market = requested_market(config, ctx.req);
    if market.is_none() && query(ctx, "market").is_some() {
        ctx.p.log(Level::Info, "login.market_refused", "market is not one of VIPPS_MARKETS; using the configured market");
    }
    // What the page needs, and what `step_up_for` names: a same-origin path (an API path a
    // front end on another origin was refused with `session.step_up_required`) whose
    // requirements are added. Requirements only add up: a login never asks for less than its
    // return path needs.
    let mut need = requirement_of(config, return_to.as_str());
    if let Some(extra) = query(ctx, "step_up_for") {
        need = need.and(requirement_of(config, &extra));
    }
    Ok(LoginOptions {
        silent,
        register,
        app_auth: need.app_auth,
        step_up: need.step_up,
        max_age: need.max_age,
        market,
        retried: false,
    })
}

/// A `303` back to the page, unauthenticated, with `?vipps_login=<outcome>`, and the cookie
/// that lets `/auth/session` say so for a while.
fn silent_return<P: Platform>(ctx: &Ctx<'_, P>, return_to: &SafeReturnPath, outcome: SilentOutcome, mut cookies: Vec<String>) -> Answer {
    let to = return_to.with_query_param(MARKER, outcome.as_str());
    let backoff = ctx.config.login_options.silent_backoff;
    if backoff > 0 {
        cookies.push(cookie::set_cookie(SILENT_COOKIE, outcome.as_str(), backoff));
    }
    Answer { result: Ok(super::Action::Reply(Reply::redirect(303, to.as_str()))), cookies }
}

/// The outcome of a failed silent attempt this browser still remembers.
pub fn remembered_silent_outcome(cookie_header: &str) -> Option<&'static str> {
    cookie::values(cookie_header, SILENT_COOKIE).into_iter().find_map(SilentOutcome::parse).map(SilentOutcome::as_str)
}

/// A `Set-Cookie` that forgets a failed silent attempt, when the request carries one (a login
/// succeeded).
pub fn forget_silent_outcome<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    remembered_silent_outcome(&ctx.req.cookie_header()).map(|_| cookie::clear_cookie(SILENT_COOKIE))
}

/// `401 session.required`, with `"silent_login": <outcome>` while a failed silent attempt is
/// remembered.
pub fn session_required<P: Platform>(ctx: &Ctx<'_, P>) -> Reply {
    let code = Code::SessionRequired;
    let (_, message) = code_text(code, crate::pages::Look::english());
    let mut body = serde_json::json!({"error": code.as_str(), "message": message});
    if let Some(outcome) = remembered_silent_outcome(&ctx.req.cookie_header()) {
        body["silent_login"] = serde_json::Value::from(outcome);
    }
    Reply::json(code.status(), &body)
}

/// What a callback does with a provider error (`error=`) instead of the error page, if
/// anything. `tx` has already given up the matched login; its cookie goes out with the answer.
pub async fn instead_of_error<P: Platform>(
    ctx: &Ctx<'_, P>,
    tx: &mut TransactionCookie,
    txn: &LoginTransaction,
    params: &CallbackParams,
) -> Option<Answer> {
    let error = params.error.as_deref()?;
    let options = txn.options();
    if options.silent {
        let outcome = SilentOutcome::of_provider_error(error);
        ctx.p.log(Level::Info, "login.silent_failed", &format!("error={}", crate::oidc::safe_code(error)));
        return Some(silent_return(ctx, txn.return_to(), outcome, vec![tx.to_set_cookie(ctx.config)]));
    }
    if error == "temporarily_unavailable" && ctx.config.login_options.retry_unavailable && !options.retried {
        ctx.p.log(Level::Warn, "login.retry_unavailable", "temporarily_unavailable at the callback; one new login to the same page");
        let again = LoginOptions { retried: true, ..options.clone() };
        let result = restart(ctx, tx, txn.return_to(), again).await.map_err(|e| e.wanting(txn.return_to()).branded(options.brand()));
        return Some(Answer::reply(result).with_cookie(Some(tx.to_set_cookie(ctx.config))));
    }
    None
}

/// A silent attempt that failed after the provider's answer or before it (Vipps unreachable, a
/// token refused, no in-app confirmation or an old `auth_time` for the page): the page gets the
/// marker and the backoff cookie instead of an error page, and no session. `login_required`
/// when the token could not show what the page needs (the user must act), `silent_failed`
/// otherwise. The error is logged here with its code, as respond.rs would. `None` when the
/// attempt was not silent.
pub fn instead_of_failure<P: Platform>(ctx: &Ctx<'_, P>, silent: bool, return_to: &SafeReturnPath, e: &Error) -> Option<Reply> {
    if !silent {
        return None;
    }
    let outcome = match e.code {
        Code::IdTokenAcrMissing | Code::IdTokenAcrMismatch | Code::IdTokenAuthTooOld => SilentOutcome::LoginRequired,
        _ => SilentOutcome::Failed,
    };
    let level = if outcome == SilentOutcome::Failed { Level::Warn } else { Level::Info };
    ctx.p.log(level, e.code.as_str(), &format!("{} (a silent attempt: back to the page with {MARKER}={})", e.detail, outcome.as_str()));
    let to = return_to.with_query_param(MARKER, outcome.as_str());
    let reply = Reply::redirect(303, to.as_str());
    let backoff = ctx.config.login_options.silent_backoff;
    Some(if backoff > 0 { reply.with_cookie(cookie::set_cookie(SILENT_COOKIE, outcome.as_str(), backoff)) } else { reply })
}

/// A new login with `options` to `return_to`: a fresh state in this browser's transaction and
/// the `302` to Vipps (as `/auth/login` does).
async fn restart<P: Platform>(ctx: &Ctx<'_, P>, tx: &mut TransactionCookie, return_to: &SafeReturnPath, options: LoginOptions) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let disc = ctx.state.docs.discovery(p, config, &ctx.budget()).await?;
    let mut state_bytes = [0u8; 16];
    p.fill_random(&mut state_bytes).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    let state = b64url(&state_bytes);
    let (nonce, verifier) = tx.begin_with(config, state.clone(), return_to, options.clone(), p.now());
    let location = authorize::build_url_with(config, &disc, &state, &nonce, &verifier, &options)?;
    Ok(Reply::redirect(302, &location))
}

/// The gate's step-up: `None` when `session` meets what `path` asks (`STEP_UP_RULES`); else a
/// navigation logs in again (the login asks for what the path needs and returns to it), and
/// anything else gets `401 session.step_up_required`.
pub fn step_up<P: Platform>(ctx: &Ctx<'_, P>, path: &CanonicalPath, session: &Session, api: bool) -> Option<Result<Reply, Error>> {
    let need = ctx.config.login_options.step_up.requirement(path);
    let why = need.unmet_by(session, ctx.p.now())?;
    let req = ctx.req;
    let navigates = !api && matches!(req.method.as_str(), "GET" | "HEAD") && req.wants_html();
    if !navigates {
        return Some(Err(Error::new(Code::StepUpRequired, why)));
    }
    ctx.p.log(Level::Info, "login.step_up", why);
    let target = match req.url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let location = format!("{}?{}", ctx.config.login_path(), crate::util::form_encode([("return_to", target.as_str())]));
    Some(Ok(Reply::redirect(302, &location)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        assert_eq!(SilentOutcome::of_provider_error("login_required"), SilentOutcome::LoginRequired);
        assert_eq!(SilentOutcome::of_provider_error("interaction_required"), SilentOutcome::LoginRequired);
        assert_eq!(SilentOutcome::of_provider_error("server_error"), SilentOutcome::Failed);
        assert_eq!(SilentOutcome::of_provider_error("<script>"), SilentOutcome::Failed);
        assert_eq!(remembered_silent_outcome("a=b; __Host-vipps-silent=login_required"), Some("login_required"));
        assert_eq!(remembered_silent_outcome("__Host-vipps-silent=<script>"), None);
        assert_eq!(remembered_silent_outcome(""), None);
    }
}
