//! The gate in workerd: canonical paths, the headers and cookies an origin receives, cache
//! headers on responses to logged-in users, and a double-submitted callback. Three Workers, one
//! per backend: the assets binding (demo/public), a naive decoding origin, and nginx
//! (tests/common/origin.rs). Requests that matter are written byte-exact on a raw TCP socket:
//! no URL library normalises them on the way.
//!
//! Each scenario records a row under target/conformance/ (suites `9-gate-*`); `make test` puts
//! them into CONFORMANCE.md. Run alone with `cargo test --test gate -- --test-threads=2`.

mod common;
use common::origin::*;
use common::table::*;
use common::*;
use std::sync::{Arc, Barrier};

const PUBLIC_PATHS: &str = "/, /assets/*";
/// Only the protected file has this; the public home page links to "Members page" too.
const MEMBERS_FILE: &str = "id=\"members-title\"";
const SESSION_COOKIE: &str = "__Host-vipps-session";
const LOGIN_COOKIE: &str = "__Host-vipps-login";

// ---- helpers ----------------------------------------------------------------------------------

fn start_worker(name: &str, backend: &str) -> Worker {
    Worker::start(name, &[("BACKEND", backend), ("PUBLIC_PATHS", PUBLIC_PATHS)], &[])
}

/// A full login on `w`: (session cookie value, sub).
fn session(w: &Worker) -> (String, String) {
    let mut b = Browser::new();
    let sub = login(&mut b, w, "/private/");
    (b.jar[SESSION_COOKIE].clone(), sub)
}

/// What the backend behind a Worker received: nothing to look at for the assets binding, the
/// request log for the naive origin, the access log for nginx.
#[derive(Clone, Copy)]
enum Backend<'a> {
    Assets,
    Naive(&'a NaiveOrigin),
    Nginx(&'a Nginx),
}

impl Backend<'_> {
    fn mark(&self) -> u64 {
        match self {
            Backend::Assets => 0,
            Backend::Naive(o) => o.count() as u64,
            Backend::Nginx(n) => n.settled_log_len(),
        }
    }
    /// The request-targets (naive) or logged request lines (nginx) since `mark`.
    fn since(&self, mark: u64) -> Vec<String> {
        match self {
            Backend::Assets => Vec::new(),
            Backend::Naive(o) => o.requests().into_iter().skip(mark as usize).map(|r| r.target).collect(),
            Backend::Nginx(n) => n.requests_since(mark),
        }
    }
}

/// Is a response to an unauthenticated request for a protected spelling one of the allowed
/// refusals: the login redirect, 401, 400 `request.path_refused`, or a 400 from workerd itself
/// (the Worker never ran)? Returns (allowed, short description).
fn refusal(r: &RawResp, base: &str) -> (bool, String) {
    let body = r.text();
    let (ok, what) = match r.status {
        302 => {
            let loc = r.header("location").unwrap_or("");
            let login = loc.starts_with("/auth/login?return_to=") || loc.starts_with(&format!("{base}/auth/login?return_to="));
            (login, if login { "302 login".to_string() } else { format!("302 to {loc}") })
        }
        401 => (true, "401".to_string()),
        400 if body.contains("request.path_refused") => (true, "400 request.path_refused".to_string()),
        400 => match worker_code(&body) {
            Some(code) => (false, format!("400 {code}")),
            None => (true, "400 from workerd".to_string()),
        },
        s => (false, match worker_code(&body) {
            Some(code) => format!("{s} {code}"),
            None => format!("{s}"),
        }),
    };
    if body.contains("Members page") {
        (false, format!("{what}, LEAKED Members page"))
    } else {
        (ok, what)
    }
}

/// Why a request-target an origin received is not canonical (path part only: the query is
/// forwarded as the client sent it).
fn non_canonical(target: &str) -> Option<&'static str> {
    let path = target.split('?').next().unwrap_or("");
    let lower = path.to_ascii_lowercase();
    for bad in ["%2f", "%5c", "%2e"] {
        if lower.contains(bad) {
            return Some(match bad {
                "%2f" => "%2F",
                "%5c" => "%5C",
                _ => "%2E",
            });
        }
    }
    ["..", "//", "\\"].into_iter().find(|bad| path.contains(bad))
}

