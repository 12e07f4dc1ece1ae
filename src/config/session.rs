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

/// HMAC as a KDF with a fixed label per purpose, bound to the deployment (its client id and
/// redirect URI): a session cookie never verifies as a transaction cookie, a cookie of one
/// deployment never verifies on another even with a shared secret, and the raw secret is
/// never used directly.
fn derive_key(secret: &str, purpose: &str, deployment: &str) -> [u8; 32] {
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

/// `deployment` names this deployment (client id and redirect URI): keys are bound to it.
pub fn parse(r: &mut Reader, deployment: &str) -> Option<SessionConfig> {
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
    }
    // 240 s: with KV's propagation (up to 60 s) a revocation reaches every isolate within 5 min.
    let recheck = r.number("SESSION_RECHECK", 240, 1, 86_400);
    let idle_timeout = r.number("SESSION_IDLE_TIMEOUT", 8 * 3600, 0, 31 * 86_400);
    if idle_timeout != 0 && idle_timeout < 60 {
        r.problem("SESSION_IDLE_TIMEOUT", "must be 0 (off) or at least 60 seconds");
    }
    let refresh_percent = r.number("SESSION_REFRESH_PERCENT", 25, 1, 90);
    Some(SessionConfig { keys: keys?, ttl, claims, login_timeout, recheck, idle_timeout, refresh_percent })
}
