//! Sessions and logins in progress: cookie keys, lifetimes, the claims a session keeps.

use super::reader::Reader;
use crate::util::NonEmpty;
use std::fmt;

/// Claims that identify a person closely; kept out of the session cookie unless listed explicitly.
pub const SENSITIVE_CLAIMS: &[&str] = &["nin", "address", "other_addresses"];

/// HMAC keys derived from `SESSION_SECRET`. The first signs; all verify (rotation). There is
/// always at least one of each.
#[derive(Clone)]
pub struct Keys {
    pub session: NonEmpty<[u8; 32]>,
    pub transaction: NonEmpty<[u8; 32]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys([redacted] x{})", self.session.len())
    }
}

/// HMAC as a KDF with a fixed label per purpose, bound to the deployment's Vipps client id: a
/// session cookie never verifies as a transaction cookie, a cookie of a deployment with another
/// client never verifies here even with a shared secret, and the raw secret is never used
/// directly.
pub(crate) fn derive_key(secret: &str, purpose: &str, deployment: &str) -> [u8; 32] {
    crate::util::hmac_sha256(secret.as_bytes(), &[b"vipps-edge-login/v2/", purpose.as_bytes(), b"\0", deployment.as_bytes()])
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub keys: Keys,
    /// Session lifetime in seconds (`SESSION_TTL`).
    pub ttl: u64,
    /// Userinfo claims kept in the session cookie (`SESSION_CLAIMS`).
    pub claims: Vec<String>,
    /// Seconds a started login may take (`LOGIN_TIMEOUT`).
    pub login_timeout: u64,
    /// Seconds between a session's revocation checks (`SESSION_RECHECK`); used only when
    /// revocations end sessions.
    pub recheck: u64,
    /// Seconds without a request after which a session ends (`SESSION_IDLE_TIMEOUT`; 0: off).
    pub idle_timeout: u64,
    /// Whether a logout ends that session for good everywhere (`SESSION_END_ON_LOGOUT`): its id
    /// is recorded, and every session is checked against the records once per `SESSION_RECHECK`.
    pub end_on_logout: bool,
    /// `SESSION_COOKIE_DOMAIN`: the session cookie is shared with this domain's subdomains
    /// (named `__Secure-vipps-session` then).
    pub cookie_domain: Option<String>,
    /// Percent of the idle timeout after which a request re-issues the cookie, sliding the
    /// idle window (`SESSION_REFRESH_PERCENT`).
    pub refresh_percent: u64,
}

impl SessionConfig {
    /// Seconds after its last refresh a session is re-issued (idle timeout on).
    pub fn refresh_after(&self) -> u64 {
        self.idle_timeout.saturating_mul(self.refresh_percent) / 100
    }
}

/// Typical sizes (bytes of JSON value) of the claims a session may keep, to refuse at
/// configuration time a claim set that could not fit in a cookie with ordinary values.
fn typical_size(claim: &str) -> usize {
    match claim {
        "email_verified" | "phone_number_verified" => 5,
        "phone_number" | "birthdate" | "nin" => 14,
        "given_name" | "family_name" => 24,
        "name" | "sid" => 40,
        "email" => 48,
        "address" => 300,
        "other_addresses" => 1500,
        "delegatedConsents" | "delegated_consents" => 1200,
        _ => 100,
    }
}

/// Bytes a session cookie with `claims` at their typical sizes takes (base64 of the JSON, the
/// MAC, the name and attributes).
pub fn typical_cookie_size(claims: &[String]) -> usize {
    let json: usize = 120 + claims.iter().map(|c| c.len() + 4 + typical_size(c)).sum::<usize>();
    json * 4 / 3 + 160
}

/// `deployment` names this deployment (its client id): keys are bound to it;
/// `callback_host` is the redirect URI's host, which a shared cookie domain must contain.
pub fn parse(r: &mut Reader, deployment: &str, callback_host: Option<&str>) -> Option<SessionConfig> {
    let keys = match r.required("SESSION_SECRET") {
        None => None,
        Some(_) => {
            let secrets = r.list("SESSION_SECRET");
            if secrets.iter().any(|s| s.len() < 32) || secrets.is_empty() {
                r.problem(
                    "SESSION_SECRET",
                    "must hold at least one key, each at least 32 characters (generate one with: openssl rand -base64 32)",
                );
                None
            } else {
                let session = NonEmpty::from_vec(secrets.iter().map(|s| derive_key(s, "session", deployment)).collect());
                let transaction = NonEmpty::from_vec(secrets.iter().map(|s| derive_key(s, "login-transaction", deployment)).collect());
                session.zip(transaction).map(|(session, transaction)| Keys { session, transaction })
            }
        }
    };
    let ttl = r.number("SESSION_TTL", 86_400, 60, 31 * 86_400);
    let login_timeout = r.number("LOGIN_TIMEOUT", 600, 1, 3600);
    let claims: Vec<String> = r
        .opt("SESSION_CLAIMS")
        .unwrap_or_else(|| "name,given_name,family_name,email,email_verified".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "sub")
        .collect();
    if claims.iter().any(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')) {
        r.problem("SESSION_CLAIMS", "must be a comma-separated list of userinfo claim names");
    } else if typical_cookie_size(&claims) > crate::session::user::MAX_COOKIE_BYTES {
        r.problem("SESSION_CLAIMS", "these claims would not fit in a session cookie (4 KB) even with ordinary values; keep fewer (addresses are large)");
    }
    let cookie_domain = r.opt("SESSION_COOKIE_DOMAIN").map(|d| d.trim_start_matches('.').to_ascii_lowercase());
    if let Some(d) = &cookie_domain {
        let label_ok = |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let within = callback_host.is_none_or(|h| h == d || h.ends_with(&format!(".{d}")));
        if !d.contains('.') || !d.split('.').all(label_ok) || !within {
            r.problem("SESSION_COOKIE_DOMAIN", "must be a domain that contains the redirect URI's host, e.g. example.com for login.example.com");
        }
    }
    // 240 s: with KV's propagation (up to 60 s) a revocation reaches every isolate within 5 min.
    let recheck = r.number("SESSION_RECHECK", 240, 1, 86_400);
    let idle_timeout = r.number("SESSION_IDLE_TIMEOUT", 8 * 3600, 0, 31 * 86_400);
    if idle_timeout != 0 && idle_timeout < 60 {
        r.problem("SESSION_IDLE_TIMEOUT", "must be 0 (off) or at least 60 seconds");
    }
    let refresh_percent = r.number("SESSION_REFRESH_PERCENT", 25, 1, 90);
    let end_on_logout = r.flag("SESSION_END_ON_LOGOUT", true);
    Some(SessionConfig { keys: keys?, ttl, claims, login_timeout, recheck, idle_timeout, end_on_logout, cookie_domain, refresh_percent })
}
