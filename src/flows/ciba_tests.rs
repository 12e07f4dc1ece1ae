//! Login from phone number through [`crate::app::App::handle`] on the fake platform: a provider
//! with a backchannel endpoint in front of the test kit's fake one, scripted CIBA answers, and
//! every outcome asserted exactly (status, code, which subrequests were made).

use crate::app::App;
use crate::app_tests::app_with;
use crate::testkit::reply;
use crate::http::{InboundResponse, IncomingRequest, OutboundRequest};
use crate::platform::{FetchError, Level, Platform, StoreError};
use crate::testkit::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::VecDeque;

const BACKCHANNEL_URL: &str = "https://id.example/vipps-login-ciba/api/backchannel/authentication";
const USER_EXISTS_URL: &str = "https://id.example/vipps-login-ciba/api/v1/user-exists";
const KEY_A: &str = "0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210";

/// The fake platform, plus a backchannel endpoint and scripted answers to CIBA polls (the fake
/// provider's token answer when the script is empty).
#[derive(Default)]
struct Till {
    inner: FakePlatform,
    polls: RefCell<VecDeque<InboundResponse>>,
    start_answer: RefCell<Option<InboundResponse>>,
}

impl Till {
    fn count(&self, url: &str) -> usize {
        self.inner.count(url)
    }
    fn next_poll_answer(&self) -> Option<InboundResponse> {
        self.polls.borrow_mut().pop_front()
    }
}

impl Platform for Till {
    fn now_millis(&self) -> u64 {
        self.inner.now_millis()
    }
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        self.inner.fill_random(buf)
    }
    async fn fetch(&self, req: OutboundRequest, timeout_ms: u64) -> Result<InboundResponse, FetchError> {
        let body = req.body.clone().unwrap_or_default();
        match req.url.as_str() {
            DISCOVERY_URL => {
                self.inner.requests.borrow_mut().push(req);
                let mut doc = FakeIdp::discovery_doc();
                doc["backchannel_authentication_endpoint"] = json!(BACKCHANNEL_URL);
                Ok(json_response(200, &doc, &[]))
            }
            BACKCHANNEL_URL => {
                self.inner.requests.borrow_mut().push(req);
                let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                if let Some((_, n)) = form.iter().find(|(k, _)| k == "nonce") {
                    *self.inner.idp.nonce.borrow_mut() = n.clone();
                }
                Ok(self.start_answer.borrow_mut().take().unwrap_or_else(|| {
                    json_response(200, &json!({"auth_req_id": "req-1", "expires_in": 600, "interval": 5}), &[])
                }))
            }
            USER_EXISTS_URL => {
                self.inner.requests.borrow_mut().push(req);
                Ok(json_response(200, &json!({"exists": body.contains("4712345678")}), &[]))
            }
            TOKEN_URL if body.contains("grant-type%3Aciba") => match self.next_poll_answer() {
                Some(answer) => {
                    self.inner.requests.borrow_mut().push(req);
                    Ok(answer)
                }
                None => self.inner.fetch(req, timeout_ms).await,
            },
            _ => self.inner.fetch(req, timeout_ms).await,
        }
    }
    async fn sleep(&self, ms: u64) {
        self.inner.sleep(ms).await
    }
    async fn kv_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.kv_get(key).await
    }
    async fn kv_put(&self, key: &str, value: String, ttl: u64) -> Result<(), StoreError> {
        self.inner.kv_put(key, value, ttl).await
    }
    async fn verify_rs256(&self, n_b64: &str, e_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        self.inner.verify_rs256(n_b64, e_b64, data, signature).await
    }
    async fn verify_es256(&self, x_b64: &str, y_b64: &str, data: &[u8], signature: &[u8]) -> Option<bool> {
        self.inner.verify_es256(x_b64, y_b64, data, signature).await
    }
    fn log(&self, level: Level, code: &str, detail: &str) {
        self.inner.log(level, code, detail)
    }
}

fn app() -> App {
    app_with(&[("CIBA_API_KEYS", &format!("till-a:{KEY_A},till-b:{KEY_B}"))])
}

