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
use proptest::prelude::*;

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

proptest! {
    #[test]
    fn fuzz_cookie_parsing_and_verification(header in prop_oneof![any_text(), cookie_like()]) {
        let c = parse(&[]).unwrap();
        let _ = cookie::values(&header, "__Host-vipps-session");
        for v in cookie::values(&header, "__Host-vipps-session") {
            prop_assert!(cookie::verify(&c.keys.session, "__Host-vipps-session", v).is_none());
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

    #[test]
    fn fuzz_jwt_parsing(header in any_text(), claims in any_text(), sig in any_text(), raw in any_text()) {
        let set = jwks::parse(&serde_json::json!({"keys": [crate::testkit::jwk(&crate::testkit::keys()[0], "k")]}).to_string()).unwrap();
        let expected = id_token::Expected { issuer: ISSUER, client_id: "client-1", nonce: "n", access_token: None, now: 1_700_000_000 };
        let token = format!("{}.{}.{}", b64url(header.as_bytes()), b64url(claims.as_bytes()), b64url(sig.as_bytes()));
        prop_assert!(id_token::verify(&token, &set, &expected).is_err());
        prop_assert!(id_token::verify(&raw, &set, &expected).is_err());
        let rs = format!("{}.{}.{}", b64url(br#"{"alg":"RS256","kid":"k"}"#), b64url(claims.as_bytes()), b64url(&[0u8; 256]));
        prop_assert!(id_token::verify(&rs, &set, &expected).is_err());
    }

    #[test]
    fn fuzz_jwks_and_discovery_documents(body in prop_oneof![any_text(), "\\{\"keys\":\\[.{0,200}\\]\\}"]) {
        let _ = jwks::parse(&body);
        let u = url::Url::parse(DISCOVERY_URL).unwrap();
        let _ = discovery::parse(&u, &body);
        let _ = crate::cache::freshness(Some(&body), Some(&body));
    }

    #[test]
    fn fuzz_config_parsing(values in proptest::collection::vec(any_text(), 20)) {
        let names = ["VIPPS_ENVIRONMENT", "VIPPS_DISCOVERY_URL", "VIPPS_CLIENT_ID", "VIPPS_CLIENT_SECRET",
            "VIPPS_REDIRECT_URI", "VIPPS_SCOPE", "VIPPS_TOKEN_AUTH_METHOD", "VIPPS_MARKET", "SESSION_SECRET",
            "SESSION_TTL", "SESSION_CLAIMS", "LOGIN_TIMEOUT", "AUTH_PATH_PREFIX", "PUBLIC_PATHS",
            "PROTECTED_PATHS", "BACKEND", "UPSTREAM_TIMEOUT_MS", "VIPPS_SYSTEM_NAME", "X", "Y"];
        let m: std::collections::HashMap<&str, String> = names.iter().copied().zip(values).collect();
        match Config::from_lookup(&|k| m.get(k).cloned()) {
            Ok(c) => prop_assert!(c.scope.starts_with("openid")),
            Err(e) => {
                // Values never leak into the report.
                let text = e.to_string();
                for v in m.values().filter(|v| v.len() > 12) {
                    prop_assert!(!text.contains(v.as_str()));
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
                Outcome::Forward { user } => prop_assert!(user.is_none()),
            }
        }
        // Garbage never reaches the token endpoint.
        prop_assert_eq!(p.count(crate::testkit::TOKEN_URL), 0);
    }
}
