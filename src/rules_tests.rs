//! Access rules and API paths through [`App::handle`]: each refusal with its exact status and
//! code, no cookie set, nothing forwarded, and log lines without personal data.

use crate::app::App;
use crate::app_tests::{app_with, finish, has_session_cookie, req, start, Jar};
use crate::testkit::reply;
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::policy::forward::Forward;
use crate::testkit::*;
use serde_json::{json, Value};

const RULES: &str = "/admin/* = email:ada@example.com, sub:someone-else\n/staff/* = domain:example.com\n/phone/* = phone:+47 12 34 56 78\n/sub/* = sub:c06c4afe-d9e1-4c5d-939a-177d752a0944\n/other-sub/* = sub:someone-else";

fn rules_app(extra: &[(&str, &str)]) -> App {
    let mut all = vec![("ACCESS_RULES", RULES), ("VIPPS_SCOPE", "openid name email phoneNumber"), ("API_PATHS", "/api/*, /admin/api/*")];
    all.extend_from_slice(extra);
    app_with(&all)
}

/// A logged-in browser whose userinfo is `userinfo` (the fake provider's `sub`).
fn logged_in(app: &App, p: &FakePlatform, userinfo: Value) -> Jar {
    *p.idp.userinfo.borrow_mut() = userinfo;
    let mut jar = Jar::default();
    let q = start(app, p, &mut jar, "/");
    let r = finish(app, p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.status, 303, "{}", r.body);
    jar
}

fn ada(email: &str, verified: Value) -> Value {
    json!({"sub": SUB, "name": "Ada Lovelace", "email": email, "email_verified": verified, "phone_number": "4712345678"})
}

fn api(url: &str, jar: &Jar) -> IncomingRequest {
    IncomingRequest::get(url).unwrap().with_header("cookie", &jar.header()).with_header("accept", "application/json")
}

fn forwards_as(o: &Outcome) -> Option<&Forward> {
    match o {
        Outcome::Forward(f) => Some(f),
        Outcome::Reply(_) => None,
    }
}

/// A refusal: exact status and code (page or JSON), no cookie of any kind set.
fn assert_refused(o: Outcome, status: u16, code: &str, page: bool) -> Reply {
    let r = reply(o);
    assert_eq!(r.status, status, "{}", r.body);
    if page {
        assert!(r.header("content-type").unwrap().starts_with("text/html"), "{:?}", r.headers);
        assert!(r.body.contains(&format!("Error code: {code}")), "{}", r.body);
    } else {
        assert_eq!(r.header("content-type"), Some("application/json"));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"], code);
    }
    assert_eq!(r.set_cookies().count(), 0, "no cookie may be set");
    assert!(r.header("location").is_none(), "never a redirect");
    r
}

#[test]
fn an_admitted_user_is_forwarded_with_the_user() {
    let app = rules_app(&[]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p, ada("Ada@Example.com", json!(true)));
    for path in ["/admin/x", "/ADMIN/x", "/staff/", "/phone/a", "/sub/a", "/elsewhere"] {
        let o = block_on(app.handle(&p, &req(&format!("https://shop.example{path}"), &jar)));
        let f = forwards_as(&o).unwrap_or_else(|| panic!("{path}: {o:?}"));
        assert_eq!(f.user.as_deref(), Some(SUB), "{path}");
    }
}

#[test]
fn a_user_the_rules_do_not_admit_gets_403_never_the_login() {
    let app = rules_app(&[]);
    let p = FakePlatform::default();
    // Verified, but on another domain and with another phone number and sub.
    let jar = logged_in(&app, &p, json!({"sub": SUB, "email": "ada@evil-example.com", "email_verified": true, "phone_number": "4799999999"}));
    for path in ["/admin/x", "/staff/x", "/phone/x", "/other-sub/x"] {
        let url = format!("https://shop.example{path}?q=1");
        let page = assert_refused(block_on(app.handle(&p, &req(&url, &jar))), 403, "access.forbidden", true);
        assert!(page.body.contains("No access"), "{path}");
        assert!(!page.body.contains("Try again"), "{path}: no retry link into a login loop");
        assert_refused(block_on(app.handle(&p, &api(&url, &jar))), 403, "access.forbidden", false);
        // Other methods and other spellings of the path.
        let encoded = format!("/%{:02X}{}", path.as_bytes()[1], &path[2..]);
        for spelling in [path.to_uppercase(), encoded] {
            let mut post = req(&format!("https://shop.example{spelling}"), &jar);
            post.method = "POST".into();
            assert_refused(block_on(app.handle(&p, &post)), 403, "access.forbidden", true);
        }
    }
    // The log names the rule by number and the user by a hash, never an email or phone number.
    let logs = format!("{:?}", p.logs.borrow());
    assert!(p.logged("access.forbidden"));
    assert!(logs.contains("rule 1 does not admit sub#"), "{logs}");
    for pii in ["ada@", "evil-example", "4799999999", SUB] {
        assert!(!logs.contains(pii), "log holds {pii}: {logs}");
    }
}

