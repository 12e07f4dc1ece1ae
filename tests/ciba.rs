//! Login from phone number (CIBA) in workerd: a till's calls to the Worker's merchant API
//! against the simulator. Each path asserts the exact status and code, and what the simulator
//! saw (its `/_sim/stats`): a refused request sends nothing to Vipps.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const KEY_A: &str = "e2e-till-a-0123456789abcdef0123456789";
const KEY_B: &str = "e2e-till-b-fedcba9876543210fedcba9876";
const ALICE_PHONE: &str = "+4791234567";
const ALICE_SUB: &str = "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11";

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    fn handle(&self) -> String {
        self.body["handle"].as_str().expect("handle").to_string()
    }
}

fn call(w: &Worker, path: &str, key: Option<&str>, body: &str) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = agent.post(&w.url(path)).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", &format!("Bearer {k}"));
    }
    let mut resp = req.send(body).expect("request");
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(String::from);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
    Answer { status, retry_after, body }
}

/// A CONFORMANCE row for an answer: its status and code against the expected ones.
fn row(rows: &mut common::table::Table, scenario: &str, a: &Answer, status: u16, code: &str) {
    let want = if code.is_empty() { status.to_string() } else { format!("{status} {code}") };
    let got = if a.code().is_empty() { a.status.to_string() } else { format!("{} {}", a.status, a.code()) };
    rows.row(scenario, &want, &got, a.status == status && a.code() == code);
}

fn start(w: &Worker, key: &str, body: Value) -> Answer {
    call(w, "/auth/ciba/start", Some(key), &body.to_string())
}

fn poll(w: &Worker, key: &str, handle: &str) -> Answer {
    call(w, "/auth/ciba/poll", Some(key), &json!({"handle": handle}).to_string())
}

