//! The login hook: on each successful login (the browser callback, a login from phone number)
//! the Worker POSTs the user to the merchant's backend (`LOGIN_HOOK_URL`), and the backend
//! allows, optionally adding a few claims to the session, or denies.
//!
//! The request (README, "Login hook", is the reference for backends):
//! - `POST`, `Content-Type: application/json`, body
//!   `{"event":"login","id","iat","flow","sub","userinfo",("api_key")}`, with the full userinfo
//!   (`delegatedConsents` included: Vipps sends it on the first login only);
//! - `Vipps-Edge-Hook-Signature: t=<iat>,kid=<key id>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!   with the first `LOGIN_HOOK_KEYS` key; the backend accepts `t` within 5 minutes of its
//!   clock and may remember `id` for that long to refuse replays.
//!
//! The answer: `200` with `{"allow": true, "claims": {...}}` (claims optional) or
//! `{"allow": false}`. Anything else (a timeout, a refused connection, another status, other
//! JSON, claims outside the limits of [`AppClaims`]) is a failure, which `LOGIN_HOOK_ON_ERROR`
//! turns into no login (`deny`, the default) or a login without claims (`allow`).
//!
//! Pure pair as elsewhere: [`build_request`] and [`process_response`]; [`run`] does the I/O.

use crate::config::hook::{HookConfig, OnError};
use crate::error::{Code, Error};
use crate::flows::Ctx;
use crate::http::{InboundResponse, OutboundRequest};
use crate::platform::{Level, Platform};
use crate::upstream::{self, Budget, Failures};
use crate::util::{hex, hmac_sha256};
use serde_json::{json, Map, Value};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "vipps-edge-hook-signature";
/// How far the backend should let `t` stray from its clock (documented; the Worker signs with
/// its own clock).
pub const REPLAY_WINDOW_SECS: u64 = 300;
/// At most this many claims from the backend...
pub const MAX_CLAIMS: usize = 16;
/// ...with names of at most this many characters `[a-z][a-z0-9_]*`...
pub const MAX_NAME: usize = 32;
/// ...string values of at most this many bytes...
pub const MAX_STRING: usize = 256;
/// ...lists of at most this many strings of at most [`MAX_LIST_ITEM`] bytes...
pub const MAX_LIST: usize = 16;
pub const MAX_LIST_ITEM: usize = 64;
/// ...and at most this many bytes of JSON altogether (they ride in the session cookie).
pub const MAX_CLAIMS_BYTES: usize = 1024;

/// Which login ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The browser's redirect login (`/auth/login` -> the callback).
    Browser,
    /// Login from phone number, finished by a merchant system's poll.
    Ciba,
    /// Login from phone number finished in the phone's browser (`login_to_webpage`).
    CibaRedirect,
    /// A native app's login (`app_to_app_v2`, `app_to_app`), handed to the app.
    App,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Browser => "browser",
            Flow::Ciba => "ciba",
            Flow::CibaRedirect => "ciba_redirect",
            Flow::App => "app",
        }
    }
}

/// The login the hook is told about: its `sub` and userinfo are verified already.
pub struct Login<'a> {
    pub flow: Flow,
    pub sub: &'a str,
    pub userinfo: &'a Map<String, Value>,
    /// The API key name that started a login from phone number.
    pub api_key: Option<&'a str>,
}

/// Claims the backend added: validated names and values within the limits above. Only
/// [`AppClaims::parse`] makes one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppClaims(Map<String, Value>);

fn text_ok(s: &str, max: usize) -> bool {
    s.len() <= max && !s.chars().any(char::is_control)
}

impl AppClaims {
    pub fn none() -> AppClaims {
        AppClaims::default()
    }
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A claims object as the backend sent it; the error says which limit it broke.
    pub fn parse(v: &Value) -> Result<AppClaims, String> {
        let Some(m) = v.as_object() else { return Err("claims is not an object".into()) };
        if m.len() > MAX_CLAIMS {
            return Err(format!("{} claims (at most {MAX_CLAIMS})", m.len()));
        }
        for (name, value) in m {
            let name_ok = name.len() <= MAX_NAME
                && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok {
                return Err(format!("claim name {:?} is not [a-z][a-z0-9_]{{0,31}}", crate::oidc::safe_code(name)));
            }
            let value_ok = match value {
                Value::String(s) => text_ok(s, MAX_STRING),
                Value::Bool(_) | Value::Number(_) => true,
                Value::Array(items) => {
                    items.len() <= MAX_LIST && items.iter().all(|i| i.as_str().is_some_and(|s| text_ok(s, MAX_LIST_ITEM)))
                }
                Value::Null | Value::Object(_) => false,
            };
            if !value_ok {
                return Err(format!("claim {name} is not a short string, a number, a boolean or a short list of short strings"));
            }
        }
        let size = serde_json::to_vec(m).map(|b| b.len()).unwrap_or(usize::MAX);
        if size > MAX_CLAIMS_BYTES {
            return Err(format!("claims are {size} bytes of JSON (at most {MAX_CLAIMS_BYTES})"));
        }
        Ok(AppClaims(m.clone()))
    }
}

