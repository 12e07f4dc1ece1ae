//! Bearer sessions of native apps: `Authorization: Bearer vel_v1.<payload>.<mac>`.
//!
//! The payload is the session cookie's ([`Session`]), signed with the session keys but under
//! another name ([`BEARER_NAME`]): the MAC covers the name, so a session cookie's value never
//! verifies as a bearer token and a bearer token never verifies as a cookie. A bearer session
//! cannot slide (nothing re-issues it): it lives `APP_SESSION_TTL` and then the app logs in
//! again. A logout ([`crate::flows::app`]) records its id like a cookie session's, and consent
//! revocations end it like a cookie session; this isolate remembers when it last asked KV about
//! each one, so KV is asked at most once per `SESSION_RECHECK` per session and isolate.

use super::cookie;
use super::revocation::Revocations;
use super::user::VerifiedSessions;
use super::Session;
use crate::config::Config;
use crate::memo::BoundedCache;
use crate::platform::Platform;

/// Every bearer token of ours starts with this: the gate knows it from its shape (and strips
/// it before forwarding) without verifying it.
pub const BEARER_PREFIX: &str = "vel_";
/// The name the MAC covers.
const BEARER_NAME: &str = "vipps-edge-login bearer session";

/// Issues a bearer token for a session.
pub fn issue(config: &Config, s: &Session) -> String {
    format!("{BEARER_PREFIX}{}", cookie::sign(config.session.keys.session.first(), BEARER_NAME, &s.to_payload()))
}

/// The token in an `Authorization` header, if it is a bearer token of our shape.
pub fn token_in(authorization: Option<&str>) -> Option<&str> {
    let h = authorization?.trim();
    let scheme = h.get(..7)?;
    let token = h.get(7..)?.trim();
    (scheme.eq_ignore_ascii_case("bearer ") && token.starts_with(BEARER_PREFIX)).then_some(token)
}

/// Why a bearer token is refused (for the log; the answer is one code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Signature,
    Expired,
    Ended,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Malformed => "not a bearer session token",
            Refused::Signature => "bearer token does not verify",
            Refused::Expired => "bearer session expired",
            Refused::Ended => "bearer session ended (logout or consent revoked)",
        }
    }
}

/// The session a token carries, when its MAC verifies and it has not expired (revocations are
/// checked by [`Bearers::current`]).
pub fn verify(config: &Config, token: &str, now: u64) -> Result<Session, Refused> {
    unexpired(verified(config, token)?, now)
}

/// The session a token carries, when its MAC verifies (whatever its times).
fn verified(config: &Config, token: &str) -> Result<Session, Refused> {
    let signed = token.strip_prefix(BEARER_PREFIX).ok_or(Refused::Malformed)?;
    let (payload, _) = cookie::verify(config.session.keys.session.iter(), BEARER_NAME, signed).ok_or(Refused::Signature)?;
    Session::from_verified_payload(&payload).ok_or(Refused::Malformed)
}

fn unexpired(s: Session, now: u64) -> Result<Session, Refused> {
    if now >= s.exp() || s.iat() > now.saturating_add(60) {
        return Err(Refused::Expired);
    }
    Ok(s)
}

/// When this isolate last asked KV about each bearer session, and the tokens it verified lately
/// (an app sends the same token with every request: its MAC and decode are done once per
/// isolate; see [`VerifiedSessions`]).
pub struct Bearers {
    checked: BoundedCache<String, u64>,
    verified: VerifiedSessions,
}

impl Default for Bearers {
    fn default() -> Self {
        Bearers { checked: BoundedCache::new(10_000), verified: VerifiedSessions::default() }
    }
}

