//! Whole flows through [`App::handle`] on a fake platform and a fake provider: every outcome is
//! asserted exactly (status, cookies set or not, which subrequests were made).

use crate::app::App;
use crate::config::tests::vars;
use crate::config::Config;
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::platform::Platform;
use crate::testkit::*;
use serde_json::json;
use std::collections::HashMap;

pub(crate) fn app_with(extra: &[(&str, &str)]) -> App {
    let mut all = vec![("VIPPS_DISCOVERY_URL", DISCOVERY_URL), ("PUBLIC_PATHS", "/")];
    all.extend_from_slice(extra);
    let m = vars(&all);
    App::new(Config::from_lookup(&|k| m.get(k).cloned()))
}

#[derive(Default)]
pub(crate) struct Jar(pub HashMap<String, String>);

impl Jar {
    pub fn absorb(&mut self, reply: &Reply) {
        for sc in reply.set_cookies() {
            let first = sc.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if sc.contains("Max-Age=0") {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_string(), v.to_string());
            }
        }
    }
    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

pub(crate) fn req(url: &str, jar: &Jar) -> IncomingRequest {
    IncomingRequest::get(url).unwrap().with_header("cookie", &jar.header()).with_header("accept", "text/html")
}

/// Starts a login; returns the authorize URL's query and tells the fake IdP the nonce.
pub(crate) fn start(app: &App, p: &FakePlatform, jar: &mut Jar, return_to: &str) -> HashMap<String, String> {
    let url = format!("https://shop.example/auth/login?return_to={}", crate::util::form_urlencode_component(return_to));
    let r = reply(block_on(app.handle(p, &req(&url, jar))));
    assert_eq!(r.status, 302);
    jar.absorb(&r);
    let loc = url::Url::parse(r.header("location").unwrap()).unwrap();
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    *p.idp.nonce.borrow_mut() = q["nonce"].clone();
    q
}

pub(crate) fn finish(app: &App, p: &FakePlatform, jar: &mut Jar, query: &str) -> Reply {
    let r = reply(block_on(app.handle(p, &req(&format!("https://shop.example/auth/callback?{query}"), jar))));
    jar.absorb(&r);
    r
}

pub(crate) fn has_session_cookie(r: &Reply) -> bool {
    r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=") && !c.contains("Max-Age=0"))
}

#[test]
fn full_login_sets_session_and_returns() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/private/page?x=1");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 22 && q["state"].len() <= 64);
    let r = finish(&app, &p, &mut jar, &format!("code=abc&state={}&scope=openid", q["state"]));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/private/page?x=1"));
    assert!(has_session_cookie(&r));
    // The transaction entry is consumed: the login cookie is cleared.
    assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-login=;") && c.contains("Max-Age=0")));
    // Exactly token + userinfo, plus discovery and JWKS once.
    assert_eq!(p.count(TOKEN_URL), 1);
    assert_eq!(p.count(USERINFO_URL), 1);
    assert_eq!(p.count(DISCOVERY_URL), 1);
    assert_eq!(p.count(JWKS_URL), 1);
    // The token request carried the verifier whose S256 matches the challenge.
    let token_req = p.requests.borrow().iter().find(|r| r.url == TOKEN_URL).cloned().unwrap();
    let body: HashMap<String, String> = url::form_urlencoded::parse(token_req.body.unwrap().as_bytes()).into_owned().collect();
    let verifier = crate::secret::Secret::new(body["code_verifier"].clone());
    assert_eq!(crate::oidc::authorize::s256_challenge(&verifier), q["code_challenge"]);
    // The session endpoint shows the user, without the NIN or phone number.
    let s = reply(block_on(app.handle(&p, &req("https://shop.example/auth/session", &jar))));
    assert_eq!(s.status, 200);
    let v: serde_json::Value = serde_json::from_str(&s.body).unwrap();
    assert_eq!(v["sub"], SUB);
    assert_eq!(v["name"], "Ada Lovelace");
    assert!(v.get("nin").is_none() && v.get("phone_number").is_none());
    // Protected paths now forward with the user.
    let o = block_on(app.handle(&p, &req("https://shop.example/private/page", &jar)));
    assert!(matches!(o, Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
}

#[test]
fn twenty_logins_fetch_discovery_and_jwks_once() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    for _ in 0..20 {
        let mut jar = Jar::default();
        let q = start(&app, &p, &mut jar, "/");
        let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
        assert_eq!(r.status, 303);
    }
    assert_eq!(p.count(DISCOVERY_URL), 1);
    assert_eq!(p.count(JWKS_URL), 1);
    assert_eq!(p.count(TOKEN_URL), 20);
    assert_eq!(p.kv.borrow().len(), 2, "only discovery and JWKS are written to KV");
}

#[test]
fn discovery_refetched_after_max_age_and_kv_shared_across_isolates() {
    let p = FakePlatform::default();
    *p.idp.discovery_cache_control.borrow_mut() = Some("max-age=60".into());
    let app = app_with(&[]);
    start(&app, &p, &mut Jar::default(), "/");
    start(&app, &p, &mut Jar::default(), "/");
    assert_eq!(p.count(DISCOVERY_URL), 1);
    // A second isolate reads KV instead of the network.
    let app2 = app_with(&[]);
    start(&app2, &p, &mut Jar::default(), "/");
    assert_eq!(p.count(DISCOVERY_URL), 1);
    p.advance(61);
    start(&app, &p, &mut Jar::default(), "/");
    assert_eq!(p.count(DISCOVERY_URL), 2);
}

