//! Who the user is, for the origin: `Vipps-Login-Sub`, configured claims as
//! `Vipps-Login-<Claim>` headers, and a signed identity assertion (`Vipps-Login-Assertion`, an
//! RS256 JWT the origin verifies with the Worker's JWKS at `{prefix}/jwks.json`), so an origin
//! that can also be reached directly cannot be fooled by a forged header.
//!
//! Assertion claims: `iss` (the Worker's public origin), `aud` (the origin, or
//! `IDENTITY_ASSERTION_AUDIENCE`), `sub`, `iat`, `nbf`, `exp` (`IDENTITY_ASSERTION_TTL`
//! later), `auth_time` (the login), the session's claims, and `app` (the login hook's claims,
//! which also go out as `Vipps-Login-App-<Name>` headers). Signing costs an RSA operation (the
//! runtime's WebCrypto, [`Platform::sign_rs256`]), so an isolate reuses an assertion for the
//! same session and audience while at least half of its lifetime is left. A key the runtime
//! cannot import or use is a configuration error (`config.invalid`, naming
//! `IDENTITY_ASSERTION_KEYS`): the request is refused, never forwarded without its assertion.

use super::forward::USER_HEADER;
use crate::config::identity::claim_header_name;
use crate::config::Config;
use crate::error::{Code, Error};
use crate::memo::BoundedCache;
use crate::platform::Platform;
use crate::session::Session;
use crate::util::b64url;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// The header that carries the assertion.
pub const ASSERTION_HEADER: &str = "vipps-login-assertion";
/// Assertions an isolate keeps for reuse (forgotten all at once when full).
const MAX_CACHED: usize = 10_000;

/// Signed assertions of this isolate, by session and audience, and the configured keys as the
/// runtime read them.
pub struct Assertions {
    cache: BoundedCache<[u8; 32], (String, u64)>,
    published: RefCell<Option<Rc<Vec<Published>>>>,
}

impl Default for Assertions {
    fn default() -> Self {
        Assertions { cache: BoundedCache::new(MAX_CACHED), published: RefCell::new(None) }
    }
}

/// A configured key as the runtime read it: its `kid` (RFC 7638 thumbprint) and public JWK.
#[derive(Debug, Clone)]
pub struct Published {
    pub kid: String,
    /// `{"kty":"RSA","n":..,"e":..,"kid":..,"alg":"RS256","use":"sig"}`
    pub jwk: Value,
}

/// A key the runtime cannot use: a configuration error naming the variable (never the key).
fn key_error(why: &str) -> Error {
    Error::new(Code::ConfigInvalid, format!("IDENTITY_ASSERTION_KEYS: {why}"))
}

/// The runtime's reason, for a log line: printable ASCII, cut short.
fn shown(why: &str) -> String {
    why.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(120).collect()
}

