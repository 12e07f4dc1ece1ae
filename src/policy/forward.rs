//! The forward plan: what the backend (static assets or an origin) receives for a request the
//! gate let through, and what the answer must carry back. Pure, so native tests reach it; the
//! edge only applies it.

use super::path::CanonicalPath;

/// Every header the Worker sets for the origin starts with this. A client-sent header whose
/// name, lower-cased with `_` read as `-`, starts with it is removed before forwarding: servers
/// that map `-` and `_` to one variable (CGI, Rack, WSGI) would otherwise see the client's value.
pub const RESERVED_HEADER_PREFIX: &str = "vipps-login-";
/// The logged-in user's `sub`, for the origin.
pub const USER_HEADER: &str = "vipps-login-sub";
/// The Worker's own cookies: they mean nothing to an origin and are not its to read.
pub const OWN_COOKIES: [&str; 4] = [
    crate::session::user::SESSION_COOKIE,
    crate::session::user::SHARED_SESSION_COOKIE,
    crate::session::transaction::TX_COOKIE,
    crate::flows::login_variants::SILENT_COOKIE,
];

/// A request the gate let through, to hand to the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// The path every rule was decided on; the backend gets exactly this path.
    pub path: CanonicalPath,
    /// The `sub` of a valid session the request carried.
    pub user: Option<String>,
    /// Headers the Worker adds for the backend: `Vipps-Login-Sub`, claim headers, the signed
    /// assertion (see [`super::identity`]). Empty without a session.
    pub identity: Vec<(String, String)>,
    /// Cookies to set on the backend's answer (a re-issued or cleared session).
    pub set_cookies: Vec<String>,
}

impl Forward {
    /// Whether the backend's answer is for one user only: it must not be stored by a shared
    /// cache.
    pub fn is_personal(&self) -> bool {
        self.user.is_some() || !self.set_cookies.is_empty()
    }
}

/// Whether a header name is one the client may not send to the origin.
pub fn is_reserved_header(name: &str) -> bool {
    let prefix = RESERVED_HEADER_PREFIX.as_bytes();
    let name = name.as_bytes();
    name.len() >= prefix.len()
        && name[..prefix.len()].iter().zip(prefix).all(|(&a, &b)| {
            let a = if a == b'_' { b'-' } else { a.to_ascii_lowercase() };
            a == b
        })
}

/// `Cookie` without the Worker's own cookies; `None` when nothing is left.
pub fn strip_own_cookies(cookie_header: &str) -> Option<String> {
    let kept: Vec<&str> = cookie_header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("").trim();
            !pair.is_empty() && !OWN_COOKIES.contains(&name)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// The headers the backend receives: the client's, minus reserved names, the Worker's
/// cookies and its bearer session token, plus the Worker's identity headers.
pub fn request_headers(incoming: impl IntoIterator<Item = (String, String)>, identity: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in incoming {
        if is_reserved_header(&name) {
            continue;
        }
        // A native app's bearer session is ours, like our cookies: never the origin's to read.
        if name.eq_ignore_ascii_case("authorization") && crate::session::bearer::token_in(Some(&value)).is_some() {
            continue;
        }
        if name.eq_ignore_ascii_case("cookie") {
            if let Some(kept) = strip_own_cookies(&value) {
                out.push((name, kept));
            }
            continue;
        }
        out.push((name, value));
    }
    out.extend(identity.iter().cloned());
    out
}

/// `Cache-Control` and `Vary` for a personal answer: `private` whatever the backend said
/// (`public`, `s-maxage` and `proxy-revalidate` dropped, `no-store` and the rest kept;
/// `private, no-cache` when the backend said nothing, since a `Last-Modified` alone makes a
/// response heuristically cacheable), and `Vary: Cookie` merged into the backend's `Vary`.
pub fn personal_cache_headers(cache_control: Option<&str>, vary: Option<&str>) -> (String, String) {
    let kept: Vec<&str> = cache_control
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| {
            let name = d.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
            !d.is_empty() && !matches!(name.as_str(), "public" | "private" | "s-maxage" | "proxy-revalidate")
        })
        .collect();
    let cache_control = if kept.is_empty() { "private, no-cache".to_string() } else { format!("private, {}", kept.join(", ")) };
    (cache_control, crate::http::merge_vary(vary, "Cookie"))
}

