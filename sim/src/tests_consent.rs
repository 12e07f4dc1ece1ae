//! Consent memory and the `CONSENT_REVOKED` webhook. Each webhook test runs a receiver on a
//! `TcpListener` at `127.0.0.1:0` in a thread; some also run the real simulator on a free port.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::config::{default_client, SimConfig};
use crate::endpoints::{self, CONFIRM_PATH};
use crate::http::{header_value, Request, Response};
use crate::keys::tests::test_key;
use crate::state::Sim;
use crate::stats::Endpoint;
use crate::tests::{authorize_url, get, post_config, post_form, query, req_id, sim, T0};

const REVOKE: &str = "/_sim/revoke-consent";

/// One request as the webhook receiver saw it.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// Starts a receiver that takes one request, answers `response` (a whole HTTP response) and
/// returns what it got. Returns `http://127.0.0.1:PORT` and the thread.
fn receiver(response: &'static str) -> (String, JoinHandle<Option<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let thread = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(_) => return None,
            }
        };
        stream.set_nonblocking(false).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let received = read_request(&mut stream)?;
        stream.write_all(response.as_bytes()).ok()?;
        Some(received)
    });
    (base, thread)
}

fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    assert_eq!(request_line.next(), Some("HTTP/1.1"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())?;
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        target,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

fn decode(segment: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn revoke(sim: &Sim, body: &Value) -> Response {
    endpoints::handle(
        sim,
        &Request::new("POST", REVOKE)
            .with_header("Content-Type", "application/json")
            .with_body(&body.to_string()),
    )
}

const ACCEPTED: &str =
    "HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nreceived";
const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

/// One HTTP/1.1 request to the running simulator; returns the status and the body.
fn http(addr: &str, method: &str, target: &str, content_type: &str, body: &str) -> (u16, String) {
    let r = crate::tests::http(
        addr,
        method,
        target,
        &[("Content-Type", content_type)],
        body,
    );
    (r.status, r.body)
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// The consent line of `sub` on the login page: `ask` or `given`.
fn consent_state(page: &str, sub: &str) -> String {
    let marker = format!(r#"data-consent-for="{sub}">"#);
    let at = page.find(&marker).expect("consent line");
    let line_start = page[..at].rfind("<p ").unwrap();
    let line = &page[line_start..page[at..].find("</p>").unwrap() + at];
    let state = line.split(r#"data-consent=""#).nth(1).unwrap();
    let state = state.split('"').next().unwrap().to_string();
    let text = if state == "ask" {
        "will be asked to share the requested data"
    } else {
        "has already shared the requested data"
    };
    assert!(line.contains(text), "{line}");
    state
}

/// Opens the login page for `scope` and confirms as `sub`; returns the page's consent line for
/// `sub` as it was before confirming.
fn login_as(sim: &Sim, scope: &str, sub: &str) -> String {
    confirm_on(sim, &authorize_url(&[("scope", Some(scope))]), sub)
}

/// Opens the login page at `url`, confirms as `sub`, and returns the consent line's state for
/// `sub` before confirming.
fn confirm_on(sim: &Sim, url: &str, sub: &str) -> String {
    let page = get(sim, url);
    assert_eq!(page.status, 200, "{}", page.body_text());
    let page = page.body_text();
    let state = consent_state(&page, sub);
    let r = post_form(
        sim,
        CONFIRM_PATH,
        &query(&[("req", &req_id(&page)), ("user", sub)]),
        &[],
    );
    assert_eq!(r.status, 302);
    state
}

#[test]
fn revoke_consent_delivers_unsigned_jwt_over_tcp() {
    let running = crate::server::start("127.0.0.1:0", SimConfig::default(), test_key()).unwrap();
    let addr = running.base().strip_prefix("http://").unwrap().to_string();
    let (hook, thread) = receiver(ACCEPTED);
    let url = format!("{hook}/vipps/consent-revoked?src=sim");

    let (status, body) = http(
        &addr,
        "POST",
        "/_sim/config",
        "application/json",
        &json!({ "consent_webhook_url": url }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (_, config) = http(&addr, "GET", "/_sim/config", "text/plain", "");
    assert_eq!(json_of(&config)["consent_webhook_url"], url);

    let sub = crate::users::default_users()[1].sub.clone();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, body) = http(
        &addr,
        "POST",
        REVOKE,
        "application/json",
        &json!({ "sub": sub }).to_string(),
    );
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(status, 200, "{body}");
    let answer = json_of(&body);
    let got = thread.join().unwrap().expect("the receiver got a request");

    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/vipps/consent-revoked?src=sim");
    assert_eq!(got.header("host"), hook.strip_prefix("http://"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("connection"), Some("close"));
    assert_eq!(
        got.header("content-length"),
        Some(got.body.len().to_string().as_str())
    );
    let parts: Vec<&str> = got.body.split('.').collect();
    assert_eq!(parts.len(), 3, "{}", got.body);
    assert_eq!(parts[2], "", "unsigned: empty signature, trailing dot");
    assert_eq!(decode(parts[0]), json!({"alg": "none", "typ": "JWT"}));
    let payload = decode(parts[1]);
    assert_eq!(payload["event"], "CONSENT_REVOKED");
    assert_eq!(payload["sub"], sub);
    let iat = payload["iat"].as_u64().unwrap();
    assert!((before..=after).contains(&iat), "{payload}");
    assert_eq!(payload["exp"].as_u64(), Some(iat + 300));
    assert_eq!(payload["nbf"].as_u64(), Some(iat));
    assert_eq!(payload.as_object().unwrap().len(), 5);
    // The same order as Vipps' example.
    let json_text = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert!(
        json_text.starts_with(r#"{"exp":"#) && json_text.ends_with(r#""event":"CONSENT_REVOKED"}"#)
    );

    assert_eq!(answer["delivered"], true);
    assert_eq!(answer["status"], 202);
    assert_eq!(answer["body"], "received");
    assert_eq!(answer["jwt"], got.body);
    assert_eq!(answer["sub"], sub);

    let (_, stats) = http(&addr, "GET", "/_sim/stats", "text/plain", "");
    assert_eq!(json_of(&stats)["webhook"], 1);
    http(&addr, "POST", "/_sim/reset", "text/plain", "");
    let (_, stats) = http(&addr, "GET", "/_sim/stats", "text/plain", "");
    assert_eq!(json_of(&stats)["webhook"], 0);
    // The URL is a setting, not state: reset keeps it.
    let (_, config) = http(&addr, "GET", "/_sim/config", "text/plain", "");
    assert_eq!(json_of(&config)["consent_webhook_url"], url);
    running.shutdown();
}

#[test]
fn revoke_consent_uses_the_sim_clock() {
    let sim = sim();
    let (hook, thread) = receiver(NO_CONTENT);
    assert_eq!(
        post_config(&sim, &json!({"clock_offset": -100})).status,
        200
    );
    let r = revoke(&sim, &json!({"sub": "s-1", "url": format!("{hook}/h")}));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.body_json()["status"], 204);
    assert_eq!(r.body_json()["body"], "");
    let got = thread.join().unwrap().unwrap();
    let payload = decode(got.body.split('.').nth(1).unwrap());
    assert_eq!(
        payload,
        json!({"exp": T0 - 100 + 300, "iat": T0 - 100, "nbf": T0 - 100, "sub": "s-1", "event": "CONSENT_REVOKED"})
    );
}

#[test]
fn revoke_consent_claims_header_and_signature_overrides() {
    let sim = sim();
    let (hook, thread) = receiver(ACCEPTED);
    post_config(
        &sim,
        &json!({"consent_webhook_url": format!("{hook}/hook")}),
    );
    let r = revoke(
        &sim,
        &json!({
            "sub": "s-2",
            "claims": {"event": "SOMETHING_ELSE", "exp": null, "extra": {"a": [1]}, "sub": 42},
            "header": {"alg": "HS256", "kid": "k1"},
            "signature": "c2ln",
        }),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    let got = thread.join().unwrap().unwrap();
    assert_eq!(r.body_json()["jwt"], got.body);
    let parts: Vec<&str> = got.body.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2], "c2ln");
    assert_eq!(
        decode(parts[0]),
        json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    );
    let payload = decode(parts[1]);
    assert_eq!(
        payload,
        json!({"iat": T0, "nbf": T0, "sub": 42, "event": "SOMETHING_ELSE", "extra": {"a": [1]}})
    );

    // raw_body and content_type: sent verbatim, no JWT.
    let (hook, thread) = receiver(ACCEPTED);
    let r = revoke(
        &sim,
        &json!({"raw_body": "{\"not\": \"a jwt\"}", "content_type": "application/json", "url": format!("{hook}/raw")}),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    let got = thread.join().unwrap().unwrap();
    assert_eq!(got.target, "/raw");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.body, r#"{"not": "a jwt"}"#);
    assert_eq!(r.body_json()["jwt"], got.body);
    assert_eq!(sim.stats.get(Endpoint::Webhook), 2);
}

#[test]
fn revoke_consent_without_url_is_409() {
    let sim = sim();
    let sub = sim.users[0].sub.clone();
    login_as(&sim, "openid name", &sub);
    let r = revoke(&sim, &json!({ "sub": sub }));
    assert_eq!(r.status, 409);
    assert_eq!(r.body_json()["error"], "no_webhook_url");
    assert_eq!(sim.stats.get(Endpoint::Webhook), 0);
    // Nothing changed: consent is still on record.
    assert_eq!(login_as(&sim, "openid name", &sub), "given");
    assert_eq!(
        post_config(&sim, &json!({"consent_webhook_url": null})).status,
        200
    );
}

#[test]
fn revoke_consent_refused_connection_is_502() {
    let sim = sim();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    post_config(
        &sim,
        &json!({"consent_webhook_url": format!("http://127.0.0.1:{port}/hook")}),
    );
    let sub = sim.users[0].sub.clone();
    login_as(&sim, "openid", &sub);
    let r = revoke(&sim, &json!({ "sub": sub }));
    assert_eq!(r.status, 502, "{}", r.body_text());
    let body = r.body_json();
    assert_eq!(body["delivered"], false);
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(body["jwt"].as_str().is_some_and(|j| j.ends_with('.')));
    assert_eq!(sim.stats.get(Endpoint::Webhook), 1);
    // The user revoked at Vipps all the same.
    assert_eq!(body["revoked"], 1);
    assert_eq!(login_as(&sim, "openid", &sub), "ask");

    // A receiver that answers garbage is a failed delivery too.
    let (hook, thread) = receiver("hello\r\n\r\n");
    let r = revoke(&sim, &json!({"sub": "x", "url": hook}));
    assert_eq!(r.status, 502);
    assert!(thread.join().unwrap().is_some());
}

#[test]
fn https_webhook_url_is_refused() {
    let sim = sim();
    let r = post_config(
        &sim,
        &json!({"consent_webhook_url": "https://example.com/hook", "code_ttl": 7}),
    );
    assert_eq!(r.status, 400);
    let problems = r.body_json()["problems"].to_string();
    assert!(problems.contains("https is not supported"), "{problems}");
    let cfg = get(&sim, "/_sim/config").body_json();
    assert_eq!(cfg["consent_webhook_url"], Value::Null);
    assert_eq!(cfg["code_ttl"], 120);
    for bad in [json!(1), json!("ftp://x/"), json!("not a url")] {
        assert_eq!(
            post_config(&sim, &json!({ "consent_webhook_url": bad })).status,
            400
        );
    }
    let r = revoke(
        &sim,
        &json!({"sub": "s", "url": "https://example.com/hook"}),
    );
    assert_eq!(r.status, 400);
    assert!(r.body_text().contains("https is not supported"));
    // Set and unset.
    let r = post_config(
        &sim,
        &json!({"consent_webhook_url": "http://127.0.0.1:8787/x"}),
    );
    assert_eq!(
        r.body_json()["consent_webhook_url"],
        "http://127.0.0.1:8787/x"
    );
    let r = post_config(&sim, &json!({"consent_webhook_url": null}));
    assert_eq!(r.body_json()["consent_webhook_url"], Value::Null);
    assert_eq!(sim.stats.get(Endpoint::Webhook), 0);
}

#[test]
fn consent_is_remembered_until_revoked() {
    let mut config = SimConfig::default();
    let mut other = default_client();
    other.client_id = "other-client".into();
    config.clients.push(other);
    let sim = Sim::new(config, test_key(), crate::tests::BASE);
    sim.set_now(T0);
    let kari = sim.users[0].sub.clone();
    let ola = sim.users[1].sub.clone();

    // First login: asked; afterwards: already shared, for that user and client only.
    assert_eq!(login_as(&sim, "openid name email", &kari), "ask");
    let page = get(&sim, &authorize_url(&[])).body_text();
    assert_eq!(consent_state(&page, &kari), "given");
    assert_eq!(consent_state(&page, &ola), "ask");
    let page = get(&sim, &authorize_url(&[("client_id", Some("other-client"))])).body_text();
    assert_eq!(consent_state(&page, &kari), "ask");
    // Fewer scopes are covered; a new scope asks again; delegatedConsents always asks.
    assert_eq!(login_as(&sim, "openid name", &kari), "given");
    assert_eq!(login_as(&sim, "openid name phoneNumber", &kari), "ask");
    assert_eq!(login_as(&sim, "openid email phoneNumber", &kari), "given");
    assert_eq!(
        login_as(&sim, "openid name delegatedConsents", &kari),
        "ask"
    );
    // Cancelling records nothing.
    let page = get(&sim, &authorize_url(&[])).body_text();
    let r = post_form(
        &sim,
        crate::endpoints::CANCEL_PATH,
        &query(&[("req", &req_id(&page))]),
        &[],
    );
    assert_eq!(r.status, 302);
    assert_eq!(consent_state(&page, &ola), "ask");

    // Revoke by phone number (the test user), then the next login asks again.
    let (hook, thread) = receiver(NO_CONTENT);
    post_config(&sim, &json!({"consent_webhook_url": hook}));
    let r = revoke(&sim, &json!({"user": "+4791234567"}));
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.body_json()["sub"], kari);
    assert_eq!(r.body_json()["revoked"], 1);
    let got = thread.join().unwrap().unwrap();
    assert_eq!(decode(got.body.split('.').nth(1).unwrap())["sub"], kari);
    assert_eq!(login_as(&sim, "openid name", &kari), "ask");
    assert_eq!(login_as(&sim, "openid name", &kari), "given");

    // `client_id` limits the revocation to one client.
    assert_eq!(login_as_client(&sim, "other-client", &kari), "ask");
    let (hook, thread) = receiver(NO_CONTENT);
    let r = revoke(
        &sim,
        &json!({"user": kari, "client_id": "other-client", "url": hook}),
    );
    assert_eq!(r.body_json()["revoked"], 1);
    thread.join().unwrap().unwrap();
    assert_eq!(login_as_client(&sim, "other-client", &kari), "ask");
    assert_eq!(login_as(&sim, "openid name", &kari), "given");

    // Reset forgets every consent.
    endpoints::handle(&sim, &Request::new("POST", "/_sim/reset"));
    assert_eq!(login_as(&sim, "openid name", &kari), "ask");
}

fn login_as_client(sim: &Sim, client_id: &str, sub: &str) -> String {
    confirm_on(sim, &authorize_url(&[("client_id", Some(client_id))]), sub)
}

#[test]
fn consents_page_revokes_with_a_form() {
    let sim = sim();
    let page = get(&sim, "/_sim/consents");
    assert_eq!(page.status, 200);
    assert!(page.body_text().contains("None yet"));
    assert!(page.body_text().contains("No webhook URL is configured"));

    let ola = sim.users[1].sub.clone();
    login_as(&sim, "openid name", &ola);
    let (hook, thread) = receiver(ACCEPTED);
    post_config(&sim, &json!({"consent_webhook_url": format!("{hook}/cb")}));
    let page = get(&sim, "/_sim/consents").body_text();
    assert!(page.contains("Ola Nordmann"));
    assert!(page.contains(&format!(
        r#"<input type="hidden" name="sub" value="{ola}">"#
    )));
    assert!(page.contains(r#"<form method="post" action="/_sim/revoke-consent">"#));
    assert!(page.contains(">Revoke consent</button>"));
    assert!(page.contains(&format!("{hook}/cb")));

    let r = post_form(
        &sim,
        REVOKE,
        &query(&[("sub", &ola), ("client_id", "demo-client")]),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let result = r.body_text();
    assert!(result.contains("Webhook delivered"));
    assert!(result.contains(r#"<a href="/_sim/consents">"#));
    assert!(result.contains("&quot;status&quot;: 202"));
    let got = thread.join().unwrap().unwrap();
    assert_eq!(got.target, "/cb");
    assert!(!get(&sim, "/_sim/consents").body_text().contains(&ola));

    // Form errors are pages too, escaped.
    let r = post_form(&sim, REVOKE, "user=%3Cscript%3E", &[]);
    assert_eq!(r.status, 400);
    assert!(r.body_text().contains("&lt;script&gt;") && !r.body_text().contains("<script>"));
    let r = post_form(&sim, REVOKE, "", &[]);
    assert_eq!(r.status, 400);
}

#[test]
fn revoke_consent_rejects_bad_requests_without_panicking() {
    let sim = sim();
    post_config(&sim, &json!({"consent_webhook_url": "http://127.0.0.1:9/"}));
    for body in [
        "not json",
        "[1]",
        "\"s\"",
        "{}",
        r#"{"sub": 1}"#,
        r#"{"sub": ""}"#,
        r#"{"sub": "a", "user": "b"}"#,
        r#"{"user": "nobody"}"#,
        r#"{"user": "+"}"#,
        r#"{"sub": "a", "bogus": 1}"#,
        r#"{"sub": "a", "claims": [1]}"#,
        r#"{"sub": "a", "header": "x"}"#,
        r#"{"sub": "a", "signature": 5}"#,
        r#"{"sub": "a", "content_type": "text/plain\r\nX-Evil: 1"}"#,
        r#"{"sub": "a", "content_type": ""}"#,
        r#"{"sub": "a", "client_id": "nope"}"#,
        r#"{"sub": "a", "url": "http://[::1/"}"#,
        r#"{"sub": "a", "url": "http://a/\u0000"}"#,
    ] {
        let r = endpoints::handle(&sim, &Request::new("POST", REVOKE).with_body(body));
        assert_eq!(r.status, 400, "{body}: {}", r.body_text());
        assert_eq!(r.body_json()["error"], "invalid_request", "{body}");
    }
    let r = endpoints::handle(&sim, &Request::new("GET", REVOKE));
    assert_eq!(r.status, 405);
    let r = endpoints::handle(&sim, &Request::new("POST", "/_sim/consents"));
    assert_eq!(r.status, 405);
    assert_eq!(sim.stats.get(Endpoint::Webhook), 0);
}
