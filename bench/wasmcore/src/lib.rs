//! The Worker's core, compiled to wasm and run in workerd in a loop, to measure its CPU where it
//! really runs (V8's wasm tiers, not native code). `bench/wasmcore/worker.js` calls these
//! exports; `bench/run.mjs` times them with the workerd process's CPU clock.
//!
//! The provider is canned: discovery and userinfo are built here, the JWKS and a token
//! response (an RS256 ID token with the right nonce) come from Node, which holds the key.

use std::cell::RefCell;
use vipps_edge_login::app::App;
use vipps_edge_login::config::Config;
use vipps_edge_login::http::{InboundResponse, IncomingRequest, OutboundRequest, Outcome, Reply};
use vipps_edge_login::oidc::{id_token, jwks};
use vipps_edge_login::platform::{FetchError, Level, Platform, StoreError};
use wasm_bindgen::prelude::*;

const ORIGIN: &str = "https://shop.example";
const ISSUER: &str = "https://id.example/access-management-1.0/access/";
const DISCOVERY_URL: &str =
    "https://id.example/access-management-1.0/access/.well-known/openid-configuration";
const TOKEN_URL: &str = "https://id.example/access-management-1.0/access/oauth2/token";
const JWKS_URL: &str = "https://id.example/access-management-1.0/access/.well-known/jwks.json";
const USERINFO_URL: &str = "https://id.example/vipps-userinfo-api/userinfo";
const CLIENT_ID: &str = "bench-client";
const SUB: &str = "6f1c1a52-3c3e-4d5b-9a51-2b8e0f4c7d11";
const ACCESS_TOKEN: &str = "eyJhbGciOi.access-token-opaque-to-the-client.sig";

fn config() -> Config {
    let vars: Vec<(&str, &str)> = vec![
        ("VIPPS_DISCOVERY_URL", DISCOVERY_URL),
        ("VIPPS_CLIENT_ID", CLIENT_ID),
        ("VIPPS_CLIENT_SECRET", "bench-client-secret"),
        ("VIPPS_REDIRECT_URI", "https://shop.example/auth/callback"),
        ("SESSION_SECRET", "bench-session-secret-0123456789abcdef"),
        ("VIPPS_SCOPE", "openid name email"),
        (
            "SESSION_CLAIMS",
            "name,given_name,family_name,email,email_verified",
        ),
        ("PUBLIC_PATHS", "/, /index.html, /favicon.ico, /assets/*"),
        ("PROTECTED_PATHS", "/*"),
        ("BACKEND", "assets"),
    ];
    Config::from_lookup(&|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("config")
}

fn json(body: String, cache_control: Option<&str>) -> InboundResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(c) = cache_control {
        headers.push(("cache-control".to_string(), c.to_string()));
    }
    InboundResponse {
        status: 200,
        headers,
        body: body.into_bytes(),
    }
}

struct Canned {
    now: u64,
    jwks: String,
    token_response: RefCell<String>,
}

impl Platform for Canned {
    fn now_millis(&self) -> u64 {
        self.now * 1000
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        // Fixed, so the state (and the nonce derived from it) is the same on every login start.
        buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        Ok(())
    }
    async fn fetch(&self, req: OutboundRequest, _timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        Ok(match req.url.as_str() {
            DISCOVERY_URL => json(
                serde_json::json!({"issuer": ISSUER,
                    "authorization_endpoint": "https://id.example/access-management-1.0/access/oauth2/auth",
                    "token_endpoint": TOKEN_URL, "jwks_uri": JWKS_URL, "userinfo_endpoint": USERINFO_URL})
                .to_string(),
                Some("public, max-age=3600"),
            ),
            JWKS_URL => json(self.jwks.clone(), None),
            TOKEN_URL => json(self.token_response.borrow().clone(), Some("no-store")),
            USERINFO_URL => json(
                serde_json::json!({"sub": SUB, "name": "Kari Nordmann", "given_name": "Kari",
                    "family_name": "Nordmann", "email": "kari.nordmann@example.no", "email_verified": true,
                    "phone_number": "4791234567"})
                .to_string(),
                None,
            ),
            _ => return Err(FetchError::Network("unknown URL".into())),
        })
    }
    async fn sleep(&self, _ms: u64) {}
    async fn kv_get(&self, _key: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
    async fn kv_put(&self, _key: &str, _value: String, _ttl: u64) -> Result<(), StoreError> {
        Ok(())
    }
    fn log(&self, _level: Level, _code: &str, _detail: &str) {}
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn get(path: &str, cookie: &str) -> IncomingRequest {
    let mut r = IncomingRequest::get(&format!("{ORIGIN}{path}"))
        .unwrap()
        .with_header("accept", "text/html");
    if !cookie.is_empty() {
        r = r.with_header("cookie", cookie);
    }
    r
}

fn reply(o: Outcome) -> Option<Reply> {
    match o {
        Outcome::Reply(r) => Some(r),
        Outcome::Forward(vipps_edge_login::policy::forward::Forward { .. }) => None,
    }
}

fn cookie_pair(r: &Reply, name: &str) -> String {
    r.set_cookies()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap_or_default()
}

fn param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

struct State {
    app: App,
    p: Canned,
    callback: IncomingRequest,
    session: String,
    keys: Option<jwks::Jwks>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Starts a login; returns `{"nonce": ...}` for the ID token Node signs next.
#[wasm_bindgen]
pub fn setup(jwks_json: String, now: f64) -> String {
    let p = Canned {
        now: now as u64,
        jwks: jwks_json,
        token_response: RefCell::new(String::new()),
    };
    let app = App::new(Ok(config()));
    let r = reply(block_on(
        app.handle(&p, &get("/auth/login?return_to=%2Fprivate%2F", "")),
    ))
    .expect("login start");
    let loc = r.header("location").unwrap_or_default().to_string();
    let (state, nonce) = (param(&loc, "state"), param(&loc, "nonce"));
    let tx = cookie_pair(&r, "__Host-vipps-login");
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", "a-single-use-code-0123456789")
        .append_pair("state", &state)
        .append_pair("scope", "openid name email")
        .finish();
    let callback = get(&format!("/auth/callback?{q}"), &tx);
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            app,
            p,
            callback,
            session: String::new(),
            keys: None,
        })
    });
    serde_json::json!({"nonce": nonce, "issuer": ISSUER, "client_id": CLIENT_ID, "sub": SUB, "access_token": ACCESS_TOKEN}).to_string()
}

