//! Logins from apps and automatic return, in workerd against the simulator: the wasm Worker's
//! KV login transactions, the "Continue as" confirmation of a callback without the login
//! cookie, native-app hand-offs and bearer sessions, and their failure paths (exact status and
//! code, no session cookie, no extra token request at the simulator, nothing of ours at the
//! origin). Run alone with `cargo test --test apps -- --test-threads=2`.

mod common;
use common::origin::NaiveOrigin;
use common::table::{worker_code, Table};
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const APP_URI: &str = "myapp://login/done";
/// An https app link, registered at the simulator too (the legacy flow's app_callback_uri).
const APP_LINK: &str = "https://app.example/vipps-return";
const VERIFIER: &str = "app-verifier-0123456789-app-verifier-0123456789";
const HOOK_SECRET: &str = "apps-consent-hook-0123456789abcdef0123456789";

fn challenge() -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// At the simulator: the login page for `authorize`, confirmed as its first user. Returns
/// where the simulator sends the browser.
fn approve(b: &mut Browser, w: &Worker, authorize: &str) -> String {
    let page = b.get(authorize);
    assert_eq!(page.status, 200, "simulator: {}", page.body);
    let p = authorize_page(&page.body);
    let r = b.post_form(&format!("{}/access-management-1.0/access/oauth2/auth/confirm", w.sim.base), &[("req", &p.req), ("user", &p.users[0])]);
    assert!(matches!(r.status, 302 | 303), "confirm: {}", r.body);
    r.location.unwrap()
}

/// At the simulator: the login ends with `error` (the user cancelled, or the app refused).
fn refuse(b: &mut Browser, w: &Worker, authorize: &str, error: &str) -> String {
    let page = b.get(authorize);
    let p = authorize_page(&page.body);
    let r = b.post_form(&format!("{}/access-management-1.0/access/oauth2/auth/cancel", w.sim.base), &[("req", &p.req), ("error", error)]);
    assert_eq!(r.status, 302, "cancel: {}", r.body);
    r.location.unwrap()
}

/// A conformance row for a refusal: the status, the stable code, no session cookie, and no
/// token request beyond `tokens_before` at the simulator.
fn refused(t: &mut Table, w: &Worker, scenario: &str, r: &Resp, status: u16, code: &str, tokens_before: u64) {
    let tokens = w.sim.count("token");
    let ok = r.status == status && worker_code(&r.body).as_deref() == Some(code) && !r.sets_session() && tokens == tokens_before;
    t.row(
        scenario,
        &format!("{status} {code}, no session cookie, no token request"),
        &format!("{} {}, session cookie: {}, token requests: +{}", r.status, worker_code(&r.body).unwrap_or_default(), r.sets_session(), tokens - tokens_before),
        ok,
    );
}

fn confirm_action(page: &str) -> String {
    let start = page.find("action=\"").unwrap() + 8;
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].replace("&amp;", "&")
}