fn post(app: &App, p: &Till, path: &str, key: Option<&str>, body: Value) -> (u16, Value, Option<String>) {
    let mut req = IncomingRequest::get(&format!("https://shop.example/auth/ciba/{path}")).unwrap();
    req.method = "POST".into();
    req.body = Some(body.to_string().into_bytes());
    if let Some(k) = key {
        req = req.with_header("authorization", &format!("Bearer {k}"));
    }
    let r = reply(block_on(app.handle(p, &req)));
    let retry = r.header("retry-after").map(String::from);
    (r.status, serde_json::from_str(&r.body).unwrap(), retry)
}

fn pending(status: u16, error: &str) -> InboundResponse {
    json_response(status, &json!({"error": error}), &[])
}

#[test]
fn start_poll_pending_then_the_verified_user() {
    let (app, p) = (app(), Till::default());
    let (status, s, _) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "binding_message": "AB-12"}));
    assert_eq!(status, 200, "{s}");
    let sent = p.inner.requests.borrow().iter().find(|r| r.url == BACKCHANNEL_URL).unwrap().body.clone().unwrap();
    assert!(sent.starts_with("login_hint=urn%3Amsisdn%3A4712345678&scope=openid+name+phoneNumber&nonce="), "{sent}");
    assert!(sent.ends_with("&binding_message=AB-12"));
    assert_eq!((s["interval"].as_u64(), s["expires_in"].as_u64()), (Some(5), Some(600)));

    let (status, early, retry) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
    assert_eq!((status, early["error"].as_str(), retry.as_deref()), (429, Some("ciba.too_early"), Some("5")));
    assert_eq!(p.count(TOKEN_URL), 0);

    p.inner.advance(5);
    p.polls.borrow_mut().push_back(pending(400, "authorization_pending"));
    let (status, pend, retry) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
    assert_eq!((status, pend["status"].as_str(), retry.as_deref()), (202, Some("pending"), Some("5")));

    p.inner.advance(5);
    p.polls.borrow_mut().push_back(pending(400, "slow_down"));
    let (status, slow, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": pend["handle"]}));
    assert_eq!((status, slow["interval"].as_u64()), (202, Some(10)));
    assert!(p.inner.logged("ciba.slow_down"));
    p.inner.advance(9);
    let (status, too_early, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": slow["handle"]}));
    assert_eq!((status, too_early["retry_after"].as_u64()), (429, Some(1)), "the longer interval is kept");

    p.inner.advance(1);
    let (status, ok, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": slow["handle"]}));
    assert_eq!(status, 200, "{ok}");
    assert_eq!((ok["sub"].as_str(), ok["user"]["phone_number"].as_str()), (Some(SUB), Some("4712345678")));
    assert_eq!((p.count(TOKEN_URL), p.count(USERINFO_URL), p.count(BACKCHANNEL_URL)), (3, 1, 1));
    for (_, _, detail) in p.inner.logs.borrow().iter() {
        assert!(!detail.contains("4712345678") && !detail.contains(KEY_A) && !detail.contains("req-1"), "{detail}");
    }
}

#[test]
fn the_id_token_is_verified_like_the_browser_flows() {
    let (app, p) = (app(), Till::default());
    let (_, s, _) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "+4712345678"}));
    p.inner.advance(5);
    // Another nonce than the one this start sent.
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| c["nonce"] = json!("someone-elses-nonce"));
    let (status, e, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
    assert_eq!((status, e["error"].as_str()), (401, Some("id_token.nonce_mismatch")));
    assert_eq!(p.count(USERINFO_URL), 0);
    // Userinfo for another user.
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|_| {});
    *p.inner.idp.userinfo.borrow_mut() = json!({"sub": "someone-else"});
    let (status, e, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
    assert_eq!((status, e["error"].as_str()), (401, Some("userinfo.sub_mismatch")));
}

