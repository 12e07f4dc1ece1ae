//! The pages the Worker renders itself: errors, "try again" (unavailable), forbidden, logged
//! out, the logout button, and the configuration page. Each is a [`Page`]: which one, its
//! status, and the values of its placeholders, in the user's language ([`lang`]) and the
//! market's brand ([`texts`]). It renders through an operator's template when one is configured
//! and usable ([`store`]), else through the built-in one; both are [`template`]s, so both get
//! the same values, every one HTML-escaped. Nothing rendered comes from upstream text.
//!
//! The login button follows the Vipps MobilePay button guidelines as far as they are public:
//! white text on Vipps orange (#FF5B24) or MobilePay blue (#5A78FF), an approved verb ("Logg
//! inn med Vipps", "Log in with Vipps", "Log ind med MobilePay", "Kirjaudu MobilePaylla"), no
//! hover effect, at least as large as the buttons next to it, black in high-contrast mode.
//! It only ever starts a login; other actions (log out, back) are neutral buttons.

pub mod confirm;
pub mod lang;
pub mod store;
pub mod template;
pub mod texts;

pub use lang::Lang;
pub use store::Templates;
pub use texts::{Brand, Look};

use crate::error::Code;
use crate::return_to::SafeReturnPath;
use template::{Field, Template, Values};
use texts::{chrome, code_text, login_label, Msg};

/// Which page. Each can be replaced by a file of this name in the operator's template folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// A refused login or request (4xx): what happened, a retry where one helps.
    Error,
    /// Vipps, KV or the site broken (5xx): "try again".
    Unavailable,
    /// Logged in but not allowed (403).
    Forbidden,
    LoggedOut,
    /// `GET {prefix}/logout`: the button that logs out (a POST).
    Logout,
    ConfigError,
}

impl PageKind {
    pub const ALL: [PageKind; 6] =
        [PageKind::Error, PageKind::Unavailable, PageKind::Forbidden, PageKind::LoggedOut, PageKind::Logout, PageKind::ConfigError];

    /// The operator's file for this page, in the template folder.
    pub fn file_name(self) -> &'static str {
        match self {
            PageKind::Error => "error.html",
            PageKind::Unavailable => "unavailable.html",
            PageKind::Forbidden => "forbidden.html",
            PageKind::LoggedOut => "logged-out.html",
            PageKind::Logout => "logout.html",
            PageKind::ConfigError => "config-error.html",
        }
    }

    fn builtin_body(self) -> &'static str {
        match self {
            PageKind::Error | PageKind::Unavailable => include_str!("builtin/error.html"),
            PageKind::Forbidden => include_str!("builtin/forbidden.html"),
            PageKind::LoggedOut => include_str!("builtin/logged-out.html"),
            PageKind::Logout => include_str!("builtin/logout.html"),
            PageKind::ConfigError => include_str!("builtin/config-error.html"),
        }
    }

    /// The built-in template: the shared layout around this page's body.
    fn builtin(self) -> Result<Template, template::TemplateError> {
        Template::parse(&include_str!("builtin/layout.html").replacen("<!-- page -->", self.builtin_body(), 1))
    }
}

/// Where a retry link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// A new login that returns to the page the user wanted: the login button.
    Login(String),
    /// The page itself again: a neutral "try again".
    Reload(String),
}

/// `{prefix}/login`, with `return_to` when the user wanted a page other than `/`.
pub fn login_url(auth_prefix: &str, return_to: Option<&SafeReturnPath>) -> String {
    match return_to {
        Some(r) if r.as_str() != "/" => {
            format!("{auth_prefix}/login?{}", crate::util::form_encode([("return_to", r.as_str())]))
        }
        _ => format!("{auth_prefix}/login"),
    }
}

/// One page, ready to render.
#[derive(Debug, Clone)]
pub struct Page {
    pub kind: PageKind,
    pub status: u16,
    pub lang: Lang,
    values: Values,
}

