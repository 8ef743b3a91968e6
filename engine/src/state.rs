//! The engine's state as plain data, changed only by [`State::apply`].
//!
//! Every change comes from an event record, live or replayed from the log, through the
//! same `apply`, so a restarted engine that replays its log ends up with exactly the
//! state it had. Nothing here does I/O or reads a clock.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeebe::record::{Intent, Record, RecordType, RecordValue, TenantId, ValueType};

use crate::key::KeyGenerator;

/// A deployed process definition.
#[derive(Debug)]
pub struct DeployedProcess {
    /// Process definition key.
    pub key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Version per (tenant, BPMN id), from 1.
    pub version: i32,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// File the process came from.
    pub resource_name: String,
    /// MD5 of the resource, base64 (as Zeebe reports it).
    pub checksum: String,
    /// The BPMN XML.
    pub xml: String,
    /// The parsed document.
    pub definitions: bpmn::Definitions,
}

impl DeployedProcess {
    /// The executable process this definition stands for.
    #[must_use]
    pub fn process(&self) -> Option<&bpmn::Process> {
        self.definitions.process(&self.bpmn_process_id)
    }
}

/// Where an element instance is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    /// Activating: input mappings and behaviour start run here.
    Activating,
    /// Active and waiting (e.g. for its job) or about to complete.
    Activated,
    /// Completing: output mappings and outgoing-flow selection run here.
    Completing,
    /// Being terminated.
    Terminating,
}

/// One element instance (the process itself, a task, a gateway, an event…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElementInstance {
    /// Element instance key.
    pub key: i64,
    /// BPMN id of the element.
    pub element_id: String,
    /// Zeebe's element type name, e.g. `SERVICE_TASK`.
    pub element_type: String,
    /// Zeebe's event type name, e.g. `NONE`, `UNSPECIFIED`.
    pub event_type: String,
    /// Lifecycle state.
    pub lifecycle: Lifecycle,
    /// Enclosing element instance, -1 for the process.
    pub flow_scope_key: i64,
    /// The process instance.
    pub process_instance_key: i64,
    /// The process definition.
    pub process_definition_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Version of the process definition.
    pub version: i32,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Active child element instances (for scopes).
    pub children: BTreeSet<i64>,
    /// Sequence flows taken into parallel joins of this scope and not yet consumed.
    pub join_tokens: BTreeMap<String, u32>,
    /// The element's job, while it waits for one.
    pub job_key: Option<i64>,
}

/// What a job is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Waiting for a worker.
    Activatable,
    /// Held by a worker until `deadline`.
    Activated,
    /// Failed with retries left; activatable again at `recurring_time`.
    BackingOff,
    /// Failed without retries, or an unhandled error was thrown: an incident is open.
    Failed,
    /// An error was thrown and caught.
    ErrorThrown,
}

/// A job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// Job key.
    pub key: i64,
    /// State.
    pub state: JobState,
    /// The job as it is exported (type, retries, headers, deadline, …).
    pub value: zeebe::record::JobValue,
}

/// An open incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incident {
    /// Incident key.
    pub key: i64,
    /// The incident as exported.
    pub value: zeebe::record::IncidentValue,
}

/// A buffered message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BufferedMessage {
    /// Message key.
    pub key: i64,
    /// The message as exported.
    pub value: zeebe::record::MessageValue,
    /// When the message expires, epoch ms.
    pub deadline: i64,
}

/// One variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Variable key.
    pub key: i64,
    /// Its value.
    pub value: Value,
}

/// The whole state of one partition.
#[derive(Debug)]
pub struct State {
    /// This partition.
    pub partition_id: i32,
    /// Position of the last record applied.
    pub last_position: i64,
    /// Key generator, advanced by every applied key.
    pub keys: KeyGenerator,
    /// Deployed processes by definition key.
    pub processes: BTreeMap<i64, Arc<DeployedProcess>>,
    /// Definition keys per (tenant, BPMN id), oldest version first.
    pub versions: HashMap<(TenantId, String), Vec<i64>>,
    /// Element instances by key.
    pub elements: HashMap<i64, ElementInstance>,
    /// Jobs by key (ordered, so activation is first-come first-served).
    pub jobs: BTreeMap<i64, Job>,
    /// Variables by scope key and name.
    pub variables: HashMap<i64, BTreeMap<String, Variable>>,
    /// Open incidents by key.
    pub incidents: BTreeMap<i64, Incident>,
    /// Buffered messages by key.
    pub messages: BTreeMap<i64, BufferedMessage>,
}

