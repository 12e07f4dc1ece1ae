//! A merchant backend for the login-hook tests: an HTTP/1.1 server on 127.0.0.1 (free port),
//! started by the test and stopped on drop, that records each request (headers and raw body)
//! and answers as its current [`Mode`] says.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Mode {
    /// `200 {"allow": true, "claims": ...}` (no `claims` member for `Value::Null`).
    Allow(Value),
    /// `200 {"allow": false, "reason": "no_account"}`.
    Deny,
    /// `200` with this body as `application/json`.
    Raw(String),
    /// Answers `Allow(claims)` after this many milliseconds.
    Slow(u64, Value),
}

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub struct HookRequest {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HookRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        super::origin::first(&self.headers, name)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("hook body is JSON")
    }
}

struct State {
    mode: Mutex<Mode>,
    requests: Mutex<Vec<HookRequest>>,
    stop: AtomicBool,
}

pub struct HookServer {
    pub port: u16,
    state: Arc<State>,
}

impl HookServer {
    pub fn start(mode: Mode) -> HookServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the hook server");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State { mode: Mutex::new(mode), requests: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let st = state.clone();
        std::thread::spawn(move || {
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
        HookServer { port, state }
    }
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/vipps/login-hook", self.port)
    }
    pub fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }
    pub fn requests(&self) -> Vec<HookRequest> {
        self.state.requests.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut s: TcpStream, st: &State) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let len: usize = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    st.requests.lock().unwrap().push(HookRequest { start, headers, body });
    let mode = st.mode.lock().unwrap().clone();
    let answer = match mode {
        Mode::Allow(claims) | Mode::Slow(_, claims) if claims.is_null() => r#"{"allow":true}"#.to_string(),
        Mode::Allow(claims) => serde_json::json!({"allow": true, "claims": claims}).to_string(),
        Mode::Slow(ms, claims) => {
            std::thread::sleep(Duration::from_millis(ms));
            serde_json::json!({"allow": true, "claims": claims}).to_string()
        }
        Mode::Deny => r#"{"allow":false,"reason":"no_account"}"#.to_string(),
        Mode::Raw(body) => body,
    };
    let resp = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = s.write_all(resp.as_bytes());
    Ok(())
}

/// The README's Node verifier (the `js` block after `<!-- login-hook-verifier -->`), run with
/// `node` on one request: `Ok(body)` when it accepts, `Err(reason)` when it refuses.
pub fn readme_verify(signature: &str, body: &[u8], keys: &Value, now: u64) -> Result<Value, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let after = readme.split("<!-- login-hook-verifier -->").nth(1).expect("README marks the verifier");
    let code = after.split("```js\n").nth(1).and_then(|s| s.split("\n```").next()).expect("a js block after the marker");
    let dir = root.join("target/e2e/hook-verifier");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("verify-hook.mjs"), code).unwrap();
    let case = serde_json::json!({"signature": signature, "body_b64": b64(body), "keys": keys, "now": now});
    let id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let case_file = dir.join(format!("case-{id}.json"));
    std::fs::write(&case_file, case.to_string()).unwrap();
    std::fs::write(
        dir.join("check.mjs"),
        "import { verifyHook } from './verify-hook.mjs';\n\
         import { readFileSync } from 'node:fs';\n\
         const c = JSON.parse(readFileSync(process.argv[2], 'utf8'));\n\
         try { const b = verifyHook(c.signature, Buffer.from(c.body_b64, 'base64'), c.keys, c.now); console.log('OK ' + JSON.stringify(b)); }\n\
         catch (e) { console.log('REFUSED ' + e.message); }\n",
    )
    .unwrap();
    let out = std::process::Command::new("node").arg(dir.join("check.mjs")).arg(&case_file).output().expect("node runs");
    let _ = std::fs::remove_file(&case_file);
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    match text.split_once(' ') {
        Some(("OK", body)) => Ok(serde_json::from_str(body).unwrap()),
        Some(("REFUSED", why)) => Err(why.to_string()),
        _ => panic!("unexpected verifier output: {text}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The README's Python verifier (the `python` block after "In Python, the same check"), run
/// with `python3` on one request: `Ok(body)` or `Err(reason)`.
pub fn readme_verify_python(signature: &str, body: &[u8], keys: &Value, now: u64) -> Result<Value, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let after = readme.split("In Python, the same check").nth(1).expect("README has the Python verifier");
    let code = after.split("```python\n").nth(1).and_then(|s| s.split("\n```").next()).expect("a python block");
    let dir = root.join("target/e2e/hook-verifier");
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "{code}\n\nimport base64, sys\nc = json.load(open(sys.argv[1]))\ntry:\n    b = verify_hook(c['signature'], base64.b64decode(c['body_b64']), c['keys'], c['now'])\n    print('OK ' + json.dumps(b))\nexcept Exception as e:\n    print('REFUSED ' + str(e))\n"
    );
    std::fs::write(dir.join("check.py"), script).unwrap();
    let case = serde_json::json!({"signature": signature, "body_b64": b64(body), "keys": keys, "now": now});
    let id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let case_file = dir.join(format!("case-py-{id}.json"));
    std::fs::write(&case_file, case.to_string()).unwrap();
    let out = std::process::Command::new("python3").arg(dir.join("check.py")).arg(&case_file).output().expect("python3 runs");
    let _ = std::fs::remove_file(&case_file);
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match text.split_once(' ') {
        Some(("OK", body)) => Ok(serde_json::from_str(body).unwrap()),
        Some(("REFUSED", why)) => Err(why.to_string()),
        _ => panic!("unexpected verifier output: {text}"),
    }
}