#[test]
fn no_store_discovery_is_never_reused() {
    let p = FakePlatform::default();
    *p.idp.discovery_cache_control.borrow_mut() = Some("no-store".into());
    let app = app_with(&[]);
    start(&app, &p, &mut Jar::default(), "/");
    start(&app, &p, &mut Jar::default(), "/");
    assert_eq!(p.count(DISCOVERY_URL), 2);
    assert!(p.kv.borrow().is_empty());
}

#[test]
fn vipps_down_serves_stale_within_bound_then_503() {
    let p = FakePlatform::default();
    *p.idp.discovery_cache_control.borrow_mut() = Some("max-age=60".into());
    let app = app_with(&[]);
    start(&app, &p, &mut Jar::default(), "/");
    p.idp.down.set(true);
    p.advance(120);
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/auth/login", &Jar::default()))));
    assert_eq!(r.status, 302, "stale discovery keeps login starting");
    assert!(p.logged("discovery.serving_stale"));
    p.advance(crate::oidc::freshness::STALE_IF_ERROR);
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/auth/login", &Jar::default()))));
    assert_eq!(r.status, 503);
    assert!(r.body.contains("discovery.unavailable"));
    assert!(!has_session_cookie(&r));
}

#[test]
fn valid_session_needs_neither_vipps_nor_kv() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    p.idp.down.set(true);
    p.kv_broken.set(true);
    let before = p.requests.borrow().len();
    let o = block_on(app.handle(&p, &req("https://shop.example/private", &jar)));
    assert!(matches!(o, Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == Some(SUB.into()) && c.is_empty()));
    assert_eq!(p.requests.borrow().len(), before);
}

#[test]
fn kv_failure_falls_back_to_memory() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    p.kv_broken.set(true);
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 303);
    start(&app, &p, &mut Jar::default(), "/");
    assert_eq!(p.count(DISCOVERY_URL), 1);
    assert!(p.logged("kv.write_failed"));
}

/// A rejected callback: exact status, error code on the page, no session, no token call.
fn assert_rejected(r: &Reply, p: &FakePlatform, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(code), "page lacks {code}: {}", r.body);
    assert!(!has_session_cookie(r));
    assert_eq!(p.count(TOKEN_URL), 0, "no token request may be made");
    assert!(p.logged(code));
}

#[test]
fn state_attacks_are_refused_before_any_network_call() {
    let app = app_with(&[]);
    // Missing state.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    start(&app, &p, &mut jar, "/");
    assert_rejected(&finish(&app, &p, &mut jar, "code=c"), &p, 400, "state.missing");
    // Altered state.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let mut bad = q["state"].clone();
    bad.push('x');
    assert_rejected(&finish(&app, &p, &mut jar, &format!("code=c&state={bad}")), &p, 400, "state.mismatch");
    // Duplicated in the query.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let s = &q["state"];
    assert_rejected(&finish(&app, &p, &mut jar, &format!("code=c&state={s}&state={s}")), &p, 400, "callback.duplicate_param");
    // No transaction cookie (another browser, or cookies blocked).
    let p = FakePlatform::default();
    let q = start(&app, &p, &mut Jar::default(), "/");
    assert_rejected(&finish(&app, &p, &mut Jar::default(), &format!("code=c&state={}", q["state"])), &p, 400, "state.no_transaction");
    // Tampered transaction cookie.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let v = jar.0.get_mut("__Host-vipps-login").unwrap();
    v.insert(4, 'A');
    assert_rejected(&finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])), &p, 400, "state.no_transaction");
    // Expired.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    p.advance(601);
    assert_rejected(&finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])), &p, 400, "state.expired");
}

#[test]
fn replayed_callback_is_refused() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let query = format!("code=c&state={}", q["state"]);
    assert_eq!(finish(&app, &p, &mut jar, &query).status, 303);
    let r = finish(&app, &p, &mut jar, &query);
    assert_eq!(r.status, 400);
    assert!(!has_session_cookie(&r));
    assert_eq!(p.count(TOKEN_URL), 1, "the replay made no token request");
}

#[test]
fn several_tabs_log_in_independently() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q1 = start(&app, &p, &mut jar, "/one");
    let n1 = p.idp.nonce.borrow().clone();
    let q2 = start(&app, &p, &mut jar, "/two");
    assert_eq!(jar.0.len(), 1, "one transaction cookie for both tabs");
    let r2 = finish(&app, &p, &mut jar, &format!("code=c&state={}", q2["state"]));
    assert_eq!(r2.header("location"), Some("/two"));
    *p.idp.nonce.borrow_mut() = n1;
    let r1 = finish(&app, &p, &mut jar, &format!("code=c&state={}", q1["state"]));
    assert_eq!(r1.header("location"), Some("/one"));
}

#[test]
fn cancelled_login_shows_a_friendly_page() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={}", q["state"]));
    assert_rejected(&r, &p, 403, "callback.access_denied");
    assert!(r.body.contains("Login cancelled"));
    assert!(r.body.contains(r#"<a class="button login" href="/auth/login">Log in with Vipps</a>"#), "the retry is the login button");
    assert!(!r.body.contains("<script>alert"));
    // Unknown errors, with or without a valid state, are handled too.
    let r = finish(&app, &p, &mut jar, "error=weird_new_error&state=nope");
    assert_eq!(r.status, 400);
    assert!(!has_session_cookie(&r));
}

#[test]
fn rfc9207_iss_must_match() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}&iss=https%3A%2F%2Fevil.example%2F", q["state"]));
    assert_rejected(&r, &p, 400, "callback.iss_mismatch");
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}&iss={}", q["state"], crate::util::form_urlencode_component(ISSUER)));
    assert_eq!(r.status, 303);
}

