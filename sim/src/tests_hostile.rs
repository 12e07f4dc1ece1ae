//! Tests of the hostile modes (one whole login per mode, checking the ID token, JWKS, discovery,
//! userinfo and redirect it produces) and of the network faults, in-process and over TCP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jwt_compact::alg::Rsa;
use jwt_compact::{AlgorithmExt, UntrustedToken};
use rsa::pkcs8::EncodePublicKey;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::config::SimConfig;
use crate::endpoints::{self, CONFIRM_PATH, DISCOVERY_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH};
use crate::faults::HUGE_SIZE;
use crate::http::{header_value, Delivery, Params, Request};
use crate::id_token::tests::key_from_jwk;
use crate::keys::tests::test_key;
use crate::modes::{
    Expect, Mode, EVIL_ISSUER, EVIL_ISS_PARAM, FOREIGN_SUB, HTTP_USERINFO_ENDPOINT, WRONG_NONCE,
};
use crate::state::Sim;
use crate::tests::{
    authorize_url, exchange, get, post_config, post_form, query, req_id, sim, userinfo, T0,
};

const NONCE: &str = "nonce-0123456789";

fn set_mode(sim: &Sim, mode: Option<Mode>) {
    let r = post_config(sim, &json!({ "mode": mode.map(Mode::name) }));
    assert_eq!(r.status, 200, "{}", r.body_text());
}

