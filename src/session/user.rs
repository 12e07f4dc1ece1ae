//! The session cookie: who is logged in, until when.

use super::cookie;
use crate::config::Config;
use crate::memo::BoundedCache;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::rc::Rc;

/// The session cookie's name: host-only by default (`__Host-` forbids a `Domain`)...
pub const SESSION_COOKIE: &str = "__Host-vipps-session";
/// ...or, with `SESSION_COOKIE_DOMAIN`, shared with subdomains (`__Secure-` allows a `Domain`).
pub const SHARED_SESSION_COOKIE: &str = "__Secure-vipps-session";

/// The session cookie's name under this configuration.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.session.cookie_domain.is_some() {
        SHARED_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// A `Set-Cookie` that ends the session cookie in the browser.
pub fn clear_session_cookie(config: &Config) -> String {
    cookie::clear_cookie_in(cookie_name(config), config.session.cookie_domain.as_deref())
}
/// Browsers accept 4096 bytes per cookie, name and attributes included.
pub const MAX_COOKIE_BYTES: usize = 4000;

/// Signed values (session cookies, bearer tokens) this isolate has verified lately, with the
/// session each holds: a browser sends the same cookie with every request until it is
/// re-issued, so its MAC and decode are done once per isolate, not once per request. Only
/// values whose MAC verified are kept (nobody can fill this without the session keys), keyed by
/// the whole value (a changed byte is another key, verified afresh); the times are checked on
/// every use, and revocations on the session as before. The keys cannot change within an
/// isolate (configuration is read once). Each entry remembers the name its MAC covered, and is
/// found only under that name. Bounded: cleared when full.
pub struct VerifiedSessions(BoundedCache<String, (&'static str, Session)>);

/// Values kept at most.
const MAX_VERIFIED: usize = 256;

impl Default for VerifiedSessions {
    fn default() -> Self {
        VerifiedSessions(BoundedCache::new(MAX_VERIFIED))
    }
}

impl VerifiedSessions {
    /// The session of `value`, verified before under the name `name`.
    pub(crate) fn get(&self, name: &str, value: &str) -> Option<Session> {
        self.0.get(value).and_then(|(n, s)| (n == name).then_some(s))
    }

    #[cfg(any(test, feature = "testkit"))]
    pub fn forget(&self) {
        self.0.clear();
    }

    /// The session of `value` signed under `name`: kept from before, or made by `verify` (which
    /// checks its MAC) and kept when it verifies (not when it is longer than a browser keeps a
    /// cookie: nothing bigger is ours).
    pub(crate) fn get_or_verify<E>(&self, name: &'static str, value: &str, verify: impl FnOnce() -> Result<Session, E>) -> Result<Session, E> {
        if let Some(s) = self.get(name, value) {
            return Ok(s);
        }
        let s = verify()?;
        if value.len() <= MAX_COOKIE_BYTES {
            self.0.put(value.to_string(), (name, s.clone()));
        }
        Ok(s)
    }
}

/// A logged-in user: made from a verified login ([`Session::from_userinfo`]) or from a cookie
/// whose MAC and expiry checked out ([`Session::from_cookie_header`]), never otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Session(Rc<Payload>);

/// What the cookie holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    sub: String,
    /// Issued at (Unix seconds).
    iat: u64,
    /// Expires at (Unix seconds).
    exp: u64,
    /// Last checked against recorded consent revocations (Unix seconds; 0 = at `iat`).
    #[serde(default, skip_serializing_if = "is_zero")]
    chk: u64,
    /// A random id of this session (logout ends it for good); empty in cookies from before ids.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sid: String,
    /// Last re-issued for activity (Unix seconds; 0 = at `iat`): the idle timeout runs from here.
    #[serde(default, skip_serializing_if = "is_zero")]
    seen: u64,
    /// Claims copied from userinfo (`SESSION_CLAIMS`).
    #[serde(default)]
    claims: Map<String, Value>,
    /// Claims the merchant's backend added at login (the login hook), validated and
    /// size-bounded there ([`crate::hook::AppClaims`]); apart from Vipps' claims so that
    /// neither can pose as the other.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    app: Map<String, Value>,
    /// The ID token's `acr` (in-app confirmation); absent in cookies from before, and then
    /// simply a session without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    /// The ID token's `auth_time` (Unix seconds; 0 = at `iat`).
    #[serde(default, skip_serializing_if = "is_zero")]
    at: u64,
    /// The login was made with `step_up` (the user authenticated, not remembered).
    #[serde(default, skip_serializing_if = "is_false")]
    su: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `at` of a login whose ID token had no usable `auth_time`: long ago.
const UNKNOWN_AUTH_TIME: u64 = 1;

/// The longest `acr` a session keeps (Vipps': 22 characters).
const MAX_ACR: usize = 64;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Session {
    /// Builds the session from userinfo, keeping only the configured claims.
    /// `sid` is a fresh random id (from the caller's randomness).
    pub fn from_userinfo(config: &Config, sub: &str, sid: String, userinfo: &Map<String, Value>, now: u64) -> Session {
        // Inserted one by one: collecting into the map would sort, and bring a sort into the wasm.
        let mut claims = Map::new();
        for name in &config.session.claims {
            if let Some(v) = userinfo.get(name) {
                claims.insert(name.clone(), v.clone());
            }
        }
        Session(Rc::new(Payload {
            sub: sub.to_string(),
            iat: now,
            exp: now.saturating_add(config.session.ttl),
            chk: 0,
            sid,
            seen: 0,
            claims,
            app: Map::new(),
            acr: None,
            at: 0,
            su: false,
        }))
    }

    /// The same session with the claims the login hook added.
    pub fn with_app_claims(mut self, app: crate::hook::AppClaims) -> Session {
        self.payload().app = app.into_map();
        self
    }

    /// The claims the login hook added (empty without a hook).
    pub fn app_claims(&self) -> &Map<String, Value> {
        &self.0.app
    }

    /// The `Set-Cookie` value. Claims are dropped, last configured first, until the cookie fits
    /// in [`MAX_COOKIE_BYTES`]; the second value says how many were dropped.
    pub fn to_set_cookie(&self, config: &Config) -> (String, usize) {
        self.to_set_cookie_at(config, self.0.iat)
    }

    /// As [`Session::to_set_cookie`], re-issued at `now`: the cookie's `Max-Age` runs to the
    /// end of the session (its absolute expiry or its idle end, whichever comes first).
    pub fn to_set_cookie_at(&self, config: &Config, now: u64) -> (String, usize) {
        let max_age = self.ends_at(config).saturating_sub(now).max(1);
        let mut s = (*self.0).clone();
        let mut dropped = 0;
        loop {
            let payload = serde_json::to_vec(&s).unwrap_or_default();
            let name = cookie_name(config);
            let value = cookie::sign(config.session.keys.session.first(), name, &payload);
            let header = cookie::set_cookie_in(name, &value, max_age, config.session.cookie_domain.as_deref());
            if header.len() <= MAX_COOKIE_BYTES || s.claims.is_empty() {
                return (header, dropped);
            }
            let last = config.session.claims.iter().rev().find(|c| s.claims.contains_key(*c)).cloned();
            match last {
                Some(name) => {
                    s.claims.remove(&name);
                }
                None => s.claims.clear(),
            }
            dropped += 1;
        }
    }

    /// The valid session in a `Cookie` header, if any.
    pub fn from_cookie_header(config: &Config, cookie_header: &str, now: u64) -> Option<Session> {
        let name = cookie_name(config);
        cookie::values(cookie_header, name).into_iter().find_map(|v| Session::from_cookie_value(config, name, v)?.valid_at(config, now))
    }

    /// As [`Session::from_cookie_header`], with the values this isolate verified lately taken
    /// from `verified` (the MAC and the decode are done once per value; the times on every call).
    pub fn from_cookie_header_in(config: &Config, cookie_header: &str, now: u64, verified: &VerifiedSessions) -> Option<Session> {
        let name = cookie_name(config);
        cookie::values(cookie_header, name).into_iter().find_map(|v| {
            verified.get_or_verify(name, v, || Session::from_cookie_value(config, name, v).ok_or(())).ok()?.valid_at(config, now)
        })
    }

    /// The session a cookie value holds, if its MAC verifies (whatever its times).
    fn from_cookie_value(config: &Config, name: &str, value: &str) -> Option<Session> {
        let (payload, _) = cookie::verify(config.session.keys.session.iter(), name, value)?;
        Session::from_verified_payload(&payload)
    }

    /// This session, if it is valid at `now`: not ended, not issued in the future (a minute of
    /// clock skew allowed).
    fn valid_at(self, config: &Config, now: u64) -> Option<Session> {
        (now < self.ends_at(config) && self.0.iat <= now.saturating_add(60)).then_some(self)
    }

    /// The payload to change: shared with the copies of this session (the isolate's verified
    /// cookies hold one), so copied first when it is.
    fn payload(&mut self) -> &mut Payload {
        Rc::make_mut(&mut self.0)
    }

    pub fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The same session, remembering how the user authenticated: the ID token's `acr` (kept
    /// when short and visible ASCII), its `auth_time` (when plausible: not after the login), and
    /// whether the login asked for `step_up`.
    pub fn with_login(mut self, acr: Option<&str>, auth_time: Option<i64>, step_up: bool) -> Session {
        self.payload().acr = acr.filter(|a| !a.is_empty() && a.len() <= MAX_ACR && a.bytes().all(|b| b.is_ascii_graphic())).map(str::to_string);
        self.payload().at = match auth_time {
            // Ahead of the login (a Vipps clock ahead of ours): at the login.
            Some(t) if t > self.0.iat as i64 => 0,
            Some(t) if t >= UNKNOWN_AUTH_TIME as i64 => t as u64,
            // Missing or implausible: never recent, as the callback would refuse it for a page
            // with a maximum age (0 would read as "at the login", the old cookies' meaning).
            _ => UNKNOWN_AUTH_TIME,
        };
        self.payload().su = step_up;
        self
    }
    /// The `acr` of the login, if the ID token had one.
    pub fn acr(&self) -> Option<&str> {
        self.0.acr.as_deref()
    }
    /// When the user authenticated: the ID token's `auth_time`, else the login time.
    pub fn auth_time(&self) -> u64 {
        if self.0.at == 0 {
            self.0.iat
        } else {
            self.0.at
        }
    }
    /// Whether the login was made with `step_up`.
    pub fn stepped_up(&self) -> bool {
        self.0.su
    }
    /// When the login happened (Unix seconds).
    /// The session's random id (empty for cookies issued before ids existed).
    pub fn sid(&self) -> &str {
        &self.0.sid
    }
    pub fn iat(&self) -> u64 {
        self.0.iat
    }
    pub fn exp(&self) -> u64 {
        self.0.exp
    }
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    /// When the session ends: its absolute lifetime (`SESSION_TTL` from the login) or the idle
    /// timeout after its last refresh, whichever comes first.
    pub fn ends_at(&self, config: &Config) -> u64 {
        match config.session.idle_timeout {
            0 => self.0.exp,
            idle => self.0.exp.min(self.0.seen.max(self.0.iat).saturating_add(idle)),
        }
    }

    /// Whether a request now should re-issue the cookie to slide the idle window.
    pub fn needs_refresh(&self, config: &Config, now: u64) -> bool {
        config.session.idle_timeout != 0 && now >= self.0.seen.max(self.0.iat).saturating_add(config.session.refresh_after())
    }

    /// The same session, active at `now`.
    pub fn refreshed(mut self, now: u64) -> Session {
        self.payload().seen = now;
        self
    }

    /// When this session was last known not to be revoked.
    pub fn checked_at(&self) -> u64 {
        self.0.chk.max(self.0.iat)
    }

    /// The same session, known not to be revoked at `now`.
    pub fn checked(mut self, now: u64) -> Session {
        self.payload().chk = now;
        self
    }

    /// The signed payload of a bearer session ([`super::bearer`]): the cookie's own fields.
    pub(crate) fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.0).unwrap_or_default()
    }

    /// A session from a payload whose MAC the caller verified (expiry is the caller's to check).
    pub(crate) fn from_verified_payload(bytes: &[u8]) -> Option<Session> {
        let p: Payload = serde_json::from_slice(bytes).ok()?;
        (!p.sub.is_empty()).then_some(Session(Rc::new(p)))
    }

    /// The same session, ending at `exp` at the latest.
    pub(crate) fn ending_by(mut self, exp: u64) -> Session {
        self.payload().exp = self.0.exp.min(exp);
        self
    }

    /// The JSON `GET /auth/session` answers.
    pub fn to_json(&self) -> Value {
        let mut m = self.0.claims.clone();
        m.insert("sub".into(), Value::String(self.0.sub.clone()));
        m.insert("iat".into(), Value::from(self.0.iat));
        m.insert("exp".into(), Value::from(self.0.exp));
        if !self.0.app.is_empty() {
            m.insert("app".into(), Value::Object(self.0.app.clone()));
        }
        if let Some(acr) = &self.0.acr {
            m.insert("acr".into(), Value::String(acr.clone()));
        }
        if self.0.at > UNKNOWN_AUTH_TIME {
            m.insert("auth_time".into(), Value::from(self.0.at));
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;
    use serde_json::json;

    fn userinfo() -> Map<String, Value> {
        json!({"sub":"u1","name":"Kari Nordmann","email":"kari@example.no","nin":"01010112345",
               "address":{"street_address":"Gate 1"},"phone_number":"4791234567"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn cookie_value(set_cookie: &str) -> String {
        let first = set_cookie.split(';').next().unwrap();
        format!("a=b; {first}")
    }

    #[test]
    fn round_trip_keeps_only_configured_claims() {
        let c = parse(&[]).unwrap();
        let s = Session::from_userinfo(&c, "u1", "sid-1".into(), &userinfo(), 1000);
        assert!(s.claims().contains_key("name"));
        assert!(!s.claims().contains_key("nin"));
        assert!(!s.claims().contains_key("address"));
        assert!(!s.claims().contains_key("phone_number"));
        let (h, dropped) = s.to_set_cookie(&c);
        assert_eq!(dropped, 0);
        assert!(h.starts_with("__Host-vipps-session="));
        let back = Session::from_cookie_header(&c, &cookie_value(&h), 1001).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn expired_and_tampered_are_refused() {
        let c = parse(&[]).unwrap();
        let s = Session::from_userinfo(&c, "u1", "sid-1".into(), &userinfo(), 1000);
        let (h, _) = s.to_set_cookie(&c);
        let hv = cookie_value(&h);
        assert!(Session::from_cookie_header(&c, &hv, 1000 + c.session.ttl).is_none());
        let tampered = hv.replacen("v1.", "v1.e", 1);
        assert!(Session::from_cookie_header(&c, &tampered, 1001).is_none());
        let other = parse(&[("SESSION_SECRET", "another-secret-another-secret-xx")]).unwrap();
        assert!(Session::from_cookie_header(&other, &hv, 1001).is_none());
    }

    #[test]
    fn login_facts_round_trip_and_old_cookies_read() {
        let c = parse(&[]).unwrap();
        let s = Session::from_userinfo(&c, "u1", "sid-1".into(), &userinfo(), 1000);
        assert_eq!((s.acr(), s.auth_time(), s.stepped_up()), (None, 1000, false));
        let strong = s.clone().with_login(Some(crate::oidc::options::APP_AUTH), Some(990), true);
        let (h, _) = strong.to_set_cookie(&c);
        let back = Session::from_cookie_header(&c, &cookie_value(&h), 1001).unwrap();
        assert_eq!((back.acr(), back.auth_time(), back.stepped_up()), (Some(crate::oidc::options::APP_AUTH), 990, true));
        assert_eq!(back.to_json()["acr"], crate::oidc::options::APP_AUTH);
        // Implausible values are not kept: an auth_time after the login, an acr with spaces.
        let odd = s.clone().with_login(Some("a b"), Some(5000), false);
        assert_eq!((odd.acr(), odd.auth_time()), (None, 1000));
        // No usable auth_time: never recent (and not shown).
        for none in [None, Some(0), Some(-1), Some(i64::MIN)] {
            let s = s.clone().with_login(None, none, false);
            assert_eq!(s.auth_time(), 1, "{none:?}");
            assert!(s.to_json().get("auth_time").is_none());
        }
        // A cookie from before these fields: a session without in-app confirmation.
        let payload = br#"{"sub":"u1","iat":1000,"exp":999999,"claims":{}}"#;
        let v = cookie::sign(c.session.keys.session.first(), SESSION_COOKIE, payload);
        let old = Session::from_cookie_header(&c, &format!("{SESSION_COOKIE}={v}"), 1001).unwrap();
        assert_eq!((old.acr(), old.auth_time(), old.stepped_up()), (None, 1000, false));
        assert!(old.to_json().get("acr").is_none());
    }

    /// The isolate's cache of verified cookies answers exactly as verifying afresh does, at every
    /// time and for every value (times checked on each use; only verified values kept).
    #[test]
    fn verified_cookies_answer_as_a_fresh_verification() {
        let c = parse(&[("SESSION_IDLE_TIMEOUT", "600")]).unwrap();
        let seen = VerifiedSessions::default();
        let s = Session::from_userinfo(&c, "u1", "sid-1".into(), &userinfo(), 1000);
        let hv = cookie_value(&s.to_set_cookie(&c).0);
        let (name, v) = hv.split("; ").nth(1).unwrap().split_once('=').unwrap();
        assert_eq!(name, SESSION_COOKIE);
        let forged = [
            hv.replacen("v1.", "v1.e", 1),
            hv.replacen(v, &v[..v.len() - 1], 1),
            format!("{hv}A"),
            hv.replacen(SESSION_COOKIE, SHARED_SESSION_COOKIE, 1),
        ];
        // Before, at and after the idle end (1600), the absolute end, far later, and before the
        // login; each twice (the second time from the cache).
        for now in [1000, 1001, 1599, 1600, 1000 + c.session.ttl, 1_000_000, 940, 939] {
            for _ in 0..2 {
                assert_eq!(Session::from_cookie_header_in(&c, &hv, now, &seen), Session::from_cookie_header(&c, &hv, now), "at {now}");
                for f in &forged {
                    assert_eq!(Session::from_cookie_header_in(&c, f, now, &seen), None, "{f} at {now}");
                }
            }
        }
        assert!(Session::from_cookie_header_in(&c, &hv, 1001, &seen).is_some());
        assert!(Session::from_cookie_header_in(&c, &hv, 1600, &seen).is_none(), "the idle end holds for a kept value");
        assert!(Session::from_cookie_header_in(&c, &hv, 939, &seen).is_none(), "issued in the future");
        assert_eq!(seen.0.len(), 1, "only the verified value is kept");
        // Kept under the name its MAC covered, and found under no other.
        assert!(seen.get(SESSION_COOKIE, v).is_some());
        assert!(seen.get(SHARED_SESSION_COOKIE, v).is_none());
        assert!(seen.get("vipps-edge-login bearer session", v).is_none());
        // Bounded: a flood of verified values clears the cache instead of growing it.
        for i in 0..(MAX_VERIFIED as u64 + 10) {
            let s = Session::from_userinfo(&c, "u1", format!("sid-{i}"), &userinfo(), 1000);
            let h = cookie_value(&s.to_set_cookie(&c).0);
            assert!(Session::from_cookie_header_in(&c, &h, 1001, &seen).is_some());
            assert!(seen.0.len() <= MAX_VERIFIED);
        }
        // A value longer than any cookie of ours is verified, never kept.
        let big = VerifiedSessions::default();
        let payload: Vec<u8> = [b' '; 4000].iter().chain(br#"{"sub":"u1","iat":1000,"exp":9999}"#).copied().collect();
        let long = format!("{SESSION_COOKIE}={}", cookie::sign(c.session.keys.session.first(), SESSION_COOKIE, &payload));
        assert!(Session::from_cookie_header_in(&c, &long, 1001, &big).is_some());
        assert_eq!(big.0.len(), 0);
    }

    #[test]
    fn oversized_claims_are_dropped_to_fit() {
        let c = parse(&[("SESSION_CLAIMS", "name,email")]).unwrap();
        let mut ui = userinfo();
        ui.insert("email".into(), Value::String("x".repeat(5000)));
        let s = Session::from_userinfo(&c, "u1", "sid-1".into(), &ui, 1000);
        let (h, dropped) = s.to_set_cookie(&c);
        assert_eq!(dropped, 1);
        assert!(h.len() <= MAX_COOKIE_BYTES);
        let back = Session::from_cookie_header(&c, &cookie_value(&h), 1001).unwrap();
        assert!(back.claims().contains_key("name"));
    }
}
