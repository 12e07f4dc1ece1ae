//! What the Worker tells the origin about the user: claims as headers, and a signed identity
//! assertion (a short-lived RS256 JWT) that origins verify against the Worker's JWKS.

use super::reader::Reader;
use crate::secret::Secret;
use crate::util::{b64url, NonEmpty};
use jwt_compact::jwk::JsonWebKey;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::fmt;

/// Assertion lifetime bounds, in seconds.
pub const MIN_TTL: u64 = 10;
pub const MAX_TTL: u64 = 3600;

/// One signing key: the private key (as a private JWK, for the runtime's crypto to import:
/// [`crate::platform::Platform::sign_rs256`]), and its public JWK with a key id (the RFC 7638
/// thumbprint, so the same key always gets the same id). The PEM is read here, at start, with
/// DER parsers only: no RSA arithmetic is compiled into the Worker.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    /// `{"kty":"RSA","n":..,"e":..,"d":..,"p":..,"q":..,"dp":..,"dq":..,"qi":..}`
    pub private_jwk: Secret,
    /// `{"kty":"RSA","n":..,"e":..,"kid":..,"alg":"RS256","use":"sig"}`
    pub public_jwk: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.kid)
    }
}

/// The bit length of a big-endian unsigned integer (DER strips leading zeros).
fn bits(be: &[u8]) -> usize {
    be.first().map_or(0, |first| (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

impl SigningKey {
    /// From one PEM block: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`),
    /// two-prime RSA of 2048 to 4096 bits. Whether the numbers make a working key is the
    /// runtime's import to say, at first use (and at `/auth/health`).
    fn from_pem(pem: &str) -> Result<SigningKey, &'static str> {
        const NOT_RSA: &str = "is not an RSA private key in PEM (PKCS#8 or PKCS#1)";
        let (label, doc) = der::Document::from_pem(pem).map_err(|_| NOT_RSA)?;
        let pkcs1_der = match label {
            "PRIVATE KEY" => {
                let info = pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|_| NOT_RSA)?;
                if info.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(NOT_RSA);
                }
                info.private_key.to_vec()
            }
            "RSA PRIVATE KEY" => doc.as_bytes().to_vec(),
            _ => return Err(NOT_RSA),
        };
        let k = pkcs1::RsaPrivateKey::try_from(pkcs1_der.as_slice()).map_err(|_| NOT_RSA)?;
        if k.other_prime_infos.is_some() {
            return Err("must be a two-prime RSA key");
        }
        let (n, e) = (k.modulus.as_bytes(), k.public_exponent.as_bytes());
        if !(2048..=4096).contains(&bits(n)) {
            return Err("must be an RSA key of 2048 to 4096 bits");
        }
        let jwk = JsonWebKey::Rsa { modulus: Cow::Borrowed(n), public_exponent: Cow::Borrowed(e), private_parts: None };
        let kid = b64url(&jwk.thumbprint::<sha2::Sha256>());
        let public_jwk = json!({"kty": "RSA", "n": b64url(n), "e": b64url(e), "kid": kid, "alg": "RS256", "use": "sig"});
        let private_jwk = json!({
            "kty": "RSA", "n": b64url(n), "e": b64url(e), "d": b64url(k.private_exponent.as_bytes()),
            "p": b64url(k.prime1.as_bytes()), "q": b64url(k.prime2.as_bytes()),
            "dp": b64url(k.exponent1.as_bytes()), "dq": b64url(k.exponent2.as_bytes()), "qi": b64url(k.coefficient.as_bytes()),
        });
        Ok(SigningKey { kid, private_jwk: Secret::new(private_jwk.to_string()), public_jwk })
    }
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

    #[test]
    fn keys_rotate_and_are_published_by_thumbprint() {
        let both = format!("{}{}", pem(0), pem(1));
        let c = parse(&[("IDENTITY_ASSERTION_KEYS", &both)]).unwrap();
        let a = c.identity.assertion.unwrap();
        assert_eq!(a.keys.len(), 2);
        assert_ne!(a.keys.first().kid, a.keys.get(1).unwrap().kid);
        assert_eq!(a.keys.first().public_jwk["alg"], "RS256");
        assert!(a.keys.first().public_jwk.get("d").is_none(), "no private part in the JWK");
        assert_eq!(a.ttl, 60);
        // Escaped newlines (one line in a secret store) work too, and give the same key id.
        let one_line = pem(0).replace('\n', "\\n");
        let c2 = parse(&[("IDENTITY_ASSERTION_KEYS", &one_line)]).unwrap();
        assert_eq!(c2.identity.assertion.as_ref().unwrap().keys.first().kid, a.keys.first().kid);
        assert!(!format!("{c2:?}").contains("PRIVATE"), "keys never in Debug output");
    }

    #[test]
    fn bad_keys_headers_and_backends_are_named() {
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "not a key")], "IDENTITY_ASSERTION_KEYS"));
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")], "IDENTITY_ASSERTION_KEYS"));
        let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        assert!(problem(&[("IDENTITY_ASSERTION_KEYS", &small)], "IDENTITY_ASSERTION_KEYS"));
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
