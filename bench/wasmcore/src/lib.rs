//! The Worker's core, compiled to wasm and run in workerd in a loop, to measure its CPU where it
//! really runs (V8's wasm tiers, not native code). `bench/wasmcore/worker.js` calls these
//! exports; `bench/run.mjs` times them with the workerd process's CPU clock.
//!
//! The provider and platform are the crate's test support (`testkit` feature), as for the
//! native benches; only the provider's keys are not: the JWKS and a token response (an RS256 ID
//! token with the right nonce) come from Node, which holds the key, so nothing here generates
//! or signs with RSA.

use std::cell::RefCell;
use vipps_edge_login::app::App;
use vipps_edge_login::http::{IncomingRequest, Outcome};
use vipps_edge_login::oidc::{id_token, jwks};
use vipps_edge_login::testkit::bench::{self, callback_request, start_login, ACCESS_TOKEN, CLIENT_ID, SUB};
use vipps_edge_login::testkit::{block_on, cookie_pair, reply, FakePlatform, ISSUER};
use wasm_bindgen::prelude::*;

/// This bench's requests have always carried `accept: text/html` alone (the native benches send
/// a browser's pair): kept, so its figures stay comparable with earlier runs.
const ACCEPT: &[(&str, &str)] = &[("accept", "text/html")];

struct State {
    app: App,
    p: FakePlatform,
    callback: IncomingRequest,
    session: String,
    keys: Option<jwks::Jwks>,
    /// The origin path (`BACKEND` a URL): with a signed identity assertion, and without.
    origin: Option<(App, App)>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Starts a login; returns `{"nonce": ...}` for the ID token Node signs next.
#[wasm_bindgen]
pub fn setup(jwks_json: String, now: f64) -> String {
    let idp = bench::provider(serde_json::from_str(&jwks_json).expect("JWKS"));
    // This bench's userinfo has never carried `sid` (the native benches' has): kept, as ACCEPT.
    idp.userinfo.borrow_mut().as_object_mut().unwrap().remove("sid");
    let p = bench::platform(idp);
    p.now.set(now as u64);
    // Fixed, so the state (and the nonce derived from it) is the same on every login start.
    p.fixed_random.set(true);
    let app = App::new(Ok(bench::config()));
    let (tx, state) = start_login(&app, &p, ACCEPT, "%2Fprivate%2F");
    let nonce = p.idp.nonce.borrow().clone();
    let callback = callback_request(ACCEPT, &tx, &state);
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            app,
            p,
            callback,
            session: String::new(),
            keys: None,
            origin: None,
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
        *st.p.idp.canned_token_response.borrow_mut() = Some(token_response);
        let r = reply(block_on(st.app.handle(&st.p, &st.callback)));
        st.session = cookie_pair(&r, "__Host-vipps-session").unwrap_or_default();
        st.keys = jwks::parse(&st.p.idp.jwks.borrow().to_string()).ok();
        r.status
    })
}

/// The origin path: `BACKEND` an origin URL, with `IDENTITY_ASSERTION_KEYS` (`pem`, from Node)
/// and without. Returns 1 when both forward the session's request as expected.
#[wasm_bindgen]
pub fn setup_origin(pem: String) -> u32 {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.as_mut().expect("setup first");
        let origin = [("BACKEND", "https://origin.example/app"), ("IDENTITY_HEADERS", "email,name")];
        let signed = App::new(Ok(bench::config_with(&[origin[0], origin[1], ("IDENTITY_ASSERTION_KEYS", pem.as_str())])));
        let plain = App::new(Ok(bench::config_with(&origin)));
        let req = bench::get(ACCEPT, "/private/", &st.session);
        let ok = |app: &App, assertion: bool| {
            matches!(block_on(app.handle(&st.p, &req)), Outcome::Forward(f)
                if f.user.is_some() && f.identity.iter().any(|(k, _)| k == "vipps-login-assertion") == assertion)
        };
        let both = ok(&signed, true) && ok(&plain, false);
        st.origin = Some((signed, plain));
        both as u32
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
                let req = bench::get(ACCEPT, "/private/", &st.session);
                for _ in 0..n {
                    ok += matches!(
                        block_on(st.app.handle(&st.p, &req)),
                        Outcome::Forward(vipps_edge_login::policy::forward::Forward { user: Some(_), .. })
                    ) as u32;
                }
            }
            "protected_first" => {
                // The same request with a cookie this isolate has not verified yet: its HMAC
                // and decode on every call.
                let req = bench::get(ACCEPT, "/private/", &st.session);
                for _ in 0..n {
                    st.app.forget_verified_sessions();
                    ok += matches!(
                        block_on(st.app.handle(&st.p, &req)),
                        Outcome::Forward(vipps_edge_login::policy::forward::Forward { user: Some(_), .. })
                    ) as u32;
                }
            }
            "callback" => {
                for _ in 0..n {
                    // A whole exchange each time, not the replay of a double-submitted callback.
                    st.app.forget_exchanges();
                    ok += matches!(block_on(st.app.handle(&st.p, &st.callback)),
                        Outcome::Reply(r) if r.status == 303) as u32;
                }
            }
            "callback_runtime_crypto" => {
                // The callback as the Worker runs it: the RS256 check by the runtime's WebCrypto,
                // measured apart (worker.js, op webcrypto_rs256); here only the wasm's own work.
                st.p.runtime_rs256_verdict.set(Some(true));
                for _ in 0..n {
                    st.app.forget_exchanges();
                    ok += matches!(block_on(st.app.handle(&st.p, &st.callback)),
                        Outcome::Reply(r) if r.status == 303) as u32;
                }
                st.p.runtime_rs256_verdict.set(None);
            }
            "login_start" => {
                let req = bench::get(ACCEPT, "/auth/login?return_to=%2Fprivate%2F", "");
                for _ in 0..n {
                    ok += matches!(block_on(st.app.handle(&st.p, &req)),
                        Outcome::Reply(r) if r.status == 302) as u32;
                }
            }
            "id_token" => {
                let body: serde_json::Value = serde_json::from_str(
                    st.p.idp.canned_token_response.borrow().as_deref().unwrap_or_default(),
                )
                .unwrap();
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
                    now: st.p.now.get(),
                };
                for _ in 0..n {
                    ok += block_on(id_token::verify(&st.p, &token, keys, &expected)).is_ok() as u32;
                }
            }
            "origin_assertion" | "origin_plain" => {
                // A protected request forwarded to an origin: with the signed assertion (reused
                // while fresh, as every request after the session's first in an isolate), and
                // without one.
                let (signed, plain) = st.origin.as_ref().expect("setup_origin first");
                let app = if op == "origin_assertion" { signed } else { plain };
                let req = bench::get(ACCEPT, "/private/", &st.session);
                for _ in 0..n {
                    ok += matches!(block_on(app.handle(&st.p, &req)), Outcome::Forward(f) if f.user.is_some()) as u32;
                }
            }
            "url_decide" => {
                // The edge's first step on every request: the URL the runtime hands over, parsed,
                // and its route decided.
                for _ in 0..n {
                    let url = url::Url::parse(std::hint::black_box("http://127.0.0.1:8787/private/")).unwrap();
                    ok += st.app.decide(url.path()).is_some() as u32;
                }
            }
            "url_parse" => {
                for _ in 0..n {
                    ok += url::Url::parse(std::hint::black_box("http://127.0.0.1:8787/private/")).is_ok() as u32;
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