impl Page {
    /// The values every page has: language, brand, title, message, labels, links.
    fn new(kind: PageKind, status: u16, look: Look, auth_prefix: &str, title: &str, message: &str) -> Page {
        let c = chrome(look.lang());
        let mut values = Values::default();
        values
            .set(Field::Lang, look.lang().tag())
            .set(Field::Title, title)
            .set(Field::Message, message)
            .set(Field::Status, status.to_string())
            .set(Field::Brand, look.brand().name())
            .set(Field::BrandColor, look.brand().color())
            .set(Field::LoginUrl, login_url(auth_prefix, None))
            .set(Field::LoginLabel, login_label(look))
            .set(Field::BackUrl, "/")
            .set(Field::BackLabel, c.back)
            .set(Field::LogoutUrl, format!("{auth_prefix}/logout"))
            .set(Field::LogoutLabel, c.log_out)
            .set(Field::CancelLabel, c.cancel)
            .set(Field::CodeLabel, c.code_label);
        Page { kind, status, lang: look.lang(), values }
    }

    fn with(mut self, field: Field, value: impl Into<String>) -> Page {
        self.values.set(field, value);
        self
    }

    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The page through `operator`'s template when given, else the built-in one.
    pub fn render(&self, operator: Option<&Template>) -> String {
        if let Some(t) = operator {
            return t.render(&self.values);
        }
        match self.kind.builtin() {
            Ok(t) => t.render(&self.values),
            // Cannot happen (the built-ins are tested), and must not panic if it did.
            Err(_) => format!(
                "<!doctype html><html lang=\"{}\"><title>{}</title><h1>{}</h1><p>{}</p>",
                self.lang.tag(),
                crate::util::html_escape(&self.values.text(Field::Title)),
                crate::util::html_escape(&self.values.text(Field::Title)),
                crate::util::html_escape(&self.values.text(Field::Message)),
            ),
        }
    }
}

/// The page for an error: the forbidden page for access refusals, "try again" for broken
/// dependencies (5xx), the error page otherwise. `retry` is offered as the first action.
pub fn error(look: Look, code: Code, retry: Option<&Retry>, auth_prefix: &str) -> Page {
    if Msg::for_code(code) == Msg::Forbidden {
        return forbidden(look, code, auth_prefix);
    }
    let kind = if code.is_broken() { PageKind::Unavailable } else { PageKind::Error };
    let (title, message) = code_text(code, look);
    let page = Page::new(kind, code.status(), look, auth_prefix, &title, &message).with(Field::Code, code.as_str());
    match retry {
        Some(Retry::Login(url)) => page
            .with(Field::RetryUrl, url.as_str())
            .with(Field::RetryLabel, login_label(look))
            .with(Field::RetryKind, "login")
            .with(Field::LoginUrl, url.as_str()),
        Some(Retry::Reload(url)) => page
            .with(Field::RetryUrl, url.as_str())
            .with(Field::RetryLabel, chrome(look.lang()).try_again)
            .with(Field::RetryKind, "reload"),
        None => page,
    }
}

/// 403 for a logged-in user the access rules refuse: says so, offers to log out (to log in as
/// someone else) and the way back, and shows `code` for support. Any code may be given (the
/// rule that refused names its own); the page's words are those of "no access".
pub fn forbidden(look: Look, code: Code, auth_prefix: &str) -> Page {
    let (title, message) = Msg::Forbidden.text(look.lang());
    Page::new(PageKind::Forbidden, 403, look, auth_prefix, title, message).with(Field::Code, code.as_str())
}

/// After logging out: the login button (back to `return_to`, when given) and the way back.
pub fn logged_out(look: Look, auth_prefix: &str, return_to: Option<&SafeReturnPath>) -> Page {
    let c = chrome(look.lang());
    Page::new(PageKind::LoggedOut, 200, look, auth_prefix, c.logged_out_title, c.logged_out_message)
        .with(Field::LoginUrl, login_url(auth_prefix, return_to))
}

/// `GET {prefix}/logout`: a button, because logging out is a POST.
pub fn logout(look: Look, auth_prefix: &str) -> Page {
    let c = chrome(look.lang());
    Page::new(PageKind::Logout, 200, look, auth_prefix, c.logout_title, c.logout_message)
}

