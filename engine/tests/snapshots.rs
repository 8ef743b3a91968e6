//! Snapshots: a restart from a snapshot plus the log after it gives the same state and
//! behaviour as a full replay; damaged snapshots are skipped; keys and record positions
//! continue without reuse or gaps.
//!
//! Each engine runs on its own runtime, dropped before the next start, so every task of
//! the previous engine (including a snapshot written on shutdown) has finished.

use std::path::{Path, PathBuf};

use engine::processor::{Command, ProcessSelector, Resource, Response};
use engine::state::Lifecycle;
use engine::{Engine, EngineConfig, ManualClock, State};
use serde_json::Map;
use zeebe::record::{ElementType, Record, TenantId};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="snap" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="snap-work"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

const NOW: i64 = 1_700_000_000_000;

fn config(dir: &Path, snapshot_every: u64) -> EngineConfig {
    EngineConfig {
        clock: std::sync::Arc::new(ManualClock::new(NOW)),
        tick_interval: None,
        snapshot_every,
        ..EngineConfig::new(dir)
    }
}

/// Runs `f` against an engine on `dir` on a runtime of its own, then stops everything.
fn with_engine<T>(
    dir: &Path,
    snapshot_every: u64,
    f: impl AsyncFnOnce(Engine) -> T,
) -> (engine::Recovery, T) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt.block_on(async {
        let engine = Engine::start(config(dir, snapshot_every)).expect("engine starts");
        let recovery = engine.recovery();
        (recovery, f(engine).await)
    });
    drop(rt);
    out
}

fn deploy() -> Command {
    Command::Deploy {
        tenant_id: TenantId::default(),
        resources: vec![Resource {
            name: "snap.bpmn".into(),
            content: PROCESS.as_bytes().to_vec(),
        }],
    }
}

fn create() -> Command {
    Command::CreateInstance {
        process: ProcessSelector::Id {
            bpmn_process_id: "snap".into(),
            version: None,
        },
        tenant_id: TenantId::default(),
        variables: Map::new(),
    }
}

fn activate(max_jobs: i32) -> Command {
    Command::ActivateJobs {
        job_type: "snap-work".into(),
        worker: "w".into(),
        timeout: 60_000,
        max_jobs,
        fetch_variables: vec![],
        tenant_ids: vec![],
    }
}

/// Deploys, creates `instances` instances, activates three jobs and completes one.
async fn workload(engine: &Engine, instances: usize) {
    engine.execute(deploy()).await.unwrap();
    for _ in 0..instances {
        engine.execute(create()).await.unwrap();
    }
    let Response::JobsActivated(jobs) = engine.execute(activate(3)).await.unwrap() else {
        panic!("no jobs");
    };
    assert_eq!(jobs.len(), 3);
    engine
        .execute(Command::CompleteJob {
            job_key: jobs[0].key,
            variables: Map::new(),
        })
        .await
        .unwrap();
}

/// Observable behaviour after a restart: the pending jobs, a redeploy (same version?),
/// a new instance (its key) and the whole record stream.
async fn observe(engine: Engine) -> (Vec<Response>, Vec<Record>) {
    let mut responses = vec![
        engine.execute(activate(100)).await.unwrap(),
        engine.execute(deploy()).await.unwrap(),
        engine.execute(create()).await.unwrap(),
        engine.execute(activate(100)).await.unwrap(),
    ];
    let last = engine.committed_position();
    let mut stream = engine.subscribe(1);
    let mut records = Vec::new();
    while let Some(record) = stream.recv().await {
        let position = record.position;
        records.push((*record).clone());
        if position >= last {
            break;
        }
    }
    responses.retain(|r| !matches!(r, Response::Accepted));
    (responses, records)
}

fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("snapshots"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "snapshot"));
    files.sort();
    files
}

fn copy_log_only(from: &Path, to: &Path) {
    let src = from.join("partition-1");
    let dst = to.join("partition-1");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
}

fn assert_contiguous(records: &[Record]) {
    for (i, record) in records.iter().enumerate() {
        assert_eq!(
            record.position,
            i as i64 + 1,
            "record positions must be gap-free"
        );
    }
}

