//! Login from phone number for merchant systems (tills, call centres, devices): `POST
//! {prefix}/ciba/start`, `/ciba/poll` and `/ciba/user-exists`, JSON in and out, each
//! authenticated with an API key from `CIBA_API_KEYS` (`Authorization: Bearer KEY`).
//!
//! The Worker keeps the client secret; the merchant's system keeps a signed handle
//! ([`crate::session::ciba_handle`]) between a start and its polls, so no KV is needed. Nothing
//! reaches Vipps before the key is checked, the input validated and the handle verified; a poll
//! before the handle's next-poll time is answered here, not at Vipps. One poll request makes at
//! most one token call (plus JWKS and userinfo on success): the till waits `interval` between
//! polls, which keeps every request far below the Workers subrequest limit. A successful poll
//! asks the login hook ([`crate::hook`]) before it answers.
//!
//! A start with `"flow": "login_to_webpage"` (when `CIBA_LOGIN_TO_WEBPAGE` is on) is never
//! polled: it is recorded for the callback, where the phone's browser finishes it
//! ([`super::ciba_redirect`]).

use super::{Answer, Ctx};
use crate::config::CibaConfig;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::oidc::ciba::{self, LoginHint, Polled, Refused, StartParams};
use crate::platform::{Level, Platform};
use crate::session::ciba_handle::Handle;
use crate::oidc::discovery::Classify;
use crate::upstream::{self, Failures};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest JSON body read.
pub const MAX_BODY: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Poll,
    UserExists,
}

pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, op: Op) -> Answer {
    let Some(ciba) = &ctx.config.ciba else {
        return Answer::reply(Err(Error::from(Code::NotFound)));
    };
    let result = match authenticate(ciba, ctx.req.header("authorization")) {
        Err(e) => Err(e),
        Ok(key_name) => match op {
            Op::Start => start(ctx, ciba, key_name).await,
            Op::Poll => poll(ctx, ciba, key_name).await,
            Op::UserExists => user_exists(ctx, key_name).await,
        },
    };
    Answer::reply(result)
}

/// The name of the API key in `Authorization: Bearer KEY`. Every configured key is compared,
/// in constant time, whatever matched first.
fn authenticate<'c>(ciba: &'c CibaConfig, authorization: Option<&str>) -> Result<&'c str, Error> {
    let given = authorization
        .and_then(|h| h.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer ")).map(|_| h[7..].trim()))
        .ok_or_else(|| Error::new(Code::CibaUnauthorized, "no Bearer API key"))?;
    let mut found = None;
    for k in ciba.api_keys.iter() {
        if crate::util::ct_eq(given.as_bytes(), k.key.expose().as_bytes()) && found.is_none() {
            found = Some(k.name.as_str());
        }
    }
    found.ok_or_else(|| Error::new(Code::CibaUnauthorized, "API key not configured"))
}

fn body<T: DeserializeOwned>(ctx: &Ctx<'_, impl Platform>) -> Result<T, Error> {
    let bytes = ctx.req.body.as_deref().unwrap_or_default();
    if bytes.len() > MAX_BODY {
        return Err(Error::new(Code::CibaBadRequest, "body too large"));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::new(Code::CibaBadRequest, format!("body: {}", e.classify_str())))
}

/// The hint from a body's `phone` or `customer_token` (exactly one).
fn hint(phone: Option<&str>, customer_token: Option<&str>) -> Result<LoginHint, Error> {
    match (phone, customer_token) {
        (Some(p), None) => LoginHint::phone(p),
        (None, Some(t)) => LoginHint::customer_token(t),
        _ => Err(Error::new(Code::CibaBadRequest, "give exactly one of phone and customer_token")),
    }
}

/// A refusal with the seconds to wait: `429`, `Retry-After`, and `retry_after` in the JSON.
fn wait_reply<P: Platform>(p: &P, code: Code, secs: u64, detail: &str) -> Reply {
    p.log(Level::Info, code.as_str(), detail);
    let (_, message) = crate::pages::texts::code_text(code, crate::pages::Look::english());
    let mut r = Reply::json(code.status(), &json!({"error": code.as_str(), "message": message, "retry_after": secs}));
    r.headers.push(("retry-after".into(), secs.to_string()));
    r
}

fn refused<P: Platform>(p: &P, r: Refused) -> Result<Reply, Error> {
    match r.retry_after {
        Some(secs) => Ok(wait_reply(p, r.error.code, secs, &r.error.detail)),
        None => Err(r.error),
    }
}

fn random<P: Platform, const N: usize>(p: &P) -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    p.fill_random(&mut b).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    Ok(b)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    phone: Option<String>,
    customer_token: Option<String>,
    binding_message: Option<String>,
    #[serde(default)]
    generate_binding_message: bool,
    scope: Option<String>,
    requested_expiry: Option<Value>,
    /// `"poll"` (the default) or `"login_to_webpage"` (with `CIBA_LOGIN_TO_WEBPAGE=true`).
    flow: Option<String>,
}

