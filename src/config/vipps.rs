//! The Vipps MobilePay client: which provider, which client, which redirect URI and scopes.

use super::reader::Reader;
use super::is_secure_or_loopback;
use crate::policy::path::CanonicalPath;
use crate::secret::Secret;
use url::Url;

pub const TEST_DISCOVERY_URL: &str =
    "https://apitest.vipps.no/access-management-1.0/access/.well-known/openid-configuration";
pub const PRODUCTION_DISCOVERY_URL: &str =
    "https://api.vipps.no/access-management-1.0/access/.well-known/openid-configuration";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Test,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthMethod {
    /// HTTP Basic with RFC 6749 §2.3.1 form-encoding of id and secret (Vipps' default).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// A URL that keeps the exact string it was configured with: Vipps compares `redirect_uri`
/// byte for byte, and `url::Url` normalises (case, trailing slash, encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactUrl {
    raw: String,
    parsed: Url,
}

impl ExactUrl {
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    pub fn url(&self) -> &Url {
        &self.parsed
    }
}

#[derive(Debug, Clone)]
pub struct VippsConfig {
    /// `None` when `VIPPS_DISCOVERY_URL` overrides the environment.
    pub environment: Option<Environment>,
    pub discovery_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: ExactUrl,
    /// Space-separated scopes, `openid` first.
    pub scope: String,
    pub token_auth: TokenAuthMethod,
    pub market: Option<String>,
    pub system_name: String,
}

pub fn parse(r: &mut Reader) -> Option<VippsConfig> {
    let environment = match r.opt("VIPPS_ENVIRONMENT").as_deref() {
        None | Some("test") => Some(Environment::Test),
        Some("production") => Some(Environment::Production),
        Some(_) => {
            r.problem("VIPPS_ENVIRONMENT", "must be 'test' or 'production'");
            None
        }
    };
    let discovery_url = match r.opt("VIPPS_DISCOVERY_URL") {
        Some(raw) => match Url::parse(&raw) {
            Ok(u) if is_secure_or_loopback(&u) && u.fragment().is_none() => Some(u),
            _ => {
                r.problem("VIPPS_DISCOVERY_URL", "must be an absolute https URL (http only on localhost/127.0.0.1)");
                None
            }
        },
        None => match environment {
            Some(Environment::Production) => Url::parse(PRODUCTION_DISCOVERY_URL).ok(),
            _ => Url::parse(TEST_DISCOVERY_URL).ok(),
        },
    };
    let environment = if r.opt("VIPPS_DISCOVERY_URL").is_some() { None } else { environment };

    let client_id = r.required("VIPPS_CLIENT_ID");
    let client_secret = r.required("VIPPS_CLIENT_SECRET").map(Secret::new);

    let redirect_uri = match r.required("VIPPS_REDIRECT_URI") {
        None => None,
        Some(raw) => match Url::parse(&raw) {
            Ok(u) if is_secure_or_loopback(&u) && u.fragment().is_none() && !raw.contains('#') => {
                // The callback route matches canonical paths: a path that is not canonical
                // could never be matched.
                if CanonicalPath::parse(u.path()).ok().is_none_or(|p| p.as_str() != u.path()) {
                    r.problem(
                        "VIPPS_REDIRECT_URI",
                        "its path must be plain: no encoded '/', '.', ';', no dot or empty segments, unreserved characters unencoded",
                    );
                }
                Some(ExactUrl { raw, parsed: u })
            }
            _ => {
                r.problem(
                    "VIPPS_REDIRECT_URI",
                    "must be the exact absolute https URL registered in the Vipps portal, without '#' (http only on localhost/127.0.0.1)",
                );
                None
            }
        },
    };

    let scope = {
        let raw = r.opt("VIPPS_SCOPE").unwrap_or_else(|| "openid name email".into());
        let mut scopes: Vec<&str> = vec!["openid"];
        let mut bad = false;
        for s in raw.split_whitespace() {
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c)) {
                bad = true;
            } else if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        if bad {
            r.problem("VIPPS_SCOPE", "must be space-separated scope names (letters, digits, _-:.)");
        }
        scopes.join(" ")
    };

    let token_auth = match r.opt("VIPPS_TOKEN_AUTH_METHOD").as_deref() {
        None | Some("client_secret_basic") => TokenAuthMethod::ClientSecretBasic,
        Some("client_secret_post") => TokenAuthMethod::ClientSecretPost,
        Some(_) => {
            r.problem("VIPPS_TOKEN_AUTH_METHOD", "must be 'client_secret_basic' or 'client_secret_post'");
            TokenAuthMethod::ClientSecretBasic
        }
    };

    let market = match r.opt("VIPPS_MARKET") {
        None => None,
        Some(m) if ["NO", "DK", "FI", "SE"].contains(&m.as_str()) => Some(m),
        Some(_) => {
            r.problem("VIPPS_MARKET", "must be one of NO, DK, FI, SE");
            None
        }
    };

    let system_name = r.opt("VIPPS_SYSTEM_NAME").unwrap_or_else(|| "vipps-edge-login".into());
    if system_name.len() > 30 || !system_name.is_ascii() {
        r.problem("VIPPS_SYSTEM_NAME", "must be at most 30 ASCII characters");
    }

    Some(VippsConfig {
        environment,
        discovery_url: discovery_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        redirect_uri: redirect_uri?,
        scope,
        token_auth,
        market,
        system_name,
    })
}
