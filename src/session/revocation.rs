//! Consent revocations and the sessions they end. A revocation ends the user's sessions that
//! began before it: at once in the isolate that received the webhook (memory), elsewhere at
//! the session's next check (one KV read per session per `SESSION_RECHECK`, after which the
//! cookie is re-issued with the check time, so the hot path stays free of KV in between).

use super::user::{clear_session_cookie, Session};
use crate::config::Config;
use crate::consent::sub_handle;
use crate::memo::BoundedMap;
use crate::platform::{Level, Platform};

/// Revocations an isolate remembers without asking KV (forgotten all at once when full).
const MAX_REMEMBERED: usize = 10_000;

/// KV key of the latest consent revocation for a `sub`, by its [`sub_handle`] (no identifiers
/// in key lists).
pub fn revocation_key(handle: &str) -> String {
    format!("consent-revoked:v1:{handle}")
}

/// A stored revocation time.
pub fn parse_revoked_at(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

/// The session a request carries, after revocation checks, and a cookie to set with the
/// answer (a re-issued session after a check, or a clearing one after a revocation).
pub struct CurrentSession {
    pub session: Option<Session>,
    pub set_cookie: Option<String>,
}

impl CurrentSession {
    fn none() -> Self {
        CurrentSession { session: None, set_cookie: None }
    }
    fn kept(s: Session) -> Self {
        CurrentSession { session: Some(s), set_cookie: None }
    }
}

enum Checked {
    Ended,
    Kept(Session),
    Rechecked(Session),
}

/// sub handle -> latest revocation time, learnt from webhooks and KV in this isolate.
pub struct Revocations {
    known: BoundedMap<String, u64>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations { known: BoundedMap::new(MAX_REMEMBERED) }
    }
}

impl Revocations {
    pub fn remember(&self, handle: &str, at: u64) {
        self.known.keep_max(handle.to_string(), at);
    }

    /// The request's valid session. When revocations end sessions, a session issued before its
    /// user's latest revocation is ended (and its cookie cleared). Memory is asked on every
    /// request; KV at most once per `SESSION_RECHECK` per session.
    pub async fn current_session<P: Platform>(&self, p: &P, config: &Config, cookie_header: &str) -> CurrentSession {
        let now = p.now();
        let Some(s) = Session::from_cookie_header(config, cookie_header, now) else {
            return CurrentSession::none();
        };
        let mut reissue = false;
        let s = match self.check(p, config, s, now).await {
            Checked::Ended => {
                return CurrentSession { session: None, set_cookie: Some(clear_session_cookie(config)) };
            }
            Checked::Kept(s) => s,
            Checked::Rechecked(s) => {
                reissue = true;
                s
            }
        };
        // Sliding idle window: re-issued once a configured part of it has passed.
        let s = if s.needs_refresh(config, now) {
            reissue = true;
            s.refreshed(now)
        } else {
            s
        };
        if !reissue {
            return CurrentSession::kept(s);
        }
        let (set_cookie, _) = s.to_set_cookie_at(config, now);
        CurrentSession { session: Some(s), set_cookie: Some(set_cookie) }
    }

    /// The revocation check: memory on every request, KV once per `SESSION_RECHECK`.
    async fn check<P: Platform>(&self, p: &P, config: &Config, s: Session, now: u64) -> Checked {
        if !config.checks_revocations() {
            return Checked::Kept(s);
        }
        let handle = sub_handle(s.sub());
        if self.known.get(&handle).is_some_and(|t| t >= s.iat()) {
            p.log(Level::Info, "session.consent_revoked", &format!("sub#{handle}"));
            return Checked::Ended;
        }
        if now < s.checked_at().saturating_add(config.session.recheck) {
            return Checked::Kept(s);
        }
        match p.kv_get(&revocation_key(&handle)).await {
            Ok(Some(raw)) => {
                if let Some(t) = parse_revoked_at(&raw) {
                    self.remember(&handle, t);
                    if t >= s.iat() {
                        p.log(Level::Info, "session.consent_revoked", &format!("sub#{handle}"));
                        return Checked::Ended;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                // KV down: keep serving (checked again on the next request).
                p.log(Level::Warn, "kv.read_failed", &e.0);
                return Checked::Kept(s);
            }
        }
        Checked::Rechecked(s.checked(now))
    }
}
