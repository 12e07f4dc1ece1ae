//! The pages people see, in workerd: the language a browser asks for, the market's brand,
//! retries that keep the page the user wanted, an operator's template read through the
//! `ASSETS` binding (and the built-in page when a file is missing), and the health route.
//! Run by `make test`; alone with `cargo test --test pages` (it builds what it needs first).

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

/// A GET with exactly these headers (and the cookies of `jar`), redirects not followed.
fn get(url: &str, headers: &[(&str, &str)], jar: Option<&Browser>) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = jar {
        let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header("cookie", &cookies.join("; "));
    }
    let resp = req.call().expect("GET");
    let status = resp.status().as_u16();
    let head: Vec<(String, String)> =
        resp.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    (status, head, resp.into_body().read_to_string().unwrap_or_default())
}

fn header<'a>(head: &'a [(String, String)], name: &str) -> Option<&'a str> {
    head.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn page(w: &Worker, path: &str, lang: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let mut h = vec![("accept", "text/html")];
    if let Some(l) = lang {
        h.push(("accept-language", l));
    }
    get(&w.url(path), &h, None)
}

const NO_STATE: &str = "/auth/callback?state=abcdefgh&code=x";

#[test]
fn norwegian_browsers_get_norwegian_pages_and_others_english() {
    let w = Worker::start("pages-lang", &[], &[]);
    for lang in ["nb-NO,nb;q=0.9,en-US;q=0.8,en;q=0.7", "no", "nn", "en;q=0.3, nb;q=0.8"] {
        let (status, head, body) = page(&w, NO_STATE, Some(lang));
        assert_eq!(status, 400, "{lang}");
        assert!(body.contains("<html lang=\"nb\">"), "{lang}: {body}");
        assert!(body.contains("Innloggingen kunne ikke fullføres") && body.contains("Logg inn med Vipps"), "{lang}");
        assert!(body.contains("Feilkode: state.no_transaction") && body.contains("#FF5B24"));
        assert_eq!(header(&head, "content-language"), Some("nb"));
        assert_eq!(header(&head, "cache-control"), Some("no-store"));
    }
    for lang in [Some("en-US,en;q=0.9"), Some("de-DE,de;q=0.9"), Some("da-DK"), None, Some("nb;q=0, en;q=0.1")] {
        let (_, head, body) = page(&w, NO_STATE, lang);
        assert!(body.contains("<html lang=\"en\">") && body.contains("Login could not be completed"), "{lang:?}");
        assert!(body.contains("Log in with Vipps") && body.contains("Error code: state.no_transaction"), "{lang:?}");
        assert_eq!(header(&head, "content-language"), Some("en"));
    }
    // Hostile headers: no panic, no reflection.
    let long = format!("{},nb", "x-evil;q=0.5,".repeat(300));
    for lang in [long.as_str(), "<script>alert(1)</script>", "nb;q=2;q=-1,,,;;", "*;q=x, =;q, ;;"] {
        let (status, _, body) = page(&w, "/auth/no-such-route", Some(lang));
        assert_eq!(status, 404, "{lang}");
        assert!(!body.contains("<script>alert"));
    }
    // JSON: the stable code, the message in the user's language.
    let (status, _, body) = get(&w.url("/private/"), &[("accept", "application/json"), ("accept-language", "nb-NO")], None);
    assert_eq!(status, 401);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["error"].as_str(), v["message"].as_str()), (Some("session.required"), Some("Logg inn for å se denne siden.")));
    // The logout button and the logged-out page.
    let (status, _, body) = page(&w, "/auth/logout", Some("nb"));
    assert!(status == 200 && body.contains("Logge ut?") && body.contains(r#"action="/auth/logout""#), "{body}");
    let (status, _, body) = page(&w, "/auth/logged-out?return_to=%2Fprivate%2F", Some("nb"));
    assert_eq!(status, 200);
    assert!(body.contains("Du er logget ut") && body.contains(r#"href="/auth/login?return_to=%2Fprivate%2F">Logg inn med Vipps</a>"#), "{body}");

    // A cancelled login: the retry leads back to the page the user wanted.
    let mut b = Browser::new();
    let r = b.get(&w.url("/private/"));
    assert_eq!(r.location.as_deref(), Some("/auth/login?return_to=%2Fprivate%2F"));
    let r = b.get(&w.url("/auth/login?return_to=%2Fprivate%2F"));
    let authorize = authorize_page(&b.get(r.location.as_ref().unwrap()).body);
    let r = b.post_form(&format!("{}/access-management-1.0/access/oauth2/auth/cancel", w.sim.base), &[("req", &authorize.req)]);
    let callback = r.location.unwrap();
    let (status, _, body) = get(&callback, &[("accept", "text/html"), ("accept-language", "nb-NO")], Some(&b));
    assert_eq!(status, 403);
    assert!(body.contains("Innloggingen ble avbrutt"));
    assert!(body.contains(r#"<a class="button login" href="/auth/login?return_to=%2Fprivate%2F">Logg inn med Vipps</a>"#), "{body}");
}

#[test]
fn health_reports_configuration_and_cached_metadata() {
    let w = Worker::start("pages-health", &[], &[]);
    let (status, head, body) = get(&w.url("/auth/health"), &[], None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["status"].as_str(), v["config"]["valid"].as_bool()), (Some("ok"), Some(true)));
    assert_eq!(v["provider"]["cached"], false, "{v}");
    let before = w.sim.stats();
    let mut b = Browser::new();
    login(&mut b, &w, "/");
    let (_, _, body) = get(&w.url("/auth/health"), &[], None);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["provider"]["cached"], true, "{v}");
    for doc in ["discovery", "jwks"] {
        for at in ["memory", "kv"] {
            assert_eq!(v["provider"][doc][at]["fresh"], true, "{doc} in {at}: {v}");
        }
    }
    // Health calls nobody: only the login moved the simulator's counters.
    let (_, _, _) = get(&w.url("/auth/health"), &[], None);
    let after = w.sim.stats();
    assert_eq!(after["discovery"].as_u64(), before["discovery"].as_u64().map(|n| n + 1));
    for secret in [CLIENT_SECRET, "e2e-session-secret", CLIENT_ID, &w.sim.base, "127.0.0.1"] {
        assert!(!body.contains(secret), "health holds {secret}: {body}");
    }
}

#[test]
fn mobilepay_market_and_an_operator_template_from_the_assets() {
    let w = Worker::start("pages-dk", &[("VIPPS_MARKET", "DK"), ("PAGE_TEMPLATES", "/_pages")], &[]);
    // demo/public/_pages/error.html replaces the error page.
    let (status, head, body) = page(&w, NO_STATE, Some("da-DK,da;q=0.9"));
    assert_eq!(status, 400);
    assert!(body.contains("data-template=\"demo\"") && body.contains("<html lang=\"da\""), "{body}");
    assert!(body.contains("Login kunne ikke gennemføres") && body.contains("Log ind med MobilePay") && body.contains("#5A78FF"));
    assert!(body.contains("Fejlkode: state.no_transaction"));
    assert!(!body.contains("{{"), "every placeholder filled");
    assert!(header(&head, "content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));
    let (_, _, body) = page(&w, NO_STATE, Some("fi-FI"));
    assert!(body.contains("<html lang=\"fi\"") && body.contains("Kirjaudu MobilePaylla"), "{body}");
    let (_, _, body) = page(&w, NO_STATE, Some("en-GB"));
    assert!(body.contains("Log in with MobilePay") && !body.contains("#FF5B24"));
    // No logged-out.html in the demo's folder: the built-in page, and one log line.
    for _ in 0..3 {
        let (status, _, body) = page(&w, "/auth/logged-out", Some("da"));
        assert_eq!(status, 200);
        assert!(body.contains("Du er logget ud") && body.contains("Log ind med MobilePay") && body.contains("<main>"), "{body}");
    }
    // wrangler writes the Worker's log lines a moment later.
    w.log_shows("page.template_unusable", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let log = w.log();
    assert_eq!(log.matches("page.template_unusable").count(), 1, "{log}");
    assert!(log.contains("/_pages/logged-out.html: not found"));
}

#[test]
fn a_broken_configuration_is_a_503_health_and_a_localized_page() {
    let w = Worker::start(
        "pages-broken",
        &[("SESSION_SECRET", "tiny-secret-val"), ("VIPPS_MARKET", "FI"), ("AUTH_PATH_PREFIX", "/gate")],
        &[],
    );
    let (status, head, body) = get(&w.url("/gate/health"), &[], None);
    assert_eq!(status, 503, "{body}");
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "misconfigured");
    assert_eq!(v["config"]["problems"], serde_json::json!(["SESSION_SECRET"]));
    assert!(!body.contains("tiny-secret-val") && !body.contains(CLIENT_SECRET));
    let (status, _, body) = page(&w, "/private/", Some("fi-FI"));
    assert_eq!(status, 500);
    assert!(body.contains("<html lang=\"fi\">") && body.contains("Kirjautumista ei ole määritetty") && body.contains("SESSION_SECRET"));
    assert!(!body.contains("tiny-secret-val"));
}
