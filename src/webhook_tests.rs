//! The consent-revocation webhook through [`App::handle`]: what a delivery records, which
//! sessions it ends and when, and what hostile deliveries get (exact status, code, no store
//! write, no forward).

use crate::app::App;
use crate::session::revocation::revocation_key;
use crate::app_tests::{app_with, finish, has_session_cookie, req, start, Jar};
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::testkit::*;
use crate::util::b64url;
use serde_json::{json, Value};

const SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";
const HOOK: &str = "https://shop.example/auth/webhooks/consent-revoked/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";

/// Where a revocation of [`SUB`] is stored.
fn key() -> String {
    revocation_key(&crate::consent::sub_handle(SUB))
}

fn hook_app(extra: &[(&str, &str)]) -> App {
    let mut all = vec![("CONSENT_WEBHOOK_SECRET", SECRET), ("SESSION_RECHECK", "300")];
    all.extend_from_slice(extra);
    app_with(&all)
}

fn unsigned(claims: &Value) -> String {
    format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), b64url(claims.to_string().as_bytes()))
}

fn revoked(now: u64) -> Value {
    json!({"exp": now + 300, "iat": now, "nbf": now, "sub": SUB, "event": "CONSENT_REVOKED"})
}

fn post(url: &str, content_type: Option<&str>, body: &str) -> IncomingRequest {
    let mut r = IncomingRequest::get(url).unwrap();
    r.method = "POST".into();
    if let Some(ct) = content_type {
        r = r.with_header("content-type", ct);
    }
    r.body = Some(body.as_bytes().to_vec());
    r
}

fn deliver(app: &App, p: &FakePlatform, body: &str) -> Reply {
    reply(block_on(app.handle(p, &post(HOOK, Some("text/plain"), body))))
}

fn code_of(r: &Reply) -> String {
    serde_json::from_str::<Value>(&r.body).unwrap()["error"].as_str().unwrap_or("").to_string()
}

/// Logs in and returns the browser's jar.
fn logged_in(app: &App, p: &FakePlatform) -> Jar {
    let mut jar = Jar::default();
    let q = start(app, p, &mut jar, "/private/");
    let r = finish(app, p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 303, "{}", r.body);
    jar
}

fn protected(app: &App, p: &FakePlatform, jar: &Jar) -> Outcome {
    block_on(app.handle(p, &req("https://shop.example/private/", jar)))
}

fn is_cleared(r: &Reply) -> bool {
    r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0"))
}

fn assert_no_secrets_logged(p: &FakePlatform) {
    for (_, code, detail) in p.logs.borrow().iter() {
        assert!(!detail.contains(SUB) && !code.contains(SUB), "sub logged: {code} {detail}");
        assert!(!detail.contains(SECRET), "webhook secret logged: {code} {detail}");
    }
}

#[test]
fn revocation_ends_sessions_issued_before_it_here_at_once_elsewhere_at_the_next_check() {
    let app = hook_app(&[]);
    let other_isolate = hook_app(&[]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p);
    p.advance(10);
    let reads = p.counts().kv_get;
    assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
    assert!(matches!(protected(&other_isolate, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
    assert_eq!(p.counts().kv_get, reads, "no KV read before SESSION_RECHECK has passed");

    let now = p.now.get();
    let r = deliver(&app, &p, &unsigned(&revoked(now)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(serde_json::from_str::<Value>(&r.body).unwrap(), json!({"ok": true}));
    assert_eq!(p.kv.borrow().get(&key()).map(String::as_str), Some(now.to_string().as_str()));
    assert!(p.logged("webhook.consent_revoked"));

    // The isolate that received the webhook ends the session on the next request.
    let r = reply(protected(&app, &p, &jar));
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().starts_with("/auth/login?return_to="));
    assert!(is_cleared(&r));
    assert!(p.logged("session.consent_revoked"));
    // The session endpoint says so too, and clears the cookie.
    let s = reply(block_on(app.handle(&p, &IncomingRequest::get("https://shop.example/auth/session").unwrap().with_header("cookie", &jar.header()))));
    assert_eq!(s.status, 401);
    assert!(is_cleared(&s));

    // Another isolate learns it from KV at the session's next check (SESSION_RECHECK).
    assert!(matches!(protected(&other_isolate, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: Some(_), .. })));
    p.advance(300);
    let r = reply(protected(&other_isolate, &p, &jar));
    assert_eq!(r.status, 302);
    assert!(is_cleared(&r));
    // ... and from then on without asking KV again.
    let reads = p.counts().kv_get;
    assert_eq!(reply(protected(&other_isolate, &p, &jar)).status, 302);
    assert_eq!(p.counts().kv_get, reads);

    // A login after the revocation (the user consented again) is a working session everywhere.
    p.advance(1);
    let jar = logged_in(&app, &p);
    assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: Some(_), .. })));
    p.advance(300);
    assert!(matches!(protected(&other_isolate, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: Some(_), .. })));
    assert_no_secrets_logged(&p);
}

