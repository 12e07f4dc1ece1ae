//! Endpoint tests: each calls `endpoints::handle` with a pinned clock, and one starts the real
//! server and runs a whole login over plain HTTP/1.1.

use std::io::{Read, Write};
use std::net::TcpStream;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::{default_client, AuthMethod, Client, Secret, SimConfig};
use crate::endpoints::{
    self, AUTHORIZE_PATH, CANCEL_PATH, CONFIRM_PATH, TOKEN_PATH, USERINFO_PATH,
};
use crate::http::{header_value, Params, Request, Response};
use crate::id_token;
use crate::keys::tests::test_key;
use crate::state::Sim;
use crate::stats::Endpoint;
use crate::users::default_users;

pub(crate) const T0: u64 = 1_700_000_000;
pub(crate) const CB: &str = "http://localhost:8787/auth/callback";
pub(crate) const STATE: &str = "state-12345";
pub(crate) const BASE: &str = "http://127.0.0.1:7070";

fn sim_with(config: SimConfig) -> Sim {
    let sim = Sim::new(config, test_key(), BASE);
    sim.set_now(T0);
    sim
}

pub(crate) fn sim() -> Sim {
    sim_with(SimConfig::default())
}

/// A second client using client_secret_post, with a secret full of awkward characters.
fn two_clients() -> SimConfig {
    let mut config = SimConfig::default();
    config.clients.push(Client {
        client_id: "post-client".into(),
        client_secret: Secret::new("p@ss: w%rd+="),
        redirect_uris: vec![CB.into(), "https://app.example/cb?tenant=1".into()],
        token_endpoint_auth_method: AuthMethod::ClientSecretPost,
    });
    config
}

