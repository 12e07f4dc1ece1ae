//! Automatic return and native-app logins through [`crate::app::App::handle`] on the fake
//! platform: every outcome asserted exactly (status, cookies, KV operations, token requests).

use crate::app::App;
use crate::app_tests::{app_with, has_session_cookie, req, start, Jar};
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::oidc::authorize::s256_challenge;
use crate::secret::Secret;
use crate::testkit::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const AUTO: &[(&str, &str)] = &[("LOGIN_FLOWS", "automatic_return")];
const APPS: &[(&str, &str)] = &[
    ("LOGIN_FLOWS", "app_to_app_v2, app_to_app, final_redirect_is_app"),
    ("APP_URIS", "myapp://login/done, https://app.example/vipps"),
    ("API_PATHS", "/api/*"),
];
const VERIFIER: &str = "app-verifier-app-verifier-app-verifier-app-verifier";

fn start_auto(app: &App, p: &FakePlatform, jar: &mut Jar, return_to: &str) -> HashMap<String, String> {
    let url = format!("https://shop.example/auth/login?flow=automatic_return&return_to={}", crate::util::form_urlencode_component(return_to));
    let r = reply(block_on(app.handle(p, &req(&url, jar))));
    assert_eq!(r.status, 302, "{}", r.body);
    jar.absorb(&r);
    let loc = url::Url::parse(r.header("location").unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    *p.idp.nonce.borrow_mut() = q["nonce"].clone();
    q
}

fn callback(app: &App, p: &FakePlatform, jar: &mut Jar, query: &str) -> Reply {
    let r = reply(block_on(app.handle(p, &req(&format!("https://shop.example/auth/callback?{query}"), jar))));
    jar.absorb(&r);
    r
}

fn post(url: &str, headers: &[(&str, &str)], body: Option<&str>) -> IncomingRequest {
    let mut r = IncomingRequest::get(url).unwrap();
    r.method = "POST".into();
    for (k, v) in headers {
        r = r.with_header(k, v);
    }
    r.body = body.map(|b| b.as_bytes().to_vec());
    r
}

fn confirm_action(page: &str) -> String {
    let start = page.find("action=\"").unwrap() + 8;
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].replace("&amp;", "&")
}

#[test]
fn default_login_touches_no_kv_even_with_automatic_return_allowed() {
    let app = app_with(AUTO);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert!(!q.contains_key("requested_flow"));
    let r = callback(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 303);
    // Only discovery and JWKS were cached: no login record, no delete.
    assert_eq!((p.kv.borrow().len(), p.counts().kv_delete), (2, 0));
    // A stray state without a marker never reaches KV either.
    let before = p.counts();
    let r = callback(&app, &p, &mut Jar::default(), "code=c&state=abcdefghijklmnopqrstuv");
    assert_eq!(r.status, 400);
    let d = p.counts().minus(&before);
    assert_eq!((d.kv_get, d.kv_put, d.kv_delete), (0, 0, 0));
}

#[test]
fn automatic_return_in_the_same_browser_finishes_as_always_and_deletes_the_stored_copy() {
    let app = app_with(AUTO);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start_auto(&app, &p, &mut jar, "/private/x");
    assert_eq!(q["requested_flow"], "automatic_return_from_vipps_app");
    assert!(q["state"].starts_with("ar."));
    assert_eq!(p.kv.borrow().keys().filter(|k| k.starts_with("login-tx:v1:")).count(), 1, "the login record");
    let r = callback(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 303);
    assert!(has_session_cookie(&r));
    assert_eq!(p.counts().kv_delete, 1);
    assert!(p.kv.borrow().keys().all(|k| !k.starts_with("login-tx:")));
}