/// The backend URL for a forward: `base` (an origin URL, or the request's own URL for
/// `BACKEND=origin` and assets) with its path followed by the canonical path, and the
/// request's query.
pub fn target_url(base: &url::Url, base_is_prefix: bool, path: &CanonicalPath, query: Option<&str>) -> url::Url {
    let mut u = base.clone();
    if base_is_prefix {
        let joined = format!("{}{}", base.path().trim_end_matches('/'), path.as_str());
        u.set_path(&joined);
    } else {
        u.set_path(path.as_str());
    }
    u.set_query(query);
    u.set_fragment(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_header_names_in_every_spelling() {
        for n in ["vipps-login-sub", "Vipps-Login-Sub", "VIPPS_LOGIN_SUB", "vipps_login-sub", "Vipps-Login_Email", "vipps-login-"] {
            assert!(is_reserved_header(n), "{n}");
        }
        for n in ["vipps-loginsub", "x-vipps-login-sub", "vipps-log", "cookie", "vipps-edge-signature"] {
            assert!(!is_reserved_header(n), "{n}");
        }
    }

    #[test]
    fn forwarded_headers_lose_forgeries_and_own_cookies() {
        let incoming = vec![
            ("vipps_login_sub".to_string(), "attacker".to_string()),
            ("Vipps-Login-Sub".to_string(), "attacker, other".to_string()),
            ("cookie".to_string(), "theme=dark; __Host-vipps-session=abc; __Host-vipps-login=def; lang=nb".to_string()),
            ("accept".to_string(), "text/html".to_string()),
        ];
        let out = request_headers(incoming, &[(USER_HEADER.to_string(), "real-sub".to_string())]);
        assert_eq!(
            out,
            vec![
                ("cookie".to_string(), "theme=dark; lang=nb".to_string()),
                ("accept".to_string(), "text/html".to_string()),
                ("vipps-login-sub".to_string(), "real-sub".to_string()),
            ]
        );
        let only_ours = vec![("cookie".to_string(), "__Host-vipps-session=abc".to_string())];
        assert!(request_headers(only_ours, &[]).is_empty());
    }

    #[test]
    fn personal_answers_are_private_and_vary_on_cookie() {
        let cases = [
            (Some("public, max-age=600"), None, "private, max-age=600", "Cookie"),
            (None, None, "private, no-cache", "Cookie"),
            (Some("no-store"), Some("Accept-Encoding"), "private, no-store", "Accept-Encoding, Cookie"),
            (Some("public, s-maxage=300, max-age=60, proxy-revalidate"), Some("cookie"), "private, max-age=60", "cookie"),
            (Some("public, max-age=0, must-revalidate"), Some("*"), "private, max-age=0, must-revalidate", "*"),
            (Some("Private, no-cache"), Some(""), "private, no-cache", "Cookie"),
        ];
        for (cc, vary, want_cc, want_vary) in cases {
            assert_eq!(personal_cache_headers(cc, vary), (want_cc.to_string(), want_vary.to_string()), "{cc:?}");
        }
    }

    #[test]
    fn target_url_is_base_plus_the_canonical_path() {
        let p = CanonicalPath::parse("/private/a%20b").unwrap();
        let base = url::Url::parse("https://origin.example/app/").unwrap();
        assert_eq!(target_url(&base, true, &p, Some("x=1")).as_str(), "https://origin.example/app/private/a%20b?x=1");
        let own = url::Url::parse("https://site.example/private/..%2Fx?y#f").unwrap();
        assert_eq!(target_url(&own, false, &p, None).as_str(), "https://site.example/private/a%20b");
    }
}