pub(crate) fn query(params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Standard authorize parameters, with `overrides` replacing (or, with value None, removing) some.
pub(crate) fn authorize_url(overrides: &[(&str, Option<&str>)]) -> String {
    let mut params = vec![
        ("client_id", "demo-client"),
        ("response_type", "code"),
        ("scope", "openid name email"),
        ("state", STATE),
        ("redirect_uri", CB),
    ];
    for (k, v) in overrides {
        params.retain(|(name, _)| name != k);
        if let Some(v) = v {
            params.push((k, v));
        }
    }
    format!("{AUTHORIZE_PATH}?{}", query(&params))
}

pub(crate) fn get(sim: &Sim, url: &str) -> Response {
    endpoints::handle(
        sim,
        &Request::new("GET", url).with_header("Host", "127.0.0.1:7070"),
    )
}

pub(crate) fn post_form(sim: &Sim, path: &str, body: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = Request::new("POST", path)
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body(body);
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    endpoints::handle(sim, &req)
}

/// `POST /_sim/config` with a JSON body.
pub(crate) fn post_config(sim: &Sim, body: &Value) -> Response {
    endpoints::handle(
        sim,
        &Request::new("POST", "/_sim/config").with_body(&body.to_string()),
    )
}

/// The `req` id from the login page, the way the integration tests will find it.
pub(crate) fn req_id(page: &str) -> String {
    let start =
        page.find(r#"name="req" value=""#).expect("req field") + r#"name="req" value=""#.len();
    page[start..].split('"').next().unwrap_or("").to_string()
}

pub(crate) fn location_params(r: &Response) -> (String, Params) {
    assert_eq!(r.status, 302, "{}", r.body_text());
    let loc = r.header("location").unwrap().to_string();
    let (base, q) = loc.split_once('?').unwrap();
    (base.to_string(), Params::parse(q.as_bytes()))
}

/// Authorize and confirm as `user`; returns the code.
pub(crate) fn code_for(sim: &Sim, url: &str, user: usize) -> String {
    let page = get(sim, url);
    assert_eq!(page.status, 200, "{}", page.body_text());
    let sub = &sim.users[user].sub;
    let r = post_form(
        sim,
        CONFIRM_PATH,
        &query(&[("req", &req_id(&page.body_text())), ("user", sub)]),
        &[],
    );
    let (_, p) = location_params(&r);
    p.get("code").unwrap().to_string()
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

pub(crate) fn demo_auth() -> String {
    basic("demo-client", "demo-secret")
}

pub(crate) fn exchange(sim: &Sim, code: &str, extra: &[(&str, &str)]) -> Response {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    params.extend_from_slice(extra);
    post_form(
        sim,
        TOKEN_PATH,
        &query(&params),
        &[("Authorization", &demo_auth())],
    )
}

pub(crate) fn userinfo(sim: &Sim, token: &str) -> Response {
    endpoints::handle(
        sim,
        &Request::new("GET", USERINFO_PATH)
            .with_header("Authorization", &format!("Bearer {token}")),
    )
}

pub(crate) fn error_of(r: &Response) -> String {
    r.body_json()["error"].as_str().unwrap_or("").to_string()
}

// ---- discovery and JWKS ----

#[test]
fn discovery_lists_own_endpoints() {
    let sim = sim();
    let r = get(&sim, endpoints::DISCOVERY_PATH);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let d = r.body_json();
    assert_eq!(
        d["issuer"],
        "http://127.0.0.1:7070/access-management-1.0/access/"
    );
    assert_eq!(
        d["authorization_endpoint"],
        "http://127.0.0.1:7070/access-management-1.0/access/oauth2/auth"
    );
    assert_eq!(
        d["token_endpoint"],
        "http://127.0.0.1:7070/access-management-1.0/access/oauth2/token"
    );
    assert_eq!(
        d["jwks_uri"],
        "http://127.0.0.1:7070/access-management-1.0/access/.well-known/jwks.json"
    );
    assert_eq!(
        d["userinfo_endpoint"],
        "http://127.0.0.1:7070/vipps-userinfo-api/userinfo"
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post", "client_secret_basic"])
    );
    assert_eq!(d["scopes_supported"].as_array().unwrap().len(), 7);
}

#[test]
fn jwks_cache_control_is_configurable() {
    let sim = sim();
    let r = get(&sim, endpoints::JWKS_PATH);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), None);
    let keys = &r.body_json()["keys"];
    assert_eq!(keys[0]["kid"], sim.key.kid());
    assert_eq!(keys[0]["use"], "sig");

    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config")
            .with_body(r#"{"discovery_max_age": 2, "jwks_max_age": 30}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        get(&sim, endpoints::JWKS_PATH).header("cache-control"),
        Some("public, max-age=30")
    );
    assert_eq!(
        get(&sim, endpoints::DISCOVERY_PATH).header("cache-control"),
        Some("public, max-age=2")
    );

    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body(r#"{"jwks_max_age": null, "x": 1}"#),
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        get(&sim, endpoints::JWKS_PATH).header("cache-control"),
        Some("public, max-age=30")
    );
    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body(r#"{"mode": "later"}"#),
    );
    assert_eq!(r.status, 400);
    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body(r#"{"mode": "aud-string"}"#),
    );
    assert_eq!(r.body_json()["mode"], "aud-string");
}

// ---- authorize ----

#[test]
fn gateway_limits_give_502() {
    let sim = sim();
    let long = "s".repeat(1001);
    for url in [
        authorize_url(&[("state", Some(&long))]),
        authorize_url(&[("nonce", Some(&long))]),
        authorize_url(&[("extra", Some(&"x".repeat(1950)))]),
    ] {
        let r = get(&sim, &url);
        assert_eq!(r.status, 502, "{url}");
        assert!(r.body_text().contains("Bad Gateway"));
    }
    // Checked before the client: even an unknown client gets the gateway's 502.
    assert_eq!(
        get(
            &sim,
            &authorize_url(&[("client_id", Some("nope")), ("state", Some(&long))])
        )
        .status,
        502
    );
    // At the limit it still works.
    assert_eq!(
        get(&sim, &authorize_url(&[("state", Some(&"s".repeat(1000)))])).status,
        200
    );
}

#[test]
fn unknown_client_or_redirect_uri_is_an_error_page() {
    let sim = sim();
    for url in [
        authorize_url(&[("client_id", Some("unknown"))]),
        authorize_url(&[("client_id", None)]),
        authorize_url(&[("redirect_uri", None)]),
        authorize_url(&[("redirect_uri", Some("http://localhost:8787/auth/callback/"))]),
        authorize_url(&[("redirect_uri", Some("http://localhost:8787/auth/Callback"))]),
        authorize_url(&[("redirect_uri", Some("https://evil.example/cb"))]),
        format!("{}&client_id=demo-client", authorize_url(&[])),
    ] {
        let r = get(&sim, &url);
        assert_eq!(r.status, 400, "{url}");
        assert!(r.header("location").is_none());
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
    // The other registered URI works.
    assert_eq!(
        get(
            &sim,
            &authorize_url(&[("redirect_uri", Some("http://127.0.0.1:8787/auth/callback"))])
        )
        .status,
        200
    );
}

#[test]
fn request_errors_redirect_back() {
    let sim = sim();
    type Overrides<'a> = Vec<(&'a str, Option<&'a str>)>;
    let cases: Vec<(Overrides, &str)> = vec![
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (vec![("response_type", None)], "unsupported_response_type"),
        (vec![("scope", None)], "invalid_scope"),
        (vec![("scope", Some("name email"))], "invalid_scope"),
        (vec![("scope", Some("openid profile"))], "invalid_scope"),
        (vec![("state", None)], "invalid_state"),
        (vec![("state", Some("1234567"))], "invalid_state"),
        (vec![("nonce", Some("1234567"))], "invalid_request"),
        (
            vec![("code_challenge_method", Some("S256"))],
            "invalid_request",
        ),
        (
            vec![
                ("code_challenge", Some("abc")),
                ("code_challenge_method", Some("s256")),
            ],
            "invalid_request",
        ),
    ];
    for (overrides, expected) in cases {
        let r = get(&sim, &authorize_url(&overrides));
        let (base, p) = location_params(&r);
        assert_eq!(base, CB);
        assert_eq!(p.get("error"), Some(expected), "{overrides:?}");
        assert!(p.get("error_description").is_some());
        let sent_state = overrides
            .iter()
            .find(|(k, _)| *k == "state")
            .map(|(_, v)| *v)
            .unwrap_or(Some(STATE));
        assert_eq!(p.get("state"), sent_state, "{overrides:?}");
    }
    let r = get(&sim, &authorize_url(&[("state", Some("short"))]));
    let (_, p) = location_params(&r);
    assert_eq!(
        p.get("error_description"),
        Some("The state is missing or does not have enough characters and is therefore considered too weak")
    );
    // Accepted: all supported scopes, delegatedConsents, an 8-character state and nonce.
    let ok = authorize_url(&[
        (
            "scope",
            Some("openid address name email phoneNumber nin birthDate delegatedConsents"),
        ),
        ("state", Some("12345678")),
        ("nonce", Some("abcdefgh")),
    ]);
    assert_eq!(get(&sim, &ok).status, 200);
}

#[test]
fn login_page_lists_users_and_scopes() {
    let sim = sim();
    let r = get(&sim, &authorize_url(&[]));
    assert_eq!(r.status, 200);
    let page = r.body_text();
    assert!(page.contains("<title>Vipps MobilePay Login (simulator)</title>"));
    assert!(page.contains("#FF5B24"));
    assert!(page.contains("demo-client"));
    for u in default_users() {
        assert!(page.contains(&format!(r#"data-user="{}""#, u.sub)));
    }
    assert!(page.contains(r#"<li class="scope">email</li>"#));
    assert!(!req_id(&page).is_empty());
}

// ---- confirm and cancel ----

#[test]
fn confirm_redirects_with_code_state_and_scope() {
    let sim = sim();
    let page = get(
        &sim,
        &authorize_url(&[("scope", Some("openid  email name email"))]),
    )
    .body_text();
    let id = req_id(&page);
    let sub = sim.users[0].sub.clone();

    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", &id), ("user", "no-such-user")]),
        &[],
    );
    assert_eq!(r.status, 400);
    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", "no-such-req"), ("user", &sub)]),
        &[],
    );
    assert_eq!(r.status, 400);

    // An unknown user did not consume the request.
    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", &id), ("user", &sub)]),
        &[],
    );
    let (base, p) = location_params(&r);
    assert_eq!(base, CB);
    assert!(p.get("code").unwrap().len() >= 43);
    assert_eq!(p.get("state"), Some(STATE));
    assert_eq!(p.get("scope"), Some("openid email name"));

    // Single use.
    assert_eq!(
        post_form(
            &sim,
            CONFIRM_PATH,
            &query(&[("req", &id), ("user", &sub)]),
            &[]
        )
        .status,
        400
    );
}

#[test]
fn login_request_expires_after_ten_minutes() {
    let sim = sim();
    let id = req_id(&get(&sim, &authorize_url(&[])).body_text());
    sim.set_now(T0 + 600);
    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", &id), ("user", &sim.users[0].sub)]),
        &[],
    );
    assert_eq!(r.status, 400);
}

#[test]
fn redirect_uri_with_query_gets_ampersand() {
    let sim = sim_with(two_clients());
    let url = authorize_url(&[
        ("client_id", Some("post-client")),
        ("redirect_uri", Some("https://app.example/cb?tenant=1")),
    ]);
    let page = get(&sim, &url).body_text();
    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", &req_id(&page)), ("user", &sim.users[1].sub)]),
        &[],
    );
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with("https://app.example/cb?tenant=1&code="),
        "{loc}"
    );
}

#[test]
fn cancel_gives_access_denied() {
    let sim = sim();
    let id = req_id(&get(&sim, &authorize_url(&[])).body_text());
    let r = post_form(&sim, CANCEL_PATH, &query(&[("req", &id)]), &[]);
    let loc = r.header("location").unwrap().to_string();
    assert_eq!(
        loc,
        format!(
            "{CB}?error=access_denied&error_description=User+cancelled+the+login&state={STATE}"
        )
    );
    assert_eq!(
        post_form(&sim, CANCEL_PATH, &query(&[("req", &id)]), &[]).status,
        400
    );
    let r = post_form(
        &sim,
        CONFIRM_PATH,
        &query(&[("req", &id), ("user", &sim.users[0].sub)]),
        &[],
    );
    assert_eq!(r.status, 400);
}

// ---- token ----

#[test]
fn token_response_and_id_token() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[("nonce", Some("nonce-123456"))]), 0);
    sim.set_now(T0 + 5);
    let r = exchange(&sim, &code, &[]);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.body_json();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 600);
    assert_eq!(t["scope"], "openid name email");
    assert!(t.get("refresh_token").is_none());

    let jwks = get(&sim, endpoints::JWKS_PATH).body_json();
    let claims = id_token::tests::verify(t["id_token"].as_str().unwrap(), &jwks["keys"][0]);
    assert_eq!(claims["iss"], sim.issuer);
    assert_eq!(claims["sub"], sim.users[0].sub);
    assert_eq!(claims["aud"], json!(["demo-client"]));
    assert_eq!(claims["iat"], T0 + 5);
    assert_eq!(claims["exp"], T0 + 5 + 3600);
    assert_eq!(claims["auth_time"], T0);
    assert_eq!(claims["rat"], T0);
    assert_eq!(claims["nonce"], "nonce-123456");
    assert_eq!(claims["sid"].as_str().unwrap().len(), 36);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
    // OIDC Core §3.1.3.6, computed here independently of the simulator's helper.
    let digest = Sha256::digest(t["access_token"].as_str().unwrap().as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));

    // The header, as at Vipps.
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t["id_token"].as_str().unwrap().split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "kid": sim.key.kid(), "typ": "JWT"})
    );
}