#[test]
fn an_unverified_email_or_one_with_several_at_signs_never_matches() {
    for (email, verified) in [
        ("ada@example.com", json!(false)),
        ("ada@example.com", json!("true")),
        ("ada@example.com", Value::Null),
        ("ada@evil.example@example.com", json!(true)),
        ("ada@example.com@evil.example", json!(true)),
        ("ada@sub.example.com", json!(true)),
        ("ada@example.com.", json!(true)),
    ] {
        let app = rules_app(&[]);
        let p = FakePlatform::default();
        let mut info = ada(email, verified.clone());
        info["phone_number"] = json!("4700000000");
        let jar = logged_in(&app, &p, info);
        for path in ["/admin/x", "/staff/x"] {
            let o = block_on(app.handle(&p, &api(&format!("https://shop.example{path}"), &jar)));
            assert_refused(o, 403, "access.forbidden", false);
        }
    }
}

#[test]
fn api_paths_answer_401_json_never_a_redirect() {
    let app = rules_app(&[]);
    let p = FakePlatform::default();
    for path in ["/api/orders", "/API/orders", "/admin/api/x"] {
        // Even a browser navigation.
        let o = block_on(app.handle(&p, &req(&format!("https://shop.example{path}"), &Jar::default())));
        assert_refused(o, 401, "session.required", false);
        let mut post = api(&format!("https://shop.example{path}"), &Jar::default());
        post.method = "POST".into();
        assert_refused(block_on(app.handle(&p, &post)), 401, "session.required", false);
    }
    // A protected page that is not an API path still sends browsers to the login.
    let r = reply(block_on(app.handle(&p, &req("https://shop.example/admin/x", &Jar::default()))));
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/auth/login?return_to=%2Fadmin%2Fx"));
    // A logged-in user the rules refuse on an API path: 403 JSON, even for a navigation.
    let jar = logged_in(&app, &p, ada("ada@elsewhere.example", json!(true)));
    let o = block_on(app.handle(&p, &req("https://shop.example/admin/api/x", &jar)));
    assert_refused(o, 403, "access.forbidden", false);
    // An API path the rules admit is forwarded.
    let o = block_on(app.handle(&p, &req("https://shop.example/api/orders", &jar)));
    assert_eq!(forwards_as(&o).and_then(|f| f.user.as_deref()), Some(SUB));
    assert_eq!(p.count(TOKEN_URL), 1, "no login was started by any refusal");
}

#[test]
fn sessions_keep_the_claims_rules_read() {
    // SESSION_CLAIMS lists none of them: the rules add what they read.
    let app = rules_app(&[("SESSION_CLAIMS", "name")]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p, ada("ada@example.com", json!(true)));
    let s = reply(block_on(app.handle(&p, &req("https://shop.example/auth/session", &jar))));
    let v: Value = serde_json::from_str(&s.body).unwrap();
    for claim in ["email", "email_verified", "phone_number", "name"] {
        assert!(v.get(claim).is_some(), "{claim} missing in {v}");
    }
    assert!(v.get("nin").is_none());
    let o = block_on(app.handle(&p, &req("https://shop.example/phone/x", &jar)));
    assert!(forwards_as(&o).is_some());
}

#[test]
fn public_paths_and_auth_routes_are_not_ruled() {
    let app = rules_app(&[("PUBLIC_PATHS", "/, /admin/help")]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p, ada("ada@elsewhere.example", json!(true)));
    let o = block_on(app.handle(&p, &req("https://shop.example/admin/help", &jar)));
    assert!(forwards_as(&o).is_some(), "public wins");
    let o = block_on(app.handle(&p, &req("https://shop.example/Admin/help", &jar)));
    assert_refused(o, 403, "access.forbidden", true);
    let s = reply(block_on(app.handle(&p, &api("https://shop.example/auth/session", &jar))));
    assert_eq!(s.status, 200, "the session route shows a refused user who they are");
}

#[test]
fn the_path_attack_corpus_is_refused_or_ruled() {
    // Whatever an origin could read as /admin/... is refused as a path or decided by the rule.
    let app = rules_app(&[("PUBLIC_PATHS", "/, /assets/*"), ("ACCESS_RULES", "/private/* = sub:nobody")]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p, ada("ada@example.com", json!(true)));
    for target in crate::policy::path::tests::corpus() {
        let Ok(url) = url::Url::parse(&format!("https://shop.example{target}")) else { continue };
        let r = IncomingRequest { method: "GET".into(), url, headers: req("https://shop.example/", &jar).headers, body: None };
        match block_on(app.handle(&p, &r)) {
            Outcome::Forward(f) => {
                // Canonical: decoding it resolves nothing, so this is what every origin reads.
                let plain = percent_encoding::percent_decode_str(f.path.as_str()).decode_utf8_lossy().to_ascii_lowercase();
                assert!(!plain.starts_with("/private"), "{target} forwarded as {}", f.path);
            }
            Outcome::Reply(r) => {
                assert!(matches!(r.status, 400 | 403), "{target}: {}", r.status);
                assert!(!has_session_cookie(&r));
            }
        }
    }
}
