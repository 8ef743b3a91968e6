//! The scenario harness: drives the processor directly, with time as a plain number
//! that tests move forward (the engine's controllable clock at processor level), and
//! checks that replaying the records rebuilds the same state.

#![allow(dead_code)]

use engine::processor::{ActivatedJob, Command, ProcessSelector, Resource, Response};
use engine::state::State;
use serde_json::{Map, Value};
use zeebe::record::{Intent, Record, RecordType, RecordValue, TenantId};

/// 2023-11-14T22:13:20Z.
pub const NOW: i64 = 1_700_000_000_000;

pub struct Harness {
    pub state: State,
    pub now: i64,
    pub log: Vec<Record>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Self {
            state: State::new(1),
            now: NOW,
            log: Vec::new(),
        }
    }

    pub fn run(&mut self, command: &Command) -> Result<Response, engine::Rejection> {
        let out = engine::process(&mut self.state, command, self.now);
        self.log.extend(out.records);
        out.response
    }

    pub fn deploy_as(&mut self, name: &str, xml: &str) -> Result<Response, engine::Rejection> {
        self.run(&Command::Deploy {
            tenant_id: TenantId::default(),
            resources: vec![Resource {
                name: name.into(),
                content: xml.as_bytes().to_vec(),
            }],
        })
    }

    /// Deploys and returns the key of the first process definition.
    pub fn deploy(&mut self, xml: &str) -> i64 {
        match self.deploy_as("p.bpmn", xml) {
            Ok(Response::Deployed { processes, .. }) => processes[0].process_definition_key,
            other => panic!("deploy failed: {other:?}"),
        }
    }

    pub fn try_create(&mut self, id: &str, vars: Value) -> Result<Response, engine::Rejection> {
        self.run(&Command::CreateInstance {
            process: ProcessSelector::Id {
                bpmn_process_id: id.into(),
                version: None,
            },
            tenant_id: TenantId::default(),
            variables: obj(vars),
        })
    }

    pub fn create(&mut self, id: &str, vars: Value) -> i64 {
        match self.try_create(id, vars) {
            Ok(Response::InstanceCreated {
                process_instance_key,
                ..
            }) => process_instance_key,
            other => panic!("create failed: {other:?}"),
        }
    }

    pub fn activate(&mut self, job_type: &str) -> Vec<ActivatedJob> {
        match self.run(&Command::ActivateJobs {
            job_type: job_type.into(),
            worker: "w".into(),
            timeout: 10_000,
            max_jobs: 100,
            fetch_variables: vec![],
            tenant_ids: vec![],
        }) {
            Ok(Response::JobsActivated(jobs)) => jobs,
            other => panic!("activate failed: {other:?}"),
        }
    }

    pub fn complete(&mut self, job_key: i64, vars: Value) {
        self.run(&Command::CompleteJob {
            job_key,
            variables: obj(vars),
        })
        .expect("complete");
    }

    /// Activates and completes every job of `job_type`; returns how many.
    pub fn work(&mut self, job_type: &str, vars: Value) -> usize {
        let variables = obj(vars);
        let jobs = self.activate(job_type);
        for job in &jobs {
            self.run(&Command::CompleteJob {
                job_key: job.key,
                variables: variables.clone(),
            })
            .expect("complete");
        }
        jobs.len()
    }

    /// Moves the clock forward and ticks.
    pub fn advance(&mut self, millis: i64) {
        self.now += millis;
        self.run(&Command::Tick).expect("tick");
    }

    pub fn publish(&mut self, name: &str, key: &str, ttl: i64, vars: Value) -> Response {
        self.publish_with_id(name, key, ttl, "", vars)
            .expect("publish")
    }

    pub fn publish_with_id(
        &mut self,
        name: &str,
        key: &str,
        ttl: i64,
        id: &str,
        vars: Value,
    ) -> Result<Response, engine::Rejection> {
        self.run(&Command::PublishMessage {
            name: name.into(),
            correlation_key: key.into(),
            time_to_live: ttl,
            message_id: id.into(),
            variables: obj(vars),
            tenant_id: TenantId::default(),
        })
    }

    pub fn signal(&mut self, name: &str, vars: Value) {
        self.run(&Command::BroadcastSignal {
            name: name.into(),
            variables: obj(vars),
            tenant_id: TenantId::default(),
        })
        .expect("signal");
    }

    /// Lifecycle intents written for `element_id`, in order.
    pub fn element_intents(&self, element_id: &str) -> Vec<String> {
        self.log
            .iter()
            .filter(|r| r.record_type == RecordType::Event)
            .filter_map(|r| match &r.value {
                RecordValue::ProcessInstance(v) if v.element_id == element_id => {
                    Some(r.intent.as_str().to_owned())
                }
                _ => None,
            })
            .collect()
    }

    /// How often `element_id` completed.
    pub fn completions(&self, element_id: &str) -> usize {
        self.element_intents(element_id)
            .iter()
            .filter(|i| *i == "ELEMENT_COMPLETED")
            .count()
    }

    /// How often `element_id` was terminated.
    pub fn terminations(&self, element_id: &str) -> usize {
        self.element_intents(element_id)
            .iter()
            .filter(|i| *i == "ELEMENT_TERMINATED")
            .count()
    }

    pub fn instance_completed(&self, key: i64) -> bool {
        self.log
            .iter()
            .any(|r| r.key == key && r.intent == Intent::ELEMENT_COMPLETED)
    }

    pub fn instance_terminated(&self, key: i64) -> bool {
        self.log
            .iter()
            .any(|r| r.key == key && r.intent == Intent::ELEMENT_TERMINATED)
    }

    /// Records of a value type (as Zeebe names it) and intent.
    pub fn records(&self, value_type: &str, intent: &str) -> Vec<&Record> {
        self.log
            .iter()
            .filter(|r| r.value_type.as_str() == value_type && r.intent.as_str() == intent)
            .collect()
    }

    /// The active instance of `element_id` (the only one).
    pub fn active(&self, element_id: &str) -> i64 {
        let keys: Vec<i64> = self
            .state
            .elements
            .values()
            .filter(|e| e.element_id == element_id)
            .map(|e| e.key)
            .collect();
        assert_eq!(keys.len(), 1, "instances of {element_id}: {keys:?}");
        keys[0]
    }

    /// How many instances of `element_id` are active.
    pub fn active_count(&self, element_id: &str) -> usize {
        self.state
            .elements
            .values()
            .filter(|e| e.element_id == element_id)
            .count()
    }

    /// A root variable of a process instance (or of any scope).
    pub fn variable(&self, scope: i64, name: &str) -> Option<Value> {
        self.state.visible_variables(scope).get(name).cloned()
    }

    /// The last value written for `name` on `scope` (also after the scope ended).
    pub fn last_variable(&self, scope: i64, name: &str) -> Option<Value> {
        self.log.iter().rev().find_map(|r| match &r.value {
            RecordValue::Variable(v) if v.scope_key == scope && v.name == name => {
                serde_json::from_str(&v.value).ok()
            }
            _ => None,
        })
    }

    pub fn open_incidents(&self) -> Vec<engine::state::Incident> {
        self.state.incidents.values().cloned().collect()
    }

    /// Replays the log into a fresh state and checks it equals the live one (compared
    /// through the snapshot encoding, which covers every entity).
    pub fn assert_replays(&self) {
        let mut replayed = State::new(1);
        for r in &self.log {
            replayed.apply(r).expect("replay");
        }
        let encode = |s: &State| engine::snapshot::encode(s, 0).unwrap();
        assert!(
            encode(&replayed) == encode(&self.state),
            "replayed state differs from the live state"
        );
        assert_eq!(replayed.next_due(), self.state.next_due());
        let (_, decoded) = engine::snapshot::decode(&encode(&self.state)).unwrap();
        assert!(
            encode(&decoded) == encode(&self.state),
            "snapshot round trip"
        );
        assert_eq!(decoded.next_due(), self.state.next_due());
        for (i, r) in self.log.iter().enumerate() {
            assert_eq!(
                r.position,
                i64::try_from(i).unwrap() + 1,
                "gap-free positions"
            );
        }
    }
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A BPMN document with one executable process `p` (and shared messages, errors,
/// signals and escalations), `body` being its content.
pub fn bpmn(body: &str) -> String {
    process("p", body)
}

/// A BPMN document with the executable process `id`.
pub fn process(id: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="t">
  <bpmn:error id="Err" errorCode="boom"/>
  <bpmn:error id="AnyErr"/>
  <bpmn:escalation id="Esc" escalationCode="late"/>
  <bpmn:signal id="Sig" name="alarm"/>
  <bpmn:message id="Msg" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:message id="Cancel" name="cancel"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
  <bpmn:message id="Start" name="order-placed"/>
  <bpmn:process id="{id}" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"#
    )
}

/// A service task with job type `job_type`.
pub fn task(id: &str, job_type: &str) -> String {
    format!(
        r#"<bpmn:serviceTask id="{id}"><bpmn:extensionElements><zeebe:taskDefinition type="{job_type}"/></bpmn:extensionElements></bpmn:serviceTask>"#
    )
}

/// A sequence flow `id` from `from` to `to`.
pub fn flow(id: &str, from: &str, to: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{from}" targetRef="{to}"/>"#)
}

/// Flows along a chain of node ids (`f-a-b` for each pair).
pub fn chain(nodes: &[&str]) -> String {
    nodes
        .windows(2)
        .map(|w| flow(&format!("f-{}-{}", w[0], w[1]), w[0], w[1]))
        .collect()
}
