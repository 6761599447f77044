//! Hashing: SHA-256 of contents (manifests, snapshot fingerprints, evidence), and hash maps
//! for hot loops over millions of cost rows: foldhash instead of SipHash (the keys are our own
//! data, not attacker-chosen, so DoS resistance buys nothing here).

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lower-case hex: what manifests and evidence record.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

pub fn fast_map<K, V>() -> FastMap<K, V> {
    FastMap::with_hasher(foldhash::fast::FixedState::default())
}

pub fn fast_set<K>() -> FastSet<K> {
    FastSet::with_hasher(foldhash::fast::FixedState::default())
}