#[test]
fn automatic_return_in_another_browser_asks_before_logging_in() {
    let app = app_with(AUTO);
    let p = FakePlatform::default();
    let q = start_auto(&app, &p, &mut Jar::default(), "/private/x");
    // Another browser, without the login cookie.
    let mut other = Jar::default();
    let r = callback(&app, &p, &mut other, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!has_session_cookie(&r), "never logged in blindly");
    assert!(r.body.contains("Continue as Ada Lovelace?"), "{}", r.body);
    assert_eq!(p.count(TOKEN_URL), 1);
    let action = confirm_action(&r.body);
    assert!(action.starts_with("/auth/login/confirm?k="));
    // The same callback again: the stored login is gone, nothing is exchanged twice.
    let again = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert_eq!(again.status, 400);
    assert!(again.body.contains("state.unknown") && !has_session_cookie(&again));
    assert_eq!(p.count(TOKEN_URL), 1);
    // A POST from another site, or without the confirmation cookie, is refused.
    let url = format!("https://shop.example{action}");
    let evil = reply(block_on(app.handle(&p, &post(&url, &[("cookie", &other.header()), ("origin", "https://evil.example")], None))));
    assert_eq!(evil.status, 400);
    assert!(!has_session_cookie(&evil));
    let no_cookie = reply(block_on(app.handle(&p, &post(&url, &[("origin", "https://shop.example")], None))));
    assert_eq!(no_cookie.status, 400);
    assert!(no_cookie.body.contains("login.confirm_invalid"));
    // A wrong token or another return path is refused.
    let tampered = url.replacen("k=", "k=x", 1);
    let r = reply(block_on(app.handle(&p, &post(&tampered, &[("cookie", &other.header()), ("origin", "https://shop.example")], None))));
    assert_eq!(r.status, 400);
    let moved = url.replace("return_to=%2Fprivate%2Fx", "return_to=%2Fadmin");
    let r = reply(block_on(app.handle(&p, &post(&moved, &[("cookie", &other.header()), ("origin", "https://shop.example")], None))));
    assert_eq!(r.status, 400);
    // The user confirms: the session is set, the confirmation cookie cleared.
    let r = reply(block_on(app.handle(&p, &post(&url, &[("cookie", &other.header()), ("origin", "https://shop.example")], None))));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/private/x"));
    assert!(has_session_cookie(&r));
    assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-confirm=;") && c.contains("Max-Age=0")));
    assert_eq!(p.counts().kv_put, 3, "discovery, JWKS, one login record");
    assert_eq!(p.counts().kv_delete, 1);
}

#[test]
fn automatic_return_expired_unconfirmed_and_not_allowed() {
    let app = app_with(AUTO);
    let p = FakePlatform::default();
    let q = start_auto(&app, &p, &mut Jar::default(), "/");
    p.advance(600);
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("state.expired"));
    assert_eq!(p.count(TOKEN_URL), 0);
    // A confirmation left for more than five minutes is refused.
    let q = start_auto(&app, &p, &mut Jar::default(), "/");
    let mut other = Jar::default();
    let r = callback(&app, &p, &mut other, &format!("code=c&state={}", q["state"]));
    let url = format!("https://shop.example{}", confirm_action(&r.body));
    p.advance(300);
    let r = reply(block_on(app.handle(&p, &post(&url, &[("cookie", &other.header()), ("origin", "https://shop.example")], None))));
    assert_eq!(r.status, 400);
    assert!(!has_session_cookie(&r));
    // Not allowed: refused, and the confirm route does not exist.
    let plain = app_with(&[]);
    let r = reply(block_on(plain.handle(&p, &req("https://shop.example/auth/login?flow=automatic_return", &Jar::default()))));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("login.flow_not_allowed"));
    let r = reply(block_on(plain.handle(&p, &post("https://shop.example/auth/login/confirm", &[], None))));
    assert_eq!(r.status, 404);
}

fn app_start(app: &App, p: &FakePlatform, body: Value) -> Reply {
    reply(block_on(app.handle(p, &post("https://shop.example/auth/app/start", &[("content-type", "application/json")], Some(&body.to_string())))))
}

fn app_token(app: &App, p: &FakePlatform, body: Value) -> Reply {
    reply(block_on(app.handle(p, &post("https://shop.example/auth/app/token", &[("content-type", "application/json")], Some(&body.to_string())))))
}

fn challenge() -> String {
    s256_challenge(&Secret::new(VERIFIER))
}

