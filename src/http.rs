//! Plain HTTP values the core works with. The edge adapter converts `worker` types to and from
//! these, so every flow can be driven natively in tests.

use serde::Serialize;

/// An incoming request as the core sees it. Header names are lower case.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    pub method: String,
    pub url: url::Url,
    /// At the edge only the headers in `edge::CORE_HEADERS` are copied in: a new header read
    /// here must be added there.
    pub headers: Vec<(String, String)>,
    /// Read by the edge only for routes that take a body (POST to auth routes).
    pub body: Option<Vec<u8>>,
}

impl IncomingRequest {
    pub fn get(url: &str) -> Option<Self> {
        Some(IncomingRequest {
            method: "GET".into(),
            url: url::Url::parse(url).ok()?,
            headers: Vec::new(),
            body: None,
        })
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    /// All values of the `Cookie` header(s), joined as one header would carry them.
    pub fn cookie_header(&self) -> String {
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
    /// A browser navigation wants an HTML page; anything else gets JSON.
    pub fn wants_html(&self) -> bool {
        if self.header("sec-fetch-mode") == Some("navigate") {
            return true;
        }
        self.header("accept").is_some_and(|a| a.contains("text/html"))
    }
    /// `scheme://host[:port]` of the request URL.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// A `Vary` value that also names `field`: unchanged when it already does (in any case) or is
/// `*`, `field` alone when there was none.
pub fn merge_vary(existing: Option<&str>, field: &str) -> String {
    match existing.map(str::trim).filter(|v| !v.is_empty()) {
        None => field.to_string(),
        Some(v) if v.split(',').any(|f| f.trim() == "*" || f.trim().eq_ignore_ascii_case(field)) => v.to_string(),
        Some(v) => format!("{v}, {field}"),
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A subrequest to the identity provider.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// The answer to a subrequest, body already read (with a size cap, by the platform).
#[derive(Debug, Clone)]
pub struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl InboundResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// A response the core produced in full.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: String) -> Self {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body,
        }
    }
    pub fn html(status: u16, body: String) -> Self {
        let mut r = Reply::new(status, "text/html; charset=utf-8", body);
        r.headers.push(("x-content-type-options".into(), "nosniff".into()));
        r.headers.push(("x-frame-options".into(), "DENY".into()));
        r.headers.push((
            "content-security-policy".into(),
            // No scripts; styles inline or same-origin and same-origin images, for operators'
            // page templates (crate::pages) as much as for the built-in pages.
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'".into(),
        ));
        r.headers.push(("referrer-policy".into(), "no-referrer".into()));
        r
    }
    pub fn json<T: Serialize>(status: u16, value: &T) -> Self {
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".into());
        Reply::new(status, "application/json", body)
    }
    pub fn redirect(status: u16, location: &str) -> Self {
        let mut r = Reply::new(status, "text/plain; charset=utf-8", String::new());
        r.headers.push(("location".into(), location.into()));
        r.headers.push(("referrer-policy".into(), "no-referrer".into()));
        r
    }
    /// Adds `field` to the one `Vary` header (merged, never a second header, never twice).
    pub fn add_vary(&mut self, field: &str) {
        match self.headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case("vary")) {
            Some((_, v)) => *v = merge_vary(Some(v), field),
            None => self.headers.push(("vary".into(), field.into())),
        }
    }
    pub fn with_cookie(mut self, set_cookie: String) -> Self {
        self.headers.push(("set-cookie".into(), set_cookie));
        self
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.as_str())
    }
}

/// What the worker does with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer with this response.
    Reply(Reply),
    /// Hand the request to the backend (static assets or origin), as the plan says: the
    /// canonical path, the user for the identity header, a cookie for the answer.
    Forward(crate::policy::forward::Forward),
}
