//! Userinfo (OIDC Core §5.3): the profile the user agreed to share.

use super::discovery::Discovery;
use super::json_body;
use crate::config::Config;
use crate::error::{Code, Error};
use crate::http::{InboundResponse, OutboundRequest};
use crate::secret::Secret;
use serde_json::{Map, Value};

/// `GET userinfo` with the access token. No `Ocp-Apim-Subscription-Key`: Vipps answers 401.
pub fn build_request(config: &Config, discovery: &Discovery, access_token: &Secret) -> OutboundRequest {
    let mut headers = vec![
        ("authorization".to_string(), format!("Bearer {}", access_token.expose())),
        ("accept".to_string(), "application/json".to_string()),
    ];
    headers.extend(super::system_headers(config));
    OutboundRequest { method: "GET", url: discovery.userinfo_endpoint().to_string(), headers, body: None }
}

/// Userinfo claims, whose `sub` must equal the ID token's (OIDC Core §5.3.2).
pub fn process_response(resp: &InboundResponse, id_token_sub: &str) -> Result<Map<String, Value>, Error> {
    if resp.status != 200 {
        return Err(Error::new(Code::UserinfoFailed, format!("status {}", resp.status)));
    }
    let claims: Map<String, Value> =
        json_body(resp).ok_or_else(|| Error::new(Code::UserinfoFailed, "not a JSON object"))?;
    match claims.get("sub") {
        Some(Value::String(s)) if s == id_token_sub => Ok(claims),
        _ => Err(Error::new(Code::UserinfoSubMismatch, "userinfo sub differs from the ID token sub")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> InboundResponse {
        InboundResponse { status, headers: vec![("content-type".into(), "application/json; charset=utf-8".into())], body: body.as_bytes().to_vec() }
    }

    #[test]
    fn sub_must_match() {
        assert!(process_response(&resp(200, r#"{"sub":"a","name":"x"}"#), "a").is_ok());
        assert_eq!(process_response(&resp(200, r#"{"sub":"b"}"#), "a").unwrap_err().code, Code::UserinfoSubMismatch);
        assert_eq!(process_response(&resp(200, r#"{"sub":1}"#), "a").unwrap_err().code, Code::UserinfoSubMismatch);
        assert_eq!(process_response(&resp(401, r#"{}"#), "a").unwrap_err().code, Code::UserinfoFailed);
        assert_eq!(process_response(&resp(200, r#"[]"#), "a").unwrap_err().code, Code::UserinfoFailed);
    }
}
