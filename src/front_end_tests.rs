//! Front ends on other origins through [`App::handle`]: CORS on the session route, preflights
//! answered and never gated, absolute return URLs only on configured origins, and logout's
//! Origin / Sec-Fetch-Site check. Each outcome exact: status, headers, cookies, forwards.

use crate::app::App;
use crate::app_tests::{app_with, finish, has_session_cookie, start, Jar};
use crate::testkit::reply;
use crate::http::{IncomingRequest, Outcome, Reply};
use crate::testkit::*;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

fn fe_app(extra: &[(&str, &str)]) -> App {
    let mut all = vec![("CORS_ORIGINS", "https://app.example.com, http://localhost:5173"), ("API_PATHS", "/api/*")];
    all.extend_from_slice(extra);
    app_with(&all)
}

fn logged_in(app: &App, p: &FakePlatform) -> Jar {
    let mut jar = Jar::default();
    let q = start(app, p, &mut jar, "/");
    assert_eq!(finish(app, p, &mut jar, &format!("code=c&state={}", q["state"])).status, 303);
    jar
}

fn request(method: &str, url: &str, jar: &Jar, headers: &[(&str, &str)]) -> IncomingRequest {
    let mut r = IncomingRequest::get(url).unwrap().with_header("cookie", &jar.header());
    r.method = method.into();
    for (k, v) in headers {
        r = r.with_header(k, v);
    }
    r
}

fn cors_of(r: &Reply) -> (Option<&str>, Option<&str>, Option<&str>) {
    (r.header("access-control-allow-origin"), r.header("access-control-allow-credentials"), r.header("vary"))
}

#[test]
fn the_session_is_readable_with_credentials_from_configured_origins_only() {
    let app = fe_app(&[]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p);
    let get = |origin: &str, jar: &Jar| reply(block_on(app.handle(&p, &request("GET", "https://shop.example/auth/session", jar, &[("origin", origin), ("accept", "*/*")]))));
    for origin in [APP, "http://localhost:5173"] {
        let r = get(origin, &jar);
        assert_eq!(r.status, 200);
        assert_eq!(cors_of(&r), (Some(origin), Some("true"), Some("Origin")));
        let r = get(origin, &Jar::default());
        assert_eq!((r.status, cors_of(&r)), (401, (Some(origin), Some("true"), Some("Origin"))), "a front end can read that nobody is logged in");
    }
    for other in [EVIL, "https://app.example.com.evil.example", "https://APP.example.com", "http://app.example.com", "null", "https://app.example.com:443", ""] {
        let r = get(other, &jar);
        assert_eq!(r.status, 200);
        assert_eq!(cors_of(&r), (None, None, Some("Origin")), "{other}");
    }
    // Without CORS_ORIGINS, nothing changes.
    let plain = app_with(&[]);
    let jar = logged_in(&plain, &p);
    let r = reply(block_on(plain.handle(&p, &request("GET", "https://shop.example/auth/session", &jar, &[("origin", APP)]))));
    assert_eq!((r.status, cors_of(&r)), (200, (None, None, None)));
}

#[test]
fn preflights_are_answered_never_gated_or_forwarded() {
    let app = fe_app(&[("PUBLIC_PATHS", "/, /assets/*")]);
    let p = FakePlatform::default();
    let preflight = |path: &str, origin: &str| {
        let r = request("OPTIONS", &format!("https://shop.example{path}"), &Jar::default(), &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("accept", "text/html"),
        ]);
        block_on(app.handle(&p, &r))
    };
    for (path, methods) in [("/auth/session", "GET, HEAD"), ("/auth/logout", "GET, HEAD, POST"), ("/private/x", "GET, HEAD, POST, PUT, PATCH, DELETE"), ("/api/x", "GET, HEAD, POST, PUT, PATCH, DELETE")] {
        let r = reply(preflight(path, APP));
        assert_eq!(r.status, 204, "{path}");
        assert_eq!(cors_of(&r), (Some(APP), Some("true"), Some("Origin")), "{path}");
        assert_eq!(r.header("access-control-allow-methods"), Some(methods), "{path}");
        assert_eq!(r.header("access-control-allow-headers"), Some("Accept, Content-Type"), "{path}");
        assert_eq!(r.header("access-control-max-age"), Some("600"), "{path}");
        assert!(r.header("location").is_none() && r.set_cookies().next().is_none(), "{path}");
        let r = reply(preflight(path, EVIL));
        assert_eq!(r.status, 204, "{path}: answered, not gated");
        assert!(r.headers.iter().all(|(k, _)| !k.starts_with("access-control-")), "{path}: {:?}", r.headers);
        assert!(r.header("location").is_none() && r.set_cookies().next().is_none(), "{path}");
    }
    // A public path is the origin's: its preflight goes there.
    assert!(matches!(preflight("/assets/x", APP), Outcome::Forward(_)));
    // The login and callback are navigations only: no CORS there.
    let r = reply(preflight("/auth/login", APP));
    assert_eq!((r.status, r.header("access-control-allow-origin")), (405, None));
    // An OPTIONS that is not a preflight is gated like any request.
    let r = reply(block_on(app.handle(&p, &request("OPTIONS", "https://shop.example/private/x", &Jar::default(), &[("origin", APP)]))));
    assert_eq!(r.status, 401);
    // (The JSON error's message is in the user's language: it varies on that too.)
    assert_eq!(cors_of(&r), (Some(APP), Some("true"), Some("Accept-Language, Origin")), "readable by the front end");
    assert!(p.requests.borrow().is_empty(), "no call to Vipps");
}

