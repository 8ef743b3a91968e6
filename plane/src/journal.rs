//! The execution journal: what this plane did, kept in the customer's account.
//!
//! Every job the plane handles appends events with the fields of the design's audit record
//! (tenantId, executionId, workflowId, timestamp, eventType, taskId, taskName,
//! executionContext, sanitized variables, auditHash). Events are JSON lines in segment files
//! `segment-<first seq, 20 digits>.jsonl`; each carries `seq` and the previous event's hash
//! (`prevHash`), and its `auditHash` is the SHA-256 of its canonical JSON without that field
//! (object keys sorted, no white space). Changing, removing or reordering any event breaks
//! the chain at that point, which [`verify`] finds.
//!
//! Appends go through one writer thread that writes whatever has queued up and then syncs
//! the file once (group commit), so a job is reported done to the engine only after its
//! event is on disk, without one `fsync` per job. A line a crash cut short at the end of the
//! newest segment is cut off on open, with a warning; anything else that does not verify is
//! left alone for an auditor to see.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::secrets::{REDACTED, Used};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The largest `variables` an event keeps; larger ones are replaced by their size and hash.
const MAX_VARIABLES_BYTES: usize = 64 * 1024;

/// What happened, in the design's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    TaskActivated,
    TaskCompleted,
    TaskFailed,
    ErrorThrown,
}

/// One event before the journal numbers and hashes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub tenant_id: String,
    /// The process instance key.
    pub execution_id: String,
    /// The BPMN process id.
    pub workflow_id: String,
    pub workflow_version: i32,
    /// RFC 3339 with milliseconds, UTC.
    pub timestamp: String,
    pub event_type: EventType,
    /// The element id.
    pub task_id: String,
    /// The job type the task runs.
    pub task_name: String,
    pub job_key: String,
    /// Worker, connector, attempt, duration, status and error, as far as known.
    pub execution_context: Value,
    pub variables: Value,
}

/// Why an append failed; the job is then not reported done.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the journal cannot be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the journal has stopped")]
    Stopped,
}

type Ack = oneshot::Sender<Result<u64, String>>;

/// The handle jobs append through; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<(Event, Ack)>,
}

/// Where the chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Journal {
    /// Opens (or starts) the journal in `dir`, repairing a torn last line, and starts its
    /// writer thread.
    ///
    /// # Errors
    /// The directory or the newest segment cannot be read or written.
    pub fn open(dir: &Path, segment_events: u64) -> std::io::Result<(Self, Head)> {
        std::fs::create_dir_all(dir)?;
        // One writer per journal: two planes appending to one chain would fork it. The lock
        // is the kernel's, so a killed plane's lock goes with it.
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "another plane is writing the journal in {}; give each plane its own journal.dir",
                        dir.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let mut writer = Writer::open(dir, segment_events.max(1))?;
        let head = Head {
            seq: writer.seq,
            hash: writer.hash.clone(),
        };
        let (tx, mut rx) = mpsc::channel::<(Event, Ack)>(4096);
        std::thread::Builder::new()
            .name("plane-journal".into())
            .spawn(move || {
                let _lock = lock;
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < 1024 {
                        match rx.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    writer.write_batch(batch);
                }
            })?;
        Ok((Self { tx }, head))
    }

    /// Appends `event`; returns its sequence number once it is on disk.
    ///
    /// # Errors
    /// The write or the sync failed, or the writer has stopped.
    pub async fn append(&self, event: Event) -> Result<u64, JournalError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((event, ack))
            .await
            .map_err(|_| JournalError::Stopped)?;
        match done.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(message)) => Err(JournalError::Io(std::io::Error::other(message))),
            Err(_) => Err(JournalError::Stopped),
        }
    }
}

struct Writer {
    dir: PathBuf,
    segment_events: u64,
    file: Option<File>,
    in_segment: u64,
    seq: u64,
    hash: String,
}

