//! The login variants through [`crate::app::App::handle`] on a fake platform and provider:
//! silent attempts, in-app confirmation and step-up, markets, the retry after
//! `temporarily_unavailable`, registration. Every outcome asserted exactly.

use crate::app::App;
use crate::app_tests::{app_with, finish, has_session_cookie, req, start, Jar};
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::oidc::options::APP_AUTH;
use crate::platform::Platform;
use crate::testkit::*;
use serde_json::json;
use std::collections::HashMap;

fn get(app: &App, p: &FakePlatform, jar: &mut Jar, url: &str) -> Outcome {
    let o = block_on(app.handle(p, &req(url, jar)));
    if let Outcome::Reply(r) = &o {
        jar.absorb(r);
    }
    o
}

fn get_reply(app: &App, p: &FakePlatform, jar: &mut Jar, url: &str) -> Reply {
    reply(get(app, p, jar, url))
}

fn authorize_query(r: &Reply) -> HashMap<String, String> {
    let loc = url::Url::parse(r.header("location").unwrap()).unwrap();
    assert!(loc.as_str().starts_with(AUTHORIZE_URL), "{loc}");
    loc.query_pairs().into_owned().collect()
}

fn login_with(app: &App, p: &FakePlatform, jar: &mut Jar, query: &str) -> HashMap<String, String> {
    let r = get_reply(app, p, jar, &format!("https://shop.example/auth/login?{query}"));
    assert_eq!(r.status, 302, "{}", r.body);
    let q = authorize_query(&r);
    *p.idp.nonce.borrow_mut() = q["nonce"].clone();
    q
}

fn json_get(app: &App, p: &FakePlatform, jar: &Jar, url: &str) -> Reply {
    let r = IncomingRequest::get(url).unwrap().with_header("cookie", &jar.header()).with_header("accept", "application/json");
    reply(block_on(app.handle(p, &r)))
}

fn forwarded(o: &Outcome) -> bool {
    matches!(o, Outcome::Forward(_))
}

#[test]
fn a_silent_attempt_while_off_returns_at_once() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let r = get_reply(&app, &p, &mut jar, "https://shop.example/auth/login?silent=1&return_to=%2Fshop%3Fa%3D1");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/shop?a=1&vipps_login=silent_unavailable"));
    assert_eq!(p.count(DISCOVERY_URL), 0, "nothing asked of Vipps");
    assert!(cookie_pair(&r, "__Host-vipps-login").is_none());
}

#[test]
fn a_failed_silent_attempt_returns_without_a_page_or_a_session() {
    for (error, marker) in [("login_required", "login_required"), ("interaction_required", "login_required"), ("server_error", "silent_failed")] {
        let app = app_with(&[("SILENT_LOGIN", "no_dialog")]);
        let p = FakePlatform::default();
        let mut jar = Jar::default();
        let q = login_with(&app, &p, &mut jar, "silent=1&return_to=%2Fshop");
        assert_eq!(q["requested_flow"], "no_dialog");
        assert!(!q.contains_key("prompt"));
        let r = finish(&app, &p, &mut jar, &format!("error={error}&error_description=x&state={}", q["state"]));
        assert_eq!(r.status, 303, "{error}: {}", r.body);
        assert_eq!(r.header("location"), Some(format!("/shop?vipps_login={marker}").as_str()));
        assert!(!has_session_cookie(&r));
        assert!(r.set_cookies().any(|c| c.starts_with("__Host-vipps-login=;") && c.contains("Max-Age=0")), "the attempt is consumed");
        assert_eq!(cookie_pair(&r, "__Host-vipps-silent"), Some(format!("__Host-vipps-silent={marker}")));
        assert_eq!(p.count(TOKEN_URL), 0);
        // The front end can tell from /auth/session too.
        let s = json_get(&app, &p, &jar, "https://shop.example/auth/session");
        assert_eq!(s.status, 401);
        let v: serde_json::Value = serde_json::from_str(&s.body).unwrap();
        assert_eq!((v["error"].as_str(), v["silent_login"].as_str()), (Some("session.required"), Some(marker)));
        // Forgotten after a successful login.
        let q = login_with(&app, &p, &mut jar, "return_to=%2Fshop");
        let ok = finish(&app, &p, &mut jar, &format!("code=z&state={}", q["state"]));
        assert!(ok.set_cookies().any(|c| c.starts_with("__Host-vipps-silent=;") && c.contains("Max-Age=0")));
        jar.0.retain(|k, _| k != "__Host-vipps-session");
        // The same error on an ordinary login is the error page.
        let q = login_with(&app, &p, &mut jar, "return_to=%2Fshop");
        let r = finish(&app, &p, &mut jar, &format!("error={error}&state={}", q["state"]));
        assert_eq!(r.status, 400, "{error}");
        assert!(r.body.contains("callback.provider_error"));
    }
}