#[test]
fn bad_id_token_or_userinfo_sets_no_session() {
    type Setup = Box<dyn Fn(&FakePlatform)>;
    let cases: Vec<(Setup, &str)> = vec![
        (Box::new(|p| *p.idp.id_token_claims.borrow_mut() = Box::new(|c| c["iss"] = json!("https://evil/"))), "id_token.issuer_mismatch"),
        (Box::new(|p| *p.idp.id_token_claims.borrow_mut() = Box::new(|c| c["nonce"] = json!("other"))), "id_token.nonce_mismatch"),
        (Box::new(|p| p.idp.signing_key.set(1)), "id_token.signature"),
        (Box::new(|p| *p.idp.userinfo.borrow_mut() = json!({"sub": "someone-else"})), "userinfo.sub_mismatch"),
    ];
    for (setup, code) in cases {
        let app = app_with(&[]);
        let p = FakePlatform::default();
        setup(&p);
        let mut jar = Jar::default();
        let q = start(&app, &p, &mut jar, "/");
        let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
        assert_eq!(r.status, 401, "{code}: {}", r.body);
        assert!(r.body.contains(code), "{code}");
        assert!(!has_session_cookie(&r), "{code}");
        assert_eq!(p.count(TOKEN_URL), 1, "{code}: the code is never retried");
        if code.starts_with("id_token") {
            assert_eq!(p.count(USERINFO_URL), 0, "{code}: no userinfo call after a bad ID token");
        }
    }
}

#[test]
fn key_rotation_refetches_jwks_at_most_once_a_minute() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);
    // Rotate: the provider now signs with key 1 under a new kid, and publishes it.
    p.idp.signing_key.set(1);
    *p.idp.kid.borrow_mut() = Some("public:key-1".into());
    *p.idp.jwks.borrow_mut() = json!({"keys": [jwk(&keys()[1], "public:key-1")]});
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);
    assert_eq!(p.count(JWKS_URL), 2);
    // A token under an unknown kid within the minute: no further refetch.
    *p.idp.kid.borrow_mut() = Some("public:unknown".into());
    for _ in 0..3 {
        let mut jar = Jar::default();
        let q = start(&app, &p, &mut jar, "/");
        let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
        assert_eq!(r.status, 401);
        assert!(r.body.contains("id_token.unknown_key"));
    }
    assert_eq!(p.count(JWKS_URL), 2);
}

#[test]
fn protected_paths_redirect_browsers_and_401_apis() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/private/x?a=b", &Jar::default()))));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/auth/login?return_to=%2Fprivate%2Fx%3Fa%3Db"));
    let api = IncomingRequest::get("https://shop.example/api/data").unwrap().with_header("accept", "application/json");
    let r = reply(block_on(app.handle(&p, &api)));
    assert_eq!(r.status, 401);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["error"], "session.required");
    let o = block_on(app.handle(&p, &req("https://shop.example/", &Jar::default())));
    assert!(matches!(o, Outcome::Forward(crate::policy::forward::Forward { user: ref u, set_cookies: ref c, .. }) if *u == None && c.is_empty()));
    assert!(p.requests.borrow().is_empty());
}

#[test]
fn tampered_session_cookie_is_not_a_session() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    let v = jar.0.get_mut("__Host-vipps-session").unwrap();
    let pos = v.len() - 3;
    let c = if v.as_bytes()[pos] == b'A' { "B" } else { "A" };
    v.replace_range(pos..pos + 1, c);
    let s = reply(block_on(app.handle(&p, &req("https://shop.example/auth/session", &jar))));
    assert_eq!(s.status, 401);
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/private", &jar))));
    assert_eq!(r.status, 302);
}

#[test]
fn long_return_to_keeps_authorize_url_short_and_open_redirects_fall_back() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let long = format!("/{}", "a".repeat(5000));
    let url = format!("https://shop.example/auth/login?return_to={long}");
    let r = reply(block_on(app.handle(&p, &req(&url, &Jar::default()))));
    assert_eq!(r.status, 302);
    assert!(r.header("location").unwrap().len() < 2000);
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "//evil.example/x");
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.header("location"), Some("/"));
}

#[test]
fn login_moves_to_the_callback_origin_first() {
    let app = app_with(&[("VIPPS_REDIRECT_URI", "http://localhost:8787/auth/callback")]);
    let p = FakePlatform::default();
    let r = reply(block_on(app.handle(&p, &req("http://127.0.0.1:8787/auth/login?return_to=%2Fx", &Jar::default()))));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://localhost:8787/auth/login?return_to=%2Fx"));
    assert!(r.set_cookies().next().is_none());
}

#[test]
fn logout_clears_the_session_and_refuses_cross_site_posts() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut post = IncomingRequest::get("https://shop.example/auth/logout").unwrap().with_header("origin", "https://evil.example");
    post.method = "POST".into();
    let r = reply(block_on(app.handle(&p, &post)));
    assert_eq!(r.status, 403);
    assert!(r.set_cookies().next().is_none());
    let mut post = IncomingRequest::get("https://shop.example/auth/logout").unwrap().with_header("origin", "https://shop.example");
    post.method = "POST".into();
    let r = reply(block_on(app.handle(&p, &post)));
    assert_eq!(r.status, 200);
    assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0")));
}

