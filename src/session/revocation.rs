//! Sessions ended before their time, and the checks that find out. Two records, in isolate
//! memory and in Workers KV:
//! - per user, a time: sessions that began before it are over (a consent revocation, or
//!   "log out everywhere");
//! - per session id: that one session is over (a logout; a copy of the cookie taken before
//!   it no longer works).
//! The isolate that recorded one knows at once; every other isolate at the session's next
//! check: two KV reads per session per `SESSION_RECHECK`, after which the cookie is re-issued
//! with the check time, so the hot path stays free of KV in between.

use super::user::{clear_session_cookie, Session, VerifiedSessions};
use crate::config::Config;
use crate::consent::sub_handle;
use crate::memo::BoundedCache;
use crate::platform::{Level, Platform, StoreError};

/// Revocations an isolate remembers without asking KV (forgotten all at once when full).
const MAX_REMEMBERED: usize = 10_000;

/// KV key of the latest consent revocation for a `sub`, by its [`sub_handle`] (no identifiers
/// in key lists).
pub fn revocation_key(handle: &str) -> String {
    format!("consent-revoked:v1:{handle}")
}

/// KV key that marks one session as ended, by a hash of its id.
pub fn ended_key(sid_handle: &str) -> String {
    format!("session-ended:v1:{sid_handle}")
}

/// A short, non-reversible handle for a session id.
fn sid_handle(sid: &str) -> String {
    crate::util::b64url(&crate::util::sha256(sid.as_bytes())[..12])
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

/// In this isolate's memory, by `sub` and by session id as they are (hashed only for KV keys
/// and logs, so the hot path hashes nothing): the latest revocation time per user, and the
/// sessions ended by a logout. Learnt from webhooks, logouts and KV.
pub struct Revocations {
    known: BoundedCache<String, u64>,
    /// session id -> when it was ended.
    ended: BoundedCache<String, u64>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations { known: BoundedCache::new(MAX_REMEMBERED), ended: BoundedCache::new(MAX_REMEMBERED) }
    }
}

impl Revocations {
    /// Sessions of `sub` that began up to `at` are over.
    pub fn remember(&self, sub: &str, at: u64) {
        self.known.keep_max(sub.to_string(), at);
    }

    /// Ends one session for good (a logout): here at once, elsewhere at its next check.
    pub async fn end_session<P: Platform>(&self, p: &P, config: &Config, s: &Session) -> Result<(), StoreError> {
        if !config.session.end_on_logout || s.sid().is_empty() {
            return Ok(());
        }
        self.end_session_until(p, s.sid(), s.ends_at(config)).await
    }

    /// Ends the session `sid`, which would end by itself at `ends_at` (a cookie's idle end, a
    /// bearer session's expiry): here at once, elsewhere at its next check.
    pub(crate) async fn end_session_until<P: Platform>(&self, p: &P, sid: &str, ends_at: u64) -> Result<(), StoreError> {
        let handle = sid_handle(sid);
        let now = p.now();
        self.ended.keep_max(sid.to_string(), now);
        // Kept until the session would have ended anyway.
        let ttl = ends_at.saturating_sub(now).saturating_add(60).max(60);
        p.kv_put(&ended_key(&handle), now.to_string(), ttl).await
    }

    /// Whether a session that carries no check time of its own (a bearer session: it is never
    /// re-issued) is still valid. `checked_at` is when this isolate last asked KV about it;
    /// the answer says when it asked now, if it did.
    pub(crate) async fn still_valid<P: Platform>(&self, p: &P, config: &Config, s: Session, checked_at: Option<u64>) -> (Option<Session>, Option<u64>) {
        let now = p.now();
        let s = match checked_at {
            Some(t) => s.checked(t),
            None => s,
        };
        // A bearer session's logout is the app's only way to end it: its id is checked whatever
        // SESSION_END_ON_LOGOUT says (that switch is about browser sessions).
        match self.check(p, config, s, now, true).await {
            Checked::Ended => (None, None),
            Checked::Kept(s) => (Some(s), None),
            Checked::Rechecked(s) => (Some(s), Some(now)),
        }
    }

