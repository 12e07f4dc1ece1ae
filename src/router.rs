//! What a request is, decided once: its canonical path, its route, and the route's spec
//! (methods, whether and how much body is read, which request headers the core reads). The
//! edge copies exactly the headers the spec names, and [`crate::app::App`] drops any other
//! before a flow runs, so native tests see what the edge sees.

use crate::config::{Config, WEBHOOK_PATH};
use crate::policy::path::{CanonicalPath, PathRefusal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `{prefix}/login`
    Login,
    /// The redirect URI's path (only there).
    Callback,
    /// `{prefix}/session`
    Session,
    /// `{prefix}/logout`
    Logout,
    /// `POST {prefix}/webhooks/consent-revoked/{secret}` with a configured secret.
    ConsentWebhook,
    /// `GET {prefix}/jwks.json`: the public keys of the identity assertion.
    Jwks,
    /// `POST {prefix}/ciba/start|poll|user-exists`, when `CIBA_API_KEYS` is set.
    Ciba(crate::flows::ciba::Op),
    /// Under the auth prefix but not a route.
    NotFound,
    /// Anyone may see it; forwarded with the user when there is a session.
    Public,
    /// Needs a session.
    Protected,
}

/// What a route needs from a request.
#[derive(Debug)]
pub struct Spec {
    /// Methods answered; any other is `405`. Empty: every method.
    pub methods: &'static [&'static str],
    /// Bytes of body read for the core (larger bodies arrive cut to `cap + 1`), or `None`.
    pub body_cap: Option<usize>,
    /// Request headers the core reads, lower case.
    pub headers: &'static [&'static str],
    /// Errors are pages whatever the client accepts (browser-only routes).
    pub html_errors: bool,
}

impl Spec {
    pub fn allows(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.contains(&method)
    }
}

const NAVIGATION: &[&str] = &["accept", "sec-fetch-mode"];
const WITH_SESSION: &[&str] = &["cookie", "accept", "sec-fetch-mode"];

impl Route {
    pub fn spec(self) -> &'static Spec {
        match self {
            Route::Login => &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: &["cookie"], html_errors: true },
            Route::Callback => &Spec { methods: &["GET"], body_cap: None, headers: &["cookie"], html_errors: true },
            Route::Session => &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: WITH_SESSION, html_errors: false },
            Route::Logout => &Spec {
                methods: &["GET", "HEAD", "POST"],
                body_cap: None,
                headers: &["cookie", "accept", "sec-fetch-mode", "origin"],
                html_errors: false,
            },
            Route::ConsentWebhook => &Spec {
                methods: &["POST"],
                body_cap: Some(crate::consent::event::MAX_BODY),
                headers: &["content-type", "accept", "sec-fetch-mode"],
                html_errors: false,
            },
            Route::Jwks => &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: NAVIGATION, html_errors: false },
            Route::Ciba(_) => &Spec {
                methods: &["POST"],
                body_cap: Some(crate::flows::ciba::MAX_BODY),
                headers: &["authorization"],
                html_errors: false,
            },
            Route::NotFound => &Spec { methods: &[], body_cap: None, headers: NAVIGATION, html_errors: false },
            Route::Public | Route::Protected => &Spec { methods: &[], body_cap: None, headers: WITH_SESSION, html_errors: false },
        }
    }
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The path has more than one meaning: `400 request.path_refused`.
    Refused(PathRefusal),
    Routed { path: CanonicalPath, route: Route },
}

/// The spec of a refused path: only what the error page needs.
const REFUSED: Spec = Spec { methods: &[], body_cap: None, headers: NAVIGATION, html_errors: false };

impl Decision {
    pub fn spec(&self) -> &'static Spec {
        match self {
            Decision::Refused(_) => &REFUSED,
            Decision::Routed { route, .. } => route.spec(),
        }
    }
}

/// Decides what a request path (as received, percent-encoded) is.
pub fn decide(config: &Config, raw_path: &str) -> Decision {
    match CanonicalPath::parse(raw_path) {
        Err(why) => Decision::Refused(why),
        Ok(path) => {
            let route = route(config, &path);
            Decision::Routed { path, route }
        }
    }
}

