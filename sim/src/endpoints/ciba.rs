//! Login from phone number: Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0),
//! poll mode, shaped like Vipps' (VIPPS-NOTES.md, "Login from phone number").
//!
//! - `POST /vipps-login-ciba/api/backchannel/authentication` (CIBA §7): form-encoded, client
//!   authentication as at the token endpoint. Answers `{auth_req_id, expires_in, interval}`.
//! - The token endpoint's `urn:openid:params:grant-type:ciba` grant (CIBA §10-11):
//!   `authorization_pending`, `slow_down` (polled before `interval` passed; the interval then
//!   grows by 5 s), `expired_token`, `access_denied`, Vipps' `old_app` and `invalid_user`.
//! - `POST /vipps-login-ciba/api/v1/user-exists`: `{"exists": bool}`.
//! - `POST /_sim/ciba/approve` and `GET /_sim/ciba`: the user's answer in the app.
//! - `requested_flow=login_to_webpage` with a registered `redirect_uri`: on approval the user's
//!   browser goes to `{redirect_uri}?code=...` (no `state`); the code is exchanged once with
//!   `grant_type=urn:vipps:params:grant-type:ciba-redirect` for tokens whose ID token is
//!   **ES256**-signed (the P-256 key in the JWKS) and carries `auth_req_id`. Polling such a login
//!   is refused. The `ciba_redirect_fault` setting makes that ID token hostile ([`REDIRECT_FAULTS`]).

use serde_json::{json, Value};

use crate::config::Client;
use crate::html;
use crate::http::{Params, Request, Response};
use crate::id_token::IdTokenInput;
use crate::random;
use crate::state::{AccessGrant, CibaRequest, CibaStatus, Sim};

use super::client_auth;
use super::discovery::SCOPES_SUPPORTED;
use super::server_error;
use super::token::{error, invalid_request, respond_with_tokens};

pub const BACKCHANNEL_PATH: &str = "/vipps-login-ciba/api/backchannel/authentication";
pub const USER_EXISTS_PATH: &str = "/vipps-login-ciba/api/v1/user-exists";
pub const GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";
pub const REDIRECT_GRANT_TYPE: &str = "urn:vipps:params:grant-type:ciba-redirect";

/// `ciba_redirect_fault` values: how a `login_to_webpage` ID token misbehaves.
/// - `wrong_auth_req_id`: another login's id; `missing_auth_req_id`: none at all;
/// - `camel_auth_req_id`: spelled `authReqId` (as one Vipps example does: must be accepted);
/// - `rs256`: RS256 with the RSA key instead (must be accepted);
/// - `bad_signature`: ES256 with the signature's bytes flipped;
/// - `alg_none`, `alg_hs256` (HMAC keyed with the P-256 key's JWK `x`), `alg_es384` (an ES256
///   signature labelled ES384), `es256_rsa_kid` (ES256-signed, naming the RSA key's kid).
pub const REDIRECT_FAULTS: &[&str] = &[
    "wrong_auth_req_id", "missing_auth_req_id", "camel_auth_req_id", "rs256", "bad_signature", "alg_none", "alg_hs256",
    "alg_es384", "es256_rsa_kid",
];

/// A user who has this phone number answers every poll with `{"error": "old_app"}`.
pub const OLD_APP_PHONE: &str = "4799000001";
/// A user who has this phone number answers every poll with
/// `{"error": "invalid_request", "error_code": "invalid_user"}` (the `error_code` reading).
/// Numbers of no test user answer `{"error": "invalid_user"}` (the `error` reading).
pub const INVALID_USER_PHONE: &str = "4799000002";
/// Logins in progress one phone number may have before a start answers 429.
pub const MAX_PENDING_PER_USER: usize = 3;
/// `Retry-After` of that 429, seconds.
pub const RETRY_AFTER_SECS: u64 = 30;
/// `expires_in` when no `requested_expiry` is sent.
pub const DEFAULT_EXPIRY: u64 = 600;

/// The phone number a `login_hint` names: `urn:msisdn:<8-15 digits>`, or
/// `urn:customer-token:ct-<digits>` (the simulator's customer tokens are `ct-` + phone number).
pub fn hint_phone(hint: &str) -> Option<String> {
    let digits = hint
        .strip_prefix("urn:msisdn:")
        .or_else(|| hint.strip_prefix("urn:customer-token:ct-"))?;
    let ok = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| digits.to_string())
}

