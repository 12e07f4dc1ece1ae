//! The signed JSON notification a revocation sends on to the operator
//! (`CONSENT_WEBHOOK_FORWARD`).

use super::event::CONSENT_REVOKED;
use crate::config::ConsentWebhook;
use crate::http::OutboundRequest;
use crate::util::{b64url, hmac_sha256, sha256};

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
    let key = hook.secrets.first().expose().as_bytes();
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const NOW: u64 = 1_700_000_000;
    const SUB: &str = "c9d10444-d992-4850-ac60-9d3502095008";

    #[test]
    fn forwarded_notification_is_signed_and_idempotent() {
        let secret = "0123456789abcdef0123456789abcdef";
        let c = crate::config::tests::parse(&[
            ("CONSENT_WEBHOOK_SECRET", secret),
            ("CONSENT_WEBHOOK_FORWARD", "https://crm.example/hooks/vipps"),
        ])
        .unwrap();
        let hook = c.consent.as_ref().unwrap();
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
}
