//! Test harness shared by the end-to-end suites: the real wasm Worker in workerd
//! (`wrangler dev`, local KV) and the real simulator binary, both on 127.0.0.1 free ports,
//! both started here and stopped on drop; a cookie-keeping client that never follows redirects.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod hook;
pub mod origin;
pub mod table;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) {
    let status = cmd.current_dir(root()).status().expect("spawn");
    assert!(status.success(), "{cmd:?} failed");
}

/// Builds the wasm Worker and the simulator once per test binary.
fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        run(Command::new("bash").arg("scripts/build.sh"));
        run(Command::new("cargo").args(["build", "-q", "-p", "vipps-sim"]));
        assert!(root().join("build/worker/shim.mjs").exists());
        write_test_config();
    });
}

/// The repo's wrangler.toml without its `[build]` section and with absolute paths: the tests
/// build once up front, and a build watcher restarting workerd mid-test would only add noise.
pub fn test_config() -> PathBuf {
    root().join("target/e2e/wrangler.e2e.toml")
}

fn write_test_config() {
    let src = std::fs::read_to_string(root().join("wrangler.toml")).unwrap();
    let mut out = String::new();
    let mut in_build = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_build = t == "[build]";
        }
        if in_build {
            continue;
        }
        let line = line
            .replace("\"build/worker/shim.mjs\"", &format!("{:?}", root().join("build/worker/shim.mjs")))
            .replace("\"demo/public\"", &format!("{:?}", root().join("demo/public")));
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::create_dir_all(test_config().parent().unwrap()).unwrap();
    std::fs::write(test_config(), out).unwrap();
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn log_dir(name: &str) -> PathBuf {
    let d = root().join("target/e2e").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A child process in its own process group, killed with its children on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &pgid]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &pgid]).stderr(Stdio::null()).status();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Proc {
    use std::os::unix::process::CommandExt;
    Proc(cmd.process_group(0).spawn().expect("spawn"))
}

pub struct Sim {
    proc: Option<Proc>,
    pub base: String,
}

pub const CLIENT_ID: &str = "e2e-client";
pub const CLIENT_SECRET: &str = "e2e secret:with%odd+chars@=";

