//! Login from phone number: OpenID Client-Initiated Backchannel Authentication (CIBA Core 1.0),
//! poll mode, as Vipps offers it (VIPPS-NOTES.md, "Login from phone number (CIBA)").
//!
//! Pure pairs, as for the browser flow: the start request (CIBA §7.1) and its response (§7.3),
//! the poll (§10.1) and its answers (§10.2, §11, and Vipps' `old_app` / `invalid_user`), the
//! user-exists check. The login hint is validated into a [`LoginHint`] before anything is sent.

use super::discovery::Discovery;
use super::json_body;
use super::token::{self, client_auth, TokenResponse};
use crate::config::Config;
use crate::error::{Code, Error};
use crate::http::{InboundResponse, OutboundRequest};
use crate::secret::Secret;
use crate::util::form_encode;
use serde::Deserialize;

pub const GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";
/// The code grant of `login_to_webpage` (Vipps' own).
pub const REDIRECT_GRANT_TYPE: &str = "urn:vipps:params:grant-type:ciba-redirect";
/// The `requested_flow` of a login finished in the phone's browser.
pub const LOGIN_TO_WEBPAGE: &str = "login_to_webpage";
/// Not in discovery: on the backchannel endpoint's host (Vipps' newer docs).
pub const USER_EXISTS_PATH: &str = "/vipps-login-ciba/api/v1/user-exists";
/// CIBA §7.3: "If no value is provided, clients MUST use 5 as the default value."
pub const DEFAULT_INTERVAL: u64 = 5;
/// CIBA §11 `slow_down`: "the interval MUST be increased by at least 5 seconds".
pub const SLOW_DOWN_SECS: u64 = 5;
/// Longest interval we accept from Vipps: a larger one is clamped (a till must not wait forever).
pub const MAX_INTERVAL: u64 = 60;
/// Vipps' `requested_expiry` range.
pub const EXPIRY_RANGE: std::ops::RangeInclusive<u64> = 60..=900;

/// A validated `login_hint`: `urn:msisdn:<digits>` or `urn:customer-token:<token>`. Personal
/// data: no `Debug` of the value, never logged.
#[derive(Clone)]
pub struct LoginHint(String);

impl std::fmt::Debug for LoginHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginHint([redacted])")
    }
}

impl LoginHint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// From a phone number as a till types it (see [`normalise_phone`]).
    pub fn phone(raw: &str) -> Result<LoginHint, Error> {
        normalise_phone(raw)
            .map(|digits| LoginHint(format!("urn:msisdn:{digits}")))
            .ok_or_else(|| Error::new(Code::CibaBadPhone, "not a phone number Vipps MobilePay serves"))
    }
    /// From a customer token (a QR check-in): 1 to 512 printable ASCII characters, no spaces.
    pub fn customer_token(raw: &str) -> Result<LoginHint, Error> {
        let ok = (1..=512).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(Error::new(Code::CibaBadRequest, "customer_token must be 1 to 512 printable ASCII characters"));
        }
        Ok(LoginHint(format!("urn:customer-token:{raw}")))
    }
}

/// A phone number as digits with the country code and no `+` (`4712345678`), or `None`.
///
/// Accepted: E.164 with `+` or `00` (spaces ignored) for the markets Vipps MobilePay serves
/// (Norway +47 and Denmark +45 with 8 digits, Sweden +46 with 7 to 10, Finland +358 with 5 to
/// 10), and a bare Norwegian 8-digit number. Anything else (another country, letters, too
/// short or long) is refused rather than guessed.
pub fn normalise_phone(raw: &str) -> Option<String> {
    if raw.len() > 32 {
        return None;
    }
    let s: String = raw.chars().filter(|c| *c != ' ').collect();
    let digits = if let Some(rest) = s.strip_prefix('+') {
        rest
    } else if let Some(rest) = s.strip_prefix("00") {
        rest
    } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("47{s}"));
    } else {
        return None;
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national_ok = |prefix: &str, lens: std::ops::RangeInclusive<usize>| digits.strip_prefix(prefix).is_some_and(|n| lens.contains(&n.len()));
    let ok = national_ok("47", 8..=8) || national_ok("45", 8..=8) || national_ok("46", 7..=10) || national_ok("358", 5..=10);
    ok.then(|| digits.to_string())
}

