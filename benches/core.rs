//! CPU in the core: native criterion micro-benchmarks of the protocol steps, each next to its
//! physical reference. Run with `cargo bench --features testkit --bench core` (the release
//! profile: opt-level "z", LTO, as the wasm is built). `bench/run.mjs` reads the medians from
//! target/criterion.

use criterion::{criterion_group, criterion_main, Criterion};
use jwt_compact::alg::Rsa;
use jwt_compact::{AlgorithmExt, UntrustedToken};
use std::hint::black_box;
use std::time::Duration;
use vipps_edge_login::oidc::{authorize, discovery, id_token, jwks};
use vipps_edge_login::platform::Platform;
use vipps_edge_login::secret::Secret;
use vipps_edge_login::session::Session;
use vipps_edge_login::testkit::bench::*;
use vipps_edge_login::testkit::{block_on, reply, FakeIdp, ISSUER};
use vipps_edge_login::util::hmac_sha256;

fn benches(c: &mut Criterion) {
    let config = config();
    let now = T0;
    let p = platform(provider(signing_jwks()));

    // ---- the hot path: session verify, and its reference (one HMAC-SHA256 over the cookie) --
    let info = userinfo();
    let info_map = info.as_object().unwrap().clone();
    let session = Session::from_userinfo(&config, SUB, "bench-sid".into(), &info_map, now);
    let (set_cookie, _) = session.to_set_cookie(&config);
    let cookie_pair = set_cookie.split(';').next().unwrap().to_string();
    let cookie_value = cookie_pair.split_once('=').unwrap().1.to_string();
    // What the session MAC covers: name, NUL, version, '.', base64url payload (src/session/cookie.rs).
    let payload_b64 = cookie_value.split('.').nth(1).unwrap().to_string();
    let cookie_header = format!("_ga=GA1.1.123456789.1700000000; {cookie_pair}; theme=dark");
    let session_key = config.session.keys.session.first();
    assert!(Session::from_cookie_header(&config, &cookie_header, now).is_some());

    c.bench_function("reference/hmac_sha256_over_session_cookie", |b| {
        b.iter(|| {
            hmac_sha256(
                black_box(session_key.as_slice()),
                &[
                    b"__Host-vipps-session",
                    b"\0",
                    b"v1",
                    b".",
                    black_box(payload_b64.as_bytes()),
                ],
            )
        })
    });
    c.bench_function("session/verify", |b| {
        b.iter(|| Session::from_cookie_header(black_box(&config), black_box(&cookie_header), now))
    });
    c.bench_function("session/issue", |b| {
        b.iter(|| {
            Session::from_userinfo(black_box(&config), SUB, "bench-sid".into(), black_box(&info_map), now)
                .to_set_cookie(&config)
        })
    });

    // ---- ID token: RS256 with a 2048-bit key, and its reference (the bare JWS signature check) --
    let jwks_body = p.idp.jwks.borrow().to_string();
    let keys = jwks::parse(&jwks_body).unwrap();
    let nonce = "n-0S6_WzA2Mj-bench-nonce-0123456789abcdefgh";
    *p.idp.nonce.borrow_mut() = nonce.into();
    let token = p.idp.id_token(now, ACCESS_TOKEN);
    let expected = id_token::Expected {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        nonce,
        access_token: Some(ACCESS_TOKEN),
        now,
    };
    // The fake platform checks RS256 with the `rsa` crate (the Worker: WebCrypto).
    assert!(block_on(id_token::verify(&p, &token, &keys, &expected)).is_ok());
    let rsa_public = vipps_edge_login::testkit::rsa_public(&keys.keys[0].n_b64, &keys.keys[0].e_b64).unwrap();
    c.bench_function("reference/rs256_signature_check_only", |b| {
        b.iter(|| {
            let untrusted = UntrustedToken::new(black_box(&token)).unwrap();
            Rsa::rs256()
                .validator::<serde_json::Value>(&rsa_public)
                .validate(&untrusted)
                .unwrap();
        })
    });
    c.bench_function("id_token/verify_rs256_2048", |b| {
        b.iter(|| block_on(id_token::verify(&p, black_box(&token), &keys, &expected)).unwrap())
    });
    c.bench_function("jwks/parse_one_rsa_2048_key", |b| {
        b.iter(|| jwks::parse(black_box(&jwks_body)).unwrap())
    });

    // ---- the authorize URL -------------------------------------------------------------------
    let disc = discovery::parse(
        &config.vipps.discovery_url,
        &FakeIdp::discovery_doc().to_string(),
    )
    .unwrap();
    let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789abcdef");
    let state = "Kx3n2m9QpL0vW8rT5yZ1aQ";
    c.bench_function("authorize/build_url", |b| {
        b.iter(|| {
            authorize::build_url(
                black_box(&config),
                &disc,
                black_box(state),
                nonce,
                &verifier,
            )
            .unwrap()
        })
    });

    // ---- whole requests through App::handle (warm caches; the fake answers in-process) --------
    p.fixed_random.set(true);
    let app = new_app();
    let session_pair = login(&app, &p); // warms discovery and JWKS
    c.bench_function("app/protected_request", |b| {
        b.iter(|| protected(&app, &p, black_box(&session_pair)))
    });
    // The same with a cookie the isolate has not verified yet (its first request): the HMAC and
    // the decode every time.
    c.bench_function("app/protected_request_first", |b| {
        b.iter(|| {
            app.forget_verified_sessions();
            protected(&app, &p, black_box(&session_pair))
        })
    });
    let apps = apps_app();
    let _ = login(&apps, &p);
    let bearer = bearer_login(&apps, &p);
    c.bench_function("app/protected_request_bearer", |b| {
        b.iter(|| protected_bearer(&apps, &p, black_box(&bearer)))
    });
    c.bench_function("app/login_start", |b| {
        b.iter(|| {
            reply(block_on(app.handle(
                &p,
                black_box(&get(BROWSER, "/auth/login?return_to=%2Fprivate%2F", "")),
            )))
        })
    });
    // The callback: with fixed randomness the state and nonce are the same every time, so one
    // ID token is signed here and the fake token endpoint answers it (no RSA signing timed). The
    // transaction cookie is stateless on the server, so one callback request can be replayed;
    // the isolate's memory of finished exchanges (a double submit is answered from it) is
    // cleared each time, so every iteration is a whole exchange: token, ID token, userinfo.
    let (tx, state) = start_login(&app, &p, BROWSER, "%2Fprivate%2F");
    *p.idp.canned_token_response.borrow_mut() = Some(p.idp.token_response(p.now()).to_string());
    let cb = callback_request(BROWSER, &tx, &state);
    assert_eq!(reply(block_on(app.handle(&p, &cb))).status, 303);
    let before = p.counts();
    c.bench_function("app/callback_warm", |b| {
        b.iter(|| {
            app.forget_exchanges();
            let r = reply(block_on(app.handle(&p, black_box(&cb))));
            debug_assert_eq!(r.status, 303);
            r
        })
    });
    let d = p.counts().minus(&before);
    assert!(d.token > 0 && d.token == d.userinfo, "every callback iteration exchanges the code: {d:?}");
    assert_eq!(
        d.discovery + d.jwks + d.kv_get + d.kv_put,
        0,
        "callback bench must run with warm caches"
    );

    // ---- login from phone number: a merchant system's poll (warm caches) ---------------------
    // One start; its handle is polled again and again (the Worker keeps no state, so each poll
    // is the same work): answered "too early" without a call, "pending" after one token call,
    // and "ok" (token response, RS256 ID token, userinfo; the token signed once, outside).
    let cp = platform(provider(signing_jwks()));
    cp.idp.ciba.set(true);
    cp.fixed_random.set(true);
    let ciba = ciba_app();
    let started = reply(block_on(ciba.handle(&cp, &ciba_request("start", &serde_json::json!({"phone": "+4791234567"})))));
    let handle: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    let poll = ciba_request("poll", &serde_json::json!({"handle": handle["handle"]}));
    c.bench_function("ciba/poll_too_early", |b| {
        b.iter(|| {
            let r = reply(block_on(ciba.handle(&cp, black_box(&poll))));
            debug_assert_eq!(r.status, 429);
            r
        })
    });
    cp.advance(5);
    cp.idp.ciba_pending.set(u64::MAX);
    let before = cp.counts();
    c.bench_function("ciba/poll_pending", |b| {
        b.iter(|| {
            let r = reply(block_on(ciba.handle(&cp, black_box(&poll))));
            debug_assert_eq!(r.status, 202);
            r
        })
    });
    let d = cp.counts().minus(&before);
    assert!(d.token > 0 && d.discovery + d.jwks + d.userinfo == 0, "each pending poll is one token call: {d:?}");
    cp.idp.ciba_pending.set(0);
    *cp.idp.canned_token_response.borrow_mut() = Some(cp.idp.token_response(cp.now()).to_string());
    assert_eq!(reply(block_on(ciba.handle(&cp, &poll))).status, 200, "the poll succeeds");
    c.bench_function("ciba/poll_success", |b| {
        b.iter(|| {
            let r = reply(block_on(ciba.handle(&cp, black_box(&poll))));
            debug_assert_eq!(r.status, 200);
            r
        })
    });
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .without_plots();
    targets = benches
}
criterion_main!(core);
