//! Calls to other servers: Vipps, the consent forward target.

use super::reader::Reader;

#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Timeout of each call (`UPSTREAM_TIMEOUT_MS`).
    pub timeout_ms: u64,
    /// Total time one request may spend on such calls (`UPSTREAM_DEADLINE_MS`).
    pub deadline_ms: u64,
}

pub fn parse(r: &mut Reader) -> UpstreamConfig {
    UpstreamConfig {
        timeout_ms: r.number("UPSTREAM_TIMEOUT_MS", 8_000, 100, 25_000),
        deadline_ms: r.number("UPSTREAM_DEADLINE_MS", 20_000, 100, 60_000),
    }
}
