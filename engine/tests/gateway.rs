//! Over real TCP with the Zeebe gateway client: deploy, create, activate, complete; then
//! restart on the same data directory and find the state replayed. Also the event RPCs
//! (signals, modification, resource deletion), timers whose due dates survive a
//! restart, and timers fired by the runtime at their due date without explicit ticks.

use std::{sync::Arc, time::Duration};

use engine::{Engine, EngineConfig, ManualClock};
use tokio::sync::oneshot;
use zeebe::gateway::{self as pb, GatewayClient};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="ship"><bpmn:extensionElements><zeebe:taskDefinition type="ship"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ship"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct Running {
    client: GatewayClient<tonic::transport::Channel>,
    engine: Engine,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

async fn spawn(dir: &std::path::Path) -> Running {
    spawn_with(
        dir,
        EngineConfig {
            clock: Arc::new(ManualClock::new(1_700_000_000_000)),
            tick_interval: None,
            ..EngineConfig::new(dir)
        },
    )
    .await
}

async fn spawn_with(dir: &std::path::Path, config: EngineConfig) -> Running {
    let _ = dir;
    let engine = Engine::start(config).expect("engine starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn({
        let engine = engine.clone();
        async move {
            engine::gateway::serve(engine, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }
    });
    let client = GatewayClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .send_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    Running {
        client,
        engine,
        stop,
        server,
    }
}

