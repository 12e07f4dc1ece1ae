//! The callback of logins kept server-side ([`crate::session::stored_tx`]): automatic return
//! from the Vipps app and native apps. The redirect URI's flow ([`super::callback`]) hands a
//! callback here first; only a `state` with a marker of an enabled flow is taken, so the
//! default browser flow never touches KV.
//!
//! Also what those flows share: the authorize URL with `requested_flow`, and the code
//! exchange that ends in a verified [`Session`] (the same checks as the browser flow: token
//! once, ID token per OIDC Core §3.1.3.7, userinfo whose `sub` is the token's).

use super::{Answer, Ctx};
use crate::config::apps::Flow;
use crate::error::{Code, Error};
use crate::oidc::callback::{CallbackParams, CheckedCallback};
use crate::oidc::discovery::Discovery;
use crate::oidc::{authorize, token};
use crate::platform::{Level, Platform};
use crate::secret::Secret;
use crate::session::stored_tx::{self, Kind};
use crate::session::{Session, TransactionCookie};
use crate::upstream::{self, Budget, Failures};

/// The answer for a callback whose state is a stored login's, or `None` for the browser flow.
pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, params: &CallbackParams) -> Option<Answer> {
    let state = params.state.as_deref()?;
    let apps = &ctx.config.apps;
    match Kind::of_state(state)? {
        Kind::AutoReturn if apps.allows(Flow::AutomaticReturn) => {
            // Back in the browser that started it: the cookie flow finishes it, as always; the
            // stored copy is deleted so nobody else can use it.
            let tx = TransactionCookie::from_cookie_header(ctx.config, &ctx.req.cookie_header());
            if tx.is_some_and(|tx| tx.pending.iter().any(|p| crate::util::ct_eq(p.s.as_bytes(), state.as_bytes()))) {
                stored_tx::forget(ctx.p, state).await;
                return None;
            }
            Some(super::auto_return::cookieless_callback(ctx, params.clone()).await)
        }
        Kind::App if apps.apps_enabled() => Some(super::app::callback(ctx, params.clone()).await),
        _ => None,
    }
}

/// The authorize URL of the browser flow with `extra` parameters added (`requested_flow`, ...),
/// still within Vipps' length limit.
pub fn authorize_url(
    ctx: &Ctx<'_, impl Platform>,
    disc: &Discovery,
    state: &str,
    nonce: &str,
    verifier: &Secret,
    extra: &[(&str, &str)],
) -> Result<String, Error> {
    let base = authorize::build_url(ctx.config, disc, state, nonce, verifier)?;
    let mut url = url::Url::parse(&base).map_err(|_| Error::new(Code::DiscoveryInvalid, "authorization_endpoint is not a URL"))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    let s = url.to_string();
    if s.len() > authorize::MAX_AUTHORIZE_URL {
        return Err(Error::new(Code::ConfigInvalid, "authorize URL would exceed Vipps' length limit (scope, redirect URI or app URI too long)"));
    }
    Ok(s)
}

/// Random bytes as base64url (a state, a verifier, a hand-off code).
pub fn random_b64<P: Platform>(p: &P, n: usize) -> Result<String, Error> {
    let mut bytes = vec![0u8; n];
    p.fill_random(&mut bytes).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    Ok(crate::util::b64url(&bytes))
}

/// The token request (once, never retried), the ID token and userinfo, and a fresh session
/// with a new random id.
pub async fn exchange_session<P: Platform>(ctx: &Ctx<'_, P>, disc: &Discovery, checked: &CheckedCallback, budget: &Budget) -> Result<Session, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let on = Failures { what: "token", unavailable: Code::VippsUnavailable, bad: Code::TokenBadResponse };
    let resp = upstream::call(p, budget, token::build_request(config, disc, checked), on).await?;
    let tokens = token::process_response(&resp)?;
    let (verified, info) = super::callback::verified_user(ctx, disc, &tokens, checked.transaction().nonce(), budget).await?;
    // As the browser flow: what the login asked for must show in the ID token.
    let options = checked.transaction().options();
    options.check_id_token(verified.claims(), p.now())?;
    // The merchant's backend decides these logins too, as every other (the login hook).
    let flow = match Kind::of_state(checked.transaction().state()) {
        Some(Kind::App) => crate::hook::Flow::App,
        _ => crate::hook::Flow::Browser,
    };
    let login = crate::hook::Login { flow, sub: verified.sub(), userinfo: &info, api_key: None };
    let app = crate::hook::run(ctx, budget, &login).await?;
    let sid = random_b64(p, 12)?;
    p.log(Level::Info, "login.ok", "");
    Ok(Session::from_userinfo(config, verified.sub(), sid, &info, p.now())
        .with_login(verified.claims().acr.as_deref(), verified.claims().auth_time, options.step_up)
        .with_app_claims(app))
}

/// A stored login's callback checked (provider error, `iss`, code present) and exchanged.
pub async fn finish<P: Platform>(ctx: &Ctx<'_, P>, txn: crate::session::LoginTransaction, params: CallbackParams) -> Result<Session, Error> {
    params.provider_error()?;
    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(ctx.p, ctx.config, &budget).await?;
    let checked = CheckedCallback::new(txn, params, disc.issuer())?;
    exchange_session(ctx, &disc, &checked, &budget).await
}

/// Admits one more start of a login kept in KV, within `STORED_LOGINS_PER_MINUTE` for this
/// isolate: such a start needs no credential and costs a KV write, so anyone could otherwise
/// spend the account's KV writes (1,000 a day on the free plan) and with them every KV-backed
/// feature. Counted before any work; beyond the bound, `429 login.busy` and nothing stored.
pub fn admit_start<P: Platform>(ctx: &Ctx<'_, P>) -> Result<(), Error> {
    let max = ctx.config.apps.stored_per_minute;
    let (now, window) = (ctx.p.now(), &ctx.state.stored_logins);
    if max > 0 && window.full(now, 60, max) {
        return Err(Error::new(Code::LoginBusy, format!("more than {max} logins kept in KV started in this isolate within a minute")));
    }
    window.note(now, 60);
    Ok(())
}
