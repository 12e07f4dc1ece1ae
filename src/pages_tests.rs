//! The pages through [`App::handle`]: the language a request asks for, the brand of the
//! market, retries that keep the page the user wanted, operators' templates, and the health
//! route, on a fake platform.

use crate::app::App;
use crate::app_tests::{app_with, finish, start, Jar};
use crate::testkit::reply;
use crate::config::tests::vars;
use crate::http::{IncomingRequest, Reply};
use crate::testkit::*;
use serde_json::Value;

fn get(app: &App, p: &FakePlatform, url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = IncomingRequest::get(url).unwrap();
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    reply(block_on(app.handle(p, &req)))
}

fn html(lang: &str) -> Vec<(&'static str, String)> {
    vec![("accept", "text/html".to_string()), ("accept-language", lang.to_string())]
}

fn get_in(app: &App, p: &FakePlatform, url: &str, lang: &str) -> Reply {
    let h = html(lang);
    let refs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    get(app, p, url, &refs)
}

#[test]
fn a_norwegian_browser_gets_norwegian_pages_and_others_english() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let url = "https://shop.example/auth/callback?state=abcdefgh&code=x";
    for lang in ["nb-NO,nb;q=0.9,en;q=0.8", "no", "nn-NO", "en;q=0.2, nb;q=0.9"] {
        let r = get_in(&app, &p, url, lang);
        assert_eq!(r.status, 400);
        assert!(r.body.contains("<html lang=\"nb\">"), "{lang}");
        assert!(r.body.contains("Innloggingen kunne ikke fullføres") && r.body.contains("Logg inn med Vipps"), "{lang}");
        assert!(r.body.contains("Feilkode: state.no_transaction"));
        assert_eq!(r.header("content-language"), Some("nb"));
        assert_eq!(r.header("vary"), Some("Accept-Language"));
    }
    for lang in ["en-US,en;q=0.9", "de-DE", "", "da-DK", "fi", "nb;q=0", "*"] {
        let r = get_in(&app, &p, url, lang);
        assert!(r.body.contains("<html lang=\"en\">") && r.body.contains("Log in with Vipps"), "{lang}");
    }
    let r = get(&app, &p, url, &[("accept", "text/html")]);
    assert!(r.body.contains("Login could not be completed"), "no header: English");
}

#[test]
fn hostile_accept_language_is_harmless() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let long = "nb;q=0.".to_string() + &"9".repeat(100_000);
    for h in [long.as_str(), "<script>alert(1)</script>", "nb\"><script>", "\u{0}\u{7f}", &"x,".repeat(50_000)] {
        let r = get_in(&app, &p, "https://shop.example/auth/nothing-here", h);
        assert_eq!(r.status, 404);
        assert!(!r.body.contains("<script>"));
        assert!(r.body.contains("<html lang=\"en\">"));
    }
}

#[test]
fn json_errors_keep_the_code_and_speak_the_language() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let r = get(&app, &p, "https://shop.example/private/x", &[("accept", "application/json"), ("accept-language", "nb")]);
    assert_eq!(r.status, 401);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "session.required");
    assert_eq!(v["message"], "Logg inn for å se denne siden.");
    let r = get(&app, &p, "https://shop.example/private/x", &[("accept", "application/json")]);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["message"], "Please log in to see this page.");
}

#[test]
fn mobilepay_branding_and_danish_and_finnish_where_the_market_says_so() {
    for (market, lang, button, tag) in [
        ("DK", "da-DK", "Log ind med MobilePay", "da"),
        ("FI", "fi-FI", "Kirjaudu MobilePaylla", "fi"),
        ("FI", "en", "Log in with MobilePay", "en"),
        ("DK", "nb", "Logg inn med MobilePay", "nb"),
        ("NO", "da", "Log in with Vipps", "en"),
        ("SE", "nb", "Logg inn med Vipps", "nb"),
    ] {
        let app = app_with(&[("VIPPS_MARKET", market)]);
        let p = FakePlatform::default();
        let r = get_in(&app, &p, "https://shop.example/auth/callback?state=abcdefgh&code=x", lang);
        assert!(r.body.contains(button), "{market} {lang}: {}", r.body);
        assert!(r.body.contains(&format!("<html lang=\"{tag}\">")), "{market} {lang}");
        let mobilepay = matches!(market, "DK" | "FI");
        assert_eq!(r.body.contains("#5A78FF"), mobilepay, "{market}");
        assert_eq!(r.body.contains("#FF5B24"), !mobilepay, "{market}");
    }
}