/// Where workerd's URL parser (WHATWG, like the url crate) puts a spelling before the Worker
/// sees it, when that is a plain public path: `/assets//../private/index.html` reaches the
/// Worker as `/assets/private/index.html`, a canonical public path it rightly forwards.
fn resolved_public(v: &str) -> Option<String> {
    let u = url::Url::parse(&format!("http://127.0.0.1{v}")).ok()?;
    let p = u.path().to_string();
    let plain = p.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    let public = p == "/" || p.starts_with("/assets/");
    (plain && public && non_canonical(&p).is_none() && p != v).then_some(p)
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

// ---- path spellings ---------------------------------------------------------------------------

/// Baselines, then every vector without a session: an allowed refusal, no members bytes, and
/// nothing reached the backend.
fn path_vectors(suite: &'static str, w: &Worker, backend: Backend, session: &str) {
    let mut t = Table::new(suite);
    let port = port_of(w);
    let cookie = format!("{SESSION_COOKIE}={session}");

    let r = raw_get(port, "/assets/site.css", &[]).expect("baseline request");
    t.row("baseline `/assets/site.css`, no session", "200", &r.status.to_string(), r.status == 200);
    let mark = backend.mark();
    let r = raw_get(port, "/private/index.html", &[]).expect("baseline request");
    let seen = backend.since(mark).len();
    let login = r.status == 302 && refusal(&r, &w.base).0;
    let what = format!("{}{}", refusal(&r, &w.base).1, if matches!(backend, Backend::Assets) { String::new() } else { format!(", backend +{seen}") });
    t.row("baseline `/private/index.html`, no session", "302 login, backend +0", &what, login && seen == 0);
    // The assets binding redirects `/private/index.html` to `/private/` (307): one same-site
    // hop is followed, with the session.
    let mut r = raw_get(port, "/private/index.html", &[("Cookie", &cookie)]).expect("baseline request");
    let mut hops = String::new();
    if matches!(r.status, 301 | 307 | 308) {
        let loc = r.header("location").unwrap_or("").to_string();
        let path = loc.strip_prefix(&w.base).unwrap_or(&loc).to_string();
        if path == "/private/" {
            hops = format!("{} to {path}, then ", r.status);
            r = raw_get(port, &path, &[("Cookie", &cookie)]).expect("baseline request");
        }
    }
    let members = r.status == 200 && r.text().contains(MEMBERS_FILE);
    let what = format!("{hops}{}{}", r.status, if members { " Members page" } else { "" });
    t.row("baseline `/private/index.html`, session", "200 Members page", &what, members);

    for v in vectors() {
        let resolved = resolved_public(&v);
        let mut expected = "302 login, 401 or 400 path_refused".to_string();
        if !matches!(backend, Backend::Assets) {
            expected.push_str("; backend +0");
        }
        if let Some(p) = &resolved {
            expected.push_str(&format!("; or, as workerd resolves it to public `{p}`, forwarded as that"));
        }
        let mark = backend.mark();
        let resp = raw_get(port, &v, &[]);
        let seen = backend.since(mark);
        let (ok, what) = match &resp {
            Ok(r) => refusal(r, &w.base),
            Err(e) => (false, format!("no response ({e})")),
        };
        let (ok, what) = match backend {
            Backend::Assets => (ok, what),
            _ => {
                let what = match seen.first() {
                    None => format!("{what}, backend +0"),
                    Some(first) => format!("{what}, backend +{} (`{}`)", seen.len(), short(first, 60)),
                };
                (ok && seen.is_empty(), what)
            }
        };
        // workerd resolved the spelling to a plain public path before the Worker ran: the
        // Worker forwards exactly that path and no members bytes come back.
        let (ok, what) = match (&resp, &resolved) {
            (Ok(r), Some(p)) if !ok && !r.text().contains("Members page") && r.status != 400 => {
                let forwarded_as_resolved = match backend {
                    Backend::Assets => true,
                    Backend::Naive(_) => seen.len() == 1 && &seen[0] == p,
                    Backend::Nginx(_) => seen.len() == 1 && seen[0].contains(&format!("\"GET {p} HTTP/1.1\"")),
                };
                if forwarded_as_resolved {
                    (true, format!("{}, forwarded as public `{p}`{}", r.status, if matches!(backend, Backend::Assets) { "" } else { ", backend +1" }))
                } else {
                    (false, what)
                }
            }
            _ => (ok, what),
        };
        t.row(&format!("`{v}`"), &expected, &what, ok);
    }
}

/// Every vector with a session against the naive origin: whatever the answer, the origin never
/// received a target in a form other than the canonical one the gate checked.
fn forwarded_targets(w: &Worker, o: &NaiveOrigin, session: &str) {
    let mut t = Table::new("9-gate-forwarded-naive");
    let port = port_of(w);
    let cookie = format!("{SESSION_COOKIE}={session}");
    for v in vectors() {
        let mark = o.count();
        let status = match raw_get(port, &v, &[("Cookie", &cookie)]) {
            Ok(r) => r.status.to_string(),
            Err(e) => format!("no response ({e})"),
        };
        let got: Vec<String> = o.requests().into_iter().skip(mark).map(|r| r.target).collect();
        let bad: Vec<String> = got
            .iter()
            .filter_map(|g| non_canonical(g).map(|why| format!("`{}` ({why})", short(g, 60))))
            .collect();
        let observed = match (got.as_slice(), bad.is_empty()) {
            ([], _) => format!("{status}, origin got nothing"),
            ([one], true) => format!("{status}, origin got `{}`", short(one, 60)),
            (_, true) => format!("{status}, origin got {} requests", got.len()),
            (_, false) => format!("{status}, origin got {}", bad.join(", ")),
        };
        let ok = !status.starts_with("no response") && bad.is_empty() && got.len() <= 1;
        t.row(&format!("`{v}` with a session"), "origin gets nothing or a canonical target", &observed, ok);
    }
}

// ---- headers and cookies ----------------------------------------------------------------------

/// What is wrong with the one request the origin should have received.
fn forwarded_problems(got: &[Recorded], method: &str, target: &str, body: &[u8], sub: Option<&str>) -> Vec<String> {
    let [rec] = got else {
        return vec![format!("origin got {} requests", got.len())];
    };
    let mut p = Vec::new();
    if rec.method != method {
        p.push(format!("method {}", rec.method));
    }
    if rec.target != target {
        p.push(format!("target `{}`", short(&rec.target, 50)));
    }
    if rec.body != body {
        p.push(format!("body {} bytes, sent {}{}", rec.body.len(), body.len(), if rec.body.len() == body.len() { ", altered" } else { "" }));
    }
    let norm = |n: &str| n.to_ascii_lowercase().replace('_', "-");
    let subs: Vec<&str> = rec.headers.iter().filter(|(k, _)| norm(k) == "vipps-login-sub").map(|(_, v)| v.as_str()).collect();
    match sub {
        Some(s) if subs != [s] => p.push(format!("vipps-login-sub {subs:?}")),
        None if !subs.is_empty() => p.push(format!("vipps-login-sub {subs:?}")),
        _ => {}
    }
    for (k, _) in &rec.headers {
        let n = norm(k);
        if n.starts_with("vipps-login-") && n != "vipps-login-sub" {
            p.push(format!("kept `{k}`"));
        }
    }
    if rec.headers.iter().any(|(k, v)| k.to_ascii_lowercase().contains("attacker") || v.to_ascii_lowercase().contains("attacker")) {
        p.push("`attacker` in the headers".into());
    }
    let cookies = rec.headers_named("cookie").join("; ");
    if !cookies.split(';').any(|c| c.trim() == "theme=dark") {
        p.push("theme=dark dropped".into());
    }
    for own in [SESSION_COOKIE, LOGIN_COOKIE] {
        if cookies.contains(own) {
            p.push(format!("{own} forwarded"));
        }
    }
    p
}

fn header_variants(w: &Worker, o: &NaiveOrigin, session: &str, sub: &str) {
    let mut t = Table::new("9-gate-headers");
    let port = port_of(w);
    let variants: &[(&str, &[(&str, &str)])] = &[
        ("`Vipps_Login_Sub: attacker`", &[("Vipps_Login_Sub", "attacker")]),
        ("`VIPPS-LOGIN-SUB: attacker`", &[("VIPPS-LOGIN-SUB", "attacker")]),
        ("`vipps-login_sub: attacker`", &[("vipps-login_sub", "attacker")]),
        ("`Vipps-Login-Sub: attacker` twice", &[("Vipps-Login-Sub", "attacker"), ("Vipps-Login-Sub", "attacker")]),
        ("`Vipps-Login-Sub: attacker, other`", &[("Vipps-Login-Sub", "attacker, other")]),
        ("`Vipps-Login-Email: a@b`", &[("Vipps-Login-Email", "a@b")]),
        // A native app's bearer session token is ours, like our cookies: never forwarded.
        ("`Authorization: Bearer vel_…` (our bearer token's shape)", &[("Authorization", "Bearer vel_v1.attacker.mac")]),
    ];
    // Binary, larger than one read: it must arrive byte for byte.
    let post_body: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(7).wrapping_add(i >> 8) % 256) as u8).collect();
    let paths = [("/private/index.html?q=1&r=two%20words", "protected"), ("/assets/site.css?v=3&x=%2F", "public")];
    let with_session = format!("{LOGIN_COOKIE}=v1.junk.junk; theme=dark; {SESSION_COOKIE}={session}");
    let without_session = format!("{LOGIN_COOKIE}=v1.junk.junk; theme=dark");
    let mut runs: Vec<(&str, &str, &str, bool)> = Vec::new();
    for (target, kind) in paths {
        for method in ["GET", "POST", "OPTIONS", "HEAD"] {
            runs.push((target, kind, method, true));
        }
    }
    for method in ["GET", "POST", "OPTIONS", "HEAD"] {
        runs.push((paths[1].0, paths[1].1, method, false));
    }
    for (label, attack) in variants {
        for &(target, kind, method, logged_in) in &runs {
            let mut fields: Vec<(String, String)> = vec![("Accept".into(), "text/html".into())];
            fields.extend(attack.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let cookie = if logged_in { &with_session } else { &without_session };
            fields.push(("Cookie".into(), cookie.clone()));
            let body: &[u8] = if method == "POST" { &post_body } else { &[] };
            let mark = o.count();
            let resp = raw(port, method, target, &fields, body);
            let got: Vec<Recorded> = o.requests().into_iter().skip(mark).collect();
            let scenario = format!("{label} {method} {kind}{}", if logged_in { ", session" } else { ", no session" });
            let expected = if logged_in {
                "one vipps-login-sub = real sub, no other vipps-login-*, theme=dark kept, own cookies dropped; method, target, body unchanged"
            } else {
                "no vipps-login-*, theme=dark kept, own cookies dropped; method, target, body unchanged"
            };
            let (ok, observed) = match resp {
                Err(e) => (false, format!("no response ({e})")),
                Ok(r) if got.is_empty() && r.status == 400 && worker_code(&r.text()).is_none() => {
                    (true, "400 from workerd, nothing forwarded".to_string())
                }
                Ok(r) => {
                    let p = forwarded_problems(&got, method, target, body, if logged_in { Some(sub) } else { None });
                    if p.is_empty() {
                        (true, format!("{}, as expected", r.status))
                    } else {
                        (false, format!("{}, {}", r.status, p.join("; ")))
                    }
                }
            };
            t.row(&scenario, expected, &observed, ok);
        }
    }
}

