//! Group commit: one thread owns the [`Log`], batches whatever appends queued up while
//! it was busy and writes them; a second thread calls `fsync` once for everything
//! written since its last one, and only then acknowledges each append, in order. The
//! two overlap: the next group is encoded and written while the previous is synced.
//!
//! Under load many appends share one `fsync` (and one `write`); when idle an append is
//! synced on its own, so latency stays low. An append may hand over its entry still to be
//! encoded ([`LogWriter::append_with`]): encoding then runs on the writer thread, off the
//! caller's hot path.
//!
//! After a failed write, sync or encoding the writer refuses every append that follows
//! ([`LogError::Closed`]): they were prepared against an in-memory state that holds what
//! failed. It accepts appends again only after its owner asked it to recover
//! ([`LogWriter::recover`]): it lets the syncs under way finish, takes the log back to the
//! end of the last successful sync (whatever was written after it was never acknowledged)
//! and probes the file system with a test write. The owner then rebuilds its state up to
//! that end before it appends again.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread,
};

use tokio::sync::oneshot;

use super::{Deleted, Log, LogEnd, LogError};

/// Encodes one entry on the writer thread.
pub type Encoder = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

enum Payloads {
    Bytes(Vec<Vec<u8>>),
    Encode(Encoder),
}

struct Append {
    payloads: Payloads,
    done: oneshot::Sender<Result<u64, LogError>>,
}

enum Message {
    Append(Append),
    Recover(oneshot::Sender<Result<u64, LogError>>),
    DeleteCovered {
        covered: u64,
        done: oneshot::Sender<Result<Deleted, LogError>>,
    },
}

/// Handle to the writer thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Message>,
    stats: Arc<CommitStats>,
    health: Arc<Health>,
}

/// Whether the writer refuses appends, and why.
#[derive(Debug, Default)]
struct Health {
    failed: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Health {
    fn fail(&self, error: &LogError) {
        if let Ok(mut last) = self.error.lock() {
            *last = Some(error.to_string());
        }
        self.failed.store(true, Ordering::Release);
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    fn clear(&self) {
        self.failed.store(false, Ordering::Release);
    }
}

/// Counters of the group commit, for benchmarks and diagnostics.
#[derive(Debug, Default)]
pub struct CommitStats {
    syncs: AtomicU64,
    appends: AtomicU64,
    entries: AtomicU64,
    bytes: AtomicU64,
    write_nanos: AtomicU64,
    sync_nanos: AtomicU64,
    /// Time the producer spent preparing appends (processing and encoding), ns; the
    /// producer adds to it through [`CommitStats::add_producer_nanos`].
    producer_nanos: AtomicU64,
}

/// A snapshot of [`CommitStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitCounts {
    /// `fsync` calls that made appends durable.
    pub syncs: u64,
    /// Appends acknowledged.
    pub appends: u64,
    /// Entries written.
    pub entries: u64,
    /// Payload bytes written.
    pub bytes: u64,
    /// Time spent writing, ns.
    pub write_nanos: u64,
    /// Time spent in `fsync`, ns.
    pub sync_nanos: u64,
    /// Time the producer reported spending on preparing appends, ns.
    pub producer_nanos: u64,
}

impl CommitStats {
    /// The counters now.
    #[must_use]
    pub fn counts(&self) -> CommitCounts {
        CommitCounts {
            syncs: self.syncs.load(Ordering::Relaxed),
            appends: self.appends.load(Ordering::Relaxed),
            entries: self.entries.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            write_nanos: self.write_nanos.load(Ordering::Relaxed),
            sync_nanos: self.sync_nanos.load(Ordering::Relaxed),
            producer_nanos: self.producer_nanos.load(Ordering::Relaxed),
        }
    }

