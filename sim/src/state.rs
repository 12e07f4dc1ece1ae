//! The simulator's shared state: configuration, the clock, pending logins, codes, access tokens
//! and request counters. One `Sim` is shared by all worker threads.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{Client, Settings, SimConfig};
use crate::keys::SigningKey;
use crate::pkce::Challenge;
use crate::stats::Stats;
use crate::users::User;

/// Path prefix of every Vipps Login endpoint; the issuer is `BASE` + this.
pub const ISSUER_PATH: &str = "/access-management-1.0/access/";

/// How long the login page stays usable after the authorize request.
pub const PENDING_LOGIN_TTL: u64 = 600;

/// An authorize request waiting for the user to confirm or cancel.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: String,
    pub nonce: Option<String>,
    pub challenge: Option<Challenge>,
    /// When the authorize request arrived (the ID token's `rat`).
    pub created_at: u64,
    /// `acr_values` asked for in-app confirmation (`urn:vipps:acr:app_auth`).
    pub app_auth: bool,
    /// `step_up=true`: the user must authenticate, whatever the browser remembers.
    pub step_up: bool,
    /// `market`: NO, DK, FI or SE (the page's theme), when given and valid.
    pub market: Option<String>,
    /// `requested_flow` and the app parameters (see `endpoints::app_flows`).
    pub app: crate::endpoints::app_flows::AppFlow,
}

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub challenge: Option<Challenge>,
    pub sub: String,
    pub sid: String,
    pub auth_time: u64,
    pub rat: u64,
    pub expires_at: u64,
    /// The `acr` the ID token carries: only when asked for and confirmed.
    pub acr: Option<String>,
    /// Userinfo carries the consents object (`customFlow`/`delegatedConsents` on a first login).
    pub consents: bool,
}

/// A code that has been presented once. A second presentation revokes what the first one issued
/// (RFC 6749 §4.1.2, and what Ory Hydra does).
#[derive(Debug, Clone)]
pub struct UsedCode {
    pub forget_at: u64,
    pub access_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub sub: String,
    pub sid: String,
    pub scopes: Vec<String>,
    pub expires_at: u64,
    /// Userinfo carries the `delegatedConsents` object (first login with those scopes only).
    pub consents: bool,
}

/// A user's consent to share data with a client, as Vipps remembers it between logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Every scope consented to so far, in the order first consented.
    pub scopes: Vec<String>,
    /// When consent was last given.
    pub given_at: u64,
    /// When the marketing consents (`customFlow`/`delegatedConsents`) were first given: the
    /// consents object is in userinfo on that login only.
    pub marketing_at: Option<u64>,
}

impl Consent {
    /// Whether a login asking for `scopes` is covered. `openid` needs no consent at Vipps;
    /// `delegatedConsents` and `customFlow` ask the user every time.
    pub fn covers(&self, scopes: &[String]) -> bool {
        scopes.iter().all(|s| {
            s == "openid" || (!is_marketing(s) && self.scopes.iter().any(|c| c == s))
        })
    }
}

/// The marketing-consent scopes: `customFlow` (newer docs) and the older `delegatedConsents`.
pub fn is_marketing(scope: &str) -> bool {
    scope == "customFlow" || scope == "delegatedConsents"
}

/// Where a CIBA login stands (CIBA Core §7, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CibaStatus {
    Pending,
    Approved,
    Denied,
}

impl CibaStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CibaStatus::Pending => "pending",
            CibaStatus::Approved => "approved",
            CibaStatus::Denied => "denied",
        }
    }
}

/// A login from phone number (CIBA) started at the backchannel endpoint.
#[derive(Debug, Clone)]
pub struct CibaRequest {
    pub client_id: String,
    /// Digits with country code, as the `urn:msisdn:` hint carried (or the customer token's user).
    pub phone: String,
    /// The test user with that phone number, if any.
    pub sub: Option<String>,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub binding_message: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    /// Seconds the client must leave between polls; grows by 5 at each `slow_down`.
    pub interval: u64,
    /// When the client last polled.
    pub last_poll: Option<u64>,
    pub status: CibaStatus,
    /// When the user answered (the ID token's `auth_time`).
    pub answered_at: u64,
    /// `requested_flow=login_to_webpage`: where the phone's browser goes with the code.
    pub redirect_uri: Option<String>,
    /// `login_to_webpage`: the code made when the user approved (single use).
    pub code: Option<String>,
}

