//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) and the simulated user's
//! answer: confirm as a test user, or cancel.

use crate::html;
use crate::http::{append_query, Request, Response};
use crate::modes::{Mode, EVIL_ISS_PARAM};
use crate::pkce::{self, ChallengeError};
use crate::random;
use crate::state::{is_marketing, CodeGrant, Consent, PendingLogin, Sim};
use crate::users::User;
use crate::modes::APP_AUTH;

use super::discovery::SCOPES_SUPPORTED;
use super::server_error;

/// Vipps' gateway answers 502 beyond these (VIPPS-NOTES.md).
pub const MAX_URL_LEN: usize = 2000;
pub const MAX_STATE_NONCE_LEN: usize = 1000;
/// Minimum length of `state` and `nonce` (Hydra's entropy check).
pub const MIN_STATE_NONCE_LEN: usize = 8;

const INVALID_STATE: &str =
    "The state is missing or does not have enough characters and is therefore considered too weak";

/// `GET .../oauth2/auth`
pub fn authorize(sim: &Sim, req: &Request) -> Response {
    let params = req.query_params();

    // 1. The gateway in front of Vipps Login refuses over-long requests before anything else.
    let host = req
        .header("host")
        .map(str::len)
        .unwrap_or(sim.base.len().saturating_sub("http://".len()));
    let full_len = "http://".len() + host + req.raw_url.len();
    let too_long = |name: &str| {
        params
            .get(name)
            .is_some_and(|v| v.chars().count() > MAX_STATE_NONCE_LEN)
    };
    if full_len > MAX_URL_LEN || too_long("state") || too_long("nonce") {
        return Response::html(502, html::bad_gateway());
    }

    // 2. Without a known client and an exactly registered redirect URI there is nowhere safe to
    //    send errors: show an error page (RFC 6749 §4.1.2.1).
    if !params.repeated(&["client_id", "redirect_uri"]).is_empty() {
        return error_page("client_id and redirect_uri must be given once");
    }
    let Some(client) = params.get("client_id").and_then(|id| sim.client(id)) else {
        return error_page("The client is unknown (client_id)");
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|uri| client.has_redirect_uri(uri))
    else {
        return error_page(
            "The redirect_uri is missing or does not exactly match a redirect URI registered for this client",
        );
    };

    // 3. From here on errors go back to the client.
    let state = params.get("state");
    let iss = iss_param(sim);
    let fail = |error: &str, description: &str| {
        let mut p = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            p.push(("state", s));
        }
        if let Some(iss) = &iss {
            p.push(("iss", iss));
        }
        Response::redirect(&append_query(redirect_uri, &p))
    };

    let repeated = params.repeated(&[
        "response_type",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]);
    if let Some(name) = repeated.first() {
        return fail(
            "invalid_request",
            &format!("The request includes the parameter '{name}' more than once"),
        );
    }
    if params.get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "The authorization server does not support obtaining an authorization code using this method",
        );
    }
    let scopes = match parse_scopes(params.get("scope")) {
        Ok(s) => s,
        Err(description) => return fail("invalid_scope", &description),
    };
    let state = match state {
        Some(s) if s.chars().count() >= MIN_STATE_NONCE_LEN => s,
        _ => return fail("invalid_state", INVALID_STATE),
    };
    // An empty parameter counts as absent, as in Hydra.
    let nonce = params.get_nonempty("nonce");
    if nonce.is_some_and(|n| n.chars().count() < MIN_STATE_NONCE_LEN) {
        return fail(
            "invalid_request",
            "The nonce does not have enough characters and is therefore considered too weak",
        );
    }
    let challenge = match pkce::from_authorize(
        params.get_nonempty("code_challenge"),
        params.get_nonempty("code_challenge_method"),
    ) {
        Ok(c) => c,
        Err(ChallengeError::MethodWithoutChallenge) => {
            return fail(
                "invalid_request",
                "code_challenge_method was sent without code_challenge",
            )
        }
        Err(ChallengeError::UnknownMethod) => {
            return fail(
                "invalid_request",
                "code_challenge_method must be 'plain' or 'S256'",
            )
        }
    };

    // The app flows' own parameters (app_flows.rs).
    let app = match super::app_flows::from_authorize(
        params.get_nonempty("requested_flow"),
        params.get_nonempty("app_callback_uri"),
        params.get_nonempty("final_redirect_is_app"),
        client,
        challenge.as_ref(),
    ) {
        Ok(a) => a,
        Err((error, description)) => return fail(error, &description),
    };

    // A simulated refusal (`authorize_error`): temporarily_unavailable, or an undocumented one.
    let simulated = sim.update_settings_and_keys(|s, _| {
        let e = s.authorize_error.as_mut()?;
        e.times = e.times.saturating_sub(1);
        let error = e.error.clone();
        if e.times == 0 {
            s.authorize_error = None;
        }
        Some(error)
    });
    if let Some(error) = simulated {
        return fail(&error, "Simulated authorize error (vipps-sim authorize_error)");
    }

    let app_auth = params
        .get("acr_values")
        .is_some_and(|v| v.split(' ').any(|a| a == APP_AUTH));
    let pending = PendingLogin {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scopes,
        state: state.to_string(),
        nonce: nonce.map(str::to_string),
        challenge,
        created_at: sim.now(),
        app,
        app_auth,
        step_up: params.get("step_up") == Some("true"),
        market: params
            .get("market")
            .filter(|m| ["NO", "DK", "FI", "SE"].contains(m))
            .map(str::to_string),
    };

    // 4. A silent (no-dialog) attempt: a user remembered in this browser is logged in at once;
    //    otherwise Vipps answers login_required (or interaction_required when the user must act).
    let silent = params.get("requested_flow") == Some("no_dialog")
        || params.get("prompt") == Some("none")
        || params.get("login_hint") == Some("unsolicited:nodialog");
    if silent {
        let remembered = remembered_user(sim, req).filter(|_| !pending.step_up);
        let Some(user) = remembered else {
            return fail("login_required", "User must log in with interaction");
        };
        let covered = sim
            .store()
            .consents
            .get(&(client.client_id.clone(), user.sub.clone()))
            .is_some_and(|c| c.covers(&pending.scopes));
        if !covered || pending.app_auth {
            return fail("interaction_required", "The user must confirm in the app");
        }
        return grant_code(sim, pending, user, false);
    }

    // 5. Remember the request and show the login page.
    let Ok(id) = random::token() else {
        return server_error("random source");
    };
    let mut store = sim.store();
    let already_shared: Vec<&str> = sim
        .users
        .iter()
        .map(|u| u.sub.as_str())
        .filter(|sub| {
            store
                .consents
                .get(&(client.client_id.clone(), sub.to_string()))
                .is_some_and(|c| c.covers(&pending.scopes))
        })
        .collect();
    let page = html::login_page(
        &id,
        &client.client_id,
        &pending.scopes,
        &sim.users,
        &already_shared,
        &html::LoginLook {
            mobilepay: matches!(pending.market.as_deref(), Some("DK" | "FI")),
            app_auth: pending.app_auth,
            step_up: pending.step_up,
        },
    );
    store.pending.insert(id, pending);
    drop(store);
    Response::html(200, page).with_header("Cache-Control", "no-store")
}

