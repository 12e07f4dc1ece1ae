//! Login from phone number finished in the phone's browser (`requested_flow=login_to_webpage`).
//!
//! A merchant system starts the login (`POST {prefix}/ciba/start` with `"flow":
//! "login_to_webpage"`); the user confirms in the app and finishes in the phone's browser, which
//! arrives at the redirect URI with `code` and **no `state`**. That browser is not the one that
//! started anything (the till did), so no cookie can bind the two: the start records the login in
//! KV, keyed by a hash of its `auth_req_id` ([`record_start`]), and the callback, after the one
//! token call Vipps allows per authentication (`urn:vipps:params:grant-type:ciba-redirect`) and
//! the ES256 ID token's verification, looks the token's `auth_req_id` up there. No record (another
//! deployment's login, a forged or replayed code, an expired or finished login): a friendly error
//! page, no session. The record is marked used at once; the code itself is single-use at Vipps.

use super::{Answer, Ctx};
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::callback::CallbackParams;
use crate::oidc::{ciba, id_token, token, userinfo};
use crate::platform::{Level, Platform};
use crate::session::ciba_handle::Handle;
use crate::session::Session;
use crate::upstream::{self, Failures};
use serde::{Deserialize, Serialize};

/// What the start leaves for the callback.
#[derive(Debug, Serialize, Deserialize)]
struct Started {
    /// The API key name that started it (for the log and the login hook).
    #[serde(rename = "k")]
    key_name: String,
    /// The nonce sent with the start: the ID token's, when it carries one, must equal it.
    #[serde(rename = "n")]
    nonce: String,
    /// Unix time the login expires at Vipps.
    #[serde(rename = "e")]
    expires_at: u64,
    /// Set once a callback took it.
    #[serde(rename = "u", default)]
    used: bool,
}

fn kv_key(auth_req_id: &str) -> String {
    format!("ciba-web:v1:{}", crate::util::hex(&crate::util::sha256(auth_req_id.as_bytes())))
}

/// Records a started `login_to_webpage` login for the callback. KV's shortest lifetime is 60 s.
pub async fn record_start<P: Platform>(p: &P, key_name: &str, auth_req_id: &str, nonce: &str, now: u64, expires_in: u64) -> Result<(), Error> {
    let rec = Started { key_name: key_name.to_string(), nonce: nonce.to_string(), expires_at: now.saturating_add(expires_in), used: false };
    let value = serde_json::to_string(&rec).unwrap_or_default();
    p.kv_put(&kv_key(auth_req_id), value, expires_in.max(60))
        .await
        .map_err(|e| Error::new(Code::CibaStoreFailed, format!("recording a login_to_webpage start: {}", e.0)))
}

/// Failed callbacks without `state` an isolate accepts per [`FAILED_WINDOW_SECS`]: such a
/// callback needs no cookie, so anyone can make the Worker spend a token request (with its
/// client credentials, against Vipps' rate limits) by sending made-up codes. Beyond this many
/// failures, further ones are refused without a call until the window ends.
pub const MAX_FAILED_PER_WINDOW: u32 = 20;
pub const FAILED_WINDOW_SECS: u64 = 60;

/// The callback without `state`, when `CIBA_LOGIN_TO_WEBPAGE` is on.
pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, params: CallbackParams) -> Answer {
    let landing = ctx.config.ciba.as_ref().map(|c| c.landing_page.clone());
    let failed = &ctx.state.failed_blind_callbacks;
    let result = if failed.full(ctx.p.now(), FAILED_WINDOW_SECS, MAX_FAILED_PER_WINDOW) {
        Err(Error::new(Code::CibaCallbackThrottled, "too many failed callbacks without state in this isolate; no token request made"))
    } else {
        let r = finish(ctx, params).await;
        // Vipps or KV being down is not the caller's doing; everything else counts.
        if matches!(&r, Err(e) if !e.code.is_broken()) {
            failed.note(ctx.p.now(), FAILED_WINDOW_SECS);
        }
        r
    };
    Answer::reply(match (result, landing) {
        (Err(e), Some(l)) => Err(e.wanting(&l)),
        (r, _) => r,
    })
}

