//! The routing decision: is a request an auth route, public, or protected?

use crate::config::Config;
use crate::policy::path::CanonicalPath;

/// A configured path: exact (`/about`) or prefix (`/assets/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Exact(String),
    Prefix(String),
}

impl PathPattern {
    /// A configured pattern, in the canonical form request paths are matched in (so `/søk/*`
    /// matches `/s%C3%B8k/x`). `None` for a pattern that is not a path, or that no canonical
    /// request path could match.
    pub fn parse(s: &str) -> Option<PathPattern> {
        match s.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => {
                // Canonicalised with a stand-in last character, so `/file.*` is a valid prefix.
                let c = CanonicalPath::parse(&format!("{prefix}x")).ok()?;
                Some(PathPattern::Prefix(c.as_str().strip_suffix('x')?.to_string()))
            }
            Some(_) => None,
            None if !s.contains('*') => Some(PathPattern::Exact(CanonicalPath::parse(s).ok()?.as_str().to_string())),
            None => None,
        }
    }
    /// Exact, case-sensitive: for rules that make a path public.
    pub fn matches(&self, path: &CanonicalPath) -> bool {
        match self {
            PathPattern::Exact(p) => path.as_str() == p,
            PathPattern::Prefix(p) => path.as_str().starts_with(p.as_str()),
        }
    }
    /// ASCII case-insensitive: for rules that protect, so a case-insensitive origin cannot serve
    /// `/PRIVATE/x` past `/private/*`.
    pub fn matches_ignoring_case(&self, path: &CanonicalPath) -> bool {
        match self {
            PathPattern::Exact(p) => path.as_str().eq_ignore_ascii_case(p),
            PathPattern::Prefix(p) => path.starts_with_ignore_case(p),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRoute {
    Login,
    Callback,
    Session,
    Logout,
    /// `POST {prefix}/webhooks/consent-revoked/{secret}` with the configured secret.
    ConsentWebhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Auth(AuthRoute),
    /// Under the auth prefix but not a known route.
    AuthUnknown,
    Public,
    Protected,
}

/// Decides what a path is, on its canonical form: the one form the backend receives too, so
/// `/assets/..%2Fprivate` cannot pass as public here and be read as `/private` by an origin.
/// Public rules match exactly; protected rules ignore ASCII case; public wins when both match.
pub fn route(config: &Config, path: &CanonicalPath) -> Route {
    let path_str = path.as_str();
    if path_str == config.callback_path() {
        return Route::Auth(AuthRoute::Callback);
    }
    let prefix = config.auth_prefix.as_str();
    if let Some(rest) = path_str.strip_prefix(prefix) {
        if rest.is_empty() || rest.starts_with('/') {
            return match rest {
                "/login" => Route::Auth(AuthRoute::Login),
                "/callback" => Route::Auth(AuthRoute::Callback),
                "/session" => Route::Auth(AuthRoute::Session),
                "/logout" => Route::Auth(AuthRoute::Logout),
                _ => match (rest.strip_prefix(crate::config::WEBHOOK_PATH), &config.consent_webhook) {
                    // Constant-time: the secret segment is the webhook's only credential.
                    (Some(given), Some(w))
                        if w.secrets.iter().any(|s| crate::util::ct_eq(given.as_bytes(), s.expose().as_bytes())) =>
                    {
                        Route::Auth(AuthRoute::ConsentWebhook)
                    }
                    _ => Route::AuthUnknown,
                },
            };
        }
    }
    if config.public_paths.iter().any(|p| p.matches(path)) {
        return Route::Public;
    }
    if config.protected_paths.iter().any(|p| p.matches_ignoring_case(path)) {
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
    fn patterns() {
        assert_eq!(PathPattern::parse("/a/*"), Some(PathPattern::Prefix("/a/".into())));
        assert_eq!(PathPattern::parse("/a"), Some(PathPattern::Exact("/a".into())));
        assert_eq!(PathPattern::parse("a"), None);
        assert_eq!(PathPattern::parse("/a*/b"), None);
        assert_eq!(PathPattern::parse("/file.*"), Some(PathPattern::Prefix("/file.".into())));
        assert_eq!(PathPattern::parse("/søk/*"), Some(PathPattern::Prefix("/s%C3%B8k/".into())));
        assert_eq!(PathPattern::parse("/%7euser/*"), Some(PathPattern::Prefix("/~user/".into())));
        assert_eq!(PathPattern::parse("/a/../b"), None);
        assert_eq!(PathPattern::parse("/a%2Fb"), None);
    }

    #[test]
    fn routes() {
        let c = parse(&[("PUBLIC_PATHS", "/, /index.html, /assets/*")]).unwrap();
        assert_eq!(rt(&c, "/auth/login"), Route::Auth(AuthRoute::Login));
        assert_eq!(rt(&c, "/auth/callback"), Route::Auth(AuthRoute::Callback));
        assert_eq!(rt(&c, "/auth/session"), Route::Auth(AuthRoute::Session));
        assert_eq!(rt(&c, "/auth/logout"), Route::Auth(AuthRoute::Logout));
        assert_eq!(rt(&c, "/auth/other"), Route::AuthUnknown);
        assert_eq!(rt(&c, "/authors"), Route::Protected);
        assert_eq!(rt(&c, "/"), Route::Public);
        assert_eq!(rt(&c, "/assets/app.css"), Route::Public);
        assert_eq!(rt(&c, "/private/"), Route::Protected);
        assert_eq!(rt(&c, "/index.html"), Route::Public);
        assert_eq!(rt(&c, "/index.html/x"), Route::Protected);
    }

    #[test]
    fn callback_follows_redirect_uri_path() {
        let c = parse(&[("VIPPS_REDIRECT_URI", "https://shop.example/login/vipps/return")]).unwrap();
        assert_eq!(rt(&c, "/login/vipps/return"), Route::Auth(AuthRoute::Callback));
    }

    #[test]
    fn consent_webhook_only_with_the_exact_secret() {
        let secret = "0123456789abcdef0123456789abcdef";
        let path = format!("/auth/webhooks/consent-revoked/{secret}");
        assert_eq!(rt(&parse(&[]).unwrap(), &path), Route::AuthUnknown);
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret)]).unwrap();
        assert_eq!(rt(&c, &path), Route::Auth(AuthRoute::ConsentWebhook));
        for wrong in [&path[..path.len() - 1], &format!("{path}x"), &format!("{path}/"), "/auth/webhooks/consent-revoked/"] {
            assert_eq!(rt(&c, wrong), Route::AuthUnknown, "{wrong}");
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
}
