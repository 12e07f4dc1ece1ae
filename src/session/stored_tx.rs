//! Login transactions kept server-side, in Workers KV, for the flows whose callback may arrive
//! without this browser's login cookie: automatic return from the Vipps app (the user may come
//! back in another browser) and logins from native apps (no browser cookie at all).
//!
//! The record is keyed by a hash of the short `state` and holds the PKCE verifier, the nonce,
//! the return path, the flow, the creation time and, for apps, the app's own binding (its URI
//! and PKCE challenge). It expires with `LOGIN_TIMEOUT` (KV's own expiry is at least 60 s, so
//! the creation time is checked too) and is deleted when the callback takes it.
//!
//! Such a login's `state` carries a marker ([`Kind::marker`]), so the callback knows where to
//! look without asking KV for every stray state: the default browser flow never reads or writes
//! KV. Workers KV is eventually consistent: a delete may take up to a minute to reach other
//! locations, so a replayed callback can still find the record there; it then presents a code
//! Vipps already redeemed (codes are single-use) and fails at the token endpoint.

use super::LoginTransaction;
use crate::config::Config;
use crate::error::{Code, Error};
use crate::platform::{Level, Platform};
use crate::return_to::SafeReturnPath;
use crate::secret::Secret;
use crate::util::{b64url, sha256};
use serde::{Deserialize, Serialize};

/// Which server-side login a `state` belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A browser login with `automatic_return_from_vipps_app`.
    AutoReturn,
    /// A native app's login (`app_to_app_v2` or `app_to_app`).
    App,
}

/// Random bytes of a state (128 bits, 22 base64url characters after the marker).
const STATE_BYTES: usize = 16;

impl Kind {
    /// The state's prefix: `.` never appears in base64url, so a default state never has one.
    pub fn marker(self) -> &'static str {
        match self {
            Kind::AutoReturn => "ar.",
            Kind::App => "ap.",
        }
    }

    /// The kind of a marked state, `None` for a default one (or garbage).
    pub fn of_state(state: &str) -> Option<Kind> {
        [Kind::AutoReturn, Kind::App].into_iter().find(|k| {
            state.strip_prefix(k.marker()).is_some_and(|rest| rest.len() == 22 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        })
    }

    /// A fresh state of this kind.
    pub fn new_state<P: Platform>(self, p: &P) -> Result<String, Error> {
        let mut bytes = [0u8; STATE_BYTES];
        p.fill_random(&mut bytes).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
        Ok(format!("{}{}", self.marker(), b64url(&bytes)))
    }
}

/// What a native app bound its login to when it started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppBinding {
    /// The configured app URI the hand-off code goes to.
    pub uri: String,
    /// The app's own PKCE challenge (S256) for the hand-off.
    pub challenge: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// PKCE verifier (ours, for Vipps).
    v: String,
    /// nonce
    n: String,
    /// return path
    r: String,
    /// `requested_flow`
    f: String,
    /// created (Unix seconds)
    t: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<AppBinding>,
}

/// A stored login taken from KV (and deleted there): its transaction, the flow it asked
/// Vipps for, and the app's binding for app logins.
#[derive(Debug)]
pub struct StoredLogin {
    pub transaction: LoginTransaction,
    pub flow: String,
    pub app: Option<AppBinding>,
}

/// The KV key of a state's record: a hash, so key listings hold no state.
pub fn key(state: &str) -> String {
    format!("login-tx:v1:{}", b64url(&sha256(state.as_bytes())[..18]))
}

/// Seconds KV keeps a record: a minute past the login timeout (KV's minimum TTL is 60), so an
/// expired login is told apart from an unknown one.
fn ttl(config: &Config) -> u64 {
    config.session.login_timeout.saturating_add(60).max(60)
}

/// Stores a login: one KV write.
#[allow(clippy::too_many_arguments)]
pub async fn put<P: Platform>(
    p: &P,
    config: &Config,
    state: &str,
    nonce: &str,
    verifier: &Secret,
    return_to: &SafeReturnPath,
    flow: &str,
    app: Option<AppBinding>,
) -> Result<(), Error> {
    let record = Record { v: verifier.expose().to_string(), n: nonce.to_string(), r: return_to.as_str().to_string(), f: flow.to_string(), t: p.now(), app };
    let value = serde_json::to_string(&record).map_err(|_| Error::new(Code::Internal, "login record"))?;
    p.kv_put(&key(state), value, ttl(config)).await.map_err(|e| Error::new(Code::LoginStoreFailed, format!("KV: {}", e.0)))
}

