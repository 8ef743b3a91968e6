//! Group commit: one thread owns the [`Log`], batches whatever appends queued up while
//! it was busy, writes them, calls `fsync` once, and only then acknowledges each append.
//!
//! Under load many appends share one `fsync`; when idle an append is synced on its own,
//! so latency stays low. After a failed write or sync the writer refuses everything
//! that follows: in-memory state may then be ahead of the disk, and the owner has to
//! restart from the log.

use std::{sync::mpsc, thread};

use tokio::sync::oneshot;

use super::{Log, LogError};

struct Append {
    payloads: Vec<Vec<u8>>,
    done: oneshot::Sender<Result<u64, LogError>>,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Debug, Clone)]
pub struct LogWriter {
    tx: mpsc::Sender<Append>,
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
        thread::Builder::new()
            .name("engine-log-writer".into())
            .spawn(move || run(log, &rx))
            .expect("spawn log writer thread");
        Self { tx }
    }

    /// Queues `payloads` as consecutive entries; the returned receiver resolves once they
    /// are durable.
    #[must_use]
    pub fn append(&self, payloads: Vec<Vec<u8>>) -> Durable {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(append)) = self.tx.send(Append { payloads, done }) {
            let _ = append.done.send(Err(LogError::Closed));
        }
        rx
    }
}

fn run(mut log: Log, rx: &mpsc::Receiver<Append>) {
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
        let mut ends = Vec::with_capacity(batch.len());
        let mut result = Ok(());
        for append in &batch {
            match log.append_all(append.payloads.iter().map(Vec::as_slice)) {
                Ok(end) => ends.push(end),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let result = result.and_then(|()| log.sync());
        match result {
            Ok(()) => {
                for (append, end) in batch.into_iter().zip(ends) {
                    let _ = append.done.send(Ok(end));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "log write failed; refusing further appends");
                failed = true;
                let mut batch = batch.into_iter();
                if let Some(append) = batch.next() {
                    let _ = append.done.send(Err(e));
                }
                for append in batch {
                    let _ = append.done.send(Err(LogError::Closed));
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
