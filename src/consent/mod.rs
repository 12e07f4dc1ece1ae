//! Consent revocation: the event Vipps sends (untrusted until verified) and the signed
//! notification sent on to the operator.

pub mod event;
pub mod forward;

/// A short, stable, non-reversible handle for a `sub`, for log lines and store keys.
pub fn sub_handle(sub: &str) -> String {
    crate::util::b64url(&crate::util::sha256(sub.as_bytes())[..12])
}
