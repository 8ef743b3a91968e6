// Over 800 lines: start-up, replay, processing and snapshots share private channels and types.
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
//! Every [`EngineConfig::snapshot_every`] entries (and on clean shutdown) the processor
//! encodes its state; a snapshot task writes it to `<data_dir>/snapshots/` once the
//! entries it covers are durable (see [`crate::snapshot`]). A restart loads the newest
//! intact snapshot and replays only the entries after it. The log itself is never
//! compacted, because record subscribers may read it from any position.

use std::{path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use zeebe::record::Record;

use crate::{
    clock::{Clock, SystemClock},
    log::{Log, LogError, LogOptions, LogWriter},
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
}

/// Default of [`EngineConfig::snapshot_every`].
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 10_000;

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
    /// every second).
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            partition_id: 1,
            clock: Arc::new(SystemClock),
            log: LogOptions::default(),
            tick_interval: Some(Duration::from_secs(1)),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
        }
    }
}

/// Why a request to the engine failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The command was refused; nothing changed.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The log could not be written; the engine stops accepting commands.
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

struct Pending {
    durable: crate::log::writer::Durable,
    processed: processor::Processed,
    records: Arc<[Arc<Record>]>,
    await_result: bool,
    reply: ReplyTx,
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
    commit_stats: Arc<crate::log::writer::CommitStats>,
    recovery: Recovery,
    snapshots: watch::Receiver<u64>,
}