#[derive(Debug, Default)]
pub struct Store {
    pub pending: HashMap<String, PendingLogin>,
    pub codes: HashMap<String, CodeGrant>,
    pub used_codes: HashMap<String, UsedCode>,
    pub access_tokens: HashMap<String, AccessGrant>,
    /// Consent on record, by (client_id, sub). Never expires; revoked with
    /// `POST /_sim/revoke-consent`, cleared by `POST /_sim/reset`.
    pub consents: BTreeMap<(String, String), Consent>,
    /// CIBA logins by `auth_req_id`; kept a minute past expiry so a late poll gets `expired_token`.
    pub ciba: BTreeMap<String, CibaRequest>,
    /// `app_to_app` logins approved in the app, waiting for their `resume_uri`: the final
    /// redirect and when it was made.
    pub resumes: HashMap<String, (String, u64)>,
}

impl Store {
    /// Drops everything that can no longer be used, so memory stays bounded.
    pub fn purge(&mut self, now: u64) {
        self.pending
            .retain(|_, p| now < p.created_at.saturating_add(PENDING_LOGIN_TTL));
        self.codes.retain(|_, c| now < c.expires_at);
        self.used_codes.retain(|_, u| now < u.forget_at);
        self.access_tokens.retain(|_, t| now < t.expires_at);
        self.ciba.retain(|_, c| now < c.expires_at.saturating_add(60));
        self.resumes.retain(|_, (_, at)| now < at.saturating_add(PENDING_LOGIN_TTL));
    }
}

/// Keys besides the one loaded at start, for the hostile modes.
#[derive(Debug, Default)]
pub struct ModeKeys {
    /// The new key of `signing-key-rotation*`: published first in the JWKS and signing ID tokens.
    pub rotated: Option<Arc<SigningKey>>,
    /// The second, unused signing key that `kid-absent-multiple-jwks` publishes. Kept once made.
    pub decoy: Option<Arc<SigningKey>>,
}

pub struct Sim {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    /// `BASE/access-management-1.0/access/`, trailing slash included, as at Vipps.
    pub issuer: String,
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    pub key: SigningKey,
    /// Signs the ES256 ID tokens of `login_to_webpage`.
    pub ec_key: crate::ec_key::EcKey,
    pub stats: Stats,
    settings: Mutex<Settings>,
    store: Mutex<Store>,
    /// Locked after `settings` when both are needed, never before.
    mode_keys: Mutex<ModeKeys>,
    /// A fixed time for tests; the system clock when `None`.
    fixed_now: Mutex<Option<u64>>,
}

/// Locks a mutex, recovering from poisoning: the data are plain maps that a panicking thread cannot
/// leave half-updated in a way that matters here, and the server must keep answering.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sim {
    pub fn new(config: SimConfig, key: SigningKey, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_string();
        Sim {
            issuer: format!("{base}{ISSUER_PATH}"),
            base,
            clients: config.clients,
            users: config.users,
            ec_key: crate::ec_key::EcKey::derive(key.kid()),
            key,
            stats: Stats::default(),
            settings: Mutex::new(config.settings),
            store: Mutex::new(Store::default()),
            mode_keys: Mutex::new(ModeKeys::default()),
            fixed_now: Mutex::new(None),
        }
    }

    /// Seconds since the Unix epoch, shifted by the `clock_offset` setting.
    pub fn now(&self) -> u64 {
        let base = match *lock(&self.fixed_now) {
            Some(t) => t,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        base.saturating_add_signed(self.settings().clock_offset)
    }

    /// Pins the clock (tests).
    #[cfg(test)]
    pub fn set_now(&self, t: u64) {
        *lock(&self.fixed_now) = Some(t);
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Changes the settings and the mode keys together, so that no request sees a mode with
    /// another mode's keys.
    pub fn update_settings_and_keys<R>(
        &self,
        f: impl FnOnce(&mut Settings, &mut ModeKeys) -> R,
    ) -> R {
        let mut settings = lock(&self.settings);
        let mut keys = lock(&self.mode_keys);
        f(&mut settings, &mut keys)
    }

    /// The rotated key, if one exists.
    pub fn rotated_key(&self) -> Option<Arc<SigningKey>> {
        lock(&self.mode_keys).rotated.clone()
    }

    /// The rotated key, made (and so published) now if there is none yet.
    pub fn rotated_key_or_generate(&self) -> Result<Arc<SigningKey>, String> {
        let mut keys = lock(&self.mode_keys);
        if let Some(k) = &keys.rotated {
            return Ok(k.clone());
        }
        let key = Arc::new(SigningKey::generate()?);
        keys.rotated = Some(key.clone());
        Ok(key)
    }

    /// The decoy key, made on first use.
    pub fn decoy_key(&self) -> Result<Arc<SigningKey>, String> {
        let mut keys = lock(&self.mode_keys);
        if let Some(k) = &keys.decoy {
            return Ok(k.clone());
        }
        let key = Arc::new(SigningKey::generate()?);
        keys.decoy = Some(key.clone());
        Ok(key)
    }

    /// The store, with expired entries already purged.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        let now = self.now();
        let mut store = lock(&self.store);
        store.purge(now);
        store
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn user(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub == sub)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
