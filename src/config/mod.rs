//! Configuration: wrangler vars and secrets parsed once per isolate into a validated [`Config`].
//!
//! One section per file, each validated on its own; every problem of every section is
//! collected and reported at once (never the values: some are secrets). The names are the
//! public interface documented in the README.

pub mod access;
pub mod apps;
pub mod backend;
pub mod ciba;
pub mod consent;
pub mod front_end;
pub mod gate;
pub mod hook;
pub mod identity;
pub mod login_options;
pub mod pages;
pub mod reader;
pub mod session;
pub mod upstream;
pub mod vipps;

pub use backend::Backend;
pub use ciba::CibaConfig;
pub use consent::{ConsentWebhook, WEBHOOK_PATH};
pub use front_end::FrontEndConfig;
pub use hook::HookConfig;

/// Under the auth prefix: the merchant API of login from phone number (`/ciba/start`, ...).
pub const CIBA_PATH: &str = "/ciba/";
pub use gate::GateConfig;
pub use identity::IdentityConfig;
pub use pages::PagesConfig;
pub use reader::{ConfigErrors, Problem};
pub use session::{Keys, SessionConfig, SENSITIVE_CLAIMS};
pub use upstream::UpstreamConfig;
pub use vipps::{Environment, ExactUrl, TokenAuthMethod, VippsConfig, PRODUCTION_DISCOVERY_URL, TEST_DISCOVERY_URL};

use crate::policy::access::AccessRules;
use crate::policy::path::CanonicalPath;
use reader::Reader;
use url::Url;

#[derive(Debug, Clone)]
pub struct Config {
    pub vipps: VippsConfig,
    pub session: SessionConfig,
    pub gate: GateConfig,
    /// Who may see which paths once logged in (`ACCESS_RULES`).
    pub access: AccessRules,
    /// Front ends on other origins (`CORS_ORIGINS`, `LOGOUT_REDIRECT`).
    pub front_end: FrontEndConfig,
    pub backend: Backend,
    pub upstream: UpstreamConfig,
    /// The consent-revocation webhook, when `CONSENT_WEBHOOK_SECRET` is set.
    pub consent: Option<ConsentWebhook>,
    /// Claims as headers and the signed identity assertion, for the origin.
    pub identity: IdentityConfig,
    /// Brand and operator templates of the pages users see.
    pub pages: PagesConfig,
    /// Login from phone number for merchant systems, when `CIBA_API_KEYS` is set.
    pub ciba: Option<CibaConfig>,
    /// Silent login, markets, registration, step-up paths, the retry after
    /// `temporarily_unavailable`: each off unless configured.
    pub login_options: login_options::LoginOptionsConfig,
    /// The login hook to the merchant's backend, when `LOGIN_HOOK_URL` is set.
    pub hook: Option<HookConfig>,
    /// Logins from apps and automatic return (`LOGIN_FLOWS`, `APP_URIS`): off when empty.
    pub apps: apps::AppsConfig,
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

impl Config {
    /// Parses configuration from a lookup of vars and secrets (both are string bindings).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let mut r = Reader::new(get);
        let vipps = vipps::parse(&mut r);
        // Cookies are bound to the Vipps client: a session of another client's deployment never
        // verifies here, even with the same SESSION_SECRET.
        let deployment = vipps.as_ref().map(|v| v.client_id.clone()).unwrap_or_default();
        let callback_host = vipps.as_ref().and_then(|v| v.redirect_uri.url().host_str().map(str::to_string));
        let mut session = session::parse(&mut r, &deployment, callback_host.as_deref());
        let gate = gate::parse(&mut r);
        let access = access::parse(&mut r, &gate);
        if let Some(s) = session.as_mut() {
            access::keep_claims(&access, &mut s.claims);
        }
        let front_end = front_end::parse(&mut r);
        let backend = backend::parse(&mut r);
        let upstream = upstream::parse(&mut r);
        let consent = consent::parse(&mut r);
        let ciba = ciba::parse(&mut r, &deployment);
        let hook = hook::parse(&mut r);
        let identity = identity::parse(&mut r, session.as_ref().map(|s| s.claims.as_slice()));
        let pages = pages::parse(&mut r);
        let login_options = login_options::parse(&mut r, &gate);
        let apps = apps::parse(&mut r, session.as_ref().map_or(86_400, |s| s.ttl));
        if let Some(v) = &vipps {
            check_callback_path(&mut r, v.redirect_uri.url().path(), &gate);
            access::check_scope(&mut r, &access, &v.scope);
        }
        match (vipps, session) {
            (Some(vipps), Some(session)) if r.problems.is_empty() => {
                Ok(Config { vipps, session, gate, access, front_end, backend, upstream, consent, identity, pages, ciba, login_options, hook, apps })
            }
            _ if !r.problems.is_empty() => Err(ConfigErrors(r.problems)),
            _ => Err(ConfigErrors(vec![Problem { var: "config", message: "incomplete".into() }])),
        }
    }

