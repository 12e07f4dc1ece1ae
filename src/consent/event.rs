//! The consent-revocation webhook body (important-information.txt, "Consent webhooks").
//!
//! Vipps POSTs `text/plain` holding a JWT whose payload is
//! `{"exp", "iat", "nbf", "sub", "event": "CONSENT_REVOKED"}`. Today the JWT is unsigned
//! (`"alg": "none"`), "no more secure than a regular JSON": the endpoint is authenticated by
//! its unguessable path, and the body is parsed as untrusted input. Should Vipps start signing
//! (the stated reason for the JWT format), an `RS256` token is verified against the provider's
//! JWKS by [`UntrustedEvent::verify`] (the signature math is the runtime's crypto,
//! [`Platform::verify_rs256`]); any other algorithm is refused.
//!
//! Parsing is strict about shape and types and bounded in size; it never panics. The claims
//! are reachable only through [`UntrustedEvent::verify`]: signature (when signed) and clock
//! checks come first, and what comes out is an [`Event`].

use crate::error::{Code, Error};
use crate::oidc::jwks::Jwks;
use crate::platform::Platform;
use crate::util::b64url_decode;
use jwt_compact::UntrustedToken;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Longest body we read. Vipps' token is about 250 bytes.
pub const MAX_BODY: usize = 8 * 1024;
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 120;
/// Vipps sets `exp` = `iat` + 300. A token valid for longer than this is refused: it would be a
/// replayable revocation for that long.
pub const MAX_LIFETIME_SECS: u64 = 86_400;
/// The one event Vipps documents.
pub const CONSENT_REVOKED: &str = "CONSENT_REVOKED";

/// How the token claims to be protected.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Protection {
    /// `alg: none` with an empty signature: as Vipps sends it today.
    Unsigned,
    /// `alg: RS256`: to be verified against the JWKS (the whole compact token is kept).
    Rs256 { token: String },
}

/// The body, parsed: its claims are neither verified nor checked against the clock yet, and
/// only [`UntrustedEvent::verify`] gives them out.
#[derive(Debug, Clone)]
pub struct UntrustedEvent {
    protection: Protection,
    claims: Map<String, Value>,
}

/// What a signed event is verified with: the provider's keys and issuer.
pub struct ProviderKeys<'a> {
    pub jwks: &'a Jwks,
    pub issuer: &'a str,
}

impl UntrustedEvent {
    /// Splits and decodes the compact token, refusing what is not a JWT of an accepted `alg`.
    pub fn parse(body: &[u8]) -> Result<UntrustedEvent, Error> {
        parse(body)
    }

    /// Whether verifying needs the provider's keys (the token is signed).
    pub fn is_signed(&self) -> bool {
        matches!(self.protection, Protection::Rs256 { .. })
    }

    /// The event, once the signature (for a signed token, against `keys`) and the clock agree.
    pub async fn verify<P: Platform>(self, p: &P, keys: Option<ProviderKeys<'_>>, now: u64) -> Result<Event, Error> {
        if let Protection::Rs256 { token } = &self.protection {
            let Some(keys) = keys else {
                return Err(Error::new(Code::WebhookSignature, "a signed event needs the provider's keys"));
            };
            verify_rs256(p, token, keys.jwks, keys.issuer).await?;
        }
        check(&self.claims, now)
    }
}

/// What a valid webhook tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The user withdrew consent at `revoked_at` (the token's `iat`, never later than now).
    ConsentRevoked { sub: String, revoked_at: u64 },
    /// A well-formed event of another type: acknowledged and ignored.
    Other { event: String },
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Untrusted text made safe for a log line: a few visible characters, nothing else.
pub fn shown(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || "_-/+.".contains(*c)).take(32).collect()
}

fn malformed(detail: &str) -> Error {
    Error::new(Code::WebhookMalformed, detail)
}

/// Splits and decodes the compact token. Accepts surrounding whitespace (a trailing newline).
fn parse(body: &[u8]) -> Result<UntrustedEvent, Error> {
    if body.len() > MAX_BODY {
        return Err(Error::new(Code::WebhookTooLarge, format!("body over {MAX_BODY} bytes")));
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed("body is not UTF-8"))?.trim();
    if text.is_empty() {
        return Err(malformed("empty body"));
    }
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("not a compact JWT (three dot-separated parts)"));
    };
    let header_bytes = b64url_decode(h).ok_or_else(|| malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| malformed("header is not a JSON object with a string alg"))?;
    let payload = b64url_decode(p).ok_or_else(|| malformed("payload is not base64url"))?;
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(m)) => m,
        _ => return Err(malformed("payload is not a JSON object")),
    };
    let protection = match header.alg.as_str() {
        // Exactly as documented; `None`/`NONE` are not what Vipps sends.
        "none" if s.is_empty() => Protection::Unsigned,
        "none" => return Err(malformed("alg none with a signature part")),
        "RS256" if !s.is_empty() => Protection::Rs256 { token: text.to_string() },
        other => {
            return Err(Error::new(
                Code::WebhookAlgorithm,
                format!("alg {:?} is not accepted (none or RS256)", shown(other)),
            ))
        }
    };
    Ok(UntrustedEvent { protection, claims })
}