// ---- cache headers ----------------------------------------------------------------------------

fn directives(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("")
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

fn names(v: &[String]) -> Vec<String> {
    v.iter().map(|d| d.split('=').next().unwrap_or("").trim().to_string()).collect()
}

/// Rule 4 on a response to a request with a session. `origin`: the Cache-Control and Vary the
/// origin sent, when the test knows them (`None` for the assets binding).
fn private_problems(r: &RawResp, origin: Option<(Option<&str>, Option<&str>)>) -> Vec<String> {
    let cc = r.joined("cache-control");
    let vary = r.joined("vary");
    let d = directives(cc.as_deref());
    let n = names(&d);
    let mut p = Vec::new();
    if !n.iter().any(|x| x == "private") {
        p.push("no private".to_string());
    }
    for bad in ["public", "s-maxage"] {
        if n.iter().any(|x| x == bad) {
            p.push(format!("{bad} kept"));
        }
    }
    let vary_tokens = directives(vary.as_deref());
    if !vary_tokens.iter().any(|x| x == "cookie" || x == "*") {
        p.push("Vary lacks Cookie".into());
    }
    if let Some((origin_cc, origin_vary)) = origin {
        match origin_cc {
            None => {
                let mut got = n.clone();
                got.sort();
                if got != ["no-cache", "private"] {
                    p.push("not exactly `private, no-cache`".into());
                }
            }
            Some(o) if names(&directives(Some(o))).iter().any(|x| x == "no-store") && !n.iter().any(|x| x == "no-store") => {
                p.push("no-store dropped".into())
            }
            _ => {}
        }
        for t in directives(origin_vary) {
            if !vary_tokens.contains(&t) {
                p.push(format!("origin's Vary {t} dropped"));
            }
        }
    }
    p
}

fn cache_observed(r: &RawResp) -> String {
    format!(
        "{}, cache-control `{}`, vary `{}`",
        r.status,
        r.joined("cache-control").unwrap_or_else(|| "none".into()),
        r.joined("vary").unwrap_or_else(|| "none".into())
    )
}

fn cache_naive(w: &Worker, o: &NaiveOrigin, session: &str) {
    let mut t = Table::new("9-gate-cache-naive");
    let port = port_of(w);
    let cookie = format!("theme=dark; {SESSION_COOKIE}={session}");
    let last_modified = "Wed, 21 Oct 2015 07:28:00 GMT";
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        ("(a) origin `public, max-age=600`", vec![("Cache-Control", "public, max-age=600")]),
        ("(b) origin no Cache-Control, Last-Modified", vec![("Last-Modified", last_modified)]),
        ("(c) origin `no-store`", vec![("Cache-Control", "no-store")]),
        (
            "(d) origin `public, s-maxage=300, max-age=60`, Vary Accept-Encoding",
            vec![("Cache-Control", "public, s-maxage=300, max-age=60"), ("Vary", "Accept-Encoding")],
        ),
    ];
    for (label, fields) in &cases {
        o.set_response_headers(fields);
        let get = |k: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| *v);
        let (origin_cc, origin_vary) = (get("cache-control"), get("vary"));
        let expected_private = match origin_cc {
            None => "exactly `private, no-cache`; Vary has Cookie".to_string(),
            Some(c) if c.contains("no-store") => "private and no-store, no public/s-maxage; Vary has Cookie".to_string(),
            Some(_) => format!(
                "private, no public/s-maxage; Vary has Cookie{}",
                origin_vary.map(|v| format!(" and {v}")).unwrap_or_default()
            ),
        };
        for (path, what) in [("/private/index.html", "protected"), ("/assets/site.css", "public")] {
            match raw_get(port, path, &[("Cookie", &cookie)]) {
                Ok(r) => {
                    let p = private_problems(&r, Some((origin_cc, origin_vary)));
                    let observed = if p.is_empty() { cache_observed(&r) } else { format!("{}: {}", cache_observed(&r), p.join("; ")) };
                    t.row(&format!("{label}: {what} `{path}`, session"), &expected_private, &observed, r.status == 200 && p.is_empty());
                }
                Err(e) => t.row(&format!("{label}: {what} `{path}`, session"), &expected_private, &format!("no response ({e})"), false),
            }
        }
        // Without a session the origin's fields pass untouched.
        let expected = format!(
            "unchanged: cache-control `{}`, vary `{}`",
            origin_cc.unwrap_or("none"),
            origin_vary.unwrap_or("none")
        );
        match raw_get(port, "/assets/site.css", &[("Cookie", "theme=dark")]) {
            Ok(r) => {
                let same = r.joined("cache-control").as_deref() == origin_cc
                    && r.joined("vary").as_deref() == origin_vary
                    && r.header("last-modified") == get("last-modified");
                t.row(&format!("{label}: public `/assets/site.css`, no session"), &expected, &cache_observed(&r), r.status == 200 && same);
            }
            Err(e) => t.row(&format!("{label}: public `/assets/site.css`, no session"), &expected, &format!("no response ({e})"), false),
        }
    }
    o.set_response_headers(&[]);
}

