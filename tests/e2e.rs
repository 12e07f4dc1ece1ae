//! End-to-end: the real wasm Worker in workerd against the simulator (tests/common).
//! Run by `make test`; alone with `cargo test --test e2e` (it builds what it needs first).

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

// ---- the tests ------------------------------------------------------------------------

#[test]
fn full_login_in_workerd_against_the_simulator() {
    let w = Worker::start("full-login", &[], &[]);
    let mut b = Browser::new();
    // The demo's public page is served without a session.
    let home = b.get(&w.url("/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Log in with"));
    // The members page sends a browser to login, keeping where it wanted to go.
    let r = b.get(&w.url("/private/"));
    assert_eq!(r.status, 302);
    assert_eq!(r.location.as_deref(), Some("/auth/login?return_to=%2Fprivate%2F"));
    let (cb, sub) = login_until_callback(&mut b, &w, "/private/");
    let r = b.get(&cb);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/private/"));
    let session = r.set_cookies.iter().find(|c| c.starts_with("__Host-vipps-session=")).unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{attr} missing in {session}");
    }
    assert!(session.len() < 4096);
    let s = b.get_json(&w.url("/auth/session"));
    assert_eq!(s.status, 200);
    let v: Value = serde_json::from_str(&s.body).unwrap();
    assert_eq!(v["sub"], sub.as_str());
    assert!(v["name"].is_string());
    assert!(v.get("nin").is_none() && v.get("address").is_none());
    let members = b.get(&w.url("/private/"));
    assert_eq!(members.status, 200);
    assert!(members.body.contains("Members page"));
    let stats = w.sim.stats();
    assert_eq!(stats["token"], 1);
    assert_eq!(stats["userinfo"], 1);
    // Logout ends the local session.
    let r = b.post_empty(&w.url("/auth/logout"), &[("accept", "application/json"), ("origin", &w.base)]);
    assert_eq!(r.status, 200);
    assert_eq!(b.get_json(&w.url("/auth/session")).status, 401);
}