#[test]
fn nonce_is_empty_string_when_not_sent() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 1);
    let t = exchange(&sim, &code, &[]).body_json();
    let jwks = get(&sim, endpoints::JWKS_PATH).body_json();
    let claims = id_token::tests::verify(t["id_token"].as_str().unwrap(), &jwks["keys"][0]);
    assert_eq!(claims["nonce"], "");
    // An empty nonce parameter counts as absent.
    let code = code_for(&sim, &authorize_url(&[("nonce", Some(""))]), 1);
    let t = exchange(&sim, &code, &[]).body_json();
    let claims = id_token::tests::verify(t["id_token"].as_str().unwrap(), &jwks["keys"][0]);
    assert_eq!(claims["nonce"], "");
}

#[test]
fn code_is_single_use_and_reuse_revokes_the_token() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let first = exchange(&sim, &code, &[]);
    assert_eq!(first.status, 200);
    let at = first.body_json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(userinfo(&sim, &at).status, 200);

    let again = exchange(&sim, &code, &[]);
    assert_eq!(again.status, 400);
    assert_eq!(error_of(&again), "invalid_grant");
    assert!(again.body_json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with(token_invalid_grant_prefix()));
    assert_eq!(userinfo(&sim, &at).status, 401);
}

fn token_invalid_grant_prefix() -> &'static str {
    "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is \
     invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was \
     issued to another client"
}

