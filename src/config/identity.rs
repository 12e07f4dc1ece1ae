//! What the Worker tells the origin about the user: claims as headers, and a signed identity
//! assertion (a short-lived RS256 JWT) that origins verify against the Worker's JWKS.

use super::reader::Reader;
use crate::util::{b64url, NonEmpty};
use jwt_compact::jwk::JsonWebKey;
use std::borrow::Cow;
use std::fmt;

/// Assertion lifetime bounds, in seconds.
pub const MIN_TTL: u64 = 10;
pub const MAX_TTL: u64 = 3600;

/// One signing key as configured: its PKCS#8 DER (a PKCS#1 key is wrapped into PKCS#8, RFC
/// 5208 §5), for the runtime's crypto to import ([`crate::platform::Platform::rs256_key`]).
/// Only the PEM's shape is checked here, at start: no RSA code is compiled into the Worker. The
/// runtime reads the key (its size, its public half, its RFC 7638 thumbprint as `kid`) at first
/// use, and `/auth/health` reports a key it refuses ([`crate::policy::identity::Published`]).
#[derive(Clone)]
pub struct SigningKey {
    /// This isolate's name for the key (a hash of the DER, never published).
    pub id: String,
    pub pkcs8: SecretBytes,
}

/// Key bytes whose `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.id)
    }
}

/// A DER length (X.690 §8.1.3, definite form).
fn der_len(n: usize) -> Vec<u8> {
    match n {
        0..=127 => vec![n as u8],
        128..=255 => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

/// `PrivateKeyInfo { version 0, AlgorithmIdentifier { rsaEncryption, NULL }, OCTET STRING
/// pkcs1 }` (RFC 5208 §5, RFC 8017 Appendix A.1): what WebCrypto imports as `pkcs8`.
fn pkcs8_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    const VERSION_AND_ALGORITHM: [u8; 18] =
        [0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut octets = vec![0x04];
    octets.extend(der_len(pkcs1.len()));
    let inner = VERSION_AND_ALGORITHM.len() + octets.len() + pkcs1.len();
    let mut out = vec![0x30];
    out.extend(der_len(inner));
    out.extend(VERSION_AND_ALGORITHM);
    out.extend(octets);
    out.extend(pkcs1);
    out
}

impl SigningKey {
    /// From one PEM block (RFC 7468): PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA
    /// PRIVATE KEY`), base64 of a DER SEQUENCE.
    fn from_pem(pem: &str) -> Result<SigningKey, &'static str> {
        use base64::Engine;
        const NOT_RSA: &str = "is not an RSA private key in PEM (PKCS#8 or PKCS#1)";
        let mut lines = pem.lines().map(str::trim).filter(|l| !l.is_empty());
        let label = lines.next().and_then(|l| l.strip_prefix("-----BEGIN ")).and_then(|l| l.strip_suffix("-----")).ok_or(NOT_RSA)?;
        let body: String = lines.take_while(|l| !l.starts_with("-----END ")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| NOT_RSA)?;
        // A SEQUENCE, at most 64 KiB (a 4096-bit key is about 2.4 KB).
        if der.first() != Some(&0x30) || der.len() > 0xffff {
            return Err(NOT_RSA);
        }
        let pkcs8 = match label {
            "PRIVATE KEY" => der,
            "RSA PRIVATE KEY" => pkcs8_of_pkcs1(&der),
            _ => return Err(NOT_RSA),
        };
        let id = b64url(&crate::util::sha256(&pkcs8)[..12]);
        Ok(SigningKey { id, pkcs8: SecretBytes(pkcs8) })
    }
}

/// The RFC 7638 thumbprint of an RSA public key (big-endian `n` and `e`): its `kid`.
pub fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let jwk = JsonWebKey::Rsa { modulus: Cow::Borrowed(n), public_exponent: Cow::Borrowed(e), private_parts: None };
    b64url(&jwk.thumbprint::<sha2::Sha256>())
}

#[derive(Debug, Clone)]
pub struct AssertionConfig {
    /// The first signs; all are published (rotation).
    pub keys: NonEmpty<SigningKey>,
    /// `aud` of the assertion; the backend's origin when not set.
    pub audience: Option<String>,
    /// Lifetime of one assertion, in seconds.
    pub ttl: u64,
}

