//! Logins from native apps, with no client secret in the app (RFC 8252 §8.5), ending in a
//! bearer session ([`crate::session::bearer`]). On when `LOGIN_FLOWS` names `app_to_app_v2`
//! or `app_to_app`.
//!
//! 1. `POST {prefix}/app/start` `{app_uri, code_challenge, code_challenge_method: "S256", flow,
//!    app_callback_uri?, final_redirect_is_app?}`: the app's own PKCE challenge and an app URI
//!    from `APP_URIS` (exact match). The Worker keeps the login in KV by its `state` (its own
//!    PKCE verifier for Vipps, the nonce, the app's URI and challenge) and answers the
//!    authorize URL to open.
//! 2. Vipps returns to the redirect URI. The Worker takes the stored login, exchanges the code
//!    (the secret never leaves the Worker), verifies the user, and stores a bearer session
//!    under a one-time hand-off code (KV, [`HANDOFF_TTL`] seconds), then redirects to the app
//!    URI with `handoff` and `state`. Errors after the state matched go to the app URI too,
//!    as `error=<code>&state=...`.
//! 3. `POST {prefix}/app/token` `{handoff, code_verifier}`: the hand-off is redeemed once,
//!    only with the verifier of the challenge the app sent in step 1, so an intercepted
//!    redirect is worth nothing to another app. When the app claims the redirect URI itself as
//!    a universal/app link, it receives `code` and `state` instead and posts `{code, state,
//!    code_verifier}`: the verifier is checked before the code is spent.
//! 4. `Authorization: Bearer <token>` on protected routes and `{prefix}/session`;
//!    `POST {prefix}/app/logout` ends it (as a cookie session's logout: by its id, everywhere).

use super::stored_login::{self, random_b64};
use super::{Answer, Ctx};
use crate::config::apps::Flow;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::authorize::s256_challenge;
use crate::oidc::callback::CallbackParams;
use crate::platform::{Level, Platform};
use crate::return_to::SafeReturnPath;
use crate::secret::Secret;
use crate::session::bearer;
use crate::session::revocation::CurrentSession;
use crate::session::stored_tx::{self, AppBinding, Kind};
use crate::session::Session;
use crate::util::{b64url, ct_eq, sha256};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Largest body read.
pub const MAX_BODY: usize = 4096;
/// Seconds a hand-off code may be redeemed in (KV's shortest expiry).
pub const HANDOFF_TTL: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Token,
    Logout,
}

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, op: Op) -> Answer {
    if !ctx.config.apps.apps_enabled() {
        return Answer::reply(Err(Error::from(Code::NotFound)));
    }
    Answer::reply(match op {
        Op::Start => start(ctx).await,
        Op::Token => token(ctx).await,
        Op::Logout => logout(ctx).await,
    })
}

/// The body as a map: JSON, or a form.
fn body<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Map<String, Value>, Error> {
    let bytes = ctx.req.body.as_deref().unwrap_or_default();
    if bytes.len() > MAX_BODY {
        return Err(Error::new(Code::AppBadRequest, "body too large"));
    }
    let form = ctx.req.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        let mut m = Map::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            if m.insert(k.into_owned(), Value::String(v.into_owned())).is_some() {
                return Err(Error::new(Code::AppBadRequest, "a parameter appears more than once"));
            }
        }
        return Ok(m);
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::new(Code::AppBadRequest, "body is not a JSON object or a form")),
    }
}

fn text<'a>(m: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Error> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Error::new(Code::AppBadRequest, format!("{name} must be a string"))),
    }
}

