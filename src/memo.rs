//! Per-isolate memory shared by the concurrent requests of one isolate. Only synchronous
//! methods, and none hands out a borrow: no `RefCell` borrow can be held across an `.await`,
//! by construction.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::Hash;

/// One value, replaced whole.
pub struct Slot<T: Clone>(RefCell<Option<T>>);

impl<T: Clone> Default for Slot<T> {
    fn default() -> Self {
        Slot(RefCell::new(None))
    }
}

impl<T: Clone> Slot<T> {
    pub fn get(&self) -> Option<T> {
        self.0.borrow().clone()
    }
    pub fn set(&self, value: Option<T>) {
        *self.0.borrow_mut() = value;
    }
}

/// Events counted in a fixed window of time (per isolate): a cheap rate limit.
#[derive(Default)]
pub struct Window {
    start: Cell<u64>,
    count: Cell<u32>,
}

impl Window {
    /// Whether `max` events were already counted in the window of `secs` seconds around `now`.
    pub fn full(&self, now: u64, secs: u64, max: u32) -> bool {
        now < self.start.get().saturating_add(secs) && self.count.get() >= max
    }
    /// Counts one event, starting a new window when the last one is over.
    pub fn note(&self, now: u64, secs: u64) {
        if now >= self.start.get().saturating_add(secs) {
            self.start.set(now);
            self.count.set(0);
        }
        self.count.set(self.count.get().saturating_add(1));
    }
}

/// A map that forgets everything when it reaches its bound (cheaper than an LRU, and what it
/// holds can be learnt again from KV or made again).
pub struct BoundedCache<K, V> {
    map: RefCell<HashMap<K, V>>,
    bound: usize,
}

impl<K: Eq + Hash, V: Clone> BoundedCache<K, V> {
    pub fn new(bound: usize) -> Self {
        BoundedCache { map: RefCell::new(HashMap::new()), bound }
    }
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.map.borrow().get(key).cloned()
    }
    pub fn clear(&self) {
        self.map.borrow_mut().clear();
    }
    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn put(&self, key: K, value: V) {
        let mut map = self.map.borrow_mut();
        if map.len() >= self.bound && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl<K: Eq + Hash, V: Copy + Ord> BoundedCache<K, V> {
    /// Keeps the larger of the known value and `value`.
    pub fn keep_max(&self, key: K, value: V) {
        let known = self.get(&key);
        self.put(key, known.map_or(value, |k| k.max(value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_and_bounded_map() {
        let s: Slot<u32> = Slot::default();
        assert_eq!(s.get(), None);
        s.set(Some(3));
        assert_eq!(s.get(), Some(3));
        let m = BoundedCache::new(2);
        m.keep_max("a", 5);
        m.keep_max("a", 3);
        assert_eq!(m.get(&"a"), Some(5));
        m.keep_max("b", 1);
        m.keep_max("c", 1);
        assert_eq!(m.get(&"a"), None, "cleared at the bound");
        assert_eq!(m.get(&"c"), Some(1));
    }

    #[test]
    fn window_counts_per_window() {
        let w = Window::default();
        assert!(!w.full(1000, 60, 2));
        w.note(1000, 60);
        w.note(1010, 60);
        assert!(w.full(1059, 60, 2));
        assert!(!w.full(1060, 60, 2), "a new window");
        w.note(1060, 60);
        assert!(!w.full(1061, 60, 2));
        assert!(!w.full(u64::MAX, 60, 2));
    }
}