/// Space-separated scopes (RFC 6749 §3.3), de-duplicated in order. `openid` is required.
fn parse_scopes(scope: Option<&str>) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        if !SCOPES_SUPPORTED.contains(&s) && !is_marketing(s) {
            return Err(format!(
                "The requested scope is invalid, unknown, or malformed: '{s}' is not supported"
            ));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(
            "The requested scope is invalid, unknown, or malformed: 'openid' is required".into(),
        );
    }
    Ok(scopes)
}

fn error_page(detail: &str) -> Response {
    Response::html(400, html::error_page("Something went wrong", detail))
}

/// The cookie the simulator sets when the user ticks "Remember me in this browser".
pub const REMEMBER_COOKIE: &str = "vipps-sim-remember";

/// The test user this browser remembers, if any.
fn remembered_user<'a>(sim: &'a Sim, req: &Request) -> Option<&'a User> {
    let cookies = req.header("cookie")?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(k, _)| *k == REMEMBER_COOKIE)
        .find_map(|(_, v)| sim.user(v))
}

/// `POST .../oauth2/auth/confirm` (form `req`, `user`, optional `remember=1`): the user logs in
/// and consents (in the app, when in-app confirmation was asked for); the consent is recorded
/// for the client.
pub fn confirm(sim: &Sim, req: &Request) -> Response {
    let form = req.form_params();
    let req_id = form.get("req").unwrap_or("");
    // An unknown user leaves the request usable; a known one consumes it.
    let Some(user) = form.get("user").and_then(|sub| sim.user(sub)) else {
        return error_page("Unknown user");
    };
    let Some(pending) = sim.store().pending.remove(req_id) else {
        return error_page("This login request is unknown, already used or has expired");
    };
    let remember = form.get("remember") == Some("1");
    grant_code(sim, pending, user, remember)
}