    /// Adds time the producer spent preparing appends.
    pub fn add_producer_nanos(&self, nanos: u64) {
        self.producer_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Resolves once the append is durable, with the index of its last entry.
pub type Durable = oneshot::Receiver<Result<u64, LogError>>;

impl LogWriter {
    /// Moves `log` onto a writer thread.
    ///
    /// # Panics
    /// If the operating system cannot start a thread.
    #[must_use]
    pub fn spawn(log: Log) -> Self {
        let (tx, rx) = mpsc::channel::<Message>();
        let stats = Arc::new(CommitStats::default());
        let health = Arc::new(Health::default());
        let (counters, shared) = (stats.clone(), health.clone());
        thread::Builder::new()
            .name("engine-log-writer".into())
            .spawn(move || run(log, &rx, &counters, &shared))
            .expect("spawn log writer thread");
        Self { tx, stats, health }
    }

    /// The group-commit counters.
    #[must_use]
    pub fn stats(&self) -> Arc<CommitStats> {
        self.stats.clone()
    }

    /// Queues `payloads` as consecutive entries; the returned receiver resolves once they
    /// are durable.
    #[must_use]
    pub fn append(&self, payloads: Vec<Vec<u8>>) -> Durable {
        self.send(Payloads::Bytes(payloads))
    }

    /// Queues one entry that `encode` produces on the writer thread; the returned receiver
    /// resolves once it is durable. If `encode` fails the writer refuses appends as after
    /// a failed write, since the caller's state is then ahead of the log.
    #[must_use]
    pub fn append_with(
        &self,
        encode: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Durable {
        self.send(Payloads::Encode(Box::new(encode)))
    }

    /// Resolves, with the index of the last entry, once everything queued before it is
    /// durable; an error if anything before it failed since the last recovery.
    #[must_use]
    pub fn barrier(&self) -> Durable {
        self.append(Vec::new())
    }

    /// Why the writer refuses appends, while it does.
    #[must_use]
    pub fn failure(&self) -> Option<String> {
        if !self.health.failed() {
            return None;
        }
        Some(
            self.health
                .error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_else(|| "a write failed".into()),
        )
    }

    /// Takes the log back to its durable end and accepts appends again if the file system
    /// takes a test write; resolves with the index of the last durable entry. Appends
    /// queued before this are refused if anything failed.
    #[must_use]
    pub fn recover(&self) -> oneshot::Receiver<Result<u64, LogError>> {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Message::Recover(done))) = self.tx.send(Message::Recover(done)) {
            let _ = done.send(Err(LogError::Closed));
        }
        rx
    }

    /// Deletes the segments whose entries all have an index of at most `covered` (see
    /// [`Log::delete_covered`]), on the writer thread, so it never races a truncation.
    #[must_use]
    pub fn delete_covered(&self, covered: u64) -> oneshot::Receiver<Result<Deleted, LogError>> {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Message::DeleteCovered { done, .. })) =
            self.tx.send(Message::DeleteCovered { covered, done })
        {
            let _ = done.send(Err(LogError::Closed));
        }
        rx
    }

    fn send(&self, payloads: Payloads) -> Durable {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Message::Append(append))) =
            self.tx.send(Message::Append(Append { payloads, done }))
        {
            let _ = append.done.send(Err(LogError::Closed));
        }
        rx
    }
}

/// A written group on its way to the sync stage.
struct Written {
    /// The segment the group ended in (older segments were synced when they closed).
    file: std::fs::File,
    dones: Vec<oneshot::Sender<Result<u64, LogError>>>,
    ends: Vec<u64>,
    entries: u64,
    bytes: u64,
    /// The log's end after the group: durable once the group is synced.
    end: LogEnd,
}

