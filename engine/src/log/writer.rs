//! Group commit: one thread owns the [`Log`], batches whatever appends queued up while
//! it was busy, writes them, calls `fsync` once, and only then acknowledges each append.
//!
//! Under load many appends share one `fsync` (and one `write`); when idle an append is
//! synced on its own, so latency stays low. An append may hand over its entry still to be
//! encoded ([`LogWriter::append_with`]): encoding then runs on the writer thread, off the
//! caller's hot path. After a failed write or sync the writer refuses everything
//! that follows: in-memory state may then be ahead of the disk, and the owner has to
//! restart from the log.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread,
};

use tokio::sync::oneshot;

use super::{Log, LogError};

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

/// Handle to the writer thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Append>,
    stats: Arc<CommitStats>,
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
        let (tx, rx) = mpsc::channel::<Append>();
        let stats = Arc::new(CommitStats::default());
        let counters = stats.clone();
        thread::Builder::new()
            .name("engine-log-writer".into())
            .spawn(move || run(log, &rx, &counters))
            .expect("spawn log writer thread");
        Self { tx, stats }
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
    /// resolves once it is durable. If `encode` fails the writer stops as after a failed
    /// write, since the caller's state is then ahead of the log.
    #[must_use]
    pub fn append_with(
        &self,
        encode: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Durable {
        self.send(Payloads::Encode(Box::new(encode)))
    }

    fn send(&self, payloads: Payloads) -> Durable {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(append)) = self.tx.send(Append { payloads, done }) {
            let _ = append.done.send(Err(LogError::Closed));
        }
        rx
    }
}

fn run(mut log: Log, rx: &mpsc::Receiver<Append>, stats: &CommitStats) {
    let mut failed = false;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        if failed {
            for append in batch {
                let _ = append.done.send(Err(LogError::Closed));
            }
            continue;
        }
        let started = std::time::Instant::now();
        // Encode what is still to be encoded, then write the whole batch at once.
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut counts = Vec::with_capacity(batch.len());
        let mut result = Ok(());
        let mut batch_iter = batch.into_iter();
        let mut dones = Vec::new();
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
        if result.is_ok() {
            result = log
                .append_all(entries.iter().map(Vec::as_slice))
                .map(|_| ());
        }
        let mut ends = Vec::with_capacity(counts.len());
        let mut end = first_index - 1;
        for count in &counts {
            end += *count as u64;
            ends.push(end);
        }
        let written = std::time::Instant::now();
        let result = result.and_then(|()| log.sync());
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        stats
            .write_nanos
            .fetch_add(nanos(written - started), Ordering::Relaxed);
        stats
            .sync_nanos
            .fetch_add(nanos(written.elapsed()), Ordering::Relaxed);
        match result {
            Ok(()) => {
                stats.syncs.fetch_add(1, Ordering::Relaxed);
                stats
                    .appends
                    .fetch_add(dones.len() as u64, Ordering::Relaxed);
                stats
                    .entries
                    .fetch_add(entries.len() as u64, Ordering::Relaxed);
                let bytes: usize = entries.iter().map(Vec::len).sum();
                stats.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                for (done, end) in dones.into_iter().zip(ends) {
                    let _ = done.send(Ok(end));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "log write failed; refusing further appends");
                failed = true;
                let mut dones = dones.into_iter();
                if let Some(done) = dones.next() {
                    let _ = done.send(Err(e));
                }
                for done in dones {
                    let _ = done.send(Err(LogError::Closed));
                }
            }
        }
    }
    let _ = log.sync();
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
        drop(writer);
        let mut count = 0;
        Log::read(dir.path(), 1, |_, _| {
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 40);
    }
}
