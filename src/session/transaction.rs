//! The login transaction: what the callback needs to finish a login this browser started.
//!
//! It lives in one signed cookie, `__Host-vipps-login`, holding up to [`MAX_PENDING`] pending
//! logins (one per tab), so several tabs can log in at once and cookies never pile up. Each
//! entry is the `state`, its creation time and the return path; the PKCE verifier and the
//! nonce are *derived* from the state with a server-side key, so they never travel to the
//! browser or to Vipps, and the cookie stays small. The cookie is:
//! - integrity-protected: HMAC bound to the cookie name;
//! - bound to the browser that started the login: only that browser holds it
//!   (`HttpOnly; Secure; SameSite=Lax`, `__Host-` prefix);
//! - single-use: the callback removes the entry it consumed;
//! - short-lived: entries older than `LOGIN_TIMEOUT` (default 10 minutes) are refused.
//!
//! No KV write happens on the default browser flow.

use super::cookie;
use crate::config::Config;
use crate::error::Code;
use crate::oidc::options::LoginOptions;
use crate::return_to::SafeReturnPath;
use crate::secret::Secret;
use crate::util::{b64url, ct_eq, hmac_sha256};
use serde::{Deserialize, Serialize};

pub const TX_COOKIE: &str = "__Host-vipps-login";
/// Concurrent logins kept per browser; the oldest is dropped beyond this.
pub const MAX_PENDING: usize = 5;
/// Payload budget so the whole `Set-Cookie` stays under 4 KB after base64.
const MAX_PAYLOAD: usize = 2800;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingLogin {
    /// state
    pub s: String,
    /// created (Unix seconds)
    pub t: u64,
    /// return path
    pub r: String,
    /// What this login asked of Vipps beyond the plain flow (absent in ordinary logins and in
    /// cookies from before options).
    #[serde(default, skip_serializing_if = "LoginOptions::is_default")]
    pub o: LoginOptions,
}

/// The verified transaction cookie of one browser.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TransactionCookie {
    pub pending: Vec<PendingLogin>,
    /// Index of the key that verified it (derivations use the same key).
    key_index: usize,
}

/// A pending login whose `state` matched this browser's cookie. Only
/// [`TransactionCookie::take`] makes one.
#[derive(Debug, Clone)]
pub struct LoginTransaction {
    state: String,
    nonce: String,
    code_verifier: Secret,
    return_to: SafeReturnPath,
    options: LoginOptions,
}

impl LoginTransaction {
    /// What the login asked of Vipps (silent, in-app confirmation, market...).
    pub fn options(&self) -> &LoginOptions {
        &self.options
    }
    pub fn state(&self) -> &str {
        &self.state
    }
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    pub fn code_verifier(&self) -> &Secret {
        &self.code_verifier
    }
    pub fn return_to(&self) -> &SafeReturnPath {
        &self.return_to
    }
}

impl LoginTransaction {
    /// A transaction kept server-side ([`super::stored_tx`]): found by its `state` in KV and
    /// deleted there, the only way such a login can be finished.
    pub(in crate::session) fn from_store(state: String, nonce: String, code_verifier: Secret, return_to: SafeReturnPath) -> Self {
        // The login variants (silent, step-up, market...) are the browser login route's: a
        // stored login asks for none of them.
        LoginTransaction { state, nonce, code_verifier, return_to, options: LoginOptions::default() }
    }
}

/// PKCE verifier for `state`: 43 base64url chars = 256 bits (RFC 7636 §4.1).
fn derive_verifier(key: &[u8; 32], state: &str) -> Secret {
    Secret::new(b64url(&hmac_sha256(key, &[b"pkce-verifier\0", state.as_bytes()])))
}

/// OIDC nonce for `state`: 43 base64url chars, bound to this browser's transaction.
fn derive_nonce(key: &[u8; 32], state: &str) -> String {
    b64url(&hmac_sha256(key, &[b"oidc-nonce\0", state.as_bytes()]))
}

impl TransactionCookie {
    /// The verified cookie from a `Cookie` header; `None` when absent or not ours.
    pub fn from_cookie_header(config: &Config, cookie_header: &str) -> Option<TransactionCookie> {
        cookie::values(cookie_header, TX_COOKIE).into_iter().find_map(|v| {
            let (payload, key_index) = cookie::verify(config.session.keys.transaction.iter(), TX_COOKIE, v)?;
            let pending: Vec<PendingLogin> = serde_json::from_slice(&payload).ok()?;
            (pending.len() <= MAX_PENDING).then_some(TransactionCookie { pending, key_index })
        })
    }

