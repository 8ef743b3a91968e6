//! The engine's state as plain data, changed only by [`State::apply`].
//!
//! Every change comes from an event record, live or replayed from the log, through the
//! same `apply`, so a restarted engine that replays its log ends up with exactly the
//! state it had. Nothing here does I/O or reads a clock.
//!
//! Besides the entities (deployed processes, element instances, jobs, variables,
//! incidents, buffered messages, timers and event subscriptions), the state keeps
//! indexes derived from them (due dates, subscriptions by message name, subscriptions
//! by owning element instance). Indexes are maintained by `apply` as well and rebuilt by
//! [`State::rebuild_indexes`] after a snapshot is loaded, so they are never stored.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeebe::record::{
    Intent, MessageStartEventSubscriptionValue, ProcessMessageSubscriptionValue, Record,
    RecordType, RecordValue, SignalSubscriptionValue, TenantId, TimerValue, ValueType,
};

use crate::{key::KeyGenerator, model::ProcessModel};

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
    /// Index of the process's elements.
    pub model: ProcessModel,
}

impl DeployedProcess {
    /// Parses `xml` and indexes the process `bpmn_process_id` in it.
    ///
    /// # Errors
    /// When the XML no longer parses.
    pub fn new(
        key: i64,
        bpmn_process_id: String,
        version: i32,
        tenant_id: TenantId,
        resource_name: String,
        checksum: String,
        xml: String,
    ) -> Result<Self, ApplyError> {
        let definitions = bpmn::parse(&xml)
            .map_err(|e| ApplyError(format!("process {bpmn_process_id} resource: {e}")))?;
        let model = definitions
            .process(&bpmn_process_id)
            .map(ProcessModel::new)
            .unwrap_or_default();
        Ok(Self {
            key,
            bpmn_process_id,
            version,
            tenant_id,
            resource_name,
            checksum,
            xml,
            definitions,
            model,
        })
    }

    /// The executable process this definition stands for.
    #[must_use]
    pub fn process(&self) -> Option<&bpmn::Process> {
        self.definitions.process(&self.bpmn_process_id)
    }

    /// The flow node `id`, at any depth.
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&bpmn::FlowNode> {
        self.model.node(self.process()?, id)
    }

    /// The sequence flow `id`, at any depth.
    #[must_use]
    pub fn flow(&self, id: &str) -> Option<&bpmn::SequenceFlow> {
        self.model.flow(self.process()?, id)
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

fn minus_one() -> i64 {
    -1
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
    /// For a process started by a call activity: the calling process instance, else -1.
    #[serde(default = "minus_one")]
    pub parent_process_instance_key: i64,
    /// For a process started by a call activity: the call activity instance, else -1.
    #[serde(default = "minus_one")]
    pub parent_element_instance_key: i64,
    /// Active child element instances (for scopes).
    pub children: BTreeSet<i64>,
    /// Children that completed (multi-instance bodies count their instances with it).
    #[serde(default)]
    pub completed_children: u32,
    /// Children that were terminated.
    #[serde(default)]
    pub terminated_children: u32,
    /// Sequence flows taken into joining gateways of this scope and not yet consumed.
    pub join_tokens: BTreeMap<String, u32>,
    /// The element's job, while it waits for one.
    pub job_key: Option<i64>,
    /// For a call activity: the process instance it started.
    #[serde(default)]
    pub called_instance: Option<i64>,
    /// For a scope: an interrupting event sub-process took over, so the scope completes
    /// when that finishes, whatever tokens wait at joins.
    #[serde(default)]
    pub interrupted: bool,
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

impl Job {
    /// When the job next changes by itself: its deadline while activated, the end of its
    /// back-off while backing off.
    #[must_use]
    pub fn due(&self) -> Option<i64> {
        match self.state {
            JobState::Activated => Some(self.value.deadline),
            JobState::BackingOff => Some(self.value.recurring_time),
            _ => None,
        }
    }
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
    /// BPMN ids of the processes the message was correlated to (a message correlates at
    /// most once per process).
    #[serde(default)]
    pub correlated: BTreeSet<String>,
}

/// One variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Variable key.
    pub key: i64,
    /// Its value.
    pub value: Value,
}

/// A scheduled timer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timer {
    /// Timer key.
    pub key: i64,
    /// The timer as exported (owner, target element, due date, repetitions).
    pub value: TimerValue,
}

/// An open message subscription of a process instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageSubscription {
    /// Subscription key.
    pub key: i64,
    /// The subscription as exported (owner, target element, name, correlation key).
    pub value: ProcessMessageSubscriptionValue,
}

