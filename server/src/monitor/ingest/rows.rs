//! What a batch of records folds into: the final state of each projected row, and the audit
//! events waiting to be completed from the database. States are enums here and become the
//! projections' text only when written.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{domain::TenantId, monitor::trail::NewEvent};

/// A record's tenant and environment.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) tenant: TenantId,
    pub(super) environment_id: Uuid,
    pub(super) environment: String,
}

/// The state of a process instance (`process_instances.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InstanceState {
    Active,
    Completed,
    Terminated,
}

impl InstanceState {
    /// Every intent other than the two that end an instance leaves it active.
    pub(super) fn of(intent: &str) -> Self {
        match intent {
            "ELEMENT_COMPLETED" => Self::Completed,
            "ELEMENT_TERMINATED" => Self::Terminated,
            _ => Self::Active,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
        }
    }
}

/// The state of an element instance or a taken sequence flow (`element_instances.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ElementState {
    Taken,
    Activating,
    Activated,
    Completing,
    Completed,
    Terminating,
    Terminated,
}

impl ElementState {
    pub(super) fn of(intent: &str) -> Option<Self> {
        Some(match intent {
            "SEQUENCE_FLOW_TAKEN" => Self::Taken,
            "ELEMENT_ACTIVATING" => Self::Activating,
            "ELEMENT_ACTIVATED" => Self::Activated,
            "ELEMENT_COMPLETING" => Self::Completing,
            "ELEMENT_COMPLETED" => Self::Completed,
            "ELEMENT_TERMINATING" => Self::Terminating,
            "ELEMENT_TERMINATED" => Self::Terminated,
            _ => return None,
        })
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Taken => "taken",
            Self::Activating => "activating",
            Self::Activated => "activated",
            Self::Completing => "completing",
            Self::Completed => "completed",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
        }
    }

    /// A sequence flow is taken in an instant, so it ends when it is taken.
    pub(super) fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Terminated | Self::Taken)
    }
}

/// The state of an incident (`incidents.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IncidentState {
    Active,
    Resolved,
}

impl IncidentState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Resolved => "resolved",
        }
    }
}

/// The state of a job (`jobs.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobState {
    Created,
    Activated,
    Completed,
    Failed,
    TimedOut,
    ErrorThrown,
    Canceled,
}

impl JobState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Activated => "activated",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::ErrorThrown => "error_thrown",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct DefinitionRow {
    pub(super) target: Target,
    pub(super) key: i64,
    pub(super) bpmn_process_id: String,
    pub(super) version: i32,
    pub(super) resource_name: String,
    pub(super) xml: String,
    pub(super) at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(super) struct InstanceRow {
    pub(super) target: Target,
    pub(super) key: i64,
    pub(super) definition_key: i64,
    pub(super) bpmn_process_id: String,
    pub(super) version: i32,
    pub(super) state: InstanceState,
    pub(super) parent_instance: Option<i64>,
    pub(super) parent_element: Option<i64>,
    pub(super) start: DateTime<Utc>,
    pub(super) end: Option<DateTime<Utc>>,
    pub(super) timestamp: i64,
    pub(super) position: i64,
}

#[derive(Debug, Clone)]
pub(super) struct ElementRow {
    pub(super) target: Target,
    pub(super) key: i64,
    pub(super) instance: i64,
    pub(super) flow_scope: i64,
    pub(super) element_id: String,
    pub(super) element_type: String,
    pub(super) event_type: String,
    pub(super) bpmn_process_id: String,
    pub(super) state: ElementState,
    pub(super) start: DateTime<Utc>,
    pub(super) end: Option<DateTime<Utc>>,
    pub(super) timestamp: i64,
    pub(super) position: i64,
}

#[derive(Debug, Clone)]
pub(super) struct IncidentRow {
    pub(super) target: Target,
    pub(super) key: i64,
    pub(super) instance: i64,
    pub(super) element_instance: i64,
    pub(super) element_id: String,
    pub(super) bpmn_process_id: String,
    pub(super) error_type: String,
    pub(super) error_message: String,
    pub(super) job_key: Option<i64>,
    pub(super) state: IncidentState,
    pub(super) created: DateTime<Utc>,
    pub(super) resolved: Option<DateTime<Utc>>,
    pub(super) timestamp: i64,
    pub(super) position: i64,
}

#[derive(Debug, Clone)]
pub(super) struct VariableRow {
    pub(super) target: Target,
    pub(super) scope: i64,
    pub(super) name: String,
    pub(super) instance: i64,
    pub(super) bpmn_process_id: String,
    pub(super) value: String,
    pub(super) at: DateTime<Utc>,
    pub(super) timestamp: i64,
    pub(super) position: i64,
}

#[derive(Debug, Clone)]
pub(super) struct JobRow {
    pub(super) target: Target,
    pub(super) key: i64,
    pub(super) instance: i64,
    pub(super) element_instance: i64,
    pub(super) element_id: String,
    pub(super) bpmn_process_id: String,
    pub(super) job_type: String,
    pub(super) worker: String,
    pub(super) retries: i32,
    /// `None`: the batch changed details (retries, deadline), not the state.
    pub(super) state: Option<JobState>,
    pub(super) error_message: String,
    pub(super) deadline: Option<DateTime<Utc>>,
    pub(super) at: DateTime<Utc>,
    pub(super) timestamp: i64,
    pub(super) position: i64,
}

/// An audit event waiting for what only the database knows (durations, who started it).
#[derive(Debug)]
pub(super) struct PendingEvent {
    pub(super) tenant: TenantId,
    pub(super) event: NewEvent,
    /// The element instance (or process instance, `true`) whose start gives the duration.
    pub(super) duration_of: Option<(Uuid, i64, bool)>,
    /// A process start (its context names who started it, or `engine client`).
    pub(super) is_start: bool,
    /// The operation reference of the record, -1 for none.
    pub(super) operation: i64,
    /// The definition whose element names give the event's `taskName`.
    pub(super) definition: Option<(Uuid, i64)>,
}

/// An instance's open incidents after a recount, with what its delta needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Recounted {
    pub(super) incidents: i32,
    pub(super) state: String,
    pub(super) bpmn_process_id: String,
}