/// `t=<ts>,kid=<id>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>`.
pub fn signature(kid: &str, secret: &[u8], ts: u64, body: &str) -> String {
    let ts = ts.to_string();
    let mac = hmac_sha256(secret, &[ts.as_bytes(), b".", body.as_bytes()]);
    format!("t={ts},kid={kid},v1={}", hex(&mac))
}

/// The signed POST for one login. `id` is random per login (the backend's replay check).
pub fn build_request(hook: &HookConfig, login: &Login<'_>, id: &str, now: u64) -> OutboundRequest {
    let mut body = json!({
        "event": "login",
        "id": id,
        "iat": now,
        "flow": login.flow.as_str(),
        "sub": login.sub,
        "userinfo": login.userinfo,
    });
    if let Some(k) = login.api_key {
        body["api_key"] = json!(k);
    }
    let body = body.to_string();
    let key = hook.keys.first();
    OutboundRequest {
        method: "POST",
        url: hook.url.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            (SIGNATURE_HEADER.into(), signature(&key.id, key.secret.expose().as_bytes(), now, &body)),
        ],
        body: Some(body),
    }
}

/// What the backend decided.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Allow(AppClaims),
    /// With the backend's reason, log-safe (`[a-z0-9_]`, short), when it gave one.
    Deny(String),
}

/// The backend's answer: `200` `{"allow": bool, "claims"?: {...}, "reason"?: "..."}`.
pub fn process_response(resp: &InboundResponse) -> Result<Verdict, Error> {
    if resp.status >= 500 {
        return Err(Error::new(Code::HookUnavailable, format!("login hook answered {}", resp.status)));
    }
    let bad = |why: String| Error::new(Code::HookBadResponse, format!("login hook: {why}"));
    if resp.status != 200 {
        return Err(bad(format!("status {} (only 200 decides)", resp.status)));
    }
    let v: Value = crate::oidc::json_body(resp).ok_or_else(|| bad("not JSON".into()))?;
    match v.get("allow") {
        Some(Value::Bool(true)) => match v.get("claims") {
            None | Some(Value::Null) => Ok(Verdict::Allow(AppClaims::none())),
            Some(c) => AppClaims::parse(c).map(Verdict::Allow).map_err(bad),
        },
        Some(Value::Bool(false)) => {
            Ok(Verdict::Deny(v.get("reason").and_then(Value::as_str).map(crate::oidc::safe_code).unwrap_or_default()))
        }
        _ => Err(bad("no boolean \"allow\"".into())),
    }
}

