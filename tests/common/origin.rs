//! Backends for the gate tests (tests/gate.rs), and a raw HTTP/1.1 client that writes requests
//! byte-exact:
//! - [`NaiveOrigin`]: a deliberately naive file server on 127.0.0.1 that decodes paths the way
//!   careless servers do (full percent-decoding including `%2F` `%5C` `%2E`, `\` read as `/`,
//!   dot segments resolved, `//` collapsed) and serves demo/public; it records every request.
//! - [`Nginx`]: Debian's nginx serving demo/public with its defaults, access log of the raw
//!   request line.
//! - [`raw_request`] / [`raw_get`]: no URL library between the test and the socket.

use super::{free_port, log_dir, root, spawn, Proc};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---- reading HTTP/1.1 messages ------------------------------------------------------------

/// A stream with what was read from it but not consumed yet.
struct Reader<'a> {
    s: &'a mut TcpStream,
    buf: Vec<u8>,
}

impl<'a> Reader<'a> {
    fn new(s: &'a mut TcpStream) -> Self {
        Reader { s, buf: Vec::new() }
    }
    /// Reads more bytes; false at end of stream.
    fn more(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.s.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }
    /// The bytes before the next `pat` (consumed with it), at most `limit` of them.
    fn until(&mut self, pat: &[u8], limit: usize) -> io::Result<Vec<u8>> {
        let mut from = 0;
        loop {
            if let Some(i) = self.buf[from..].windows(pat.len()).position(|w| w == pat) {
                let i = from + i;
                let out = self.buf[..i].to_vec();
                self.buf.drain(..i + pat.len());
                return Ok(out);
            }
            if self.buf.len() > limit {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line or head too long"));
            }
            from = self.buf.len().saturating_sub(pat.len());
            if !self.more()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a message"));
            }
        }
    }
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.more()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a body"));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }
    fn rest(&mut self) -> io::Result<Vec<u8>> {
        while self.more()? {}
        Ok(std::mem::take(&mut self.buf))
    }
    /// The head of a message: its start line and its header fields, names as sent, duplicates kept.
    fn head(&mut self) -> io::Result<(String, Vec<(String, String)>)> {
        let head = self.until(b"\r\n\r\n", 256 * 1024)?;
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect();
        Ok((start, headers))
    }
    /// A chunked body, decoded; trailers are read and dropped.
    fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.until(b"\r\n", 4096)?;
            let line = String::from_utf8_lossy(&line);
            let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
            if size == 0 {
                while !self.until(b"\r\n", 64 * 1024)?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.take(size)?);
            self.take(2)?;
        }
    }
}

/// The first header field of that name (any case).
pub fn first<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn all<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    all(headers, "transfer-encoding").iter().any(|v| v.to_ascii_lowercase().contains("chunked"))
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    first(headers, "content-length").and_then(|v| v.trim().parse().ok())
}

// ---- the raw client -------------------------------------------------------------------------

