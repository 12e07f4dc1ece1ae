//! Access rules, API paths and front ends on other origins in workerd, against the simulator
//! with users chosen for the attacks (an email with two `@`, look-alike domains, an unverified
//! address) and a naive origin that records what it receives (tests/common/origin.rs): CORS on
//! the session route and preflights, absolute return URLs (the whole open-redirect corpus through
//! a real login), and logout's Origin / Sec-Fetch-Site check. Requests that matter are written
//! byte-exact on a raw socket, so no URL library normalises a path on the way.
//!
//! Each scenario records a row under target/conformance/ (suites `10-rules-*`); `make test` puts
//! them into CONFORMANCE.md. Run alone with `cargo test --test rules -- --test-threads=2`.

mod common;
use common::origin::*;
use common::table::*;
use common::*;

const SESSION_COOKIE: &str = "__Host-vipps-session";

// ---- the simulator's users ----------------------------------------------------------------------

/// A user for the simulator's `--config` file.
struct User {
    sub: &'static str,
    email: &'static str,
    verified: bool,
    phone: &'static str,
}

const KARI: User = User { sub: "rules-kari", email: "kari.nordmann@example.com", verified: true, phone: "4791234567" };
const OLA: User = User { sub: "rules-ola", email: "ola.nordmann@example.com", verified: true, phone: "4792345678" };
const UPPER: User = User { sub: "rules-upper", email: "PER.HANSEN@EXAMPLE.COM", verified: true, phone: "4794567890" };
const UNVERIFIED: User = User { sub: "rules-unverified", email: "ase.bjornstad@example.com", verified: false, phone: "4793456789" };
const TWO_AT: User = User { sub: "rules-two-at", email: "mallory@evil.example@example.com", verified: true, phone: "4790000001" };
const SUFFIX: User = User { sub: "rules-suffix", email: "mallory@evil-example.com", verified: true, phone: "4790000002" };
const SUBDOMAIN: User = User { sub: "rules-subdomain", email: "mallory@sub.example.com", verified: true, phone: "4790000003" };
const TRAILING_DOT: User = User { sub: "rules-trailing-dot", email: "mallory@example.com.", verified: true, phone: "4790000004" };
const USERS: [&User; 8] = [&KARI, &OLA, &UPPER, &UNVERIFIED, &TWO_AT, &SUFFIX, &SUBDOMAIN, &TRAILING_DOT];

