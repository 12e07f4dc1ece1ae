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
    /// `{prefix}/register`, when `REGISTER_SCOPE` is set: a login with the registration scopes.
    Register,
    /// The redirect URI's path (only there).
    Callback,
    /// `{prefix}/session`
    Session,
    /// `{prefix}/logout`
    Logout,
    /// `{prefix}/logged-out`: the page after logging out.
    LoggedOut,
    /// `{prefix}/health`: configuration and provider metadata, for uptime checks.
    Health,
    /// `POST {prefix}/webhooks/consent-revoked/{secret}` with a configured secret.
    ConsentWebhook,
    /// `GET {prefix}/jwks.json`: the public keys of the identity assertion.
    Jwks,
    /// `POST {prefix}/ciba/start|poll|user-exists`, when `CIBA_API_KEYS` is set.
    Ciba(crate::flows::ciba::Op),
    /// `POST {prefix}/login/confirm`: a login that came back without the login cookie is
    /// confirmed (`LOGIN_FLOWS` has `automatic_return`).
    LoginConfirm,
    /// `POST {prefix}/app/start|token|logout`, when `LOGIN_FLOWS` has an app flow.
    App(crate::flows::app::Op),
    /// Under the auth prefix but not a route.
    NotFound,
    /// Anyone may see it; forwarded with the user when there is a session.
    Public,
    /// Needs a session (`PROTECTED_PATHS`, or a path an access rule names), and a user the
    /// access rules admit.
    Protected,
    /// As [`Route::Protected`], on an `API_PATHS` path: refusals are JSON, never a redirect.
    ProtectedApi,
}

/// How a route's errors are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errors {
    /// A page whatever the client accepts (browser-only routes).
    Page,
    /// JSON whatever the client accepts (API paths).
    Json,
    /// A page for navigations, JSON for everything else.
    ByAccept,
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
    /// How its errors are shown.
    pub errors: Errors,
    /// Front ends on `CORS_ORIGINS` may call it: its preflights are answered before any flow
    /// runs, and its own answers carry the CORS headers for a configured `Origin`. Such a
    /// route's headers include `origin` and `access-control-request-method`.
    pub cors: bool,
}

impl Spec {
    pub fn allows(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.contains(&method)
    }

    /// Whether an error for this request is a page (else JSON).
    pub fn html_errors(&self, req: &crate::http::IncomingRequest) -> bool {
        match self.errors {
            Errors::Page => true,
            Errors::Json => false,
            Errors::ByAccept => req.wants_html(),
        }
    }
}

// `accept-language` wherever a page or an error message may be rendered (crate::pages::lang).
const NAVIGATION: &[&str] = &["accept", "sec-fetch-mode", "accept-language"];
const WITH_SESSION: &[&str] = &["cookie", "accept", "sec-fetch-mode", "accept-language"];
/// A route front ends call with credentials: the session, and what CORS reads.
/// `authorization`: a native app's bearer session (read only when app logins are on).
const CORS_WITH_SESSION: &[&str] =
    &["cookie", "accept", "sec-fetch-mode", "accept-language", "origin", "access-control-request-method", "authorization"];