/// A response as it came off the socket.
#[derive(Debug, Clone)]
pub struct RawResp {
    pub status: u16,
    /// Names as sent, duplicates kept, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResp {
    /// The first field of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }
    /// Every field of that name, joined with ", " as RFC 9110 allows; None when absent.
    pub fn joined(&self, name: &str) -> Option<String> {
        let v = all(&self.headers, name);
        if v.is_empty() {
            None
        } else {
            Some(v.join(", "))
        }
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` exactly as given to 127.0.0.1:`port` and reads one response. `head_only`:
/// the request was HEAD, so the response has no body whatever its Content-Length says.
pub fn raw_request(port: u16, request: &[u8], head_only: bool) -> io::Result<RawResp> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut r = Reader::new(&mut s);
    let (start, headers) = r.head()?;
    let status: u16 = start
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {start:?}")))?;
    let body = if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if is_chunked(&headers) {
        r.chunked()?
    } else if let Some(n) = content_length(&headers) {
        r.take(n)?
    } else {
        r.rest()?
    };
    Ok(RawResp { status, headers, body })
}

/// `GET <target>` exactly as written in the target, with the headers every gate test sends:
/// `Host`, `Accept: text/html`, then `extra` (for example a Cookie), then `Connection: close`.
pub fn raw_get(port: u16, target: &str, extra: &[(&str, &str)]) -> io::Result<RawResp> {
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    raw_request(port, req.as_bytes(), false)
}

// ---- the naive origin -------------------------------------------------------------------------

/// One request as the origin received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The request-target exactly as on the wire (lossy UTF-8).
    pub target: String,
    /// Names as sent, duplicates kept, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        all(&self.headers, name)
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    /// Extra response fields on file responses (Cache-Control, Last-Modified, Vary...).
    response_headers: Mutex<Vec<(String, String)>>,
    stop: AtomicBool,
}

/// A file server that decodes paths naively (see the module doc); stopped on drop.
pub struct NaiveOrigin {
    pub port: u16,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl NaiveOrigin {
    pub fn start() -> NaiveOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the naive origin");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let st = state.clone();
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = conn {
                    let st = st.clone();
                    std::thread::spawn(move || {
                        let _ = serve(s, &st);
                    });
                }
            }
        });
        NaiveOrigin { port, state, accept: Some(accept) }
    }

    /// `http://127.0.0.1:<port>`: what BACKEND is set to.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// Every request received since the start or the last [`clear`](Self::clear).
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }
    pub fn clear(&self) {
        self.state.requests.lock().unwrap().clear();
    }
    /// Sets the extra fields every file response carries from now on (none by default).
    pub fn set_response_headers(&self, headers: &[(&str, &str)]) {
        *self.state.response_headers.lock().unwrap() =
            headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    }
}

