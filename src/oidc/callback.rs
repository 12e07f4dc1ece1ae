//! The authorization response at the redirect URI (RFC 6749 §4.1.2, RFC 9207).

use crate::error::{Code, Error};
use crate::secret::Secret;
use crate::session::LoginTransaction;

/// Parameters of the callback. Each may appear at most once: a duplicated `state` or `code`
/// is an attempt to confuse one parser or another, and is refused.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<Secret>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

const MAX_PARAM: usize = 4096;

pub fn parse(query: Option<&str>) -> Result<CallbackParams, Error> {
    let mut p = CallbackParams::default();
    let Some(q) = query else { return Ok(p) };
    if q.len() > 16 * 1024 {
        return Err(Error::new(Code::CallbackDuplicateParam, "query too long"));
    }
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let slot_taken = match k.as_ref() {
            "state" => p.state.replace(v.to_string()).is_some(),
            "code" => p.code.replace(Secret::new(v.to_string())).is_some(),
            "error" => p.error.replace(v.to_string()).is_some(),
            "iss" => p.iss.replace(v.to_string()).is_some(),
            _ => false,
        };
        if slot_taken {
            return Err(Error::new(Code::CallbackDuplicateParam, format!("{} appears more than once", crate::oidc::safe_code(&k))));
        }
        if v.len() > MAX_PARAM {
            return Err(Error::new(Code::CallbackDuplicateParam, "parameter too long"));
        }
    }
    Ok(p)
}

impl CallbackParams {
    /// An `error=` callback (the user cancelled, or Vipps refused) as the error it is.
    /// `error_description` is never shown: it is upstream text.
    pub fn provider_error(&self) -> Result<(), Error> {
        match &self.error {
            Some(e) => Err(Error::new(error_code(e), format!("provider returned error={}", crate::oidc::safe_code(e)))),
            None => Ok(()),
        }
    }
}

/// A callback whose `state` matched a pending login of this browser, whose `iss` (if sent) is
/// our issuer and which carries a code: the only input the token request takes.
#[derive(Debug)]
pub struct CheckedCallback {
    transaction: LoginTransaction,
    code: Secret,
}

impl CheckedCallback {
    /// Checks what is left once the state matched (`transaction`) and the provider is known:
    /// RFC 9207's `iss` (a mix-up defence) and the presence of a code.
    pub fn new(transaction: LoginTransaction, params: CallbackParams, issuer: &str) -> Result<CheckedCallback, Error> {
        params.provider_error()?;
        if params.iss.as_deref().is_some_and(|iss| iss != issuer) {
            return Err(Error::new(Code::CallbackIssMismatch, "iss parameter differs from the discovery issuer"));
        }
        match params.code {
            Some(code) if !code.expose().is_empty() => Ok(CheckedCallback { transaction, code }),
            _ => Err(Error::new(Code::CallbackMissingCode, "callback without code")),
        }
    }
    pub fn transaction(&self) -> &LoginTransaction {
        &self.transaction
    }
    pub fn code(&self) -> &Secret {
        &self.code
    }
}

/// The error page title for an `error=` callback. `error_description` is never shown:
/// it is upstream text.
pub fn error_code(error: &str) -> Code {
    if error == "access_denied" {
        Code::AccessDenied
    } else {
        Code::ProviderError
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_duplicates() {
        let p = parse(Some("code=abc&state=xyz12345&scope=openid")).unwrap();
        assert_eq!(p.state.as_deref(), Some("xyz12345"));
        assert_eq!(p.code.unwrap().expose(), "abc");
        let e = parse(Some("state=a&state=b&code=c")).unwrap_err();
        assert_eq!(e.code, Code::CallbackDuplicateParam);
        assert!(parse(Some("code=a&code=b")).is_err());
        assert!(parse(Some("iss=a&iss=a")).is_err());
        assert!(parse(None).unwrap().state.is_none());
    }

    #[test]
    fn error_codes() {
        assert_eq!(error_code("access_denied"), Code::AccessDenied);
        assert_eq!(error_code("server_error"), Code::ProviderError);
        assert_eq!(error_code("<script>"), Code::ProviderError);
    }
}
