//! The binary's records file is an exporter: the log segments it has (synced) are deleted
//! once a snapshot covers them, and after a kill it goes on after its last complete line,
//! so it holds every record once even though the log no longer does. A file that does not
//! continue the engine's log is started afresh.

use std::io::Write;

use super::{Launch, POLL_ATTEMPTS, POLL_INTERVAL, create, deploy, is, launch, segment_files};

/// Every line of the records file, each of which must be a whole record.
fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn instances(records: &[serde_json::Value]) -> usize {
    records
        .iter()
        .filter(|r| is(r, "PROCESS_INSTANCE", "ELEMENT_ACTIVATING"))
        .filter(|r| r["value"]["bpmnElementType"] == "PROCESS")
        .count()
}

/// Waits until the records file shows `count` instances.
async fn exported(path: &std::path::Path, count: usize) {
    for _ in 0..POLL_ATTEMPTS {
        if instances(&super::read_records(path)) >= count {
            return;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("the records file never showed {count} instances");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_records_file_lets_segments_go_and_goes_on_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let records = dir.path().join("records.jsonl");
    let options = Launch {
        snapshot_every: 10,
        segment_bytes: Some(16 * 1024),
        ..Launch::new(&data, &records)
    };
    let mut engine = launch(&options).await.expect("engine starts");
    deploy(&mut engine.client).await;
    for _ in 0..60 {
        create(&mut engine.client).await.expect("create");
    }
    exported(&records, 60).await;
    let first_segment = |data: &std::path::Path| {
        let first = segment_files(data)[0].clone();
        first
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let mut first = first_segment(&data);
    for _ in 0..POLL_ATTEMPTS {
        if first > 1 {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
        first = first_segment(&data);
    }
    assert!(first > 1, "no segment was deleted");
    engine.kill();
    // Killed in the middle of writing a line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&records)
        .unwrap()
        .write_all(br#"{"partitionId":1,"posi"#)
        .unwrap();

    let mut engine = launch(&options).await.expect("engine restarts");
    for _ in 0..5 {
        create(&mut engine.client).await.expect("create");
    }
    exported(&records, 65).await;
    engine.kill();
    let all = lines(&records);
    assert_eq!(instances(&all), 65);
    for (i, record) in all.iter().enumerate() {
        assert_eq!(
            record["position"].as_i64(),
            Some(i as i64 + 1),
            "the records file has a gap or a duplicate at line {i}"
        );
    }

    // The same file for an engine with a new log: it holds records past that log's end,
    // so it does not continue it, and starts afresh.
    let fresh = dir.path().join("fresh");
    let mut engine = launch(&Launch {
        data: &fresh,
        ..options
    })
    .await
    .expect("a new engine starts");
    deploy(&mut engine.client).await;
    create(&mut engine.client).await.expect("create");
    let mut now = Vec::new();
    for _ in 0..POLL_ATTEMPTS {
        now = super::read_records(&records);
        if instances(&now) == 1 {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    engine.kill();
    assert_eq!(instances(&now), 1);
    assert_eq!(now[0]["position"].as_i64(), Some(1));
}
