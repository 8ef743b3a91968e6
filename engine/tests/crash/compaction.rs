//! Deleting the log. With `Retention::Compact`, the segments that a snapshot covers are
//! deleted once every configured exporter has acknowledged their records, and not before;
//! a subscriber asking for records older than the log still holds gets them from the
//! oldest one left, then live; a restart on the shortened log starts from its snapshot.
//! The engine runs in this process, with small segments so there are many.

use std::{path::Path, sync::Arc};

use engine::{
    Engine, EngineConfig, ManualClock, Retention,
    log::LogOptions,
    processor::{Command, ProcessSelector, Resource, Response},
};
use serde_json::Map;
use zeebe::record::TenantId;

use super::{POLL_ATTEMPTS, POLL_INTERVAL, PROCESS};

const INSTANCES: usize = 80;
const SNAPSHOT_EVERY: u64 = 10;

fn config(dir: &Path) -> EngineConfig {
    EngineConfig {
        clock: Arc::new(ManualClock::new(1_700_000_000_000)),
        tick_interval: None,
        snapshot_every: SNAPSHOT_EVERY,
        log: LogOptions {
            max_segment_bytes: 16 * 1024,
        },
        retention: Retention::Compact {
            exporters: vec!["monitor".into()],
        },
        ..EngineConfig::new(dir)
    }
}

fn create() -> Command {
    Command::CreateInstance {
        process: ProcessSelector::Id {
            bpmn_process_id: "crash".into(),
            version: None,
        },
        tenant_id: TenantId::default(),
        variables: Map::new(),
    }
}

/// First entry index of each segment, oldest first.
fn segments(data: &Path) -> Vec<u64> {
    engine::log::segments(&data.join("partition-1")).unwrap()
}

/// Log indexes of the snapshots on disk, oldest first.
fn snapshots(data: &Path) -> Vec<u64> {
    let mut indexes: Vec<u64> = std::fs::read_dir(data.join("snapshots"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("partition-1-")?
                .strip_suffix(".snapshot")?
                .parse()
                .ok()
        })
        .collect();
    indexes.sort_unstable();
    indexes
}

/// Reads `stream` up to `last`, checking positions run on from `first` without a gap.
async fn read_to(
    stream: &mut tokio::sync::mpsc::Receiver<Arc<zeebe::record::Record>>,
    first: i64,
    last: i64,
) {
    let mut next = first;
    while next <= last {
        let record = stream.recv().await.expect("the stream goes on");
        assert_eq!(record.position, next, "gap or duplicate in the stream");
        next += 1;
    }
}

#[test]
fn covered_and_exported_segments_are_deleted_and_subscribers_start_at_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let last = runtime.block_on(async {
        let engine = Engine::start(config(data)).expect("engine starts");
        engine
            .execute(Command::Deploy {
                tenant_id: TenantId::default(),
                resources: vec![Resource {
                    name: "crash.bpmn".into(),
                    content: PROCESS.as_bytes().to_vec(),
                }],
            })
            .await
            .unwrap();
        for _ in 0..INSTANCES {
            engine.execute(create()).await.unwrap();
        }
        let entries = INSTANCES as u64 + 1;
        let covered = entries - entries % SNAPSHOT_EVERY;
        engine
            .snapshot_notifications()
            .wait_for(|i| *i >= covered)
            .await
            .unwrap();
        let before = segments(data);
        assert!(before.len() > 10, "{before:?}");
        // Snapshots cover most of the log, but the exporter has acknowledged nothing.
        assert_eq!(before[0], 1, "deleted before the exporter had the records");

        let last = engine.committed_position();
        let mut monitor = engine.subscribe(1);
        read_to(&mut monitor, 1, last).await;
        engine.acknowledge("monitor", last);
        // The log still reaches back to the older of the two snapshots kept, so a damaged
        // newest snapshot leaves a way to start: it starts in the segment holding the
        // entry after it.
        let kept = snapshots(data);
        assert_eq!(kept.len(), 2, "{kept:?}");
        let expected = *before.iter().rev().find(|f| **f <= kept[0] + 1).unwrap();
        assert!(expected > 1, "{before:?} {kept:?}");
        let mut after = segments(data);
        for _ in 0..POLL_ATTEMPTS {
            if after[0] == expected {
                break;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            after = segments(data);
        }
        assert_eq!(after[0], expected, "{before:?} → {after:?}");
        assert_eq!(after[..], before[before.len() - after.len()..]);

        // Asking for position 1: the stream starts at the oldest record left, runs on
        // without a gap to what is durable, then follows live.
        let mut late = engine.subscribe(1);
        let first = late.recv().await.expect("a record");
        assert!(first.position > 1, "{}", first.position);
        read_to(&mut late, first.position + 1, last).await;
        engine.execute(create()).await.unwrap();
        let live = late.recv().await.expect("a live record");
        assert_eq!(live.position, last + 1);
        engine.committed_position()
    });
    drop(runtime);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::start(config(data)).expect("restarts on the shortened log");
        assert!(engine.recovery().snapshot_index.is_some());
        assert_eq!(engine.committed_position(), last);
        let Response::JobsActivated(jobs) = engine
            .execute(Command::ActivateJobs {
                job_type: "crash-work".into(),
                worker: "w".into(),
                timeout: 60_000,
                max_jobs: 1_000,
                fetch_variables: vec![],
                tenant_ids: vec![],
            })
            .await
            .unwrap()
        else {
            panic!("no jobs");
        };
        assert_eq!(jobs.len(), INSTANCES + 1);
    });
}