#[test]
fn a_cancelled_login_retries_to_the_page_the_user_wanted() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/private/page?x=1");
    let r = finish(&app, &p, &mut jar, &format!("error=access_denied&state={}", q["state"]));
    assert_eq!(r.status, 403);
    assert!(r.body.contains(r#"href="/auth/login?return_to=%2Fprivate%2Fpage%3Fx%3D1""#), "{}", r.body);
    // Vipps down at the start of a login: the retry is the same login.
    let app = app_with(&[]);
    let p = FakePlatform::default();
    p.idp.down.set(true);
    let r = get_in(&app, &p, "https://shop.example/auth/login?return_to=%2Fmembers%2F", "nb");
    assert_eq!(r.status, 503);
    assert!(r.body.contains("Vipps svarer ikke akkurat nå"));
    assert!(r.body.contains(r#"<a class="button login" href="/auth/login?return_to=%2Fmembers%2F">Logg inn med Vipps</a>"#), "{}", r.body);
    // A return_to that is not a same-origin path is not repeated.
    let r = get_in(&app, &p, "https://shop.example/auth/login?return_to=%2F%2Fevil.example", "en");
    assert!(r.body.contains(r#"href="/auth/login""#) && !r.body.contains("evil"));
}

#[test]
fn logout_and_logged_out_pages() {
    let app = app_with(&[]);
    let p = FakePlatform::default();
    let r = get_in(&app, &p, "https://shop.example/auth/logout", "nb");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Logge ut?") && r.body.contains(r#"action="/auth/logout""#));
    let r = get_in(&app, &p, "https://shop.example/auth/logged-out?return_to=%2Fprivate%2F", "nb");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Du er logget ut"));
    assert!(r.body.contains(r#"<a class="button login" href="/auth/login?return_to=%2Fprivate%2F">Logg inn med Vipps</a>"#));
    let r = get_in(&app, &p, "https://shop.example/auth/logged-out?return_to=https://evil.example/", "en");
    assert!(r.body.contains(r#"href="/auth/login""#) && !r.body.contains("evil"));
    let r = get(&app, &p, "https://shop.example/auth/logged-out", &[("accept", "application/json")]);
    assert!(r.body.contains("You are logged out"), "a page whatever the client accepts");
}

#[test]
fn operator_templates_replace_pages_and_broken_ones_fall_back() {
    let app = app_with(&[("PAGE_TEMPLATES", "/_pages")]);
    let p = FakePlatform::default();
    p.assets.borrow_mut().insert(
        "/_pages/error.html".into(),
        b"<html lang=\"{{lang}}\"><h1>{{title}}</h1>{{#retry_url}}<a href=\"{{retry_url}}\">{{retry_label}}</a>{{/retry_url}}<p>{{code}}</p></html>".to_vec(),
    );
    p.assets.borrow_mut().insert("/_pages/logged-out.html".into(), b"{{title}} {{nope}}".to_vec());
    let r = get_in(&app, &p, "https://shop.example/auth/callback?state=abcdefgh&code=%22%3E%3Cscript%3E", "nb");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "<html lang=\"nb\"><h1>Innloggingen kunne ikke fullføres</h1><a href=\"/auth/login\">Logg inn med Vipps</a><p>state.no_transaction</p></html>"
    );
    // Broken: the built-in page and a log line naming the file and the problem.
    let r = get_in(&app, &p, "https://shop.example/auth/logged-out", "en");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("You are logged out") && r.body.contains("<main>"));
    assert!(p.logs.borrow().iter().any(|(_, c, d)| c == "page.template_unusable" && d.contains("/_pages/logged-out.html") && d.contains("nope")));
    // Missing: the built-in page too.
    let r = get_in(&app, &p, "https://shop.example/auth/logout", "en");
    assert!(r.body.contains("Log out?"));
}

#[test]
fn the_configuration_page_is_branded_localized_and_replaceable() {
    let m = vars(&[("SESSION_SECRET", "too-short-secret"), ("VIPPS_MARKET", "DK"), ("PAGE_TEMPLATES", "/_p")]);
    let app = App::from_lookup(&|k| m.get(k).cloned());
    let p = FakePlatform::default();
    let r = get_in(&app, &p, "https://shop.example/private", "da");
    assert_eq!(r.status, 500);
    assert!(r.body.contains("Login er ikke sat op") && r.body.contains("<code>SESSION_SECRET</code>"));
    assert!(!r.body.contains("too-short-secret"));
    p.assets.borrow_mut().insert("/_p/config-error.html".into(), b"<p>{{title}}: {{problems}}</p>".to_vec());
    let app = App::from_lookup(&|k| m.get(k).cloned());
    let r = get_in(&app, &p, "https://shop.example/", "en");
    assert!(r.body.starts_with("<p>Login is not configured: SESSION_SECRET: "), "{}", r.body);
}

fn health(app: &App, p: &FakePlatform, path: &str) -> (u16, Value, Reply) {
    let r = get(app, p, &format!("https://shop.example{path}"), &[]);
    let v = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    (r.status, v, r)
}

#[test]
fn health_says_configured_and_what_is_cached() {
    let secret = "0123456789abcdef0123456789abcdef-webhook";
    let app = app_with(&[("CONSENT_WEBHOOK_SECRET", secret)]);
    let p = FakePlatform::default();
    let (status, v, r) = health(&app, &p, "/auth/health");
    assert_eq!(status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(v["status"], "ok");
    assert_eq!(v["config"]["valid"], true);
    assert_eq!(v["provider"]["cached"], false);
    assert_eq!(v["provider"]["discovery"]["memory"], Value::Null);
    assert_eq!(p.requests.borrow().len(), 0, "health never calls the provider");
    // After a login: both documents in memory and KV, fresh.
    let mut jar = Jar::default();
    let q = start(&app, &p, &mut jar, "/");
    finish(&app, &p, &mut jar, &format!("code=c&state={}", q["state"]));
    let calls = p.requests.borrow().len();
    p.advance(100);
    let (_, v, r) = health(&app, &p, "/auth/health");
    assert_eq!(p.requests.borrow().len(), calls);
    assert_eq!(v["provider"]["cached"], true);
    for doc in ["discovery", "jwks"] {
        for at in ["memory", "kv"] {
            let c = &v["provider"][doc][at];
            assert_eq!(c["fresh"], true, "{doc} {at}: {v}");
            assert_eq!(c["age_secs"], 100, "{doc} {at}");
            assert!(c["fresh_for_secs"].as_u64().unwrap() > 0);
        }
    }
    assert_eq!(v["provider"]["kv_readable"], true);
    // Another isolate: nothing in memory, the KV copies found.
    let fresh = app_with(&[("CONSENT_WEBHOOK_SECRET", secret)]);
    let (_, v, _) = health(&fresh, &p, "/auth/health");
    assert_eq!(v["provider"]["discovery"]["memory"], Value::Null);
    assert_eq!(v["provider"]["jwks"]["kv"]["fresh"], true);
    assert_eq!(v["provider"]["cached"], true);
    // KV down: said so, still 200.
    p.kv_broken.set(true);
    let (status, v, _) = health(&fresh, &p, "/auth/health");
    assert_eq!((status, &v["provider"]["kv_readable"]), (200, &Value::Bool(false)));
    // Never a secret, a URL or personal data.
    for body in [r.body.as_str(), &v.to_string()] {
        for s in [secret, "s3cret-value", "0123456789abcdef0123456789abcdef", "client-1", "fake-idp", "http", "Ada"] {
            assert!(!body.contains(s), "health holds {s}: {body}");
        }
    }
    assert!(!get(&app, &p, "https://shop.example/auth/health", &[]).body.contains(secret));
}

#[test]
fn health_is_503_naming_bad_variables_while_misconfigured() {
    let m = vars(&[
        ("SESSION_SECRET", "too-short-secret"),
        ("VIPPS_CLIENT_SECRET", ""),
        ("VIPPS_REDIRECT_URI", "http://shop.example/secret-path"),
        ("AUTH_PATH_PREFIX", "/gate"),
    ]);
    let app = App::from_lookup(&|k| m.get(k).cloned());
    let p = FakePlatform::default();
    let (status, v, r) = health(&app, &p, "/gate/health");
    assert_eq!(status, 503);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(v["status"], "misconfigured");
    assert_eq!(v["config"]["valid"], false);
    let named: Vec<&str> = v["config"]["problems"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(named, ["VIPPS_CLIENT_SECRET", "VIPPS_REDIRECT_URI", "SESSION_SECRET"]);
    for s in ["too-short-secret", "secret-path", "shop.example", "s3cret-value", "client-1"] {
        assert!(!r.body.contains(s), "{s}: {}", r.body);
    }
    // Elsewhere: the configuration page, as before.
    assert_eq!(health(&app, &p, "/auth/health").0, 500);
    // A broken prefix: the health route stays at the default one.
    let m = vars(&[("SESSION_SECRET", "short"), ("AUTH_PATH_PREFIX", "gate")]);
    let app = App::from_lookup(&|k| m.get(k).cloned());
    assert_eq!(health(&app, &p, "/auth/health").0, 503);
}