/// A claim that must be a non-negative whole number when present.
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, Error> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| malformed(&format!("{name} is not a whole number of seconds"))),
    }
}

/// Checks the claims against the clock and extracts the event.
fn check(claims: &Map<String, Value>, now: u64) -> Result<Event, Error> {
    let exp = seconds(claims, "exp")?.ok_or_else(|| Error::new(Code::WebhookExpired, "exp missing"))?;
    let iat = seconds(claims, "iat")?;
    let nbf = seconds(claims, "nbf")?;
    if now >= exp.saturating_add(LEEWAY_SECS) {
        return Err(Error::new(Code::WebhookExpired, "exp has passed"));
    }
    if exp > now.saturating_add(MAX_LIFETIME_SECS) {
        return Err(malformed("exp is more than a day ahead"));
    }
    if nbf.is_some_and(|t| t > now.saturating_add(LEEWAY_SECS)) || iat.is_some_and(|t| t > now.saturating_add(LEEWAY_SECS)) {
        return Err(Error::new(Code::WebhookNotYetValid, "nbf or iat is in the future"));
    }
    let event = match claims.get("event") {
        Some(Value::String(e)) if !e.is_empty() && e.len() <= 64 => e.as_str(),
        _ => return Err(malformed("event missing or not a short string")),
    };
    if event != CONSENT_REVOKED {
        return Ok(Event::Other { event: shown(event) });
    }
    // Vipps subs are UUIDs; accept any visible ASCII up to OIDC's 255.
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) => s.clone(),
        _ => return Err(malformed("sub missing or invalid")),
    };
    let revoked_at = iat.unwrap_or(now).min(now);
    Ok(Event::ConsentRevoked { sub, revoked_at })
}