fn cache_assets(w: &Worker, session: &str) {
    let mut t = Table::new("9-gate-cache-assets");
    let port = port_of(w);
    let cookie = format!("{SESSION_COOKIE}={session}");
    // `/private/index.html` is the assets server's 307 to `/private/`: a forwarded response too.
    for (path, what, status) in [
        ("/private/", "protected", 200),
        ("/private/index.html", "protected", 307),
        ("/assets/site.css", "public", 200),
    ] {
        let scenario = format!("assets binding: {what} `{path}`, session");
        let expected = format!("{status}; private, no public/s-maxage; Vary has Cookie");
        match raw_get(port, path, &[("Cookie", &cookie)]) {
            Ok(r) => {
                let p = private_problems(&r, None);
                let observed = if p.is_empty() { cache_observed(&r) } else { format!("{}: {}", cache_observed(&r), p.join("; ")) };
                t.row(&scenario, &expected, &observed, r.status == status && p.is_empty());
            }
            Err(e) => t.row(&scenario, &expected, &format!("no response ({e})"), false),
        }
    }
    // Without a session the assets server's own fields pass through: nothing per-user added.
    let scenario = "assets binding: public `/assets/site.css`, no session";
    let expected = "the assets server's fields: no private or Vary Cookie added";
    match raw_get(port, "/assets/site.css", &[]) {
        Ok(r) => {
            let added = names(&directives(r.joined("cache-control").as_deref())).iter().any(|x| x == "private")
                || directives(r.joined("vary").as_deref()).iter().any(|x| x == "cookie");
            t.row(scenario, expected, &cache_observed(&r), r.status == 200 && !added);
        }
        Err(e) => t.row(scenario, expected, &format!("no response ({e})"), false),
    }
}

