//! The request handler. Written against [`Platform`], so every flow runs natively in tests.
//!
//! One [`App`] lives per isolate: it holds the parsed configuration and the in-memory copies of
//! discovery and JWKS. Errors become responses in exactly one place, [`App::error_reply`],
//! which also logs them once with their stable code.

use crate::cache::{self, CachedDoc, Freshness};
use crate::config::{Config, ConfigErrors};
use crate::error::{Code, Error};
use crate::gate::{self, AuthRoute, Route};
use crate::http::{IncomingRequest, InboundResponse, Outcome, OutboundRequest, Reply};
use crate::oidc::{authorize, callback, discovery, discovery::Discovery, id_token, jwks, jwks::Jwks, token, userinfo};
use crate::pages;
use crate::policy::forward::Forward;
use crate::policy::path::CanonicalPath;
use crate::platform::{FetchError, Level, Platform};
use crate::return_to::SafeReturnPath;
use crate::session::exchanges::{Exchanges, Join};
use crate::session::{cookie, user::SESSION_COOKIE, Session, TransactionCookie};
use crate::util::b64url;
use crate::webhook::{self, Event, Protection};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// At most one forced JWKS refetch (unknown `kid`) per this many seconds.
pub const JWKS_REFETCH_INTERVAL: u64 = 60;
/// Revocations this isolate remembers without asking KV (it is cleared when full).
const MAX_REMEMBERED_REVOCATIONS: usize = 10_000;

/// KV key of the latest consent revocation for a `sub`, by its [`webhook::sub_handle`] (no
/// identifiers in key lists).
pub fn revocation_key(handle: &str) -> String {
    format!("consent-revoked:v1:{handle}")
}

/// A stored revocation time.
fn parse_revoked_at(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

struct Memo<T> {
    doc: CachedDoc,
    value: Rc<T>,
}

pub struct App {
    config: Result<Config, ConfigErrors>,
    config_logged: Cell<bool>,
    discovery: RefCell<Option<Memo<Discovery>>>,
    jwks: RefCell<Option<Memo<Jwks>>>,
    last_forced_jwks: Cell<Option<u64>>,
    /// sub handle -> latest revocation time, learnt from webhooks and KV in this isolate.
    revoked: RefCell<HashMap<String, u64>>,
    /// Code exchanges running or just done, so a double-submitted callback logs in once.
    exchanges: Exchanges,
}

/// How long this request may still spend waiting on other servers. A callback makes up to
/// five calls in a row (discovery, JWKS, token, a JWKS refetch, userinfo); each gets the
/// per-call timeout or what is left of `UPSTREAM_DEADLINE_MS`, whichever is shorter.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    end_ms: u64,
    per_call_ms: u64,
}

impl Budget {
    pub fn new(now_ms: u64, config: &Config) -> Budget {
        Budget { end_ms: now_ms.saturating_add(config.upstream_deadline_ms), per_call_ms: config.upstream_timeout_ms }
    }
    /// The timeout for the next call, or `None` once the budget is spent.
    pub fn next_timeout(&self, now_ms: u64) -> Option<u64> {
        let left = self.end_ms.saturating_sub(now_ms);
        (left >= MIN_CALL_MS).then(|| left.min(self.per_call_ms))
    }
}

/// A call with less time than this left is not started.
const MIN_CALL_MS: u64 = 50;

/// The session a request carries, after revocation checks, and a cookie to set with the
/// answer (a re-issued session after a check, or a clearing one after a revocation).
struct CurrentSession {
    session: Option<Session>,
    set_cookie: Option<String>,
}

enum DocKind {
    Discovery,
    Jwks,
}

impl DocKind {
    fn name(&self) -> &'static str {
        match self {
            DocKind::Discovery => "discovery",
            DocKind::Jwks => "jwks",
        }
    }
    fn unavailable(&self) -> Code {
        match self {
            DocKind::Discovery => Code::DiscoveryUnavailable,
            DocKind::Jwks => Code::JwksUnavailable,
        }
    }
    fn invalid(&self) -> Code {
        match self {
            DocKind::Discovery => Code::DiscoveryInvalid,
            DocKind::Jwks => Code::JwksInvalid,
        }
    }
}

/// Result of the callback: the response (or error) plus the transaction cookie update, which
/// goes out either way so a consumed state stays consumed.
struct CallbackResult {
    result: Result<Reply, Error>,
    tx_cookie: Option<String>,
}

