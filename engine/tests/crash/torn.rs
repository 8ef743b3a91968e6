//! What a crash leaves at the end of the log, and damage that is not a crash's.
//!
//! Each test acknowledges a few instances, kills the engine, changes the newest segment
//! as a crash (or a broken disk) would, and starts it again. A torn tail (space the file
//! system allocated but never filled, an entry cut short, the start of an entry followed
//! by unwritten space) is cut off with a warning naming the bytes and the first entry
//! dropped, and the engine starts with everything before it. A damaged entry that intact
//! entries follow is corruption: the engine refuses to start, says where, and leaves the
//! files as they are.

use std::path::Path;

use super::{Launch, activate, create, deploy, entry_spans, launch, segment_files, start};

/// Deploys and creates `instances` instances (log entries 1, then 2..), kills the engine;
/// the instance keys.
async fn acknowledged(data: &Path, records: &Path, instances: usize) -> Vec<i64> {
    let mut engine = start(data, records).await;
    deploy(&mut engine.client).await;
    let mut keys = Vec::new();
    for _ in 0..instances {
        keys.push(create(&mut engine.client).await.expect("create"));
    }
    engine.kill();
    keys
}

fn newest_segment(data: &Path) -> std::path::PathBuf {
    segment_files(data).pop().expect("a segment")
}

/// Starts the engine, expecting it to come up; its log so far and the engine.
async fn restart(dir: &Path, data: &Path, name: &str) -> (String, super::Engine) {
    let log = dir.join(format!("{name}.log"));
    let records = dir.join(format!("{name}.jsonl"));
    let engine = launch(&Launch {
        log: Some(&log),
        ..Launch::new(data, &records)
    })
    .await
    .unwrap_or_else(|e| panic!("{name}: the engine refused to start: {e}"));
    (std::fs::read_to_string(&log).unwrap(), engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_filled_tail_is_cut_off_and_the_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut keys = acknowledged(&data, &dir.path().join("before.jsonl"), 3).await;
    let segment = newest_segment(&data);
    let intact = std::fs::metadata(&segment).unwrap().len();
    // Space the file system extended the file by, but whose data never reached the disk.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&segment, bytes).unwrap();

    let (log, mut engine) = restart(dir.path(), &data, "zeros").await;
    assert!(log.contains("cutting off a torn tail"), "{log}");
    assert!(log.contains("dropped_bytes=4096"), "{log}");
    assert!(log.contains(&format!("at_byte={intact}")), "{log}");
    // Deploy is entry 1, the creations 2 to 4.
    assert!(log.contains("first_dropped_entry=5"), "{log}");
    assert!(log.contains("zero-filled"), "{log}");
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), intact);
    keys.push(
        create(&mut engine.client)
            .await
            .expect("create after the restart"),
    );
    engine.kill();

    // The entry written after the cut is where it belongs: nothing is cut the next time.
    let (log, mut engine) = restart(dir.path(), &data, "again").await;
    assert!(!log.contains("torn tail"), "{log}");
    keys.sort_unstable();
    assert_eq!(activate(&mut engine.client).await.unwrap(), keys);
    engine.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_cut_short_is_cut_off_and_the_engine_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = acknowledged(&data, &dir.path().join("before.jsonl"), 3).await;
    let segment = newest_segment(&data);
    let bytes = std::fs::read(&segment).unwrap();
    let spans = entry_spans(&bytes);
    assert_eq!(spans.len(), 4);
    let (last_at, last_len) = spans[3];

    for (case, tail) in [
        // The file ends in the middle of the last entry.
        ("cut", bytes[last_at..last_at + last_len / 2].to_vec()),
        // Its first half was written, the rest of the space never was.
        ("half written", {
            let mut tail = bytes[last_at..last_at + last_len / 2].to_vec();
            tail.resize(last_len + 4096, 0);
            tail
        }),
    ] {
        let mut damaged = bytes[..last_at].to_vec();
        damaged.extend_from_slice(&tail);
        std::fs::write(&segment, &damaged).unwrap();
        let (log, mut engine) = restart(dir.path(), &data, case).await;
        assert!(log.contains("cutting off a torn tail"), "{case}: {log}");
        assert!(
            log.contains(&format!("dropped_bytes={}", tail.len())),
            "{case}: {log}"
        );
        assert!(log.contains("first_dropped_entry=4"), "{case}: {log}");
        // The last creation was cut off: as if it had never been acknowledged.
        assert_eq!(
            activate(&mut engine.client).await.unwrap(),
            keys[..2].to_vec(),
            "{case}"
        );
        engine.kill();
        std::fs::write(&segment, &bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_the_middle_of_the_log_refuses_to_start_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    acknowledged(&data, &dir.path().join("before.jsonl"), 3).await;
    let segment = newest_segment(&data);
    let bytes = std::fs::read(&segment).unwrap();
    let spans = entry_spans(&bytes);
    assert_eq!(spans.len(), 4);
    // Entry 2, the first creation; entries 3 and 4 follow it intact.
    let (at, _) = spans[1];

    for (case, offset) in [
        // Its length now runs past the end of the segment, as a torn write's would.
        ("length", at + 3),
        ("payload", at + 8 + 5),
    ] {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x01;
        std::fs::write(&segment, &damaged).unwrap();
        let log = dir.path().join(format!("{case}.log"));
        let records = dir.path().join(format!("{case}.jsonl"));
        let refused = launch(&Launch {
            log: Some(&log),
            ..Launch::new(&data, &records)
        })
        .await;
        let Err(why) = refused else {
            panic!("{case}: the engine started on a corrupt log");
        };
        assert!(why.contains(&format!("at byte {at}")), "{case}: {why}");
        assert!(why.contains("entry 2"), "{case}: {why}");
        assert!(
            why.contains("corruption, not a torn write"),
            "{case}: {why}"
        );
        assert_eq!(
            std::fs::read(&segment).unwrap(),
            damaged,
            "{case}: the log was changed"
        );
    }
}
