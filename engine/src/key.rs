//! Zeebe-style keys.
//!
//! A key is a positive `i64` whose high bits carry the partition that created the entity
//! (`partition << 51 | counter`), so a key alone says which partition owns it. With one
//! partition today, keys still follow the layout, so adding partitions later does not
//! change the meaning of keys already handed out.

use serde::{Deserialize, Serialize};

/// Bits left for the per-partition counter.
pub const KEY_BITS: u32 = 51;
const COUNTER_MASK: i64 = (1 << KEY_BITS) - 1;

/// The key that `partition` assigns for its `counter`-th entity.
#[must_use]
pub const fn encode(partition: i32, counter: i64) -> i64 {
    ((partition as i64) << KEY_BITS) | (counter & COUNTER_MASK)
}

/// The partition that created `key`.
#[must_use]
pub const fn partition_of(key: i64) -> i32 {
    (key >> KEY_BITS) as i32
}

/// The per-partition counter part of `key`.
#[must_use]
pub const fn counter_of(key: i64) -> i64 {
    key & COUNTER_MASK
}

/// Hands out increasing keys for one partition.
///
/// The generator is part of the replicated state: it moves forward whenever an applied
/// record carries a key of this partition, so replaying the log restores it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGenerator {
    partition: i32,
    last: i64,
}

impl KeyGenerator {
    /// A generator for `partition` that has handed out nothing yet.
    #[must_use]
    pub fn new(partition: i32) -> Self {
        Self { partition, last: 0 }
    }

    /// The next key.
    pub fn next_key(&mut self) -> i64 {
        self.last += 1;
        encode(self.partition, self.last)
    }

    /// Notes that `key` was used, so it is never handed out again.
    pub fn observe(&mut self, key: i64) {
        if key > 0 && partition_of(key) == self.partition {
            self.last = self.last.max(counter_of(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_key_of_partition_one_matches_zeebe_layout() {
        let mut keys = KeyGenerator::new(1);
        let key = keys.next_key();
        assert_eq!(key, 2_251_799_813_685_249);
        assert_eq!(partition_of(key), 1);
        assert_eq!(counter_of(key), 1);
    }

    #[test]
    fn observed_keys_are_not_reused() {
        let mut keys = KeyGenerator::new(2);
        keys.observe(encode(2, 41));
        keys.observe(encode(3, 99)); // another partition's key
        assert_eq!(keys.next_key(), encode(2, 42));
    }
}
