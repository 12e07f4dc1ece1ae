//! The token request and response (RFC 6749 §4.1.3-4.1.4, OIDC Core §3.1.3).
//! Never retried: an authorization code is single use.

use super::discovery::Discovery;
use super::json_body;
use crate::config::{Config, TokenAuthMethod};
use crate::error::{Code, Error};
use crate::http::{InboundResponse, OutboundRequest};
use crate::secret::Secret;
use super::callback::CheckedCallback;
use crate::util::{b64_std, form_encode, form_urlencode_component};
use serde::Deserialize;

/// Builds the token request for a checked callback (state matched, code present).
pub fn build_request(config: &Config, discovery: &Discovery, callback: &CheckedCallback) -> OutboundRequest {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", callback.code().expose()),
        ("redirect_uri", config.vipps.redirect_uri.as_str()),
        ("code_verifier", callback.transaction().code_verifier().expose()),
    ];
    let headers = client_auth(config, &mut form);
    OutboundRequest { method: "POST", url: discovery.token_endpoint().to_string(), headers, body: Some(form_encode(form)) }
}

/// The headers of a form POST to Vipps with client authentication as configured (token and
/// CIBA endpoints): HTTP Basic, or the credentials added to `form`.
pub fn client_auth<'a>(config: &'a Config, form: &mut Vec<(&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("content-type".to_string(), "application/x-www-form-urlencoded".to_string()),
        ("accept".to_string(), "application/json".to_string()),
    ];
    match config.vipps.token_auth {
        TokenAuthMethod::ClientSecretBasic => {
            // RFC 6749 §2.3.1: form-encode id and secret before joining and base64.
            let creds = format!(
                "{}:{}",
                form_urlencode_component(&config.vipps.client_id),
                form_urlencode_component(config.vipps.client_secret.expose())
            );
            headers.push(("authorization".into(), format!("Basic {}", b64_std(creds.as_bytes()))));
        }
        TokenAuthMethod::ClientSecretPost => {
            form.push(("client_id", &config.vipps.client_id));
            form.push(("client_secret", config.vipps.client_secret.expose()));
        }
    }
    headers.extend(super::system_headers(config));
    headers
}

#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub id_token: Secret,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    access_token: String,
    id_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    error: String,
}

pub fn process_response(resp: &InboundResponse) -> Result<TokenResponse, Error> {
    if resp.status != 200 {
        let err = json_body::<RawError>(resp).map(|e| super::safe_code(&e.error));
        return Err(match (resp.status, err.as_deref()) {
            (400, Some("invalid_grant")) => Error::new(Code::TokenInvalidGrant, "invalid_grant"),
            (400..=499, e) => Error::new(Code::TokenRejected, format!("status {} error {}", resp.status, e.unwrap_or("-"))),
            (s, _) => Error::new(Code::TokenBadResponse, format!("status {s}")),
        });
    }
    let raw: Raw = json_body(resp).ok_or_else(|| Error::new(Code::TokenBadResponse, "not a token response"))?;
    // RFC 6749 §5.1: token_type is case-insensitive; Vipps sends "bearer".
    if !raw.token_type.eq_ignore_ascii_case("bearer") {
        return Err(Error::new(Code::TokenBadResponse, "token_type is not bearer"));
    }
    if raw.access_token.is_empty() || raw.id_token.is_empty() {
        return Err(Error::new(Code::TokenBadResponse, "empty token"));
    }
    Ok(TokenResponse {
        access_token: Secret::new(raw.access_token),
        id_token: Secret::new(raw.id_token),
        expires_in: raw.expires_in.and_then(|v| v.as_u64()),
        scope: raw.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    /// A checked callback for `code`, through the real steps: begin, take, check.
    fn checked(c: &Config, code: &str) -> CheckedCallback {
        let mut tx = crate::session::TransactionCookie::default();
        tx.begin(c, "state-aaaaaaaaaaaaaaaaaa".into(), &crate::return_to::SafeReturnPath::root(), 100);
        let txn = tx.take(c, "state-aaaaaaaaaaaaaaaaaa", 100).unwrap();
        let params = super::super::callback::parse(Some(&format!("code={code}&state=x"))).unwrap();
        CheckedCallback::new(txn, params, "https://id.example/").unwrap()
    }
    fn disc() -> Discovery {
        crate::oidc::discovery::test_discovery()
    }
    fn resp(status: u16, body: &str) -> InboundResponse {
        InboundResponse { status, headers: vec![("content-type".into(), "application/json".into())], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn basic_auth_encodes_per_rfc6749() {
        let c = parse(&[("VIPPS_CLIENT_ID", "id:1"), ("VIPPS_CLIENT_SECRET", "a:b%c+d e@f=")]).unwrap();
        let cb = checked(&c, "the-code");
        let r = build_request(&c, &disc(), &cb);
        let auth = crate::http::header(&r.headers, "authorization").unwrap();
        let decoded = String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, auth.strip_prefix("Basic ").unwrap()).unwrap()).unwrap();
        assert_eq!(decoded, "id%3A1:a%3Ab%25c%2Bd+e%40f%3D");
        let body = r.body.unwrap();
        assert!(body.contains("grant_type=authorization_code"));
        assert!(body.contains("code=the-code"));
        let verifier = cb.transaction().code_verifier().expose();
        assert_eq!(verifier.len(), 43);
        assert!(body.contains(&format!("code_verifier={verifier}")));
        assert!(body.contains("redirect_uri=https%3A%2F%2Fshop.example%2Fauth%2Fcallback"));
        assert!(!body.contains("client_secret"));
        assert!(crate::http::header(&r.headers, "vipps-system-name").is_some());
    }

    #[test]
    fn post_auth_puts_credentials_in_body() {
        let c = parse(&[("VIPPS_TOKEN_AUTH_METHOD", "client_secret_post")]).unwrap();
        let r = build_request(&c, &disc(), &checked(&c, "x"));
        assert!(crate::http::header(&r.headers, "authorization").is_none());
        let body = r.body.unwrap();
        assert!(body.contains("client_id=client-1") && body.contains("client_secret=s3cret-value"));
    }

    #[test]
    fn responses() {
        let ok = process_response(&resp(200, r#"{"access_token":"a","id_token":"b","token_type":"BeArEr","scope":"openid"}"#)).unwrap();
        assert_eq!(ok.access_token.expose(), "a");
        assert_eq!(ok.expires_in, None);
        assert_eq!(process_response(&resp(400, r#"{"error":"invalid_grant"}"#)).unwrap_err().code, Code::TokenInvalidGrant);
        assert_eq!(process_response(&resp(401, r#"{"error":"invalid_client"}"#)).unwrap_err().code, Code::TokenRejected);
        assert_eq!(process_response(&resp(500, "oops")).unwrap_err().code, Code::TokenBadResponse);
        assert_eq!(process_response(&resp(200, r#"{"access_token":"a","id_token":"b","token_type":"mac"}"#)).unwrap_err().code, Code::TokenBadResponse);
        let html = InboundResponse { status: 200, headers: vec![("content-type".into(), "text/html".into())], body: b"{}".to_vec() };
        assert_eq!(process_response(&html).unwrap_err().code, Code::TokenBadResponse);
    }
}
