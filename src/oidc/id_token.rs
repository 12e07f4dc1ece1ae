//! ID token validation, OpenID Connect Core 1.0 §3.1.3.7, with jwt-compact.
//!
//! The token arrives as an `UntrustedToken`. Its header's `alg` is never trusted to choose an
//! algorithm: we pin RS256 and refuse anything else (`none`, `HS256` keyed with a public key,
//! `PS256`...) before touching a key. The one exception is the ID token of a login from phone
//! number finished in a browser ([`verify_redirect`]): Vipps signs it ES256, so there `alg` may
//! be `RS256` or `ES256`, exactly, and each looks only at JWKS keys of its own type (RSA for
//! RS256, P-256 for ES256), so no key is ever used with another algorithm. Claims are typed: a claim of the wrong JSON type is a
//! malformed token, not a coercion.
//!
//! jwt-compact parses the token and its claims; the signature math is the runtime's
//! ([`Platform::verify_rs256`], [`Platform::verify_es256`]: WebCrypto in the Worker, the Rust
//! crates in the testkit). A runtime that cannot decide is a refusal, never an acceptance.

use super::jwks::Jwks;
use crate::platform::Platform;
use crate::error::{Code, Error};
use crate::util::{b64url, ct_eq, sha256};
use jwt_compact::UntrustedToken;
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
    /// Login from phone number finished in a browser: the login it belongs to.
    #[serde(default)]
    pub auth_req_id: Option<String>,
    /// The same, as one of Vipps' examples spells it.
    #[serde(default, rename = "authReqId")]
    pub auth_req_id_camel: Option<String>,
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
    sub: String,
    claims: IdTokenClaims,
}

impl VerifiedIdToken {
    /// The subject, present and checked.
    pub fn sub(&self) -> &str {
        &self.sub
    }
    /// Every claim read from the token (`acr`, `auth_time`, `sid`...).
    pub fn claims(&self) -> &IdTokenClaims {
        &self.claims
    }
    /// `auth_req_id` (or `authReqId`); `None` when absent, or when both are there and differ.
    pub fn auth_req_id(&self) -> Option<&str> {
        match (self.claims.auth_req_id.as_deref(), self.claims.auth_req_id_camel.as_deref()) {
            (Some(a), Some(b)) if a != b => None,
            (a, b) => a.or(b),
        }
    }
}

/// Which signature algorithms a flow accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algs {
    /// Every ID token of the browser flow and the CIBA poll.
    Rs256,
    /// `login_to_webpage`: ES256 as Vipps documents it, RS256 tolerated.
    Rs256OrEs256,
}

fn err(code: Code, detail: &str) -> Error {
    Error::new(code, detail)
}

