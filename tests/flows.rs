//! The login variants in workerd against the simulator: silent login (a remembered user logs in
//! without a dialog; otherwise the user returns unauthenticated, with the marker and no error
//! page), markets (MobilePay pages for DK), registration scopes reaching Vipps, in-app
//! confirmation and step-up (a weaker session, a wrong or missing `acr`, an `auth_time` too
//! old), and the one automatic retry after `temporarily_unavailable` (counted at the simulator).
//!
//! Each scenario records a row under target/conformance/ (suite `11-flows`); `make test` puts
//! them into CONFORMANCE.md. Run alone with `cargo test --test flows -- --test-threads=2`.

mod common;
use common::table::*;
use common::*;
use serde_json::json;

const APP_AUTH: &str = "urn:vipps:acr:app_auth";
const CONFIRM: &str = "/access-management-1.0/access/oauth2/auth/confirm";
const CANCEL: &str = "/access-management-1.0/access/oauth2/auth/cancel";

fn worker(name: &str) -> Worker {
    Worker::start(
        name,
        &[
            ("PUBLIC_PATHS", "/"),
            ("SILENT_LOGIN", "no_dialog"),
            ("STEP_UP_RULES", "/private/* = app_auth; /recent/* = max_age=300"),
            ("API_PATHS", "/private/api/*"),
            ("RETRY_TEMPORARILY_UNAVAILABLE", "true"),
            ("VIPPS_MARKETS", "DK,NO"),
            ("REGISTER_SCOPE", "name phoneNumber customFlow address birthDate"),
        ],
        &[],
    )
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// Starts a login at `path` (login or register URL); returns the authorize URL.
fn authorize_url(b: &mut Browser, w: &Worker, path: &str) -> String {
    let r = b.get(&w.url(path));
    assert_eq!(r.status, 302, "{path}: {}", r.body);
    let loc = r.location.unwrap();
    assert!(loc.starts_with(&w.sim.base), "{loc}");
    loc
}

/// On the simulator's page: confirm as the first user (`remember` ticks "remember me");
/// returns the callback URL.
fn confirm(b: &mut Browser, w: &Worker, authorize: &str, remember: bool) -> String {
    let page = b.get(authorize);
    assert_eq!(page.status, 200, "{}", page.body);
    let p = authorize_page(&page.body);
    let mut form = vec![("req", p.req.as_str()), ("user", p.users[0].as_str())];
    if remember {
        form.push(("remember", "1"));
    }
    let r = b.post_form(&format!("{}{CONFIRM}", w.sim.base), &form);
    assert_eq!(r.status, 302, "{}", r.body);
    r.location.unwrap()
}

fn session_json(b: &mut Browser, w: &Worker) -> (u16, serde_json::Value) {
    let r = b.get_json(&w.url("/auth/session"));
    (r.status, serde_json::from_str(&r.body).unwrap_or(json!(null)))
}

fn code(body: &str) -> String {
    worker_code(body).unwrap_or_else(|| "-".into())
}

/// A browser whose user logged in once ticking "remember me in this browser" at the
/// simulator, with only that simulator cookie kept: a fresh session here, the same browser at
/// Vipps.
fn remembered_browser(w: &Worker) -> Browser {
    let mut b = Browser::new();
    let first = authorize_url(&mut b, w, "/auth/login?return_to=%2F");
    let cb = confirm(&mut b, w, &first, true);
    assert_eq!(b.get(&cb).status, 303);
    b.jar.retain(|k, _| k == "vipps-sim-remember");
    b
}

#[test]
fn silent_login_market_and_registration() {
    let w = worker("flows-silent");
    let t = std::cell::RefCell::new(Table::new("11-flows"));
    parts(vec![
        (
            "silent attempt, user remembered",
            Box::new(|| {
                let mut b = remembered_browser(&w);
                let authorize = authorize_url(&mut b, &w, "/auth/login?silent=1&return_to=%2F%3Ffrom%3Dsilent");
                assert_eq!(query_of(&authorize)["requested_flow"], "no_dialog");
                let r = b.get(&authorize);
                let cb = r.location.clone().unwrap_or_default();
                let r = b.get(&cb);
                let ok = r.status == 303 && r.location.as_deref() == Some("/?from=silent") && r.sets_session();
                t.borrow_mut().row("silent attempt, user remembered in the browser", "303 to the page with a session, no dialog", &format!("{} {:?} session={}", r.status, r.location, r.sets_session()), ok);
                assert!(ok);
            }),
        ),
        (
            "silent attempt, token too old for the page",
            Box::new(|| {
                // A remembered user, and a Vipps whose ID token says the authentication is a day
                // old: the /recent/ page (max_age=300) cannot be met without the user, so the
                // page gets the marker, never the "Recent login needed" error page.
                let mut b = remembered_browser(&w);
                w.sim.set(json!({"mode": "auth-time-old"}));
                let authorize = authorize_url(&mut b, &w, "/auth/login?silent=1&return_to=%2Frecent%2Fx");
                let cb = b.get(&authorize).location.unwrap_or_default();
                let r = b.get(&cb);
                w.sim.reset();
                let ok = r.status == 303 && r.location.as_deref() == Some("/recent/x?vipps_login=login_required") && !r.sets_session();
                t.borrow_mut().row(
                    "silent attempt, remembered user, auth_time too old for the page",
                    "303 to the page with vipps_login=login_required, no session, no error page",
                    &format!("{} {:?} session={}", r.status, r.location, r.sets_session()),
                    ok,
                );
                assert!(ok, "{} {:?} {}", r.status, r.location, r.body);
            }),
        ),
        (
            "silent attempt, not remembered",
            Box::new(|| {
                let mut b = Browser::new();
                let tokens = w.sim.count("token");
                let authorize = authorize_url(&mut b, &w, "/auth/login?silent=1&return_to=%2Fprivate%2F%3Fa%3D1");
                let r = b.get(&authorize);
                assert_eq!(r.status, 302, "the simulator answers without a page");
                let cb = r.location.unwrap();
                assert_eq!(query_of(&cb)["error"], "login_required");
                let r = b.get(&cb);
                let (status, body) = session_json(&mut b, &w);
                let ok = r.status == 303
                    && r.location.as_deref() == Some("/private/?a=1&vipps_login=login_required")
                    && !r.sets_session()
                    && status == 401
                    && body["silent_login"] == "login_required"
                    && w.sim.count("token") == tokens;
                t.borrow_mut().row(
                    "silent attempt, user not remembered (login_required)",
                    "303 to the page with vipps_login=login_required, no session, no error page, no token call; /auth/session says silent_login",
                    &format!("{} {:?} session={} /auth/session {status} {}", r.status, r.location, r.sets_session(), body["silent_login"]),
                    ok,
                );
                assert!(ok);
            }),
        ),
        (
            "market",
            Box::new(|| {
                let mut b = Browser::new();
                let authorize = authorize_url(&mut b, &w, "/auth/login?market=DK&return_to=%2F");
                assert_eq!(query_of(&authorize)["market"], "DK");
                let page = b.get(&authorize);
                let p = authorize_page(&page.body);
                let sim_branded = page.body.contains(r#"data-brand="mobilepay""#);
                let r = b.post_form(&format!("{}{CANCEL}", w.sim.base), &[("req", &p.req)]);
                let r = b.get(&r.location.unwrap());
                let ok = sim_branded && r.status == 403 && r.body.contains("MobilePay") && r.body.contains("#5A78FF");
                t.borrow_mut().row("market=DK (allowed): Vipps' page and ours", "authorize market=DK, MobilePay login page, MobilePay error page", &format!("sim mobilepay={sim_branded}, ours {} mobilepay={}", r.status, r.body.contains("#5A78FF")), ok);
                assert!(ok);
                let authorize = authorize_url(&mut b, &w, "/auth/login?market=FI");
                let q = query_of(&authorize);
                let page = b.get(&authorize);
                let ok = !q.contains_key("market") && page.body.contains(r#"data-brand="vipps""#);
                t.borrow_mut().row("market=FI (not in VIPPS_MARKETS)", "ignored: no market, Vipps page", &format!("market={:?}", q.get("market")), ok);
                assert!(ok);
            }),
        ),
        (
            "registration",
            Box::new(|| {
                let mut b = Browser::new();
                let authorize = authorize_url(&mut b, &w, "/auth/register?return_to=%2Fprivate%2F");
                let scope = query_of(&authorize)["scope"].clone();
                let page = b.get(&authorize);
                let listed = page.body.contains(r#"<li class="scope">customFlow</li>"#) && page.body.contains(r#"<li class="scope">birthDate</li>"#);
                let plain = query_of(&authorize_url(&mut b, &w, "/auth/login"))["scope"].clone();
                let ok = scope == "openid name phoneNumber customFlow address birthDate" && listed && plain == "openid name email";
                t.borrow_mut().row("registration scopes reach Vipps", "scope=openid name phoneNumber customFlow address birthDate; the login keeps VIPPS_SCOPE", &format!("{scope} / {plain}"), ok);
                assert!(ok);
            }),
        ),
    ]);
}

#[test]
fn step_up_acr_and_retry() {
    let w = worker("flows-step-up");
    let t = std::cell::RefCell::new(Table::new("11-flows-step-up"));
    parts(vec![
        (
            "weaker session",
            Box::new(|| {
                w.sim.reset();
                let mut b = Browser::new();
                login(&mut b, &w, "/");
                let nav = b.get(&w.url("/private/"));
                let api = b.get_json(&w.url("/private/api/x"));
                let ok = nav.status == 302
                    && nav.location.as_deref() == Some("/auth/login?return_to=%2Fprivate%2F")
                    && api.status == 401
                    && code(&api.body) == "session.step_up_required";
                t.borrow_mut().row("a session without in-app confirmation on an app_auth path", "navigation: 302 to the login keeping the page; API: 401 session.step_up_required", &format!("{} {:?}; {} {}", nav.status, nav.location, api.status, code(&api.body)), ok);
                assert!(ok);
                let authorize = authorize_url(&mut b, &w, nav.location.as_deref().unwrap());
                assert_eq!(query_of(&authorize)["acr_values"], APP_AUTH);
                let cb = confirm(&mut b, &w, &authorize, false);
                let r = b.get(&cb);
                let (_, s) = session_json(&mut b, &w);
                let page = b.get(&w.url("/private/"));
                let ok = r.status == 303 && s["acr"] == APP_AUTH && page.status == 200;
                t.borrow_mut().row("step-up login with in-app confirmation", "acr_values sent, acr in the session, the page served", &format!("{} acr={} page {}", r.status, s["acr"], page.status), ok);
                assert!(ok);
            }),
        ),
        (
            "hostile acr and auth_time",
            Box::new(|| {
                for (mode, path, want) in [
                    ("acr-wrong", "%2Fprivate%2F", "id_token.acr_mismatch"),
                    ("acr-missing", "%2Fprivate%2F", "id_token.acr_missing"),
                    ("auth-time-old", "%2Frecent%2Fx", "id_token.auth_time_too_old"),
                ] {
                    w.sim.reset();
                    w.sim.set(json!({"mode": mode}));
                    let mut b = Browser::new();
                    let authorize = authorize_url(&mut b, &w, &format!("/auth/login?return_to={path}"));
                    let cb = confirm(&mut b, &w, &authorize, false);
                    let r = b.get(&cb);
                    let (status, _) = session_json(&mut b, &w);
                    let ok = r.status == 401 && code(&r.body) == want && !r.sets_session() && status == 401;
                    t.borrow_mut().row(&format!("{mode}: ID token for a login that asked for it"), &format!("401 {want}, no session"), &format!("{} {} session={}", r.status, code(&r.body), r.sets_session()), ok);
                    assert!(ok, "{mode}");
                }
                w.sim.reset();
            }),
        ),
        (
            "retry after temporarily_unavailable",
            Box::new(|| {
                // Once: the retry succeeds; exactly two authorize requests.
                w.sim.reset();
                w.sim.set(json!({"authorize_error": {"error": "temporarily_unavailable", "times": 1}}));
                let mut b = Browser::new();
                let first = authorize_url(&mut b, &w, "/auth/login?return_to=%2Fprivate%2F&market=DK");
                let cb = b.get(&first).location.unwrap();
                assert_eq!(query_of(&cb)["error"], "temporarily_unavailable");
                let r = b.get(&cb);
                assert_eq!(r.status, 302, "{}", r.body);
                let again = r.location.unwrap();
                let same = query_of(&again)["market"] == "DK" && query_of(&again)["acr_values"] == APP_AUTH && query_of(&again)["state"] != query_of(&first)["state"];
                let cb = confirm(&mut b, &w, &again, false);
                let r = b.get(&cb);
                let n = w.sim.count("authorize");
                let ok = same && r.status == 303 && r.location.as_deref() == Some("/private/") && r.sets_session() && n == 2;
                t.borrow_mut().row("temporarily_unavailable once", "one automatic new login (same page and options), then logged in; 2 authorize requests", &format!("{} {:?} session={} authorize={n}", r.status, r.location, r.sets_session()), ok);
                assert!(ok);
                // Twice: the page the second time, never a third request.
                w.sim.reset();
                w.sim.set(json!({"authorize_error": {"error": "temporarily_unavailable", "times": 5}}));
                let mut b = Browser::new();
                let first = authorize_url(&mut b, &w, "/auth/login?return_to=%2F");
                let cb = b.get(&first).location.unwrap();
                let again = b.get(&cb).location.unwrap_or_default();
                let cb = b.get(&again).location.unwrap();
                let r = b.get(&cb);
                let n = w.sim.count("authorize");
                let ok = r.status == 400 && code(&r.body) == "callback.provider_error" && !r.sets_session() && n == 2;
                t.borrow_mut().row("temporarily_unavailable again", "400 callback.provider_error page, exactly 2 authorize requests (no loop)", &format!("{} {} authorize={n}", r.status, code(&r.body)), ok);
                assert!(ok);
                // An undocumented error: the page at once, no retry.
                w.sim.reset();
                w.sim.set(json!({"authorize_error": {"error": "flux_capacitor_overload"}}));
                let mut b = Browser::new();
                let first = authorize_url(&mut b, &w, "/auth/login");
                let cb = b.get(&first).location.unwrap();
                let r = b.get(&cb);
                let n = w.sim.count("authorize");
                let ok = r.status == 400 && code(&r.body) == "callback.provider_error" && !r.body.contains("flux") && n == 1;
                t.borrow_mut().row("an undocumented redirect error", "400 callback.provider_error, upstream text not shown, no retry", &format!("{} {} authorize={n}", r.status, code(&r.body)), ok);
                assert!(ok);
                w.sim.reset();
            }),
        ),
    ]);
}
