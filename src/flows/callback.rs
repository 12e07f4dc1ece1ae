//! The redirect URI: Vipps sends the user back with `code` and `state`.
//!
//! State first: nothing touches the network before `state` matched a pending login in this
//! browser's signed cookie. Then the provider's own checks (RFC 9207 `iss`, an `error=`), the
//! code exchange (once, never retried; a double-submitted callback shares it, see
//! [`crate::session::exchanges`]), the ID token (OIDC Core §3.1.3.7), userinfo (its `sub` must
//! be the token's), and the session cookie.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::callback::{self, CheckedCallback};
use crate::oidc::discovery::Discovery;
use crate::oidc::{id_token, token, userinfo};
use crate::platform::{Level, Platform};
use crate::session::exchanges::{Exchanges, Join, Peek};
use crate::session::{Session, TransactionCookie};
use crate::upstream::{self, Budget, Failures};

/// How often a double-submitted callback looks whether the first one has finished.
const DUPLICATE_POLL_MS: u64 = 50;

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>) -> Answer {
    let (p, config, req) = (ctx.p, ctx.config, ctx.req);
    let params = match callback::parse(req.url.query()) {
        Ok(params) => params,
        Err(e) => return Answer::reply(Err(e)),
    };
    // Logins kept server-side (automatic return, native apps): see super::stored_login.
    if let Some(answer) = super::stored_login::run(ctx, &params).await {
        return answer;
    }
    // Login from phone number finished in the phone's browser: a code and no state.
    if params.state.is_none() && config.ciba.as_ref().is_some_and(|c| c.login_to_webpage) {
        return super::ciba_redirect::run(ctx, params).await;
    }
    let Some(mut tx) = TransactionCookie::from_cookie_header(config, &req.cookie_header()) else {
        let e = match &params.error {
            Some(e) => Error::new(callback::error_code(e), "error callback without a login transaction"),
            None => Error::new(Code::TransactionMissing, "no valid login transaction cookie"),
        };
        return Answer::reply(Err(e));
    };
    let Some(state) = params.state.clone() else {
        return Answer::reply(Err(Error::new(Code::StateMissing, "callback without state")));
    };
    // The entry is consumed whatever happens next: its cookie update goes out with any answer.
    let taken = tx.take(config, &state, p.now());
    // A silent attempt returns without a page; temporarily_unavailable may be retried once.
    if let (Ok(txn), Some(_)) = (&taken, &params.error) {
        if let Some(answer) = super::login_variants::instead_of_error(ctx, &mut tx, txn, &params).await {
            return answer;
        }
    }
    let consumed = tx.to_set_cookie(config);
    let result = match taken {
        Err(code) => Err(Error::new(code, "state does not match a pending login in this browser")),
        Ok(txn) => {
            // From here on the page the user wanted is known: a retry leads back to it.
            let wanted = txn.return_to().clone();
            let brand = txn.options().brand();
            let silent = txn.options().silent;
            match params.provider_error() {
                Err(e) => Err(e),
                Ok(()) => finish(ctx, txn, params).await,
            }
            // A silent attempt returns to its page with the marker, never an error page.
            .or_else(|e| super::login_variants::instead_of_failure(ctx, silent, &wanted, &e).ok_or(e))
            .map_err(|e| e.wanting(&wanted).branded(brand))
        }
    };
    Answer::reply(result).with_cookie(Some(consumed))
}

/// Everything after the state matched.
async fn finish<P: Platform>(
    ctx: &Ctx<'_, P>,
    txn: crate::session::LoginTransaction,
    params: callback::CallbackParams,
) -> Result<Reply, Error> {
    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(ctx.p, ctx.config, &budget).await?;
    let checked = CheckedCallback::new(txn, params, disc.issuer())?;
    // A double-submitted callback (same state, same code) shares the first one's exchange.
    let key = Exchanges::key(checked.transaction().state(), checked.code().expose());
    let exchanges = &ctx.state.exchanges;
    let lead = match exchanges.join(key, ctx.p.now()) {
        Join::Done(result) => {
            ctx.p.log(Level::Info, "callback.duplicate_replayed", "the same callback again within a minute");
            return result;
        }
        Join::Wait => loop {
            // Polled on this request's own timer, within its budget.
            if budget.next_timeout(ctx.p.now_millis()).is_none() {
                return Err(Error::new(Code::VippsUnavailable, "the same callback was still being exchanged at the deadline"));
            }
            ctx.p.sleep(DUPLICATE_POLL_MS).await;
            match exchanges.peek(key, ctx.p.now()) {
                Peek::Running => {}
                Peek::Done(result) => {
                    ctx.p.log(Level::Info, "callback.duplicate_joined", "the same callback while it was being exchanged");
                    return result;
                }
                // The first request was cancelled: exchange the code ourselves.
                Peek::Gone => break None,
            }
        },
        Join::Lead(lead) => Some(lead),
    };
    let result = exchange(ctx, &disc, &checked, &budget).await;
    if let Some(lead) = lead {
        lead.finish(&result, ctx.p.now());
    }
    result
}