/// A message start event of the latest version of a process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageStartSubscription {
    /// Subscription key.
    pub key: i64,
    /// The subscription as exported.
    pub value: MessageStartEventSubscriptionValue,
}

/// An open signal subscription (a start event, or an active catch event).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalSubscription {
    /// Subscription key.
    pub key: i64,
    /// The subscription as exported.
    pub value: SignalSubscriptionValue,
}

/// A process instance started by a message with a correlation key: no other instance of
/// the process starts for that key until it ends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageStart {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// The correlation key of the message.
    pub correlation_key: String,
}

/// Something an element instance owns and that closes when it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owned {
    /// A timer, by key.
    Timer(i64),
    /// A message subscription, by key.
    Message(i64),
    /// A signal subscription, by key.
    Signal(i64),
}

/// Message name, correlation key and tenant: what a message correlates on.
pub type MessageAddress = (TenantId, String, String);

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
    /// Definition keys per (tenant, BPMN id) that may still start instances, oldest
    /// version first.
    pub versions: HashMap<(TenantId, String), Vec<i64>>,
    /// Highest version ever deployed per (tenant, BPMN id); versions are never reused.
    pub max_versions: HashMap<(TenantId, String), i32>,
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
    /// Scheduled timers by key.
    pub timers: BTreeMap<i64, Timer>,
    /// Open message subscriptions by key.
    pub message_subscriptions: BTreeMap<i64, MessageSubscription>,
    /// Message start event subscriptions by key.
    pub message_start_subscriptions: BTreeMap<i64, MessageStartSubscription>,
    /// Signal subscriptions by key.
    pub signal_subscriptions: BTreeMap<i64, SignalSubscription>,
    /// Active process instances started by a keyed message, by process instance key.
    pub message_starts: BTreeMap<i64, MessageStart>,
    index: Indexes,
}