async fn finish<P: Platform>(ctx: &Ctx<'_, P>, params: CallbackParams) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let Some(ciba_config) = &config.ciba else { return Err(Error::from(Code::NotFound)) };
    params.provider_error()?;
    let Some(code) = params.code else {
        return Err(Error::new(Code::CallbackMissingCode, "login_to_webpage callback without code"));
    };
    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(p, config, &budget).await?;
    // The one token call of this authentication: never retried.
    let on = Failures { what: "token", unavailable: Code::VippsUnavailable, bad: Code::TokenBadResponse };
    let resp = upstream::call(p, &budget, ciba::build_redirect_exchange(config, &disc, code.expose()), on).await?;
    let tokens = token::process_response(&resp)?;

    // ES256 (or RS256) by the JWKS key, OIDC Core §3.1.3.7 otherwise; one JWKS refetch on an
    // unknown key, as in the browser flow.
    let expected = id_token::Expected {
        issuer: disc.issuer(),
        client_id: &config.vipps.client_id,
        nonce: "",
        access_token: Some(tokens.access_token.expose()),
        now: p.now(),
    };
    let docs = &ctx.state.docs;
    let keys = docs.jwks(p, config, &disc, false, &budget).await?;
    let verified = match id_token::verify_redirect(p, tokens.id_token.expose(), &keys, &expected).await {
        Err(e) if e.code == Code::IdTokenUnknownKey && docs.may_force_jwks(p.now()) => {
            let keys = docs.jwks(p, config, &disc, true, &budget).await?;
            id_token::verify_redirect(p, tokens.id_token.expose(), &keys, &expected).await?
        }
        other => other?,
    };

    // The login this Worker started, by the verified token's auth_req_id.
    let Some(auth_req_id) = verified.auth_req_id() else {
        return Err(Error::new(Code::CibaUnknownLogin, "ID token without auth_req_id"));
    };
    let login = Handle::log_id(auth_req_id);
    let key = kv_key(auth_req_id);
    let stored = p.kv_get(&key).await.map_err(|e| Error::new(Code::CibaStoreFailed, format!("reading login {login}: {}", e.0)))?;
    let started: Started = match stored.as_deref().map(|s| serde_json::from_slice::<Started>(s.as_bytes())) {
        Some(Ok(s)) => s,
        _ => return Err(Error::new(Code::CibaUnknownLogin, format!("login={login} was not started here"))),
    };
    if started.used {
        return Err(Error::new(Code::CibaUnknownLogin, format!("login={login} already finished")));
    }
    let now = p.now();
    if now >= started.expires_at {
        return Err(Error::new(Code::CibaExpired, format!("login={login} expired")));
    }
    // 11. nonce: when the token carries one, it is the one sent with the start.
    id_token::check_nonce_if_present(&verified, &started.nonce)?;
    let used = Started { used: true, ..started };
    p.kv_put(&key, serde_json::to_string(&used).unwrap_or_default(), 60)
        .await
        .map_err(|e| Error::new(Code::CibaStoreFailed, format!("marking login {login} used: {}", e.0)))?;

    let on = Failures { what: "userinfo", unavailable: Code::VippsUnavailable, bad: Code::UserinfoFailed };
    let resp = upstream::call(p, &budget, userinfo::build_request(config, &disc, &tokens.access_token), on).await?;
    let info = userinfo::process_response(&resp, verified.sub())?;

    let hooked = crate::hook::Login { flow: crate::hook::Flow::CibaRedirect, sub: verified.sub(), userinfo: &info, api_key: Some(&used.key_name) };
    let app = crate::hook::run(ctx, &budget, &hooked).await?;
    let mut sid = [0u8; 12];
    p.fill_random(&mut sid).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    let session = Session::from_userinfo(config, verified.sub(), crate::util::b64url(&sid), &info, now).with_app_claims(app);
    let (set_cookie, _) = session.to_set_cookie(config);
    p.log(Level::Info, "ciba.ok", &format!("key={} login={login} flow=login_to_webpage", used.key_name));
    Ok(Reply::redirect(303, ciba_config.landing_page.as_str()).with_cookie(set_cookie))
}
