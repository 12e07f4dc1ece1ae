//! Automatic return from the Vipps app (`requested_flow=automatic_return_from_vipps_app`),
//! asked for per login with `GET {prefix}/login?flow=automatic_return` when `LOGIN_FLOWS`
//! allows it.
//!
//! The user may come back in another browser than the one that started the login (iOS: start
//! in Chrome, return in Safari), without its login cookie. So the login is kept twice: in this
//! browser's login cookie, as every login, and in KV by its `state`
//! ([`crate::session::stored_tx`]). Back in the same browser, the cookie flow finishes it and
//! the stored copy is deleted. Back in another browser, the stored copy finishes it, but never
//! straight into a session: whoever holds a callback URL (an attacker who started a login as
//! themselves and sends the link to a victim, RFC 6749 §10.12) could otherwise log that browser
//! in as someone else. The code is exchanged, and the browser gets a "Continue as <name>?" page
//! and a short-lived, signed, HttpOnly confirmation cookie holding the verified session; only
//! the page's POST (same origin, with that cookie and the token in its URL, which is bound to
//! the session's id and the return path) sets the session cookie.

use super::{Answer, Ctx};
use crate::config::apps::Flow;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::callback::CallbackParams;
use crate::platform::{Level, Platform};
use crate::return_to::SafeReturnPath;
use crate::session::stored_tx::{self, Kind};
use crate::session::{cookie, Session, TransactionCookie};
use crate::util::{b64url, ct_eq, hmac_sha256};

/// `requested_flow` at Vipps.
pub const REQUESTED_FLOW: &str = "automatic_return_from_vipps_app";
/// The confirmation cookie: the verified session until the user confirms it.
pub const CONFIRM_COOKIE: &str = "__Host-vipps-confirm";
/// Seconds the user has to confirm.
pub const CONFIRM_TTL: u64 = 300;

/// The `flow` a login request asks for, when it asks for one.
pub fn requested<P: Platform>(ctx: &Ctx<'_, P>) -> Option<String> {
    ctx.req.url.query_pairs().find(|(k, _)| k == "flow").map(|(_, v)| v.into_owned())
}

/// `GET {prefix}/login?flow=...`: an automatic-return login when allowed, else refused.
pub async fn start<P: Platform>(ctx: &Ctx<'_, P>, flow: &str) -> Answer {
    if flow != Flow::AutomaticReturn.name() || !ctx.config.apps.allows(Flow::AutomaticReturn) {
        return Answer::reply(Err(Error::new(Code::FlowNotAllowed, format!("flow {} is not in LOGIN_FLOWS", crate::oidc::safe_code(flow)))));
    }
    Answer::reply(begin(ctx).await)
}

async fn begin<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (p, config, req) = (ctx.p, ctx.config, ctx.req);
    // As every login: started on the callback's origin, where the login cookie must live.
    let callback_origin = config.vipps.redirect_uri.url().origin().ascii_serialization();
    if req.origin() != callback_origin {
        return Ok(Reply::redirect(302, &format!("{callback_origin}{}", crate::util::path_and_query(&req.url))));
    }
    let return_to = req
        .url
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .and_then(|(_, v)| SafeReturnPath::parse_for(&v, &config.front_end.origins))
        .unwrap_or_else(SafeReturnPath::root);
    super::stored_login::admit_start(ctx)?;
    let disc = ctx.state.docs.discovery(p, config, &ctx.budget()).await?;
    let state = Kind::AutoReturn.new_state(p)?;
    let mut tx = TransactionCookie::from_cookie_header(config, &req.cookie_header()).unwrap_or_default();
    let (nonce, verifier) = tx.begin(config, state.clone(), &return_to, p.now());
    let location = super::stored_login::authorize_url(ctx, &disc, &state, &nonce, &verifier, &[("requested_flow", REQUESTED_FLOW)])?;
    stored_tx::put(p, config, &state, &nonce, &verifier, &return_to, REQUESTED_FLOW, None).await?;
    Ok(Reply::redirect(302, &location).with_cookie(tx.to_set_cookie(config)))
}

