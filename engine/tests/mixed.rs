//! One model mixing every element kind (embedded and event sub-processes, inclusive and
//! event-based gateways, timer, message, signal, error and escalation events, a call
//! activity, a multi-instance task) runs to completion with scripted workers:
//!
//! * in the processor directly, checking after every step that a replay of the records
//!   rebuilds the live state;
//! * in a running engine that is restarted twice along the way (once from a snapshot,
//!   once from the log alone), whose whole record stream must equal the processor's and
//!   replay to the same state.

mod support;

use std::{path::Path, sync::Arc};

use engine::processor::{Command, ProcessSelector, Resource, Response};
use engine::{Engine, EngineConfig, ManualClock, Rejection, State};
use serde_json::{Value, json};
use support::{Harness, NOW, obj};
use zeebe::record::{Record, TenantId};

const PARENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="incident-defs" targetNamespace="t">
  <bpmn:message id="Confirmed" name="confirmed"><bpmn:extensionElements><zeebe:subscription correlationKey="=incidentId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:message id="CancelIncident" name="cancel-incident"><bpmn:extensionElements><zeebe:subscription correlationKey="=incidentId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:signal id="Status" name="status-request"/>
  <bpmn:signal id="Closed" name="incident-closed"/>
  <bpmn:error id="TriageFailed" errorCode="triage-failed"/>
  <bpmn:escalation id="Approval" escalationCode="approval"/>
  <bpmn:process id="incident" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="triage">
      <bpmn:startEvent id="t-start"/>
      <bpmn:serviceTask id="classify"><bpmn:extensionElements><zeebe:taskDefinition type="classify"/></bpmn:extensionElements></bpmn:serviceTask>
      <bpmn:inclusiveGateway id="fan-out" default="f-log"/>
      <bpmn:serviceTask id="page"><bpmn:extensionElements><zeebe:taskDefinition type="page"/></bpmn:extensionElements></bpmn:serviceTask>
      <bpmn:serviceTask id="notify"><bpmn:extensionElements><zeebe:taskDefinition type="notify"/></bpmn:extensionElements></bpmn:serviceTask>
      <bpmn:task id="log"/>
      <bpmn:inclusiveGateway id="fan-in"/>
      <bpmn:endEvent id="t-end"/>
      <bpmn:sequenceFlow id="t1" sourceRef="t-start" targetRef="classify"/>
      <bpmn:sequenceFlow id="t2" sourceRef="classify" targetRef="fan-out"/>
      <bpmn:sequenceFlow id="f-page" sourceRef="fan-out" targetRef="page"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=severity &gt;= 3</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="f-notify" sourceRef="fan-out" targetRef="notify"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=notify</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="f-log" sourceRef="fan-out" targetRef="log"/>
      <bpmn:sequenceFlow id="t3" sourceRef="page" targetRef="fan-in"/>
      <bpmn:sequenceFlow id="t4" sourceRef="notify" targetRef="fan-in"/>
      <bpmn:sequenceFlow id="t5" sourceRef="log" targetRef="fan-in"/>
      <bpmn:sequenceFlow id="t6" sourceRef="fan-in" targetRef="t-end"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="triage-reminder" attachedToRef="triage" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeCycle>R2/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:serviceTask id="remind"><bpmn:extensionElements><zeebe:taskDefinition type="remind"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="reminded"/>
    <bpmn:boundaryEvent id="triage-failed" attachedToRef="triage"><bpmn:errorEventDefinition errorRef="TriageFailed"/></bpmn:boundaryEvent>
    <bpmn:endEvent id="failed"/>
    <bpmn:callActivity id="remediate"><bpmn:extensionElements><zeebe:calledElement processId="remediation"/></bpmn:extensionElements></bpmn:callActivity>
    <bpmn:boundaryEvent id="remediation-timeout" attachedToRef="remediate"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:endEvent id="gave-up"/>
    <bpmn:boundaryEvent id="needs-approval" attachedToRef="remediate" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="Approval"/></bpmn:boundaryEvent>
    <bpmn:serviceTask id="approve"><bpmn:extensionElements><zeebe:taskDefinition type="approve"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="approved"/>
    <bpmn:serviceTask id="tell-stakeholders"><bpmn:extensionElements><zeebe:taskDefinition type="tell"/></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=stakeholders" inputElement="stakeholder" outputCollection="acks" outputElement="=ack"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:eventBasedGateway id="await-confirmation"/>
    <bpmn:intermediateCatchEvent id="confirmed"><bpmn:messageEventDefinition messageRef="Confirmed"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="confirmation-timeout"><bpmn:timerEventDefinition><bpmn:timeDuration>PT30M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="merge"/>
    <bpmn:endEvent id="closed"><bpmn:signalEventDefinition signalRef="Closed"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="p1" sourceRef="start" targetRef="triage"/>
    <bpmn:sequenceFlow id="p2" sourceRef="triage" targetRef="remediate"/>
    <bpmn:sequenceFlow id="p3" sourceRef="remediate" targetRef="tell-stakeholders"/>
    <bpmn:sequenceFlow id="p4" sourceRef="tell-stakeholders" targetRef="await-confirmation"/>
    <bpmn:sequenceFlow id="p5" sourceRef="await-confirmation" targetRef="confirmed"/>
    <bpmn:sequenceFlow id="p6" sourceRef="await-confirmation" targetRef="confirmation-timeout"/>
    <bpmn:sequenceFlow id="p7" sourceRef="confirmed" targetRef="merge"/>
    <bpmn:sequenceFlow id="p8" sourceRef="confirmation-timeout" targetRef="merge"/>
    <bpmn:sequenceFlow id="p9" sourceRef="merge" targetRef="closed"/>
    <bpmn:sequenceFlow id="b1" sourceRef="triage-reminder" targetRef="remind"/>
    <bpmn:sequenceFlow id="b2" sourceRef="remind" targetRef="reminded"/>
    <bpmn:sequenceFlow id="b3" sourceRef="triage-failed" targetRef="failed"/>
    <bpmn:sequenceFlow id="b4" sourceRef="remediation-timeout" targetRef="gave-up"/>
    <bpmn:sequenceFlow id="b5" sourceRef="needs-approval" targetRef="approve"/>
    <bpmn:sequenceFlow id="b6" sourceRef="approve" targetRef="approved"/>
    <bpmn:subProcess id="status" triggeredByEvent="true">
      <bpmn:startEvent id="status-start" isInterrupting="false"><bpmn:signalEventDefinition signalRef="Status"/></bpmn:startEvent>
      <bpmn:serviceTask id="report-status"><bpmn:extensionElements><zeebe:taskDefinition type="report"/></bpmn:extensionElements></bpmn:serviceTask>
      <bpmn:endEvent id="status-end"/>
      <bpmn:sequenceFlow id="s1" sourceRef="status-start" targetRef="report-status"/>
      <bpmn:sequenceFlow id="s2" sourceRef="report-status" targetRef="status-end"/>
    </bpmn:subProcess>
    <bpmn:subProcess id="cancellation" triggeredByEvent="true">
      <bpmn:startEvent id="cancel-start"><bpmn:messageEventDefinition messageRef="CancelIncident"/></bpmn:startEvent>
      <bpmn:endEvent id="cancelled"/>
      <bpmn:sequenceFlow id="c1" sourceRef="cancel-start" targetRef="cancelled"/>
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>"#;

