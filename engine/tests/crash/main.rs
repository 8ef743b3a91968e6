//! The engine's crash and fault suite, against the real `astraflow-engine` binary (and, for
//! deleting the log, an engine in this process):
//!
//! * [`sigkill`]: `SIGKILL` while requests are in flight loses nothing acknowledged and
//!   applies nothing twice;
//! * [`torn`]: what a crash leaves at the end of the log (zero-filled space, an entry cut
//!   short) is cut off on start with a warning, while damage in the middle of the log
//!   refuses to start and leaves the files alone;
//! * [`disk_full`]: while writes fail the gateway answers `RESOURCE_EXHAUSTED`, nothing of
//!   the failed commands is applied, and the engine carries on by itself once writes work;
//! * [`compaction`]: segments a snapshot covers and every exporter has are deleted, and a
//!   subscriber asking for older records catches up from the oldest the log still holds;
//! * [`export`]: the binary's records file is such an exporter, and goes on across kills.

mod compaction;
mod disk_full;
mod export;
mod sigkill;
mod torn;

use std::{
    fs::File,
    net::TcpListener as StdListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use tonic::transport::Channel;
use zeebe::gateway::{self as pb, GatewayClient};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="crash" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="crash-work"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// Bound on every poll for a condition (connect, records exported, instances done).
const POLL_ATTEMPTS: usize = 1_200;
const POLL_INTERVAL: Duration = Duration::from_millis(25);

struct Engine {
    child: Child,
    client: GatewayClient<Channel>,
    records: PathBuf,
}

impl Engine {
    /// `SIGKILL`, as a crash.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the engine");
        self.child.wait().unwrap();
    }
}

impl Drop for Engine {
    /// A test that fails leaves no engine running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start the binary.
struct Launch<'a> {
    data: &'a Path,
    records: &'a Path,
    snapshot_every: u64,
    /// Log segment size, if not the default.
    segment_bytes: Option<u64>,
    /// Where its output goes (its log, on standard output, and why it exits, on standard
    /// error); if `None`, the log is discarded and standard error inherited.
    log: Option<&'a Path>,
    /// Start it with `SIGXFSZ` ignored, so that exceeding a file size limit fails the
    /// write (`EFBIG`) instead of killing the process.
    ignore_file_size_signal: bool,
}

impl<'a> Launch<'a> {
    fn new(data: &'a Path, records: &'a Path) -> Self {
        Self {
            data,
            records,
            snapshot_every: 25,
            segment_bytes: None,
            log: None,
            ignore_file_size_signal: false,
        }
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts the engine and connects a client, or returns its log if it exited instead (it
/// refused to start).
async fn launch(options: &Launch<'_>) -> Result<Engine, String> {
    let port = free_port();
    let binary = env!("CARGO_BIN_EXE_astraflow-engine");
    let mut command = if options.ignore_file_size_signal {
        // An ignored signal stays ignored across `exec`.
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"trap "" XFSZ; exec "$0" "$@""#)
            .arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(options.data)
        .arg("--records")
        .arg(options.records)
        .arg("--snapshot-every")
        .arg(options.snapshot_every.to_string())
        .args(
            options
                .segment_bytes
                .iter()
                .flat_map(|n| ["--segment-bytes".to_owned(), n.to_string()]),
        )
        .env("RUST_LOG", "warn")
        // Plain text in the log file, for the tests that read it.
        .env("NO_COLOR", "1");
    match options.log {
        Some(path) => {
            let file = File::create(path).expect("log file");
            // One open file (one offset) for both, so neither overwrites the other.
            command
                .stdout(file.try_clone().expect("log file"))
                .stderr(file)
        }
        None => command.stdout(Stdio::null()).stderr(Stdio::inherit()),
    };
    let mut child = command.spawn().expect("start astraflow-engine");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..POLL_ATTEMPTS {
        if let Some(status) = child.try_wait().unwrap() {
            let log = options
                .log
                .map(|p| std::fs::read_to_string(p).unwrap_or_default())
                .unwrap_or_default();
            return Err(format!("exited with {status}: {log}"));
        }
        if let Ok(channel) = Channel::from_shared(url.clone()).unwrap().connect().await {
            return Ok(Engine {
                child,
                client: GatewayClient::new(channel),
                records: options.records.to_owned(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("astraflow-engine did not start listening on {url}");
}

/// Starts the engine with a snapshot every 25 log entries, exporting to `records`.
async fn start(data: &Path, records: &Path) -> Engine {
    launch(&Launch::new(data, records))
        .await
        .unwrap_or_else(|stderr| panic!("astraflow-engine did not start: {stderr}"))
}

fn read_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        // The exporter may be mid-line; only whole lines count.
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn is(record: &Value, value_type: &str, intent: &str) -> bool {
    record["valueType"] == value_type && record["intent"] == intent
}

async fn deploy(client: &mut GatewayClient<Channel>) {
    client
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "crash.bpmn".into(),
                content: PROCESS.as_bytes().to_vec(),
            }],
            tenant_id: String::new(),
        })
        .await
        .expect("deploy");
}

async fn create(client: &mut GatewayClient<Channel>) -> Result<i64, tonic::Status> {
    client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "crash".into(),
            variables: r#"{"n":1}"#.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().process_instance_key)
}

/// Activates every job there is (for a minute); the keys of their process instances,
/// sorted.
async fn activate(client: &mut GatewayClient<Channel>) -> Result<Vec<i64>, tonic::Status> {
    let mut stream = client
        .activate_jobs(pb::ActivateJobsRequest {
            r#type: "crash-work".into(),
            worker: "fault-test".into(),
            timeout: 60_000,
            max_jobs_to_activate: 1_000,
            request_timeout: -1,
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut keys = Vec::new();
    while let Some(batch) = stream.message().await? {
        keys.extend(batch.jobs.iter().map(|j| j.process_instance_key));
    }
    keys.sort_unstable();
    Ok(keys)
}

/// The log segment files of partition 1, oldest first.
fn segment_files(data: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("partition-1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

/// Byte offset and total length (header included) of each entry in a segment, per the
/// format in ARCHITECTURE.md: a 24-byte header, then `length: u32 LE`, `crc32: u32 LE`,
/// payload.
fn entry_spans(segment: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut offset = 24;
    while offset + 8 <= segment.len() {
        let len = u32::from_le_bytes(segment[offset..offset + 4].try_into().unwrap()) as usize;
        if len == 0 || offset + 8 + len > segment.len() {
            break;
        }
        spans.push((offset, 8 + len));
        offset += 8 + len;
    }
    spans
}