#[test]
fn vipps_answers_map_to_stable_codes() {
    let (app, p) = (app(), Till::default());
    let (_, s, _) = post(&app, &p, "start", Some(KEY_A), json!({"customer_token": "ct-abc"}));
    for (answer, status, code, retry) in [
        (pending(400, "access_denied"), 403, "ciba.denied", None),
        (pending(400, "expired_token"), 410, "ciba.expired", None),
        (pending(400, "old_app"), 422, "ciba.old_app", None),
        (json_response(400, &json!({"error": "invalid_request", "error_code": "invalid_user"}), &[]), 404, "ciba.invalid_user", None),
        (json_response(429, &json!({}), &[("retry-after", "12")]), 429, "ciba.rate_limited", Some("12")),
        (pending(401, "invalid_client"), 502, "ciba.rejected", None),
    ] {
        p.inner.advance(5);
        p.polls.borrow_mut().push_back(answer);
        let (st, e, r) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
        assert_eq!((st, e["error"].as_str(), r.as_deref()), (status, Some(code), retry), "{e}");
    }
    *p.start_answer.borrow_mut() = Some(json_response(429, &json!({"error": "too_many_requests"}), &[("retry-after", "30")]));
    let (st, e, r) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "+4712345678"}));
    assert_eq!((st, e["error"].as_str(), e["retry_after"].as_u64(), r.as_deref()), (429, Some("ciba.rate_limited"), Some(30), Some("30")));
}

#[test]
fn user_exists_asks_vipps() {
    let (app, p) = (app(), Till::default());
    let (st, v, _) = post(&app, &p, "user-exists", Some(KEY_B), json!({"phone": "004712345678"}));
    assert_eq!((st, v), (200, json!({"exists": true})));
    let (st, v, _) = post(&app, &p, "user-exists", Some(KEY_B), json!({"phone": "+4787654321"}));
    assert_eq!((st, v), (200, json!({"exists": false})));
    let sent = p.inner.requests.borrow().iter().find(|r| r.url == USER_EXISTS_URL).unwrap().body.clone().unwrap();
    assert_eq!(sent, "login_hint=urn%3Amsisdn%3A4712345678");
}

#[test]
fn refusals_reach_nothing() {
    let (app, p) = (app(), Till::default());
    let (_, s, _) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "+4712345678"}));
    let before = p.inner.requests.borrow().len();
    p.inner.advance(5);
    let cases = [
        ("start", None, json!({"phone": "+4712345678"}), 401, "ciba.unauthorized"),
        ("start", Some("wrong-key-0123456789abcdef0123456"), json!({"phone": "+4712345678"}), 401, "ciba.unauthorized"),
        ("start", Some(KEY_A), json!({"phone": "+15551234567"}), 400, "ciba.bad_phone"),
        ("start", Some(KEY_A), json!({"phone": "+4712345678", "requested_expiry": 901}), 400, "ciba.bad_expiry"),
        ("start", Some(KEY_A), json!({"phone": "+4712345678", "scope": "openid nin"}), 400, "ciba.bad_scope"),
        ("start", Some(KEY_A), json!({"phone": "+4712345678", "binding_message": "AB-12", "generate_binding_message": true}), 400, "ciba.bad_request"),
        ("poll", Some(KEY_B), json!({"handle": s["handle"]}), 401, "ciba.foreign_handle"),
        ("poll", Some(KEY_A), json!({"handle": format!("{}x", s["handle"].as_str().unwrap())}), 401, "ciba.bad_handle"),
        ("poll", Some(KEY_A), json!({"handle": 5}), 400, "ciba.bad_request"),
        ("user-exists", Some(KEY_A), json!({"phone": "abc"}), 400, "ciba.bad_phone"),
    ];
    for (path, key, body, status, code) in cases {
        let (st, e, _) = post(&app, &p, path, key, body.clone());
        assert_eq!((st, e["error"].as_str()), (status, Some(code)), "{path} {body}");
    }
    assert_eq!(p.inner.requests.borrow().len(), before, "nothing sent to Vipps");
    p.inner.advance(600);
    let (st, e, _) = post(&app, &p, "poll", Some(KEY_A), json!({"handle": s["handle"]}));
    assert_eq!((st, e["error"].as_str()), (410, Some("ciba.expired")));
    assert_eq!(p.inner.requests.borrow().len(), before, "an expired handle is answered without Vipps");
}


