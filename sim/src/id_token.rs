//! The ID token: its claims (as Vipps issues them), the `at_hash`, and JWS compact serialisation.
//!
//! Building happens in three steps so that misbehaving variants are easy to add:
//! [`standard`] produces Vipps' token as an [`UnsignedIdToken`], [`apply_mode`] may alter it
//! according to the `mode` setting, and [`UnsignedIdToken::sign`] serialises it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::SigningKey;
use crate::modes::{Mode, EVIL_ISSUER, WRONG_ACR, WRONG_NONCE};

/// What the token endpoint knows when it issues an ID token.
#[derive(Debug, Clone)]
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub sub: &'a str,
    pub client_id: &'a str,
    /// The authorize request's `nonce`, or `""` when none was sent (as Vipps does).
    pub nonce: &'a str,
    pub access_token: &'a str,
    pub sid: &'a str,
    pub jti: &'a str,
    /// When the user confirmed the login.
    pub auth_time: u64,
    /// When the authorize request arrived.
    pub rat: u64,
    /// The `acr`: only when asked for (`acr_values`) and confirmed.
    pub acr: Option<&'a str>,
    pub now: u64,
    pub ttl: u64,
}

/// How the token is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// RS256 with the signing key.
    Valid,
    /// An empty signature part (`alg: none` and friends).
    Empty,
    /// A valid RS256 signature whose last byte has all its bits flipped.
    CorruptedRs256,
    /// HMAC-SHA256 keyed with the signing key's public key as DER `SubjectPublicKeyInfo`: the
    /// RS256/HS256 algorithm-confusion attack.
    HmacWithPublicKey,
    /// RSASSA-PSS SHA-256 with the signing key ("PS256").
    Ps256,
}

#[derive(Debug, Clone)]
pub struct UnsignedIdToken {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signature: Signature,
}

/// Vipps' ID token: header `{alg, kid, typ}`, claims as in the token example of the Login docs.
pub fn standard(input: &IdTokenInput<'_>, kid: &str) -> UnsignedIdToken {
    let header = json!({ "alg": "RS256", "kid": kid, "typ": "JWT" });
    let claims = json!({
        "iss": input.issuer,
        "sub": input.sub,
        "aud": [input.client_id],
        "iat": input.now,
        "exp": input.now.saturating_add(input.ttl),
        "auth_time": input.auth_time,
        "rat": input.rat,
        "jti": input.jti,
        "nonce": input.nonce,
        "sid": input.sid,
        "at_hash": at_hash(input.access_token),
    });
    let mut claims = into_map(claims);
    if let Some(acr) = input.acr {
        claims.insert("acr".into(), json!(acr));
    }
    UnsignedIdToken {
        header: into_map(header),
        claims,
        signature: Signature::Valid,
    }
}

/// Alters the token according to the runtime `mode` setting. `None`, and modes that do not
/// concern the ID token's content, leave Vipps' token as it is. (Which key signs it is the token
/// endpoint's business: see [`Mode::rotates_key`].)
pub fn apply_mode(mode: Option<Mode>, token: &mut UnsignedIdToken, input: &IdTokenInput<'_>) {
    let Some(mode) = mode else { return };
    let now = input.now;
    let claims = &mut token.claims;
    let header = &mut token.header;
    fn set(claims: &mut Map<String, Value>, k: &str, v: Value) {
        claims.insert(k.to_string(), v);
    }
    match mode {
        Mode::InvalidIss => set(claims, "iss", json!(EVIL_ISSUER)),
        Mode::AcrWrong => {
            if input.acr.is_some() {
                set(claims, "acr", json!(WRONG_ACR));
            }
        }
        Mode::AcrMissing => {
            claims.remove("acr");
        }
        Mode::AuthTimeOld => set(claims, "auth_time", json!(now.saturating_sub(86_400))),
        Mode::MissingSub => {
            claims.remove("sub");
        }
        Mode::InvalidAud => set(claims, "aud", json!(["someone-else"])),
        Mode::MissingAud => {
            claims.remove("aud");
        }
        Mode::MissingIat => {
            claims.remove("iat");
        }
        Mode::IdTokenSigNone | Mode::AlgNoneUppercase => {
            let alg = if mode == Mode::IdTokenSigNone {
                "none"
            } else {
                "NONE"
            };
            header.insert("alg".into(), json!(alg));
            token.signature = Signature::Empty;
        }
        Mode::InvalidSigRs256 => token.signature = Signature::CorruptedRs256,
        Mode::AlgHs256PublicKey => {
            header.insert("alg".into(), json!("HS256"));
            token.signature = Signature::HmacWithPublicKey;
        }
        Mode::AlgPs256 => {
            header.insert("alg".into(), json!("PS256"));
            token.signature = Signature::Ps256;
        }
        Mode::NonceInvalid => set(claims, "nonce", json!(WRONG_NONCE)),
        Mode::MissingNonce => {
            claims.remove("nonce");
        }
        Mode::ExpiredExp => {
            set(claims, "iat", json!(now.saturating_sub(3700)));
            set(claims, "exp", json!(now.saturating_sub(3600)));
        }
        Mode::MissingExp => {
            claims.remove("exp");
        }
        Mode::NbfFuture => set(claims, "nbf", json!(now.saturating_add(3600))),
        Mode::IatFarPast => {
            set(claims, "iat", json!(now.saturating_sub(86_400)));
            set(claims, "exp", json!(now.saturating_add(3600)));
        }
        Mode::ClaimsWrongTypes => set(claims, "sub", json!(12345)),
        Mode::SecondaryAudNoAzp => {
            set(claims, "aud", json!([input.client_id, "another-client"]));
            claims.remove("azp");
        }
        Mode::AudString => set(claims, "aud", json!(input.client_id)),
        Mode::KidAbsentMultipleJwks | Mode::KidAbsentSingleJwks => {
            header.remove("kid");
        }
        Mode::UserinfoInvalidSub
        | Mode::DiscoveryIssuerMismatch
        | Mode::DiscoveryForeignHost
        | Mode::DiscoveryHttpEndpoint
        | Mode::JwksHostileOnly
        | Mode::IssParamWrong
        | Mode::SigningKeyRotation
        | Mode::SigningKeyRotationJustBeforeSigning
        | Mode::JwksHostilePlusReal
        | Mode::JwksManyKeys
        | Mode::TokenTypeUppercase
        | Mode::ExpiresInMissing
        | Mode::IssParamCorrect => {}
    }
}