#[test]
fn code_expires() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 0);
    sim.set_now(T0 + 119);
    let fresh = code_for(&sim, &authorize_url(&[]), 0);
    sim.set_now(T0 + 120);
    assert_eq!(error_of(&exchange(&sim, &code, &[])), "invalid_grant");
    assert_eq!(exchange(&sim, &fresh, &[]).status, 200);
}

#[test]
fn code_ttl_is_runtime_configurable_and_clock_offset_works() {
    let sim = sim();
    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body(r#"{"code_ttl": 10}"#),
    );
    assert_eq!(r.status, 200);
    let code = code_for(&sim, &authorize_url(&[]), 0);
    endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body(r#"{"clock_offset": 10}"#),
    );
    assert_eq!(sim.now(), T0 + 10);
    assert_eq!(error_of(&exchange(&sim, &code, &[])), "invalid_grant");
}

#[test]
fn redirect_uri_must_match_and_failure_consumes_the_code() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let r = post_form(
        &sim,
        TOKEN_PATH,
        &query(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:8787/auth/callback/"),
        ]),
        &[("Authorization", &demo_auth())],
    );
    assert_eq!(error_of(&r), "invalid_grant");
    assert_eq!(error_of(&exchange(&sim, &code, &[])), "invalid_grant");

    let code = code_for(&sim, &authorize_url(&[]), 0);
    let r = post_form(
        &sim,
        TOKEN_PATH,
        &query(&[("grant_type", "authorization_code"), ("code", &code)]),
        &[("Authorization", &demo_auth())],
    );
    assert_eq!(error_of(&r), "invalid_grant");
}