// ---- login_to_webpage -------------------------------------------------------------------------

fn web_app() -> App {
    app_with(&[("CIBA_API_KEYS", &format!("till-a:{KEY_A}")), ("CIBA_LOGIN_TO_WEBPAGE", "true"), ("CIBA_LANDING_PAGE", "/account/")])
}

/// The phone's browser at the callback with a code and no state.
fn phone_callback(app: &App, p: &Till) -> crate::http::Reply {
    let req = IncomingRequest::get("https://shop.example/auth/callback?code=code-1").unwrap().with_header("accept", "text/html");
    reply(block_on(app.handle(p, &req)))
}

#[test]
fn login_to_webpage_records_the_start_and_the_callback_finds_it_once() {
    let (app, p) = (web_app(), Till::default());
    let (status, s, _) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "flow": "login_to_webpage"}));
    assert_eq!((status, s["flow"].as_str(), s.get("handle")), (200, Some("login_to_webpage"), None), "{s}");
    let sent = p.inner.requests.borrow().iter().find(|r| r.url == BACKCHANNEL_URL).unwrap().body.clone().unwrap();
    assert!(sent.contains("&requested_flow=login_to_webpage&redirect_uri=https%3A%2F%2Fshop.example%2Fauth%2Fcallback"), "{sent}");
    let key = format!("ciba-web:v1:{}", crate::util::hex(&crate::util::sha256(b"req-1")));
    assert!(p.inner.kv.borrow().contains_key(&key), "recorded by a hash of auth_req_id");
    assert!(!p.inner.kv.borrow().values().any(|v| v.contains("req-1")), "the id itself is not stored");

    // The ID token names the started login: a session, the landing page.
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| c["auth_req_id"] = json!("req-1"));
    let r = phone_callback(&app, &p);
    assert_eq!((r.status, r.header("location")), (303, Some("/account/")), "{}", r.body);
    assert!(cookie_pair(&r, "__Host-vipps-session").is_some());
    let exchange = p.inner.requests.borrow().iter().rev().find(|r| r.url == TOKEN_URL).unwrap().body.clone().unwrap();
    assert!(exchange.starts_with("grant_type=urn%3Avipps%3Aparams%3Agrant-type%3Aciba-redirect&code=code-1&redirect_uri="), "{exchange}");
    // Again (a replay the provider would refuse anyway): the record is used.
    let r = phone_callback(&app, &p);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("ciba.unknown_login") && cookie_pair(&r, "__Host-vipps-session").is_none());

    // Another login's id, or none: unknown, no userinfo call.
    for claims in [json!("req-2"), Value::Null] {
        let userinfo_before = p.count(USERINFO_URL);
        *p.inner.idp.id_token_claims.borrow_mut() = Box::new(move |c| c["auth_req_id"] = claims.clone());
        let r = phone_callback(&app, &p);
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("ciba.unknown_login"));
        assert_eq!(p.count(USERINFO_URL), userinfo_before);
    }
}

#[test]
fn login_to_webpage_expiry_nonce_and_a_broken_kv() {
    let (app, p) = (web_app(), Till::default());
    assert_eq!(post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "flow": "login_to_webpage"})).0, 200);
    // A nonce other than the start's is refused once the login is known.
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| {
        c["auth_req_id"] = json!("req-1");
        c["nonce"] = json!("another-nonce");
    });
    let r = phone_callback(&app, &p);
    assert_eq!(r.status, 401);
    assert!(r.body.contains("id_token.nonce_mismatch"), "{}", r.body);
    // Past the login's expiry (the KV record lives as long as the login).
    let (app, p) = (web_app(), Till::default());
    assert_eq!(post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "flow": "login_to_webpage"})).0, 200);
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| c["auth_req_id"] = json!("req-1"));
    p.inner.advance(601);
    let r = phone_callback(&app, &p);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("ciba.unknown_login"), "{}", r.body);
    // KV down at the start: 503, nothing for a callback to find.
    let (app, p) = (web_app(), Till::default());
    p.inner.kv_broken.set(true);
    let (status, e, _) = post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "flow": "login_to_webpage"}));
    assert_eq!((status, e["error"].as_str()), (503, Some("ciba.store_failed")));
}