#[test]
fn restart_from_snapshot_behaves_like_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let full = tempfile::tempdir().unwrap();
    // 1 deploy + 12 creates + 1 activation + 1 completion = 15 entries; snapshot every 4.
    let (first, _) = with_engine(dir.path(), 4, async |engine: Engine| {
        workload(&engine, 12).await;
        let mut written = engine.snapshot_notifications();
        written.wait_for(|i| *i >= 12).await.unwrap();
    });
    assert_eq!(first.snapshot_index, None);
    let files = snapshot_files(dir.path());
    assert!(
        (1..=engine::snapshot::KEEP).contains(&files.len()),
        "{files:?}"
    );
    copy_log_only(dir.path(), full.path());

    let (from_snapshot, (responses, records)) = with_engine(dir.path(), 4, observe);
    let covered = from_snapshot
        .snapshot_index
        .expect("started from a snapshot");
    assert!(covered >= 12);
    assert_eq!(from_snapshot.replayed_entries, 15 - covered);

    let (replayed, (full_responses, full_records)) = with_engine(full.path(), 0, observe);
    assert_eq!(replayed.snapshot_index, None);
    assert_eq!(replayed.replayed_entries, 15);

    // Same pending jobs, same version on redeploy, same new keys, same records.
    assert_eq!(responses, full_responses);
    assert_eq!(records, full_records);
    assert_contiguous(&records);
    let Response::JobsActivated(pending) = &responses[0] else {
        panic!("{responses:?}");
    };
    assert_eq!(pending.len(), 12 - 3, "nine jobs were still waiting");
}

#[test]
fn keys_and_positions_continue_after_a_snapshot_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (_, (keys_before, last_before)) = with_engine(dir.path(), 2, async |engine: Engine| {
        workload(&engine, 5).await;
        engine
            .snapshot_notifications()
            .wait_for(|i| *i >= 8)
            .await
            .unwrap();
        let mut stream = engine.subscribe(1);
        let last = engine.committed_position();
        let mut keys = Vec::new();
        while let Some(record) = stream.recv().await {
            keys.push(record.key);
            if record.position >= last {
                break;
            }
        }
        (keys, last)
    });
    let (recovery, (responses, records)) = with_engine(dir.path(), 2, observe);
    assert!(recovery.snapshot_index.is_some());
    assert_contiguous(&records);
    assert!(records.len() as i64 > last_before);
    let max_before = keys_before.iter().copied().max().unwrap();
    // Every key first seen after the restart is greater than every key before it.
    let new_keys: Vec<i64> = records[last_before as usize..]
        .iter()
        .map(|r| r.key)
        .filter(|k| *k > 0 && !keys_before.contains(k))
        .collect();
    assert!(!new_keys.is_empty());
    assert!(new_keys.iter().all(|k| *k > max_before), "{new_keys:?}");
    let created = responses.iter().find_map(|r| match r {
        Response::InstanceCreated {
            process_instance_key,
            ..
        } => Some(*process_instance_key),
        _ => None,
    });
    assert!(created.unwrap() > max_before);
}