// ---- double-submitted callback ----------------------------------------------------------------

fn describe(r: &Resp) -> String {
    let code = worker_code(&r.body).map(|c| format!(" {c}")).unwrap_or_default();
    format!("{}{code}{}", r.status, if r.sets_session() { " + session" } else { ", no session" })
}

fn double_callback(w: &Worker) {
    let mut t = Table::new("9-gate-callback");

    // The same callback twice at once, same cookies, one isolate.
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, w, "/private/");
    let before = w.sim.count("token");
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (jar, cb, barrier) = (b.jar.clone(), cb.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut c = Browser::new();
                c.jar = jar;
                barrier.wait();
                let r = c.get(&cb);
                (r, c)
            })
        })
        .collect();
    let results: Vec<(Resp, Browser)> = handles.into_iter().map(|h| h.join().expect("callback thread")).collect();
    let tokens = w.sim.count("token") - before;
    let both = results.iter().all(|(r, _)| r.status == 303 && r.sets_session());
    let observed = results.iter().map(|(r, _)| describe(r)).collect::<Vec<_>>().join(", ");
    t.row("same callback twice concurrently, same cookies: answers", "303 + session, 303 + session", &observed, both);
    t.row("same callback twice concurrently: token endpoint calls", "1", &tokens.to_string(), tokens == 1);
    for (i, (r, mut c)) in results.into_iter().enumerate() {
        let scenario = format!("same callback twice concurrently: /auth/session with answer {}'s cookie", i + 1);
        if !r.sets_session() {
            t.row(&scenario, "200", "no session cookie to use", false);
            continue;
        }
        let s = c.get_json(&w.url("/auth/session"));
        t.row(&scenario, "200", &s.status.to_string(), s.status == 200);
    }

    // The same callback again, sequentially, with the cookies from before the first answer.
    let mut b = Browser::new();
    let (cb, _) = login_until_callback(&mut b, w, "/private/");
    let old = b.jar.clone();
    let first = b.get(&cb);
    let before = w.sim.count("token");
    let mut again = Browser::new();
    again.jar = old;
    let r = again.get(&cb);
    let tokens = w.sim.count("token") - before;
    t.row(
        "callback again within a minute with the pre-callback cookies",
        "first 303 + session; again 303 + session, token +0",
        &format!("first {}; again {}, token +{tokens}", describe(&first), describe(&r)),
        first.status == 303 && first.sets_session() && r.status == 303 && r.sets_session() && tokens == 0,
    );
    if r.sets_session() {
        let s = again.get_json(&w.url("/auth/session"));
        t.row("callback again: /auth/session with its cookie", "200", &s.status.to_string(), s.status == 200);
    } else {
        t.row("callback again: /auth/session with its cookie", "200", "no session cookie to use", false);
    }
}

