//! The provider's metadata, discovery and JWKS, cached in isolate memory and in Workers KV for
//! as long as the provider's `Cache-Control` allows (see [`super::freshness`]), with a bounded
//! stale copy while the provider is unreachable. One instance per isolate, used by every flow
//! that needs provider metadata.

use super::discovery::{self, Discovery};
use super::freshness::{self, CachedDoc, Freshness};
use super::jwks::{self, Jwks};
use crate::config::Config;
use crate::error::{Code, Error};
use crate::http::OutboundRequest;
use crate::memo::Slot;
use crate::platform::{Level, Platform};
use crate::upstream::{self, Budget, Failures};
use std::cell::Cell;
use std::rc::Rc;

/// At most one forced JWKS refetch (unknown `kid`) per this many seconds.
pub const JWKS_REFETCH_INTERVAL: u64 = 60;

struct Memo<T> {
    doc: CachedDoc,
    value: Rc<T>,
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Memo { doc: self.doc.clone(), value: self.value.clone() }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Discovery,
    Jwks,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Discovery => "discovery",
            Kind::Jwks => "jwks",
        }
    }
    fn unavailable(self) -> Code {
        match self {
            Kind::Discovery => Code::DiscoveryUnavailable,
            Kind::Jwks => Code::JwksUnavailable,
        }
    }
    fn invalid(self) -> Code {
        match self {
            Kind::Discovery => Code::DiscoveryInvalid,
            Kind::Jwks => Code::JwksInvalid,
        }
    }
}

#[derive(Default)]
pub struct DocCache {
    discovery: Slot<Memo<Discovery>>,
    jwks: Slot<Memo<Jwks>>,
    last_forced_jwks: Cell<Option<u64>>,
}

impl DocCache {
    /// The provider's discovery document.
    pub async fn discovery<P: Platform>(&self, p: &P, config: &Config, budget: &Budget) -> Result<Rc<Discovery>, Error> {
        let url = &config.vipps.discovery_url;
        self.document(p, config, Kind::Discovery, url.as_str(), &self.discovery, false, budget, |body| discovery::parse(url, body)).await
    }

    /// The provider's keys. `force` refetches them (a token named a key we do not know).
    pub async fn jwks<P: Platform>(&self, p: &P, config: &Config, disc: &Discovery, force: bool, budget: &Budget) -> Result<Rc<Jwks>, Error> {
        self.document(p, config, Kind::Jwks, disc.jwks_uri(), &self.jwks, force, budget, jwks::parse).await
    }

    /// Whether a forced JWKS refetch may happen now (at most once per
    /// [`JWKS_REFETCH_INTERVAL`] per isolate); records it when so.
    pub fn may_force_jwks(&self, now: u64) -> bool {
        match self.last_forced_jwks.get() {
            Some(t) if now < t.saturating_add(JWKS_REFETCH_INTERVAL) => false,
            _ => {
                self.last_forced_jwks.set(Some(now));
                true
            }
        }
    }

    /// Memory, then KV, then the network; on failure, a stale copy within the bounded window.
    #[allow(clippy::too_many_arguments)]
    async fn document<P: Platform, T>(
        &self,
        p: &P,
        config: &Config,
        kind: Kind,
        url: &str,
        memo: &Slot<Memo<T>>,
        force: bool,
        budget: &Budget,
        parse: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<Rc<T>, Error> {
        let now = p.now();
        let mut stale: Option<Memo<T>> = None;
        if let Some(m) = memo.get().filter(|m| m.doc.url == url) {
            if !force && m.doc.is_fresh(now) {
                return Ok(m.value);
            }
            stale = Some(m);
        }
        let key = freshness::kv_key(kind.name(), url);
        if !force {
            match p.kv_get(&key).await {
                Ok(Some(raw)) => {
                    let stored = serde_json::from_str::<CachedDoc>(&raw).ok().filter(|d| d.url == url);
                    if let Some(m) = stored.and_then(|doc| parse(&doc.body).ok().map(|v| Memo { doc, value: Rc::new(v) })) {
                        if m.doc.is_fresh(now) {
                            memo.set(Some(m.clone()));
                            return Ok(m.value);
                        }
                        if stale.as_ref().is_none_or(|s| s.doc.fetched_at < m.doc.fetched_at) {
                            stale = Some(m);
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => p.log(Level::Warn, "kv.read_failed", &e.0),
            }
        }
        match fetch(p, config, kind, url, budget, &parse).await {
            Ok((doc, value)) => {
                let value = Rc::new(value);
                if doc.ttl > 0 {
                    if let Ok(raw) = serde_json::to_string(&doc) {
                        if let Err(e) = p.kv_put(&key, raw, doc.kv_ttl()).await {
                            p.log(Level::Warn, "kv.write_failed", &e.0);
                        }
                    }
                    memo.set(Some(Memo { doc, value: value.clone() }));
                } else {
                    memo.set(None);
                }
                Ok(value)
            }
            Err(e) => match stale.filter(|s| s.doc.is_usable_stale(now)) {
                Some(s) if !force || e.code == kind.unavailable() => {
                    p.log(Level::Warn, &format!("{}.serving_stale", kind.name()), &e.to_string());
                    memo.set(Some(s.clone()));
                    Ok(s.value)
                }
                _ => Err(e),
            },
        }
    }
}

/// One fetch of a document: 5xx and 429 mean "unavailable", anything else but 200 "invalid".
async fn fetch<P: Platform, T>(
    p: &P,
    config: &Config,
    kind: Kind,
    url: &str,
    budget: &Budget,
    parse: &impl Fn(&str) -> Result<T, Error>,
) -> Result<(CachedDoc, T), Error> {
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    headers.extend(super::system_headers(config));
    let req = OutboundRequest { method: "GET", url: url.to_string(), headers, body: None };
    let on = Failures { what: kind.name(), unavailable: kind.unavailable(), bad: kind.invalid() };
    let resp = upstream::call(p, budget, req, on).await?;
    if resp.status >= 500 || resp.status == 429 {
        return Err(Error::new(kind.unavailable(), format!("status {}", resp.status)));
    }
    if resp.status != 200 {
        return Err(Error::new(kind.invalid(), format!("status {}", resp.status)));
    }
    let ttl = match freshness::freshness(resp.header("cache-control"), resp.header("age")) {
        Freshness::Ttl(t) => t,
        Freshness::NoStore => 0,
    };
    let body = String::from_utf8(resp.body).map_err(|_| Error::new(kind.invalid(), "body is not UTF-8"))?;
    let value = parse(&body)?;
    Ok((CachedDoc { url: url.to_string(), body, fetched_at: p.now(), ttl }, value))
}