    /// Adds a new pending login; drops expired entries and, beyond the limits, the oldest.
    /// Returns the nonce and the PKCE verifier for the authorize request.
    pub fn begin(
        &mut self,
        config: &Config,
        state: String,
        return_to: &SafeReturnPath,
        now: u64,
    ) -> (String, Secret) {
        self.begin_with(config, state, return_to, LoginOptions::default(), now)
    }

    /// As [`TransactionCookie::begin`], for a login with `options`.
    pub fn begin_with(
        &mut self,
        config: &Config,
        state: String,
        return_to: &SafeReturnPath,
        options: LoginOptions,
        now: u64,
    ) -> (String, Secret) {
        // Re-sign everything with the current key: derive from key 0 from now on.
        if self.key_index != 0 {
            self.pending.clear();
            self.key_index = 0;
        }
        self.pending.retain(|p| now < p.t.saturating_add(config.session.login_timeout) && p.t <= now.saturating_add(60));
        self.pending.push(PendingLogin { s: state.clone(), t: now, r: return_to.as_str().to_string(), o: options });
        while self.pending.len() > MAX_PENDING
            || (self.pending.len() > 1 && self.payload().len() > MAX_PAYLOAD)
        {
            self.pending.remove(0);
        }
        let key = config.session.keys.transaction.first();
        (derive_nonce(key, &state), derive_verifier(key, &state))
    }

    /// Consumes the pending login for `state` (single use). An expired entry is removed too.
    pub fn take(&mut self, config: &Config, state: &str, now: u64) -> Result<LoginTransaction, Code> {
        let i = self
            .pending
            .iter()
            .position(|p| ct_eq(p.s.as_bytes(), state.as_bytes()))
            .ok_or(Code::StateMismatch)?;
        let p = self.pending.remove(i);
        if now >= p.t.saturating_add(config.session.login_timeout) || p.t > now.saturating_add(60) {
            return Err(Code::StateExpired);
        }
        let key = config.session.keys.transaction.get(self.key_index).ok_or(Code::StateMismatch)?;
        Ok(LoginTransaction {
            nonce: derive_nonce(key, &p.s),
            code_verifier: derive_verifier(key, &p.s),
            return_to: SafeReturnPath::parse_for(&p.r, &config.front_end.origins).unwrap_or_else(SafeReturnPath::root),
            options: p.o,
            state: p.s,
        })
    }

