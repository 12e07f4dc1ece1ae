//! Per-isolate memory shared by the concurrent requests of one isolate. Only synchronous
//! methods, and none hands out a borrow: no `RefCell` borrow can be held across an `.await`,
//! by construction.

use std::cell::RefCell;
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
}
