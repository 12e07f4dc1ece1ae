//! The consent-revocation webhook (`CONSENT_WEBHOOK_*`).

use super::is_secure_or_loopback;
use super::reader::Reader;
use crate::secret::Secret;
use crate::util::NonEmpty;
use url::Url;

/// Under the auth prefix: the consent webhook lives at `{prefix}/webhooks/consent-revoked/{secret}`.
pub const WEBHOOK_PATH: &str = "/webhooks/consent-revoked/";

/// The consent-revocation webhook (`CONSENT_WEBHOOK_SECRET` set).
#[derive(Debug, Clone)]
pub struct ConsentWebhook {
    /// The last path segment of the webhook URL registered with Vipps. Several may be set
    /// (rotation: register the new URL, then drop the old secret); the first also keys the HMAC
    /// that signs forwarded notifications. Never empty.
    pub secrets: NonEmpty<Secret>,
    /// Where a signed JSON notification goes (`CONSENT_WEBHOOK_FORWARD`).
    pub forward: Option<Url>,
    /// Whether a revocation ends the user's sessions at the edge (`CONSENT_REVOKED_ENDS_SESSIONS`).
    pub ends_sessions: bool,
}

pub fn parse(r: &mut Reader) -> Option<ConsentWebhook> {
    let secret = r.opt("CONSENT_WEBHOOK_SECRET");
    let forward = match r.opt("CONSENT_WEBHOOK_FORWARD") {
        None => None,
        Some(raw) => match Url::parse(&raw) {
            Ok(u) if is_secure_or_loopback(&u) && u.fragment().is_none() => Some(u),
            _ => {
                r.problem("CONSENT_WEBHOOK_FORWARD", "must be an absolute https URL (http only on localhost/127.0.0.1)");
                None
            }
        },
    };
    let ends_sessions = r.flag("CONSENT_REVOKED_ENDS_SESSIONS", true);
    let secrets = r.list("CONSENT_WEBHOOK_SECRET");
    let valid = |s: &String| (32..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if secret.is_none() {
        if forward.is_some() {
            r.problem("CONSENT_WEBHOOK_FORWARD", "needs CONSENT_WEBHOOK_SECRET (the webhook is off without it)");
        }
        return None;
    }
    match NonEmpty::from_vec(secrets) {
        Some(secrets) if secrets.iter().all(valid) => Some(ConsentWebhook { secrets: secrets.map(Secret::new), forward, ends_sessions }),
        _ => {
            r.problem(
                "CONSENT_WEBHOOK_SECRET",
                "must hold at least one secret, each 32 to 128 characters of A-Z a-z 0-9 - _ (generate one with: openssl rand -hex 32)",
            );
            None
        }
    }
}
