//! The processor: turns one command into events, against the current state.
//!
//! [`process`] is the whole contract: `(state, command, now) -> Processed`. It reads
//! nothing but its arguments and does no I/O. Each event it writes is applied to the
//! state at once through [`State::apply`], the same function replay uses, so later
//! steps of the same command see earlier ones and a replayed log rebuilds the same state.
//!
//! Every handler checks first and writes second: a command is either rejected with no
//! event written, or accepted.
//!
//! One module per concern: [`deploy`] (and the start events of the latest version),
//! [`instance`] (create, cancel, set variables), [`element`] (the BPMN element
//! lifecycle state machine) with [`behavior`] (what each kind of element does),
//! [`events`] (subscriptions an element opens, and what a
//! triggered event does: catch, boundary, event sub-process, event-based gateway),
//! [`timer`], [`message`] (publish, buffer, correlate), [`signal`], [`throw`] (errors
//! and escalations, caught or not), [`gateways`] (exclusive, inclusive fork and join),
//! [`multi_instance`], [`call_activity`], [`modify`] (process instance modification),
//! [`resource`] (resource deletion), [`job`], [`incident`], and [`variables`] (scopes,
//! mappings and FEEL).

mod behavior;
mod call_activity;
mod deploy;
mod element;
mod events;
mod gateways;
mod incident;
mod instance;
mod job;
mod message;
pub mod modify;
mod multi_instance;
mod resource;
mod signal;
mod throw;
mod timer;
mod variables;

pub use modify::{ActivateInstruction, VariableInstruction};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeebe::record::{
    IncidentErrorType, Intent, JobValue, Record, RecordType, RecordValue, RejectionType, TenantId,
    ValueType,
};

use crate::state::{ApplyError, State};

/// Version reported in records and the topology.
pub const BROKER_VERSION: &str = "8.6.0";

/// A resource to deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// File name, e.g. `order.bpmn`.
    pub name: String,
    /// File content.
    pub content: Vec<u8>,
}

/// Which process definition to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessSelector {
    /// A definition by key.
    Key(i64),
    /// The latest (`version: None`) or a given version of a BPMN process id.
    Id {
        /// BPMN process id.
        bpmn_process_id: String,
        /// Version; `None` for the latest.
        version: Option<i32>,
    },
}

/// A request to the engine. Commands are logged before their events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Deploy BPMN resources.
    Deploy {
        /// Owning tenant.
        tenant_id: TenantId,
        /// The files.
        resources: Vec<Resource>,
    },
    /// Start a process instance.
    CreateInstance {
        /// Which definition.
        process: ProcessSelector,
        /// Owning tenant (must match the definition's).
        tenant_id: TenantId,
        /// Initial variables.
        variables: Map<String, Value>,
    },
    /// Cancel a process instance.
    CancelInstance {
        /// The process instance key.
        process_instance_key: i64,
    },
    /// Set variables on a scope.
    SetVariables {
        /// Scope: a process instance or element instance key.
        element_instance_key: i64,
        /// Variables to set.
        variables: Map<String, Value>,
        /// Only on this scope (`true`) or where each variable already lives (`false`).
        local: bool,
    },
    /// Hand activatable jobs to a worker.
    ActivateJobs {
        /// Job type.
        job_type: String,
        /// Worker name.
        worker: String,
        /// How long the worker holds the jobs, ms.
        timeout: i64,
        /// At most this many jobs.
        max_jobs: i32,
        /// Only these variables (all when empty).
        fetch_variables: Vec<String>,
        /// Only jobs of these tenants (the default tenant when empty).
        tenant_ids: Vec<TenantId>,
    },
    /// A worker finished a job.
    CompleteJob {
        /// Job key.
        job_key: i64,
        /// Result variables.
        variables: Map<String, Value>,
    },
    /// A worker failed a job.
    FailJob {
        /// Job key.
        job_key: i64,
        /// Retries left.
        retries: i32,
        /// Why.
        error_message: String,
        /// Delay before the job may be activated again, ms.
        retry_backoff: i64,
        /// Variables to set on the task.
        variables: Map<String, Value>,
    },
    /// A worker reports a BPMN error.
    ThrowError {
        /// Job key.
        job_key: i64,
        /// Error code to match against error events.
        error_code: String,
        /// Message.
        error_message: String,
        /// Variables for the catching event.
        variables: Map<String, Value>,
    },
    /// Change a job's retries.
    UpdateJobRetries {
        /// Job key.
        job_key: i64,
        /// New retries.
        retries: i32,
    },
    /// Change an activated job's deadline to now + `timeout`.
    UpdateJobTimeout {
        /// Job key.
        job_key: i64,
        /// New timeout from now, ms.
        timeout: i64,
    },
    /// Resolve an incident and retry what failed.
    ResolveIncident {
        /// Incident key.
        incident_key: i64,
    },
    /// Publish (buffer) a message.
    PublishMessage {
        /// Message name.
        name: String,
        /// Correlation key.
        correlation_key: String,
        /// Time to live, ms.
        time_to_live: i64,
        /// De-duplication id; empty for none.
        message_id: String,
        /// Message variables.
        variables: Map<String, Value>,
        /// Owning tenant.
        tenant_id: TenantId,
    },
    /// Broadcast a signal to every signal subscription with its name.
    BroadcastSignal {
        /// Signal name.
        name: String,
        /// Signal variables.
        variables: Map<String, Value>,
        /// Owning tenant.
        tenant_id: TenantId,
    },
    /// Activate and terminate elements of a running process instance.
    ModifyProcessInstance {
        /// The process instance key.
        process_instance_key: i64,
        /// Elements to activate.
        #[serde(default)]
        activate: Vec<ActivateInstruction>,
        /// Element instances to terminate.
        #[serde(default)]
        terminate: Vec<i64>,
    },
    /// Delete a deployed resource (a process definition).
    DeleteResource {
        /// The process definition key.
        resource_key: i64,
    },
    /// Do what is due at the current time: timers, job time-outs, back-offs, message
    /// expiry.
    Tick,
}

