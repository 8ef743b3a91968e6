//! Typed record values, one struct per value type the product reads.
//!
//! Every struct defaults missing fields (Zeebe leaves some out depending on the
//! intent and broker version) and keeps fields it does not model in `extra`, so
//! a value written back is the value that was read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ValueType;
use crate::tenant::TenantId;

/// The payload of a [`Record`](super::Record).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RecordValue {
    /// `PROCESS_INSTANCE`: an element instance of a running process.
    ProcessInstance(ProcessInstanceValue),
    /// `JOB`: a unit of work for a worker.
    Job(JobValue),
    /// `INCIDENT`: something an operator has to look at.
    Incident(IncidentValue),
    /// `VARIABLE`: one variable in one scope.
    Variable(VariableValue),
    /// `DEPLOYMENT`: a set of deployed resources.
    Deployment(DeploymentValue),
    /// `PROCESS`: one deployed process definition.
    Process(ProcessValue),
    /// `MESSAGE`: a published message.
    Message(MessageValue),
    /// `TIMER`: a scheduled timer event.
    Timer(TimerValue),
    /// `ERROR`: an unexpected failure while processing a record.
    Error(ErrorValue),
    /// `SIGNAL`: a broadcast signal.
    Signal(SignalValue),
    /// `MESSAGE_SUBSCRIPTION`: a process instance waiting for a message (message side).
    MessageSubscription(MessageSubscriptionValue),
    /// `PROCESS_MESSAGE_SUBSCRIPTION`: a process instance waiting for a message (process side).
    ProcessMessageSubscription(ProcessMessageSubscriptionValue),
    /// `MESSAGE_START_EVENT_SUBSCRIPTION`: a message start event of a deployed process.
    MessageStartEventSubscription(MessageStartEventSubscriptionValue),
    /// `SIGNAL_SUBSCRIPTION`: a signal catch or start event waiting for a broadcast.
    SignalSubscription(SignalSubscriptionValue),
    /// `ESCALATION`: an escalation thrown, caught or not.
    Escalation(EscalationValue),
    /// `PROCESS_INSTANCE_MODIFICATION`: elements activated and terminated by an operator.
    ProcessInstanceModification(ProcessInstanceModificationValue),
    /// `RESOURCE_DELETION`: a deployed resource deleted.
    ResourceDeletion(ResourceDeletionValue),
    /// Any other value type, or a value whose shape did not match its type; the JSON
    /// is kept as it came.
    Other(Value),
}

impl RecordValue {
    /// Reads `value` as the typed variant for `value_type`, falling back to
    /// [`RecordValue::Other`] so that ingestion never fails on a value's shape.
    #[must_use]
    pub fn from_json(value_type: &ValueType, value: Value) -> Self {
        fn typed<'a, T: Deserialize<'a>>(
            value: &'a Value,
            wrap: fn(T) -> RecordValue,
        ) -> Option<RecordValue> {
            T::deserialize(value).ok().map(wrap)
        }

        let parsed = match value_type {
            ValueType::ProcessInstance => typed(&value, Self::ProcessInstance),
            ValueType::Job => typed(&value, Self::Job),
            ValueType::Incident => typed(&value, Self::Incident),
            ValueType::Variable => typed(&value, Self::Variable),
            ValueType::Deployment => typed(&value, Self::Deployment),
            ValueType::Process => typed(&value, Self::Process),
            ValueType::Message => typed(&value, Self::Message),
            ValueType::Timer => typed(&value, Self::Timer),
            ValueType::Error => typed(&value, Self::Error),
            ValueType::Signal => typed(&value, Self::Signal),
            ValueType::MessageSubscription => typed(&value, Self::MessageSubscription),
            ValueType::ProcessMessageSubscription => {
                typed(&value, Self::ProcessMessageSubscription)
            }
            ValueType::MessageStartEventSubscription => {
                typed(&value, Self::MessageStartEventSubscription)
            }
            ValueType::SignalSubscription => typed(&value, Self::SignalSubscription),
            ValueType::Escalation => typed(&value, Self::Escalation),
            ValueType::ProcessInstanceModification => {
                typed(&value, Self::ProcessInstanceModification)
            }
            ValueType::ResourceDeletion => typed(&value, Self::ResourceDeletion),
            _ => None,
        };
        parsed.unwrap_or(Self::Other(value))
    }

