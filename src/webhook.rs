//! The consent-revocation webhook body (important-information.txt, "Consent webhooks").
//!
//! Vipps POSTs `text/plain` holding a JWT whose payload is
//! `{"exp", "iat", "nbf", "sub", "event": "CONSENT_REVOKED"}`. Today the JWT is unsigned
//! (`"alg": "none"`), "no more secure than a regular JSON": the endpoint is authenticated by
//! its unguessable path, and the body is parsed as untrusted input. Should Vipps start signing
//! (the stated reason for the JWT format), an `RS256` token is verified against the provider's
//! JWKS by [`crate::app`]; any other algorithm is refused.
//!
//! Parsing is strict about shape and types and bounded in size; it never panics.

use crate::config::ConsentWebhook;
use crate::error::{Code, Error};
use crate::http::OutboundRequest;
use crate::oidc::jwks::Jwks;
use crate::util::{b64url, b64url_decode, hmac_sha256, sha256};
use jwt_compact::alg::Rsa;
use jwt_compact::{AlgorithmExt, UntrustedToken};
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
pub enum Protection {
    /// `alg: none` with an empty signature: as Vipps sends it today.
    Unsigned,
    /// `alg: RS256`: to be verified against the JWKS (the whole compact token is kept).
    Rs256 { token: String },
}

/// The body, parsed but with claims not yet checked against the clock.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub protection: Protection,
    pub claims: Map<String, Value>,
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
pub fn parse(body: &[u8]) -> Result<Parsed, Error> {
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
    Ok(Parsed { protection, claims })
}

/// A claim that must be a non-negative whole number when present.
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, Error> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| malformed(&format!("{name} is not a whole number of seconds"))),
    }
}

/// Checks the claims against the clock and extracts the event.
pub fn check(claims: &Map<String, Value>, now: u64) -> Result<Event, Error> {
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
pub fn verify_rs256(token: &str, jwks: &Jwks, issuer: &str) -> Result<(), Error> {
    let untrusted = UntrustedToken::new(token).map_err(|_| malformed("not a JWS compact token"))?;
    if untrusted.algorithm() != "RS256" {
        return Err(Error::new(Code::WebhookAlgorithm, "alg is not RS256"));
    }
    let key = jwks
        .select(untrusted.header().key_id.as_deref())
        .map_err(|e| Error::new(Code::WebhookSignature, format!("no key: {}", e.code)))?;
    let verified = Rsa::rs256()
        .validator::<Map<String, Value>>(key.key.as_ref())
        .validate(&untrusted)
        .map_err(|_| Error::new(Code::WebhookSignature, "signature does not verify"))?;
    match verified.claims().custom.get("iss") {
        None => Ok(()),
        Some(Value::String(i)) if i == issuer => Ok(()),
        Some(_) => Err(Error::new(Code::WebhookSignature, "iss is not the provider's issuer")),
    }
}

/// Header names of a forwarded notification.
pub const SIGNATURE_HEADER: &str = "vipps-edge-signature";
pub const TIMESTAMP_HEADER: &str = "vipps-edge-timestamp";

/// The signed JSON notification to the operator's `CONSENT_WEBHOOK_FORWARD` target:
/// body `{"event", "sub", "revoked_at", "id"}`; `Vipps-Edge-Signature: v1=<hex HMAC-SHA256>`
/// over `"{timestamp}.{body}"` keyed with the first `CONSENT_WEBHOOK_SECRET`; `Idempotency-Key`
/// is the same for redeliveries of one event.
pub fn forward_request(hook: &ConsentWebhook, target: &url::Url, sub: &str, revoked_at: u64, now: u64) -> OutboundRequest {
    let id = b64url(&sha256(format!("{CONSENT_REVOKED}|{sub}|{revoked_at}").as_bytes())[..16]);
    let body = serde_json::json!({"event": CONSENT_REVOKED, "sub": sub, "revoked_at": revoked_at, "id": id}).to_string();
    let ts = now.to_string();
    let key = hook.secrets.first().map(|s| s.expose().as_bytes()).unwrap_or_default();
    let mac = hmac_sha256(key, &[ts.as_bytes(), b".", body.as_bytes()]);
    OutboundRequest {
        method: "POST",
        url: target.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (TIMESTAMP_HEADER.into(), ts),
            (SIGNATURE_HEADER.into(), format!("v1={}", crate::util::hex(&mac))),
            ("idempotency-key".into(), id),
        ],
        body: Some(body),
    }
}