/// The decoded header or payload of a compact JWS.
fn part(jwt: &str, i: usize) -> Value {
    let p = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

/// Everything one login produced.
struct Login {
    /// The confirm redirect, decoded.
    callback: Params,
    /// The raw `Location` of the confirm redirect.
    location: String,
    token: Value,
    id_token: String,
    header: Value,
    claims: Value,
    /// The JWKS as a relying party would have cached it before the login.
    jwks_before: Value,
    /// The JWKS fetched after the token exchange.
    jwks: Value,
    discovery: Value,
    userinfo: Value,
}

fn login(sim: &Sim) -> Login {
    let discovery = get(sim, DISCOVERY_PATH).body_json();
    let jwks_before = get(sim, JWKS_PATH).body_json();
    let page = get(sim, &authorize_url(&[("nonce", Some(NONCE))]));
    assert_eq!(page.status, 200);
    let r = post_form(
        sim,
        CONFIRM_PATH,
        &query(&[
            ("req", &req_id(&page.body_text())),
            ("user", &sim.users[0].sub),
        ]),
        &[],
    );
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap().to_string();
    let callback = Params::parse(location.split_once('?').unwrap().1.as_bytes());
    let t = exchange(sim, callback.get("code").unwrap(), &[]);
    assert_eq!(t.status, 200, "{}", t.body_text());
    let token = t.body_json();
    let id_token = token["id_token"].as_str().unwrap().to_string();
    let u = userinfo(sim, token["access_token"].as_str().unwrap());
    assert_eq!(u.status, 200);
    Login {
        callback,
        location,
        header: part(&id_token, 0),
        claims: part(&id_token, 1),
        id_token,
        token,
        jwks_before,
        jwks: get(sim, JWKS_PATH).body_json(),
        discovery,
        userinfo: u.body_json(),
    }
}

fn keys(jwks: &Value) -> &Vec<Value> {
    jwks["keys"].as_array().unwrap()
}

/// Verifies an RS256 JWT with jwt-compact against a key of `jwks`, choosing the key the way a
/// careful relying party does: only RSA signing keys without private parts, by `kid`, or the only
/// one when the header has no `kid`.
fn rp_verify(jwt: &str, jwks: &Value) -> Result<Value, String> {
    let untrusted = UntrustedToken::new(jwt).map_err(|e| e.to_string())?;
    if untrusted.algorithm() != "RS256" {
        return Err(format!("alg {}", untrusted.algorithm()));
    }
    let kid = untrusted.header().key_id.clone();
    let usable: Vec<&Value> = keys(jwks)
        .iter()
        .filter(|k| {
            k["kty"] == "RSA"
                && (k.get("use").is_none() || k["use"] == "sig")
                && (k.get("alg").is_none() || k["alg"] == "RS256")
                && k.get("d").is_none()
        })
        .filter(|k| kid.is_none() || k["kid"].as_str() == kid.as_deref())
        .collect();
    let [jwk] = usable.as_slice() else {
        return Err(format!("{} candidate keys", usable.len()));
    };
    Rsa::rs256()
        .validator::<Value>(&key_from_jwk(jwk))
        .validate(&untrusted)
        .map_err(|e| e.to_string())?;
    Ok(part(jwt, 1))
}

/// Verifies with one given key (no selection), under RS256 or PS256.
fn verifies_with(jwt: &str, jwk: &Value, alg: Rsa) -> bool {
    let untrusted = UntrustedToken::new(jwt).unwrap();
    alg.validator::<Value>(&key_from_jwk(jwk))
        .validate(&untrusted)
        .is_ok()
}

fn real_jwk(sim: &Sim) -> Value {
    sim.key.public_jwk()
}

/// Modes that change discovery, the JWKS, or the header (everything else leaves them as Vipps').
fn changes_discovery(m: Mode) -> bool {
    matches!(
        m,
        Mode::DiscoveryIssuerMismatch
            | Mode::DiscoveryForeignHost
            | Mode::DiscoveryHttpEndpoint
            | Mode::IssParamWrong
            | Mode::IssParamCorrect
    )
}

fn changes_jwks(m: Mode) -> bool {
    matches!(
        m,
        Mode::KidAbsentMultipleJwks
            | Mode::KidAbsentSingleJwks
            | Mode::SigningKeyRotation
            | Mode::SigningKeyRotationJustBeforeSigning
            | Mode::JwksHostileOnly
            | Mode::JwksHostilePlusReal
            | Mode::JwksManyKeys
    )
}

#[test]
fn every_mode_does_what_it_says() {
    let baseline_sim = sim();
    let normal = login(&baseline_sim);
    let normal_discovery = normal.discovery.clone();
    let normal_jwks = normal.jwks.clone();
    let normal_header = json!({"alg": "RS256", "kid": baseline_sim.key.kid(), "typ": "JWT"});
    assert_eq!(normal.header, normal_header);
    rp_verify(&normal.id_token, &normal.jwks).unwrap();
    assert!(normal.callback.get("iss").is_none());

    for mode in Mode::all() {
        let sim = sim();
        set_mode(&sim, Some(mode));
        let l = login(&sim);
        let real = real_jwk(&sim);
        let kid = sim.key.kid().to_string();
        let c = &l.claims;
        let h = &l.header;

        // What the mode leaves alone stays as Vipps has it.
        if !changes_discovery(mode) {
            assert_eq!(l.discovery, normal_discovery, "{mode:?}");
        }
        if !changes_jwks(mode) {
            assert_eq!(l.jwks, normal_jwks, "{mode:?}");
        }
        if !matches!(mode, Mode::IssParamWrong | Mode::IssParamCorrect) {
            assert!(l.callback.get("iss").is_none(), "{mode:?}");
        }
        if mode != Mode::UserinfoInvalidSub {
            assert_eq!(l.userinfo["sub"], sim.users[0].sub, "{mode:?}");
        }
        if !matches!(mode, Mode::TokenTypeUppercase | Mode::ExpiresInMissing) {
            assert_eq!(l.token["token_type"], "bearer");
            assert_eq!(l.token["expires_in"], 600);
        }
        if matches!(mode.expect(), Expect::Accept | Expect::Either) {
            let claims = rp_verify(&l.id_token, &l.jwks)
                .unwrap_or_else(|e| panic!("{mode:?} must verify: {e}"));
            assert_eq!(claims["iss"], sim.issuer, "{mode:?}");
            assert_eq!(claims["sub"], sim.users[0].sub, "{mode:?}");
            assert_eq!(claims["nonce"], NONCE, "{mode:?}");
            assert_eq!(claims["iat"], T0, "{mode:?}");
            assert_eq!(claims["exp"], T0 + 3600, "{mode:?}");
        }

        match mode {
            // Without acr_values nothing changes but what the mode says (see tests_flows.rs).
            Mode::AcrWrong | Mode::AcrMissing => {
                assert!(c.get("acr").is_none(), "{mode:?}");
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::AuthTimeOld => {
                assert_eq!(c["auth_time"], T0 - 86_400);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::InvalidIss => {
                assert_eq!(c["iss"], EVIL_ISSUER);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::MissingSub => {
                assert!(c.get("sub").is_none());
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::InvalidAud => {
                assert_eq!(c["aud"], json!(["someone-else"]));
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::MissingAud => {
                assert!(c.get("aud").is_none());
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::MissingIat => {
                assert!(c.get("iat").is_none());
                assert_eq!(c["exp"], T0 + 3600);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::IdTokenSigNone | Mode::AlgNoneUppercase => {
                let alg = if mode == Mode::IdTokenSigNone {
                    "none"
                } else {
                    "NONE"
                };
                assert_eq!(h, &json!({"alg": alg, "kid": kid, "typ": "JWT"}));
                assert!(l.id_token.ends_with('.'));
                assert_eq!(l.id_token.split('.').count(), 3);
                assert_eq!(c["sub"], sim.users[0].sub);
                assert!(rp_verify(&l.id_token, &l.jwks).is_err());
            }
            Mode::InvalidSigRs256 => {
                assert_eq!(h, &json!({"alg": "RS256", "kid": kid, "typ": "JWT"}));
                assert!(!verifies_with(&l.id_token, &real, Rsa::rs256()));
                // Flipping the bits back gives the valid signature.
                let (input, sig) = l.id_token.rsplit_once('.').unwrap();
                let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
                assert_eq!(sig.len(), 256);
                *sig.last_mut().unwrap() ^= 0xff;
                let fixed = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
                assert!(verifies_with(&fixed, &real, Rsa::rs256()));
            }
            Mode::AlgHs256PublicKey => {
                assert_eq!(h, &json!({"alg": "HS256", "kid": kid, "typ": "JWT"}));
                let spki = key_from_jwk(&real).to_public_key_der().unwrap();
                let (input, sig) = l.id_token.rsplit_once('.').unwrap();
                let mut mac = Hmac::<Sha256>::new_from_slice(spki.as_bytes()).unwrap();
                mac.update(input.as_bytes());
                assert_eq!(
                    URL_SAFE_NO_PAD.decode(sig).unwrap(),
                    mac.finalize().into_bytes().to_vec()
                );
                assert!(rp_verify(&l.id_token, &l.jwks).is_err());
            }
            Mode::AlgPs256 => {
                assert_eq!(h, &json!({"alg": "PS256", "kid": kid, "typ": "JWT"}));
                assert!(verifies_with(&l.id_token, &real, Rsa::ps256()));
                assert!(!verifies_with(&l.id_token, &real, Rsa::rs256()));
                assert!(rp_verify(&l.id_token, &l.jwks).is_err());
            }
            Mode::NonceInvalid => {
                assert_eq!(c["nonce"], WRONG_NONCE);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::MissingNonce => {
                assert!(c.get("nonce").is_none());
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::ExpiredExp => {
                assert_eq!(
                    (c["iat"].as_u64(), c["exp"].as_u64()),
                    (Some(T0 - 3700), Some(T0 - 3600))
                );
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::MissingExp => {
                assert!(c.get("exp").is_none());
                assert_eq!(c["iat"], T0);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::NbfFuture => {
                assert_eq!(c["nbf"], T0 + 3600);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::IatFarPast => {
                assert_eq!(
                    (c["iat"].as_u64(), c["exp"].as_u64()),
                    (Some(T0 - 86_400), Some(T0 + 3600))
                );
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::ClaimsWrongTypes => {
                assert_eq!(c["sub"], json!(12345));
                assert_eq!(c["iss"], sim.issuer);
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::SecondaryAudNoAzp => {
                assert_eq!(c["aud"], json!(["demo-client", "another-client"]));
                assert!(c.get("azp").is_none());
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::KidAbsentMultipleJwks => {
                assert_eq!(h, &json!({"alg": "RS256", "typ": "JWT"}));
                let ks = keys(&l.jwks);
                assert_eq!(ks.len(), 2);
                assert_eq!(ks[0], real);
                assert!(ks.iter().all(|k| k["kty"] == "RSA" && k["use"] == "sig"));
                assert_ne!(ks[0]["kid"], ks[1]["kid"]);
                assert_ne!(ks[0]["n"], ks[1]["n"]);
                assert!(verifies_with(&l.id_token, &ks[0], Rsa::rs256()));
                assert!(!verifies_with(&l.id_token, &ks[1], Rsa::rs256()));
                assert!(rp_verify(&l.id_token, &l.jwks).is_err());
            }
            Mode::UserinfoInvalidSub => {
                assert_eq!(l.userinfo["sub"], FOREIGN_SUB);
                assert_eq!(c["sub"], sim.users[0].sub);
                assert_eq!(l.userinfo["sid"], c["sid"]);
            }
            Mode::DiscoveryIssuerMismatch => {
                let mut expected = normal_discovery.clone();
                expected["issuer"] = json!(EVIL_ISSUER);
                assert_eq!(l.discovery, expected);
            }
            Mode::DiscoveryForeignHost => {
                let mut expected = normal_discovery.clone();
                expected["token_endpoint"] =
                    json!("http://127.0.0.2:7070/access-management-1.0/access/oauth2/token");
                assert_eq!(l.discovery, expected);
            }
            Mode::DiscoveryHttpEndpoint => {
                let mut expected = normal_discovery.clone();
                expected["userinfo_endpoint"] = json!(HTTP_USERINFO_ENDPOINT);
                assert_eq!(l.discovery, expected);
            }
            Mode::JwksHostileOnly => {
                assert_eq!(h, &normal_header);
                let ks = keys(&l.jwks);
                assert_eq!(ks.len(), 4);
                assert!(ks.iter().all(|k| k["kid"] == kid.as_str()));
                assert_eq!(ks[0]["kty"], "oct");
                assert!(ks[0]["k"].as_str().unwrap().len() >= 43);
                assert_eq!(
                    (ks[1]["use"].as_str(), ks[1]["n"].as_str()),
                    (Some("enc"), real["n"].as_str())
                );
                assert_eq!(
                    (ks[2]["alg"].as_str(), ks[2]["n"].as_str()),
                    (Some("HS256"), real["n"].as_str())
                );
                for field in ["d", "p", "q", "dp", "dq", "qi"] {
                    assert!(ks[3][field].is_string(), "{field}");
                }
                assert_eq!(ks[3]["n"], real["n"]);
                // The token itself is fine; only the keys are unusable.
                assert!(verifies_with(&l.id_token, &real, Rsa::rs256()));
                assert!(rp_verify(&l.id_token, &l.jwks).is_err());
            }
            Mode::IssParamWrong | Mode::IssParamCorrect => {
                let iss = if mode == Mode::IssParamWrong {
                    EVIL_ISS_PARAM
                } else {
                    sim.issuer.as_str()
                };
                assert_eq!(l.callback.get("iss"), Some(iss));
                let encoded: String = form_urlencoded::byte_serialize(iss.as_bytes()).collect();
                assert!(
                    l.location.ends_with(&format!("&iss={encoded}")),
                    "{}",
                    l.location
                );
                assert!(
                    encoded.starts_with("http%3A%2F%2F") || encoded.starts_with("https%3A%2F%2F")
                );
                assert_eq!(
                    l.discovery["authorization_response_iss_parameter_supported"],
                    true
                );
                rp_verify(&l.id_token, &l.jwks).unwrap();
            }
            Mode::KidAbsentSingleJwks => {
                assert_eq!(h, &json!({"alg": "RS256", "typ": "JWT"}));
                let ks = keys(&l.jwks);
                assert_eq!(ks.len(), 4);
                assert_eq!(ks[0]["kty"], "oct");
                assert_eq!(
                    (ks[1]["kty"].as_str(), ks[1]["crv"].as_str()),
                    (Some("EC"), Some("P-256"))
                );
                for xy in ["x", "y"] {
                    assert_eq!(
                        URL_SAFE_NO_PAD
                            .decode(ks[1][xy].as_str().unwrap())
                            .unwrap()
                            .len(),
                        32
                    );
                }
                assert_eq!(
                    (ks[2]["kty"].as_str(), ks[2]["use"].as_str()),
                    (Some("RSA"), Some("enc"))
                );
                assert!(URL_SAFE_NO_PAD.decode(ks[2]["n"].as_str().unwrap()).is_ok());
                assert_eq!(ks[3], real);
                assert!(ks.iter().all(|k| k["kid"].is_string()));
            }
            Mode::SigningKeyRotation => {
                // The key was made when the mode was set, so even the early JWKS has it.
                let before = keys(&l.jwks_before);
                assert_eq!(before.len(), 2);
                assert_eq!(before[1], real);
                assert_eq!(h["kid"], before[0]["kid"]);
                assert_ne!(h["kid"], kid.as_str());
                assert!(h["kid"].as_str().unwrap().starts_with("public:"));
                assert_eq!(l.jwks, l.jwks_before);
                // A second login uses the same new key.
                let again = login(&sim);
                assert_eq!(again.header["kid"], h["kid"]);
                // Setting the mode again rotates again; leaving it restores the JWKS.
                set_mode(&sim, Some(mode));
                let third = get(&sim, JWKS_PATH).body_json();
                assert_ne!(keys(&third)[0]["kid"], h["kid"]);
                set_mode(&sim, None);
                assert_eq!(get(&sim, JWKS_PATH).body_json(), normal_jwks);
            }
            Mode::SigningKeyRotationJustBeforeSigning => {
                // Cached before signing: only the old key, so the token's kid is unknown there.
                assert_eq!(l.jwks_before, normal_jwks);
                let after = keys(&l.jwks);
                assert_eq!(after.len(), 2);
                assert_eq!(after[1], real);
                assert_eq!(h["kid"], after[0]["kid"]);
                assert_ne!(h["kid"], kid.as_str());
                assert!(rp_verify(&l.id_token, &l.jwks_before).is_err());
                let again = login(&sim);
                assert_eq!(again.header["kid"], h["kid"]);
                set_mode(&sim, None);
                assert_eq!(get(&sim, JWKS_PATH).body_json(), normal_jwks);
            }
            Mode::JwksHostilePlusReal => {
                assert_eq!(h, &normal_header);
                let ks = keys(&l.jwks);
                assert_eq!(ks.len(), 4 + 40 + 1);
                assert_eq!(ks[44], real);
                let kids: std::collections::HashSet<&str> =
                    ks.iter().map(|k| k["kid"].as_str().unwrap()).collect();
                assert_eq!(kids.len(), 45);
                assert_eq!(ks[0]["kty"], "oct");
                assert_eq!(ks[1]["use"], "enc");
                assert_eq!(ks[2]["alg"], "HS256");
                assert!(ks[3]["d"].is_string());
                assert!(ks[4..44].iter().all(|k| k["kty"] == "oct"));
            }
            Mode::JwksManyKeys => {
                let ks = keys(&l.jwks);
                assert_eq!(ks.len(), 5001);
                assert!(ks[..5000].iter().all(|k| k["kty"] == "oct"));
                assert_eq!(ks[5000], real);
            }
            Mode::AudString => assert_eq!(c["aud"], "demo-client"),
            Mode::TokenTypeUppercase => {
                assert_eq!(l.token["token_type"], "BEARER");
                assert_eq!(l.token["expires_in"], 600);
            }
            Mode::ExpiresInMissing => {
                assert!(l.token.get("expires_in").is_none());
                assert_eq!(l.token["token_type"], "bearer");
            }
        }
    }
}

#[test]
fn normal_behaviour_is_restored_byte_for_byte() {
    let sim = sim();
    let discovery = get(&sim, DISCOVERY_PATH);
    let jwks = get(&sim, JWKS_PATH);
    for mode in [
        Mode::JwksHostilePlusReal,
        Mode::DiscoveryForeignHost,
        Mode::SigningKeyRotation,
    ] {
        set_mode(&sim, Some(mode));
        set_mode(&sim, None);
        assert_eq!(get(&sim, DISCOVERY_PATH).body, discovery.body);
        assert_eq!(get(&sim, JWKS_PATH).body, jwks.body);
    }
}

#[test]
fn modes_list_config_and_reset() {
    let sim = sim();
    let r = get(&sim, "/_sim/modes");
    assert_eq!(r.status, 200);
    let list = r.body_json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["description"].as_str().is_some_and(|d| !d.is_empty()));
            m["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(names.len(), 37);
    assert!(names.contains(&"signing-key-rotation-just-before-signing"));

    let r = post_config(&sim, &json!({"mode": "no-such-mode"}));
    assert_eq!(r.status, 400);
    assert!(r.body_text().contains("no-such-mode"));
    assert_eq!(get(&sim, "/_sim/config").body_json()["mode"], Value::Null);

    let r = post_config(
        &sim,
        &json!({"mode": "invalid-iss", "fault": {"endpoint": "userinfo", "kind": "status", "status": 502}}),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    let cfg = get(&sim, "/_sim/config").body_json();
    assert_eq!(cfg["mode"], "invalid-iss");
    assert_eq!(
        cfg["fault"],
        json!({"endpoint": "userinfo", "kind": "status", "status": 502})
    );
    get(&sim, DISCOVERY_PATH);

    let r = endpoints::handle(&sim, &Request::new("POST", "/_sim/reset"));
    assert_eq!(r.status, 200);
    let cfg = get(&sim, "/_sim/config").body_json();
    assert_eq!(
        (cfg["mode"].clone(), cfg["fault"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(get(&sim, "/_sim/stats").body_json()["discovery"], 0);
    assert_eq!(
        r.body_json(),
        json!({"discovery": 0, "jwks": 0, "authorize": 0, "confirm": 0, "cancel": 0, "token": 0, "userinfo": 0, "elsewhere": 0, "webhook": 0, "backchannel": 0, "user_exists": 0})
    );
    let l = login(&sim);
    assert_eq!(l.claims["iss"], sim.issuer);
}

#[test]
fn iss_param_also_on_error_redirects() {
    let sim = sim();
    set_mode(&sim, Some(Mode::IssParamWrong));
    let r = get(&sim, &authorize_url(&[("state", Some("short"))]));
    let loc = r.header("location").unwrap();
    assert!(loc.ends_with("&iss=https%3A%2F%2Fevil.example%2F"), "{loc}");
    let page = get(&sim, &authorize_url(&[])).body_text();
    let r = post_form(
        &sim,
        endpoints::CANCEL_PATH,
        &query(&[("req", &req_id(&page))]),
        &[],
    );
    assert!(r
        .header("location")
        .unwrap()
        .ends_with("&iss=https%3A%2F%2Fevil.example%2F"));
}

// ---- faults, in-process ----

fn set_fault(sim: &Sim, fault: Value) {
    let r = post_config(sim, &json!({ "fault": fault }));
    assert_eq!(r.status, 200, "{}", r.body_text());
}

#[test]
fn faults_in_process() {
    let sim = sim();
    let token_req = || {
        post_form(
            &sim,
            TOKEN_PATH,
            "grant_type=authorization_code&code=x&redirect_uri=x",
            &[("Authorization", &crate::tests::demo_auth())],
        )
    };

    set_fault(
        &sim,
        json!({"endpoint": "token", "kind": "status", "status": 503}),
    );
    let r = token_req();
    assert_eq!(r.status, 503);
    assert_eq!(r.body_json()["error"], "server_error");
    // Other endpoints are unaffected.
    assert_eq!(get(&sim, DISCOVERY_PATH).status, 200);

    // `all`: every back-channel endpoint at once, the browser-facing ones untouched.
    set_fault(&sim, json!({"endpoint": "all", "kind": "status", "status": 502}));
    assert_eq!(token_req().status, 502);
    assert_eq!(get(&sim, DISCOVERY_PATH).status, 502);
    assert_eq!(get(&sim, JWKS_PATH).status, 502);
    assert_eq!(userinfo(&sim, "whatever").status, 502);

    set_fault(&sim, json!({"endpoint": "discovery", "kind": "html"}));
    let r = get(&sim, DISCOVERY_PATH);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body_text().contains("<html>"));
    assert_eq!(token_req().status, 400);

    set_fault(&sim, json!({"endpoint": "jwks", "kind": "huge"}));
    let r = get(&sim, JWKS_PATH);
    assert_eq!(
        (r.status, r.body.len(), r.delivery),
        (200, HUGE_SIZE, Delivery::Normal)
    );
    assert_eq!(r.header("content-type"), Some("application/json"));

    set_fault(&sim, json!({"endpoint": "jwks", "kind": "huge-chunked"}));
    let r = get(&sim, JWKS_PATH);
    assert_eq!(
        (r.status, r.body.len(), r.delivery),
        (200, HUGE_SIZE, Delivery::Chunked)
    );

    set_fault(&sim, json!({"endpoint": "userinfo", "kind": "redirect"}));
    let r = userinfo(&sim, "whatever");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("http://127.0.0.1:7070/elsewhere")
    );

    set_fault(&sim, json!({"endpoint": "userinfo", "kind": "close"}));
    assert_eq!(userinfo(&sim, "whatever").delivery, Delivery::Close);

    set_fault(
        &sim,
        json!({"endpoint": "discovery", "kind": "slow", "ms": 300}),
    );
    let start = Instant::now();
    let r = get(&sim, DISCOVERY_PATH);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["issuer"], sim.issuer);

    // One fault at a time: a new one replaces the old; null clears.
    set_fault(&sim, json!({"endpoint": "token", "kind": "html"}));
    let start = Instant::now();
    get(&sim, DISCOVERY_PATH);
    assert!(start.elapsed() < Duration::from_millis(300));
    set_fault(&sim, Value::Null);
    assert_eq!(token_req().status, 400);

    // Bad faults are refused and change nothing.
    set_fault(&sim, json!({"endpoint": "token", "kind": "html"}));
    for bad in [
        json!({"fault": {"endpoint": "authorize", "kind": "html"}}),
        json!({"fault": {"endpoint": "token", "kind": "slow"}}),
        json!({"fault": {"endpoint": "token", "kind": "status", "status": 99}}),
        json!({"fault": "token"}),
    ] {
        assert_eq!(post_config(&sim, &bad).status, 400, "{bad}");
    }
    assert_eq!(
        token_req().header("content-type"),
        Some("text/html; charset=utf-8")
    );

    // Faulty requests are counted.
    let stats = get(&sim, "/_sim/stats").body_json();
    assert_eq!(stats["token"], 5);
    assert_eq!(stats["jwks"], 3);
    assert_eq!(stats["userinfo"], 3);
    assert_eq!(stats["elsewhere"], 0);
    for method in ["GET", "POST"] {
        let r = endpoints::handle(&sim, &Request::new(method, "/elsewhere"));
        assert_eq!(r.status, 404);
    }
    assert_eq!(get(&sim, "/_sim/stats").body_json()["elsewhere"], 2);
}

// ---- faults over TCP ----

struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// Sends one request and reads until the server closes the connection (or 20 s pass).
/// `None` when the connection was closed without a single byte of response.
fn send(addr: &str, method: &str, target: &str, extra: &str, keep_alive: bool) -> Option<Raw> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let connection = if keep_alive {
        ""
    } else {
        "Connection: close\r\n"
    };
    let req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{connection}{extra}Content-Length: 0\r\n\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    if keep_alive {
        // Read one response: the head, then Content-Length bytes or chunks to the last one.
        let mut buf = [0u8; 65536];
        loop {
            let n = stream.read(&mut buf).expect("read timed out");
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(r) = parse(&raw) {
                let done = match r.header("content-length") {
                    Some(len) => r.body.len() >= len.parse::<usize>().unwrap(),
                    None => raw.ends_with(b"0\r\n\r\n"),
                };
                if done {
                    break;
                }
            }
        }
    } else {
        stream.read_to_end(&mut raw).expect("read timed out");
    }
    if raw.is_empty() {
        return None;
    }
    Some(parse(&raw).expect("a complete response head"))
}

fn parse(raw: &[u8]) -> Option<Raw> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Raw {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// Decodes a chunked body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn tcp_config(addr: &str, body: &Value) -> u16 {
    let body = body.to_string();
    let mut stream = TcpStream::connect(addr).unwrap();
    let req = format!(
        "POST /_sim/config HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(&raw).unwrap().status
}

#[test]
fn faults_over_tcp() {
    let running = crate::server::start("127.0.0.1:0", SimConfig::default(), test_key()).unwrap();
    let base = running.base().to_string();
    let addr = base.strip_prefix("http://").unwrap().to_string();

    // slow: the slow endpoint waits, the others answer meanwhile.
    assert_eq!(
        tcp_config(
            &addr,
            &json!({"fault": {"endpoint": "jwks", "kind": "slow", "ms": 1500}})
        ),
        200
    );
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let r = send(&addr, "GET", JWKS_PATH, "", false).unwrap();
            (r.status, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(
            send(&addr, "GET", DISCOVERY_PATH, "", true).unwrap().status,
            200
        );
        assert!(start.elapsed() < Duration::from_millis(1000));
    }
    let (status, elapsed) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");

    // status
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "token", "kind": "status", "status": 502}}),
    );
    let r = send(&addr, "POST", TOKEN_PATH, "", false).unwrap();
    assert_eq!(r.status, 502);
    assert!(serde_json::from_slice::<Value>(&r.body).is_ok());

    // html
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "userinfo", "kind": "html"}}),
    );
    let r = send(&addr, "GET", USERINFO_PATH, "", false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));

    // huge, with Content-Length
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "discovery", "kind": "huge"}}),
    );
    for keep_alive in [false, true] {
        let r = send(&addr, "GET", DISCOVERY_PATH, "", keep_alive).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some("5242880"));
        assert!(r.header("transfer-encoding").is_none());
        assert_eq!(r.body.len(), HUGE_SIZE);
    }

    // huge-chunked, without Content-Length
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "jwks", "kind": "huge-chunked"}}),
    );
    let r = send(&addr, "GET", JWKS_PATH, "", false).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-length").is_none());
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let body = dechunk(&r.body);
    assert_eq!(body.len(), HUGE_SIZE);
    assert!(body.starts_with(b"{\""));

    // redirect; requests that follow it are counted as `elsewhere`.
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "token", "kind": "redirect"}}),
    );
    let r = send(
        &addr,
        "POST",
        TOKEN_PATH,
        "Authorization: Basic eDp5\r\n",
        false,
    )
    .unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(format!("{base}/elsewhere").as_str())
    );
    send(
        &addr,
        "POST",
        "/elsewhere",
        "Authorization: Basic eDp5\r\n",
        false,
    )
    .unwrap();

    // close: no response at all, with or without keep-alive, and quickly.
    tcp_config(
        &addr,
        &json!({"fault": {"endpoint": "discovery", "kind": "close"}}),
    );
    for keep_alive in [false, true] {
        let start = Instant::now();
        assert!(send(&addr, "GET", DISCOVERY_PATH, "", keep_alive).is_none());
        assert!(start.elapsed() < Duration::from_secs(5));
    }
    // The server keeps serving.
    assert_eq!(send(&addr, "GET", JWKS_PATH, "", true).unwrap().status, 200);

    let stats: Value =
        serde_json::from_slice(&send(&addr, "GET", "/_sim/stats", "", false).unwrap().body)
            .unwrap();
    assert_eq!(
        stats,
        json!({"discovery": 7, "jwks": 3, "authorize": 0, "confirm": 0, "cancel": 0, "token": 2, "userinfo": 1, "elsewhere": 1, "webhook": 0, "backchannel": 0, "user_exists": 0})
    );
    let cfg: Value =
        serde_json::from_slice(&send(&addr, "GET", "/_sim/config", "", false).unwrap().body)
            .unwrap();
    assert_eq!(
        cfg["fault"],
        json!({"endpoint": "discovery", "kind": "close"})
    );

    // Reset clears the fault.
    assert_eq!(
        send(&addr, "POST", "/_sim/reset", "", false)
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        send(&addr, "GET", DISCOVERY_PATH, "", false)
            .unwrap()
            .status,
        200
    );
    running.shutdown();
}