    /// The value type a typed variant belongs to; `None` for [`RecordValue::Other`].
    #[must_use]
    pub fn value_type(&self) -> Option<ValueType> {
        Some(match self {
            Self::ProcessInstance(_) => ValueType::ProcessInstance,
            Self::Job(_) => ValueType::Job,
            Self::Incident(_) => ValueType::Incident,
            Self::Variable(_) => ValueType::Variable,
            Self::Deployment(_) => ValueType::Deployment,
            Self::Process(_) => ValueType::Process,
            Self::Message(_) => ValueType::Message,
            Self::Timer(_) => ValueType::Timer,
            Self::Error(_) => ValueType::Error,
            Self::Signal(_) => ValueType::Signal,
            Self::MessageSubscription(_) => ValueType::MessageSubscription,
            Self::ProcessMessageSubscription(_) => ValueType::ProcessMessageSubscription,
            Self::MessageStartEventSubscription(_) => ValueType::MessageStartEventSubscription,
            Self::SignalSubscription(_) => ValueType::SignalSubscription,
            Self::Escalation(_) => ValueType::Escalation,
            Self::ProcessInstanceModification(_) => ValueType::ProcessInstanceModification,
            Self::ResourceDeletion(_) => ValueType::ResourceDeletion,
            Self::Other(_) => return None,
        })
    }

    /// The owning tenant: the typed `tenantId`, or a string `tenantId` found in an
    /// untyped value. `None` for values that carry no tenant (e.g. `ERROR`).
    #[must_use]
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Self::ProcessInstance(v) => Some(v.tenant_id.as_str()),
            Self::Job(v) => Some(v.tenant_id.as_str()),
            Self::Incident(v) => Some(v.tenant_id.as_str()),
            Self::Variable(v) => Some(v.tenant_id.as_str()),
            Self::Deployment(v) => Some(v.tenant_id.as_str()),
            Self::Process(v) => Some(v.tenant_id.as_str()),
            Self::Message(v) => Some(v.tenant_id.as_str()),
            Self::Timer(v) => Some(v.tenant_id.as_str()),
            Self::Signal(v) => Some(v.tenant_id.as_str()),
            Self::MessageSubscription(v) => Some(v.tenant_id.as_str()),
            Self::ProcessMessageSubscription(v) => Some(v.tenant_id.as_str()),
            Self::MessageStartEventSubscription(v) => Some(v.tenant_id.as_str()),
            Self::SignalSubscription(v) => Some(v.tenant_id.as_str()),
            Self::Escalation(v) => Some(v.tenant_id.as_str()),
            Self::ProcessInstanceModification(v) => Some(v.tenant_id.as_str()),
            Self::ResourceDeletion(v) => Some(v.tenant_id.as_str()),
            Self::Error(_) => None,
            Self::Other(value) => value.get("tenantId").and_then(Value::as_str),
        }
    }
}

