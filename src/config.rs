//! Configuration: wrangler vars and secrets parsed once per isolate into a validated [`Config`].
//!
//! Every problem is collected and reported at once (never the values: some are secrets).
//! The names below are the public interface documented in the README.

use crate::gate::PathPattern;
use crate::policy::path::CanonicalPath;
use crate::secret::Secret;
use std::fmt;
use url::Url;

pub const TEST_DISCOVERY_URL: &str =
    "https://apitest.vipps.no/access-management-1.0/access/.well-known/openid-configuration";
pub const PRODUCTION_DISCOVERY_URL: &str =
    "https://api.vipps.no/access-management-1.0/access/.well-known/openid-configuration";

/// Under the auth prefix: the consent webhook lives at `{prefix}/webhooks/consent-revoked/{secret}`.
pub const WEBHOOK_PATH: &str = "/webhooks/consent-revoked/";

/// Claims that identify a person closely; kept out of the session cookie unless listed explicitly.
pub const SENSITIVE_CLAIMS: &[&str] = &["nin", "address", "other_addresses"];

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

/// Where requests that pass the gate go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Workers static assets (the `ASSETS` binding).
    Assets,
    /// The origin behind the Worker's route: the request goes on unchanged.
    Origin,
    /// Another origin: the path and query are appended to this base URL.
    Proxy(Url),
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

/// The consent-revocation webhook (`CONSENT_WEBHOOK_SECRET` set).
#[derive(Debug, Clone)]
pub struct ConsentWebhook {
    /// The last path segment of the webhook URL registered with Vipps. Several may be set
    /// (rotation: register the new URL, then drop the old secret); the first also keys the HMAC
    /// that signs forwarded notifications.
    pub secrets: Vec<Secret>,
    /// Where a signed JSON notification goes (`CONSENT_WEBHOOK_FORWARD`).
    pub forward: Option<Url>,
    /// Whether a revocation ends the user's sessions at the edge (`CONSENT_REVOKED_ENDS_SESSIONS`).
    pub ends_sessions: bool,
}

/// HMAC keys derived from `SESSION_SECRET`. The first signs; all verify (rotation).
#[derive(Clone)]
pub struct Keys {
    pub session: Vec<[u8; 32]>,
    pub transaction: Vec<[u8; 32]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys([redacted] x{})", self.session.len())
    }
}

fn derive_key(secret: &str, purpose: &str) -> [u8; 32] {
    // HMAC as a KDF with a fixed label per purpose: a session cookie can never verify as a
    // transaction cookie and the raw secret is never used directly.
    crate::util::hmac_sha256(secret.as_bytes(), &[b"vipps-edge-login/v1/", purpose.as_bytes()])
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Option<Environment>,
    pub discovery_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: ExactUrl,
    /// Space-separated scopes, `openid` first.
    pub scope: String,
    pub token_auth: TokenAuthMethod,
    pub market: Option<String>,
    pub keys: Keys,
    pub session_ttl: u64,
    pub session_claims: Vec<String>,
    pub login_timeout: u64,
    pub auth_prefix: String,
    pub public_paths: Vec<PathPattern>,
    pub protected_paths: Vec<PathPattern>,
    pub backend: Backend,
    pub upstream_timeout_ms: u64,
    /// Total time one request may spend on calls to other servers (`UPSTREAM_DEADLINE_MS`).
    pub upstream_deadline_ms: u64,
    pub system_name: String,
    pub consent_webhook: Option<ConsentWebhook>,
    /// Seconds between a session's revocation checks (`SESSION_RECHECK`); used only when
    /// revocations end sessions.
    pub session_recheck: u64,
}

/// One problem with one variable. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub var: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|p| format!("{}: {}", p.var, p.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

/// Is this host loopback? Plain http is allowed only there (the simulator, local development).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// https anywhere, http only on loopback.
pub fn is_secure_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(url))
}

struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn opt(&self, var: &'static str) -> Option<String> {
        (self.get)(var).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
    fn required(&mut self, var: &'static str) -> Option<String> {
        let v = self.opt(var);
        if v.is_none() {
            self.problem(var, "is required but not set");
        }
        v
    }
    fn problem(&mut self, var: &'static str, message: impl Into<String>) {
        self.problems.push(Problem { var, message: message.into() });
    }
    fn seconds(&mut self, var: &'static str, default: u64, min: u64, max: u64) -> u64 {
        match self.opt(var) {
            None => default,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    self.problem(var, format!("must be a whole number from {min} to {max}"));
                    default
                }
            },
        }
    }
    fn paths(&mut self, var: &'static str, default: &str) -> Vec<PathPattern> {
        let raw = self.opt(var).unwrap_or_else(|| default.to_string());
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match PathPattern::parse(item) {
                Some(p) => out.push(p),
                None => self.problem(
                    var,
                    "each entry must be a plain path starting with '/' (a trailing '*' makes a prefix; no dot or empty segments, no encoded '/')",
                ),
            }
        }
        out
    }
}

