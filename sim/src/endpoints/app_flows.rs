//! Logins that involve apps (app-integration.txt, VIPPS-NOTES.md "Newer docs"):
//!
//! - `requested_flow=app_to_app` with `app_callback_uri` (deprecated, still served): after the
//!   user approves in the Vipps app, the app opens `app_callback_uri?state=...&resume_uri=...`;
//!   opening `resume_uri` in the browser that started the login finishes it with the usual
//!   redirect to `redirect_uri`. An error is reported to `app_callback_uri` in the malformed
//!   form the docs show: `app_callback_uri?state=S?error=E`. The app callback URI must be
//!   registered like a redirect URI (exact match): else `app_callback_uri_not_registered`; one
//!   that is not an absolute URI with a path gets `invalid_app_callback_uri`.
//! - `requested_flow=app_to_app_v2`: PKCE required (S256), consent in the Vipps app, straight
//!   to `redirect_uri` (a universal or app link).
//! - `requested_flow=automatic_return_from_vipps_app`: the Vipps app sends the user back to
//!   `redirect_uri` by itself, possibly in another browser than the one that started (tests
//!   follow that redirect with a fresh cookie jar): the simulator's answer is the redirect.
//! - `final_redirect_is_app=true|false`: accepted and remembered (the final redirect goes to an
//!   app; nothing else changes here).
//!
//! The redirect errors of the app flows (`outdated_app_version`, `wrong_challenge`,
//! `unknown_reject_reason`, ...) are what `POST .../oauth2/auth/cancel` with `error=` sends.

use crate::http::{append_query, Request, Response};
use crate::pkce::{Challenge, Method};
use crate::config::Client;
use crate::state::Sim;
// (The caller holds the store's lock: it is passed in, never taken again here.)

pub const RESUME_PATH: &str = "/access-management-1.0/access/oauth2/auth/resume";

/// The errors a login may end with at the redirect (integrate-from-website.txt), as the
/// simulated user or app can choose them on cancel.
pub const REDIRECT_ERRORS: [&str; 7] = [
    "access_denied",
    "server_error",
    "login_required",
    "outdated_app_version",
    "wrong_challenge",
    "unknown_reject_reason",
    "invalid_app_callback_uri",
];

/// What an authorize request asked for beyond the browser flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFlow {
    /// `requested_flow`, when one of ours.
    pub requested_flow: Option<String>,
    /// `app_to_app`'s app callback URI (registered).
    pub app_callback_uri: Option<String>,
    pub final_redirect_is_app: bool,
}

impl AppFlow {
    pub fn is_legacy_app_to_app(&self) -> bool {
        self.requested_flow.as_deref() == Some("app_to_app")
    }
}

/// A URI an app can be opened with: absolute, with a path or host after the scheme.
fn app_uri_well_formed(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    scheme_ok && !rest.trim_start_matches('/').is_empty() && !uri.chars().any(|c| c.is_whitespace() || c == '#')
}

/// Reads the app parameters of an authorize request. `Err((error, description))` is sent back
/// to the redirect URI.
pub fn from_authorize(
    requested_flow: Option<&str>,
    app_callback_uri: Option<&str>,
    final_redirect_is_app: Option<&str>,
    client: &Client,
    challenge: Option<&Challenge>,
) -> Result<AppFlow, (&'static str, String)> {
    let final_redirect_is_app = match final_redirect_is_app {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(("invalid_request", "final_redirect_is_app must be true or false".into())),
    };
    let flow = match requested_flow {
        Some(f @ ("app_to_app" | "app_to_app_v2" | "automatic_return_from_vipps_app")) => Some(f.to_string()),
        // Other flows are not this module's (browser default, login_to_webpage, ...).
        _ => None,
    };
    match flow.as_deref() {
        Some("app_to_app") => {
            let Some(uri) = app_callback_uri else {
                return Err(("invalid_app_callback_uri", "app_to_app requires app_callback_uri".into()));
            };
            if !app_uri_well_formed(uri) {
                return Err(("invalid_app_callback_uri", "The app_callback_uri is not a valid URI".into()));
            }
            if !client.has_redirect_uri(uri) {
                return Err((
                    "app_callback_uri_not_registered",
                    "The app_callback_uri is not registered for this client".into(),
                ));
            }
        }
        Some("app_to_app_v2") if challenge.is_none_or(|c| c.method != Method::S256) => {
            return Err(("invalid_request", "app_to_app_v2 requires PKCE with code_challenge_method=S256".into()));
        }
        _ => {}
    }
    Ok(AppFlow {
        app_callback_uri: if flow.as_deref() == Some("app_to_app") { app_callback_uri.map(str::to_string) } else { None },
        requested_flow: flow,
        final_redirect_is_app,
    })
}

/// Where the approved login goes: for `app_to_app`, the Vipps app opens the app callback URI
/// with `state` and a `resume_uri` (the final redirect is kept for it); otherwise straight to
/// `final_location` (the redirect URI with the code).
pub fn after_approval(sim: &Sim, store: &mut crate::state::Store, flow: &AppFlow, state: &str, final_location: String) -> Result<String, Response> {
    let Some(app_uri) = flow.app_callback_uri.as_deref().filter(|_| flow.is_legacy_app_to_app()) else {
        return Ok(final_location);
    };
    let Ok(token) = crate::random::token() else {
        return Err(super::server_error("random source"));
    };
    let resume = append_query(&sim.url(RESUME_PATH), &[("tabId", &token)]);
    store.resumes.insert(token, (final_location, sim.now()));
    Ok(append_query(app_uri, &[("state", state), ("resume_uri", &resume)]))
}

/// An error of an app login: to the app callback URI in the docs' malformed form
/// (`?state=S?error=E`) for `app_to_app`, else `None` (the redirect URI gets it as usual).
pub fn error_to_app(flow: &AppFlow, state: &str, error: &str) -> Option<String> {
    let uri = flow.app_callback_uri.as_deref().filter(|_| flow.is_legacy_app_to_app())?;
    let first = append_query(uri, &[("state", state)]);
    Some(format!("{first}?error={}", form_urlencoded::byte_serialize(error.as_bytes()).collect::<String>()))
}

/// `GET .../oauth2/auth/resume?tabId=...`: the browser resumes an `app_to_app` login. Single use.
pub fn resume(sim: &Sim, req: &Request) -> Response {
    let params = req.query_params();
    let found = params.get("tabId").and_then(|t| sim.store().resumes.remove(t));
    match found {
        Some((location, at)) if sim.now() < at.saturating_add(crate::state::PENDING_LOGIN_TTL) => Response::redirect(&location),
        _ => Response::html(400, crate::html::error_page("Something went wrong", "This login can no longer be resumed")),
    }
}