/// A PKCE value: 43 to 128 characters of RFC 7636's unreserved set.
fn pkce_ok(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn start<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let apps = &config.apps;
    let m = body(ctx)?;
    let flow = match text(&m, "flow")?.unwrap_or("app_to_app_v2") {
        "app_to_app_v2" if apps.allows(Flow::AppToAppV2) => Flow::AppToAppV2,
        "app_to_app" if apps.allows(Flow::AppToApp) => Flow::AppToApp,
        other => return Err(Error::new(Code::FlowNotAllowed, format!("flow {} is not in LOGIN_FLOWS", crate::oidc::safe_code(other)))),
    };
    let app_uri = text(&m, "app_uri")?.ok_or_else(|| Error::new(Code::AppBadRequest, "app_uri is required"))?;
    let app_uri = apps.app_uri(app_uri).ok_or_else(|| Error::new(Code::AppUriRefused, "app_uri is not one of APP_URIS"))?;
    let challenge = text(&m, "code_challenge")?.filter(|c| pkce_ok(c)).ok_or_else(|| Error::new(Code::AppBadRequest, "code_challenge must be an S256 challenge"))?;
    if text(&m, "code_challenge_method")? != Some("S256") {
        return Err(Error::new(Code::AppBadRequest, "code_challenge_method must be S256"));
    }
    let final_redirect_is_app = match m.get("final_redirect_is_app") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        Some(_) => return Err(Error::new(Code::AppBadRequest, "final_redirect_is_app must be true or false")),
    };
    if final_redirect_is_app && !apps.allows(Flow::FinalRedirectIsApp) {
        return Err(Error::new(Code::FlowNotAllowed, "final_redirect_is_app is not in LOGIN_FLOWS"));
    }
    let app_callback_uri = match (flow, text(&m, "app_callback_uri")?) {
        (Flow::AppToApp, Some(u)) => Some(apps.app_uri(u).ok_or_else(|| Error::new(Code::AppUriRefused, "app_callback_uri is not one of APP_URIS"))?),
        (Flow::AppToApp, None) => return Err(Error::new(Code::AppBadRequest, "app_to_app needs app_callback_uri")),
        (_, Some(_)) => return Err(Error::new(Code::AppBadRequest, "app_callback_uri belongs to the app_to_app flow")),
        (_, None) => None,
    };
    super::stored_login::admit_start(ctx)?;
    let disc = ctx.state.docs.discovery(p, config, &ctx.budget()).await?;
    let state = Kind::App.new_state(p)?;
    let nonce = random_b64(p, 32)?;
    let verifier = Secret::new(random_b64(p, 32)?);
    let requested_flow = if flow == Flow::AppToApp { "app_to_app" } else { "app_to_app_v2" };
    let mut extra = vec![("requested_flow", requested_flow)];
    if let Some(u) = app_callback_uri {
        extra.push(("app_callback_uri", u));
    }
    if final_redirect_is_app {
        extra.push(("final_redirect_is_app", "true"));
    }
    let url = stored_login::authorize_url(ctx, &disc, &state, &nonce, &verifier, &extra)?;
    let binding = AppBinding { uri: app_uri.to_string(), challenge: challenge.to_string() };
    stored_tx::put(p, config, &state, &nonce, &verifier, &SafeReturnPath::root(), requested_flow, Some(binding)).await?;
    Ok(Reply::json(200, &json!({"authorize_url": url, "state": state, "expires_in": config.session.login_timeout})))
}

/// A stored hand-off: the bearer session waiting for the app that started the login.
#[derive(Serialize, Deserialize)]
struct Handoff {
    /// The bearer token.
    b: String,
    /// The app's challenge.
    c: String,
    /// Created (Unix seconds).
    t: u64,
}

fn handoff_key(code: &str) -> String {
    format!("app-handoff:v1:{}", b64url(&sha256(code.as_bytes())[..18]))
}

/// `uri` with `pairs` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", crate::util::form_encode(pairs.iter().copied()))
}

/// A bearer session for a verified login: `APP_SESSION_TTL` from now at most.
fn bearer_for(ctx: &Ctx<'_, impl Platform>, s: Session) -> (Session, String) {
    let s = s.ending_by(ctx.p.now().saturating_add(ctx.config.apps.bearer_ttl));
    let token = bearer::issue(ctx.config, &s);
    (s, token)
}

/// The redirect URI with an app login's state: exchange, then hand the session to the app.
pub async fn callback<P: Platform>(ctx: &Ctx<'_, P>, params: CallbackParams) -> Answer {
    let (p, config) = (ctx.p, ctx.config);
    let Some(state) = params.state.clone() else { return Answer::reply(Err(Error::from(Code::StateMissing))) };
    let stored = match stored_tx::take(p, config, &state).await {
        Ok(s) => s,
        Err(e) => return Answer::reply(Err(e)),
    };
    let Some(app) = stored.app else {
        return Answer::reply(Err(Error::new(Code::StoredStateUnknown, "stored login without an app")));
    };
    // Vipps' own error name, for the app (e.g. `outdated_app_version`: the user updates the app).
    let vipps_error = params.error.as_deref().map(crate::oidc::safe_code);
    let result = async {
        let session = stored_login::finish(ctx, stored.transaction, params).await?;
        let (_, token) = bearer_for(ctx, session);
        let code = random_b64(p, 32)?;
        let record = serde_json::to_string(&Handoff { b: token, c: app.challenge.clone(), t: p.now() }).map_err(|_| Error::from(Code::Internal))?;
        // Kept a minute longer than it is valid: an expired hand-off is told apart from an unknown one.
        p.kv_put(&handoff_key(&code), record, HANDOFF_TTL + 60).await.map_err(|e| Error::new(Code::LoginStoreFailed, format!("KV: {}", e.0)))?;
        Ok::<String, Error>(code)
    }
    .await;
    // The app hears how its login ended, at its own URI.
    let location = match result {
        Ok(code) => with_query(&app.uri, &[("handoff", code.as_str()), ("state", state.as_str())]),
        Err(e) => {
            p.log(if e.code.is_broken() { Level::Error } else { Level::Warn }, e.code.as_str(), &e.detail);
            let mut pairs = vec![("error", e.code.as_str()), ("state", state.as_str())];
            if let Some(v) = vipps_error.as_deref().filter(|v| !v.is_empty()) {
                pairs.push(("vipps_error", v));
            }
            with_query(&app.uri, &pairs)
        }
    };
    Answer::reply(Ok(Reply::redirect(303, &location)))
}