/// Installs the token response and runs one callback; returns its status (303 expected).
#[wasm_bindgen]
pub fn set_token(token_response: String) -> u16 {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.as_mut().expect("setup first");
        *st.p.token_response.borrow_mut() = token_response;
        let r = reply(block_on(st.app.handle(&st.p, &st.callback))).expect("callback reply");
        st.session = cookie_pair(&r, "__Host-vipps-session");
        st.keys = jwks::parse(&st.p.jwks).ok();
        r.status
    })
}

/// Runs `op` `n` times; returns how many gave the expected outcome.
#[wasm_bindgen]
pub fn run(op: String, n: u32) -> u32 {
    if op == "noop" {
        return n;
    }
    STATE.with(|s| {
        let s = s.borrow();
        let st = s.as_ref().expect("setup first");
        let mut ok = 0;
        match op.as_str() {
            "protected" => {
                let req = get("/private/", &st.session);
                for _ in 0..n {
                    ok += matches!(
                        block_on(st.app.handle(&st.p, &req)),
                        Outcome::Forward(vipps_edge_login::policy::forward::Forward { user: Some(_), .. })
                    ) as u32;
                }
            }
            "callback" => {
                for _ in 0..n {
                    ok += (reply(block_on(st.app.handle(&st.p, &st.callback))).map(|r| r.status)
                        == Some(303)) as u32;
                }
            }
            "login_start" => {
                let req = get("/auth/login?return_to=%2Fprivate%2F", "");
                for _ in 0..n {
                    ok += (reply(block_on(st.app.handle(&st.p, &req))).map(|r| r.status)
                        == Some(302)) as u32;
                }
            }
            "id_token" => {
                let body: serde_json::Value =
                    serde_json::from_str(&st.p.token_response.borrow()).unwrap();
                let token = body["id_token"].as_str().unwrap_or_default().to_string();
                let nonce = {
                    let claims = token
                        .split('.')
                        .nth(1)
                        .and_then(vipps_edge_login::util::b64url_decode)
                        .unwrap_or_default();
                    serde_json::from_slice::<serde_json::Value>(&claims)
                        .ok()
                        .and_then(|v| v["nonce"].as_str().map(String::from))
                        .unwrap_or_default()
                };
                let keys = st.keys.as_ref().expect("jwks");
                let expected = id_token::Expected {
                    issuer: ISSUER,
                    client_id: CLIENT_ID,
                    nonce: &nonce,
                    access_token: Some(ACCESS_TOKEN),
                    now: st.p.now,
                };
                for _ in 0..n {
                    ok += id_token::verify(&token, keys, &expected).is_ok() as u32;
                }
            }
            "hmac" => {
                // The hot path's physical reference: one HMAC-SHA256 over the session MAC's input.
                let value = st
                    .session
                    .split_once('=')
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                let payload = value.split('.').nth(1).unwrap_or_default();
                let key = [7u8; 32];
                for _ in 0..n {
                    let mac = vipps_edge_login::util::hmac_sha256(
                        std::hint::black_box(&key),
                        &[
                            b"__Host-vipps-session",
                            b"\0",
                            b"v1",
                            b".",
                            std::hint::black_box(payload.as_bytes()),
                        ],
                    );
                    std::hint::black_box(mac);
                    ok += 1;
                }
            }
            _ => {}
        }
        ok
    })
}
