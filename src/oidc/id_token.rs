//! ID token validation, OpenID Connect Core 1.0 §3.1.3.7, with jwt-compact.
//!
//! The token arrives as an `UntrustedToken`. Its header's `alg` is never trusted to choose an
//! algorithm: we pin RS256 and refuse anything else (`none`, `HS256` keyed with a public key,
//! `PS256`...) before touching a key. Claims are typed: a claim of the wrong JSON type is a
//! malformed token, not a coercion.

use super::jwks::Jwks;
use crate::error::{Code, Error};
use crate::util::{b64url, ct_eq, sha256};
use jwt_compact::alg::Rsa;
use jwt_compact::{AlgorithmExt, UntrustedToken, ValidationError};
use serde::Deserialize;

/// Clock skew we tolerate on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECS: u64 = 120;
/// An ID token is minted at the token exchange; one issued longer ago than this is refused.
pub const MAX_IAT_AGE_SECS: u64 = 600;
/// Longest token we parse at all.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn as_slice(&self) -> Vec<&str> {
        match self {
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The claims we read. Types are strict; unknown claims are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub aud: Option<Audience>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub at_hash: Option<String>,
    #[serde(default)]
    pub acr: Option<String>,
    #[serde(default)]
    pub auth_time: Option<i64>,
    #[serde(default)]
    pub sid: Option<String>,
}

/// What the token must match: all from our side, none from the token.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub access_token: Option<&'a str>,
    pub now: u64,
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub sub: String,
    pub claims: IdTokenClaims,
}

fn err(code: Code, detail: &str) -> Error {
    Error::new(code, detail)
}

/// Validates `token` against `jwks` and `expected`.
pub fn verify(token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<VerifiedIdToken, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(err(Code::IdTokenMalformed, "token too long"));
    }
    let untrusted = UntrustedToken::new(token).map_err(|_| err(Code::IdTokenMalformed, "not a JWS compact token"))?;

    // 7. alg must be the one we expect (RS256), compared exactly: no `none`, `NONE`, `HS256`.
    if untrusted.algorithm() != "RS256" {
        return Err(Error::new(Code::IdTokenAlgorithm, format!("alg {:?} is not RS256", crate::oidc::safe_code(untrusted.algorithm()))));
    }
    // 6. Validate the signature with the key the JWKS names by kid.
    let key = jwks.select(untrusted.header().key_id.as_deref())?;
    let token = Rsa::rs256()
        .validator::<IdTokenClaims>(key.key.as_ref())
        .validate(&untrusted)
        .map_err(|e| match e {
            ValidationError::MalformedClaims(_) => err(Code::IdTokenMalformed, "claims are not the expected JSON types"),
            ValidationError::AlgorithmMismatch { .. } => err(Code::IdTokenAlgorithm, "alg mismatch"),
            _ => err(Code::IdTokenSignature, "signature does not verify"),
        })?;
    let (_, claims) = token.into_parts();
    let std = (claims.expiration, claims.not_before, claims.issued_at);
    let c = claims.custom;
    let now = expected.now as i64;
    let leeway = LEEWAY_SECS as i64;

    // 2. iss must exactly match the issuer from discovery.
    if c.iss.as_deref() != Some(expected.issuer) {
        return Err(err(Code::IdTokenIssuer, "iss differs from the discovery issuer"));
    }
    // 3. aud must contain our client_id.
    let aud = c.aud.as_ref().map(Audience::as_slice).unwrap_or_default();
    if !aud.contains(&expected.client_id) {
        return Err(err(Code::IdTokenAudience, "aud does not contain the client id"));
    }
    // 4./5. With several audiences, azp must be present and be us; if azp is present, it is us.
    if aud.len() > 1 && c.azp.is_none() {
        return Err(err(Code::IdTokenAzp, "several audiences and no azp"));
    }
    if c.azp.as_deref().is_some_and(|azp| azp != expected.client_id) {
        return Err(err(Code::IdTokenAzp, "azp is not the client id"));
    }
    // 9. The current time must be before exp (with leeway).
    match std.0 {
        Some(exp) if now < exp.timestamp() + leeway => {}
        Some(_) => return Err(err(Code::IdTokenExpired, "exp has passed")),
        None => return Err(err(Code::IdTokenExpired, "exp missing")),
    }
    // 10. iat: present, not in the future, not long ago.
    match std.2 {
        Some(iat) if iat.timestamp() <= now + leeway && iat.timestamp() >= now - (MAX_IAT_AGE_SECS as i64) - leeway => {}
        Some(_) => return Err(err(Code::IdTokenIssuedAt, "iat is in the future or too old")),
        None => return Err(err(Code::IdTokenIssuedAt, "iat missing")),
    }
    // RFC 7519 §4.1.5: nbf, when present, must have passed.
    if let Some(nbf) = std.1 {
        if nbf.timestamp() > now + leeway {
            return Err(err(Code::IdTokenNotYetValid, "nbf is in the future"));
        }
    }
    // 11. nonce must equal the one we sent for this browser's transaction.
    match c.nonce.as_deref() {
        Some(n) if ct_eq(n.as_bytes(), expected.nonce.as_bytes()) => {}
        _ => return Err(err(Code::IdTokenNonce, "nonce missing or different")),
    }
    // Core §2: sub is required, a non-empty string of at most 255 ASCII characters.
    let sub = match c.sub.as_deref() {
        Some(s) if !s.is_empty() && s.len() <= 255 => s.to_string(),
        _ => return Err(err(Code::IdTokenSubject, "sub missing or invalid")),
    };
    // §3.1.3.8: when at_hash is present, it must match the access token.
    if let (Some(at_hash), Some(access_token)) = (c.at_hash.as_deref(), expected.access_token) {
        let h = sha256(access_token.as_bytes());
        if !ct_eq(at_hash.as_bytes(), b64url(&h[..16]).as_bytes()) {
            return Err(err(Code::IdTokenAtHash, "at_hash does not match the access token"));
        }
    }
    Ok(VerifiedIdToken { sub, claims: c })
}
