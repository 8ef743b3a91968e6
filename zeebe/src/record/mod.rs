//! Exporter records in the JSON shape Zeebe's exporters write.
//!
//! A record is one entry of a partition's log: an event, a command, or a command
//! rejection. The embedded engine emits them and the server ingests them from two
//! places, the engine in-process and exporters on real clusters that POST them, so
//! this module has to read everything a Zeebe 8.x broker can produce:
//!
//! * `recordType`, `valueType`, `rejectionType` and `intent` are open sets: a name
//!   this crate does not know yet is kept verbatim (`Unknown(..)` variants, and
//!   [`Intent`] is a string newtype);
//! * the element, event and incident error types inside values are open sets as well
//!   ([`ElementType`], [`EventType`], [`IncidentErrorType`]); the values themselves keep
//!   them as the strings that were read, and code that matches on them converts;
//! * the value is typed for the value types the product works with (see
//!   [`RecordValue`]); every other value type, or a value whose shape does not match,
//!   is kept as [`RecordValue::Other`] with its JSON intact;
//! * fields this crate does not model, at the top level and inside typed values, are
//!   kept in `extra` maps and written back unchanged.
//!
//! Field names are Zeebe's camelCase JSON names; `(partitionId, position)` identifies a
//! record uniquely and is what ingestion de-duplicates on.

mod value;

use std::{borrow::Cow, fmt};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use crate::tenant::{InvalidTenantId, TenantId};
pub use value::{
    DeploymentResource, DeploymentValue, ErrorValue, EscalationValue, IncidentValue, JobValue,
    MessageStartEventSubscriptionValue, MessageSubscriptionValue, MessageValue,
    ModificationActivateInstruction, ModificationTerminateInstruction,
    ModificationVariableInstruction, ProcessInstanceModificationValue, ProcessInstanceValue,
    ProcessMessageSubscriptionValue, ProcessMetadataValue, ProcessValue, RecordValue,
    ResourceDeletionValue, SignalSubscriptionValue, SignalValue, TimerValue, VariableValue,
};