const CHILD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="remediation-defs" targetNamespace="t">
  <bpmn:escalation id="Approval" escalationCode="approval"/>
  <bpmn:process id="remediation" isExecutable="true">
    <bpmn:startEvent id="r-start"/>
    <bpmn:serviceTask id="fix"><bpmn:extensionElements><zeebe:taskDefinition type="fix"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:intermediateThrowEvent id="ask-approval"><bpmn:escalationEventDefinition escalationRef="Approval"/></bpmn:intermediateThrowEvent>
    <bpmn:serviceTask id="verify"><bpmn:extensionElements><zeebe:taskDefinition type="verify"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="r-end"/>
    <bpmn:sequenceFlow id="r1" sourceRef="r-start" targetRef="fix"/>
    <bpmn:sequenceFlow id="r2" sourceRef="fix" targetRef="ask-approval"/>
    <bpmn:sequenceFlow id="r3" sourceRef="ask-approval" targetRef="verify"/>
    <bpmn:sequenceFlow id="r4" sourceRef="verify" targetRef="r-end"/>
  </bpmn:process>
</bpmn:definitions>"#;

const MINUTE: i64 = 60_000;

/// Something that runs commands at a time it is told: the bare processor, or an engine.
trait Executor {
    fn run(&mut self, command: &Command) -> Result<Response, Rejection>;
    fn set_now(&mut self, now: i64);
    /// Called between phases; the engine restarts here.
    fn checkpoint(&mut self, _phase: usize) {}
}