// ---- the tests: one Worker per backend --------------------------------------------------------

#[test]
fn gate_with_the_assets_binding() {
    let w = start_worker("gate-assets", "assets");
    let (session, _) = session(&w);
    parts(vec![
        ("paths", Box::new(|| path_vectors("9-gate-paths-assets", &w, Backend::Assets, &session))),
        ("cache", Box::new(|| cache_assets(&w, &session))),
        ("callback", Box::new(|| double_callback(&w))),
    ]);
}

#[test]
fn gate_with_a_naive_decoding_origin() {
    let origin = NaiveOrigin::start();
    let w = start_worker("gate-naive", &origin.base());
    let (session, sub) = session(&w);
    parts(vec![
        ("paths", Box::new(|| path_vectors("9-gate-paths-naive", &w, Backend::Naive(&origin), &session))),
        ("forwarded", Box::new(|| forwarded_targets(&w, &origin, &session))),
        ("headers", Box::new(|| header_variants(&w, &origin, &session, &sub))),
        ("cache", Box::new(|| cache_naive(&w, &origin, &session))),
    ]);
}

#[test]
fn gate_with_nginx() {
    let nginx = Nginx::start("gate-nginx-origin");
    let w = start_worker("gate-nginx", &nginx.base());
    let (session, _) = session(&w);
    parts(vec![("paths", Box::new(|| path_vectors("9-gate-paths-nginx", &w, Backend::Nginx(&nginx), &session)))]);
}

