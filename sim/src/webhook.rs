//! The `CONSENT_REVOKED` webhook: Vipps POSTs an unsigned JWT (`alg` `none`) as `text/plain` to the
//! merchant's webhook URL when a user revokes their consent. The simulator delivers it over plain
//! HTTP/1.1 (with `ureq`) to a local receiver, synchronously, and reports what the receiver
//! answered.

use std::io::{ErrorKind, Read};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Map, Value};
use ureq::config::AutoHeaderValue;
use ureq::Timeout;

/// Connect timeout of a delivery, and the longest wait for each read or write.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// However slowly the receiver answers, a delivery ends after this (from the start).
pub const TOTAL_LIMIT: Duration = Duration::from_secs(30);
/// The longest response body kept (the rest is not read).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;
/// The longest status line and headers accepted.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// `exp - iat` of the event, as in Vipps' example.
pub const EVENT_TTL: u64 = 300;
pub const EVENT: &str = "CONSENT_REVOKED";
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain";

/// A parsed `http://` webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// Host as written, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority as written.
    authority: String,
    /// Path and query (never empty; the fragment is dropped).
    target: String,
}

impl WebhookUrl {
    /// Parses and checks a webhook URL. Only `http://` is supported: an `https://` URL is refused
    /// with an explanation.
    pub fn parse(url: &str) -> Result<WebhookUrl, String> {
        if url.is_empty() {
            return Err("the webhook URL is empty".into());
        }
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "webhook URL `{}`: must be printable ASCII without spaces",
                url.escape_debug()
            ));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "webhook URL `{url}` must be an absolute http:// URL"
            ));
        };
        if scheme.eq_ignore_ascii_case("https") {
            return Err(format!(
                "webhook URL `{url}`: https is not supported; vipps-sim delivers webhooks over plain \
                 HTTP to a local receiver (such as the Worker under `wrangler dev`), so use an http:// URL"
            ));
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(format!("webhook URL `{url}` must be an http:// URL"));
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(end);
        if authority.contains('@') {
            return Err(format!(
                "webhook URL `{url}`: user info (`user@`) is not supported"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((host, after_host)) = v6.split_once(']') else {
                return Err(format!("webhook URL `{url}`: unclosed `[` in the host"));
            };
            (host, after_host)
        } else {
            match authority.rfind(':') {
                Some(i) => (&authority[..i], &authority[i..]),
                None => (authority, ""),
            }
        };
        if host.is_empty() {
            return Err(format!("webhook URL `{url}` has no host"));
        }
        let port = match port {
            "" => 80,
            p => match p.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) {
                Some(p) if p != 0 => p,
                _ => return Err(format!("webhook URL `{url}` has an invalid port")),
            },
        };
        let target = after.split('#').next().unwrap_or("");
        let target = if target.starts_with('/') {
            target.to_string()
        } else {
            format!("/{target}")
        };
        Ok(WebhookUrl {
            host: host.to_string(),
            port,
            authority: authority.to_string(),
            target,
        })
    }

    /// `host:port/path`, without the query, for the log.
    pub fn loggable(&self) -> String {
        let path = self.target.split('?').next().unwrap_or("");
        format!("{}{path}", self.authority)
    }
}

/// The JWT's parts. Kept in order, so the default token reads exactly like Vipps' example.
type Fields = Vec<(String, Value)>;

/// `{"alg":"none","typ":"JWT"}`
pub fn default_header() -> Fields {
    vec![("alg".into(), json!("none")), ("typ".into(), json!("JWT"))]
}

/// `{"exp":now+300,"iat":now,"nbf":now,"sub":SUB,"event":"CONSENT_REVOKED"}`
pub fn default_payload(sub: Option<&str>, now: u64) -> Fields {
    let mut fields: Fields = vec![
        ("exp".into(), json!(now.saturating_add(EVENT_TTL))),
        ("iat".into(), json!(now)),
        ("nbf".into(), json!(now)),
    ];
    if let Some(sub) = sub {
        fields.push(("sub".into(), json!(sub)));
    }
    fields.push(("event".into(), json!(EVENT)));
    fields
}

