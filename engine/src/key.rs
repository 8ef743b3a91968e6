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

/// How records write "no key" (a process instance's flow scope, a job key of an incident
/// that has none, …). The state holds `Option<i64>` instead and converts with
/// [`from_wire`] and [`to_wire`] where records are read and written.
pub const NONE: i64 = -1;

/// A key as a record carries it: keys are positive, anything else means none.
#[must_use]
pub const fn from_wire(key: i64) -> Option<i64> {
    if key > 0 { Some(key) } else { None }
}

/// A key as a record writes it: [`NONE`] for none.
#[must_use]
pub const fn to_wire(key: Option<i64>) -> i64 {
    match key {
        Some(key) => key,
        None => NONE,
    }
}

/// Serde for an `Option<i64>` key stored in the wire form (`-1` for none), so state
/// written by an engine that kept `-1` in memory reads the same and snapshots keep their
/// format. Use with `#[serde(with = "crate::key::wire")]`.
pub mod wire {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the key, or [`super::NONE`].
    ///
    /// # Errors
    /// Those of the serializer.
    pub fn serialize<S: Serializer>(key: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(super::to_wire(*key))
    }

    /// Reads a key; `-1` (or any non-positive number) is none.
    ///
    /// # Errors
    /// When the value is not a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        i64::deserialize(deserializer).map(super::from_wire)
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

    #[test]
    fn none_is_minus_one_on_the_wire() {
        assert_eq!(from_wire(-1), None);
        assert_eq!(from_wire(encode(1, 7)), Some(encode(1, 7)));
        assert_eq!(to_wire(None), -1);
        assert_eq!(to_wire(from_wire(encode(1, 7))), encode(1, 7));
    }
}
