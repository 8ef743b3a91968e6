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
