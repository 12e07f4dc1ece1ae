//! Silent login, in-app confirmation, step_up, market theming, marketing consents on the first
//! login only, and simulated authorize errors (temporarily_unavailable, undocumented ones).

use serde_json::json;

use crate::endpoints::authorize::REMEMBER_COOKIE;
use crate::endpoints::{self, CONFIRM_PATH};
use crate::http::{Request, Response};
use crate::modes::{APP_AUTH, WRONG_ACR};
use crate::state::Sim;
use crate::tests::{
    authorize_url, exchange, get, location_params, post_config, post_form, query, req_id, sim,
    userinfo, STATE, T0,
};

fn get_with_cookie(sim: &Sim, url: &str, cookie: &str) -> Response {
    endpoints::handle(
        sim,
        &Request::new("GET", url).with_header("Host", "127.0.0.1:7070").with_header("Cookie", cookie),
    )
}

/// Logs in through the page as user 0, with `remember`; returns the confirm response.
fn confirm(sim: &Sim, url: &str, remember: bool) -> Response {
    let page = get(sim, url);
    assert_eq!(page.status, 200, "{}", page.body_text());
    let mut form = vec![("req", req_id(&page.body_text())), ("user", sim.users[0].sub.clone())];
    if remember {
        form.push(("remember", "1".into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(sim, CONFIRM_PATH, &query(&pairs), &[])
}

fn claims_of(sim: &Sim, code: &str) -> (serde_json::Value, String) {
    let t = exchange(sim, code, &[]);
    assert_eq!(t.status, 200, "{}", t.body_text());
    let body = t.body_json();
    let payload = body["id_token"].as_str().unwrap().split('.').nth(1).unwrap().to_string();
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    (serde_json::from_slice(&raw).unwrap(), body["access_token"].as_str().unwrap().to_string())
}

#[test]
fn silent_login_needs_a_remembered_user_with_consent() {
    let sim = sim();
    let silent = authorize_url(&[("requested_flow", Some("no_dialog"))]);
    // Nobody remembered: login_required, with the state, and no page.
    let (_, p) = location_params(&get(&sim, &silent));
    assert_eq!((p.get("error"), p.get("state")), (Some("login_required"), Some(STATE)));
    // A login that ticks "remember me" sets the cookie.
    let r = confirm(&sim, &authorize_url(&[]), true);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.starts_with(&format!("{REMEMBER_COOKIE}={}", sim.users[0].sub)), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    // Remembered and consented: a code at once, for that user; prompt=none works the same.
    for url in [silent.clone(), authorize_url(&[("prompt", Some("none"))])] {
        let (_, p) = location_params(&get_with_cookie(&sim, &url, &cookie));
        let code = p.get("code").expect("a code").to_string();
        let (c, _) = claims_of(&sim, &code);
        assert_eq!(c["sub"], sim.users[0].sub);
    }
    // A scope not consented to yet, in-app confirmation, or step_up need the user.
    let more = authorize_url(&[("requested_flow", Some("no_dialog")), ("scope", Some("openid nin"))]);
    assert_eq!(location_params(&get_with_cookie(&sim, &more, &cookie)).1.get("error"), Some("interaction_required"));
    let acr = authorize_url(&[("requested_flow", Some("no_dialog")), ("acr_values", Some(APP_AUTH))]);
    assert_eq!(location_params(&get_with_cookie(&sim, &acr, &cookie)).1.get("error"), Some("interaction_required"));
    let step = authorize_url(&[("requested_flow", Some("no_dialog")), ("step_up", Some("true"))]);
    assert_eq!(location_params(&get_with_cookie(&sim, &step, &cookie)).1.get("error"), Some("login_required"));
    // Without "remember me": no cookie.
    assert!(confirm(&sim, &authorize_url(&[]), false).header("set-cookie").is_none());
    // A normal authorize with the cookie still shows the page.
    assert_eq!(get_with_cookie(&sim, &authorize_url(&[]), &cookie).status, 200);
}

#[test]
fn acr_only_when_asked_and_confirmed_and_the_hostile_modes() {
    let sim = sim();
    let code = location_params(&confirm(&sim, &authorize_url(&[]), false)).1.get("code").unwrap().to_string();
    assert!(claims_of(&sim, &code).0.get("acr").is_none());
    let asked = authorize_url(&[("acr_values", Some(APP_AUTH))]);
    let page = get(&sim, &asked).body_text();
    assert!(page.contains(r#"data-app-auth="1""#));
    let code = location_params(&confirm(&sim, &asked, false)).1.get("code").unwrap().to_string();
    assert_eq!(claims_of(&sim, &code).0["acr"], APP_AUTH);
    // Another acr value asked for: not confirmed in the app, no acr.
    let other = authorize_url(&[("acr_values", Some("urn:other"))]);
    let code = location_params(&confirm(&sim, &other, false)).1.get("code").unwrap().to_string();
    assert!(claims_of(&sim, &code).0.get("acr").is_none());
    for (mode, want) in [("acr-wrong", Some(WRONG_ACR)), ("acr-missing", None)] {
        assert_eq!(post_config(&sim, &json!({"mode": mode})).status, 200);
        let code = location_params(&confirm(&sim, &asked, false)).1.get("code").unwrap().to_string();
        let (c, _) = claims_of(&sim, &code);
        assert_eq!(c.get("acr").and_then(|a| a.as_str()), want, "{mode}");
    }
    assert_eq!(post_config(&sim, &json!({"mode": "auth-time-old"})).status, 200);
    let code = location_params(&confirm(&sim, &authorize_url(&[]), false)).1.get("code").unwrap().to_string();
    assert_eq!(claims_of(&sim, &code).0["auth_time"], T0 - 86_400);
}

#[test]
fn market_themes_the_page_and_step_up_is_shown() {
    let sim = sim();
    for (market, brand) in [("DK", "mobilepay"), ("FI", "mobilepay"), ("NO", "vipps"), ("SE", "vipps"), ("XX", "vipps")] {
        let page = get(&sim, &authorize_url(&[("market", Some(market))])).body_text();
        assert!(page.contains(&format!(r#"data-brand="{brand}""#)), "{market}");
    }
    assert!(get(&sim, &authorize_url(&[])).body_text().contains(r#"data-brand="vipps""#));
    assert!(get(&sim, &authorize_url(&[("step_up", Some("true"))])).body_text().contains(r#"data-step-up="1""#));
}

#[test]
fn marketing_consents_on_the_first_login_only() {
    for scope in ["customFlow", "delegatedConsents"] {
        let sim = sim();
        let url = authorize_url(&[("scope", Some(&format!("openid name {scope}")))]);
        let code = location_params(&confirm(&sim, &url, false)).1.get("code").unwrap().to_string();
        let (_, at) = claims_of(&sim, &code);
        let info = userinfo(&sim, &at).body_json();
        assert_eq!(info["delegatedConsents"]["consents"][0]["id"], "email", "{scope}");
        assert_eq!(info["name"], sim.users[0].name);
        // The consents screen is shown every time, the object comes once.
        assert!(get(&sim, &url).body_text().contains(r#"data-consent="ask""#));
        let code = location_params(&confirm(&sim, &url, false)).1.get("code").unwrap().to_string();
        let (_, at) = claims_of(&sim, &code);
        assert!(userinfo(&sim, &at).body_json().get("delegatedConsents").is_none(), "{scope}: second login");
        // A plain login never has it.
        let code = location_params(&confirm(&sim, &authorize_url(&[]), false)).1.get("code").unwrap().to_string();
        let (_, at) = claims_of(&sim, &code);
        assert!(userinfo(&sim, &at).body_json().get("delegatedConsents").is_none());
    }
}

#[test]
fn simulated_authorize_errors_count_down() {
    let sim = sim();
    let r = post_config(&sim, &json!({"authorize_error": {"error": "temporarily_unavailable", "times": 2}}));
    assert_eq!(r.status, 200, "{}", r.body_text());
    for _ in 0..2 {
        let (_, p) = location_params(&get(&sim, &authorize_url(&[])));
        assert_eq!((p.get("error"), p.get("state")), (Some("temporarily_unavailable"), Some(STATE)));
    }
    assert_eq!(get(&sim, &authorize_url(&[])).status, 200, "used up");
    assert_eq!(post_config(&sim, &json!({"authorize_error": {"error": "flux_capacitor_overload"}})).status, 200);
    assert_eq!(location_params(&get(&sim, &authorize_url(&[]))).1.get("error"), Some("flux_capacitor_overload"));
    // Requests without a valid client still get the error page, never the redirect.
    assert_eq!(post_config(&sim, &json!({"authorize_error": {"error": "server_error"}})).status, 200);
    assert_eq!(get(&sim, &authorize_url(&[("client_id", Some("nobody"))])).status, 400);
    for bad in [json!({"error": "Bad"}), json!({"error": "x", "times": 0}), json!({"times": 1}), json!({"error": "x", "y": 1}), json!("x")] {
        assert_eq!(post_config(&sim, &json!({"authorize_error": bad})).status, 400, "{bad}");
    }
    assert_eq!(post_config(&sim, &json!({"authorize_error": null})).status, 200);
}