#[test]
fn code_issued_to_another_client() {
    let sim = sim_with(two_clients());
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let r = post_form(
        &sim,
        TOKEN_PATH,
        &query(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("client_id", "post-client"),
            ("client_secret", "p@ss: w%rd+="),
        ]),
        &[],
    );
    assert_eq!(r.status, 400);
    assert_eq!(error_of(&r), "invalid_grant");
}

#[test]
fn pkce_plain_by_default_and_s256() {
    let sim = sim();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let s256 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    // No method: plain. The verifier must equal the challenge.
    let code = code_for(
        &sim,
        &authorize_url(&[("code_challenge", Some(verifier))]),
        0,
    );
    assert_eq!(
        exchange(&sim, &code, &[("code_verifier", verifier)]).status,
        200
    );
    // A client that assumed S256 without saying so fails.
    let code = code_for(&sim, &authorize_url(&[("code_challenge", Some(s256))]), 0);
    assert_eq!(
        error_of(&exchange(&sim, &code, &[("code_verifier", verifier)])),
        "invalid_grant"
    );

    let with_s256 = authorize_url(&[
        ("code_challenge", Some(s256)),
        ("code_challenge_method", Some("S256")),
    ]);
    let code = code_for(&sim, &with_s256, 0);
    assert_eq!(
        exchange(&sim, &code, &[("code_verifier", verifier)]).status,
        200
    );
    let code = code_for(&sim, &with_s256, 0);
    assert_eq!(error_of(&exchange(&sim, &code, &[])), "invalid_grant");
    let code = code_for(&sim, &with_s256, 0);
    let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert_eq!(
        error_of(&exchange(&sim, &code, &[("code_verifier", wrong)])),
        "invalid_grant"
    );

    // A verifier without a challenge.
    let code = code_for(&sim, &authorize_url(&[]), 0);
    assert_eq!(
        error_of(&exchange(&sim, &code, &[("code_verifier", verifier)])),
        "invalid_grant"
    );
}

