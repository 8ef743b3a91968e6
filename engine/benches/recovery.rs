//! Recovery time at start: full log replay versus a snapshot plus the log after it.
//!
//! Builds a log of about `BENCH_RECORDS` records (default 50000) by creating instances of
//! start → service task → end and completing half of their jobs (so the state holds
//! thousands of live instances and jobs), with a snapshot every 1000 entries; then times
//! `Engine::start` on that data directory with snapshots (newest snapshot + the entries
//! after it) and without (every entry replayed), three times each, and prints the best.
//!
//! ```text
//! cargo bench -p engine --bench recovery
//! BENCH_RECORDS=200000 cargo bench -p engine --bench recovery
//! ```

use std::{path::Path, time::Instant};

use engine::processor::{Command, ProcessSelector, Resource, Response};
use engine::{Engine, EngineConfig};
use serde_json::Map;
use tokio::task::JoinSet;
use zeebe::record::TenantId;

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="recovery" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="recovery-work"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

const SNAPSHOT_EVERY: u64 = 1_000;
const CONCURRENCY: usize = 64;

fn config(dir: &Path, snapshot_every: u64) -> EngineConfig {
    EngineConfig {
        tick_interval: None,
        snapshot_every,
        ..EngineConfig::new(dir)
    }
}

fn create() -> Command {
    Command::CreateInstance {
        process: ProcessSelector::Id {
            bpmn_process_id: "recovery".into(),
            version: None,
        },
        tenant_id: TenantId::default(),
        variables: Map::new(),
    }
}

/// Fills the log; returns (entries, records).
async fn build(dir: &Path, target_records: i64) -> (u64, i64) {
    let engine = Engine::start(config(dir, SNAPSHOT_EVERY)).expect("engine starts");
    engine
        .execute(Command::Deploy {
            tenant_id: TenantId::default(),
            resources: vec![Resource {
                name: "recovery.bpmn".into(),
                content: PROCESS.as_bytes().to_vec(),
            }],
        })
        .await
        .expect("deploy");
    let mut entries = 1u64;
    while engine.committed_position() < target_records {
        let mut creates = JoinSet::new();
        for _ in 0..CONCURRENCY {
            let engine = engine.clone();
            creates.spawn(async move { engine.execute(create()).await.expect("create") });
        }
        creates.join_all().await;
        entries += CONCURRENCY as u64;
        let Response::JobsActivated(jobs) = engine
            .execute(Command::ActivateJobs {
                job_type: "recovery-work".into(),
                worker: "bench".into(),
                timeout: 600_000,
                max_jobs: i32::try_from(CONCURRENCY / 2).unwrap_or(1),
                fetch_variables: vec![],
                tenant_ids: vec![],
            })
            .await
            .expect("activate")
        else {
            panic!("activation answered something else");
        };
        entries += 1;
        let mut completes = JoinSet::new();
        for job in jobs {
            let engine = engine.clone();
            completes.spawn(async move {
                engine
                    .execute(Command::CompleteJob {
                        job_key: job.key,
                        variables: Map::new(),
                    })
                    .await
                    .expect("complete")
            });
            entries += 1;
        }
        completes.join_all().await;
    }
    let covered = entries / SNAPSHOT_EVERY * SNAPSHOT_EVERY;
    engine
        .snapshot_notifications()
        .wait_for(|i| *i >= covered)
        .await
        .expect("snapshot written");
    (entries, engine.committed_position())
}

/// Three starts in a row: milliseconds and how each recovered. (With snapshots on, a
/// clean shutdown snapshots the replayed tail, so later starts may replay nothing.)
fn time_starts(dir: &Path, snapshot_every: u64) -> Vec<(f64, engine::Recovery)> {
    (0..3)
        .map(|_| {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            let out = rt.block_on(async {
                let started = Instant::now();
                let engine = Engine::start(config(dir, snapshot_every)).expect("engine starts");
                (started.elapsed().as_secs_f64() * 1000.0, engine.recovery())
            });
            drop(rt);
            out
        })
        .collect()
}

fn main() {
    let target: i64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let built = Instant::now();
    let (entries, records) = rt.block_on(build(dir.path(), target));
    drop(rt);
    println!(
        "recovery: log of {entries} entries / {records} records built in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    // Snapshots off: nothing is loaded, every entry is replayed (and none is written).
    let full = time_starts(dir.path(), 0);
    let best_full = full.iter().map(|r| r.0).fold(f64::MAX, f64::min);
    for (ms, recovery) in &full {
        println!(
            "recovery: full replay of {} entries: {ms:.1} ms",
            recovery.replayed_entries
        );
    }
    for (ms, recovery) in time_starts(dir.path(), SNAPSHOT_EVERY) {
        println!(
            "recovery: snapshot at entry {} + {} entries replayed: {ms:.1} ms \
             ({:.1}x faster than the best full replay)",
            recovery.snapshot_index.unwrap_or(0),
            recovery.replayed_entries,
            best_full / ms
        );
    }
}
