//! The routing decision: is a request an auth route, public, or protected?

use crate::config::Config;

/// A configured path: exact (`/about`) or prefix (`/assets/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    Exact(String),
    Prefix(String),
}

impl PathPattern {
    pub fn parse(s: &str) -> Option<PathPattern> {
        if !s.starts_with('/') {
            return None;
        }
        match s.strip_suffix('*') {
            Some(prefix) if !prefix.contains('*') => Some(PathPattern::Prefix(prefix.to_string())),
            Some(_) => None,
            None if !s.contains('*') => Some(PathPattern::Exact(s.to_string())),
            None => None,
        }
    }
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Exact(p) => path == p,
            PathPattern::Prefix(p) => path.starts_with(p.as_str()),
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

/// Decides what a path is. The path is the URL's path as received (percent-encoded), so
/// `/private%2F..` cannot sneak past a prefix check by decoding differently later.
pub fn route(config: &Config, path: &str) -> Route {
    if path == config.callback_path() {
        return Route::Auth(AuthRoute::Callback);
    }
    let prefix = config.auth_prefix.as_str();
    if let Some(rest) = path.strip_prefix(prefix) {
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
    if config.protected_paths.iter().any(|p| p.matches(path)) {
        return Route::Protected;
    }
    Route::Public
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    #[test]
    fn patterns() {
        assert_eq!(PathPattern::parse("/a/*"), Some(PathPattern::Prefix("/a/".into())));
        assert_eq!(PathPattern::parse("/a"), Some(PathPattern::Exact("/a".into())));
        assert_eq!(PathPattern::parse("a"), None);
        assert_eq!(PathPattern::parse("/a*/b"), None);
    }

    #[test]
    fn routes() {
        let c = parse(&[("PUBLIC_PATHS", "/, /index.html, /assets/*")]).unwrap();
        assert_eq!(route(&c, "/auth/login"), Route::Auth(AuthRoute::Login));
        assert_eq!(route(&c, "/auth/callback"), Route::Auth(AuthRoute::Callback));
        assert_eq!(route(&c, "/auth/session"), Route::Auth(AuthRoute::Session));
        assert_eq!(route(&c, "/auth/logout"), Route::Auth(AuthRoute::Logout));
        assert_eq!(route(&c, "/auth/other"), Route::AuthUnknown);
        assert_eq!(route(&c, "/authors"), Route::Protected);
        assert_eq!(route(&c, "/"), Route::Public);
        assert_eq!(route(&c, "/assets/app.css"), Route::Public);
        assert_eq!(route(&c, "/private/"), Route::Protected);
        assert_eq!(route(&c, "/index.html"), Route::Public);
        assert_eq!(route(&c, "/index.html/x"), Route::Protected);
    }

    #[test]
    fn callback_follows_redirect_uri_path() {
        let c = parse(&[("VIPPS_REDIRECT_URI", "https://shop.example/login/vipps/return")]).unwrap();
        assert_eq!(route(&c, "/login/vipps/return"), Route::Auth(AuthRoute::Callback));
    }

    #[test]
    fn consent_webhook_only_with_the_exact_secret() {
        let secret = "0123456789abcdef0123456789abcdef";
        let path = format!("/auth/webhooks/consent-revoked/{secret}");
        assert_eq!(route(&parse(&[]).unwrap(), &path), Route::AuthUnknown);
        let c = parse(&[("CONSENT_WEBHOOK_SECRET", secret)]).unwrap();
        assert_eq!(route(&c, &path), Route::Auth(AuthRoute::ConsentWebhook));
        for wrong in [&path[..path.len() - 1], &format!("{path}x"), &format!("{path}/"), "/auth/webhooks/consent-revoked/"] {
            assert_eq!(route(&c, wrong), Route::AuthUnknown, "{wrong}");
        }
        assert_eq!(route(&c, &path.to_uppercase()), Route::Protected);
    }

    #[test]
    fn nothing_protected_when_configured_so() {
        let c = parse(&[("PROTECTED_PATHS", "/members/*")]).unwrap();
        assert_eq!(route(&c, "/"), Route::Public);
        assert_eq!(route(&c, "/members/x"), Route::Protected);
    }
}
