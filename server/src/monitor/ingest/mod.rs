//! The one ingest path for engine records, whether they come from an embedded engine's stream
//! or from an exporter's `POST /api/v1/ingest/records`.
//!
//! [`Ingest::apply`] takes a batch of records in Zeebe's exporter shape and, in the caller's
//! transaction:
//!
//! 1. locks the source's cursor per partition and drops records at or before it, so a batch
//!    sent twice, or a stream re-read after a restart, is applied once;
//! 2. folds the rest, in position order, into the final state of every row they touch
//!    (process definitions, instances, element instances, incidents, variables, jobs) and
//!    the audit events they make (`fold`, no I/O; the rows are in `rows`), then writes
//!    each table with one statement (`write`);
//! 3. appends the execution audit events of each tenant to its chain ([`super::trail`]);
//! 4. moves the cursors forward;
//! 5. queues a `NOTIFY` with the deltas, which PostgreSQL delivers to every server replica
//!    when — and only if — the transaction commits (`notify`, [`super::hub`]).
//!
//! Only events change projections; commands and rejections only move the cursor.
//!
//! Every value is made storable before it is written (`storable`). Should the database still
//! refuse a batch for its data, the batch is applied again one record at a time, and a record
//! it refuses on its own is kept in `ingest_dead_letters` with the reason while the cursor
//! moves past it (`dead_letter`): one bad record never stops everyone else's.

mod dead_letter;
mod fold;
mod health;
mod notify;
mod rows;
mod source;
mod storable;
mod write;

use std::collections::BTreeMap;

use app::api::monitor_protocol::Delta;
use sqlx::{Connection, PgConnection};
use zeebe::record::Record;

pub use self::source::{Source, SourceKind};
pub use self::{
    dead_letter::{DeadLetter, dead_letters},
    fold::record_tenant,
    health::SourceHealth,
    notify::notify,
    write::position,
};
use self::{fold::Fold, health::Health, write::NameCache};
use super::trail::Sanitizer;
use crate::domain::Result;

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records applied now.
    pub applied: usize,
    /// Records at or before the stored position: applied before.
    pub duplicates: usize,
    /// Records of no known tenant environment (an embedded engine used around the control
    /// plane), or that concern nothing projected.
    pub ignored: usize,
    /// Records the database refused even on their own, kept as dead letters.
    pub dead_lettered: usize,
    /// The stored position per partition after the batch.
    pub positions: BTreeMap<i32, i64>,
    /// What changed, as pushed to WebSocket subscribers.
    pub deltas: Vec<Delta>,
}

/// The ingest service: the audit sanitizer, a cache of element names per definition, and how
/// each followed source is doing.
#[derive(Debug)]
pub struct Ingest {
    sanitizer: Sanitizer,
    names: NameCache,
    health: Health,
    /// Per followed source: records applied, the position stored and the engine's head.
    progress: std::sync::Mutex<BTreeMap<String, Progress>>,
}

/// How far ingest of one source has come, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records applied since the server started.
    pub applied: u64,
    /// The last position stored.
    pub position: i64,
    /// The newest position the engine has committed.
    pub head: i64,
}

impl Ingest {
    pub fn new(sanitizer: Sanitizer) -> Self {
        Self {
            sanitizer,
            names: NameCache::default(),
            health: Health::default(),
            progress: std::sync::Mutex::default(),
        }
    }