/// Validates `token` against `jwks` and `expected`: RS256 only, `nonce` required.
pub async fn verify<P: Platform>(p: &P, token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<VerifiedIdToken, Error> {
    verify_with(p, token, jwks, expected, Algs::Rs256, true).await
}

/// The ID token of a login from phone number finished in a browser (`login_to_webpage`):
/// ES256 (or RS256), every other check as [`verify`], except `nonce`: the login, and so the
/// nonce sent with it, is known only from the verified token's `auth_req_id`; the caller then
/// checks both ([`check_nonce_if_present`]).
pub async fn verify_redirect<P: Platform>(p: &P, token: &str, jwks: &Jwks, expected: &Expected<'_>) -> Result<VerifiedIdToken, Error> {
    verify_with(p, token, jwks, expected, Algs::Rs256OrEs256, false).await
}

/// `login_to_webpage`, OIDC Core §3.1.3.7 step 11 once the login is known: the token's `nonce`,
/// when it has one, must be the one sent with the start.
pub fn check_nonce_if_present(token: &VerifiedIdToken, sent: &str) -> Result<(), Error> {
    match token.claims.nonce.as_deref() {
        None | Some("") => Ok(()),
        Some(n) if ct_eq(n.as_bytes(), sent.as_bytes()) => Ok(()),
        Some(_) => Err(err(Code::IdTokenNonce, "nonce differs from the one sent with the start")),
    }
}

async fn verify_with<P: Platform>(
    p: &P,
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
    algs: Algs,
    nonce_required: bool,
) -> Result<VerifiedIdToken, Error> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(err(Code::IdTokenMalformed, "token too long"));
    }
    let untrusted = UntrustedToken::new(token).map_err(|_| err(Code::IdTokenMalformed, "not a JWS compact token"))?;
    let kid = untrusted.header().key_id.as_deref();
    // The JWS signing input: everything before the last dot, as received (RFC 7515 §5.2).
    let data = token.rsplit_once('.').map(|(d, _)| d).unwrap_or_default().as_bytes();
    let signature = untrusted.signature_bytes();

    // 7. alg must be one we expect, compared exactly: no `none`, `NONE`, `HS256`, `rs256`.
    // 6. Validate the signature with the key the JWKS names by kid, of the algorithm's type.
    let verdict = match (untrusted.algorithm(), algs) {
        ("RS256", _) => {
            let key = jwks.select(kid)?;
            p.verify_rs256(&key.n_b64, &key.e_b64, data, signature).await
        }
        ("ES256", Algs::Rs256OrEs256) => {
            let key = jwks.select_ec(kid)?;
            // RFC 7518 §3.4: `r || s`, 64 bytes (a DER signature is refused as it stands).
            if signature.len() != 64 {
                return Err(err(Code::IdTokenSignature, "not a 64-byte ES256 signature"));
            }
            p.verify_es256(&key.x_b64, &key.y_b64, data, signature).await
        }
        (alg, _) => {
            let want = if algs == Algs::Rs256 { "RS256" } else { "RS256 or ES256" };
            return Err(Error::new(Code::IdTokenAlgorithm, format!("alg {:?} is not {want}", crate::oidc::safe_code(alg))));
        }
    };
    match verdict {
        Some(true) => {}
        Some(false) => return Err(err(Code::IdTokenSignature, "signature does not verify")),
        None => return Err(err(Code::IdTokenSignature, "the runtime's crypto could not check the signature (key refused)")),
    }
    // The signature verified; the claims are read only now.
    let claims = untrusted
        .deserialize_claims_unchecked::<IdTokenClaims>()
        .map_err(|_| err(Code::IdTokenMalformed, "claims are not the expected JSON types"))?;
    check_claims(claims, expected, nonce_required)
}

