//! What one login asks of Vipps beyond the plain browser flow, and the checks its answer must
//! then pass: a silent attempt (no dialog), in-app confirmation (`acr_values`), `step_up`, a
//! maximum age of the authentication, the market (Vipps or MobilePay), the registration scopes,
//! and whether this login is already the one automatic retry after `temporarily_unavailable`.
//!
//! The options travel in this browser's login transaction (short keys, defaults left out, so an
//! ordinary login's cookie does not grow), never in `state`.

use super::id_token::{IdTokenClaims, LEEWAY_SECS};
use crate::error::{Code, Error};
use crate::pages::Brand;
use serde::{Deserialize, Serialize};

/// The `acr` value of in-app confirmation (Vipps: `acr_values=urn:vipps:acr:app_auth`; the ID
/// token then carries the same value in `acr`).
pub const APP_AUTH: &str = "urn:vipps:acr:app_auth";

/// Vipps MobilePay's markets (`market=NO|DK|FI|SE` on the authorize request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Market {
    NO,
    DK,
    FI,
    SE,
}

impl Market {
    pub const ALL: [Market; 4] = [Market::NO, Market::DK, Market::FI, Market::SE];

    /// Exactly `NO`, `DK`, `FI` or `SE`.
    pub fn parse(s: &str) -> Option<Market> {
        Market::ALL.into_iter().find(|m| m.as_str() == s)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Market::NO => "NO",
            Market::DK => "DK",
            Market::FI => "FI",
            Market::SE => "SE",
        }
    }
    /// MobilePay in Denmark and Finland, Vipps elsewhere.
    pub fn brand(self) -> Brand {
        Brand::from_market(Some(self.as_str()))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a silent attempt is asked for (`SILENT_LOGIN`): Vipps' documentation of a no-dialog login
/// was withdrawn in 2023, and its historical spellings differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilentRequest {
    /// `requested_flow=no_dialog`.
    NoDialog,
    /// `prompt=none` (OpenID Connect Core §3.1.2.1; never documented by Vipps).
    PromptNone,
    /// `login_hint=unsolicited:nodialog` (the earliest spelling).
    LoginHint,
}

/// One login's options. Built by the login route from the request and the configuration only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOptions {
    /// A no-dialog attempt: a provider error returns the user unauthenticated, without a page.
    #[serde(default, skip_serializing_if = "is_false", rename = "q")]
    pub silent: bool,
    /// The registration scopes (`REGISTER_SCOPE`) instead of `VIPPS_SCOPE`.
    #[serde(default, skip_serializing_if = "is_false", rename = "g")]
    pub register: bool,
    /// In-app confirmation: `acr_values=urn:vipps:acr:app_auth`, and the ID token's `acr` checked.
    #[serde(default, skip_serializing_if = "is_false", rename = "a")]
    pub app_auth: bool,
    /// `step_up=true`: Vipps always asks the user to authenticate.
    #[serde(default, skip_serializing_if = "is_false", rename = "u")]
    pub step_up: bool,
    /// The ID token's `auth_time` must be at most this many seconds old.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "x")]
    pub max_age: Option<u64>,
    /// The market asked for with this login (else the configured one).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "m")]
    pub market: Option<Market>,
    /// This login is the automatic retry after `temporarily_unavailable`: never again.
    #[serde(default, skip_serializing_if = "is_false", rename = "y")]
    pub retried: bool,
}

impl LoginOptions {
    pub fn is_default(&self) -> bool {
        *self == LoginOptions::default()
    }

    /// The brand the user sees for this login, when a market was asked for.
    pub fn brand(&self) -> Option<Brand> {
        self.market.map(Market::brand)
    }