impl Writer {
    fn open(dir: &Path, segment_events: u64) -> std::io::Result<Self> {
        let mut writer = Self {
            dir: dir.to_path_buf(),
            segment_events,
            file: None,
            in_segment: 0,
            seq: 0,
            hash: GENESIS.to_owned(),
        };
        if let Some(last) = segments(dir)?.pop() {
            let (lines, good_len) = read_intact(&last)?;
            let len = std::fs::metadata(&last)?.len();
            if good_len < len {
                tracing::warn!(
                    segment = %last.display(),
                    kept_bytes = good_len,
                    cut_bytes = len - good_len,
                    "the journal's last line was cut short by a crash; removing the partial line"
                );
                let file = OpenOptions::new().write(true).open(&last)?;
                file.set_len(good_len)?;
                file.sync_all()?;
            }
            if let Some(record) = lines.last() {
                writer.seq = record["seq"].as_u64().unwrap_or(0);
                record["auditHash"]
                    .as_str()
                    .unwrap_or(GENESIS)
                    .clone_into(&mut writer.hash);
            } else {
                // An empty newest segment: its name says where the chain goes on, and the
                // previous segment (if any) has the hash.
                writer.seq = first_seq_of(&last).unwrap_or(1).saturating_sub(1);
                if let Some(previous) = segments(dir)?.iter().rev().nth(1) {
                    let (lines, _) = read_intact(previous)?;
                    if let Some(record) = lines.last() {
                        record["auditHash"]
                            .as_str()
                            .unwrap_or(GENESIS)
                            .clone_into(&mut writer.hash);
                    }
                }
            }
            writer.in_segment = lines.len() as u64;
            writer.file = Some(OpenOptions::new().append(true).open(&last)?);
        }
        Ok(writer)
    }

    fn write_batch(&mut self, batch: Vec<(Event, Ack)>) {
        let mut acks = Vec::with_capacity(batch.len());
        let mut failed = None;
        let (seq_before, hash_before) = (self.seq, self.hash.clone());
        for (event, ack) in batch {
            if failed.is_none()
                && let Err(e) = self.write_one(&event)
            {
                failed = Some(e.to_string());
            }
            acks.push((self.seq, ack));
        }
        if failed.is_none()
            && let Some(file) = &mut self.file
            && let Err(e) = file.flush().and_then(|()| file.sync_data())
        {
            failed = Some(e.to_string());
        }
        if let Some(message) = failed {
            tracing::error!(error = %message, "journal write failed; the jobs in this batch are not reported done");
            // What this batch wrote may be partly on disk; the next open cuts a torn line,
            // and complete lines stay valid links of the chain, so the in-memory head is
            // taken from the file again.
            self.file = None;
            match Self::open(&self.dir, self.segment_events) {
                Ok(reopened) => *self = reopened,
                Err(_) => (self.seq, self.hash) = (seq_before, hash_before),
            }
            for (_, ack) in acks {
                let _ = ack.send(Err(message.clone()));
            }
            return;
        }
        for (seq, ack) in acks {
            let _ = ack.send(Ok(seq));
        }
    }

    fn write_one(&mut self, event: &Event) -> std::io::Result<()> {
        if self.file.is_none() || self.in_segment >= self.segment_events {
            if let Some(file) = &mut self.file {
                file.sync_all()?;
            }
            let path = self.dir.join(format!("segment-{:020}.jsonl", self.seq + 1));
            self.file = Some(OpenOptions::new().create(true).append(true).open(&path)?);
            self.in_segment = 0;
            if let Ok(dir) = File::open(&self.dir) {
                let _ = dir.sync_all();
            }
        }
        let seq = self.seq + 1;
        let record = seal(event, seq, &self.hash)?;
        let mut line = canonical(&record);
        line.push('\n');
        let file = self.file.as_mut().expect("segment open");
        file.write_all(line.as_bytes())?;
        self.seq = seq;
        record["auditHash"]
            .as_str()
            .expect("sealed")
            .clone_into(&mut self.hash);
        self.in_segment += 1;
        Ok(())
    }
}

/// The record of `event` as number `seq` after `prev_hash`, with its hash.
fn seal(event: &Event, seq: u64, prev_hash: &str) -> std::io::Result<Value> {
    let mut record = serde_json::to_value(event).map_err(std::io::Error::other)?;
    let fields = record.as_object_mut().expect("an event is an object");
    fields.insert("seq".into(), seq.into());
    fields.insert("prevHash".into(), prev_hash.into());
    let hash = hash_of(&record);
    record
        .as_object_mut()
        .expect("object")
        .insert("auditHash".into(), hash.into());
    Ok(record)
}