    /// What the pages need while the configuration is broken: the brand, the template folder
    /// and the auth prefix (for the health route), each taken when its own variables are
    /// valid, else the default.
    pub fn fallback_for_pages(get: &dyn Fn(&str) -> Option<String>) -> (PagesConfig, String) {
        let mut r = Reader::new(get);
        let pages = pages::parse(&mut r);
        let gate = gate::parse(&mut r);
        let prefix = if r.problems.iter().any(|p| p.var == "AUTH_PATH_PREFIX") { "/auth".to_string() } else { gate.auth_prefix };
        (pages, prefix)
    }

    /// Whether sessions must be checked against recorded consent revocations.
    pub fn checks_revocations(&self) -> bool {
        self.consent.as_ref().is_some_and(|w| w.ends_sessions)
    }

    /// The path Vipps POSTs consent revocations to (contains the secret; never log it).
    pub fn consent_webhook_path(&self) -> Option<String> {
        self.consent.as_ref().map(|w| format!("{}{}{}", self.gate.auth_prefix, WEBHOOK_PATH, w.secrets.first().expose()))
    }

    pub fn login_path(&self) -> String {
        self.gate.login_path()
    }

    /// The callback is served at the redirect URI's path, and only there.
    pub fn callback_path(&self) -> &str {
        self.vipps.redirect_uri.url().path()
    }
}

