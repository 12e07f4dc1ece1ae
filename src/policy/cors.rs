//! Front ends on other origins (`CORS_ORIGINS`): which origins are trusted, CORS preflights,
//! and the headers that let such a front end read an answer with credentials (Fetch standard,
//! "CORS protocol"). Only exact, configured origins ever get `Access-Control-Allow-Origin`;
//! never `*`, never a reflected unknown origin.

use crate::http::{IncomingRequest, Reply};

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: u32 = 600;
/// Request headers a front end may send (beyond the CORS-safelisted ones): enough for JSON.
pub const ALLOWED_HEADERS: &str = "Accept, Content-Type";
/// Methods a gated path answers preflights for (routes with a fixed list name theirs).
const GATED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";

/// Origins of trusted front ends, each exactly as browsers send it in `Origin`
/// (`https://app.example.com`, `http://localhost:5173`). Only [`FrontEndOrigins::parse`] makes
/// one, keeping only entries it validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontEndOrigins(Vec<String>);

impl FrontEndOrigins {
    /// The exact origins among `entries`, and the (1-based) positions of those that are not.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> (FrontEndOrigins, Vec<usize>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for (i, e) in entries.into_iter().enumerate() {
            match exact_origin(e) {
                Some(o) => ok.push(o),
                None => bad.push(i + 1),
            }
        }
        (FrontEndOrigins(ok), bad)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether `origin` (an `Origin` header's value) is one of them, byte for byte.
    pub fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }

    /// The request's `Origin` when it is one of them.
    pub fn of<'r>(&self, req: &'r IncomingRequest) -> Option<&'r str> {
        req.header("origin").filter(|o| self.contains(o))
    }
}

/// `scheme://host[:port]` as browsers serialise an origin (RFC 6454 §6.2): https, or http on
/// loopback; no path, query, fragment, userinfo, wildcard or default port; an ASCII host (IDN
/// in punycode) without a trailing dot. Case is normalised (`HTTPS://App.Example` is accepted
/// as `https://app.example`); anything a parser would have to repair is refused.
fn exact_origin(s: &str) -> Option<String> {
    if s.contains('*') || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let u = url::Url::parse(s).ok()?;
    let plain = u.username().is_empty() && u.password().is_none() && u.query().is_none() && u.fragment().is_none() && u.path() == "/";
    if !plain || !matches!(u.scheme(), "http" | "https") || !crate::config::is_secure_or_loopback(&u) {
        return None;
    }
    if u.host_str().is_none_or(|h| h.ends_with('.')) {
        return None;
    }
    let origin = u.origin().ascii_serialization();
    s.strip_suffix('/').unwrap_or(s).eq_ignore_ascii_case(&origin).then_some(origin)
}

/// A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`. It never carries
/// credentials, so it is answered here, never gated or forwarded.
pub fn is_preflight(req: &IncomingRequest) -> bool {
    req.method == "OPTIONS" && req.header("access-control-request-method").is_some()
}

/// The answer to a preflight: `204`, and for a configured origin the methods (`methods`, or
/// the gated set when empty), the allowed headers and how long to cache it. The origin and
/// credential headers are added by [`allow`], as on every answer of the route.
pub fn preflight(origins: &FrontEndOrigins, req: &IncomingRequest, methods: &[&str]) -> Reply {
    let mut r = Reply::new(204, "text/plain; charset=utf-8", String::new());
    if origins.of(req).is_some() {
        let methods = if methods.is_empty() { GATED_METHODS.to_string() } else { methods.join(", ") };
        r.headers.push(("access-control-allow-methods".into(), methods));
        r.headers.push(("access-control-allow-headers".into(), ALLOWED_HEADERS.into()));
        r.headers.push(("access-control-max-age".into(), PREFLIGHT_MAX_AGE.to_string()));
    }
    r
}

