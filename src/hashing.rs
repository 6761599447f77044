//! Hash maps for hot loops over millions of cost rows: foldhash instead of SipHash (the keys
//! are our own data, not attacker-chosen, so DoS resistance buys nothing here).

pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

pub fn fast_map<K, V>() -> FastMap<K, V> {
    FastMap::with_hasher(foldhash::fast::FixedState::default())
}

pub fn fast_set<K>() -> FastSet<K> {
    FastSet::with_hasher(foldhash::fast::FixedState::default())
}