/// Merges `patch` over `fields`: a known key keeps its place and takes the new value, a `null`
/// removes the key, and a new key is appended.
pub fn merge(fields: &mut Fields, patch: &Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            fields.retain(|(k, _)| k != key);
        } else if let Some(slot) = fields.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value.clone();
        } else {
            fields.push((key.clone(), value.clone()));
        }
    }
}

/// Compact JSON of `fields`, in their order.
fn to_json(fields: &Fields) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// `b64url(header) "." b64url(payload) "." signature`, without padding. With the default empty
/// signature the token ends with `.` (an RFC 7519 §6 unsecured JWT).
pub fn encode(header: &Fields, payload: &Fields, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(to_json(header)),
        URL_SAFE_NO_PAD.encode(to_json(payload))
    )
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// At most [`MAX_RESPONSE_BODY`] bytes, lossily decoded as UTF-8.
    pub body: String,
}

/// Path-only and query-only characters that `http::Uri` (and so ureq) refuses but a webhook URL
/// may hold; they are sent percent-encoded, as a browser sends them.
const PATH_REFUSED: &AsciiSet = &CONTROLS.add(b'<').add(b'>').add(b'`');
const QUERY_REFUSED: &AsciiSet = &CONTROLS.add(b'"').add(b'<').add(b'>');

impl WebhookUrl {
    /// The URL to request: `http://host:port/path?query`.
    fn request_uri(&self) -> String {
        let (path, query) = match self.target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.target.as_str(), None),
        };
        let mut uri = if self.host.contains(':') {
            format!("http://[{}]:{}", self.host, self.port)
        } else {
            format!("http://{}:{}", self.host, self.port)
        };
        uri.extend(utf8_percent_encode(path, PATH_REFUSED));
        if let Some(query) = query {
            uri.push('?');
            uri.extend(utf8_percent_encode(query, QUERY_REFUSED));
        }
        uri
    }
}

/// The client for one delivery: plain HTTP, no proxy, no redirects followed, every status an
/// answer (not an error), and no headers besides those [`deliver`] sets.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .max_response_header_size(MAX_RESPONSE_HEAD)
        .timeout_connect(Some(TIMEOUT))
        .timeout_per_write(Some(TIMEOUT))
        .timeout_per_read(Some(TIMEOUT))
        .timeout_global(Some(TOTAL_LIMIT))
        .build()
        .new_agent()
}

/// POSTs `body` to `url` over HTTP/1.1 with `Host` (the URL's authority as written),
/// `Content-Type`, `Content-Length` and `Connection: close`, and reads the answer. Once the
/// status line and headers have arrived, the delivery counts as answered: a body cut short (by
/// the connection closing, a timeout or an error) is kept as far as it came.
pub fn deliver(url: &WebhookUrl, content_type: &str, body: &[u8]) -> Result<Reply, String> {
    let response = agent()
        .post(url.request_uri())
        .header("Host", &url.authority)
        .header("Content-Type", content_type)
        .header("Content-Length", body.len().to_string())
        .header("Connection", "close")
        .send(body)
        .map_err(|e| describe(url, e))?;
    let status = response.status().as_u16();
    let mut reader = response.into_body().into_reader();
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    while kept.len() < MAX_RESPONSE_BODY {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => kept.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    kept.truncate(MAX_RESPONSE_BODY);
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&kept).into_owned(),
    })
}