/// `^[A-Z0-9\-]{5,8}$` (Vipps).
pub fn binding_message_ok(m: &str) -> bool {
    (5..=8).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// A binding message of 6 characters from an alphabet without look-alikes (no 0/O, 1/I),
/// from 6 random bytes (32 symbols: unbiased).
pub fn generate_binding_message(random: &[u8; 6]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random.iter().map(|b| ALPHABET[(*b % 32) as usize] as char).collect()
}

/// What a start asks Vipps for; every field already validated.
pub struct StartParams<'a> {
    pub hint: &'a LoginHint,
    pub scope: &'a str,
    pub binding_message: Option<&'a str>,
    pub requested_expiry: Option<u64>,
    pub nonce: &'a str,
    /// `login_to_webpage`: the redirect URI the phone's browser goes to with the code.
    pub redirect_uri: Option<&'a str>,
}

/// CIBA §7.1: the backchannel authentication request, client authentication as at the token
/// endpoint.
pub fn build_start_request(config: &Config, discovery: &Discovery, p: &StartParams<'_>) -> Result<OutboundRequest, Error> {
    let Some(url) = discovery.backchannel_authentication_endpoint() else {
        return Err(Error::new(Code::CibaUnsupported, "discovery has no backchannel_authentication_endpoint"));
    };
    let expiry = p.requested_expiry.map(|e| e.to_string());
    let mut form: Vec<(&str, &str)> = vec![("login_hint", p.hint.as_str()), ("scope", p.scope), ("nonce", p.nonce)];
    if let Some(m) = p.binding_message {
        form.push(("binding_message", m));
    }
    if let Some(e) = expiry.as_deref() {
        form.push(("requested_expiry", e));
    }
    if let Some(uri) = p.redirect_uri {
        form.push(("requested_flow", LOGIN_TO_WEBPAGE));
        form.push(("redirect_uri", uri));
    }
    let headers = client_auth(config, &mut form);
    Ok(OutboundRequest { method: "POST", url: url.to_string(), headers, body: Some(form_encode(form)) })
}

/// A started login (CIBA §7.3).
#[derive(Debug)]
pub struct Started {
    pub auth_req_id: Secret,
    pub expires_in: u64,
    pub interval: u64,
}

#[derive(Deserialize)]
struct RawStarted {
    auth_req_id: String,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// An error answer: the code in `error` or, at Vipps, in `error_code`.
#[derive(Deserialize, Default)]
struct RawError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
}

/// The error codes of an error answer, log-safe: `error_code` first (more specific at Vipps).
fn error_codes(resp: &InboundResponse) -> Vec<String> {
    let raw: RawError = json_body(resp).unwrap_or_default();
    [raw.error_code, raw.error].into_iter().flatten().map(|e| super::safe_code(&e)).collect()
}

/// Seconds from a `Retry-After` header (delta-seconds only; a date or nonsense gives `default`),
/// kept within 1..=3600.
pub fn retry_after(resp: &InboundResponse, default: u64) -> u64 {
    resp.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default).clamp(1, 3600)
}

/// An answer of Vipps that the till can act on: a stable code, and for 429 the seconds to wait.
fn vipps_refusal(resp: &InboundResponse, what: &str) -> (Error, Option<u64>) {
    if resp.status == 429 {
        let secs = retry_after(resp, 30);
        return (Error::new(Code::CibaRateLimited, format!("{what}: 429, retry after {secs} s")), Some(secs));
    }
    let codes = error_codes(resp);
    let has = |c: &str| codes.iter().any(|x| x == c);
    let code = if has("old_app") {
        Code::CibaOldApp
    } else if has("invalid_user") || has("unknown_user_id") {
        Code::CibaInvalidUser
    } else if has("expired_token") || has("expired_login_hint_token") {
        Code::CibaExpired
    } else if has("access_denied") {
        Code::CibaDenied
    } else if has("invalid_binding_message") {
        Code::CibaBadBindingMessage
    } else if resp.status >= 500 {
        Code::VippsUnavailable
    } else {
        Code::CibaRejected
    };
    (Error::new(code, format!("{what}: status {} error {}", resp.status, codes.join("/"))), None)
}

/// A refusal of Vipps, with the seconds to wait when Vipps said so (429).
#[derive(Debug)]
pub struct Refused {
    pub error: Error,
    pub retry_after: Option<u64>,
}

