//! Conformance: the wasm Worker in workerd against a *hostile* simulator, after the OpenID
//! Foundation's RP tests (Basic and Config profiles), RFC 9700, RFC 9207 and RFC 7636, plus a
//! broken network. Every scenario asserts the exact outcome: for a rejection, the status, the
//! stable error code, no session cookie, and (where it applies) no further call to token or
//! userinfo; for an acceptance, a working session.
//!
//! Each scenario also records a row (scenario, expected, observed) under target/conformance/;
//! `make test` turns them into CONFORMANCE.md.

mod common;
use common::table::Table;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// What one login attempt came to.
#[derive(Debug, Clone, PartialEq)]
struct Obs {
    status: u16,
    code: String,
    session: bool,
    token_calls: u64,
    userinfo_calls: u64,
    authorize_calls: u64,
}

impl Obs {
    fn describe(&self) -> String {
        let mut s = format!("{}", self.status);
        if !self.code.is_empty() {
            s.push_str(&format!(" {}", self.code));
        }
        s.push_str(if self.session { ", session set" } else { ", no session" });
        s.push_str(&format!(", token +{}, userinfo +{}", self.token_calls, self.userinfo_calls));
        s
    }
}

fn error_code(body: &str) -> String {
    let re = regex_lite::Regex::new(r#"(?:Error code: |"error":")([a-z_]+\.[a-z_]+|internal)"#).unwrap();
    re.captures(body).map(|c| c[1].to_string()).unwrap_or_default()
}

fn delta(after: &Value, before: &Value, key: &str) -> u64 {
    after[key].as_u64().unwrap_or(0) - before[key].as_u64().unwrap_or(0)
}

/// A full browser-less login attempt; stops at the first hop that is not the expected one.
fn attempt(w: &Worker) -> Obs {
    let before = w.sim.stats();
    let mut b = Browser::new();
    let finish = |r: &Resp, w: &Worker| {
        let after = w.sim.stats();
        Obs {
            status: r.status,
            code: error_code(&r.body),
            session: r.sets_session(),
            token_calls: delta(&after, &before, "token"),
            userinfo_calls: delta(&after, &before, "userinfo"),
            authorize_calls: delta(&after, &before, "authorize"),
        }
    };
    let r = b.get(&w.url("/auth/login?return_to=%2Fprivate%2F"));
    if r.status != 302 {
        return finish(&r, w);
    }
    let page = b.get(r.location.as_ref().unwrap());
    assert_eq!(page.status, 200, "simulator page: {}", page.body);
    let p = authorize_page(&page.body);
    let r = b.post_form(
        &format!("{}/access-management-1.0/access/oauth2/auth/confirm", w.sim.base),
        &[("req", &p.req), ("user", &p.users[0])],
    );
    let r = b.get(r.location.as_ref().expect("simulator redirects back"));
    let obs = finish(&r, w);
    if obs.session {
        // An accepted login really works: the session endpoint knows the user.
        assert_eq!(b.get_json(&w.url("/auth/session")).status, 200);
    }
    obs
}

#[derive(Clone, Copy)]
enum Expect {
    Accept,
    /// status, code, and whether userinfo may have been called
    Reject(u16, &'static str, bool),
}

/// One login attempt's row: accepted with a session, or refused exactly as expected.
trait Check {
    fn check(&mut self, scenario: &str, expect: Expect, obs: &Obs);
}

impl Check for Table {
    fn check(&mut self, scenario: &str, expect: Expect, obs: &Obs) {
        let (expected, ok) = match expect {
            Expect::Accept => ("303, session set".to_string(), obs.status == 303 && obs.session),
            Expect::Reject(status, code, userinfo_allowed) => (
                format!("{status} {code}, no session{}", if userinfo_allowed { "" } else { ", no userinfo call" }),
                obs.status == status
                    && obs.code == code
                    && !obs.session
                    && obs.token_calls <= 1
                    && (userinfo_allowed || obs.userinfo_calls == 0),
            ),
        };
        self.row(scenario, &expected, &obs.describe(), ok);
    }
}

/// Modes that change only the token response, ID token or userinfo: one Worker, warm caches.
#[test]
fn id_token_and_userinfo_modes() {
    let w = Worker::start("conf-id-token", &[], &[]);
    let mut t = Table::new("1-id-token");
    t.check("normal login (baseline)", Expect::Accept, &attempt(&w));
    let cases: &[(&str, Expect)] = &[
        ("invalid-iss", Expect::Reject(401, "id_token.issuer_mismatch", false)),
        ("missing-sub", Expect::Reject(401, "id_token.sub_missing", false)),
        ("invalid-aud", Expect::Reject(401, "id_token.audience_mismatch", false)),
        ("missing-aud", Expect::Reject(401, "id_token.audience_mismatch", false)),
        ("missing-iat", Expect::Reject(401, "id_token.iat_invalid", false)),
        ("idtoken-sig-none", Expect::Reject(401, "id_token.algorithm", false)),
        ("alg-none-uppercase", Expect::Reject(401, "id_token.algorithm", false)),
        ("invalid-sig-rs256", Expect::Reject(401, "id_token.signature", false)),
        ("alg-hs256-public-key", Expect::Reject(401, "id_token.algorithm", false)),
        ("alg-ps256", Expect::Reject(401, "id_token.algorithm", false)),
        ("nonce-invalid", Expect::Reject(401, "id_token.nonce_mismatch", false)),
        ("missing-nonce", Expect::Reject(401, "id_token.nonce_mismatch", false)),
        ("expired-exp", Expect::Reject(401, "id_token.expired", false)),
        ("missing-exp", Expect::Reject(401, "id_token.expired", false)),
        ("nbf-future", Expect::Reject(401, "id_token.not_yet_valid", false)),
        ("iat-far-past", Expect::Reject(401, "id_token.iat_invalid", false)),
        ("claims-wrong-types", Expect::Reject(401, "id_token.malformed", false)),
        ("secondary-aud-no-azp", Expect::Reject(401, "id_token.azp_mismatch", false)),
        ("userinfo-invalid-sub", Expect::Reject(401, "userinfo.sub_mismatch", true)),
        ("iss-param-wrong", Expect::Reject(400, "callback.iss_mismatch", false)),
        ("aud-string", Expect::Accept),
        ("token-type-uppercase", Expect::Accept),
        ("expires-in-missing", Expect::Accept),
        ("iss-param-correct", Expect::Accept),
    ];
    for (mode, expect) in cases {
        w.sim.set(json!({ "mode": mode }));
        let obs = attempt(&w);
        if *mode == "iss-param-wrong" {
            assert_eq!(obs.token_calls, 0, "RFC 9207 mismatch is refused before the token request");
        }
        t.check(mode, *expect, &obs);
        w.sim.set(json!({ "mode": null }));
    }
}

/// Modes that change JWKS or discovery: each on a fresh Worker, so its first fetch sees them.
#[test]
fn jwks_and_discovery_modes() {
    let mut t = Table::new("2-jwks-discovery");
    let cases: &[(&str, Expect)] = &[
        ("kid-absent-multiple-jwks", Expect::Reject(401, "id_token.unknown_key", false)),
        ("jwks-hostile-only", Expect::Reject(502, "jwks.invalid", false)),
        ("kid-absent-single-jwks", Expect::Accept),
        ("jwks-hostile-plus-real", Expect::Accept),
        ("discovery-issuer-mismatch", Expect::Reject(502, "discovery.invalid", false)),
        ("discovery-foreign-host", Expect::Reject(502, "discovery.invalid", false)),
        ("discovery-http-endpoint", Expect::Reject(502, "discovery.invalid", false)),
    ];
    for (mode, expect) in cases {
        let w = Worker::start(&format!("conf-{mode}"), &[], &[]);
        w.sim.set(json!({ "mode": mode }));
        let obs = attempt(&w);
        if mode.starts_with("discovery-") {
            assert_eq!(obs.authorize_calls, 0, "{mode}: stopped before any authorize redirect");
        }
        t.check(mode, *expect, &obs);
    }
    // Thousands of keys: refused or accepted, but promptly and without a crash.
    let w = Worker::start("conf-jwks-many", &[], &[]);
    w.sim.set(json!({ "mode": "jwks-many-keys" }));
    let started = Instant::now();
    let obs = attempt(&w);
    let ok = (obs.status == 303 && obs.session) || (obs.status == 502 && obs.code == "jwks.invalid" && !obs.session);
    t.row("jwks-many-keys (5000 keys)", "303 session, or 502 jwks.invalid; no crash, < 10 s", &format!("{} in {} ms", obs.describe(), started.elapsed().as_millis()), ok && started.elapsed() < Duration::from_secs(10));
    assert_eq!(Browser::new().get(&w.url("/")).status, 200, "the isolate still serves");
}

/// Key rotation: the Worker has the old JWKS cached; an unknown kid triggers one refetch.
#[test]
fn key_rotation_modes() {
    let mut t = Table::new("3-rotation");
    for mode in ["signing-key-rotation", "signing-key-rotation-just-before-signing"] {
        let w = Worker::start(&format!("conf-{mode}"), &[], &[]);
        assert!(attempt(&w).session, "warm-up login");
        w.sim.set(json!({ "mode": mode }));
        let obs = attempt(&w);
        let jwks = w.sim.count("jwks");
        t.check(&format!("{mode} (JWKS fetched {jwks}x in all)"), Expect::Accept, &obs);
        t.row(&format!("{mode}: JWKS refetched once"), "2 JWKS fetches in all", &format!("{jwks}"), jwks == 2);
    }
}

/// The callback side: state, codes, errors (RFC 6749 §10.12, RFC 9700 §4.7, RFC 7636).
#[test]
fn callback_attacks() {
    let w = Worker::start("conf-callback", &[], &[]);
    let mut t = Table::new("4-callback");
    let run = |t: &mut Table, scenario: &str, status: u16, code: &str, b: &mut Browser, url: &str, tokens_before: u64| {
        let r = b.get(url);
        let token_calls = w.sim.count("token") - tokens_before;
        let obs = format!("{} {}, {}, token +{}", r.status, error_code(&r.body), if r.sets_session() { "session set" } else { "no session" }, token_calls);
        let want_token = if code == "token.invalid_grant" { 1 } else { 0 };
        let ok = r.status == status && error_code(&r.body) == code && !r.sets_session() && token_calls == want_token;
        t.row(scenario, &format!("{status} {code}, no session, token +{want_token}"), &obs, ok);
    };
    // state missing / altered / duplicated / replayed / foreign
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, &w, "/");
    let n = w.sim.count("token");
    run(&mut t, "state missing", 400, "state.missing", &mut b, &with_param(&cb, "state", None), n);
    let s = param(&cb, "state");
    run(&mut t, "state altered", 400, "state.mismatch", &mut b, &with_param(&cb, "state", Some(&format!("{s}x"))), n);
    run(&mut t, "state duplicated in the query", 400, "callback.duplicate_param", &mut b, &format!("{cb}&state={s}"), n);
    let mut other = Browser::new();
    run(&mut t, "state from another browser (no transaction cookie)", 400, "state.no_transaction", &mut other, &cb, n);
    assert_eq!(b.get(&cb).status, 303, "the genuine callback still works after the attempts");
    let mut replay = Browser::new();
    replay.jar = b.jar.clone();
    replay.jar.remove("__Host-vipps-session");
    let n = w.sim.count("token");
    run(&mut t, "callback replayed after success", 400, "state.no_transaction", &mut replay, &cb, n);
    // An authorization code replayed into a new login of the same browser: Vipps refuses it.
    let mut b2 = Browser::new();
    let (cb2, _) = login_until_callback(&mut b2, &w, "/");
    let n = w.sim.count("token");
    let replayed = with_param(&cb2, "code", Some(&param(&cb, "code")));
    run(&mut t, "authorization code replayed", 400, "token.invalid_grant", &mut b2, &replayed, n);
    // A code from another browser's transaction: PKCE binds it to the browser that started it.
    let mut victim = Browser::new();
    let (victim_cb, _) = login_until_callback(&mut victim, &w, "/");
    let mut attacker = Browser::new();
    let (attacker_cb, _) = login_until_callback(&mut attacker, &w, "/");
    let n = w.sim.count("token");
    let injected = with_param(&attacker_cb, "code", Some(&param(&victim_cb, "code")));
    run(&mut t, "code from another browser's transaction (PKCE)", 400, "token.invalid_grant", &mut attacker, &injected, n);
    // Errors with and without a valid state.
    let mut b3 = Browser::new();
    let (cb3, _) = login_until_callback(&mut b3, &w, "/");
    let n = w.sim.count("token");
    let err = format!("{}/auth/callback?error=server_error&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={}", w.base, param(&cb3, "state"));
    run(&mut t, "error=server_error with valid state", 400, "callback.provider_error", &mut b3, &err, n);
    let r = b3.get(&err);
    t.row("error_description is never echoed", "no <script> in the page", if r.body.contains("<script>") { "echoed" } else { "not echoed" }, !r.body.contains("<script>"));
    let err = format!("{}/auth/callback?error=access_denied&state=not-a-real-state", w.base);
    run(&mut t, "error=access_denied without a login in this browser", 403, "callback.access_denied", &mut Browser::new(), &err, n);
    // client_secret_basic with a secret of `: % + space @ =` (the harness's secret).
    t.check("client-secret-basic with ': % + space @ =' in the secret", Expect::Accept, &attempt(&w));
}

/// A broken network: slow, failing, lying or oversized answers from Vipps.
#[test]
fn broken_network() {
    let mut t = Table::new("5-network");
    let w = Worker::start("conf-network", &[("UPSTREAM_TIMEOUT_MS", "1500")], &[]);
    assert!(attempt(&w).session, "warm-up login");
    let cases: &[(&str, Value, u16, &str)] = &[
        ("token endpoint slow (5 s > 1.5 s timeout)", json!({"endpoint": "token", "kind": "slow", "ms": 5000}), 503, "vipps.unavailable"),
        ("token endpoint answers 500", json!({"endpoint": "token", "kind": "status", "status": 500}), 502, "token.bad_response"),
        ("token endpoint answers 503", json!({"endpoint": "token", "kind": "status", "status": 503}), 502, "token.bad_response"),
        ("token endpoint answers HTML", json!({"endpoint": "token", "kind": "html"}), 502, "token.bad_response"),
        ("token endpoint redirects (not followed)", json!({"endpoint": "token", "kind": "redirect"}), 502, "token.bad_response"),
        ("token endpoint sends 5 MiB", json!({"endpoint": "token", "kind": "huge"}), 502, "token.bad_response"),
        ("userinfo sends 5 MiB chunked", json!({"endpoint": "userinfo", "kind": "huge-chunked"}), 502, "userinfo.failed"),
        ("userinfo slow", json!({"endpoint": "userinfo", "kind": "slow", "ms": 5000}), 503, "vipps.unavailable"),
        ("userinfo answers 500", json!({"endpoint": "userinfo", "kind": "status", "status": 500}), 502, "userinfo.failed"),
        ("userinfo redirects", json!({"endpoint": "userinfo", "kind": "redirect"}), 502, "userinfo.failed"),
        ("token endpoint drops the connection", json!({"endpoint": "token", "kind": "close"}), 503, "vipps.unavailable"),
        ("userinfo answers HTML", json!({"endpoint": "userinfo", "kind": "html"}), 502, "userinfo.failed"),
    ];
    for (scenario, fault, status, code) in cases {
        w.sim.set(json!({ "fault": fault }));
        let started = Instant::now();
        let obs = attempt(&w);
        let took = started.elapsed();
        let ok = obs.status == *status && obs.code == *code && !obs.session && obs.token_calls == 1 && took < Duration::from_secs(15);
        t.row(scenario, &format!("{status} {code}, no session, token called once"), &format!("{} in {} ms", obs.describe(), took.as_millis()), ok);
        w.sim.set(json!({ "fault": null }));
    }
    let elsewhere = w.sim.count("elsewhere");
    t.row("redirect targets never receive credentials", "0 requests at the redirect target", &elsewhere.to_string(), elsewhere == 0);
    // Discovery and JWKS failing on a Worker with nothing cached.
    for (scenario, fault, status, code) in [
        ("discovery answers 503, nothing cached", json!({"endpoint": "discovery", "kind": "status", "status": 503}), 503, "discovery.unavailable"),
        ("discovery answers HTML", json!({"endpoint": "discovery", "kind": "html"}), 502, "discovery.invalid"),
        ("discovery slow", json!({"endpoint": "discovery", "kind": "slow", "ms": 5000}), 503, "discovery.unavailable"),
        ("JWKS answers 500, nothing cached", json!({"endpoint": "jwks", "kind": "status", "status": 500}), 503, "jwks.unavailable"),
        ("JWKS sends 5 MiB chunked", json!({"endpoint": "jwks", "kind": "huge-chunked"}), 502, "jwks.invalid"),
        ("JWKS slow", json!({"endpoint": "jwks", "kind": "slow", "ms": 5000}), 503, "jwks.unavailable"),
        ("JWKS redirects", json!({"endpoint": "jwks", "kind": "redirect"}), 502, "jwks.invalid"),
    ] {
        let w = Worker::start("conf-network-cold", &[("UPSTREAM_TIMEOUT_MS", "1500")], &[]);
        w.sim.set(json!({ "fault": fault }));
        let obs = attempt(&w);
        let ok = obs.status == status && obs.code == code && !obs.session;
        t.row(scenario, &format!("{status} {code}, no session"), &obs.describe(), ok);
    }
    // Every endpoint slow, each call within its own timeout: one deadline bounds the callback.
    // Without it this login would succeed after three 1 s calls.
    let w = Worker::start("conf-network-deadline", &[("UPSTREAM_TIMEOUT_MS", "1500"), ("UPSTREAM_DEADLINE_MS", "2500")], &[]);
    w.sim.set(json!({"fault": {"endpoint": "all", "kind": "slow", "ms": 1000}}));
    let started = Instant::now();
    let obs = attempt(&w);
    let took = started.elapsed();
    t.row(
        "every endpoint 1 s slow, callback needs three calls (UPSTREAM_DEADLINE_MS 2500)",
        "503 vipps.unavailable, no session, token called once",
        &format!("{} in {} ms", obs.describe(), took.as_millis()),
        obs.status == 503 && obs.code == "vipps.unavailable" && !obs.session && obs.token_calls == 1,
    );
}

/// Vipps down entirely: sessions keep working; a new login gets a clear "try again" (503).
#[test]
fn vipps_down_entirely() {
    let mut t = Table::new("6-vipps-down");
    let mut w = Worker::start("conf-down", &[("UPSTREAM_TIMEOUT_MS", "1500")], &[]);
    let mut b = Browser::new();
    login(&mut b, &w, "/private/");
    let mut pending = Browser::new();
    let (pending_cb, _) = login_until_callback(&mut pending, &w, "/");
    w.sim.stop();
    let r = b.get(&w.url("/private/"));
    t.row("logged-in user while Vipps is down", "200 members page", &r.status.to_string(), r.status == 200 && r.body.contains("Members page"));
    let s = b.get_json(&w.url("/auth/session"));
    t.row("session endpoint while Vipps is down", "200", &s.status.to_string(), s.status == 200);
    let r = pending.get(&pending_cb);
    let code = error_code(&r.body);
    t.row("callback while Vipps is down", "503 vipps.unavailable, no session", &format!("{} {code}", r.status), r.status == 503 && code == "vipps.unavailable" && !r.sets_session());
    // A Worker that never reached Vipps: a new login is a 503 "try again" page, not a 500.
    let mut cold = Worker::start("conf-down-cold", &[("UPSTREAM_TIMEOUT_MS", "1500")], &[]);
    cold.sim.stop();
    let r = Browser::new().get(&cold.url("/auth/login"));
    let code = error_code(&r.body);
    t.row("new login while Vipps is down (nothing cached)", "503 discovery.unavailable page with a retry", &format!("{} {code}", r.status), r.status == 503 && code == "discovery.unavailable" && r.body.contains(r#"href="/auth/login""#));
}

/// Bounded load on loopback: a protected path with a valid session and the callback with
/// garbage, concurrently; zero 5xx and the isolate still serves afterwards.
#[test]
fn load_on_loopback_gives_no_5xx() {
    let secs: u64 = std::env::var("LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let w = Worker::start("conf-load", &[], &[]);
    let mut b = Browser::new();
    login(&mut b, &w, "/");
    let cookie = format!("__Host-vipps-session={}", b.jar["__Host-vipps-session"]);
    let script = w.dir.join("count.lua");
    std::fs::write(&script, r#"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) c5xx = 0; total = 0 end
function response(status, headers, body)
  total = total + 1
  if status >= 500 then c5xx = c5xx + 1 end
end
function done(summary, latency, requests)
  local a, b = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("c5xx"); b = b + t:get("total") end
  io.write(string.format("RESULT total=%d c5xx=%d\n", b, a))
end
"#).unwrap();
    let wrk = |url: String, extra: Vec<String>| {
        let script = script.clone();
        std::thread::spawn(move || {
            let out = std::process::Command::new("wrk")
                .args(["-t1", "-c8", &format!("-d{secs}s"), "--timeout", "10s", "-s", script.to_str().unwrap()])
                .args(extra)
                .arg(url)
                .output()
                .expect("wrk (make test installs it)");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };
    let protected = wrk(w.url("/private/"), vec!["-H".into(), format!("Cookie: {cookie}")]);
    let garbage = wrk(w.url("/auth/callback?code=garbage&state=%00%ff%22%3Cgarbage&state=x&iss=y"), vec!["-H".into(), "Cookie: __Host-vipps-login=v1.Zm9v.YmFy; __Host-vipps-session=junk".into()]);
    let parse = |s: &str| -> (u64, u64) {
        let re = regex_lite::Regex::new(r"RESULT total=(\d+) c5xx=(\d+)").unwrap();
        let c = re.captures(s).unwrap_or_else(|| panic!("wrk output: {s}"));
        (c[1].parse().unwrap(), c[2].parse().unwrap())
    };
    let (p_total, p_5xx) = parse(&protected.join().unwrap());
    let (g_total, g_5xx) = parse(&garbage.join().unwrap());
    let mut t = Table::new("7-load");
    t.row(&format!("protected path, valid session, {secs} s x 8 connections"), "0 5xx", &format!("{p_5xx} 5xx of {p_total}"), p_5xx == 0 && p_total > 100);
    t.row(&format!("callback with garbage, {secs} s x 8 connections"), "0 5xx", &format!("{g_5xx} 5xx of {g_total}"), g_5xx == 0 && g_total > 100);
    let after = b.get(&w.url("/private/"));
    let log = w.log();
    let crashed = log.contains("panicked") || log.contains("RuntimeError") || log.contains("Uncaught");
    t.row("isolate alive after the load", "200, no panic in the log", &format!("{}{}", after.status, if crashed { ", panic logged" } else { "" }), after.status == 200 && !crashed);
    assert_eq!(w.sim.count("token"), 1, "garbage never reached the token endpoint");
}

/// The consent-revocation webhook as Vipps delivers it (through the simulator), and hostile
/// deliveries: each refused one must leave the user's session working.
#[test]
fn consent_webhook() {
    const SECRET: &str = "conformance-hook-0123456789abcdef0123456789";
    let mut t = Table::new("8-consent-webhook");
    let w = Worker::start("conf-webhook", &[("CONSENT_WEBHOOK_SECRET", SECRET), ("SESSION_RECHECK", "1")], &[]);
    let hook = w.url(&format!("/auth/webhooks/consent-revoked/{SECRET}"));
    w.sim.set(json!({"consent_webhook_url": hook}));
    let mut b = Browser::new();
    let sub = login(&mut b, &w, "/private/");
    let deliver = |body: Value| -> (u16, String) {
        let r = Browser::new().post_json(&format!("{}/_sim/revoke-consent", w.sim.base), &body);
        let v: Value = serde_json::from_str(&r.body).unwrap_or_default();
        assert_eq!(v["delivered"], true, "simulator could not deliver: {}", r.body);
        let answer = v["body"].as_str().unwrap_or("");
        let code = if answer.contains("\"ignored\":true") { "ignored".to_string() } else { error_code(answer) };
        (v["status"].as_u64().unwrap_or(0) as u16, code)
    };
    let wrong = w.url(&format!("/auth/webhooks/consent-revoked/{}x", &SECRET[..SECRET.len() - 1]));
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("wrong secret in the webhook path", json!({"sub": sub, "url": wrong}), 404, "route.not_found"),
        ("exp passed", json!({"sub": sub, "claims": {"exp": 1_000_000, "iat": 999_700, "nbf": 999_700}}), 400, "webhook.expired"),
        ("exp missing", json!({"sub": sub, "claims": {"exp": null}}), 400, "webhook.expired"),
        ("exp more than a day ahead", json!({"sub": sub, "claims": {"exp": 4_000_000_000u64}}), 400, "webhook.malformed"),
        ("nbf in the future", json!({"sub": sub, "claims": {"nbf": 4_000_000_000u64}}), 400, "webhook.not_yet_valid"),
        ("iat in the future", json!({"sub": sub, "claims": {"iat": 4_000_000_000u64}}), 400, "webhook.not_yet_valid"),
        ("sub missing", json!({"sub": sub, "claims": {"sub": null}}), 400, "webhook.malformed"),
        ("sub of the wrong JSON type", json!({"sub": sub, "claims": {"sub": [sub]}}), 400, "webhook.malformed"),
        ("exp of the wrong JSON type", json!({"sub": sub, "claims": {"exp": "tomorrow"}}), 400, "webhook.malformed"),
        ("event missing", json!({"sub": sub, "claims": {"event": null}}), 400, "webhook.malformed"),
        ("alg HS256 with a MAC", json!({"sub": sub, "header": {"alg": "HS256"}, "signature": "bWFj"}), 400, "webhook.algorithm"),
        ("alg NONE (letter case)", json!({"sub": sub, "header": {"alg": "NONE"}}), 400, "webhook.algorithm"),
        ("alg none with a signature part", json!({"sub": sub, "signature": "c2ln"}), 400, "webhook.malformed"),
        ("alg RS256 with a forged signature", json!({"sub": sub, "header": {"alg": "RS256"}, "signature": "c2lnbmF0dXJl"}), 401, "webhook.signature"),
        ("a JSON body instead of a JWT", json!({"raw_body": format!("{{\"sub\":\"{sub}\",\"event\":\"CONSENT_REVOKED\"}}")}), 400, "webhook.malformed"),
        ("9000-byte body", json!({"raw_body": "A".repeat(9000)}), 413, "webhook.too_large"),
        ("Content-Type application/json", json!({"sub": sub, "content_type": "application/json"}), 415, "webhook.media_type"),
    ];
    for (scenario, body, status, code) in cases {
        let (got, got_code) = deliver(body);
        t.row(scenario, &format!("{status} {code}"), &format!("{got} {got_code}"), got == status && got_code == code);
    }
    // Refused deliveries recorded nothing: after SESSION_RECHECK the session is checked against
    // KV and still works.
    std::thread::sleep(Duration::from_millis(1200));
    let r = b.get(&w.url("/private/"));
    t.row("session after all refused deliveries (checked against KV)", "200, session kept", &format!("{}, {}", r.status, if r.status == 200 { "session kept" } else { "session lost" }), r.status == 200);
    let (got, what) = deliver(json!({"sub": sub, "claims": {"event": "CONSENT_GIVEN"}}));
    let r = b.get(&w.url("/private/"));
    let kept = if r.status == 200 { "session kept" } else { "session lost" };
    t.row("another event type", "200 ignored, session kept", &format!("{got} {what}, {kept}"), got == 200 && what == "ignored" && r.status == 200);
    // The genuine delivery, twice (idempotent), ends the session.
    let (first, _) = deliver(json!({"sub": sub}));
    let (again, _) = deliver(json!({"sub": sub}));
    t.row("CONSENT_REVOKED as Vipps sends it, delivered twice", "200, 200", &format!("{first}, {again}"), first == 200 && again == 200);
    let r = b.get(&w.url("/private/"));
    let cleared = r.set_cookies.iter().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0"));
    t.row(
        "session that began before the revocation",
        "302 to login, cookie cleared",
        &format!("{}{}", r.status, if cleared { ", cookie cleared" } else { "" }),
        r.status == 302 && cleared,
    );
    std::thread::sleep(Duration::from_millis(1100));
    let obs = attempt(&w);
    t.check("login after the revocation (consent given again)", Expect::Accept, &obs);
}
