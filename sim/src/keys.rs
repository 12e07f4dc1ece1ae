//! The RSA signing key: loading, generating, the `kid`, the public JWK and RS256 signatures.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::OsRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::random::uuid_v4_from;

const KEY_BITS: usize = 2048;

/// A kid shaped like Vipps' (`public:<uuid>`), the same for the same `seed`: the first 16 bytes
/// of its SHA-256 as a version-4 UUID. The signing key's kid comes from its modulus; the extra
/// keys that hostile modes publish get theirs from labels.
pub fn derived_kid(seed: impl AsRef<[u8]>) -> String {
    let digest = Sha256::digest(seed.as_ref());
    let mut first16 = [0u8; 16];
    first16.copy_from_slice(&digest[..16]);
    format!("public:{}", uuid_v4_from(first16))
}

pub struct SigningKey {
    private: RsaPrivateKey,
    kid: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    pub fn generate() -> Result<Self, String> {
        let private = RsaPrivateKey::new(&mut OsRng, KEY_BITS)
            .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
        Ok(Self::from_private(private))
    }

    /// Parses a PKCS#8 PEM RSA private key (a PKCS#1 `RSA PRIVATE KEY` PEM is accepted too).
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let private = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| format!("not an RSA private key in PKCS#8 PEM: {e}"))?;
        if private.size() * 8 < KEY_BITS {
            return Err(format!(
                "the RSA key has {} bits; at least {KEY_BITS} are needed",
                private.size() * 8
            ));
        }
        Ok(Self::from_private(private))
    }

    /// Loads the key at `path`, or generates one and writes it there (mode 0600) if the file does
    /// not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        match fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                key.write_new(path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Ok(key)
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    fn write_new(&self, path: &Path) -> std::io::Result<()> {
        let pem = self
            .private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(pem.as_bytes())
    }

    fn from_private(private: RsaPrivateKey) -> Self {
        // Derived from the modulus, so it is stable for a given key file.
        let kid = derived_kid(private.n().to_bytes_be());
        SigningKey { private, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, shaped like the entries of Vipps' `jwks.json`.
    pub fn public_jwk(&self) -> Value {
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(self.private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.private.e().to_bytes_be()),
        })
    }

    /// The public JWK with the private parts too (`d`, `p`, `q`, `dp`, `dq`, `qi`): something a
    /// JWKS must never contain (the `jwks-hostile-*` modes).
    pub fn private_jwk(&self) -> Value {
        let mut jwk = self.public_jwk();
        let b64 = |bytes: Vec<u8>| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        jwk["d"] = b64(self.private.d().to_bytes_be());
        let primes = self.private.primes();
        if let [p, q] = primes {
            jwk["p"] = b64(p.to_bytes_be());
            jwk["q"] = b64(q.to_bytes_be());
        }
        if let Some(dp) = self.private.dp() {
            jwk["dp"] = b64(dp.to_bytes_be());
        }
        if let Some(dq) = self.private.dq() {
            jwk["dq"] = b64(dq.to_bytes_be());
        }
        if let Some(qi) = self.private.qinv() {
            jwk["qi"] = b64(qi.to_bytes_be().1);
        }
        jwk
    }

    /// The public key as DER `SubjectPublicKeyInfo` (the `alg-hs256-public-key` mode's HMAC key).
    pub fn public_key_der(&self) -> Result<Vec<u8>, String> {
        RsaPublicKey::from(&self.private)
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| format!("cannot encode the public key: {e}"))
    }

    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (RFC 7518 §3.5, "PS256").
    pub fn sign_ps256(&self, signing_input: &[u8]) -> Result<Vec<u8>, String> {
        let digest = Sha256::digest(signing_input);
        self.private
            .sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), &digest)
            .map_err(|e| format!("PS256 signing failed: {e}"))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `signing_input` (RFC 7518 §3.3, "RS256").
    pub fn sign_rs256(&self, signing_input: &[u8]) -> Result<Vec<u8>, String> {
        let digest = Sha256::digest(signing_input);
        self.private
            .sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|e| format!("RS256 signing failed: {e}"))
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// One generated key shared by all tests (RSA key generation is slow).
    pub fn test_key_pem() -> &'static str {
        static PEM: OnceLock<String> = OnceLock::new();
        PEM.get_or_init(|| {
            let key = RsaPrivateKey::new(&mut OsRng, KEY_BITS).unwrap();
            key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
        })
    }

    pub fn test_key() -> SigningKey {
        SigningKey::from_pem(test_key_pem()).unwrap()
    }

    #[test]
    fn kid_is_stable_and_uuid_shaped() {
        let a = test_key();
        let b = test_key();
        assert_eq!(a.kid(), b.kid());
        let uuid = a.kid().strip_prefix("public:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        let jwk = a.public_jwk();
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(jwk["kid"], a.kid());
        assert!(!format!("{a:?}").contains("BEGIN"));
    }

    #[test]
    fn load_or_create_writes_then_reads_the_same_key() {
        let dir = std::env::temp_dir().join(format!(
            "vipps-sim-key-{}",
            crate::random::uuid_v4().unwrap()
        ));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key.pem");
        let created = SigningKey::load_or_create(&path).unwrap();
        let loaded = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(created.kid(), loaded.kid());
        assert!(fs::read_to_string(&path)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_garbage() {
        assert!(SigningKey::from_pem("not a key").is_err());
    }
}