/// Reads a stored login without consuming it (an app proves its verifier before the code is
/// spent).
pub async fn peek<P: Platform>(p: &P, config: &Config, state: &str) -> Result<StoredLogin, Error> {
    let raw = p.kv_get(&key(state)).await.map_err(|e| Error::new(Code::LoginStoreFailed, format!("KV: {}", e.0)))?;
    let raw = raw.ok_or_else(|| Error::new(Code::StoredStateUnknown, "no stored login for this state (used, expired or never started)"))?;
    let r: Record = serde_json::from_slice(raw.as_bytes()).map_err(|_| Error::new(Code::StoredStateUnknown, "stored login unreadable"))?;
    let now = p.now();
    if now >= r.t.saturating_add(config.session.login_timeout) || r.t > now.saturating_add(60) {
        return Err(Error::new(Code::StateExpired, "stored login older than LOGIN_TIMEOUT"));
    }
    let return_to = SafeReturnPath::parse_for(&r.r, &config.front_end.origins).unwrap_or_else(SafeReturnPath::root);
    Ok(StoredLogin {
        transaction: LoginTransaction::from_store(state.to_string(), r.n, Secret::new(r.v), return_to),
        flow: r.f,
        app: r.app,
    })
}

/// Deletes a stored login (single use). A failed delete is logged: the record still expires,
/// and its code can be redeemed at Vipps only once anyway.
pub async fn forget<P: Platform>(p: &P, state: &str) {
    if let Err(e) = p.kv_delete(&key(state)).await {
        p.log(Level::Warn, "login_store.delete_failed", &e.0);
    }
}

/// Takes a stored login: read, then deleted whatever it holds (an expired one too).
pub async fn take<P: Platform>(p: &P, config: &Config, state: &str) -> Result<StoredLogin, Error> {
    let found = peek(p, config, state).await;
    if !matches!(&found, Err(e) if e.code == Code::StoredStateUnknown || e.code == Code::LoginStoreFailed) {
        forget(p, state).await;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;
    use crate::testkit::{block_on, FakePlatform};

    #[test]
    fn states_carry_their_kind() {
        let p = FakePlatform::default();
        let s = Kind::AutoReturn.new_state(&p).unwrap();
        assert_eq!(Kind::of_state(&s), Some(Kind::AutoReturn));
        let s = Kind::App.new_state(&p).unwrap();
        assert_eq!(Kind::of_state(&s), Some(Kind::App));
        assert_eq!(s.len(), 25);
        for plain in ["abcdefghijklmnopqrstuv", "ar.", "ar.short", "ap.abcdefghijklmnopqrstu!", "xx.abcdefghijklmnopqrstuv", ""] {
            assert_eq!(Kind::of_state(plain), None, "{plain}");
        }
    }

    #[test]
    fn put_take_once_and_expire() {
        let c = parse(&[]).unwrap();
        let p = FakePlatform::default();
        let rt = SafeReturnPath::parse("/private?a=1").unwrap();
        let app = AppBinding { uri: "myapp://x/y".into(), challenge: "ch".into() };
        block_on(put(&p, &c, "ap.state", "nonce-1", &Secret::new("verifier-1"), &rt, "app_to_app_v2", Some(app.clone()))).unwrap();
        assert_eq!(p.counts().kv_put, 1);
        assert!(p.kv.borrow().keys().all(|k| !k.contains("ap.state")), "the key is a hash");
        let got = block_on(take(&p, &c, "ap.state")).unwrap();
        assert_eq!(got.transaction.nonce(), "nonce-1");
        assert_eq!(got.transaction.code_verifier().expose(), "verifier-1");
        assert_eq!(got.transaction.return_to(), &rt);
        assert_eq!(got.flow, "app_to_app_v2");
        assert_eq!(got.app, Some(app));
        assert_eq!(block_on(take(&p, &c, "ap.state")).unwrap_err().code, Code::StoredStateUnknown, "single use");
        block_on(put(&p, &c, "ar.other", "n", &Secret::new("v"), &rt, "automatic_return_from_vipps_app", None)).unwrap();
        p.advance(c.session.login_timeout);
        assert_eq!(block_on(take(&p, &c, "ar.other")).unwrap_err().code, Code::StateExpired);
        assert_eq!(p.counts().kv_delete, 2);
        p.kv_broken.set(true);
        assert_eq!(block_on(take(&p, &c, "ar.x")).unwrap_err().code, Code::LoginStoreFailed);
    }
}
