//! The app flows (endpoints/app_flows.rs): app_to_app with its app callback URI, resume_uri and
//! malformed error form, app_to_app_v2's PKCE requirement, automatic return, final_redirect_is_app,
//! and the documented redirect errors.

use crate::config::SimConfig;
use crate::endpoints::{CANCEL_PATH, CONFIRM_PATH};
use crate::state::Sim;
use crate::tests::{authorize_url, get, location_params, post_form, query, req_id, BASE, CB, STATE, T0};

const APP_CB: &str = "merchant-app://app-callback";
const S256: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn app_sim() -> Sim {
    let mut config = SimConfig::default();
    config.clients[0].redirect_uris.push(APP_CB.into());
    let sim = Sim::new(config, crate::keys::tests::test_key(), BASE);
    sim.set_now(T0);
    sim
}

fn login_page(sim: &Sim, overrides: &[(&str, Option<&str>)]) -> String {
    let r = get(sim, &authorize_url(overrides));
    assert_eq!(r.status, 200, "{}", r.body_text());
    req_id(&r.body_text())
}

fn confirm(sim: &Sim, req: &str) -> crate::http::Response {
    let sub = sim.users[0].sub.clone();
    post_form(sim, CONFIRM_PATH, &query(&[("req", req), ("user", &sub)]), &[])
}

#[test]
fn app_to_app_opens_the_app_with_state_and_resume_uri_then_resumes_to_the_redirect_uri() {
    let sim = app_sim();
    let req = login_page(&sim, &[("requested_flow", Some("app_to_app")), ("app_callback_uri", Some(APP_CB))]);
    let r = confirm(&sim, &req);
    let (base, p) = location_params(&r);
    assert_eq!(base, APP_CB);
    assert_eq!(p.get("state"), Some(STATE));
    let resume = p.get("resume_uri").unwrap().to_string();
    assert!(resume.starts_with(&format!("{BASE}/access-management-1.0/access/oauth2/auth/resume?tabId=")), "{resume}");
    let path = resume.trim_start_matches(BASE);
    let r = get(&sim, path);
    let (base, p) = location_params(&r);
    assert_eq!(base, CB);
    assert_eq!(p.get("state"), Some(STATE));
    assert!(p.get("code").is_some());
    assert_eq!(get(&sim, path).status, 400, "resume_uri is single use");
}

#[test]
fn app_to_app_errors_go_to_the_app_in_the_malformed_form() {
    let sim = app_sim();
    let req = login_page(&sim, &[("requested_flow", Some("app_to_app")), ("app_callback_uri", Some(APP_CB))]);
    let r = post_form(&sim, CANCEL_PATH, &query(&[("req", &req), ("error", "outdated_app_version")]), &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(format!("{APP_CB}?state={STATE}?error=outdated_app_version").as_str()));
}

#[test]
fn app_callback_uri_must_be_valid_and_registered() {
    let sim = app_sim();
    for (uri, error) in [
        (None, "invalid_app_callback_uri"),
        (Some("not a uri"), "invalid_app_callback_uri"),
        (Some("merchant-app://"), "invalid_app_callback_uri"),
        (Some("merchant-app://other"), "app_callback_uri_not_registered"),
        (Some("merchant-app://app-callback/"), "app_callback_uri_not_registered"),
    ] {
        let r = get(&sim, &authorize_url(&[("requested_flow", Some("app_to_app")), ("app_callback_uri", uri)]));
        let (base, p) = location_params(&r);
        assert_eq!(base, CB, "{uri:?}");
        assert_eq!(p.get("error"), Some(error), "{uri:?}");
        assert_eq!(p.get("state"), Some(STATE));
    }
}

#[test]
fn app_to_app_v2_needs_s256_and_goes_straight_to_the_redirect_uri() {
    let sim = app_sim();
    for overrides in [vec![], vec![("code_challenge", Some(S256)), ("code_challenge_method", Some("plain"))]] {
        let mut o = overrides.clone();
        o.push(("requested_flow", Some("app_to_app_v2")));
        let r = get(&sim, &authorize_url(&o));
        let (_, p) = location_params(&r);
        assert_eq!(p.get("error"), Some("invalid_request"), "{overrides:?}");
    }
    let req = login_page(&sim, &[
        ("requested_flow", Some("app_to_app_v2")),
        ("code_challenge", Some(S256)),
        ("code_challenge_method", Some("S256")),
        ("final_redirect_is_app", Some("true")),
    ]);
    let (base, p) = location_params(&confirm(&sim, &req));
    assert_eq!(base, CB);
    assert!(p.get("code").is_some() && p.get("resume_uri").is_none());
    let r = get(&sim, &authorize_url(&[("final_redirect_is_app", Some("yes"))]));
    assert_eq!(location_params(&r).1.get("error"), Some("invalid_request"));
}

#[test]
fn automatic_return_redirects_to_the_redirect_uri_and_documented_errors_are_answered() {
    let sim = app_sim();
    let req = login_page(&sim, &[("requested_flow", Some("automatic_return_from_vipps_app"))]);
    let (base, p) = location_params(&confirm(&sim, &req));
    assert_eq!(base, CB);
    assert!(p.get("code").is_some());
    for error in ["wrong_challenge", "unknown_reject_reason", "outdated_app_version", "invalid_app_callback_uri"] {
        let req = login_page(&sim, &[]);
        let r = post_form(&sim, CANCEL_PATH, &query(&[("req", &req), ("error", error)]), &[]);
        let (base, p) = location_params(&r);
        assert_eq!((base.as_str(), p.get("error"), p.get("state")), (CB, Some(error), Some(STATE)));
    }
    let req = login_page(&sim, &[]);
    let r = post_form(&sim, CANCEL_PATH, &query(&[("req", &req), ("error", "<script>")]), &[]);
    assert_eq!(r.status, 400);
}