async fn activate(client: &mut GatewayClient<tonic::transport::Channel>) -> Vec<pb::ActivatedJob> {
    let mut stream = client
        .activate_jobs(pb::ActivateJobsRequest {
            r#type: "ship".into(),
            worker: "test".into(),
            timeout: 60_000,
            max_jobs_to_activate: 5,
            request_timeout: -1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut jobs = Vec::new();
    while let Some(batch) = stream.message().await.unwrap() {
        jobs.extend(batch.jobs);
    }
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_create_work_complete_then_restart_replays_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = spawn(dir.path()).await;

    let topology = run
        .client
        .topology(pb::TopologyRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(topology.partitions_count, 1);

    let deployed = run
        .client
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "order.bpmn".into(),
                content: PROCESS.as_bytes().to_vec(),
            }],
            tenant_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deployed.tenant_id, "<default>");
    let Some(pb::deployment::Metadata::Process(meta)) = &deployed.deployments[0].metadata else {
        panic!("no process metadata");
    };
    assert_eq!((meta.bpmn_process_id.as_str(), meta.version), ("order", 1));

    let missing = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let mut records = run.engine.subscribe(1);
    let first = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            variables: r#"{"item":"book"}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let jobs = activate(&mut run.client).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].process_instance_key, first.process_instance_key);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&jobs[0].variables).unwrap(),
        serde_json::json!({"item": "book"})
    );
    run.client
        .complete_job(pb::CompleteJobRequest {
            job_key: jobs[0].key,
            variables: r#"{"shipped":true}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let again = run
        .client
        .complete_job(pb::CompleteJobRequest {
            job_key: jobs[0].key,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::NotFound);

    // The record stream has the whole history, gap-free, ending with the completion.
    let mut position = 0;
    loop {
        let record = records.recv().await.expect("record stream open");
        assert_eq!(record.position, position + 1);
        position = record.position;
        if record.key == first.process_instance_key
            && record.intent == zeebe::record::Intent::ELEMENT_COMPLETED
        {
            break;
        }
    }

    // A second instance stays waiting at its job across the restart.
    let second = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let _ = run.stop.send(());
    run.server.await.unwrap();
    drop(run.client);
    drop(run.engine);

    let mut run = spawn(dir.path()).await;
    let jobs = activate(&mut run.client).await;
    assert_eq!(jobs.len(), 1, "the waiting job survived the restart");
    assert_eq!(jobs[0].process_instance_key, second.process_instance_key);
    let third = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        third.process_instance_key > second.process_instance_key,
        "keys are not reused"
    );
    let cancelled = run
        .client
        .cancel_process_instance(pb::CancelProcessInstanceRequest {
            process_instance_key: first.process_instance_key,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        cancelled.code(),
        tonic::Code::NotFound,
        "the first one completed"
    );
    let _ = run.stop.send(());
    run.server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_activated_jobs_pushes_jobs_and_unsupported_rpcs_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = spawn(dir.path()).await;

    // The pre-8.0 deploy call still works.
    #[expect(
        deprecated,
        reason = "older clients still deploy through DeployProcess"
    )]
    let deployed = run
        .client
        .deploy_process(pb::DeployProcessRequest {
            processes: vec![pb::ProcessRequestObject {
                name: "order.bpmn".into(),
                definition: PROCESS.as_bytes().to_vec(),
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deployed.processes[0].bpmn_process_id, "order");

    // A stream opened before any job exists receives the job once it is created.
    let mut stream = run
        .client
        .stream_activated_jobs(pb::StreamActivatedJobsRequest {
            r#type: "ship".into(),
            worker: "streamer".into(),
            timeout: 60_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut created = Vec::new();
    for item in ["a", "b"] {
        created.push(
            run.client
                .create_process_instance(pb::CreateProcessInstanceRequest {
                    bpmn_process_id: "order".into(),
                    variables: format!(r#"{{"item":"{item}"}}"#),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .process_instance_key,
        );
    }
    let mut pushed = Vec::new();
    while pushed.len() < 2 {
        let job = stream.message().await.unwrap().expect("stream stays open");
        assert_eq!(job.worker, "streamer");
        run.client
            .complete_job(pb::CompleteJobRequest {
                job_key: job.key,
                ..Default::default()
            })
            .await
            .unwrap();
        pushed.push(job.process_instance_key);
    }
    pushed.sort_unstable();
    assert_eq!(pushed, created);
    // Nothing is left for a poller: the stream took both.
    assert!(activate(&mut run.client).await.is_empty());

    let bad = run
        .client
        .stream_activated_jobs(pb::StreamActivatedJobsRequest {
            r#type: String::new(),
            timeout: 1_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let unsupported = run
        .client
        .evaluate_decision(pb::EvaluateDecisionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(unsupported.code(), tonic::Code::Unimplemented);
    assert!(
        unsupported.message().contains("EvaluateDecision"),
        "{}",
        unsupported.message()
    );
    drop(stream);
    let _ = run.stop.send(());
    run.server.await.unwrap();
}

const EVENTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:signal id="go" name="go"/>
  <bpmn:process id="events" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait-go"><bpmn:signalEventDefinition signalRef="go"/></bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="ship"><bpmn:extensionElements><zeebe:taskDefinition type="ship"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:boundaryEvent id="deadline" attachedToRef="ship"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="late"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait-go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait-go" targetRef="ship"/>
    <bpmn:sequenceFlow id="f3" sourceRef="ship" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="deadline" targetRef="late"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// Waits (bounded) for an exported record matching `predicate`.
async fn wait_for(
    records: &mut tokio::sync::mpsc::Receiver<Arc<zeebe::record::Record>>,
    predicate: impl Fn(&zeebe::record::Record) -> bool,
) -> Arc<zeebe::record::Record> {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let record = records.recv().await.expect("record stream open");
            if predicate(&record) {
                return record;
            }
        }
    })
    .await
    .expect("the awaited record arrived")
}

fn completed(key: i64) -> impl Fn(&zeebe::record::Record) -> bool {
    move |r| r.key == key && r.intent == zeebe::record::Intent::ELEMENT_COMPLETED
}

async fn create_events(client: &mut GatewayClient<tonic::transport::Channel>) -> i64 {
    client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "events".into(),
            version: -1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .process_instance_key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_modification_deletion_and_timers_that_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let config = || EngineConfig {
        clock: Arc::new(clock.clone()),
        tick_interval: None,
        ..EngineConfig::new(dir.path())
    };
    let mut run = spawn_with(dir.path(), config()).await;
    let deployed = run
        .client
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "events.bpmn".into(),
                content: EVENTS.as_bytes().to_vec(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let Some(pb::deployment::Metadata::Process(meta)) = &deployed.deployments[0].metadata else {
        panic!("no process deployed");
    };
    let definition = meta.process_definition_key;
    let mut records = run.engine.subscribe(1);

    // A signal moves the first instance to the task; its deadline timer is scheduled.
    let first = create_events(&mut run.client).await;
    let broadcast = run
        .client
        .broadcast_signal(pb::BroadcastSignalRequest {
            signal_name: "go".into(),
            variables: r#"{"via":"grpc"}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(broadcast.key > 0);
    wait_for(&mut records, |r| {
        r.value_type.as_str() == "TIMER" && r.intent.as_str() == "CREATED"
    })
    .await;
    let empty_name = run
        .client
        .broadcast_signal(pb::BroadcastSignalRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty_name.code(), tonic::Code::InvalidArgument);

    // Modification: the second instance skips its signal wait and goes to the task.
    let second = create_events(&mut run.client).await;
    let catch = wait_for(&mut records, |r| {
        matches!(&r.value, zeebe::record::RecordValue::ProcessInstance(v)
            if v.process_instance_key == second && v.element_id == "wait-go"
            && r.intent == zeebe::record::Intent::ELEMENT_ACTIVATED)
    })
    .await
    .key;
    run.client
        .modify_process_instance(pb::ModifyProcessInstanceRequest {
            process_instance_key: second,
            activate_instructions: vec![pb::modify_process_instance_request::ActivateInstruction {
                element_id: "ship".into(),
                ancestor_element_instance_key: -1,
                variable_instructions: vec![
                    pb::modify_process_instance_request::VariableInstruction {
                        variables: r#"{"manual":true}"#.into(),
                        scope_id: String::new(),
                    },
                ],
            }],
            terminate_instructions: vec![
                pb::modify_process_instance_request::TerminateInstruction {
                    element_instance_key: catch,
                },
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    let bad = run
        .client
        .modify_process_instance(pb::ModifyProcessInstanceRequest {
            process_instance_key: second,
            activate_instructions: vec![pb::modify_process_instance_request::ActivateInstruction {
                element_id: "no-such-element".into(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    let jobs = activate(&mut run.client).await;
    assert_eq!(jobs.len(), 2);

    // The definition cannot be deleted while its instances run.
    let refused = run
        .client
        .delete_resource(pb::DeleteResourceRequest {
            resource_key: definition,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);

    // Restart: the timers' due dates come back from the log.
    let _ = run.stop.send(());
    run.server.await.unwrap();
    drop(records);
    drop(run.client);
    drop(run.engine);
    let run = spawn_with(dir.path(), config()).await;
    let mut records = run.engine.subscribe(1);
    clock.advance(60 * 60 * 1000);
    run.engine.tick().await.unwrap();
    wait_for(&mut records, completed(first)).await;
    wait_for(&mut records, completed(second)).await;
    // Now it can be deleted, and no instance can be created of it any more.
    let mut client = run.client.clone();
    client
        .delete_resource(pb::DeleteResourceRequest {
            resource_key: definition,
            ..Default::default()
        })
        .await
        .unwrap();
    let gone = client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            process_definition_key: definition,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound);
    let _ = run.stop.send(());
    run.server.await.unwrap();
}

/// With the system clock, the runtime fires a timer at its due date by itself: the
/// safety-net interval is an hour, so only the due-date wake-up can complete the
/// instance in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_wakes_up_for_the_next_due_timer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineConfig {
        tick_interval: Some(Duration::from_secs(3600)),
        ..EngineConfig::new(dir.path())
    })
    .unwrap();
    let xml = EVENTS
        .replace("<bpmn:signalEventDefinition signalRef=\"go\"/>", "<bpmn:timerEventDefinition><bpmn:timeDuration>PT0.3S</bpmn:timeDuration></bpmn:timerEventDefinition>");
    engine
        .execute(engine::Command::Deploy {
            tenant_id: zeebe::record::TenantId::default(),
            resources: vec![engine::processor::Resource {
                name: "timer.bpmn".into(),
                content: xml.into_bytes(),
            }],
        })
        .await
        .unwrap();
    let mut records = engine.subscribe(1);
    let engine::Response::InstanceCreated {
        process_instance_key,
        ..
    } = engine
        .execute(engine::Command::CreateInstance {
            process: engine::processor::ProcessSelector::Id {
                bpmn_process_id: "events".into(),
                version: None,
            },
            tenant_id: zeebe::record::TenantId::default(),
            variables: serde_json::Map::new(),
        })
        .await
        .unwrap()
    else {
        panic!("not created");
    };
    wait_for(&mut records, |r| {
        matches!(&r.value, zeebe::record::RecordValue::ProcessInstance(v)
            if v.process_instance_key == process_instance_key && v.element_id == "ship"
            && r.intent == zeebe::record::Intent::ELEMENT_ACTIVATED)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_the_operation_reference_of_the_request_that_caused_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = spawn(dir.path()).await;
    run.client
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "order.bpmn".into(),
                content: PROCESS.as_bytes().to_vec(),
            }],
            tenant_id: String::new(),
        })
        .await
        .unwrap();
    let mut records = run.engine.subscribe(1);
    let created = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            version: -1,
            operation_reference: Some(4711),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let activated = wait_for(&mut records, |r| {
        r.key == created.process_instance_key
            && r.intent == zeebe::record::Intent::ELEMENT_ACTIVATED
    })
    .await;
    assert_eq!(activated.operation_reference, 4711);
    let job = wait_for(&mut records, |r| {
        r.value_type == zeebe::record::ValueType::Job && r.intent == zeebe::record::Intent::CREATED
    })
    .await;
    assert_eq!(
        job.operation_reference, 4711,
        "follow-up events carry it too"
    );

    run.client
        .cancel_process_instance(pb::CancelProcessInstanceRequest {
            process_instance_key: created.process_instance_key,
            operation_reference: Some(99),
        })
        .await
        .unwrap();
    let terminated = wait_for(&mut records, |r| {
        r.key == created.process_instance_key
            && r.intent == zeebe::record::Intent::ELEMENT_TERMINATED
    })
    .await;
    assert_eq!(terminated.operation_reference, 99);

    // Without one, records say -1, as Zeebe's do.
    let plain = run
        .client
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            version: -1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let activated = wait_for(&mut records, |r| {
        r.key == plain.process_instance_key && r.intent == zeebe::record::Intent::ELEMENT_ACTIVATED
    })
    .await;
    assert_eq!(activated.operation_reference, -1);
    let _ = run.stop.send(());
    let _ = run.server.await;
}