/// `PROCESS_INSTANCE` value: the state of one element instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessInstanceValue {
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Version of the process definition.
    pub version: i32,
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// Key of the process instance this element belongs to.
    pub process_instance_key: i64,
    /// BPMN id of the element.
    pub element_id: String,
    /// Key of the enclosing element instance; -1 for the process itself.
    pub flow_scope_key: i64,
    /// Element kind, e.g. `SERVICE_TASK`, `PROCESS`, `START_EVENT`.
    pub bpmn_element_type: String,
    /// Event definition of an event element, e.g. `TIMER`, `MESSAGE`, `NONE`.
    pub bpmn_event_type: String,
    /// For a called process: the caller's process instance key, else -1.
    pub parent_process_instance_key: i64,
    /// For a called process: the call activity's instance key, else -1.
    pub parent_element_instance_key: i64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here (e.g. element instance paths of newer brokers).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `JOB` value: a task handed to workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JobValue {
    /// Job type workers subscribe to.
    #[serde(rename = "type")]
    pub job_type: String,
    /// Worker that activated the job; empty until activated.
    pub worker: String,
    /// Retries left.
    pub retries: i32,
    /// Until when the activating worker holds the job, epoch ms; -1 if not held.
    pub deadline: i64,
    /// Lock duration used for the deadline, ms; -1 if unset.
    pub timeout: i64,
    /// Delay before a failed job may be retried, ms.
    pub retry_backoff: i64,
    /// When a backed-off job becomes activatable again, epoch ms.
    pub recurring_time: i64,
    /// Static headers from the task definition.
    pub custom_headers: BTreeMap<String, String>,
    /// Variables as a JSON object.
    pub variables: Map<String, Value>,
    /// BPMN error code thrown by the worker.
    pub error_code: String,
    /// Failure or error message from the worker.
    pub error_message: String,
    /// BPMN id of the task.
    pub element_id: String,
    /// Key of the task's element instance.
    pub element_instance_key: i64,
    /// Key of the process instance.
    pub process_instance_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// Version of the process definition.
    pub process_definition_version: i32,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here (e.g. job kind and listener data of newer brokers).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `INCIDENT` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IncidentValue {
    /// Category, e.g. `JOB_NO_RETRIES`, `IO_MAPPING_ERROR`, `UNHANDLED_ERROR_EVENT`.
    pub error_type: String,
    /// What went wrong.
    pub error_message: String,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// Key of the process instance.
    pub process_instance_key: i64,
    /// BPMN id of the failing element.
    pub element_id: String,
    /// Key of the failing element instance.
    pub element_instance_key: i64,
    /// Key of the failed job, or -1.
    pub job_key: i64,
    /// Scope whose variables must be fixed to resolve the incident.
    pub variable_scope_key: i64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `VARIABLE` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VariableValue {
    /// Variable name.
    pub name: String,
    /// The value as JSON text, e.g. `"\"gold\""` or `"42"`.
    pub value: String,
    /// Key of the scope (process or element instance) that holds the variable.
    pub scope_key: i64,
    /// Key of the process instance.
    pub process_instance_key: i64,
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `DEPLOYMENT` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentValue {
    /// The deployed files.
    pub resources: Vec<DeploymentResource>,
    /// Processes the deployment defined.
    pub processes_metadata: Vec<ProcessMetadataValue>,
    /// Decisions the deployment defined, as exported.
    pub decisions_metadata: Vec<Value>,
    /// Decision requirements graphs the deployment defined, as exported.
    pub decision_requirements_metadata: Vec<Value>,
    /// Forms the deployment defined, as exported.
    pub form_metadata: Vec<Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One file of a deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentResource {
    /// File name, e.g. `order.bpmn`.
    pub resource_name: String,
    /// File content, base64 as the exporter writes bytes.
    pub resource: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A process definition as listed in a deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessMetadataValue {
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Assigned version.
    pub version: i32,
    /// Assigned key.
    pub process_definition_key: i64,
    /// File the process came from.
    pub resource_name: String,
    /// Checksum of the resource, base64.
    pub checksum: String,
    /// Whether an identical resource was already deployed (no new version).
    pub duplicate: bool,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here (e.g. deployment key, version tag).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PROCESS` value: one deployed process definition with its resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessValue {
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Assigned version.
    pub version: i32,
    /// Assigned key.
    pub process_definition_key: i64,
    /// File the process came from.
    pub resource_name: String,
    /// Checksum of the resource, base64.
    pub checksum: String,
    /// The BPMN XML, base64.
    pub resource: String,
    /// Whether an identical resource was already deployed.
    pub duplicate: bool,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `MESSAGE` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageValue {
    /// Message name.
    pub name: String,
    /// Correlation key.
    pub correlation_key: String,
    /// Optional de-duplication id.
    pub message_id: String,
    /// How long the message is buffered, ms.
    pub time_to_live: i64,
    /// When the buffered message expires, epoch ms.
    pub deadline: i64,
    /// Variables as a JSON object.
    pub variables: Map<String, Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `TIMER` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimerValue {
    /// Element instance waiting on the timer; -1 for a timer start event.
    pub element_instance_key: i64,
    /// Key of the process instance; -1 for a timer start event.
    pub process_instance_key: i64,
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// When the timer fires, epoch ms.
    pub due_date: i64,
    /// BPMN id of the timer event.
    pub target_element_id: String,
    /// Repetitions left for a cycle; -1 for an unbounded cycle.
    pub repetitions: i32,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ERROR` value: the engine failed to process a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorValue {
    /// Exception message.
    pub exception_message: String,
    /// Stack trace or equivalent diagnostic text.
    pub stacktrace: String,
    /// Position of the record whose processing failed.
    pub error_event_position: i64,
    /// Affected process instance, or -1.
    pub process_instance_key: i64,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `SIGNAL` value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignalValue {
    /// Signal name.
    pub signal_name: String,
    /// Variables as a JSON object.
    pub variables: Map<String, Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn minus_one() -> i64 {
    -1
}

fn yes() -> bool {
    true
}

/// `MESSAGE_SUBSCRIPTION` value: the message side of a process instance waiting for a
/// message (opened, correlating, correlated, deleted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageSubscriptionValue {
    /// Key of the waiting process instance.
    pub process_instance_key: i64,
    /// Key of the element instance that owns the subscription (the catch event, the
    /// activity with the boundary event, or the scope of an event sub-process).
    pub element_instance_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Key of the correlated message; -1 until one correlates.
    pub message_key: i64,
    /// Message name.
    pub message_name: String,
    /// Correlation key, as evaluated when the subscription opened.
    pub correlation_key: String,
    /// Whether correlating closes the subscription (false for non-interrupting events).
    pub interrupting: bool,
    /// Variables of the correlated message.
    pub variables: Map<String, Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for MessageSubscriptionValue {
    fn default() -> Self {
        Self {
            process_instance_key: minus_one(),
            element_instance_key: minus_one(),
            bpmn_process_id: String::new(),
            message_key: minus_one(),
            message_name: String::new(),
            correlation_key: String::new(),
            interrupting: yes(),
            variables: Map::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// `PROCESS_MESSAGE_SUBSCRIPTION` value: the process side of a message subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessMessageSubscriptionValue {
    /// Key of the waiting process instance.
    pub process_instance_key: i64,
    /// Key of the element instance that owns the subscription.
    pub element_instance_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// Key of the correlated message; -1 until one correlates.
    pub message_key: i64,
    /// Message name.
    pub message_name: String,
    /// Correlation key.
    pub correlation_key: String,
    /// BPMN id of the event the message triggers.
    pub element_id: String,
    /// Whether correlating closes the subscription.
    pub interrupting: bool,
    /// Variables of the correlated message.
    pub variables: Map<String, Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProcessMessageSubscriptionValue {
    fn default() -> Self {
        Self {
            process_instance_key: minus_one(),
            element_instance_key: minus_one(),
            bpmn_process_id: String::new(),
            message_key: minus_one(),
            message_name: String::new(),
            correlation_key: String::new(),
            element_id: String::new(),
            interrupting: yes(),
            variables: Map::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// `MESSAGE_START_EVENT_SUBSCRIPTION` value: a message start event of the latest version
/// of a process, and the instance a message started through it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageStartEventSubscriptionValue {
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// BPMN id of the message start event.
    pub start_event_id: String,
    /// Message name.
    pub message_name: String,
    /// Instance created by the correlated message; -1 otherwise.
    pub process_instance_key: i64,
    /// Correlation key of the correlated message.
    pub correlation_key: String,
    /// Key of the correlated message; -1 otherwise.
    pub message_key: i64,
    /// Variables of the correlated message.
    pub variables: Map<String, Value>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for MessageStartEventSubscriptionValue {
    fn default() -> Self {
        Self {
            process_definition_key: minus_one(),
            bpmn_process_id: String::new(),
            start_event_id: String::new(),
            message_name: String::new(),
            process_instance_key: minus_one(),
            correlation_key: String::new(),
            message_key: minus_one(),
            variables: Map::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// `SIGNAL_SUBSCRIPTION` value: a signal start event (`catchEventInstanceKey` -1) or an
/// active signal catch event waiting for a broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SignalSubscriptionValue {
    /// Key of the process definition.
    pub process_definition_key: i64,
    /// BPMN id of the process.
    pub bpmn_process_id: String,
    /// BPMN id of the catching event.
    pub catch_event_id: String,
    /// Element instance that owns the subscription; -1 for a start event.
    pub catch_event_instance_key: i64,
    /// Signal name.
    pub signal_name: String,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for SignalSubscriptionValue {
    fn default() -> Self {
        Self {
            process_definition_key: minus_one(),
            bpmn_process_id: String::new(),
            catch_event_id: String::new(),
            catch_event_instance_key: minus_one(),
            signal_name: String::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// `ESCALATION` value: an escalation thrown by an event (`ESCALATED` when caught,
/// `NOT_ESCALATED` otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EscalationValue {
    /// Key of the process instance of the throwing event.
    pub process_instance_key: i64,
    /// Escalation code.
    pub escalation_code: String,
    /// BPMN id of the throwing event.
    pub throw_element_id: String,
    /// BPMN id of the catching event; empty when not caught.
    pub catch_element_id: String,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for EscalationValue {
    fn default() -> Self {
        Self {
            process_instance_key: minus_one(),
            escalation_code: String::new(),
            throw_element_id: String::new(),
            catch_element_id: String::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// `PROCESS_INSTANCE_MODIFICATION` value: what an operator asked to activate and terminate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessInstanceModificationValue {
    /// Key of the modified process instance.
    pub process_instance_key: i64,
    /// Element instances to terminate.
    pub terminate_instructions: Vec<ModificationTerminateInstruction>,
    /// Elements to activate.
    pub activate_instructions: Vec<ModificationActivateInstruction>,
    /// Every scope instance the activations used or created.
    pub ancestor_scope_keys: Vec<i64>,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ProcessInstanceModificationValue {
    fn default() -> Self {
        Self {
            process_instance_key: minus_one(),
            terminate_instructions: Vec::new(),
            activate_instructions: Vec::new(),
            ancestor_scope_keys: Vec::new(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}

/// One terminate instruction of a [`ProcessInstanceModificationValue`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModificationTerminateInstruction {
    /// The element instance to terminate.
    pub element_instance_key: i64,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One activate instruction of a [`ProcessInstanceModificationValue`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModificationActivateInstruction {
    /// BPMN id of the element to activate.
    pub element_id: String,
    /// The ancestor scope instance chosen by the caller; -1 to let the engine pick.
    pub ancestor_scope_key: i64,
    /// Variables to set on scopes of the activated element.
    pub variable_instructions: Vec<ModificationVariableInstruction>,
    /// Scope instances the activation used or created, innermost last.
    pub ancestor_scope_keys: Vec<i64>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ModificationActivateInstruction {
    fn default() -> Self {
        Self {
            element_id: String::new(),
            ancestor_scope_key: minus_one(),
            variable_instructions: Vec::new(),
            ancestor_scope_keys: Vec::new(),
            extra: Map::new(),
        }
    }
}

/// Variables for one scope of an activate instruction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModificationVariableInstruction {
    /// BPMN id of the scope element; empty for the process instance.
    pub element_id: String,
    /// The variables.
    pub variables: Map<String, Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `RESOURCE_DELETION` value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceDeletionValue {
    /// Key of the deleted resource (e.g. a process definition key).
    pub resource_key: i64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ResourceDeletionValue {
    fn default() -> Self {
        Self {
            resource_key: minus_one(),
            tenant_id: TenantId::default(),
            extra: Map::new(),
        }
    }
}