impl State {
    /// Empty state for `partition_id`.
    #[must_use]
    pub fn new(partition_id: i32) -> Self {
        Self {
            partition_id,
            last_position: 0,
            keys: KeyGenerator::new(partition_id),
            processes: BTreeMap::new(),
            versions: HashMap::new(),
            elements: HashMap::new(),
            jobs: BTreeMap::new(),
            variables: HashMap::new(),
            incidents: BTreeMap::new(),
            messages: BTreeMap::new(),
        }
    }

    /// The latest version of a process, or a given one.
    #[must_use]
    pub fn process_by_id(
        &self,
        tenant: &TenantId,
        bpmn_process_id: &str,
        version: Option<i32>,
    ) -> Option<&Arc<DeployedProcess>> {
        let keys = self
            .versions
            .get(&(tenant.clone(), bpmn_process_id.to_owned()))?;
        let key = match version {
            None => keys.last()?,
            Some(v) => keys.get(usize::try_from(v).ok()?.checked_sub(1)?)?,
        };
        self.processes.get(key)
    }

    /// Variables visible from `scope_key`: its own and those of enclosing scopes, the
    /// innermost winning.
    #[must_use]
    pub fn visible_variables(&self, scope_key: i64) -> Map<String, Value> {
        let mut chain = Vec::new();
        let mut key = scope_key;
        while let Some(element) = self.elements.get(&key) {
            chain.push(key);
            key = element.flow_scope_key;
        }
        let mut out = Map::new();
        for scope in chain.iter().rev() {
            if let Some(vars) = self.variables.get(scope) {
                for (name, var) in vars {
                    out.insert(name.clone(), var.value.clone());
                }
            }
        }
        out
    }