/// Asks the backend about a verified login, within the request's budget. `Ok` is the claims
/// to add (none without a hook, or when a failure is let through by `LOGIN_HOOK_ON_ERROR=allow`);
/// `Err` is `hook.denied`, or the failure under `deny`.
pub async fn run<P: Platform>(ctx: &Ctx<'_, P>, budget: &Budget, login: &Login<'_>) -> Result<AppClaims, Error> {
    let Some(hook) = &ctx.config.hook else { return Ok(AppClaims::none()) };
    let p = ctx.p;
    let mut id = [0u8; 16];
    p.fill_random(&mut id).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
    let req = build_request(hook, login, &crate::util::b64url(&id), p.now());
    let on = Failures { what: "login hook", unavailable: Code::HookUnavailable, bad: Code::HookBadResponse };
    let asked = match upstream::call(p, &budget.capped(hook.timeout_ms), req, on).await {
        Ok(resp) => process_response(&resp),
        Err(e) => Err(e),
    };
    match asked {
        Ok(Verdict::Allow(claims)) => {
            p.log(Level::Info, "hook.allowed", &format!("flow={} claims={}", login.flow.as_str(), claims.0.len()));
            Ok(claims)
        }
        Ok(Verdict::Deny(reason)) => Err(Error::new(Code::HookDenied, format!("flow={} reason={reason}", login.flow.as_str()))),
        Err(e) if hook.on_error == OnError::Allow => {
            p.log(Level::Warn, "hook.failed_open", &format!("{e}; the login goes on without the backend (LOGIN_HOOK_ON_ERROR=allow)"));
            Ok(AppClaims::none())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn hook() -> HookConfig {
        parse(&[("LOGIN_HOOK_URL", "https://crm.example/vipps/login"), ("LOGIN_HOOK_KEYS", &format!("k2:{SECRET},k1:fedcba9876543210fedcba9876543210"))])
            .unwrap()
            .hook
            .unwrap()
    }

    fn resp(status: u16, body: &str) -> InboundResponse {
        InboundResponse { status, headers: vec![("content-type".into(), "application/json".into())], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn the_request_is_signed_over_timestamp_and_body() {
        let info = json!({"sub": "u1", "name": "Kari", "delegatedConsents": {"consents": [{"id": "email", "accepted": true}]}});
        let login = Login { flow: Flow::Ciba, sub: "u1", userinfo: info.as_object().unwrap(), api_key: Some("till-a") };
        let r = build_request(&hook(), &login, "id-1", 1_700_000_000);
        assert_eq!((r.method, r.url.as_str()), ("POST", "https://crm.example/vipps/login"));
        let body = r.body.as_deref().unwrap();
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v, json!({"event": "login", "id": "id-1", "iat": 1_700_000_000u64, "flow": "ciba", "sub": "u1", "userinfo": info, "api_key": "till-a"}));
        let sig = crate::http::header(&r.headers, SIGNATURE_HEADER).unwrap();
        // Recomputed as a backend does, from the header's t and the raw body.
        let mac = hmac_sha256(SECRET.as_bytes(), &[b"1700000000.", body.as_bytes()]);
        assert_eq!(sig, format!("t=1700000000,kid=k2,v1={}", hex(&mac)));
        assert!(!sig.contains(SECRET));
    }

    #[test]
    fn answers() {
        let allow = process_response(&resp(200, r#"{"allow":true,"claims":{"customer_id":"C-1","roles":["staff","admin"],"tier":3,"vip":true}}"#)).unwrap();
        let Verdict::Allow(c) = allow else { panic!() };
        assert_eq!(c.into_map()["roles"], json!(["staff", "admin"]));
        assert_eq!(process_response(&resp(200, r#"{"allow":true}"#)).unwrap(), Verdict::Allow(AppClaims::none()));
        assert_eq!(process_response(&resp(200, r#"{"allow":false,"reason":"Blocked\n<x>"}"#)).unwrap(), Verdict::Deny("blockedx".into()));
        for (status, body, code) in [
            (500, "{}", Code::HookUnavailable),
            (503, r#"{"allow":true}"#, Code::HookUnavailable),
            (403, r#"{"allow":false}"#, Code::HookBadResponse),
            (200, "<html>", Code::HookBadResponse),
            (200, r#"{"allow":"yes"}"#, Code::HookBadResponse),
            (200, r#"{}"#, Code::HookBadResponse),
            (200, r#"[true]"#, Code::HookBadResponse),
            (200, r#"{"allow":true,"claims":[1]}"#, Code::HookBadResponse),
        ] {
            assert_eq!(process_response(&resp(status, body)).unwrap_err().code, code, "{status} {body}");
        }
    }

    /// Through [`run`] on the fake platform (which answers the hook URL `404`): the call's
    /// timeout is `LOGIN_HOOK_TIMEOUT_MS` within the budget, and the policy decides a failure.
    #[test]
    fn the_call_is_timed_within_the_budget_and_the_policy_decides_failures() {
        use crate::flows::{Ctx, IsolateState};
        use crate::testkit::{block_on, FakePlatform};
        let info = json!({"sub": "u1"});
        let login = Login { flow: Flow::Browser, sub: "u1", userinfo: info.as_object().unwrap(), api_key: None };
        let req = crate::http::IncomingRequest::get("https://shop.example/auth/callback").unwrap();
        let hook = ("LOGIN_HOOK_URL", "https://crm.example/vipps/login");
        let keys = format!("k2:{SECRET}");
        for (policy, want) in [("deny", Err(Code::HookBadResponse)), ("allow", Ok(AppClaims::none()))] {
            let config = parse(&[hook, ("LOGIN_HOOK_KEYS", &keys), ("LOGIN_HOOK_TIMEOUT_MS", "500"), ("LOGIN_HOOK_ON_ERROR", policy)]).unwrap();
            let (p, state) = (FakePlatform::default(), IsolateState::default());
            let ctx = Ctx { p: &p, config: &config, state: &state, req: &req };
            let budget = Budget::new(p.now_millis(), &config.upstream);
            let got = block_on(run(&ctx, &budget, &login)).map_err(|e| e.code);
            assert_eq!(got, want, "{policy}");
            assert_eq!(*p.timeouts.borrow(), vec![500], "the hook's own timeout");
            assert_eq!(p.logged("hook.failed_open"), policy == "allow");
            // With 120 ms left of the request's deadline, the call gets those.
            let (p, state) = (FakePlatform::default(), IsolateState::default());
            let ctx = Ctx { p: &p, config: &config, state: &state, req: &req };
            let late = Budget::new(p.now_millis().saturating_sub(config.upstream.deadline_ms - 120), &config.upstream);
            let _ = block_on(run(&ctx, &late, &login));
            assert_eq!(*p.timeouts.borrow(), vec![120]);
        }
        // No hook configured: nothing is called.
        let config = parse(&[]).unwrap();
        let (p, state) = (FakePlatform::default(), IsolateState::default());
        let ctx = Ctx { p: &p, config: &config, state: &state, req: &req };
        let budget = Budget::new(p.now_millis(), &config.upstream);
        assert_eq!(block_on(run(&ctx, &budget, &login)).unwrap(), AppClaims::none());
        assert!(p.requests.borrow().is_empty());
    }

    #[test]
    fn claims_are_bounded() {
        let ok = |v: Value| AppClaims::parse(&v).is_ok();
        assert!(ok(json!({})));
        assert!(ok(json!({"a": "x".repeat(MAX_STRING), "b2_c": 1.5, "c": false, "d": vec!["x"; MAX_LIST]})));
        for bad in [
            json!({"Name": "x"}),
            json!({"1a": "x"}),
            json!({"_a": "x"}),
            json!({"a-b": "x"}),
            json!({"": "x"}),
            json!({"a".repeat(MAX_NAME + 1): "x"}),
            json!({"a": "x".repeat(MAX_STRING + 1)}),
            json!({"a": "line\nbreak"}),
            json!({"a": null}),
            json!({"a": {"nested": 1}}),
            json!({"a": [1]}),
            json!({"a": vec!["x"; MAX_LIST + 1]}),
            json!({"a": ["y".repeat(MAX_LIST_ITEM + 1)]}),
            json!("claims"),
        ] {
            assert!(!ok(bad.clone()), "{bad}");
        }
        let many: Map<String, Value> = (0..=MAX_CLAIMS).map(|i| (format!("c{i}"), json!(1))).collect();
        assert!(!ok(Value::Object(many)));
        let big: Map<String, Value> = (0..8).map(|i| (format!("c{i}"), json!("z".repeat(200)))).collect();
        assert!(AppClaims::parse(&Value::Object(big)).unwrap_err().contains("bytes"));
    }

    /// Every answer of tests/data/hook-answers.txt is a failure, never an allow with claims.
    #[test]
    fn answers_corpus_is_refused() {
        let vectors: Vec<&str> = include_str!("../../tests/data/hook-answers.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        assert!(vectors.len() >= 45, "{}", vectors.len());
        for body in vectors {
            assert_eq!(process_response(&resp(200, body)).map_err(|e| e.code), Err(Code::HookBadResponse), "{body}");
        }
    }

    /// Claims that pass (non-ASCII, a line separator, `%`) reach the origin as visible ASCII
    /// header values only, under `Vipps-Login-App-` names.
    #[test]
    fn allowed_claims_cannot_inject_headers() {
        let Verdict::Allow(c) = process_response(&resp(200, r#"{"allow":true,"claims":{"name":"Kåre\u2028Ø%0d%0a","roles":["a\u2029b"],"n":1e3}}"#)).unwrap() else { panic!() };
        for (name, v) in c.into_map() {
            let h = crate::config::identity::claim_header_name(&format!("app_{name}"));
            let value = crate::policy::identity::header_value(&v);
            assert!(h.starts_with("vipps-login-app-") && h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{h}");
            assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)) && !value.contains("%0d%0a"), "{h}: {value}");
        }
    }

}
