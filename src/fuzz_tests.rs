//! Property-based fuzzing of everything that parses untrusted input. Each target asserts that
//! nothing panics (a panic in wasm kills the isolate for every user on it) and, where there is
//! one, an invariant of the output.
//!
//! `make test` runs the default 256 cases per target. The long run, documented in the README:
//!     PROPTEST_CASES=1000000 cargo test --release --lib fuzz_
//! (one million inputs per target).

use crate::app::App;
use crate::config::tests::{parse, vars};
use crate::config::Config;
use crate::http::{IncomingRequest, Outcome};
use crate::oidc::{callback, discovery, id_token, jwks};
use crate::return_to::SafeReturnPath;
use crate::session::{cookie, Session, TransactionCookie};
use crate::testkit::{block_on, FakePlatform, DISCOVERY_URL, ISSUER};
use crate::util::b64url;
use crate::consent::event::{self as webhook, Event, UntrustedEvent};
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        "[a-zA-Z0-9_=;.,%/\\\\?&#:\" -]{0,300}",
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn cookie_like() -> impl Strategy<Value = String> {
    (any_text(), any_text(), any_text()).prop_map(|(a, b, c)| {
        format!("__Host-vipps-session=v1.{}.{}; __Host-vipps-login={}; x={}", b64url(a.as_bytes()), b64url(b.as_bytes()), c, a)
    })
}

const NOW: u64 = 1_700_000_000;
const HOOK_SECRET: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";

/// A JSON value of any type, with numbers near now (so time checks go both ways).
fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-400i64..400).prop_map(|d| json!((NOW as i64) + d * 10)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!("CONSENT_REVOKED")),
        "[ -~]{0,40}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        Just(json!([1, "a"])),
        Just(json!({"nested": true})),
    ]
}

/// Webhook bodies: raw bytes, and compact JWTs whose header and claims vary in shape and type.
fn webhook_body() -> impl Strategy<Value = Vec<u8>> {
    let names = prop_oneof![
        Just("exp".to_string()),
        Just("iat".to_string()),
        Just("nbf".to_string()),
        Just("sub".to_string()),
        Just("event".to_string()),
        "[a-z]{1,5}",
    ];
    let claims = proptest::collection::vec((names, claim_value()), 0..8).prop_map(|kv| {
        Value::Object(kv.into_iter().collect())
    });
    let alg = prop_oneof![
        Just("none".to_string()),
        Just("None".to_string()),
        Just("RS256".to_string()),
        Just("HS256".to_string()),
        "[ -~]{0,8}",
    ];
    let jwt = (alg, claims, any_text(), any::<bool>()).prop_map(|(alg, claims, sig, signed)| {
        let header = json!({"alg": alg, "typ": "JWT"});
        let sig = if signed { b64url(sig.as_bytes()) } else { String::new() };
        format!("{}.{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()), sig).into_bytes()
    });
    // The documented body with one claim replaced or removed: exercises the accept path too.
    let key = prop_oneof![Just("exp"), Just("iat"), Just("nbf"), Just("sub"), Just("event"), Just("zz")];
    let near_valid = (key, proptest::option::of(claim_value())).prop_map(|(k, v)| {
        let mut c = json!({"exp": NOW + 300, "iat": NOW, "nbf": NOW, "sub": "c9d10444-d992-4850", "event": "CONSENT_REVOKED"});
        match v {
            Some(v) => c[k] = v,
            None => {
                c.as_object_mut().map(|m| m.remove(k));
            }
        }
        format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), b64url(c.to_string().as_bytes())).into_bytes()
    });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        any_text().prop_map(String::into_bytes),
        jwt,
        near_valid,
        (any::<u8>(), 0usize..3).prop_map(|(b, extra)| vec![b; webhook::MAX_BODY + extra]),
    ]
}