/// CIBA §7.3 / §13.
pub fn process_start_response(resp: &InboundResponse) -> Result<Started, Refused> {
    if resp.status != 200 {
        let (error, retry_after) = vipps_refusal(resp, "backchannel");
        return Err(Refused { error, retry_after });
    }
    let bad = |why: &str| Refused { error: Error::new(Code::TokenBadResponse, format!("backchannel: {why}")), retry_after: None };
    let raw: RawStarted = json_body(resp).ok_or_else(|| bad("not a backchannel response"))?;
    if raw.auth_req_id.is_empty() || raw.auth_req_id.len() > 1024 || raw.expires_in == 0 {
        return Err(bad("empty auth_req_id or expires_in"));
    }
    Ok(Started {
        auth_req_id: Secret::new(raw.auth_req_id),
        expires_in: raw.expires_in.min(3600),
        interval: raw.interval.unwrap_or(DEFAULT_INTERVAL).clamp(1, MAX_INTERVAL),
    })
}

/// CIBA §10.1: the token request of the poll mode.
pub fn build_poll_request(config: &Config, discovery: &Discovery, auth_req_id: &str) -> OutboundRequest {
    let mut form: Vec<(&str, &str)> = vec![("grant_type", GRANT_TYPE), ("auth_req_id", auth_req_id)];
    let headers = client_auth(config, &mut form);
    OutboundRequest { method: "POST", url: discovery.token_endpoint().to_string(), headers, body: Some(form_encode(form)) }
}

/// `login_to_webpage`: the code the phone's browser brought, exchanged once (never retried:
/// Vipps allows one token call per authentication). `redirect_uri` is sent as for the
/// authorization code grant (RFC 6749 §4.1.3).
pub fn build_redirect_exchange(config: &Config, discovery: &Discovery, code: &str) -> OutboundRequest {
    let mut form: Vec<(&str, &str)> =
        vec![("grant_type", REDIRECT_GRANT_TYPE), ("code", code), ("redirect_uri", config.vipps.redirect_uri.as_str())];
    let headers = client_auth(config, &mut form);
    OutboundRequest { method: "POST", url: discovery.token_endpoint().to_string(), headers, body: Some(form_encode(form)) }
}

/// What one poll learned.
#[derive(Debug)]
pub enum Polled {
    Tokens(TokenResponse),
    /// `authorization_pending`: poll again after the interval.
    Pending,
    /// `slow_down`: poll again after the interval + 5 s, and keep that interval.
    SlowDown,
}

/// CIBA §10.2 and §11.
pub fn process_poll_response(resp: &InboundResponse) -> Result<Polled, Refused> {
    if resp.status == 200 {
        return token::process_response(resp).map(Polled::Tokens).map_err(|error| Refused { error, retry_after: None });
    }
    let codes = error_codes(resp);
    if resp.status == 400 && codes.iter().any(|c| c == "authorization_pending") {
        return Ok(Polled::Pending);
    }
    if resp.status == 400 && codes.iter().any(|c| c == "slow_down") {
        return Ok(Polled::SlowDown);
    }
    let (error, retry_after) = vipps_refusal(resp, "token");
    Err(Refused { error, retry_after })
}

/// `POST {host}/vipps-login-ciba/api/v1/user-exists` with the login hint, client
/// authentication as at the token endpoint.
pub fn build_user_exists_request(config: &Config, discovery: &Discovery, hint: &LoginHint) -> Result<OutboundRequest, Error> {
    let Some(ciba) = discovery.backchannel_authentication_endpoint() else {
        return Err(Error::new(Code::CibaUnsupported, "discovery has no backchannel_authentication_endpoint"));
    };
    // Discovery validated this URL (https on the discovery host).
    let origin = url::Url::parse(ciba).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let mut form: Vec<(&str, &str)> = vec![("login_hint", hint.as_str())];
    let headers = client_auth(config, &mut form);
    Ok(OutboundRequest { method: "POST", url: format!("{origin}{USER_EXISTS_PATH}"), headers, body: Some(form_encode(form)) })
}

#[derive(Deserialize)]
struct RawExists {
    exists: bool,
}

