//! JSON Web Key Sets (RFC 7517): the provider's RSA signing keys, selected by `kid`, and its
//! P-256 keys for the ES256 ID tokens of login from phone number finished in a browser
//! (`login_to_webpage`). Each algorithm looks only at keys of its own type.
//!
//! Only keys that can verify RS256 are kept: `kty` RSA, `use` absent or `sig`, `alg` absent or
//! `RS256`, no private parts, a modulus of 2048 to 4096 bits, an exponent from 3 to 2^33 - 1.
//! Anything else in the set is skipped by a cheap field check; at most [`MAX_KEYS`] keys of
//! each type are kept, so a set padded with thousands of junk keys (bounded by the 1 MiB body
//! cap) costs a scan, not thousands of keys. Keys stay as their base64url parts: the runtime's
//! crypto imports them ([`crate::platform::Platform`]), and refuses a P-256 point off the curve.

use crate::error::{Code, Error};
use serde::Deserialize;

pub const MAX_KEYS: usize = 32;

#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    /// The JWK's `n` and `e` as received (base64url), for the runtime's crypto
    /// ([`crate::platform::Platform::verify_rs256`]).
    pub n_b64: String,
    pub e_b64: String,
}

/// A P-256 public key (ES256): the JWK's `x` and `y` as received (base64url, 32 bytes each),
/// for [`crate::platform::Platform::verify_es256`].
#[derive(Debug, Clone)]
pub struct EcVerifyingKey {
    pub kid: Option<String>,
    pub x_b64: String,
    pub y_b64: String,
}

#[derive(Debug, Clone, Default)]
pub struct Jwks {
    /// RS256 keys.
    pub keys: Vec<VerifyingKey>,
    /// ES256 keys (`kty` EC, `crv` P-256).
    pub ec_keys: Vec<EcVerifyingKey>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

type RawKey = serde_json::Map<String, serde_json::Value>;

/// A string member of a JWK: `Ok(None)` when absent or null, `Err(())` when of another type
/// (the key is then skipped, as a strictly typed parse would). Read by hand rather than through
/// a derived `Deserialize` from the `Value`, whose code costs the wasm kilobytes.
fn member<'a>(key: &'a RawKey, name: &str) -> Result<Option<&'a str>, ()> {
    match key.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// Whether a private part (`d`, `p`, ...) is present, in any form.
fn has(key: &RawKey, name: &str) -> bool {
    key.get(name).is_some_and(|v| !v.is_null())
}

fn usable(raw: &RawKey) -> Option<VerifyingKey> {
    let [kty, kid, use_, alg, n, e] = ["kty", "kid", "use", "alg", "n", "e"].map(|m| member(raw, m));
    let (kty, kid, use_, alg, n_b64, e_b64) = (kty.ok()??, kid.ok()?, use_.ok()?, alg.ok()?, n.ok()??, e.ok()??);
    if kty != "RSA"
        || use_.is_some_and(|u| u != "sig")
        || alg.is_some_and(|a| a != "RS256")
        || has(raw, "d")
        || has(raw, "p")
        || kid.is_some_and(|k| k.len() > 256)
    {
        return None;
    }
    let n = crate::util::b64url_decode(n_b64)?;
    let e = crate::util::b64url_decode(e_b64)?;
    // RFC 7518 §3.3: RS256 keys are at least 2048 bits; 4096 is the most we accept.
    if !(2048..=4096).contains(&bits(&n)) || !(2..=33).contains(&bits(&e)) || e.last().is_none_or(|b| b & 1 == 0) {
        return None;
    }
    Some(VerifyingKey { kid: kid.map(str::to_string), n_b64: n_b64.to_string(), e_b64: e_b64.to_string() })
}