#[test]
fn client_authentication() {
    let sim = sim_with(two_clients());
    let body = |code: &str| {
        query(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ])
    };
    let unauthorized = |r: Response| {
        assert_eq!(r.status, 401, "{}", r.body_text());
        assert_eq!(error_of(&r), "invalid_client");
        r
    };

    // Basic client: wrong secret, missing auth, post instead of basic, both at once.
    let r = unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &body("x"),
        &[("Authorization", &basic("demo-client", "wrong"))],
    ));
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"vipps-sim\"")
    );
    let r = unauthorized(post_form(&sim, TOKEN_PATH, &body("x"), &[]));
    assert!(r.header("www-authenticate").is_some());
    let post_creds = format!(
        "{}&client_id=demo-client&client_secret=demo-secret",
        body("x")
    );
    unauthorized(post_form(&sim, TOKEN_PATH, &post_creds, &[]));
    unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &post_creds,
        &[("Authorization", &demo_auth())],
    ));
    unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &body("x"),
        &[("Authorization", &basic("nobody", "demo-secret"))],
    ));
    unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &body("x"),
        &[("Authorization", "Basic %%%")],
    ));

    // Post client: basic is refused, post works, even with an awkward secret.
    unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &body("x"),
        &[("Authorization", &basic("post-client", "p@ss: w%rd+="))],
    ));
    let code = code_for(
        &sim,
        &authorize_url(&[("client_id", Some("post-client"))]),
        2,
    );
    let creds = query(&[
        ("client_id", "post-client"),
        ("client_secret", "p@ss: w%rd+="),
    ]);
    let r = post_form(&sim, TOKEN_PATH, &format!("{}&{creds}", body(&code)), &[]);
    assert_eq!(r.status, 200, "{}", r.body_text());
    let wrong = query(&[
        ("client_id", "post-client"),
        ("client_secret", "p@ss: w%rd+"),
    ]);
    let r = unauthorized(post_form(
        &sim,
        TOKEN_PATH,
        &format!("{}&{wrong}", body("x")),
        &[],
    ));
    assert!(r.header("www-authenticate").is_none());
}

#[test]
fn basic_secret_with_special_characters_end_to_end() {
    let mut config = SimConfig::default();
    let secret = "s3:cr%t+ value@x=y";
    config.clients = vec![Client {
        client_secret: Secret::new(secret),
        ..default_client()
    }];
    let sim = sim_with(config);
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CB),
    ]);
    // Without the §2.3.1 form-encoding the `+` would be read as a space: refused.
    let raw = format!("Basic {}", STANDARD.encode(format!("demo-client:{secret}")));
    assert_eq!(
        post_form(&sim, TOKEN_PATH, &body, &[("Authorization", &raw)]).status,
        401
    );
    // The code was not consumed by a request whose client failed to authenticate.
    let r = post_form(
        &sim,
        TOKEN_PATH,
        &body,
        &[("Authorization", &basic("demo-client", secret))],
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
}

#[test]
fn grant_type_and_request_shape() {
    let sim = sim();
    let basic = demo_auth();
    let auth = [("Authorization", basic.as_str())];
    let r = post_form(
        &sim,
        TOKEN_PATH,
        "grant_type=refresh_token&refresh_token=x",
        &auth,
    );
    assert_eq!(
        (r.status, error_of(&r).as_str()),
        (400, "unsupported_grant_type")
    );
    let r = post_form(&sim, TOKEN_PATH, "grant_type=client_credentials", &auth);
    assert_eq!(error_of(&r), "unsupported_grant_type");
    let r = post_form(&sim, TOKEN_PATH, "code=x", &auth);
    assert_eq!(error_of(&r), "invalid_request");
    let r = post_form(&sim, TOKEN_PATH, "grant_type=authorization_code", &auth);
    assert_eq!(error_of(&r), "invalid_request");
    let r = post_form(
        &sim,
        TOKEN_PATH,
        "grant_type=authorization_code&code=nope&redirect_uri=x",
        &auth,
    );
    assert_eq!(error_of(&r), "invalid_grant");
    let r = endpoints::handle(
        &sim,
        &Request::new("POST", TOKEN_PATH)
            .with_body("{}")
            .with_header("Authorization", &demo_auth()),
    );
    assert_eq!(error_of(&r), "invalid_request");
    let r = get(&sim, TOKEN_PATH);
    assert_eq!(r.status, 405);
}

// ---- userinfo ----