/// The tenants a command may touch: Zeebe's "authorized tenants" of a request.
///
/// A command addressing an existing key (a job, an incident, an element instance, a
/// process definition) of a tenant outside this set is answered exactly as if the key did
/// not exist, so keys of other tenants cannot be probed; a command naming a tenant outside
/// it is refused as unauthorised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthorizedTenants {
    /// Every tenant: the engine's own work (ticks) and in-process callers that were
    /// authorised already.
    #[default]
    Any,
    /// Only these (shared: a caller's set is made once and cloned cheaply per command).
    Only(std::sync::Arc<[TenantId]>),
}

impl AuthorizedTenants {
    /// Only `tenant`.
    #[must_use]
    pub fn only(tenant: TenantId) -> Self {
        Self::Only(std::sync::Arc::new([tenant]))
    }

    /// Whether `tenant` may be touched.
    #[must_use]
    pub fn allows(&self, tenant: &TenantId) -> bool {
        match self {
            Self::Any => true,
            Self::Only(tenants) => tenants.contains(tenant),
        }
    }
}

/// A process definition as reported to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMetadata {
    /// BPMN id.
    pub bpmn_process_id: String,
    /// Version.
    pub version: i32,
    /// Definition key.
    pub process_definition_key: i64,
    /// Resource name.
    pub resource_name: String,
    /// Owning tenant.
    pub tenant_id: TenantId,
}

/// A job handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivatedJob {
    /// Job key.
    pub key: i64,
    /// The job, with the variables the worker asked for and its deadline.
    pub job: JobValue,
}

/// What an accepted command answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Resources deployed (or found identical to deployed ones).
    Deployed {
        /// Deployment key.
        key: i64,
        /// Owning tenant.
        tenant_id: TenantId,
        /// The process definitions.
        processes: Vec<ProcessMetadata>,
    },
    /// Instance started.
    InstanceCreated {
        /// Definition key.
        process_definition_key: i64,
        /// BPMN id.
        bpmn_process_id: String,
        /// Version.
        version: i32,
        /// The new process instance key.
        process_instance_key: i64,
        /// Owning tenant.
        tenant_id: TenantId,
    },
    /// Variables set; the key of the variable document.
    VariablesSet {
        /// Key of the update.
        key: i64,
    },
    /// Jobs activated (possibly none).
    JobsActivated(Vec<ActivatedJob>),
    /// Signal broadcast.
    SignalBroadcast {
        /// Signal key.
        key: i64,
        /// Owning tenant.
        tenant_id: TenantId,
    },
    /// Message buffered.
    MessagePublished {
        /// Message key.
        key: i64,
        /// Owning tenant.
        tenant_id: TenantId,
    },
    /// Done, nothing to report.
    Accepted,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    /// Zeebe's rejection type.
    pub kind: RejectionType,
    /// Human-readable reason.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        Self {
            kind: RejectionType::NotFound,
            reason: reason.into(),
        }
    }
    pub(crate) fn invalid_argument(reason: impl Into<String>) -> Self {
        Self {
            kind: RejectionType::InvalidArgument,
            reason: reason.into(),
        }
    }
    pub(crate) fn invalid_state(reason: impl Into<String>) -> Self {
        Self {
            kind: RejectionType::InvalidState,
            reason: reason.into(),
        }
    }
    pub(crate) fn unauthorized(reason: impl Into<String>) -> Self {
        Self {
            kind: RejectionType::Unauthorized,
            reason: reason.into(),
        }
    }
    pub(crate) fn already_exists(reason: impl Into<String>) -> Self {
        Self {
            kind: RejectionType::AlreadyExists,
            reason: reason.into(),
        }
    }
}

