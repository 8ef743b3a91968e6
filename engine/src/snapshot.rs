//! Snapshots of the partition state, so a restart replays only the log after them.
//!
//! A snapshot file holds the whole [`State`] together with the index of the last log
//! entry it covers. It is written atomically (temporary file, `fsync`, rename, `fsync`
//! of the directory) and only once every entry it covers is durable in the log, so a
//! snapshot never runs ahead of the log. The newest [`KEEP`] snapshots are kept.
//!
//! File layout: the magic `AFSNAP02` (the last two digits are the format version), a
//! little-endian CRC-32 of the body, the body length as a little-endian `u64`, then the
//! body as JSON. A file whose checksum, length or body does not check out is skipped with
//! a warning, and the next older one (or a full replay of the log) is used instead. A
//! snapshot of another format version (written by an older or newer engine) is ignored
//! the same way: the log is the source of truth, so the state is rebuilt from it.
//!
//! The body stores the state's entities as they serialize. Element instances are typed
//! in memory (element and event types as enums, `None` for "no key") but serialize in
//! the wire form that format 02 has always held: the type names, and `-1` for no key
//! (`crate::key::wire`). Snapshots written before the state was typed therefore load
//! unchanged and the format version stayed 02; `tests/snapshots.rs` keeps such a file
//! and checks that it loads and is written again byte for byte. A change that does
//! alter the body must bump the version (old snapshots are then ignored, and the log is
//! replayed).
//!
//! A snapshot bounds the replay work at start. With
//! [`Retention::Compact`](crate::runtime::Retention::Compact) it also lets the log segments
//! it covers be deleted (see [`crate::runtime`]); the log then cannot stand in for a
//! snapshot that turns out unreadable, which is why the log keeps reaching back to the
//! older of the [`KEEP`] snapshots.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};
use zeebe::record::TenantId;

use crate::{
    key::KeyGenerator,
    state::{
        ApplyError, BufferedMessage, DeployedProcess, ElementInstance, Incident, Job, MessageStart,
        MessageStartSubscription, MessageSubscription, SignalSubscription, State, Timer, Variable,
    },
};

const MAGIC: &[u8; 8] = b"AFSNAP02";
/// The part of the magic shared by every format version.
const MAGIC_PREFIX: &[u8; 6] = b"AFSNAP";
const HEADER_LEN: usize = 20;
/// How many snapshots are kept.
pub const KEEP: usize = 2;

/// A deployed process as stored in a snapshot (its BPMN is parsed again on load).
#[derive(Serialize, Deserialize)]
struct StoredProcess {
    key: i64,
    bpmn_process_id: String,
    version: i32,
    tenant_id: TenantId,
    resource_name: String,
    checksum: String,
    xml: String,
}

/// The body of a snapshot file.
#[derive(Serialize, Deserialize)]
struct Body {
    /// Last log entry the state covers.
    log_index: u64,
    partition_id: i32,
    last_position: i64,
    keys: KeyGenerator,
    processes: Vec<StoredProcess>,
    versions: Vec<(TenantId, String, Vec<i64>)>,
    elements: Vec<ElementInstance>,
    jobs: Vec<Job>,
    variables: Vec<(i64, BTreeMap<String, Variable>)>,
    incidents: Vec<Incident>,
    messages: Vec<BufferedMessage>,
    max_versions: Vec<(TenantId, String, i32)>,
    timers: Vec<Timer>,
    message_subscriptions: Vec<MessageSubscription>,
    message_start_subscriptions: Vec<MessageStartSubscription>,
    signal_subscriptions: Vec<SignalSubscription>,
    message_starts: Vec<(i64, MessageStart)>,
}

/// A state loaded from a snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// Index of the last log entry the state covers.
    pub log_index: u64,
    /// The state.
    pub state: State,
    /// The file it came from.
    pub path: PathBuf,
}