impl UnsignedIdToken {
    /// JWS compact serialisation (RFC 7515 §7.1).
    pub fn sign(&self, key: &SigningKey) -> Result<String, String> {
        let header = serde_json::to_vec(&self.header).map_err(|e| e.to_string())?;
        let claims = serde_json::to_vec(&self.claims).map_err(|e| e.to_string())?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = match self.signature {
            Signature::Valid => key.sign_rs256(signing_input.as_bytes())?,
            Signature::Empty => Vec::new(),
            Signature::CorruptedRs256 => {
                let mut s = key.sign_rs256(signing_input.as_bytes())?;
                if let Some(last) = s.last_mut() {
                    *last ^= 0xff;
                }
                s
            }
            Signature::HmacWithPublicKey => {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key.public_key_der()?)
                    .map_err(|e| e.to_string())?;
                mac.update(signing_input.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Signature::Ps256 => key.sign_ps256(signing_input.as_bytes())?,
        };
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of the SHA-256 of the access token's ASCII.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::keys::tests::test_key;
    use jwt_compact::alg::{Rsa, RsaPublicKey};
    use jwt_compact::{Algorithm, AlgorithmExt, UntrustedToken};
    use rsa::BigUint;

    fn input<'a>() -> IdTokenInput<'a> {
        IdTokenInput {
            issuer: "http://127.0.0.1:7070/access-management-1.0/access/",
            sub: "sub-1",
            client_id: "demo-client",
            nonce: "",
            access_token: "at.value",
            sid: "sid-1",
            jti: "jti-1",
            auth_time: 1_000,
            rat: 990,
            acr: None,
            now: 1_010,
            ttl: 3600,
        }
    }

    /// Rebuilds the public key from the JWKS entry, as a relying party would.
    pub fn key_from_jwk(jwk: &Value) -> RsaPublicKey {
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
        RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap()
    }

    /// Verifies an RS256 token against a JWK with jwt-compact; returns the claims as sent.
    pub fn verify(token: &str, jwk: &Value) -> Value {
        let untrusted = UntrustedToken::new(token).unwrap();
        assert_eq!(untrusted.algorithm(), "RS256");
        assert_eq!(untrusted.header().key_id.as_deref(), jwk["kid"].as_str());
        assert_eq!(untrusted.header().token_type.as_deref(), Some("JWT"));
        let rsa = Rsa::rs256();
        assert_eq!(rsa.name(), "RS256");
        rsa.validator::<Value>(&key_from_jwk(jwk))
            .validate(&untrusted)
            .unwrap();
        // jwt-compact moves exp/iat into typed fields; read the payload as sent instead.
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn at_hash_matches_spec_example() {
        // Computed independently: SHA-256("at.value")[..16], base64url.
        let digest = Sha256::digest(b"at.value");
        assert_eq!(at_hash("at.value"), URL_SAFE_NO_PAD.encode(&digest[..16]));
        assert_eq!(at_hash("x").len(), 22);
    }

    #[test]
    fn signed_token_verifies_with_jwks_key() {
        let key = test_key();
        let mut t = standard(&input(), key.kid());
        apply_mode(None, &mut t, &input());
        let jwt = t.sign(&key).unwrap();
        let claims = verify(&jwt, &key.public_jwk());
        assert_eq!(
            claims["iss"],
            "http://127.0.0.1:7070/access-management-1.0/access/"
        );
        assert_eq!(claims["aud"], json!(["demo-client"]));
        assert_eq!(claims["exp"], 1_010 + 3600);
        assert_eq!(claims["iat"], 1_010);
        assert_eq!(claims["nonce"], "");
        assert_eq!(claims["at_hash"], at_hash("at.value"));
        for k in ["sub", "auth_time", "rat", "jti", "sid"] {
            assert!(claims.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn tampered_token_fails() {
        let key = test_key();
        let jwt = standard(&input(), key.kid()).sign(&key).unwrap();
        let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("someone-else");
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let forged = parts.join(".");
        let untrusted = UntrustedToken::new(&forged).unwrap();
        let pk = key_from_jwk(&key.public_jwk());
        assert!(Rsa::rs256()
            .validator::<Value>(&pk)
            .validate(&untrusted)
            .is_err());
    }
}