/// The answer an app gets for a redeemed login.
fn token_answer(ctx: &Ctx<'_, impl Platform>, token: &str) -> Result<Reply, Error> {
    let s = bearer::verify(ctx.config, token, ctx.p.now()).map_err(|why| Error::new(Code::BearerInvalid, why.as_str()))?;
    let expires_in = s.exp().saturating_sub(ctx.p.now());
    Ok(Reply::json(200, &json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "session": s.to_json()})))
}

fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    pkce_ok(verifier) && ct_eq(s256_challenge(&Secret::new(verifier)).as_bytes(), challenge.as_bytes())
}

async fn token<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let m = body(ctx)?;
    let verifier = text(&m, "code_verifier")?.ok_or_else(|| Error::new(Code::AppBadRequest, "code_verifier is required"))?;
    match (text(&m, "handoff")?, text(&m, "code")?, text(&m, "state")?) {
        (Some(handoff), None, _) => {
            let key = handoff_key(handoff);
            let raw = p.kv_get(&key).await.map_err(|e| Error::new(Code::LoginStoreFailed, format!("KV: {}", e.0)))?;
            let h: Handoff = raw
                .and_then(|r| serde_json::from_slice(r.as_bytes()).ok())
                .ok_or_else(|| Error::new(Code::AppHandoffUnknown, "no such hand-off (redeemed already, or never issued)"))?;
            if p.now() >= h.t.saturating_add(HANDOFF_TTL) {
                stored_tx_forget(p, &key).await;
                return Err(Error::new(Code::AppHandoffExpired, "hand-off older than a minute"));
            }
            // A wrong verifier leaves the hand-off for the app that has the right one.
            if !verifier_matches(verifier, &h.c) {
                return Err(Error::new(Code::AppVerifierMismatch, "code_verifier does not match the app's code_challenge"));
            }
            stored_tx_forget(p, &key).await;
            token_answer(ctx, &h.b)
        }
        // The app caught the redirect URI itself (a universal link): it forwards code and state.
        (None, Some(code), Some(state)) => {
            if Kind::of_state(state) != Some(Kind::App) {
                return Err(Error::new(Code::StoredStateUnknown, "not an app login's state"));
            }
            let stored = stored_tx::peek(p, config, state).await?;
            let app = stored.app.ok_or_else(|| Error::new(Code::StoredStateUnknown, "stored login without an app"))?;
            if !verifier_matches(verifier, &app.challenge) {
                return Err(Error::new(Code::AppVerifierMismatch, "code_verifier does not match the app's code_challenge"));
            }
            stored_tx::forget(p, state).await;
            let params = CallbackParams { state: Some(state.to_string()), code: Some(Secret::new(code)), error: None, iss: text(&m, "iss")?.map(str::to_string) };
            let session = stored_login::finish(ctx, stored.transaction, params).await?;
            let (_, token) = bearer_for(ctx, session);
            token_answer(ctx, &token)
        }
        _ => Err(Error::new(Code::AppBadRequest, "give handoff, or code and state")),
    }
}

async fn stored_tx_forget<P: Platform>(p: &P, key: &str) {
    if let Err(e) = p.kv_delete(key).await {
        p.log(Level::Warn, "login_store.delete_failed", &e.0);
    }
}

/// `POST {prefix}/app/logout` with the bearer: its id is recorded as ended.
async fn logout<P: Platform>(ctx: &Ctx<'_, P>) -> Result<Reply, Error> {
    let (p, config) = (ctx.p, ctx.config);
    let token = bearer::token_in(ctx.req.header("authorization")).ok_or_else(|| Error::new(Code::BearerInvalid, "no bearer session"))?;
    let s = ctx.state.bearers.current(p, config, &ctx.state.revocations, token).await.map_err(|why| Error::new(Code::BearerInvalid, why.as_str()))?;
    if !s.sid().is_empty() {
        ctx.state
            .revocations
            .end_session_until(p, s.sid(), s.exp())
            .await
            .map_err(|e| Error::new(Code::LogoutStoreFailed, format!("KV: {}", e.0)))?;
    }
    Ok(Reply::json(200, &json!({"ok": true})))
}

/// The request's session: the cookie's, else (when app logins are on and the route reads
/// `Authorization`) a bearer session's. Revocations are checked for both.
pub async fn current_session<P: Platform>(ctx: &Ctx<'_, P>) -> CurrentSession {
    let current = ctx.state.revocations.current_session(ctx.p, ctx.config, &ctx.req.cookie_header(), &ctx.state.sessions).await;
    if current.session.is_some() || !ctx.config.apps.apps_enabled() {
        return current;
    }
    let Some(token) = bearer::token_in(ctx.req.header("authorization")) else { return current };
    match ctx.state.bearers.current(ctx.p, ctx.config, &ctx.state.revocations, token).await {
        Ok(s) => CurrentSession { session: Some(s), set_cookie: current.set_cookie },
        Err(why) => {
            ctx.p.log(Level::Info, Code::BearerInvalid.as_str(), why.as_str());
            current
        }
    }
}
