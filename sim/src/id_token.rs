//! The ID token: its claims (as Vipps issues them), the `at_hash`, and JWS compact serialisation.
//!
//! Building happens in three steps so that misbehaving variants are easy to add:
//! [`standard`] produces Vipps' token as an [`UnsignedIdToken`], [`apply_mode`] may alter it
//! according to the `mode` setting, and [`UnsignedIdToken::sign`] serialises it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::SigningKey;

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
    pub now: u64,
    pub ttl: u64,
}

/// How the token is signed. Hostile variants (no signature, a corrupted one, another key...)
/// belong here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// RS256 with the key published in the JWKS.
    Valid,
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
    UnsignedIdToken {
        header: into_map(header),
        claims: into_map(claims),
        signature: Signature::Valid,
    }
}

/// Alters the token according to the runtime `mode` setting. No modes exist yet: every value
/// (and `None`) yields Vipps' behaviour.
pub fn apply_mode(mode: Option<&str>, token: &mut UnsignedIdToken) {
    // A hostile mode becomes one arm here, e.g. `Some("wrong_iss") => { token.claims.insert(..) }`.
    let _ = (mode, token);
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
        apply_mode(Some("anything"), &mut t);
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