/// The callback is served at the redirect URI's path only, so that path must not be a page
/// (`/`, a public path) or another route of ours.
fn check_callback_path(r: &mut Reader, path: &str, gate: &GateConfig) {
    let Ok(canonical) = CanonicalPath::parse(path) else { return };
    let prefix = gate.auth_prefix.as_str();
    let ours = ["/login", "/register", "/session", "/logout", "/logged-out", "/health", "/jwks.json", "/login/confirm"]
        .iter()
        .any(|route| path == format!("{prefix}{route}"))
        || path.starts_with(&format!("{prefix}/app/"))
        || path.starts_with(&format!("{prefix}{CIBA_PATH}"))
        || path.starts_with(&format!("{prefix}{}", WEBHOOK_PATH.trim_end_matches('/')));
    let shadows = path == "/" || gate.public_paths.iter().any(|p| p.matches(&canonical));
    if ours || shadows {
        r.problem(
            "VIPPS_REDIRECT_URI",
            "its path would hide a page or another route (it must not be '/', a PUBLIC_PATHS path, or the login, session, logout, logged-out, health or webhook route); use e.g. /auth/callback",
        );
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

    /// The problems `pairs` give, as `VAR: message` lines (none when the configuration is valid).
    pub fn problems(pairs: &[(&str, &str)]) -> Vec<String> {
        match parse(pairs) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|p| format!("{}: {}", p.var, p.message)).collect(),
        }
    }

    #[test]
    fn defaults_select_vipps_test_environment() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.vipps.discovery_url.as_str(), TEST_DISCOVERY_URL);
        assert_eq!(c.vipps.scope, "openid name email");
        assert_eq!(c.vipps.token_auth, TokenAuthMethod::ClientSecretBasic);
        assert_eq!(c.callback_path(), "/auth/callback");
        assert_eq!(c.session.login_timeout, 600);
        assert_eq!((c.upstream.timeout_ms, c.upstream.deadline_ms), (8_000, 20_000));
        assert!(parse(&[("UPSTREAM_DEADLINE_MS", "60001")]).is_err());
        assert!(!c.session.claims.iter().any(|c| SENSITIVE_CLAIMS.contains(&c.as_str())));
    }

    #[test]
    fn production_and_override() {
        let c = parse(&[("VIPPS_ENVIRONMENT", "production")]).unwrap();
        assert_eq!(c.vipps.discovery_url.as_str(), PRODUCTION_DISCOVERY_URL);
        let c = parse(&[
            ("VIPPS_ENVIRONMENT", "production"),
            ("VIPPS_DISCOVERY_URL", "http://127.0.0.1:7070/x/.well-known/openid-configuration"),
        ])
        .unwrap();
        assert_eq!(c.vipps.discovery_url.as_str(), "http://127.0.0.1:7070/x/.well-known/openid-configuration");
        assert_eq!(c.vipps.environment, None);
    }

    #[test]
    fn openid_is_always_included_once() {
        let c = parse(&[("VIPPS_SCOPE", "email openid phoneNumber")]).unwrap();
        assert_eq!(c.vipps.scope, "openid email phoneNumber");
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
        assert_eq!(c.vipps.redirect_uri.as_str(), raw);
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
        assert_eq!(c.session.keys.session.len(), 2);
        assert_ne!(c.session.keys.session.first(), c.session.keys.transaction.first());
        assert!(!format!("{:?}", c).contains("s3cret-value"));
    }

    #[test]
    fn consent_webhook_settings() {
        let c = parse(&[]).unwrap();
        assert!(c.consent.is_none());
        assert!(!c.checks_revocations());
        assert_eq!(c.consent_webhook_path(), None);
        let secret = "0123456789abcdef0123456789abcdef-_";
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret), ("SESSION_RECHECK", "60")]).unwrap();
        assert!(c.checks_revocations());
        assert_eq!(c.session.recheck, 60);
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
        assert_eq!(c.consent.as_ref().unwrap().secrets.len(), 2);
        assert!(c.consent_webhook_path().unwrap().ends_with(secret));
        // A slash in the secret would change the path: refused.
        assert!(parse(&[("CONSENT_WEBHOOK_SECRET", "0123456789abcdef/0123456789abcdef")]).is_err());
        // A forward target without the webhook is a mistake worth naming.
        assert!(parse(&[("CONSENT_WEBHOOK_FORWARD", "https://crm.example/hook")]).is_err());
    }

    #[test]
    fn hosts_are_ascii() {
        // No Unicode IDNA tables in the Worker: an internationalised host is written in punycode.
        assert!(parse(&[("VIPPS_REDIRECT_URI", "https://blåbær.no/auth/callback")]).is_err());
        assert!(parse(&[("VIPPS_REDIRECT_URI", "https://xn--blbr-roa.no/auth/callback")]).is_ok());
    }

    #[test]
    fn empty_key_lists_are_refused() {
        // Separators only would leave no key at all: every login would have nothing to sign with.
        for v in [",", " , ", ",,,"] {
            let e = parse(&[("SESSION_SECRET", v)]).unwrap_err();
            assert!(e.0.iter().any(|p| p.var == "SESSION_SECRET"), "{v:?}");
            let e = parse(&[("CONSENT_WEBHOOK_SECRET", v)]).unwrap_err();
            assert!(e.0.iter().any(|p| p.var == "CONSENT_WEBHOOK_SECRET"), "{v:?}");
        }
    }

    #[test]
    fn the_callback_path_may_not_shadow_a_page_or_a_route() {
        let clash = |uri: &str, extra: &[(&str, &str)]| {
            let mut all = vec![("VIPPS_REDIRECT_URI", uri)];
            all.extend_from_slice(extra);
            parse(&all).err().is_some_and(|e| e.0.iter().any(|p| p.var == "VIPPS_REDIRECT_URI"))
        };
        assert!(clash("https://shop.example/", &[]));
        assert!(clash("https://shop.example/auth/login", &[]));
        assert!(clash("https://shop.example/auth/register", &[]));
        assert!(clash("https://shop.example/auth/session", &[]));
        assert!(clash("https://shop.example/auth/logout", &[]));
        assert!(clash("https://shop.example/auth/logged-out", &[]));
        assert!(clash("https://shop.example/auth/health", &[]));
        assert!(clash("https://shop.example/auth/webhooks/consent-revoked/x", &[]));
        assert!(clash("https://shop.example/assets/cb", &[("PUBLIC_PATHS", "/assets/*")]));
        assert!(clash("https://shop.example/about", &[("PUBLIC_PATHS", "/about")]));
        assert!(!clash("https://shop.example/auth/callback", &[("PUBLIC_PATHS", "/, /assets/*")]));
        assert!(!clash("https://shop.example/login/vipps/return", &[]));
    }

    #[test]
    fn backend_choices() {
        assert_eq!(parse(&[("BACKEND", "origin")]).unwrap().backend, Backend::Origin);
        assert!(matches!(parse(&[("BACKEND", "https://origin.example")]).unwrap().backend, Backend::Proxy(_)));
        assert!(parse(&[("BACKEND", "ftp://x")]).is_err());
    }
}