#[test]
fn broken_config_names_variables_not_values() {
    let m = vars(&[("SESSION_SECRET", "too-short-secret"), ("VIPPS_CLIENT_ID", "")]);
    let app = App::new(Config::from_lookup(&|k| m.get(k).cloned()));
    let p = FakePlatform::default();
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/private", &Jar::default()))));
    assert_eq!(r.status, 500);
    assert!(r.body.contains("SESSION_SECRET") && r.body.contains("VIPPS_CLIENT_ID"));
    assert!(!r.body.contains("too-short-secret"));
    block_on(app.handle(&p, &req("https://shop.example/", &Jar::default())));
    assert_eq!(p.logs.borrow().iter().filter(|(_, c, _)| c == "config.invalid").count(), 1, "logged once per isolate");
}

#[test]
fn logs_never_hold_secrets_or_personal_data() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    finish(&app, &p, &mut jar, &format!("code=the-auth-code&state={}", q["state"]));
    let mut jar2 = Jar::default();
    let q2 = start(&app, &p, &mut jar2, "/");
    finish(&app, &p, &mut jar2, &format!("code=the-auth-code&state={}x", q2["state"]));
    let logs = format!("{:?}", p.logs.borrow());
    for secret in ["the-auth-code", "s3cret-value", "access-token-1", "10121550047", "4712345678", &q["state"], &q["nonce"], "Ada"] {
        assert!(!logs.contains(secret), "log holds {secret}: {logs}");
    }
}

#[test]
fn every_call_to_vipps_carries_the_system_headers() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    let reqs = p.requests.borrow();
    assert_eq!(reqs.len(), 4);
    for r in reqs.iter() {
        assert_eq!(crate::http::header(&r.headers, "vipps-system-name"), Some("vipps-edge-login"), "{}", r.url);
        assert!(crate::http::header(&r.headers, "vipps-system-version").is_some());
        assert!(crate::http::header(&r.headers, "ocp-apim-subscription-key").is_none());
    }
}

#[test]
fn token_endpoint_down_is_503_and_never_retried() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    // Discovery and JWKS are cached by the first login; take Vipps down for the callback.
    p.idp.down.set(true);
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 503);
    assert!(r.body.contains("vipps.unavailable"));
    assert!(!has_session_cookie(&r));
    assert_eq!(p.count(TOKEN_URL), 1);
}

#[test]
fn one_deadline_bounds_all_calls_of_a_callback() {
    // Every call takes 900 ms; each may take 1000 ms; the whole callback 2500 ms.
    let app = app_with(&[("UPSTREAM_TIMEOUT_MS", "1000"), ("UPSTREAM_DEADLINE_MS", "2500")]);
    let p = FakePlatform::default();
    p.latency_ms.set(900);
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(*p.timeouts.borrow(), vec![1000], "login: discovery with the per-call timeout");
    p.timeouts.borrow_mut().clear();
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    // token 900 + JWKS 900 leave 700 ms for userinfo, which needs 900: 503, no session.
    assert_eq!(*p.timeouts.borrow(), vec![1000, 1000, 700]);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("vipps.unavailable"));
    assert!(!has_session_cookie(&r));

    // With too little left, the next call is not started at all.
    let app = app_with(&[("UPSTREAM_TIMEOUT_MS", "1000"), ("UPSTREAM_DEADLINE_MS", "1820")]);
    let p = FakePlatform::default();
    p.latency_ms.set(900);
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 503);
    assert_eq!(p.count(USERINFO_URL), 0, "no userinfo call with 20 ms left");
    assert!(p.logs.borrow().iter().any(|(_, c, d)| c == "vipps.unavailable" && d.contains("UPSTREAM_DEADLINE_MS")));
}

// ---- the gate: canonical paths, double-submitted callbacks ------------------------------

fn forwarded(o: &Outcome) -> Option<&crate::policy::forward::Forward> {
    match o {
        Outcome::Forward(f) => Some(f),
        Outcome::Reply(_) => None,
    }
}