impl Config {
    /// Parses configuration from a lookup of vars and secrets (both are string bindings).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let mut r = Reader { get, problems: Vec::new() };

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
                    r.problem(
                        "VIPPS_DISCOVERY_URL",
                        "must be an absolute https URL (http only on localhost/127.0.0.1)",
                    );
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

        let keys = match r.required("SESSION_SECRET") {
            None => None,
            Some(raw) => {
                let secrets: Vec<&str> =
                    raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).collect();
                if secrets.iter().any(|s| s.len() < 32) {
                    r.problem(
                        "SESSION_SECRET",
                        "each key must be at least 32 characters (generate one with: openssl rand -base64 32)",
                    );
                    None
                } else {
                    Some(Keys {
                        session: secrets.iter().map(|s| derive_key(s, "session")).collect(),
                        transaction: secrets.iter().map(|s| derive_key(s, "login-transaction")).collect(),
                    })
                }
            }
        };

        let session_ttl = r.seconds("SESSION_TTL", 86_400, 60, 31 * 86_400);
        let login_timeout = r.seconds("LOGIN_TIMEOUT", 600, 1, 3600);
        let upstream_timeout_ms = r.seconds("UPSTREAM_TIMEOUT_MS", 8_000, 100, 25_000);
        let upstream_deadline_ms = r.seconds("UPSTREAM_DEADLINE_MS", 20_000, 100, 60_000);

        let session_claims: Vec<String> = r
            .opt("SESSION_CLAIMS")
            .unwrap_or_else(|| "name,given_name,family_name,email,email_verified".into())
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "sub")
            .collect();
        if session_claims.iter().any(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')) {
            r.problem("SESSION_CLAIMS", "must be a comma-separated list of userinfo claim names");
        }

        let auth_prefix = {
            let p = r.opt("AUTH_PATH_PREFIX").unwrap_or_else(|| "/auth".into());
            let p = p.trim_end_matches('/').to_string();
            if !p.starts_with('/') || p.len() < 2 || p.contains(['?', '#', '*'])
                || CanonicalPath::parse(&p).ok().is_none_or(|c| c.as_str() != p)
            {
                r.problem("AUTH_PATH_PREFIX", "must be a path like /auth");
            }
            p
        };
        let public_paths = r.paths("PUBLIC_PATHS", "");
        let protected_paths = r.paths("PROTECTED_PATHS", "/*");

        let backend = match r.opt("BACKEND").as_deref() {
            None | Some("assets") => Backend::Assets,
            Some("origin") => Backend::Origin,
            Some(other) => match Url::parse(other) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Backend::Proxy(u),
                _ => {
                    r.problem("BACKEND", "must be 'assets', 'origin' or an http(s) base URL");
                    Backend::Assets
                }
            },
        };

        let system_name = r.opt("VIPPS_SYSTEM_NAME").unwrap_or_else(|| "vipps-edge-login".into());
        if system_name.len() > 30 || !system_name.is_ascii() {
            r.problem("VIPPS_SYSTEM_NAME", "must be at most 30 ASCII characters");
        }

        let consent_webhook = {
            let secret = r.opt("CONSENT_WEBHOOK_SECRET");
            let forward = match r.opt("CONSENT_WEBHOOK_FORWARD") {
                None => None,
                Some(raw) => match Url::parse(&raw) {
                    Ok(u) if is_secure_or_loopback(&u) && u.fragment().is_none() => Some(u),
                    _ => {
                        r.problem("CONSENT_WEBHOOK_FORWARD", "must be an absolute https URL (http only on localhost/127.0.0.1)");
                        None
                    }
                },
            };
            let ends_sessions = match r.opt("CONSENT_REVOKED_ENDS_SESSIONS").as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    r.problem("CONSENT_REVOKED_ENDS_SESSIONS", "must be 'true' or 'false'");
                    true
                }
            };
            let secrets: Vec<String> = secret
                .as_deref()
                .unwrap_or("")
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let valid = |s: &String| {
                (32..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            match secret {
                None => {
                    if forward.is_some() {
                        r.problem("CONSENT_WEBHOOK_FORWARD", "needs CONSENT_WEBHOOK_SECRET (the webhook is off without it)");
                    }
                    None
                }
                Some(_) if !secrets.iter().all(valid) => {
                    r.problem(
                        "CONSENT_WEBHOOK_SECRET",
                        "each secret must be 32 to 128 characters of A-Z a-z 0-9 - _ (generate one with: openssl rand -hex 32)",
                    );
                    None
                }
                Some(_) => Some(ConsentWebhook { secrets: secrets.into_iter().map(Secret::new).collect(), forward, ends_sessions }),
            }
        };
        let session_recheck = r.seconds("SESSION_RECHECK", 300, 1, 86_400);

        if !r.problems.is_empty() {
            return Err(ConfigErrors(r.problems));
        }
        match (discovery_url, client_id, client_secret, redirect_uri, keys) {
            (Some(discovery_url), Some(client_id), Some(client_secret), Some(redirect_uri), Some(keys)) => {
                Ok(Config {
                    environment,
                    discovery_url,
                    client_id,
                    client_secret,
                    redirect_uri,
                    scope,
                    token_auth,
                    market,
                    keys,
                    session_ttl,
                    session_claims,
                    login_timeout,
                    auth_prefix,
                    public_paths,
                    protected_paths,
                    backend,
                    upstream_timeout_ms,
                    upstream_deadline_ms,
                    system_name,
                    consent_webhook,
                    session_recheck,
                })
            }
            _ => Err(ConfigErrors(vec![Problem { var: "config", message: "incomplete".into() }])),
        }
    }

    /// Whether sessions must be checked against recorded consent revocations.
    pub fn checks_revocations(&self) -> bool {
        self.consent_webhook.as_ref().is_some_and(|w| w.ends_sessions)
    }

    /// The path Vipps POSTs consent revocations to (contains the secret; never log it).
    pub fn consent_webhook_path(&self) -> Option<String> {
        self.consent_webhook
            .as_ref()
            .and_then(|w| w.secrets.first())
            .map(|s| format!("{}{}{}", self.auth_prefix, WEBHOOK_PATH, s.expose()))
    }

    pub fn login_path(&self) -> String {
        format!("{}/login", self.auth_prefix)
    }
    /// The callback is served at the redirect URI's own path, so they cannot disagree.
    pub fn callback_path(&self) -> &str {
        self.redirect_uri.url().path()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("VIPPS_CLIENT_ID", "client-1"),
            ("VIPPS_CLIENT_SECRET", "s3cret-value"),
            ("VIPPS_REDIRECT_URI", "https://shop.example/auth/callback"),
            ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            if v.is_empty() {
                m.remove(*k);
            } else {
                m.insert(k.to_string(), v.to_string());
            }
        }
        m
    }

    pub fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let m = vars(pairs);
        Config::from_lookup(&|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_select_vipps_test_environment() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.discovery_url.as_str(), TEST_DISCOVERY_URL);
        assert_eq!(c.scope, "openid name email");
        assert_eq!(c.token_auth, TokenAuthMethod::ClientSecretBasic);
        assert_eq!(c.callback_path(), "/auth/callback");
        assert_eq!(c.login_timeout, 600);
        assert_eq!((c.upstream_timeout_ms, c.upstream_deadline_ms), (8_000, 20_000));
        assert!(parse(&[("UPSTREAM_DEADLINE_MS", "60001")]).is_err());
        assert!(!c.session_claims.iter().any(|c| SENSITIVE_CLAIMS.contains(&c.as_str())));
    }

    #[test]
    fn production_and_override() {
        let c = parse(&[("VIPPS_ENVIRONMENT", "production")]).unwrap();
        assert_eq!(c.discovery_url.as_str(), PRODUCTION_DISCOVERY_URL);
        let c = parse(&[
            ("VIPPS_ENVIRONMENT", "production"),
            ("VIPPS_DISCOVERY_URL", "http://127.0.0.1:7070/x/.well-known/openid-configuration"),
        ])
        .unwrap();
        assert_eq!(c.discovery_url.as_str(), "http://127.0.0.1:7070/x/.well-known/openid-configuration");
        assert_eq!(c.environment, None);
    }

    #[test]
    fn openid_is_always_included_once() {
        let c = parse(&[("VIPPS_SCOPE", "email openid phoneNumber")]).unwrap();
        assert_eq!(c.scope, "openid email phoneNumber");
    }

    #[test]
    fn every_problem_is_reported_at_once_without_values() {
        let e = parse(&[
            ("VIPPS_CLIENT_ID", ""),
            ("VIPPS_CLIENT_SECRET", ""),
            ("VIPPS_REDIRECT_URI", "http://shop.example/cb"),
            ("SESSION_SECRET", "short-secret-value"),
            ("VIPPS_ENVIRONMENT", "staging"),
            ("VIPPS_MARKET", "US"),
            ("SESSION_TTL", "abc"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = e.0.iter().map(|p| p.var).collect();
        for v in [
            "VIPPS_CLIENT_ID",
            "VIPPS_CLIENT_SECRET",
            "VIPPS_REDIRECT_URI",
            "SESSION_SECRET",
            "VIPPS_ENVIRONMENT",
            "VIPPS_MARKET",
            "SESSION_TTL",
        ] {
            assert!(vars.contains(&v), "missing {v} in {vars:?}");
        }
        let text = e.to_string();
        assert!(!text.contains("short-secret-value"));
        assert!(!text.contains("shop.example"));
    }

    #[test]
    fn redirect_uri_kept_exactly() {
        let raw = "https://Shop.Example/Auth/Callback/?x=%7e";
        let c = parse(&[("VIPPS_REDIRECT_URI", raw)]).unwrap();
        assert_eq!(c.redirect_uri.as_str(), raw);
        assert!(parse(&[("VIPPS_REDIRECT_URI", "https://shop.example/cb#frag")]).is_err());
        assert!(parse(&[("VIPPS_REDIRECT_URI", "http://localhost:8787/auth/callback")]).is_ok());
        assert!(parse(&[("VIPPS_REDIRECT_URI", "http://127.0.0.1:8787/auth/callback")]).is_ok());
    }

    #[test]
    fn paths_in_config_must_be_canonical() {
        for bad in ["https://shop.example/a%2Fb/cb", "https://shop.example/a/%7Ecb", "https://shop.example/a//cb"] {
            let e = parse(&[("VIPPS_REDIRECT_URI", bad)]).unwrap_err();
            assert!(e.0.iter().any(|p| p.var == "VIPPS_REDIRECT_URI"), "{bad}");
        }
        for bad in ["/a%2Fb", "/a/../b", "/A//b"] {
            assert!(parse(&[("AUTH_PATH_PREFIX", bad)]).is_err(), "{bad}");
            assert!(parse(&[("PUBLIC_PATHS", bad)]).is_err(), "{bad}");
            assert!(parse(&[("PROTECTED_PATHS", &format!("{bad}/*"))]).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_rotation_keeps_all_keys() {
        let c = parse(&[("SESSION_SECRET", "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210")]).unwrap();
        assert_eq!(c.keys.session.len(), 2);
        assert_ne!(c.keys.session[0], c.keys.transaction[0]);
        assert!(!format!("{:?}", c).contains("s3cret-value"));
    }

    #[test]
    fn consent_webhook_settings() {
        let c = parse(&[]).unwrap();
        assert!(c.consent_webhook.is_none());
        assert!(!c.checks_revocations());
        assert_eq!(c.consent_webhook_path(), None);
        let secret = "0123456789abcdef0123456789abcdef-_";
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret), ("SESSION_RECHECK", "60")]).unwrap();
        assert!(c.checks_revocations());
        assert_eq!(c.session_recheck, 60);
        assert_eq!(c.consent_webhook_path().unwrap(), format!("/auth/webhooks/consent-revoked/{secret}"));
        assert!(!format!("{c:?}").contains(secret));
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret), ("CONSENT_REVOKED_ENDS_SESSIONS", "false")]).unwrap();
        assert!(!c.checks_revocations());
        let e = parse(&[
            ("CONSENT_WEBHOOK_SECRET", "short"),
            ("CONSENT_WEBHOOK_FORWARD", "http://crm.example/hook"),
            ("CONSENT_REVOKED_ENDS_SESSIONS", "yes"),
            ("SESSION_RECHECK", "0"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = e.0.iter().map(|p| p.var).collect();
        for v in ["CONSENT_WEBHOOK_SECRET", "CONSENT_WEBHOOK_FORWARD", "CONSENT_REVOKED_ENDS_SESSIONS", "SESSION_RECHECK"] {
            assert!(vars.contains(&v), "missing {v} in {vars:?}");
        }
        assert!(!e.to_string().contains("short"));
        // Rotation: two secrets, the first names the path.
        let other = "fedcba9876543210fedcba9876543210";
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", &format!("{secret}, {other}"))]).unwrap();
        assert_eq!(c.consent_webhook.as_ref().unwrap().secrets.len(), 2);
        assert!(c.consent_webhook_path().unwrap().ends_with(secret));
        // A slash in the secret would change the path: refused.
        assert!(parse(&[("CONSENT_WEBHOOK_SECRET", "0123456789abcdef/0123456789abcdef")]).is_err());
        // A forward target without the webhook is a mistake worth naming.
        assert!(parse(&[("CONSENT_WEBHOOK_FORWARD", "https://crm.example/hook")]).is_err());
    }

    #[test]
    fn backend_choices() {
        assert_eq!(parse(&[("BACKEND", "origin")]).unwrap().backend, Backend::Origin);
        assert!(matches!(parse(&[("BACKEND", "https://origin.example")]).unwrap().backend, Backend::Proxy(_)));
        assert!(parse(&[("BACKEND", "ftp://x")]).is_err());
    }
}
