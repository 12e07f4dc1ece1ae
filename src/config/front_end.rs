//! Front ends on other origins: who may read the session with credentials (`CORS_ORIGINS`) and
//! be returned to after login, and where a logout lands (`LOGOUT_REDIRECT`).

use super::reader::Reader;
use crate::policy::cors::FrontEndOrigins;
use crate::return_to::SafeReturnPath;

#[derive(Debug, Clone)]
pub struct FrontEndConfig {
    /// `CORS_ORIGINS`: exact origins, none by default.
    pub origins: FrontEndOrigins,
    /// `LOGOUT_REDIRECT`: where a logout form post lands (`/` by default).
    pub logout_redirect: SafeReturnPath,
}

pub fn parse(r: &mut Reader) -> FrontEndConfig {
    let entries = r.list("CORS_ORIGINS");
    let (origins, bad) = FrontEndOrigins::parse(entries.iter().map(String::as_str));
    for n in bad {
        r.problem(
            "CORS_ORIGINS",
            format!("entry {n} is not an exact origin: https://host[:port] (http only on localhost or 127.0.0.1), as browsers send it: no path, wildcard, userinfo or default port"),
        );
    }
    let logout_redirect = match r.opt("LOGOUT_REDIRECT") {
        None => SafeReturnPath::root(),
        Some(raw) => SafeReturnPath::parse_for(&raw, &origins).unwrap_or_else(|| {
            r.problem("LOGOUT_REDIRECT", "must be a path on this site (like /goodbye) or a URL on one of the CORS_ORIGINS");
            SafeReturnPath::root()
        }),
    };
    FrontEndConfig { origins, logout_redirect }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::parse;

    #[test]
    fn front_end_settings() {
        let c = parse(&[]).unwrap();
        assert!(c.front_end.origins.is_empty());
        assert_eq!(c.front_end.logout_redirect.as_str(), "/");
        let c = parse(&[("CORS_ORIGINS", "https://app.example.com, http://localhost:5173"), ("LOGOUT_REDIRECT", "https://app.example.com/bye")]).unwrap();
        assert_eq!(c.front_end.origins.iter().collect::<Vec<_>>(), ["https://app.example.com", "http://localhost:5173"]);
        assert_eq!(c.front_end.logout_redirect.as_str(), "https://app.example.com/bye");
        let c = parse(&[("LOGOUT_REDIRECT", "/goodbye?x=1")]).unwrap();
        assert_eq!(c.front_end.logout_redirect.as_str(), "/goodbye?x=1");
    }

    #[test]
    fn every_problem_named_never_the_value() {
        let e = parse(&[("CORS_ORIGINS", "https://ok.example, https://*.wild.example, http://plain.example"), ("LOGOUT_REDIRECT", "https://evil.example/")])
            .unwrap_err();
        let found: Vec<String> = e.0.iter().map(|p| format!("{}: {}", p.var, p.message)).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("CORS_ORIGINS: entry 2 is not an exact origin"));
        assert!(found[1].starts_with("CORS_ORIGINS: entry 3 is not an exact origin"));
        assert!(found[2].starts_with("LOGOUT_REDIRECT: must be a path"));
        let text = e.to_string();
        for v in ["wild.example", "plain.example", "evil.example"] {
            assert!(!text.contains(v), "{text}");
        }
        for bad in ["//evil.example", "https://app.example.com/x", "javascript:alert(1)", "goodbye"] {
            assert!(parse(&[("LOGOUT_REDIRECT", bad)]).is_err(), "{bad}");
        }
    }
}
