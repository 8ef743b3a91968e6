//! How following each record source is going, for `/readyz`: a source whose stream cannot be
//! read or whose batches keep failing is retried with back-off, and says so here until it
//! works again.

use std::{collections::BTreeMap, sync::Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::source::Source;

/// A source that is failing now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceHealth {
    /// The cursor's name, e.g. `embedded:dev`.
    pub source: String,
    /// The latest error.
    pub error: String,
    /// When it started failing.
    pub since: DateTime<Utc>,
    /// Failed attempts since it last worked.
    pub attempts: u64,
}

#[derive(Debug, Default)]
pub(super) struct Health(Mutex<BTreeMap<String, SourceHealth>>);

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, SourceHealth>) -> T) -> T {
        // The map holds plain values: a panic elsewhere cannot leave it half-changed.
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut map)
    }

    pub(super) fn ok(&self, source: &Source) {
        self.with(|map| map.remove(&source.key));
    }

    pub(super) fn failing(&self, source: &Source, error: &dyn std::fmt::Display) {
        self.with(|map| {
            let entry = map
                .entry(source.key.clone())
                .or_insert_with(|| SourceHealth {
                    source: source.key.clone(),
                    error: String::new(),
                    since: Utc::now(),
                    attempts: 0,
                });
            entry.error = error.to_string();
            entry.attempts += 1;
        });
    }

    pub(super) fn failing_sources(&self) -> Vec<SourceHealth> {
        self.with(|map| map.values().cloned().collect())
    }
}