#[test]
fn refusals_on_gated_paths_are_readable_by_front_ends() {
    let app = fe_app(&[("ACCESS_RULES", "/admin/* = sub:someone-else")]);
    let p = FakePlatform::default();
    let jar = logged_in(&app, &p);
    let r = reply(block_on(app.handle(&p, &request("GET", "https://shop.example/admin/x", &jar, &[("origin", APP), ("accept", "application/json")]))));
    assert_eq!((r.status, cors_of(&r)), (403, (Some(APP), Some("true"), Some("Accept-Language, Origin"))));
    let r = reply(block_on(app.handle(&p, &request("GET", "https://shop.example/api/x", &Jar::default(), &[("origin", EVIL)]))));
    assert_eq!((r.status, cors_of(&r)), (401, (None, None, Some("Accept-Language, Origin"))));
    // What is forwarded is the origin's answer: the Worker adds no CORS header to it.
    let o = block_on(app.handle(&p, &request("GET", "https://shop.example/private/x", &jar, &[("origin", APP)])));
    assert!(matches!(o, Outcome::Forward(ref f) if f.user.as_deref() == Some(SUB)));
}

#[test]
fn return_urls_on_configured_front_ends_are_kept_exactly() {
    let app = fe_app(&[]);
    let p = FakePlatform::default();
    for (given, lands) in [
        ("https://app.example.com/orders?id=7#/tab", "https://app.example.com/orders?id=7#/tab"),
        ("https://app.example.com", "https://app.example.com/"),
        ("http://localhost:5173/cb", "http://localhost:5173/cb"),
        ("https://app.example.com@evil.example/", "/"),
        ("https://app.example.com.evil.example/", "/"),
        ("https://APP.example.com/", "/"),
        ("https://app.example.com:443/", "/"),
        ("//app.example.com/", "/"),
        ("https://evil.example/", "/"),
        ("/private/x", "/private/x"),
    ] {
        let mut jar = Jar::default();
        let q = start(&app, &p, &mut jar, given);
        let r = finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
        assert_eq!((r.status, r.header("location")), (303, Some(lands)), "{given}");
        assert!(has_session_cookie(&r));
    }
    // A front end removed from the configuration between login and callback: back to `/`.
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "https://app.example.com/x");
    let r = finish(&app_with(&[]), &p, &mut jar, &format!("code=c&state={}", q["state"]));
    assert_eq!(r.header("location"), Some("/"));
    // Without front ends, absolute URLs are refused as before.
    let plain = app_with(&[]);
    let mut jar = Jar::default();
    let q = start(&plain, &p, &mut jar, "https://app.example.com/x");
    assert_eq!(finish(&plain, &p, &mut jar, &format!("code=c&state={}", q["state"])).header("location"), Some("/"));
    assert!(p.logged("login.return_to_refused"));
}

fn logout(app: &App, p: &FakePlatform, headers: &[(&str, &str)]) -> Reply {
    let jar = logged_in(app, p);
    reply(block_on(app.handle(p, &request("POST", "https://shop.example/auth/logout", &jar, headers))))
}

fn clears(r: &Reply) -> bool {
    r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=;") && c.contains("Max-Age=0"))
}

#[test]
fn logout_checks_origin_then_sec_fetch_site() {
    let app = fe_app(&[("LOGOUT_REDIRECT", "https://app.example.com/bye")]);
    let p = FakePlatform::default();
    let allowed: &[&[(&str, &str)]] = &[
        &[("origin", "https://shop.example")],
        &[("origin", APP)],
        &[("origin", "http://localhost:5173"), ("sec-fetch-site", "cross-site")],
        &[("origin", APP), ("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "same-origin")],
        &[("sec-fetch-site", "none")],
        &[],
    ];
    for headers in allowed {
        let r = logout(&app, &p, headers);
        assert_eq!(r.status, 200, "{headers:?}: {}", r.body);
        assert!(clears(&r), "{headers:?}");
    }
    let refused: &[&[(&str, &str)]] = &[
        &[("origin", EVIL)],
        &[("origin", "null")],
        &[("origin", "https://app.example.com.evil.example")],
        &[("origin", "https://shop.example.evil.example")],
        &[("origin", "https://APP.example.com")],
        &[("origin", EVIL), ("sec-fetch-site", "same-origin")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "Same-Origin")],
        &[("sec-fetch-site", "")],
    ];
    for headers in refused {
        let r = logout(&app, &p, headers);
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.body.contains("logout.bad_origin"), "{headers:?}");
        assert_eq!(r.set_cookies().count(), 0, "{headers:?}: the session stays");
    }
    // A form post (a navigation) lands on LOGOUT_REDIRECT; a fetch from the front end reads JSON.
    let r = logout(&app, &p, &[("origin", APP), ("accept", "text/html")]);
    assert_eq!((r.status, r.header("location")), (303, Some("https://app.example.com/bye")));
    assert!(clears(&r));
    let r = logout(&app, &p, &[("origin", APP), ("accept", "*/*")]);
    assert_eq!((r.status, cors_of(&r)), (200, (Some(APP), Some("true"), Some("Origin"))));
    let r = logout(&app_with(&[("LOGOUT_REDIRECT", "/goodbye")]), &p, &[("sec-fetch-site", "same-origin"), ("accept", "text/html")]);
    assert_eq!(r.header("location"), Some("/goodbye"));
}