#[test]
fn a_corrupt_newest_snapshot_falls_back_to_the_previous_one() {
    for damage in ["flip", "truncate", "garbage"] {
        let dir = tempfile::tempdir().unwrap();
        let full = tempfile::tempdir().unwrap();
        with_engine(dir.path(), 3, async |engine: Engine| {
            workload(&engine, 8).await; // 11 entries
            engine
                .snapshot_notifications()
                .wait_for(|i| *i >= 9)
                .await
                .unwrap();
        });
        copy_log_only(dir.path(), full.path());
        let files = snapshot_files(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        let newest = files.last().unwrap();
        let mut bytes = std::fs::read(newest).unwrap();
        match damage {
            "flip" => {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x20;
            }
            "truncate" => bytes.truncate(bytes.len() * 2 / 3),
            _ => bytes = b"not a snapshot".to_vec(),
        }
        std::fs::write(newest, bytes).unwrap();
        let older = engine::snapshot::load_newest(&dir.path().join("snapshots"), 1, None)
            .expect("the older snapshot is still usable");
        assert!(older.path == files[0], "{damage}: {:?}", older.path);

        let (recovery, observed) = with_engine(dir.path(), 3, observe);
        assert_eq!(recovery.snapshot_index, Some(older.log_index), "{damage}");
        assert_eq!(recovery.replayed_entries, 11 - older.log_index, "{damage}");
        let (_, expected) = with_engine(full.path(), 0, observe);
        assert_eq!(observed, expected, "{damage}");
        assert_contiguous(&observed.1);
    }
}

#[test]
fn snapshots_ahead_of_the_log_are_not_used_and_are_deleted() {
    let long = tempfile::tempdir().unwrap();
    let short = tempfile::tempdir().unwrap();
    let expected = tempfile::tempdir().unwrap();
    with_engine(long.path(), 2, async |engine: Engine| {
        workload(&engine, 8).await; // 11 entries
        engine
            .snapshot_notifications()
            .wait_for(|i| *i >= 10)
            .await
            .unwrap();
    });
    with_engine(short.path(), 0, async |engine: Engine| {
        workload(&engine, 3).await; // 6 entries
    });
    copy_log_only(short.path(), expected.path());
    // As if the log lost entries the snapshots cover.
    std::fs::create_dir_all(short.path().join("snapshots")).unwrap();
    let stale = snapshot_files(long.path());
    assert_eq!(stale.len(), 2, "{stale:?}"); // the newest two, both past entry 6
    for file in &stale {
        std::fs::copy(
            file,
            short
                .path()
                .join("snapshots")
                .join(file.file_name().unwrap()),
        )
        .unwrap();
    }
    let (recovery, observed) = with_engine(short.path(), 2, observe);
    assert_eq!(recovery.snapshot_index, None);
    assert_eq!(recovery.replayed_entries, 6);
    let (_, wanted) = with_engine(expected.path(), 0, observe);
    assert_eq!(observed, wanted);
    for file in &stale {
        assert!(
            !short
                .path()
                .join("snapshots")
                .join(file.file_name().unwrap())
                .exists(),
            "{file:?} is still there"
        );
    }
}

#[test]
fn all_snapshots_corrupt_means_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    with_engine(dir.path(), 2, async |engine: Engine| {
        workload(&engine, 3).await;
        engine
            .snapshot_notifications()
            .wait_for(|i| *i >= 6)
            .await
            .unwrap();
    });
    for file in snapshot_files(dir.path()) {
        std::fs::write(file, b"AFSNAP01").unwrap();
    }
    let (recovery, (_, records)) = with_engine(dir.path(), 2, observe);
    assert_eq!(recovery.snapshot_index, None);
    assert_eq!(recovery.replayed_entries, 6);
    assert_contiguous(&records);
}

/// A snapshot written in another format version (an older engine's) is not used: the
/// state comes from the log instead, and the engine carries on.
#[test]
fn snapshots_of_another_format_version_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    with_engine(dir.path(), 2, async |engine: Engine| {
        workload(&engine, 3).await;
        engine
            .snapshot_notifications()
            .wait_for(|i| *i >= 6)
            .await
            .unwrap();
    });
    for file in snapshot_files(dir.path()) {
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[6..8].copy_from_slice(b"01");
        let why = engine::snapshot::decode(&bytes).unwrap_err().to_string();
        assert!(why.contains("format 01"), "{why}");
        std::fs::write(file, bytes).unwrap();
    }
    let (recovery, (_, records)) = with_engine(dir.path(), 2, observe);
    assert_eq!(recovery.snapshot_index, None);
    assert_eq!(recovery.replayed_entries, 6);
    assert_contiguous(&records);
}