#[test]
fn attack_corpus_never_forwards_without_a_session_and_forwards_only_canonical_paths() {
    let app = app_with(&[("PUBLIC_PATHS", "/, /assets/*")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let anonymous = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    for target in crate::policy::path::tests::corpus() {
        let Ok(url) = url::Url::parse(&format!("https://shop.example{target}")) else { continue };
        let r = IncomingRequest { method: "GET".into(), url, headers: req("https://shop.example/", &anonymous).headers, body: None };
        let o = block_on(app.handle(&p, &r));
        match &o {
            Outcome::Reply(reply) => {
                assert!(matches!(reply.status, 302 | 400), "{target}: {}", reply.status);
                if reply.status == 400 {
                    assert!(reply.body.contains("request.path_refused"), "{target}");
                } else {
                    assert!(reply.header("location").unwrap().starts_with("/auth/login?return_to="), "{target}");
                }
                assert!(!has_session_cookie(reply));
            }
            Outcome::Forward(f) => {
                // Only a public path that every server reads as public gets through.
                assert!(f.user.is_none() && f.path.as_str().starts_with("/assets/"), "{target} forwarded as {}", f.path);
            }
        }
        // With a session, whatever is forwarded is canonical: nothing an origin decodes into
        // another path.
        let r = IncomingRequest { method: "GET".into(), url: r.url, headers: req("https://shop.example/", &jar).headers, body: None };
        if let Some(f) = forwarded(&block_on(app.handle(&p, &r))) {
            let lower = f.path.as_str().to_ascii_lowercase();
            for bad in ["%2f", "%5c", "%2e", "%25", "%3b", "/./", "/../", "//", "\\", "%00"] {
                assert!(!lower.contains(bad), "{target} forwarded as {}", f.path);
            }
        }
    }
    // An API client gets the refusal as JSON with the stable code.
    let api = IncomingRequest::get("https://shop.example/assets/..%2Fprivate%2Findex.html").unwrap().with_header("accept", "application/json");
    let r = reply(block_on(app.handle(&p, &api)));
    assert_eq!(r.status, 400);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["error"], "request.path_refused");
    assert!(p.logged("request.path_refused"));
}

#[test]
fn forward_plan_carries_the_canonical_path() {
    let app = app_with(&[("PUBLIC_PATHS", "/, /assets/*")]);
    let p = FakePlatform::default();
    let o = block_on(app.handle(&p, &req("https://shop.example/%61ssets/site%2ecss?v=1", &Jar::default())));
    // `%2e` in a segment is refused, not decoded into a dot.
    assert!(forwarded(&o).is_none());
    let o = block_on(app.handle(&p, &req("https://shop.example/%61ssets/s%69te.css?v=1", &Jar::default())));
    let f = forwarded(&o).expect("public");
    assert_eq!(f.path.as_str(), "/assets/site.css");
    assert!(!f.is_personal());
    // The login redirect carries the canonical path as return_to.
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/%70rivate/x?y=1", &Jar::default()))));
    assert_eq!(r.header("location"), Some("/auth/login?return_to=%2Fprivate%2Fx%3Fy%3D1"));
}

#[test]
fn double_submitted_callback_logs_in_once_for_both() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/private/");
    let url = format!("https://shop.example/auth/callback?code=abc&state={}", q["state"]);
    let before = jar.header();
    p.yield_on_fetch.set(true);
    let (a, b) = block_on(futures_util::future::join(app.handle(&p, &req(&url, &jar)), app.handle(&p, &req(&url, &jar))));
    let (a, b) = (reply(a), reply(b));
    for r in [&a, &b] {
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/private/"));
        assert!(has_session_cookie(r));
    }
    assert_eq!(p.count(TOKEN_URL), 1, "one code exchange for both");
    assert_eq!(p.count(USERINFO_URL), 1);
    assert!(p.logged("callback.duplicate_joined"));
    // The same callback again with the cookie from before (the browser dropped both answers):
    // the same session, still no second token request.
    let mut old = Jar::default();
    for pair in before.split("; ") {
        let (k, v) = pair.split_once('=').unwrap();
        old.0.insert(k.into(), v.into());
    }
    let c = finish(&app, &p, &mut old, &format!("code=abc&state={}", q["state"]));
    assert_eq!(c.status, 303);
    assert!(has_session_cookie(&c));
    assert_eq!(p.count(TOKEN_URL), 1);
    assert!(p.logged("callback.duplicate_replayed"));
    // After a minute, a replay is a fresh exchange again (which Vipps refuses: codes are
    // single-use).
    p.advance(61);
    let mut old2 = Jar::default();
    old2.0 = old.0.clone();
    for pair in before.split("; ") {
        let (k, v) = pair.split_once('=').unwrap();
        old2.0.insert(k.into(), v.into());
    }
    let _ = finish(&app, &p, &mut old2, &format!("code=abc&state={}", q["state"]));
    assert_eq!(p.count(TOKEN_URL), 2);
}

#[test]
fn a_different_code_for_the_same_state_is_not_joined() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let before = jar.header();
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    let mut old = Jar::default();
    for pair in before.split("; ") {
        let (k, v) = pair.split_once('=').unwrap();
        old.0.insert(k.into(), v.into());
    }
    let _ = finish(&app, &p, &mut old, &format!("code=injected&state={}", q["state"]));
    assert_eq!(p.count(TOKEN_URL), 2, "an injected code is exchanged (and refused by PKCE at Vipps), never given the first result");
}

// ---- identity to the origin ---------------------------------------------------------------

