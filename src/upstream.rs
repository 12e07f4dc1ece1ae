//! Calls to other servers (Vipps, the consent forward target): one deadline for all calls of a
//! request, and the one mapping of fetch failures to stable codes.

use crate::config::UpstreamConfig;
use crate::error::{Code, Error};
use crate::http::{InboundResponse, OutboundRequest};
use crate::platform::{FetchError, Platform};

/// A call with less time than this left is not started.
const MIN_CALL_MS: u64 = 50;

/// How long this request may still spend waiting on other servers. A callback makes up to
/// five calls in a row (discovery, JWKS, token, a JWKS refetch, userinfo); each gets the
/// per-call timeout or what is left of `UPSTREAM_DEADLINE_MS`, whichever is shorter.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    end_ms: u64,
    per_call_ms: u64,
}

impl Budget {
    pub fn new(now_ms: u64, config: &UpstreamConfig) -> Budget {
        Budget { end_ms: now_ms.saturating_add(config.deadline_ms), per_call_ms: config.timeout_ms }
    }
    /// The same deadline, with calls made under it timed out after at most `ms` (a call with a
    /// shorter timeout of its own, such as the login hook's).
    pub fn capped(&self, ms: u64) -> Budget {
        Budget { end_ms: self.end_ms, per_call_ms: self.per_call_ms.min(ms) }
    }
    /// The timeout for the next call, or `None` once the budget is spent.
    pub fn next_timeout(&self, now_ms: u64) -> Option<u64> {
        let left = self.end_ms.saturating_sub(now_ms);
        (left >= MIN_CALL_MS).then(|| left.min(self.per_call_ms))
    }
}

/// What a failed call means for one kind of call.
#[derive(Debug, Clone, Copy)]
pub struct Failures {
    /// For the log line: "token", "userinfo", "discovery", ...
    pub what: &'static str,
    /// The server did not answer in time, or could not be reached.
    pub unavailable: Code,
    /// The server answered with something unusable (a redirect, an oversized body).
    pub bad: Code,
}

/// Makes one call within the budget. Redirects are never followed (credentials must not
/// travel to another host) and count as a bad answer; any other status is the caller's to
/// judge.
pub async fn call<P: Platform>(p: &P, budget: &Budget, req: OutboundRequest, on: Failures) -> Result<InboundResponse, Error> {
    let what = on.what;
    let Some(timeout) = budget.next_timeout(p.now_millis()) else {
        return Err(Error::new(on.unavailable, format!("UPSTREAM_DEADLINE_MS spent before the {what} call")));
    };
    match p.fetch(req, timeout).await {
        Ok(r) if (300..400).contains(&r.status) => Err(Error::new(on.bad, format!("{what} endpoint redirected; not followed"))),
        Ok(r) => Ok(r),
        Err(FetchError::Timeout) => Err(Error::new(on.unavailable, format!("{what} endpoint timed out"))),
        Err(FetchError::TooLarge) => Err(Error::new(on.bad, format!("{what} response too large"))),
        Err(FetchError::Network(e)) => Err(Error::new(on.unavailable, format!("{what} endpoint unreachable: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_gets_the_shorter_of_its_timeout_and_what_is_left() {
        let b = Budget::new(1_000, &UpstreamConfig { timeout_ms: 300, deadline_ms: 1_000 });
        assert_eq!(b.next_timeout(1_000), Some(300));
        assert_eq!(b.next_timeout(1_800), Some(200));
        assert_eq!(b.next_timeout(1_960), None, "under 50 ms left: not started");
        assert_eq!(b.next_timeout(u64::MAX), None);
        let c = b.capped(100);
        assert_eq!((c.next_timeout(1_000), c.next_timeout(1_920)), (Some(100), Some(80)));
        assert_eq!(b.capped(5_000).next_timeout(1_000), Some(300), "never longer than the call timeout");
    }
}