/// The claims of a token whose signature verified, OIDC Core §3.1.3.7.
fn check_claims(claims: jwt_compact::Claims<IdTokenClaims>, expected: &Expected<'_>, nonce_required: bool) -> Result<VerifiedIdToken, Error> {
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
    // 11. nonce must equal the one we sent for this browser's transaction (login_to_webpage:
    // when the token has one).
    match c.nonce.as_deref() {
        Some(n) if ct_eq(n.as_bytes(), expected.nonce.as_bytes()) => {}
        _ if !nonce_required => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{at_hash, jwk, keys, raw_token, sign, ISSUER, SUB};
    use serde_json::{json, Value};

    const NOW: u64 = 1_700_000_000;

    fn jwks_of(values: Vec<Value>) -> Jwks {
        super::super::jwks::parse(&json!({"keys": values}).to_string()).unwrap()
    }
    fn one_key() -> Jwks {
        jwks_of(vec![jwk(&keys()[0], "public:k0")])
    }
    fn claims() -> Value {
        json!({"iss": ISSUER, "sub": SUB, "aud": ["client-1"], "exp": NOW + 3600, "iat": NOW,
               "auth_time": NOW, "nonce": "n-123456789", "sid": "s", "jti": "j", "at_hash": at_hash("at")})
    }
    fn expected() -> Expected<'static> {
        Expected { issuer: ISSUER, client_id: "client-1", nonce: "n-123456789", access_token: Some("at"), now: NOW }
    }
    fn check(c: Value) -> Result<VerifiedIdToken, Error> {
        both(&sign(&keys()[0], Some("public:k0"), &c), &one_key())
    }
    /// Verifies with the fake platform's crypto (the Rust crates standing in for WebCrypto).
    fn both(token: &str, jwks: &Jwks) -> Result<VerifiedIdToken, Error> {
        crate::testkit::block_on(verify(&crate::testkit::FakePlatform::default(), token, jwks, &expected()))
    }
    fn redirect(token: &str, jwks: &Jwks) -> Result<VerifiedIdToken, Error> {
        crate::testkit::block_on(verify_redirect(&crate::testkit::FakePlatform::default(), token, jwks, &expected()))
    }
    fn code_of(c: Value) -> Code {
        check(c).unwrap_err().code
    }
    fn with(f: impl Fn(&mut Value)) -> Value {
        let mut c = claims();
        f(&mut c);
        c
    }

    #[test]
    fn accepts_a_vipps_shaped_token() {
        let t = check(claims()).unwrap();
        assert_eq!(t.sub(), SUB);
        // aud as a plain string and as a one-element array both pass.
        assert!(check(with(|c| c["aud"] = json!("client-1"))).is_ok());
        // Without a kid, a single key is used.
        assert!(both(&sign(&keys()[0], None, &claims()), &one_key()).is_ok());
    }

    #[test]
    fn refuses_each_failed_check_with_its_code() {
        // Each case by name: one failure does not hide the others.
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Mutation, Code)> = vec![
            ("iss of another issuer", Box::new(|c| c["iss"] = json!("https://evil.example/")), Code::IdTokenIssuer),
            ("iss without its trailing slash", Box::new(|c| c["iss"] = json!(ISSUER.trim_end_matches('/'))), Code::IdTokenIssuer),
            ("iss missing", Box::new(|c| { c.as_object_mut().unwrap().remove("iss"); }), Code::IdTokenIssuer),
            ("aud without us", Box::new(|c| c["aud"] = json!(["other"])), Code::IdTokenAudience),
            ("aud missing", Box::new(|c| { c.as_object_mut().unwrap().remove("aud"); }), Code::IdTokenAudience),
            ("several aud, no azp", Box::new(|c| c["aud"] = json!(["client-1", "other"])), Code::IdTokenAzp),
            ("azp of another client", Box::new(|c| c["azp"] = json!("other")), Code::IdTokenAzp),
            ("exp passed beyond leeway", Box::new(|c| c["exp"] = json!(NOW - LEEWAY_SECS - 1)), Code::IdTokenExpired),
            ("exp missing", Box::new(|c| { c.as_object_mut().unwrap().remove("exp"); }), Code::IdTokenExpired),
            ("iat missing", Box::new(|c| { c.as_object_mut().unwrap().remove("iat"); }), Code::IdTokenIssuedAt),
            ("iat in the future", Box::new(|c| c["iat"] = json!(NOW + LEEWAY_SECS + 10)), Code::IdTokenIssuedAt),
            ("iat a day old", Box::new(|c| c["iat"] = json!(NOW - 86_400)), Code::IdTokenIssuedAt),
            ("nbf in the future", Box::new(|c| c["nbf"] = json!(NOW + 3000)), Code::IdTokenNotYetValid),
            ("nonce of another login", Box::new(|c| c["nonce"] = json!("other-nonce")), Code::IdTokenNonce),
            ("nonce empty", Box::new(|c| c["nonce"] = json!("")), Code::IdTokenNonce),
            ("nonce missing", Box::new(|c| { c.as_object_mut().unwrap().remove("nonce"); }), Code::IdTokenNonce),
            ("sub missing", Box::new(|c| { c.as_object_mut().unwrap().remove("sub"); }), Code::IdTokenSubject),
            ("sub empty", Box::new(|c| c["sub"] = json!("")), Code::IdTokenSubject),
            ("at_hash of another token", Box::new(|c| c["at_hash"] = json!(at_hash("other"))), Code::IdTokenAtHash),
        ];
        let failed: Vec<String> = cases
            .into_iter()
            .filter_map(|(name, mutate, want)| {
                let got = code_of(with(mutate));
                (got != want).then(|| format!("{name}: expected {want}, got {got}"))
            })
            .collect();
        assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
        assert!(check(with(|c| { c["aud"] = json!(["client-1", "other"]); c["azp"] = json!("client-1"); })).is_ok());
        assert!(check(with(|c| c["exp"] = json!(NOW - LEEWAY_SECS + 5))).is_ok());
    }

    #[test]
    fn wrong_json_types_are_malformed() {
        assert_eq!(code_of(with(|c| c["sub"] = json!(42))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["exp"] = json!("tomorrow"))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!({"a": 1}))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!(5))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!(true))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!(["client-1", 5]))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!([["client-1"]]))), Code::IdTokenMalformed);
        assert_eq!(code_of(with(|c| c["aud"] = json!(null))), Code::IdTokenAudience, "null reads as absent, as before");
        assert_eq!(code_of(with(|c| c["nonce"] = json!(["n-123456789"]))), Code::IdTokenMalformed);
    }

    #[test]
    fn signature_and_key_selection() {
        // Signed by a key the JWKS does not hold, under a known kid: bad signature.
        let forged = sign(&keys()[1], Some("public:k0"), &claims());
        assert_eq!(both(&forged, &one_key()).unwrap_err().code, Code::IdTokenSignature);
        // Unknown kid: the caller may refetch the JWKS once.
        let rotated = sign(&keys()[1], Some("public:k1"), &claims());
        assert_eq!(both(&rotated, &one_key()).unwrap_err().code, Code::IdTokenUnknownKey);
        let two = jwks_of(vec![jwk(&keys()[0], "public:k0"), jwk(&keys()[1], "public:k1")]);
        assert!(both(&rotated, &two).is_ok());
        // No kid with several keys: refused (OIDC Core §10.1).
        let no_kid = sign(&keys()[0], None, &claims());
        assert_eq!(both(&no_kid, &two).unwrap_err().code, Code::IdTokenUnknownKey);
        // A token cut and re-glued with other claims fails.
        let good = sign(&keys()[0], Some("public:k0"), &claims());
        let parts: Vec<&str> = good.split('.').collect();
        let other = crate::util::b64url(with(|c| c["sub"] = json!("attacker")).to_string().as_bytes());
        let spliced = format!("{}.{}.{}", parts[0], other, parts[2]);
        assert_eq!(both(&spliced, &one_key()).unwrap_err().code, Code::IdTokenSignature);
    }

    #[test]
    fn algorithm_confusion_is_refused() {
        for alg in ["none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512", "RS384", "PS256", "ES256", "rs256"] {
            let t = raw_token(&json!({"alg": alg, "kid": "public:k0", "typ": "JWT"}), &claims(), if alg.eq_ignore_ascii_case("none") { b"" } else { b"sig" });
            assert_eq!(both(&t, &one_key()).unwrap_err().code, Code::IdTokenAlgorithm, "{alg}");
        }
        // HS256 "signed" with the RSA public key bytes as the HMAC secret.
        let n = jwk(&keys()[0], "k")["n"].as_str().unwrap().to_string();
        let header = json!({"alg": "HS256", "kid": "public:k0"});
        let signing_input = format!("{}.{}", crate::util::b64url(header.to_string().as_bytes()), crate::util::b64url(claims().to_string().as_bytes()));
        let mac = crate::util::hmac_sha256(n.as_bytes(), &[signing_input.as_bytes()]);
        let t = format!("{signing_input}.{}", crate::util::b64url(&mac));
        assert_eq!(both(&t, &one_key()).unwrap_err().code, Code::IdTokenAlgorithm);
        assert_eq!(both("a.b", &one_key()).unwrap_err().code, Code::IdTokenMalformed);
        assert_eq!(both(&"a".repeat(MAX_TOKEN_LEN + 1), &one_key()).unwrap_err().code, Code::IdTokenMalformed);
    }

    #[test]
    fn hostile_jwks_contents_are_ignored() {
        let good = jwk(&keys()[0], "public:k0");
        let mut private = jwk(&keys()[1], "public:k1");
        private["d"] = json!("AQAB");
        let mut enc = jwk(&keys()[1], "public:enc");
        enc["use"] = json!("enc");
        let mut hs = jwk(&keys()[1], "public:hs");
        hs["alg"] = json!("HS256");
        // Members of the wrong JSON type skip the key (a private part in any form too); null
        // reads as absent.
        let mut typed: Vec<Value> = Vec::new();
        for (member, value) in [("kid", json!(5)), ("use", json!(["sig"])), ("alg", json!({"a": 1})), ("n", json!(7)), ("e", json!(true)), ("d", json!(1)), ("p", json!({}))] {
            let mut k = jwk(&keys()[1], "public:typed");
            k[member] = value;
            typed.push(k);
        }
        let mut null_use = jwk(&keys()[1], "public:null-use");
        null_use["use"] = Value::Null;
        null_use["d"] = Value::Null;
        typed.extend([null_use, jwk(&keys()[0], "public:k0")]);
        let set = super::super::jwks::parse(&json!({"keys": typed}).to_string()).unwrap();
        assert_eq!(set.keys.iter().map(|k| k.kid.as_deref()).collect::<Vec<_>>(), [Some("public:null-use"), Some("public:k0")]);
        let set = super::super::jwks::parse(&json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "public:k0"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"},
            private, enc, hs, {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "weak"}, {"kty": 5}, "string", good
        ]}).to_string()).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("public:k0"));
        // The oct key sharing the kid must not be chosen; the RSA one verifies.
        assert!(check(claims()).is_ok());
        assert!(both(&sign(&keys()[0], Some("public:k0"), &claims()), &set).is_ok());
        // Thousands of junk keys before the real one: skipped cheaply, the real key is found.
        let mut many: Vec<Value> = (0..5000).map(|i| json!({"kty": "oct", "k": "c2VjcmV0", "kid": format!("k{i}")})).collect();
        assert!(super::super::jwks::parse(&json!({"keys": many.clone()}).to_string()).is_err());
        many.push(jwk(&keys()[0], "public:k0"));
        let set = super::super::jwks::parse(&json!({"keys": many}).to_string()).unwrap();
        assert_eq!(set.keys.len(), 1);
        // At most MAX_KEYS RSA keys are kept, however many are published.
        let rsa: Vec<Value> = (0..100).map(|i| jwk(&keys()[i % 2], &format!("k{i}"))).collect();
        assert_eq!(super::super::jwks::parse(&json!({"keys": rsa}).to_string()).unwrap().keys.len(), super::super::jwks::MAX_KEYS);
        // Duplicate kids: ambiguous, refused.
        let dup = jwks_of(vec![jwk(&keys()[0], "public:k0"), jwk(&keys()[1], "public:k0")]);
        assert_eq!(both(&sign(&keys()[0], Some("public:k0"), &claims()), &dup).unwrap_err().code, Code::IdTokenUnknownKey);
    }

    mod redirect {
        use super::*;
        use crate::testkit::{ec_jwk, ec_key, sign_es256};

        fn set() -> Jwks {
            jwks_of(vec![jwk(&keys()[0], "public:k0"), ec_jwk(&ec_key(0), "public:ec0")])
        }
        fn es(c: &Value) -> String {
            sign_es256(&ec_key(0), Some("public:ec0"), c)
        }
        fn code(t: &str) -> Code {
            redirect(t, &set()).unwrap_err().code
        }

        #[test]
        fn es256_and_rs256_by_the_jwks_key() {
            let mut c = claims();
            c["auth_req_id"] = json!("req-1");
            let t = redirect(&es(&c), &set()).unwrap();
            assert_eq!((t.sub(), t.auth_req_id()), (SUB, Some("req-1")));
            assert!(redirect(&sign(&keys()[0], Some("public:k0"), &c), &set()).is_ok());
            // The browser flow stays RS256-only.
            assert_eq!(both(&es(&c), &set()).unwrap_err().code, Code::IdTokenAlgorithm);
            // authReqId as one example spells it; both present and different: none.
            let camel = with(|c| c["authReqId"] = json!("req-2"));
            assert_eq!(redirect(&es(&camel), &set()).unwrap().auth_req_id(), Some("req-2"));
            let both = with(|c| { c["authReqId"] = json!("req-2"); c["auth_req_id"] = json!("req-3"); });
            assert_eq!(redirect(&es(&both), &set()).unwrap().auth_req_id(), None);
            // nonce: checked by the caller once the login is known, when present.
            let none = redirect(&es(&with(|c| { c.as_object_mut().unwrap().remove("nonce"); })), &set()).unwrap();
            assert!(check_nonce_if_present(&none, "n-123456789").is_ok());
            let other = redirect(&es(&with(|c| c["nonce"] = json!("other"))), &set()).unwrap();
            assert_eq!(check_nonce_if_present(&other, "n-123456789").unwrap_err().code, Code::IdTokenNonce);
            assert!(check_nonce_if_present(&t, "n-123456789").is_ok());
            // The other checks still apply.
            assert_eq!(code(&es(&with(|c| c["iss"] = json!("https://evil.example/")))), Code::IdTokenIssuer);
            assert_eq!(code(&es(&with(|c| c["exp"] = json!(NOW - 3600)))), Code::IdTokenExpired);
        }

        #[test]
        fn bad_signatures_and_alg_games() {
            let c = claims();
            // Signed by another P-256 key under the known kid.
            assert_eq!(code(&sign_es256(&ec_key(1), Some("public:ec0"), &c)), Code::IdTokenSignature);
            // A flipped signature byte.
            let good = es(&c);
            let (head, sig) = good.rsplit_once('.').unwrap();
            let mut raw = crate::util::b64url_decode(sig).unwrap();
            raw[10] ^= 0xff;
            assert_eq!(code(&format!("{head}.{}", crate::util::b64url(&raw))), Code::IdTokenSignature);
            // An ES256 token naming the RSA key's kid, an RS256 token naming the EC key's kid.
            assert_eq!(code(&sign_es256(&ec_key(0), Some("public:k0"), &c)), Code::IdTokenUnknownKey);
            assert_eq!(code(&sign(&keys()[0], Some("public:ec0"), &c)), Code::IdTokenUnknownKey);
            // alg spellings and relatives.
            for alg in ["none", "es256", "ES384", "ES512", "ES256K", "HS256", "PS256", "EdDSA", "RS256 "] {
                let t = raw_token(&json!({"alg": alg, "kid": "public:ec0"}), &c, b"sig");
                assert_eq!(code(&t), Code::IdTokenAlgorithm, "{alg}");
            }
            // HS256 keyed with the EC key's x coordinate.
            let x = ec_jwk(&ec_key(0), "k")["x"].as_str().unwrap().to_string();
            let header = json!({"alg": "HS256", "kid": "public:ec0"});
            let input = format!("{}.{}", crate::util::b64url(header.to_string().as_bytes()), crate::util::b64url(c.to_string().as_bytes()));
            let mac = crate::util::hmac_sha256(x.as_bytes(), &[input.as_bytes()]);
            assert_eq!(code(&format!("{input}.{}", crate::util::b64url(&mac))), Code::IdTokenAlgorithm);
            // A DER-encoded signature (the wrong length for JWS): refused.
            assert_eq!(code(&format!("{head}.{}", crate::util::b64url(&[0x30; 70]))), Code::IdTokenSignature);
        }

        #[test]
        fn hostile_ec_keys_are_skipped() {
            let mut private = ec_jwk(&ec_key(0), "priv");
            private["d"] = json!("AQAB");
            let mut other_curve = ec_jwk(&ec_key(0), "p384");
            other_curve["crv"] = json!("P-384");
            let mut wrong_alg = ec_jwk(&ec_key(0), "hs");
            wrong_alg["alg"] = json!("HS256");
            let mut typed: Vec<Value> = [("kid", json!(1)), ("crv", json!(256)), ("x", json!([1])), ("y", json!(null)), ("use", json!(false)), ("d", json!(0))]
                .into_iter()
                .map(|(member, value)| {
                    let mut k = ec_jwk(&ec_key(0), "typed");
                    k[member] = value;
                    k
                })
                .collect();
            typed.extend([jwk(&keys()[0], "public:k0"), ec_jwk(&ec_key(0), "fine")]);
            let ok = super::super::super::jwks::parse(&json!({"keys": typed}).to_string()).unwrap();
            assert_eq!(ok.ec_keys.iter().map(|k| k.kid.as_deref()).collect::<Vec<_>>(), [Some("fine")], "a wrongly typed member skips the key");
            let set = super::super::super::jwks::parse(&json!({"keys": [
                jwk(&keys()[0], "public:k0"), private, other_curve, wrong_alg,
                {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "short"},
                {"kty": "EC", "crv": "P-256", "x": crate::util::b64url(&[1; 32]), "y": crate::util::b64url(&[2; 32]), "kid": "off-curve"},
            ]}).to_string()).unwrap();
            // A point off the curve is kept (the runtime's import is what checks the curve), and
            // nothing verifies with it: the import fails, and that is a refusal.
            assert_eq!(set.ec_keys.iter().map(|k| k.kid.as_deref()).collect::<Vec<_>>(), [Some("off-curve")]);
            let t = sign_es256(&ec_key(0), Some("off-curve"), &claims());
            assert_eq!(redirect(&t, &set).unwrap_err().code, Code::IdTokenSignature);
        }

        #[test]
        fn a_runtime_that_cannot_decide_refuses() {
            // WebCrypto refusing the key or failing is `None`: refused as a bad signature.
            let p = crate::testkit::FakePlatform::default();
            p.runtime_crypto_broken.set(true);
            let mut c = claims();
            c["auth_req_id"] = json!("req-1");
            let rs = sign(&keys()[0], Some("public:k0"), &c);
            let es = sign_es256(&ec_key(0), Some("public:ec0"), &c);
            assert!(redirect(&rs, &set()).is_ok() && redirect(&es, &set()).is_ok());
            let refused = |r: Result<VerifiedIdToken, Error>| r.unwrap_err().code;
            assert_eq!(refused(crate::testkit::block_on(verify(&p, &rs, &set(), &expected()))), Code::IdTokenSignature);
            assert_eq!(refused(crate::testkit::block_on(verify_redirect(&p, &rs, &set(), &expected()))), Code::IdTokenSignature);
            assert_eq!(refused(crate::testkit::block_on(verify_redirect(&p, &es, &set(), &expected()))), Code::IdTokenSignature);
        }
    }
}
