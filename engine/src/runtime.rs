// Over 800 lines: start-up, replay, processing, storage recovery and snapshots share
// private channels and types.
//! The running engine: one processor task, one log-writer thread, one responder task.
//!
//! ```text
//! Engine::execute ─► processor task ──process()──► LogWriter (group commit, fsync)
//!                         │                              │ durable
//!                         └──── pending, in order ──► responder task ─► reply, publish
//!                                                                       records, wake
//!                                                                       job pollers
//! ```
//!
//! The processor applies each command's events to the in-memory state at once and goes
//! on with the next command while the log writer syncs; a reply is sent, and records are
//! published, only after the command's log entry is durable. Each log entry holds the
//! command and the records it produced, so a restart replays the records into a fresh
//! state.
//!
//! # When the log cannot be written
//!
//! A failed write or `fsync` (a full disk, a file system gone read-only) fails the command
//! whose entry it was, and every command prepared after it, with
//! [`EngineError::Storage`] (`RESOURCE_EXHAUSTED` at the gateway): none of them is
//! acknowledged, and none of their records is published. The processor then refuses
//! commands without applying them, and every [`EngineConfig::storage_retry`] (and on the
//! next command after that) asks the log writer to recover: it takes the log back to its
//! last durable entry and probes the file system with a test write. Once that works, the
//! processor rebuilds its state from the newest snapshot and the log up to that entry, so
//! the state never holds what failed, and accepts commands again, without a restart.
//!
//! # Snapshots and deleting the log
//!
//! Every [`EngineConfig::snapshot_every`] entries (and on clean shutdown) the processor
//! encodes its state; once the entry it was taken after is durable, a snapshot task
//! writes it to `<data_dir>/snapshots/` (see [`crate::snapshot`]). A restart loads the
//! newest intact snapshot and replays only the entries after it.
//!
//! With [`Retention::Compact`] the snapshot task also deletes the log segments that the
//! older of the two kept snapshots covers (the log still reaches back to it, in case the
//! newest turns out damaged) once every configured exporter has acknowledged the records
//! in them ([`Engine::acknowledge`]); while the exporters keep up, disk use is bounded by
//! two snapshot intervals plus one segment. A subscriber asking for records older than the log still holds gets
//! the stream from the oldest one it holds. With [`Retention::KeepAll`] the whole log is
//! kept.
//!
//! # Subscribers
//!
//! [`Engine::subscribe`] reads what is already durable from disk, one entry at a time on a
//! blocking thread, through a bounded channel, so catching up holds one log entry and the
//! channel's 1,024 records at most, whatever the log's size; then it follows the records
//! live. A subscriber that
//! falls behind the live stream catches up from disk again.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use zeebe::record::Record;

use crate::{
    clock::{Clock, SystemClock},
    log::{self, Log, LogError, LogOptions, LogWriter, writer::Durable},
    processor::{self, AuthorizedTenants, Command, Rejection, Response},
    snapshot,
    state::State,
};

/// How to run an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the log lives (created if missing).
    pub data_dir: PathBuf,
    /// This partition's id (1 while there is one partition).
    pub partition_id: i32,
    /// Source of time.
    pub clock: Arc<dyn Clock>,
    /// Log tuning.
    pub log: LogOptions,
    /// Time-driven work (timers, job time-outs and back-offs, message expiry) runs when
    /// it is due: the runtime wakes at the next due date the state holds, and at the
    /// latest after this long (a safety net, e.g. when the wall clock jumps). `None` to
    /// only do it on [`Engine::tick`], as tests with a manual clock do.
    pub tick_interval: Option<Duration>,
    /// A snapshot of the state is written to `<data_dir>/snapshots/` after this many log
    /// entries (and on clean shutdown), so a restart replays only the entries after it;
    /// 0 turns snapshots off.
    pub snapshot_every: u64,
    /// Which log segments may be deleted.
    pub retention: Retention,
    /// While the log cannot be written, how often the engine tries again (and, at the
    /// earliest, when a command arrives after that long).
    pub storage_retry: Duration,
}

/// Default of [`EngineConfig::snapshot_every`].
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 10_000;

/// Which log segments an engine deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Retention {
    /// Keep the whole log, so a subscriber may read from any position.
    #[default]
    KeepAll,
    /// Delete the segments a snapshot covers whose records every named exporter has
    /// acknowledged ([`Engine::acknowledge`]); with no exporters named, the snapshot alone
    /// decides. An exporter that has not acknowledged anything since the engine started
    /// holds everything back. Needs snapshots ([`EngineConfig::snapshot_every`] > 0).
    Compact {
        /// The exporters whose acknowledgements count.
        exporters: Vec<String>,
    },
}

/// How the state was recovered at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Log index covered by the snapshot the state started from, if any.
    pub snapshot_index: Option<u64>,
    /// Log entries replayed after it.
    pub replayed_entries: u64,
}

impl EngineConfig {
    /// Defaults: partition 1, system clock, time-driven work when due (checked at least
    /// every second), the whole log kept, a failed log retried every second.
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            partition_id: 1,
            clock: Arc::new(SystemClock),
            log: LogOptions::default(),
            tick_interval: Some(Duration::from_secs(1)),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            retention: Retention::KeepAll,
            storage_retry: Duration::from_secs(1),
        }
    }
}