/// CIBA §7.1: `^[A-Z0-9\-]{5,8}$` at Vipps.
pub fn binding_message_ok(m: &str) -> bool {
    (5..=8).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

fn sub_for_phone<'s>(sim: &'s Sim, phone: &str) -> Option<&'s str> {
    sim.users.iter().find(|u| u.phone_number == phone).map(|u| u.sub.as_str())
}

/// `POST {backchannel_authentication_endpoint}` (CIBA §7.1-7.3).
pub fn backchannel(sim: &Sim, req: &Request) -> Response {
    let (client, form) = match client_auth::authenticated_form(sim, req) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let names = ["login_hint", "scope", "binding_message", "requested_expiry", "nonce", "state", "requested_flow", "redirect_uri"];
    if let Some(name) = form.repeated(&names).first() {
        return invalid_request(&format!("The request includes the parameter '{name}' more than once"));
    }
    let Some(phone) = form.get_nonempty("login_hint").and_then(hint_phone) else {
        return invalid_request("login_hint must be urn:msisdn:<digits> or urn:customer-token:<token>");
    };
    let scopes: Vec<String> = form.get("scope").unwrap_or("").split(' ').filter(|s| !s.is_empty()).map(String::from).collect();
    if !scopes.iter().any(|s| s == "openid")
        || scopes.iter().any(|s| !SCOPES_SUPPORTED.contains(&s.as_str()) && s != "delegatedConsents")
    {
        return error(400, "invalid_scope", "The scope must include openid and only known scopes");
    }
    let binding_message = form.get("binding_message").map(String::from);
    if binding_message.as_deref().is_some_and(|m| !binding_message_ok(m)) {
        return error(400, "invalid_binding_message", "binding_message must match ^[A-Z0-9-]{5,8}$");
    }
    let expires_in = match form.get("requested_expiry") {
        None => DEFAULT_EXPIRY,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (60..=900).contains(&n) => n,
            _ => return invalid_request("requested_expiry must be a whole number from 60 to 900"),
        },
    };
    let redirect_uri = match (form.get("requested_flow"), form.get_nonempty("redirect_uri")) {
        (None, None) => None,
        (Some("login_to_webpage"), Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => Some(uri.to_string()),
        (Some("login_to_webpage"), _) => return invalid_request("login_to_webpage needs a registered redirect_uri"),
        (Some(_), _) => return invalid_request("requested_flow must be login_to_webpage"),
        (None, Some(_)) => return invalid_request("redirect_uri is only for requested_flow=login_to_webpage"),
    };
    let Ok(auth_req_id) = random::token() else {
        return server_error("random source");
    };
    let now = sim.now();
    let interval = sim.settings().ciba_interval;
    let mut store = sim.store();
    let pending = store
        .ciba
        .values()
        .filter(|c| c.phone == phone && c.status == CibaStatus::Pending && now < c.expires_at)
        .count();
    if pending >= MAX_PENDING_PER_USER {
        return Response::json(
            429,
            &json!({"error": "too_many_requests", "error_description": "Too many logins in progress for this user"}),
        )
        .with_header("Retry-After", &RETRY_AFTER_SECS.to_string())
        .with_header("Cache-Control", "no-store");
    }
    store.ciba.insert(
        auth_req_id.clone(),
        CibaRequest {
            client_id: client.client_id.clone(),
            sub: sub_for_phone(sim, &phone).map(String::from),
            phone,
            scopes,
            nonce: form.get("nonce").map(String::from),
            binding_message,
            created_at: now,
            expires_at: now.saturating_add(expires_in),
            interval,
            last_poll: None,
            status: CibaStatus::Pending,
            answered_at: 0,
            redirect_uri,
            code: None,
        },
    );
    Response::json(200, &json!({"auth_req_id": auth_req_id, "expires_in": expires_in, "interval": interval}))
        .with_header("Cache-Control", "no-store")
}