/// The JSON error API clients get: the stable code and the user-facing sentence.
fn error_json(code: Code) -> Reply {
    let (_, message) = code.user_text();
    Reply::json(code.status(), &serde_json::json!({"error": code.as_str(), "message": message}))
}

impl App {
    pub fn new(config: Result<Config, ConfigErrors>) -> App {
        App {
            config,
            config_logged: Cell::new(false),
            discovery: RefCell::new(None),
            jwks: RefCell::new(None),
            last_forced_jwks: Cell::new(None),
            revoked: RefCell::new(HashMap::new()),
            exchanges: Exchanges::default(),
        }
    }

    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref().ok()
    }

    /// Whether the edge must read this request's body (and `content-type`) before calling
    /// [`App::handle`]: only for a POST to the consent webhook.
    pub fn reads_body(&self, method: &str, path: &str) -> bool {
        method == "POST"
            && self.config().is_some_and(|c| {
                CanonicalPath::parse(path).is_ok_and(|p| gate::route(c, &p) == Route::Auth(AuthRoute::ConsentWebhook))
            })
    }

    /// Handles one request.
    pub async fn handle<P: Platform>(&self, p: &P, req: &IncomingRequest) -> Outcome {
        let config = match &self.config {
            Ok(c) => c,
            Err(errors) => return Outcome::Reply(self.config_error(p, errors)),
        };
        // Every rule below is decided on the canonical path, and the backend gets exactly it.
        let path = match CanonicalPath::parse(req.url.path()) {
            Ok(path) => path,
            Err(why) => {
                let e = Error::new(Code::PathRefused, format!("path refused: {}", why.as_str()));
                return Outcome::Reply(self.error_reply(p, config, req, &e, false));
            }
        };
        let route = gate::route(config, &path);
        // Only routes that call other servers read the clock for a budget: not the hot path.
        let budget = || Budget::new(p.now_millis(), config);
        let mut extra_cookie = None;
        let result = match route {
            Route::Auth(AuthRoute::Login) => self.login(p, config, req, &budget()).await,
            Route::Auth(AuthRoute::Callback) => {
                let r = self.callback(p, config, req, &budget()).await;
                let reply = match r.result {
                    Ok(reply) => reply,
                    Err(e) => self.error_reply(p, config, req, &e, true),
                };
                return Outcome::Reply(match r.tx_cookie {
                    Some(c) => reply.with_cookie(c),
                    None => reply,
                });
            }
            Route::Auth(AuthRoute::Session) => {
                let current = self.current_session(p, config, req).await;
                extra_cookie = current.set_cookie;
                self.session(req, current.session)
            }
            Route::Auth(AuthRoute::Logout) => self.logout(config, req),
            Route::Auth(AuthRoute::ConsentWebhook) => self.consent_webhook(p, config, req, &budget()).await,
            Route::AuthUnknown => Err(Error::from(Code::NotFound)),
            Route::Public => {
                let current = self.current_session(p, config, req).await;
                return Outcome::Forward(Forward { path, user: current.session.map(|s| s.sub), set_cookie: current.set_cookie });
            }
            Route::Protected => {
                let current = self.current_session(p, config, req).await;
                match current.session {
                    Some(s) => return Outcome::Forward(Forward { path, user: Some(s.sub), set_cookie: current.set_cookie }),
                    None => {
                        extra_cookie = current.set_cookie;
                        self.login_required(config, req, &path)
                    }
                }
            }
        };
        let reply = match result {
            Ok(r) => r,
            Err(e) => self.error_reply(p, config, req, &e, matches!(route, Route::Auth(AuthRoute::Login))),
        };
        Outcome::Reply(match extra_cookie {
            Some(c) => reply.with_cookie(c),
            None => reply,
        })
    }

    // ---- sessions and consent revocation ------------------------------------------------

    /// The request's valid session. When revocations end sessions, a session issued before its
    /// user's latest revocation is ended (and its cookie cleared). Memory is asked on every
    /// request; KV at most once per `SESSION_RECHECK` per session, after which the cookie is
    /// re-issued with the new check time. The hot path stays free of KV reads in between.
    async fn current_session<P: Platform>(&self, p: &P, config: &Config, req: &IncomingRequest) -> CurrentSession {
        let now = p.now();
        let Some(mut s) = Session::from_cookie_header(config, &req.cookie_header(), now) else {
            return CurrentSession { session: None, set_cookie: None };
        };
        if !config.checks_revocations() {
            return CurrentSession { session: Some(s), set_cookie: None };
        }
        let handle = webhook::sub_handle(&s.sub);
        let ended = || {
            p.log(Level::Info, "session.consent_revoked", &format!("sub#{handle}"));
            CurrentSession { session: None, set_cookie: Some(cookie::clear_cookie(SESSION_COOKIE)) }
        };
        let known = self.revoked.borrow().get(&handle).copied();
        if known.is_some_and(|t| t >= s.iat) {
            return ended();
        }
        if now < s.checked_at().saturating_add(config.session_recheck) {
            return CurrentSession { session: Some(s), set_cookie: None };
        }
        match p.kv_get(&revocation_key(&handle)).await {
            Ok(Some(raw)) => {
                if let Some(t) = parse_revoked_at(&raw) {
                    self.remember_revocation(&handle, t);
                    if t >= s.iat {
                        return ended();
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                // KV down: keep serving (checked again on the next request).
                p.log(Level::Warn, "kv.read_failed", &e.0);
                return CurrentSession { session: Some(s), set_cookie: None };
            }
        }
        s.chk = now;
        let (set_cookie, _) = s.to_set_cookie_at(config, now);
        CurrentSession { session: Some(s), set_cookie: Some(set_cookie) }
    }

    fn remember_revocation(&self, handle: &str, at: u64) {
        let mut map = self.revoked.borrow_mut();
        if map.len() >= MAX_REMEMBERED_REVOCATIONS {
            map.clear();
        }
        let entry = map.entry(handle.to_string()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// `POST {prefix}/webhooks/consent-revoked/{secret}`: Vipps tells us a user withdrew consent.
    /// Idempotent: the same event delivered twice records the same revocation time.
    async fn consent_webhook<P: Platform>(&self, p: &P, config: &Config, req: &IncomingRequest, budget: &Budget) -> Result<Reply, Error> {
        if req.method != "POST" {
            return Err(Error::from(Code::MethodNotAllowed));
        }
        let Some(hook) = config.consent_webhook.as_ref() else {
            return Err(Error::from(Code::NotFound));
        };
        if let Some(ct) = req.header("content-type") {
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if !matches!(mime.as_str(), "text/plain" | "application/jwt" | "") {
                return Err(Error::new(Code::WebhookMediaType, format!("content-type {:?}", webhook::shown(&mime))));
            }
        }
        let parsed = webhook::parse(req.body.as_deref().unwrap_or_default())?;
        if let Protection::Rs256 { token } = &parsed.protection {
            let disc = self.discovery(p, config, budget).await?;
            let keys = self.jwks(p, config, &disc, false, budget).await?;
            webhook::verify_rs256(token, &keys, &disc.issuer)?;
        }
        let (sub, revoked_at) = match webhook::check(&parsed.claims, p.now())? {
            Event::Other { event } => {
                p.log(Level::Info, "webhook.ignored_event", &format!("event {event:?}"));
                return Ok(Reply::json(200, &serde_json::json!({"ok": true, "ignored": true})));
            }
            Event::ConsentRevoked { sub, revoked_at } => (sub, revoked_at),
        };
        let handle = webhook::sub_handle(&sub);
        self.remember_revocation(&handle, revoked_at);
        if hook.ends_sessions {
            let key = revocation_key(&handle);
            let store = |e: crate::platform::StoreError| Error::new(Code::WebhookStoreFailed, format!("KV: {}", e.0));
            // Keep the latest: an old event delivered late must not shorten a newer revocation.
            let previous = p.kv_get(&key).await.map_err(store)?.as_deref().and_then(parse_revoked_at);
            if previous.is_none_or(|t| t < revoked_at) {
                // Sessions older than the revocation are all expired after this long.
                let ttl = config.session_ttl + webhook::LEEWAY_SECS;
                p.kv_put(&key, revoked_at.to_string(), ttl).await.map_err(store)?;
            }
        }
        if let Some(target) = &hook.forward {
            let req = webhook::forward_request(hook, target, &sub, revoked_at, p.now());
            let Some(timeout) = budget.next_timeout(p.now_millis()) else {
                return Err(Error::new(Code::WebhookForwardFailed, "no time left for the forward"));
            };
            match p.fetch(req, timeout).await {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => return Err(Error::new(Code::WebhookForwardFailed, format!("forward target answered {}", r.status))),
                Err(e) => return Err(Error::new(Code::WebhookForwardFailed, format!("forward target: {e:?}"))),
            }
        }
        p.log(Level::Info, "webhook.consent_revoked", &format!("sub#{handle}"));
        Ok(Reply::json(200, &serde_json::json!({"ok": true})))
    }

    // ---- errors -------------------------------------------------------------------------

    fn config_error<P: Platform>(&self, p: &P, errors: &ConfigErrors) -> Reply {
        if !self.config_logged.replace(true) {
            p.log(Level::Error, Code::ConfigInvalid.as_str(), &errors.to_string());
        }
        let problems: Vec<(String, String)> =
            errors.0.iter().map(|p| (p.var.to_string(), p.message.clone())).collect();
        Reply::html(500, pages::config_error_page(&problems))
    }

    /// The one place an error becomes a response; logs it once with its code.
    fn error_reply<P: Platform>(&self, p: &P, config: &Config, req: &IncomingRequest, e: &Error, html: bool) -> Reply {
        let level = if e.code.is_broken() {
            Level::Error
        } else if matches!(e.code, Code::SessionRequired | Code::NotFound | Code::AccessDenied) {
            Level::Info
        } else {
            Level::Warn
        };
        p.log(level, e.code.as_str(), &e.detail);
        let status = e.code.status();
        if html || req.wants_html() {
            let retry = match e.code {
                Code::ConfigInvalid | Code::NotFound | Code::MethodNotAllowed | Code::LogoutBadOrigin => None,
                _ => Some(config.login_path()),
            };
            Reply::html(status, pages::error_page(e.code, retry.as_deref(), "/"))
        } else {
            error_json(e.code)
        }
    }

    fn login_required(&self, config: &Config, req: &IncomingRequest, path: &CanonicalPath) -> Result<Reply, Error> {
        let navigates = matches!(req.method.as_str(), "GET" | "HEAD") && req.wants_html();
        if !navigates {
            return Err(Error::from(Code::SessionRequired));
        }
        let target = match req.url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let target = target.as_str();
        let location = format!("{}?{}", config.login_path(), crate::util::form_encode([("return_to", target)]));
        Ok(Reply::redirect(302, &location))
    }

    // ---- login --------------------------------------------------------------------------

    async fn login<P: Platform>(&self, p: &P, config: &Config, req: &IncomingRequest, budget: &Budget) -> Result<Reply, Error> {
        if !matches!(req.method.as_str(), "GET" | "HEAD") {
            return Err(Error::from(Code::MethodNotAllowed));
        }
        // The transaction cookie must be set on the origin the callback will arrive at;
        // start the login there (localhost vs 127.0.0.1, www vs apex).
        let callback_origin = config.redirect_uri.url().origin().ascii_serialization();
        if req.origin() != callback_origin {
            let loc = format!("{callback_origin}{}", crate::util::path_and_query(&req.url));
            return Ok(Reply::redirect(302, &loc));
        }
        let raw_return = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "return_to")
            .map(|(_, v)| v.into_owned());
        let return_to = match raw_return.as_deref() {
            None => SafeReturnPath::root(),
            Some(raw) => SafeReturnPath::parse(raw).unwrap_or_else(|| {
                p.log(Level::Info, "login.return_to_refused", "return_to is not a same-origin path; using /");
                SafeReturnPath::root()
            }),
        };
        let disc = self.discovery(p, config, budget).await?;
        let mut state_bytes = [0u8; 16];
        p.fill_random(&mut state_bytes).map_err(|e| Error::new(Code::Internal, format!("random: {e}")))?;
        let state = b64url(&state_bytes);
        let mut tx = TransactionCookie::from_cookie_header(config, &req.cookie_header()).unwrap_or_default();
        let (nonce, verifier) = tx.begin(config, state.clone(), &return_to, p.now());
        let location = authorize::build_url(config, &disc, &state, &nonce, &verifier)?;
        Ok(Reply::redirect(302, &location).with_cookie(tx.to_set_cookie(config)))
    }

    // ---- callback -----------------------------------------------------------------------

    async fn callback<P: Platform>(&self, p: &P, config: &Config, req: &IncomingRequest, budget: &Budget) -> CallbackResult {
        let mut tx_cookie = None;
        let result = self.callback_inner(p, config, req, &mut tx_cookie, budget).await;
        CallbackResult { result, tx_cookie }
    }

    async fn callback_inner<P: Platform>(
        &self,
        p: &P,
        config: &Config,
        req: &IncomingRequest,
        tx_cookie: &mut Option<String>,
        budget: &Budget,
    ) -> Result<Reply, Error> {
        if req.method != "GET" {
            return Err(Error::from(Code::MethodNotAllowed));
        }
        let params = callback::parse(req.url.query())?;
        let now = p.now();
        // State first: nothing touches the network before the state matched this browser.
        let mut tx = match TransactionCookie::from_cookie_header(config, &req.cookie_header()) {
            Some(tx) => tx,
            None => {
                if let Some(e) = &params.error {
                    return Err(Error::new(callback::error_code(e), "error callback without a login transaction"));
                }
                return Err(Error::new(Code::TransactionMissing, "no valid login transaction cookie"));
            }
        };
        let Some(state) = params.state.as_deref() else {
            return Err(Error::new(Code::StateMissing, "callback without state"));
        };
        let taken = tx.take(config, state, now);
        *tx_cookie = Some(tx.to_set_cookie(config));
        let txn = taken.map_err(|code| Error::new(code, "state does not match a pending login in this browser"))?;
        if let Some(e) = &params.error {
            return Err(Error::new(
                callback::error_code(e),
                format!("provider returned error={}", crate::oidc::safe_code(e)),
            ));
        }
        let disc = self.discovery(p, config, budget).await?;
        // RFC 9207: when the provider names itself, it must be our issuer (mix-up defence).
        if let Some(iss) = &params.iss {
            if iss != &disc.issuer {
                return Err(Error::new(Code::CallbackIssMismatch, "iss parameter differs from the discovery issuer"));
            }
        }
        let Some(code) = params.code.as_ref().filter(|c| !c.expose().is_empty()) else {
            return Err(Error::new(Code::CallbackMissingCode, "callback without code"));
        };

        // A double-submitted callback (same state, same code) shares the first one's exchange.
        let key = Exchanges::key(state, code.expose());
        let lead = match self.exchanges.join(key, now) {
            Join::Done(result) => {
                p.log(Level::Info, "callback.duplicate_replayed", "the same callback again within a minute");
                return result;
            }
            Join::Wait(rx) => match rx.await {
                Ok(result) => {
                    p.log(Level::Info, "callback.duplicate_joined", "the same callback while it was being exchanged");
                    return result;
                }
                // The first request was cancelled: exchange the code ourselves.
                Err(_) => None,
            },
            Join::Lead(lead) => Some(lead),
        };
        let result = self.exchange(p, config, &disc, &txn, code, budget).await;
        if let Some(lead) = lead {
            lead.finish(&result, p.now());
        }
        result
    }

    /// Token request, ID-token verification, userinfo, session cookie: the code is presented
    /// exactly once.
    async fn exchange<P: Platform>(
        &self,
        p: &P,
        config: &Config,
        disc: &Discovery,
        txn: &crate::session::transaction::LoginTransaction,
        code: &crate::secret::Secret,
        budget: &Budget,
    ) -> Result<Reply, Error> {
        let resp = self.upstream(p, token::build_request(config, disc, txn, code), Code::TokenBadResponse, budget).await?;
        let tokens = token::process_response(&resp)?;

        let expected = id_token::Expected {
            issuer: &disc.issuer,
            client_id: &config.client_id,
            nonce: &txn.nonce,
            access_token: Some(tokens.access_token.expose()),
            now: p.now(),
        };
        let keys = self.jwks(p, config, disc, false, budget).await?;
        let verified = match id_token::verify(tokens.id_token.expose(), &keys, &expected) {
            Err(e) if e.code == Code::IdTokenUnknownKey && self.may_force_jwks(p.now()) => {
                // Key rotation: one refetch, at most once per minute per isolate.
                let keys = self.jwks(p, config, disc, true, budget).await?;
                id_token::verify(tokens.id_token.expose(), &keys, &expected)?
            }
            other => other?,
        };

        let resp = self.upstream(p, userinfo::build_request(config, disc, &tokens.access_token), Code::UserinfoFailed, budget).await?;
        let info = userinfo::process_response(&resp, &verified.sub)?;

        let session = Session::from_userinfo(config, &verified.sub, &info, p.now());
        let (set_cookie, dropped) = session.to_set_cookie(config);
        if dropped > 0 {
            p.log(Level::Warn, "session.claims_dropped", &format!("{dropped} claims dropped to keep the cookie under 4 KB"));
        }
        p.log(Level::Info, "login.ok", "");
        Ok(Reply::redirect(303, txn.return_to.as_str()).with_cookie(set_cookie))
    }

    fn may_force_jwks(&self, now: u64) -> bool {
        match self.last_forced_jwks.get() {
            Some(t) if now < t + JWKS_REFETCH_INTERVAL => false,
            _ => {
                self.last_forced_jwks.set(Some(now));
                true
            }
        }
    }

    /// A back-channel call: network failures and timeouts become "unavailable" (503).
    async fn upstream<P: Platform>(&self, p: &P, req: OutboundRequest, bad: Code, budget: &Budget) -> Result<InboundResponse, Error> {
        let what = if bad == Code::UserinfoFailed { "userinfo" } else { "token" };
        let Some(timeout) = budget.next_timeout(p.now_millis()) else {
            return Err(Error::new(Code::VippsUnavailable, format!("UPSTREAM_DEADLINE_MS spent before the {what} call")));
        };
        match p.fetch(req, timeout).await {
            Ok(r) if (300..400).contains(&r.status) => Err(Error::new(bad, format!("{what} endpoint redirected; not followed"))),
            Ok(r) => Ok(r),
            Err(FetchError::Timeout) => Err(Error::new(Code::VippsUnavailable, format!("{what} endpoint timed out"))),
            Err(FetchError::TooLarge) => Err(Error::new(bad, format!("{what} response too large"))),
            Err(FetchError::Network(e)) => Err(Error::new(Code::VippsUnavailable, format!("{what} endpoint unreachable: {e}"))),
        }
    }

    // ---- session and logout -------------------------------------------------------------

    fn session(&self, req: &IncomingRequest, session: Option<Session>) -> Result<Reply, Error> {
        if !matches!(req.method.as_str(), "GET" | "HEAD") {
            return Err(Error::from(Code::MethodNotAllowed));
        }
        match session {
            Some(s) => Ok(Reply::json(200, &s.to_json())),
            // Polled by front ends: not worth an error log line per call.
            None => Ok(error_json(Code::SessionRequired)),
        }
    }

    fn logout(&self, config: &Config, req: &IncomingRequest) -> Result<Reply, Error> {
        match req.method.as_str() {
            "GET" | "HEAD" => return Ok(Reply::html(200, pages::logout_page(&format!("{}/logout", config.auth_prefix)))),
            "POST" => {}
            _ => return Err(Error::from(Code::MethodNotAllowed)),
        }
        // A cross-site POST cannot log users out (the browser sends Origin on POST).
        if let Some(origin) = req.header("origin") {
            let ours = [req.origin(), config.redirect_uri.url().origin().ascii_serialization()];
            if !ours.iter().any(|o| o == origin) {
                return Err(Error::new(Code::LogoutBadOrigin, "cross-origin logout refused"));
            }
        }
        let clear = cookie::clear_cookie(SESSION_COOKIE);
        // Vipps has no merchant-initiated logout: this ends the local session only.
        if req.wants_html() {
            Ok(Reply::redirect(303, "/").with_cookie(clear))
        } else {
            Ok(Reply::json(200, &serde_json::json!({"ok": true})).with_cookie(clear))
        }
    }

    // ---- discovery and JWKS cache -------------------------------------------------------

    async fn discovery<P: Platform>(&self, p: &P, config: &Config, budget: &Budget) -> Result<Rc<Discovery>, Error> {
        let url = config.discovery_url.clone();
        let kind = DocKind::Discovery;
        self.document(p, config, kind, url.as_str(), &self.discovery, false, budget, |body| discovery::parse(&url, body))
            .await
    }

    async fn jwks<P: Platform>(&self, p: &P, config: &Config, disc: &Discovery, force: bool, budget: &Budget) -> Result<Rc<Jwks>, Error> {
        self.document(p, config, DocKind::Jwks, &disc.jwks_uri, &self.jwks, force, budget, jwks::parse).await
    }

    /// Memory, then KV, then the network; on failure, a stale copy within the bounded window.
    #[allow(clippy::too_many_arguments)]
    async fn document<P: Platform, T>(
        &self,
        p: &P,
        config: &Config,
        kind: DocKind,
        url: &str,
        memo: &RefCell<Option<Memo<T>>>,
        force: bool,
        budget: &Budget,
        parse: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<Rc<T>, Error> {
        let now = p.now();
        let mut stale: Option<Memo<T>> = None;
        if let Some(m) = memo.borrow().as_ref().filter(|m| m.doc.url == url) {
            if !force && m.doc.is_fresh(now) {
                return Ok(m.value.clone());
            }
            stale = Some(Memo { doc: m.doc.clone(), value: m.value.clone() });
        }
        let key = cache::kv_key(kind.name(), url);
        if !force {
            match p.kv_get(&key).await {
                Ok(Some(raw)) => {
                    if let Ok(doc) = serde_json::from_str::<CachedDoc>(&raw) {
                        if doc.url == url {
                            if let Ok(value) = parse(&doc.body) {
                                let m = Memo { doc, value: Rc::new(value) };
                                if m.doc.is_fresh(now) {
                                    let v = m.value.clone();
                                    *memo.borrow_mut() = Some(m);
                                    return Ok(v);
                                }
                                if stale.as_ref().is_none_or(|s| s.doc.fetched_at < m.doc.fetched_at) {
                                    stale = Some(m);
                                }
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => p.log(Level::Warn, "kv.read_failed", &e.0),
            }
        }
        let fetched = self.fetch_document(p, config, &kind, url, budget, &parse).await;
        match fetched {
            Ok((doc, value)) => {
                let value = Rc::new(value);
                if doc.ttl > 0 {
                    let ttl = doc.kv_ttl();
                    if let Ok(raw) = serde_json::to_string(&doc) {
                        if let Err(e) = p.kv_put(&key, raw, ttl).await {
                            p.log(Level::Warn, "kv.write_failed", &e.0);
                        }
                    }
                    *memo.borrow_mut() = Some(Memo { doc, value: value.clone() });
                } else {
                    *memo.borrow_mut() = None;
                }
                Ok(value)
            }
            Err(e) => match stale.filter(|s| s.doc.is_usable_stale(now)) {
                Some(s) if !force || e.code == kind.unavailable() => {
                    p.log(Level::Warn, &format!("{}.serving_stale", kind.name()), &e.to_string());
                    let v = s.value.clone();
                    *memo.borrow_mut() = Some(s);
                    Ok(v)
                }
                _ => Err(e),
            },
        }
    }

    async fn fetch_document<P: Platform, T>(
        &self,
        p: &P,
        config: &Config,
        kind: &DocKind,
        url: &str,
        budget: &Budget,
        parse: &impl Fn(&str) -> Result<T, Error>,
    ) -> Result<(CachedDoc, T), Error> {
        let mut headers = vec![("accept".to_string(), "application/json".to_string())];
        headers.extend(crate::oidc::system_headers(config));
        let req = OutboundRequest { method: "GET", url: url.to_string(), headers, body: None };
        let Some(timeout) = budget.next_timeout(p.now_millis()) else {
            return Err(Error::new(kind.unavailable(), "UPSTREAM_DEADLINE_MS spent"));
        };
        let resp = match p.fetch(req, timeout).await {
            Ok(r) => r,
            Err(FetchError::TooLarge) => return Err(Error::new(kind.invalid(), "response too large")),
            Err(e) => return Err(Error::new(kind.unavailable(), format!("{e:?}"))),
        };
        if resp.status >= 500 || resp.status == 429 {
            return Err(Error::new(kind.unavailable(), format!("status {}", resp.status)));
        }
        if resp.status != 200 {
            return Err(Error::new(kind.invalid(), format!("status {}", resp.status)));
        }
        let body = String::from_utf8(resp.body.clone()).map_err(|_| Error::new(kind.invalid(), "body is not UTF-8"))?;
        let value = parse(&body)?;
        let ttl = match cache::freshness(resp.header("cache-control"), resp.header("age")) {
            Freshness::Ttl(t) => t,
            Freshness::NoStore => 0,
        };
        Ok((CachedDoc { url: url.to_string(), body, fetched_at: p.now(), ttl }, value))
    }
}