/// Why a request to the engine failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The command was refused; nothing changed.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The log cannot be written (a failed write or `fsync`, e.g. a full disk): the
    /// command was not applied, and commands are refused until a write succeeds again,
    /// which the engine keeps trying by itself.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
    /// A process instance awaited with its result was terminated.
    #[error("process instance {0} was terminated before it completed")]
    Terminated(i64),
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The log could not be opened or is corrupt.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The log's oldest segments were deleted, and no intact snapshot covers them.
    #[error(
        "the log starts at entry {first}, because older segments were deleted once a snapshot \
         covered them, but no intact snapshot covers entry {}; restore the snapshots from a \
         backup",
        first - 1
    )]
    Compacted {
        /// The oldest entry the log holds.
        first: u64,
    },
}

/// One log entry: a command and the records it produced.
#[derive(Serialize, Deserialize)]
struct LogBatch {
    command: Command,
    records: Vec<Record>,
}

/// A [`LogBatch`] to encode, sharing its records with the responder that publishes them,
/// so the processor neither encodes nor copies them.
struct SharedBatch {
    command: Command,
    records: Arc<[Arc<Record>]>,
}

impl Serialize for SharedBatch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Records<'a>(&'a [Arc<Record>]);
        impl Serialize for Records<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(AsRef::as_ref))
            }
        }
        let mut s = serializer.serialize_struct("LogBatch", 2)?;
        s.serialize_field("command", &self.command)?;
        s.serialize_field("records", &Records(&self.records))?;
        s.end()
    }
}

/// A reply: the response, plus the instance's variables for create-with-result.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// What the command answered.
    pub response: Response,
    /// Variables of the completed instance (create-with-result only).
    pub variables: Option<Map<String, Value>>,
}

type ReplyTx = oneshot::Sender<Result<Reply, EngineError>>;

struct Request {
    command: Command,
    /// The client's operation reference, -1 for none.
    operation_reference: i64,
    /// The tenants the command may touch.
    tenants: AuthorizedTenants,
    await_result: bool,
    reply: ReplyTx,
}

/// What the responder handles, in the order the processor produced it.
enum Pending {
    /// A command whose entry is on its way to the log.
    Appended(Appended),
    /// The snapshot taken at shutdown, written once `durable` resolves.
    Snapshot { durable: Durable, job: SnapshotJob },
    /// The processor rebuilt its state from the log after failed appends: what follows
    /// rests on durable entries only.
    Recovered,
}

struct Appended {
    durable: Durable,
    processed: processor::Processed,
    records: Arc<[Arc<Record>]>,
    await_result: bool,
    reply: ReplyTx,
    /// A snapshot taken right after this command, written once its entry is durable.
    snapshot: Option<SnapshotJob>,
}

/// The exporters whose acknowledgements bound the deletion of log segments.
#[derive(Debug)]
struct Exporters {
    /// Acknowledged position per exporter (0 until the first acknowledgement).
    positions: Mutex<HashMap<String, i64>>,
    changed: Notify,
}

impl Exporters {
    fn new(names: &[String]) -> Self {
        Self {
            positions: Mutex::new(names.iter().map(|n| (n.clone(), 0)).collect()),
            changed: Notify::new(),
        }
    }

    /// Whether every exporter has acknowledged `position`.
    fn all_past(&self, position: i64) -> bool {
        self.positions
            .lock()
            .is_ok_and(|p| p.values().all(|acked| *acked >= position))
    }
}

/// Handle to a running engine; cheap to clone. The engine stops when every handle is
/// dropped.
#[derive(Clone, Debug)]
pub struct Engine {
    requests: mpsc::UnboundedSender<Request>,
    jobs: watch::Receiver<u64>,
    committed: watch::Receiver<i64>,
    records: broadcast::Sender<Arc<Record>>,
    log_dir: PathBuf,
    partition_id: i32,
    commit_stats: Arc<log::writer::CommitStats>,
    recovery: Recovery,
    snapshots: watch::Receiver<u64>,
    exporters: Option<Arc<Exporters>>,
}

/// Acknowledges exported records for one exporter ([`Engine::acknowledge`]).
#[derive(Clone, Debug)]
pub struct ExporterHandle {
    name: String,
    exporters: Option<Arc<Exporters>>,
}

impl ExporterHandle {
    /// See [`Engine::acknowledge`].
    pub fn acknowledge(&self, position: i64) {
        let Some(exporters) = &self.exporters else {
            return;
        };
        let Ok(mut positions) = exporters.positions.lock() else {
            return;
        };
        match positions.get_mut(&self.name) {
            Some(acked) if position > *acked => {
                *acked = position;
                drop(positions);
                exporters.changed.notify_one();
            }
            Some(_) => {}
            None => tracing::warn!(
                exporter = self.name,
                "ignoring an acknowledgement from an exporter the engine is not configured with"
            ),
        }
    }
}

/// A state rebuilt from a snapshot and the log.
struct Rebuilt {
    state: State,
    recovery: Recovery,
    /// The snapshot used: its log index and the position of its last record.
    snapshot: Option<(u64, i64)>,
}