#[test]
fn a_session_check_reissues_the_cookie_so_the_next_requests_need_no_kv() {
    // Idle timeout off: this is about revocation checks alone (idle windows: app_tests).
    let app = hook_app(&[("SESSION_IDLE_TIMEOUT", "0"), ("SESSION_END_ON_LOGOUT", "false")]);
    let p = FakePlatform::default();
    let mut jar = logged_in(&app, &p);
    p.advance(301);
    let reads = p.counts().kv_get;
    let Outcome::Forward(crate::policy::forward::Forward { user: Some(_), set_cookies, .. }) = protected(&app, &p, &jar) else {
        panic!("expected a forward with a re-issued cookie");
    };
    let [c] = set_cookies.as_slice() else { panic!("one re-issued cookie, got {set_cookies:?}") };
    let c = c.clone();
    assert_eq!(p.counts().kv_get, reads + 1);
    assert!(c.starts_with("__Host-vipps-session=") && c.contains("HttpOnly"));
    // Max-Age runs to the original expiry, not a fresh SESSION_TTL.
    assert!(c.contains(&format!("Max-Age={}", 86_400 - 301)), "{c}");
    jar.absorb(&Reply::new(200, "text/plain", String::new()).with_cookie(c));
    p.advance(10);
    assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
    assert_eq!(p.counts().kv_get, reads + 1);
    // The session still ends at its original expiry.
    p.advance(86_400);
    assert_eq!(reply(protected(&app, &p, &jar)).status, 302);
}

#[test]
fn without_the_webhook_or_with_ends_sessions_off_sessions_never_touch_kv() {
    // (Logout records off too: with them, a session is checked once per SESSION_RECHECK.)
    for extra in [vec![("CONSENT_WEBHOOK_SECRET", "")], vec![("CONSENT_REVOKED_ENDS_SESSIONS", "false")]] {
        let mut extra = extra;
        extra.push(("SESSION_END_ON_LOGOUT", "false"));
        let app = hook_app(&extra);
        let p = FakePlatform::default();
        let jar = logged_in(&app, &p);
        p.advance(5000);
        let reads = p.counts().kv_get;
        assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
        assert_eq!(p.counts().kv_get, reads);
    }
    // Disabled: the webhook path is just an unknown auth route.
    let app = hook_app(&[("CONSENT_WEBHOOK_SECRET", "")]);
    let p = FakePlatform::default();
    let r = deliver(&app, &p, &unsigned(&revoked(p.now.get())));
    assert_eq!((r.status, code_of(&r).as_str()), (404, "route.not_found"));
    // Notify-only: acknowledged, nothing stored, the session goes on.
    let app = hook_app(&[("CONSENT_REVOKED_ENDS_SESSIONS", "false")]);
    let jar = logged_in(&app, &p);
    let r = deliver(&app, &p, &unsigned(&revoked(p.now.get())));
    assert_eq!(r.status, 200);
    assert!(p.kv.borrow().get(&key()).is_none());
    assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: Some(_), .. })));
}