/// Why a delivery got no answer, for the log and the `error` field.
fn describe(url: &WebhookUrl, error: ureq::Error) -> String {
    let target = &url.authority;
    match error {
        ureq::Error::HostNotFound => format!("cannot resolve {}", url.host),
        ureq::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable => format!("cannot connect to {target}: {e}"),
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => {
                "the webhook closed the connection without a response".to_string()
            }
            _ => format!("the webhook delivery to {target} failed: {e}"),
        },
        ureq::Error::Timeout(Timeout::Connect) => {
            format!("cannot connect to {target}: timed out")
        }
        ureq::Error::Timeout(Timeout::PerWrite | Timeout::SendRequest | Timeout::SendBody) => {
            "cannot send the webhook: timed out".to_string()
        }
        ureq::Error::Timeout(_) => "timed out waiting for the webhook response".to_string(),
        ureq::Error::LargeResponseHeader(..) => {
            "the webhook response headers are too large".to_string()
        }
        ureq::Error::Protocol(e) => {
            format!("the webhook answered something that is not an HTTP response ({e})")
        }
        e => format!("the webhook delivery to {target} failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::Instant;

    #[test]
    fn parses_http_urls_and_refuses_https() {
        let u = WebhookUrl::parse("http://127.0.0.1:8787/vipps/webhook?x=1#frag").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.target.as_str()
            ),
            ("127.0.0.1", 8787, "127.0.0.1:8787", "/vipps/webhook?x=1")
        );
        assert_eq!(u.loggable(), "127.0.0.1:8787/vipps/webhook");
        let u = WebhookUrl::parse("HTTP://localhost").unwrap();
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        let u = WebhookUrl::parse("http://[::1]:9000?q").unwrap();
        assert_eq!(
            (
                u.host.as_str(),
                u.port,
                u.authority.as_str(),
                u.target.as_str()
            ),
            ("::1", 9000, "[::1]:9000", "/?q")
        );
        let https = WebhookUrl::parse("https://example.com/hook").unwrap_err();
        assert!(https.contains("https is not supported"), "{https}");
        for bad in [
            "",
            "ftp://x/",
            "127.0.0.1:80/x",
            "http://",
            "http://:80/",
            "http://a:0/",
            "http://a:99999/",
            "http://a:x/",
            "http://u:p@a/",
            "http://[::1/",
            "http://a/ b",
            "http://a/\r\nX: y",
            "http://å/",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn default_jwt_reads_like_vipps_example() {
        let jwt = encode(
            &default_header(),
            &default_payload(Some("c9d10444"), 1592571488),
            "",
        );
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        let decode = |s: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
        assert_eq!(decode(parts[0]), r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            decode(parts[1]),
            r#"{"exp":1592571788,"iat":1592571488,"nbf":1592571488,"sub":"c9d10444","event":"CONSENT_REVOKED"}"#
        );
    }

    #[test]
    fn merge_replaces_removes_and_appends() {
        let mut p = default_payload(Some("s"), 10);
        let patch = json!({"exp": null, "event": "OTHER", "extra": [1]});
        merge(&mut p, patch.as_object().unwrap());
        assert_eq!(
            to_json(&p),
            r#"{"iat":10,"nbf":10,"sub":"s","event":"OTHER","extra":[1]}"#
        );
    }

    /// One delivery of `jwt` to a test receiver.
    struct Exchange {
        reply: Result<Reply, String>,
        /// The request as the receiver got it.
        request: String,
        /// The receiver's `127.0.0.1:PORT`.
        addr: String,
        /// How long `deliver` took.
        took: Duration,
    }

    /// Delivers `jwt` to a receiver on `127.0.0.1:0` that reads the whole request, answers `raw`
    /// verbatim, and closes the connection once the delivery is over or `hold` has passed.
    fn exchange(raw: &[u8], hold: Duration) -> Exchange {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let url = format!("http://{addr}/hook?a=1");
        let raw = raw.to_vec();
        let (over, wait_until_over) = std::sync::mpsc::channel::<()>();
        let receiver = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\njwt") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            // The client may hang up early (a reply it stops reading); that is not an error here.
            let _ = stream.write_all(&raw);
            let _ = wait_until_over.recv_timeout(hold);
            String::from_utf8_lossy(&request).into_owned()
        });
        let started = Instant::now();
        let reply = deliver(&WebhookUrl::parse(&url).unwrap(), "text/plain", b"jwt");
        let took = started.elapsed();
        let _ = over.send(());
        Exchange {
            reply,
            request: receiver.join().unwrap(),
            addr,
            took,
        }
    }

    fn deliver_to(raw: &[u8]) -> Result<Reply, String> {
        exchange(raw, Duration::ZERO).reply
    }

    #[test]
    fn sends_exactly_the_documented_request() {
        let Exchange {
            reply,
            request,
            addr,
            ..
        } = exchange(b"HTTP/1.1 204 No Content\r\n\r\n", Duration::ZERO);
        assert_eq!(reply.unwrap().status, 204);
        let (head, body) = request.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("POST /hook?a=1 HTTP/1.1"));
        let mut headers: Vec<String> = lines.map(|l| l.to_ascii_lowercase()).collect();
        headers.sort();
        assert_eq!(
            headers,
            [
                "connection: close".to_string(),
                "content-length: 3".into(),
                "content-type: text/plain".into(),
                format!("host: {addr}"),
            ]
        );
        assert_eq!(body, "jwt");
    }

    #[test]
    fn a_receiver_that_stalls_for_5_s_is_given_up() {
        let hold = Duration::from_secs(20);
        let limit = TIMEOUT + Duration::from_secs(3);
        let silent = std::thread::spawn(move || exchange(b"", hold));
        // After the head: the answer as far as it came, once no byte has come for 5 s.
        let cut_short = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", hold);
        assert_eq!(cut_short.reply.unwrap().body, "abc");
        assert!(
            cut_short.took >= TIMEOUT && cut_short.took < limit,
            "{:?}",
            cut_short.took
        );
        // Before the head: no answer.
        let silent = silent.join().unwrap();
        assert_eq!(
            silent.reply.unwrap_err(),
            "timed out waiting for the webhook response"
        );
        assert!(
            silent.took >= TIMEOUT && silent.took < limit,
            "{:?}",
            silent.took
        );
    }

    #[test]
    fn redirects_and_error_statuses_are_answers() {
        let redirect = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/x\r\nContent-Length: 4\r\n\r\nmove";
        assert_eq!(
            deliver_to(redirect),
            Ok(Reply {
                status: 302,
                body: "move".into()
            })
        );
        let refused = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno";
        assert_eq!(deliver_to(refused).unwrap().status, 401);
    }

    #[test]
    fn request_uri_keeps_the_url_and_encodes_what_ureq_refuses() {
        let uri = |u: &str| WebhookUrl::parse(u).unwrap().request_uri();
        assert_eq!(
            uri("http://127.0.0.1:8787/vipps/webhook?x=1#frag"),
            "http://127.0.0.1:8787/vipps/webhook?x=1"
        );
        assert_eq!(uri("HTTP://localhost"), "http://localhost:80/");
        assert_eq!(uri("http://[::1]:9000?q"), "http://[::1]:9000/?q");
        assert_eq!(
            uri("http://a/%41<b>`c\"{|}?d=\"<e>`%"),
            "http://a:80/%41%3Cb%3E%60c\"{|}?d=%22%3Ce%3E`%"
        );
        // Every printable character ureq's URI parser accepts in a path or a query goes as is.
        let all: String = (0x21u8..0x7f)
            .map(char::from)
            .filter(|c| !"#?".contains(*c))
            .collect();
        let u = uri(&format!("http://a/{all}?{all}"));
        assert!(u.parse::<ureq::http::Uri>().is_ok(), "{u}");
    }

    #[test]
    fn reads_replies_of_every_framing() {
        let read = deliver_to;
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"),
            Ok(Reply {
                status: 200,
                body: "ok".into()
            })
        );
        assert_eq!(
            read(b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap()
                .body,
            "abcde"
        );
        assert_eq!(
            read(b"HTTP/1.0 500 Oops\r\n\r\nuntil the end").unwrap(),
            Reply {
                status: 500,
                body: "until the end".into()
            }
        );
        assert_eq!(read(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().body, "");
        // Cut short after the head: the status still counts.
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
                .unwrap()
                .body,
            "abc"
        );
        let big = [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &[b'a'; 100_000]].concat();
        assert_eq!(read(&big).unwrap().body.len(), MAX_RESPONSE_BODY);
        assert!(read(b"").is_err());
        assert!(read(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(read(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        assert!(read(&[b'x'; 40_000]).is_err());
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\xff")
                .unwrap()
                .body,
            "\u{fffd}"
        );
    }
}