/// Encodes `state`, which covers the log up to entry `log_index`, as snapshot bytes.
///
/// # Errors
/// When the state does not serialize.
pub fn encode(state: &State, log_index: u64) -> Result<Vec<u8>, serde_json::Error> {
    let mut versions: Vec<_> = state
        .versions
        .iter()
        .map(|((tenant, id), keys)| (tenant.clone(), id.clone(), keys.clone()))
        .collect();
    versions.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut elements: Vec<_> = state.elements.values().cloned().collect();
    elements.sort_by_key(|e| e.key);
    let mut variables: Vec<_> = state
        .variables
        .iter()
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    variables.sort_by_key(|v| v.0);
    let mut max_versions: Vec<_> = state
        .max_versions
        .iter()
        .map(|((tenant, id), v)| (tenant.clone(), id.clone(), *v))
        .collect();
    max_versions.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let body = Body {
        log_index,
        partition_id: state.partition_id,
        last_position: state.last_position,
        keys: state.keys.clone(),
        processes: state
            .processes
            .values()
            .map(|p| StoredProcess {
                key: p.key,
                bpmn_process_id: p.bpmn_process_id.clone(),
                version: p.version,
                tenant_id: p.tenant_id.clone(),
                resource_name: p.resource_name.clone(),
                checksum: p.checksum.clone(),
                xml: p.xml.clone(),
            })
            .collect(),
        versions,
        elements,
        jobs: state.jobs.values().cloned().collect(),
        variables,
        incidents: state.incidents.values().cloned().collect(),
        messages: state.messages.values().cloned().collect(),
        max_versions,
        timers: state.timers.values().cloned().collect(),
        message_subscriptions: state.message_subscriptions.values().cloned().collect(),
        message_start_subscriptions: state
            .message_start_subscriptions
            .values()
            .cloned()
            .collect(),
        signal_subscriptions: state.signal_subscriptions.values().cloned().collect(),
        message_starts: state
            .message_starts
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect(),
    };
    let json = serde_json::to_vec(&body)?;
    let mut out = Vec::with_capacity(HEADER_LEN + json.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// Decodes snapshot bytes into the state and the log index it covers.
///
/// # Errors
/// When the bytes are truncated, fail their checksum, or do not decode.
pub fn decode(bytes: &[u8]) -> Result<(u64, State), ApplyError> {
    if bytes.len() < HEADER_LEN || &bytes[..6] != MAGIC_PREFIX {
        return Err(ApplyError::Invalid(
            "not a snapshot (bad magic or too short)".into(),
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err(ApplyError::SnapshotFormat {
            found: String::from_utf8_lossy(&bytes[6..8]).into_owned(),
            expected: String::from_utf8_lossy(&MAGIC[6..8]).into_owned(),
        });
    }
    let crc = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
    let json = &bytes[HEADER_LEN..];
    if json.len() as u64 != len {
        return Err(ApplyError::Invalid(format!(
            "snapshot body is {} bytes, header says {len}",
            json.len()
        )));
    }
    if crc32fast::hash(json) != crc {
        return Err(ApplyError::Invalid("snapshot checksum mismatch".into()));
    }
    let body: Body = serde_json::from_slice(json)
        .map_err(|e| ApplyError::Invalid(format!("snapshot does not decode: {e}")))?;
    let mut state = State::new(body.partition_id);
    state.last_position = body.last_position;
    state.keys = body.keys;
    for p in body.processes {
        let process = DeployedProcess::new(
            p.key,
            p.bpmn_process_id,
            p.version,
            p.tenant_id,
            p.resource_name,
            p.checksum,
            p.xml,
        )
        .map_err(|e| ApplyError::Invalid(format!("in snapshot: {e}")))?;
        state.processes.insert(p.key, Arc::new(process));
    }
    state.versions = body
        .versions
        .into_iter()
        .map(|(tenant, id, keys)| ((tenant, id), keys))
        .collect();
    state.elements = body.elements.into_iter().map(|e| (e.key, e)).collect();
    state.jobs = body.jobs.into_iter().map(|j| (j.key, j)).collect();
    state.variables = body.variables.into_iter().collect();
    state.incidents = body.incidents.into_iter().map(|i| (i.key, i)).collect();
    state.messages = body.messages.into_iter().map(|m| (m.key, m)).collect();
    state.max_versions = body
        .max_versions
        .into_iter()
        .map(|(tenant, id, v)| ((tenant, id), v))
        .collect();
    state.timers = body.timers.into_iter().map(|t| (t.key, t)).collect();
    state.message_subscriptions = body
        .message_subscriptions
        .into_iter()
        .map(|s| (s.key, s))
        .collect();
    state.message_start_subscriptions = body
        .message_start_subscriptions
        .into_iter()
        .map(|s| (s.key, s))
        .collect();
    state.signal_subscriptions = body
        .signal_subscriptions
        .into_iter()
        .map(|s| (s.key, s))
        .collect();
    state.message_starts = body.message_starts.into_iter().collect();
    state.rebuild_indexes();
    Ok((body.log_index, state))
}

fn file_prefix(partition_id: i32) -> String {
    format!("partition-{partition_id}-")
}

/// Snapshot files of `partition_id` in `dir`, oldest first, with the index they cover.
pub(crate) fn list(dir: &Path, partition_id: i32) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let prefix = file_prefix(partition_id);
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".snapshot"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((index, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Writes `bytes` (from [`encode`]) as the snapshot covering entry `log_index`, then
/// deletes all but the newest [`KEEP`] snapshots. Returns the new file's path.
///
/// # Errors
/// I/O errors; a failed write leaves the older snapshots in place.
pub fn write(
    dir: &Path,
    partition_id: i32,
    log_index: u64,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = format!("{}{log_index:020}.snapshot", file_prefix(partition_id));
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(&name);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    let snapshots = list(dir, partition_id)?;
    let excess = snapshots.len().saturating_sub(KEEP);
    for (_, old) in snapshots.into_iter().take(excess) {
        if let Err(e) = fs::remove_file(&old) {
            tracing::warn!(path = %old.display(), error = %e, "cannot delete an old snapshot");
        }
    }
    Ok(path)
}

/// Deletes the snapshots of `partition_id` that cover more than `max_index` log entries
/// (the log lost entries they cover, so new entries will take those indices).
pub fn remove_after(dir: &Path, partition_id: i32, max_index: u64) {
    for (index, path) in list(dir, partition_id).unwrap_or_default() {
        if index > max_index {
            tracing::warn!(path = %path.display(), "deleting a snapshot ahead of the log");
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot delete a snapshot");
            }
        }
    }
}

/// The newest snapshot of `partition_id` in `dir` that checks out and covers no more
/// than `max_index` log entries; damaged ones are skipped with a warning.
#[must_use]
pub fn load_newest(dir: &Path, partition_id: i32, max_index: Option<u64>) -> Option<Loaded> {
    let snapshots = match list(dir, partition_id) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot list snapshots");
            return None;
        }
    };
    for (index, path) in snapshots.into_iter().rev() {
        if max_index.is_some_and(|max| index > max) {
            tracing::warn!(
                path = %path.display(),
                "snapshot covers more than the log holds; skipping it"
            );
            continue;
        }
        let decoded = fs::read(&path)
            .map_err(|e| ApplyError::Invalid(e.to_string()))
            .and_then(|bytes| decode(&bytes));
        match decoded {
            Ok((log_index, state)) if log_index == index && state.partition_id == partition_id => {
                return Some(Loaded {
                    log_index,
                    state,
                    path,
                });
            }
            Ok(_) => tracing::warn!(
                path = %path.display(),
                "snapshot contents disagree with its file name; skipping it"
            ),
            Err(e @ ApplyError::SnapshotFormat { .. }) => tracing::warn!(
                path = %path.display(),
                reason = %e,
                "ignoring a snapshot of another format version"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                error = %e,
                "skipping a damaged snapshot"
            ),
        }
    }
    None
}