/// A process instance that completed while processing a command.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedInstance {
    /// Process instance key.
    pub process_instance_key: i64,
    /// Its variables at completion.
    pub variables: Map<String, Value>,
}

/// The outcome of processing one command.
#[derive(Debug)]
pub struct Processed {
    /// Records written, in order (events, or one rejection).
    pub records: Vec<Record>,
    /// The answer for the client.
    pub response: Result<Response, Rejection>,
    /// Process instances that completed.
    pub completed: Vec<CompletedInstance>,
    /// Process instances that were terminated.
    pub terminated: Vec<i64>,
    /// Whether jobs may have become activatable.
    pub jobs_available: bool,
}

/// How many element transitions one command may cause before the processor stops the
/// instance with an incident, so a loop of automatic elements cannot stall the engine.
pub const MAX_STEPS_PER_COMMAND: usize = 10_000;

/// Processing context: the state being changed, the time, and the records written.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a mut State,
    pub(crate) now: i64,
    /// The operation reference of the command being processed, -1 for none.
    pub(crate) operation_reference: i64,
    /// The tenants the command may touch.
    pub(crate) tenants: &'a AuthorizedTenants,
    pub(crate) records: Vec<Record>,
    pub(crate) completed: Vec<CompletedInstance>,
    pub(crate) terminated: Vec<i64>,
    pub(crate) jobs_available: bool,
    pub(crate) steps: usize,
    pub(crate) queue: std::collections::VecDeque<element::Step>,
    /// Element instances activated by an event in this command: they complete at once
    /// instead of opening their own subscriptions.
    pub(crate) triggered: std::collections::HashSet<i64>,
}

impl Ctx<'_> {
    pub(crate) fn next_key(&mut self) -> i64 {
        self.state.keys.next_key()
    }

    /// Writes an event and applies it to the state.
    pub(crate) fn event(&mut self, key: i64, intent: Intent, value: RecordValue) {
        let value_type = value
            .value_type()
            .unwrap_or_else(|| ValueType::Unknown("UNKNOWN".into()));
        self.event_of(value_type, key, intent, value);
    }

    pub(crate) fn event_of(
        &mut self,
        value_type: ValueType,
        key: i64,
        intent: Intent,
        value: RecordValue,
    ) {
        let record = Record {
            partition_id: self.state.partition_id,
            position: self.state.last_position + 1,
            source_record_position: -1,
            key,
            timestamp: self.now,
            record_type: RecordType::Event,
            value_type,
            intent,
            rejection_type: RejectionType::NullVal,
            rejection_reason: String::new(),
            broker_version: BROKER_VERSION.to_owned(),
            record_version: 1,
            operation_reference: self.operation_reference,
            authorizations: None,
            value,
            extra: Map::new(),
        };
        if let Err(e) = self.state.apply(&record) {
            // Deploy parses before it writes, so this is a broken invariant: the steps
            // check what they refer to before they write.
            e.report("applying a freshly written event");
        }
        self.records.push(record);
    }

    /// Reports a broken invariant found while processing (see [`ApplyError`]): panics in
    /// debug builds; in release builds raises an incident on the element instance `key`,
    /// so its process instance stops visibly where the engine went wrong instead of
    /// carrying on past it (resolving the incident retries the step), or only logs the
    /// error when there is no such instance to hold it.
    pub(crate) fn broken(&mut self, key: Option<i64>, error: &ApplyError) {
        error.report("processing a command");
        match key.filter(|k| self.state.elements.contains_key(k)) {
            Some(key) => self.raise_incident(
                key,
                IncidentErrorType::UnknownError,
                format!("the engine's state is inconsistent: {error}"),
                None,
            ),
            None => tracing::error!(error = %error, "no element instance to raise an incident on"),
        }
    }

    /// The outcome of a step or command part: a broken invariant is reported with
    /// [`Ctx::broken`] on `key`.
    pub(crate) fn or_broken<T>(
        &mut self,
        key: Option<i64>,
        result: Result<T, ApplyError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.broken(key, &error);
                None
            }
        }
    }
}