/// The token endpoint's CIBA grant (CIBA §10.1, §11), for an authenticated client.
pub fn token_grant(sim: &Sim, client: &Client, form: &Params) -> Response {
    let Some(id) = form.get_nonempty("auth_req_id") else {
        return invalid_request("The request is missing the 'auth_req_id' parameter");
    };
    let now = sim.now();
    let settings = sim.settings();
    let (Ok(access_token), Ok(jti), Ok(sid)) = (random::hydra_style_token(), random::uuid_v4(), random::uuid_v4()) else {
        return server_error("random source");
    };
    let (login, sub) = {
        let mut store = sim.store();
        let Some(login) = store.ciba.get_mut(id).filter(|c| c.client_id == client.client_id) else {
            return error(400, "invalid_grant", "The auth_req_id is unknown, already used, or was issued to another client");
        };
        if now >= login.expires_at {
            store.ciba.remove(id);
            return error(400, "expired_token", "The auth_req_id has expired");
        }
        if login.redirect_uri.is_some() {
            return invalid_request("A login_to_webpage login is finished with its code, not polled");
        }
        // CIBA §11: polled before the interval passed: slow down, and wait 5 s longer from now on.
        if login.last_poll.is_some_and(|t| now < t.saturating_add(login.interval)) {
            login.interval = login.interval.saturating_add(5);
            login.last_poll = Some(now);
            return error(400, "slow_down", "Polled faster than the interval");
        }
        login.last_poll = Some(now);
        if login.phone == OLD_APP_PHONE {
            return error(400, "old_app", "The user's Vipps app is too old for this login");
        }
        if login.phone == INVALID_USER_PHONE {
            return Response::json(
                400,
                &json!({"error": "invalid_request", "error_code": "invalid_user", "error_description": "The user cannot log in"}),
            )
            .with_header("Cache-Control", "no-store");
        }
        let Some(sub) = login.sub.clone() else {
            return error(400, "invalid_user", "No Vipps user has this phone number");
        };
        match login.status {
            CibaStatus::Pending => return error(400, "authorization_pending", "The user has not answered yet"),
            CibaStatus::Denied => {
                store.ciba.remove(id);
                return error(400, "access_denied", "The user denied the login");
            }
            CibaStatus::Approved => {}
        }
        // Single use, like a code.
        let Some(login) = store.ciba.remove(id) else {
            return server_error("ciba login vanished");
        };
        store.access_tokens.insert(access_token.clone(), access_grant(&login, &sub, &sid, now.saturating_add(settings.access_token_ttl)));
        (login, sub)
    };
    let input = id_token_input(sim, &login, &sub, &access_token, &sid, &jti, now, settings.id_token_ttl);
    respond_with_tokens(sim, &settings, &input, &login.scopes)
}

/// The access token's grant for a finished login from phone number.
fn access_grant(login: &CibaRequest, sub: &str, sid: &str, expires_at: u64) -> AccessGrant {
    AccessGrant { sub: sub.to_string(), sid: sid.to_string(), scopes: login.scopes.clone(), expires_at, consents: false }
}

/// The ID token of a finished login from phone number (no `acr`: nothing was asked for).
#[allow(clippy::too_many_arguments)]
fn id_token_input<'a>(
    sim: &'a Sim,
    login: &'a CibaRequest,
    sub: &'a str,
    access_token: &'a str,
    sid: &'a str,
    jti: &'a str,
    now: u64,
    ttl: u64,
) -> IdTokenInput<'a> {
    IdTokenInput {
        issuer: &sim.issuer,
        sub,
        client_id: &login.client_id,
        nonce: login.nonce.as_deref().unwrap_or(""),
        access_token,
        sid,
        jti,
        auth_time: login.answered_at,
        rat: login.created_at,
        acr: None,
        now,
        ttl,
    }
}

/// The token endpoint's `login_to_webpage` grant: the code, once (a second use is
/// `invalid_grant`), for the client it was made for; `redirect_uri`, when sent, must be the
/// start's. The ID token is ES256 with `auth_req_id`, unless `ciba_redirect_fault` says otherwise.
pub fn redirect_grant(sim: &Sim, client: &Client, form: &Params) -> Response {
    let Some(code) = form.get_nonempty("code") else {
        return invalid_request("The request is missing the 'code' parameter");
    };
    let now = sim.now();
    let settings = sim.settings();
    let (Ok(access_token), Ok(jti), Ok(sid)) = (random::hydra_style_token(), random::uuid_v4(), random::uuid_v4()) else {
        return server_error("random source");
    };
    let (id, login, sub) = {
        let mut store = sim.store();
        let found = store.ciba.iter().find(|(_, c)| c.code.as_deref() == Some(code)).map(|(id, _)| id.clone());
        // Single use: the login is gone after the first presentation, whatever follows.
        let Some((id, login)) = found.and_then(|id| store.ciba.remove(&id).map(|l| (id, l))) else {
            return error(400, "invalid_grant", "The code is unknown or already used");
        };
        if login.client_id != client.client_id {
            return error(400, "invalid_grant", "The code was issued to another client");
        }
        if now >= login.expires_at {
            return error(400, "expired_token", "The login has expired");
        }
        if form.get("redirect_uri").is_some_and(|r| Some(r) != login.redirect_uri.as_deref()) {
            return error(400, "invalid_grant", "The redirect_uri differs from the start's");
        }
        let Some(sub) = login.sub.clone() else {
            return error(400, "invalid_user", "No Vipps user has this phone number");
        };
        store.access_tokens.insert(access_token.clone(), access_grant(&login, &sub, &sid, now.saturating_add(settings.access_token_ttl)));
        (id, login, sub)
    };
    let input = id_token_input(sim, &login, &sub, &access_token, &sid, &jti, now, settings.id_token_ttl);
    let id_token = match redirect_id_token(sim, &input, &id, settings.ciba_redirect_fault.as_deref()) {
        Ok(t) => t,
        Err(e) => return server_error(&e),
    };
    let body = json!({
        "access_token": access_token,
        "id_token": id_token,
        "expires_in": settings.access_token_ttl,
        "scope": login.scopes.join(" "),
        "token_type": "bearer",
    });
    Response::json(200, &body).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
}

