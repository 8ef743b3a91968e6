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

use std::{path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use zeebe::record::Record;

use crate::{
    clock::{Clock, SystemClock},
    log::{Log, LogError, LogOptions, LogWriter},
    processor::{self, Command, Rejection, Response},
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
    /// How often time-driven work (job time-outs, back-offs, message expiry) is checked;
    /// `None` to only do it on [`Engine::tick`], as tests with a manual clock do.
    pub tick_interval: Option<Duration>,
}

impl EngineConfig {
    /// Defaults: partition 1, system clock, a tick every 100 ms.
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            partition_id: 1,
            clock: Arc::new(SystemClock),
            log: LogOptions::default(),
            tick_interval: Some(Duration::from_millis(100)),
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
        let mut state = State::new(config.partition_id);
        let log = Log::open(&log_dir, config.log, |index, payload| {
            let batch: LogBatch =
                serde_json::from_slice(payload).map_err(|e| LogError::Corrupt {
                    path: log_dir.clone(),
                    offset: index,
                    reason: format!("entry {index} does not decode: {e}"),
                })?;
            for record in &batch.records {
                state.apply(record).map_err(|e| LogError::Corrupt {
                    path: log_dir.clone(),
                    offset: index,
                    reason: e.to_string(),
                })?;
            }
            Ok(())
        })?;
        tracing::info!(
            position = state.last_position,
            processes = state.processes.len(),
            instances = state.elements.len(),
            "engine state recovered from the log"
        );
        let writer = LogWriter::spawn(log);
        let commit_stats = writer.stats();
        let (requests, request_rx) = mpsc::unbounded_channel();
        let (pending_tx, pending_rx) = mpsc::unbounded_channel();
        let (jobs_tx, jobs) = watch::channel(0);
        let (committed_tx, committed) = watch::channel(state.last_position);
        let (records, _) = broadcast::channel(4096);
        tokio::spawn(run_processor(
            state,
            config.clock,
            writer,
            request_rx,
            pending_tx,
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
        };
        if let Some(interval) = config.tick_interval {
            let weak = engine.requests.downgrade();
            tokio::spawn(async move {
                let mut timer = tokio::time::interval(interval);
                timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    timer.tick().await;
                    let Some(requests) = weak.upgrade() else {
                        break;
                    };
                    let (reply, _) = oneshot::channel();
                    let tick = Request {
                        command: Command::Tick,
                        await_result: false,
                        reply,
                    };
                    if requests.send(tick).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(engine)
    }

    /// The partition this engine runs.
    #[must_use]
    pub fn partition_id(&self) -> i32 {
        self.partition_id
    }

    async fn request(&self, command: Command, await_result: bool) -> Result<Reply, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request {
                command,
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
        self.request(command, false).await.map(|r| r.response)
    }

    /// Creates a process instance and answers when it has completed, with its variables.
    ///
    /// # Errors
    /// As [`Engine::execute`], and [`EngineError::Terminated`] if it was cancelled.
    pub async fn create_instance_with_result(
        &self,
        command: Command,
    ) -> Result<Reply, EngineError> {
        self.request(command, true).await
    }

    /// Does what is due at the clock's current time (job time-outs, back-offs, expiry).
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

async fn run_processor(
    mut state: State,
    clock: Arc<dyn Clock>,
    writer: LogWriter,
    mut requests: mpsc::UnboundedReceiver<Request>,
    pending: mpsc::UnboundedSender<Pending>,
) {
    let stats = writer.stats();
    while let Some(request) = requests.recv().await {
        let started = std::time::Instant::now();
        let processed = processor::process(&mut state, &request.command, clock.now_millis());
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
