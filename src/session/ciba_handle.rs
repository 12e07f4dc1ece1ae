//! The handle of a login from phone number: what the Worker needs between a start and its
//! polls, kept by the merchant's system instead of in KV.
//!
//! Signed like a cookie value ([`super::cookie`]: HMAC-SHA256 with a key derived from
//! `SESSION_SECRET` for this purpose only, bound to a fixed name), so it cannot be altered; it
//! names the API key that started it, so another key's system cannot poll it. It is not
//! encrypted: the `auth_req_id` inside is useless without the client secret, which never leaves
//! the Worker.

use super::cookie;
use crate::config::CibaConfig;
use crate::error::{Code, Error};
use serde::{Deserialize, Serialize};

/// What the MAC is bound to (besides the payload).
const NAME: &str = "vipps-edge-login/ciba-handle";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    /// The API key name that started the login.
    #[serde(rename = "k")]
    pub key_name: String,
    #[serde(rename = "id")]
    pub auth_req_id: String,
    #[serde(rename = "n")]
    pub nonce: String,
    /// Seconds between polls (grows by 5 at each `slow_down`).
    #[serde(rename = "i")]
    pub interval: u64,
    /// Unix time before which a poll is answered "too early" without asking Vipps.
    #[serde(rename = "t")]
    pub next_poll: u64,
    /// Unix time at which the login expires.
    #[serde(rename = "e")]
    pub expires_at: u64,
}

impl Handle {
    pub fn seal(&self, config: &CibaConfig) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        cookie::sign(config.handle_keys.first(), NAME, &payload)
    }

    /// Verifies a handle for the API key `key_name`: a handle that does not verify is
    /// `ciba.bad_handle`; one another key started is `ciba.foreign_handle`.
    pub fn open(config: &CibaConfig, key_name: &str, sealed: &str) -> Result<Handle, Error> {
        let (payload, _) = cookie::verify(config.handle_keys.iter(), NAME, sealed)
            .ok_or_else(|| Error::new(Code::CibaBadHandle, "handle does not verify"))?;
        let h: Handle = serde_json::from_slice(&payload).map_err(|_| Error::new(Code::CibaBadHandle, "handle payload unreadable"))?;
        if !crate::util::ct_eq(h.key_name.as_bytes(), key_name.as_bytes()) {
            return Err(Error::new(Code::CibaForeignHandle, format!("handle of key {:?} polled with key {key_name:?}", h.key_name)));
        }
        Ok(h)
    }

    /// A short, log-safe id of the login (a hash of `auth_req_id`), so log lines of one login
    /// can be followed without the id itself.
    pub fn log_id(auth_req_id: &str) -> String {
        crate::util::hex(&crate::util::sha256(auth_req_id.as_bytes())[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    fn config(secret: &str) -> CibaConfig {
        parse(&[("CIBA_API_KEYS", "till-1:0123456789abcdef0123456789abcdef,till-2:abcdefabcdef0123456789abcdef0123456789"), ("SESSION_SECRET", secret)])
            .unwrap()
            .ciba
            .unwrap()
    }

    fn handle() -> Handle {
        Handle { key_name: "till-1".into(), auth_req_id: "req-1".into(), nonce: "n".into(), interval: 5, next_poll: 10, expires_at: 600 }
    }

    #[test]
    fn round_trip_bound_to_the_key_name() {
        let c = config("0123456789abcdef0123456789abcdef");
        let sealed = handle().seal(&c);
        assert_eq!(Handle::open(&c, "till-1", &sealed).unwrap(), handle());
        assert_eq!(Handle::open(&c, "till-2", &sealed).unwrap_err().code, Code::CibaForeignHandle);
    }

    #[test]
    fn tampered_or_foreign_handles_do_not_open() {
        let c = config("0123456789abcdef0123456789abcdef");
        let sealed = handle().seal(&c);
        let (head, mac) = sealed.rsplit_once('.').unwrap();
        let forged = {
            let mut h = handle();
            h.key_name = "till-2".into();
            h.next_poll = 0;
            let payload = crate::util::b64url(&serde_json::to_vec(&h).unwrap());
            format!("v1.{payload}.{mac}")
        };
        let other = config("ffffffffffffffffffffffffffffffff");
        for bad in [forged.as_str(), &format!("{head}.{}", &mac[1..]), "", "v1..", "garbage", &"v1.a.b".repeat(2000)] {
            assert_eq!(Handle::open(&c, "till-2", bad).unwrap_err().code, Code::CibaBadHandle, "{bad:.40}");
        }
        assert_eq!(Handle::open(&other, "till-1", &sealed).unwrap_err().code, Code::CibaBadHandle, "another deployment's secret");
        // A session-cookie-shaped value signed with the session key is not a handle.
        let p = parse(&[("CIBA_API_KEYS", "till-1:0123456789abcdef0123456789abcdef")]).unwrap();
        let cookie = cookie::sign(p.session.keys.session.first(), NAME, &serde_json::to_vec(&handle()).unwrap());
        assert_eq!(Handle::open(p.ciba.as_ref().unwrap(), "till-1", &cookie).unwrap_err().code, Code::CibaBadHandle);
    }

    #[test]
    fn rotation_keeps_old_handles() {
        let old = config("0123456789abcdef0123456789abcdef");
        let sealed = handle().seal(&old);
        let rotated = config("ffffffffffffffffffffffffffffffff,0123456789abcdef0123456789abcdef");
        assert!(Handle::open(&rotated, "till-1", &sealed).is_ok());
        assert_eq!(Handle::log_id("req-1").len(), 12);
    }
}
