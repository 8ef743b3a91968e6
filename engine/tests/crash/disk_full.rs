//! A write failure while the engine runs, made real with a file size limit.
//!
//! Running as root, permissions do not stop writes (root writes through `chmod 0444`
//! files and `0555` directories), and an open file handle keeps its write access anyway;
//! mounting a small file system needs privileges a test run cannot count on. A file size
//! limit (`RLIMIT_FSIZE`, set on the running engine with `prlimit`) binds root too: the
//! kernel refuses writes past it with `EFBIG`, as a full disk refuses them with `ENOSPC`
//! (the engine is started with `SIGXFSZ` ignored, so the limit fails the write instead of
//! killing the process). Raising the limit again is the disk being cleared.
//!
//! While writes fail, every command (creations, publications, job activations) is answered
//! `RESOURCE_EXHAUSTED` through the real gateway; afterwards the engine takes commands again
//! without a restart, and neither its state nor its log holds anything of the commands that
//! failed.

use std::{path::Path, process::Command, time::Duration};

use tonic::transport::Channel;
use zeebe::gateway::{self as pb, GatewayClient};

use super::{
    Launch, POLL_ATTEMPTS, POLL_INTERVAL, activate, create, deploy, is, launch, read_records,
    segment_files, start,
};

async fn publish(mut client: GatewayClient<Channel>, id: &str) -> Result<(), tonic::Status> {
    client
        .publish_message(pb::PublishMessageRequest {
            name: "note".into(),
            correlation_key: "k".into(),
            time_to_live: 60_000,
            message_id: id.into(),
            ..Default::default()
        })
        .await
        .map(drop)
}

fn set_file_size_limit(pid: u32, limit: &str) {
    let status = Command::new("prlimit")
        .arg("--pid")
        .arg(pid.to_string())
        // The soft limit only: the process could raise it itself, and so may we.
        .arg(format!("--fsize={limit}:"))
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --fsize={limit}: {status}");
}

fn newest_segment_len(data: &Path) -> u64 {
    let newest = segment_files(data).pop().expect("a segment");
    std::fs::metadata(newest).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_answer_resource_exhausted_and_the_engine_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut engine = launch(&Launch {
        snapshot_every: 5,
        ignore_file_size_signal: true,
        ..Launch::new(&data, &dir.path().join("before.jsonl"))
    })
    .await
    .expect("engine starts");
    deploy(&mut engine.client).await;
    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        acknowledged.push(create(&mut engine.client).await.expect("create"));
    }

    // Room for 10 more bytes: the next entry is written in part, then refused.
    let limit = newest_segment_len(&data) + 10;
    set_file_size_limit(engine.child.id(), &limit.to_string());
    let status = create(&mut engine.client)
        .await
        .expect_err("a creation while writes fail");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("cannot write its log"),
        "{status:?}"
    );
    assert!(status.message().contains("File too large"), "{status:?}");
    // Several at once, and commands of other kinds, fare the same.
    let concurrent: Vec<_> = (0..4)
        .map(|_| {
            let mut client = engine.client.clone();
            tokio::spawn(async move { create(&mut client).await })
        })
        .collect();
    for answer in concurrent {
        let status = answer
            .await
            .unwrap()
            .expect_err("a creation while writes fail");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    }
    // So does a publication.
    let status = publish(engine.client.clone(), "once")
        .await
        .expect_err("a publication while writes fail");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let status = activate(&mut engine.client)
        .await
        .expect_err("an activation while writes fail");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");

    // The disk is cleared. With no command to prompt it, the same process finds out within
    // its retry interval (a second) and takes the next command.
    set_file_size_limit(engine.child.id(), "unlimited");
    tokio::time::sleep(Duration::from_secs(3)).await;
    acknowledged.push(
        create(&mut engine.client)
            .await
            .expect("the engine recovered by itself, without a restart"),
    );
    assert!(
        engine.child.try_wait().unwrap().is_none(),
        "the engine exited"
    );
    acknowledged.sort_unstable();
    // Nothing of what failed was applied: one job per acknowledged creation, none
    // activated by the activation that failed, and the message id is still free.
    assert_eq!(activate(&mut engine.client).await.unwrap(), acknowledged);
    publish(engine.client.clone(), "once")
        .await
        .expect("the failed publication left no message behind");
    engine.kill();

    // Nor is anything of it in the log: exported again from position 1, it holds the
    // acknowledged creations and the one activation, and nothing in between. (Had the
    // part of an entry written before the limit stayed in the segment, the entries after
    // it would now be refused as corruption.)
    let records = dir.path().join("after.jsonl");
    let mut engine = start(&data, &records).await;
    let activations = |records: &[serde_json::Value]| -> Vec<usize> {
        records
            .iter()
            .filter(|r| is(r, "JOB_BATCH", "ACTIVATED"))
            .map(|r| r["value"]["jobKeys"].as_array().map_or(0, Vec::len))
            .collect()
    };
    let mut exported = Vec::new();
    for _ in 0..POLL_ATTEMPTS {
        exported = read_records(&records);
        if !activations(&exported).is_empty() {
            break;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    engine.kill();
    let created: Vec<i64> = exported
        .iter()
        .filter(|r| is(r, "PROCESS_INSTANCE", "ELEMENT_ACTIVATING"))
        .filter(|r| r["value"]["bpmnElementType"] == "PROCESS")
        .filter_map(|r| r["key"].as_i64())
        .collect();
    assert_eq!(created, acknowledged);
    assert_eq!(activations(&exported), vec![acknowledged.len()]);
    for (i, record) in exported.iter().enumerate() {
        assert_eq!(
            record["position"].as_i64(),
            Some(i as i64 + 1),
            "gap at {i}"
        );
    }
}
