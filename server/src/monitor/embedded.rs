//! Following an embedded engine's record stream.
//!
//! One task per embedded engine reads its stream from the position after the stored cursor
//! and applies what is available as one batch (up to [`BATCH`] records) per transaction. The
//! cursor moves in the same transaction as the projections, so after a crash or restart the
//! task resumes exactly where the database says it got to: no gap, no duplicate. If the stream
//! ends (the engine stopped, or could not read its log) or a batch fails, the task
//! re-subscribes from the stored cursor, with back-off and reported in `/readyz` while it
//! fails. Each committed batch is acknowledged to the engine, which may then delete the log
//! segments a snapshot covers.

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::sync::mpsc::error::TryRecvError;
use zeebe::record::Record;

use super::ingest::{self, Ingest, Source};
use crate::{db, engines::MONITOR_EXPORTER};

/// Most records applied in one transaction.
pub const BATCH: usize = 1000;

/// Follows `engine`'s records until the engine stops for good (its stream ends twice in a
/// row without progress and `stopped` says so) or the pool closes.
pub async fn follow(
    pool: PgPool,
    ingest: Arc<Ingest>,
    environment: String,
    engine: engine::Engine,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let source = Source::embedded(&environment);
    let partition = engine.partition_id();
    let mut backoff = Duration::from_millis(100);
    loop {
        if *stopped.borrow() || pool.is_closed() {
            return;
        }
        let from = match stored_position(&pool, &source, partition).await {
            Ok(position) => position + 1,
            Err(error) => {
                tracing::warn!(%error, environment, "cannot read the ingest cursor; retrying");
                ingest.failing(
                    &source,
                    &format!("cannot read the ingest cursor: {error:#}"),
                );
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stopped.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        let mut records = engine.subscribe(from);
        let mut received = false;
        loop {
            let first = tokio::select! {
                record = records.recv() => record,
                _ = stopped.changed() => return,
            };
            let Some(first) = first else {
                // The stream ended: re-subscribe from what is stored. Ending before it gave
                // anything means the engine could not read its log for us (it logs why):
                // retried with back-off, and reported until it works.
                if !received && !*stopped.borrow() {
                    ingest.failing(&source, &"the engine's record stream ended before reaching the stored position (the engine's log says why)");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = stopped.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                break;
            };
            let mut batch: Vec<Record> = vec![(*first).clone()];
            while batch.len() < BATCH {
                match records.try_recv() {
                    Ok(record) => batch.push((*record).clone()),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            match apply(&pool, &ingest, &source, &batch).await {
                Ok(outcome) => {
                    backoff = Duration::from_millis(100);
                    received = true;
                    ingest.healthy(&source);
                    // Stored: the engine may drop these records once a snapshot covers them.
                    if let Some(position) = outcome.positions.get(&partition) {
                        engine.acknowledge(MONITOR_EXPORTER, *position);
                        ingest.progressed(
                            &source,
                            batch.len(),
                            *position,
                            engine.committed_position(),
                        );
                    }
                    tracing::debug!(
                        environment,
                        applied = outcome.applied,
                        deltas = outcome.deltas.len(),
                        "ingested embedded engine records"
                    );
                }
                Err(error) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(%error, environment, "ingesting records failed; retrying from the stored position");
                    ingest.failing(&source, &format!("ingesting records failed: {error:#}"));
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = stopped.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    break;
                }
            }
        }
    }
}

async fn stored_position(pool: &PgPool, source: &Source, partition: i32) -> anyhow::Result<i64> {
    let mut tx = db::begin_platform(pool).await?;
    let position = ingest::position(&mut tx, source, partition).await?;
    tx.commit().await?;
    Ok(position)
}

async fn apply(
    pool: &PgPool,
    ingest: &Ingest,
    source: &Source,
    batch: &[Record],
) -> anyhow::Result<ingest::Outcome> {
    // The stream carries every tenant's records: the platform role writes them, through the
    // explicit policies of the projection tables.
    let mut tx = db::begin_platform(pool).await?;
    let outcome = ingest.apply(&mut tx, source, batch).await?;
    tx.commit().await?;
    Ok(outcome)
}