#[test]
fn automatic_return_in_workerd() {
    let w = Worker::start("apps-auto-return", &[("LOGIN_FLOWS", "automatic_return"), ("LOGIN_TIMEOUT", "20")], &[]);
    let origin = w.base.clone();
    let mut t = Table::new("11-apps-automatic-return");

    // Started in one browser, back in another one without cookies (iOS: Chrome, then Safari).
    let mut chrome = Browser::new();
    let r = chrome.get(&w.url("/auth/login?flow=automatic_return&return_to=%2Fprivate%2F"));
    assert_eq!(r.status, 302, "{}", r.body);
    let authorize = r.location.unwrap();
    let q = query_of(&authorize);
    assert_eq!(q["requested_flow"], "automatic_return_from_vipps_app");
    assert!(q["state"].starts_with("ar."));
    let callback = approve(&mut chrome, &w, &authorize);
    assert!(callback.starts_with(&w.url("/auth/callback?")));
    let tokens = w.sim.count("token");
    let mut safari = Browser::new();
    let page = safari.get(&callback);
    assert_eq!(page.status, 200, "{}", page.body);
    t.row(
        "callback in another browser without the login cookie",
        "200 \"Continue as\" page, one token request, no session cookie",
        &format!("{}, token requests: +{}, session cookie: {}", page.status, w.sim.count("token") - tokens, page.sets_session()),
        page.status == 200 && w.sim.count("token") == tokens + 1 && !page.sets_session(),
    );
    assert!(!page.sets_session(), "a callback without the login cookie never logs in by itself");
    assert!(page.body.contains("Continue as") || page.body.contains("Fortsette som"), "{}", page.body);
    assert_eq!(w.sim.count("token"), tokens + 1);
    let action = w.url(&confirm_action(&page.body));

    // The same callback in a third browser: the stored login is used; no second exchange.
    let mut third = Browser::new();
    let again = third.get(&callback);
    refused(&mut t, &w, "the same callback replayed in a third browser", &again, 400, "state.unknown", tokens + 1);
    // Not confirmed: no session in the second browser.
    assert_eq!(safari.get_json(&w.url("/auth/session")).status, 401);
    // A confirmation posted from another site, or without the confirmation cookie, is refused.
    let evil = safari.post_empty(&action, &[("origin", "https://evil.example")]);
    refused(&mut t, &w, "confirmation posted from another site (with the confirmation cookie)", &evil, 400, "login.confirm_invalid", tokens + 1);
    let page = Browser::new().get(&callback); // (already used)
    assert!(!page.sets_session());
    let mut stranger = Browser::new();
    let r = stranger.post_empty(&action, &[("origin", &origin)]);
    refused(&mut t, &w, "confirmation posted by a browser without the confirmation cookie", &r, 400, "login.confirm_invalid", tokens + 1);
    let r = safari.post_empty(&action.replacen("k=", "k=x", 1), &[("origin", &origin)]);
    refused(&mut t, &w, "confirmation with a token that is not this login's", &r, 400, "login.confirm_invalid", tokens + 1);

    // Start again: this time the user confirms.
    let r = chrome.get(&w.url("/auth/login?flow=automatic_return&return_to=%2Fprivate%2F"));
    let callback = approve(&mut chrome, &w, &r.location.unwrap());
    let mut safari = Browser::new();
    let page = safari.get(&callback);
    assert_eq!(page.status, 200);
    let action = w.url(&confirm_action(&page.body));
    let r = safari.post_empty(&action, &[("origin", &origin)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/private/"));
    assert!(r.sets_session());
    assert_eq!(safari.get_json(&w.url("/auth/session")).status, 200);
    // The confirmation is used up with its cookie.
    let r = safari.post_empty(&action, &[("origin", &origin)]);
    assert_eq!(r.status, 400);

    // Back in the browser that started it: finished at once, as every login.
    let mut same = Browser::new();
    let r = same.get(&w.url("/auth/login?flow=automatic_return"));
    let callback = approve(&mut same, &w, &r.location.unwrap());
    let r = same.get(&callback);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.sets_session());
    // ...and its stored copy is gone: the link is worth nothing in another browser.
    let tokens = w.sim.count("token");
    let r = Browser::new().get(&callback);
    refused(&mut t, &w, "a callback finished in its own browser, replayed in another", &r, 400, "state.unknown", tokens);

    // Expired: the state is refused after LOGIN_TIMEOUT, without a token request.
    let mut slow = Browser::new();
    let r = slow.get(&w.url("/auth/login?flow=automatic_return"));
    let callback = approve(&mut slow, &w, &r.location.unwrap());
    std::thread::sleep(Duration::from_secs(21));
    let tokens = w.sim.count("token");
    let r = Browser::new().get(&callback);
    refused(&mut t, &w, "a callback after LOGIN_TIMEOUT, in another browser", &r, 400, "state.expired", tokens);

    // A flow that is not configured is refused.
    let r = Browser::new().get(&w.url("/auth/login?flow=app_to_app"));
    let tokens = w.sim.count("token");
    refused(&mut t, &w, "a login asking for a flow LOGIN_FLOWS does not allow", &r, 400, "login.flow_not_allowed", tokens);
    // The callback URL (code and state) is never logged.
    let log = w.log();
    assert!(!log.contains(&param(&callback, "code")), "a code was logged");
}

#[test]
fn hand_offs_and_bearer_sessions_expire_in_workerd() {
    let w = Worker::start(
        "apps-expiry",
        &[("LOGIN_FLOWS", "app_to_app_v2"), ("APP_URIS", APP_URI), ("APP_SESSION_TTL", "60"), ("API_PATHS", "/api/*")],
        &[],
    );
    let mut t = Table::new("11-apps-expiry");
    let mut app = Browser::new();
    // One hand-off redeemed at once (its bearer lives 60 s), one left for later.
    let (_, authorize) = v2(&mut app, &w);
    let r = Browser::new().get(&approve(&mut Browser::new(), &w, &authorize));
    let ok = redeem(&w, json!({"handoff": handoff(&r), "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let v: Value = serde_json::from_str(&ok.body).unwrap();
    assert!(v["expires_in"].as_u64().unwrap() <= 60);
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(bearer(&w, "/auth/session", &token).status, 200);
    let (_, authorize) = v2(&mut app, &w);
    let r = Browser::new().get(&approve(&mut Browser::new(), &w, &authorize));
    let late = handoff(&r);
    std::thread::sleep(Duration::from_secs(62));
    let tokens = w.sim.count("token");
    refused(&mut t, &w, "hand-off redeemed after its minute", &redeem(&w, json!({"handoff": late, "code_verifier": VERIFIER})), 400, "app.handoff_expired", tokens);
    refused(&mut t, &w, "bearer session after APP_SESSION_TTL (session route)", &bearer(&w, "/auth/session", &token), 401, "session.required", tokens);
    refused(&mut t, &w, "bearer session after APP_SESSION_TTL (API path)", &bearer(&w, "/api/orders", &token), 401, "session.required", tokens);
}

fn start_app(b: &mut Browser, w: &Worker, body: Value) -> Resp {
    b.post_json(&w.url("/auth/app/start"), &body)
}

fn redeem(w: &Worker, body: Value) -> Resp {
    Browser::new().post_json(&w.url("/auth/app/token"), &body)
}

fn v2(b: &mut Browser, w: &Worker) -> (HashMap<String, String>, String) {
    let r = start_app(b, w, json!({"app_uri": APP_URI, "code_challenge": challenge(), "code_challenge_method": "S256"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let authorize = v["authorize_url"].as_str().unwrap().to_string();
    (query_of(&authorize), authorize)
}

/// The hand-off code in the Worker's redirect to the app.
fn handoff(r: &Resp) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.location.clone().unwrap();
    assert!(loc.starts_with(&format!("{APP_URI}?handoff=")), "{loc}");
    assert!(r.set_cookies.is_empty(), "no cookies for an app: {:?}", r.set_cookies);
    param(&loc.replacen("myapp://login/done", "https://x.invalid/", 1), "handoff")
}

fn bearer(w: &Worker, path: &str, token: &str) -> Resp {
    Browser::new().get_with(&w.url(path), &[("authorization", &format!("Bearer {token}")), ("accept", "application/json")])
}

#[test]
fn app_logins_in_workerd() {
    let origin = NaiveOrigin::start();
    let w = Worker::start(
        "apps-native",
        &[
            ("LOGIN_FLOWS", "app_to_app_v2, app_to_app, final_redirect_is_app"),
            ("APP_URIS", &format!("{APP_URI}, {APP_LINK}, myapp://not/registered/at/vipps")),
            ("BACKEND", &origin.base()),
            ("PUBLIC_PATHS", "/"),
            ("API_PATHS", "/api/*"),
            ("CONSENT_WEBHOOK_SECRET", HOOK_SECRET),
            ("SESSION_RECHECK", "1"),
        ],
        &["--redirect-uri", APP_LINK],
    );
    let mut app = Browser::new();
    let mut t = Table::new("11-apps-native");

    // Refused before anything is stored or sent to Vipps.
    let authorizes = w.sim.count("authorize");
    for (body, code) in [
        (json!({"app_uri": "myapp://login/done/", "code_challenge": challenge(), "code_challenge_method": "S256"}), "app.uri_refused"),
        (json!({"app_uri": "evil://steal", "code_challenge": challenge(), "code_challenge_method": "S256"}), "app.uri_refused"),
        (json!({"app_uri": APP_URI, "code_challenge": challenge(), "code_challenge_method": "plain"}), "app.bad_request"),
        (json!({"app_uri": APP_URI, "code_challenge": challenge(), "code_challenge_method": "S256", "flow": "login_to_webpage"}), "login.flow_not_allowed"),
    ] {
        let r = start_app(&mut app, &w, body.clone());
        let scenario = format!("app start with {}", body.to_string().replace(&challenge(), "S256(verifier)"));
        refused(&mut t, &w, &scenario, &r, 400, code, 0);
    }

    // app_to_app_v2: the Worker exchanges, the app redeems with its verifier.
    let (q, authorize) = v2(&mut app, &w);
    assert_eq!(q["requested_flow"], "app_to_app_v2");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_ne!(q["code_challenge"], challenge(), "the Worker's own PKCE towards Vipps");
    assert_eq!(w.sim.count("authorize"), authorizes);
    let mut browser = Browser::new();
    let callback = approve(&mut browser, &w, &authorize);
    let r = browser.get(&callback);
    let code = handoff(&r);
    let tokens = w.sim.count("token");
    let wrong = redeem(&w, json!({"handoff": code, "code_verifier": "x".repeat(43)}));
    refused(&mut t, &w, "hand-off redeemed with another verifier", &wrong, 400, "app.verifier_mismatch", tokens);
    let ok = redeem(&w, json!({"handoff": code, "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let v: Value = serde_json::from_str(&ok.body).unwrap();
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(v["token_type"], "Bearer");
    let replayed = redeem(&w, json!({"handoff": code, "code_verifier": VERIFIER}));
    refused(&mut t, &w, "hand-off redeemed a second time", &replayed, 400, "app.handoff_unknown", tokens);
    assert_eq!(w.sim.count("token"), tokens, "redeeming asks Vipps nothing");
    // The callback replayed: the stored login is used.
    let r = Browser::new().get(&callback);
    refused(&mut t, &w, "app login's callback replayed", &r, 400, "state.unknown", tokens);

    // The bearer session on /auth/session and protected routes; the origin never sees it.
    let s = bearer(&w, "/auth/session", &token);
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(serde_json::from_str::<Value>(&s.body).unwrap()["sub"], v["session"]["sub"]);
    origin.clear();
    let r = bearer(&w, "/api/orders", &token);
    assert_ne!(r.status, 401, "{}", r.body);
    let got = origin.requests();
    assert_eq!(got.len(), 1);
    assert!(got[0].header("authorization").is_none(), "our bearer token reached the origin");
    assert!(got[0].header("vipps-login-sub").is_some());
    // Tampered: refused, and nothing reaches the origin.
    origin.clear();
    // Another last character of the MAC (one that keeps the base64 canonical: never the same).
    let other = if token.ends_with('A') { 'E' } else { 'A' };
    let tampered = format!("{}{other}", &token[..token.len() - 1]);
    let r = bearer(&w, "/api/orders", &tampered);
    let tokens = w.sim.count("token");
    refused(&mut t, &w, "tampered bearer token on an API path", &r, 401, "session.required", tokens);
    t.row("tampered bearer token on an API path: the origin", "nothing forwarded", &format!("{} requests", origin.count()), origin.count() == 0);
    // A session cookie's value is not a bearer token, nor the other way round.
    let mut web = Browser::new();
    login(&mut web, &w, "/");
    let cookie = web.jar.get("__Host-vipps-session").unwrap().clone();
    let tokens = w.sim.count("token");
    refused(&mut t, &w, "a session cookie's value as a bearer token", &bearer(&w, "/auth/session", &format!("vel_{cookie}")), 401, "session.required", tokens);
    let mut forged = Browser::new();
    forged.jar.insert("__Host-vipps-session".into(), token.trim_start_matches("vel_").to_string());
    refused(&mut t, &w, "a bearer token as the session cookie", &forged.get_json(&w.url("/auth/session")), 401, "session.required", tokens);

    // Logout ends it.
    let out = Browser::new().post_empty(&w.url("/auth/app/logout"), &[("authorization", &format!("Bearer {token}"))]);
    assert_eq!(out.status, 200, "{}", out.body);
    refused(&mut t, &w, "bearer used after the app's logout (session route)", &bearer(&w, "/auth/session", &token), 401, "session.required", tokens);
    refused(&mut t, &w, "bearer used after the app's logout (API path)", &bearer(&w, "/api/orders", &token), 401, "session.required", tokens);

    // Consent revocation ends another one.
    let (_, authorize) = v2(&mut app, &w);
    let r = Browser::new().get(&approve(&mut Browser::new(), &w, &authorize));
    let ok = redeem(&w, json!({"handoff": handoff(&r), "code_verifier": VERIFIER}));
    let v: Value = serde_json::from_str(&ok.body).unwrap();
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(bearer(&w, "/auth/session", &token).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    w.sim.set(json!({"consent_webhook_url": w.url(&format!("/auth/webhooks/consent-revoked/{HOOK_SECRET}"))}));
    let rv = Browser::new().post_json(&format!("{}/_sim/revoke-consent", w.sim.base), &json!({"sub": v["session"]["sub"]}));
    assert_eq!(rv.status, 200, "{}", rv.body);
    let tokens = w.sim.count("token");
    refused(&mut t, &w, "bearer used after a consent revocation", &bearer(&w, "/auth/session", &token), 401, "session.required", tokens);

    // A universal-link app forwards code and state: its verifier is checked before the code is spent.
    let (q, authorize) = v2(&mut app, &w);
    let callback = approve(&mut Browser::new(), &w, &authorize);
    let code = param(&callback, "code");
    let tokens = w.sim.count("token");
    let wrong = redeem(&w, json!({"code": code, "state": q["state"], "code_verifier": "y".repeat(43)}));
    refused(&mut t, &w, "universal-link code and state forwarded with another verifier", &wrong, 400, "app.verifier_mismatch", tokens);
    let ok = redeem(&w, json!({"code": code, "state": q["state"], "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(w.sim.count("token"), tokens + 1);

    // Vipps refuses in the app: the app hears it at its URI.
    for error in ["wrong_challenge", "outdated_app_version", "unknown_reject_reason"] {
        let (_, authorize) = v2(&mut app, &w);
        let back = refuse(&mut Browser::new(), &w, &authorize, error);
        let r = Browser::new().get(&back);
        assert_eq!(r.status, 303);
        assert!(r.location.as_deref().unwrap().starts_with(&format!("{APP_URI}?error=callback.provider_error&state=")), "{:?}", r.location);
    }

    // The legacy app_to_app: the Vipps app opens the app callback URI with state and
    // resume_uri; the browser resumes, and the Worker hands off to the app URI.
    let r = start_app(&mut app, &w, json!({"flow": "app_to_app", "app_uri": APP_URI, "app_callback_uri": APP_LINK,
        "final_redirect_is_app": true, "code_challenge": challenge(), "code_challenge_method": "S256"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let authorize = serde_json::from_str::<Value>(&r.body).unwrap()["authorize_url"].as_str().unwrap().to_string();
    let q = query_of(&authorize);
    assert_eq!((q["requested_flow"].as_str(), q["app_callback_uri"].as_str(), q["final_redirect_is_app"].as_str()), ("app_to_app", APP_LINK, "true"));
    let mut tab = Browser::new();
    let opened = approve(&mut tab, &w, &authorize);
    assert!(opened.starts_with(&format!("{APP_LINK}?state=")), "{opened}");
    assert_eq!(param(&opened, "state"), q["state"]);
    let resume = tab.get(&param(&opened, "resume_uri"));
    assert_eq!(resume.status, 302);
    let r = tab.get(&resume.location.unwrap());
    let ok = redeem(&w, json!({"handoff": handoff(&r), "code_verifier": VERIFIER}));
    assert_eq!(ok.status, 200, "{}", ok.body);
    // Its errors come in the docs' malformed form, to the app (not to the Worker).
    let r = start_app(&mut app, &w, json!({"flow": "app_to_app", "app_uri": APP_URI, "app_callback_uri": APP_LINK,
        "code_challenge": challenge(), "code_challenge_method": "S256"}));
    let authorize = serde_json::from_str::<Value>(&r.body).unwrap()["authorize_url"].as_str().unwrap().to_string();
    let state = query_of(&authorize)["state"].clone();
    let back = refuse(&mut Browser::new(), &w, &authorize, "outdated_app_version");
    assert_eq!(back, format!("{APP_LINK}?state={state}?error=outdated_app_version"));
    // An app callback URI the Worker allows but Vipps does not know: Vipps says so.
    let r = start_app(&mut app, &w, json!({"flow": "app_to_app", "app_uri": APP_URI, "app_callback_uri": "myapp://not/registered/at/vipps",
        "code_challenge": challenge(), "code_challenge_method": "S256"}));
    let authorize = serde_json::from_str::<Value>(&r.body).unwrap()["authorize_url"].as_str().unwrap().to_string();
    let back = Browser::new().get(&authorize);
    assert_eq!(back.status, 302);
    let back = back.location.unwrap();
    assert_eq!(param(&back, "error"), "app_callback_uri_not_registered");
    let r = Browser::new().get(&back);
    assert!(r.location.as_deref().unwrap().starts_with(&format!("{APP_URI}?error=callback.provider_error")));
}