mod fuzz {
    use super::*;
    use crate::oidc::ciba::normalise_phone;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,64}",
            "[+0-9 ]{0,20}",
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ]
    }

    /// Bodies a till (or an attacker with a key) might send: raw bytes, and JSON objects with
    /// the documented fields holding anything.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let field = prop_oneof![
            Just("phone"), Just("customer_token"), Just("handle"), Just("binding_message"),
            Just("generate_binding_message"), Just("scope"), Just("requested_expiry"), Just("x"),
        ];
        let value = prop_oneof![
            text().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            Just(json!([1, "a"])),
        ];
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..5000),
            proptest::collection::btree_map(field, value, 0..4).prop_map(|m| serde_json::to_vec(&m).unwrap()),
        ]
    }

    proptest! {
        #[test]
        fn fuzz_ciba_phone_numbers(s in text()) {
            if let Some(d) = normalise_phone(&s) {
                prop_assert!(d.bytes().all(|b| b.is_ascii_digit()) && (9..=13).contains(&d.len()), "{d}");
                prop_assert_eq!(normalise_phone(&format!("+{d}")), Some(d.clone()), "normal form is a fixed point");
            }
        }

        #[test]
        fn fuzz_ciba_requests(path in prop_oneof![Just("start"), Just("poll"), Just("user-exists")], body in body(),
                              key in prop_oneof![Just(Some(KEY_A)), Just(None), Just(Some("x"))]) {
            let (app, p) = (app(), Till::default());
            let mut req = IncomingRequest::get(&format!("https://shop.example/auth/ciba/{path}")).unwrap();
            req.method = "POST".into();
            req.body = Some(body);
            if let Some(k) = key {
                req = req.with_header("authorization", &format!("Bearer {k}"));
            }
            let r = reply(block_on(app.handle(&p, &req)));
            let v: Value = serde_json::from_str(&r.body).unwrap();
            prop_assert!(matches!(r.status, 200 | 202 | 400 | 401 | 404 | 429), "{} {}", r.status, r.body);
            if r.status >= 400 {
                prop_assert!(v["error"].as_str().is_some_and(|c| c.starts_with("ciba.")), "{}", r.body);
                // Refused input never reaches Vipps (a 404 user-exists is Vipps' answer).
                prop_assert!(r.status == 429 || p.inner.requests.borrow().is_empty() || path == "user-exists");
            }
            if key != Some(KEY_A) {
                prop_assert_eq!(r.status, 401);
            }
        }
    }
}

#[test]
fn made_up_codes_without_state_are_bounded_per_isolate() {
    use crate::flows::ciba_redirect::{FAILED_WINDOW_SECS, MAX_FAILED_PER_WINDOW};
    let (app, p) = (web_app(), Till::default());
    // Every made-up code: a token request, refused by the ID token naming no login here.
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| c["auth_req_id"] = json!("not-ours"));
    for _ in 0..MAX_FAILED_PER_WINDOW {
        assert_eq!(phone_callback(&app, &p).status, 400);
    }
    let tokens = p.count(TOKEN_URL);
    assert_eq!(tokens, MAX_FAILED_PER_WINDOW as usize);
    // Beyond the bound: refused without a token request, no session, a page with the code.
    let r = phone_callback(&app, &p);
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("ciba.callback_throttled") && cookie_pair(&r, "__Host-vipps-session").is_none());
    assert_eq!(p.count(TOKEN_URL), tokens, "no token request once throttled");
    assert!(p.inner.logged("ciba.callback_throttled"));
    // The window ends: a started login finishes again.
    p.inner.advance(FAILED_WINDOW_SECS);
    assert_eq!(post(&app, &p, "start", Some(KEY_A), json!({"phone": "12345678", "flow": "login_to_webpage"})).0, 200);
    *p.inner.idp.id_token_claims.borrow_mut() = Box::new(|c| c["auth_req_id"] = json!("req-1"));
    let r = phone_callback(&app, &p);
    assert_eq!((r.status, r.header("location")), (303, Some("/account/")), "{}", r.body);
}