/// Encoding a state, decoding it and applying the rest of the records gives exactly the
/// state that applying every record gives.
#[test]
fn snapshot_plus_tail_equals_full_replay_state() {
    let mut live = State::new(1);
    let mut records = Vec::new();
    let mut run = |state: &mut State, command: &Command| {
        let out = engine::process(state, command, NOW);
        records.extend(out.records);
        out.response
    };
    run(&mut live, &deploy()).unwrap();
    for _ in 0..6 {
        run(&mut live, &create()).unwrap();
    }
    let Ok(Response::JobsActivated(jobs)) = run(&mut live, &activate(4)) else {
        panic!("no jobs");
    };
    run(
        &mut live,
        &Command::CompleteJob {
            job_key: jobs[0].key,
            variables: Map::new(),
        },
    )
    .unwrap();
    run(
        &mut live,
        &Command::FailJob {
            job_key: jobs[1].key,
            retries: 0,
            error_message: "boom".into(),
            retry_backoff: 0,
            variables: Map::new(),
        },
    )
    .unwrap();

    let encoded = |state: &State| engine::snapshot::encode(state, 0).unwrap();
    for cut in [0, 1, records.len() / 2, records.len()] {
        let mut head = State::new(1);
        for record in &records[..cut] {
            head.apply(record).unwrap();
        }
        let (_, mut restored) = engine::snapshot::decode(&encoded(&head)).unwrap();
        assert_eq!(encoded(&restored), encoded(&head), "round trip at {cut}");
        for record in &records[cut..] {
            restored.apply(record).unwrap();
        }
        assert_eq!(encoded(&restored), encoded(&live), "snapshot at {cut}");
        assert_eq!(restored.keys, live.keys);
        assert_eq!(restored.last_position, live.last_position);
    }
}

/// A snapshot written by the engine before its state was typed (element and event types
/// as strings, -1 for "no key" in memory): [`untyped_era_workload`] at log index 7.
const UNTYPED_SNAPSHOT: &[u8] = include_bytes!("fixtures/untyped-state.snapshot");
const UNTYPED_SNAPSHOT_INDEX: u64 = 7;

/// The workload behind `tests/fixtures/untyped-state.snapshot`: a called process inside
/// a sub-process with a multi-instance task, a timer boundary event, an event
/// sub-process waiting for a message, a job incident and a buffered message.
fn untyped_era_workload() -> State {
    const CHILD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="C" targetNamespace="t">
  <bpmn:message id="Paid" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="child" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="s-start"/>
      <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="snap-work"/></bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1, 2]" inputElement="item"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>
      <bpmn:endEvent id="s-end"/>
      <bpmn:sequenceFlow id="s1" sourceRef="s-start" targetRef="work"/>
      <bpmn:sequenceFlow id="s2" sourceRef="work" targetRef="s-end"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="late" attachedToRef="sub" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="late-end"/>
    <bpmn:endEvent id="end"/>
    <bpmn:subProcess id="on-paid" triggeredByEvent="true">
      <bpmn:startEvent id="paid-start" isInterrupting="false"><bpmn:messageEventDefinition messageRef="Paid"/></bpmn:startEvent>
      <bpmn:endEvent id="paid-end"/>
      <bpmn:sequenceFlow id="p1" sourceRef="paid-start" targetRef="paid-end"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
    <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late-end"/>
  </bpmn:process>
</bpmn:definitions>"#;
    const PARENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="P" targetNamespace="t">
  <bpmn:process id="parent" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;
    let mut state = State::new(1);
    let mut run = |command: &Command| engine::process(&mut state, command, NOW).response;
    run(&Command::Deploy {
        tenant_id: TenantId::default(),
        resources: vec![
            Resource {
                name: "child.bpmn".into(),
                content: CHILD.as_bytes().to_vec(),
            },
            Resource {
                name: "parent.bpmn".into(),
                content: PARENT.as_bytes().to_vec(),
            },
        ],
    })
    .unwrap();
    let mut variables = Map::new();
    variables.insert("orderId".into(), "o-1".into());
    run(&Command::CreateInstance {
        process: ProcessSelector::Id {
            bpmn_process_id: "parent".into(),
            version: None,
        },
        tenant_id: TenantId::default(),
        variables,
    })
    .unwrap();
    let Ok(Response::JobsActivated(jobs)) = run(&activate(1)) else {
        panic!("no job");
    };
    run(&Command::FailJob {
        job_key: jobs[0].key,
        retries: 0,
        error_message: "boom".into(),
        retry_backoff: 0,
        variables: Map::new(),
    })
    .unwrap();
    run(&Command::PublishMessage {
        name: "shipped".into(),
        correlation_key: "o-1".into(),
        time_to_live: 60_000,
        message_id: String::new(),
        variables: Map::new(),
        tenant_id: TenantId::default(),
    })
    .unwrap();
    state
}

