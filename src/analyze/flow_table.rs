//! The flow table: flows by key, with the last key looked up remembered.
//!
//! Packets of one connection come in bursts, so most lookups ask for the same key
//! as the one before; remembering it skips the hash and the probe. Flows live in a
//! slab (a `Vec` with reused slots), and the hash map only maps keys to slots.

use rustc_hash::FxHashMap;

use super::flow_key::FlowKey;

/// Values by `FlowKey`.
#[derive(Debug)]
pub struct FlowTable<V> {
    index: FxHashMap<FlowKey, usize>,
    slots: Vec<Option<V>>,
    free: Vec<usize>,
    last: Option<(FlowKey, usize)>,
}

impl<V> Default for FlowTable<V> {
    fn default() -> Self {
        FlowTable {
            index: FxHashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            last: None,
        }
    }
}

impl<V> FlowTable<V> {
    /// The slot of `key`. Inlined so that the key just built by the caller is
    /// compared from registers; only a miss of the remembered key goes to the map.
    #[inline]
    fn find(&mut self, key: FlowKey) -> Option<usize> {
        if let Some((k, slot)) = self.last {
            if k == key {
                return Some(slot);
            }
        }
        self.find_in_index(key)
    }

    #[inline(never)]
    fn find_in_index(&mut self, key: FlowKey) -> Option<usize> {
        let slot = *self.index.get(&key)?;
        self.last = Some((key, slot));
        Some(slot)
    }

    #[inline]
    pub fn get(&mut self, key: FlowKey) -> Option<&V> {
        let slot = self.find(key)?;
        self.slots[slot].as_ref()
    }

    /// The value for `key`, created by `make` when absent.
    ///
    /// Inlined, with the key by value, so the key stays in registers on the hit
    /// path: written to the stack and compared from there, it was loaded back wider
    /// than it had been stored, a store-forwarding stall that cost more than the
    /// hash lookup itself.
    #[inline]
    pub fn get_or_insert_with(&mut self, key: FlowKey, make: impl FnOnce() -> V) -> &mut V {
        let slot = match self.find(key) {
            Some(slot) => slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.slots[slot] = Some(make());
                        slot
                    }
                    None => {
                        self.slots.push(Some(make()));
                        self.slots.len() - 1
                    }
                };
                self.index.insert(key, slot);
                self.last = Some((key, slot));
                slot
            }
        };
        self.slots[slot].as_mut().expect("indexed slots are filled")
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<V> {
        let slot = self.index.remove(key)?;
        if self.last.is_some_and(|(k, _)| k == *key) {
            self.last = None;
        }
        self.free.push(slot);
        self.slots[slot].take()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots.iter_mut().flatten()
    }

    /// Keys whose value satisfies `pred`.
    pub fn keys_where(&self, pred: impl Fn(&V) -> bool) -> Vec<FlowKey> {
        self.index
            .iter()
            .filter(|(_, slot)| self.slots[**slot].as_ref().is_some_and(&pred))
            .map(|(k, _)| *k)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> FlowKey {
        let ip = "198.18.0.1".parse().unwrap();
        FlowKey::new(6, ip, port, ip, 80).0
    }

    #[test]
    fn insert_find_remove_and_reuse_slots() {
        let mut t: FlowTable<u32> = FlowTable::default();
        *t.get_or_insert_with(key(1), || 10) += 1;
        t.get_or_insert_with(key(2), || 20);
        assert_eq!(t.get(key(1)), Some(&11));
        assert_eq!(t.remove(&key(1)), Some(11));
        assert_eq!(
            t.get(key(1)),
            None,
            "the remembered key is forgotten on removal"
        );
        t.get_or_insert_with(key(3), || 30);
        assert_eq!(t.len(), 2);
        assert_eq!(t.slots.len(), 2, "the freed slot was reused");
        let mut values: Vec<u32> = t.values().copied().collect();
        values.sort();
        assert_eq!(values, vec![20, 30]);
        assert_eq!(t.keys_where(|v| *v > 25), vec![key(3)]);
    }
}