#[test]
fn userinfo_claims_follow_granted_scopes() {
    let sim = sim();
    let code = code_for(
        &sim,
        &authorize_url(&[("scope", Some("openid address phoneNumber"))]),
        3,
    );
    let at = exchange(&sim, &code, &[]).body_json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = userinfo(&sim, &at);
    assert_eq!(r.status, 200);
    let u = r.body_json();
    let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "other_addresses",
            "phone_number",
            "phone_number_verified",
            "sid",
            "sub"
        ]
    );
    assert_eq!(u["sub"], sim.users[3].sub);
    assert_eq!(u["phone_number"], "4794567890");
    assert_eq!(u["address"]["street_address"], "");
}

#[test]
fn userinfo_sid_matches_id_token() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let t = exchange(&sim, &code, &[]).body_json();
    let jwks = get(&sim, endpoints::JWKS_PATH).body_json();
    let claims = id_token::tests::verify(t["id_token"].as_str().unwrap(), &jwks["keys"][0]);
    let u = userinfo(&sim, t["access_token"].as_str().unwrap()).body_json();
    assert_eq!(u["sid"], claims["sid"]);
    assert_eq!(u["sub"], claims["sub"]);
    assert_eq!(u["email"], "kari.nordmann@example.com");
    assert_eq!(u["email_verified"], true);
    assert_eq!(u["given_name"], "Kari");
}

#[test]
fn userinfo_errors() {
    let sim = sim();
    let code = code_for(&sim, &authorize_url(&[]), 0);
    let at = exchange(&sim, &code, &[]).body_json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = userinfo(&sim, "not-a-token");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let p = r.body_json();
    assert_eq!(
        (p["title"].as_str(), p["status"].as_u64()),
        (Some("Unauthorized"), Some(401))
    );
    assert!(p["type"].is_string() && p["detail"].is_string());

    assert_eq!(
        endpoints::handle(&sim, &Request::new("GET", USERINFO_PATH)).status,
        401
    );
    let with_key = Request::new("GET", USERINFO_PATH)
        .with_header("Authorization", &format!("Bearer {at}"))
        .with_header("Ocp-Apim-Subscription-Key", "abc");
    assert_eq!(endpoints::handle(&sim, &with_key).status, 401);

    sim.set_now(T0 + 599);
    assert_eq!(userinfo(&sim, &at).status, 200);
    sim.set_now(T0 + 600);
    assert_eq!(userinfo(&sim, &at).status, 401);
}

// ---- control endpoints and routing ----

#[test]
fn stats_count_every_request_and_reset() {
    let sim = sim();
    get(&sim, endpoints::DISCOVERY_PATH);
    get(&sim, endpoints::JWKS_PATH);
    get(&sim, &authorize_url(&[("client_id", Some("unknown"))]));
    endpoints::handle(&sim, &Request::new("DELETE", endpoints::DISCOVERY_PATH));
    post_form(&sim, TOKEN_PATH, "", &[]);
    let s = get(&sim, "/_sim/stats").body_json();
    assert_eq!(
        s,
        json!({"discovery": 2, "jwks": 1, "authorize": 1, "confirm": 0, "cancel": 0, "token": 1, "userinfo": 0, "elsewhere": 0, "webhook": 0, "backchannel": 0, "user_exists": 0})
    );
    let r = endpoints::handle(&sim, &Request::new("POST", "/_sim/reset"));
    assert_eq!(r.status, 200);
    assert!(sim.stats.get(Endpoint::Discovery) == 0 && sim.stats.get(Endpoint::Token) == 0);
}

#[test]
fn index_404_and_405() {
    let sim = sim();
    let r = get(&sim, "/");
    assert_eq!(r.status, 200);
    assert!(r.body_text().contains("Kari Nordmann"));
    let r = get(&sim, "/nope?x=1");
    assert_eq!(r.status, 404);
    assert_eq!(error_of(&r), "not_found");
    let r = endpoints::handle(&sim, &Request::new("POST", endpoints::DISCOVERY_PATH));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
}

