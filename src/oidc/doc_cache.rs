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

    /// What this isolate and KV hold of the provider's metadata, for the health route: at most
    /// two KV reads, never the network, nothing but ages (no URL, no body).
    pub async fn status<P: Platform>(&self, p: &P, config: &Config) -> MetadataStatus {
        let now = p.now();
        let url = config.vipps.discovery_url.as_str();
        let mut kv_readable = true;
        let mut kv_doc = |r: Result<Option<String>, crate::platform::StoreError>, url: &str| match r {
            Ok(raw) => raw.and_then(|raw| serde_json::from_slice::<CachedDoc>(raw.as_bytes()).ok()).filter(|d| d.url == url),
            Err(_) => {
                kv_readable = false;
                None
            }
        };
        let disc_memory = self.discovery.get().filter(|m| m.doc.url == url);
        let disc_kv = kv_doc(p.kv_get(&freshness::kv_key(Kind::Discovery.name(), url)).await, url);
        // The keys' URL comes from discovery: memory first, else the copy in KV.
        let jwks_uri = disc_memory.as_ref().map(|m| m.value.jwks_uri().to_string()).or_else(|| {
            disc_kv.as_ref().and_then(|d| discovery::parse(&config.vipps.discovery_url, &d.body).ok()).map(|d| d.jwks_uri().to_string())
        });
        let (jwks_memory, jwks_kv) = match &jwks_uri {
            Some(uri) => (
                self.jwks.get().filter(|m| &m.doc.url == uri).map(|m| m.doc),
                kv_doc(p.kv_get(&freshness::kv_key(Kind::Jwks.name(), uri)).await, uri),
            ),
            None => (None, None),
        };
        let copy = |d: Option<CachedDoc>| d.map(|d| CopyStatus::of(&d, now));
        let discovery = DocStatus { memory: copy(disc_memory.map(|m| m.doc)), kv: copy(disc_kv) };
        let jwks = DocStatus { memory: copy(jwks_memory), kv: copy(jwks_kv) };
        MetadataStatus { cached: discovery.usable() && jwks.usable(), discovery, jwks, kv_readable }
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
                    let stored = serde_json::from_slice::<CachedDoc>(raw.as_bytes()).ok().filter(|d| d.url == url);
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

/// The provider's metadata as the health route reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataStatus {
    /// Both documents have a copy that a login could use now (fresh, or stale within the
    /// bound for when Vipps is unreachable).
    pub cached: bool,
    pub discovery: DocStatus,
    pub jwks: DocStatus,
    pub kv_readable: bool,
}

/// One document: the copy in this isolate's memory and the one in KV (`None`: none).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocStatus {
    pub memory: Option<CopyStatus>,
    pub kv: Option<CopyStatus>,
}

impl DocStatus {
    fn usable(&self) -> bool {
        [&self.memory, &self.kv].iter().any(|c| c.as_ref().is_some_and(|c| c.usable_if_unreachable))
    }
}

/// How old a copy is and how long it stays fresh.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyStatus {
    pub age_secs: u64,
    pub fresh: bool,
    pub fresh_for_secs: u64,
    /// Would serve while Vipps is unreachable ([`freshness::STALE_IF_ERROR`] past freshness).
    pub usable_if_unreachable: bool,
}

impl CopyStatus {
    fn of(d: &CachedDoc, now: u64) -> CopyStatus {
        let fresh = d.is_fresh(now);
        CopyStatus {
            age_secs: now.saturating_sub(d.fetched_at),
            fresh,
            fresh_for_secs: if fresh { d.fetched_at.saturating_add(d.ttl).saturating_sub(now) } else { 0 },
            usable_if_unreachable: d.is_usable_stale(now),
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