impl Executor for Harness {
    fn run(&mut self, command: &Command) -> Result<Response, Rejection> {
        let out = Harness::run(self, command);
        self.assert_replays();
        out
    }

    fn set_now(&mut self, now: i64) {
        self.now = now;
    }
}

/// Activates and completes the jobs of `job_type` with `vars`; returns how many.
fn work(exec: &mut (impl Executor + ?Sized), job_type: &str, vars: &Value) -> usize {
    let Ok(Response::JobsActivated(jobs)) = exec.run(&Command::ActivateJobs {
        job_type: job_type.into(),
        worker: "script".into(),
        timeout: 10 * MINUTE,
        max_jobs: 10,
        fetch_variables: vec![],
        tenant_ids: vec![],
    }) else {
        panic!("activation of {job_type} failed");
    };
    for job in &jobs {
        exec.run(&Command::CompleteJob {
            job_key: job.key,
            variables: obj(vars.clone()),
        })
        .expect("complete");
    }
    jobs.len()
}

/// The scripted run; returns the process instance key.
fn script(exec: &mut impl Executor) -> i64 {
    let mut now = NOW;
    exec.set_now(now);
    for (name, xml) in [("remediation.bpmn", CHILD), ("incident.bpmn", PARENT)] {
        let deployed = exec.run(&Command::Deploy {
            tenant_id: TenantId::default(),
            resources: vec![Resource {
                name: name.into(),
                content: xml.as_bytes().to_vec(),
            }],
        });
        assert!(
            matches!(deployed, Ok(Response::Deployed { .. })),
            "{deployed:?}"
        );
    }
    let Ok(Response::InstanceCreated {
        process_instance_key,
        ..
    }) = exec.run(&Command::CreateInstance {
        process: ProcessSelector::Id {
            bpmn_process_id: "incident".into(),
            version: None,
        },
        tenant_id: TenantId::default(),
        variables: obj(json!({
            "incidentId": "inc-1",
            "severity": 4,
            "notify": true,
            "stakeholders": ["ops", "legal", "comms"],
        })),
    })
    else {
        panic!("instance not created");
    };
    let mut tick = |exec: &mut dyn Executor, by: i64| {
        now += by;
        exec.set_now(now);
        exec.run(&Command::Tick).expect("tick");
    };

    assert_eq!(work(exec, "classify", &json!({})), 1);
    // Triage takes a while: the reminder boundary fires twice beside it.
    tick(exec, 10 * MINUTE);
    tick(exec, 10 * MINUTE);
    assert_eq!(work(exec, "remind", &json!({})), 2);
    exec.checkpoint(1);
    assert_eq!(work(exec, "page", &json!({"paged": "alice"})), 1);
    // A status request is answered by the non-interrupting event sub-process.
    exec.run(&Command::BroadcastSignal {
        name: "status-request".into(),
        variables: obj(json!({"requestedBy": "cto"})),
        tenant_id: TenantId::default(),
    })
    .expect("signal");
    assert_eq!(work(exec, "report", &json!({"reported": true})), 1);
    assert_eq!(work(exec, "notify", &json!({})), 1);
    // Remediation in the called process escalates for approval without stopping.
    assert_eq!(work(exec, "fix", &json!({"fixed": true})), 1);
    exec.checkpoint(2);
    assert_eq!(work(exec, "approve", &json!({"approvedBy": "bob"})), 1);
    assert_eq!(work(exec, "verify", &json!({"verified": true})), 1);
    assert_eq!(work(exec, "tell", &json!({"ack": true})), 3);
    // The confirmation message wins the race against its timeout.
    tick(exec, 5 * MINUTE);
    exec.run(&Command::PublishMessage {
        name: "confirmed".into(),
        correlation_key: "inc-1".into(),
        time_to_live: 0,
        message_id: String::new(),
        variables: obj(json!({"confirmedBy": "ops"})),
        tenant_id: TenantId::default(),
    })
    .expect("publish");
    tick(exec, 60 * MINUTE);
    process_instance_key
}