/// Starts an app login; returns the authorize URL's query.
fn app_login(app: &App, p: &FakePlatform, extra: Value) -> HashMap<String, String> {
    let mut body = json!({"app_uri": "myapp://login/done", "code_challenge": challenge(), "code_challenge_method": "S256"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app_start(app, p, body);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let loc = url::Url::parse(v["authorize_url"].as_str().unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(v["state"], q["state"]);
    *p.idp.nonce.borrow_mut() = q["nonce"].clone();
    q
}

fn handoff_from(r: &Reply) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with("myapp://login/done?handoff="), "{loc}");
    query_param(loc, "handoff")
}

fn bearer_get(app: &App, p: &FakePlatform, url: &str, token: &str) -> Outcome {
    block_on(app.handle(p, &IncomingRequest::get(url).unwrap().with_header("authorization", &format!("Bearer {token}"))))
}

#[test]
fn app_to_app_v2_hands_a_bearer_session_to_the_app_that_started_it() {
    let app = app_with(APPS);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    assert_eq!(q["requested_flow"], "app_to_app_v2");
    assert_eq!(q["redirect_uri"], "https://shop.example/auth/callback");
    assert_ne!(q["code_challenge"], challenge(), "the Worker's own PKCE towards Vipps");
    assert!(!q.contains_key("app_callback_uri") && !q.contains_key("final_redirect_is_app"));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert!(r.set_cookies().next().is_none(), "no cookies for an app");
    let handoff = handoff_from(&r);
    assert_eq!(query_param(r.header("location").unwrap(), "state"), q["state"]);
    // Another app (or whoever intercepted the redirect) has the hand-off but not the verifier.
    let wrong = app_token(&app, &p, json!({"handoff": handoff, "code_verifier": "x".repeat(43)}));
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("app.verifier_mismatch"));
    // The app redeems it once.
    let ok = app_token(&app, &p, json!({"handoff": handoff, "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let v: Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["session"]["sub"], SUB);
    let token = v["access_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("vel_"));
    let replay = app_token(&app, &p, json!({"handoff": handoff, "code_verifier": VERIFIER}));
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("app.handoff_unknown"));
    assert_eq!(p.count(TOKEN_URL), 1);
    // The bearer session works on protected routes and the session route.
    let s = reply(bearer_get(&app, &p, "https://shop.example/auth/session", &token));
    assert_eq!(s.status, 200);
    match bearer_get(&app, &p, "https://shop.example/api/orders", &token) {
        Outcome::Forward(f) => assert_eq!(f.user.as_deref(), Some(SUB)),
        other => panic!("{other:?}"),
    }
    // Tampered: refused.
    let other = if token.ends_with('A') { 'E' } else { 'A' };
    let tampered = format!("{}{other}", &token[..token.len() - 1]);
    let r = reply(bearer_get(&app, &p, "https://shop.example/api/orders", &tampered));
    assert_eq!(r.status, 401);
    // A session cookie's value is not a bearer token.
    // Logout ends it here and, through KV, everywhere.
    let out = reply(block_on(app.handle(&p, &post("https://shop.example/auth/app/logout", &[("authorization", &format!("Bearer {token}"))], None))));
    assert_eq!(out.status, 200, "{}", out.body);
    let r = reply(bearer_get(&app, &p, "https://shop.example/api/orders", &token));
    assert_eq!(r.status, 401);
    let fresh = app_with(APPS);
    p.advance(241);
    let r = reply(bearer_get(&fresh, &p, "https://shop.example/api/orders", &token));
    assert_eq!(r.status, 401, "another isolate learns it from KV");
}

/// An app's logout ends its bearer session even when browser logouts only clear the cookie
/// (`SESSION_END_ON_LOGOUT=false`): the token is refused here at once and elsewhere at the next
/// check, as the README promises.
#[test]
fn an_app_logout_ends_the_bearer_session_whatever_session_end_on_logout_says() {
    let mut vars = APPS.to_vec();
    vars.push(("SESSION_END_ON_LOGOUT", "false"));
    let app = app_with(&vars);
    let other_isolate = app_with(&vars);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    let ok = app_token(&app, &p, json!({"handoff": handoff_from(&r), "code_verifier": VERIFIER}));
    let token = serde_json::from_str::<Value>(&ok.body).unwrap()["access_token"].as_str().unwrap().to_string();
    for a in [&app, &other_isolate] {
        assert!(matches!(bearer_get(a, &p, "https://shop.example/api/orders", &token), Outcome::Forward(_)));
    }
    let out = reply(block_on(app.handle(&p, &post("https://shop.example/auth/app/logout", &[("authorization", &format!("Bearer {token}"))], None))));
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(reply(bearer_get(&app, &p, "https://shop.example/api/orders", &token)).status, 401, "ended here at once");
    p.advance(241);
    assert_eq!(reply(bearer_get(&other_isolate, &p, "https://shop.example/api/orders", &token)).status, 401, "and elsewhere at the next check");
}

#[test]
fn bearer_sessions_expire_and_end_with_consent_revocation() {
    let secret = "0123456789abcdef0123456789abcdef";
    let mut vars = APPS.to_vec();
    vars.push(("CONSENT_WEBHOOK_SECRET", secret));
    vars.push(("APP_SESSION_TTL", "3600"));
    let app = app_with(&vars);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    let ok = app_token(&app, &p, json!({"handoff": handoff_from(&r), "code_verifier": VERIFIER}));
    let v: Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(v["expires_in"], 3600);
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(reply(bearer_get(&app, &p, "https://shop.example/auth/session", &token)).status, 200);
    // Expired.
    p.advance(3600);
    assert_eq!(reply(bearer_get(&app, &p, "https://shop.example/auth/session", &token)).status, 401);
    // Consent revoked: the webhook records it; the bearer session ends.
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    let ok = app_token(&app, &p, json!({"handoff": handoff_from(&r), "code_verifier": VERIFIER}));
    let token: String = serde_json::from_str::<Value>(&ok.body).unwrap()["access_token"].as_str().unwrap().into();
    p.advance(5);
    let now = p.now.get();
    let claims = json!({"exp": now + 300, "iat": now, "nbf": now, "sub": SUB, "event": "CONSENT_REVOKED"});
    let jwt = format!("{}.{}.", crate::util::b64url(br#"{"alg":"none","typ":"JWT"}"#), crate::util::b64url(claims.to_string().as_bytes()));
    let hook = format!("https://shop.example/auth/webhooks/consent-revoked/{secret}");
    let r = reply(block_on(app.handle(&p, &post(&hook, &[("content-type", "text/plain")], Some(&jwt)))));
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(reply(bearer_get(&app, &p, "https://shop.example/auth/session", &token)).status, 401);
}

#[test]
fn hand_off_expires_after_a_minute() {
    let app = app_with(APPS);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    let handoff = handoff_from(&r);
    p.advance(59);
    p.kv_expires.borrow_mut().values_mut().for_each(|t| *t += 3600); // KV may keep it longer
    p.advance(1);
    let late = app_token(&app, &p, json!({"handoff": handoff, "code_verifier": VERIFIER}));
    assert_eq!(late.status, 400);
    assert!(late.body.contains("app.handoff_expired"), "{}", late.body);
}

#[test]
fn app_start_refuses_what_is_not_configured() {
    let app = app_with(APPS);
    let p = FakePlatform::default();
    let base = json!({"app_uri": "myapp://login/done", "code_challenge": challenge(), "code_challenge_method": "S256"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, code) in [
        (with("app_uri", json!("myapp://login/done/")), "app.uri_refused"),
        (with("app_uri", json!("evil://steal/it")), "app.uri_refused"),
        (with("code_challenge_method", json!("plain")), "app.bad_request"),
        (with("code_challenge", json!("short")), "app.bad_request"),
        (with("flow", json!("login_to_webpage")), "login.flow_not_allowed"),
        (with("flow", json!("app_to_app")), "app.bad_request"),
        (with("app_callback_uri", json!("myapp://login/done")), "app.bad_request"),
        (json!({"flow": "app_to_app", "app_uri": "myapp://login/done", "code_challenge": challenge(), "code_challenge_method": "S256", "app_callback_uri": "other://x/y"}), "app.uri_refused"),
        (json!([1]), "app.bad_request"),
    ] {
        let r = app_start(&app, &p, body.clone());
        assert_eq!(r.status, 400, "{body}");
        assert!(r.body.contains(code), "{body}: {}", r.body);
    }
    assert_eq!(p.counts().kv_put, 0, "nothing stored for a refused start");
    // Without app flows, the routes do not exist.
    let plain = app_with(&[]);
    assert_eq!(app_start(&plain, &p, base).status, 404);
}

#[test]
fn legacy_app_to_app_and_final_redirect_is_app() {
    let app = app_with(APPS);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({"flow": "app_to_app", "app_callback_uri": "https://app.example/vipps", "final_redirect_is_app": true}));
    assert_eq!(q["requested_flow"], "app_to_app");
    assert_eq!(q["app_callback_uri"], "https://app.example/vipps");
    assert_eq!(q["final_redirect_is_app"], "true");
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    let ok = app_token(&app, &p, json!({"handoff": handoff_from(&r), "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200);
    // A login Vipps refused goes back to the app with the error.
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("error=outdated_app_version&state={}", q["state"]));
    assert_eq!(r.status, 303);
    let loc = r.header("location").unwrap();
    assert!(loc.starts_with("myapp://login/done?error=callback.provider_error&state="), "{loc}");
    assert!(loc.ends_with("&vipps_error=outdated_app_version"), "{loc}");
    assert_eq!(p.count(TOKEN_URL), 1);
}

#[test]
fn a_universal_link_app_forwards_code_and_state_with_its_verifier() {
    let app = app_with(APPS);
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    let wrong = app_token(&app, &p, json!({"code": "c", "state": q["state"], "code_verifier": "y".repeat(43)}));
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("app.verifier_mismatch"));
    assert_eq!(p.count(TOKEN_URL), 0, "the code is not spent for a wrong verifier");
    let ok = app_token(&app, &p, json!({"code": "c", "state": q["state"], "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let again = app_token(&app, &p, json!({"code": "c", "state": q["state"], "code_verifier": VERIFIER}));
    assert!(again.body.contains("state.unknown"));
    assert_eq!(p.count(TOKEN_URL), 1);
}

#[test]
fn the_origin_never_sees_our_bearer_token() {
    let headers = vec![
        ("authorization".to_string(), "Bearer vel_v1.abc.def".to_string()),
        ("accept".to_string(), "application/json".to_string()),
    ];
    let out = crate::policy::forward::request_headers(headers, &[]);
    assert_eq!(out, vec![("accept".to_string(), "application/json".to_string())]);
    let theirs = vec![("authorization".to_string(), "Bearer their-own-api-token".to_string())];
    assert_eq!(crate::policy::forward::request_headers(theirs.clone(), &[]), theirs);
}

#[test]
fn routes_that_read_a_bearer_name_authorization_and_the_browser_routes_do_not() {
    use crate::router::Route;
    for r in [Route::Session, Route::Protected, Route::ProtectedApi, Route::App(crate::flows::app::Op::Logout)] {
        assert!(r.spec().headers.contains(&"authorization"), "{r:?}");
    }
    for r in [Route::Login, Route::Callback, Route::Public, Route::LoginConfirm, Route::Logout] {
        assert!(!r.spec().headers.contains(&"authorization"), "{r:?}");
    }
    let app = Route::App(crate::flows::app::Op::Token).spec();
    assert!(!app.headers.contains(&"cookie") && app.allows("POST") && !app.allows("GET"));
    assert!(Route::LoginConfirm.spec().allows("POST") && !Route::LoginConfirm.spec().allows("GET"));
}

#[test]
fn a_redirect_uri_on_an_app_route_is_refused() {
    for uri in ["https://shop.example/auth/app/token", "https://shop.example/auth/login/confirm"] {
        let e = crate::config::tests::parse(&[("VIPPS_REDIRECT_URI", uri)]).unwrap_err();
        assert!(e.0.iter().any(|p| p.var == "VIPPS_REDIRECT_URI"), "{uri}");
    }
}

#[test]
fn kv_costs_are_what_the_readme_says() {
    let kv = |c: &Counts| (c.kv_get, c.kv_put, c.kv_delete);
    // Warm the discovery and JWKS caches first, so only the flows' own operations are counted.
    let app = app_with(&[("LOGIN_FLOWS", "automatic_return, app_to_app_v2"), ("APP_URIS", "myapp://login/done")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(callback(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);

    // Automatic return, back in the same browser: one write, one delete.
    let c0 = p.counts();
    let mut jar = Jar::default();
    let q = start_auto(&app, &p, &mut jar, "/");
    assert_eq!(callback(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);
    assert_eq!(kv(&p.counts().minus(&c0)), (0, 1, 1));
    // ...back in another browser: one write, one read, one delete.
    let c0 = p.counts();
    let q = start_auto(&app, &p, &mut Jar::default(), "/");
    assert_eq!(callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"])).status, 200);
    assert_eq!(kv(&p.counts().minus(&c0)), (1, 1, 1));
    // An app login: start (write), callback (read, delete, write), redeem (read, delete).
    let c0 = p.counts();
    let q = app_login(&app, &p, json!({}));
    assert_eq!(kv(&p.counts().minus(&c0)), (0, 1, 0));
    let c1 = p.counts();
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert_eq!(kv(&p.counts().minus(&c1)), (1, 1, 1));
    let c2 = p.counts();
    assert_eq!(app_token(&app, &p, json!({"handoff": handoff_from(&r), "code_verifier": VERIFIER})).status, 200);
    assert_eq!(kv(&p.counts().minus(&c2)), (1, 0, 1));
}

/// The login hook runs on every login (README, "Login hook"; issue 13: "every flow"): a native
/// app's login and an automatic return are logins too. With a backend that does not allow
/// (here it answers 404: a failure, and LOGIN_HOOK_ON_ERROR is deny), neither hands out a
/// session, and the backend was asked.
#[test]
fn the_login_hook_decides_app_and_automatic_return_logins_too() {
    const HOOK: &str = "https://crm.example/vipps/login";
    let hook = [("LOGIN_HOOK_URL", HOOK), ("LOGIN_HOOK_KEYS", "k1:0123456789abcdef0123456789abcdef")];
    let asked = |p: &FakePlatform| p.requests.borrow().iter().filter(|r| r.url == HOOK).count();

    let app = app_with(&[APPS, &hook].concat());
    let p = FakePlatform::default();
    let q = app_login(&app, &p, json!({}));
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert!(!r.header("location").is_some_and(|l| l.contains("handoff=")), "a hand-off without the hook: {:?} {}", r.header("location"), r.body);
    assert_eq!(asked(&p), 1, "the backend was not asked");

    let app = app_with(&[AUTO, &hook].concat());
    let p = FakePlatform::default();
    let q = start_auto(&app, &p, &mut Jar::default(), "/private/x");
    let r = callback(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"]));
    assert!(!has_session_cookie(&r) && !r.body.contains("Continue as"), "{}", r.body);
    assert_eq!(asked(&p), 1, "the backend was not asked");
}

/// Starts of logins kept in KV need no credential and each costs a KV write: an isolate admits
/// `STORED_LOGINS_PER_MINUTE` of them a minute, then answers 429 `login.busy` without storing
/// or calling anything, until the minute is over.
#[test]
fn stored_login_starts_are_bounded_per_isolate() {
    let app = app_with(&[APPS, &[("LOGIN_FLOWS", "automatic_return, app_to_app_v2"), ("STORED_LOGINS_PER_MINUTE", "3")]].concat());
    let p = FakePlatform::default();
    let body = json!({"app_uri": "myapp://login/done", "code_challenge": challenge(), "code_challenge_method": "S256"});
    assert_eq!(app_start(&app, &p, body.clone()).status, 200);
    assert_eq!(app_start(&app, &p, body.clone()).status, 200);
    start_auto(&app, &p, &mut Jar::default(), "/");
    let (puts, fetches) = (p.counts().kv_put, p.requests.borrow().len());
    let r = app_start(&app, &p, body.clone());
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("login.busy"));
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/auth/login?flow=automatic_return&return_to=%2F", &Jar::default()))));
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("login.busy") && !has_session_cookie(&r));
    assert_eq!((p.counts().kv_put, p.requests.borrow().len()), (puts, fetches), "nothing stored, nothing fetched");
    assert!(p.logged("login.busy"));
    // The default browser login is not counted, and the next minute admits again.
    assert!(!start(&app, &p, &mut Jar::default(), "/")["state"].is_empty());
    p.advance(60);
    assert_eq!(app_start(&app, &p, body).status, 200);
    // 0: no bound.
    let app = app_with(&[APPS, &[("STORED_LOGINS_PER_MINUTE", "0")]].concat());
    for _ in 0..100 {
        assert_eq!(app_start(&app, &p, json!({"app_uri": "myapp://login/done", "code_challenge": challenge(), "code_challenge_method": "S256"})).status, 200);
    }
}