#[test]
fn state_missing_tampered_reused_and_cancelled() {
    let w = Worker::start("state", &[], &[]);
    // Missing state.
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    let before = w.sim.count("token");
    let r = b.get(&with_param(&cb, "state", None));
    assert_rejected(&w, &r, 400, "state.missing", before);
    // Tampered state.
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    let tampered = format!("{}A", param(&cb, "state"));
    let r = b.get(&with_param(&cb, "state", Some(&tampered)));
    assert_rejected(&w, &r, 400, "state.mismatch", before);
    // State from another browser (no transaction cookie here).
    let mut b1 = Browser::new();
    let (cb, _) = login_until_callback(&mut b1, &w, "/");
    let r = Browser::new().get(&cb);
    assert_rejected(&w, &r, 400, "state.no_transaction", before);
    // Reused: a completed callback replayed in the same browser.
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    assert_eq!(b.get(&cb).status, 303);
    let after_first = w.sim.count("token");
    let mut fresh_jar_without_session = Browser::new();
    fresh_jar_without_session.jar = b.jar.clone();
    fresh_jar_without_session.jar.remove("__Host-vipps-session");
    let r = fresh_jar_without_session.get(&cb);
    assert_rejected(&w, &r, 400, "state.no_transaction", after_first);
    // Cancelled in the simulator.
    let mut b = Browser::new();
    let r = b.get(&w.url("/auth/login"));
    let page = authorize_page(&b.get(r.location.as_ref().unwrap()).body);
    let r = b.post_form(&format!("{}/access-management-1.0/access/oauth2/auth/cancel", w.sim.base), &[("req", &page.req)]);
    let cb = r.location.unwrap();
    assert_eq!(param(&cb, "error"), "access_denied");
    let r = b.get(&cb);
    assert_rejected(&w, &r, 403, "callback.access_denied", after_first);
    assert!(r.body.contains("Login cancelled") && r.body.contains(r#"<a class="button login" href="/auth/login">Log in with Vipps</a>"#));
}

#[test]
fn expired_state_is_refused() {
    let w = Worker::start("expired", &[("LOGIN_TIMEOUT", "2")], &[]);
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    std::thread::sleep(Duration::from_millis(3200));
    let r = b.get(&cb);
    // The client kept the cookie past its Max-Age; the Worker still refuses the stale entry.
    assert_rejected(&w, &r, 400, "state.expired", 0);
}

#[test]
fn tampered_session_cookie_is_refused() {
    let w = Worker::start("tampered-session", &[], &[]);
    let mut b = Browser::new();
    login(&mut b, &w, "/");
    assert_eq!(b.get_json(&w.url("/auth/session")).status, 200);
    let v = b.jar.get_mut("__Host-vipps-session").unwrap();
    // Flip one character of the payload.
    let i = 5;
    let c = if v.as_bytes()[i] == b'a' { "b" } else { "a" };
    v.replace_range(i..i + 1, c);
    let r = b.get_json(&w.url("/auth/session"));
    assert_eq!(r.status, 401);
    assert!(r.body.contains("session.required"));
    assert_eq!(b.get(&w.url("/private/")).status, 302);
}

#[test]
fn twenty_logins_fetch_discovery_and_jwks_once() {
    let w = Worker::start("twenty", &[], &[]);
    for _ in 0..20 {
        login(&mut Browser::new(), &w, "/");
    }
    let stats = w.sim.stats();
    assert_eq!(stats["token"], 20);
    assert_eq!(stats["discovery"], 1, "{stats}");
    assert_eq!(stats["jwks"], 1, "{stats}");
}

#[test]
fn discovery_is_refetched_after_max_age() {
    let w = Worker::start("max-age", &[], &["--discovery-max-age", "2"]);
    login(&mut Browser::new(), &w, "/");
    login(&mut Browser::new(), &w, "/");
    assert_eq!(w.sim.count("discovery"), 1);
    std::thread::sleep(Duration::from_millis(3200));
    login(&mut Browser::new(), &w, "/");
    assert_eq!(w.sim.count("discovery"), 2);
}

#[test]
fn long_return_to_keeps_the_redirect_short() {
    let w = Worker::start("long-return", &[], &[]);
    let mut b = Browser::new();
    let long = format!("/{}", "x".repeat(5000));
    let r = b.get(&w.url(&format!("/auth/login?return_to={long}")));
    assert_eq!(r.status, 302);
    let loc = r.location.unwrap();
    assert!(loc.len() < 2000, "{}", loc.len());
    // The simulator (like Vipps' gateway) accepts it: no 502.
    assert_eq!(b.get(&loc).status, 200);
    // An open-redirect attempt lands on / after login.
    let (cb, _) = login_until_callback(&mut b, &w, "//evil.example/");
    let r = b.get(&cb);
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/"));
}

#[test]
fn client_secret_post_works_when_configured() {
    let w = Worker::start(
        "secret-post",
        &[("VIPPS_TOKEN_AUTH_METHOD", "client_secret_post")],
        &["--token-auth-method", "client_secret_post"],
    );
    login(&mut Browser::new(), &w, "/");
    // And a mismatch (Worker on Basic, Vipps expecting post) fails cleanly: 502, no session.
    let w = Worker::start("secret-mismatch", &[], &["--token-auth-method", "client_secret_post"]);
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    let r = b.get(&cb);
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body.contains("token.rejected"));
    assert!(!r.sets_session());
}

#[test]
fn broken_config_answers_500_naming_variables() {
    let w = Worker::start("broken-config", &[("SESSION_SECRET", "tiny-secret-val")], &[]);
    let r = Browser::new().get(&w.url("/private/"));
    assert_eq!(r.status, 500);
    assert!(r.body.contains("SESSION_SECRET"));
    assert!(!r.body.contains("tiny-secret-val"));
}

// ---- consent revocation webhook ---------------------------------------------------------

const HOOK_SECRET: &str = "e2e-consent-hook-0123456789abcdef0123456789";

/// Asks the simulator to revoke consent (it POSTs Vipps' webhook to the Worker) and returns
/// its report: `delivered`, the Worker's `status` and `body`.
fn revoke(w: &Worker, body: Value) -> Value {
    let r = Browser::new().post_json(&format!("{}/_sim/revoke-consent", w.sim.base), &body);
    assert_eq!(r.status, 200, "revoke-consent: {}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["delivered"], true, "{v}");
    v
}

/// An HTTP receiver on loopback: each forwarded notification's head and body, in order.
fn capture_one_post() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hooks/vipps-consent", listener.local_addr().unwrap().port());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || loop {
        let Ok((mut s, _)) = listener.accept() else { return };
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head, body) = loop {
            let n = s.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break (String::from_utf8_lossy(&buf).into_owned(), String::new());
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(i) = text.find("\r\n\r\n") {
                let head = text[..i].to_string();
                let len = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                    .unwrap_or(0);
                if buf.len() >= i + 4 + len {
                    break (head, String::from_utf8_lossy(&buf[i + 4..i + 4 + len]).into_owned());
                }
            }
        };
        let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        if tx.send((head, body)).is_err() {
            return;
        }
    });
    (url, rx)
}