/// The state as of log entry `upto`: the newest intact snapshot that covers no more than
/// that, then the entries after it.
fn rebuild(
    log_dir: &Path,
    snapshot_dir: Option<&Path>,
    partition_id: i32,
    upto: u64,
) -> Result<Rebuilt, StartError> {
    let loaded = snapshot_dir.and_then(|dir| snapshot::load_newest(dir, partition_id, Some(upto)));
    let from = loaded.as_ref().map_or(0, |l| l.log_index);
    let first = log::first_index(log_dir)?;
    if first > from + 1 {
        return Err(StartError::Compacted { first });
    }
    let snapshot = loaded
        .as_ref()
        .map(|l| (l.log_index, l.state.last_position));
    let mut state = loaded.map_or_else(|| State::new(partition_id), |l| l.state);
    let mut reader = log::Reader::new(log_dir, from + 1);
    let mut last = from;
    let mut replayed = 0;
    while last < upto {
        let Some((index, payload)) = reader.next_entry()? else {
            break;
        };
        replay_entry(&mut state, log_dir, index, &payload)?;
        replayed += 1;
        last = index;
    }
    if last < upto {
        return Err(StartError::Log(LogError::Corrupt {
            path: log_dir.to_owned(),
            offset: 0,
            reason: format!("the log ends at entry {last}, expected it to reach {upto}"),
        }));
    }
    Ok(Rebuilt {
        state,
        recovery: Recovery {
            snapshot_index: snapshot.map(|(index, _)| index),
            replayed_entries: replayed,
        },
        snapshot,
    })
}