    /// Ends every session of this session's user that began up to now ("log out everywhere").
    pub async fn end_all<P: Platform>(&self, p: &P, config: &Config, s: &Session) -> Result<(), StoreError> {
        if !config.session.end_on_logout {
            return self.end_session(p, config, s).await;
        }
        let handle = sub_handle(s.sub());
        let now = p.now();
        self.remember(s.sub(), now);
        let key = revocation_key(&handle);
        // Keep the latest: never shorten a later revocation.
        let previous = p.kv_get(&key).await?.as_deref().and_then(parse_revoked_at);
        if previous.is_none_or(|t| t < now) {
            p.kv_put(&key, now.to_string(), config.session.ttl.saturating_add(60)).await?;
        }
        Ok(())
    }

    /// The request's valid session. When revocations end sessions, a session issued before its
    /// user's latest revocation is ended (and its cookie cleared). Memory is asked on every
    /// request; KV at most once per `SESSION_RECHECK` per session.
    pub async fn current_session<P: Platform>(&self, p: &P, config: &Config, cookie_header: &str, verified: &VerifiedSessions) -> CurrentSession {
        let now = p.now();
        let Some(s) = Session::from_cookie_header_in(config, cookie_header, now, verified) else {
            return CurrentSession::none();
        };
        let mut reissue = false;
        let s = match self.check(p, config, s, now, config.session.end_on_logout).await {
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

    /// The revocation check: memory on every request, KV once per `SESSION_RECHECK`. `by_id`:
    /// whether the session's own logout is looked for.
    async fn check<P: Platform>(&self, p: &P, config: &Config, s: Session, now: u64, by_id: bool) -> Checked {
        // Per-user records: consent revocations (when they end sessions) and "log out
        // everywhere" (when logouts end sessions for good).
        let by_user = config.checks_revocations() || config.session.end_on_logout;
        let by_sid = by_id && !s.sid().is_empty();
        if !by_user && !by_sid {
            return Checked::Kept(s);
        }
        let ended = |why: &str| {
            p.log(Level::Info, why, &format!("sub#{}", sub_handle(s.sub())));
            Checked::Ended
        };
        if by_user && self.known.get(s.sub()).is_some_and(|t| t >= s.iat()) {
            return ended("session.consent_revoked");
        }
        if by_sid && self.ended.get(s.sid()).is_some() {
            return ended("session.logged_out");
        }
        if now < s.checked_at().saturating_add(config.session.recheck) {
            return Checked::Kept(s);
        }
        let handle = sub_handle(s.sub());
        let sid = by_sid.then(|| sid_handle(s.sid()));
        let user_key = by_user.then(|| revocation_key(&handle));
        let sid_key = sid.as_ref().map(|h| ended_key(h));
        let (user_record, sid_record) = futures_util::future::join(
            async {
                match &user_key {
                    Some(k) => p.kv_get(k).await,
                    None => Ok(None),
                }
            },
            async {
                match &sid_key {
                    Some(k) => p.kv_get(k).await,
                    None => Ok(None),
                }
            },
        )
        .await;
        let (user_record, sid_record) = match (user_record, sid_record) {
            (Ok(u), Ok(e)) => (u, e),
            (Err(e), _) | (_, Err(e)) => {
                // KV down: keep serving (checked again on the next request).
                p.log(Level::Warn, "kv.read_failed", &e.0);
                return Checked::Kept(s);
            }
        };
        if let Some(t) = user_record.as_deref().and_then(parse_revoked_at) {
            self.remember(s.sub(), t);
            if t >= s.iat() {
                return ended("session.consent_revoked");
            }
        }
        if let Some(at) = sid_record.as_deref().and_then(parse_revoked_at) {
            self.ended.keep_max(s.sid().to_string(), at);
            return ended("session.logged_out");
        }
        Checked::Rechecked(s.checked(now))
    }
}