impl Sim {
    fn start(dir: &Path, redirect_uri: &str, extra: &[&str]) -> Sim {
        let log = std::fs::File::create(dir.join("sim.log")).unwrap();
        let mut cmd = Command::new(root().join("target/debug/vipps-sim"));
        cmd.args(["--listen", "127.0.0.1:0", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(["--redirect-uri", redirect_uri])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log);
        let mut proc = spawn(&mut cmd);
        let mut line = String::new();
        BufReader::new(proc.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("vipps-sim listening on ").expect("sim banner").to_string();
        Sim { proc: Some(proc), base }
    }
    /// Stops the simulator: Vipps is down.
    pub fn stop(&mut self) {
        self.proc = None;
    }
    /// `POST /_sim/config` with a JSON object (mode, fault, max ages...).
    pub fn set(&self, config: Value) {
        let r = Browser::new().post_json(&format!("{}/_sim/config", self.base), &config);
        assert_eq!(r.status, 200, "sim config {config}: {}", r.body);
    }
    pub fn reset(&self) {
        let r = Browser::new().post_empty(&format!("{}/_sim/reset", self.base), &[]);
        assert_eq!(r.status, 200);
    }
    pub fn discovery_url(&self) -> String {
        format!("{}/access-management-1.0/access/.well-known/openid-configuration", self.base)
    }
    pub fn stats(&self) -> Value {
        let mut b = Browser::new();
        serde_json::from_str(&b.get(&format!("{}/_sim/stats", self.base)).body).unwrap()
    }
    pub fn count(&self, endpoint: &str) -> u64 {
        self.stats()[endpoint].as_u64().unwrap()
    }
}

pub struct Worker {
    proc: Option<Proc>,
    pub base: String,
    pub sim: Sim,
    pub dir: PathBuf,
    port: u16,
    vars: Vec<(String, String)>,
}

impl Worker {
    /// A simulator and a Worker configured for it. `vars` override the defaults.
    /// Ports are picked free just before use; if another process takes one first (tests run in
    /// parallel and workerd binds ports of its own), the pair is started again on new ports.
    pub fn start(name: &str, vars: &[(&str, &str)], sim_args: &[&str]) -> Worker {
        ensure_built();
        for attempt in 1..=3 {
            match Worker::try_start(name, vars, sim_args) {
                Ok(w) => return w,
                Err(why) if attempt < 3 => eprintln!("{name}: wrangler dev attempt {attempt} failed ({why}); retrying on new ports"),
                Err(why) => panic!("{name}: wrangler dev did not start: {why}"),
            }
        }
        unreachable!()
    }

    fn try_start(name: &str, vars: &[(&str, &str)], sim_args: &[&str]) -> Result<Worker, String> {
        let dir = log_dir(name);
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{base}/auth/callback");
        let sim = Sim::start(&dir, &redirect_uri, sim_args);
        let mut all: Vec<(String, String)> = vec![
            ("VIPPS_DISCOVERY_URL".into(), sim.discovery_url()),
            ("VIPPS_CLIENT_ID".into(), CLIENT_ID.into()),
            ("VIPPS_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("VIPPS_REDIRECT_URI".into(), redirect_uri.clone()),
            ("SESSION_SECRET".into(), "e2e-session-secret-0123456789abcdef".into()),
        ];
        for (k, v) in vars {
            all.retain(|(a, _)| a != k);
            all.push((k.to_string(), v.to_string()));
        }
        let log_from = std::fs::metadata(dir.join("wrangler.log")).map(|m| m.len() as usize).unwrap_or(0);
        let proc = spawn_wrangler(&dir, port, &all);
        let mut w = Worker { proc: Some(proc), base, sim, dir, port, vars: all };
        w.wait_ready(log_from).map(|_| w)
    }

    /// Stops workerd and starts it again on the same port with the same local KV state: a
    /// fresh isolate, nothing in memory, what KV holds kept.
    /// Restarts with some vars changed (a redeploy with new settings), KV kept.
    pub fn restart_with(&mut self, vars: &[(&str, &str)]) {
        for (k, v) in vars {
            self.vars.retain(|(a, _)| a != k);
            self.vars.push((k.to_string(), v.to_string()));
        }
        self.restart();
    }

    pub fn restart(&mut self) {
        self.proc = None;
        let log_from = self.log().len();
        self.proc = Some(spawn_wrangler(&self.dir, self.port, &self.vars));
        if let Err(why) = self.wait_ready(log_from) {
            panic!("restart: {why}");
        }
    }

    /// Ready means: this run's own wrangler log says it listens on this port (it says so only
    /// once its workerd has bound it), and the port answers as a vipps-edge-login Worker does
    /// (`/auth/session` without a cookie: 401 `session.required`, or the configuration page for
    /// a deliberately broken configuration). The probe calls no provider endpoint, so it
    /// changes no counter and caches nothing. Another server that took the port (another
    /// test's workerd or inspector) is never taken for ours, and a bind failure logged even
    /// after the first answer fails over to new ports.
    fn wait_ready(&mut self, log_from: usize) -> Result<(), String> {
        let dir = self.dir.clone();
        let ready_line = format!("Ready on http://127.0.0.1:{}", self.port);
        let bind_failed = |log: &str| log.contains("Address already in use") || log.contains("failed to start");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let log = self.log().get(log_from..).unwrap_or_default().to_string();
            if bind_failed(&log) {
                return Err("a port was taken".into());
            }
            if log.contains(&ready_line) {
                let mut b = Browser::new();
                if let Some(r) = b.try_get(&format!("{}/auth/session", self.base)) {
                    let ours = (r.status == 401 && r.body.contains("session.required"))
                        || (r.status == 500 && r.body.contains("Login is not configured"));
                    if !ours {
                        return Err(format!("port {} answered {} from another server", self.port, r.status));
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    let log = self.log().get(log_from..).unwrap_or_default().to_string();
                    return if bind_failed(&log) { Err("a port was taken after the first answer".into()) } else { Ok(()) };
                }
            }
            if let Some(p) = self.proc.as_mut() {
                if let Ok(Some(status)) = p.0.try_wait() {
                    return Err(format!("wrangler exited with {status}; see {}", dir.join("wrangler.log").display()));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after 120 s; see {}", dir.join("wrangler.log").display()));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
    /// What wrangler dev logged so far (the Worker's JSON log lines among it).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default()
    }

    /// Whether the Worker's log shows `needle` within `within` (its console lines reach the log
    /// after the response).
    pub fn log_shows(&self, needle: &str, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// `wrangler dev` for the test config on `port`, local state in `dir/state`, log appended to
/// `dir/wrangler.log`.
fn spawn_wrangler(dir: &Path, port: u16, all: &[(String, String)]) -> Proc {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("wrangler.log")).unwrap();
    // A config file of its own (paths in it are absolute): wrangler keeps its bundles in a
    // `.wrangler/tmp` beside the config, and one shared by several wranglers gets cleaned up
    // under the others' feet (their esbuild stops, and the Worker's log lines with it).
    let config = dir.join("wrangler.toml");
    std::fs::copy(test_config(), &config).unwrap();
    let mut cmd = Command::new(root().join("node_modules/.bin/wrangler"));
    cmd.current_dir(root())
        .args(["dev", "--config", config.to_str().unwrap()])
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .args(["--persist-to", dir.join("state").to_str().unwrap()])
        .args(["--log-level", "log"])
        .env("WRANGLER_SEND_METRICS", "false")
        // Each Worker on its own: no shared dev registry and no config watcher, whose reloads
        // (another test's wrangler starting or stopping) can stop wrangler's esbuild service
        // mid-test and with it the Worker's log lines.
        .env("WRANGLER_REGISTRY_PATH", dir.join("registry"))
        .env("WRANGLER_CI_DISABLE_CONFIG_WATCHING", "true")
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (k, v) in all {
        cmd.args(["--var", &format!("{k}:{v}")]);
    }
    spawn(&mut cmd)
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Resp {
    pub fn sets_session(&self) -> bool {
        self.set_cookies.iter().any(|c| c.starts_with("__Host-vipps-session=") && !c.contains("Max-Age=0"))
    }
}

/// A cookie-keeping client that never follows redirects: each hop is asserted.
pub struct Browser {
    agent: ureq::Agent,
    pub jar: HashMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Browser { agent, jar: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn absorb(&mut self, resp: ureq::http::Response<ureq::Body>) -> Resp {
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(String::from);
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        for sc in &set_cookies {
            let first = sc.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                if sc.contains("Max-Age=0") {
                    self.jar.remove(k);
                } else {
                    self.jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        let body = resp.into_body().read_to_string().unwrap_or_default();
        Resp { status, location, set_cookies, body }
    }

    pub fn try_get(&mut self, url: &str) -> Option<Resp> {
        let resp = self
            .agent
            .get(url)
            .header("accept", "text/html,application/xhtml+xml")
            .header("cookie", &self.cookie_header())
            .call()
            .ok()?;
        Some(self.absorb(resp))
    }

    pub fn get(&mut self, url: &str) -> Resp {
        self.try_get(url).unwrap_or_else(|| panic!("GET {url} failed"))
    }

    /// A navigation with extra request headers.
    pub fn get_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.get(url).header("accept", "text/html").header("cookie", &self.cookie_header());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.call().expect("GET");
        self.absorb(resp)
    }

    pub fn get_json(&mut self, url: &str) -> Resp {
        let resp = self
            .agent
            .get(url)
            .header("accept", "application/json")
            .header("cookie", &self.cookie_header())
            .call()
            .expect("GET");
        self.absorb(resp)
    }

    pub fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Resp {
        let resp = self
            .agent
            .post(url)
            .header("cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .expect("POST");
        self.absorb(resp)
    }

    pub fn post_json(&mut self, url: &str, body: &Value) -> Resp {
        let resp = self
            .agent
            .post(url)
            .header("content-type", "application/json")
            .send(body.to_string())
            .expect("POST");
        self.absorb(resp)
    }

    pub fn post_empty(&mut self, url: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.post(url).header("cookie", &self.cookie_header());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send_empty().expect("POST");
        self.absorb(resp)
    }
}

/// What the simulator's login page offers.
pub struct AuthorizePage {
    pub req: String,
    pub users: Vec<String>,
}

pub fn authorize_page(body: &str) -> AuthorizePage {
    let req = regex_lite::Regex::new(r#"name="req" value="([^"]+)""#).unwrap();
    let user = regex_lite::Regex::new(r#"data-user="([^"]+)""#).unwrap();
    AuthorizePage {
        req: req.captures(body).expect("req field on the simulator page")[1].to_string(),
        users: user.captures_iter(body).map(|c| c[1].to_string()).collect(),
    }
}

/// Login up to the point where the simulator redirects back: returns the callback URL and the
/// chosen user's sub (the first user on the simulator's page).
pub fn login_until_callback(b: &mut Browser, w: &Worker, return_to: &str) -> (String, String) {
    login_until_callback_as(b, w, return_to, None)
}

/// As [`login_until_callback`], confirming as the user with this `sub` (the first when `None`).
pub fn login_until_callback_as(b: &mut Browser, w: &Worker, return_to: &str, user: Option<&str>) -> (String, String) {
    let r = b.get(&w.url(&format!("/auth/login?return_to={}", urlencode(return_to))));
    assert_eq!(r.status, 302, "login: {}", r.body);
    let authorize = r.location.unwrap();
    assert!(authorize.starts_with(&w.sim.base), "{authorize}");
    assert!(authorize.len() < 2000);
    let page = b.get(&authorize);
    assert_eq!(page.status, 200, "simulator authorize page: {}", page.body);
    let p = authorize_page(&page.body);
    let sub = match user {
        Some(u) => p.users.iter().find(|x| *x == u).unwrap_or_else(|| panic!("no user {u} on the simulator's page")).clone(),
        None => p.users[0].clone(),
    };
    let r = b.post_form(
        &format!("{}/access-management-1.0/access/oauth2/auth/confirm", w.sim.base),
        &[("req", &p.req), ("user", &sub)],
    );
    assert!(matches!(r.status, 302 | 303), "confirm: {} {}", r.status, r.body);
    let cb = r.location.unwrap();
    assert!(cb.starts_with(&w.url("/auth/callback?")), "{cb}");
    (cb, sub)
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A complete login; returns the user's sub.
pub fn login(b: &mut Browser, w: &Worker, return_to: &str) -> String {
    let (cb, sub) = login_until_callback(b, w, return_to);
    let r = b.get(&cb);
    assert_eq!(r.status, 303, "callback: {}", r.body);
    assert!(r.sets_session());
    sub
}

/// A rejected callback: the status, the stable code on the page, no session cookie, and no
/// token request made (the simulator's counter did not move).
pub fn assert_rejected(w: &Worker, r: &Resp, status: u16, code: &str, tokens_before: u64) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(code), "page lacks {code}: {}", r.body);
    assert!(!r.sets_session(), "no session cookie may be set");
    assert_eq!(w.sim.count("token"), tokens_before, "no token request may be made");
}

pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().filter(|(k, _)| k != name).collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(name, v);
        }
    }
    u.to_string()
}

pub fn param(url: &str, name: &str) -> String {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).unwrap().1.into_owned()
}