/// Verifies a signed (RS256) webhook token against the provider's keys. An `iss`, when present,
/// must be the provider's issuer.
/// A runtime that cannot decide (it refuses the key) is a refusal, as a bad signature.
async fn verify_rs256<P: Platform>(p: &P, token: &str, jwks: &Jwks, issuer: &str) -> Result<(), Error> {
    let untrusted = UntrustedToken::new(token).map_err(|_| malformed("not a JWS compact token"))?;
    if untrusted.algorithm() != "RS256" {
        return Err(Error::new(Code::WebhookAlgorithm, "alg is not RS256"));
    }
    let key = jwks
        .select(untrusted.header().key_id.as_deref())
        .map_err(|e| Error::new(Code::WebhookSignature, format!("no key: {}", e.code)))?;
    let data = token.rsplit_once('.').map(|(d, _)| d).unwrap_or_default();
    match p.verify_rs256(&key.n_b64, &key.e_b64, data.as_bytes(), untrusted.signature_bytes()).await {
        Some(true) => {}
        Some(false) => return Err(Error::new(Code::WebhookSignature, "signature does not verify")),
        None => return Err(Error::new(Code::WebhookSignature, "the runtime's crypto could not check the signature (key refused)")),
    }
    let verified = untrusted
        .deserialize_claims_unchecked::<Map<String, Value>>()
        .map_err(|_| Error::new(Code::WebhookSignature, "signature does not verify"))?;
    match verified.custom.get("iss") {
        None => Ok(()),
        Some(Value::String(i)) if i == issuer => Ok(()),
        Some(_) => Err(Error::new(Code::WebhookSignature, "iss is not the provider's issuer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::b64url;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;
    const SUB: &str = "c9d10444-d992-4850-ac60-9d3502095008";

    pub fn token(header: Value, claims: Value, sig: &str) -> String {
        format!("{}.{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()), sig)
    }
    fn vipps_claims() -> Value {
        json!({"exp": NOW + 300, "iat": NOW, "nbf": NOW, "sub": SUB, "event": "CONSENT_REVOKED"})
    }
    fn unsigned(claims: Value) -> String {
        token(json!({"alg": "none", "typ": "JWT"}), claims, "")
    }
    fn run(body: &str) -> Result<Event, Error> {
        let p = parse(body.as_bytes())?;
        assert_eq!(p.protection, Protection::Unsigned);
        check(&p.claims, NOW + 5)
    }
    fn code(body: &str) -> Code {
        match parse(body.as_bytes()) {
            Err(e) => e.code,
            Ok(p) => check(&p.claims, NOW + 5).unwrap_err().code,
        }
    }

    #[test]
    fn accepts_the_documented_example() {
        let e = run(&unsigned(vipps_claims())).unwrap();
        assert_eq!(e, Event::ConsentRevoked { sub: SUB.into(), revoked_at: NOW });
        // A trailing newline is fine.
        assert!(run(&format!("{}\n", unsigned(vipps_claims()))).is_ok());
    }

    #[test]
    fn other_events_are_recognised_not_acted_on() {
        let mut c = vipps_claims();
        c["event"] = json!("CONSENT_GIVEN");
        assert_eq!(run(&unsigned(c)).unwrap(), Event::Other { event: "CONSENT_GIVEN".into() });
    }

    #[test]
    fn refuses_each_bad_shape_with_its_code() {
        let with = |k: &str, v: Value| {
            let mut c = vipps_claims();
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v;
            }
            unsigned(c)
        };
        // Each case by name: one failure does not hide the others.
        let cases: Vec<(&str, String, Code)> = vec![
            (r#""""#, ("").to_string(), Code::WebhookMalformed),
            (r#""{\"sub\":\"x\"}""#, ("{\"sub\":\"x\"}").to_string(), Code::WebhookMalformed),
            (r#""a.b""#, ("a.b").to_string(), Code::WebhookMalformed),
            (r#""a.b.c.d""#, ("a.b.c.d").to_string(), Code::WebhookMalformed),
            (r#"with("exp", Value::Null)"#, (with("exp", Value::Null)).to_string(), Code::WebhookExpired),
            (r#"with("exp", json!(NOW - 1000))"#, (with("exp", json!(NOW - 1000))).to_string(), Code::WebhookExpired),
            (r#"with("exp", json!("soon"))"#, (with("exp", json!("soon"))).to_string(), Code::WebhookMalformed),
            (r#"with("exp", json!(NOW + 10 * 86_400))"#, (with("exp", json!(NOW + 10 * 86_400))).to_string(), Code::WebhookMalformed),
            (r#"with("nbf", json!(NOW + 3600))"#, (with("nbf", json!(NOW + 3600))).to_string(), Code::WebhookNotYetValid),
            (r#"with("iat", json!(NOW + 3600))"#, (with("iat", json!(NOW + 3600))).to_string(), Code::WebhookNotYetValid),
            (r#"with("iat", json!(-5))"#, (with("iat", json!(-5))).to_string(), Code::WebhookMalformed),
            (r#"with("sub", Value::Null)"#, (with("sub", Value::Null)).to_string(), Code::WebhookMalformed),
            (r#"with("sub", json!(""))"#, (with("sub", json!(""))).to_string(), Code::WebhookMalformed),
            (r#"with("sub", json!(42))"#, (with("sub", json!(42))).to_string(), Code::WebhookMalformed),
            (r#"with("sub", json!("a b"))"#, (with("sub", json!("a b"))).to_string(), Code::WebhookMalformed),
            (r#"with("sub", json!("x".repeat(256)))"#, (with("sub", json!("x".repeat(256)))).to_string(), Code::WebhookMalformed),
            (r#"with("event", Value::Null)"#, (with("event", Value::Null)).to_string(), Code::WebhookMalformed),
            (r#"with("event", json!(["CONSENT_REVOKED"]))"#, (with("event", json!(["CONSENT_REVOKED"]))).to_string(), Code::WebhookMalformed),
            (r#"token(json!({"alg": "none"}), vipps_claims(), "c2ln")"#, (token(json!({"alg": "none"}), vipps_claims(), "c2ln")).to_string(), Code::WebhookMalformed),
            (r#"token(json!({"typ": "JWT"}), vipps_claims(), "")"#, (token(json!({"typ": "JWT"}), vipps_claims(), "")).to_string(), Code::WebhookMalformed),
            (r#"token(json!({"alg": "none"}), json!([1, 2]), "")"#, (token(json!({"alg": "none"}), json!([1, 2]), "")).to_string(), Code::WebhookMalformed),
            (r#""x".repeat(MAX_BODY + 1)"#, ("x".repeat(MAX_BODY + 1)).to_string(), Code::WebhookTooLarge),
        ];
        let failed: Vec<String> = cases
            .iter()
            .filter_map(|(name, body, want)| {
                let got = code(body);
                (got != *want).then(|| format!("{name}: expected {want}, got {got}"))
            })
            .collect();
        assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
        // Algorithms: only none (unsigned, empty signature) and RS256 (signed).
        for alg in ["None", "NONE", "HS256", "ES256", "PS256"] {
            assert_eq!(code(&token(json!({"alg": alg}), vipps_claims(), "c2ln")), Code::WebhookAlgorithm, "{alg}");
        }
        assert_eq!(parse(&[0xff, 0xfe, b'.', b'.']).unwrap_err().code, Code::WebhookMalformed);
    }

    #[test]
    fn rs256_is_handed_on_for_verification() {
        let t = token(json!({"alg": "RS256", "kid": "public:k0"}), vipps_claims(), "c2ln");
        let p = parse(t.as_bytes()).unwrap();
        assert_eq!(p.protection, Protection::Rs256 { token: t });
        // An RS256 header with an empty signature is not a signed token.
        assert_eq!(code(&token(json!({"alg": "RS256"}), vipps_claims(), "")), Code::WebhookAlgorithm);
    }

    #[test]
    fn revoked_at_is_iat_but_never_in_the_future() {
        let mut c = vipps_claims();
        c["iat"] = json!(NOW + 60);
        let p = parse(unsigned(c).as_bytes()).unwrap();
        assert_eq!(check(&p.claims, NOW).unwrap(), Event::ConsentRevoked { sub: SUB.into(), revoked_at: NOW });
        let mut c = vipps_claims();
        c.as_object_mut().unwrap().remove("iat");
        let p = parse(unsigned(c).as_bytes()).unwrap();
        assert_eq!(check(&p.claims, NOW + 7).unwrap(), Event::ConsentRevoked { sub: SUB.into(), revoked_at: NOW + 7 });
    }

    #[test]
    fn rs256_tokens_verify_against_the_jwks() {
        use crate::testkit::{jwk, keys, sign, ISSUER};
        let p = crate::testkit::FakePlatform::default();
        let verify_rs256 = |t: &str, jwks: &Jwks, iss: &str| crate::testkit::block_on(super::verify_rs256(&p, t, jwks, iss));
        let jwks = crate::oidc::jwks::parse(&json!({"keys": [jwk(&keys()[0], "public:k0")]}).to_string()).unwrap();
        let good = sign(&keys()[0], Some("public:k0"), &vipps_claims());
        assert!(verify_rs256(&good, &jwks, ISSUER).is_ok());
        let mut with_iss = vipps_claims();
        with_iss["iss"] = json!(ISSUER);
        assert!(verify_rs256(&sign(&keys()[0], Some("public:k0"), &with_iss), &jwks, ISSUER).is_ok());
        with_iss["iss"] = json!("https://evil.example");
        let e = verify_rs256(&sign(&keys()[0], Some("public:k0"), &with_iss), &jwks, ISSUER).unwrap_err();
        assert_eq!(e.code, Code::WebhookSignature);
        // Signed by another key, or with the payload swapped after signing.
        let e = verify_rs256(&sign(&keys()[1], Some("public:k0"), &vipps_claims()), &jwks, ISSUER).unwrap_err();
        assert_eq!(e.code, Code::WebhookSignature);
        let parts: Vec<&str> = good.split('.').collect();
        let mut other = vipps_claims();
        other["sub"] = json!("someone-else");
        let swapped = format!("{}.{}.{}", parts[0], b64url(other.to_string().as_bytes()), parts[2]);
        assert_eq!(verify_rs256(&swapped, &jwks, ISSUER).unwrap_err().code, Code::WebhookSignature);
        // Unknown kid with several keys: no key to check with.
        let e = verify_rs256(&sign(&keys()[0], Some("public:nope"), &vipps_claims()), &jwks, ISSUER).unwrap_err();
        assert_eq!(e.code, Code::WebhookSignature);
        // The runtime's crypto refusing the key or failing: refused, never accepted.
        let broken = crate::testkit::FakePlatform::default();
        broken.runtime_crypto_broken.set(true);
        let e = crate::testkit::block_on(super::verify_rs256(&broken, &good, &jwks, ISSUER)).unwrap_err();
        assert_eq!(e.code, Code::WebhookSignature);
    }


    #[test]
    fn sub_handle_is_stable_and_does_not_contain_the_sub() {
        use crate::consent::sub_handle;
        assert_eq!(sub_handle(SUB), sub_handle(SUB));
        assert_ne!(sub_handle(SUB), sub_handle("other"));
        assert!(!sub_handle(SUB).contains("c9d1"));
        assert_eq!(sub_handle(SUB).len(), 16);
    }
}