/// Processes one command against `state` at time `now` (epoch ms).
pub fn process(state: &mut State, command: &Command, now: i64) -> Processed {
    process_referenced(state, command, now, -1)
}

/// [`process`] for a command that carries a client's operation reference (Zeebe's
/// `operationReference`, -1 for none): every record the command writes carries it, so a
/// client can tell which records its request caused.
pub fn process_referenced(
    state: &mut State,
    command: &Command,
    now: i64,
    operation_reference: i64,
) -> Processed {
    process_authorized(
        state,
        command,
        now,
        operation_reference,
        &AuthorizedTenants::Any,
    )
}

/// [`process_referenced`] for a command that may touch only `tenants` (see
/// [`AuthorizedTenants`]).
pub fn process_authorized(
    state: &mut State,
    command: &Command,
    now: i64,
    operation_reference: i64,
    tenants: &AuthorizedTenants,
) -> Processed {
    let mut ctx = Ctx {
        state,
        now,
        operation_reference,
        tenants,
        records: Vec::new(),
        completed: Vec::new(),
        terminated: Vec::new(),
        jobs_available: false,
        steps: 0,
        queue: std::collections::VecDeque::new(),
        triggered: std::collections::HashSet::new(),
    };
    let response = match command {
        Command::Deploy { tenant_id, .. }
        | Command::CreateInstance { tenant_id, .. }
        | Command::PublishMessage { tenant_id, .. }
        | Command::BroadcastSignal { tenant_id, .. }
            if !tenants.allows(tenant_id) =>
        {
            Err(Rejection::unauthorized(format!(
                "expected to act for tenant '{tenant_id}', but the request is not authorized for it"
            )))
        }
        Command::Deploy {
            tenant_id,
            resources,
        } => deploy::deploy(&mut ctx, tenant_id, resources),
        Command::CreateInstance {
            process,
            tenant_id,
            variables,
        } => instance::create(&mut ctx, process, tenant_id, variables),
        Command::CancelInstance {
            process_instance_key,
        } => instance::cancel(&mut ctx, *process_instance_key),
        Command::SetVariables {
            element_instance_key,
            variables,
            local,
        } => instance::set_variables(&mut ctx, *element_instance_key, variables, *local),
        Command::ActivateJobs {
            job_type,
            worker,
            timeout,
            max_jobs,
            fetch_variables,
            tenant_ids,
        } => job::activate(
            &mut ctx,
            &job::ActivateRequest {
                job_type,
                worker,
                timeout: *timeout,
                max_jobs: *max_jobs,
                fetch_variables,
                tenant_ids,
            },
        ),
        Command::CompleteJob { job_key, variables } => job::complete(&mut ctx, *job_key, variables),
        Command::FailJob {
            job_key,
            retries,
            error_message,
            retry_backoff,
            variables,
        } => job::fail(
            &mut ctx,
            *job_key,
            *retries,
            error_message,
            *retry_backoff,
            variables,
        ),
        Command::ThrowError {
            job_key,
            error_code,
            error_message,
            variables,
        } => job::throw_error(&mut ctx, *job_key, error_code, error_message, variables),
        Command::UpdateJobRetries { job_key, retries } => {
            job::update_retries(&mut ctx, *job_key, *retries)
        }
        Command::UpdateJobTimeout { job_key, timeout } => {
            job::update_timeout(&mut ctx, *job_key, *timeout)
        }
        Command::ResolveIncident { incident_key } => incident::resolve(&mut ctx, *incident_key),
        Command::PublishMessage {
            name,
            correlation_key,
            time_to_live,
            message_id,
            variables,
            tenant_id,
        } => message::publish(
            &mut ctx,
            &message::Publish {
                name,
                correlation_key,
                time_to_live: *time_to_live,
                message_id,
                variables,
                tenant_id,
            },
        ),
        Command::BroadcastSignal {
            name,
            variables,
            tenant_id,
        } => signal::broadcast_command(&mut ctx, name, variables, tenant_id),
        Command::ModifyProcessInstance {
            process_instance_key,
            activate,
            terminate,
        } => modify::modify(&mut ctx, *process_instance_key, activate, terminate),
        Command::DeleteResource { resource_key } => resource::delete(&mut ctx, *resource_key),
        Command::Tick => {
            job::tick(&mut ctx);
            timer::tick(&mut ctx);
            message::expire(&mut ctx);
            Ok(Response::Accepted)
        }
    };
    if let Err(rejection) = &response {
        debug_assert!(ctx.records.is_empty(), "a rejected command wrote events");
        let mut record = rejection_record(ctx.state, command, rejection, now);
        record.operation_reference = operation_reference;
        ctx.state.last_position = record.position;
        ctx.records.push(record);
    }
    Processed {
        records: ctx.records,
        response,
        completed: ctx.completed,
        terminated: ctx.terminated,
        jobs_available: ctx.jobs_available,
    }
}