    /// Applies `records` from `source` inside the caller's transaction (see the module docs).
    /// A connection of the platform role can take any source; a tenant transaction only its
    /// own tenant's exporter, which row-level security enforces.
    pub async fn apply(
        &self,
        conn: &mut PgConnection,
        source: &Source,
        records: &[Record],
    ) -> Result<Outcome> {
        // A savepoint: a refused batch leaves the caller's transaction usable.
        let mut attempt = conn.begin().await?;
        match self.apply_batch(&mut attempt, source, records).await {
            Ok(outcome) => {
                attempt.commit().await?;
                return Ok(outcome);
            }
            Err(error) if dead_letter::refused_for_its_data(&error) => {
                attempt.rollback().await?;
                tracing::warn!(%error, source = source.key, records = records.len(),
                    "the database refused a batch; applying its records one by one");
            }
            Err(error) => return Err(error),
        }
        let mut ordered: Vec<&Record> = records.iter().collect();
        ordered.sort_by_key(|r| (r.partition_id, r.position));
        let mut outcome = Outcome::default();
        for record in ordered {
            let mut attempt = conn.begin().await?;
            match self
                .apply_batch(&mut attempt, source, std::slice::from_ref(record))
                .await
            {
                Ok(one) => {
                    attempt.commit().await?;
                    outcome.absorb(one);
                }
                Err(error) if dead_letter::refused_for_its_data(&error) => {
                    attempt.rollback().await?;
                    let stored = dead_letter::keep(conn, source, record, &error).await?;
                    outcome.dead_lettered += 1;
                    outcome.positions.insert(record.partition_id, stored);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(outcome)
    }

    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        source: &Source,
        records: &[Record],
    ) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        let fresh = claim(conn, source, records, &mut outcome).await?;
        if fresh.is_empty() {
            return Ok(outcome);
        }
        outcome.applied = fresh.len();
        let targets = write::resolve_targets(conn, source, &fresh).await?;
        let fold = Fold::of(&self.sanitizer, &source.kind, &targets, &fresh).into_storable();
        outcome.ignored = fold.ignored;
        outcome.deltas = write::write(conn, &self.names, fold).await?;
        write::advance_cursors(conn, source, &outcome.positions).await?;
        notify(conn, &outcome.deltas).await?;
        Ok(outcome)
    }

    /// Notes that following `source` works (again).
    pub fn healthy(&self, source: &Source) {
        self.health.ok(source);
    }

    /// Notes that following `source` fails with `error`; it is retried.
    pub fn failing(&self, source: &Source, error: &dyn std::fmt::Display) {
        self.health.failing(source, error);
    }

    /// Notes that a batch of `applied` records from `source` is stored up to `position`, with
    /// the engine's head at `head`.
    pub fn progressed(&self, source: &Source, applied: usize, position: i64, head: i64) {
        let mut progress = self
            .progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = progress.entry(source.key.clone()).or_default();
        entry.applied += applied as u64;
        entry.position = position;
        entry.head = head.max(position);
    }

    /// Every followed source's progress, by its name.
    pub fn progress(&self) -> BTreeMap<String, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The sources whose ingest is failing now, for `/readyz`.
    pub fn failing_sources(&self) -> Vec<SourceHealth> {
        self.health.failing_sources()
    }
}

impl Outcome {
    /// Adds what another batch of the same call did.
    fn absorb(&mut self, other: Outcome) {
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.ignored += other.ignored;
        self.dead_lettered += other.dead_lettered;
        self.positions.extend(other.positions);
        self.deltas.extend(other.deltas);
    }
}

/// Locks `source`'s cursor of each partition in `records` and returns the records after it,
/// in position order per partition; counts the others as duplicates in `outcome` and records
/// where each cursor will stand.
async fn claim<'r>(
    conn: &mut PgConnection,
    source: &Source,
    records: &'r [Record],
    outcome: &mut Outcome,
) -> Result<Vec<&'r Record>> {
    let mut by_partition: BTreeMap<i32, Vec<&Record>> = BTreeMap::new();
    for record in records {
        by_partition
            .entry(record.partition_id)
            .or_default()
            .push(record);
    }
    let mut fresh = Vec::new();
    for (partition, mut batch) in by_partition {
        batch.sort_by_key(|r| r.position);
        batch.dedup_by_key(|r| r.position);
        let stored = write::lock_cursor(conn, source, partition).await?;
        let before = batch.len();
        batch.retain(|r| r.position > stored);
        outcome.duplicates += before - batch.len();
        let last = batch.last().map_or(stored, |r| r.position);
        outcome.positions.insert(partition, last);
        fresh.extend(batch);
    }
    Ok(fresh)
}