impl Bearers {
    /// The valid, not-ended session of a bearer token.
    pub async fn current<P: Platform>(&self, p: &P, config: &Config, revocations: &Revocations, token: &str) -> Result<Session, Refused> {
        let s = unexpired(self.verified.get_or_verify(BEARER_NAME, token, || verified(config, token))?, p.now())?;
        let sid = s.sid().to_string();
        let (kept, asked) = revocations.still_valid(p, config, s, self.checked.get(&sid)).await;
        if let Some(t) = asked {
            self.checked.put(sid, t);
        }
        kept.ok_or(Refused::Ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;
    use serde_json::json;

    fn session(c: &Config, now: u64) -> Session {
        let info = json!({"name": "Kari"}).as_object().unwrap().clone();
        Session::from_userinfo(c, "sub-1", "sid-1".into(), &info, now).ending_by(now + 3600)
    }

    #[test]
    fn issue_verify_and_refuse() {
        let c = parse(&[]).unwrap();
        let s = session(&c, 1000);
        let t = issue(&c, &s);
        assert!(t.starts_with("vel_v1."));
        assert_eq!(verify(&c, &t, 1001).unwrap(), s);
        assert_eq!(verify(&c, &t, 1000 + 3600), Err(Refused::Expired));
        let tampered = t.replacen("vel_v1.", "vel_v1.e", 1);
        assert_eq!(verify(&c, &tampered, 1001), Err(Refused::Signature));
        assert_eq!(verify(&c, "v1.a.b", 1001), Err(Refused::Malformed));
        let other = parse(&[("SESSION_SECRET", "another-secret-another-secret-xx")]).unwrap();
        assert_eq!(verify(&other, &t, 1001), Err(Refused::Signature));
    }

    #[test]
    fn a_cookie_is_not_a_bearer_and_a_bearer_is_not_a_cookie() {
        let c = parse(&[]).unwrap();
        let s = session(&c, 1000);
        let (set_cookie, _) = s.to_set_cookie(&c);
        let cookie_value = set_cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert_eq!(verify(&c, &format!("{BEARER_PREFIX}{cookie_value}"), 1001), Err(Refused::Signature));
        let t = issue(&c, &s);
        let as_cookie = format!("{}={}", crate::session::user::SESSION_COOKIE, t.trim_start_matches(BEARER_PREFIX));
        assert!(Session::from_cookie_header(&c, &as_cookie, 1001).is_none());
    }

    /// A token this isolate verified before is still refused once it expires, and a changed
    /// byte is verified afresh (and refused), never answered from what was kept.
    #[test]
    fn kept_tokens_still_expire_and_forgeries_are_not_kept() {
        let c = parse(&[]).unwrap();
        let p = crate::testkit::FakePlatform::default();
        p.now.set(1000);
        let bearers = Bearers::default();
        let revocations = Revocations::default();
        let s = session(&c, 1000);
        let t = issue(&c, &s);
        for _ in 0..2 {
            assert_eq!(crate::testkit::block_on(bearers.current(&p, &c, &revocations, &t)), Ok(s.clone()));
        }
        assert_eq!(bearers.verified.get(BEARER_NAME, &t), Some(s.clone()));
        assert_eq!(bearers.verified.get(crate::session::user::SESSION_COOKIE, &t), None, "a bearer is not a cookie");
        let forged = t.replacen("vel_v1.", "vel_v1.e", 1);
        assert_eq!(crate::testkit::block_on(bearers.current(&p, &c, &revocations, &forged)), Err(Refused::Signature));
        assert_eq!(bearers.verified.get(BEARER_NAME, &forged), None);
        p.now.set(1000 + 3600);
        assert_eq!(crate::testkit::block_on(bearers.current(&p, &c, &revocations, &t)), Err(Refused::Expired));
        p.now.set(900);
        assert_eq!(crate::testkit::block_on(bearers.current(&p, &c, &revocations, &t)), Err(Refused::Expired), "issued in the future");
    }

    #[test]
    fn header_shapes() {
        assert_eq!(token_in(Some("Bearer vel_v1.a.b")), Some("vel_v1.a.b"));
        assert_eq!(token_in(Some("bearer  vel_x ")), Some("vel_x"));
        assert_eq!(token_in(Some("Bearer other-token")), None, "another API's bearer is not ours");
        assert_eq!(token_in(Some("Basic dmVsXw==")), None);
        assert_eq!(token_in(Some("Bearer")), None);
        assert_eq!(token_in(None), None);
    }
}