#[derive(Debug, Clone, Default)]
pub struct IdentityConfig {
    /// Session claims sent to the origin as `Vipps-Login-<Claim>` headers (`IDENTITY_HEADERS`).
    pub claim_headers: Vec<String>,
    /// The signed assertion (`IDENTITY_ASSERTION_KEYS` set).
    pub assertion: Option<AssertionConfig>,
}

/// Splits a secret holding one or more PEM blocks (newlines may be written as `\n`, as some
/// secret stores keep them).
fn pem_blocks(raw: &str) -> Vec<String> {
    let raw = raw.replace("\\n", "\n");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in raw.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(c) = current.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
        if line.starts_with("-----END ") {
            blocks.extend(current.take());
        }
    }
    blocks
}

/// The header a claim goes out in: `email` -> `vipps-login-email`, `phone_number` ->
/// `vipps-login-phone-number`.
pub fn claim_header_name(claim: &str) -> String {
    format!("{}{}", crate::policy::forward::RESERVED_HEADER_PREFIX, claim.replace('_', "-").to_ascii_lowercase())
}

pub fn parse(r: &mut Reader, session_claims: Option<&[String]>) -> IdentityConfig {
    let claim_headers: Vec<String> = r
        .opt("IDENTITY_HEADERS")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for c in &claim_headers {
        if c == "sub" || c == "assertion" || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            r.problem("IDENTITY_HEADERS", "must be claim names (letters, digits, _); sub is always sent");
        } else if session_claims.is_some_and(|kept| !kept.contains(c)) {
            r.problem("IDENTITY_HEADERS", "each claim must also be kept in the session (add it to SESSION_CLAIMS)");
        }
    }
    let ttl = r.number("IDENTITY_ASSERTION_TTL", 60, MIN_TTL, MAX_TTL);
    let audience = r.opt("IDENTITY_ASSERTION_AUDIENCE");
    if audience.as_deref().is_some_and(|a| a.len() > 512 || a.chars().any(|c| c.is_control())) {
        r.problem("IDENTITY_ASSERTION_AUDIENCE", "must be a short string, e.g. https://origin.example.com");
    }
    let assertion = match r.opt("IDENTITY_ASSERTION_KEYS") {
        None => {
            if audience.is_some() {
                r.problem("IDENTITY_ASSERTION_AUDIENCE", "needs IDENTITY_ASSERTION_KEYS (the assertion is off without it)");
            }
            None
        }
        Some(raw) => {
            let parsed: Result<Vec<SigningKey>, &str> = pem_blocks(&raw).iter().map(|b| SigningKey::from_pem(b)).collect();
            match parsed.map(NonEmpty::from_vec) {
                Ok(Some(keys)) => Some(AssertionConfig { keys, audience, ttl }),
                Ok(None) => {
                    r.problem("IDENTITY_ASSERTION_KEYS", "must hold at least one PEM private key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)");
                    None
                }
                Err(why) => {
                    r.problem("IDENTITY_ASSERTION_KEYS", format!("a key {why}"));
                    None
                }
            }
        }
    };
    IdentityConfig { claim_headers, assertion }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::config::tests::parse;
    use crate::testkit::keys;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    pub(crate) fn pem(i: usize) -> String {
        keys()[i].to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }

    fn problem(vars: &[(&str, &str)], var: &str) -> bool {
        parse(vars).err().is_some_and(|e| e.0.iter().any(|p| p.var == var))
    }

    /// The keys as the runtime reads them (the fake platform's `rsa` crate standing in).
    fn published(c: &crate::config::Config) -> Result<Vec<crate::policy::identity::Published>, crate::error::Error> {
        let p = crate::testkit::FakePlatform::default();
        let a = crate::policy::identity::Assertions::default();
        crate::testkit::block_on(a.published(&p, c)).map(|k| k.to_vec())
    }

    #[test]
    fn keys_rotate_and_are_published_by_thumbprint() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let both = format!("{}{}", pem(0), pem(1));
        let c = parse(&[("IDENTITY_ASSERTION_KEYS", &both)]).unwrap();
        let a = c.identity.assertion.as_ref().unwrap();
        assert_eq!(a.keys.len(), 2);
        assert_eq!(a.ttl, 60);
        let got = published(&c).unwrap();
        assert_ne!(got[0].kid, got[1].kid);
        assert_eq!(got[0].jwk["alg"], "RS256");
        assert!(got[0].jwk.get("d").is_none(), "no private part in the JWK");
        // The kid is the RFC 7638 thumbprint of the public key.
        let public = keys()[0].to_public_key();
        assert_eq!(got[0].kid, super::thumbprint(&public.n().to_bytes_be(), &public.e().to_bytes_be()));
        assert_eq!(got[0].jwk["n"], crate::util::b64url(&public.n().to_bytes_be()));
        // Escaped newlines (one line in a secret store) work too, and give the same key id.
        let one_line = pem(0).replace('\n', "\\n");
        let c2 = parse(&[("IDENTITY_ASSERTION_KEYS", &one_line)]).unwrap();
        assert_eq!(published(&c2).unwrap()[0].kid, got[0].kid);
        assert!(!format!("{c2:?}").contains("PRIVATE"), "keys never in Debug output");
        // PKCS#1 (BEGIN RSA PRIVATE KEY): wrapped into PKCS#8, the same key and kid.
        let pkcs1 = keys()[0].to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
        assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
        let c3 = parse(&[("IDENTITY_ASSERTION_KEYS", &pkcs1)]).unwrap();
        assert_eq!(published(&c3).unwrap()[0].kid, got[0].kid);
        assert_eq!(c3.identity.assertion.as_ref().unwrap().keys.first().pkcs8.expose(), a.keys.first().pkcs8.expose());
    }

    #[test]
    fn a_key_the_runtime_refuses_is_a_config_error_at_first_use() {
        use crate::error::Code;
        // Too small: the PEM is well formed; the runtime reads it, the size check refuses it.
        let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let c = parse(&[("IDENTITY_ASSERTION_KEYS", &small)]).unwrap();
        let e = published(&c).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
        assert!(e.detail.starts_with("IDENTITY_ASSERTION_KEYS: key 1 must be RSA of 2048"), "{}", e.detail);
        // A well-formed PEM of something that is not an RSA key.
        let junk = "-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n";
        let c = parse(&[("IDENTITY_ASSERTION_KEYS", junk)]).unwrap();
        let e = published(&c).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
        assert!(!e.detail.contains("MAMC"), "no key material in the report");
        // The runtime failing: refused, the same way.
        let c = parse(&[("IDENTITY_ASSERTION_KEYS", &pem(0))]).unwrap();
        let p = crate::testkit::FakePlatform::default();
        p.runtime_crypto_broken.set(true);
        let a = crate::policy::identity::Assertions::default();
        assert_eq!(crate::testkit::block_on(a.published(&p, &c)).unwrap_err().code, Code::ConfigInvalid);
    }

    #[test]
    fn bad_keys_headers_and_backends_are_named() {
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "not a key")], "IDENTITY_ASSERTION_KEYS"));
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")], "IDENTITY_ASSERTION_KEYS"));
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "-----BEGIN EC PRIVATE KEY-----\nMAMCAQA=\n-----END EC PRIVATE KEY-----")], "IDENTITY_ASSERTION_KEYS"));
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----")], "IDENTITY_ASSERTION_KEYS"));
        assert!(problem(&[("IDENTITY_ASSERTION_AUDIENCE", "https://o.example")], "IDENTITY_ASSERTION_AUDIENCE"));
        assert!(problem(&[("IDENTITY_ASSERTION_TTL", "5")], "IDENTITY_ASSERTION_TTL"));
        assert!(problem(&[("IDENTITY_HEADERS", "address")], "IDENTITY_HEADERS"), "a claim the session does not keep");
        assert!(problem(&[("IDENTITY_HEADERS", "e-mail")], "IDENTITY_HEADERS"));
        assert!(parse(&[("IDENTITY_HEADERS", "email, name")]).is_ok());
        assert!(problem(&[("BACKEND", "http://origin.example")], "BACKEND"), "plain http only on loopback");
        assert!(problem(&[("BACKEND", "https://user:pw@origin.example")], "BACKEND"));
        assert!(parse(&[("BACKEND", "http://127.0.0.1:8080")]).is_ok());
        let e = parse(&[("IDENTITY_ASSERTION_KEYS", &pem(0)[..200])]).unwrap_err();
        assert!(!e.to_string().contains("MII"), "no key material in the report");
    }
}
