//! OpenID Connect Discovery 1.0: the provider's endpoints, fetched, never hard-coded.

use crate::config::is_secure_or_loopback;
use crate::error::{Code, Error};
use serde::Deserialize;
use url::Url;

/// A discovery document that passed [`parse`]: the only way to make one.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery(Document);

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: String,
    #[serde(default)]
    backchannel_authentication_endpoint: Option<String>,
}

impl Discovery {
    /// The issuer, exactly as the provider names itself (`iss` must equal it byte for byte).
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }
    pub fn authorization_endpoint(&self) -> &str {
        &self.0.authorization_endpoint
    }
    pub fn token_endpoint(&self) -> &str {
        &self.0.token_endpoint
    }
    pub fn jwks_uri(&self) -> &str {
        &self.0.jwks_uri
    }
    pub fn userinfo_endpoint(&self) -> &str {
        &self.0.userinfo_endpoint
    }
    /// CIBA (login from phone number), when the provider offers it.
    pub fn backchannel_authentication_endpoint(&self) -> Option<&str> {
        self.0.backchannel_authentication_endpoint.as_deref()
    }
}

/// Parses and validates a discovery document fetched from `discovery_url`.
pub fn parse(discovery_url: &Url, body: &str) -> Result<Discovery, Error> {
    let d: Document = serde_json::from_slice(body.as_bytes())
        .map_err(|e| Error::new(Code::DiscoveryInvalid, format!("not a discovery document: {}", e.classify_str())))?;
    // OpenID Connect Discovery §4.3: the issuer must be the one whose well-known URL we fetched.
    let expected = format!("{}/.well-known/openid-configuration", d.issuer.trim_end_matches('/'));
    if expected != discovery_url.as_str() {
        return Err(Error::new(
            Code::DiscoveryInvalid,
            "issuer does not match the discovery URL (OIDC Discovery §4.3)",
        ));
    }
    let origin = discovery_url.origin();
    for (name, value) in [
        ("authorization_endpoint", &d.authorization_endpoint),
        ("token_endpoint", &d.token_endpoint),
        ("jwks_uri", &d.jwks_uri),
        ("userinfo_endpoint", &d.userinfo_endpoint),
    ] {
        let u = Url::parse(value)
            .map_err(|_| Error::new(Code::DiscoveryInvalid, format!("{name} is not a URL")))?;
        if !is_secure_or_loopback(&u) {
            return Err(Error::new(Code::DiscoveryInvalid, format!("{name} is not https")));
        }
        // Every Vipps endpoint sits on the discovery host; another host is a hijacked document.
        if u.origin() != origin {
            return Err(Error::new(Code::DiscoveryInvalid, format!("{name} is on another host")));
        }
    }
    if let Some(ciba) = &d.backchannel_authentication_endpoint {
        let u = Url::parse(ciba).map_err(|_| Error::new(Code::DiscoveryInvalid, "backchannel_authentication_endpoint is not a URL"))?;
        if !is_secure_or_loopback(&u) || u.origin() != origin {
            return Err(Error::new(Code::DiscoveryInvalid, "backchannel_authentication_endpoint is not https on the discovery host"));
        }
    }
    Ok(Discovery(d))
}

/// A valid document for `https://id.example/`, for tests of the steps that use one.
#[cfg(test)]
pub(crate) fn test_discovery() -> Discovery {
    test_discovery_with(serde_json::json!({}))
}

/// [`test_discovery`] with some fields added or replaced.
#[cfg(test)]
pub(crate) fn test_discovery_with(extra: serde_json::Value) -> Discovery {
    let url = Url::parse("https://id.example/.well-known/openid-configuration").unwrap();
    let mut doc = serde_json::json!({
        "issuer": "https://id.example/",
        "authorization_endpoint": "https://id.example/oauth2/auth",
        "token_endpoint": "https://id.example/oauth2/token",
        "jwks_uri": "https://id.example/jwks",
        "userinfo_endpoint": "https://id.example/userinfo",
    });
    if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    parse(&url, &doc.to_string()).unwrap()
}

/// A log-safe word for why JSON did not parse (never the input).
pub(crate) trait Classify {
    fn classify_str(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "missing or mistyped field",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://apitest.vipps.no/access-management-1.0/access/.well-known/openid-configuration";

    fn doc(issuer: &str, token: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"https://apitest.vipps.no/access-management-1.0/access/oauth2/auth",
            "token_endpoint":"{token}","jwks_uri":"https://apitest.vipps.no/access-management-1.0/access/.well-known/jwks.json",
            "userinfo_endpoint":"https://apitest.vipps.no/vipps-userinfo-api/userinfo","scopes_supported":["openid"]}}"#
        )
    }

    #[test]
    fn parses_the_vipps_test_document() {
        let u = Url::parse(URL).unwrap();
        let d = parse(&u, &doc("https://apitest.vipps.no/access-management-1.0/access/",
            "https://apitest.vipps.no/access-management-1.0/access/oauth2/token")).unwrap();
        assert_eq!(d.issuer(), "https://apitest.vipps.no/access-management-1.0/access/");
    }

    #[test]
    fn refuses_issuer_mismatch_foreign_hosts_and_http() {
        let u = Url::parse(URL).unwrap();
        let tok = "https://apitest.vipps.no/access-management-1.0/access/oauth2/token";
        let e = parse(&u, &doc("https://evil.example/access-management-1.0/access/", tok)).unwrap_err();
        assert_eq!(e.code, Code::DiscoveryInvalid);
        let iss = "https://apitest.vipps.no/access-management-1.0/access/";
        assert!(parse(&u, &doc(iss, "https://evil.example/token")).is_err());
        assert!(parse(&u, &doc(iss, "http://apitest.vipps.no/access-management-1.0/access/oauth2/token")).is_err());
        assert!(parse(&u, "<html>").is_err());
        assert!(parse(&u, r#"{"issuer":5}"#).is_err());
    }
}
