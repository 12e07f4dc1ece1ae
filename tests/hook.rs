//! The login hook in workerd: a real merchant backend on a loopback port (tests/common/hook.rs)
//! gets each login signed, and its answer decides. Allow with claims (in `/auth/session`, in
//! the headers the origin receives, in a CIBA poll's answer), deny, garbage, too slow, down
//! under both policies; the README's Node and Python verifiers accept the Worker's real
//! requests and refuse forged ones. Rows go to CONFORMANCE.md (suite "11-hook").

mod common;
use common::hook::{readme_verify, readme_verify_python, HookServer, Mode};
use common::origin::NaiveOrigin;
use common::table::Table;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const K2: &str = "hook-secret-k2-0123456789abcdef0123456789";
const K1: &str = "hook-secret-k1-fedcba9876543210fedcba9876";
const TILL_KEY: &str = "e2e-till-a-0123456789abcdef0123456789";

fn claims() -> Value {
    json!({"customer_id": "C-1042", "roles": ["staff", "admin"]})
}

fn keys() -> Value {
    json!({"k2": K2, "k1": K1})
}

/// A browser login through the callback; returns the callback's answer.
fn browser_login(w: &Worker) -> (Browser, Resp) {
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, w, "/private/");
    let r = b.get(&cb);
    (b, r)
}

fn summary(r: &Resp) -> String {
    let code = regex_lite::Regex::new(r"(hook|state|id_token|vipps)\.[a-z_]+").unwrap();
    format!("{} {} session={}", r.status, code.find(&r.body).map(|m| m.as_str()).unwrap_or("-"), r.sets_session())
}

