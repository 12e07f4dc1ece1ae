//! Errors become responses here and nowhere else: a page for navigations (with a retry where
//! one makes sense), JSON with the stable code for API clients, and one log line with the code.

use crate::config::ConfigErrors;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::pages;
use crate::platform::{Level, Platform};

/// The JSON body API clients get: the stable code and the user-facing sentence.
pub fn error_json(code: Code) -> Reply {
    let (_, message) = code.user_text();
    Reply::json(code.status(), &serde_json::json!({"error": code.as_str(), "message": message}))
}

/// How loudly an error is logged: broken dependencies need an operator; expected refusals on
/// the open internet are warnings; routine answers are info.
fn level(code: Code) -> Level {
    if code.is_broken() {
        Level::Error
    } else if matches!(code, Code::SessionRequired | Code::NotFound | Code::AccessDenied) {
        Level::Info
    } else {
        Level::Warn
    }
}

/// The one place an error becomes a response. `html` says whether the client gets a page;
/// `login_path`, when known, is the retry link of errors that a new login can fix.
pub fn error<P: Platform>(p: &P, e: &Error, html: bool, login_path: Option<&str>) -> Reply {
    p.log(level(e.code), e.code.as_str(), &e.detail);
    if !html {
        return error_json(e.code);
    }
    let retry = match e.code {
        Code::ConfigInvalid
        | Code::NotFound
        | Code::MethodNotAllowed
        | Code::LogoutBadOrigin
        | Code::AccessForbidden
        | Code::PathRefused
        | Code::RequestInvalid
        | Code::BackendUnavailable => None,
        _ => login_path,
    };
    Reply::html(e.code.status(), pages::error_page(e.code, retry, "/"))
}

/// The page every request gets while the configuration is broken: names the variables,
/// never their values. Logged by the caller once per isolate.
pub fn config_error(errors: &ConfigErrors) -> Reply {
    let problems: Vec<(String, String)> = errors.0.iter().map(|p| (p.var.to_string(), p.message.clone())).collect();
    Reply::html(500, pages::config_error_page(&problems))
}