/// On an answer the Worker makes itself, on a route front ends may call: a configured origin
/// may read it with credentials; any other origin gets no CORS header. `Vary: Origin` whenever
/// front ends are configured, since the answer then depends on `Origin`.
pub fn allow(origins: &FrontEndOrigins, req: &IncomingRequest, reply: &mut Reply) {
    if origins.is_empty() {
        return;
    }
    reply.add_vary("Origin");
    if let Some(origin) = origins.of(req) {
        reply.headers.push(("access-control-allow-origin".into(), origin.to_string()));
        reply.headers.push(("access-control-allow-credentials".into(), "true".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only() {
        let ok = [
            ("https://app.example.com", "https://app.example.com"),
            ("https://app.example.com/", "https://app.example.com"),
            ("HTTPS://App.Example.COM", "https://app.example.com"),
            ("https://app.example.com:8443", "https://app.example.com:8443"),
            ("http://localhost:5173", "http://localhost:5173"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://[::1]:3000", "http://[::1]:3000"),
            ("https://xn--blbr-roa.no", "https://xn--blbr-roa.no"),
        ];
        for (given, want) in ok {
            assert_eq!(exact_origin(given).as_deref(), Some(want), "{given}");
        }
        for bad in [
            "*",
            "https://*.example.com",
            "null",
            "app.example.com",
            "//app.example.com",
            "http://app.example.com",
            "https://app.example.com/path",
            "https://app.example.com/?x",
            "https://app.example.com/#x",
            "https://user@app.example.com",
            "https://user:pw@app.example.com",
            "https://app.example.com:443",
            "https://app.example.com.",
            "https://blåbær.no",
            "ftp://app.example.com",
            "https://app.example.com ",
            "https://app.example.com/.",
            "https://app.example.com//",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(exact_origin(bad), None, "{bad}");
        }
        let (origins, bad) = FrontEndOrigins::parse(["https://a.example", "nope", "https://B.example", "*"]);
        assert_eq!((origins.iter().collect::<Vec<_>>(), bad), (vec!["https://a.example", "https://b.example"], vec![2, 4]));
    }

    fn request(method: &str, headers: &[(&str, &str)]) -> IncomingRequest {
        let mut r = IncomingRequest::get("https://login.example/auth/session").unwrap();
        r.method = method.into();
        for (k, v) in headers {
            r = r.with_header(k, v);
        }
        r
    }

    #[test]
    fn only_configured_origins_get_cors_headers() {
        let origins = FrontEndOrigins::parse(["https://app.example"]).0;
        let mut r = Reply::json(200, &serde_json::json!({}));
        allow(&origins, &request("GET", &[("origin", "https://app.example")]), &mut r);
        assert_eq!(r.header("access-control-allow-origin"), Some("https://app.example"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("vary"), Some("Origin"));
        for other in ["https://evil.example", "https://app.example.evil", "https://APP.example", "null", "https://app.example/"] {
            let mut r = Reply::json(200, &serde_json::json!({}));
            allow(&origins, &request("GET", &[("origin", other)]), &mut r);
            assert_eq!(r.header("access-control-allow-origin"), None, "{other}");
            assert_eq!(r.header("access-control-allow-credentials"), None, "{other}");
            assert_eq!(r.header("vary"), Some("Origin"), "{other}");
        }
        let mut r = Reply::json(200, &serde_json::json!({}));
        allow(&FrontEndOrigins::default(), &request("GET", &[("origin", "https://app.example")]), &mut r);
        assert_eq!(r.headers.len(), 2, "nothing added without CORS_ORIGINS: {:?}", r.headers);
    }

    #[test]
    fn preflights() {
        let origins = FrontEndOrigins::parse(["https://app.example"]).0;
        let pf = request("OPTIONS", &[("origin", "https://app.example"), ("access-control-request-method", "GET")]);
        assert!(is_preflight(&pf));
        assert!(!is_preflight(&request("OPTIONS", &[("origin", "https://app.example")])));
        assert!(!is_preflight(&request("GET", &[("access-control-request-method", "GET")])));
        let r = preflight(&origins, &pf, &["GET", "HEAD"]);
        assert_eq!(r.status, 204);
        assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD"));
        assert_eq!(r.header("access-control-allow-headers"), Some(ALLOWED_HEADERS));
        assert_eq!(r.header("access-control-max-age"), Some("600"));
        assert_eq!(preflight(&origins, &pf, &[]).header("access-control-allow-methods"), Some(GATED_METHODS));
        let evil = request("OPTIONS", &[("origin", "https://evil.example"), ("access-control-request-method", "GET")]);
        let r = preflight(&origins, &evil, &["GET"]);
        assert_eq!(r.status, 204);
        assert!(r.headers.iter().all(|(k, _)| !k.starts_with("access-control-")), "{:?}", r.headers);
    }
}
