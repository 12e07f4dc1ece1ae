//! Signed cookie values and `Cookie` / `Set-Cookie` handling.
//!
//! A value is `v1.<payload>.<mac>`, both base64url, where the MAC is HMAC-SHA256 over the
//! cookie's *name* and the payload (after oauth2-proxy's `pkg/cookies`): a value cut from one
//! cookie does not verify as another. Verification tries every configured key, so keys rotate
//! without logging everybody out.

use crate::util::{b64url, b64url_decode, hmac_sha256, hmac_sha256_verify};

const VERSION: &str = "v1";

/// What the MAC covers: the cookie's name, the version and the payload.
fn mac_parts<'a>(name: &'a str, payload_b64: &'a str) -> [&'a [u8]; 5] {
    [name.as_bytes(), b"\0", VERSION.as_bytes(), b".", payload_b64.as_bytes()]
}

/// Signs `payload` for the cookie `name` with `key`.
pub fn sign(key: &[u8; 32], name: &str, payload: &[u8]) -> String {
    let p = b64url(payload);
    let m = hmac_sha256(key, &mac_parts(name, &p));
    format!("{VERSION}.{p}.{}", b64url(&m))
}

/// Verifies a signed value; returns the payload and the index of the key that verified it.
pub fn verify<'a>(keys: impl IntoIterator<Item = &'a [u8; 32]>, name: &str, value: &str) -> Option<(Vec<u8>, usize)> {
    // Bound the work an attacker can make us do before any MAC.
    if value.len() > 8192 {
        return None;
    }
    let mut parts = value.split('.');
    let (v, p, m) = (parts.next()?, parts.next()?, parts.next()?);
    if v != VERSION || parts.next().is_some() {
        return None;
    }
    let given = b64url_decode(m)?;
    for (i, key) in keys.into_iter().enumerate() {
        if hmac_sha256_verify(key, &mac_parts(name, p), &given) {
            return Some((b64url_decode(p)?, i));
        }
    }
    None
}

/// All values of cookie `name` in a `Cookie` header (a browser may send several).
pub fn values<'a>(cookie_header: &'a str, name: &str) -> Vec<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
        .collect()
}

/// A `Set-Cookie` value with the attributes every cookie of ours carries: the `__Host-`
/// prefix demands `Secure`, `Path=/` and no `Domain`.
pub fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    set_cookie_in(name, value, max_age, None)
}

/// As [`set_cookie`], for a `__Secure-` cookie shared with the subdomains of `domain`.
pub fn set_cookie_in(name: &str, value: &str, max_age: u64, domain: Option<&str>) -> String {
    match domain {
        None => format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"),
        Some(d) => format!("{name}={value}; Domain={d}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"),
    }
}

pub fn clear_cookie(name: &str) -> String {
    set_cookie_in(name, "", 0, None)
}

/// As [`clear_cookie`], for a cookie set with a `Domain`.
pub fn clear_cookie_in(name: &str, domain: Option<&str>) -> String {
    set_cookie_in(name, "", 0, domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];

    #[test]
    fn round_trip_and_rotation() {
        let v = sign(&K1, "c", b"hello");
        assert_eq!(verify(&[K1], "c", &v), Some((b"hello".to_vec(), 0)));
        assert_eq!(verify(&[K2, K1], "c", &v), Some((b"hello".to_vec(), 1)));
        assert_eq!(verify(&[K2], "c", &v), None);
    }

    #[test]
    fn bound_to_cookie_name() {
        let v = sign(&K1, "__Host-a", b"x");
        assert_eq!(verify(&[K1], "__Host-b", &v), None);
    }

    #[test]
    fn tampering_fails() {
        let v = sign(&K1, "c", b"{\"sub\":\"a\"}");
        let parts: Vec<&str> = v.split('.').collect();
        let mut p = parts[1].to_string();
        let first = if p.starts_with('e') { "f" } else { "e" };
        p.replace_range(0..1, first);
        let forged = format!("{}.{}.{}", parts[0], p, parts[2]);
        assert_eq!(verify(&[K1], "c", &forged), None);
        assert_eq!(verify(&[K1], "c", &format!("{v}x")), None);
        assert_eq!(verify(&[K1], "c", &format!("{v}.x")), None);
        assert_eq!(verify(&[K1], "c", ""), None);
        assert_eq!(verify(&[K1], "c", "v1.."), None);
        assert_eq!(verify(&[K1], "c", &"v1.a.b".repeat(3000)), None);
    }

    #[test]
    fn cookie_header_parsing() {
        let h = "a=1; __Host-s=xyz; b = 2 ;__Host-s=\"q\"";
        assert_eq!(values(h, "__Host-s"), vec!["xyz", "q"]);
        assert_eq!(values(h, "b"), vec!["2"]);
        assert!(values("garbage;;==;", "x").is_empty());
    }

    #[test]
    fn set_cookie_attributes() {
        let c = set_cookie("__Host-s", "v", 60);
        for attr in ["Path=/", "Max-Age=60", "HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(c.contains(attr), "{attr}");
        }
        assert!(!c.contains("Domain"));
    }
}