impl Drop for NaiveOrigin {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Decodes a request-target's path the way naive servers do: every `%XX`, `\` as `/`, then
/// dot segments resolved and empty segments dropped (never above the root).
pub fn naive_resolve(target: &str) -> String {
    let path = target.split('?').next().unwrap_or("");
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut stack: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    let mut out = format!("/{}", stack.join("/"));
    if text.ends_with('/') && !stack.is_empty() {
        out.push('/');
    }
    out
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(mut s: TcpStream, st: &State) -> io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader_stream = s.try_clone()?;
    let mut r = Reader::new(&mut reader_stream);
    let (start, headers) = r.head()?;
    let mut parts = start.splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let body = if is_chunked(&headers) {
        r.chunked()?
    } else if let Some(n) = content_length(&headers) {
        r.take(n)?
    } else {
        Vec::new()
    };
    let rec = Recorded { method: method.clone(), target: target.clone(), headers, body };
    st.requests.lock().unwrap().push(rec.clone());

    let (status, mut fields, payload): (u16, Vec<(String, String)>, Vec<u8>) = if target.starts_with("/_echo") {
        let echo = serde_json::json!({
            "method": rec.method,
            "target": rec.target,
            "headers": rec.headers.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(&rec.body),
            "body_len": rec.body.len(),
        });
        (200, vec![("Content-Type".into(), "application/json".into())], echo.to_string().into_bytes())
    } else if method == "OPTIONS" {
        (204, vec![("Allow".into(), "GET, HEAD, POST, OPTIONS".into())], Vec::new())
    } else {
        let resolved = naive_resolve(&target);
        let docroot = root().join("demo/public");
        let mut file = docroot.join(resolved.trim_start_matches('/'));
        if file.is_dir() {
            file = file.join("index.html");
        }
        match std::fs::read(&file) {
            Ok(bytes) => {
                let mut f = vec![("Content-Type".to_string(), content_type(&file).to_string())];
                f.extend(st.response_headers.lock().unwrap().iter().cloned());
                (200, f, bytes)
            }
            Err(_) => (404, vec![("Content-Type".into(), "text/plain".into())], b"not found\n".to_vec()),
        }
    };
    fields.push(("Content-Length".into(), payload.len().to_string()));
    fields.push(("Connection".into(), "close".into()));
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        _ => "Not Found",
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in &fields {
        if status == 204 && k == "Content-Length" {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if method != "HEAD" {
        out.extend(payload);
    }
    s.write_all(&out)?;
    s.flush()?;
    let _ = s.shutdown(Shutdown::Write);
    // Drain what the client may still send, so closing does not reset the connection.
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    let _ = std::io::copy(&mut s, &mut std::io::sink());
    Ok(())
}

// ---- nginx ----------------------------------------------------------------------------------

/// Debian's nginx (or the first `nginx` on PATH). Never skipped: a missing nginx is a failure.
pub fn nginx_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.is_file() {
        return sbin;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("nginx");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "nginx not found (neither /usr/sbin/nginx nor nginx on PATH): the gate tests need it and \
         never skip; install Debian's package with `apt-get install nginx` (make test does)"
    );
}

/// nginx serving demo/public on a free 127.0.0.1 port, everything under target/e2e/<name>/;
/// killed on drop.
pub struct Nginx {
    proc: Option<Proc>,
    pub port: u16,
    pub dir: PathBuf,
}

impl Nginx {
    pub fn start(name: &str) -> Nginx {
        let bin = nginx_binary();
        let dir = log_dir(name);
        let mut last = String::new();
        for attempt in 1..=3 {
            let port = free_port();
            match Nginx::try_start(&bin, &dir, port) {
                Ok(n) => return n,
                Err(why) => {
                    eprintln!("{name}: nginx attempt {attempt} failed ({why})");
                    last = why;
                }
            }
        }
        panic!("{name}: nginx did not start: {last}; see {}", dir.join("error.log").display());
    }

    fn try_start(bin: &Path, dir: &Path, port: u16) -> Result<Nginx, String> {
        let d = dir.display();
        let docroot = root().join("demo/public");
        for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(dir.join("tmp").join(t)).unwrap();
        }
        let conf = format!(
            r#"# Written by tests/common/origin.rs for the gate tests.
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    types {{
        text/html html;
        text/css css;
        text/javascript js;
        application/json json;
    }}
    default_type application/octet-stream;
    log_format gate '$status "$request"';
    access_log {d}/access.log gate;
    client_body_temp_path {d}/tmp/client_body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        root {docroot};
        index index.html;
    }}
}}
"#,
            docroot = docroot.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let _ = std::fs::remove_file(dir.join("access.log"));
        let out = std::fs::File::create(dir.join("nginx.out")).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("-p")
            .arg(format!("{d}/"))
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let mut proc = spawn(&mut cmd);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = raw_get(port, "/", &[]) {
                if r.status == 200 {
                    let n = Nginx { proc: Some(proc), port, dir: dir.to_path_buf() };
                    n.settled_log_len(); // the probe's line is in
                    return Ok(n);
                }
            }
            if let Ok(Some(status)) = proc.0.try_wait() {
                let out = std::fs::read_to_string(dir.join("nginx.out")).unwrap_or_default();
                let err = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited with {status}: {}{}", out.trim(), err.trim()));
            }
            if Instant::now() > deadline {
                return Err("nginx did not answer within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// The access log so far: one `<status> "<request line>"` per request.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
    /// The access log's length in bytes: compare before and after a request.
    pub fn access_log_len(&self) -> u64 {
        std::fs::metadata(self.dir.join("access.log")).map(|m| m.len()).unwrap_or(0)
    }
    /// The access log's length once it has stopped growing for 40 ms. nginx writes a request's
    /// line after the response left, so a client can see the response before the line lands:
    /// wait for it before comparing.
    pub fn settled_log_len(&self) -> u64 {
        let mut last = self.access_log_len();
        let mut stable_since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(5);
        while stable_since.elapsed() < Duration::from_millis(40) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            let now = self.access_log_len();
            if now != last {
                last = now;
                stable_since = Instant::now();
            }
        }
        last
    }
    /// The request lines logged after byte offset `from` (after the log settled).
    pub fn requests_since(&self, from: u64) -> Vec<String> {
        self.settled_log_len();
        let log = std::fs::read(self.dir.join("access.log")).unwrap_or_default();
        let from = (from as usize).min(log.len());
        String::from_utf8_lossy(&log[from..]).lines().map(String::from).collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.proc = None;
    }
}