/// Declares a string enum whose unknown names survive a round trip.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $wire, "`")] $variant, )*
            /// A name this crate does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The name as Zeebe writes it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(name) => name,
                }
            }

            /// The name as Zeebe writes it, as an owned string.
            #[must_use]
            pub fn into_string(self) -> String {
                match self {
                    Self::Unknown(name) => name,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(name: &str) -> Self {
                match name {
                    $( $wire => Self::$variant, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(name: String) -> Self {
                match Self::from(name.as_str()) {
                    Self::Unknown(_) => Self::Unknown(name),
                    known => known,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    };
}

open_enum! {
    /// Whether a record is something that happened, a request, or a refused request.
    pub enum RecordType {
        Event = "EVENT",
        Command = "COMMAND",
        CommandRejection = "COMMAND_REJECTION",
    }
}

open_enum! {
    /// What kind of entity a record is about; decides the shape of `value`.
    pub enum ValueType {
        Job = "JOB",
        Deployment = "DEPLOYMENT",
        ProcessInstance = "PROCESS_INSTANCE",
        Incident = "INCIDENT",
        Message = "MESSAGE",
        MessageSubscription = "MESSAGE_SUBSCRIPTION",
        ProcessMessageSubscription = "PROCESS_MESSAGE_SUBSCRIPTION",
        JobBatch = "JOB_BATCH",
        Timer = "TIMER",
        MessageStartEventSubscription = "MESSAGE_START_EVENT_SUBSCRIPTION",
        Variable = "VARIABLE",
        VariableDocument = "VARIABLE_DOCUMENT",
        ProcessInstanceCreation = "PROCESS_INSTANCE_CREATION",
        Error = "ERROR",
        ProcessInstanceResult = "PROCESS_INSTANCE_RESULT",
        Process = "PROCESS",
        DeploymentDistribution = "DEPLOYMENT_DISTRIBUTION",
        ProcessEvent = "PROCESS_EVENT",
        Decision = "DECISION",
        DecisionRequirements = "DECISION_REQUIREMENTS",
        DecisionEvaluation = "DECISION_EVALUATION",
        ProcessInstanceModification = "PROCESS_INSTANCE_MODIFICATION",
        Escalation = "ESCALATION",
        SignalSubscription = "SIGNAL_SUBSCRIPTION",
        Signal = "SIGNAL",
        ResourceDeletion = "RESOURCE_DELETION",
        CommandDistribution = "COMMAND_DISTRIBUTION",
        ProcessInstanceBatch = "PROCESS_INSTANCE_BATCH",
        Form = "FORM",
        UserTask = "USER_TASK",
        ProcessInstanceMigration = "PROCESS_INSTANCE_MIGRATION",
        CompensationSubscription = "COMPENSATION_SUBSCRIPTION",
        MessageCorrelation = "MESSAGE_CORRELATION",
    }
}

open_enum! {
    /// Why a command was rejected; `NULL_VAL` on records that are not rejections.
    #[derive(Default)]
    pub enum RejectionType {
        InvalidArgument = "INVALID_ARGUMENT",
        NotFound = "NOT_FOUND",
        AlreadyExists = "ALREADY_EXISTS",
        InvalidState = "INVALID_STATE",
        ProcessingError = "PROCESSING_ERROR",
        ExceededBatchRecordSize = "EXCEEDED_BATCH_RECORD_SIZE",
        Unauthorized = "UNAUTHORIZED",
        Forbidden = "FORBIDDEN",
        #[default]
        NullVal = "NULL_VAL",
    }
}

open_enum! {
    /// What kind of BPMN element an element instance is (`bpmnElementType` of a
    /// `PROCESS_INSTANCE` value).
    pub enum ElementType {
        Unspecified = "UNSPECIFIED",
        Process = "PROCESS",
        SubProcess = "SUB_PROCESS",
        EventSubProcess = "EVENT_SUB_PROCESS",
        AdHocSubProcess = "AD_HOC_SUB_PROCESS",
        StartEvent = "START_EVENT",
        IntermediateCatchEvent = "INTERMEDIATE_CATCH_EVENT",
        IntermediateThrowEvent = "INTERMEDIATE_THROW_EVENT",
        BoundaryEvent = "BOUNDARY_EVENT",
        EndEvent = "END_EVENT",
        ServiceTask = "SERVICE_TASK",
        ReceiveTask = "RECEIVE_TASK",
        UserTask = "USER_TASK",
        ManualTask = "MANUAL_TASK",
        Task = "TASK",
        ExclusiveGateway = "EXCLUSIVE_GATEWAY",
        InclusiveGateway = "INCLUSIVE_GATEWAY",
        ParallelGateway = "PARALLEL_GATEWAY",
        EventBasedGateway = "EVENT_BASED_GATEWAY",
        SequenceFlow = "SEQUENCE_FLOW",
        MultiInstanceBody = "MULTI_INSTANCE_BODY",
        CallActivity = "CALL_ACTIVITY",
        BusinessRuleTask = "BUSINESS_RULE_TASK",
        ScriptTask = "SCRIPT_TASK",
        SendTask = "SEND_TASK",
    }
}

open_enum! {
    /// The event definition of an event element (`bpmnEventType` of a
    /// `PROCESS_INSTANCE` value); `UNSPECIFIED` for elements that are not events.
    pub enum EventType {
        Unspecified = "UNSPECIFIED",
        None = "NONE",
        Timer = "TIMER",
        Message = "MESSAGE",
        Signal = "SIGNAL",
        Error = "ERROR",
        Escalation = "ESCALATION",
        Terminate = "TERMINATE",
        Link = "LINK",
        Conditional = "CONDITIONAL",
        Compensation = "COMPENSATION",
    }
}

open_enum! {
    /// Why an incident was raised (`errorType` of an `INCIDENT` value).
    pub enum IncidentErrorType {
        /// Zeebe's type for a failure of no other type (not a name this crate does not
        /// know: that is `Unknown`).
        UnknownError = "UNKNOWN",
        IoMappingError = "IO_MAPPING_ERROR",
        JobNoRetries = "JOB_NO_RETRIES",
        ExecutionListenerNoRetries = "EXECUTION_LISTENER_NO_RETRIES",
        ConditionError = "CONDITION_ERROR",
        ExtractValueError = "EXTRACT_VALUE_ERROR",
        CalledElementError = "CALLED_ELEMENT_ERROR",
        UnhandledErrorEvent = "UNHANDLED_ERROR_EVENT",
        MessageSizeExceeded = "MESSAGE_SIZE_EXCEEDED",
        CalledDecisionError = "CALLED_DECISION_ERROR",
        DecisionEvaluationError = "DECISION_EVALUATION_ERROR",
        FormNotFound = "FORM_NOT_FOUND",
        ResourceNotFound = "RESOURCE_NOT_FOUND",
    }
}

/// The intent of a record, e.g. `ELEMENT_ACTIVATED` or `CREATE`.
///
/// Intents are scoped by value type and Zeebe adds new ones in minor releases, so
/// this is a string rather than a closed enum. Constants cover the ones the product
/// matches on; compare with `==` against them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Intent(Cow<'static, str>);

impl Intent {
    /// Any intent, by name.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    /// The intent as Zeebe writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    const fn known(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    // Commands.
    /// `CREATE`
    pub const CREATE: Self = Self::known("CREATE");
    /// `ACTIVATE_ELEMENT`
    pub const ACTIVATE_ELEMENT: Self = Self::known("ACTIVATE_ELEMENT");
    /// `COMPLETE_ELEMENT`
    pub const COMPLETE_ELEMENT: Self = Self::known("COMPLETE_ELEMENT");
    /// `TERMINATE_ELEMENT`
    pub const TERMINATE_ELEMENT: Self = Self::known("TERMINATE_ELEMENT");
    /// `CANCEL`
    pub const CANCEL: Self = Self::known("CANCEL");
    /// `COMPLETE`
    pub const COMPLETE: Self = Self::known("COMPLETE");
    /// `FAIL`
    pub const FAIL: Self = Self::known("FAIL");
    /// `THROW_ERROR`
    pub const THROW_ERROR: Self = Self::known("THROW_ERROR");
    /// `RESOLVE`
    pub const RESOLVE: Self = Self::known("RESOLVE");
    /// `PUBLISH`
    pub const PUBLISH: Self = Self::known("PUBLISH");
    /// `BROADCAST`
    pub const BROADCAST: Self = Self::known("BROADCAST");

    // Events.
    /// `CREATED`
    pub const CREATED: Self = Self::known("CREATED");
    /// `ELEMENT_ACTIVATING`
    pub const ELEMENT_ACTIVATING: Self = Self::known("ELEMENT_ACTIVATING");
    /// `ELEMENT_ACTIVATED`
    pub const ELEMENT_ACTIVATED: Self = Self::known("ELEMENT_ACTIVATED");
    /// `ELEMENT_COMPLETING`
    pub const ELEMENT_COMPLETING: Self = Self::known("ELEMENT_COMPLETING");
    /// `ELEMENT_COMPLETED`
    pub const ELEMENT_COMPLETED: Self = Self::known("ELEMENT_COMPLETED");
    /// `ELEMENT_TERMINATING`
    pub const ELEMENT_TERMINATING: Self = Self::known("ELEMENT_TERMINATING");
    /// `ELEMENT_TERMINATED`
    pub const ELEMENT_TERMINATED: Self = Self::known("ELEMENT_TERMINATED");
    /// `SEQUENCE_FLOW_TAKEN`
    pub const SEQUENCE_FLOW_TAKEN: Self = Self::known("SEQUENCE_FLOW_TAKEN");
    /// `COMPLETED`
    pub const COMPLETED: Self = Self::known("COMPLETED");
    /// `FAILED`
    pub const FAILED: Self = Self::known("FAILED");
    /// `TIMED_OUT`
    pub const TIMED_OUT: Self = Self::known("TIMED_OUT");
    /// `RETRIES_UPDATED`
    pub const RETRIES_UPDATED: Self = Self::known("RETRIES_UPDATED");
    /// `TIMEOUT_UPDATED`
    pub const TIMEOUT_UPDATED: Self = Self::known("TIMEOUT_UPDATED");
    /// `ERROR_THROWN`
    pub const ERROR_THROWN: Self = Self::known("ERROR_THROWN");
    /// `CANCELED`
    pub const CANCELED: Self = Self::known("CANCELED");
    /// `RESOLVED`
    pub const RESOLVED: Self = Self::known("RESOLVED");
    /// `UPDATED`
    pub const UPDATED: Self = Self::known("UPDATED");
    /// `PUBLISHED`
    pub const PUBLISHED: Self = Self::known("PUBLISHED");
    /// `EXPIRED`
    pub const EXPIRED: Self = Self::known("EXPIRED");
    /// `TRIGGERED`
    pub const TRIGGERED: Self = Self::known("TRIGGERED");
    /// `BROADCASTED`
    pub const BROADCASTED: Self = Self::known("BROADCASTED");
    /// `DELETED`
    pub const DELETED: Self = Self::known("DELETED");
    /// `MIGRATED`
    pub const MIGRATED: Self = Self::known("MIGRATED");
    /// `MODIFIED`
    pub const MODIFIED: Self = Self::known("MODIFIED");
    /// `CREATING` (process message subscriptions)
    pub const CREATING: Self = Self::known("CREATING");
    /// `CORRELATING` (message subscriptions)
    pub const CORRELATING: Self = Self::known("CORRELATING");
    /// `CORRELATED`
    pub const CORRELATED: Self = Self::known("CORRELATED");
    /// `DELETING`
    pub const DELETING: Self = Self::known("DELETING");
    /// `ESCALATED`
    pub const ESCALATED: Self = Self::known("ESCALATED");
    /// `NOT_ESCALATED`
    pub const NOT_ESCALATED: Self = Self::known("NOT_ESCALATED");
}

impl From<&str> for Intent {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for Intent {
    fn from(name: String) -> Self {
        Self::new(name)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Intent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Intent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// One exported record.
///
/// Deserialising picks the typed [`RecordValue`] variant from `valueType`; serialising
/// writes the same JSON shape back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Partition the record was written on.
    pub partition_id: i32,
    /// Position in the partition's log; unique and increasing per partition.
    pub position: i64,
    /// Position of the record that caused this one, or -1.
    pub source_record_position: i64,
    /// Key of the entity the record is about.
    pub key: i64,
    /// When the record was written, epoch milliseconds.
    pub timestamp: i64,
    /// Event, command or rejection.
    pub record_type: RecordType,
    /// Kind of entity; decides the shape of `value`.
    pub value_type: ValueType,
    /// What happened or is requested.
    pub intent: Intent,
    /// Why a command was rejected; `NULL_VAL` otherwise.
    pub rejection_type: RejectionType,
    /// Human-readable rejection reason; empty unless rejected.
    pub rejection_reason: String,
    /// Version of the broker that wrote the record.
    pub broker_version: String,
    /// Version of the record's own layout, starting at 1.
    pub record_version: i32,
    /// Reference the client attached to the originating command, or -1.
    pub operation_reference: i64,
    /// Who issued the originating command (e.g. `authorized_tenants`), when exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizations: Option<Map<String, Value>>,
    /// The record's payload.
    pub value: RecordValue,
    /// Top-level fields this crate does not model (e.g. from newer brokers).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Record {
    /// The tenant that owns the record's entity, when the value carries one.
    #[must_use]
    pub fn tenant_id(&self) -> Option<&str> {
        self.value.tenant_id()
    }
}

/// The wire shape before `value` is interpreted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    partition_id: i32,
    position: i64,
    #[serde(default = "minus_one")]
    source_record_position: i64,
    key: i64,
    timestamp: i64,
    record_type: RecordType,
    value_type: ValueType,
    intent: Intent,
    #[serde(default, deserialize_with = "null_as_default")]
    rejection_type: RejectionType,
    #[serde(default, deserialize_with = "null_as_default")]
    rejection_reason: String,
    #[serde(default, deserialize_with = "null_as_default")]
    broker_version: String,
    #[serde(default = "one")]
    record_version: i32,
    #[serde(default = "minus_one")]
    operation_reference: i64,
    #[serde(default)]
    authorizations: Option<Map<String, Value>>,
    value: Value,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

fn minus_one() -> i64 {
    -1
}

fn one() -> i32 {
    1
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawRecord::deserialize(deserializer)?;
        let value = RecordValue::from_json(&raw.value_type, raw.value);
        Ok(Self {
            partition_id: raw.partition_id,
            position: raw.position,
            source_record_position: raw.source_record_position,
            key: raw.key,
            timestamp: raw.timestamp,
            record_type: raw.record_type,
            value_type: raw.value_type,
            intent: raw.intent,
            rejection_type: raw.rejection_type,
            rejection_reason: raw.rejection_reason,
            broker_version: raw.broker_version,
            record_version: raw.record_version,
            operation_reference: raw.operation_reference,
            authorizations: raw.authorizations,
            value,
            extra: raw.extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_enums_keep_unknown_names() {
        assert_eq!(ValueType::from("JOB"), ValueType::Job);
        assert_eq!(
            ValueType::from("BATCH_OPERATION_CREATION"),
            ValueType::Unknown("BATCH_OPERATION_CREATION".into())
        );
        assert_eq!(
            ValueType::Unknown("BATCH_OPERATION_CREATION".into()).as_str(),
            "BATCH_OPERATION_CREATION"
        );
        assert_eq!(
            RecordType::from("COMMAND_REJECTION"),
            RecordType::CommandRejection
        );
        assert_eq!(RejectionType::default().as_str(), "NULL_VAL");
    }

    #[test]
    fn element_event_and_error_types_round_trip_their_wire_names() {
        assert_eq!(
            ElementType::from("MULTI_INSTANCE_BODY"),
            ElementType::MultiInstanceBody
        );
        assert_eq!(ElementType::EventSubProcess.as_str(), "EVENT_SUB_PROCESS");
        assert_eq!(
            ElementType::from("AD_HOC_SUB_PROCESS_INNER_INSTANCE"),
            ElementType::Unknown("AD_HOC_SUB_PROCESS_INNER_INSTANCE".into())
        );
        assert_eq!(EventType::from("NONE"), EventType::None);
        assert_eq!(
            serde_json::to_string(&IncidentErrorType::ExtractValueError).unwrap(),
            r#""EXTRACT_VALUE_ERROR""#
        );
        assert_eq!(
            serde_json::from_str::<IncidentErrorType>(r#""JOB_NO_RETRIES""#).unwrap(),
            IncidentErrorType::JobNoRetries
        );
    }

    #[test]
    fn intents_compare_by_name() {
        assert_eq!(Intent::from("ELEMENT_ACTIVATED"), Intent::ELEMENT_ACTIVATED);
        assert_ne!(Intent::new("ELEMENT_ACTIVATED"), Intent::ELEMENT_COMPLETED);
        assert_eq!(
            serde_json::to_string(&Intent::CREATE).unwrap(),
            r#""CREATE""#
        );
    }
}
