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
//!
//! The state is typed where records are stringly: element and event types are enums,
//! an element instance's [`Lifecycle`] moves only as [`Lifecycle::can_become`] allows,
//! and "no key" is `None` rather than Zeebe's `-1`. Records are converted where they
//! are read ([`State::apply`]) and written (the processor). Entities that keep their
//! exported record value (jobs, incidents, timers, subscriptions) keep it verbatim,
//! because it is written out again; accessors such as [`Timer::owner`] read it typed.
//! A snapshot stores element instances in the wire form (`-1`, the type names), so
//! its format did not change with the types (see [`crate::snapshot`]).
//!
//! A record that refers to something the state does not hold is a broken invariant,
//! reported and never skipped silently (see [`ApplyError`]).

mod apply;
mod error;
mod index;
mod lifecycle;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeebe::record::{
    ElementType, EventType, IncidentErrorType, MessageStartEventSubscriptionValue,
    ProcessMessageSubscriptionValue, SignalSubscriptionValue, TenantId, TimerValue,
};

pub use error::{ApplyError, Entity};
pub use lifecycle::Lifecycle;

use self::index::{
    Indexes, index_message, index_message_subscription, index_signal_subscription, index_timer,
};
use crate::{
    key::{self, KeyGenerator},
    model::ProcessModel,
};

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
            .map_err(|e| ApplyError::Invalid(format!("process {bpmn_process_id} resource: {e}")))?;
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

    /// The flow node `id`, which must be there: an element instance, a subscription or
    /// the model itself names it.
    ///
    /// # Errors
    /// [`ApplyError::MissingElement`] when the definition has no such node.
    pub fn required_node(&self, id: &str) -> Result<&bpmn::FlowNode, ApplyError> {
        self.node(id).ok_or_else(|| self.missing_element(id))
    }

    /// The sequence flow `id`, which must be there (the model names it).
    ///
    /// # Errors
    /// [`ApplyError::MissingElement`] when the definition has no such flow.
    pub fn required_flow(&self, id: &str) -> Result<&bpmn::SequenceFlow, ApplyError> {
        self.flow(id).ok_or_else(|| self.missing_element(id))
    }

    fn missing_element(&self, id: &str) -> ApplyError {
        ApplyError::MissingElement {
            definition: self.key,
            element_id: id.to_owned(),
        }
    }
}

/// One element instance (the process itself, a task, a gateway, an event…).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElementInstance {
    /// Element instance key.
    pub key: i64,
    /// BPMN id of the element.
    pub element_id: String,
    /// Element type, e.g. `SERVICE_TASK` (stored by its name).
    pub element_type: ElementType,
    /// Event type, e.g. `NONE`, `UNSPECIFIED` (stored by its name).
    pub event_type: EventType,
    /// Lifecycle state (never a final one: the instance leaves the state then).
    pub lifecycle: Lifecycle,
    /// Enclosing element instance; `None` for the process (stored as -1).
    #[serde(with = "key::wire")]
    pub flow_scope_key: Option<i64>,
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
    /// For a process started by a call activity (and its elements): the calling process
    /// instance (stored as -1 for none).
    #[serde(default, with = "key::wire")]
    pub parent_process_instance_key: Option<i64>,
    /// For a process started by a call activity (and its elements): the call activity
    /// instance (stored as -1 for none).
    #[serde(default, with = "key::wire")]
    pub parent_element_instance_key: Option<i64>,
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

impl ElementInstance {
    /// The enclosing element instance, which every element instance but a process has.
    ///
    /// # Errors
    /// [`ApplyError::Inconsistent`] for a process instance.
    pub fn required_flow_scope(&self) -> Result<i64, ApplyError> {
        self.flow_scope_key.ok_or_else(|| {
            ApplyError::Inconsistent(format!(
                "element instance {} ('{}') has no flow scope",
                self.key, self.element_id
            ))
        })
    }
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

impl Incident {
    /// Why the incident was raised.
    #[must_use]
    pub fn error_type(&self) -> IncidentErrorType {
        IncidentErrorType::from(self.value.error_type.as_str())
    }

    /// The job whose failure raised it, if a job did.
    #[must_use]
    pub fn job_key(&self) -> Option<i64> {
        key::from_wire(self.value.job_key)
    }
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

impl Timer {
    /// The element instance that owns the timer; `None` for a timer start event.
    #[must_use]
    pub fn owner(&self) -> Option<i64> {
        key::from_wire(self.value.element_instance_key)
    }
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

impl SignalSubscription {
    /// The element instance that owns the subscription; `None` for a signal start event.
    #[must_use]
    pub fn owner(&self) -> Option<i64> {
        key::from_wire(self.value.catch_event_instance_key)
    }
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
            if element.flow_scope_key.is_none() {
                *index
                    .instances_per_definition
                    .entry(element.process_definition_key)
                    .or_default() += 1;
            }
        }
        self.index = index;
    }

    /// The element instance `key`, which must be there: a record, a job, a subscription
    /// or an enclosing instance refers to it.
    ///
    /// # Errors
    /// [`ApplyError::Missing`] when it is not.
    pub fn element(&self, key: i64) -> Result<&ElementInstance, ApplyError> {
        self.elements
            .get(&key)
            .ok_or(ApplyError::missing(Entity::ElementInstance, key))
    }

    /// [`State::element`], to change it.
    ///
    /// # Errors
    /// [`ApplyError::Missing`] when it is not there.
    pub fn element_mut(&mut self, key: i64) -> Result<&mut ElementInstance, ApplyError> {
        self.elements
            .get_mut(&key)
            .ok_or(ApplyError::missing(Entity::ElementInstance, key))
    }

    /// The element instance `key` where its absence is normal: a step queued earlier in
    /// the same command, or a key collected before other work ran, may refer to an
    /// instance that has been completed or terminated since.
    #[must_use]
    pub fn element_if_present(&self, key: i64) -> Option<&ElementInstance> {
        self.elements.get(&key)
    }

    /// The process definition `key`, which must be there: element instances,
    /// subscriptions and timers of a definition keep it from being deleted.
    ///
    /// # Errors
    /// [`ApplyError::Missing`] when it is not.
    pub fn definition(&self, key: i64) -> Result<&Arc<DeployedProcess>, ApplyError> {
        self.processes
            .get(&key)
            .ok_or(ApplyError::missing(Entity::ProcessDefinition, key))
    }

    /// The job `key`, which must be there (an element instance or an incident names it).
    ///
    /// # Errors
    /// [`ApplyError::Missing`] when it is not.
    pub fn job(&self, key: i64) -> Result<&Job, ApplyError> {
        self.jobs
            .get(&key)
            .ok_or(ApplyError::missing(Entity::Job, key))
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
        let mut next = Some(scope_key);
        while let Some(key) = next
            && let Some(element) = self.elements.get(&key)
        {
            chain.push(key);
            next = element.flow_scope_key;
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
