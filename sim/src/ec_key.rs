//! The P-256 key that signs the ES256 ID tokens of `login_to_webpage` (login from phone number
//! finished in the phone's browser), published in the JWKS next to the RSA key. Derived from
//! the RSA key's kid, so it is as stable as that key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::keys::derived_kid;

pub struct EcKey {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl EcKey {
    /// The key for `seed` (the RSA key's kid): the first valid scalar among SHA-256(seed, i).
    pub fn derive(seed: &str) -> EcKey {
        let key = (0u32..)
            .find_map(|i| SigningKey::from_slice(&Sha256::digest(format!("{seed}/es256/{i}").as_bytes())).ok())
            .expect("a SHA-256 output is a valid P-256 scalar almost always");
        EcKey { key, kid: derived_kid(format!("{seed}/es256")) }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `{kty: EC, crv: P-256, x, y, kid, use: sig, alg: ES256}`.
    pub fn public_jwk(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        let b64 = |b: Option<&p256::FieldBytes>| URL_SAFE_NO_PAD.encode(b.map(|b| b.as_slice()).unwrap_or_default());
        json!({"kty": "EC", "crv": "P-256", "x": b64(point.x()), "y": b64(point.y()), "kid": self.kid, "use": "sig", "alg": "ES256"})
    }

    /// A JWS ES256 signature of `signing_input`: `r || s`, 64 bytes (RFC 7518 §3.4).
    pub fn sign_es256(&self, signing_input: &[u8]) -> Vec<u8> {
        let sig: Signature = self.key.sign(signing_input);
        sig.to_bytes().to_vec()
    }
}
