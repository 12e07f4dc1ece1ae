//! Login from phone number (CIBA): the backchannel endpoint, each answer of the CIBA grant, the
//! user's answer, user-exists, and the limits.

use serde_json::{json, Value};

use crate::endpoints::ciba::{BACKCHANNEL_PATH, INVALID_USER_PHONE, OLD_APP_PHONE, USER_EXISTS_PATH};
use crate::endpoints::{self, TOKEN_PATH};
use crate::http::{Request, Response};
use crate::state::Sim;
use crate::tests::{demo_auth, error_of, get, post_form, query, sim, userinfo, T0};

const ALICE_PHONE: &str = "4791234567";
const ALICE_SUB: &str = "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11";

fn start(sim: &Sim, params: &[(&str, &str)]) -> Response {
    post_form(sim, BACKCHANNEL_PATH, &query(params), &[("Authorization", &demo_auth())])
}

fn start_ok(sim: &Sim, phone: &str) -> String {
    let r = start(sim, &[("login_hint", &format!("urn:msisdn:{phone}")), ("scope", "openid name phoneNumber"), ("nonce", "nonce-123456789")]);
    assert_eq!(r.status, 200, "{}", r.body_text());
    r.body_json()["auth_req_id"].as_str().unwrap().to_string()
}

fn poll(sim: &Sim, id: &str) -> Response {
    post_form(sim, TOKEN_PATH, &query(&[("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", id)]), &[("Authorization", &demo_auth())])
}

fn approve(sim: &Sim, body: Value) -> Response {
    endpoints::handle(sim, &Request::new("POST", "/_sim/ciba/approve").with_body(&body.to_string()))
}

#[test]
fn discovery_advertises_the_backchannel_endpoint() {
    let d = get(&sim(), "/access-management-1.0/access/.well-known/openid-configuration").body_json();
    assert_eq!(d["backchannel_authentication_endpoint"], format!("http://127.0.0.1:7070{BACKCHANNEL_PATH}"));
    assert!(d["grant_types_supported"].as_array().unwrap().contains(&json!("urn:openid:params:grant-type:ciba")));
}

#[test]
fn start_answers_id_expiry_and_interval() {
    let sim = sim();
    let r = start(&sim, &[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("binding_message", "AB-12"), ("requested_expiry", "120")]);
    assert_eq!(r.status, 200);
    let b = r.body_json();
    assert!(b["auth_req_id"].as_str().unwrap().len() >= 20);
    assert_eq!((b["expires_in"].clone(), b["interval"].clone()), (json!(120), json!(5)));
    let r = start(&sim, &[("login_hint", "urn:customer-token:ct-4792345678"), ("scope", "openid")]);
    assert_eq!((r.status, r.body_json()["expires_in"].clone()), (200, json!(600)));
    assert_eq!(sim.stats.to_json()["backchannel"], 2);
}

#[test]
fn start_refuses_bad_requests() {
    let sim = sim();
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: &[Case] = &[
        (&[("login_hint", "4791234567"), ("scope", "openid")], 400, "invalid_request"),
        (&[("login_hint", "urn:msisdn:47abc"), ("scope", "openid")], 400, "invalid_request"),
        (&[("scope", "openid")], 400, "invalid_request"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "name")], 400, "invalid_scope"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid bogus")], 400, "invalid_scope"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("binding_message", "abc12")], 400, "invalid_binding_message"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("binding_message", "ABCDEFGHI")], 400, "invalid_binding_message"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("requested_expiry", "59")], 400, "invalid_request"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("requested_expiry", "901")], 400, "invalid_request"),
        (&[("login_hint", "urn:msisdn:4791234567"), ("login_hint", "urn:msisdn:4792345678"), ("scope", "openid")], 400, "invalid_request"),
    ];
    for (params, status, error) in cases {
        let r = start(&sim, params);
        assert_eq!((r.status, error_of(&r).as_str()), (*status, *error), "{params:?}");
    }
    let r = post_form(&sim, BACKCHANNEL_PATH, "login_hint=urn%3Amsisdn%3A4791234567&scope=openid", &[]);
    assert_eq!((r.status, error_of(&r).as_str()), (401, "invalid_client"));
    assert!(sim.store().ciba.is_empty());
}

