//! Errors become responses here and nowhere else: a page for navigations (with a retry where
//! one makes sense), JSON with the stable code for API clients, and one log line with the code.
//! Pages speak the user's language ([`crate::pages::Look`]) and go through the operator's
//! template when there is one ([`crate::pages::Templates`]).

use crate::config::ConfigErrors;
use crate::error::{Code, Error};
use crate::http::Reply;
use crate::pages::texts::{code_text, Msg};
use crate::pages::{self, Look, Page, PageKind, Retry, Templates};
use crate::platform::{Level, Platform};
use crate::return_to::SafeReturnPath;

/// The JSON body API clients get: the stable code and the user-facing sentence, in English.
pub fn error_json(code: Code) -> Reply {
    error_json_in(code, Look::english())
}

/// The JSON body API clients get: the stable code (what programs match on) and the sentence
/// in the user's language.
pub fn error_json_in(code: Code, look: Look) -> Reply {
    let (_, message) = code_text(code, look);
    Reply::json(code.status(), &serde_json::json!({"error": code.as_str(), "message": message}))
}

/// How loudly an error is logged: broken dependencies need an operator; expected refusals on
/// the open internet are warnings; routine answers are info.
fn level(code: Code) -> Level {
    if code.is_broken() {
        Level::Error
    } else if matches!(code, Code::SessionRequired | Code::StepUpRequired | Code::NotFound | Code::AccessDenied | Code::Forbidden | Code::HookDenied) {
        Level::Info
    } else {
        Level::Warn
    }
}

/// The retry an error page offers: a new login that returns to the page the user wanted (its
/// URL is `login`), the page itself when the site did not answer, or none where trying again
/// cannot help.
fn retry_for(code: Code, login: impl FnOnce() -> String, wanted: Option<&SafeReturnPath>) -> Option<Retry> {
    match Msg::for_code(code) {
        Msg::NotConfigured
        | Msg::NotFound
        | Msg::MethodNotAllowed
        | Msg::LogoutRefused
        | Msg::BadAddress
        | Msg::Forbidden
        | Msg::LoginRefused
        | Msg::PhoneLoginUnknown
        | Msg::WebhookRefused
        | Msg::WebhookRetry => None,
        Msg::SiteDown => wanted.map(|w| Retry::Reload(w.as_str().to_string())),
        // Logged out here already; trying again means posting the logout again, from the site.
        Msg::LogoutIncomplete => None,
        // Answers to merchant systems, never pages.
        Msg::ApiRefused | Msg::ApiWait | Msg::PhoneLoginEnded => None,
        Msg::Cancelled
        | Msg::Expired
        | Msg::NotStarted
        | Msg::AnswerUsed
        | Msg::Unreachable
        | Msg::BadAnswer
        | Msg::NotVerified
        | Msg::NeedsAppConfirmation
        | Msg::NeedsRecentLogin
        | Msg::LoginRequired
        | Msg::Internal
        | Msg::Busy => Some(Retry::Login(login())),
    }
}

/// What rendering a page needs: the user's look, where the auth routes live, and the
/// operator's templates.
pub struct Pages<'a> {
    pub look: Look,
    pub auth_prefix: &'a str,
    pub templates: &'a Templates,
    /// The template folder in the assets, when configured.
    pub dir: Option<&'a str>,
}

impl Pages<'_> {
    /// A page as a response: through the operator's template when usable, in the user's
    /// language, saying so (`Content-Language`, `Vary: Accept-Language`).
    pub async fn reply<P: Platform>(&self, p: &P, page: Page) -> Reply {
        let body = self.templates.render(p, self.dir, &page).await;
        page_reply(&page, body)
    }
}

fn page_reply(page: &Page, body: String) -> Reply {
    let mut r = Reply::html(page.status, body);
    if matches!(page.kind, PageKind::Logout | PageKind::Forbidden) {
        // These pages post to the logout route, which checks `Origin`; under `no-referrer` a
        // browser sends `Origin: null` and the logout would be refused. Their URLs hold no
        // secrets (a callback's do, so every other page keeps `no-referrer`).
        for (k, v) in r.headers.iter_mut() {
            if k == "referrer-policy" {
                *v = "same-origin".into();
            }
        }
    }
    r.headers.push(("content-language".into(), page.lang.tag().into()));
    r.add_vary("Accept-Language");
    r
}

/// The one place an error becomes a response on the request path. `html` says whether the
/// client gets a page; `wanted` is the page the user asked for, when the route knows it (the
/// error's own `return_to` wins): the retry leads back there.
pub async fn error_for<P: Platform>(p: &P, e: &Error, html: bool, pages: &Pages<'_>, wanted: Option<&SafeReturnPath>) -> Reply {
    p.log(level(e.code), e.code.as_str(), &e.detail);
    if !html {
        let mut r = error_json_in(e.code, pages.look);
        r.add_vary("Accept-Language");
        return r;
    }
    let wanted = e.return_to.as_ref().or(wanted);
    let retry = retry_for(e.code, || pages::login_url(pages.auth_prefix, wanted), wanted);
    pages.reply(p, pages::error(pages.look, e.code, retry.as_ref(), pages.auth_prefix)).await
}

