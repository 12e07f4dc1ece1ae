//! Freshness policy for discovery and JWKS, from the provider's `Cache-Control`.
//!
//! Vipps sends `Cache-Control: max-age=3600` on discovery; JWKS caching is unconfirmed. A
//! document is fresh for `max-age - Age`; without a header, for [`DEFAULT_TTL`]; `no-store`
//! and `no-cache` mean "do not reuse". When the provider cannot be reached, a stale copy keeps
//! serving for at most [`STALE_IF_ERROR`] past its freshness (RFC 5861 semantics).

use serde::{Deserialize, Serialize};

/// Freshness when the provider sends no `max-age`.
pub const DEFAULT_TTL: u64 = 3600;
/// Upper bound on freshness, whatever the provider says.
pub const MAX_TTL: u64 = 86_400;
/// How long past freshness a stale copy may serve while the provider is unreachable.
pub const STALE_IF_ERROR: u64 = 6 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Reuse for this many seconds.
    Ttl(u64),
    /// Never store (`no-store`, `no-cache`, `max-age=0`).
    NoStore,
}

/// Reads `Cache-Control` (and `Age`) of a response.
pub fn freshness(cache_control: Option<&str>, age: Option<&str>) -> Freshness {
    let Some(cc) = cache_control else {
        return Freshness::Ttl(DEFAULT_TTL);
    };
    let mut max_age: Option<u64> = None;
    for directive in cc.split(',') {
        let d = directive.trim();
        let (name, value) = match d.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (d, None),
        };
        match name.to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Freshness::NoStore,
            "max-age" => match value.and_then(|v| v.parse::<u64>().ok()) {
                Some(n) => max_age = Some(n),
                // An invalid max-age makes the response stale (RFC 9111 §4.2.1).
                None => return Freshness::NoStore,
            },
            _ => {}
        }
    }
    let age = age.and_then(|a| a.trim().parse::<u64>().ok()).unwrap_or(0);
    match max_age {
        None => Freshness::Ttl(DEFAULT_TTL),
        Some(n) if n <= age => Freshness::NoStore,
        Some(n) => Freshness::Ttl((n - age).min(MAX_TTL)),
    }
}

/// A cached document as stored in KV and in isolate memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedDoc {
    pub url: String,
    pub body: String,
    pub fetched_at: u64,
    pub ttl: u64,
}

impl CachedDoc {
    pub fn is_fresh(&self, now: u64) -> bool {
        now >= self.fetched_at.saturating_sub(60) && now < self.fetched_at.saturating_add(self.ttl)
    }
    /// Usable while the provider is unreachable.
    pub fn is_usable_stale(&self, now: u64) -> bool {
        now < self.fetched_at.saturating_add(self.ttl).saturating_add(STALE_IF_ERROR)
    }
    /// KV expiration for this entry: freshness plus the stale window (KV's minimum is 60 s).
    pub fn kv_ttl(&self) -> u64 {
        self.ttl.saturating_add(STALE_IF_ERROR).max(60)
    }
}

/// KV key for a document URL: short, fixed-length, no user input.
pub fn kv_key(kind: &str, url: &str) -> String {
    let h = crate::util::sha256(url.as_bytes());
    format!("vel:v1:{kind}:{}", crate::util::b64url(&h[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vipps_discovery_header() {
        assert_eq!(freshness(Some("max-age=3600"), None), Freshness::Ttl(3600));
        assert_eq!(freshness(Some("public, max-age=3600"), Some("600")), Freshness::Ttl(3000));
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(freshness(None, None), Freshness::Ttl(DEFAULT_TTL));
        assert_eq!(freshness(Some("public"), None), Freshness::Ttl(DEFAULT_TTL));
        assert_eq!(freshness(Some("max-age=99999999"), None), Freshness::Ttl(MAX_TTL));
        assert_eq!(freshness(Some("max-age=10"), Some("20")), Freshness::NoStore);
    }

    #[test]
    fn no_store_is_respected() {
        assert_eq!(freshness(Some("no-store"), None), Freshness::NoStore);
        assert_eq!(freshness(Some("max-age=60, No-Cache"), None), Freshness::NoStore);
        assert_eq!(freshness(Some("max-age=0"), None), Freshness::NoStore);
        assert_eq!(freshness(Some("max-age=abc"), None), Freshness::NoStore);
    }

    #[test]
    fn stale_window_is_bounded() {
        let d = CachedDoc { url: "u".into(), body: "{}".into(), fetched_at: 1000, ttl: 60 };
        assert!(d.is_fresh(1059));
        assert!(!d.is_fresh(1060));
        assert!(d.is_usable_stale(1060 + STALE_IF_ERROR - 1));
        assert!(!d.is_usable_stale(1060 + STALE_IF_ERROR));
        assert_eq!(d.kv_ttl(), 60 + STALE_IF_ERROR);
    }

    #[test]
    fn kv_keys_are_short_and_distinct() {
        let a = kv_key("discovery", "https://a");
        assert_ne!(a, kv_key("discovery", "https://b"));
        assert!(a.len() < 64);
    }
}
