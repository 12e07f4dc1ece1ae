//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and the JWKS, shaped like Vipps'.

use serde_json::json;

use super::{AUTHORIZE_PATH, JWKS_PATH, TOKEN_PATH, USERINFO_PATH};
use crate::http::{Request, Response};
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
    let doc = json!({
        "issuer": sim.issuer,
        "authorization_endpoint": sim.url(AUTHORIZE_PATH),
        "token_endpoint": sim.url(TOKEN_PATH),
        "jwks_uri": sim.url(JWKS_PATH),
        "userinfo_endpoint": sim.url(USERINFO_PATH),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
        "claims_supported": ["sub"],
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
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
    let max_age = sim.settings().discovery_max_age;
    Response::json(200, &doc).with_header("Cache-Control", &format!("public, max-age={max_age}"))
}

pub fn jwks(sim: &Sim, _req: &Request) -> Response {
    let response = Response::json(200, &json!({ "keys": [sim.key.public_jwk()] }));
    // Vipps' JWKS caching is unconfirmed: by default send no Cache-Control at all.
    match sim.settings().jwks_max_age {
        Some(max_age) => {
            response.with_header("Cache-Control", &format!("public, max-age={max_age}"))
        }
        None => response,
    }
}
