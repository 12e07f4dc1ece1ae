//! The userinfo endpoint (OIDC Core §5.3) as Vipps' Userinfo API serves it: claims by scope,
//! RFC 7807-style errors.

use serde_json::{json, Value};

use crate::http::{Request, Response};
use crate::modes::{Mode, FOREIGN_SUB};
use crate::state::Sim;

fn unauthorized(detail: &str, www_authenticate: &str) -> Response {
    let body = json!({
        "type": "https://tools.ietf.org/html/rfc7235#section-3.1",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
    });
    let bytes = serde_json::to_vec_pretty(&body).unwrap_or_default();
    Response::new(401, "application/problem+json", bytes)
        .with_header("WWW-Authenticate", www_authenticate)
        .with_header("Cache-Control", "no-store")
}

fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `GET /vipps-userinfo-api/userinfo`
pub fn userinfo(sim: &Sim, req: &Request) -> Response {
    // Vipps answers 401 when a subscription key is sent to userinfo.
    if req.header("ocp-apim-subscription-key").is_some() {
        return unauthorized(
            "Do not send Ocp-Apim-Subscription-Key to the userinfo endpoint",
            "Bearer",
        );
    }
    let Some(token) = bearer_token(req) else {
        return unauthorized("A Bearer access token is required", "Bearer");
    };
    let grant = sim.store().access_tokens.get(token).cloned();
    let Some(grant) = grant else {
        return unauthorized(
            "The access token is invalid or has expired",
            "Bearer error=\"invalid_token\"",
        );
    };
    let Some(user) = sim.user(&grant.sub) else {
        return unauthorized(
            "The access token is invalid or has expired",
            "Bearer error=\"invalid_token\"",
        );
    };
    let mut claims = user.userinfo_claims(&grant.scopes, &grant.sid);
    // The marketing consents: on the first login that asked for them only (newer docs).
    if grant.consents {
        claims.insert("delegatedConsents".into(), crate::users::consents_object(sim.now()));
    }
    if sim.settings().mode == Some(Mode::UserinfoInvalidSub) {
        claims.insert("sub".into(), json!(FOREIGN_SUB));
    }
    Response::json(200, &Value::Object(claims)).with_header("Cache-Control", "no-store")
}