#[test]
fn pending_then_approved_gives_tokens_once() {
    let sim = sim();
    let id = start_ok(&sim, ALICE_PHONE);
    let r = poll(&sim, &id);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "authorization_pending"));
    assert_eq!(approve(&sim, json!({"phone": "+4791234567", "decision": "approve"})).status, 200);
    sim.set_now(T0 + 5);
    let r = poll(&sim, &id);
    assert_eq!(r.status, 200, "{}", r.body_text());
    let b = r.body_json();
    let claims = crate::id_token::tests::verify(b["id_token"].as_str().unwrap(), &sim.key.public_jwk());
    assert_eq!((claims["sub"].as_str(), claims["nonce"].as_str()), (Some(ALICE_SUB), Some("nonce-123456789")));
    assert_eq!(claims["aud"], json!(["demo-client"]));
    let info = userinfo(&sim, b["access_token"].as_str().unwrap()).body_json();
    assert_eq!((info["sub"].as_str(), info["phone_number"].as_str()), (Some(ALICE_SUB), Some(ALICE_PHONE)));
    sim.set_now(T0 + 10);
    let r = poll(&sim, &id);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"), "single use");
}

#[test]
fn polling_faster_than_the_interval_slows_down_by_five_seconds() {
    let sim = sim();
    let id = start_ok(&sim, ALICE_PHONE);
    assert_eq!(error_of(&poll(&sim, &id)), "authorization_pending");
    sim.set_now(T0 + 4);
    assert_eq!(error_of(&poll(&sim, &id)), "slow_down");
    assert_eq!(sim.store().ciba[&id].interval, 10);
    sim.set_now(T0 + 13);
    assert_eq!(error_of(&poll(&sim, &id)), "slow_down", "10 s now, counted from the last poll");
    sim.set_now(T0 + 13 + 15);
    assert_eq!(error_of(&poll(&sim, &id)), "authorization_pending");
}

