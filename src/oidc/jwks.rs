//! JSON Web Key Sets (RFC 7517): the provider's RSA signing keys, selected by `kid`, and its
//! P-256 keys for the ES256 ID tokens of login from phone number finished in a browser
//! (`login_to_webpage`). Each algorithm looks only at keys of its own type.
//!
//! Only keys that can verify RS256 are kept: `kty` RSA, `use` absent or `sig`, `alg` absent or
//! `RS256`, no private parts, at least 2048 bits. Anything else in the set is skipped by a cheap
//! field check; at most [`MAX_KEYS`] RSA keys are ever constructed, so a set padded with
//! thousands of junk keys (bounded by the 1 MiB body cap) costs a scan, not thousands of keys.

use crate::error::{Code, Error};
use jwt_compact::alg::{RsaPublicKey, StrongKey};
use jwt_compact::jwk::JsonWebKey;
use serde::Deserialize;
use std::borrow::Cow;

pub const MAX_KEYS: usize = 32;

#[derive(Debug, Clone)]
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub key: StrongKey<RsaPublicKey>,
}

/// A P-256 public key (ES256).
pub type EcPublicKey = super::es256::VerifyingKey;

#[derive(Debug, Clone)]
pub struct EcVerifyingKey {
    pub kid: Option<String>,
    pub key: EcPublicKey,
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
    let n = crate::util::b64url_decode(raw.n.as_deref()?)?;
    let e = crate::util::b64url_decode(raw.e.as_deref()?)?;
    if n.len() > 1024 || e.len() > 8 {
        return None;
    }
    let jwk = JsonWebKey::Rsa { modulus: Cow::Owned(n), public_exponent: Cow::Owned(e), private_parts: None };
    let key = RsaPublicKey::try_from(&jwk).ok()?;
    // RFC 7518 §3.3: RS256 keys are at least 2048 bits.
    let key = StrongKey::try_from(key).ok()?;
    Some(VerifyingKey { kid: raw.kid, key })
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
/// private part, a point on the curve.
fn usable_ec(raw: RawEcKey) -> Option<EcVerifyingKey> {
    if raw.crv.as_deref() != Some("P-256")
        || raw.use_.as_deref().is_some_and(|u| u != "sig")
        || raw.alg.as_deref().is_some_and(|a| a != "ES256")
        || raw.d.is_some()
        || raw.kid.as_ref().is_some_and(|k| k.len() > 256)
    {
        return None;
    }
    let x = crate::util::b64url_decode(raw.x.as_deref()?)?;
    let y = crate::util::b64url_decode(raw.y.as_deref()?)?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let key = super::es256::public_key(&x, &y)?;
    Some(EcVerifyingKey { kid: raw.kid, key })
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