impl Route {
    pub fn spec(self) -> &'static Spec {
        match self {
            Route::Login | Route::Register => {
                &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: &["cookie", "accept-language"], errors: Errors::Page, cors: false }
            }
            Route::Callback => {
                &Spec { methods: &["GET"], body_cap: None, headers: &["cookie", "accept-language"], errors: Errors::Page, cors: false }
            }
            Route::Session => {
                &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: CORS_WITH_SESSION, errors: Errors::ByAccept, cors: true }
            }
            Route::Logout => &Spec {
                methods: &["GET", "HEAD", "POST"],
                body_cap: None,
                headers: &[
                    "cookie",
                    "accept",
                    "sec-fetch-mode",
                    "accept-language",
                    "origin",
                    "sec-fetch-site",
                    "access-control-request-method",
                ],
                errors: Errors::ByAccept,
                cors: true,
            },
            Route::LoggedOut => {
                &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: &["accept-language"], errors: Errors::Page, cors: false }
            }
            // Machines ask: JSON whatever they accept, and nothing of the request is read.
            Route::Health => &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: &[], errors: Errors::Json, cors: false },
            Route::ConsentWebhook => &Spec {
                methods: &["POST"],
                body_cap: Some(crate::consent::event::MAX_BODY),
                headers: &["content-type", "accept", "sec-fetch-mode"],
                errors: Errors::ByAccept,
                cors: false,
            },
            Route::Jwks => &Spec { methods: &["GET", "HEAD"], body_cap: None, headers: NAVIGATION, errors: Errors::ByAccept, cors: false },
            Route::Ciba(_) => &Spec {
                methods: &["POST"],
                body_cap: Some(crate::flows::ciba::MAX_BODY),
                headers: &["authorization"],
                errors: Errors::Json,
                cors: false,
            },
            Route::LoginConfirm => &Spec {
                methods: &["POST"],
                body_cap: None,
                headers: &["cookie", "accept-language", "origin", "sec-fetch-site"],
                errors: Errors::Page,
                cors: false,
            },
            // Native apps: JSON in and out, no cookies.
            Route::App(_) => &Spec {
                methods: &["POST"],
                body_cap: Some(crate::flows::app::MAX_BODY),
                headers: &["authorization", "content-type"],
                errors: Errors::Json,
                cors: false,
            },
            Route::NotFound => &Spec { methods: &[], body_cap: None, headers: NAVIGATION, errors: Errors::ByAccept, cors: false },
            // Public paths are the origin's own: its preflights and CORS answers pass through.
            Route::Public => &Spec { methods: &[], body_cap: None, headers: WITH_SESSION, errors: Errors::ByAccept, cors: false },
            Route::Protected => {
                &Spec { methods: &[], body_cap: None, headers: CORS_WITH_SESSION, errors: Errors::ByAccept, cors: true }
            }
            Route::ProtectedApi => &Spec { methods: &[], body_cap: None, headers: CORS_WITH_SESSION, errors: Errors::Json, cors: true },
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
const REFUSED: Spec = Spec { methods: &[], body_cap: None, headers: NAVIGATION, errors: Errors::ByAccept, cors: false };

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
/// Public rules match exactly; protected, access and API rules ignore ASCII case; public wins
/// when both match. A path an access rule names is protected even when `PROTECTED_PATHS` does
/// not list it.
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
                "/register" if config.login_options.register_scope.is_some() => Route::Register,
                "/session" => Route::Session,
                "/logout" => Route::Logout,
                "/jwks.json" => Route::Jwks,
                "/logged-out" => Route::LoggedOut,
                "/health" => Route::Health,
                "/ciba/start" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::Start),
                "/ciba/poll" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::Poll),
                "/ciba/user-exists" if config.ciba.is_some() => Route::Ciba(crate::flows::ciba::Op::UserExists),
                "/login/confirm" if config.apps.allows(crate::config::apps::Flow::AutomaticReturn) => Route::LoginConfirm,
                "/app/start" if config.apps.apps_enabled() => Route::App(crate::flows::app::Op::Start),
                "/app/token" if config.apps.apps_enabled() => Route::App(crate::flows::app::Op::Token),
                "/app/logout" if config.apps.apps_enabled() => Route::App(crate::flows::app::Op::Logout),
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
    if config.access.applies(path)
        || config.login_options.step_up.applies(path)
        || config.gate.protected_paths.iter().any(|p| p.matches_ignoring_case(path)) {
        return match config.gate.api_paths.iter().any(|p| p.matches_ignoring_case(path)) {
            true => Route::ProtectedApi,
            false => Route::Protected,
        };
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
        assert_eq!(rt(&c, "/auth/register"), Route::NotFound, "only with REGISTER_SCOPE");
        let r = parse(&[("REGISTER_SCOPE", "openid name customFlow"), ("PROTECTED_PATHS", "/members/*"), ("STEP_UP_RULES", "/bank/* = app_auth")]).unwrap();
        assert_eq!(rt(&r, "/auth/register"), Route::Register);
        assert_eq!(rt(&r, "/bank/x"), Route::Protected, "a step-up rule protects its paths");
        assert_eq!(rt(&c, "/auth/callback"), Route::Callback);
        assert_eq!(rt(&c, "/auth/session"), Route::Session);
        assert_eq!(rt(&c, "/auth/logout"), Route::Logout);
        assert_eq!(rt(&c, "/auth/logged-out"), Route::LoggedOut);
        assert_eq!(rt(&c, "/auth/health"), Route::Health);
        assert_eq!(rt(&c, "/auth/health/"), Route::NotFound);
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
    fn access_rules_protect_and_api_paths_answer_json() {
        let c = parse(&[
            ("PUBLIC_PATHS", "/, /docs/intro"),
            ("PROTECTED_PATHS", "/members/*"),
            ("ACCESS_RULES", "/admin/* = sub:x\n/docs/* = sub:x"),
            ("API_PATHS", "/api/*, /admin/api/*"),
        ])
        .unwrap();
        assert_eq!(rt(&c, "/admin/x"), Route::Protected, "a rule protects without PROTECTED_PATHS");
        assert_eq!(rt(&c, "/ADMIN/x"), Route::Protected);
        assert_eq!(rt(&c, "/%61dmin/x"), Route::Protected);
        assert_eq!(rt(&c, "/admin/api/x"), Route::ProtectedApi);
        assert_eq!(rt(&c, "/Admin/API/x"), Route::ProtectedApi, "API paths ignore case like protected ones");
        assert_eq!(rt(&c, "/docs/intro"), Route::Public, "public wins");
        assert_eq!(rt(&c, "/docs/other"), Route::Protected);
        assert_eq!(rt(&c, "/api/x"), Route::Public, "API_PATHS alone protect nothing");
        assert_eq!(rt(&c, "/members/x"), Route::Protected);
        assert_eq!(rt(&c, "/auth/session"), Route::Session, "auth routes are never gated by rules");
        let c = parse(&[("API_PATHS", "/api/*")]).unwrap();
        assert_eq!(rt(&c, "/api/x"), Route::ProtectedApi);
        assert_eq!(Route::ProtectedApi.spec().errors, Errors::Json);
        assert_eq!(Route::Protected.spec().errors, Errors::ByAccept);
    }

    #[test]
    fn routes_front_ends_call_name_the_headers_cors_reads() {
        let all = [
            Route::Login,
            Route::Callback,
            Route::Session,
            Route::Logout,
            Route::ConsentWebhook,
            Route::NotFound,
            Route::Public,
            Route::Protected,
            Route::ProtectedApi,
        ];
        for r in all {
            let s = r.spec();
            if s.cors {
                for h in ["origin", "access-control-request-method"] {
                    assert!(s.headers.contains(&h), "{r:?} lacks {h}");
                }
            } else {
                assert!(!s.headers.contains(&"access-control-request-method"), "{r:?} reads a header it never uses");
            }
            assert!(s.headers.iter().all(|h| *h == h.to_ascii_lowercase()), "{r:?}");
        }
        let cors: Vec<Route> = all.into_iter().filter(|r| r.spec().cors).collect();
        assert_eq!(cors, [Route::Session, Route::Logout, Route::Protected, Route::ProtectedApi]);
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
        assert!(Route::Logout.spec().headers.contains(&"sec-fetch-site"));
        assert!(!Route::Login.spec().allows("POST"));
        assert!(Route::Protected.spec().allows("PATCH"));
        // Wherever a page or an error message can be rendered, its language is read.
        for r in [Route::Login, Route::Callback, Route::Session, Route::Logout, Route::LoggedOut, Route::NotFound, Route::Public, Route::Protected] {
            assert!(r.spec().headers.contains(&"accept-language"), "{r:?}");
        }
        assert!(decide(&c, "/a%2Fb").spec().headers.contains(&"accept-language"));
        assert!(Route::Health.spec().headers.is_empty() && !Route::Health.spec().allows("POST"));
    }
}