/// An error outside a request's route (the edge's own: an unreadable request, a backend that
/// did not answer): the built-in page in English, or JSON. `login_path`, when known, is the
/// retry link of errors that a new login can fix.
pub fn error<P: Platform>(p: &P, e: &Error, html: bool, login_path: Option<&str>) -> Reply {
    p.log(level(e.code), e.code.as_str(), &e.detail);
    if !html {
        return error_json(e.code);
    }
    let retry = login_path.and_then(|l| retry_for(e.code, || l.to_string(), e.return_to.as_ref()));
    let prefix = login_path.and_then(|l| l.strip_suffix("/login")).unwrap_or("/auth");
    let page = pages::error(Look::english(), e.code, retry.as_ref(), prefix);
    let body = page.render(None);
    page_reply(&page, body)
}

/// The page every request gets while the configuration is broken: names the variables,
/// never their values. Logged by the caller once per isolate.
pub async fn config_error<P: Platform>(p: &P, errors: &ConfigErrors, pages: &Pages<'_>) -> Reply {
    let problems: Vec<(String, String)> = errors.0.iter().map(|p| (p.var.to_string(), p.message.clone())).collect();
    pages.reply(p, pages::config_error(pages.look, pages.auth_prefix, &problems)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::{Brand, Lang};
    use crate::testkit::{block_on, FakePlatform};

    #[test]
    fn json_keeps_the_code_and_localizes_the_message() {
        let r = error_json_in(Code::StateExpired, Look::new(Lang::Nb, Brand::Vipps));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"], "state.expired");
        assert_eq!(v["message"], "Innloggingen ble ikke fullført i tide. Start den på nytt.");
        assert_eq!(r.status, 400);
        let v: serde_json::Value = serde_json::from_str(&error_json(Code::StateExpired).body).unwrap();
        assert_eq!(v["message"], "The login was not finished in time. Please start it again.");
    }

    #[test]
    fn retries_keep_the_page_the_user_wanted() {
        let p = FakePlatform::default();
        let templates = Templates::default();
        let pages = Pages { look: Look::english(), auth_prefix: "/auth", templates: &templates, dir: None };
        let wanted = SafeReturnPath::parse("/private/a?b=1").unwrap();
        let r = block_on(error_for(&p, &Error::from(Code::VippsUnavailable), true, &pages, Some(&wanted)));
        assert_eq!(r.status, 503);
        assert!(r.body.contains(r#"href="/auth/login?return_to=%2Fprivate%2Fa%3Fb%3D1""#), "{}", r.body);
        assert_eq!(r.header("content-language"), Some("en"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        // The error's own return_to wins (a callback knows its login's).
        let own = SafeReturnPath::parse("/members").unwrap();
        let r = block_on(error_for(&p, &Error::from(Code::AccessDenied).wanting(&own), true, &pages, Some(&wanted)));
        assert!(r.body.contains(r#"href="/auth/login?return_to=%2Fmembers""#));
        // No retry where it cannot help; a reload where the site did not answer.
        let r = block_on(error_for(&p, &Error::from(Code::PathRefused), true, &pages, Some(&wanted)));
        assert!(!r.body.contains("/auth/login"));
        let r = block_on(error_for(&p, &Error::from(Code::BackendUnavailable), true, &pages, Some(&wanted)));
        assert!(r.body.contains(r#"<a class="button reload" href="/private/a?b=1">Try again</a>"#));
        // Unknown page: a plain login.
        let r = block_on(error_for(&p, &Error::from(Code::StateMismatch), true, &pages, None));
        assert!(r.body.contains(r#"href="/auth/login""#));
    }

    #[test]
    fn pages_that_post_to_logout_send_their_origin() {
        let p = FakePlatform::default();
        let templates = Templates::default();
        let pages = Pages { look: Look::english(), auth_prefix: "/auth", templates: &templates, dir: None };
        for page in [pages::logout(Look::english(), "/auth"), pages::forbidden(Look::english(), Code::Forbidden, "/auth")] {
            assert_eq!(block_on(pages.reply(&p, page)).header("referrer-policy"), Some("same-origin"));
        }
        let r = block_on(error_for(&p, &Error::from(Code::StateMismatch), true, &pages, None));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "a callback's URL holds its code and state");
    }

    #[test]
    fn the_edge_error_is_english_and_built_in() {
        let p = FakePlatform::default();
        let r = error(&p, &Error::from(Code::BackendUnavailable), false, None);
        assert_eq!(r.status, 502);
        assert!(r.body.contains("backend.unavailable"));
        let r = error(&p, &Error::from(Code::Internal), true, Some("/gate/login"));
        assert!(r.body.contains(r#"href="/gate/login""#) && r.body.contains("Something went wrong"));
        assert!(p.logged("internal"));
    }
}