fn approve(w: &Worker, phone: &str, decision: &str) {
    let r = Browser::new().post_json(&format!("{}/_sim/ciba/approve", w.sim.base), &json!({"phone": phone, "decision": decision}));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Waits until the handle's interval has passed (the Worker counts whole seconds).
fn wait(secs: u64) {
    std::thread::sleep(Duration::from_millis(secs * 1000 + 1100));
}

/// Whether workerd logged `code` (its log reaches the file a moment after the response).
fn logged(w: &Worker, code: &str) -> bool {
    w.log_shows(&format!("\"code\":\"{code}\""), Duration::from_secs(4))
}

fn counts(w: &Worker) -> (u64, u64, u64) {
    let s = w.sim.stats();
    (s["backchannel"].as_u64().unwrap(), s["token"].as_u64().unwrap(), s["userinfo"].as_u64().unwrap())
}

fn worker(name: &str) -> Worker {
    let w = Worker::start(
        name,
        &[("CIBA_API_KEYS", &format!("till-a:{KEY_A},till-b:{KEY_B}")), ("CIBA_SCOPES", "openid name phoneNumber email")],
        &[],
    );
    w.sim.set(json!({"ciba_interval": 2}));
    w
}

#[test]
fn a_till_logs_a_customer_in_from_a_phone_number() {
    let w = worker("ciba-success");
    let mut rows = common::table::Table::new("12-ciba-poll");
    let s = start(&w, KEY_A, json!({"phone": ALICE_PHONE, "generate_binding_message": true, "scope": "name phoneNumber"}));
    row(&mut rows, "start with a phone number, generated binding message, scopes", &s, 200, "");
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!((s.body["interval"].as_u64(), s.body["expires_in"].as_u64()), (Some(2), Some(600)));
    let bm = s.body["binding_message"].as_str().unwrap();
    assert!(bm.len() == 6 && bm.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{bm}");
    assert_eq!(counts(&w), (1, 0, 0));

    // Before the user answers: pending, with a new handle and the time to wait.
    wait(2);
    let p = poll(&w, KEY_A, &s.handle());
    row(&mut rows, "poll before the user answers (authorization_pending)", &p, 202, "");
    assert_eq!((p.status, p.body["status"].as_str(), p.retry_after.as_deref()), (202, Some("pending"), Some("2")), "{}", p.body);
    assert_eq!(counts(&w), (1, 1, 0));

    approve(&w, ALICE_PHONE, "approve");
    wait(2);
    let ok = poll(&w, KEY_A, &p.handle());
    row(&mut rows, "poll after approval: ID token verified, userinfo, user JSON", &ok, 200, "");
    rows.row("the user is the phone number's", "sub of +4791234567", &ok.body["sub"].to_string(), ok.body["sub"] == ALICE_SUB);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "ok");
    assert_eq!(ok.body["sub"], ALICE_SUB);
    assert_eq!(ok.body["user"]["sub"], ALICE_SUB);
    assert_eq!(ok.body["user"]["phone_number"], "4791234567");
    assert!(ok.body["user"]["name"].is_string());
    rows.row("calls to Vipps for the whole login", "1 backchannel, 1 token per poll (2), 1 userinfo", &format!("{:?}", counts(&w)), counts(&w) == (1, 2, 1));
    assert_eq!(counts(&w), (1, 2, 1), "one token call per poll, one userinfo");
    assert!(logged(&w, "ciba.ok"));
    let log = w.log();
    assert!(!log.contains("4791234567") && !log.contains(KEY_A), "no phone number or key in the logs");
}

#[test]
fn refusals_send_nothing_to_vipps() {
    let w = worker("ciba-refusals");
    let mut rows = common::table::Table::new("12-ciba-refusals");
    // Wrong key, no key, malformed or foreign phone numbers, bad input: nothing sent.
    let body = json!({"phone": ALICE_PHONE}).to_string();
    let r = call(&w, "/auth/ciba/start", Some("not-a-configured-key-0123456789abcdef"), &body);
    row(&mut rows, "a wrong API key", &r, 401, "ciba.unauthorized");
    assert_eq!((r.status, r.code()), (401, "ciba.unauthorized"));
    let r = call(&w, "/auth/ciba/start", None, &body);
    row(&mut rows, "no API key", &r, 401, "ciba.unauthorized");
    assert_eq!((r.status, r.code()), (401, "ciba.unauthorized"));
    let r = call(&w, "/auth/ciba/user-exists", Some(&KEY_A[1..]), &body);
    row(&mut rows, "user-exists with a truncated key", &r, 401, "ciba.unauthorized");
    assert_eq!((r.status, r.code()), (401, "ciba.unauthorized"));
    for phone in ["+1 555 010 0100", "+447911123456", "1234567", "47abcdefgh", "", "+47 1234 56789"] {
        let r = start(&w, KEY_A, json!({"phone": phone}));
        row(&mut rows, &format!("phone number {phone:?}"), &r, 400, "ciba.bad_phone");
        assert_eq!((r.status, r.code()), (400, "ciba.bad_phone"), "{phone}");
    }
    for (body, code) in [
        (json!({"phone": ALICE_PHONE, "binding_message": "abc"}), "ciba.bad_binding_message"),
        (json!({"phone": ALICE_PHONE, "requested_expiry": 59}), "ciba.bad_expiry"),
        (json!({"phone": ALICE_PHONE, "requested_expiry": "600"}), "ciba.bad_expiry"),
        (json!({"phone": ALICE_PHONE, "scope": "openid nin"}), "ciba.bad_scope"),
        (json!({"phone": ALICE_PHONE, "admin": true}), "ciba.bad_request"),
        (json!({}), "ciba.bad_request"),
        (json!({"phone": ALICE_PHONE, "customer_token": "ct-4791234567"}), "ciba.bad_request"),
    ] {
        let r = start(&w, KEY_A, body.clone());
        row(&mut rows, &format!("start body {body}"), &r, 400, code);
        assert_eq!((r.status, r.code()), (400, code), "{body}");
    }
    let r = call(&w, "/auth/ciba/start", Some(KEY_A), "{not json");
    assert_eq!((r.status, r.code()), (400, "ciba.bad_request"));
    let r = call(&w, "/auth/ciba/start", Some(KEY_A), &format!("{{\"phone\":\"{}\"}}", "1".repeat(5000)));
    assert_eq!((r.status, r.code()), (400, "ciba.bad_request"));
    rows.row("refused starts reach Vipps", "never (not even discovery)", &format!("{:?} discovery {}", counts(&w), w.sim.count("discovery")), counts(&w) == (0, 0, 0) && w.sim.count("discovery") == 0);
    assert_eq!(counts(&w), (0, 0, 0));
    assert_eq!(w.sim.count("discovery"), 0, "not even discovery");

    // A handle: tampered, another key's, expired (signed with the real key), polled too early.
    w.sim.set(json!({"ciba_interval": 5}));
    let s = start(&w, KEY_A, json!({"phone": "+4792345678"}));
    assert_eq!(s.status, 200, "{}", s.body);
    let h = s.handle();
    let early = poll(&w, KEY_A, &h);
    row(&mut rows, "poll before the interval passed", &early, 429, "ciba.too_early");
    assert_eq!((early.status, early.code()), (429, "ciba.too_early"));
    let secs = early.body["retry_after"].as_u64().unwrap();
    assert!((1..=5).contains(&secs) && early.retry_after == Some(secs.to_string()), "{}", early.body);
    let foreign = poll(&w, KEY_B, &h);
    row(&mut rows, "a handle another API key started", &foreign, 401, "ciba.foreign_handle");
    assert_eq!((foreign.status, foreign.code()), (401, "ciba.foreign_handle"));
    let (head, mac) = h.rsplit_once('.').unwrap();
    let flipped = format!("{head}.{}{}", if mac.starts_with('A') { "B" } else { "A" }, &mac[1..]);
    for bad in [flipped.as_str(), "v1.e30.AAAA", "", "x".repeat(3000).as_str()] {
        let r = poll(&w, KEY_A, bad);
        row(&mut rows, &format!("a tampered handle ({:.12}...)", bad), &r, 401, "ciba.bad_handle");
        assert_eq!((r.status, r.code()), (401, "ciba.bad_handle"), "{bad:.30}");
    }
    let expired = forge_handle(&w, json!({"k": "till-a", "id": "anything", "n": "nonce", "i": 2, "t": 0, "e": 1}));
    let r = poll(&w, KEY_A, &expired);
    row(&mut rows, "an expired handle (signed with the real key)", &r, 410, "ciba.expired");
    assert_eq!((r.status, r.code()), (410, "ciba.expired"));
    rows.row("refused polls reach Vipps", "never", &format!("{:?}", counts(&w)), counts(&w) == (1, 0, 0));
    assert_eq!(counts(&w), (1, 0, 0), "no poll reached Vipps");
    let r = call(&w, "/auth/ciba/poll", Some(KEY_A), &json!({"handle": h, "x": 1}).to_string());
    assert_eq!((r.status, r.code()), (400, "ciba.bad_request"));
    let r = poll(&w, KEY_A, &"x".repeat(5000));
    assert_eq!((r.status, r.code()), (400, "ciba.bad_request"), "over the 4 KB body cap");
    assert_eq!(counts(&w), (1, 0, 0));
}

/// A handle signed with the key the Worker derives from SESSION_SECRET for handles.
fn forge_handle(_w: &Worker, payload: Value) -> String {
    use vipps_edge_login::session::cookie;
    // Keys are derived per deployment: its Vipps client id.
    let deployment = CLIENT_ID;
    let key = vipps_edge_login::util::hmac_sha256(
        b"e2e-session-secret-0123456789abcdef",
        &[b"vipps-edge-login/v2/", b"ciba-handle", b"\0", deployment.as_bytes()],
    );
    cookie::sign(&key, "vipps-edge-login/ciba-handle", payload.to_string().as_bytes())
}

#[test]
fn each_answer_of_vipps_has_its_code() {
    let w = worker("ciba-answers");
    let mut rows = common::table::Table::new("12-ciba-answers");
    // Denied in the app.
    let s = start(&w, KEY_A, json!({"phone": "+4793456789"}));
    approve(&w, "4793456789", "deny");
    wait(2);
    let r = poll(&w, KEY_A, &s.handle());
    row(&mut rows, "the user denies in the app (access_denied)", &r, 403, "ciba.denied");
    assert_eq!((r.status, r.code()), (403, "ciba.denied"), "{}", r.body);

    // old_app (in `error`), invalid_user in `error_code`, invalid_user in `error`.
    let handles: Vec<(String, u16, &str)> = [("+4799000001", 422, "ciba.old_app"), ("+4799000002", 404, "ciba.invalid_user"), ("40000000", 404, "ciba.invalid_user")]
        .into_iter()
        .map(|(phone, status, code)| {
            let s = start(&w, KEY_A, json!({"phone": phone}));
            assert_eq!(s.status, 200, "{phone}: {}", s.body);
            (s.handle(), status, code)
        })
        .collect();
    wait(2);
    for ((h, status, code), scenario) in handles.into_iter().zip(["old_app", "invalid_user in error_code", "invalid_user in error"]) {
        let r = poll(&w, KEY_A, &h);
        row(&mut rows, &format!("Vipps answers {scenario}"), &r, status, code);
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }

    // Expired at Vipps (its clock moved past expires_in).
    let s = start(&w, KEY_A, json!({"phone": "+4794567890", "requested_expiry": 60}));
    assert_eq!(s.body["expires_in"], 60);
    // Past expires_in, before the simulator forgets the login (a minute later).
    w.sim.set(json!({"clock_offset": 90}));
    wait(2);
    let r = poll(&w, KEY_A, &s.handle());
    row(&mut rows, "expired at Vipps (expired_token)", &r, 410, "ciba.expired");
    assert_eq!((r.status, r.code()), (410, "ciba.expired"), "{}", r.body);
    w.sim.set(json!({"clock_offset": 0}));

    // Too many logins for one user: Vipps' 429 and Retry-After reach the till.
    for _ in 0..3 {
        assert_eq!(start(&w, KEY_A, json!({"phone": "+4792345678"})).status, 200);
    }
    let before = counts(&w).0;
    let r = start(&w, KEY_A, json!({"phone": "+4792345678"}));
    row(&mut rows, "a fourth login for one user: Vipps' 429 with Retry-After", &r, 429, "ciba.rate_limited");
    rows.row("Retry-After passed on", "30", r.retry_after.as_deref().unwrap_or("-"), r.retry_after.as_deref() == Some("30"));
    assert_eq!((r.status, r.code(), r.retry_after.as_deref()), (429, "ciba.rate_limited", Some("30")), "{}", r.body);
    assert_eq!(r.body["retry_after"], 30);
    assert_eq!(counts(&w).0, before + 1);

    // Polling faster than the interval at Vipps (an old handle replayed): slow_down, and the
    // returned handle waits 5 s longer.
    let s = start(&w, KEY_B, json!({"customer_token": "ct-4791234567"}));
    assert_eq!(s.status, 200, "{}", s.body);
    wait(2);
    let first = poll(&w, KEY_B, &s.handle());
    assert_eq!(first.status, 202);
    let replay = poll(&w, KEY_B, &s.handle());
    rows.row("an old handle replayed: Vipps' slow_down", "202, interval 7, Retry-After 7", &format!("{} interval {} Retry-After {:?}", replay.status, replay.body["interval"], replay.retry_after),
        replay.status == 202 && replay.body["interval"] == 7 && replay.retry_after.as_deref() == Some("7"));
    assert_eq!((replay.status, replay.body["interval"].as_u64(), replay.retry_after.as_deref()), (202, Some(7), Some("7")), "{}", replay.body);
    assert!(logged(&w, "ciba.slow_down"));

    // user-exists.
    let r = call(&w, "/auth/ciba/user-exists", Some(KEY_A), &json!({"phone": ALICE_PHONE}).to_string());
    rows.row("user-exists for a Vipps user", "200 {\"exists\":true}", &format!("{} {}", r.status, r.body), (r.status, r.body.clone()) == (200, json!({"exists": true})));
    assert_eq!((r.status, r.body.clone()), (200, json!({"exists": true})));
    let r = call(&w, "/auth/ciba/user-exists", Some(KEY_A), &json!({"phone": "40000000"}).to_string());
    rows.row("user-exists for an unknown number", "200 {\"exists\":false}", &format!("{} {}", r.status, r.body), (r.status, r.body.clone()) == (200, json!({"exists": false})));
    assert_eq!((r.status, r.body.clone()), (200, json!({"exists": false})));
    let r = call(&w, "/auth/ciba/user-exists", Some(KEY_A), &json!({"phone": "+1 202 555 0100"}).to_string());
    assert_eq!((r.status, r.code()), (400, "ciba.bad_phone"));
    assert_eq!(w.sim.count("user_exists"), 2);
}

#[test]
fn off_unless_configured() {
    let w = Worker::start("ciba-off", &[], &[]);
    let r = call(&w, "/auth/ciba/start", Some(KEY_A), &json!({"phone": ALICE_PHONE}).to_string());
    assert_eq!((r.status, r.code()), (404, "route.not_found"));
    assert_eq!(w.sim.count("backchannel"), 0);
}

/// `login_to_webpage`: the till starts, the user approves in the app and finishes in the
/// phone's browser, which brings `code` (no state) to the callback. Rows go to CONFORMANCE.md
/// (suite "12-ciba-webpage").
#[test]
fn login_to_webpage_finishes_in_the_phones_browser() {
    use common::table::Table;
    let w = Worker::start(
        "ciba-webpage",
        &[
            ("CIBA_API_KEYS", &format!("till-a:{KEY_A},till-b:{KEY_B}")),
            ("CIBA_LOGIN_TO_WEBPAGE", "true"),
            ("CIBA_LANDING_PAGE", "/private/"),
        ],
        &[],
    );
    let mut rows = Table::new("12-ciba-webpage");
    // Start, approve; the URL the phone's browser is sent to.
    let started = |phone: &str| -> String {
        let s = start(&w, KEY_A, json!({"phone": phone, "flow": "login_to_webpage", "generate_binding_message": true}));
        assert_eq!(s.status, 200, "{}", s.body);
        assert!(s.body.get("handle").is_none() && s.body["flow"] == "login_to_webpage", "{}", s.body);
        let r = Browser::new().post_json(&format!("{}/_sim/ciba/approve", w.sim.base), &json!({"phone": phone, "decision": "approve"}));
        assert_eq!(r.status, 200, "{}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        v["redirect"].as_str().expect("a redirect for the browser").to_string()
    };
    let outcome = |r: &Resp| {
        let code = regex_lite::Regex::new(r"(ciba|id_token|token|state)\.[a-z_]+").unwrap();
        format!("{} {} session={}", r.status, code.find(&r.body).map(|m| m.as_str()).unwrap_or("-"), r.sets_session())
    };

    let url = started(ALICE_PHONE);
    let has_state = url.contains("state=");
    rows.row("the phone's browser is sent to the redirect URI", "code, no state", &format!("code {} state {has_state}", url.contains("?code=")), url.starts_with(&w.url("/auth/callback?code=")) && !has_state);
    let (t0, u0) = (w.sim.count("token"), w.sim.count("userinfo"));
    let mut phone = Browser::new();
    let r = phone.get(&url);
    rows.row("ES256 ID token with the started auth_req_id", "303 to CIBA_LANDING_PAGE, session", &format!("{} -> {:?}", outcome(&r), r.location),
        r.status == 303 && r.location.as_deref() == Some("/private/") && r.sets_session());
    let session: Value = serde_json::from_str(&phone.get_json(&w.url("/auth/session")).body).unwrap_or_default();
    rows.row("the session is the phone number's user", "sub of +4791234567", &session["sub"].to_string(), session["sub"] == ALICE_SUB);
    let calls = (w.sim.count("token") - t0, w.sim.count("userinfo") - u0);
    rows.row("calls to Vipps for the callback", "1 token (never polled), 1 userinfo", &format!("{calls:?}"), calls == (1, 1));
    // The same URL again: Vipps refuses the used code; no session.
    let r = Browser::new().get(&url);
    rows.row("the same code again", "400 token.invalid_grant, no session", &outcome(&r), r.status == 400 && r.body.contains("token.invalid_grant") && !r.sets_session());

    for (fault, status, code, scenario) in [
        ("camel_auth_req_id", 303, "", "auth_req_id spelled authReqId"),
        ("rs256", 303, "", "RS256 ID token (by the JWKS key)"),
        ("wrong_auth_req_id", 400, "ciba.unknown_login", "auth_req_id of another login"),
        ("missing_auth_req_id", 400, "ciba.unknown_login", "no auth_req_id"),
        ("bad_signature", 401, "id_token.signature", "ES256 with a bad signature"),
        ("alg_none", 401, "id_token.algorithm", "alg none"),
        ("alg_hs256", 401, "id_token.algorithm", "alg HS256 keyed with the P-256 key's x"),
        ("alg_es384", 401, "id_token.algorithm", "an ES256 signature labelled ES384"),
        ("es256_rsa_kid", 401, "id_token.unknown_key", "ES256 naming the RSA key's kid"),
    ] {
        w.sim.set(json!({"ciba_redirect_fault": fault}));
        let url = started(ALICE_PHONE);
        let u0 = w.sim.count("userinfo");
        let r = Browser::new().get(&url);
        let userinfo_calls = w.sim.count("userinfo") - u0;
        let ok = if status == 303 {
            r.status == 303 && r.sets_session() && userinfo_calls == 1
        } else {
            r.status == status && r.body.contains(code) && !r.sets_session() && userinfo_calls == 0
        };
        let expected = if status == 303 { "303, session".to_string() } else { format!("{status} {code}, no session, no userinfo") };
        rows.row(scenario, &expected, &format!("{} userinfo={userinfo_calls}", outcome(&r)), ok);
    }
    w.sim.set(json!({"ciba_redirect_fault": null}));

    // A code Vipps never made: refused at the token endpoint, no session.
    let forged = Browser::new().get(&w.url("/auth/callback?code=made-up-code"));
    rows.row("a made-up code", "400 token.invalid_grant, no session", &outcome(&forged), forged.status == 400 && forged.body.contains("token.invalid_grant") && !forged.sets_session());

    // Refusals at the start.
    let r = start(&w, KEY_A, json!({"phone": ALICE_PHONE, "flow": "push"}));
    rows.row("start with an unknown flow", "400 ciba.bad_request", &format!("{} {}", r.status, r.code()), (r.status, r.code()) == (400, "ciba.bad_request"));
    let log = w.log();
    let clean = !log.contains("4791234567") && !log.contains(KEY_A);
    rows.row("the log holds no phone number or key", "none", if clean { "none" } else { "found" }, clean);
}

#[test]
fn login_to_webpage_is_refused_unless_configured() {
    let w = worker("ciba-webpage-off");
    let r = start(&w, KEY_A, json!({"phone": ALICE_PHONE, "flow": "login_to_webpage"}));
    assert_eq!((r.status, r.code()), (400, "ciba.bad_request"));
    assert_eq!(w.sim.count("backchannel"), 0);
    // A callback without state stays the browser flow's: refused before any call to Vipps.
    let r = Browser::new().get(&w.url("/auth/callback?code=abc"));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("state.no_transaction"), "{}", r.body);
    assert_eq!(w.sim.count("token"), 0);
}
