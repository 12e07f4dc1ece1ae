//! PKCE (RFC 7636). At Vipps, `code_challenge_method` defaults to `plain` when absent.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Plain,
    S256,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "plain" => Some(Method::Plain),
            "S256" => Some(Method::S256),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub value: String,
    pub method: Method,
}

/// Why the authorize request's PKCE parameters were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ChallengeError {
    MethodWithoutChallenge,
    UnknownMethod,
}

/// Reads `code_challenge` / `code_challenge_method` from an authorize request.
pub fn from_authorize(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<Challenge>, ChallengeError> {
    match (challenge, method) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ChallengeError::MethodWithoutChallenge),
        (Some(value), method) => {
            // RFC 7636 §4.3: "defaults to plain if not present in the request". Vipps documents this.
            let method = match method {
                None => Method::Plain,
                Some(m) => Method::parse(m).ok_or(ChallengeError::UnknownMethod)?,
            };
            Ok(Some(Challenge {
                value: value.to_string(),
                method,
            }))
        }
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// RFC 7636 §4.6: does `verifier` answer `challenge`?
pub fn verify(challenge: &Challenge, verifier: &str) -> bool {
    if !verifier_is_well_formed(verifier) {
        return false;
    }
    let derived = match challenge.method {
        Method::Plain => verifier.to_string(),
        Method::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
    };
    derived.as_bytes().ct_eq(challenge.value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const S256_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn plain_is_the_default_method() {
        let c = from_authorize(Some(VERIFIER), None).unwrap().unwrap();
        assert_eq!(c.method, Method::Plain);
        assert!(verify(&c, VERIFIER));
        // A client that assumed S256 while omitting the method fails, as at Vipps.
        let c = from_authorize(Some(S256_CHALLENGE), None).unwrap().unwrap();
        assert!(!verify(&c, VERIFIER));
    }

    #[test]
    fn s256_rfc_example() {
        let c = from_authorize(Some(S256_CHALLENGE), Some("S256"))
            .unwrap()
            .unwrap();
        assert!(verify(&c, VERIFIER));
        assert!(!verify(&c, &VERIFIER.replace('d', "e")));
    }

    #[test]
    fn authorize_parameter_errors() {
        assert_eq!(from_authorize(None, None), Ok(None));
        assert_eq!(
            from_authorize(None, Some("S256")),
            Err(ChallengeError::MethodWithoutChallenge)
        );
        assert_eq!(
            from_authorize(Some("x"), Some("s256")),
            Err(ChallengeError::UnknownMethod)
        );
    }

    #[test]
    fn verifier_shape() {
        assert!(!verifier_is_well_formed("short"));
        assert!(!verifier_is_well_formed(&"a".repeat(129)));
        assert!(!verifier_is_well_formed(&format!("{}+", "a".repeat(43))));
        assert!(verifier_is_well_formed(&"a~._-".repeat(10)));
    }
}