/// The token of the confirmation page: bound to the session's id and the return path.
fn confirm_token(config: &crate::config::Config, sid: &str, return_to: &str) -> String {
    let key = config.session.keys.transaction.first();
    b64url(&hmac_sha256(key, &[b"confirm-login\0", sid.as_bytes(), b"\0", return_to.as_bytes()]))
}

/// The callback of an automatic-return login without this browser's login cookie.
pub async fn cookieless_callback<P: Platform>(ctx: &Ctx<'_, P>, params: CallbackParams) -> Answer {
    let (p, config) = (ctx.p, ctx.config);
    let Some(state) = params.state.clone() else { return Answer::reply(Err(Error::from(Code::StateMissing))) };
    let stored = match stored_tx::take(p, config, &state).await {
        Ok(s) => s,
        Err(e) => return Answer::reply(Err(e)),
    };
    let wanted = stored.transaction.return_to().clone();
    let session = match super::stored_login::finish(ctx, stored.transaction, params).await {
        Ok(s) => s,
        Err(e) => return Answer::reply(Err(e.wanting(&wanted))),
    };
    p.log(Level::Info, "login.awaiting_confirmation", "returned without the login cookie: the user confirms before a session is set");
    let value = cookie::sign(config.session.keys.session.first(), CONFIRM_COOKIE, &session.to_payload());
    let set = cookie::set_cookie(CONFIRM_COOKIE, &value, CONFIRM_TTL);
    let token = confirm_token(config, session.sid(), wanted.as_str());
    let action = format!(
        "{}/login/confirm?{}",
        config.gate.auth_prefix,
        crate::util::form_encode([("k", token.as_str()), ("return_to", wanted.as_str())])
    );
    let name = session.claims().get("name").and_then(|v| v.as_str()).filter(|n| !n.trim().is_empty());
    let html = crate::pages::confirm::render(ctx.look(), name, &action);
    let mut reply = Reply::html(200, html);
    reply.add_vary("Accept-Language");
    Answer::reply(Ok(reply)).with_cookie(Some(set))
}

/// `POST {prefix}/login/confirm?k=...&return_to=...`: the user confirmed; the session is set.
pub async fn confirm<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let clear = cookie::clear_cookie(CONFIRM_COOKIE);
    Answer::reply(confirmed(ctx)).with_cookie(Some(clear))
}

fn confirmed<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (config, req) = (ctx.config, ctx.req);
    let refused = |why: &str| Error::new(Code::ConfirmInvalid, why.to_string());
    // Only this site's own page may confirm (a page elsewhere must not log anybody in).
    let callback_origin = config.vipps.redirect_uri.url().origin().ascii_serialization();
    match (req.header("origin"), req.header("sec-fetch-site")) {
        (Some(o), _) if o == req.origin() || o == callback_origin => {}
        (None, Some("same-origin")) => {}
        _ => return Err(refused("not posted from this site's confirmation page")),
    }
    let now = ctx.p.now();
    let session = cookie::values(&req.cookie_header(), CONFIRM_COOKIE)
        .into_iter()
        .find_map(|v| cookie::verify(config.session.keys.session.iter(), CONFIRM_COOKIE, v))
        .and_then(|(payload, _)| Session::from_verified_payload(&payload))
        .ok_or_else(|| refused("no valid confirmation cookie in this browser"))?;
    if now >= session.iat().saturating_add(CONFIRM_TTL) || session.iat() > now.saturating_add(60) {
        return Err(refused("confirmation expired"));
    }
    let query = |name: &str| req.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let raw_return = query("return_to").unwrap_or_else(|| "/".into());
    let given = query("k").unwrap_or_default();
    if !ct_eq(given.as_bytes(), confirm_token(config, session.sid(), &raw_return).as_bytes()) {
        return Err(refused("confirmation token does not match this browser's pending login"));
    }
    let return_to = SafeReturnPath::parse_for(&raw_return, &config.front_end.origins).unwrap_or_else(SafeReturnPath::root);
    let (set_cookie, _) = session.to_set_cookie(config);
    ctx.p.log(Level::Info, "login.confirmed", "");
    Ok(Reply::redirect(303, return_to.as_str()).with_cookie(set_cookie))
}