pub fn process_user_exists_response(resp: &InboundResponse) -> Result<bool, Refused> {
    if resp.status != 200 {
        let (error, retry_after) = vipps_refusal(resp, "user-exists");
        return Err(Refused { error, retry_after });
    }
    json_body::<RawExists>(resp)
        .map(|r| r.exists)
        .ok_or_else(|| Refused { error: Error::new(Code::TokenBadResponse, "user-exists: not {\"exists\": bool}"), retry_after: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    fn resp(status: u16, body: &str, extra: &[(&str, &str)]) -> InboundResponse {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        InboundResponse { status, headers, body: body.as_bytes().to_vec() }
    }

    fn disc() -> Discovery {
        crate::oidc::discovery::test_discovery_with(serde_json::json!({
            "backchannel_authentication_endpoint": "https://id.example/vipps-login-ciba/api/backchannel/authentication",
        }))
    }

    #[test]
    fn phone_numbers() {
        for (raw, want) in [
            ("+4712345678", "4712345678"),
            ("004712345678", "4712345678"),
            ("12345678", "4712345678"),
            ("+47 123 45 678", "4712345678"),
            ("+4512345678", "4512345678"),
            ("+46701234567", "46701234567"),
            ("+358401234567", "358401234567"),
        ] {
            assert_eq!(normalise_phone(raw).as_deref(), Some(want), "{raw}");
        }
        for bad in [
            "", "+", "1234567", "123456789", "+471234567", "+47123456789", "+15551234567", "+447911123456", "0047-12345678",
            "+47１２３４５６７８", "4712345678", "+47abcdefgh", "urn:msisdn:4712345678", &"1".repeat(40), "+358 4", "00",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad:?}");
        }
        assert_eq!(LoginHint::phone("+4712345678").unwrap().as_str(), "urn:msisdn:4712345678");
        assert_eq!(LoginHint::phone("+1 555").unwrap_err().code, Code::CibaBadPhone);
        assert!(!format!("{:?}", LoginHint::phone("12345678").unwrap()).contains("1234"));
    }

    #[test]
    fn binding_messages() {
        for ok in ["ABCDE", "AB-12", "12345678", "-----"] {
            assert!(binding_message_ok(ok), "{ok}");
        }
        for bad in ["ABCD", "ABCDEFGHI", "abcde", "AB 12", "ÆØÅAB", "AB_12"] {
            assert!(!binding_message_ok(bad), "{bad}");
        }
        let m = generate_binding_message(&[0, 31, 32, 255, 7, 100]);
        assert!(binding_message_ok(&m) && m.len() == 6, "{m}");
    }

    #[test]
    fn start_request_is_form_with_client_auth() {
        let c = parse(&[]).unwrap();
        let hint = LoginHint::phone("12345678").unwrap();
        let p = StartParams { hint: &hint, scope: "openid name", binding_message: Some("AB-12"), requested_expiry: Some(120), nonce: "n-0123456789", redirect_uri: None };
        let r = build_start_request(&c, &disc(), &p).unwrap();
        assert_eq!(r.url, "https://id.example/vipps-login-ciba/api/backchannel/authentication");
        assert_eq!(
            r.body.as_deref(),
            Some("login_hint=urn%3Amsisdn%3A4712345678&scope=openid+name&nonce=n-0123456789&binding_message=AB-12&requested_expiry=120")
        );
        assert!(crate::http::header(&r.headers, "authorization").unwrap().starts_with("Basic "));
        let c = parse(&[("VIPPS_TOKEN_AUTH_METHOD", "client_secret_post")]).unwrap();
        let r = build_start_request(&c, &disc(), &p).unwrap();
        assert!(r.body.unwrap().contains("client_secret=s3cret-value"));
        let no_ciba = crate::oidc::discovery::test_discovery();
        assert_eq!(build_start_request(&c, &no_ciba, &p).unwrap_err().code, Code::CibaUnsupported);
        let web = StartParams { redirect_uri: Some("https://shop.example/auth/callback"), ..p };
        let body = build_start_request(&c, &disc(), &web).unwrap().body.unwrap();
        assert!(body.contains("&requested_flow=login_to_webpage&redirect_uri=https%3A%2F%2Fshop.example%2Fauth%2Fcallback"), "{body}");
        let r = build_redirect_exchange(&c, &disc(), "code-1");
        assert!(r.body.unwrap().starts_with("grant_type=urn%3Avipps%3Aparams%3Agrant-type%3Aciba-redirect&code=code-1&redirect_uri="));
        let r = build_user_exists_request(&c, &disc(), &hint).unwrap();
        assert_eq!(r.url, "https://id.example/vipps-login-ciba/api/v1/user-exists");
    }

    #[test]
    fn start_responses() {
        let s = process_start_response(&resp(200, r#"{"auth_req_id":"abc","expires_in":600,"interval":5}"#, &[])).unwrap();
        assert_eq!((s.auth_req_id.expose(), s.expires_in, s.interval), ("abc", 600, 5));
        let s = process_start_response(&resp(200, r#"{"auth_req_id":"abc","expires_in":600}"#, &[])).unwrap();
        assert_eq!(s.interval, 5, "CIBA §7.3 default");
        let s = process_start_response(&resp(200, r#"{"auth_req_id":"abc","expires_in":600,"interval":100000}"#, &[])).unwrap();
        assert_eq!(s.interval, MAX_INTERVAL);
        let e = process_start_response(&resp(429, r#"{"error":"too_many_requests"}"#, &[("retry-after", "17")])).unwrap_err();
        assert_eq!((e.error.code, e.retry_after), (Code::CibaRateLimited, Some(17)));
        let e = process_start_response(&resp(429, "", &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")])).unwrap_err();
        assert_eq!(e.retry_after, Some(30));
        for (body, code) in [
            (r#"{"error":"invalid_binding_message"}"#, Code::CibaBadBindingMessage),
            (r#"{"error":"invalid_request","error_code":"invalid_user"}"#, Code::CibaInvalidUser),
            (r#"{"error":"invalid_client"}"#, Code::CibaRejected),
            (r#"[1,2]"#, Code::CibaRejected),
        ] {
            assert_eq!(process_start_response(&resp(400, body, &[])).unwrap_err().error.code, code, "{body}");
        }
        assert_eq!(process_start_response(&resp(503, "down", &[])).unwrap_err().error.code, Code::VippsUnavailable);
        for bad in [r#"{"auth_req_id":"","expires_in":600}"#, r#"{"auth_req_id":"a","expires_in":0}"#, r#"{"auth_req_id":5}"#] {
            assert_eq!(process_start_response(&resp(200, bad, &[])).unwrap_err().error.code, Code::TokenBadResponse);
        }
    }

    #[test]
    fn poll_answers() {
        let c = parse(&[]).unwrap();
        let r = build_poll_request(&c, &disc(), "id-1");
        assert_eq!(r.body.as_deref(), Some("grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba&auth_req_id=id-1"));
        assert!(matches!(process_poll_response(&resp(400, r#"{"error":"authorization_pending"}"#, &[])), Ok(Polled::Pending)));
        assert!(matches!(process_poll_response(&resp(400, r#"{"error":"slow_down"}"#, &[])), Ok(Polled::SlowDown)));
        for (status, body, code) in [
            (400, r#"{"error":"expired_token"}"#, Code::CibaExpired),
            (400, r#"{"error":"access_denied"}"#, Code::CibaDenied),
            (400, r#"{"error":"old_app"}"#, Code::CibaOldApp),
            (400, r#"{"error":"invalid_request","error_code":"old_app"}"#, Code::CibaOldApp),
            (400, r#"{"error":"invalid_user"}"#, Code::CibaInvalidUser),
            (400, r#"{"error":"invalid_request","error_code":"invalid_user"}"#, Code::CibaInvalidUser),
            (400, r#"{"error":"invalid_grant"}"#, Code::CibaRejected),
            (429, r#"{}"#, Code::CibaRateLimited),
            (500, r#"{}"#, Code::VippsUnavailable),
        ] {
            assert_eq!(process_poll_response(&resp(status, body, &[])).unwrap_err().error.code, code, "{body}");
        }
        let ok = process_poll_response(&resp(200, r#"{"access_token":"a","id_token":"b","token_type":"bearer"}"#, &[])).unwrap();
        assert!(matches!(ok, Polled::Tokens(_)));
        assert_eq!(process_poll_response(&resp(200, r#"{"access_token":"a"}"#, &[])).unwrap_err().error.code, Code::TokenBadResponse);
        let e = process_poll_response(&resp(400, r#"{"error":"x\n<script>","error_code":"\u0000evil"}"#, &[])).unwrap_err();
        assert!(!e.error.detail.contains('\n') && !e.error.detail.contains('<'));
    }

    #[test]
    fn user_exists_answers() {
        assert!(process_user_exists_response(&resp(200, r#"{"exists":true}"#, &[])).unwrap());
        assert!(!process_user_exists_response(&resp(200, r#"{"exists":false}"#, &[])).unwrap());
        assert_eq!(process_user_exists_response(&resp(200, r#"{"exists":"yes"}"#, &[])).unwrap_err().error.code, Code::TokenBadResponse);
        assert_eq!(process_user_exists_response(&resp(401, r#"{"error":"invalid_client"}"#, &[])).unwrap_err().error.code, Code::CibaRejected);
    }
}
