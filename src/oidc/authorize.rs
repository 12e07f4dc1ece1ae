//! The authorization request (OIDC Core §3.1.2.1, RFC 7636 §4.3).
//!
//! `state` is a short random key (Vipps answers 502 when state or the URL grows long); the
//! payload stays in our transaction cookie. PKCE is always S256: Vipps defaults to `plain`
//! when the method is absent.

use super::discovery::Discovery;
use super::options::LoginOptions;
use crate::config::Config;
use crate::error::{Code, Error};
use crate::secret::Secret;
use crate::util::{b64url, sha256};
use url::Url;

/// Vipps' gateway answers 502 for URLs of about 2000 characters or more.
pub const MAX_AUTHORIZE_URL: usize = 1900;

/// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
pub fn s256_challenge(verifier: &Secret) -> String {
    b64url(&sha256(verifier.expose().as_bytes()))
}

/// Builds the authorize URL on the discovery document's `authorization_endpoint`.
pub fn build_url(
    config: &Config,
    discovery: &Discovery,
    state: &str,
    nonce: &str,
    verifier: &Secret,
) -> Result<String, Error> {
    build_url_with(config, discovery, state, nonce, verifier, &LoginOptions::default())
}

/// As [`build_url`], for a login with `options`: the registration scopes, the market asked
/// for, and the silent, in-app-confirmation and `step_up` parameters ([`LoginOptions`]).
pub fn build_url_with(
    config: &Config,
    discovery: &Discovery,
    state: &str,
    nonce: &str,
    verifier: &Secret,
    options: &LoginOptions,
) -> Result<String, Error> {
    let mut url = Url::parse(discovery.authorization_endpoint())
        .map_err(|_| Error::new(Code::DiscoveryInvalid, "authorization_endpoint is not a URL"))?;
    let scope = match (options.register, &config.login_options.register_scope) {
        (true, Some(s)) => s.as_str(),
        _ => config.vipps.scope.as_str(),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &config.vipps.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", scope)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("redirect_uri", config.vipps.redirect_uri.as_str())
            .append_pair("code_challenge", &s256_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        match (options.market, &config.vipps.market) {
            (Some(m), _) => {
                q.append_pair("market", m.as_str());
            }
            (None, Some(m)) => {
                q.append_pair("market", m);
            }
            (None, None) => {}
        }
        for (k, v) in options.authorize_params(config.login_options.silent) {
            q.append_pair(k, v);
        }
    }
    let s = url.to_string();
    if s.len() > MAX_AUTHORIZE_URL {
        return Err(Error::new(Code::ConfigInvalid, "authorize URL would exceed Vipps' length limit (scope or redirect URI too long)"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    fn disc() -> Discovery {
        crate::oidc::discovery::test_discovery()
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(s256_challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn carries_every_parameter_exactly() {
        let c = parse(&[("VIPPS_REDIRECT_URI", "https://Shop.example/cb/?a=%7E"), ("VIPPS_MARKET", "DK")]).unwrap();
        let v = Secret::new("verifier-verifier-verifier-verifier-verifie");
        let u = build_url(&c, &disc(), "state123456", "nonce123456", &v).unwrap();
        let parsed = Url::parse(&u).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "client-1");
        assert_eq!(q["redirect_uri"], "https://Shop.example/cb/?a=%7E");
        assert_eq!(q["scope"], "openid name email");
        assert_eq!(q["state"], "state123456");
        assert_eq!(q["nonce"], "nonce123456");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], s256_challenge(&v));
        assert_eq!(q["market"], "DK");
        assert!(!u.contains("verifier-verifier"));
        assert!(u.starts_with("https://id.example/oauth2/auth?"));
        for absent in ["acr_values", "step_up", "prompt", "requested_flow"] {
            assert!(!q.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn options_reach_the_request() {
        use crate::oidc::options::{Market, APP_AUTH};
        let c = parse(&[("VIPPS_MARKET", "NO"), ("SILENT_LOGIN", "no_dialog"), ("REGISTER_SCOPE", "name customFlow")]).unwrap();
        let v = Secret::new("verifier-verifier-verifier-verifier-verifie");
        let o = LoginOptions { silent: true, app_auth: true, step_up: true, register: true, market: Some(Market::FI), ..Default::default() };
        let u = build_url_with(&c, &disc(), "state123456", "nonce123456", &v, &o).unwrap();
        let q: std::collections::HashMap<_, _> = Url::parse(&u).unwrap().query_pairs().into_owned().collect();
        assert_eq!(q["market"], "FI", "the request's market wins over VIPPS_MARKET");
        assert_eq!(q["requested_flow"], "no_dialog");
        assert_eq!(q["acr_values"], APP_AUTH);
        assert_eq!(q["step_up"], "true");
        assert_eq!(q["scope"], "openid name customFlow");
        assert_eq!(u.matches("market=").count(), 1);
    }
}
