//! The one error type of the request path, its stable codes, and the one mapping to HTTP.
//!
//! Two classes (STYLE.md, principle 4): *rejected* input (bad state, bad token, user cancel)
//! answers 4xx and offers a fresh login; *broken* dependencies (Vipps or KV unreachable,
//! nonsense from upstream) answer 502/503 with "try again". Every error is logged once, with its
//! code, where it is turned into a response ([`crate::app`]); users never see internals.

use crate::return_to::SafeReturnPath;
use std::fmt;

/// Stable error codes. The string form (`state.mismatch`) is part of the public interface:
/// it appears in JSON errors, on error pages and in logs. A new code goes into [`Code::ALL`]
/// too, and needs words in [`crate::pages::texts::Msg::for_code`] (the compiler insists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    ConfigInvalid,
    // Callback and login transaction
    CallbackDuplicateParam,
    CallbackMissingCode,
    CallbackIssMismatch,
    StateMissing,
    StateMismatch,
    StateExpired,
    TransactionMissing,
    AccessDenied,
    ProviderError,
    // Token endpoint
    TokenInvalidGrant,
    TokenRejected,
    TokenBadResponse,
    // ID token (OIDC Core §3.1.3.7)
    IdTokenMalformed,
    IdTokenAlgorithm,
    IdTokenUnknownKey,
    IdTokenSignature,
    IdTokenIssuer,
    IdTokenAudience,
    IdTokenAzp,
    IdTokenExpired,
    IdTokenIssuedAt,
    IdTokenNotYetValid,
    IdTokenNonce,
    IdTokenSubject,
    IdTokenAtHash,
    /// In-app confirmation was asked for (`acr_values`) and the ID token has no `acr`.
    IdTokenAcrMissing,
    /// In-app confirmation was asked for and the ID token's `acr` is another one.
    IdTokenAcrMismatch,
    /// The path asks for a recent authentication (`max_age`) and `auth_time` is older or absent.
    IdTokenAuthTooOld,
    // Userinfo
    UserinfoFailed,
    UserinfoSubMismatch,
    // Discovery and keys
    DiscoveryUnavailable,
    DiscoveryInvalid,
    /// Token or userinfo endpoint unreachable or timed out.
    VippsUnavailable,
    JwksUnavailable,
    JwksInvalid,
    // Consent-revocation webhook
    WebhookMalformed,
    WebhookAlgorithm,
    WebhookSignature,
    WebhookExpired,
    WebhookNotYetValid,
    WebhookTooLarge,
    WebhookMediaType,
    /// The revocation could not be recorded (KV): Vipps should deliver again.
    WebhookStoreFailed,
    /// The operator's forward target did not take the notification.
    WebhookForwardFailed,
    // Sessions and routes
    SessionRequired,
    /// Logged in, but the access rules do not let this user see the page.
    Forbidden,
    /// Logged in, but not strongly or recently enough for this path (`STEP_UP_RULES`): log in again.
    StepUpRequired,
    LogoutBadOrigin,
    NotFound,
    MethodNotAllowed,
    /// "Log out everywhere" could not be recorded.
    LogoutStoreFailed,
    /// A path with more than one meaning for servers (see `policy::path`).
    PathRefused,
    /// A request the edge could not read.
    RequestInvalid,
    /// The static assets or the origin did not answer.
    BackendUnavailable,
    // Login from phone number (CIBA), the merchant API
    /// No API key, or not a configured one.
    CibaUnauthorized,
    /// A body that is not the expected JSON.
    CibaBadRequest,
    /// Not a phone number Vipps MobilePay serves (see `oidc::ciba::normalise_phone`).
    CibaBadPhone,
    CibaBadBindingMessage,
    CibaBadExpiry,
    /// A scope outside `CIBA_SCOPES`.
    CibaBadScope,
    /// A handle that does not verify (tampered, truncated, another deployment's).
    CibaBadHandle,
    /// A handle another API key started.
    CibaForeignHandle,
    /// Polled before the handle's next-poll time: nothing was sent to Vipps.
    CibaTooEarly,
    /// Vipps answered 429: too many logins at once for this user.
    CibaRateLimited,
    CibaExpired,
    CibaDenied,
    /// The user's Vipps app is too old (`old_app`).
    CibaOldApp,
    /// No usable Vipps user for this number (`invalid_user`).
    CibaInvalidUser,
    /// The provider's discovery has no `backchannel_authentication_endpoint`.
    CibaUnsupported,
    /// Vipps refused the start or the poll for a reason the merchant cannot fix.
    CibaRejected,
    /// `login_to_webpage`: the phone's browser brought a code whose ID token names no login
    /// this Worker started (or one already finished).
    CibaUnknownLogin,
    /// A started login could not be recorded (KV): it could not be finished.
    CibaStoreFailed,
    /// `login_to_webpage`: too many callbacks without `state` failed in this isolate in the last
    /// minute; no token request was made for this one.
    CibaCallbackThrottled,
    // The login hook (the merchant's backend)
    /// The backend answered `{"allow": false}`: no session.
    HookDenied,
    /// The backend did not answer in time or could not be reached (and `LOGIN_HOOK_ON_ERROR`
    /// is `deny`).
    HookUnavailable,
    /// The backend's answer was not `{"allow": bool, "claims"?: {...}}` within the limits.
    HookBadResponse,
    // Logins from apps and automatic return (server-side login transactions)
    /// A login flow this deployment does not allow (`LOGIN_FLOWS`).
    FlowNotAllowed,
    /// No stored login for the state: used already, expired, or never started.
    StoredStateUnknown,
    /// The login store (KV) could not be written or read.
    LoginStoreFailed,
    /// More logins kept in KV (automatic return, apps) were started in this isolate within a
    /// minute than `STORED_LOGINS_PER_MINUTE`: nothing stored, nothing sent to Vipps.
    LoginBusy,
    /// The "continue as" confirmation of a login that returned without this browser's cookie
    /// was not this browser's, or was used or expired.
    ConfirmInvalid,
    /// An app's request that is not the expected JSON or form (or a challenge that is not S256).
    AppBadRequest,
    /// An app URI that is not one of `APP_URIS` exactly.
    AppUriRefused,
    /// A hand-off code that was never issued, or was redeemed already.
    AppHandoffUnknown,
    AppHandoffExpired,
    /// The verifier does not match the app's challenge.
    AppVerifierMismatch,
    /// A bearer session that does not verify, or has expired or ended.
    BearerInvalid,
    Internal,
}