proptest! {
    #[test]
    fn fuzz_webhook_body(body in webhook_body(), skew in -1000i64..1000) {
        let now = (NOW as i64 + skew) as u64;
        match UntrustedEvent::parse(&body) {
            Ok(parsed) => {
                prop_assert!(body.len() <= webhook::MAX_BODY);
                let signed = parsed.is_signed();
                let verified = crate::testkit::block_on(parsed.verify(&crate::testkit::FakePlatform::default(), None, now));
                if signed {
                    // A signed event without the provider's keys never verifies.
                    prop_assert!(verified.is_err());
                }
                if let Ok(Event::ConsentRevoked { sub, revoked_at }) = verified {
                    prop_assert!(!sub.is_empty() && sub.len() <= 255);
                    prop_assert!(sub.bytes().all(|b| (0x21..=0x7e).contains(&b)));
                    prop_assert!(revoked_at <= now);
                    // The claims as sent (decoded here independently of the parser).
                    let text = std::str::from_utf8(&body).unwrap().trim();
                    let payload = crate::util::b64url_decode(text.split('.').nth(1).unwrap()).unwrap();
                    let claims: Value = serde_json::from_slice(&payload).unwrap();
                    prop_assert_eq!(claims.get("event"), Some(&json!("CONSENT_REVOKED")));
                    let exp = claims.get("exp").and_then(Value::as_u64);
                    prop_assert!(exp.is_some_and(|e| now < e + webhook::LEEWAY_SECS));
                }
            }
            Err(e) => {
                prop_assert!(e.code.as_str().starts_with("webhook."));
                if body.len() > webhook::MAX_BODY {
                    prop_assert_eq!(e.code, crate::error::Code::WebhookTooLarge);
                }
            }
        }
    }

    #[test]
    fn fuzz_webhook_deliveries(body in webhook_body(), ct in prop_oneof![Just(None), Just(Some("text/plain".to_string())), any_text().prop_map(Some)]) {
        let m = vars(&[("VIPPS_DISCOVERY_URL", DISCOVERY_URL), ("CONSENT_WEBHOOK_SECRET", HOOK_SECRET)]);
        let app = App::new(Config::from_lookup(&|k| m.get(k).cloned()));
        let p = FakePlatform::default();
        let url = url::Url::parse(&format!("https://shop.example/auth/webhooks/consent-revoked/{HOOK_SECRET}")).unwrap();
        let mut headers = Vec::new();
        if let Some(ct) = ct { headers.push(("content-type".to_string(), ct)); }
        let req = IncomingRequest { method: "POST".into(), url, headers, body: Some(body) };
        let Outcome::Reply(r) = block_on(app.handle(&p, &req)) else { panic!("a webhook is never forwarded") };
        prop_assert!([200, 400, 401, 413, 415].contains(&r.status), "status {}", r.status);
        prop_assert!(r.set_cookies().next().is_none());
        let stored = p.kv.borrow().keys().any(|k| k.starts_with("consent-revoked:"));
        let acted = r.status == 200 && !r.body.contains("ignored");
        prop_assert_eq!(stored, acted);
        prop_assert_eq!(p.count(crate::testkit::TOKEN_URL), 0);
    }

    #[test]
    fn fuzz_cookie_parsing_and_verification(header in prop_oneof![any_text(), cookie_like()]) {
        let c = parse(&[]).unwrap();
        let _ = cookie::values(&header, "__Host-vipps-session");
        for v in cookie::values(&header, "__Host-vipps-session") {
            prop_assert!(cookie::verify(c.session.keys.session.iter(), "__Host-vipps-session", v).is_none());
        }
        prop_assert!(Session::from_cookie_header(&c, &header, 1_700_000_000).is_none());
        prop_assert!(TransactionCookie::from_cookie_header(&c, &header).is_none());
    }

    #[test]
    fn fuzz_signed_cookie_bit_flips(payload in any_text(), pos in any::<usize>(), bit in 0u8..8) {
        let key = [7u8; 32];
        let v = cookie::sign(&key, "n", payload.as_bytes());
        let mut bytes = v.into_bytes();
        let i = pos % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(s) = String::from_utf8(bytes) {
            // Any single-bit change must fail, except ones base64url decoding ignores entirely
            // (it does not ignore any): so verification must fail.
            prop_assert!(cookie::verify(&[key], "n", &s).is_none());
        }
    }

    #[test]
    fn fuzz_callback_query(q in prop_oneof![any_text(), "(state|code|error|iss|scope)=[^&]{0,40}(&(state|code|error|iss)=[^&]{0,40}){0,4}"]) {
        if let Ok(p) = callback::parse(Some(&q)) {
            // Whatever parsed holds at most one value per parameter by construction.
            prop_assert!(p.state.as_ref().is_none_or(|s| s.len() <= 4096));
        }
    }

    #[test]
    fn fuzz_return_to(raw in prop_oneof![any_text(), "/[ -~]{0,80}", "[/\\\\]{1,3}[a-z.]{0,20}"]) {
        if let Some(p) = SafeReturnPath::parse(&raw) {
            let s = p.as_str();
            prop_assert!(s.starts_with('/'));
            prop_assert!(!s.starts_with("//"));
            prop_assert!(!s.contains('\\'));
            prop_assert!(s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            let base = url::Url::parse("https://site.example/").unwrap();
            prop_assert_eq!(base.join(s).unwrap().origin(), base.origin());
        }
    }

    /// With front ends configured, an accepted return is a same-origin path or a URL whose origin
    /// is exactly a configured one, as a URL parser reads it.
    #[test]
    fn fuzz_return_to_front_ends(raw in prop_oneof![any_text(), "(https?://|//|/|\\\\)?(app\\.example\\.com|evil\\.example)[@:./#?%a-z0-9\\\\]{0,30}"]) {
        let (fe, _) = crate::policy::cors::FrontEndOrigins::parse(["https://app.example.com"]);
        if let Some(p) = SafeReturnPath::parse_for(&raw, &fe) {
            let s = p.as_str();
            prop_assert!(s.bytes().all(|b| (0x21..=0x7e).contains(&b)) && !s.contains('\\'));
            if !s.starts_with('/') {
                prop_assert!(s.starts_with("https://app.example.com/"), "{}", s);
                prop_assert_eq!(url::Url::parse(s).unwrap().origin().ascii_serialization(), "https://app.example.com");
            } else {
                prop_assert!(!s.starts_with("//"));
            }
        }
    }

    #[test]
    fn fuzz_jwt_parsing(header in any_text(), claims in any_text(), sig in any_text(), raw in any_text()) {
        let set = jwks::parse(&serde_json::json!({"keys": [crate::testkit::jwk(&crate::testkit::keys()[0], "k")]}).to_string()).unwrap();
        let expected = id_token::Expected { issuer: ISSUER, client_id: "client-1", nonce: "n", access_token: None, now: 1_700_000_000 };
        let token = format!("{}.{}.{}", b64url(header.as_bytes()), b64url(claims.as_bytes()), b64url(sig.as_bytes()));
        let p = crate::testkit::FakePlatform::default();
        let verify = |t: &str| crate::testkit::block_on(id_token::verify(&p, t, &set, &expected));
        prop_assert!(verify(&token).is_err());
        prop_assert!(verify(&raw).is_err());
        let rs = format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"k"}"#), b64url(claims.as_bytes()), b64url(&[0u8; 256]));
        prop_assert!(verify(&rs).is_err());
    }

    #[test]
    fn fuzz_jwks_and_discovery_documents(body in prop_oneof![any_text(), "\\{\"keys\":\\[.{0,200}\\]\\}"]) {
        let _ = jwks::parse(&body);
        let u = url::Url::parse(DISCOVERY_URL).unwrap();
        let _ = discovery::parse(&u, &body);
        let _ = crate::oidc::freshness::freshness(Some(&body), Some(&body));
    }

    /// Access decisions on any claims: never a panic, and only a verified address on exactly
    /// the listed domain (or the listed sub or phone) passes.
    #[test]
    fn fuzz_access_rules(email in prop_oneof![any_text(), "[a-z@.-]{0,12}@example\\.com[.a-z@]{0,6}"], verified in claim_value(),
                         phone in prop_oneof![any_text(), "[+0-9 ]{0,16}"], sub in any_text()) {
        let c = parse(&[("ACCESS_RULES", "/a/* = domain:example.com, phone:+4712345678, sub:the-sub"), ("VIPPS_SCOPE", "openid email phoneNumber")]).unwrap();
        let claims = json!({"email": email, "email_verified": verified, "phone_number": phone}).as_object().unwrap().clone();
        let path = crate::policy::path::CanonicalPath::parse("/a/x").unwrap();
        if c.access.decide(&path, &sub, &claims).is_ok() {
            let domain_ok = verified == json!(true) && email.matches('@').count() == 1 && email.to_ascii_lowercase().ends_with("@example.com")
                && email.bytes().all(|b| b.is_ascii_graphic());
            let phone_ok = crate::policy::access::normalise_phone(&phone).as_deref() == Some("4712345678");
            prop_assert!(domain_ok || phone_ok || sub == "the-sub", "admitted {email:?} {verified} {phone:?} {sub:?}");
        }
    }

    #[test]
    fn fuzz_config_parsing(values in proptest::collection::vec(any_text(), 35)) {
        let names = ["VIPPS_ENVIRONMENT", "VIPPS_DISCOVERY_URL", "VIPPS_CLIENT_ID", "VIPPS_CLIENT_SECRET",
            "VIPPS_REDIRECT_URI", "VIPPS_SCOPE", "VIPPS_TOKEN_AUTH_METHOD", "VIPPS_MARKET", "SESSION_SECRET",
            "SESSION_TTL", "SESSION_CLAIMS", "LOGIN_TIMEOUT", "AUTH_PATH_PREFIX", "PUBLIC_PATHS",
            "PROTECTED_PATHS", "BACKEND", "UPSTREAM_TIMEOUT_MS", "VIPPS_SYSTEM_NAME", "CONSENT_WEBHOOK_SECRET",
            "CONSENT_WEBHOOK_FORWARD", "CONSENT_REVOKED_ENDS_SESSIONS", "SESSION_RECHECK", "UPSTREAM_DEADLINE_MS",
            "ACCESS_RULES", "API_PATHS", "CORS_ORIGINS", "LOGOUT_REDIRECT", "X", "Y", "SILENT_LOGIN",
            "SILENT_LOGIN_BACKOFF", "VIPPS_MARKETS", "REGISTER_SCOPE", "STEP_UP_RULES", "RETRY_TEMPORARILY_UNAVAILABLE"];
        let m: std::collections::HashMap<&str, String> = names.iter().copied().zip(values).collect();
        match Config::from_lookup(&|k| m.get(k).cloned()) {
            Ok(c) => prop_assert!(c.vipps.scope.starts_with("openid")),
            Err(e) => {
                // Values never leak into the report.
                let text = e.to_string();
                for v in m.values().filter(|v| v.len() > 12) {
                    prop_assert!(!text.contains(v.as_str()));
                }
            }
        }
    }

    /// Configurations near a valid one (each var kept, dropped, or replaced by a tricky value):
    /// whatever is accepted must serve every kind of request without a panic, and a broken
    /// one answers every request with the configuration page.
    #[test]
    fn fuzz_accepted_configs_serve_requests(choices in proptest::collection::vec((0u8..4, any_text()), 25)) {
        let names = ["SESSION_SECRET", "CONSENT_WEBHOOK_SECRET", "PUBLIC_PATHS", "PROTECTED_PATHS", "AUTH_PATH_PREFIX",
            "VIPPS_REDIRECT_URI", "SESSION_TTL", "LOGIN_TIMEOUT", "SESSION_RECHECK", "UPSTREAM_TIMEOUT_MS",
            "UPSTREAM_DEADLINE_MS", "SESSION_CLAIMS", "VIPPS_SCOPE", "BACKEND", "CONSENT_REVOKED_ENDS_SESSIONS", "VIPPS_MARKET",
            "ACCESS_RULES", "API_PATHS", "CORS_ORIGINS", "LOGOUT_REDIRECT", "STEP_UP_RULES", "SILENT_LOGIN", "VIPPS_MARKETS",
            "REGISTER_SCOPE", "RETRY_TEMPORARILY_UNAVAILABLE"];
        let tricky = ["/private/* = app_auth, step_up, max_age=60", "no_dialog", "prompt_none", "DK,FI", "name customFlow",",", " , ", "", "0", "18446744073709551615", "/", "/*", "https://shop.example/", "/auth",
            "https://shop.example/auth/callback", "true", "false", "a,b", "NO", "/* = sub:x", "/private/* = domain:example.com, phone:+4712345678",
            "/x = ; /y", "/api/*", "https://app.example.com", "https://app.example.com/bye", "http://localhost:5173 https://*.x"];
        let mut m = vars(&[("VIPPS_DISCOVERY_URL", DISCOVERY_URL), ("CONSENT_WEBHOOK_SECRET", HOOK_SECRET)]);
        for (name, (how, text)) in names.iter().zip(choices) {
            match how {
                0 => {}
                1 => { m.remove(*name); }
                2 => { m.insert(name.to_string(), tricky[text.len() % tricky.len()].to_string()); }
                _ => { m.insert(name.to_string(), text); }
            }
        }
        let config = Config::from_lookup(&|k| m.get(k).cloned());
        let accepted = config.is_ok();
        let app = App::new(config);
        let p = FakePlatform::default();
        let targets = ["/", "/private/x", "/auth/login?return_to=/x", "/auth/callback?code=c&state=s", "/auth/session",
            "/auth/logout", "/assets/..%2Fx", "/auth/login?silent=1&market=DK&return_to=/private/x", "/auth/register",
            "/auth/callback?error=temporarily_unavailable&state=s", &format!("/auth/webhooks/consent-revoked/{HOOK_SECRET}")];
        for target in targets {
            for method in ["GET", "POST", "OPTIONS"] {
                let url = url::Url::parse(&format!("https://shop.example{target}")).unwrap();
                let headers = vec![("accept".into(), "text/html".into()), ("origin".into(), "https://app.example.com".into()),
                    ("access-control-request-method".into(), "GET".into())];
                let req = IncomingRequest { method: method.into(), url, headers, body: Some(b"x".to_vec()) };
                match block_on(app.handle(&p, &req)) {
                    Outcome::Reply(r) => {
                        prop_assert!((200..600).contains(&r.status));
                        if !accepted {
                            prop_assert_eq!(r.status, 500);
                        }
                    }
                    Outcome::Forward(f) => prop_assert!(accepted && f.user.is_none()),
                }
            }
        }
    }

    #[test]
    fn fuzz_whole_requests(path in "/[a-zA-Z0-9/._%-]{0,60}", query in any_text(), cookie in prop_oneof![any_text(), cookie_like()], method in "(GET|POST|HEAD|PUT|DELETE|OPTIONS)") {
        let m = vars(&[("VIPPS_DISCOVERY_URL", DISCOVERY_URL)]);
        let app = App::new(Config::from_lookup(&|k| m.get(k).cloned()));
        let p = FakePlatform::default();
        let mut url = url::Url::parse("https://shop.example/").unwrap();
        url.set_path(&path);
        url.set_query(Some(&query));
        for prefix in ["", "/auth/callback", "/auth/login", "/auth/session", "/auth/logout"] {
            let mut u = url.clone();
            if !prefix.is_empty() { u.set_path(prefix); }
            let req = IncomingRequest { method: method.clone(), url: u, headers: vec![("cookie".into(), cookie.clone())], body: None };
            match block_on(app.handle(&p, &req)) {
                Outcome::Reply(r) => {
                    prop_assert!(r.status >= 200 && r.status < 600);
                    prop_assert!(!r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=") && !c.contains("Max-Age=0")), "no session from garbage");
                }
                Outcome::Forward(crate::policy::forward::Forward { user, .. }) => prop_assert!(user.is_none()),
            }
        }
        // Garbage never reaches the token endpoint.
        prop_assert_eq!(p.count(crate::testkit::TOKEN_URL), 0);
    }

    #[test]
    fn fuzz_app_and_auto_return_requests(body in prop_oneof![any_text(), "\\{\"(app_uri|code_challenge|code_challenge_method|flow|handoff|code|state|code_verifier|final_redirect_is_app)\":(\"[ -~]{0,50}\"|true|1|null)(,\"(app_uri|handoff|code|state|code_verifier)\":\"[ -~]{0,50}\"){0,4}\\}"],
            auth in prop_oneof![any_text(), "Bearer vel_v1\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,43}"], query in any_text(), form in any::<bool>()) {
        let m = vars(&[("VIPPS_DISCOVERY_URL", DISCOVERY_URL), ("LOGIN_FLOWS", "automatic_return, app_to_app_v2, app_to_app, final_redirect_is_app"),
            ("APP_URIS", "myapp://login/done"), ("API_PATHS", "/api/*")]);
        let app = App::new(Config::from_lookup(&|k| m.get(k).cloned()));
        let p = FakePlatform::default();
        for path in ["/auth/app/start", "/auth/app/token", "/auth/app/logout", "/auth/login/confirm", "/auth/session", "/api/x", "/auth/callback", "/auth/login"] {
            let mut url = url::Url::parse("https://shop.example/").unwrap();
            url.set_path(path);
            url.set_query(Some(&query));
            let method = if path.ends_with("/session") || path.starts_with("/api") || path.ends_with("/callback") || path.ends_with("/login") { "GET" } else { "POST" };
            let ct = if form { "application/x-www-form-urlencoded" } else { "application/json" };
            let req = IncomingRequest { method: method.into(), url, headers: vec![("authorization".into(), auth.clone()), ("content-type".into(), ct.into()), ("cookie".into(), query.clone())], body: Some(body.clone().into_bytes()) };
            match block_on(app.handle(&p, &req)) {
                Outcome::Reply(r) => {
                    prop_assert!(r.status >= 200 && r.status < 600);
                    prop_assert!(!r.set_cookies().any(|c| c.starts_with("__Host-vipps-session=") && !c.contains("Max-Age=0")), "no session from garbage");
                    prop_assert!(!r.body.contains("\"access_token\""), "no bearer from garbage");
                }
                Outcome::Forward(crate::policy::forward::Forward { user, .. }) => prop_assert!(user.is_none()),
            }
        }
        prop_assert_eq!(p.count(crate::testkit::TOKEN_URL), 0);
    }

    #[test]
    fn fuzz_accept_language(header in prop_oneof![any_text(), "([a-zA-Z*-]{0,12}(;q=[0-9.]{0,6})?, ?){0,40}"], html in any::<bool>()) {
        for brand in [crate::pages::Brand::Vipps, crate::pages::Brand::MobilePay] {
            let look = crate::pages::Look::negotiate(Some(&header), brand);
            prop_assert!(brand.languages().contains(&look.lang()));
        }
        // Through a whole request: an error page or JSON in a language we have, the header
        // itself never on the page.
        let m = vars(&[("VIPPS_DISCOVERY_URL", DISCOVERY_URL), ("VIPPS_MARKET", "FI")]);
        let app = App::new(Config::from_lookup(&|k| m.get(k).cloned()));
        let p = FakePlatform::default();
        let accept = if html { "text/html" } else { "application/json" };
        for path in ["/auth/callback?state=x", "/auth/nothing", "/auth/logout", "/auth/logged-out", "/a%2Fb"] {
            let url = url::Url::parse(&format!("https://shop.example{path}")).unwrap();
            let headers = vec![("accept".into(), accept.into()), ("accept-language".into(), header.clone())];
            let req = IncomingRequest { method: "GET".into(), url, headers, body: None };
            if let Outcome::Reply(r) = block_on(app.handle(&p, &req)) {
                let lang = r.header("content-language").unwrap_or("en");
                prop_assert!(["nb", "en", "da", "fi"].contains(&lang), "{}", lang);
                if header.len() > 3 && header.contains('<') {
                    prop_assert!(!r.body.contains(header.as_str()));
                }
            }
        }
    }

    #[test]
    fn fuzz_page_templates(src in prop_oneof![any_text(), "([a-z<>/ ]{0,10}\\{\\{[#^/]?(title|code|problems|var|retry_url|x)\\}\\}){0,12}"], value in any_text()) {
        if let Ok(t) = crate::pages::template::Template::parse(&src) {
            let mut v = crate::pages::template::Values::default();
            for f in crate::pages::template::Field::ALL {
                v.set(f, format!("<{value}\"'>"));
            }
            v.problems = vec![(format!("<{value}"), format!("\"{value}"))];
            let out = t.render(&v);
            // Every value is escaped: what the template did not have, it cannot get.
            prop_assert!(out.matches('<').count() <= src.matches('<').count());
            prop_assert!(out.matches('"').count() <= src.matches('"').count());
        }
    }
}
