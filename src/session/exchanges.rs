//! Callbacks this isolate is exchanging, or has just exchanged, so a double-submitted callback
//! (a double click, a browser retrying a navigation) ends with the user logged in instead of
//! two error pages. Vipps codes are single-use, and a second presentation revokes what the
//! first one issued (RFC 6749 §4.1.2): two exchanges of one code would both fail.
//!
//! The key is a hash of `state` and `code`, and a request only gets this far after its own
//! signed login cookie held that state, so only the browser that started the login (or
//! whoever holds its HttpOnly cookie *and* the code) shares the result. A callback that
//! arrives while the first one is exchanging waits for its result, polling on its own timer:
//! workerd does not let one request wake another (a promise resolved from another request's
//! context never reaches it), so nothing here holds a waker. A successful result is kept for
//! [`REPLAY_WINDOW`] seconds for a callback that arrives just after it (the browser may have
//! dropped the first answer). Across isolates nothing is shared: there the second exchange
//! fails with `token.invalid_grant`, and the retry page starts a fresh login.

use crate::error::Error;
use crate::http::Reply;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Seconds a successful exchange is replayed for the same state and code.
pub const REPLAY_WINDOW: u64 = 60;
/// Seconds a failed exchange stays visible to callbacks that were waiting for it.
const FAILURE_WINDOW: u64 = 10;
/// Finished exchanges kept at most (they are also dropped once expired).
const MAX_KEPT: usize = 1024;

pub type ExchangeResult = Result<Reply, Error>;

enum Slot {
    /// The first callback is exchanging.
    Running,
    /// Finished: visible until `until` (a success is also replayed to newcomers).
    Done { until: u64, result: ExchangeResult },
}

/// What a callback does about an exchange.
pub enum Join {
    /// Nobody else has this state and code: exchange it, then [`Lead::finish`].
    Lead(Lead),
    /// Another request is exchanging it: [`Exchanges::peek`] until it is done.
    Wait,
    /// Just exchanged successfully: this is its result.
    Done(ExchangeResult),
}

/// What a waiting callback sees.
pub enum Peek {
    Running,
    Done(ExchangeResult),
    /// The first request was cancelled before it finished: exchange the code yourself.
    Gone,
}

type Slots = Rc<RefCell<HashMap<[u8; 32], Slot>>>;

#[derive(Default)]
pub struct Exchanges {
    slots: Slots,
}

/// The right and duty to exchange one state and code. Dropped without [`Lead::finish`] (the
/// request was cancelled mid-exchange), it removes its slot, so waiters exchange themselves.
pub struct Lead {
    key: [u8; 32],
    slots: Slots,
    finished: bool,
}

impl Exchanges {
    /// The key for a state and a code: a hash, so neither is kept in memory.
    pub fn key(state: &str, code: &str) -> [u8; 32] {
        crate::util::sha256(format!("{state}\0{code}").as_bytes())
    }

    pub fn join(&self, key: [u8; 32], now: u64) -> Join {
        let mut slots = self.slots.borrow_mut();
        match slots.get(&key) {
            Some(Slot::Running) => return Join::Wait,
            Some(Slot::Done { until, result: Ok(r) }) if now < *until => return Join::Done(Ok(r.clone())),
            _ => {}
        }
        slots.retain(|_, s| match s {
            Slot::Running => true,
            Slot::Done { until, .. } => now < *until,
        });
        if slots.len() >= MAX_KEPT {
            slots.retain(|_, s| matches!(s, Slot::Running));
        }
        slots.insert(key, Slot::Running);
        Join::Lead(Lead { key, slots: self.slots.clone(), finished: false })
    }

    /// How the exchange a callback waits for is doing.
    pub fn peek(&self, key: [u8; 32], now: u64) -> Peek {
        match self.slots.borrow().get(&key) {
            Some(Slot::Running) => Peek::Running,
            Some(Slot::Done { until, result }) if now < *until => Peek::Done(result.clone()),
            _ => Peek::Gone,
        }
    }

    #[cfg(any(test, feature = "testkit"))]
    pub fn forget(&self) {
        self.slots.borrow_mut().clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.borrow().len()
    }
}

impl Lead {
    /// Publishes the result: to waiting callbacks, and a success for [`REPLAY_WINDOW`].
    pub fn finish(mut self, result: &ExchangeResult, now: u64) {
        self.finished = true;
        let window = if result.is_ok() { REPLAY_WINDOW } else { FAILURE_WINDOW };
        self.slots.borrow_mut().insert(self.key, Slot::Done { until: now.saturating_add(window), result: result.clone() });
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.finished {
            if let Ok(mut slots) = self.slots.try_borrow_mut() {
                slots.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn ok() -> ExchangeResult {
        Ok(Reply::redirect(303, "/private/"))
    }

    #[test]
    fn waiters_see_the_leaders_result_and_a_success_is_replayed_for_a_minute() {
        let x = Exchanges::default();
        let k = Exchanges::key("state", "code");
        let Join::Lead(lead) = x.join(k, 100) else { panic!("first is the lead") };
        assert!(matches!(x.join(k, 100), Join::Wait));
        assert!(matches!(x.peek(k, 100), Peek::Running), "nothing before the lead finishes");
        lead.finish(&ok(), 100);
        assert!(matches!(x.peek(k, 101), Peek::Done(Ok(_))));
        assert!(matches!(x.join(k, 159), Join::Done(Ok(_))));
        assert!(matches!(x.join(k, 160), Join::Lead(_)), "replayed for REPLAY_WINDOW only");
        assert!(matches!(x.join(Exchanges::key("state", "other code"), 100), Join::Lead(_)), "another code is another exchange");
    }

    #[test]
    fn failures_reach_waiters_but_are_not_replayed() {
        let x = Exchanges::default();
        let k = Exchanges::key("s", "c");
        let Join::Lead(lead) = x.join(k, 1) else { panic!() };
        assert!(matches!(x.join(k, 1), Join::Wait));
        lead.finish(&Err(Error::from(Code::VippsUnavailable)), 1);
        assert!(matches!(x.peek(k, 2), Peek::Done(Err(e)) if e.code == Code::VippsUnavailable));
        assert!(matches!(x.join(k, 2), Join::Lead(_)), "a newcomer exchanges again");
    }

    #[test]
    fn a_dropped_lead_releases_its_waiters() {
        let x = Exchanges::default();
        let k = Exchanges::key("s", "c");
        let Join::Lead(lead) = x.join(k, 1) else { panic!() };
        assert!(matches!(x.join(k, 1), Join::Wait));
        drop(lead);
        assert!(matches!(x.peek(k, 1), Peek::Gone), "the waiter learns the lead is gone");
        assert_eq!(x.len(), 0);
        assert!(matches!(x.join(k, 1), Join::Lead(_)));
    }

    #[test]
    fn memory_stays_bounded() {
        let x = Exchanges::default();
        for i in 0..(MAX_KEPT * 3) {
            let Join::Lead(lead) = x.join(Exchanges::key(&i.to_string(), "c"), 5) else { panic!() };
            lead.finish(&ok(), 5);
            assert!(x.len() <= MAX_KEPT);
        }
    }
}
