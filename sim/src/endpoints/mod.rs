//! Routing: one function per endpoint, each in the module named after its protocol step.
//! Paths mirror Vipps' exactly.

pub mod app_flows;
pub mod authorize;
pub mod ciba;
pub mod client_auth;
pub mod consent;
pub mod control;
pub mod discovery;
pub mod token;
pub mod userinfo;

use serde_json::json;

use crate::faults::ELSEWHERE_PATH;
use crate::http::{Request, Response};
use crate::state::Sim;
use crate::stats::Endpoint;

pub const DISCOVERY_PATH: &str = "/access-management-1.0/access/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/access-management-1.0/access/.well-known/jwks.json";
pub const AUTHORIZE_PATH: &str = "/access-management-1.0/access/oauth2/auth";
pub const CONFIRM_PATH: &str = crate::html::CONFIRM_PATH;
pub const CANCEL_PATH: &str = crate::html::CANCEL_PATH;
pub const TOKEN_PATH: &str = "/access-management-1.0/access/oauth2/token";
pub const USERINFO_PATH: &str = "/vipps-userinfo-api/userinfo";

type Handler = fn(&Sim, &Request) -> Response;

/// Answers one request. Never panics on request input.
pub fn handle(sim: &Sim, req: &Request) -> Response {
    let (endpoint, methods, handler): (Option<Endpoint>, &[&str], Handler) = match req.path.as_str()
    {
        DISCOVERY_PATH => (Some(Endpoint::Discovery), &["GET"], discovery::discovery),
        JWKS_PATH => (Some(Endpoint::Jwks), &["GET"], discovery::jwks),
        AUTHORIZE_PATH => (Some(Endpoint::Authorize), &["GET"], authorize::authorize),
        CONFIRM_PATH => (Some(Endpoint::Confirm), &["POST"], authorize::confirm),
        CANCEL_PATH => (Some(Endpoint::Cancel), &["POST"], authorize::cancel),
        app_flows::RESUME_PATH => (None, &["GET"], app_flows::resume),
        TOKEN_PATH => (Some(Endpoint::Token), &["POST"], token::token),
        USERINFO_PATH => (Some(Endpoint::Userinfo), &["GET"], userinfo::userinfo),
        ciba::BACKCHANNEL_PATH => (Some(Endpoint::Backchannel), &["POST"], ciba::backchannel),
        ciba::USER_EXISTS_PATH => (Some(Endpoint::UserExists), &["POST"], ciba::user_exists),
        "/_sim/ciba" => (None, &["GET"], ciba::pending_page),
        "/_sim/ciba/approve" => (None, &["POST"], ciba::approve),
        "/_sim/stats" => (None, &["GET"], control::stats),
        "/_sim/reset" => (None, &["POST"], control::reset),
        "/_sim/config" => (None, &["GET", "POST"], control::config),
        "/_sim/modes" => (None, &["GET"], control::modes),
        "/_sim/consents" => (None, &["GET"], consent::consents),
        "/_sim/revoke-consent" => (None, &["POST"], consent::revoke_consent),
        ELSEWHERE_PATH => {
            // Any method: whatever followed the redirect is counted.
            sim.stats.bump(Endpoint::Elsewhere);
            return control::elsewhere(sim, req);
        }
        "/" => (None, &["GET"], control::index),
        _ => return not_found(),
    };
    if let Some(e) = endpoint {
        sim.stats.bump(e);
        let fault = sim.settings().fault.filter(|f| f.endpoint.matches(e));
        if let Some(response) = fault.and_then(|f| f.apply(&sim.base)) {
            return response;
        }
    }
    if !methods.contains(&req.method.as_str()) {
        return Response::json(405, &json!({"error": "method_not_allowed"}))
            .with_header("Allow", &methods.join(", "));
    }
    handler(sim, req)
}

pub fn not_found() -> Response {
    Response::json(
        404,
        &json!({"error": "not_found", "error_description": "No such endpoint"}),
    )
}

/// For failures that are the simulator's own (randomness, signing): never the client's fault.
pub fn server_error(what: &str) -> Response {
    eprintln!("vipps-sim: internal error: {what}");
    Response::json(
        500,
        &json!({"error": "server_error", "error_description": "Internal error in the simulator"}),
    )
}