impl Engine {
    /// Opens the log in `config.data_dir`, replays it, and starts processing.
    ///
    /// # Errors
    /// When the log cannot be opened, is corrupt (a torn tail is not: it is cut off), is
    /// missing entries no snapshot covers, or holds a record that cannot be applied.
    pub fn start(config: EngineConfig) -> Result<Self, StartError> {
        let log_dir = config
            .data_dir
            .join(format!("partition-{}", config.partition_id));
        let snapshot_dir = config.data_dir.join("snapshots");
        let snapshots_on = config.snapshot_every > 0;
        let loaded = if snapshots_on {
            snapshot::load_newest(&snapshot_dir, config.partition_id, None)
        } else {
            None
        };
        let skip = loaded.as_ref().map_or(0, |l| l.log_index);
        // Deleted segments can only be stood in for by a snapshot that covers them.
        let first = log::first_index(&log_dir)?;
        if first > skip + 1 {
            return Err(StartError::Compacted { first });
        }
        let mut recovery = Recovery {
            snapshot_index: loaded.as_ref().map(|l| l.log_index),
            replayed_entries: 0,
        };
        let mut known_snapshot = loaded
            .as_ref()
            .map(|l| (l.log_index, l.state.last_position));
        if let Some(l) = &loaded {
            tracing::info!(path = %l.path.display(), index = l.log_index, "starting from a snapshot");
        }
        let mut state = loaded.map_or_else(|| State::new(config.partition_id), |l| l.state);
        let mut log = Log::open(&log_dir, config.log.clone(), |index, payload| {
            if index <= skip {
                return Ok(());
            }
            recovery.replayed_entries += 1;
            replay_entry(&mut state, &log_dir, index, payload)
        })?;
        // Entries replayed from the page cache after a process crash may not be on disk
        // yet; make them durable before anything (replies, snapshots) builds on them.
        log.sync()?;
        let last_index = log.next_index() - 1;
        // Snapshots covering entries the log lost (e.g. taken by an engine that ran before
        // a machine crash cut the log) would be wrong once new entries reuse those indices.
        snapshot::remove_after(&snapshot_dir, config.partition_id, last_index);
        if last_index < skip {
            tracing::warn!(
                snapshot = skip,
                log = last_index,
                "snapshot is ahead of the log; rebuilding from an older snapshot or the log alone"
            );
            let rebuilt = rebuild(
                &log_dir,
                snapshots_on.then_some(snapshot_dir.as_path()),
                config.partition_id,
                last_index,
            )?;
            state = rebuilt.state;
            recovery = rebuilt.recovery;
            known_snapshot = rebuilt.snapshot;
        }
        tracing::info!(
            position = state.last_position,
            processes = state.processes.len(),
            instances = state.elements.len(),
            snapshot = ?recovery.snapshot_index,
            replayed = recovery.replayed_entries,
            "engine state recovered"
        );
        let covered = recovery.snapshot_index.unwrap_or(0);
        let writer = LogWriter::spawn(log);
        let commit_stats = writer.stats();
        let (requests, request_rx) = mpsc::unbounded_channel();
        let (pending_tx, pending_rx) = mpsc::unbounded_channel();
        let (jobs_tx, jobs) = watch::channel(0);
        let (committed_tx, committed) = watch::channel(state.last_position);
        let (records, _) = broadcast::channel(4096);
        let (snapshots_tx, snapshots) = watch::channel(covered);
        let (due_tx, due_rx) = watch::channel(state.next_due());
        let exporters = match &config.retention {
            Retention::KeepAll => None,
            Retention::Compact { exporters } => Some(Arc::new(Exporters::new(exporters))),
        };
        let snapshot_jobs = if snapshots_on {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_snapshots(SnapshotTask {
                jobs: rx,
                dir: snapshot_dir.clone(),
                partition_id: config.partition_id,
                written: snapshots_tx,
                writer: writer.clone(),
                exporters: exporters.clone(),
                positions: known_snapshot.into_iter().collect(),
                compacted_to: 0,
            }));
            Some(tx)
        } else {
            None
        };
        let processor = Processor {
            state,
            clock: config.clock.clone(),
            writer,
            pending: pending_tx,
            due: due_tx,
            snapshots: Snapshotting {
                enabled: snapshots_on,
                every: config.snapshot_every,
                last_index,
                since: last_index - covered.min(last_index),
            },
            storage: Storage {
                log_dir: log_dir.clone(),
                snapshot_dir: snapshots_on.then_some(snapshot_dir),
                partition_id: config.partition_id,
                retry: config.storage_retry,
                degraded: None,
            },
        };
        tokio::spawn(run_processor(processor, request_rx));
        tokio::spawn(run_responder(
            pending_rx,
            jobs_tx,
            committed_tx,
            records.clone(),
            snapshot_jobs,
        ));
        let engine = Self {
            requests,
            jobs,
            committed,
            records,
            log_dir,
            partition_id: config.partition_id,
            commit_stats,
            recovery,
            snapshots,
            exporters,
        };
        if let Some(max_wait) = config.tick_interval {
            tokio::spawn(run_ticker(
                engine.requests.downgrade(),
                config.clock,
                due_rx,
                max_wait,
            ));
        }
        Ok(engine)
    }

    /// How the state was recovered at start (snapshot used, entries replayed).
    #[must_use]
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// A receiver of the log index covered by the newest snapshot written (or loaded).
    #[must_use]
    pub fn snapshot_notifications(&self) -> watch::Receiver<u64> {
        self.snapshots.clone()
    }

    /// The partition this engine runs.
    #[must_use]
    pub fn partition_id(&self) -> i32 {
        self.partition_id
    }

    async fn request(
        &self,
        command: Command,
        operation_reference: i64,
        tenants: AuthorizedTenants,
        await_result: bool,
    ) -> Result<Reply, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request {
                command,
                operation_reference,
                tenants,
                await_result,
                reply,
            })
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }

    /// Runs a command; answers once its effects are durable.
    ///
    /// # Errors
    /// [`EngineError::Rejected`] when refused, storage and shutdown errors otherwise.
    pub async fn execute(&self, command: Command) -> Result<Response, EngineError> {
        self.execute_referenced(command, -1).await
    }

    /// [`Engine::execute`] for a command with a client's operation reference (-1 for none),
    /// which every record it writes carries.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn execute_referenced(
        &self,
        command: Command,
        operation_reference: i64,
    ) -> Result<Response, EngineError> {
        self.execute_as(command, operation_reference, AuthorizedTenants::Any)
            .await
    }

    /// [`Engine::execute_referenced`] for a command that may touch only `tenants`: keys of
    /// other tenants are answered as missing, other tenants named are refused.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn execute_as(
        &self,
        command: Command,
        operation_reference: i64,
        tenants: AuthorizedTenants,
    ) -> Result<Response, EngineError> {
        self.request(command, operation_reference, tenants, false)
            .await
            .map(|r| r.response)
    }

    /// Creates a process instance and answers when it has completed, with its variables.
    ///
    /// # Errors
    /// As [`Engine::execute`], and [`EngineError::Terminated`] if it was cancelled.
    pub async fn create_instance_with_result(
        &self,
        command: Command,
        operation_reference: i64,
    ) -> Result<Reply, EngineError> {
        self.create_instance_with_result_as(command, operation_reference, AuthorizedTenants::Any)
            .await
    }

    /// [`Engine::create_instance_with_result`] for a command that may touch only `tenants`.
    ///
    /// # Errors
    /// As [`Engine::create_instance_with_result`].
    pub async fn create_instance_with_result_as(
        &self,
        command: Command,
        operation_reference: i64,
        tenants: AuthorizedTenants,
    ) -> Result<Reply, EngineError> {
        self.request(command, operation_reference, tenants, true)
            .await
    }

    /// Does what is due at the clock's current time (timers, job time-outs, back-offs,
    /// message expiry).
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn tick(&self) -> Result<(), EngineError> {
        self.execute(Command::Tick).await.map(|_| ())
    }

    /// A receiver that changes whenever jobs may have become activatable (for long polling).
    #[must_use]
    pub fn job_notifications(&self) -> watch::Receiver<u64> {
        self.jobs.clone()
    }

    /// Group-commit counters of the log writer (syncs, appends, entries, bytes).
    #[must_use]
    pub fn commit_counts(&self) -> log::writer::CommitCounts {
        self.commit_stats.counts()
    }

    /// Position of the last durable record.
    #[must_use]
    pub fn committed_position(&self) -> i64 {
        *self.committed.borrow()
    }

    /// Records that `exporter` (one of [`Retention::Compact`]'s) has stored every record up
    /// to `position` for good and will not ask for them again, so the log segments holding
    /// them may be deleted once a snapshot covers them. Positions only move forward; with
    /// [`Retention::KeepAll`] this does nothing.
    pub fn acknowledge(&self, exporter: &str, position: i64) {
        self.exporter(exporter).acknowledge(position);
    }

    /// A handle that acknowledges for `exporter` without keeping the engine running.
    #[must_use]
    pub fn exporter(&self, exporter: &str) -> ExporterHandle {
        ExporterHandle {
            name: exporter.to_owned(),
            exporters: self.exporters.clone(),
        }
    }

    /// Every durable record with a position of at least `from`: first those already in the
    /// log (from the oldest it still holds, if `from` is older), read from disk one entry
    /// at a time, then new ones as they become durable. The stream ends if the engine
    /// stops or the log cannot be read.
    #[must_use]
    pub fn subscribe(&self, from: i64) -> mpsc::Receiver<Arc<Record>> {
        let (tx, rx) = mpsc::channel(1024);
        let live = self.records.subscribe();
        let committed = self.committed.clone();
        let log_dir = self.log_dir.clone();
        tokio::spawn(follow(tx, live, committed, log_dir, from.max(1)));
        rx
    }
}