fn till(w: &Worker, path: &str, body: Value) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into();
    let mut resp = agent
        .post(&w.url(path))
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {TILL_KEY}"))
        .send(body.to_string())
        .expect("till request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Start, approve in the simulator, poll once after the interval: the poll's answer.
fn ciba_login(w: &Worker, phone: &str) -> (u16, Value) {
    let (s, started) = till(w, "/auth/ciba/start", json!({"phone": phone}));
    assert_eq!(s, 200, "{started}");
    let r = Browser::new().post_json(&format!("{}/_sim/ciba/approve", w.sim.base), &json!({"phone": phone, "decision": "approve"}));
    assert_eq!(r.status, 200, "{}", r.body);
    std::thread::sleep(Duration::from_millis(2 * 1000 + 1100));
    till(w, "/auth/ciba/poll", json!({"handle": started["handle"]}))
}

fn logged(w: &Worker, code: &str) -> bool {
    (0..40).any(|_| {
        let found = w.log().contains(&format!("\"code\":\"{code}\""));
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    })
}

#[test]
fn the_backend_allows_with_claims_denies_or_fails() {
    let hook = HookServer::start(Mode::Allow(claims()));
    let origin = NaiveOrigin::start();
    let w = Worker::start(
        "hook",
        &[
            ("LOGIN_HOOK_URL", &hook.url()),
            ("LOGIN_HOOK_KEYS", &format!("k2:{K2},k1:{K1}")),
            ("LOGIN_HOOK_TIMEOUT_MS", "1000"),
            ("BACKEND", &origin.base()),
            ("CIBA_API_KEYS", &format!("till-a:{TILL_KEY}")),
        ],
        &[],
    );
    w.sim.set(json!({"ciba_interval": 2}));
    let mut rows = Table::new("11-hook");

    // Allow with claims: a session, the claims in /auth/session and at the origin.
    let (mut b, r) = browser_login(&w);
    rows.row("browser login, backend allows with claims", "303, session", &summary(&r), r.status == 303 && r.sets_session());
    let got = hook.requests();
    let req = got.first().cloned();
    rows.row("the backend is asked once per login", "1 POST", &format!("{} request(s)", got.len()), got.len() == 1 && got[0].start.starts_with("POST /vipps/login-hook "));
    let Some(req) = req else { return };
    let body = req.json();
    let ok = body["event"] == "login" && body["flow"] == "browser" && body["sub"].is_string() && body["userinfo"]["sub"] == body["sub"] && body.get("api_key").is_none();
    rows.row("hook body", "event, flow browser, sub = userinfo.sub", &format!("flow {} sub {}", body["flow"], body["sub"]), ok);
    let session: Value = serde_json::from_str(&b.get_json(&w.url("/auth/session")).body).unwrap_or_default();
    rows.row("claims in /auth/session", "app.customer_id, app.roles", &session["app"].to_string(), session["app"] == claims());
    origin.clear();
    let _ = b.get(&w.url("/private/index.html"));
    let seen = origin.requests();
    let h = |n: &str| seen.first().and_then(|r| r.header(n).map(String::from)).unwrap_or_default();
    let (cid, roles) = (h("vipps-login-app-customer-id"), h("vipps-login-app-roles"));
    rows.row("claims forwarded to the origin", "Vipps-Login-App-Customer-Id, -Roles", &format!("{cid} {roles}"), cid == "C-1042" && roles == r#"["staff","admin"]"#);

    // The README's verifier, run with node, on the request the Worker really sent...
    let sig = req.header("vipps-edge-hook-signature").unwrap_or_default().to_string();
    let t: u64 = body["iat"].as_u64().unwrap_or(0);
    let v = readme_verify(&sig, &req.body, &keys(), t + 10);
    rows.row("README verifier, the Worker's request", "accepted", &format!("{:?}", v.as_ref().map(|b| b["flow"].clone())), v.is_ok_and(|b| b == body));
    rows.row("signature header format", "t=<iat>,kid=k2,v1=<64 hex>", &sig.chars().take(30).collect::<String>(),
        sig.starts_with(&format!("t={t},kid=k2,v1=")) && sig.len() == format!("t={t},kid=k2,v1=").len() + 64);
    // ...and on forged ones.
    let flipped = {
        let last = sig.chars().last().unwrap_or('0');
        format!("{}{}", &sig[..sig.len() - 1], if last == '0' { '1' } else { '0' })
    };
    let altered = String::from_utf8_lossy(&req.body).replace("\"browser\"", "\"ciba\"").into_bytes();
    let by_k1 = {
        let mac = vipps_edge_login::util::hmac_sha256(K1.as_bytes(), &[t.to_string().as_bytes(), b".", &req.body]);
        format!("t={t},kid=k1,v1={}", vipps_edge_login::util::hex(&mac))
    };
    let wrong_kid = sig.replace("kid=k2", "kid=k1");
    for (scenario, header, raw, now) in [
        ("forged signature (one hex digit changed)", flipped.as_str(), req.body.clone(), t),
        ("body altered after signing", sig.as_str(), altered, t),
        ("signed with k1's secret but naming k2", by_k1.replace("kid=k1", "kid=k2").as_str(), req.body.clone(), t),
        ("k2's signature naming k1", wrong_kid.as_str(), req.body.clone(), t),
        ("unknown kid", sig.replace("kid=k2", "kid=k9").as_str(), req.body.clone(), t),
        ("replayed 301 s later", sig.as_str(), req.body.clone(), t + 301),
        ("no signature header", "", req.body.clone(), t),
    ] {
        let v = readme_verify(header, &raw, &keys(), now);
        rows.row(&format!("README verifier, {scenario}"), "refused", &format!("{:?}", v.as_ref().err()), v.is_err());
    }
    let v = readme_verify(&by_k1, &req.body, &keys(), t);
    rows.row("README verifier, the old key k1 during a rotation", "accepted", &format!("{:?}", v.as_ref().err()), v.is_ok());
    // The README's Python verifier, the same way.
    let v = readme_verify_python(&sig, &req.body, &keys(), t + 10);
    rows.row("README Python verifier, the Worker's request", "accepted", &format!("{:?}", v.as_ref().err()), v.is_ok_and(|b| b == body));
    for (scenario, header, now) in [("forged signature", flipped.as_str(), t), ("unknown kid", &sig.replace("kid=k2", "kid=k9"), t), ("replayed 301 s later", sig.as_str(), t + 301)] {
        let v = readme_verify_python(header, &req.body, &keys(), now);
        rows.row(&format!("README Python verifier, {scenario}"), "refused", &format!("{:?}", v.as_ref().err()), v.is_err());
    }

    // Deny: a friendly 403 page, no session.
    hook.set(Mode::Deny);
    let (mut b, r) = browser_login(&w);
    let friendly = r.body.contains("You cannot log in here") || r.body.contains("Du kan ikke logge inn her");
    rows.row("backend denies (browser)", "403 hook.denied page, no session", &summary(&r), r.status == 403 && r.body.contains("hook.denied") && friendly && !r.sets_session());
    let s = b.get_json(&w.url("/auth/session"));
    rows.row("after a denial", "/auth/session 401", &s.status.to_string(), s.status == 401);

    // Garbage answers: 502, no session.
    for (scenario, answer) in [
        ("HTML", "<html>hello</html>"),
        ("no boolean allow", r#"{"allow":"yes"}"#),
        ("a claim name outside [a-z][a-z0-9_]*", r#"{"allow":true,"claims":{"Customer-Id":"x"}}"#),
        ("a claim over 256 bytes", &format!(r#"{{"allow":true,"claims":{{"note":"{}"}}}}"#, "x".repeat(300))),
    ] {
        hook.set(Mode::Raw(answer.to_string()));
        let (_, r) = browser_login(&w);
        rows.row(&format!("backend answers garbage: {scenario}"), "502 hook.bad_response, no session", &summary(&r),
            r.status == 502 && r.body.contains("hook.bad_response") && !r.sets_session());
    }

    // Too slow: LOGIN_HOOK_TIMEOUT_MS=1000, the backend takes 3 s.
    hook.set(Mode::Slow(3000, claims()));
    let started = std::time::Instant::now();
    let (_, r) = browser_login(&w);
    let took = started.elapsed().as_millis();
    rows.row("backend too slow (3 s, timeout 1 s)", "503 hook.unavailable within ~1 s, no session", &format!("{} in {took} ms", summary(&r)),
        r.status == 503 && r.body.contains("hook.unavailable") && !r.sets_session() && took < 2900);

    // Login from phone number: the claims in the poll's answer; a denial is 403 JSON.
    hook.set(Mode::Allow(claims()));
    let before = hook.count();
    let (status, ok) = ciba_login(&w, "+4791234567");
    let asked = hook.requests().get(before).map(|r| r.json()).unwrap_or_default();
    rows.row("CIBA poll, backend allows with claims", "200 with app", &format!("{status} app={}", ok["app"]), status == 200 && ok["app"] == claims());
    rows.row("CIBA hook body", "flow ciba, api_key till-a", &format!("{} {}", asked["flow"], asked["api_key"]), asked["flow"] == "ciba" && asked["api_key"] == "till-a");
    hook.set(Mode::Deny);
    let (status, denied) = ciba_login(&w, "+4792345678");
    rows.row("CIBA poll, backend denies", "403 {\"error\":\"hook.denied\"}", &format!("{status} {}", denied["error"]), status == 403 && denied["error"] == "hook.denied" && denied.get("user").is_none());
}

#[test]
fn a_backend_that_is_down_fails_closed_or_open_as_configured() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut w = Worker::start("hook-down", &[("LOGIN_HOOK_URL", &url), ("LOGIN_HOOK_KEYS", &format!("k2:{K2}"))], &[]);
    let mut rows = Table::new("11-hook-down");
    let (_, r) = browser_login(&w);
    rows.row("backend down, LOGIN_HOOK_ON_ERROR=deny (default)", "503 hook.unavailable, no session", &summary(&r),
        r.status == 503 && r.body.contains("hook.unavailable") && !r.sets_session());

    w.restart_with(&[("LOGIN_HOOK_ON_ERROR", "allow")]);
    let (mut b, r) = browser_login(&w);
    rows.row("backend down, LOGIN_HOOK_ON_ERROR=allow", "303, session without app claims", &summary(&r), r.status == 303 && r.sets_session());
    let session: Value = serde_json::from_str(&b.get_json(&w.url("/auth/session")).body).unwrap_or_default();
    rows.row("session after failing open", "sub, no app", &format!("app={}", session["app"]), session["sub"].is_string() && session.get("app").is_none());
    let warned = logged(&w, "hook.failed_open");
    rows.row("failing open is logged", "hook.failed_open", &warned.to_string(), warned);
}

/// A native app's login is a login too: the backend is asked (flow "app") before the hand-off,
/// its claims reach the app's bearer session, and a deny hands nothing to the app.
#[test]
fn native_app_logins_ask_the_backend_too() {
    const APP_URI: &str = "myapp://login/done";
    const VERIFIER: &str = "hook-app-verifier-0123456789-hook-app-verifier";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER.as_bytes()))
    };
    let mut rows = Table::new("11-hook");
    for (mode, allowed) in [(Mode::Allow(claims()), true), (Mode::Deny, false)] {
        let hook = HookServer::start(mode);
        let w = Worker::start(
            "hook-app",
            &[
                ("LOGIN_HOOK_URL", &hook.url()),
                ("LOGIN_HOOK_KEYS", &format!("k2:{K2}")),
                ("LOGIN_FLOWS", "app_to_app_v2"),
                ("APP_URIS", APP_URI),
            ],
            &[],
        );
        let mut b = Browser::new();
        let r = b.post_json(&w.url("/auth/app/start"), &json!({"app_uri": APP_URI, "code_challenge": challenge, "code_challenge_method": "S256"}));
        assert_eq!(r.status, 200, "{}", r.body);
        let authorize = serde_json::from_str::<Value>(&r.body).unwrap()["authorize_url"].as_str().unwrap().to_string();
        let page = b.get(&authorize);
        let p = authorize_page(&page.body);
        let c = b.post_form(&format!("{}/access-management-1.0/access/oauth2/auth/confirm", w.sim.base), &[("req", &p.req), ("user", &p.users[0])]);
        let r = b.get(&c.location.unwrap());
        let asked = hook.requests();
        let flow = asked.first().map(|r| r.json()["flow"].clone()).unwrap_or_default();
        let handed = r.location.as_deref().is_some_and(|l| l.starts_with(&format!("{APP_URI}?handoff=")));
        let app_claims = if handed {
            let code = param(&r.location.clone().unwrap().replacen(APP_URI, "https://x.invalid/", 1), "handoff");
            let ok = Browser::new().post_json(&w.url("/auth/app/token"), &json!({"handoff": code, "code_verifier": VERIFIER}));
            serde_json::from_str::<Value>(&ok.body).unwrap_or_default()["session"]["app"].clone()
        } else {
            Value::Null
        };
        let ok = asked.len() == 1 && flow == "app" && handed == allowed && (if allowed { app_claims == claims() } else { r.location.as_deref().is_some_and(|l| l.starts_with(&format!("{APP_URI}?error=hook.denied"))) });
        rows.row(
            &format!("native app login, backend {}", if allowed { "allows with claims" } else { "denies" }),
            if allowed { "asked once (flow app), hand-off, claims in the app's session" } else { "asked once (flow app), the app gets error=hook.denied, no hand-off" },
            &format!("asked {} flow {flow} {} handoff={handed} app={app_claims}", asked.len(), r.status),
            ok,
        );
        assert!(ok, "{} {:?} {} asked={} flow={flow} app={app_claims}", r.status, r.location, r.body, asked.len());
    }
}
