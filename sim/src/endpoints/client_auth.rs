//! Client authentication at the token endpoint (RFC 6749 §2.3.1). Each client has exactly one
//! method enabled, as at Vipps: `client_secret_basic` or `client_secret_post`.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use percent_encoding::percent_decode_str;
use serde_json::json;

use crate::config::{AuthMethod, Client};
use crate::http::{Params, Request, Response};
use crate::state::Sim;

const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why client authentication failed. Only the hint is shown; never a secret.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthError {
    NoCredentials,
    MultipleMethods,
    MalformedBasic,
    ClientIdMismatch,
    UnknownClient,
    MethodNotAllowed(AuthMethod),
    WrongSecret,
}

impl AuthError {
    fn hint(&self) -> &'static str {
        match self {
            AuthError::NoCredentials => "No client authentication was included.",
            AuthError::MultipleMethods => "More than one client authentication method was used.",
            AuthError::MalformedBasic => {
                "The Authorization header is not valid HTTP Basic credentials."
            }
            AuthError::ClientIdMismatch => {
                "The client_id in the body differs from the one in the Authorization header."
            }
            AuthError::UnknownClient => "The client is unknown.",
            AuthError::MethodNotAllowed(AuthMethod::ClientSecretBasic) => {
                "The client is not allowed to use client_secret_basic; it uses client_secret_post."
            }
            AuthError::MethodNotAllowed(AuthMethod::ClientSecretPost) => {
                "The client is not allowed to use client_secret_post; it uses client_secret_basic."
            }
            AuthError::WrongSecret => "The client secret is wrong.",
        }
    }
}

/// Decodes `Authorization: Basic ...` per RFC 6749 §2.3.1: base64, split at the first `:`, then
/// form-urldecode each half (so `+` is a space and `%3A` a colon).
pub fn decode_basic(header: &str) -> Option<(String, String)> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = BASE64_ANY_PADDING.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_urldecode(id)?, form_urldecode(secret)?))
}

fn form_urldecode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn is_basic(header: &str) -> bool {
    header
        .trim_start()
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
}

/// A form-encoded POST from an authenticated client (token and CIBA endpoints): the client and
/// the form, or the error response to send.
pub fn authenticated_form<'s>(sim: &'s Sim, req: &Request) -> Result<(&'s Client, Params), Response> {
    if !req.is_form() {
        return Err(super::token::invalid_request("The request body must be application/x-www-form-urlencoded"));
    }
    let form = req.form_params();
    let client = authenticate(sim, req, &form)?;
    Ok((client, form))
}

/// Authenticates the client of a token request, or returns the 401 to send.
pub fn authenticate<'s>(
    sim: &'s Sim,
    req: &Request,
    form: &Params,
) -> Result<&'s Client, Response> {
    let basic_header = req.header("authorization").filter(|h| is_basic(h));
    let result = check(sim, basic_header, form);
    result.map_err(|(error, client)| {
        let response = Response::json(
            401,
            &json!({
                "error": "invalid_client",
                "error_description": format!(
                    "Client authentication failed (e.g., unknown client, no client authentication included, \
                     or unsupported authentication method). {}",
                    error.hint()
                ),
            }),
        )
        .with_header("Cache-Control", "no-store");
        // RFC 6749 §5.2: challenge with the scheme the client used or should use.
        let basic = basic_header.is_some()
            || client.is_some_and(|c| c.token_endpoint_auth_method == AuthMethod::ClientSecretBasic)
            || error == AuthError::NoCredentials;
        if basic {
            response.with_header("WWW-Authenticate", "Basic realm=\"vipps-sim\"")
        } else {
            response
        }
    })
}

fn check<'s>(
    sim: &'s Sim,
    basic_header: Option<&str>,
    form: &Params,
) -> Result<&'s Client, (AuthError, Option<&'s Client>)> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let (id, secret, method) = match (basic_header, body_secret) {
        (Some(_), Some(_)) => return Err((AuthError::MultipleMethods, None)),
        (Some(header), None) => {
            let (id, secret) = decode_basic(header).ok_or((AuthError::MalformedBasic, None))?;
            if body_id.is_some_and(|b| b != id) {
                return Err((AuthError::ClientIdMismatch, None));
            }
            (id, secret, AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = body_id.ok_or((AuthError::NoCredentials, None))?;
            (
                id.to_string(),
                secret.to_string(),
                AuthMethod::ClientSecretPost,
            )
        }
        (None, None) => {
            return Err((
                AuthError::NoCredentials,
                body_id.and_then(|id| sim.client(id)),
            ))
        }
    };
    let client = sim.client(&id).ok_or((AuthError::UnknownClient, None))?;
    if client.token_endpoint_auth_method != method {
        return Err((AuthError::MethodNotAllowed(method), Some(client)));
    }
    if !client.client_secret.matches(&secret) {
        return Err((AuthError::WrongSecret, Some(client)));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    /// What a careful client sends: each part form-urlencoded, then base64.
    fn basic(id: &str, secret: &str) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
        )
    }

    #[test]
    fn decodes_form_encoded_parts() {
        let secret = "a:b%c+d e@f=g";
        let header = basic("client:id", secret);
        assert_eq!(
            decode_basic(&header),
            Some(("client:id".into(), secret.into()))
        );
    }

    #[test]
    fn raw_secret_is_decoded_too() {
        // A client that skips the form-encoding: `+` turns into a space (as with Hydra), while a
        // raw `:` in the secret survives because only the first `:` splits.
        let header = format!("Basic {}", STANDARD.encode("id:x+y:z"));
        assert_eq!(decode_basic(&header), Some(("id".into(), "x y:z".into())));
        let header = format!(
            "basic {}",
            STANDARD.encode("id:%3A%25").trim_end_matches('=')
        );
        assert_eq!(decode_basic(&header), Some(("id".into(), ":%".into())));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(decode_basic("Bearer abc"), None);
        assert_eq!(decode_basic("Basic !!!"), None);
        assert_eq!(
            decode_basic(&format!("Basic {}", STANDARD.encode("no-colon"))),
            None
        );
        assert_eq!(
            decode_basic(&format!("Basic {}", STANDARD.encode([0xff, b':', b'a']))),
            None
        );
        assert_eq!(
            decode_basic(&format!("Basic {}", STANDARD.encode("id:%ff"))),
            None
        );
        assert_eq!(decode_basic("Basic"), None);
    }

    #[test]
    fn basic_detection() {
        assert!(is_basic("Basic abc"));
        assert!(is_basic("bAsIc abc"));
        assert!(!is_basic("Bearer abc"));
        assert!(!is_basic("Bas"));
        assert!(!is_basic("Øasic abc"));
    }
}