/// The page every request gets while the configuration is broken: names the variables, never
/// their values.
pub fn config_error(look: Look, auth_prefix: &str, problems: &[(String, String)]) -> Page {
    let c = chrome(look.lang());
    let mut page =
        Page::new(PageKind::ConfigError, 500, look, auth_prefix, c.config_title, c.config_message).with(Field::Code, Code::ConfigInvalid.as_str());
    page.values.problems = problems.to_vec();
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/auth";

    fn nb() -> Look {
        Look::new(Lang::Nb, Brand::Vipps)
    }

    #[test]
    fn every_builtin_parses_and_renders_its_language() {
        for kind in PageKind::ALL {
            assert!(kind.builtin().is_ok(), "{kind:?}: {:?}", kind.builtin().err());
        }
        let p = error(nb(), Code::AccessDenied, Some(&Retry::Login("/auth/login?return_to=%2Fprivate%2F".into())), PREFIX);
        let html = p.render(None);
        assert!(html.starts_with("<!doctype html>\n<html lang=\"nb\">"), "{html}");
        assert!(html.contains("Innloggingen ble avbrutt"));
        assert!(html.contains(r#"<a class="button login" href="/auth/login?return_to=%2Fprivate%2F">Logg inn med Vipps</a>"#), "{html}");
        assert!(html.contains("Feilkode: callback.access_denied"));
        assert!(html.contains("background:#FF5B24"));
        assert_eq!((p.kind, p.status), (PageKind::Error, 403));
    }

    #[test]
    fn error_page_escapes_links() {
        let p = error(Look::english(), Code::AccessDenied, Some(&Retry::Login("/auth/login?return_to=%2F\"><script>".into())), PREFIX);
        let html = p.render(None);
        assert!(!html.contains("<script>"));
        assert!(html.contains("Login cancelled"));
        assert!(html.contains("Error code: callback.access_denied"));
    }

    #[test]
    fn pages_by_code() {
        let e = error(Look::english(), Code::DiscoveryUnavailable, Some(&Retry::Login("/auth/login".into())), PREFIX);
        assert_eq!((e.kind, e.status), (PageKind::Unavailable, 503));
        assert!(e.render(None).contains("Vipps is not reachable right now"));
        let e = error(Look::english(), Code::StateMismatch, None, PREFIX);
        assert_eq!(e.kind, PageKind::Error);
        assert!(!e.render(None).contains("class=\"button login\""), "no retry, no login button");
        let f = error(nb(), Code::Forbidden, None, PREFIX);
        assert_eq!((f.kind, f.status), (PageKind::Forbidden, 403));
        let html = f.render(None);
        assert!(html.contains("Ingen tilgang") && html.contains(r#"action="/auth/logout""#) && html.contains("access.forbidden"));
        let r = error(Look::english(), Code::BackendUnavailable, Some(&Retry::Reload("/private/?a=1".into())), PREFIX);
        assert!(r.render(None).contains(r#"<a class="button reload" href="/private/?a=1">Try again</a>"#));
    }

    #[test]
    fn forbidden_takes_any_code() {
        let p = forbidden(Look::new(Lang::Da, Brand::MobilePay), Code::NotFound, PREFIX);
        let html = p.render(None);
        assert!(html.contains("Ingen adgang") && html.contains("Fejlkode: route.not_found") && html.contains("Log ud"));
        assert!(html.contains("<html lang=\"da\">"));
    }

    #[test]
    fn mobilepay_branding() {
        let look = Look::new(Lang::Fi, Brand::MobilePay);
        let html = logged_out(look, PREFIX, None).render(None);
        assert!(html.contains("Kirjaudu MobilePaylla") && html.contains("#5A78FF") && html.contains("lang=\"fi\""));
        assert!(!html.contains("#FF5B24"));
        let html = logged_out(Look::new(Lang::Da, Brand::MobilePay), PREFIX, SafeReturnPath::parse("/konto").as_ref()).render(None);
        assert!(html.contains("Log ind med MobilePay") && html.contains(r#"href="/auth/login?return_to=%2Fkonto""#));
    }

    #[test]
    fn logout_and_config_pages() {
        let html = logout(nb(), "/login-gate").render(None);
        assert!(html.contains(r#"<form method="post" action="/login-gate/logout">"#) && html.contains("Logg ut") && html.contains("Avbryt"));
        assert!(!html.contains("class=\"button login\""), "logging out is not a Vipps flow: no Vipps button");
        let html = config_error(Look::english(), PREFIX, &[("SESSION_SECRET".into(), "is required <now>".into())]).render(None);
        assert!(html.contains("Login is not configured") && html.contains("<code>SESSION_SECRET</code> is required &lt;now&gt;"));
        assert!(html.contains("Error code: config.invalid"));
    }

    #[test]
    fn the_demo_template_is_usable() {
        let src = include_str!("../../demo/public/_pages/error.html");
        let t = Template::parse(src).unwrap_or_else(|e| panic!("demo/public/_pages/error.html: {e}"));
        let html = error(nb(), Code::StateExpired, Some(&Retry::Login("/auth/login".into())), PREFIX).render(Some(&t));
        assert!(html.contains("Innloggingen tok for lang tid") && !html.contains("{{"));
    }

    #[test]
    fn operator_templates_get_the_same_values() {
        let t = Template::parse("<html lang=\"{{lang}}\"><h1>{{title}}</h1>{{#retry_url}}<a href=\"{{retry_url}}\">{{retry_label}}</a>{{/retry_url}}<p>{{code}}</p>").unwrap();
        let p = error(nb(), Code::StateExpired, Some(&Retry::Login("/auth/login?return_to=%2Fa".into())), PREFIX);
        assert_eq!(
            p.render(Some(&t)),
            "<html lang=\"nb\"><h1>Innloggingen tok for lang tid</h1><a href=\"/auth/login?return_to=%2Fa\">Logg inn med Vipps</a><p>state.expired</p>"
        );
    }

    /// WCAG 2.x relative luminance and contrast ratio.
    fn contrast(a: &str, b: &str) -> f64 {
        fn lum(hex: &str) -> f64 {
            let c = |i: usize| {
                let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
                if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
            };
            0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
        }
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn colours_meet_wcag_aa() {
        let css = include_str!("builtin/layout.html");
        // Body text, the error code, buttons: 4.5:1 for normal text.
        for (fg, bg) in [("#1f1f1f", "#fff"), ("#595959", "#fff"), ("#fff", "#1f1f1f")] {
            assert!(css.contains(&format!("color:{fg}")) && css.contains(&format!("background:{bg}")), "{fg} on {bg} not in the CSS");
            let full = |h: &str| if h.len() == 4 { h.chars().flat_map(|c| if c == '#' { vec![c] } else { vec![c, c] }).collect() } else { h.to_string() };
            assert!(contrast(&full(fg), &full(bg)) >= 4.5, "{fg} on {bg}: {}", contrast(&full(fg), &full(bg)));
        }
        // The login button: white on the brand colour passes 3:1, the AA level for large text,
        // which its bold 1.2rem (19.2px) text is (WCAG: 14pt bold).
        assert!(css.contains(".login{background:{{brand_color}};color:#fff;font-size:1.2rem;font-weight:700}"));
        for brand in [Brand::Vipps, Brand::MobilePay] {
            let ratio = contrast("#ffffff", &brand.color().to_ascii_lowercase());
            assert!(ratio >= 3.0, "{brand:?}: {ratio}");
        }
        // The focus ring is dark on white: visible on every button.
        assert!(css.contains(".button:focus-visible{outline:3px solid #1f1f1f"));
        assert!(contrast("#1f1f1f", "#ffffff") >= 3.0);
    }

    #[test]
    fn pages_fit_a_phone_and_name_their_language() {
        let css = include_str!("builtin/layout.html");
        assert!(css.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        assert!(css.contains("min-height:48px"), "touch targets of at least 48px");
        assert!(css.contains("@media (max-width:30rem){.actions>*{flex:1 1 100%}"), "buttons full width on a phone");
        for kind in PageKind::ALL {
            let page = match kind {
                PageKind::Error | PageKind::Unavailable | PageKind::Forbidden => error(nb(), Code::Internal, None, PREFIX),
                PageKind::LoggedOut => logged_out(nb(), PREFIX, None),
                PageKind::Logout => logout(nb(), PREFIX),
                PageKind::ConfigError => config_error(nb(), PREFIX, &[]),
            };
            let html = page.render(None);
            assert!(html.contains("<html lang=\"nb\">") && html.contains("<main>") && html.contains("<h1>"), "{kind:?}");
            assert!(!html.contains("{{"), "{kind:?}");
        }
    }
}
