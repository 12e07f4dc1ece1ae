//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and the JWKS, shaped like Vipps'.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{server_error, AUTHORIZE_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH};
use crate::http::{Request, Response};
use crate::keys::derived_kid;
use crate::modes::{Mode, EVIL_ISSUER, HTTP_USERINFO_ENDPOINT};
use crate::state::Sim;

/// The scopes Vipps lists. `delegatedConsents` is accepted at authorize but not listed, as at Vipps.
pub const SCOPES_SUPPORTED: [&str; 7] = [
    "openid",
    "address",
    "name",
    "email",
    "phoneNumber",
    "nin",
    "birthDate",
];

pub fn discovery(sim: &Sim, _req: &Request) -> Response {
    // The lists follow Vipps' example document; what the simulator does not implement
    // (revocation, logout, request objects) is left out rather than advertised.
    let mut doc = json!({
        "issuer": sim.issuer,
        "authorization_endpoint": sim.url(AUTHORIZE_PATH),
        "token_endpoint": sim.url(TOKEN_PATH),
        "jwks_uri": sim.url(JWKS_PATH),
        "userinfo_endpoint": sim.url(USERINFO_PATH),
        "backchannel_authentication_endpoint": sim.url(super::ciba::BACKCHANNEL_PATH),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
        "claims_supported": ["sub"],
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token", "urn:openid:params:grant-type:ciba", "urn:vipps:params:grant-type:ciba-redirect"],
        "response_modes_supported": ["query", "fragment"],
        "scopes_supported": SCOPES_SUPPORTED,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "userinfo_signing_alg_values_supported": ["none", "RS256"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": true,
        "claims_parameter_supported": false,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
        "frontchannel_logout_supported": false,
        "frontchannel_logout_session_supported": false,
    });
    let settings = sim.settings();
    match settings.mode {
        Some(Mode::DiscoveryIssuerMismatch) => doc["issuer"] = json!(EVIL_ISSUER),
        Some(Mode::DiscoveryForeignHost) => {
            let port = sim.base.rsplit_once(':').map_or("80", |(_, p)| p);
            doc["token_endpoint"] = json!(format!("http://127.0.0.2:{port}{TOKEN_PATH}"));
        }
        Some(Mode::DiscoveryHttpEndpoint) => {
            doc["userinfo_endpoint"] = json!(HTTP_USERINFO_ENDPOINT)
        }
        // RFC 9207 §3: announce the `iss` parameter when sending it.
        Some(Mode::IssParamCorrect | Mode::IssParamWrong) => {
            doc["authorization_response_iss_parameter_supported"] = json!(true)
        }
        _ => {}
    }
    let max_age = settings.discovery_max_age;
    Response::json(200, &doc).with_header("Cache-Control", &format!("public, max-age={max_age}"))
}

pub fn jwks(sim: &Sim, _req: &Request) -> Response {
    let settings = sim.settings();
    let keys = match jwks_keys(sim, settings.mode) {
        Ok(keys) => keys,
        Err(e) => return server_error(&e),
    };
    let response = Response::json(200, &json!({ "keys": keys }));
    // Vipps' JWKS caching is unconfirmed: by default send no Cache-Control at all.
    match settings.jwks_max_age {
        Some(max_age) => {
            response.with_header("Cache-Control", &format!("public, max-age={max_age}"))
        }
        None => response,
    }
}

/// The JWKS `keys` array for a mode: the real key alone unless the mode says otherwise.
fn jwks_keys(sim: &Sim, mode: Option<Mode>) -> Result<Vec<Value>, String> {
    let real = sim.key.public_jwk();
    let kid = sim.key.kid();
    Ok(match mode {
        Some(Mode::KidAbsentMultipleJwks) => vec![real, sim.decoy_key()?.public_jwk()],
        Some(Mode::KidAbsentSingleJwks) => vec![
            oct_key(&format!("{kid}/oct")),
            ec_p256_key(&derived_kid(format!("{kid}/ec"))),
            garbage_rsa_enc_key(&derived_kid(format!("{kid}/enc"))),
            real,
        ],
        Some(m) if m.rotates_key() => match sim.rotated_key() {
            Some(new) => vec![new.public_jwk(), real],
            None => vec![real, sim.ec_key.public_jwk()],
        },
        Some(Mode::JwksHostileOnly) => hostile_keys(sim, |_| kid.to_string()),
        Some(Mode::JwksHostilePlusReal) => {
            let mut keys = hostile_keys(sim, |label| derived_kid(format!("{kid}/{label}")));
            keys.extend((0..40).map(|i| oct_key(&format!("{kid}/oct/{i}"))));
            keys.push(real);
            keys
        }
        Some(Mode::JwksManyKeys) => {
            let mut keys: Vec<Value> = (0..5000)
                .map(|i| oct_key(&format!("{kid}/many/{i}")))
                .collect();
            keys.push(real);
            keys
        }
        // The P-256 key of login_to_webpage's ES256 ID tokens, after the RSA key.
        _ => vec![real, sim.ec_key.public_jwk()],
    })
}

/// Keys a relying party must not use for RS256: a symmetric key, the real key marked for
/// encryption, the real key marked HS256, and the real key with its private parts. `kid_for`
/// gives each its kid (the real kid in `jwks-hostile-only`, distinct ones otherwise).
fn hostile_keys(sim: &Sim, kid_for: impl Fn(&str) -> String) -> Vec<Value> {
    let mut oct = oct_key(&format!("{}/hostile-oct", sim.key.kid()));
    oct["kid"] = json!(kid_for("oct"));
    let mut enc = sim.key.public_jwk();
    enc["use"] = json!("enc");
    enc["alg"] = json!("RSA-OAEP");
    enc["kid"] = json!(kid_for("enc"));
    let mut hs256 = sim.key.public_jwk();
    hs256["alg"] = json!("HS256");
    hs256["kid"] = json!(kid_for("hs256"));
    let mut private = sim.key.private_jwk();
    private["kid"] = json!(kid_for("private"));
    vec![oct, enc, hs256, private]
}

/// Bytes that look random but are fixed for a label (so secrets stay put between requests).
fn derived_bytes(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// A symmetric (`oct`) key; kid and secret derived from `label`.
fn oct_key(label: &str) -> Value {
    json!({
        "kty": "oct",
        "kid": derived_kid(label),
        "use": "sig",
        "alg": "HS256",
        "k": URL_SAFE_NO_PAD.encode(derived_bytes(&format!("{label}/k"))),
    })
}

/// An EC P-256 public key (the curve's base point: a valid point, and nobody's key).
fn ec_p256_key(kid: &str) -> Value {
    json!({
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
        "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
        "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU",
    })
}

/// An RSA key for encryption whose modulus is well-formed base64url but not a usable modulus.
fn garbage_rsa_enc_key(kid: &str) -> Value {
    json!({
        "kty": "RSA",
        "kid": kid,
        "use": "enc",
        "alg": "RSA-OAEP",
        "n": URL_SAFE_NO_PAD.encode([0u8; 16]),
        "e": "AQAB",
    })
}