/// A short, stable, non-reversible handle for a `sub`, for log lines and store keys.
pub fn sub_handle(sub: &str) -> String {
    crate::util::b64url(&sha256(sub.as_bytes())[..12])
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
        assert_eq!(code(""), Code::WebhookMalformed);
        assert_eq!(code("{\"sub\":\"x\"}"), Code::WebhookMalformed);
        assert_eq!(code("a.b"), Code::WebhookMalformed);
        assert_eq!(code("a.b.c.d"), Code::WebhookMalformed);
        assert_eq!(code(&with("exp", Value::Null)), Code::WebhookExpired);
        assert_eq!(code(&with("exp", json!(NOW - 1000))), Code::WebhookExpired);
        assert_eq!(code(&with("exp", json!("soon"))), Code::WebhookMalformed);
        assert_eq!(code(&with("exp", json!(NOW + 10 * 86_400))), Code::WebhookMalformed);
        assert_eq!(code(&with("nbf", json!(NOW + 3600))), Code::WebhookNotYetValid);
        assert_eq!(code(&with("iat", json!(NOW + 3600))), Code::WebhookNotYetValid);
        assert_eq!(code(&with("iat", json!(-5))), Code::WebhookMalformed);
        assert_eq!(code(&with("sub", Value::Null)), Code::WebhookMalformed);
        assert_eq!(code(&with("sub", json!(""))), Code::WebhookMalformed);
        assert_eq!(code(&with("sub", json!(42))), Code::WebhookMalformed);
        assert_eq!(code(&with("sub", json!("a b"))), Code::WebhookMalformed);
        assert_eq!(code(&with("sub", json!("x".repeat(256)))), Code::WebhookMalformed);
        assert_eq!(code(&with("event", Value::Null)), Code::WebhookMalformed);
        assert_eq!(code(&with("event", json!(["CONSENT_REVOKED"]))), Code::WebhookMalformed);
        // Algorithms: only none (unsigned, empty signature) and RS256 (signed).
        for alg in ["None", "NONE", "HS256", "ES256", "PS256"] {
            assert_eq!(code(&token(json!({"alg": alg}), vipps_claims(), "c2ln")), Code::WebhookAlgorithm, "{alg}");
        }
        assert_eq!(code(&token(json!({"alg": "none"}), vipps_claims(), "c2ln")), Code::WebhookMalformed);
        assert_eq!(code(&token(json!({"typ": "JWT"}), vipps_claims(), "")), Code::WebhookMalformed);
        assert_eq!(code(&token(json!({"alg": "none"}), json!([1, 2]), "")), Code::WebhookMalformed);
        assert_eq!(code(&"x".repeat(MAX_BODY + 1)), Code::WebhookTooLarge);
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
    }

    #[test]
    fn forwarded_notification_is_signed_and_idempotent() {
        let secret = "0123456789abcdef0123456789abcdef";
        let c = crate::config::tests::parse(&[
            ("CONSENT_WEBHOOK_SECRET", secret),
            ("CONSENT_WEBHOOK_FORWARD", "https://crm.example/hooks/vipps"),
        ])
        .unwrap();
        let hook = c.consent_webhook.as_ref().unwrap();
        let target = hook.forward.as_ref().unwrap();
        let a = forward_request(hook, target, SUB, NOW, NOW + 10);
        let b = forward_request(hook, target, SUB, NOW, NOW + 99);
        assert_eq!(a.method, "POST");
        assert_eq!(a.url, "https://crm.example/hooks/vipps");
        let body: Value = serde_json::from_str(a.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["event"], "CONSENT_REVOKED");
        assert_eq!(body["sub"], SUB);
        assert_eq!(body["revoked_at"], NOW);
        let h = |r: &OutboundRequest, n: &str| crate::http::header(&r.headers, n).unwrap().to_string();
        assert_eq!(h(&a, "idempotency-key"), h(&b, "idempotency-key"));
        assert_eq!(h(&a, "idempotency-key"), body["id"].as_str().unwrap());
        // The receiver recomputes the MAC from the timestamp header and the raw body.
        let mac = hmac_sha256(secret.as_bytes(), &[h(&a, TIMESTAMP_HEADER).as_bytes(), b".", a.body.as_deref().unwrap().as_bytes()]);
        assert_eq!(h(&a, SIGNATURE_HEADER), format!("v1={}", crate::util::hex(&mac)));
        assert_eq!(h(&a, TIMESTAMP_HEADER), (NOW + 10).to_string());
    }

    #[test]
    fn sub_handle_is_stable_and_does_not_contain_the_sub() {
        assert_eq!(sub_handle(SUB), sub_handle(SUB));
        assert_ne!(sub_handle(SUB), sub_handle("other"));
        assert!(!sub_handle(SUB).contains("c9d1"));
        assert_eq!(sub_handle(SUB).len(), 16);
    }
}
