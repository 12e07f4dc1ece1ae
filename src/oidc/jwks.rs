//! JSON Web Key Sets (RFC 7517): the provider's RSA signing keys, selected by `kid`.
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
    /// The JWK's `n` and `e` as received (base64url), for the runtime's own crypto
    /// ([`crate::platform::Platform::verify_rs256`]).
    pub n_b64: String,
    pub e_b64: String,
}

#[derive(Debug, Clone, Default)]
pub struct Jwks {
    pub keys: Vec<VerifyingKey>,
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
    if n.len() > 1024 || e.len() > 8 {
        return None;
    }
    let jwk = JsonWebKey::Rsa { modulus: Cow::Owned(n), public_exponent: Cow::Owned(e), private_parts: None };
    let key = RsaPublicKey::try_from(&jwk).ok()?;
    // RFC 7518 §3.3: RS256 keys are at least 2048 bits.
    let key = StrongKey::try_from(key).ok()?;
    Some(VerifyingKey { kid: raw.kid, key, n_b64, e_b64 })
}

/// Parses a JWKS body. A set with no usable key is an error: nothing could ever verify.
pub fn parse(body: &str) -> Result<Jwks, Error> {
    let set: RawSet =
        serde_json::from_str(body).map_err(|_| Error::new(Code::JwksInvalid, "not a JWK set"))?;
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
    Ok(Jwks { keys })
}

impl Jwks {
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