#[test]
fn forwards_carry_claim_headers_and_a_verifiable_assertion() {
    use jwt_compact::alg::Rsa;
    use jwt_compact::{AlgorithmExt, UntrustedToken};
    let pems = format!("{}{}", crate::config::identity::tests::pem(0), crate::config::identity::tests::pem(1));
    let app = app_with(&[
        ("BACKEND", "https://origin.example/app"),
        ("IDENTITY_ASSERTION_KEYS", &pems),
        ("IDENTITY_ASSERTION_TTL", "60"),
        ("IDENTITY_HEADERS", "email,name"),
    ]);
    let p = FakePlatform::default();
    p.idp.userinfo.borrow_mut()["name"] = json!("Åse Ødegård 100%");
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    let forward = |p: &FakePlatform| match block_on(app.handle(p, &req("https://shop.example/private/x", &jar))) {
        Outcome::Forward(f) => f,
        other => panic!("expected a forward, got {other:?}"),
    };
    let f = forward(&p);
    let header = |name: &str| f.identity.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(header("vipps-login-sub").as_deref(), Some(SUB));
    assert_eq!(header("vipps-login-email").as_deref(), Some("ada@example.com"));
    assert_eq!(header("vipps-login-name").as_deref(), Some("%C3%85se %C3%98deg%C3%A5rd 100%25"), "UTF-8 percent-encoded, never cut");
    let token = header("vipps-login-assertion").expect("an assertion");

    // The origin verifies it with the Worker's JWKS, by kid, as any JWT library would.
    let jwks = reply(block_on(app.handle(&p, &req("https://shop.example/auth/jwks.json", &Jar::default()))));
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    let set = crate::oidc::jwks::parse(&jwks.body).unwrap();
    let untrusted = UntrustedToken::new(&token).unwrap();
    assert_eq!(untrusted.algorithm(), "RS256");
    let key = set.select(untrusted.header().key_id.as_deref()).unwrap();
    let verified = Rsa::rs256().validator::<serde_json::Value>(&crate::testkit::rsa_public(&key.n_b64, &key.e_b64).unwrap()).validate(&untrusted).unwrap();
    let c = &verified.claims().custom;
    assert_eq!(c["iss"], "https://shop.example");
    assert_eq!(c["aud"], "https://origin.example");
    assert_eq!(c["sub"], SUB);
    assert_eq!(c["email"], "ada@example.com");
    let claims = verified.claims();
    let lifetime = claims.expiration.unwrap().timestamp() - claims.issued_at.unwrap().timestamp();
    assert_eq!(lifetime, 60);
    // A key that is not in the JWKS does not verify it.
    let other = crate::oidc::jwks::parse(&json!({"keys": [jwk(&keys()[1], "x")]}).to_string()).unwrap();
    assert!(Rsa::rs256().validator::<serde_json::Value>(&crate::testkit::rsa_public(&other.keys[0].n_b64, &other.keys[0].e_b64).unwrap()).validate(&untrusted).is_err());

    // Reused while at least half its life is left, then signed anew.
    assert_eq!(forward(&p).identity, f.identity);
    p.advance(31);
    let later = forward(&p);
    assert_ne!(later.identity.last(), f.identity.last());
}