/// The bit length of a big-endian unsigned integer.
fn bits(be: &[u8]) -> usize {
    let be = &be[be.iter().take_while(|b| **b == 0).count()..];
    be.first().map_or(0, |first| (be.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

impl Assertions {
    /// Every configured key, imported by the runtime once per isolate: RSA of 2048 to 4096
    /// bits. `Err` (`config.invalid`) when a key is refused; retried at the next use.
    pub async fn published<P: Platform>(&self, p: &P, config: &Config) -> Result<Rc<Vec<Published>>, Error> {
        if let Some(keys) = self.published.borrow().as_ref() {
            return Ok(keys.clone());
        }
        let Some(a) = config.identity.assertion.as_ref() else {
            return Ok(Rc::new(Vec::new()));
        };
        let mut out = Vec::new();
        for (i, k) in a.keys.iter().enumerate() {
            let n = i + 1;
            let (n_b64, e_b64) = p
                .rs256_key(&k.id, k.pkcs8.expose())
                .await
                .map_err(|why| key_error(&format!("key {n} is refused by the runtime's crypto: {}", shown(&why))))?;
            let (Some(nb), Some(eb)) = (crate::util::b64url_decode(&n_b64), crate::util::b64url_decode(&e_b64)) else {
                return Err(key_error(&format!("key {n}: the runtime gave no public key")));
            };
            if !(2048..=4096).contains(&bits(&nb)) {
                return Err(key_error(&format!("key {n} must be RSA of 2048 to 4096 bits")));
            }
            let kid = crate::config::identity::thumbprint(&nb, &eb);
            let jwk = serde_json::json!({"kty": "RSA", "n": n_b64, "e": e_b64, "kid": kid, "alg": "RS256", "use": "sig"});
            out.push(Published { kid, jwk });
        }
        let out = Rc::new(out);
        *self.published.borrow_mut() = Some(out.clone());
        Ok(out)
    }
}

/// A header value for a claim: strings as they are, other JSON as JSON text; bytes outside
/// visible ASCII and space, and `%` itself, percent-encoded as UTF-8 (decode with
/// `decodeURIComponent` or `urllib.parse.unquote`). Never cut.
pub fn header_value(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Assertions {
    /// The headers a forward to an origin adds for `session`. `audience` is the origin the
    /// assertion is for (`None`: no assertion, e.g. static assets).
    pub async fn headers<P: Platform>(&self, p: &P, config: &Config, session: &Session, audience: Option<&str>) -> Result<Vec<(String, String)>, Error> {
        let now = p.now();
        let mut out = vec![(USER_HEADER.to_string(), session.sub().to_string())];
        for claim in &config.identity.claim_headers {
            if let Some(v) = session.claims().get(claim).filter(|v| !v.is_null()) {
                out.push((claim_header_name(claim), header_value(v)));
            }
        }
        // Claims of the login hook, all of them (few and bounded): `Vipps-Login-App-<Name>`.
        for (name, v) in session.app_claims() {
            out.push((claim_header_name(&format!("app_{name}")), header_value(v)));
        }
        if let (Some(a), Some(aud)) = (&config.identity.assertion, a_audience(config).or(audience)) {
            let key_material = format!("{}\0{}\0{}", session.sub(), session.iat(), aud);
            let key = crate::util::sha256(key_material.as_bytes());
            let token = match self.cache.get(&key).filter(|(_, exp)| now.saturating_add(a.ttl / 2) < *exp) {
                Some((token, _)) => token,
                None => {
                    let keys = self.published(p, config).await?;
                    let t = sign(p, config, &keys, session, aud, now).await?;
                    self.cache.put(key, (t.clone(), now.saturating_add(a.ttl)));
                    t
                }
            };
            out.push((ASSERTION_HEADER.to_string(), token));
        }
        Ok(out)
    }
}

fn a_audience(config: &Config) -> Option<&str> {
    config.identity.assertion.as_ref().and_then(|a| a.audience.as_deref())
}

/// The JWKS that verifies assertions: every configured key's public half. `Ok(None)` while the
/// assertion is off.
pub async fn jwks<P: Platform>(p: &P, config: &Config, assertions: &Assertions) -> Result<Option<Value>, Error> {
    if config.identity.assertion.is_none() {
        return Ok(None);
    }
    let keys = assertions.published(p, config).await?;
    Ok(Some(serde_json::json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})))
}

/// The assertion's issuer: the Worker's public origin.
pub fn issuer(config: &Config) -> String {
    config.vipps.redirect_uri.url().origin().ascii_serialization()
}

/// Signs a JWS (RFC 7515 compact, RS256) with the runtime's crypto. `Err` (a configuration
/// error) when the runtime cannot use the key.
async fn sign_jws<P: Platform>(p: &P, key: &crate::config::identity::SigningKey, kid: &str, claims: &Value) -> Result<String, Error> {
    let header = serde_json::json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let sig = p
        .sign_rs256(&key.id, key.pkcs8.expose(), input.as_bytes())
        .await
        .map_err(|why| key_error(&format!("key 1 cannot sign here: {}", shown(&why))))?;
    Ok(format!("{input}.{}", b64url(&sig)))
}

async fn sign<P: Platform>(p: &P, config: &Config, keys: &[Published], session: &Session, audience: &str, now: u64) -> Result<String, Error> {
    let (Some(a), Some(first)) = (config.identity.assertion.as_ref(), keys.first()) else {
        return Err(Error::new(Code::Internal, "no assertion configured"));
    };
    let key = a.keys.first();
    let mut claims: Map<String, Value> = session.claims().clone();
    claims.insert("iss".into(), Value::from(issuer(config)));
    claims.insert("aud".into(), Value::from(audience));
    claims.insert("sub".into(), Value::from(session.sub()));
    claims.insert("iat".into(), Value::from(now));
    claims.insert("nbf".into(), Value::from(now.saturating_sub(5)));
    claims.insert("exp".into(), Value::from(now.saturating_add(a.ttl)));
    // When the user authenticated (the ID token's auth_time), and how (in-app confirmation).
    claims.insert("auth_time".into(), Value::from(session.auth_time()));
    if let Some(acr) = session.acr() {
        claims.insert("acr".into(), Value::from(acr));
    }
    if !session.app_claims().is_empty() {
        claims.insert("app".into(), Value::Object(session.app_claims().clone()));
    }
    sign_jws(p, key, &first.kid, &Value::Object(claims)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;
    use crate::hook::AppClaims;
    use serde_json::json;

    #[test]
    fn the_login_hooks_claims_go_out_as_headers_and_in_the_assertion() {
        let config = parse(&[("IDENTITY_ASSERTION_KEYS", &crate::config::identity::tests::pem(0))]).unwrap();
        let info = json!({"sub": "u1", "name": "Kari"});
        let app = AppClaims::parse(&json!({"customer_id": "C-1042", "roles": ["staff", "admin"], "tier": 3})).unwrap();
        let session = Session::from_userinfo(&config, "u1", "sid".into(), info.as_object().unwrap(), 1_700_000_000).with_app_claims(app);
        let p = crate::testkit::FakePlatform::default();
        p.now.set(1_700_000_001);
        let out = crate::testkit::block_on(Assertions::default().headers(&p, &config, &session, Some("https://origin.example"))).unwrap();
        let h = |n: &str| out.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(h("vipps-login-app-customer-id"), Some("C-1042"));
        assert_eq!(h("vipps-login-app-roles"), Some(r#"["staff","admin"]"#));
        assert_eq!(h("vipps-login-app-tier"), Some("3"));
        let token = h(ASSERTION_HEADER).expect("an assertion");
        let payload = crate::util::b64url_decode(token.split('.').nth(1).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["app"], json!({"customer_id": "C-1042", "roles": ["staff", "admin"], "tier": 3}));
        assert_eq!(session.to_json()["app"]["customer_id"], "C-1042");
        // Without hook claims: no app header, no app claim.
        let plain = Session::from_userinfo(&config, "u1", "sid".into(), info.as_object().unwrap(), 1_700_000_000);
        let out = crate::testkit::block_on(Assertions::default().headers(&p, &config, &plain, Some("https://origin.example"))).unwrap();
        assert!(!out.iter().any(|(k, _)| k.starts_with("vipps-login-app-")));
        assert!(plain.to_json().get("app").is_none());
    }
}