#[test]
fn deliveries_are_idempotent_and_an_old_event_never_shortens_a_newer_one() {
    let app = hook_app(&[]);
    let p = FakePlatform::default();
    let t = p.now.get();
    for _ in 0..3 {
        assert_eq!(deliver(&app, &p, &unsigned(&revoked(t))).status, 200);
    }
    assert_eq!(p.kv.borrow()[&key()], t.to_string());
    let mut older = revoked(t - 100);
    older["exp"] = json!(t + 200);
    assert_eq!(deliver(&app, &p, &unsigned(&older)).status, 200);
    assert_eq!(p.kv.borrow()[&key()], t.to_string());
    p.advance(50);
    assert_eq!(deliver(&app, &p, &unsigned(&revoked(t + 50))).status, 200);
    assert_eq!(p.kv.borrow()[&key()], (t + 50).to_string());
}

#[test]
fn hostile_deliveries_get_their_exact_code_and_change_nothing() {
    let app = hook_app(&[("CONSENT_WEBHOOK_FORWARD", FORWARD_URL)]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p);
    let now = p.now.get();
    let good = unsigned(&revoked(now));
    let with = |k: &str, v: Value| {
        let mut c = revoked(now);
        c[k] = v;
        unsigned(&c)
    };
    let hs256 = format!("{}.{}.{}", b64url(br#"{"alg":"HS256"}"#), b64url(revoked(now).to_string().as_bytes()), b64url(b"mac"));
    let none_upper = format!("{}.{}.", b64url(br#"{"alg":"NONE"}"#), b64url(revoked(now).to_string().as_bytes()));
    let wrong_secret = HOOK.replace("0f1e2d", "0f1e2e");
    let cases: Vec<(IncomingRequest, u16, &str)> = vec![
        (post(&wrong_secret, Some("text/plain"), &good), 404, "route.not_found"),
        (post(&HOOK[..HOOK.len() - 1], Some("text/plain"), &good), 404, "route.not_found"),
        (IncomingRequest::get(HOOK).unwrap(), 405, "route.method_not_allowed"),
        (post(HOOK, Some("application/json"), &good), 415, "webhook.media_type"),
        (post(HOOK, Some("text/plain"), ""), 400, "webhook.malformed"),
        (post(HOOK, Some("text/plain"), r#"{"sub":"x","event":"CONSENT_REVOKED"}"#), 400, "webhook.malformed"),
        (post(HOOK, Some("text/plain"), &hs256), 400, "webhook.algorithm"),
        (post(HOOK, Some("text/plain"), &none_upper), 400, "webhook.algorithm"),
        (post(HOOK, Some("text/plain"), &format!("{good}c2ln")), 400, "webhook.malformed"),
        (post(HOOK, Some("text/plain"), &with("exp", json!(now - 3600))), 400, "webhook.expired"),
        (post(HOOK, Some("text/plain"), &with("nbf", json!(now + 3600))), 400, "webhook.not_yet_valid"),
        (post(HOOK, Some("text/plain"), &with("sub", json!(7))), 400, "webhook.malformed"),
        (post(HOOK, Some("text/plain"), &with("event", json!(null))), 400, "webhook.malformed"),
        (post(HOOK, Some("text/plain"), &"A".repeat(crate::consent::event::MAX_BODY + 1)), 413, "webhook.too_large"),
    ];
    for (request, status, code) in cases {
        let r = reply(block_on(app.handle(&p, &request)));
        assert_eq!((r.status, code_of(&r).as_str()), (status, code), "{} {}", request.method, r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(!has_session_cookie(&r) && r.set_cookies().next().is_none());
        assert!(p.kv.borrow().get(&key()).is_none(), "{code}: a revocation was stored");
        assert_eq!(p.count(FORWARD_URL), 0, "{code}: forwarded");
        if status != 404 && status != 405 {
            assert!(p.logged(code), "{code} not logged");
        }
    }
    // Another event type: acknowledged, not acted on.
    let r = deliver(&app, &p, &with("event", json!("CONSENT_GIVEN")));
    assert_eq!(r.status, 200);
    assert_eq!(serde_json::from_str::<Value>(&r.body).unwrap()["ignored"], true);
    assert!(p.logged("webhook.ignored_event"));
    assert!(p.kv.borrow().get(&key()).is_none());
    assert_eq!(p.count(FORWARD_URL), 0);
    // The session survived all of it.
    p.advance(301);
    assert!(matches!(protected(&app, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: Some(_), .. })));
    assert_no_secrets_logged(&p);
}

#[test]
fn forward_target_gets_a_signed_notification_and_failures_ask_for_redelivery() {
    let app = hook_app(&[("CONSENT_WEBHOOK_FORWARD", FORWARD_URL)]);
    let p = FakePlatform::default();
    let now = p.now.get();
    p.idp.forward_status.set(500);
    let r = deliver(&app, &p, &unsigned(&revoked(now)));
    assert_eq!((r.status, code_of(&r).as_str()), (502, "webhook.forward_failed"));
    assert!(p.logged("webhook.forward_failed"));
    // Recorded anyway (idempotent), so sessions end even if the operator's system is down.
    assert_eq!(p.kv.borrow()[&key()], now.to_string());
    p.idp.forward_status.set(204);
    let r = deliver(&app, &p, &unsigned(&revoked(now)));
    assert_eq!(r.status, 200, "{}", r.body);
    let sent: Vec<_> = p.requests.borrow().iter().filter(|r| r.url == FORWARD_URL).cloned().collect();
    assert_eq!(sent.len(), 2);
    let h = |i: usize, n: &str| crate::http::header(&sent[i].headers, n).unwrap().to_string();
    assert_eq!(h(0, "idempotency-key"), h(1, "idempotency-key"));
    let body: Value = serde_json::from_str(sent[1].body.as_deref().unwrap()).unwrap();
    assert_eq!((body["sub"].as_str(), body["revoked_at"].as_u64()), (Some(SUB), Some(now)));
    let mac = crate::util::hmac_sha256(SECRET.as_bytes(), &[h(1, "vipps-edge-timestamp").as_bytes(), b".", sent[1].body.as_deref().unwrap().as_bytes()]);
    assert_eq!(h(1, "vipps-edge-signature"), format!("v1={}", crate::util::hex(&mac)));
    assert_no_secrets_logged(&p);
}

#[test]
fn kv_down_asks_for_redelivery_and_never_locks_users_out() {
    let app = hook_app(&[]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p);
    p.kv_broken.set(true);
    let r = deliver(&app, &p, &unsigned(&revoked(p.now.get() - 5)));
    assert_eq!((r.status, code_of(&r).as_str()), (503, "webhook.store_failed"));
    // A session due for its check is served while KV is down (checked again next time).
    let other = hook_app(&[]);
    p.advance(301);
    assert!(matches!(protected(&other, &p, &jar), Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
    assert!(p.logged("kv.read_failed"));
}

#[test]
fn a_signed_rs256_delivery_is_verified_against_the_provider_keys() {
    let app = hook_app(&[]);
    let p = FakePlatform::default();
    let now = p.now.get();
    let forged = sign(&keys()[1], Some("public:key-0"), &revoked(now));
    let r = deliver(&app, &p, &forged);
    assert_eq!((r.status, code_of(&r).as_str()), (401, "webhook.signature"));
    assert!(p.kv.borrow().get(&key()).is_none());
    let genuine = sign(&keys()[0], Some("public:key-0"), &revoked(now));
    let r = deliver(&app, &p, &genuine);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(p.kv.borrow()[&key()], now.to_string());
    assert_eq!(p.count(JWKS_URL), 1);
}