fn hash_of(record_without_hash: &Value) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        canonical(record_without_hash).as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted and no white space, whatever order the map keeps.
#[must_use]
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Variables as the journal keeps them: values under names that look like credentials are
/// masked, any secret value the job used is scrubbed, and a very large set is replaced by its
/// size and hash.
#[must_use]
pub fn sanitize(variables: &Value, used: &Used) -> Value {
    fn mask(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        if looks_secret(k) {
                            (k.clone(), Value::String(REDACTED.into()))
                        } else {
                            (k.clone(), mask(v))
                        }
                    })
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(mask).collect()),
            other => other.clone(),
        }
    }
    let clean = used.scrub_json(&mask(variables));
    let text = canonical(&clean);
    if text.len() > MAX_VARIABLES_BYTES {
        serde_json::json!({ "omitted": "too large", "bytes": text.len(), "sha256": hash_of(&clean) })
    } else {
        clean
    }
}

fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "apikey",
        "api_key",
        "authorization",
        "credential",
        "privatekey",
        "private_key",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The segment files of `dir`, oldest first.
fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter_map(|path| first_seq_of(&path).map(|seq| (seq, path)))
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

fn first_seq_of(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix("segment-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

/// The complete, parsable lines of a segment and the byte length they cover; reading stops
/// at the first line that is not.
fn read_intact(path: &Path) -> std::io::Result<(Vec<Value>, u64)> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut lines = Vec::new();
    let mut good = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        match serde_json::from_slice::<Value>(&buf) {
            Ok(value) => lines.push(value),
            Err(_) => break,
        }
        good += n as u64;
    }
    Ok((lines, good))
}

/// A verified journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub segments: usize,
    pub events: u64,
    pub head: Head,
}

/// Where and why the chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{segment}, line {line}: {problem}")]
pub struct Broken {
    pub segment: String,
    pub line: usize,
    pub problem: String,
}