/// Feeds a subscriber: catch up from disk to what is durable, then follow the live
/// records; after falling behind those, catch up from disk again.
async fn follow(
    tx: mpsc::Sender<Arc<Record>>,
    mut live: broadcast::Receiver<Arc<Record>>,
    committed: watch::Receiver<i64>,
    log_dir: PathBuf,
    mut next: i64,
) {
    loop {
        // `live` was subscribed before this is read, so nothing after it is missed.
        let durable = *committed.borrow();
        if next <= durable {
            let (dir, sender) = (log_dir.clone(), tx.clone());
            let caught_up =
                tokio::task::spawn_blocking(move || stream_records(&dir, next, durable, &sender))
                    .await;
            match caught_up {
                Ok(Ok(Some(after))) => next = after,
                // The subscriber is gone.
                Ok(Ok(None)) => return,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot read the log for a subscriber; ending its stream");
                    return;
                }
                Err(_) => return,
            }
        }
        loop {
            match live.recv().await {
                Ok(record) if record.position >= next => {
                    next = record.position + 1;
                    if tx.send(record).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow for the live stream: what it missed is durable, so read it
                    // from disk, with a fresh live receiver for what comes after.
                    live = live.resubscribe();
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// The part of a log entry that tells where its records start.
#[derive(Deserialize)]
struct EntryPositions {
    records: Vec<RecordPosition>,
}

#[derive(Deserialize)]
struct RecordPosition {
    position: i64,
}

/// Position of the first record in the first entry of the segment starting at `first`.
fn first_position(dir: &Path, first: u64) -> Result<Option<i64>, LogError> {
    let mut reader = log::Reader::new(dir, first);
    let Some((index, payload)) = reader.next_entry()? else {
        return Ok(None);
    };
    if index != first {
        // Deleted meanwhile.
        return Ok(None);
    }
    Ok(serde_json::from_slice::<EntryPositions>(&payload)
        .ok()
        .and_then(|e| e.records.first().map(|r| r.position)))
}

/// Sends the records of the log in `dir` with positions in `from..=to` to `tx`, reading
/// one entry at a time and waiting whenever the channel is full. Returns the position
/// after the last record sent, or `None` if the receiver is gone.
fn stream_records(
    dir: &Path,
    from: i64,
    to: i64,
    tx: &mpsc::Sender<Arc<Record>>,
) -> Result<Option<i64>, LogError> {
    // Start in the newest segment whose first record is not after `from`.
    let segments = log::segments(dir)?;
    let mut start = segments.first().copied().unwrap_or(1);
    for &first in segments.iter().rev() {
        if first_position(dir, first)?.is_some_and(|p| p <= from) {
            start = first;
            break;
        }
    }
    let mut next = from;
    let mut reader = log::Reader::new(dir, start);
    while next <= to {
        let Some((index, payload)) = reader.next_entry()? else {
            break;
        };
        let batch: LogBatch = serde_json::from_slice(&payload).map_err(|e| LogError::Corrupt {
            path: dir.to_owned(),
            offset: index,
            reason: format!("entry {index} does not decode: {e}"),
        })?;
        for record in batch.records {
            if record.position < next || record.position > to {
                continue;
            }
            if record.position > next {
                tracing::warn!(
                    from = next,
                    to = record.position - 1,
                    "records asked for are no longer in the log (deleted once a snapshot \
                     covered them and every exporter had them); the stream goes on from the \
                     oldest one left"
                );
            }
            next = record.position + 1;
            if tx.blocking_send(Arc::new(record)).is_err() {
                return Ok(None);
            }
        }
    }
    Ok(Some(next))
}

fn replay_entry(
    state: &mut State,
    log_dir: &Path,
    index: u64,
    payload: &[u8],
) -> Result<(), LogError> {
    let batch: LogBatch = serde_json::from_slice(payload).map_err(|e| LogError::Corrupt {
        path: log_dir.to_owned(),
        offset: index,
        reason: format!("entry {index} does not decode: {e}"),
    })?;
    for record in &batch.records {
        match state.apply(record) {
            Ok(()) => {}
            // The state follows the log as well as it can: refusing to start over a
            // record that an older engine wrote would leave the partition unusable.
            Err(e) if e.is_broken_invariant() => e.report(&format!(
                "replaying log entry {index} (position {})",
                record.position
            )),
            Err(e) => {
                return Err(LogError::Corrupt {
                    path: log_dir.to_owned(),
                    offset: index,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// A snapshot to write once the entries it covers are durable.
struct SnapshotJob {
    log_index: u64,
    position: i64,
    bytes: Vec<u8>,
}

/// The processor's snapshot bookkeeping.
struct Snapshotting {
    enabled: bool,
    every: u64,
    /// Index of the last entry appended.
    last_index: u64,
    /// Entries appended since the last snapshot.
    since: u64,
}

impl Snapshotting {
    /// Counts an appended entry (none if `force`, at shutdown) and returns a snapshot to
    /// write when one is due.
    fn appended(&mut self, state: &State, force: bool) -> Option<SnapshotJob> {
        self.last_index += u64::from(!force);
        self.since += u64::from(!force);
        if !self.enabled || self.since == 0 || (!force && self.since < self.every) {
            return None;
        }
        match snapshot::encode(state, self.last_index) {
            Ok(bytes) => {
                self.since = 0;
                Some(SnapshotJob {
                    log_index: self.last_index,
                    position: state.last_position,
                    bytes,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a snapshot");
                None
            }
        }
    }

    /// Starts counting again after the state was rebuilt up to `last_index` from a
    /// snapshot covering `covered`.
    fn restart(&mut self, last_index: u64, covered: u64) {
        self.last_index = last_index;
        self.since = last_index - covered.min(last_index);
    }
}

/// The snapshot task: writes snapshots and deletes the log segments they cover.
struct SnapshotTask {
    jobs: mpsc::UnboundedReceiver<SnapshotJob>,
    dir: PathBuf,
    partition_id: i32,
    written: watch::Sender<u64>,
    writer: LogWriter,
    exporters: Option<Arc<Exporters>>,
    /// Position of the last record of each snapshot this run knows, by log index.
    positions: BTreeMap<u64, i64>,
    /// Segments up to this index were deleted (or found not deletable) already.
    compacted_to: u64,
}

/// Writes each snapshot it is handed (every entry it covers is durable by then), and
/// deletes covered log segments when a snapshot or an acknowledgement allows it.
async fn run_snapshots(mut task: SnapshotTask) {
    loop {
        let job = match task.exporters.clone() {
            Some(exporters) => tokio::select! {
                job = task.jobs.recv() => job,
                () = exporters.changed.notified() => {
                    task.compact().await;
                    continue;
                }
            },
            None => task.jobs.recv().await,
        };
        let Some(job) = job else {
            return;
        };
        let dir = task.dir.clone();
        let partition_id = task.partition_id;
        let (log_index, position) = (job.log_index, job.position);
        let result = tokio::task::spawn_blocking(move || {
            snapshot::write(&dir, partition_id, job.log_index, &job.bytes)
        })
        .await;
        match result {
            Ok(Ok(path)) => {
                tracing::debug!(path = %path.display(), "snapshot written");
                task.positions.insert(log_index, position);
                task.written.send_replace(log_index);
                task.compact().await;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write a snapshot"),
            Err(e) => tracing::warn!(error = %e, "snapshot writer failed"),
        }
    }
}

impl SnapshotTask {
    /// Deletes the log segments the older kept snapshot covers, if every exporter has
    /// acknowledged its records. The log keeps reaching back to the older snapshot so
    /// that a damaged newest one still leaves a way to start.
    async fn compact(&mut self) {
        let Some(exporters) = &self.exporters else {
            return;
        };
        let kept = match snapshot::list(&self.dir, self.partition_id) {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list snapshots");
                return;
            }
        };
        self.positions
            .retain(|index, _| kept.iter().any(|(kept, _)| kept == index));
        if kept.len() < snapshot::KEEP {
            return;
        }
        let target = kept[0].0;
        let Some(&position) = self.positions.get(&target) else {
            return;
        };
        if target <= self.compacted_to || !exporters.all_past(position) {
            return;
        }
        match self.writer.delete_covered(target).await {
            Ok(Ok(deleted)) => {
                self.compacted_to = target;
                if deleted.segments > 0 {
                    tracing::info!(
                        segments = deleted.segments,
                        bytes = deleted.bytes,
                        through_entry = deleted.through,
                        "deleted log segments that a snapshot covers and every exporter has"
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot delete covered log segments"),
            Err(_) => {}
        }
    }
}

/// Sends a [`Command::Tick`] whenever something in the state is due (the processor
/// publishes the next due date after each command), and at least every `max_wait`.
async fn run_ticker(
    requests: mpsc::WeakUnboundedSender<Request>,
    clock: Arc<dyn Clock>,
    mut due: watch::Receiver<Option<i64>>,
    max_wait: Duration,
) {
    let mut last_ticked_for = None;
    loop {
        let next = *due.borrow_and_update();
        let now = clock.now_millis();
        let wait = match next {
            Some(at) if at <= now => {
                if last_ticked_for == Some(at) {
                    // Still due right after a tick for it (more than one tick's work):
                    // go on, but never spin without yielding.
                    Duration::from_millis(1)
                } else {
                    Duration::ZERO
                }
            }
            Some(at) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(max_wait),
            None => max_wait,
        };
        if !wait.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = due.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(sender) = requests.upgrade() else {
            return;
        };
        let (reply, answered) = oneshot::channel();
        let tick = Request {
            command: Command::Tick,
            operation_reference: -1,
            tenants: AuthorizedTenants::Any,
            await_result: false,
            reply,
        };
        if sender.send(tick).is_err() {
            return;
        }
        drop(sender);
        last_ticked_for = next;
        // Wait for the tick to be processed, so its effects are in the next due date.
        if let Ok(Err(EngineError::Storage(_))) = answered.await {
            // Refused while the log cannot be written: what is due stays due, so ticking
            // again at once would spin until the log recovers.
            tokio::time::sleep(max_wait).await;
        }
    }
}

/// The processor task's state.
struct Processor {
    state: State,
    clock: Arc<dyn Clock>,
    writer: LogWriter,
    pending: mpsc::UnboundedSender<Pending>,
    due: watch::Sender<Option<i64>>,
    snapshots: Snapshotting,
    storage: Storage,
}

/// What the processor needs to rebuild its state after a failed write, and whether it
/// must.
struct Storage {
    log_dir: PathBuf,
    snapshot_dir: Option<PathBuf>,
    partition_id: i32,
    retry: Duration,
    /// Set while the log cannot be written.
    degraded: Option<Degraded>,
}

struct Degraded {
    /// The error commands are refused with.
    reason: String,
    next_attempt: tokio::time::Instant,
}

async fn run_processor(mut p: Processor, mut requests: mpsc::UnboundedReceiver<Request>) {
    loop {
        let retry_at = p.storage.degraded.as_ref().map(|d| d.next_attempt);
        let request = match retry_at {
            Some(at) => tokio::select! {
                request = requests.recv() => request,
                () = tokio::time::sleep_until(at) => {
                    p.recover().await;
                    continue;
                }
            },
            None => requests.recv().await,
        };
        let Some(request) = request else {
            break;
        };
        if p.storage.degraded.is_none()
            && let Some(reason) = p.writer.failure()
        {
            tracing::warn!(
                %reason,
                retry_every = ?p.storage.retry,
                "the log cannot be written; refusing commands until it can"
            );
            p.storage.degraded = Some(Degraded {
                reason,
                next_attempt: tokio::time::Instant::now(),
            });
        }
        if p.storage
            .degraded
            .as_ref()
            .is_some_and(|d| d.next_attempt <= tokio::time::Instant::now())
        {
            p.recover().await;
        }
        if let Some(degraded) = &p.storage.degraded {
            let _ = request
                .reply
                .send(Err(EngineError::Storage(degraded.reason.clone())));
            continue;
        }
        if !p.process(request) {
            return;
        }
    }
    // Clean shutdown: snapshot what was appended since the last snapshot.
    if p.storage.degraded.is_none()
        && let Some(job) = p.snapshots.appended(&p.state, true)
    {
        let _ = p.pending.send(Pending::Snapshot {
            durable: p.writer.barrier(),
            job,
        });
    }
}

impl Processor {
    /// Processes one command and queues what the responder does with it; false once the
    /// responder is gone.
    fn process(&mut self, request: Request) -> bool {
        let started = std::time::Instant::now();
        let processed = processor::process_authorized(
            &mut self.state,
            &request.command,
            self.clock.now_millis(),
            request.operation_reference,
            &request.tenants,
        );
        self.publish_due();
        if processed.records.is_empty() {
            let reply = processed.response.map(|response| Reply {
                response,
                variables: None,
            });
            let _ = request.reply.send(reply.map_err(EngineError::from));
            return true;
        }
        let mut processed = processed;
        let records: Arc<[Arc<Record>]> = std::mem::take(&mut processed.records)
            .into_iter()
            .map(Arc::new)
            .collect();
        let batch = SharedBatch {
            command: request.command,
            records: records.clone(),
        };
        let durable = self
            .writer
            .append_with(move || serde_json::to_vec(&batch).map_err(|e| e.to_string()));
        self.writer
            .stats()
            .add_producer_nanos(u64::try_from(started.elapsed().as_nanos()).unwrap_or(0));
        let snapshot = self.snapshots.appended(&self.state, false);
        self.pending
            .send(Pending::Appended(Appended {
                durable,
                processed,
                records,
                await_result: request.await_result,
                reply: request.reply,
                snapshot,
            }))
            .is_ok()
    }

    fn publish_due(&self) {
        let next_due = self.state.next_due();
        self.due.send_if_modified(|current| {
            let changed = *current != next_due;
            *current = next_due;
            changed
        });
    }

    /// Asks the log writer to recover and, if it does, rebuilds the state from the log
    /// up to its last durable entry; otherwise schedules the next attempt.
    async fn recover(&mut self) {
        let rebuilt = match self.writer.recover().await {
            Ok(Ok(durable)) => {
                let log_dir = self.storage.log_dir.clone();
                let snapshot_dir = self.storage.snapshot_dir.clone();
                let partition_id = self.storage.partition_id;
                match tokio::task::spawn_blocking(move || {
                    rebuild(&log_dir, snapshot_dir.as_deref(), partition_id, durable)
                })
                .await
                {
                    Ok(Ok(rebuilt)) => Ok((durable, rebuilt)),
                    Ok(Err(e)) => Err(format!("rebuilding the state from the log failed: {e}")),
                    Err(e) => Err(format!("rebuilding the state from the log failed: {e}")),
                }
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the log writer stopped".to_owned()),
        };
        match rebuilt {
            Ok((durable, rebuilt)) => {
                self.state = rebuilt.state;
                self.snapshots
                    .restart(durable, rebuilt.recovery.snapshot_index.unwrap_or(0));
                self.publish_due();
                let _ = self.pending.send(Pending::Recovered);
                self.storage.degraded = None;
                tracing::info!(
                    last_entry = durable,
                    "the log can be written again; state rebuilt from it, accepting commands"
                );
            }
            Err(reason) => {
                tracing::debug!(%reason, "the log still cannot be written");
                self.storage.degraded = Some(Degraded {
                    reason,
                    next_attempt: tokio::time::Instant::now() + self.storage.retry,
                });
            }
        }
    }
}

async fn run_responder(
    mut pending: mpsc::UnboundedReceiver<Pending>,
    jobs: watch::Sender<u64>,
    committed: watch::Sender<i64>,
    records: broadcast::Sender<Arc<Record>>,
    snapshot_jobs: Option<mpsc::UnboundedSender<SnapshotJob>>,
) {
    let mut waiting: HashMap<i64, ReplyTx> = HashMap::new();
    // Set from a failed append until the processor has rebuilt its state: everything in
    // between was prepared on a state that holds what failed, so none of it is answered
    // as done.
    let mut failed: Option<String> = None;
    while let Some(p) = pending.recv().await {
        let p = match p {
            Pending::Appended(p) => p,
            Pending::Snapshot { durable, job } => {
                if matches!(durable.await, Ok(Ok(_)))
                    && failed.is_none()
                    && let Some(tx) = &snapshot_jobs
                {
                    let _ = tx.send(job);
                }
                continue;
            }
            Pending::Recovered => {
                failed = None;
                continue;
            }
        };
        match p.durable.await {
            Ok(Ok(_)) if failed.is_none() => {}
            Ok(Err(e)) => {
                let reason = failed.get_or_insert_with(|| e.to_string()).clone();
                let _ = p.reply.send(Err(EngineError::Storage(reason)));
                continue;
            }
            _ => {
                let reason = failed
                    .get_or_insert_with(|| "the log writer stopped".to_owned())
                    .clone();
                let _ = p.reply.send(Err(EngineError::Storage(reason)));
                continue;
            }
        }
        if let (Some(job), Some(tx)) = (p.snapshot, &snapshot_jobs) {
            let _ = tx.send(job);
        }
        deliver(
            Delivered {
                processed: p.processed,
                records: p.records,
                await_result: p.await_result,
                reply: p.reply,
            },
            &mut waiting,
            &jobs,
            &committed,
            &records,
        );
    }
}

/// A command whose entry is durable.
struct Delivered {
    processed: processor::Processed,
    records: Arc<[Arc<Record>]>,
    await_result: bool,
    reply: ReplyTx,
}

/// Publishes a durable command's records and answers it (and whoever awaited the
/// instances it completed).
fn deliver(
    p: Delivered,
    waiting: &mut HashMap<i64, ReplyTx>,
    jobs: &watch::Sender<u64>,
    committed: &watch::Sender<i64>,
    records: &broadcast::Sender<Arc<Record>>,
) {
    let processed = p.processed;
    if let Some(last) = p.records.last() {
        committed.send_replace(last.position);
    }
    if records.receiver_count() > 0 {
        for record in p.records.iter() {
            let _ = records.send(record.clone());
        }
    }
    if processed.jobs_available {
        jobs.send_modify(|n| *n += 1);
    }
    for done in &processed.completed {
        if let Some(reply) = waiting.remove(&done.process_instance_key) {
            let _ = reply.send(Ok(Reply {
                response: Response::Accepted,
                variables: Some(done.variables.clone()),
            }));
        }
    }
    for key in &processed.terminated {
        if let Some(reply) = waiting.remove(key) {
            let _ = reply.send(Err(EngineError::Terminated(*key)));
        }
    }
    match processed.response {
        Ok(Response::InstanceCreated {
            process_definition_key,
            bpmn_process_id,
            version,
            process_instance_key,
            tenant_id,
        }) if p.await_result => {
            let created = Response::InstanceCreated {
                process_definition_key,
                bpmn_process_id,
                version,
                process_instance_key,
                tenant_id,
            };
            if let Some(done) = processed
                .completed
                .iter()
                .find(|c| c.process_instance_key == process_instance_key)
            {
                let _ = p.reply.send(Ok(Reply {
                    response: created,
                    variables: Some(done.variables.clone()),
                }));
            } else {
                // The created response is re-sent with the variables on completion.
                let (tx, rx) = oneshot::channel();
                waiting.insert(process_instance_key, tx);
                let reply = p.reply;
                tokio::spawn(async move {
                    let result = match rx.await {
                        Ok(Ok(done)) => Ok(Reply {
                            response: created,
                            variables: done.variables,
                        }),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(EngineError::Stopped),
                    };
                    let _ = reply.send(result);
                });
            }
        }
        response => {
            let _ = p.reply.send(
                response
                    .map(|response| Reply {
                        response,
                        variables: None,
                    })
                    .map_err(EngineError::from),
            );
        }
    }
    waiting.retain(|_, tx| !tx.is_closed());
}