/// The ID token verified (OIDC Core §3.1.3.7, with `nonce`, and `at_hash` against the access
/// token; one JWKS refetch on an unknown key), then userinfo, whose `sub` must be the token's
/// (§5.3.2). The browser flow and login from phone number share it.
pub(crate) async fn verified_user<P: Platform>(
    ctx: &Ctx<'_, P>,
    disc: &Discovery,
    tokens: &token::TokenResponse,
    nonce: &str,
    budget: &Budget,
) -> Result<(id_token::VerifiedIdToken, serde_json::Map<String, serde_json::Value>), Error> {
    let (p, config, docs) = (ctx.p, ctx.config, &ctx.state.docs);
    let expected = id_token::Expected {
        issuer: disc.issuer(),
        client_id: &config.vipps.client_id,
        nonce,
        access_token: Some(tokens.access_token.expose()),
        now: p.now(),
    };
    let keys = docs.jwks(p, config, disc, false, budget).await?;
    let verified = match id_token::verify(p, tokens.id_token.expose(), &keys, &expected).await {
        Err(e) if e.code == Code::IdTokenUnknownKey && docs.may_force_jwks(p.now()) => {
            // Key rotation: one refetch, at most once per minute per isolate.
            let keys = docs.jwks(p, config, disc, true, budget).await?;
            id_token::verify(p, tokens.id_token.expose(), &keys, &expected).await?
        }
        other => other?,
    };

    let on = Failures { what: "userinfo", unavailable: Code::VippsUnavailable, bad: Code::UserinfoFailed };
    let resp = upstream::call(p, budget, userinfo::build_request(config, disc, &tokens.access_token), on).await?;
    let info = userinfo::process_response(&resp, verified.sub())?;
    Ok((verified, info))
}

/// Token request, ID-token verification, userinfo, session cookie: the code is presented
/// exactly once.
async fn exchange<P: Platform>(ctx: &Ctx<'_, P>, disc: &Discovery, checked: &CheckedCallback, budget: &Budget) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let on = Failures { what: "token", unavailable: Code::VippsUnavailable, bad: Code::TokenBadResponse };
    let resp = upstream::call(p, budget, token::build_request(config, disc, checked), on).await?;
    let tokens = token::process_response(&resp)?;

    let (verified, info) = verified_user(ctx, disc, &tokens, checked.transaction().nonce(), budget).await?;
    // What this login asked for (in-app confirmation, a recent authentication) must show.
    let options = checked.transaction().options();
    options.check_id_token(verified.claims(), p.now())?;

    // A fresh session for every login (no fixation), with an id that logout can end for good.
    let mut sid = [0u8; 12];
    p.fill_random(&mut sid).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    // The merchant's backend may deny the login or add claims (the login hook, when configured).
    let login = crate::hook::Login { flow: crate::hook::Flow::Browser, sub: verified.sub(), userinfo: &info, api_key: None };
    let app = crate::hook::run(ctx, budget, &login).await?;
    let session = Session::from_userinfo(config, verified.sub(), crate::util::b64url(&sid), &info, p.now())
        .with_login(verified.claims().acr.as_deref(), verified.claims().auth_time, options.step_up)
        .with_app_claims(app);
    let (set_cookie, dropped) = session.to_set_cookie(config);
    if dropped > 0 {
        p.log(Level::Warn, "session.claims_dropped", &format!("{dropped} claims dropped to keep the cookie under 4 KB"));
    }
    p.log(Level::Info, "login.ok", "");
    let reply = Reply::redirect(303, checked.transaction().return_to().as_str()).with_cookie(set_cookie);
    Ok(match super::login_variants::forget_silent_outcome(ctx) {
        Some(clear) => reply.with_cookie(clear),
        None => reply,
    })
}