/// Decides what a canonical path is: the one form the backend receives too, so
/// `/assets/..%2Fprivate` cannot pass as public here and be read as `/private` by an origin.
/// Public rules match exactly; protected rules ignore ASCII case; public wins when both match.
pub fn route(config: &Config, path: &CanonicalPath) -> Route {
    let path_str = path.as_str();
    if path_str == config.callback_path() {
        return Route::Callback;
    }
    let prefix = config.gate.auth_prefix.as_str();
    if let Some(rest) = path_str.strip_prefix(prefix) {
        if rest.is_empty() || rest.starts_with('/') {
            return match rest {
                "/login" => Route::Login,
                "/session" => Route::Session,
                "/logout" => Route::Logout,
                "/jwks.json" => Route::Jwks,
                "/ciba/start" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::Start),
                "/ciba/poll" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::Poll),
                "/ciba/user-exists" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::UserExists),
                _ => match (rest.strip_prefix(WEBHOOK_PATH), &config.consent) {
                    // Constant-time: the secret segment is the webhook's only credential.
                    (Some(given), Some(w)) if w.secrets.iter().any(|s| crate::util::ct_eq(given.as_bytes(), s.expose().as_bytes())) => {
                        Route::ConsentWebhook
                    }
                    _ => Route::NotFound,
                },
            };
        }
    }
    if config.gate.public_paths.iter().any(|p| p.matches(path)) {
        return Route::Public;
    }
    if config.gate.protected_paths.iter().any(|p| p.matches_ignoring_case(path)) {
        return Route::Protected;
    }
    Route::Public
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    fn rt(c: &Config, path: &str) -> Route {
        route(c, &CanonicalPath::parse(path).unwrap())
    }

    #[test]
    fn routes() {
        let c = parse(&[("PUBLIC_PATHS", "/, /index.html, /assets/*")]).unwrap();
        assert_eq!(rt(&c, "/auth/login"), Route::Login);
        assert_eq!(rt(&c, "/auth/callback"), Route::Callback);
        assert_eq!(rt(&c, "/auth/session"), Route::Session);
        assert_eq!(rt(&c, "/auth/logout"), Route::Logout);
        assert_eq!(rt(&c, "/auth/other"), Route::NotFound);
        assert_eq!(rt(&c, "/authors"), Route::Protected);
        assert_eq!(rt(&c, "/"), Route::Public);
        assert_eq!(rt(&c, "/assets/app.css"), Route::Public);
        assert_eq!(rt(&c, "/private/"), Route::Protected);
        assert_eq!(rt(&c, "/index.html"), Route::Public);
        assert_eq!(rt(&c, "/index.html/x"), Route::Protected);
    }

    #[test]
    fn the_callback_is_served_at_the_redirect_uri_path_only() {
        let c = parse(&[("VIPPS_REDIRECT_URI", "https://shop.example/login/vipps/return")]).unwrap();
        assert_eq!(rt(&c, "/login/vipps/return"), Route::Callback);
        assert_eq!(rt(&c, "/auth/callback"), Route::NotFound, "no second callback route");
    }

    #[test]
    fn consent_webhook_only_with_the_exact_secret() {
        let secret = "0123456789abcdef0123456789abcdef";
        let path = format!("/auth/webhooks/consent-revoked/{secret}");
        assert_eq!(rt(&parse(&[]).unwrap(), &path), Route::NotFound);
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret)]).unwrap();
        assert_eq!(rt(&c, &path), Route::ConsentWebhook);
        for wrong in [&path[..path.len() - 1], &format!("{path}x"), &format!("{path}/"), "/auth/webhooks/consent-revoked/"] {
            assert_eq!(rt(&c, wrong), Route::NotFound, "{wrong}");
        }
        assert_eq!(rt(&c, &path.to_uppercase()), Route::Protected);
    }

    #[test]
    fn protected_rules_ignore_case_public_rules_do_not() {
        let c = parse(&[("PUBLIC_PATHS", "/assets/*"), ("PROTECTED_PATHS", "/private/*")]).unwrap();
        assert_eq!(rt(&c, "/PRIVATE/index.html"), Route::Protected);
        assert_eq!(rt(&c, "/Private/x"), Route::Protected);
        assert_eq!(rt(&c, "/%70rivate/x"), Route::Protected);
        assert_eq!(rt(&c, "/assets/x"), Route::Public);
        assert_eq!(rt(&c, "/ASSETS/x"), Route::Public, "unmatched paths are public when PROTECTED_PATHS is narrowed");
        let c = parse(&[("PUBLIC_PATHS", "/assets/*")]).unwrap();
        assert_eq!(rt(&c, "/ASSETS/x"), Route::Protected, "public needs the exact case");
    }

    #[test]
    fn nothing_protected_when_configured_so() {
        let c = parse(&[("PROTECTED_PATHS", "/members/*")]).unwrap();
        assert_eq!(rt(&c, "/"), Route::Public);
        assert_eq!(rt(&c, "/members/x"), Route::Protected);
    }

    #[test]
    fn ciba_routes_only_when_configured() {
        use crate::flows::ciba::Op;
        assert_eq!(rt(&parse(&[]).unwrap(), "/auth/ciba/start"), Route::NotFound);
        let c = parse(&[("CIBA_API_KEYS", "till:0123456789abcdef0123456789abcdef")]).unwrap();
        assert_eq!(rt(&c, "/auth/ciba/start"), Route::Ciba(Op::Start));
        assert_eq!(rt(&c, "/auth/ciba/poll"), Route::Ciba(Op::Poll));
        assert_eq!(rt(&c, "/auth/ciba/user-exists"), Route::Ciba(Op::UserExists));
        assert_eq!(rt(&c, "/auth/ciba/start/"), Route::NotFound);
        let spec = Route::Ciba(Op::Poll).spec();
        assert!(spec.allows("POST") && !spec.allows("GET"));
        assert_eq!(spec.headers, &["authorization"], "no cookie: the API is not for browsers");
    }

    #[test]
    fn decisions_carry_the_spec_the_edge_reads() {
        let c = parse(&[("PUBLIC_PATHS", "/")]).unwrap();
        assert!(matches!(decide(&c, "/a%2Fb"), Decision::Refused(PathRefusal::EncodedDelimiter)));
        assert!(!decide(&c, "/a%2Fb").spec().headers.contains(&"cookie"));
        let d = decide(&c, "/private/x");
        assert!(d.spec().headers.contains(&"cookie"));
        assert_eq!(d.spec().body_cap, None);
        assert_eq!(Route::ConsentWebhook.spec().body_cap, Some(crate::consent::event::MAX_BODY));
        assert!(Route::Logout.spec().headers.contains(&"origin"));
        assert!(!Route::Login.spec().allows("POST"));
        assert!(Route::Protected.spec().allows("PATCH"));
    }
}
