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

#[derive(Deserialize)]
struct RawKey {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    d: Option<serde_json::Value>,
    #[serde(default)]
    p: Option<serde_json::Value>,
}

fn usable(raw: RawKey) -> Option<VerifyingKey> {
    if raw.kty != "RSA"
        || raw.use_.as_deref().is_some_and(|u| u != "sig")
        || raw.alg.as_deref().is_some_and(|a| a != "RS256")
        || raw.d.is_some()
        || raw.p.is_some()
        || raw.kid.as_ref().is_some_and(|k| k.len() > 256)
    {
        return None;
    }
    let (n_b64, e_b64) = (raw.n?, raw.e?);
    let n = crate::util::b64url_decode(&n_b64)?;
    let e = crate::util::b64url_decode(&e_b64)?;
    // RFC 7518 §3.3: RS256 keys are at least 2048 bits; 4096 is the most we accept.
    if !(2048..=4096).contains(&bits(&n)) || !(2..=33).contains(&bits(&e)) || e.last().is_none_or(|b| b & 1 == 0) {
        return None;
    }
    Some(VerifyingKey { kid: raw.kid, n_b64, e_b64 })
}

/// The bit length of a big-endian unsigned integer.
fn bits(be: &[u8]) -> usize {
    let be = &be[be.iter().take_while(|b| **b == 0).count()..];
    match be.first() {
        Some(first) => (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

#[derive(Deserialize)]
struct RawEcKey {
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    d: Option<serde_json::Value>,
}

/// An ES256 key: `kty` EC, `crv` P-256, `use` absent or `sig`, `alg` absent or `ES256`, no
/// private part, 32-byte coordinates (whether the point is on the curve is the runtime's
/// import to say: a key off the curve never verifies anything).
fn usable_ec(raw: RawEcKey) -> Option<EcVerifyingKey> {
    if raw.crv.as_deref() != Some("P-256")
        || raw.use_.as_deref().is_some_and(|u| u != "sig")
        || raw.alg.as_deref().is_some_and(|a| a != "ES256")
        || raw.d.is_some()
        || raw.kid.as_ref().is_some_and(|k| k.len() > 256)
    {
        return None;
    }
    let (x_b64, y_b64) = (raw.x?, raw.y?);
    let x = crate::util::b64url_decode(&x_b64)?;
    let y = crate::util::b64url_decode(&y_b64)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    Some(EcVerifyingKey { kid: raw.kid, x_b64, y_b64 })
}

/// Parses a JWKS body. A set with no usable key is an error: nothing could ever verify.
pub fn parse(body: &str) -> Result<Jwks, Error> {
    let set: RawSet =
        serde_json::from_str(body).map_err(|_| Error::new(Code::JwksInvalid, "not a JWK set"))?;
    let ec_keys: Vec<EcVerifyingKey> = set
        .keys
        .iter()
        .filter(|v| v.get("kty").and_then(|k| k.as_str()) == Some("EC"))
        .filter_map(|v| serde_json::from_value::<RawEcKey>(v.clone()).ok())
        .filter_map(usable_ec)
        .take(MAX_KEYS)
        .collect();
    let keys: Vec<VerifyingKey> = set
        .keys
        .into_iter()
        .filter(|v| v.get("kty").and_then(|k| k.as_str()) == Some("RSA"))
        .filter_map(|v| serde_json::from_value::<RawKey>(v).ok())
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