/// The bit length of a big-endian unsigned integer.
fn bits(be: &[u8]) -> usize {
    let be = &be[be.iter().take_while(|b| **b == 0).count()..];
    match be.first() {
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// An ES256 key: `kty` EC, `crv` P-256, `use` absent or `sig`, `alg` absent or `ES256`, no
/// private part, 32-byte coordinates (whether the point is on the curve is the runtime's
/// import to say: a key off the curve never verifies anything).
fn usable_ec(raw: &RawKey) -> Option<EcVerifyingKey> {
    let [kid, crv, use_, alg, x, y] = ["kid", "crv", "use", "alg", "x", "y"].map(|m| member(raw, m));
    let (kid, crv, use_, alg, x_b64, y_b64) = (kid.ok()?, crv.ok()?, use_.ok()?, alg.ok()?, x.ok()??, y.ok()??);
    if crv != Some("P-256")
        || use_.is_some_and(|u| u != "sig")
        || alg.is_some_and(|a| a != "ES256")
        || has(raw, "d")
        || kid.is_some_and(|k| k.len() > 256)
    {
        return None;
    }
    let x = crate::util::b64url_decode(x_b64)?;
    let y = crate::util::b64url_decode(y_b64)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    Some(EcVerifyingKey { kid: kid.map(str::to_string), x_b64: x_b64.to_string(), y_b64: y_b64.to_string() })
}

/// Parses a JWKS body. A set with no usable key is an error: nothing could ever verify.
pub fn parse(body: &str) -> Result<Jwks, Error> {
    let set: RawSet =
        serde_json::from_slice(body.as_bytes()).map_err(|_| Error::new(Code::JwksInvalid, "not a JWK set"))?;
    let ec_keys: Vec<EcVerifyingKey> = set
        .keys
        .iter()
        .filter_map(serde_json::Value::as_object)
        .filter(|k| k.get("kty").and_then(|k| k.as_str()) == Some("EC"))
        .filter_map(usable_ec)
        .take(MAX_KEYS)
        .collect();
    let keys: Vec<VerifyingKey> = set
        .keys
        .iter()
        .filter_map(serde_json::Value::as_object)
        .filter(|k| k.get("kty").and_then(|k| k.as_str()) == Some("RSA"))
        .filter_map(usable)
        .take(MAX_KEYS)
        .collect();
    if keys.is_empty() {
        return Err(Error::new(Code::JwksInvalid, "no usable RS256 signing key"));
    }
    Ok(Jwks { keys, ec_keys })
}

/// By `kid`; without one, only when the set holds exactly one key of the kind.
fn by_kid<'k, K>(keys: &'k [K], kid_of: impl Fn(&K) -> Option<&str>, kid: Option<&str>) -> Result<&'k K, Error> {
    match kid {
        Some(kid) => {
            let mut it = keys.iter().filter(|k| kid_of(k) == Some(kid));
            match (it.next(), it.next()) {
                (Some(k), None) => Ok(k),
                (Some(_), Some(_)) => Err(Error::new(Code::IdTokenUnknownKey, "kid is ambiguous in the JWKS")),
                (None, _) => Err(Error::new(Code::IdTokenUnknownKey, "kid not in the JWKS")),
            }
        }
        None => match keys {
            [one] => Ok(one),
            _ => Err(Error::new(Code::IdTokenUnknownKey, "no kid and the JWKS holds several keys (or none) of this type")),
        },
    }
}

impl Jwks {
    /// The ES256 key for a token, as [`Jwks::select`] does for RS256.
    pub fn select_ec(&self, kid: Option<&str>) -> Result<&EcVerifyingKey, Error> {
        by_kid(&self.ec_keys, |k| k.kid.as_deref(), kid)
    }

    /// The key for a token: by `kid`; without a `kid`, only when exactly one key is usable
    /// (OIDC Core §10.1: a `kid` is required when the set holds several keys).
    pub fn select(&self, kid: Option<&str>) -> Result<&VerifyingKey, Error> {
        match kid {
            Some(kid) => {
                let mut it = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                match (it.next(), it.next()) {
                    (Some(k), None) => Ok(k),
                    (Some(_), Some(_)) => Err(Error::new(Code::IdTokenUnknownKey, "kid is ambiguous in the JWKS")),
                    (None, _) => Err(Error::new(Code::IdTokenUnknownKey, "kid not in the JWKS")),
                }
            }
            None if self.keys.len() == 1 => Ok(&self.keys[0]),
            None => Err(Error::new(Code::IdTokenUnknownKey, "no kid and the JWKS holds several keys")),
        }
    }
}