    /// The key this cookie was verified with (or the current one for a new cookie).
    fn signing_key<'a>(&self, config: &'a Config) -> &'a [u8; 32] {
        let keys = &config.session.keys.transaction;
        keys.get(self.key_index).unwrap_or(keys.first())
    }

    fn payload(&self) -> Vec<u8> {
        serde_json::to_vec(&self.pending).unwrap_or_default()
    }

    /// `Set-Cookie` for the current contents: cleared when nothing is pending.
    pub fn to_set_cookie(&self, config: &Config) -> String {
        if self.pending.is_empty() {
            return cookie::clear_cookie(TX_COOKIE);
        }
        let value = cookie::sign(self.signing_key(config), TX_COOKIE, &self.payload());
        cookie::set_cookie(TX_COOKIE, &value, config.session.login_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    fn header_of(set_cookie: &str) -> String {
        set_cookie.split(';').next().unwrap().to_string()
    }

    #[test]
    fn begin_then_take_once() {
        let c = parse(&[]).unwrap();
        let mut tx = TransactionCookie::default();
        let rt = SafeReturnPath::parse("/private?x=1").unwrap();
        let (nonce, verifier) = tx.begin(&c, "state-aaaaaaaaaaaaaaaaaa".into(), &rt, 100);
        assert_eq!(nonce.len(), 43);
        assert_eq!(verifier.expose().len(), 43);
        let h = header_of(&tx.to_set_cookie(&c));
        let mut back = TransactionCookie::from_cookie_header(&c, &h).unwrap();
        let t = back.take(&c, "state-aaaaaaaaaaaaaaaaaa", 101).unwrap();
        assert_eq!(t.nonce(), nonce);
        assert_eq!(t.code_verifier().expose(), verifier.expose());
        assert_eq!(t.return_to(), &rt);
        // Single use: the entry is gone, and the cookie is cleared.
        assert_eq!(back.take(&c, "state-aaaaaaaaaaaaaaaaaa", 101).unwrap_err(), Code::StateMismatch);
        assert!(back.to_set_cookie(&c).contains("Max-Age=0"));
    }

    #[test]
    fn options_travel_with_their_login_and_old_cookies_read() {
        let c = parse(&[]).unwrap();
        let mut tx = TransactionCookie::default();
        let o = LoginOptions { silent: true, retried: true, ..Default::default() };
        tx.begin_with(&c, "state-opts-xxxxxxxx".into(), &SafeReturnPath::root(), o.clone(), 100);
        tx.begin(&c, "state-plain-xxxxxxx".into(), &SafeReturnPath::root(), 100);
        let h = header_of(&tx.to_set_cookie(&c));
        let back = TransactionCookie::from_cookie_header(&c, &h).unwrap();
        assert_eq!(back.clone().take(&c, "state-opts-xxxxxxxx", 101).unwrap().options(), &o);
        assert!(back.clone().take(&c, "state-plain-xxxxxxx", 101).unwrap().options().is_default());
        assert!(!String::from_utf8(back.payload()).unwrap().contains(r#""o":{}"#), "ordinary logins carry no options");
        // A cookie from before options.
        let v = cookie::sign(c.session.keys.transaction.first(), TX_COOKIE, br#"[{"s":"state-old-xxxxxxxxx","t":100,"r":"/x"}]"#);
        let mut old = TransactionCookie::from_cookie_header(&c, &format!("{TX_COOKIE}={v}")).unwrap();
        assert!(old.take(&c, "state-old-xxxxxxxxx", 101).unwrap().options().is_default());
    }

    #[test]
    fn expired_and_unknown_state() {
        let c = parse(&[]).unwrap();
        let mut tx = TransactionCookie::default();
        tx.begin(&c, "state-1-xxxxxxxx".into(), &SafeReturnPath::root(), 100);
        let mut a = tx.clone();
        assert_eq!(a.take(&c, "state-1-xxxxxxxx", 100 + 600).unwrap_err(), Code::StateExpired);
        let mut b = tx.clone();
        assert_eq!(b.take(&c, "state-2-xxxxxxxx", 101).unwrap_err(), Code::StateMismatch);
    }

    #[test]
    fn several_tabs_share_one_bounded_cookie() {
        let c = parse(&[]).unwrap();
        let mut tx = TransactionCookie::default();
        let long = SafeReturnPath::parse(&format!("/{}", "x".repeat(1000))).unwrap();
        for i in 0..20 {
            tx.begin(&c, format!("state-{i:02}-xxxxxxxxxxxxx"), &long, 100 + i);
            assert!(tx.to_set_cookie(&c).len() < 4000);
        }
        assert!(tx.pending.len() >= 2 && tx.pending.len() <= MAX_PENDING);
        assert_eq!(tx.pending.last().unwrap().s, "state-19-xxxxxxxxxxxxx");
        let mut one = TransactionCookie::default();
        for i in 0..3 {
            one.begin(&c, format!("tab-{i}-xxxxxxxxxxxxxx"), &SafeReturnPath::root(), 100);
        }
        assert!(one.clone().take(&c, "tab-0-xxxxxxxxxxxxxx", 101).is_ok());
        assert!(one.clone().take(&c, "tab-2-xxxxxxxxxxxxxx", 101).is_ok());
    }

    #[test]
    fn tampered_or_foreign_cookie_is_ignored() {
        let c = parse(&[]).unwrap();
        let mut tx = TransactionCookie::default();
        tx.begin(&c, "state-1-xxxxxxxx".into(), &SafeReturnPath::root(), 100);
        let h = header_of(&tx.to_set_cookie(&c));
        assert!(TransactionCookie::from_cookie_header(&c, &h.replacen("v1.", "v1.W", 1)).is_none());
        let other = parse(&[("SESSION_SECRET", "another-secret-another-secret-xx")]).unwrap();
        assert!(TransactionCookie::from_cookie_header(&other, &h).is_none());
        // A value signed for the session cookie does not verify as a transaction cookie.
        let payload = serde_json::to_vec(&tx.pending).unwrap();
        let as_session = cookie::sign(c.session.keys.transaction.first(), "__Host-vipps-session", &payload);
        assert!(TransactionCookie::from_cookie_header(&c, &format!("{TX_COOKIE}={as_session}")).is_none());
    }
}
