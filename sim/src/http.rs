//! A transport-neutral request/response pair, so every endpoint is a plain function that unit
//! tests call without a socket. `server.rs` adapts `tiny_http` to these types.

use serde_json::Value;

/// An HTTP request as the endpoints see it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// Path without the query string, exactly as received (not percent-decoded).
    pub path: String,
    /// Raw query string without the leading `?` (empty when absent).
    pub query: String,
    /// The request target as received (path and query).
    pub raw_url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// Builds a request from a request target such as `/path?a=b`.
    pub fn new(method: &str, url: &str) -> Self {
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (url.to_string(), String::new()),
        };
        Request {
            method: method.to_ascii_uppercase(),
            path,
            query,
            raw_url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    #[cfg(test)]
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    pub fn query_params(&self) -> Params {
        Params::parse(self.query.as_bytes())
    }

    pub fn form_params(&self) -> Params {
        Params::parse(&self.body)
    }

    /// Whether the body is declared as `application/x-www-form-urlencoded` (parameters allowed).
    pub fn is_form(&self) -> bool {
        self.header("content-type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false)
    }
}

/// The value of the first header named `name` (case-insensitive) among `headers`.
pub fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decoded `application/x-www-form-urlencoded` parameters, in order, duplicates kept.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(input: &[u8]) -> Self {
        Params(
            form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value for `key`, treating an empty value as absent (as OAuth servers do).
    pub fn get_nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Names of parameters that appear more than once among `keys`
    /// (RFC 6749 §3.1: request and response parameters MUST NOT be included more than once).
    pub fn repeated<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        keys.iter()
            .copied()
            .filter(|key| self.0.iter().filter(|(k, _)| k == key).count() > 1)
            .collect()
    }
}

/// How the server puts a [`Response`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// With `Content-Length`.
    #[default]
    Normal,
    /// `Transfer-Encoding: chunked`, without `Content-Length` (the `huge-chunked` fault).
    Chunked,
    /// No response at all: the connection is closed (the `close` fault).
    Close,
}

/// An HTTP response as the endpoints produce it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delivery: Delivery,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
            delivery: Delivery::Normal,
        }
    }

    pub fn json(status: u16, value: &Value) -> Self {
        // Serialising a `Value` cannot fail.
        let body = serde_json::to_vec_pretty(value).unwrap_or_default();
        Response::new(status, "application/json", body)
    }

    pub fn html(status: u16, page: String) -> Self {
        Response::new(status, "text/html; charset=utf-8", page)
    }

    /// `302 Found` to `location`.
    pub fn redirect(location: &str) -> Self {
        Response {
            status: 302,
            headers: vec![
                ("Location".to_string(), location.to_string()),
                ("Cache-Control".to_string(), "no-store".to_string()),
            ],
            body: Vec::new(),
            delivery: Delivery::Normal,
        }
    }

    /// No answer: the server closes the connection instead. `status` 0 only shows in the log.
    pub fn close() -> Self {
        Response {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            delivery: Delivery::Close,
        }
    }

    /// Sends the body chunked, without `Content-Length`.
    pub fn chunked(mut self) -> Self {
        self.delivery = Delivery::Chunked;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    #[cfg(test)]
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[cfg(test)]
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Appends `params` to `base` as a form-urlencoded query, with `?` or `&` as needed.
pub fn append_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        serializer.append_pair(k, v);
    }
    let query = serializer.finish();
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{base}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_query_picks_separator() {
        assert_eq!(
            append_query("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x+y"
        );
        assert_eq!(
            append_query("https://a/cb?v=1", &[("code", "x")]),
            "https://a/cb?v=1&code=x"
        );
        assert_eq!(
            append_query("https://a/cb?", &[("code", "x")]),
            "https://a/cb?code=x"
        );
    }

    #[test]
    fn params_keep_duplicates_and_decode() {
        let p = Params::parse(b"a=1&b=x+y%21&a=2&c=");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y!"));
        assert_eq!(p.get_nonempty("c"), None);
        assert_eq!(p.repeated(&["a", "b"]), vec!["a"]);
    }
}
