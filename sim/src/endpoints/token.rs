//! The token endpoint (RFC 6749 §4.1.3-4.1.4, §5; OIDC Core §3.1.3). Only the authorization-code
//! grant exists: Vipps Login issues no refresh tokens.

use serde_json::json;

use crate::http::{Request, Response};
use crate::id_token::{self, IdTokenInput};
use crate::modes::Mode;
use crate::pkce;
use crate::random;
use crate::state::{AccessGrant, Sim, UsedCode};

use super::client_auth;
use super::server_error;

/// Vipps' wording for every unusable code (see integrate-from-website.txt).
pub const INVALID_GRANT: &str = "The provided authorization grant (e.g., authorization code, resource owner \
credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the \
authorization request, or was issued to another client";

pub(super) fn error(status: u16, code: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({ "error": code, "error_description": description }),
    )
    .with_header("Cache-Control", "no-store")
    .with_header("Pragma", "no-cache")
}

pub(super) fn invalid_request(description: &str) -> Response {
    error(400, "invalid_request", description)
}

fn invalid_grant(hint: &str) -> Response {
    error(400, "invalid_grant", &format!("{INVALID_GRANT}. {hint}"))
}

/// `POST .../oauth2/token`
pub fn token(sim: &Sim, req: &Request) -> Response {
    let (client, form) = match client_auth::authenticated_form(sim, req) {
        Ok(c) => c,
        Err(response) => return response,
    };
    if let Some(name) = form
        .repeated(&[
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "client_id",
            "auth_req_id",
        ])
        .first()
    {
        return invalid_request(&format!(
            "The request includes the parameter '{name}' more than once"
        ));
    }
    match form.get_nonempty("grant_type") {
        None => return invalid_request("The request is missing the 'grant_type' parameter"),
        Some("authorization_code") => {}
        Some(super::ciba::GRANT_TYPE) => return super::ciba::token_grant(sim, client, &form),
        Some(super::ciba::REDIRECT_GRANT_TYPE) => return super::ciba::redirect_grant(sim, client, &form),
        Some(_) => {
            return error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server",
            )
        }
    }
    let Some(code) = form.get_nonempty("code") else {
        return invalid_request("The request is missing the 'code' parameter");
    };

    let settings = sim.settings();
    let now = sim.now();
    let (Ok(access_token), Ok(jti)) = (random::hydra_style_token(), random::uuid_v4()) else {
        return server_error("random source");
    };

    let grant = {
        let mut store = sim.store();
        // A code is consumed on first presentation, whatever happens next (RFC 6749 §4.1.2).
        let Some(grant) = store.codes.remove(code) else {
            // A second presentation revokes what the first one issued (RFC 6749 §4.1.2).
            let revoked = store
                .used_codes
                .get_mut(code)
                .and_then(|used| used.access_token.take());
            if let Some(token) = revoked {
                store.access_tokens.remove(&token);
            }
            return invalid_grant("The authorization code is unknown, expired or already used.");
        };
        store.used_codes.insert(
            code.to_string(),
            UsedCode {
                forget_at: now.saturating_add(settings.access_token_ttl.max(settings.code_ttl)),
                access_token: None,
            },
        );
        if grant.client_id != client.client_id {
            return invalid_grant("The authorization code was issued to another client.");
        }
        // RFC 6749 §4.1.3: identical to the authorize request's redirect_uri, byte for byte.
        if form.get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
            return invalid_grant(
                "The redirect_uri is missing or differs from the one used at authorize.",
            );
        }
        // RFC 7636 §4.6.
        match (&grant.challenge, form.get_nonempty("code_verifier")) {
            (None, None) => {}
            (None, Some(_)) => {
                return invalid_grant(
                    "A code_verifier was sent but the authorize request had no code_challenge.",
                )
            }
            (Some(_), None) => return invalid_grant("The code_verifier is missing."),
            (Some(challenge), Some(verifier)) => {
                if !pkce::verify(challenge, verifier) {
                    return invalid_grant("The code_verifier does not match the code_challenge.");
                }
            }
        }
        store.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                sub: grant.sub.clone(),
                sid: grant.sid.clone(),
                scopes: grant.scopes.clone(),
                expires_at: now.saturating_add(settings.access_token_ttl),
                consents: grant.consents,
            },
        );
        if let Some(used) = store.used_codes.get_mut(code) {
            used.access_token = Some(access_token.clone());
        }
        grant
    };

    let input = IdTokenInput {
        issuer: &sim.issuer,
        sub: &grant.sub,
        client_id: &grant.client_id,
        nonce: grant.nonce.as_deref().unwrap_or(""),
        access_token: &access_token,
        sid: &grant.sid,
        jti: &jti,
        auth_time: grant.auth_time,
        rat: grant.rat,
        acr: grant.acr.as_deref(),
        now,
        ttl: settings.id_token_ttl,
    };
    respond_with_tokens(sim, &settings, &input, &grant.scopes)
}

/// Signs the ID token for `input` (as the mode says) and answers with the token response. The
/// access token in `input` must already be on record. Shared by the code and CIBA grants.
pub(super) fn respond_with_tokens(
    sim: &Sim,
    settings: &crate::config::Settings,
    input: &IdTokenInput<'_>,
    scopes: &[String],
) -> Response {
    let mode = settings.mode;
    // The rotation modes sign with a new key; `signing-key-rotation-just-before-signing` makes
    // (and publishes) it here, at the first signature.
    let rotated = match mode.filter(|m| m.rotates_key()) {
        Some(_) => match sim.rotated_key_or_generate() {
            Ok(k) => Some(k),
            Err(e) => return server_error(&e),
        },
        None => None,
    };
    let key = rotated.as_deref().unwrap_or(&sim.key);
    let mut unsigned = id_token::standard(input, key.kid());
    id_token::apply_mode(mode, &mut unsigned, input);
    let id_token = match unsigned.sign(key) {
        Ok(t) => t,
        Err(e) => return server_error(&e),
    };

    let mut body = json!({
        "access_token": input.access_token,
        "id_token": id_token,
        "expires_in": settings.access_token_ttl,
        "scope": scopes.join(" "),
        "token_type": "bearer",
    });
    match mode {
        Some(Mode::TokenTypeUppercase) => body["token_type"] = json!("BEARER"),
        Some(Mode::ExpiresInMissing) => {
            if let Some(o) = body.as_object_mut() {
                o.remove("expires_in");
            }
        }
        _ => {}
    }
    Response::json(200, &body)
        .with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}