#[test]
fn hostile_input_never_panics() {
    let sim = sim();
    for url in [
        format!("{AUTHORIZE_PATH}?%"),
        format!("{AUTHORIZE_PATH}?client_id=%FF%FE&redirect_uri=%00"),
        format!("{AUTHORIZE_PATH}?&&&=&=="),
        format!("{USERINFO_PATH}?x"),
    ] {
        let r = get(&sim, &url);
        assert!(r.status >= 400, "{url}");
    }
    for body in ["%", "req=%FF", "\u{0}\u{1}", "req=&user=&req="] {
        assert_eq!(post_form(&sim, CONFIRM_PATH, body, &[]).status, 400);
        assert_eq!(post_form(&sim, CANCEL_PATH, body, &[]).status, 400);
        assert!(post_form(&sim, TOKEN_PATH, body, &[("Authorization", "Basic")]).status >= 400);
    }
    let bad_auth = Request::new("GET", USERINFO_PATH).with_header("Authorization", "Bearer ");
    assert_eq!(endpoints::handle(&sim, &bad_auth).status, 401);
    let r = endpoints::handle(
        &sim,
        &Request::new("POST", "/_sim/config").with_body("not json"),
    );
    assert_eq!(r.status, 400);
}

// ---- the real server over TCP ----

pub(crate) struct RawResponse {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// One HTTP/1.1 request with `Connection: close`, over a plain TcpStream.
pub(crate) fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

#[test]
fn full_flow_over_tcp() {
    let running = crate::server::start("127.0.0.1:0", SimConfig::default(), test_key()).unwrap();
    let base = running.base().to_string();
    let addr = base.strip_prefix("http://").unwrap().to_string();
    assert!(!addr.ends_with(":0"));
    let form = [("Content-Type", "application/x-www-form-urlencoded")];

    let d = http(&addr, "GET", endpoints::DISCOVERY_PATH, &[], "");
    assert_eq!(d.status, 200);
    assert_eq!(d.header("cache-control"), Some("public, max-age=3600"));
    let d: Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(d["issuer"], format!("{base}/access-management-1.0/access/"));
    let jwks = http(&addr, "GET", endpoints::JWKS_PATH, &[], "");
    assert!(jwks.header("cache-control").is_none());
    let jwks: Value = serde_json::from_str(&jwks.body).unwrap();

    let page = http(
        &addr,
        "GET",
        &authorize_url(&[("nonce", Some("n-0123456789"))]),
        &[],
        "",
    );
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let sub = default_users()[1].sub.clone();
    let confirm = http(
        &addr,
        "POST",
        CONFIRM_PATH,
        &form,
        &query(&[("req", &req_id(&page.body)), ("user", &sub)]),
    );
    assert_eq!(confirm.status, 302);
    let location = confirm.header("location").unwrap();
    let p = Params::parse(location.split_once('?').unwrap().1.as_bytes());
    assert_eq!(p.get("state"), Some(STATE));
    let code = p.get("code").unwrap();

    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ]);
    let auth = demo_auth();
    let t = http(
        &addr,
        "POST",
        TOKEN_PATH,
        &[form[0], ("Authorization", &auth)],
        &body,
    );
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.header("cache-control"), Some("no-store"));
    let t: Value = serde_json::from_str(&t.body).unwrap();
    let claims = id_token::tests::verify(t["id_token"].as_str().unwrap(), &jwks["keys"][0]);
    assert_eq!(claims["iss"], d["issuer"]);
    assert_eq!(claims["nonce"], "n-0123456789");

    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let u = http(
        &addr,
        "GET",
        USERINFO_PATH,
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(u.status, 200);
    let u: Value = serde_json::from_str(&u.body).unwrap();
    assert_eq!(u["sub"], sub);
    assert_eq!(u["name"], "Ola Nordmann");

    let again = http(
        &addr,
        "POST",
        TOKEN_PATH,
        &[form[0], ("Authorization", &auth)],
        &body,
    );
    assert_eq!(again.status, 400);

    let stats: Value =
        serde_json::from_str(&http(&addr, "GET", "/_sim/stats", &[], "").body).unwrap();
    assert_eq!(
        stats,
        json!({"discovery": 1, "jwks": 1, "authorize": 1, "confirm": 1, "cancel": 0, "token": 2, "userinfo": 1, "elsewhere": 0, "webhook": 0, "backchannel": 0, "user_exists": 0})
    );
    assert_eq!(http(&addr, "POST", "/_sim/reset", &[], "").status, 200);
    let stats: Value =
        serde_json::from_str(&http(&addr, "GET", "/_sim/stats", &[], "").body).unwrap();
    assert_eq!(stats["token"], 0);
    running.shutdown();
}