/// Lookups derived from the entities above.
#[derive(Debug, Default)]
struct Indexes {
    timer_due: BTreeSet<(i64, i64)>,
    job_due: BTreeSet<(i64, i64)>,
    message_due: BTreeSet<(i64, i64)>,
    owned: HashMap<i64, BTreeSet<Owned>>,
    messages_by_address: HashMap<MessageAddress, BTreeSet<i64>>,
    subscriptions_by_address: HashMap<MessageAddress, BTreeSet<i64>>,
    start_subscriptions_by_name: HashMap<(TenantId, String), BTreeSet<i64>>,
    signal_subscriptions_by_name: HashMap<(TenantId, String), BTreeSet<i64>>,
    message_start_keys: HashMap<MessageStart, i64>,
    instances_per_definition: HashMap<i64, usize>,
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
            max_versions: HashMap::new(),
            elements: HashMap::new(),
            jobs: BTreeMap::new(),
            variables: HashMap::new(),
            incidents: BTreeMap::new(),
            messages: BTreeMap::new(),
            timers: BTreeMap::new(),
            message_subscriptions: BTreeMap::new(),
            message_start_subscriptions: BTreeMap::new(),
            signal_subscriptions: BTreeMap::new(),
            message_starts: BTreeMap::new(),
            index: Indexes::default(),
        }
    }

    /// Rebuilds the derived lookups from the entities (after loading a snapshot).
    pub fn rebuild_indexes(&mut self) {
        let mut index = Indexes::default();
        for timer in self.timers.values() {
            index_timer(&mut index, timer, true);
        }
        for job in self.jobs.values() {
            if let Some(due) = job.due() {
                index.job_due.insert((due, job.key));
            }
        }
        for message in self.messages.values() {
            index_message(&mut index, message, true);
        }
        for sub in self.message_subscriptions.values() {
            index_message_subscription(&mut index, sub, true);
        }
        for sub in self.message_start_subscriptions.values() {
            index
                .start_subscriptions_by_name
                .entry((sub.value.tenant_id.clone(), sub.value.message_name.clone()))
                .or_default()
                .insert(sub.key);
        }
        for sub in self.signal_subscriptions.values() {
            index_signal_subscription(&mut index, sub, true);
        }
        for (pi, start) in &self.message_starts {
            index.message_start_keys.insert(start.clone(), *pi);
        }
        for element in self.elements.values() {
            if element.flow_scope_key == -1 {
                *index
                    .instances_per_definition
                    .entry(element.process_definition_key)
                    .or_default() += 1;
            }
        }
        self.index = index;
    }

    /// The latest live version of a process, or a given one.
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
        match version {
            None => self.processes.get(keys.last()?),
            Some(v) => keys
                .iter()
                .filter_map(|k| self.processes.get(k))
                .find(|p| p.version == v),
        }
    }

    /// Whether the process definition may start instances (deployed, and not being
    /// deleted by the command at hand).
    #[must_use]
    pub fn is_live(&self, process_definition_key: i64) -> bool {
        self.processes
            .get(&process_definition_key)
            .is_some_and(|p| {
                self.versions
                    .get(&(p.tenant_id.clone(), p.bpmn_process_id.clone()))
                    .is_some_and(|keys| keys.contains(&process_definition_key))
            })
    }

    /// Running process instances of a definition.
    #[must_use]
    pub fn running_instances(&self, process_definition_key: i64) -> usize {
        self.index
            .instances_per_definition
            .get(&process_definition_key)
            .copied()
            .unwrap_or(0)
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

    /// The earliest time at which something becomes due by itself (a timer, a job
    /// deadline or back-off, a message expiry).
    #[must_use]
    pub fn next_due(&self) -> Option<i64> {
        [
            self.index.timer_due.first(),
            self.index.job_due.first(),
            self.index.message_due.first(),
        ]
        .into_iter()
        .flatten()
        .map(|(due, _)| *due)
        .min()
    }

    /// Keys of timers due at `now`, earliest first.
    #[must_use]
    pub fn due_timers(&self, now: i64) -> Vec<i64> {
        self.index
            .timer_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keys of jobs whose deadline or back-off is over at `now`.
    #[must_use]
    pub fn due_jobs(&self, now: i64) -> Vec<i64> {
        self.index
            .job_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, key)| *key)
            .collect()
    }

    /// Keys of messages whose time to live is over at `now`.
    #[must_use]
    pub fn expired_messages(&self, now: i64) -> Vec<i64> {
        self.index
            .message_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, key)| *key)
            .collect()
    }

    /// Timers and subscriptions owned by an element instance.
    #[must_use]
    pub fn owned_by(&self, element_instance_key: i64) -> Vec<Owned> {
        self.index
            .owned
            .get(&element_instance_key)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Buffered messages for an address, oldest first.
    #[must_use]
    pub fn messages_for(&self, address: &MessageAddress) -> Vec<i64> {
        self.index
            .messages_by_address
            .get(address)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Open message subscriptions for an address, oldest first.
    #[must_use]
    pub fn subscriptions_for(&self, address: &MessageAddress) -> Vec<i64> {
        self.index
            .subscriptions_by_address
            .get(address)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Message start event subscriptions for a message name.
    #[must_use]
    pub fn start_subscriptions_for(&self, tenant: &TenantId, name: &str) -> Vec<i64> {
        self.index
            .start_subscriptions_by_name
            .get(&(tenant.clone(), name.to_owned()))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Signal subscriptions for a signal name, oldest first.
    #[must_use]
    pub fn signal_subscriptions_for(&self, tenant: &TenantId, name: &str) -> Vec<i64> {
        self.index
            .signal_subscriptions_by_name
            .get(&(tenant.clone(), name.to_owned()))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The active instance a keyed message started for this process, if any.
    #[must_use]
    pub fn message_started_instance(&self, start: &MessageStart) -> Option<i64> {
        self.index.message_start_keys.get(start).copied()
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
        let key = record.key;
        match (&record.value_type, &record.value) {
            (ValueType::Process, RecordValue::Process(p)) => {
                if *intent == Intent::CREATED {
                    self.apply_process_created(p)?;
                } else if *intent == Intent::DELETING {
                    self.apply_process_deleting(p.process_definition_key);
                } else if *intent == Intent::DELETED {
                    self.apply_process_deleting(p.process_definition_key);
                    self.processes.remove(&p.process_definition_key);
                }
            }
            (ValueType::ProcessInstance, RecordValue::ProcessInstance(v)) => {
                self.apply_element(key, intent, v);
            }
            (ValueType::Variable, RecordValue::Variable(v)) => {
                let value = serde_json::from_str(&v.value).unwrap_or(Value::Null);
                self.variables
                    .entry(v.scope_key)
                    .or_default()
                    .insert(v.name.clone(), Variable { key, value });
            }
            (ValueType::Job, RecordValue::Job(v)) => self.apply_job(key, intent, v),
            (ValueType::JobBatch, RecordValue::Other(v)) if *intent == Intent::new("ACTIVATED") => {
                self.apply_job_batch(v);
            }
            (ValueType::Incident, RecordValue::Incident(v)) => self.apply_incident(key, intent, v),
            (ValueType::Message, RecordValue::Message(v)) => {
                if *intent == Intent::PUBLISHED {
                    let message = BufferedMessage {
                        key,
                        value: v.clone(),
                        deadline: v.deadline,
                        correlated: BTreeSet::new(),
                    };
                    index_message(&mut self.index, &message, true);
                    self.messages.insert(key, message);
                } else if *intent == Intent::EXPIRED
                    && let Some(message) = self.messages.remove(&key)
                {
                    index_message(&mut self.index, &message, false);
                }
            }
            (ValueType::Timer, RecordValue::Timer(v)) => {
                if *intent == Intent::CREATED {
                    let timer = Timer {
                        key,
                        value: v.clone(),
                    };
                    index_timer(&mut self.index, &timer, true);
                    self.timers.insert(key, timer);
                } else if (*intent == Intent::TRIGGERED || *intent == Intent::CANCELED)
                    && let Some(timer) = self.timers.remove(&key)
                {
                    index_timer(&mut self.index, &timer, false);
                }
            }
            (ValueType::ProcessMessageSubscription, RecordValue::ProcessMessageSubscription(v)) => {
                self.apply_process_message_subscription(key, intent, v);
            }
            (ValueType::MessageSubscription, RecordValue::MessageSubscription(v))
                if *intent == Intent::CORRELATED =>
            {
                if let Some(message) = self.messages.get_mut(&v.message_key) {
                    message.correlated.insert(v.bpmn_process_id.clone());
                }
            }
            (
                ValueType::MessageStartEventSubscription,
                RecordValue::MessageStartEventSubscription(v),
            ) => self.apply_message_start_subscription(key, intent, v),
            (ValueType::SignalSubscription, RecordValue::SignalSubscription(v)) => {
                if *intent == Intent::CREATED {
                    let sub = SignalSubscription {
                        key,
                        value: v.clone(),
                    };
                    index_signal_subscription(&mut self.index, &sub, true);
                    self.signal_subscriptions.insert(key, sub);
                } else if *intent == Intent::DELETED
                    && let Some(sub) = self.signal_subscriptions.remove(&key)
                {
                    index_signal_subscription(&mut self.index, &sub, false);
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
        let process = DeployedProcess::new(
            p.process_definition_key,
            p.bpmn_process_id.clone(),
            p.version,
            p.tenant_id.clone(),
            p.resource_name.clone(),
            p.checksum.clone(),
            xml,
        )?;
        let id = (p.tenant_id.clone(), p.bpmn_process_id.clone());
        let max = self.max_versions.entry(id.clone()).or_default();
        *max = (*max).max(p.version);
        let keys = self.versions.entry(id).or_default();
        keys.push(p.process_definition_key);
        keys.sort_by_key(|k| {
            if *k == p.process_definition_key {
                p.version
            } else {
                self.processes.get(k).map_or(0, |p| p.version)
            }
        });
        self.processes
            .insert(p.process_definition_key, Arc::new(process));
        Ok(())
    }

    /// A deleted definition starts no more instances: it leaves the version list, so the
    /// previous version becomes the latest.
    fn apply_process_deleting(&mut self, definition_key: i64) {
        let Some(process) = self.processes.get(&definition_key) else {
            return;
        };
        let id = (process.tenant_id.clone(), process.bpmn_process_id.clone());
        if let Some(keys) = self.versions.get_mut(&id) {
            keys.retain(|k| *k != definition_key);
            if keys.is_empty() {
                self.versions.remove(&id);
            }
        }
    }

    fn apply_incident(&mut self, key: i64, intent: &Intent, v: &zeebe::record::IncidentValue) {
        if *intent == Intent::CREATED {
            if let Some(job) = self.jobs.get(&v.job_key).cloned() {
                self.set_job_state(&job, JobState::Failed);
            }
            self.incidents.insert(
                key,
                Incident {
                    key,
                    value: v.clone(),
                },
            );
        } else if *intent == Intent::RESOLVED {
            self.incidents.remove(&key);
            if let Some(job) = self.jobs.get(&v.job_key).cloned()
                && job.value.retries > 0
            {
                self.set_job_state(&job, JobState::Activatable);
            }
        }
    }

    fn apply_process_message_subscription(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &ProcessMessageSubscriptionValue,
    ) {
        if *intent == Intent::CREATED {
            let sub = MessageSubscription {
                key,
                value: v.clone(),
            };
            index_message_subscription(&mut self.index, &sub, true);
            self.message_subscriptions.insert(key, sub);
        } else if (*intent == Intent::DELETED || (*intent == Intent::CORRELATED && v.interrupting))
            && let Some(sub) = self.message_subscriptions.remove(&key)
        {
            index_message_subscription(&mut self.index, &sub, false);
        }
    }

    fn apply_message_start_subscription(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &MessageStartEventSubscriptionValue,
    ) {
        if *intent == Intent::CREATED {
            self.index
                .start_subscriptions_by_name
                .entry((v.tenant_id.clone(), v.message_name.clone()))
                .or_default()
                .insert(key);
            self.message_start_subscriptions.insert(
                key,
                MessageStartSubscription {
                    key,
                    value: v.clone(),
                },
            );
        } else if *intent == Intent::DELETED {
            if let Some(set) = self
                .index
                .start_subscriptions_by_name
                .get_mut(&(v.tenant_id.clone(), v.message_name.clone()))
            {
                set.remove(&key);
            }
            self.message_start_subscriptions.remove(&key);
        } else if *intent == Intent::CORRELATED {
            if let Some(message) = self.messages.get_mut(&v.message_key) {
                message.correlated.insert(v.bpmn_process_id.clone());
            }
            if !v.correlation_key.is_empty() {
                let start = MessageStart {
                    tenant_id: v.tenant_id.clone(),
                    bpmn_process_id: v.bpmn_process_id.clone(),
                    correlation_key: v.correlation_key.clone(),
                };
                self.index
                    .message_start_keys
                    .insert(start.clone(), v.process_instance_key);
                self.message_starts.insert(v.process_instance_key, start);
            }
        }
    }

    fn apply_element(
        &mut self,
        key: i64,
        intent: &Intent,
        v: &zeebe::record::ProcessInstanceValue,
    ) {
        if *intent == Intent::ELEMENT_ACTIVATING {
            self.consume_join_tokens(v);
            if v.bpmn_element_type == "EVENT_SUB_PROCESS"
                && self.starts_interrupting(v)
                && let Some(scope) = self.elements.get_mut(&v.flow_scope_key)
            {
                scope.interrupted = true;
            }
            if let Some(scope) = self.elements.get_mut(&v.flow_scope_key) {
                scope.children.insert(key);
            }
            if v.flow_scope_key == -1 {
                *self
                    .index
                    .instances_per_definition
                    .entry(v.process_definition_key)
                    .or_default() += 1;
                if let Some(caller) = self.elements.get_mut(&v.parent_element_instance_key) {
                    caller.called_instance = Some(key);
                }
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
                    parent_process_instance_key: v.parent_process_instance_key,
                    parent_element_instance_key: v.parent_element_instance_key,
                    children: BTreeSet::new(),
                    completed_children: 0,
                    terminated_children: 0,
                    join_tokens: BTreeMap::new(),
                    job_key: None,
                    called_instance: None,
                    interrupted: false,
                },
            );
        } else if *intent == Intent::ELEMENT_ACTIVATED {
            self.set_lifecycle(key, Lifecycle::Activated);
        } else if *intent == Intent::ELEMENT_COMPLETING {
            self.set_lifecycle(key, Lifecycle::Completing);
        } else if *intent == Intent::ELEMENT_TERMINATING {
            self.set_lifecycle(key, Lifecycle::Terminating);
        } else if *intent == Intent::ELEMENT_COMPLETED || *intent == Intent::ELEMENT_TERMINATED {
            let completed = *intent == Intent::ELEMENT_COMPLETED;
            if let Some(element) = self.elements.remove(&key) {
                if let Some(scope) = self.elements.get_mut(&element.flow_scope_key) {
                    scope.children.remove(&key);
                    if completed {
                        scope.completed_children += 1;
                    } else {
                        scope.terminated_children += 1;
                    }
                }
                if let Some(caller) = self.elements.get_mut(&element.parent_element_instance_key)
                    && caller.called_instance == Some(key)
                {
                    caller.called_instance = None;
                }
                if let Some(job_key) = element.job_key
                    && let Some(job) = self.jobs.remove(&job_key)
                    && let Some(due) = job.due()
                {
                    self.index.job_due.remove(&(due, job_key));
                }
                if element.flow_scope_key == -1 {
                    if let Some(n) = self
                        .index
                        .instances_per_definition
                        .get_mut(&element.process_definition_key)
                    {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.index
                                .instances_per_definition
                                .remove(&element.process_definition_key);
                        }
                    }
                    if let Some(start) = self.message_starts.remove(&key) {
                        self.index.message_start_keys.remove(&start);
                    }
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

    fn starts_interrupting(&self, v: &zeebe::record::ProcessInstanceValue) -> bool {
        let Some(process) = self.processes.get(&v.process_definition_key) else {
            return false;
        };
        process
            .process()
            .and_then(|p| process.model.start_of(p, &v.element_id))
            .and_then(|start| start.event())
            .is_some_and(bpmn::Event::interrupting)
    }

    fn set_lifecycle(&mut self, key: i64, lifecycle: Lifecycle) {
        if let Some(element) = self.elements.get_mut(&key) {
            element.lifecycle = lifecycle;
        }
    }

    /// Whether a taken sequence flow leads into a gateway that joins several flows.
    fn leads_into_join(&self, v: &zeebe::record::ProcessInstanceValue) -> bool {
        let Some(process) = self.processes.get(&v.process_definition_key) else {
            return false;
        };
        process
            .flow(&v.element_id)
            .and_then(|flow| process.node(flow.target_ref.as_str()))
            .is_some_and(|node| is_join(process, node))
    }

    /// A joining gateway consumes one token of every incoming flow that has one.
    fn consume_join_tokens(&mut self, v: &zeebe::record::ProcessInstanceValue) {
        if v.bpmn_element_type != "PARALLEL_GATEWAY" && v.bpmn_element_type != "INCLUSIVE_GATEWAY" {
            return;
        }
        let Some(process) = self.processes.get(&v.process_definition_key) else {
            return;
        };
        let Some(node) = process.node(&v.element_id) else {
            return;
        };
        if !is_join(process, node) {
            return;
        }
        let incoming: Vec<String> = process.model.incoming(&v.element_id).to_vec();
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

    fn set_job_state(&mut self, job: &Job, state: JobState) {
        if let Some(due) = job.due() {
            self.index.job_due.remove(&(due, job.key));
        }
        if let Some(stored) = self.jobs.get_mut(&job.key) {
            stored.state = state;
            if let Some(due) = stored.due() {
                self.index.job_due.insert((due, stored.key));
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
        let Some(before) = self.jobs.get(&key).map(Job::due) else {
            return;
        };
        if let Some(due) = before {
            self.index.job_due.remove(&(due, key));
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
        if let Some(due) = job.due() {
            self.index.job_due.insert((due, key));
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
                if let Some(due) = state.due() {
                    self.index.job_due.remove(&(due, key));
                }
                state.state = JobState::Activated;
                state.value.deadline = job.get("deadline").and_then(Value::as_i64).unwrap_or(-1);
                state.value.timeout = job.get("timeout").and_then(Value::as_i64).unwrap_or(-1);
                state.value.worker = job
                    .get("worker")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(due) = state.due() {
                    self.index.job_due.insert((due, key));
                }
            }
        }
    }
}

fn index_timer(index: &mut Indexes, timer: &Timer, add: bool) {
    let due = (timer.value.due_date, timer.key);
    let owner = timer.value.element_instance_key;
    if add {
        index.timer_due.insert(due);
        if owner > 0 {
            index
                .owned
                .entry(owner)
                .or_default()
                .insert(Owned::Timer(timer.key));
        }
    } else {
        index.timer_due.remove(&due);
        remove_owned(index, owner, Owned::Timer(timer.key));
    }
}

fn index_message(index: &mut Indexes, message: &BufferedMessage, add: bool) {
    let address = (
        message.value.tenant_id.clone(),
        message.value.name.clone(),
        message.value.correlation_key.clone(),
    );
    let due = (message.deadline, message.key);
    if add {
        index.message_due.insert(due);
        index
            .messages_by_address
            .entry(address)
            .or_default()
            .insert(message.key);
    } else {
        index.message_due.remove(&due);
        if let Some(set) = index.messages_by_address.get_mut(&address) {
            set.remove(&message.key);
            if set.is_empty() {
                index.messages_by_address.remove(&address);
            }
        }
    }
}

fn index_message_subscription(index: &mut Indexes, sub: &MessageSubscription, add: bool) {
    let address = (
        sub.value.tenant_id.clone(),
        sub.value.message_name.clone(),
        sub.value.correlation_key.clone(),
    );
    let owner = sub.value.element_instance_key;
    if add {
        index
            .subscriptions_by_address
            .entry(address)
            .or_default()
            .insert(sub.key);
        index
            .owned
            .entry(owner)
            .or_default()
            .insert(Owned::Message(sub.key));
    } else {
        if let Some(set) = index.subscriptions_by_address.get_mut(&address) {
            set.remove(&sub.key);
            if set.is_empty() {
                index.subscriptions_by_address.remove(&address);
            }
        }
        remove_owned(index, owner, Owned::Message(sub.key));
    }
}

fn index_signal_subscription(index: &mut Indexes, sub: &SignalSubscription, add: bool) {
    let name = (sub.value.tenant_id.clone(), sub.value.signal_name.clone());
    let owner = sub.value.catch_event_instance_key;
    if add {
        index
            .signal_subscriptions_by_name
            .entry(name)
            .or_default()
            .insert(sub.key);
        if owner > 0 {
            index
                .owned
                .entry(owner)
                .or_default()
                .insert(Owned::Signal(sub.key));
        }
    } else {
        if let Some(set) = index.signal_subscriptions_by_name.get_mut(&name) {
            set.remove(&sub.key);
            if set.is_empty() {
                index.signal_subscriptions_by_name.remove(&name);
            }
        }
        remove_owned(index, owner, Owned::Signal(sub.key));
    }
}

fn remove_owned(index: &mut Indexes, owner: i64, owned: Owned) {
    if let Some(set) = index.owned.get_mut(&owner) {
        set.remove(&owned);
        if set.is_empty() {
            index.owned.remove(&owner);
        }
    }
}

/// Whether `node` is a parallel or inclusive gateway that joins more than one incoming
/// flow.
#[must_use]
pub fn is_join(process: &DeployedProcess, node: &bpmn::FlowNode) -> bool {
    matches!(
        node.kind,
        bpmn::FlowNodeKind::ParallelGateway(_) | bpmn::FlowNodeKind::InclusiveGateway(_)
    ) && process.model.incoming(node.id.as_str()).len() > 1
}

/// An event that cannot be applied to the state.
#[derive(Debug, thiserror::Error)]
#[error("cannot apply record: {0}")]
pub struct ApplyError(pub String);
