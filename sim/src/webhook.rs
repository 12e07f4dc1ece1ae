//! The `CONSENT_REVOKED` webhook: Vipps POSTs an unsigned JWT (`alg` `none`) as `text/plain` to the
//! merchant's webhook URL when a user revokes their consent. The simulator delivers it over plain
//! HTTP/1.1 to a local receiver, synchronously, and reports what the receiver answered.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};

/// Connect, read and write timeout of a delivery.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// However slowly the receiver answers, a delivery ends after this.
pub const TOTAL_READ_LIMIT: Duration = Duration::from_secs(30);
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

/// POSTs `body` to `url` over HTTP/1.1 with `Connection: close`, and reads the answer.
pub fn deliver(url: &WebhookUrl, content_type: &str, body: &[u8]) -> Result<Reply, String> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last_error = format!("no address for {}", url.host);
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = format!("cannot connect to {addr}: {e}"),
        }
    }
    let Some(mut stream) = stream else {
        return Err(last_error);
    };
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| io("cannot set the socket timeouts", e))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        url.target,
        url.authority,
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream
        .write_all(&request)
        .and_then(|()| stream.flush())
        .map_err(|e| io("cannot send the webhook", e))?;
    read_reply(&mut stream)
}

/// Reads until the response is complete (by `Content-Length`, chunked framing or end of stream),
/// the body cap is reached, or time runs out.
fn read_reply(stream: &mut impl Read) -> Result<Reply, String> {
    let started = Instant::now();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(reply) = complete_reply(&buf)? {
            return Ok(reply);
        }
        if started.elapsed() > TOTAL_READ_LIMIT {
            return partial_reply(&buf, "the webhook response took too long");
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return partial_reply(&buf, "the webhook closed the connection without a response")
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return partial_reply(&buf, "timed out waiting for the webhook response")
            }
            Err(e) => return partial_reply(&buf, &format!("reading the webhook response: {e}")),
        }
    }
}

struct Head {
    status: u16,
    /// Where the body starts in the buffer.
    body_start: usize,
    content_length: Option<usize>,
    chunked: bool,
}

/// `Ok(None)` while the head is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_RESPONSE_HEAD {
            return Err("the webhook response headers are too large".into());
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut words = status_line.split(' ');
    let version = words.next().unwrap_or("");
    let status = words
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s));
    let (true, Some(status)) = (version.starts_with("HTTP/"), status) else {
        return Err(format!(
            "the webhook answered something that is not an HTTP response: `{}`",
            status_line.chars().take(100).collect::<String>()
        ));
    };
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Ok(Some(Head {
        status,
        body_start: end + 4,
        content_length,
        chunked,
    }))
}

/// The reply, once the buffer holds all of it (or all that will be kept).
fn complete_reply(buf: &[u8]) -> Result<Option<Reply>, String> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    let raw = &buf[head.body_start..];
    let body = if head.chunked {
        let (body, complete) = dechunk(raw);
        if !complete && body.len() < MAX_RESPONSE_BODY && raw.len() < 2 * MAX_RESPONSE_BODY {
            return Ok(None);
        }
        body
    } else if let Some(length) = head.content_length {
        if raw.len() < length.min(MAX_RESPONSE_BODY) {
            return Ok(None);
        }
        raw[..length.min(raw.len())].to_vec()
    } else if matches!(head.status, 204 | 304) || head.status < 200 {
        Vec::new()
    } else if raw.len() >= MAX_RESPONSE_BODY {
        raw.to_vec()
    } else {
        // Delimited by the end of the connection.
        return Ok(None);
    };
    Ok(Some(reply(head.status, &body)))
}

/// What there is when reading stops early: the reply if the head arrived, else `error`.
fn partial_reply(buf: &[u8], error: &str) -> Result<Reply, String> {
    match parse_head(buf)? {
        Some(head) => {
            let raw = &buf[head.body_start..];
            let body = if head.chunked {
                dechunk(raw).0
            } else {
                let length = head.content_length.unwrap_or(raw.len()).min(raw.len());
                raw[..length].to_vec()
            };
            Ok(reply(head.status, &body))
        }
        None => Err(error.to_string()),
    }
}

fn reply(status: u16, body: &[u8]) -> Reply {
    let body = &body[..body.len().min(MAX_RESPONSE_BODY)];
    Reply {
        status,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

/// Decodes chunked framing, leniently; returns what was decoded and whether the last chunk came.
fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let line = String::from_utf8_lossy(&raw[..eol]);
        let size = line.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            return (out, true);
        };
        if size == 0 {
            return (out, true);
        }
        let data = &raw[eol + 2..];
        if data.len() < size {
            out.extend_from_slice(data);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        if out.len() >= MAX_RESPONSE_BODY {
            return (out, true);
        }
        raw = data.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn reads_replies_of_every_framing() {
        let read = |raw: &[u8]| read_reply(&mut &raw[..]);
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