#[test]
fn interval_is_a_setting() {
    let sim = sim();
    assert_eq!(crate::tests::post_config(&sim, &json!({"ciba_interval": 1})).status, 200);
    assert_eq!(start(&sim, &[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid")]).body_json()["interval"], 1);
    assert_eq!(crate::tests::post_config(&sim, &json!({"ciba_interval": 0})).status, 400);
}

#[test]
fn denial_expiry_and_foreign_ids() {
    let sim = sim();
    let id = start_ok(&sim, ALICE_PHONE);
    assert_eq!(approve(&sim, json!({"auth_req_id": id, "decision": "deny"})).body_json()["status"], "denied");
    assert_eq!(error_of(&poll(&sim, &id)), "access_denied");
    assert_eq!(error_of(&poll(&sim, &id)), "invalid_grant");

    let id = start_ok(&sim, ALICE_PHONE);
    sim.set_now(T0 + 600);
    assert_eq!(error_of(&poll(&sim, &id)), "expired_token");
    assert_eq!(approve(&sim, json!({"auth_req_id": id, "decision": "approve"})).status, 404);
    assert_eq!(error_of(&poll(&sim, "no-such-id")), "invalid_grant");
    assert_eq!(approve(&sim, json!({"auth_req_id": "x", "decision": "maybe"})).status, 400);
    // `curl -d '{...}'` labels JSON as a form: still JSON.
    let id = start_ok(&sim, ALICE_PHONE);
    let r = post_form(&sim, "/_sim/ciba/approve", &json!({"auth_req_id": id, "decision": "approve"}).to_string(), &[]);
    assert_eq!((r.status, r.body_json()["status"].as_str()), (200, Some("approved")));
}

#[test]
fn old_app_and_invalid_user_in_error_or_error_code() {
    let sim = sim();
    let r = poll(&sim, &start_ok(&sim, OLD_APP_PHONE));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "old_app"));
    let r = poll(&sim, &start_ok(&sim, INVALID_USER_PHONE));
    assert_eq!((r.status, r.body_json()["error_code"].as_str()), (400, Some("invalid_user")));
    let r = poll(&sim, &start_ok(&sim, "4700000000"));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_user"));
}

#[test]
fn too_many_logins_for_one_user_get_429_with_retry_after() {
    let sim = sim();
    for _ in 0..3 {
        start_ok(&sim, ALICE_PHONE);
    }
    let r = start(&sim, &[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid")]);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("30")));
    start_ok(&sim, "4792345678");
}

#[test]
fn user_exists() {
    let sim = sim();
    let ask = |hint: &str| {
        let r = endpoints::handle(
            &sim,
            &Request::new("POST", USER_EXISTS_PATH).with_header("Authorization", &demo_auth()).with_body(&json!({"login_hint": hint}).to_string()),
        );
        (r.status, r.body_json())
    };
    assert_eq!(ask("urn:msisdn:4791234567"), (200, json!({"exists": true})));
    assert_eq!(ask("urn:msisdn:4700000000"), (200, json!({"exists": false})));
    assert_eq!(ask("4791234567").0, 400);
    let r = post_form(&sim, USER_EXISTS_PATH, "login_hint=urn%3Amsisdn%3A4791234567", &[("Authorization", &demo_auth())]);
    assert_eq!(r.body_json(), json!({"exists": true}));
    let r = post_form(&sim, USER_EXISTS_PATH, "login_hint=urn%3Amsisdn%3A4791234567", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(sim.stats.to_json()["user_exists"], 5);
}

#[test]
fn the_pending_page_lists_and_answers() {
    let sim = sim();
    let id = start(&sim, &[("login_hint", "urn:msisdn:4791234567"), ("scope", "openid"), ("binding_message", "SHOP-42")]).body_json()["auth_req_id"].as_str().unwrap().to_string();
    let page = get(&sim, "/_sim/ciba").body_text();
    assert!(page.contains(&format!(r#"data-auth-req-id="{id}""#)) && page.contains("SHOP-42") && page.contains("+4791234567"));
    let r = post_form(&sim, "/_sim/ciba/approve", &query(&[("auth_req_id", &id), ("decision", "approve")]), &[]);
    assert_eq!((r.status, r.header("location")), (302, Some("/_sim/ciba")));
    assert!(get(&sim, "/_sim/ciba").body_text().contains("No logins in progress."));
}

mod login_to_webpage {
    use super::*;
    use crate::endpoints::ciba::REDIRECT_GRANT_TYPE;
    use crate::tests::{post_config, CB};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use p256::ecdsa::signature::Verifier;

    fn start_web(sim: &Sim, phone: &str) -> String {
        let r = start(sim, &[("login_hint", &format!("urn:msisdn:{phone}")), ("scope", "openid name"), ("nonce", "nonce-123456789"), ("requested_flow", "login_to_webpage"), ("redirect_uri", CB)]);
        assert_eq!(r.status, 200, "{}", r.body_text());
        r.body_json()["auth_req_id"].as_str().unwrap().to_string()
    }

    /// Approves; returns the code from the redirect the browser is sent to.
    fn approve_code(sim: &Sim, id: &str) -> String {
        let r = approve(sim, json!({"auth_req_id": id, "decision": "approve"}));
        assert_eq!(r.status, 200, "{}", r.body_text());
        let redirect = r.body_json()["redirect"].as_str().unwrap().to_string();
        let (base, q) = redirect.split_once('?').unwrap();
        assert_eq!(base, CB);
        assert!(!q.contains("state="), "no state: {q}");
        q.strip_prefix("code=").unwrap().to_string()
    }

    fn exchange(sim: &Sim, code: &str) -> Response {
        post_form(sim, TOKEN_PATH, &query(&[("grant_type", REDIRECT_GRANT_TYPE), ("code", code), ("redirect_uri", CB)]), &[("Authorization", &demo_auth())])
    }

    fn parts(jwt: &str) -> (Value, Value, Vec<u8>, String) {
        let v: Vec<&str> = jwt.split('.').collect();
        let dec = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        (serde_json::from_slice(&dec(v[0])).unwrap(), serde_json::from_slice(&dec(v[1])).unwrap(), dec(v[2]), format!("{}.{}", v[0], v[1]))
    }

    fn es256_ok(sim: &Sim, jwt: &str) -> bool {
        let jwks = get(sim, crate::endpoints::JWKS_PATH).body_json();
        let (header, _, sig, input) = parts(jwt);
        let Some(jwk) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"] && k["kty"] == "EC") else { return false };
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
        let point = p256::EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
        let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
        let Ok(sig) = p256::ecdsa::Signature::from_slice(&sig) else { return false };
        key.verify(input.as_bytes(), &sig).is_ok()
    }

    #[test]
    fn approval_sends_the_browser_a_code_that_gives_an_es256_token_once() {
        let sim = sim();
        let id = start_web(&sim, ALICE_PHONE);
        // Not polled: the token endpoint is called once, with the code.
        assert_eq!(error_of(&poll(&sim, &id)), "invalid_request");
        let code = approve_code(&sim, &id);
        let r = exchange(&sim, &code);
        assert_eq!(r.status, 200, "{}", r.body_text());
        let t = r.body_json();
        let jwt = t["id_token"].as_str().unwrap();
        let (header, claims, _, _) = parts(jwt);
        assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("ES256"), Some(sim.ec_key.kid())));
        assert_eq!((claims["auth_req_id"].as_str(), claims["sub"].as_str(), claims["nonce"].as_str()), (Some(id.as_str()), Some(ALICE_SUB), Some("nonce-123456789")));
        assert!(es256_ok(&sim, jwt), "verifies with the JWKS's P-256 key");
        let u = userinfo(&sim, t["access_token"].as_str().unwrap());
        assert_eq!(u.body_json()["sub"], ALICE_SUB);
        // Once only.
        assert_eq!(error_of(&exchange(&sim, &code)), "invalid_grant");
        assert_eq!(error_of(&exchange(&sim, "made-up")), "invalid_grant");
    }

    #[test]
    fn the_start_needs_a_registered_redirect_uri() {
        let sim = sim();
        for params in [
            vec![("requested_flow", "login_to_webpage")],
            vec![("requested_flow", "login_to_webpage"), ("redirect_uri", "https://evil.example/cb")],
            vec![("requested_flow", "poll_please"), ("redirect_uri", CB)],
            vec![("redirect_uri", CB)],
        ] {
            let mut all = vec![("login_hint", "urn:msisdn:4791234567"), ("scope", "openid")];
            all.extend(params.iter().copied());
            assert_eq!(error_of(&start(&sim, &all)), "invalid_request", "{params:?}");
        }
    }

    #[test]
    fn hostile_tokens() {
        let sim = sim();
        assert_eq!(post_config(&sim, &json!({"ciba_redirect_fault": "nonsense"})).status, 400);
        let rsa_kid = sim.key.kid().to_string();
        for (fault, check) in [
            ("wrong_auth_req_id", Box::new(|id: &str, h: &Value, c: &Value, ok: bool| c["auth_req_id"] != id && c["auth_req_id"].is_string() && h["alg"] == "ES256" && ok) as Box<dyn Fn(&str, &Value, &Value, bool) -> bool>),
            ("missing_auth_req_id", Box::new(|_, _, c, ok| c.get("auth_req_id").is_none() && c.get("authReqId").is_none() && ok)),
            ("camel_auth_req_id", Box::new(|id, _, c, ok| c["authReqId"] == id && c.get("auth_req_id").is_none() && ok)),
            ("bad_signature", Box::new(|id, h, c, ok| c["auth_req_id"] == id && h["alg"] == "ES256" && !ok)),
            ("rs256", Box::new(|_, h, _, _| h["alg"] == "RS256")),
            ("alg_none", Box::new(|_, h, _, ok| h["alg"] == "none" && !ok)),
            ("alg_hs256", Box::new(|_, h, _, ok| h["alg"] == "HS256" && !ok)),
            ("alg_es384", Box::new(|_, h, _, _| h["alg"] == "ES384")),
            ("es256_rsa_kid", Box::new(move |_, h, _, _| h["alg"] == "ES256" && h["kid"] == rsa_kid.as_str())),
        ] {
            assert_eq!(post_config(&sim, &json!({"ciba_redirect_fault": fault})).status, 200);
            let id = start_web(&sim, ALICE_PHONE);
            let code = approve_code(&sim, &id);
            let r = exchange(&sim, &code);
            assert_eq!(r.status, 200, "{fault}: {}", r.body_text());
            let jwt = r.body_json()["id_token"].as_str().unwrap().to_string();
            let (h, c, _, _) = parts(&jwt);
            assert!(check(&id, &h, &c, es256_ok(&sim, &jwt)), "{fault}: {h} {c}");
        }
        assert_eq!(post_config(&sim, &json!({"ciba_redirect_fault": null})).status, 200);
    }
}