async fn start<P: Platform>(ctx: &Ctx<'_, P>, ciba: &CibaConfig, key_name: &str) -> Result<Reply, Error> {
    let p = ctx.p;
    let b: StartBody = body(ctx)?;
    let hint = hint(b.phone.as_deref(), b.customer_token.as_deref())?;
    let to_webpage = match b.flow.as_deref() {
        None | Some("poll") => false,
        Some(ciba::LOGIN_TO_WEBPAGE) if ciba.login_to_webpage => true,
        Some(_) => return Err(Error::new(Code::CibaBadRequest, "flow must be poll, or login_to_webpage when CIBA_LOGIN_TO_WEBPAGE is on")),
    };
    let binding_message = match (b.binding_message, b.generate_binding_message) {
        (Some(_), true) => return Err(Error::new(Code::CibaBadRequest, "binding_message and generate_binding_message together")),
        (Some(m), false) if ciba::binding_message_ok(&m) => Some(m),
        (Some(_), false) => return Err(Error::new(Code::CibaBadBindingMessage, "binding_message is not ^[A-Z0-9-]{5,8}$")),
        (None, true) => Some(ciba::generate_binding_message(&random(p)?)),
        (None, false) => None,
    };
    let requested_expiry = match b.requested_expiry {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) if ciba::EXPIRY_RANGE.contains(&n) => Some(n),
            _ => return Err(Error::new(Code::CibaBadExpiry, "requested_expiry is not 60 to 900")),
        },
    };
    let scope = match b.scope {
        None => ciba.scopes.join(" "),
        Some(s) => {
            let mut scopes = vec!["openid"];
            for s in s.split_whitespace() {
                if !ciba.scopes.iter().any(|allowed| allowed == s) {
                    return Err(Error::new(Code::CibaBadScope, format!("scope {:?} not in CIBA_SCOPES", crate::oidc::safe_code(s))));
                }
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
            scopes.join(" ")
        }
    };
    let nonce = crate::util::b64url(&random::<P, 16>(p)?);

    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(p, ctx.config, &budget).await?;
    let redirect_uri = to_webpage.then(|| ctx.config.vipps.redirect_uri.as_str());
    let params = StartParams { hint: &hint, scope: &scope, binding_message: binding_message.as_deref(), requested_expiry, nonce: &nonce, redirect_uri };
    let on = Failures { what: "backchannel", unavailable: Code::VippsUnavailable, bad: Code::CibaRejected };
    let resp = upstream::call(p, &budget, ciba::build_start_request(ctx.config, &disc, &params)?, on).await?;
    let started = match ciba::process_start_response(&resp) {
        Ok(s) => s,
        Err(r) => return refused(p, r),
    };
    let now = p.now();
    if to_webpage {
        // No handle and no polling: the phone's browser brings the code to the callback, which
        // finds this record by the ID token's auth_req_id (see flows::ciba_redirect).
        super::ciba_redirect::record_start(p, key_name, started.auth_req_id.expose(), &nonce, now, started.expires_in).await?;
        p.log(Level::Info, "ciba.started", &format!("key={key_name} login={} flow=login_to_webpage", Handle::log_id(started.auth_req_id.expose())));
        let mut out = json!({"flow": ciba::LOGIN_TO_WEBPAGE, "expires_in": started.expires_in});
        if let Some(m) = binding_message {
            out["binding_message"] = json!(m);
        }
        return Ok(Reply::json(200, &out));
    }
    let handle = Handle {
        key_name: key_name.to_string(),
        auth_req_id: started.auth_req_id.expose().to_string(),
        nonce,
        interval: started.interval,
        next_poll: now.saturating_add(started.interval),
        expires_at: now.saturating_add(started.expires_in),
    };
    p.log(Level::Info, "ciba.started", &format!("key={key_name} login={}", Handle::log_id(&handle.auth_req_id)));
    let mut out = json!({
        "handle": handle.seal(ciba),
        "expires_in": started.expires_in,
        "interval": started.interval,
    });
    if let Some(m) = binding_message {
        out["binding_message"] = json!(m);
    }
    Ok(Reply::json(200, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PollBody {
    handle: String,
}

async fn poll<P: Platform>(ctx: &Ctx<'_, P>, ciba: &CibaConfig, key_name: &str) -> Result<Reply, Error> {
    let p = ctx.p;
    let b: PollBody = body(ctx)?;
    let mut handle = Handle::open(ciba, key_name, &b.handle)?;
    let login = Handle::log_id(&handle.auth_req_id);
    let now = p.now();
    if now >= handle.expires_at {
        return Err(Error::new(Code::CibaExpired, format!("key={key_name} login={login} expired before this poll")));
    }
    if now < handle.next_poll {
        let wait = handle.next_poll - now;
        return Ok(wait_reply(p, Code::CibaTooEarly, wait, &format!("key={key_name} login={login} polled {wait} s early")));
    }
    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(p, ctx.config, &budget).await?;
    let on = Failures { what: "token", unavailable: Code::VippsUnavailable, bad: Code::TokenBadResponse };
    let resp = upstream::call(p, &budget, ciba::build_poll_request(ctx.config, &disc, &handle.auth_req_id), on).await?;
    let tokens = match ciba::process_poll_response(&resp) {
        Ok(Polled::Tokens(t)) => t,
        Ok(pending) => {
            if matches!(pending, Polled::SlowDown) {
                handle.interval = handle.interval.saturating_add(ciba::SLOW_DOWN_SECS);
                p.log(Level::Warn, "ciba.slow_down", &format!("key={key_name} login={login} interval now {} s", handle.interval));
            }
            handle.next_poll = now.saturating_add(handle.interval);
            let mut r = Reply::json(
                202,
                &json!({"status": "pending", "handle": handle.seal(ciba), "interval": handle.interval, "retry_after": handle.interval}),
            );
            r.headers.push(("retry-after".into(), handle.interval.to_string()));
            return Ok(r);
        }
        Err(r) => {
            let r = Refused { error: Error::new(r.error.code, format!("key={key_name} login={login} {}", r.error.detail)), ..r };
            return refused(p, r);
        }
    };
    let (verified, info) = super::callback::verified_user(ctx, &disc, &tokens, &handle.nonce, &budget).await?;
    let hooked = crate::hook::Login { flow: crate::hook::Flow::Ciba, sub: verified.sub(), userinfo: &info, api_key: Some(key_name) };
    let app = crate::hook::run(ctx, &budget, &hooked).await?;
    p.log(Level::Info, "ciba.ok", &format!("key={key_name} login={login}"));
    let mut out = json!({"status": "ok", "sub": verified.sub(), "user": info});
    if !app.is_empty() {
        out["app"] = Value::Object(app.into_map());
    }
    Ok(Reply::json(200, &out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserExistsBody {
    phone: Option<String>,
    customer_token: Option<String>,
}

async fn user_exists<P: Platform>(ctx: &Ctx<'_, P>, key_name: &str) -> Result<Reply, Error> {
    let p = ctx.p;
    let b: UserExistsBody = body(ctx)?;
    let hint = hint(b.phone.as_deref(), b.customer_token.as_deref())?;
    let budget = ctx.budget();
    let disc = ctx.state.docs.discovery(p, ctx.config, &budget).await?;
    let on = Failures { what: "user-exists", unavailable: Code::VippsUnavailable, bad: Code::CibaRejected };
    let resp = upstream::call(p, &budget, ciba::build_user_exists_request(ctx.config, &disc, &hint)?, on).await?;
    match ciba::process_user_exists_response(&resp) {
        Ok(exists) => {
            p.log(Level::Info, "ciba.user_exists", &format!("key={key_name}"));
            Ok(Reply::json(200, &json!({"exists": exists})))
        }
        Err(r) => refused(p, r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    #[test]
    fn api_keys_by_name_in_constant_time() {
        let c = parse(&[("CIBA_API_KEYS", "a:0123456789abcdef0123456789abcdef,b:fedcba9876543210fedcba9876543210")]).unwrap();
        let ciba = c.ciba.as_ref().unwrap();
        assert_eq!(authenticate(ciba, Some("Bearer 0123456789abcdef0123456789abcdef")).unwrap(), "a");
        assert_eq!(authenticate(ciba, Some("bearer fedcba9876543210fedcba9876543210")).unwrap(), "b");
        for bad in [None, Some(""), Some("Bearer"), Some("Bearer "), Some("Basic 0123456789abcdef0123456789abcdef"), Some("Bearer 0123456789abcdef0123456789abcde"), Some("Bearér x"), Some("Bear")] {
            assert_eq!(authenticate(ciba, bad).unwrap_err().code, Code::CibaUnauthorized, "{bad:?}");
        }
    }

    #[test]
    fn exactly_one_hint() {
        assert_eq!(hint(Some("12345678"), None).unwrap().as_str(), "urn:msisdn:4712345678");
        assert_eq!(hint(None, Some("ct-4712345678")).unwrap().as_str(), "urn:customer-token:ct-4712345678");
        assert_eq!(hint(None, None).unwrap_err().code, Code::CibaBadRequest);
        assert_eq!(hint(Some("12345678"), Some("x")).unwrap_err().code, Code::CibaBadRequest);
        assert_eq!(hint(None, Some("a b")).unwrap_err().code, Code::CibaBadRequest);
        assert_eq!(hint(Some("+1 555 0100"), None).unwrap_err().code, Code::CibaBadPhone);
    }
}
