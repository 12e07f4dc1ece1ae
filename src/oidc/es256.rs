//! ES256 (RFC 7518 §3.4: ECDSA on P-256 with SHA-256) as a jwt-compact [`Algorithm`], on the
//! pure-Rust `p256` crate with only its `ecdsa` feature: test support only (the testkit signs
//! tokens and its fake platform verifies with it). The Worker verifies ES256 with the runtime's
//! WebCrypto ([`crate::platform::Platform::verify_es256`]). Vipps signs the ID token of a login
//! from phone number finished in a browser (`login_to_webpage`) with it.
//!
//! (jwt-compact 0.8.0's own `p256` feature does not build on its own: its JWK helpers are
//! compiled only with other curve features.)

use jwt_compact::{Algorithm, AlgorithmSignature};
use p256::ecdsa::signature::{Signer, Verifier};
use std::borrow::Cow;
use std::num::NonZeroUsize;

pub use p256::ecdsa::{SigningKey, VerifyingKey};

/// A JWS ES256 signature: `r || s`, 32 bytes each (RFC 7518 §3.4), not DER.
#[derive(Debug, Clone)]
pub struct Es256Signature(p256::ecdsa::Signature);

impl AlgorithmSignature for Es256Signature {
    const LENGTH: Option<NonZeroUsize> = NonZeroUsize::new(64);

    fn try_from_slice(slice: &[u8]) -> anyhow::Result<Self> {
        p256::ecdsa::Signature::from_slice(slice).map(Es256Signature).map_err(|_| anyhow::anyhow!("not an ES256 signature"))
    }

    fn as_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.to_bytes().to_vec())
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Es256;

impl Algorithm for Es256 {
    type SigningKey = SigningKey;
    type VerifyingKey = VerifyingKey;
    type Signature = Es256Signature;

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("ES256")
    }

    /// For tests and the simulator's side; the Worker only verifies.
    fn sign(&self, key: &SigningKey, message: &[u8]) -> Es256Signature {
        Es256Signature(key.sign(message))
    }

    fn verify_signature(&self, signature: &Es256Signature, key: &VerifyingKey, message: &[u8]) -> bool {
        key.verify(message, &signature.0).is_ok()
    }
}

/// A P-256 public key from a JWK's `x` and `y` (32 bytes each); `None` when not on the curve.
pub fn public_key(x: &[u8], y: &[u8]) -> Option<VerifyingKey> {
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    VerifyingKey::from_encoded_point(&point).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_compact::{AlgorithmExt, Claims, Header, UntrustedToken};

    #[test]
    fn signs_and_verifies_and_refuses_a_changed_signature() {
        let sk = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let vk = *sk.verifying_key();
        let point = vk.to_encoded_point(false);
        let back = public_key(point.x().unwrap(), point.y().unwrap()).unwrap();
        let t = Es256.token(&Header::empty(), &Claims::new(serde_json::json!({"a": 1})), &sk).unwrap();
        assert!(Es256.validator::<serde_json::Value>(&back).validate(&UntrustedToken::new(&t).unwrap()).is_ok());
        let mut bad = t.clone().into_bytes();
        let last = bad.len() - 3;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(Es256.validator::<serde_json::Value>(&back).validate(&UntrustedToken::new(&bad).unwrap()).is_err());
        assert!(public_key(&[1u8; 32], &[2u8; 32]).is_none(), "not on the curve");
    }
}

#[cfg(test)]
mod review_high_s {
    use super::*;
    use jwt_compact::{AlgorithmExt, Claims, Header, UntrustedToken};

    /// ES256 signatures are malleable (`s` and `n - s` both verify, RFC 7518 does not ask for
    /// low-S). Harmless here: a token is never identified by its signature, the code behind it
    /// is single-use, and the claims are what is checked. Pinned so a change is noticed.
    #[test]
    fn a_high_s_twin_verifies_and_changes_nothing_that_is_checked() {
        let sk = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let vk = *sk.verifying_key();
        let t = Es256.token(&Header::empty(), &Claims::new(serde_json::json!({"a": 1})), &sk).unwrap();
        let (head, sig) = t.rsplit_once('.').unwrap();
        let raw = crate::util::b64url_decode(sig).unwrap();
        let s = p256::ecdsa::Signature::from_slice(&raw).unwrap();
        let twin = p256::ecdsa::Signature::from_scalars(s.r(), -*s.s()).unwrap();
        let forged = format!("{head}.{}", crate::util::b64url(&twin.to_bytes()));
        assert_ne!(forged, t);
        let ok = Es256.validator::<serde_json::Value>(&vk).validate(&UntrustedToken::new(&forged).unwrap());
        assert!(ok.is_ok(), "p256 accepts high-S; if this changes, only this pin needs updating");
    }
}