    /// Applies one record. Commands and rejections change nothing but the position.
    ///
    /// # Errors
    /// When an event cannot be applied (e.g. a deployed resource that no longer parses);
    /// the engine must then refuse to start rather than run on a wrong state.
    pub fn apply(&mut self, record: &Record) -> Result<(), ApplyError> {
        self.last_position = self.last_position.max(record.position);
        self.keys.observe(record.key);
        if record.record_type != RecordType::Event {
            return Ok(());
        }
        let intent = &record.intent;
        match (&record.value_type, &record.value) {
            (ValueType::Process, RecordValue::Process(p)) if *intent == Intent::CREATED => {
                self.apply_process_created(p)?;
            }
            (ValueType::ProcessInstance, RecordValue::ProcessInstance(v)) => {
                self.apply_element(record.key, intent, v);
            }
            (ValueType::Variable, RecordValue::Variable(v)) => {
                let value = serde_json::from_str(&v.value).unwrap_or(Value::Null);
                self.variables.entry(v.scope_key).or_default().insert(
                    v.name.clone(),
                    Variable {
                        key: record.key,
                        value,
                    },
                );
            }
            (ValueType::Job, RecordValue::Job(v)) => self.apply_job(record.key, intent, v),
            (ValueType::JobBatch, RecordValue::Other(v)) if *intent == Intent::new("ACTIVATED") => {
                self.apply_job_batch(v);
            }
            (ValueType::Incident, RecordValue::Incident(v)) => {
                if *intent == Intent::CREATED {
                    if let Some(job) = self.jobs.get_mut(&v.job_key) {
                        job.state = JobState::Failed;
                    }
                    self.incidents.insert(
                        record.key,
                        Incident {
                            key: record.key,
                            value: v.clone(),
                        },
                    );
                } else if *intent == Intent::RESOLVED {
                    self.incidents.remove(&record.key);
                    if let Some(job) = self.jobs.get_mut(&v.job_key)
                        && job.value.retries > 0
                    {
                        job.state = JobState::Activatable;
                    }
                }
            }
            (ValueType::Message, RecordValue::Message(v)) => {
                if *intent == Intent::PUBLISHED {
                    let deadline = v.deadline;
                    self.messages.insert(
                        record.key,
                        BufferedMessage {
                            key: record.key,
                            value: v.clone(),
                            deadline,
                        },
                    );
                } else if *intent == Intent::EXPIRED {
                    self.messages.remove(&record.key);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn apply_process_created(&mut self, p: &zeebe::record::ProcessValue) -> Result<(), ApplyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&p.resource)
            .map_err(|e| ApplyError(format!("process {} resource: {e}", p.bpmn_process_id)))?;
        let xml = String::from_utf8(bytes)
            .map_err(|e| ApplyError(format!("process {} resource: {e}", p.bpmn_process_id)))?;
        let definitions = bpmn::parse(&xml)
            .map_err(|e| ApplyError(format!("process {} resource: {e}", p.bpmn_process_id)))?;
        self.versions
            .entry((p.tenant_id.clone(), p.bpmn_process_id.clone()))
            .or_default()
            .push(p.process_definition_key);
        self.processes.insert(
            p.process_definition_key,
            Arc::new(DeployedProcess {
                key: p.process_definition_key,
                bpmn_process_id: p.bpmn_process_id.clone(),
                version: p.version,
                tenant_id: p.tenant_id.clone(),
                resource_name: p.resource_name.clone(),
                checksum: p.checksum.clone(),
                xml,
                definitions,
            }),
        );
        Ok(())
    }

    fn apply_element(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &zeebe::record::ProcessInstanceValue,
    ) {
        if *intent == Intent::ELEMENT_ACTIVATING {
            self.consume_join_tokens(v);
            if let Some(scope) = self.elements.get_mut(&v.flow_scope_key) {
                scope.children.insert(key);
            }
            self.elements.insert(
                key,
                ElementInstance {
                    key,
                    element_id: v.element_id.clone(),
                    element_type: v.bpmn_element_type.clone(),
                    event_type: v.bpmn_event_type.clone(),
                    lifecycle: Lifecycle::Activating,
                    flow_scope_key: v.flow_scope_key,
                    process_instance_key: v.process_instance_key,
                    process_definition_key: v.process_definition_key,
                    bpmn_process_id: v.bpmn_process_id.clone(),
                    version: v.version,
                    tenant_id: v.tenant_id.clone(),
                    children: BTreeSet::new(),
                    join_tokens: BTreeMap::new(),
                    job_key: None,
                },
            );
        } else if *intent == Intent::ELEMENT_ACTIVATED {
            self.set_lifecycle(key, Lifecycle::Activated);
        } else if *intent == Intent::ELEMENT_COMPLETING {
            self.set_lifecycle(key, Lifecycle::Completing);
        } else if *intent == Intent::ELEMENT_TERMINATING {
            self.set_lifecycle(key, Lifecycle::Terminating);
        } else if *intent == Intent::ELEMENT_COMPLETED || *intent == Intent::ELEMENT_TERMINATED {
            if let Some(element) = self.elements.remove(&key) {
                if let Some(scope) = self.elements.get_mut(&element.flow_scope_key) {
                    scope.children.remove(&key);
                }
                if let Some(job_key) = element.job_key {
                    self.jobs.remove(&job_key);
                }
            }
            self.variables.remove(&key);
        } else if *intent == Intent::SEQUENCE_FLOW_TAKEN
            && self.leads_into_join(v)
            && let Some(scope) = self.elements.get_mut(&v.flow_scope_key)
        {
            *scope.join_tokens.entry(v.element_id.clone()).or_default() += 1;
        }
    }

    fn set_lifecycle(&mut self, key: i64, lifecycle: Lifecycle) {
        if let Some(element) = self.elements.get_mut(&key) {
            element.lifecycle = lifecycle;
        }
    }

    /// The parallel gateway a taken sequence flow leads into, when that gateway joins
    /// more than one incoming flow.
    fn leads_into_join(&self, v: &zeebe::record::ProcessInstanceValue) -> bool {
        let Some(process) = self
            .processes
            .get(&v.process_definition_key)
            .and_then(|p| p.process())
        else {
            return false;
        };
        process
            .content
            .sequence_flow(&v.element_id)
            .and_then(|flow| process.content.flow_node(flow.target_ref.as_str()))
            .is_some_and(is_join)
    }

    fn consume_join_tokens(&mut self, v: &zeebe::record::ProcessInstanceValue) {
        if v.bpmn_element_type != "PARALLEL_GATEWAY" {
            return;
        }
        let Some(process) = self
            .processes
            .get(&v.process_definition_key)
            .and_then(|p| p.process())
        else {
            return;
        };
        let Some(node) = process.content.flow_node(&v.element_id) else {
            return;
        };
        if node.incoming.len() < 2 {
            return;
        }
        let incoming: Vec<String> = node
            .incoming
            .iter()
            .map(|i| i.as_str().to_owned())
            .collect();
        if let Some(scope) = self.elements.get_mut(&v.flow_scope_key) {
            for flow in incoming {
                if let Some(count) = scope.join_tokens.get_mut(&flow) {
                    *count -= 1;
                    if *count == 0 {
                        scope.join_tokens.remove(&flow);
                    }
                }
            }
        }
    }

    fn apply_job(&mut self, key: i64, intent: &Intent, v: &zeebe::record::JobValue) {
        if *intent == Intent::CREATED {
            if let Some(element) = self.elements.get_mut(&v.element_instance_key) {
                element.job_key = Some(key);
            }
            self.jobs.insert(
                key,
                Job {
                    key,
                    state: JobState::Activatable,
                    value: v.clone(),
                },
            );
            return;
        }
        if *intent == Intent::COMPLETED || *intent == Intent::CANCELED {
            self.jobs.remove(&key);
            if let Some(element) = self.elements.get_mut(&v.element_instance_key) {
                element.job_key = None;
            }
            return;
        }
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        if *intent == Intent::FAILED {
            job.value.retries = v.retries;
            job.value.retry_backoff = v.retry_backoff;
            job.value.recurring_time = v.recurring_time;
            job.value.error_message.clone_from(&v.error_message);
            job.value.deadline = -1;
            job.value.worker.clear();
            job.state = if v.retries <= 0 {
                JobState::Failed
            } else if v.retry_backoff > 0 {
                JobState::BackingOff
            } else {
                JobState::Activatable
            };
        } else if *intent == Intent::TIMED_OUT || *intent == Intent::new("RECURRED_AFTER_BACKOFF") {
            job.value.deadline = -1;
            job.value.worker.clear();
            job.state = JobState::Activatable;
        } else if *intent == Intent::RETRIES_UPDATED {
            job.value.retries = v.retries;
        } else if *intent == Intent::TIMEOUT_UPDATED {
            job.value.deadline = v.deadline;
        } else if *intent == Intent::ERROR_THROWN {
            job.value.error_code.clone_from(&v.error_code);
            job.value.error_message.clone_from(&v.error_message);
            job.state = JobState::ErrorThrown;
        }
    }

    fn apply_job_batch(&mut self, v: &Value) {
        let Some(jobs) = v.get("jobs").and_then(Value::as_array) else {
            return;
        };
        let keys = v.get("jobKeys").and_then(Value::as_array);
        for (i, job) in jobs.iter().enumerate() {
            let Some(key) = keys.and_then(|k| k.get(i)).and_then(Value::as_i64) else {
                continue;
            };
            if let Some(state) = self.jobs.get_mut(&key) {
                state.state = JobState::Activated;
                state.value.deadline = job.get("deadline").and_then(Value::as_i64).unwrap_or(-1);
                state.value.timeout = job.get("timeout").and_then(Value::as_i64).unwrap_or(-1);
                state.value.worker = job
                    .get("worker")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
            }
        }
    }
}

/// Whether `node` is a parallel gateway that joins more than one incoming flow.
#[must_use]
pub fn is_join(node: &bpmn::FlowNode) -> bool {
    matches!(node.kind, bpmn::FlowNodeKind::ParallelGateway(_)) && node.incoming.len() > 1
}

/// An event that cannot be applied to the state.
#[derive(Debug, thiserror::Error)]
#[error("cannot apply record: {0}")]
pub struct ApplyError(pub String);