fn head_value(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
        .unwrap_or_else(|| panic!("{name} missing in {head}"))
}

#[test]
fn consent_revocation_webhook_ends_sessions_in_workerd() {
    let (forward, received) = capture_one_post();
    let mut w = Worker::start(
        "consent-webhook",
        &[("CONSENT_WEBHOOK_SECRET", HOOK_SECRET), ("SESSION_RECHECK", "1"), ("CONSENT_WEBHOOK_FORWARD", &forward)],
        &[],
    );
    let hook = w.url(&format!("/auth/webhooks/consent-revoked/{HOOK_SECRET}"));
    w.sim.set(serde_json::json!({"consent_webhook_url": hook}));
    let mut b = Browser::new();
    let sub = login(&mut b, &w, "/private/");
    let mut other = Browser::new();
    assert_eq!(login(&mut other, &w, "/private/"), sub);
    assert_eq!(b.get(&w.url("/private/")).status, 200);

    // After SESSION_RECHECK the session is checked against KV once and re-issued on the
    // static asset's response.
    std::thread::sleep(Duration::from_millis(2100));
    let r = b.get(&w.url("/private/"));
    assert_eq!(r.status, 200);
    assert!(r.sets_session(), "session cookie re-issued after the check: {:?}", r.set_cookies);

    // Hostile deliveries are refused without effect: tests/conformance.rs, consent_webhook.
    let v = revoke(&w, serde_json::json!({"sub": sub, "claims": {"exp": 1_000_000}}));
    assert_eq!(v["status"], 400, "{v}");
    assert_eq!(b.get(&w.url("/private/")).status, 200);
    assert!(received.try_recv().is_err(), "nothing forwarded for a refused delivery");

    // The real one: acknowledged, forwarded signed, and the session is over.
    let v = revoke(&w, serde_json::json!({"sub": sub}));
    assert_eq!(v["status"], 200, "{v}");
    let (head, body) = received.recv_timeout(Duration::from_secs(10)).expect("forwarded notification");
    assert!(head.starts_with("POST /hooks/vipps-consent "), "{head}");
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((n["event"].as_str(), n["sub"].as_str()), (Some("CONSENT_REVOKED"), Some(sub.as_str())));
    let ts = head_value(&head, "vipps-edge-timestamp");
    let mac = vipps_edge_login::util::hmac_sha256(HOOK_SECRET.as_bytes(), &[ts.as_bytes(), b".", body.as_bytes()]);
    assert_eq!(head_value(&head, "vipps-edge-signature"), format!("v1={}", vipps_edge_login::util::hex(&mac)));

    let r = b.get(&w.url("/private/"));
    assert_eq!(r.status, 302);
    assert_eq!(r.location.as_deref(), Some("/auth/login?return_to=%2Fprivate%2F"));
    assert!(r.set_cookies.iter().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0")));
    assert_eq!(b.get_json(&w.url("/auth/session")).status, 401);

    // A fresh isolate (workerd restarted, local KV kept) learns it from KV.
    w.restart();
    let r = other.get(&w.url("/private/"));
    assert_eq!(r.status, 302, "the other browser's older session ends too");
    // Vipps delivers again (its retries are undocumented): the fresh isolate handles it the
    // same way, acknowledged and forwarded once more. (This also puts both log codes in the
    // fresh process's log: under load, wrangler dev has been seen to stop forwarding a Worker's
    // log lines mid-test.)
    let v = revoke(&w, serde_json::json!({"sub": sub}));
    assert_eq!(v["status"], 200, "{v}");
    let (_, again) = received.recv_timeout(Duration::from_secs(10)).expect("forwarded again");
    assert_eq!(serde_json::from_str::<Value>(&again).unwrap()["sub"].as_str(), Some(sub.as_str()));

    // Logging in again (the simulator asks for consent again) gives a working session.
    std::thread::sleep(Duration::from_millis(1100));
    let authorize = b.get(&w.url("/auth/login?return_to=%2Fprivate%2F")).location.unwrap();
    let page = b.get(&authorize);
    assert!(page.body.contains("will be asked to share"), "the simulator asks for consent again");
    login(&mut b, &w, "/private/");
    assert_eq!(b.get(&w.url("/private/")).status, 200);
    let log = w.log();
    assert!(log.contains("webhook.consent_revoked") && log.contains("session.consent_revoked"));
    assert!(!log.lines().any(|l| l.contains("\"code\"") && l.contains(HOOK_SECRET)), "secret in a Worker log line");
    assert!(!log.lines().any(|l| l.contains("\"code\"") && l.contains(&sub)), "sub in a Worker log line");
}

// ---- sessions: key rotation, logout for good ----------------------------------------------

#[test]
fn key_rotation_keeps_sessions_and_logins_in_flight_in_workerd() {
    const OLD: &str = "e2e-session-secret-0123456789abcdef";
    const NEW: &str = "e2e-rotated-secret-fedcba9876543210";
    let mut w = Worker::start("rotation", &[("SESSION_SECRET", OLD)], &[]);
    let mut b = Browser::new();
    login(&mut b, &w, "/private/");
    // A login started before the rotation...
    let mut mid = Browser::new();
    let (callback, _) = login_until_callback(&mut mid, &w, "/private/");
    // ...a redeploy with a new first key...
    w.restart_with(&[("SESSION_SECRET", &format!("{NEW},{OLD}"))]);
    // ...keeps the old session and completes the login in flight.
    assert_eq!(b.get(&w.url("/private/")).status, 200, "old session after the rotation");
    let r = mid.get(&callback);
    assert_eq!(r.status, 303, "login started under the old key: {}", r.body);
    assert!(r.sets_session());
    assert_eq!(mid.get(&w.url("/private/")).status, 200);
    // Removing the old key ends the sessions it signed; the new ones live on.
    w.restart_with(&[("SESSION_SECRET", NEW)]);
    assert_eq!(b.get(&w.url("/private/")).status, 302);
    assert_eq!(mid.get(&w.url("/private/")).status, 200);
}

#[test]
fn logout_ends_the_session_for_good_in_workerd() {
    let mut w = Worker::start("logout-for-good", &[("SESSION_RECHECK", "1")], &[]);
    let mut b = Browser::new();
    login(&mut b, &w, "/private/");
    let saved = b.jar.clone();
    assert!(saved.contains_key("__Host-vipps-session"));
    let with_saved = || {
        let mut c = Browser::new();
        c.jar = saved.clone();
        c
    };
    let r = b.post_empty(&w.url("/auth/logout"), &[("origin", &w.base), ("accept", "text/html")]);
    assert_eq!(r.status, 303);
    // A copy of the cookie taken before the logout: refused at once in this isolate...
    assert_eq!(with_saved().get(&w.url("/private/")).status, 302);
    // ...and by a fresh isolate, from KV.
    w.restart();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(with_saved().get(&w.url("/private/")).status, 302);
    assert!(w.log().contains("session.logged_out"));
    // A new login works.
    login(&mut b, &w, "/private/");
    assert_eq!(b.get(&w.url("/private/")).status, 200);
}