fn rejection_record(state: &State, command: &Command, rejection: &Rejection, now: i64) -> Record {
    let (value_type, intent) = match command {
        Command::Deploy { .. } => (ValueType::Deployment, Intent::CREATE),
        Command::CreateInstance { .. } => (ValueType::ProcessInstanceCreation, Intent::CREATE),
        Command::CancelInstance { .. } => (ValueType::ProcessInstance, Intent::CANCEL),
        Command::SetVariables { .. } => (ValueType::VariableDocument, Intent::new("UPDATE")),
        Command::ActivateJobs { .. } => (ValueType::JobBatch, Intent::new("ACTIVATE")),
        Command::CompleteJob { .. } => (ValueType::Job, Intent::COMPLETE),
        Command::FailJob { .. } => (ValueType::Job, Intent::FAIL),
        Command::ThrowError { .. } => (ValueType::Job, Intent::THROW_ERROR),
        Command::UpdateJobRetries { .. } => (ValueType::Job, Intent::new("UPDATE_RETRIES")),
        Command::UpdateJobTimeout { .. } => (ValueType::Job, Intent::new("UPDATE_TIMEOUT")),
        Command::ResolveIncident { .. } => (ValueType::Incident, Intent::new("RESOLVE")),
        Command::PublishMessage { .. } => (ValueType::Message, Intent::PUBLISH),
        Command::BroadcastSignal { .. } => (ValueType::Signal, Intent::BROADCAST),
        Command::ModifyProcessInstance { .. } => (
            ValueType::ProcessInstanceModification,
            Intent::new("MODIFY"),
        ),
        Command::DeleteResource { .. } => (ValueType::ResourceDeletion, Intent::new("DELETE")),
        Command::Tick => (ValueType::Unknown("TICK".into()), Intent::new("TICK")),
    };
    let tenant = match command {
        Command::Deploy { tenant_id, .. }
        | Command::CreateInstance { tenant_id, .. }
        | Command::PublishMessage { tenant_id, .. }
        | Command::BroadcastSignal { tenant_id, .. } => tenant_id.clone(),
        _ => TenantId::default(),
    };
    let mut value = serde_json::to_value(command).unwrap_or(Value::Null);
    if let Some(obj) = value
        .as_object_mut()
        .and_then(|m| m.values_mut().next())
        .and_then(Value::as_object_mut)
    {
        obj.insert("tenantId".into(), Value::String(tenant.into_string()));
    }
    let value = value
        .as_object()
        .and_then(|m| m.values().next().cloned())
        .unwrap_or(Value::Null);
    Record {
        partition_id: state.partition_id,
        position: state.last_position + 1,
        source_record_position: -1,
        key: -1,
        timestamp: now,
        record_type: RecordType::CommandRejection,
        value_type,
        intent,
        rejection_type: rejection.kind.clone(),
        rejection_reason: rejection.reason.clone(),
        broker_version: BROKER_VERSION.to_owned(),
        record_version: 1,
        operation_reference: -1,
        authorizations: None,
        value: RecordValue::Other(value),
        extra: Map::new(),
    }
}