enum ToSync {
    Group(Written),
    /// Answered, with the durable end, once every group sent before it was handled.
    Drain(mpsc::Sender<LogEnd>),
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn fail_all(
    dones: impl IntoIterator<Item = oneshot::Sender<Result<u64, LogError>>>,
    first: Option<LogError>,
) {
    let mut first = first;
    for done in dones {
        let _ = done.send(Err(first.take().unwrap_or(LogError::Closed)));
    }
}

/// Write stage: encodes and writes each group, then hands it to the sync stage, which
/// runs on its own thread so the next group is encoded and written while the previous
/// one is being synced.
fn run(mut log: Log, rx: &mpsc::Receiver<Message>, stats: &Arc<CommitStats>, health: &Arc<Health>) {
    let (sync_tx, sync_rx) = mpsc::channel::<ToSync>();
    let syncer = {
        let health = health.clone();
        let stats = stats.clone();
        let durable = log.end();
        thread::Builder::new()
            .name("engine-log-sync".into())
            .spawn(move || run_sync(&sync_rx, &health, &stats, durable))
            .expect("spawn log sync thread")
    };
    while let Ok(first) = rx.recv() {
        // Take what is queued now; later messages make the next group.
        let messages: Vec<Message> = std::iter::once(first).chain(rx.try_iter()).collect();
        let mut appends = Vec::new();
        for message in messages {
            match message {
                Message::Append(append) => appends.push(append),
                Message::Recover(done) => {
                    write_group(
                        &mut log,
                        std::mem::take(&mut appends),
                        &sync_tx,
                        stats,
                        health,
                    );
                    let _ = done.send(recover(&mut log, &sync_tx, health));
                }
                Message::DeleteCovered { covered, done } => {
                    let _ = done.send(log.delete_covered(covered));
                }
            }
        }
        write_group(&mut log, appends, &sync_tx, stats, health);
    }
    drop(sync_tx);
    let _ = syncer.join();
}

fn write_group(
    log: &mut Log,
    batch: Vec<Append>,
    sync_tx: &mpsc::Sender<ToSync>,
    stats: &CommitStats,
    health: &Health,
) {
    if batch.is_empty() {
        return;
    }
    if health.failed() {
        fail_all(batch.into_iter().map(|a| a.done), None);
        return;
    }
    let started = std::time::Instant::now();
    // Encode what is still to be encoded, then write the whole group at once.
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut counts = Vec::with_capacity(batch.len());
    let mut result = Ok(());
    let mut dones = Vec::with_capacity(batch.len());
    let mut batch_iter = batch.into_iter();
    for append in batch_iter.by_ref() {
        let before = entries.len();
        match append.payloads {
            Payloads::Bytes(payloads) => entries.extend(payloads),
            Payloads::Encode(encode) => match encode() {
                Ok(payload) => entries.push(payload),
                Err(e) => {
                    result = Err(LogError::Encode(e));
                    dones.push(append.done);
                    break;
                }
            },
        }
        counts.push(entries.len() - before);
        dones.push(append.done);
    }
    // Appends after a failed encoding are not written either.
    dones.extend(batch_iter.map(|a| a.done));
    let first_index = log.next_index();
    let written = result
        .and_then(|()| log.append_all(entries.iter().map(Vec::as_slice)))
        .and_then(|_| log.sync_handle());
    stats
        .write_nanos
        .fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
    match written {
        Ok(file) => {
            let mut ends = Vec::with_capacity(counts.len());
            let mut end = first_index - 1;
            for count in &counts {
                end += *count as u64;
                ends.push(end);
            }
            let group = Written {
                file,
                dones,
                ends,
                entries: entries.len() as u64,
                bytes: entries.iter().map(|e| e.len() as u64).sum(),
                end: log.end(),
            };
            if let Err(mpsc::SendError(ToSync::Group(group))) = sync_tx.send(ToSync::Group(group)) {
                fail_all(group.dones, None);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "log write failed; refusing appends until the log recovers");
            health.fail(&e);
            fail_all(dones, Some(e));
        }
    }
}

/// Waits for the syncs under way, takes the log back to the end of the last successful
/// one and probes the file system; clears the failure if that all works.
fn recover(
    log: &mut Log,
    sync_tx: &mpsc::Sender<ToSync>,
    health: &Health,
) -> Result<u64, LogError> {
    let (tx, rx) = mpsc::channel();
    sync_tx
        .send(ToSync::Drain(tx))
        .map_err(|_| LogError::Closed)?;
    let durable = rx.recv().map_err(|_| LogError::Closed)?;
    if !health.failed() && durable == log.end() {
        return Ok(durable.last_index());
    }
    log.truncate_to(durable)?;
    log.probe()?;
    health.clear();
    tracing::info!(
        last_entry = durable.last_index(),
        "the log accepts writes again; it was taken back to its last durable entry"
    );
    Ok(durable.last_index())
}

/// Sync stage: one `fsync` for every group written while the previous one ran, then the
/// acknowledgements, in order.
fn run_sync(
    rx: &mpsc::Receiver<ToSync>,
    health: &Health,
    stats: &CommitStats,
    mut durable: LogEnd,
) {
    while let Ok(first) = rx.recv() {
        let mut groups = Vec::new();
        let mut drains = Vec::new();
        for message in std::iter::once(first).chain(rx.try_iter()) {
            match message {
                ToSync::Group(group) => groups.push(group),
                // The writer waits for the answer, so nothing follows a drain.
                ToSync::Drain(reply) => drains.push(reply),
            }
        }
        if !groups.is_empty() {
            durable = sync_groups(groups, health, stats).unwrap_or(durable);
        }
        for reply in drains {
            let _ = reply.send(durable);
        }
    }
}

/// Syncs and acknowledges `groups`; the log's new durable end if that worked.
fn sync_groups(groups: Vec<Written>, health: &Health, stats: &CommitStats) -> Option<LogEnd> {
    if health.failed() {
        fail_all(groups.into_iter().flat_map(|g| g.dones), None);
        return None;
    }
    let started = std::time::Instant::now();
    let synced = groups
        .last()
        .map_or(Ok(()), |g| g.file.sync_data())
        .map_err(|source| LogError::Io {
            path: "the active log segment".into(),
            source,
        });
    stats
        .sync_nanos
        .fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
    match synced {
        Ok(()) => {
            stats.syncs.fetch_add(1, Ordering::Relaxed);
            let end = groups.last().map(|g| g.end);
            for group in groups {
                stats
                    .appends
                    .fetch_add(group.dones.len() as u64, Ordering::Relaxed);
                stats.entries.fetch_add(group.entries, Ordering::Relaxed);
                stats.bytes.fetch_add(group.bytes, Ordering::Relaxed);
                for (done, end) in group.dones.into_iter().zip(group.ends) {
                    let _ = done.send(Ok(end));
                }
            }
            end
        }
        Err(e) => {
            tracing::error!(error = %e, "log sync failed; refusing appends until the log recovers");
            health.fail(&e);
            fail_all(groups.into_iter().flat_map(|g| g.dones), Some(e));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogOptions;

    #[tokio::test]
    async fn appends_are_acknowledged_in_order_and_durable() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default(), |_, _| Ok(())).unwrap();
        let writer = LogWriter::spawn(log);
        let pending: Vec<_> = (0..20u8)
            .map(|i| writer.append(vec![vec![i], vec![i, i]]))
            .collect();
        let mut ends = Vec::new();
        for p in pending {
            ends.push(p.await.unwrap().unwrap());
        }
        assert_eq!(ends, (1..=20).map(|i| i * 2).collect::<Vec<u64>>());
        assert_eq!(writer.barrier().await.unwrap().unwrap(), 40);
        drop(writer);
        let mut count = 0;
        Log::read(dir.path(), 1, |_, _| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 40);
    }

    #[tokio::test]
    async fn after_a_failed_encoding_appends_are_refused_until_recovery() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default(), |_, _| Ok(())).unwrap();
        let writer = LogWriter::spawn(log);
        assert_eq!(
            writer
                .append_with(|| Ok(b"one".to_vec()))
                .await
                .unwrap()
                .unwrap(),
            1
        );
        let bad = writer.append_with(|| Err("no".into())).await.unwrap();
        assert!(matches!(bad, Err(LogError::Encode(_))), "{bad:?}");
        assert!(writer.failure().is_some_and(|e| e.contains("no")));
        let after = writer.append(vec![b"lost".to_vec()]).await.unwrap();
        assert!(matches!(after, Err(LogError::Closed)), "{after:?}");
        let barrier = writer.barrier().await.unwrap();
        assert!(matches!(barrier, Err(LogError::Closed)), "{barrier:?}");
        assert_eq!(writer.stats().counts().entries, 1);

        assert_eq!(writer.recover().await.unwrap().unwrap(), 1);
        assert_eq!(writer.failure(), None);
        assert_eq!(
            writer.append(vec![b"two".to_vec()]).await.unwrap().unwrap(),
            2
        );
        drop(writer);
        let mut seen = Vec::new();
        Log::read(dir.path(), 1, |_, p| {
            seen.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[tokio::test]
    async fn an_empty_entry_is_refused_like_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default(), |_, _| Ok(())).unwrap();
        let writer = LogWriter::spawn(log);
        let empty = writer
            .append(vec![b"a".to_vec(), Vec::new()])
            .await
            .unwrap();
        assert!(matches!(empty, Err(LogError::Empty)), "{empty:?}");
        assert_eq!(writer.recover().await.unwrap().unwrap(), 0);
        assert_eq!(
            writer.append(vec![b"a".to_vec()]).await.unwrap().unwrap(),
            1
        );
    }
}
