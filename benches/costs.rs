//! What each request costs: subrequests to Vipps, KV reads and KV writes, counted by driving the
//! Worker core (`App::handle`, the same code the wasm runs) over a counting platform and a fake
//! Vipps, with a simulated clock. Run with `cargo bench --features testkit --bench costs`;
//! prints a table and one line `COSTS_JSON {...}` that `bench/run.mjs` reads.

use serde_json::json;
use vipps_edge_login::platform::Platform;
use vipps_edge_login::testkit::bench::*;
use vipps_edge_login::testkit::{block_on, reply, Counts};

const LOGINS: u64 = 100;
const REQUESTS: u64 = 1000;

fn main() {
    let p = platform(provider(signing_jwks()));
    let app = new_app();

    // 1. A fresh isolate with an empty KV: the very first login.
    let c0 = p.counts();
    let session = login(&app, &p);
    let first_login = p.counts().minus(&c0);

    // 2. Warm caches: N logins (login start + callback each).
    let c0 = p.counts();
    for _ in 0..LOGINS {
        p.advance(1);
        login(&app, &p);
    }
    let warm_logins = p.counts().minus(&c0);

    // 3. The hot path: N protected requests with a valid session.
    let c0 = p.counts();
    for _ in 0..REQUESTS {
        protected(&app, &p, &session);
    }
    let hot = p.counts().minus(&c0);

    // 4. Another isolate (new App) sharing the warm KV: its first login.
    let app2 = new_app();
    let c0 = p.counts();
    login(&app2, &p);
    let new_isolate_login = p.counts().minus(&c0);

    // 5. An idle hour: no logins, one protected request a minute, from a browser that takes
    //    the cookie the Worker re-issues (so the revocation check runs once per SESSION_RECHECK).
    let c0 = p.counts();
    let mut kept = session.clone();
    for _ in 0..60 {
        p.advance(60);
        protected_keeping(&app, &p, &mut kept);
    }
    let idle_hour = p.counts().minus(&c0);

    // 6. Three busy hours: one login a minute. Discovery has max-age=3600, the JWKS no
    //    Cache-Control (the Worker then keeps it for an hour). Record when each was fetched.
    let mut fetched_at: Vec<(&str, u64)> = Vec::new();
    let c0 = p.counts();
    let start = p.now();
    for _ in 0..180 {
        p.advance(60);
        let before = p.counts();
        login(&app, &p);
        let d = p.counts().minus(&before);
        if d.discovery > 0 {
            fetched_at.push(("discovery", p.now() - start));
        }
        if d.jwks > 0 {
            fetched_at.push(("jwks", p.now() - start));
        }
    }
    let busy = p.counts().minus(&c0);
    let min_gap = |kind: &str| -> Option<u64> {
        let t: Vec<u64> = fetched_at
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| *t)
            .collect();
        t.windows(2).map(|w| w[1] - w[0]).min()
    };

    // 7. Login from phone number, warm caches: a start, one pending poll, the successful poll;
    //    then a pending poll alone; then login_to_webpage (start, the phone browser's callback).
    let (ciba, cp) = (ciba_app(), platform(provider(signing_jwks())));
    cp.idp.ciba.set(true);
    let ciba_login = |until_ok: bool| -> (u16, Counts) {
        let c0 = cp.counts();
        let s = reply(block_on(ciba.handle(&cp, &ciba_request("start", &json!({"phone": "+4791234567"})))));
        let handle: serde_json::Value = serde_json::from_str(&s.body).expect("start JSON");
        cp.idp.ciba_pending.set(if until_ok { 1 } else { u64::MAX });
        let mut handle = handle["handle"].as_str().unwrap_or_default().to_string();
        let mut status = 0;
        for _ in 0..if until_ok { 2 } else { 1 } {
            cp.advance(5);
            let r = reply(block_on(ciba.handle(&cp, &ciba_request("poll", &json!({"handle": handle})))));
            status = r.status;
            if let Some(h) = serde_json::from_str::<serde_json::Value>(&r.body).ok().and_then(|v| v["handle"].as_str().map(String::from)) {
                handle = h;
            }
        }
        (status, cp.counts().minus(&c0))
    };
    let (_, ciba_cold) = ciba_login(true); // warms discovery and JWKS
    let mut ciba_warm = Counts::default();
    for _ in 0..LOGINS {
        cp.advance(1);
        let (status, c) = ciba_login(true);
        assert_eq!(status, 200, "a CIBA login ends with the user");
        ciba_warm = ciba_warm.plus(&c);
    }
    let (pending_status, one_start_one_poll) = ciba_login(false);
    assert_eq!(pending_status, 202);
    let c0 = cp.counts();
    let start = reply(block_on(ciba.handle(&cp, &ciba_request("start", &json!({"phone": "+4791234567", "flow": "login_to_webpage"})))));
    assert_eq!(start.status, 200, "{}", start.body);
    let mut cb = get(BROWSER, "/auth/callback?code=code-from-the-phone", "");
    cb.headers.retain(|(k, _)| k != "cookie");
    *cp.idp.id_token_claims.borrow_mut() = Box::new(|c| {
        c["sub"] = json!(SUB);
        c["aud"] = json!([CLIENT_ID]);
        c["auth_req_id"] = json!("req-1");
    });
    let r = reply(block_on(ciba.handle(&cp, &cb)));
    assert_eq!(r.status, 303, "{}", r.body);
    let webpage_login = cp.counts().minus(&c0);

    // 8. Automatic return and native apps (`LOGIN_FLOWS`), warm caches: KV per login, and the
    //    protected request with a bearer session.
    let ap = platform(provider(signing_jwks()));
    let apps = apps_app();
    let _ = login(&apps, &ap); // warms discovery and JWKS
    let measure = |f: &dyn Fn()| {
        let c0 = ap.counts();
        f();
        ap.counts().minus(&c0)
    };
    let auto_same = measure(&|| {
        auto_return_login(&apps, &ap, true);
    });
    let auto_other = measure(&|| {
        auto_return_login(&apps, &ap, false);
    });
    let app_login = measure(&|| {
        bearer_login(&apps, &ap);
    });
    let token = bearer_login(&apps, &ap);
    let bearer_hot = measure(&|| {
        for _ in 0..REQUESTS {
            protected_bearer(&apps, &ap, &token);
        }
    });

    let per = |c: &Counts, n: u64| {
        json!({
            "subrequests": c.subrequests() as f64 / n as f64,
            "discovery": c.discovery as f64 / n as f64, "jwks": c.jwks as f64 / n as f64,
            "token": c.token as f64 / n as f64, "userinfo": c.userinfo as f64 / n as f64, "backchannel": c.backchannel as f64 / n as f64,
            "kv_get": c.kv_get as f64 / n as f64, "kv_put": c.kv_put as f64 / n as f64, "kv_delete": c.kv_delete as f64 / n as f64,
        })
    };
    let out = json!({
        "logins": LOGINS,
        "requests": REQUESTS,
        "first_login_cold_isolate_empty_kv": first_login.to_json(),
        "first_login_new_isolate_warm_kv": new_isolate_login.to_json(),
        "per_login_warm": per(&warm_logins, LOGINS),
        "per_protected_request": per(&hot, REQUESTS),
        "idle_hour_one_request_per_minute": idle_hour.to_json(),
        "busy_hours_one_login_per_minute": { "hours": 3, "total": busy.to_json(), "per_hour": per(&busy, 3) },
        "refetch_min_gap_secs": { "discovery": min_gap("discovery"), "jwks": min_gap("jwks") },
        "max_age_secs": { "discovery": 3600, "jwks": "none sent (Worker default 3600)" },
        "ciba": {
            "first_login_cold_isolate": ciba_cold.to_json(),
            "per_login_warm_one_pending_poll": per(&ciba_warm, LOGINS),
            "start_plus_one_pending_poll": one_start_one_poll.to_json(),
            "login_to_webpage_warm": webpage_login.to_json(),
        },
        "apps": {
            "automatic_return_same_browser": auto_same.to_json(),
            "automatic_return_other_browser_confirmed": auto_other.to_json(),
            "native_app_login": app_login.to_json(),
            "per_protected_request_bearer": per(&bearer_hot, REQUESTS),
        },
    });

    println!("costs (native core over a counting platform, simulated clock):");
    println!("  first login, cold isolate, empty KV: {:?}", first_login);
    println!(
        "  first login, new isolate, warm KV:   {:?}",
        new_isolate_login
    );
    println!("  {LOGINS} warm logins:                 {:?}", warm_logins);
    println!("  {REQUESTS} protected requests:         {:?}", hot);
    println!("  idle hour (1 request/min):           {:?}", idle_hour);
    println!("  3 busy hours (1 login/min):          {:?}", busy);
    println!("  refetch times (s from start):        {:?}", fetched_at);
    println!("  CIBA login, cold isolate:            {:?}", ciba_cold);
    println!("  {LOGINS} CIBA logins (1 pending poll):  {:?}", ciba_warm);
    println!("  CIBA start + one pending poll:       {:?}", one_start_one_poll);
    println!("  login_to_webpage (start + callback): {:?}", webpage_login);
    println!("  automatic return, same browser:      {:?}", auto_same);
    println!("  automatic return, other browser:     {:?}", auto_other);
    println!("  native app login (start..token):     {:?}", app_login);
    println!("  {REQUESTS} bearer protected requests:  {:?}", bearer_hot);
    println!("COSTS_JSON {out}");
}