/// The login succeeded: record the consent, issue a code, redirect back (and, with `remember`,
/// remember the user in this browser).
fn grant_code(sim: &Sim, pending: PendingLogin, user: &User, remember: bool) -> Response {
    let now = sim.now();
    let (Ok(code), Ok(sid)) = (random::hydra_style_token(), random::uuid_v4()) else {
        return server_error("random source");
    };
    let code_ttl = sim.settings().code_ttl;
    let iss = iss_param(sim);
    let mut store = sim.store();
    let scope = pending.scopes.join(" ");
    let mut params = vec![
        ("code", code.as_str()),
        ("state", &pending.state),
        ("scope", &scope),
    ];
    if let Some(iss) = &iss {
        params.push(("iss", iss));
    }
    let location = match super::app_flows::after_approval(sim, &mut store, &pending.app, &pending.state, append_query(&pending.redirect_uri, &params)) {
        Ok(l) => l,
        Err(response) => return response,
    };
    // Confirming is consenting: Vipps remembers it for the next login.
    let consent = store
        .consents
        .entry((pending.client_id.clone(), user.sub.clone()))
        .or_insert_with(|| Consent {
            scopes: Vec::new(),
            given_at: now,
            marketing_at: None,
        });
    consent.given_at = now;
    for s in &pending.scopes {
        if s != "openid" && !is_marketing(s) && !consent.scopes.contains(s) {
            consent.scopes.push(s.clone());
        }
    }
    // The consents object comes with the first login that asked for it, and never again.
    let consents = pending.scopes.iter().any(|s| is_marketing(s)) && consent.marketing_at.is_none();
    if consents {
        consent.marketing_at = Some(now);
    }
    store.codes.insert(
        code,
        CodeGrant {
            client_id: pending.client_id,
            redirect_uri: pending.redirect_uri,
            scopes: pending.scopes,
            nonce: pending.nonce,
            challenge: pending.challenge,
            sub: user.sub.clone(),
            sid,
            auth_time: now,
            rat: pending.created_at,
            expires_at: now.saturating_add(code_ttl),
            acr: pending.app_auth.then(|| APP_AUTH.to_string()),
            consents,
        },
    );
    drop(store);
    let response = Response::redirect(&location);
    if remember {
        response.with_header(
            "Set-Cookie",
            &format!("{REMEMBER_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", user.sub),
        )
    } else {
        response
    }
}

/// `POST .../oauth2/auth/cancel` (form `req`, optional `error`): the user cancels (Vipps answers
/// `access_denied`), or the login ends with another documented redirect error
/// (`outdated_app_version`, `wrong_challenge`, `unknown_reject_reason`, ...). An `app_to_app`
/// login's error goes to its app callback URI, in the docs' malformed form.
pub fn cancel(sim: &Sim, req: &Request) -> Response {
    let form = req.form_params();
    let error = match form.get_nonempty("error") {
        None => "access_denied",
        Some(e) => match super::app_flows::REDIRECT_ERRORS.iter().find(|k| **k == e) {
            Some(k) => k,
            None => return error_page("Unknown error to answer with"),
        },
    };
    let Some(pending) = form
        .get("req")
        .and_then(|id| sim.store().pending.remove(id))
    else {
        return error_page("This login request is unknown, already used or has expired");
    };
    if let Some(location) = super::app_flows::error_to_app(&pending.app, &pending.state, error) {
        return Response::redirect(&location);
    }
    let description = if error == "access_denied" { "User cancelled the login" } else { "The login was not completed in the app" };
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("state", &pending.state),
    ];
    let iss = iss_param(sim);
    if let Some(iss) = &iss {
        params.push(("iss", iss));
    }
    Response::redirect(&append_query(&pending.redirect_uri, &params))
}

/// The RFC 9207 `iss` authorization-response parameter. Vipps sends none; the `iss-param-*`
/// modes do.
fn iss_param(sim: &Sim) -> Option<String> {
    match sim.settings().mode {
        Some(Mode::IssParamCorrect) => Some(sim.issuer.clone()),
        Some(Mode::IssParamWrong) => Some(EVIL_ISS_PARAM.to_string()),
        _ => None,
    }
}