/// The `login_to_webpage` ID token: Vipps' claims plus `auth_req_id`, ES256 with the P-256 key,
/// altered as `fault` says.
pub fn redirect_id_token(sim: &Sim, input: &IdTokenInput<'_>, auth_req_id: &str, fault: Option<&str>) -> Result<String, String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut claims = crate::id_token::standard(input, sim.ec_key.kid()).claims;
    let mut header = json!({"alg": "ES256", "kid": sim.ec_key.kid(), "typ": "JWT"});
    match fault {
        Some("wrong_auth_req_id") => {
            claims.insert("auth_req_id".into(), json!(format!("{auth_req_id}-not-this-one")));
        }
        Some("missing_auth_req_id") => {}
        Some("camel_auth_req_id") => {
            claims.insert("authReqId".into(), json!(auth_req_id));
        }
        _ => {
            claims.insert("auth_req_id".into(), json!(auth_req_id));
        }
    }
    match fault {
        Some("rs256") => {
            header = json!({"alg": "RS256", "kid": sim.key.kid(), "typ": "JWT"});
        }
        Some("alg_none") => header["alg"] = json!("none"),
        Some("alg_hs256") => header["alg"] = json!("HS256"),
        Some("alg_es384") => header["alg"] = json!("ES384"),
        Some("es256_rsa_kid") => header["kid"] = json!(sim.key.kid()),
        _ => {}
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string().as_bytes()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string().as_bytes())
    );
    let signature = match fault {
        Some("rs256") => sim.key.sign_rs256(signing_input.as_bytes())?,
        Some("alg_none") => Vec::new(),
        Some("alg_hs256") => {
            use hmac::{Hmac, Mac};
            let x = sim.ec_key.public_jwk()["x"].as_str().unwrap_or_default().to_string();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(x.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Some("bad_signature") => {
            let mut sig = sim.ec_key.sign_es256(signing_input.as_bytes());
            if let Some(b) = sig.get_mut(20) {
                *b ^= 0xff;
            }
            sig
        }
        _ => sim.ec_key.sign_es256(signing_input.as_bytes()),
    };
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// `POST /vipps-login-ciba/api/v1/user-exists`: `{"login_hint"}` as JSON (a body starting with
/// `{`) or a form, client authentication as at the token endpoint.
pub fn user_exists(sim: &Sim, req: &Request) -> Response {
    let json = req.body.trim_ascii_start().starts_with(b"{");
    let form = if json { Params::parse(b"") } else { req.form_params() };
    let client = client_auth::authenticate(sim, req, &form);
    if let Err(response) = client {
        return response;
    }
    let hint = if !json {
        form.get("login_hint").map(String::from)
    } else {
        serde_json::from_slice::<Value>(&req.body).ok().and_then(|v| v.get("login_hint")?.as_str().map(String::from))
    };
    match hint.as_deref().and_then(hint_phone) {
        None => invalid_request("login_hint must be urn:msisdn:<digits> or urn:customer-token:<token>"),
        Some(phone) => {
            let exists = sub_for_phone(sim, &phone).is_some() || phone == OLD_APP_PHONE || phone == INVALID_USER_PHONE;
            Response::json(200, &json!({"exists": exists})).with_header("Cache-Control", "no-store")
        }
    }
}

/// `POST /_sim/ciba/approve`: the user answers in the app. JSON or a form with `auth_req_id` (or
/// `phone`: that number's newest pending login) and `decision` (`approve` or `deny`). A body that
/// starts with `{` is JSON whatever its content type (`curl -d` says form); a form (from
/// `GET /_sim/ciba`) is answered with a redirect back to the list.
pub fn approve(sim: &Sim, req: &Request) -> Response {
    let from_form = !req.body.trim_ascii_start().starts_with(b"{");
    let field = |name: &str| -> Option<String> {
        if from_form {
            req.form_params().get(name).map(String::from)
        } else {
            serde_json::from_slice::<Value>(&req.body).ok().and_then(|v| v.get(name)?.as_str().map(String::from))
        }
    };
    let status = match field("decision").as_deref() {
        Some("approve") => CibaStatus::Approved,
        Some("deny") => CibaStatus::Denied,
        _ => return Response::json(400, &json!({"error": "invalid_request", "problems": ["decision must be approve or deny"]})),
    };
    let now = sim.now();
    let mut store = sim.store();
    let id = match (field("auth_req_id"), field("phone")) {
        (Some(id), _) => Some(id),
        (None, Some(phone)) => {
            let phone = phone.trim_start_matches('+').to_string();
            store
                .ciba
                .iter()
                .filter(|(_, c)| c.phone == phone && c.status == CibaStatus::Pending && now < c.expires_at)
                .max_by_key(|(_, c)| c.created_at)
                .map(|(id, _)| id.clone())
        }
        (None, None) => None,
    };
    let login = id.as_ref().and_then(|id| store.ciba.get_mut(id)).filter(|c| c.status == CibaStatus::Pending && now < c.expires_at);
    let Some(login) = login else {
        return Response::json(404, &json!({"error": "not_found", "error_description": "No pending login matches"}));
    };
    login.status = status;
    login.answered_at = now;
    // login_to_webpage: the user's browser goes on to the redirect URI with a code.
    let redirect = match (&login.redirect_uri, status) {
        (Some(uri), CibaStatus::Approved) => {
            let Ok(code) = random::token() else { return server_error("random source") };
            login.code = Some(code.clone());
            let sep = if uri.contains('?') { '&' } else { '?' };
            Some(format!("{uri}{sep}code={code}"))
        }
        _ => None,
    };
    if from_form {
        return Response::redirect(redirect.as_deref().unwrap_or("/_sim/ciba"));
    }
    let mut body = json!({"auth_req_id": id, "status": status.as_str()});
    if let Some(r) = redirect {
        body["redirect"] = json!(r);
    }
    Response::json(200, &body).with_header("Cache-Control", "no-store")
}

/// `GET /_sim/ciba`: the logins in progress, each with Approve and Deny buttons.
pub fn pending_page(sim: &Sim, _req: &Request) -> Response {
    let now = sim.now();
    let store = sim.store();
    let mut rows = String::new();
    for (id, c) in store.ciba.iter().filter(|(_, c)| c.status == CibaStatus::Pending && now < c.expires_at) {
        let form = |decision: &str, label: &str| {
            format!(
                r#"<form method="post" action="/_sim/ciba/approve"><input type="hidden" name="auth_req_id" value="{}"><input type="hidden" name="decision" value="{decision}"><button type="submit" class="{decision}">{label}</button></form>"#,
                html::escape(id)
            )
        };
        rows.push_str(&format!(
            r#"<tr data-auth-req-id="{}"><td>+{}</td><td>{}</td><td>{}</td><td>{}s</td><td>{}{}</td></tr>"#,
            html::escape(id),
            html::escape(&c.phone),
            html::escape(&c.client_id),
            html::escape(c.binding_message.as_deref().unwrap_or("-")),
            c.expires_at.saturating_sub(now),
            form("approve", "Approve"),
            form("deny", "Deny"),
        ));
    }
    if rows.is_empty() {
        rows.push_str(r#"<tr><td colspan="5">No logins in progress.</td></tr>"#);
    }
    let body = format!(
        "<div class=\"card\">\n<h1>Logins from phone number in progress</h1>\n<table><tr><th>Phone</th><th>Client</th>\
         <th>Binding message</th><th>Expires in</th><th></th></tr>{rows}</table>\n</div>\n"
    );
    let page = html::layout("Logins from phone number (simulator)", &body);
    Response::html(200, page)
}