#[test]
fn static_assets_get_no_assertion_and_anonymous_requests_no_identity() {
    let keys = crate::config::identity::tests::pem(0);
    let app = app_with(&[("IDENTITY_ASSERTION_KEYS", &keys), ("PUBLIC_PATHS", "/, /assets/*")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let anonymous = block_on(app.handle(&p, &req("https://shop.example/assets/a.css", &jar)));
    assert!(matches!(&anonymous, Outcome::Forward(f) if f.identity.is_empty() && !f.is_personal()));
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    let Outcome::Forward(f) = block_on(app.handle(&p, &req("https://shop.example/private/x", &jar))) else { panic!() };
    assert_eq!(f.identity, vec![("vipps-login-sub".to_string(), SUB.to_string())]);
    // Without keys the JWKS route does not exist.
    let r = reply(block_on(app_with(&[]).handle(&p, &req("https://shop.example/auth/jwks.json", &Jar::default()))));
    assert_eq!(r.status, 404);
}

// ---- session lifetimes ------------------------------------------------------------------------

fn forwarded_cookies(o: &Outcome) -> Option<Vec<String>> {
    match o {
        Outcome::Forward(f) => Some(f.set_cookies.clone()),
        Outcome::Reply(_) => None,
    }
}

#[test]
fn idle_sessions_end_and_active_ones_slide_until_the_absolute_lifetime() {
    // Absolute 10 h, idle 1 h, re-issued after a quarter of the idle window (15 min).
    // Logout records off: no revocation re-issues mixed into the idle re-issues counted here.
    let app = app_with(&[
        ("SESSION_TTL", "36000"),
        ("SESSION_IDLE_TIMEOUT", "3600"),
        ("SESSION_REFRESH_PERCENT", "25"),
        ("SESSION_END_ON_LOGOUT", "false"),
    ]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"]));
    assert!(r.set_cookies().any(|c| c.contains("Max-Age=3600")), "the first cookie lives for the idle window");
    let protected = |jar: &Jar| block_on(app.handle(&p, &req("https://shop.example/private/", jar)));
    // Within the first quarter: no re-issue.
    p.advance(600);
    assert_eq!(forwarded_cookies(&protected(&jar)), Some(vec![]));
    // After it: re-issued, sliding the idle window.
    p.advance(400);
    let cookies = forwarded_cookies(&protected(&jar)).expect("forwarded");
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].contains("Max-Age=3600"), "{}", cookies[0]);
    jar.absorb(&Reply::new(200, "text/plain", String::new()).with_cookie(cookies[0].clone()));
    // Active every 50 minutes: the session lives on until its absolute lifetime...
    for _ in 0..11 {
        p.advance(3000);
        let cookies = forwarded_cookies(&protected(&jar)).expect("still logged in");
        for c in cookies {
            jar.absorb(&Reply::new(200, "text/plain", String::new()).with_cookie(c));
        }
    }
    // ...and ends there, whatever the activity (10 h after the login).
    p.advance(3000);
    assert_eq!(reply(protected(&jar)).status, 302);

    // A session left alone for longer than the idle timeout has ended.
    let mut idle = Jar::default();
    let q = start(&app, &p, &mut idle, "/");
    assert_eq!(finish(&app, &p, &mut idle, &format!("code=abc&state={}", q["state"])).status, 303);
    p.advance(3599);
    assert!(forwarded_cookies(&protected(&idle)).is_some());
    p.advance(3601);
    let r = reply(protected(&idle));
    assert_eq!(r.status, 302, "idle too long: log in again");
}

#[test]
fn a_session_of_another_deployment_is_not_valid_here() {
    // Same SESSION_SECRET, another Vipps client: the cookie does not verify.
    let p = FakePlatform::default();
    let ours = crate::config::tests::parse(&[]).unwrap();
    for other in [("VIPPS_CLIENT_ID", "client-2"), ("VIPPS_CLIENT_ID", "client-1-staging")] {
        let theirs = crate::config::tests::parse(&[other]).unwrap();
        let info = serde_json::Map::new();
        let (set_cookie, _) = crate::session::Session::from_userinfo(&theirs, SUB, "sid-1".into(), &info, p.now()).to_set_cookie(&theirs);
        let pair = set_cookie.split(';').next().unwrap();
        assert!(crate::session::Session::from_cookie_header(&theirs, pair, p.now()).is_some());
        assert!(crate::session::Session::from_cookie_header(&ours, pair, p.now()).is_none(), "{other:?}");
    }
}

#[test]
fn key_rotation_keeps_sessions_and_logins_in_flight() {
    let old = "0123456789abcdef0123456789abcdef";
    let new = "fedcba9876543210fedcba9876543210";
    let before = app_with(&[("SESSION_SECRET", old)]);
    let after = app_with(&[("SESSION_SECRET", &format!("{new}, {old}"))]);
    let p = FakePlatform::default();
    // A session from before the rotation stays valid.
    let mut jar = Jar::default();
    let q = start(&before, &p, &mut jar, "/");
    assert_eq!(finish(&before, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    assert!(matches!(block_on(after.handle(&p, &req("https://shop.example/private/", &jar))), Outcome::Forward(_)));
    // A login started under the old key completes after the rotation (same PKCE verifier).
    let mut jar = Jar::default();
    let q = start(&before, &p, &mut jar, "/private/");
    let r = finish(&after, &p, &mut jar, &format!("code=abc&state={}", q["state"]));
    assert_eq!(r.status, 303, "{}", r.body);
    let token_req = p.requests.borrow().iter().rev().find(|r| r.url == TOKEN_URL).cloned().unwrap();
    let body: HashMap<String, String> = url::form_urlencoded::parse(token_req.body.unwrap().as_bytes()).into_owned().collect();
    let verifier = crate::secret::Secret::new(body["code_verifier"].clone());
    assert_eq!(crate::oidc::authorize::s256_challenge(&verifier), q["code_challenge"]);
    // The new session is signed with the new key: the old deployment no longer reads it.
    assert!(matches!(block_on(after.handle(&p, &req("https://shop.example/private/", &jar))), Outcome::Forward(_)));
    let r = reply(block_on(before.handle(&p, &req("https://shop.example/private/", &jar))));
    assert_eq!(r.status, 302);
    // Once the old key is removed, its sessions end.
    let only_new = app_with(&[("SESSION_SECRET", new)]);
    let mut old_jar = Jar::default();
    let q = start(&before, &p, &mut old_jar, "/");
    assert_eq!(finish(&before, &p, &mut old_jar, &format!("code=abc&state={}", q["state"])).status, 303);
    assert_eq!(reply(block_on(only_new.handle(&p, &req("https://shop.example/private/", &old_jar)))).status, 302);
}

#[test]
fn a_cookie_domain_shares_the_session_with_subdomains() {
    let app = app_with(&[("SESSION_COOKIE_DOMAIN", "shop.example")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    let r = finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"]));
    let session = r.set_cookies().find(|c| c.starts_with("__Secure-vipps-session=")).expect("a __Secure- cookie");
    assert!(session.contains("; Domain=shop.example;"), "{session}");
    assert!(!r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=") && !c.contains("Max-Age=0")));
    // The login transaction stays host-only.
    assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-login=")));
    let Outcome::Forward(f) = block_on(app.handle(&p, &req("https://shop.example/private/", &jar))) else { panic!("logged in") };
    assert!(f.user.is_some());
    // Logout clears it with the same Domain, or the browser would keep it.
    let mut logout = IncomingRequest { method: "POST".into(), ..req("https://shop.example/auth/logout", &jar) };
    logout.headers.push(("origin".into(), "https://shop.example".into()));
    let r = reply(block_on(app.handle(&p, &logout)));
    assert!(r.set_cookies().any(|c| c.starts_with("__Secure-vipps-session=;") && c.contains("Domain=shop.example") && c.contains("Max-Age=0")), "{:?}", r.headers);
    // The shared cookie is the Worker's own: never forwarded to the origin.
    assert_eq!(crate::policy::forward::strip_own_cookies("__Secure-vipps-session=x; a=b").as_deref(), Some("a=b"));
}

#[test]
fn cookie_domains_and_claim_sets_are_checked_at_configuration() {
    let problem = |vars: &[(&str, &str)], var: &str| {
        crate::config::tests::parse(vars).err().is_some_and(|e| e.0.iter().any(|p| p.var == var))
    };
    assert!(problem(&[("SESSION_COOKIE_DOMAIN", "other.example")], "SESSION_COOKIE_DOMAIN"), "must contain the callback host");
    assert!(problem(&[("SESSION_COOKIE_DOMAIN", "example")], "SESSION_COOKIE_DOMAIN"));
    assert!(problem(&[("SESSION_COOKIE_DOMAIN", "hop.example")], "SESSION_COOKIE_DOMAIN"), "a suffix is not a parent domain");
    assert!(!problem(&[("SESSION_COOKIE_DOMAIN", ".shop.example")], "SESSION_COOKIE_DOMAIN"));
    assert!(problem(&[("SESSION_CLAIMS", "name,address,other_addresses,delegatedConsents")], "SESSION_CLAIMS"));
    assert!(!problem(&[("SESSION_CLAIMS", "name,email,address")], "SESSION_CLAIMS"));
}

fn logout(app: &App, p: &FakePlatform, jar: &Jar, query: &str) -> Reply {
    let mut r = IncomingRequest { method: "POST".into(), ..req(&format!("https://shop.example/auth/logout{query}"), jar) };
    r.headers.push(("origin".into(), "https://shop.example".into()));
    reply(block_on(app.handle(p, &r)))
}

fn logged_in_jar(app: &App, p: &FakePlatform) -> Jar {
    let mut jar = Jar::default();
    let q = start(app, p, &mut jar, "/");
    assert_eq!(finish(app, p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    jar
}

#[test]
fn logout_ends_the_session_for_good_and_everywhere_ends_them_all() {
    let app = app_with(&[]);
    let other_isolate = app_with(&[]);
    let p = FakePlatform::default();
    let jar = logged_in_jar(&app, &p);
    let copy = Jar(jar.0.clone());
    let second_browser = logged_in_jar(&app, &p);
    let is_forward = |app: &App, jar: &Jar| matches!(block_on(app.handle(&p, &req("https://shop.example/private/", jar))), Outcome::Forward(_));
    assert!(is_forward(&other_isolate, &copy));
    let r = logout(&app, &p, &jar, "");
    assert_eq!(r.status, 303);
    // A copy of the cookie taken before the logout: refused at once here...
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/private/", &copy))));
    assert_eq!(r.status, 302);
    assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0")));
    // ...and in another isolate at its next check (SESSION_RECHECK, default 240 s).
    p.advance(241);
    assert!(!is_forward(&other_isolate, &copy));
    assert!(p.logged("session.logged_out"));
    // Another browser of the same user is not affected by a plain logout...
    assert!(is_forward(&app, &second_browser));
    // ...but "log out everywhere" ends it (here at once, elsewhere at the next check).
    let third = logged_in_jar(&app, &p);
    assert_eq!(logout(&app, &p, &third, "?everywhere=1").status, 303);
    assert!(!is_forward(&app, &second_browser));
    p.advance(241);
    assert!(!is_forward(&other_isolate, &second_browser));
    // A login afterwards starts a fresh session that works.
    p.advance(1);
    let fresh = logged_in_jar(&app, &p);
    assert!(is_forward(&other_isolate, &fresh));
    // KV down: the browser is still logged out; "everywhere" says it could not be done.
    p.kv_broken.set(true);
    let r = logout(&app, &p, &fresh, "?everywhere=1");
    assert_eq!(r.status, 503);
    assert!(r.body.contains("logout.store_failed"));
    assert!(r.set_cookies().any(|c| c.contains("Max-Age=0")));
}

#[test]
fn a_backend_that_does_not_answer_gets_the_routes_error_in_the_users_language() {
    let app = app_with(&[("PROTECTED_PATHS", "/private/*"), ("API_PATHS", "/private/api/*")]);
    let p = FakePlatform::default();
    let spec = crate::router::Route::Protected.spec();
    let nav = IncomingRequest::get("https://shop.example/private/a?b=1")
        .unwrap()
        .with_header("accept", "text/html")
        .with_header("accept-language", "nb-NO,nb;q=0.9");
    let r = block_on(app.forward_failed(&p, &nav, spec, "connection refused".into()));
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-language"), Some("nb"));
    assert!(r.body.contains(r#"href="/private/a?b=1""#), "a reload of the page: {}", r.body);
    assert!(!r.body.contains("connection refused"), "no detail to the user");
    assert!(p.logged("backend.unavailable"));
    let api = IncomingRequest::get("https://shop.example/private/api/x").unwrap().with_header("accept", "application/json");
    let r = block_on(app.forward_failed(&p, &api, crate::router::Route::ProtectedApi.spec(), "timeout".into()));
    assert_eq!(r.status, 502);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "backend.unavailable");
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn an_assertion_key_the_runtime_refuses_refuses_the_request_and_fails_health() {
    let keys = crate::config::identity::tests::pem(0);
    let app = app_with(&[("BACKEND", "https://origin.example/app"), ("IDENTITY_ASSERTION_KEYS", &keys)]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"])).status, 303);
    // WebCrypto refuses the key (or fails): never forwarded without the assertion.
    p.runtime_crypto_broken.set(true);
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/private/x", &jar))));
    assert_eq!(r.status, 500);
    assert!(p.logs.borrow().iter().any(|(_, code, detail)| code == "config.invalid" && detail.starts_with("IDENTITY_ASSERTION_KEYS")));
    assert!(!p.logs.borrow().iter().any(|(_, _, detail)| detail.contains("MII")), "no key material logged");
    assert_eq!(reply(block_on(app.handle(&p, &req("https://shop.example/auth/jwks.json", &Jar::default())))).status, 500);
    let health = reply(block_on(app.handle(&p, &req("https://shop.example/auth/health", &Jar::default()))));
    assert_eq!(health.status, 503);
    let body: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(body["config"]["problems"], json!(["IDENTITY_ASSERTION_KEYS"]));
    // The same key read by a working runtime: healthy, and the request is forwarded with it.
    p.runtime_crypto_broken.set(false);
    assert_eq!(reply(block_on(app.handle(&p, &req("https://shop.example/auth/health", &Jar::default())))).status, 200);
    let Outcome::Forward(f) = block_on(app.handle(&p, &req("https://shop.example/private/x", &jar))) else { panic!("expected a forward") };
    assert!(f.identity.iter().any(|(k, _)| k == "vipps-login-assertion"));
}