#[test]
fn a_successful_silent_attempt_logs_in_and_prompt_none_is_the_other_spelling() {
    let app = app_with(&[("SILENT_LOGIN", "prompt_none")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = login_with(&app, &p, &mut jar, "silent=1&return_to=%2Fshop");
    assert_eq!(q["prompt"], "none");
    assert!(!q.contains_key("requested_flow"));
    let r = finish(&app, &p, &mut jar, &format!("code=abc&state={}", q["state"]));
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/shop"));
    assert!(has_session_cookie(&r));
    let s = json_get(&app, &p, &jar, "https://shop.example/auth/session");
    assert_eq!(s.status, 200);
}

const BANK: (&str, &str) = ("STEP_UP_RULES", "/bank/* = app_auth\n/recent/* = max_age=300\n/strong/* = step_up");

#[test]
fn a_weaker_session_steps_up_on_an_app_auth_path() {
    let app = app_with(&[BANK, ("API_PATHS", "/bank/api/*")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert!(!q.contains_key("acr_values"));
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=a&state={}", q["state"])).status, 303);
    // Logged in without in-app confirmation: a navigation logs in again, keeping the page.
    let r = get_reply(&app, &p, &mut jar, "https://shop.example/bank/pay?to=1");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/auth/login?return_to=%2Fbank%2Fpay%3Fto%3D1"));
    // An API client is told to step up.
    let r = json_get(&app, &p, &jar, "https://shop.example/bank/api/x");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("session.step_up_required"), "{}", r.body);
    // The login for that page asks for in-app confirmation; the token shows it: through.
    let q = login_with(&app, &p, &mut jar, "return_to=%2Fbank%2Fpay%3Fto%3D1");
    assert_eq!(q["acr_values"], APP_AUTH);
    *p.idp.id_token_claims.borrow_mut() = Box::new(|c| c["acr"] = json!(APP_AUTH));
    let r = finish(&app, &p, &mut jar, &format!("code=b&state={}", q["state"]));
    assert_eq!((r.status, r.header("location")), (303, Some("/bank/pay?to=1")), "{}", r.body);
    assert!(forwarded(&get(&app, &p, &mut jar, "https://shop.example/bank/pay?to=1")));
    let s: serde_json::Value = serde_json::from_str(&json_get(&app, &p, &jar, "https://shop.example/auth/session").body).unwrap();
    assert_eq!(s["acr"], APP_AUTH);
}

#[test]
fn a_wrong_or_missing_acr_is_refused() {
    for (acr, code) in [(Some("urn:vipps:acr:browser"), "id_token.acr_mismatch"), (None, "id_token.acr_missing")] {
        let app = app_with(&[BANK]);
        let p = FakePlatform::default();
        let mut jar = Jar::default();
        let q = login_with(&app, &p, &mut jar, "return_to=%2Fbank%2F");
        *p.idp.id_token_claims.borrow_mut() = Box::new(move |c| {
            if let Some(a) = acr {
                c["acr"] = json!(a);
            }
        });
        let r = finish(&app, &p, &mut jar, &format!("code=a&state={}", q["state"]));
        assert_eq!(r.status, 401, "{code}");
        assert!(r.body.contains(code), "{}", r.body);
        assert!(r.body.contains("Confirmation in the app needed") && r.body.contains("/auth/login?return_to=%2Fbank%2F"), "{}", r.body);
        assert!(!has_session_cookie(&r));
    }
}

#[test]
fn max_age_and_step_up_paths() {
    let app = app_with(&[BANK]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    // An auth_time older than the path allows is refused at the callback.
    let q = login_with(&app, &p, &mut jar, "return_to=%2Frecent%2F");
    assert!(!q.contains_key("max_age"), "checked on our side, not sent");
    let now = p.now();
    *p.idp.id_token_claims.borrow_mut() = Box::new(move |c| c["auth_time"] = json!(now - 1000));
    let r = finish(&app, &p, &mut jar, &format!("code=a&state={}", q["state"]));
    assert_eq!(r.status, 401);
    assert!(r.body.contains("id_token.auth_time_too_old") && r.body.contains("Recent login needed"));
    assert!(!has_session_cookie(&r));
    // A fresh one passes, and the session ages out of the path after max_age.
    *p.idp.id_token_claims.borrow_mut() = Box::new(|_| {});
    let q = login_with(&app, &p, &mut jar, "return_to=%2Frecent%2F");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=b&state={}", q["state"])).status, 303);
    assert!(forwarded(&get(&app, &p, &mut jar, "https://shop.example/recent/x")));
    p.advance(301);
    let r = get_reply(&app, &p, &mut jar, "https://shop.example/recent/x");
    assert_eq!((r.status, r.header("location")), (302, Some("/auth/login?return_to=%2Frecent%2Fx")));
    // step_up: the session must come from a login that asked for it.
    let r = get_reply(&app, &p, &mut jar, "https://shop.example/strong/x");
    assert_eq!(r.status, 302);
    let q = login_with(&app, &p, &mut jar, "return_to=%2Fstrong%2Fx");
    assert_eq!(q["step_up"], "true");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);
    assert!(forwarded(&get(&app, &p, &mut jar, "https://shop.example/strong/x")));
}

#[test]
fn temporarily_unavailable_is_retried_once() {
    let app = app_with(&[("RETRY_TEMPORARILY_UNAVAILABLE", "true"), ("VIPPS_MARKETS", "DK")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = login_with(&app, &p, &mut jar, "return_to=%2Fshop&market=DK");
    let r = finish(&app, &p, &mut jar, &format!("error=temporarily_unavailable&state={}", q["state"]));
    assert_eq!(r.status, 302, "{}", r.body);
    let again = authorize_query(&r);
    assert_ne!(again["state"], q["state"]);
    assert_eq!(again["market"], "DK", "the retry asks for what the first login asked");
    assert!(!has_session_cookie(&r));
    // The second time the user sees the page (in the login's brand), and nothing loops.
    let r = finish(&app, &p, &mut jar, &format!("error=temporarily_unavailable&state={}", again["state"]));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("callback.provider_error") && r.body.contains("#5A78FF"), "{}", r.body);
    assert_eq!(p.count(TOKEN_URL), 0);
    // Off: the page at once.
    let app = app_with(&[]);
    let mut jar = Jar::default();
    let q = login_with(&app, &p, &mut jar, "return_to=%2Fshop");
    assert_eq!(finish(&app, &p, &mut jar, &format!("error=temporarily_unavailable&state={}", q["state"])).status, 400);
}

#[test]
fn markets_from_the_allowed_list_only() {
    let app = app_with(&[("VIPPS_MARKETS", "DK,NO"), ("VIPPS_MARKET", "NO")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    assert_eq!(login_with(&app, &p, &mut jar, "market=DK")["market"], "DK");
    assert_eq!(login_with(&app, &p, &mut jar, "market=FI")["market"], "NO", "not allowed: the configured one");
    assert_eq!(login_with(&app, &p, &mut jar, "market=dk")["market"], "NO");
    // An error page of a DK login wears MobilePay.
    let q = login_with(&app, &p, &mut jar, "market=DK");
    let r = finish(&app, &p, &mut jar, &format!("error=access_denied&state={}", q["state"]));
    assert_eq!(r.status, 403);
    assert!(r.body.contains("MobilePay") && r.body.contains("#5A78FF"), "{}", r.body);
    let q = login_with(&app, &p, &mut jar, "");
    let r = finish(&app, &p, &mut jar, &format!("error=access_denied&state={}", q["state"]));
    assert!(!r.body.contains("#5A78FF"));
    // The login route's own errors wear the market asked for too (a fresh isolate, Vipps down).
    let app = app_with(&[("VIPPS_MARKETS", "DK,NO"), ("VIPPS_MARKET", "NO")]);
    let p = FakePlatform::default();
    p.idp.down.set(true);
    let r = get_reply(&app, &p, &mut Jar::default(), "https://shop.example/auth/login?market=DK");
    assert_eq!(r.status, 503);
    assert!(r.body.contains("#5A78FF"), "{}", r.body);
    let r = get_reply(&app, &p, &mut Jar::default(), "https://shop.example/auth/login?market=FI");
    assert!(r.body.contains("#FF5B24") && !r.body.contains("#5A78FF"), "FI is not allowed here");
}

#[test]
fn registration_asks_for_its_scopes() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    assert_eq!(get_reply(&app, &p, &mut jar, "https://shop.example/auth/register").status, 404);
    let app = app_with(&[("REGISTER_SCOPE", "name phoneNumber customFlow address birthDate")]);
    let r = get_reply(&app, &p, &mut jar, "https://shop.example/auth/register?return_to=%2Fwelcome");
    assert_eq!(r.status, 302);
    let q = authorize_query(&r);
    assert_eq!(q["scope"], "openid name phoneNumber customFlow address birthDate");
    *p.idp.nonce.borrow_mut() = q["nonce"].clone();
    let r = finish(&app, &p, &mut jar, &format!("code=a&state={}", q["state"]));
    assert_eq!((r.status, r.header("location")), (303, Some("/welcome")));
    assert_eq!(login_with(&app, &p, &mut jar, "")["scope"], "openid name email", "the plain login keeps VIPPS_SCOPE");
}

// ---- Review: hostile cases against the README's promises ----

/// A Vipps that remembers the browser answers every login with the same, old `auth_time`. A
/// token the callback accepts for a `max_age` path must also pass the gate for that path, or
/// the browser bounces between the gate and the login until the redirect limit.
#[test]
fn an_auth_time_the_callback_accepts_never_loops_at_the_gate() {
    let app = app_with(&[BANK]);
    for age in [301u64, 360, 420] {
        let p = FakePlatform::default();
        let mut jar = Jar::default();
        let now = p.now();
        *p.idp.id_token_claims.borrow_mut() = Box::new(move |c| c["auth_time"] = json!(now - age));
        let q = login_with(&app, &p, &mut jar, "return_to=%2Frecent%2Fx");
        let r = finish(&app, &p, &mut jar, &format!("code=age{age}&state={}", q["state"]));
        if r.status == 303 {
            let o = get(&app, &p, &mut jar, "https://shop.example/recent/x");
            assert!(forwarded(&o), "age {age}: the callback accepted the login, and the gate sends it to log in again: a loop");
        } else {
            assert_eq!(r.status, 401, "age {age}: {}", r.body);
            assert!(r.body.contains("id_token.auth_time_too_old"));
            assert!(!has_session_cookie(&r));
        }
    }
}

/// A silent attempt for a page that needs in-app confirmation or a recent login: a remembered
/// user whose token cannot show it must act, so the page gets `vipps_login=login_required`,
/// never an error page (README, "Silent login").
#[test]
fn a_silent_attempt_that_cannot_meet_the_page_returns_without_a_page() {
    let app = app_with(&[BANK, ("SILENT_LOGIN", "no_dialog")]);
    let now = FakePlatform::default().now();
    let cases: [(&str, Box<dyn Fn(&mut serde_json::Value)>); 3] = [
        ("%2Fbank%2Fx", Box::new(|_| {})),
        ("%2Fbank%2Fx", Box::new(|c| c["acr"] = json!("urn:vipps:acr:browser"))),
        ("%2Frecent%2Fx", Box::new(move |c| c["auth_time"] = json!(now - 3600))),
    ];
    for (n, (to, claims)) in cases.into_iter().enumerate() {
        let p = FakePlatform::default();
        let mut jar = Jar::default();
        let q = login_with(&app, &p, &mut jar, &format!("silent=1&return_to={to}"));
        assert_eq!(q["requested_flow"], "no_dialog");
        *p.idp.id_token_claims.borrow_mut() = claims;
        let r = finish(&app, &p, &mut jar, &format!("code=c{n}&state={}", q["state"]));
        let page = percent_encoding::percent_decode_str(to).decode_utf8().unwrap().to_string();
        assert_eq!((r.status, r.header("location")), (303, Some(format!("{page}?vipps_login=login_required").as_str())), "{to}: {}", r.body);
        assert!(!has_session_cookie(&r));
        assert_eq!(cookie_pair(&r, "__Host-vipps-silent"), Some("__Host-vipps-silent=login_required".to_string()));
    }
}

/// Vipps unreachable at a silent attempt's start, or its token refused at the callback: the
/// page gets `vipps_login=silent_failed`, no error page, no session.
#[test]
fn a_silent_attempt_never_shows_an_error_page() {
    let app = app_with(&[("SILENT_LOGIN", "no_dialog")]);
    let p = FakePlatform::default();
    p.idp.down.set(true);
    let r = get_reply(&app, &p, &mut Jar::default(), "https://shop.example/auth/login?silent=1&return_to=%2Fshop");
    assert_eq!((r.status, r.header("location")), (303, Some("/shop?vipps_login=silent_failed")), "{}", r.body);
    assert!(p.logs.borrow().iter().any(|(_, c, d)| c == "discovery.unavailable" && d.contains("silent_failed")), "{:?}", p.logs.borrow());
    // Not silent: the page, as before.
    let r = get_reply(&app, &p, &mut Jar::default(), "https://shop.example/auth/login?return_to=%2Fshop");
    assert_eq!(r.status, 503);
    // A token that does not verify at the callback of a silent attempt.
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = login_with(&app, &p, &mut jar, "silent=1&return_to=%2Fshop");
    *p.idp.id_token_claims.borrow_mut() = Box::new(|c| c["aud"] = json!("someone-else"));
    let r = finish(&app, &p, &mut jar, &format!("code=silent-bad-aud&state={}", q["state"]));
    assert_eq!((r.status, r.header("location")), (303, Some("/shop?vipps_login=silent_failed")), "{}", r.body);
    assert!(!has_session_cookie(&r));
    assert!(p.logged("id_token.audience_mismatch"), "the refusal is logged with its code");
}

/// Every spelling in tests/data/step-up-paths.txt, with a session from a plain login, as a
/// navigation (GET and HEAD) and as an API call: refused, or a step-up that asks for in-app
/// confirmation and returns to the page; never forwarded.
#[test]
fn step_up_is_not_dodged_by_spelling() {
    let vectors: Vec<&str> = include_str!("../../tests/data/step-up-paths.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert!(vectors.len() >= 40, "{} vectors", vectors.len());
    let app = app_with(&[("STEP_UP_RULES", "/bank/* = app_auth"), ("API_PATHS", "/bank/api/*")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=plain&state={}", q["state"])).status, 303);
    let session = Jar(jar.0.clone());
    let mut seen = HashMap::<u16, usize>::new();
    for target in vectors {
        let Some(url) = IncomingRequest::get(&format!("https://shop.example{target}")) else { continue };
        for (method, accept) in [("GET", "text/html"), ("HEAD", "text/html"), ("GET", "application/json")] {
            let mut r = url.clone().with_header("cookie", &session.header()).with_header("accept", accept);
            r.method = method.into();
            let o = block_on(app.handle(&p, &r));
            let Outcome::Reply(r) = o else { panic!("{method} {target} ({accept}) reached the origin with a weak session") };
            *seen.entry(r.status).or_default() += 1;
            match r.status {
                400 => assert!(r.body.contains("request.path_refused"), "{target}: {}", r.body),
                401 => assert!(r.body.contains("session.step_up_required"), "{target}: {}", r.body),
                302 => {
                    assert!(accept == "text/html" && !url.url.path().to_ascii_lowercase().contains("/api/"), "{target}: an API call redirected");
                    let loc = r.header("location").unwrap();
                    assert!(loc.starts_with("/auth/login?return_to="), "{target}: {loc}");
                    let mut j = Jar(session.0.clone());
                    let q = login_with(&app, &p, &mut j, loc.trim_start_matches("/auth/login?"));
                    assert_eq!(q.get("acr_values").map(String::as_str), Some(APP_AUTH), "{target}: the step-up login asks for less");
                }
                s => panic!("{method} {target} ({accept}): {s} {}", r.body),
            }
        }
    }
    assert!(seen.get(&302).is_some_and(|n| *n >= 20) && seen.get(&401).is_some_and(|n| *n >= 20) && seen.contains_key(&400), "{seen:?}");
}

/// The silent route answers with a redirect of its own (`?silent=1` while `SILENT_LOGIN` is off:
/// at once, to the page with the marker): every vector of tests/data/open-redirects.txt as its
/// `return_to` lands on this site's `/` or on exactly the accepted page, marker added, and the
/// Location is itself a safe return path (no open redirect through the marker).
#[test]
fn the_silent_route_is_no_open_redirect() {
    let app = app_with(&[("CORS_ORIGINS", "https://app.example.com, http://localhost:5173")]);
    let front_ends = crate::policy::cors::FrontEndOrigins::parse(["https://app.example.com", "http://localhost:5173"]).0;
    let p = FakePlatform::default();
    let unescape = |l: &str| l.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\x00", "\0");
    let mut n = 0;
    for line in include_str!("../../tests/data/open-redirects.txt").lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (input, want) = match line.strip_prefix("ok ").and_then(|rest| rest.split_once(" -> ")) {
            Some((input, want)) => (unescape(input), Some(want.to_string())),
            None => (unescape(line), None),
        };
        let url = format!("https://shop.example/auth/login?silent=1&return_to={}", crate::util::form_urlencode_component(&input));
        let r = get_reply(&app, &p, &mut Jar::default(), &url);
        assert_eq!(r.status, 303, "{input:?}");
        let loc = r.header("location").unwrap();
        let page = want.unwrap_or_else(|| "/".into());
        let (before, frag) = page.split_once('#').map_or((page.as_str(), None), |(b, f)| (b, Some(f)));
        let sep = if before.contains('?') { '&' } else { '?' };
        let expected = format!("{before}{sep}vipps_login=silent_unavailable{}", frag.map(|f| format!("#{f}")).unwrap_or_default());
        assert_eq!(loc, expected, "{input:?}");
        assert_eq!(crate::return_to::SafeReturnPath::parse_for(loc, &front_ends).map(|s| s.as_str().to_string()).as_deref(), Some(loc), "{input:?} -> {loc}");
        n += 1;
    }
    assert!(n >= 60, "{n}");
    assert_eq!(p.count(DISCOVERY_URL), 0);
}

/// A silent attempt the login hook does not allow (here: the hook fails, fail-closed) returns
/// to the page with `silent_failed` and no session; the hook's code is logged.
#[test]
fn a_silent_attempt_the_hook_refuses_returns_without_a_page() {
    let app = app_with(&[
        ("SILENT_LOGIN", "no_dialog"),
        ("LOGIN_HOOK_URL", "https://crm.example/vipps/login"),
        ("LOGIN_HOOK_KEYS", "k1:0123456789abcdef0123456789abcdef"),
    ]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = login_with(&app, &p, &mut jar, "silent=1&return_to=%2Fshop");
    let r = finish(&app, &p, &mut jar, &format!("code=silent-hook&state={}", q["state"]));
    assert_eq!((r.status, r.header("location")), (303, Some("/shop?vipps_login=silent_failed")), "{}", r.body);
    assert!(!has_session_cookie(&r));
    assert!(p.logged("hook.bad_response"), "{:?}", p.logs.borrow());
}

/// A session whose ID token had no usable `auth_time` is not "recent": the callback refuses
/// such a token for a `max_age` page, so the gate must not let the same token in by way of a
/// login to another page (it would count from the login, as if the user had authenticated).
#[test]
fn a_token_without_auth_time_never_counts_as_recent() {
    let app = app_with(&[BANK]);
    for (n, hostile) in [None, Some(json!(0)), Some(json!(-5))].into_iter().enumerate() {
        let p = FakePlatform::default();
        let mut jar = Jar::default();
        let h = hostile.clone();
        *p.idp.id_token_claims.borrow_mut() = Box::new(move |c| match &h {
            None => {
                c.as_object_mut().unwrap().remove("auth_time");
            }
            Some(v) => c["auth_time"] = v.clone(),
        });
        let q = login_with(&app, &p, &mut jar, "return_to=%2F");
        assert_eq!(finish(&app, &p, &mut jar, &format!("code=no-auth-time-{n}&state={}", q["state"])).status, 303, "{hostile:?}");
        let r = get_reply(&app, &p, &mut jar, "https://shop.example/recent/x");
        assert_eq!((r.status, r.header("location")), (302, Some("/auth/login?return_to=%2Frecent%2Fx")), "{hostile:?}: let in as recent");
    }
}

#[test]
fn step_up_for_adds_an_api_paths_requirements_to_a_front_end_login() {
    let app = app_with(&[BANK, ("API_PATHS", "/bank/api/*"), ("CORS_ORIGINS", "https://app.example")]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    assert_eq!(finish(&app, &p, &mut jar, &format!("code=a&state={}", q["state"])).status, 303);
    assert_eq!(json_get(&app, &p, &jar, "https://shop.example/bank/api/x").status, 401);
    // A front end on another origin returns to its own page: no requirement of its own.
    let q = login_with(&app, &p, &mut jar, "return_to=https%3A%2F%2Fapp.example%2Fpay");
    assert!(!q.contains_key("acr_values"));
    // With step_up_for the login asks for what the API path needs, and returns to the front end.
    let q = login_with(&app, &p, &mut jar, "return_to=https%3A%2F%2Fapp.example%2Fpay&step_up_for=%2Fbank%2Fapi%2Fx");
    assert_eq!(q["acr_values"], APP_AUTH);
    *p.idp.id_token_claims.borrow_mut() = Box::new(|c| c["acr"] = json!(APP_AUTH));
    let r = finish(&app, &p, &mut jar, &format!("code=b&state={}", q["state"]));
    assert_eq!((r.status, r.header("location")), (303, Some("https://app.example/pay")), "{}", r.body);
    assert!(forwarded(&block_on(app.handle(&p, &IncomingRequest::get("https://shop.example/bank/api/x").unwrap().with_header("cookie", &jar.header()).with_header("accept", "application/json")))));
    // step_up_for only adds: a path with no rule, another origin, or garbage asks for nothing
    // more, and never less than the return path needs.
    for extra in ["%2Fopen", "https%3A%2F%2Fevil.example%2Fbank%2Fapi%2Fx", "%2F%2Fevil.example%2Fbank%2Fapi%2Fx", "%2Fbank%2F..%2Fbank%2Fapi%2Fx", ""] {
        let q = login_with(&app, &p, &mut jar, &format!("return_to=%2F&step_up_for={extra}"));
        assert!(!q.contains_key("acr_values"), "{extra}");
        let q = login_with(&app, &p, &mut jar, &format!("return_to=%2Fbank%2Fpay&step_up_for={extra}"));
        assert_eq!(q["acr_values"], APP_AUTH, "{extra}");
    }
}