#[test]
fn the_mixed_model_runs_to_completion_and_every_step_replays() {
    let mut h = Harness::new();
    let pi = script(&mut h);
    assert!(h.instance_completed(pi), "the instance completed");
    assert!(h.state.elements.is_empty(), "nothing is left running");
    assert!(h.state.timers.is_empty() && h.state.message_subscriptions.is_empty());
    for (element, times) in [
        ("classify", 1),
        ("page", 1),
        ("notify", 1),
        ("log", 0),
        ("fan-in", 1),
        ("remind", 2),
        ("report-status", 1),
        ("fix", 1),
        ("approve", 1),
        ("verify", 1),
        ("tell-stakeholders", 4),
        ("confirmed", 1),
        ("confirmation-timeout", 0),
        ("closed", 1),
        ("failed", 0),
        ("gave-up", 0),
        ("cancelled", 0),
    ] {
        assert_eq!(h.completions(element), times, "completions of {element}");
    }
    for (name, value) in [
        ("paged", json!("alice")),
        ("reported", json!(true)),
        ("fixed", json!(true)),
        ("verified", json!(true)),
        ("approvedBy", json!("bob")),
        ("acks", json!([true, true, true])),
        ("confirmedBy", json!("ops")),
    ] {
        assert_eq!(h.last_variable(pi, name), Some(value), "variable {name}");
    }
    assert_eq!(h.records("ESCALATION", "ESCALATED").len(), 1);
    assert_eq!(h.records("SIGNAL", "BROADCASTED").len(), 2);
}

/// Runs commands in an engine on a data directory, restarting it at checkpoints.
struct Restarting<'a> {
    dir: &'a Path,
    clock: ManualClock,
    runtime: Option<tokio::runtime::Runtime>,
    engine: Option<Engine>,
    restarts: Vec<engine::Recovery>,
}

impl<'a> Restarting<'a> {
    fn new(dir: &'a Path) -> Self {
        let mut this = Self {
            dir,
            clock: ManualClock::new(NOW),
            runtime: None,
            engine: None,
            restarts: Vec::new(),
        };
        this.start(4);
        this
    }

    fn start(&mut self, snapshot_every: u64) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let config = EngineConfig {
            clock: Arc::new(self.clock.clone()),
            tick_interval: None,
            snapshot_every,
            ..EngineConfig::new(self.dir)
        };
        let engine = runtime
            .block_on(async { Engine::start(config) })
            .expect("engine starts");
        self.restarts.push(engine.recovery());
        self.engine = Some(engine);
        self.runtime = Some(runtime);
    }

    fn stop(&mut self) {
        self.engine = None;
        // Dropping the runtime waits for the engine's tasks (and its last snapshot).
        self.runtime = None;
    }

    fn records(&self) -> Vec<Record> {
        let engine = self.engine.as_ref().unwrap();
        let last = engine.committed_position();
        self.runtime.as_ref().unwrap().block_on(async {
            let mut stream = engine.subscribe(1);
            let mut out = Vec::new();
            while let Some(record) = stream.recv().await {
                let done = record.position >= last;
                out.push((*record).clone());
                if done {
                    break;
                }
            }
            out
        })
    }
}

impl Executor for Restarting<'_> {
    fn run(&mut self, command: &Command) -> Result<Response, Rejection> {
        let engine = self.engine.clone().unwrap();
        let command = command.clone();
        self.runtime
            .as_ref()
            .unwrap()
            .block_on(async move { engine.execute(command).await })
            .map_err(|e| match e {
                engine::EngineError::Rejected(r) => r,
                other => panic!("engine failed: {other}"),
            })
    }

    fn set_now(&mut self, now: i64) {
        self.clock.set(now);
    }

    fn checkpoint(&mut self, phase: usize) {
        self.stop();
        // First from the newest snapshot, then (snapshots off) from the log alone.
        self.start(if phase == 1 { 4 } else { 0 });
    }
}

#[test]
fn the_mixed_model_survives_restarts_and_its_record_stream_replays_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Restarting::new(dir.path());
    let pi = script(&mut engine);
    let records = engine.records();
    assert!(
        engine.restarts[1].snapshot_index.is_some(),
        "the first restart used a snapshot: {:?}",
        engine.restarts
    );
    assert_eq!(engine.restarts[2].snapshot_index, None);
    engine.stop();

    let mut h = Harness::new();
    assert_eq!(script(&mut h), pi);
    let json = |r: &[Record]| serde_json::to_value(r).unwrap();
    assert!(
        json(&records) == json(&h.log),
        "the engine wrote exactly the records the processor wrote ({} vs {})",
        records.len(),
        h.log.len()
    );
    let mut replayed = State::new(1);
    for record in &records {
        replayed.apply(record).unwrap();
    }
    let encode = |s: &State| engine::snapshot::encode(s, 0).unwrap();
    assert!(encode(&replayed) == encode(&h.state));
    assert!(h.instance_completed(pi));
}