/// A backend that does not answer (nothing listens on its port): a navigation gets the 502
/// page in the user's language with a reload of the page it wanted, an API client JSON with
/// the stable code; the session is not lost (no cookie cleared).
#[test]
fn gate_with_a_backend_that_does_not_answer() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let w = Worker::start(
        "gate-dead",
        &[("BACKEND", dead.as_str()), ("PUBLIC_PATHS", PUBLIC_PATHS), ("API_PATHS", "/private/api/*")],
        &[],
    );
    let (session, _) = session(&w);
    let cookie = format!("{SESSION_COOKIE}={session}");
    let mut t = Table::new("9-gate-backend-down");
    let port = port_of(&w);
    let nav = raw_get(
        port,
        "/private/page?x=1",
        &[("Cookie", cookie.as_str()), ("Accept", "text/html"), ("Accept-Language", "nb-NO,nb;q=0.9"), ("Sec-Fetch-Mode", "navigate")],
    )
    .unwrap();
    let body = nav.text();
    let ok = nav.status == 502
        && nav.header("content-language") == Some("nb")
        && body.contains(r#"href="/private/page?x=1""#)
        && nav.header("set-cookie").is_none();
    t.row(
        "navigation with a session, backend down, Norwegian browser",
        "502 page in nb, reload link to /private/page?x=1, no Set-Cookie",
        &format!("{} {:?} reload={} set-cookie={:?}", nav.status, nav.header("content-language"), body.contains("href=\"/private/page?x=1\""), nav.header("set-cookie")),
        ok,
    );
    let api = raw_get(port, "/private/api/items", &[("Cookie", cookie.as_str()), ("Accept", "application/json")]).unwrap();
    let code = worker_code(&api.text()).unwrap_or_default();
    t.row(
        "API client with a session, backend down",
        "502 JSON backend.unavailable",
        &format!("{} {code}", api.status),
        api.status == 502 && code == "backend.unavailable",
    );
    let public = raw_get(port, "/", &[("Accept", "text/html")]).unwrap();
    t.row(
        "public page without a session, backend down",
        "502 page with a reload link to /",
        &format!("{}", public.status),
        public.status == 502 && public.text().contains(r#"href="/""#),
    );
    assert!(w.log_shows("\"code\":\"backend.unavailable\"", std::time::Duration::from_secs(10)), "an operator sees the code");
}

/// The harness itself, without a Worker: the naive origin really is naive (it would serve the
/// members file for an encoded traversal), records what it got, and nginx starts and logs.
#[test]
fn harness_origins_are_naive_and_record() {
    assert_eq!(naive_resolve("/assets/..%2Fprivate%2Findex.html"), "/private/index.html");
    assert_eq!(naive_resolve("/assets/..%5cprivate\\index.html?x=..%2F"), "/private/index.html");
    assert_eq!(naive_resolve("//a/./b/%2E%2E/c/"), "/a/c/");
    assert_eq!(naive_resolve("/../../etc/passwd"), "/etc/passwd");
    let o = NaiveOrigin::start();
    let r = raw_get(o.port, "/assets/..%2Fprivate%2Findex.html", &[("Vipps_Login_Sub", "x")]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Members page"));
    let body = vec![b'z'; 300_000];
    let mut fields = vec![("X-A".to_string(), "1".to_string()), ("x-a".to_string(), "2".to_string())];
    fields.push(("Accept".into(), "application/json".into()));
    let r = raw(o.port, "POST", "/_echo/x?q=%2F", &fields, &body).unwrap();
    assert_eq!(r.status, 200);
    let echo: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["target"], "/_echo/x?q=%2F");
    assert_eq!(echo["body_len"], 300_000);
    let got = o.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].target, "/assets/..%2Fprivate%2Findex.html");
    assert_eq!(got[0].header("vipps_login_sub"), Some("x"));
    assert_eq!(got[1].headers_named("x-a"), ["1", "2"]);
    assert_eq!(got[1].body, body);
    o.set_response_headers(&[("Cache-Control", "no-store"), ("Vary", "Accept-Encoding")]);
    let r = raw(o.port, "HEAD", "/assets/site.css", &[], &[]).unwrap();
    assert_eq!((r.status, r.header("cache-control"), r.body.len()), (200, Some("no-store"), 0));
    o.clear();
    assert_eq!(o.count(), 0);

    let n = Nginx::start("gate-harness-nginx");
    let before = n.settled_log_len();
    let r = raw_get(n.port, "/private/index.html", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().contains(MEMBERS_FILE));
    let logged = n.requests_since(before);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].contains("\"GET /private/index.html HTTP/1.1\""), "{logged:?}");
    // nginx decodes %2F and resolves the dot segment itself: a gate that forwarded this
    // spelling unchecked would leak the members page.
    let r = raw_get(n.port, "/assets/..%2Fprivate%2Findex.html", &[]).unwrap();
    assert_eq!(r.status, 200, "nginx resolves encoded traversal");
    assert!(r.text().contains(MEMBERS_FILE));
}