    /// The extra authorize parameters (besides scope and market), in a fixed order.
    pub fn authorize_params(&self, silent: Option<SilentRequest>) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        match (self.silent, silent) {
            (true, Some(SilentRequest::NoDialog)) => out.push(("requested_flow", "no_dialog")),
            (true, Some(SilentRequest::PromptNone)) => out.push(("prompt", "none")),
            (true, Some(SilentRequest::LoginHint)) => out.push(("login_hint", "unsolicited:nodialog")),
            _ => {}
        }
        if self.app_auth {
            out.push(("acr_values", APP_AUTH));
        }
        if self.step_up {
            out.push(("step_up", "true"));
        }
        out
    }

    /// What the verified ID token must also show for this login (OIDC Core §3.1.3.7, items 12
    /// and 13): the `acr` asked for, and an `auth_time` within `max_age`.
    pub fn check_id_token(&self, claims: &IdTokenClaims, now: u64) -> Result<(), Error> {
        if self.app_auth {
            // 12. acr_values was requested: the acr claim must be one asked for.
            match claims.acr.as_deref() {
                None | Some("") => {
                    return Err(Error::new(
                        Code::IdTokenAcrMissing,
                        "in-app confirmation was asked for and the ID token has no acr (is in-app confirmation enabled for this sales unit?)",
                    ))
                }
                Some(APP_AUTH) => {}
                Some(other) => {
                    return Err(Error::new(
                        Code::IdTokenAcrMismatch,
                        format!("acr {:?} is not {APP_AUTH}", crate::oidc::safe_code(other)),
                    ))
                }
            }
        }
        if let Some(max_age) = self.max_age {
            // 13. max_age: auth_time must be present and recent enough.
            let now = now as i64;
            match claims.auth_time {
                // Saturating: a hostile auth_time (i64::MIN) must not wrap into "recent".
                // Leeway for a clock ahead only: the age is measured exactly as the gate's
                // step-up measures it (policy::step_up), else a token accepted here would be
                // sent straight back to the login by the gate, again and again.
                Some(t) if t <= now.saturating_add(LEEWAY_SECS as i64) && now.saturating_sub(t) <= max_age as i64 => {}
                Some(_) => return Err(Error::new(Code::IdTokenAuthTooOld, format!("auth_time is more than {max_age} s ago (or in the future)"))),
                None => return Err(Error::new(Code::IdTokenAuthTooOld, "auth_time missing and a maximum age applies")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> IdTokenClaims {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn compact_and_old_cookies_read() {
        assert_eq!(serde_json::to_string(&LoginOptions::default()).unwrap(), "{}");
        let o = LoginOptions { silent: true, market: Some(Market::DK), max_age: Some(60), ..Default::default() };
        let s = serde_json::to_string(&o).unwrap();
        assert_eq!(s, r#"{"q":true,"x":60,"m":"DK"}"#);
        assert_eq!(serde_json::from_str::<LoginOptions>(&s).unwrap(), o);
        assert_eq!(serde_json::from_str::<LoginOptions>("{}").unwrap(), LoginOptions::default());
        assert!(serde_json::from_str::<LoginOptions>(r#"{"m":"US"}"#).is_err());
    }

    #[test]
    fn markets_and_brands() {
        assert_eq!(Market::parse("DK").unwrap().brand(), Brand::MobilePay);
        assert_eq!(Market::parse("FI").unwrap().brand(), Brand::MobilePay);
        assert_eq!(Market::parse("SE").unwrap().brand(), Brand::Vipps);
        assert_eq!(Market::parse("NO").unwrap().brand(), Brand::Vipps);
        assert_eq!(Market::parse("dk"), None);
    }

    #[test]
    fn authorize_params_only_when_asked() {
        assert!(LoginOptions::default().authorize_params(Some(SilentRequest::NoDialog)).is_empty());
        let o = LoginOptions { silent: true, app_auth: true, step_up: true, ..Default::default() };
        assert_eq!(
            o.authorize_params(Some(SilentRequest::NoDialog)),
            [("requested_flow", "no_dialog"), ("acr_values", APP_AUTH), ("step_up", "true")]
        );
        assert_eq!(o.authorize_params(Some(SilentRequest::PromptNone))[0], ("prompt", "none"));
        assert_eq!(o.authorize_params(Some(SilentRequest::LoginHint))[0], ("login_hint", "unsolicited:nodialog"));
        assert_eq!(o.authorize_params(None).len(), 2, "silent is never sent unless configured");
    }

    #[test]
    fn acr_and_auth_time_checks() {
        let now = 1_700_000_000u64;
        let app = LoginOptions { app_auth: true, ..Default::default() };
        assert!(app.check_id_token(&claims(json!({"acr": APP_AUTH})), now).is_ok());
        assert_eq!(app.check_id_token(&claims(json!({})), now).unwrap_err().code, Code::IdTokenAcrMissing);
        assert_eq!(app.check_id_token(&claims(json!({"acr": ""})), now).unwrap_err().code, Code::IdTokenAcrMissing);
        assert_eq!(app.check_id_token(&claims(json!({"acr": "urn:vipps:acr:browser"})), now).unwrap_err().code, Code::IdTokenAcrMismatch);
        // Not asked: not checked.
        assert!(LoginOptions::default().check_id_token(&claims(json!({"acr": "x"})), now).is_ok());
        let fresh = LoginOptions { max_age: Some(300), ..Default::default() };
        assert!(fresh.check_id_token(&claims(json!({"auth_time": now - 300})), now).is_ok());
        assert_eq!(fresh.check_id_token(&claims(json!({"auth_time": now - 300 - LEEWAY_SECS - 1})), now).unwrap_err().code, Code::IdTokenAuthTooOld);
        // No leeway on the age: what the callback accepts, the gate's step-up accepts too.
        assert_eq!(fresh.check_id_token(&claims(json!({"auth_time": now - 301})), now).unwrap_err().code, Code::IdTokenAuthTooOld);
        assert!(fresh.check_id_token(&claims(json!({"auth_time": now + LEEWAY_SECS})), now).is_ok(), "a Vipps clock ahead of ours");
        assert_eq!(fresh.check_id_token(&claims(json!({})), now).unwrap_err().code, Code::IdTokenAuthTooOld);
        for hostile in [i64::MIN, i64::MIN + 1, 0, -1, i64::MAX] {
            assert_eq!(fresh.check_id_token(&claims(json!({"auth_time": hostile})), now).unwrap_err().code, Code::IdTokenAuthTooOld, "{hostile}");
        }
        assert_eq!(fresh.check_id_token(&claims(json!({"auth_time": now + 3600})), now).unwrap_err().code, Code::IdTokenAuthTooOld);
    }
}