/// Walks every segment of `dir` and checks numbering, links and hashes.
///
/// # Errors
/// [`Broken`] at the first event that does not verify.
pub fn verify(dir: &Path) -> Result<Verified, Broken> {
    let broken = |segment: &Path, line: usize, problem: String| Broken {
        segment: segment.display().to_string(),
        line,
        problem,
    };
    let files = segments(dir).map_err(|e| broken(dir, 0, e.to_string()))?;
    let mut head = Head {
        seq: 0,
        hash: GENESIS.to_owned(),
    };
    for path in &files {
        let first = first_seq_of(path).unwrap_or(0);
        if first != head.seq + 1 {
            return Err(broken(
                path,
                0,
                format!(
                    "the segment starts at {first}, but the chain is at {}",
                    head.seq
                ),
            ));
        }
        let text = std::fs::read(path).map_err(|e| broken(path, 0, e.to_string()))?;
        if !text.is_empty() && text.last() != Some(&b'\n') {
            return Err(broken(path, 0, "the last line is incomplete".into()));
        }
        for (index, raw) in text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let line = index + 1;
            let mut record: Value = serde_json::from_slice(raw)
                .map_err(|e| broken(path, line, format!("not JSON: {e}")))?;
            let Some(fields) = record.as_object_mut() else {
                return Err(broken(path, line, "not a JSON object".into()));
            };
            let claimed = fields
                .remove("auditHash")
                .and_then(|h| h.as_str().map(str::to_owned))
                .ok_or_else(|| broken(path, line, "no auditHash".into()))?;
            let seq = fields.get("seq").and_then(Value::as_u64);
            if seq != Some(head.seq + 1) {
                return Err(broken(
                    path,
                    line,
                    format!("expected event {}, found {seq:?}", head.seq + 1),
                ));
            }
            if fields.get("prevHash").and_then(Value::as_str) != Some(head.hash.as_str()) {
                return Err(broken(
                    path,
                    line,
                    format!(
                        "event {} does not link to the event before it",
                        head.seq + 1
                    ),
                ));
            }
            let actual = hash_of(&record);
            if actual != claimed {
                return Err(broken(
                    path,
                    line,
                    format!(
                        "event {} was changed: its hash does not match",
                        head.seq + 1
                    ),
                ));
            }
            head = Head {
                seq: head.seq + 1,
                hash: claimed,
            };
        }
    }
    Ok(Verified {
        segments: files.len(),
        events: head.seq,
        head,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(n: u64) -> Event {
        Event {
            tenant_id: "acme".into(),
            execution_id: "2251799813685249".into(),
            workflow_id: "order".into(),
            workflow_version: 1,
            timestamp: "2026-12-08T00:00:00.000Z".into(),
            event_type: EventType::TaskCompleted,
            task_id: "charge".into(),
            task_name: "io.camunda:http-json:1".into(),
            job_key: n.to_string(),
            execution_context: json!({ "attempt": 1 }),
            variables: json!({ "n": n }),
        }
    }

    /// Opens the journal once the previous writer's thread has let go of the lock (it does so
    /// a moment after its last handle is dropped).
    fn open(dir: &Path, per_segment: u64) -> (Journal, Head) {
        for _ in 0..200 {
            match Journal::open(dir, per_segment) {
                Ok(opened) => return opened,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the journal stayed locked")
    }

    async fn write(dir: &Path, range: std::ops::RangeInclusive<u64>, per_segment: u64) -> Head {
        let (journal, _) = open(dir, per_segment);
        for n in range {
            journal.append(event(n)).await.unwrap();
        }
        let verified = verify(dir).unwrap();
        verified.head
    }

    #[tokio::test]
    async fn events_chain_across_segments_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=5, 2).await;
        let head = write(dir.path(), 6..=7, 2).await;
        let verified = verify(dir.path()).unwrap();
        assert_eq!(verified.events, 7);
        assert_eq!(verified.segments, 4);
        assert_eq!(verified.head, head);
        let (_, reopened) = open(dir.path(), 2);
        assert_eq!(reopened, head);
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Journal::open(dir.path(), 10).unwrap();
        let refused = Journal::open(dir.path(), 10).err().expect("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock, "{refused}");
        first.append(event(1)).await.unwrap();
        drop(first);
        assert_eq!(open(dir.path(), 10).1.seq, 1);
    }

    #[tokio::test]
    async fn a_changed_removed_or_reordered_event_is_found() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=4, 100).await;
        let path = segments(dir.path()).unwrap().remove(0);
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let changed = original.replacen("\"n\":2", "\"n\":20", 1);
        std::fs::write(&path, &changed).unwrap();
        let err = verify(dir.path()).unwrap_err();
        assert_eq!(
            (err.line, err.problem.contains("changed")),
            (2, true),
            "{err}"
        );

        let removed = format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3]);
        std::fs::write(&path, removed).unwrap();
        assert_eq!(verify(dir.path()).unwrap_err().line, 2);

        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
        std::fs::write(&path, swapped).unwrap();
        assert_eq!(verify(dir.path()).unwrap_err().line, 2);

        std::fs::write(&path, &original).unwrap();
        assert_eq!(verify(dir.path()).unwrap().events, 4);
    }

    #[tokio::test]
    async fn a_torn_last_line_is_cut_off_and_the_chain_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 1..=3, 100).await;
        let path = segments(dir.path()).unwrap().remove(0);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"seq":4,"tenantId":"ac"#).unwrap();
        drop(file);
        assert!(verify(dir.path()).is_err());
        let head = write(dir.path(), 4..=4, 100).await;
        assert_eq!(head.seq, 4);
    }

    #[test]
    fn sanitize_masks_credentials_and_scrubs_used_secrets() {
        let used = Used::default();
        let clean = sanitize(
            &json!({ "order": 7, "apiToken": "abc", "nested": { "Password": "x", "ok": [1] } }),
            &used,
        );
        assert_eq!(
            clean,
            json!({ "order": 7, "apiToken": "***", "nested": { "Password": "***", "ok": [1] } })
        );
        let big = json!({ "blob": "x".repeat(MAX_VARIABLES_BYTES) });
        assert_eq!(sanitize(&big, &used)["omitted"], "too large");
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        assert_eq!(
            canonical(&json!({ "b": 1, "a": { "d": [true, null], "c": "é\"" } })),
            r#"{"a":{"c":"é\"","d":[true,null]},"b":1}"#
        );
    }
}