/// The typed state reads a snapshot of the untyped one: -1 becomes `None`, the type
/// names become enums, and written again it is the same bytes, so the format did not
/// change. The loaded state goes on working.
#[test]
fn snapshots_from_before_the_typed_state_load_and_go_on() {
    let (index, mut state) = engine::snapshot::decode(UNTYPED_SNAPSHOT).expect("it decodes");
    assert_eq!(index, UNTYPED_SNAPSHOT_INDEX);
    assert!(
        engine::snapshot::encode(&state, index).unwrap() == UNTYPED_SNAPSHOT,
        "written again, the snapshot is byte for byte the same"
    );
    let one = |id: &str| {
        let found: Vec<_> = state
            .elements
            .values()
            .filter(|e| e.element_id == id)
            .collect();
        assert_eq!(found.len(), 1, "instances of {id}");
        found[0].clone()
    };
    let (parent, call, child, sub) = (one("parent"), one("call"), one("child"), one("sub"));
    assert_eq!(parent.element_type, ElementType::Process);
    assert_eq!(parent.flow_scope_key, None);
    assert_eq!(parent.parent_element_instance_key, None);
    assert_eq!(call.flow_scope_key, Some(parent.key));
    assert_eq!(call.called_instance, Some(child.key));
    assert_eq!(child.flow_scope_key, None);
    assert_eq!(child.parent_process_instance_key, Some(parent.key));
    assert_eq!(child.parent_element_instance_key, Some(call.key));
    assert_eq!(sub.element_type, ElementType::SubProcess);
    assert_eq!(sub.flow_scope_key, Some(child.key));
    let works: Vec<_> = state
        .elements
        .values()
        .filter(|e| e.element_id == "work")
        .collect();
    assert_eq!(works.len(), 3, "the body and its two instances");
    assert!(works.iter().all(|e| e.lifecycle == Lifecycle::Activated));
    assert_eq!(
        works
            .iter()
            .filter(|e| e.element_type == ElementType::MultiInstanceBody)
            .count(),
        1
    );

    let incident = state
        .incidents
        .values()
        .next()
        .expect("the job incident")
        .clone();
    let job_key = incident.job_key().expect("raised by a job");
    let mut run = |command: Command| engine::process(&mut state, &command, NOW);
    run(Command::UpdateJobRetries {
        job_key,
        retries: 1,
    })
    .response
    .unwrap();
    run(Command::ResolveIncident {
        incident_key: incident.key,
    })
    .response
    .unwrap();
    let Ok(Response::JobsActivated(jobs)) = run(activate(10)).response else {
        panic!("no jobs");
    };
    assert_eq!(jobs.len(), 2);
    let mut completed = Vec::new();
    for job in jobs {
        let out = run(Command::CompleteJob {
            job_key: job.key,
            variables: Map::new(),
        });
        completed.extend(out.completed.into_iter().map(|c| c.process_instance_key));
    }
    assert_eq!(completed, [child.key, parent.key]);
    assert!(state.elements.is_empty());
}

/// Typing the state changed neither what the engine does nor how it stores it: the same
/// work gives the same snapshot, byte for byte, as the untyped engine wrote.
#[test]
fn the_same_work_still_writes_the_same_snapshot() {
    let state = untyped_era_workload();
    assert!(engine::snapshot::encode(&state, UNTYPED_SNAPSHOT_INDEX).unwrap() == UNTYPED_SNAPSHOT);
}
