//! Which endpoint a request was for, and how many requests each endpoint received
//! (`GET /_sim/stats`). Plain data: the shared state keeps a [`Stats`], and faults name the
//! endpoints they hit with [`Endpoint`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

/// Which endpoint a request was for, for `/_sim/stats`.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Discovery,
    Jwks,
    Authorize,
    Confirm,
    Cancel,
    Token,
    Userinfo,
    /// `/elsewhere`, where the `redirect` fault points.
    Elsewhere,
    /// Not an endpoint of the simulator: `CONSENT_REVOKED` webhook deliveries it attempted.
    Webhook,
    /// CIBA: `POST /vipps-login-ciba/api/backchannel/authentication`.
    Backchannel,
    /// CIBA: `POST /vipps-login-ciba/api/v1/user-exists`.
    UserExists,
}

const ENDPOINTS: [(Endpoint, &str); 11] = [
    (Endpoint::Discovery, "discovery"),
    (Endpoint::Jwks, "jwks"),
    (Endpoint::Authorize, "authorize"),
    (Endpoint::Confirm, "confirm"),
    (Endpoint::Cancel, "cancel"),
    (Endpoint::Token, "token"),
    (Endpoint::Userinfo, "userinfo"),
    (Endpoint::Elsewhere, "elsewhere"),
    (Endpoint::Webhook, "webhook"),
    (Endpoint::Backchannel, "backchannel"),
    (Endpoint::UserExists, "user_exists"),
];

/// Requests received per endpoint, whatever their outcome.
#[derive(Debug, Default)]
pub struct Stats([AtomicU64; 11]);

impl Stats {
    pub fn bump(&self, e: Endpoint) {
        self.0[e as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, e: Endpoint) -> u64 {
        self.0[e as usize].load(Ordering::Relaxed)
    }

    pub fn reset(&self) {
        for c in &self.0 {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        for (e, name) in ENDPOINTS {
            m.insert(name.to_string(), json!(self.get(e)));
        }
        Value::Object(m)
    }
}
