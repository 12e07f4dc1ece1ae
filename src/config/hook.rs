//! The login hook (`LOGIN_HOOK_*`): off unless `LOGIN_HOOK_URL` is set. On each successful
//! login the Worker POSTs the user to the merchant's backend, signed, and the backend allows
//! (optionally adding claims to the session) or denies. See [`crate::hook`].

use super::is_secure_or_loopback;
use super::reader::Reader;
use crate::secret::Secret;
use crate::util::NonEmpty;
use std::fmt;
use url::Url;

/// One signing key: its id travels in the signature header, the secret never does.
#[derive(Clone)]
pub struct HookKey {
    pub id: String,
    pub secret: Secret,
}

/// What happens when the backend cannot be asked (down, too slow, an answer that is not
/// `{"allow": bool, ...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// No login (the default): the user sees "the site is not reachable".
    Deny,
    /// The login goes on without the backend's claims (a warning is logged).
    Allow,
}

#[derive(Clone)]
pub struct HookConfig {
    /// `LOGIN_HOOK_URL`: https (http only on loopback).
    pub url: Url,
    /// `LOGIN_HOOK_KEYS`: `id:secret` pairs; the first signs. Several during a rotation.
    pub keys: NonEmpty<HookKey>,
    /// `LOGIN_HOOK_TIMEOUT_MS`: the call's timeout (also bounded by what is left of the
    /// request's `UPSTREAM_DEADLINE_MS`).
    pub timeout_ms: u64,
    /// `LOGIN_HOOK_ON_ERROR`.
    pub on_error: OnError,
}

impl fmt::Debug for HookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookConfig")
            .field("url", &self.url.as_str())
            .field("keys", &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>())
            .field("timeout_ms", &self.timeout_ms)
            .field("on_error", &self.on_error)
            .finish()
    }
}

fn id_ok(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn secret_ok(s: &str) -> bool {
    (32..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn parse(r: &mut Reader) -> Option<HookConfig> {
    let timeout_ms = r.number("LOGIN_HOOK_TIMEOUT_MS", 3_000, 100, 25_000);
    let on_error = match r.opt("LOGIN_HOOK_ON_ERROR").as_deref() {
        None | Some("deny") => OnError::Deny,
        Some("allow") => OnError::Allow,
        Some(_) => {
            r.problem("LOGIN_HOOK_ON_ERROR", "must be 'deny' (no login when the backend cannot be asked) or 'allow'");
            OnError::Deny
        }
    };
    let keys_raw = r.opt("LOGIN_HOOK_KEYS");
    let Some(raw) = r.opt("LOGIN_HOOK_URL") else {
        if keys_raw.is_some() {
            r.problem("LOGIN_HOOK_KEYS", "needs LOGIN_HOOK_URL (the hook is off without it)");
        }
        return None;
    };
    let url = match Url::parse(&raw) {
        Ok(u) if is_secure_or_loopback(&u) && u.fragment().is_none() && u.username().is_empty() && u.password().is_none() => Some(u),
        _ => {
            r.problem("LOGIN_HOOK_URL", "must be an absolute https URL (http only on localhost/127.0.0.1), without credentials");
            None
        }
    };
    let mut keys = Vec::new();
    let mut bad = keys_raw.is_none();
    for pair in r.list("LOGIN_HOOK_KEYS") {
        match pair.split_once(':') {
            Some((id, secret)) if id_ok(id) && secret_ok(secret) && !keys.iter().any(|k: &HookKey| k.id == id) => {
                keys.push(HookKey { id: id.to_string(), secret: Secret::new(secret) })
            }
            _ => bad = true,
        }
    }
    let keys = match NonEmpty::from_vec(keys) {
        Some(k) if !bad => Some(k),
        _ => {
            r.problem(
                "LOGIN_HOOK_KEYS",
                "must be comma-separated id:secret pairs with unique ids of A-Z a-z 0-9 - _ (up to 32) and secrets of 32 to 128 characters of A-Z a-z 0-9 - _ (generate one with: openssl rand -hex 32); the first signs",
            );
            None
        }
    };
    Some(HookConfig { url: url?, keys: keys?, timeout_ms, on_error })
}

#[cfg(test)]
mod tests {
    use super::OnError;
    use crate::config::tests::parse;

    const KEYS: &str = "k2:0123456789abcdef0123456789abcdef,k1:fedcba9876543210fedcba9876543210";

    fn problem(vars: &[(&str, &str)], var: &str) -> bool {
        parse(vars).err().is_some_and(|e| e.0.iter().any(|p| p.var == var) && !e.to_string().contains("0123456789abcdef0123"))
    }

    #[test]
    fn off_unless_the_url_is_set() {
        assert!(parse(&[]).unwrap().hook.is_none());
        let c = parse(&[("LOGIN_HOOK_URL", "https://crm.example/vipps/login"), ("LOGIN_HOOK_KEYS", KEYS)]).unwrap();
        let h = c.hook.unwrap();
        assert_eq!(h.keys.first().id, "k2");
        assert_eq!(h.keys.len(), 2);
        assert_eq!((h.timeout_ms, h.on_error), (3_000, OnError::Deny));
        assert!(!format!("{h:?}").contains("0123456789abcdef"), "secrets never in Debug");
        let c = parse(&[("LOGIN_HOOK_URL", "http://127.0.0.1:9000/hook"), ("LOGIN_HOOK_KEYS", KEYS), ("LOGIN_HOOK_ON_ERROR", "allow"), ("LOGIN_HOOK_TIMEOUT_MS", "500")]).unwrap();
        let h = c.hook.unwrap();
        assert_eq!((h.timeout_ms, h.on_error), (500, OnError::Allow));
    }

    #[test]
    fn bad_settings_are_named_without_secrets() {
        let url = ("LOGIN_HOOK_URL", "https://crm.example/hook");
        assert!(problem(&[url], "LOGIN_HOOK_KEYS"), "keys are required");
        assert!(problem(&[("LOGIN_HOOK_KEYS", KEYS)], "LOGIN_HOOK_KEYS"), "keys without a URL");
        for bad in ["http://crm.example/hook", "ftp://x/y", "https://u:p@crm.example/h", "/hook", "https://crm.example/h#f"] {
            assert!(problem(&[("LOGIN_HOOK_URL", bad), ("LOGIN_HOOK_KEYS", KEYS)], "LOGIN_HOOK_URL"), "{bad}");
        }
        for bad in ["k1", "k1:short", "k 1:0123456789abcdef0123456789abcdef", "k1:0123456789abcdef0123456789abcdef,k1:fedcba9876543210fedcba9876543210", ",", ":0123456789abcdef0123456789abcdef"] {
            assert!(problem(&[url, ("LOGIN_HOOK_KEYS", bad)], "LOGIN_HOOK_KEYS"), "{bad}");
        }
        assert!(problem(&[url, ("LOGIN_HOOK_KEYS", KEYS), ("LOGIN_HOOK_ON_ERROR", "open")], "LOGIN_HOOK_ON_ERROR"));
        assert!(problem(&[url, ("LOGIN_HOOK_KEYS", KEYS), ("LOGIN_HOOK_TIMEOUT_MS", "5")], "LOGIN_HOOK_TIMEOUT_MS"));
    }
}