/// Writes the users to a `--config` file for the simulator; returns its path.
fn users_file(name: &str) -> String {
    let users: Vec<serde_json::Value> = USERS
        .iter()
        .map(|u| {
            serde_json::json!({"sub": u.sub, "name": format!("Test {}", u.sub), "email": u.email,
                "email_verified": u.verified, "phone_number": u.phone})
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-users.json"));
    std::fs::write(&path, serde_json::json!({ "users": users }).to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

/// A full login as `user`: the session cookie's value.
fn session_of(w: &Worker, user: &User) -> String {
    let mut b = Browser::new();
    let (cb, sub) = login_until_callback_as(&mut b, w, "/", Some(user.sub));
    assert_eq!(sub, user.sub);
    let r = b.get(&cb);
    assert_eq!(r.status, 303, "callback for {}: {}", user.sub, r.body);
    b.jar[SESSION_COOKIE].clone()
}

// ---- helpers ------------------------------------------------------------------------------------

/// What came back and what the origin received, in one line.
struct Seen {
    status: u16,
    code: Option<String>,
    json: bool,
    location: Option<String>,
    cookies: usize,
    origin: Vec<Recorded>,
}

impl Seen {
    fn describe(&self) -> String {
        let mut s = self.status.to_string();
        if let Some(c) = &self.code {
            s.push_str(&format!(" {c} {}", if self.json { "JSON" } else { "page" }));
        }
        if let Some(l) = &self.location {
            s.push_str(&format!(" to `{l}`"));
        }
        if self.cookies > 0 {
            s.push_str(&format!(", {} Set-Cookie", self.cookies));
        }
        match self.origin.as_slice() {
            [] => s.push_str(", origin +0"),
            [one] => s.push_str(&format!(", origin +1 (sub {:?})", subs(one))),
            more => s.push_str(&format!(", origin +{}", more.len())),
        }
        s
    }

    /// Refused with exactly this status and code, in this form, nothing set, nothing forwarded.
    fn refused(&self, status: u16, code: &str, json: bool) -> bool {
        self.status == status && self.code.as_deref() == Some(code) && self.json == json && self.location.is_none() && self.cookies == 0 && self.origin.is_empty()
    }

    /// Forwarded once, with exactly one identity header: the user's own sub; the answer is the
    /// origin's (its 200 or 404), not one of the Worker's refusals.
    fn forwarded_as(&self, sub: &str) -> bool {
        self.code.is_none() && matches!(self.origin.as_slice(), [one] if subs(one) == [sub])
    }
}

/// Every `vipps-login-sub` the origin got, in any spelling.
fn subs(r: &Recorded) -> Vec<String> {
    r.headers.iter().filter(|(k, _)| k.to_ascii_lowercase().replace('_', "-") == "vipps-login-sub").map(|(_, v)| v.clone()).collect()
}

fn send(w: &Worker, o: &NaiveOrigin, method: &str, target: &str, fields: &[(&str, &str)]) -> Seen {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mark = o.count();
    let r = raw(port_of(w), method, target, &fields, &[]).unwrap_or_else(|e| panic!("{method} {target}: {e}"));
    let text = r.text();
    Seen {
        status: r.status,
        code: worker_code(&text),
        json: r.header("content-type").is_some_and(|c| c.starts_with("application/json")),
        location: r.header("location").map(String::from),
        cookies: r.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).count(),
        origin: o.requests().into_iter().skip(mark).collect(),
    }
}

const PAGE: (&str, &str) = ("Accept", "text/html");
const API: (&str, &str) = ("Accept", "application/json");

// ---- rules and API paths ------------------------------------------------------------------------

const RULES: &str = "/private/* = domain:example.com\n/admin/* = email:ola.nordmann@example.com, sub:rules-kari\n/phone/* = phone:+47 912 34 567";

fn access(w: &Worker, o: &NaiveOrigin) {
    let mut t = Table::new("10-rules-access");
    let sessions: Vec<(&User, String)> = USERS.iter().map(|u| (*u, session_of(w, u))).collect();
    // Who each rule admits: `/private/*` a verified address on exactly example.com (any case),
    // `/admin/*` Ola's address or Kari's sub, `/phone/*` Kari's number.
    let admitted = |u: &User, path: &str| match path {
        "/private/x" => [KARI.sub, OLA.sub, UPPER.sub].contains(&u.sub),
        "/admin/x" => [KARI.sub, OLA.sub].contains(&u.sub),
        "/phone/x" => u.sub == KARI.sub,
        _ => true,
    };
    for (user, session) in &sessions {
        let cookie = format!("{SESSION_COOKIE}={session}");
        for path in ["/private/x", "/admin/x", "/phone/x", "/elsewhere"] {
            let label = format!("{} ({}{}) GET `{path}`", user.sub, user.email, if user.verified { "" } else { ", unverified" });
            let seen = send(w, o, "GET", path, &[PAGE, ("Cookie", &cookie)]);
            if admitted(user, path) {
                t.row(&label, "origin's answer, origin +1 with the user's sub", &seen.describe(), seen.forwarded_as(user.sub));
            } else {
                t.row(&label, "403 access.forbidden page, no Set-Cookie, origin +0", &seen.describe(), seen.refused(403, "access.forbidden", false));
                let seen = send(w, o, "GET", path, &[API, ("Cookie", &cookie)]);
                t.row(&format!("{label}, API client"), "403 access.forbidden JSON, no Set-Cookie, origin +0", &seen.describe(), seen.refused(403, "access.forbidden", true));
            }
        }
    }
    // Spellings of a ruled path, by a user the rule refuses: decided on the canonical path.
    let suffix = &sessions.iter().find(|(u, _)| u.sub == SUFFIX.sub).unwrap().1;
    let cookie = format!("{SESSION_COOKIE}={suffix}");
    for target in ["/PRIVATE/x", "/Private/x", "/%70rivate/x", "/%50RIVATE/x", "/private/%78", "/private/x?y=1"] {
        let seen = send(w, o, "GET", target, &[PAGE, ("Cookie", &cookie)]);
        t.row(&format!("{} GET `{target}`", SUFFIX.sub), "403 access.forbidden page, origin +0", &seen.describe(), seen.refused(403, "access.forbidden", false));
    }
    for target in ["/private/..%2Fx", "/private%2Fx", "/admin;x/", "/private/./x"] {
        let seen = send(w, o, "GET", target, &[PAGE, ("Cookie", &cookie)]);
        let ok = seen.origin.is_empty() && (seen.refused(400, "request.path_refused", false) || seen.refused(403, "access.forbidden", false));
        t.row(&format!("{} GET `{target}`", SUFFIX.sub), "400 request.path_refused or 403, origin +0", &seen.describe(), ok);
    }
    // The gate's path-attack corpus with a session the `/private/*` rule refuses: whatever an
    // origin could read as `/private...` is refused (400, or 400 from workerd) or ruled (403).
    for v in vectors() {
        let mark = o.count();
        let resp = raw(port_of(w), "GET", &v, &[("Accept".into(), "text/html".into()), ("Cookie".into(), cookie.clone())], &[]);
        let got: Vec<String> = o.requests().into_iter().skip(mark).map(|r| r.target).collect();
        let leaked: Vec<&String> = got.iter().filter(|g| naive_resolve(g).to_ascii_lowercase().starts_with("/private")).collect();
        let (status, code) = match &resp {
            Ok(r) => (r.status.to_string(), worker_code(&r.text())),
            Err(e) => (format!("no response ({e})"), None),
        };
        let refused = matches!(code.as_deref(), Some("request.path_refused" | "access.forbidden")) || (status == "400" && code.is_none());
        let ok = resp.is_ok() && leaked.is_empty() && (refused || !got.is_empty());
        let code_text = code.map(|c| format!(" {c}")).unwrap_or_default();
        let observed = format!("{status}{code_text}, origin +{}{}", got.len(), if leaked.is_empty() { String::new() } else { format!(" LEAKED {leaked:?}") });
        t.row(&format!("{} GET `{v}`", SUFFIX.sub), "400 or 403 for anything an origin reads as /private; other paths forwarded as themselves", &observed, ok);
    }
    // Every method is ruled, not only GET.
    for method in ["POST", "PUT", "DELETE", "PATCH", "HEAD"] {
        let seen = send(w, o, method, "/admin/x", &[API, ("Cookie", &cookie)]);
        let ok = seen.status == 403 && seen.origin.is_empty() && seen.cookies == 0 && (method == "HEAD" || seen.code.as_deref() == Some("access.forbidden"));
        t.row(&format!("{} {method} `/admin/x`", SUFFIX.sub), "403 access.forbidden, origin +0", &seen.describe(), ok);
    }
    // The session keeps the claims the rules read, though SESSION_CLAIMS lists only `name`.
    let mut b = Browser::new();
    b.jar.insert(SESSION_COOKIE.into(), sessions[0].1.clone());
    let s = b.get_json(&w.url("/auth/session"));
    let v: serde_json::Value = serde_json::from_str(&s.body).unwrap_or_default();
    let kept = ["email", "email_verified", "phone_number", "name"].iter().all(|c| v.get(*c).is_some());
    t.row("`/auth/session` with SESSION_CLAIMS=name and rules on email and phone", "200 with email, email_verified, phone_number, name", &format!("{} {}", s.status, short_keys(&v)), s.status == 200 && kept);
    // The Worker's log lines name rules by number and users by hash: no address or number.
    let log: String = w.log().lines().filter(|l| l.contains("{\"code\":")).collect::<Vec<_>>().join("\n");
    let leaked: Vec<&str> = USERS.iter().flat_map(|u| [u.email, u.phone]).filter(|pii| log.contains(*pii)).collect();
    t.row("wrangler log after the refusals", "access.forbidden with `sub#`, no email or phone", &format!("access.forbidden {}, leaked {leaked:?}", log.contains("access.forbidden")), log.contains("access.forbidden") && log.contains("sub#") && leaked.is_empty());
}

fn short_keys(v: &serde_json::Value) -> String {
    v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>().join(",")).unwrap_or_default()
}

fn api_paths(w: &Worker, o: &NaiveOrigin) {
    let mut t = Table::new("10-rules-api");
    let ola = format!("{SESSION_COOKIE}={}", session_of(w, &OLA));
    let suffix = format!("{SESSION_COOKIE}={}", session_of(w, &SUFFIX));
    /// method, target, fields, expected
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("GET", "/api/orders", &[PAGE], "401 session.required JSON"),
        ("GET", "/API/orders", &[PAGE, ("Sec-Fetch-Mode", "navigate")], "401 session.required JSON"),
        ("POST", "/api/orders", &[API], "401 session.required JSON"),
        ("GET", "/admin/api/x", &[PAGE], "401 session.required JSON"),
        ("GET", "/admin/x", &[PAGE], "302 login"),
    ];
    for (method, target, fields, expected) in cases {
        let seen = send(w, o, method, target, fields);
        let ok = match *expected {
            "302 login" => seen.status == 302 && seen.location.as_deref() == Some("/auth/login?return_to=%2Fadmin%2Fx") && seen.origin.is_empty(),
            _ => seen.refused(401, "session.required", true),
        };
        t.row(&format!("no session, {method} `{target}` {fields:?}"), &format!("{expected}, no Set-Cookie, origin +0"), &seen.describe(), ok);
    }
    let seen = send(w, o, "GET", "/admin/api/x", &[PAGE, ("Cookie", &suffix)]);
    t.row("refused user, navigation to `/admin/api/x`", "403 access.forbidden JSON, origin +0", &seen.describe(), seen.refused(403, "access.forbidden", true));
    let seen = send(w, o, "GET", "/admin/api/x", &[API, ("Cookie", &ola)]);
    t.row("admitted user, `/admin/api/x`", "origin's answer, origin +1 with the user's sub", &seen.describe(), seen.forwarded_as(OLA.sub));
}

/// Forged identity headers never help a refused user and never reach the origin.
fn forged_headers(w: &Worker, o: &NaiveOrigin) {
    let mut t = Table::new("10-rules-headers");
    let ola = format!("{SESSION_COOKIE}={}", session_of(w, &OLA));
    let suffix = format!("{SESSION_COOKIE}={}", session_of(w, &SUFFIX));
    let forgeries: &[(&str, &str)] =
        &[("Vipps-Login-Sub", OLA.sub), ("Vipps_Login_Sub", OLA.sub), ("VIPPS-LOGIN-EMAIL", OLA.email), ("vipps-login_phone-number", KARI.phone)];
    for (name, value) in forgeries {
        let seen = send(w, o, "GET", "/admin/x", &[PAGE, (name, value), ("Cookie", &suffix)]);
        t.row(&format!("refused user sends `{name}: {value}`"), "403 access.forbidden, origin +0", &seen.describe(), seen.refused(403, "access.forbidden", false));
        let seen = send(w, o, "GET", "/admin/x", &[PAGE, (name, "attacker"), ("Cookie", &ola)]);
        let clean = matches!(seen.origin.as_slice(), [one] if !one.headers.iter().any(|(k, v)| {
            let n = k.to_ascii_lowercase().replace('_', "-");
            v.contains("attacker") || (n.starts_with("vipps-login-") && n != "vipps-login-sub")
        }));
        t.row(&format!("admitted user sends `{name}: attacker`"), "origin's answer, origin +1 with only the real sub", &seen.describe(), seen.forwarded_as(OLA.sub) && clean);
    }
}

#[test]
fn rules_and_api_paths() {
    let origin = NaiveOrigin::start();
    let users = users_file("rules-access");
    let vars = [
        ("BACKEND", origin.base()),
        ("PUBLIC_PATHS", "/, /assets/*".to_string()),
        ("ACCESS_RULES", RULES.to_string()),
        ("API_PATHS", "/api/*, /admin/api/*".to_string()),
        ("VIPPS_SCOPE", "openid name email phoneNumber".to_string()),
        ("SESSION_CLAIMS", "name".to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let w = Worker::start("rules-access", &vars, &["--config", &users]);
    parts(vec![
        ("access", Box::new(|| access(&w, &origin))),
        ("api", Box::new(|| api_paths(&w, &origin))),
        ("headers", Box::new(|| forged_headers(&w, &origin))),
    ]);
}

// ---- front ends ---------------------------------------------------------------------------------

const APP: &str = "https://app.example.com";
const LOCAL_APP: &str = "http://localhost:5173";

/// The CORS headers of an answer: allow-origin, allow-credentials, vary.
fn cors(r: &RawResp) -> (Option<String>, Option<String>, Option<String>) {
    (r.joined("access-control-allow-origin"), r.joined("access-control-allow-credentials"), r.joined("vary"))
}

fn describe_cors(r: &RawResp) -> String {
    let (o, c, v) = cors(r);
    let extra: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-") && !k.eq_ignore_ascii_case("access-control-allow-origin") && !k.eq_ignore_ascii_case("access-control-allow-credentials"))
        .map(|(k, v)| format!("{}: {v}", k.to_ascii_lowercase()))
        .collect();
    format!("{}, ACAO {o:?}, ACAC {c:?}, Vary {v:?}{}", r.status, if extra.is_empty() { String::new() } else { format!(", {}", extra.join(", ")) })
}

fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn cors_session(w: &Worker, o: &NaiveOrigin) {
    let mut t = Table::new("10-rules-cors");
    let port = port_of(w);
    let cookie = format!("{SESSION_COOKIE}={}", session_of(w, &KARI));
    let allowed = |r: &RawResp, origin: &str| cors(r) == (Some(origin.into()), Some("true".into()), Some("Origin".into()));
    let none = |r: &RawResp| matches!(cors(r), (None, None, Some(v)) if v == "Origin");
    for origin in [APP, LOCAL_APP] {
        let r = raw(port, "GET", "/auth/session", &fields(&[("Origin", origin), ("Cookie", &cookie)]), &[]).unwrap();
        t.row(&format!("GET /auth/session, session, Origin `{origin}`"), &format!("200, ACAO {origin}, ACAC true, Vary Origin"), &describe_cors(&r), r.status == 200 && allowed(&r, origin) && r.text().contains(KARI.sub));
        let r = raw(port, "GET", "/auth/session", &fields(&[("Origin", origin)]), &[]).unwrap();
        t.row(&format!("GET /auth/session, no session, Origin `{origin}`"), &format!("401 readable: ACAO {origin}, ACAC true"), &describe_cors(&r), r.status == 401 && allowed(&r, origin));
    }
    for other in ["https://evil.example", "https://app.example.com.evil.example", "https://APP.example.com", "http://app.example.com", "https://app.example.com:443", "null", "http://localhost:5174"] {
        let r = raw(port, "GET", "/auth/session", &fields(&[("Origin", other), ("Cookie", &cookie)]), &[]).unwrap();
        t.row(&format!("GET /auth/session, session, Origin `{other}`"), "200, no ACAO or ACAC, Vary Origin", &describe_cors(&r), r.status == 200 && none(&r));
    }
    // Preflights: answered by the Worker on the routes front ends call, never gated or forwarded.
    for (path, methods) in [("/auth/session", "GET, HEAD"), ("/auth/logout", "GET, HEAD, POST"), ("/private/x", "GET, HEAD, POST, PUT, PATCH, DELETE"), ("/api/orders", "GET, HEAD, POST, PUT, PATCH, DELETE")] {
        for (origin, ok) in [(APP, true), ("https://evil.example", false)] {
            let mark = o.count();
            let h = fields(&[("Origin", origin), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type"), ("Vipps-Login-Sub", "attacker")]);
            let r = raw(port, "OPTIONS", path, &h, &[]).unwrap();
            let seen = o.count() - mark;
            let has = |k: &str, v: &str| r.header(k) == Some(v);
            let pass = r.status == 204
                && seen == 0
                && r.header("location").is_none()
                && r.header("set-cookie").is_none()
                && if ok {
                    allowed(&r, origin) && has("access-control-allow-methods", methods) && has("access-control-allow-headers", "Accept, Content-Type") && has("access-control-max-age", "600")
                } else {
                    none(&r) && !r.headers.iter().any(|(k, _)| k.to_ascii_lowercase().starts_with("access-control-"))
                };
            let expected = if ok { format!("204, ACAO {origin}, ACAC true, methods {methods}, headers, max-age 600; origin +0") } else { "204 without any access-control-* header; origin +0".to_string() };
            t.row(&format!("preflight `{path}` from `{origin}`"), &expected, &format!("{}; origin +{seen}", describe_cors(&r)), pass);
        }
    }
    // A public path is the origin's: its preflight is forwarded, without the forged header.
    let mark = o.count();
    let r = raw(port, "OPTIONS", "/assets/site.css", &fields(&[("Origin", APP), ("Access-Control-Request-Method", "GET"), ("Vipps-Login-Sub", "attacker")]), &[]).unwrap();
    let got: Vec<Recorded> = o.requests().into_iter().skip(mark).collect();
    let clean = matches!(got.as_slice(), [one] if one.method == "OPTIONS" && subs(one).is_empty());
    t.row("preflight on public `/assets/site.css`", "forwarded to the origin (its answer), origin +1 without vipps-login-*", &format!("{}, origin +{}", r.status, got.len()), clean && worker_code(&r.text()).is_none());
    // An OPTIONS that is not a preflight is gated like any other request.
    let mark = o.count();
    let r = raw(port, "OPTIONS", "/private/x", &fields(&[("Origin", APP), ("Accept", "text/html")]), &[]).unwrap();
    let seen = o.count() - mark;
    t.row("OPTIONS `/private/x` without Access-Control-Request-Method, no session", "401 session.required, origin +0", &format!("{} {:?}, origin +{seen}", r.status, worker_code(&r.text())), r.status == 401 && worker_code(&r.text()).as_deref() == Some("session.required") && seen == 0);
}

/// Every vector of tests/data/open-redirects.txt as `return_to` of a real login: refusals land
/// on `/`, accepted ones exactly where the corpus says.
fn return_to(w: &Worker) {
    let mut t = Table::new("10-rules-return-to");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/open-redirects.txt");
    let corpus = std::fs::read_to_string(&path).unwrap();
    for line in corpus.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (input, want) = match line.strip_prefix("ok ").and_then(|r| r.split_once(" -> ")) {
            Some((i, w)) => (i, w),
            None => (line, "/"),
        };
        let raw_input = input.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\x00", "\0");
        let mut b = Browser::new();
        let (cb, _) = login_until_callback(&mut b, w, &raw_input);
        let r = b.get(&cb);
        let location = r.location.clone().unwrap_or_default();
        t.row(&format!("return_to `{input}`"), &format!("303 to `{want}` + session"), &format!("{} to `{location}`{}", r.status, if r.sets_session() { " + session" } else { "" }), r.status == 303 && location == want && r.sets_session());
    }
}

fn logout(w: &Worker) {
    let mut t = Table::new("10-rules-logout");
    let port = port_of(w);
    /// label, request headers, accepted
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("Origin: the Worker's own", &[("Origin", "SELF")], true),
        ("Origin: a configured front end", &[("Origin", APP)], true),
        ("Origin: the other front end, Sec-Fetch-Site cross-site", &[("Origin", LOCAL_APP), ("Sec-Fetch-Site", "cross-site")], true),
        ("no Origin, Sec-Fetch-Site same-origin", &[("Sec-Fetch-Site", "same-origin")], true),
        ("no Origin, Sec-Fetch-Site none", &[("Sec-Fetch-Site", "none")], true),
        ("neither header (not a browser)", &[], true),
        ("Origin: another site", &[("Origin", "https://evil.example")], false),
        ("Origin: null", &[("Origin", "null")], false),
        ("Origin: look-alike of the front end", &[("Origin", "https://app.example.com.evil.example")], false),
        ("Origin: another site, Sec-Fetch-Site same-origin", &[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "same-origin")], false),
        ("no Origin, Sec-Fetch-Site cross-site", &[("Sec-Fetch-Site", "cross-site")], false),
        ("no Origin, Sec-Fetch-Site same-site", &[("Sec-Fetch-Site", "same-site")], false),
    ];
    for (label, headers, ok) in cases {
        let session = session_of(w, &OLA);
        let cookie = format!("{SESSION_COOKIE}={session}");
        let mut h: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), if *v == "SELF" { w.base.clone() } else { v.to_string() })).collect();
        h.push(("Accept".into(), "application/json".into()));
        h.push(("Cookie".into(), cookie.clone()));
        let r = raw(port, "POST", "/auth/logout", &h, &[]).unwrap();
        let cleared = r.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with(&format!("{SESSION_COOKIE}=;")) && v.contains("Max-Age=0"));
        let sets = r.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).count();
        let code = worker_code(&r.text());
        let code_text = code.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
        let observed = format!("{}{code_text}{}", r.status, if cleared { ", session cleared" } else if sets > 0 { ", other Set-Cookie" } else { ", no Set-Cookie" });
        if *ok {
            t.row(&format!("POST /auth/logout, {label}"), "200, session cleared", &observed, r.status == 200 && cleared);
        } else {
            t.row(&format!("POST /auth/logout, {label}"), "403 logout.bad_origin, no Set-Cookie", &observed, r.status == 403 && code.as_deref() == Some("logout.bad_origin") && sets == 0);
        }
    }
    // A form post from the front end lands on LOGOUT_REDIRECT; a fetch reads JSON with CORS.
    let cookie = format!("{SESSION_COOKIE}={}", session_of(w, &OLA));
    let r = raw(port, "POST", "/auth/logout", &fields(&[("Origin", APP), ("Accept", "text/html"), ("Sec-Fetch-Mode", "navigate"), ("Cookie", &cookie)]), &[]).unwrap();
    t.row("form post from the front end", "303 to `https://app.example.com/bye`", &format!("{} to {:?}", r.status, r.header("location")), r.status == 303 && r.header("location") == Some("https://app.example.com/bye"));
    let cookie = format!("{SESSION_COOKIE}={}", session_of(w, &OLA));
    let r = raw(port, "POST", "/auth/logout", &fields(&[("Origin", APP), ("Accept", "*/*"), ("Cookie", &cookie)]), &[]).unwrap();
    t.row("fetch from the front end", "200 JSON, ACAO front end, ACAC true", &describe_cors(&r), r.status == 200 && cors(&r).0.as_deref() == Some(APP) && cors(&r).1.as_deref() == Some("true"));
}

#[test]
fn front_ends() {
    let origin = NaiveOrigin::start();
    let vars = [
        ("BACKEND", origin.base()),
        ("PUBLIC_PATHS", "/, /assets/*".to_string()),
        ("API_PATHS", "/api/*".to_string()),
        ("CORS_ORIGINS", format!("{APP}, {LOCAL_APP}")),
        ("LOGOUT_REDIRECT", "https://app.example.com/bye".to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let users = users_file("rules-front-ends");
    let w = Worker::start("rules-front-ends", &vars, &["--config", &users]);
    parts(vec![
        ("cors", Box::new(|| cors_session(&w, &origin))),
        ("return_to", Box::new(|| return_to(&w))),
        ("logout", Box::new(|| logout(&w))),
    ]);
}