impl Engine {
    /// Opens the log in `config.data_dir`, replays it, and starts processing.
    ///
    /// # Errors
    /// When the log cannot be opened, is corrupt, or holds a record that cannot be applied.
    pub fn start(config: EngineConfig) -> Result<Self, StartError> {
        let log_dir = config
            .data_dir
            .join(format!("partition-{}", config.partition_id));
        let snapshot_dir = config.data_dir.join("snapshots");
        let loaded = if config.snapshot_every > 0 {
            snapshot::load_newest(&snapshot_dir, config.partition_id, None)
        } else {
            None
        };
        let skip = loaded.as_ref().map_or(0, |l| l.log_index);
        let mut recovery = Recovery {
            snapshot_index: loaded.as_ref().map(|l| l.log_index),
            replayed_entries: 0,
        };
        if let Some(l) = &loaded {
            tracing::info!(path = %l.path.display(), index = l.log_index, "starting from a snapshot");
        }
        let mut state = loaded.map_or_else(|| State::new(config.partition_id), |l| l.state);
        let mut log = Log::open(&log_dir, config.log, |index, payload| {
            if index <= skip {
                return Ok(());
            }
            recovery.replayed_entries += 1;
            replay_entry(&mut state, &log_dir, index, payload)
        })?;
        // Entries replayed from the page cache after a process crash may not be on disk
        // yet; make them durable before anything (replies, snapshots) builds on them.
        log.sync()?;
        // Snapshots covering entries the log lost (e.g. taken by an engine that ran before
        // a machine crash cut the log) would be wrong once new entries reuse those indices.
        snapshot::remove_after(&snapshot_dir, config.partition_id, log.next_index() - 1);
        if log.next_index() - 1 < skip {
            // The snapshot covers entries the log no longer holds: trust the log alone.
            tracing::warn!(
                snapshot = skip,
                log = log.next_index() - 1,
                "snapshot is ahead of the log; replaying the whole log instead"
            );
            state = State::new(config.partition_id);
            recovery = Recovery {
                snapshot_index: None,
                replayed_entries: 0,
            };
            Log::read(&log_dir, 1, |index, payload| {
                recovery.replayed_entries += 1;
                replay_entry(&mut state, &log_dir, index, payload)
            })?;
        }
        tracing::info!(
            position = state.last_position,
            processes = state.processes.len(),
            instances = state.elements.len(),
            snapshot = ?recovery.snapshot_index,
            replayed = recovery.replayed_entries,
            "engine state recovered"
        );
        let last_index = log.next_index() - 1;
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
        let snapshot_jobs = if config.snapshot_every > 0 {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_snapshots(
                rx,
                committed.clone(),
                snapshot_dir,
                config.partition_id,
                snapshots_tx,
            ));
            Some(tx)
        } else {
            None
        };
        tokio::spawn(run_processor(
            state,
            config.clock.clone(),
            writer,
            request_rx,
            pending_tx,
            due_tx,
            Snapshotting {
                jobs: snapshot_jobs,
                every: config.snapshot_every,
                last_index,
                since: last_index - covered.min(last_index),
            },
        ));
        tokio::spawn(run_responder(
            pending_rx,
            jobs_tx,
            committed_tx,
            records.clone(),
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
    pub fn commit_counts(&self) -> crate::log::writer::CommitCounts {
        self.commit_stats.counts()
    }

    /// Position of the last durable record.
    #[must_use]
    pub fn committed_position(&self) -> i64 {
        *self.committed.borrow()
    }

    /// Every durable record with a position of at least `from`: first those already in the
    /// log, then new ones as they become durable. The stream ends if the engine stops or
    /// the subscriber falls too far behind to catch up from memory and disk.
    #[must_use]
    pub fn subscribe(&self, from: i64) -> mpsc::Receiver<Arc<Record>> {
        let (tx, rx) = mpsc::channel(1024);
        let mut live = self.records.subscribe();
        let committed = self.committed_position();
        let log_dir = self.log_dir.clone();
        tokio::spawn(async move {
            let mut next = from.max(1);
            // Catch up from disk up to what was durable when subscribing.
            let backlog =
                tokio::task::spawn_blocking(move || read_records(&log_dir, next, committed))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
            for record in backlog {
                next = record.position + 1;
                if tx.send(Arc::new(record)).await.is_err() {
                    return;
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
                    Err(
                        broadcast::error::RecvError::Lagged(_)
                        | broadcast::error::RecvError::Closed,
                    ) => return,
                }
            }
        });
        rx
    }
}

fn replay_entry(
    state: &mut State,
    log_dir: &std::path::Path,
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

/// A snapshot to write once the log is durable up to `position`.
struct SnapshotJob {
    log_index: u64,
    position: i64,
    bytes: Vec<u8>,
}

/// The processor's snapshot bookkeeping.
struct Snapshotting {
    jobs: Option<mpsc::UnboundedSender<SnapshotJob>>,
    every: u64,
    /// Index of the last entry appended.
    last_index: u64,
    /// Entries appended since the last snapshot.
    since: u64,
}

impl Snapshotting {
    fn appended(&mut self, state: &State, force: bool) {
        self.last_index += u64::from(!force);
        self.since += u64::from(!force);
        let Some(jobs) = &self.jobs else {
            return;
        };
        if self.since == 0 || (!force && self.since < self.every) {
            return;
        }
        match snapshot::encode(state, self.last_index) {
            Ok(bytes) => {
                self.since = 0;
                let _ = jobs.send(SnapshotJob {
                    log_index: self.last_index,
                    position: state.last_position,
                    bytes,
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot encode a snapshot"),
        }
    }
}

/// Writes snapshots, each once every entry it covers is durable.
async fn run_snapshots(
    mut jobs: mpsc::UnboundedReceiver<SnapshotJob>,
    mut committed: watch::Receiver<i64>,
    dir: PathBuf,
    partition_id: i32,
    written: watch::Sender<u64>,
) {
    while let Some(job) = jobs.recv().await {
        if committed.wait_for(|p| *p >= job.position).await.is_err() {
            // The log stopped before the snapshot's entries were durable.
            return;
        }
        let dir = dir.clone();
        let result = tokio::task::spawn_blocking(move || {
            snapshot::write(&dir, partition_id, job.log_index, &job.bytes)
        })
        .await;
        match result {
            Ok(Ok(path)) => {
                tracing::debug!(path = %path.display(), "snapshot written");
                written.send_replace(job.log_index);
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write a snapshot"),
            Err(e) => tracing::warn!(error = %e, "snapshot writer failed"),
        }
    }
}

/// Records of the log in `dir` with positions in `from..=to`.
fn read_records(dir: &std::path::Path, from: i64, to: i64) -> Result<Vec<Record>, LogError> {
    let mut out = Vec::new();
    Log::read(dir, 1, |_, payload| {
        if let Ok(batch) = serde_json::from_slice::<LogBatch>(payload) {
            out.extend(
                batch
                    .records
                    .into_iter()
                    .filter(|r| r.position >= from && r.position <= to),
            );
        }
        Ok(())
    })?;
    Ok(out)
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
        let _ = answered.await;
    }
}

async fn run_processor(
    mut state: State,
    clock: Arc<dyn Clock>,
    writer: LogWriter,
    mut requests: mpsc::UnboundedReceiver<Request>,
    pending: mpsc::UnboundedSender<Pending>,
    due: watch::Sender<Option<i64>>,
    mut snapshots: Snapshotting,
) {
    let stats = writer.stats();
    while let Some(request) = requests.recv().await {
        let started = std::time::Instant::now();
        let processed = processor::process_authorized(
            &mut state,
            &request.command,
            clock.now_millis(),
            request.operation_reference,
            &request.tenants,
        );
        let next_due = state.next_due();
        due.send_if_modified(|current| {
            let changed = *current != next_due;
            *current = next_due;
            changed
        });
        if processed.records.is_empty() {
            let reply = processed.response.map(|response| Reply {
                response,
                variables: None,
            });
            let _ = request.reply.send(reply.map_err(EngineError::from));
            continue;
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
        let durable =
            writer.append_with(move || serde_json::to_vec(&batch).map_err(|e| e.to_string()));
        stats.add_producer_nanos(u64::try_from(started.elapsed().as_nanos()).unwrap_or(0));
        snapshots.appended(&state, false);
        if pending
            .send(Pending {
                durable,
                processed,
                records,
                await_result: request.await_result,
                reply: request.reply,
            })
            .is_err()
        {
            return;
        }
    }
    // Clean shutdown: snapshot what was appended since the last snapshot.
    snapshots.appended(&state, true);
}

async fn run_responder(
    mut pending: mpsc::UnboundedReceiver<Pending>,
    jobs: watch::Sender<u64>,
    committed: watch::Sender<i64>,
    records: broadcast::Sender<Arc<Record>>,
) {
    let mut waiting: std::collections::HashMap<i64, ReplyTx> = std::collections::HashMap::new();
    let mut failed = false;
    while let Some(p) = pending.recv().await {
        let durable = p.durable.await;
        match durable {
            Ok(Ok(_)) if !failed => {}
            Ok(Err(e)) => {
                failed = true;
                let _ = p.reply.send(Err(EngineError::Storage(e.to_string())));
                continue;
            }
            _ => {
                failed = true;
                let _ = p
                    .reply
                    .send(Err(EngineError::Storage("the log is closed".into())));
                continue;
            }
        }
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
}