impl Code {
    /// Every code, for tests that must cover them all (texts, statuses).
    pub const ALL: [Code; 89] = {
        use Code::*;
        [
            ConfigInvalid, CallbackDuplicateParam, CallbackMissingCode, CallbackIssMismatch,
            StateMissing, StateMismatch, StateExpired, TransactionMissing, AccessDenied,
            ProviderError, TokenInvalidGrant, TokenRejected, TokenBadResponse, IdTokenMalformed,
            IdTokenAlgorithm, IdTokenUnknownKey, IdTokenSignature, IdTokenIssuer, IdTokenAudience,
            IdTokenAzp, IdTokenExpired, IdTokenIssuedAt, IdTokenNotYetValid, IdTokenNonce,
            IdTokenSubject, IdTokenAtHash, UserinfoFailed, UserinfoSubMismatch,
            DiscoveryUnavailable, DiscoveryInvalid, VippsUnavailable, JwksUnavailable, JwksInvalid,
            WebhookMalformed, WebhookAlgorithm, WebhookSignature, WebhookExpired, WebhookNotYetValid,
            WebhookTooLarge, WebhookMediaType, WebhookStoreFailed, WebhookForwardFailed, SessionRequired,
            Forbidden, LogoutBadOrigin, NotFound, MethodNotAllowed, PathRefused, RequestInvalid,
            BackendUnavailable, LogoutStoreFailed, Internal, CibaUnauthorized, CibaBadRequest, CibaBadPhone,
            CibaBadBindingMessage, CibaBadExpiry, CibaBadScope, CibaBadHandle, CibaForeignHandle, CibaTooEarly,
            CibaRateLimited, CibaExpired, CibaDenied, CibaOldApp, CibaInvalidUser, CibaUnsupported, CibaRejected,
            IdTokenAcrMissing, IdTokenAcrMismatch, IdTokenAuthTooOld, StepUpRequired,
            HookDenied, HookUnavailable, HookBadResponse, CibaUnknownLogin, CibaStoreFailed, CibaCallbackThrottled,
            FlowNotAllowed, StoredStateUnknown, LoginStoreFailed, LoginBusy, ConfirmInvalid, AppBadRequest, AppUriRefused,
            AppHandoffUnknown, AppHandoffExpired, AppVerifierMismatch, BearerInvalid,
        ]
    };

    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            ConfigInvalid => "config.invalid",
            CallbackDuplicateParam => "callback.duplicate_param",
            CallbackMissingCode => "callback.missing_code",
            CallbackIssMismatch => "callback.iss_mismatch",
            StateMissing => "state.missing",
            StateMismatch => "state.mismatch",
            StateExpired => "state.expired",
            TransactionMissing => "state.no_transaction",
            AccessDenied => "callback.access_denied",
            ProviderError => "callback.provider_error",
            TokenInvalidGrant => "token.invalid_grant",
            TokenRejected => "token.rejected",
            TokenBadResponse => "token.bad_response",
            IdTokenMalformed => "id_token.malformed",
            IdTokenAlgorithm => "id_token.algorithm",
            IdTokenUnknownKey => "id_token.unknown_key",
            IdTokenSignature => "id_token.signature",
            IdTokenIssuer => "id_token.issuer_mismatch",
            IdTokenAudience => "id_token.audience_mismatch",
            IdTokenAzp => "id_token.azp_mismatch",
            IdTokenExpired => "id_token.expired",
            IdTokenIssuedAt => "id_token.iat_invalid",
            IdTokenNotYetValid => "id_token.not_yet_valid",
            IdTokenNonce => "id_token.nonce_mismatch",
            IdTokenSubject => "id_token.sub_missing",
            IdTokenAtHash => "id_token.at_hash_mismatch",
            IdTokenAcrMissing => "id_token.acr_missing",
            IdTokenAcrMismatch => "id_token.acr_mismatch",
            IdTokenAuthTooOld => "id_token.auth_time_too_old",
            StepUpRequired => "session.step_up_required",
            UserinfoFailed => "userinfo.failed",
            UserinfoSubMismatch => "userinfo.sub_mismatch",
            DiscoveryUnavailable => "discovery.unavailable",
            DiscoveryInvalid => "discovery.invalid",
            VippsUnavailable => "vipps.unavailable",
            JwksUnavailable => "jwks.unavailable",
            JwksInvalid => "jwks.invalid",
            WebhookMalformed => "webhook.malformed",
            WebhookAlgorithm => "webhook.algorithm",
            WebhookSignature => "webhook.signature",
            WebhookExpired => "webhook.expired",
            WebhookNotYetValid => "webhook.not_yet_valid",
            WebhookTooLarge => "webhook.too_large",
            WebhookMediaType => "webhook.media_type",
            WebhookStoreFailed => "webhook.store_failed",
            WebhookForwardFailed => "webhook.forward_failed",
            SessionRequired => "session.required",
            Forbidden => "access.forbidden",
            LogoutBadOrigin => "logout.bad_origin",
            NotFound => "route.not_found",
            MethodNotAllowed => "route.method_not_allowed",
            PathRefused => "request.path_refused",
            LogoutStoreFailed => "logout.store_failed",
            RequestInvalid => "request.invalid",
            BackendUnavailable => "backend.unavailable",
            CibaUnauthorized => "ciba.unauthorized",
            CibaBadRequest => "ciba.bad_request",
            CibaBadPhone => "ciba.bad_phone",
            CibaBadBindingMessage => "ciba.bad_binding_message",
            CibaBadExpiry => "ciba.bad_expiry",
            CibaBadScope => "ciba.bad_scope",
            CibaBadHandle => "ciba.bad_handle",
            CibaForeignHandle => "ciba.foreign_handle",
            CibaTooEarly => "ciba.too_early",
            CibaRateLimited => "ciba.rate_limited",
            CibaExpired => "ciba.expired",
            CibaDenied => "ciba.denied",
            CibaOldApp => "ciba.old_app",
            CibaInvalidUser => "ciba.invalid_user",
            CibaUnsupported => "ciba.unsupported",
            CibaRejected => "ciba.rejected",
            CibaUnknownLogin => "ciba.unknown_login",
            CibaCallbackThrottled => "ciba.callback_throttled",
            CibaStoreFailed => "ciba.store_failed",
            HookDenied => "hook.denied",
            HookUnavailable => "hook.unavailable",
            HookBadResponse => "hook.bad_response",
            FlowNotAllowed => "login.flow_not_allowed",
            StoredStateUnknown => "state.unknown",
            LoginStoreFailed => "login.store_failed",
            LoginBusy => "login.busy",
            ConfirmInvalid => "login.confirm_invalid",
            AppBadRequest => "app.bad_request",
            AppUriRefused => "app.uri_refused",
            AppHandoffUnknown => "app.handoff_unknown",
            AppHandoffExpired => "app.handoff_expired",
            AppVerifierMismatch => "app.verifier_mismatch",
            BearerInvalid => "bearer.invalid",
            Internal => "internal",
        }
    }

    /// HTTP status for this code.
    pub fn status(self) -> u16 {
        use Code::*;
        match self {
            ConfigInvalid | Internal => 500,
            CallbackDuplicateParam | CallbackMissingCode | CallbackIssMismatch | StateMissing
            | StateMismatch | StateExpired | TransactionMissing | ProviderError
            | TokenInvalidGrant | WebhookMalformed | WebhookAlgorithm | WebhookExpired
            | WebhookNotYetValid | PathRefused | RequestInvalid => 400,
            WebhookSignature => 401,
            WebhookTooLarge => 413,
            WebhookMediaType => 415,
            WebhookForwardFailed | BackendUnavailable => 502,
            WebhookStoreFailed | LogoutStoreFailed => 503,
            AccessDenied | LogoutBadOrigin | Forbidden => 403,
            IdTokenMalformed | IdTokenAlgorithm | IdTokenUnknownKey | IdTokenSignature
            | IdTokenIssuer | IdTokenAudience | IdTokenAzp | IdTokenExpired | IdTokenIssuedAt
            | IdTokenNotYetValid | IdTokenNonce | IdTokenSubject | IdTokenAtHash
            | UserinfoSubMismatch | SessionRequired | IdTokenAcrMissing | IdTokenAcrMismatch
            | IdTokenAuthTooOld | StepUpRequired => 401,
            NotFound => 404,
            MethodNotAllowed => 405,
            CibaBadRequest | CibaBadPhone | CibaBadBindingMessage | CibaBadExpiry | CibaBadScope => 400,
            CibaUnauthorized | CibaBadHandle | CibaForeignHandle => 401,
            CibaDenied => 403,
            CibaInvalidUser => 404,
            CibaExpired => 410,
            CibaOldApp => 422,
            CibaTooEarly | CibaRateLimited => 429,
            CibaUnsupported | CibaRejected => 502,
            CibaUnknownLogin => 400,
            CibaCallbackThrottled => 429,
            CibaStoreFailed => 503,
            HookDenied => 403,
            HookUnavailable => 503,
            HookBadResponse => 502,
            FlowNotAllowed | StoredStateUnknown | ConfirmInvalid | AppBadRequest | AppUriRefused | AppHandoffUnknown
            | AppHandoffExpired | AppVerifierMismatch => 400,
            BearerInvalid => 401,
            LoginStoreFailed => 503,
            LoginBusy => 429,
            TokenRejected | TokenBadResponse | UserinfoFailed | DiscoveryInvalid | JwksInvalid => {
                502
            }
            DiscoveryUnavailable | JwksUnavailable | VippsUnavailable => 503,
        }
    }

    /// Rejected input is expected on the open internet; broken dependencies need an operator.
    pub fn is_broken(self) -> bool {
        self.status() >= 500
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error on the request path: a stable code plus a detail for the operator's log.
/// The detail names what failed (expected vs actual where that is not secret), never a token,
/// code, verifier, secret or personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub detail: String,
    /// The page the user wanted, when the flow knows it (a callback knows its login's
    /// `return_to`): the retry link of the error page leads back there.
    pub return_to: Option<SafeReturnPath>,
    /// The brand the login was started under (a per-request `market`), when it differs from
    /// the configured one: its error page wears it.
    pub brand: Option<crate::pages::Brand>,
}

impl Error {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Error { code, detail: detail.into(), return_to: None, brand: None }
    }
    /// The same error, for a user who wanted `page`.
    pub fn wanting(mut self, page: &SafeReturnPath) -> Self {
        self.return_to = Some(page.clone());
        self
    }
    /// The same error, shown in `brand` when given.
    pub fn branded(mut self, brand: Option<crate::pages::Brand>) -> Self {
        self.brand = brand.or(self.brand);
        self
    }
}

impl From<Code> for Error {
    fn from(code: Code) -> Self {
        Error::new(code, "")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.detail)
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dotted_and_unique() {
        let all = Code::ALL;
        let mut seen = std::collections::HashSet::new();
        for c in all {
            assert!(seen.insert(c.as_str()), "duplicate {}", c);
            assert!(c.as_str().contains('.') || c == Code::Internal);
            assert!((400..600).contains(&c.status()));
        }
    }

    #[test]
    fn vipps_down_is_503_not_500() {
        assert_eq!(Code::DiscoveryUnavailable.status(), 503);
        assert_eq!(Code::JwksUnavailable.status(), 503);
        assert!(!Code::StateMismatch.is_broken());
    }
}
