//! The one ingest path for engine records, whether they come from an embedded engine's stream
//! or from an exporter's `POST /api/v1/ingest/records`.
//!
//! [`Ingest::apply`] takes a batch of records in Zeebe's exporter shape and, in the caller's
//! transaction:
//!
//! 1. locks the source's cursor per partition and drops records at or before it, so a batch
//!    sent twice, or a stream re-read after a restart, is applied once;
//! 2. folds the rest, in position order, into the final state of every row they touch
//!    (process definitions, instances, element instances, incidents, variables, jobs) and
//!    writes each table with one statement;
//! 3. appends the execution audit events of each tenant to its chain ([`super::audit`]);
//! 4. moves the cursors forward;
//! 5. queues a `NOTIFY` with the deltas, which PostgreSQL delivers to every server replica
//!    when — and only if — the transaction commits ([`super::hub`]).
//!
//! Only events change projections; commands and rejections only move the cursor.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use app::api::monitor_protocol::{Delta, DeltaKind};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, Row};
use tokio::sync::Mutex;
use uuid::Uuid;
use zeebe::record::{Intent, Record, RecordType, RecordValue, ValueType};

use super::{
    NOTIFY_CHANNEL,
    audit::{self, NewEvent, Sanitizer},
};
use crate::domain::{DomainError, Result, TenantId};

/// Largest `NOTIFY` payload we send (PostgreSQL's limit is just under 8000 bytes).
const NOTIFY_PAYLOAD: usize = 7500;

/// Where a batch of records comes from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The cursor's name.
    pub key: String,
    pub kind: SourceKind,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    /// An embedded engine: one per environment name, its records naming their tenant.
    Embedded { environment: String },
    /// An exporter posting one environment's records with its ingest token.
    Exporter {
        tenant: TenantId,
        environment_id: Uuid,
        environment: String,
    },
}

impl Source {
    pub fn embedded(environment: &str) -> Self {
        Self {
            key: format!("embedded:{environment}"),
            kind: SourceKind::Embedded {
                environment: environment.to_owned(),
            },
        }
    }

    pub fn exporter(tenant: TenantId, environment_id: Uuid, environment: &str) -> Self {
        Self {
            key: format!("environment:{environment_id}"),
            kind: SourceKind::Exporter {
                tenant,
                environment_id,
                environment: environment.to_owned(),
            },
        }
    }

    fn tenant(&self) -> Option<&TenantId> {
        match &self.kind {
            SourceKind::Embedded { .. } => None,
            SourceKind::Exporter { tenant, .. } => Some(tenant),
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records applied now.
    pub applied: usize,
    /// Records at or before the stored position: applied before.
    pub duplicates: usize,
    /// Records of no known tenant environment (an embedded engine used around the control
    /// plane), or that concern nothing projected.
    pub ignored: usize,
    /// The stored position per partition after the batch.
    pub positions: BTreeMap<i32, i64>,
    /// What changed, as pushed to WebSocket subscribers.
    pub deltas: Vec<Delta>,
}

/// A record's tenant and environment.
#[derive(Debug, Clone)]
struct Target {
    tenant: TenantId,
    environment_id: Uuid,
    environment: String,
}

/// Element names by id, of one process definition.
type Names = Arc<HashMap<String, String>>;

/// The ingest service: the audit sanitizer and a cache of element names per definition.
#[derive(Debug)]
pub struct Ingest {
    sanitizer: Sanitizer,
    names: Mutex<HashMap<(Uuid, i64), Names>>,
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn is_task(element_type: &str) -> bool {
    element_type.ends_with("_TASK") || element_type == "TASK"
}

#[derive(Debug, Clone)]
struct DefinitionRow {
    target: Target,
    key: i64,
    bpmn_process_id: String,
    version: i32,
    resource_name: String,
    xml: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct InstanceRow {
    target: Target,
    key: i64,
    definition_key: i64,
    bpmn_process_id: String,
    version: i32,
    state: &'static str,
    parent_instance: Option<i64>,
    parent_element: Option<i64>,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    timestamp: i64,
    position: i64,
}

#[derive(Debug, Clone)]
struct ElementRow {
    target: Target,
    key: i64,
    instance: i64,
    flow_scope: i64,
    element_id: String,
    element_type: String,
    event_type: String,
    bpmn_process_id: String,
    state: &'static str,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    timestamp: i64,
    position: i64,
}

#[derive(Debug, Clone)]
struct IncidentRow {
    target: Target,
    key: i64,
    instance: i64,
    element_instance: i64,
    element_id: String,
    bpmn_process_id: String,
    error_type: String,
    error_message: String,
    job_key: Option<i64>,
    state: &'static str,
    created: DateTime<Utc>,
    resolved: Option<DateTime<Utc>>,
    timestamp: i64,
    position: i64,
}

#[derive(Debug, Clone)]
struct VariableRow {
    target: Target,
    scope: i64,
    name: String,
    instance: i64,
    bpmn_process_id: String,
    value: String,
    at: DateTime<Utc>,
    timestamp: i64,
    position: i64,
}

#[derive(Debug, Clone)]
struct JobRow {
    target: Target,
    key: i64,
    instance: i64,
    element_instance: i64,
    element_id: String,
    bpmn_process_id: String,
    job_type: String,
    worker: String,
    retries: i32,
    /// `None`: the record changes details (retries, deadline), not the state.
    state: Option<&'static str>,
    error_message: String,
    deadline: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    timestamp: i64,
    position: i64,
}

/// An audit event waiting for what only the database knows (durations, who started it).
#[derive(Debug)]
struct PendingEvent {
    tenant: TenantId,
    event: NewEvent,
    /// The element instance (or process instance) whose start gives the duration.
    duration_of: Option<(Uuid, i64, bool)>,
    /// A process start (its context names who started it, or `engine client`).
    is_start: bool,
    /// The operation reference of the record, -1 for none.
    operation: i64,
    definition: Option<(Uuid, i64)>,
}

/// Everything a batch changes, keyed so that later records overwrite earlier ones.
#[derive(Debug, Default)]
struct Fold {
    definitions: Vec<DefinitionRow>,
    instances: BTreeMap<(Uuid, i64), InstanceRow>,
    elements: BTreeMap<(Uuid, i64), ElementRow>,
    incidents: BTreeMap<(Uuid, i64), IncidentRow>,
    variables: BTreeMap<(Uuid, i64, String), VariableRow>,
    jobs: BTreeMap<(Uuid, i64), JobRow>,
    /// Instances whose open-incident count must be recounted.
    recount: BTreeMap<(Uuid, i64), Target>,
    events: Vec<PendingEvent>,
    ignored: usize,
}

impl Ingest {
    pub fn new(sanitizer: Sanitizer) -> Self {
        Self {
            sanitizer,
            names: Mutex::new(HashMap::new()),
        }
    }

    /// Applies `records` from `source` inside the caller's transaction (see the module docs).
    /// A connection of the platform role can take any source; a tenant transaction only its
    /// own tenant's exporter, which row-level security enforces.
    pub async fn apply(
        &self,
        conn: &mut PgConnection,
        source: &Source,
        records: &[Record],
    ) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        let mut by_partition: BTreeMap<i32, Vec<&Record>> = BTreeMap::new();
        for record in records {
            by_partition
                .entry(record.partition_id)
                .or_default()
                .push(record);
        }
        let mut fresh: Vec<&Record> = Vec::new();
        for (partition, mut batch) in by_partition {
            batch.sort_by_key(|r| r.position);
            batch.dedup_by_key(|r| r.position);
            let stored = lock_cursor(conn, source, partition).await?;
            let before = batch.len();
            batch.retain(|r| r.position > stored);
            outcome.duplicates += before - batch.len();
            let last = batch.last().map_or(stored, |r| r.position);
            outcome.positions.insert(partition, last);
            fresh.extend(batch);
        }
        if fresh.is_empty() {
            return Ok(outcome);
        }
        outcome.applied = fresh.len();

        let targets = resolve_targets(conn, source, &fresh).await?;
        let mut fold = Fold::default();
        for record in &fresh {
            let target = match record_tenant(record) {
                Some(tenant) => targets.get(tenant).cloned().flatten(),
                None => match &source.kind {
                    // A record without a tenant (a processing error) from an exporter is
                    // its environment's.
                    SourceKind::Exporter { .. } => targets.values().next().cloned().flatten(),
                    SourceKind::Embedded { .. } => None,
                },
            };
            match target {
                Some(target) if record.record_type == RecordType::Event => {
                    self.fold_record(&mut fold, target, record);
                }
                Some(_) => {}
                None => fold.ignored += 1,
            }
        }
        outcome.ignored = fold.ignored;
        outcome.deltas = self.write(conn, fold).await?;
        for (partition, position) in &outcome.positions {
            sqlx::query(
                "update ingest_cursors set position = $3, updated_at = now() \
                 where source = $1 and partition_id = $2",
            )
            .bind(&source.key)
            .bind(partition)
            .bind(position)
            .execute(&mut *conn)
            .await?;
        }
        notify(conn, &outcome.deltas).await?;
        Ok(outcome)
    }

    fn fold_record(&self, fold: &mut Fold, target: Target, record: &Record) {
        let first_event = fold.events.len();
        self.fold_value(fold, target, record);
        for event in &mut fold.events[first_event..] {
            event.operation = record.operation_reference;
        }
    }

    fn fold_value(&self, fold: &mut Fold, target: Target, record: &Record) {
        let at = millis(record.timestamp);
        let env = target.environment_id;
        let intent = &record.intent;
        let base_event = |event_type: &'static str,
                          execution_id: i64,
                          workflow_id: &str,
                          context: Value| NewEvent {
            occurred_at: at,
            execution_id: execution_id.to_string(),
            workflow_id: workflow_id.to_owned(),
            environment: target.environment.clone(),
            event_type,
            task_id: None,
            task_name: None,
            execution_context: context,
            variables: None,
            partition_id: record.partition_id,
            position: record.position,
        };
        match &record.value {
            RecordValue::Process(process) if *intent == Intent::CREATED => {
                let xml = base64::engine::general_purpose::STANDARD
                    .decode(process.resource.as_bytes())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .unwrap_or_default();
                fold.definitions.push(DefinitionRow {
                    target,
                    key: process.process_definition_key,
                    bpmn_process_id: process.bpmn_process_id.clone(),
                    version: process.version,
                    resource_name: process.resource_name.clone(),
                    xml,
                    at,
                });
            }
            RecordValue::ProcessInstance(v) if v.bpmn_element_type == "PROCESS" => {
                let state = match intent.as_str() {
                    "ELEMENT_COMPLETED" => "completed",
                    "ELEMENT_TERMINATED" => "terminated",
                    _ => "active",
                };
                let row = fold
                    .instances
                    .entry((env, record.key))
                    .or_insert_with(|| InstanceRow {
                        target: target.clone(),
                        key: record.key,
                        definition_key: v.process_definition_key,
                        bpmn_process_id: v.bpmn_process_id.clone(),
                        version: v.version,
                        state,
                        parent_instance: (v.parent_process_instance_key > 0)
                            .then_some(v.parent_process_instance_key),
                        parent_element: (v.parent_element_instance_key > 0)
                            .then_some(v.parent_element_instance_key),
                        start: at,
                        end: None,
                        timestamp: record.timestamp,
                        position: record.position,
                    });
                row.state = state;
                row.timestamp = record.timestamp;
                row.position = record.position;
                if state != "active" {
                    row.end = Some(at);
                }
                let event_type = match intent.as_str() {
                    "ELEMENT_ACTIVATED" => Some("PROCESS_STARTED"),
                    "ELEMENT_COMPLETED" => Some("PROCESS_COMPLETED"),
                    "ELEMENT_TERMINATED" => Some("PROCESS_TERMINATED"),
                    _ => None,
                };
                if let Some(event_type) = event_type {
                    let mut context = json!({
                        "status": state,
                        "processDefinitionKey": v.process_definition_key,
                        "version": v.version,
                    });
                    if v.parent_process_instance_key > 0 {
                        context["parentProcessInstanceKey"] = json!(v.parent_process_instance_key);
                    }
                    fold.events.push(PendingEvent {
                        tenant: target.tenant.clone(),
                        event: base_event(event_type, record.key, &v.bpmn_process_id, context),
                        duration_of: (state != "active").then_some((env, record.key, true)),
                        is_start: event_type == "PROCESS_STARTED",
                        operation: -1,
                        definition: None,
                    });
                }
            }
            RecordValue::ProcessInstance(v) => {
                let state = match intent.as_str() {
                    "SEQUENCE_FLOW_TAKEN" => "taken",
                    "ELEMENT_ACTIVATING" => "activating",
                    "ELEMENT_ACTIVATED" => "activated",
                    "ELEMENT_COMPLETING" => "completing",
                    "ELEMENT_COMPLETED" => "completed",
                    "ELEMENT_TERMINATING" => "terminating",
                    "ELEMENT_TERMINATED" => "terminated",
                    _ => {
                        fold.ignored += 1;
                        return;
                    }
                };
                let row = fold
                    .elements
                    .entry((env, record.key))
                    .or_insert_with(|| ElementRow {
                        target: target.clone(),
                        key: record.key,
                        instance: v.process_instance_key,
                        flow_scope: v.flow_scope_key,
                        element_id: v.element_id.clone(),
                        element_type: v.bpmn_element_type.clone(),
                        event_type: v.bpmn_event_type.clone(),
                        bpmn_process_id: v.bpmn_process_id.clone(),
                        state,
                        start: at,
                        end: None,
                        timestamp: record.timestamp,
                        position: record.position,
                    });
                row.state = state;
                row.timestamp = record.timestamp;
                row.position = record.position;
                if matches!(state, "completed" | "terminated" | "taken") {
                    row.end = Some(at);
                }
                let task = is_task(&v.bpmn_element_type);
                let event_type = match (intent.as_str(), task) {
                    ("ELEMENT_ACTIVATED", true) => Some("TASK_ACTIVATED"),
                    ("ELEMENT_COMPLETED", true) => Some("TASK_COMPLETED"),
                    ("ELEMENT_TERMINATED", true) => Some("TASK_TERMINATED"),
                    ("ELEMENT_ACTIVATED", false) => Some("ELEMENT_ACTIVATED"),
                    ("ELEMENT_COMPLETED", false) => Some("ELEMENT_COMPLETED"),
                    ("ELEMENT_TERMINATED", false) => Some("ELEMENT_TERMINATED"),
                    _ => None,
                };
                if let Some(event_type) = event_type {
                    let mut event = base_event(
                        event_type,
                        v.process_instance_key,
                        &v.bpmn_process_id,
                        json!({
                            "status": state,
                            "elementType": v.bpmn_element_type,
                            "elementInstanceKey": record.key,
                            "processDefinitionKey": v.process_definition_key,
                            "version": v.version,
                        }),
                    );
                    event.task_id = Some(v.element_id.clone());
                    fold.events.push(PendingEvent {
                        tenant: target.tenant.clone(),
                        event,
                        duration_of: (state != "activated").then_some((env, record.key, false)),
                        is_start: false,
                        operation: -1,
                        definition: Some((env, v.process_definition_key)),
                    });
                }
            }
            RecordValue::Job(job) => {
                let (state, event_type) = match intent.as_str() {
                    "CREATED" => (Some("created"), None),
                    "RECURRED_AFTER_BACKOFF" => (Some("created"), None),
                    "COMPLETED" => (Some("completed"), Some("JOB_COMPLETED")),
                    "FAILED" => (Some("failed"), Some("JOB_FAILED")),
                    "TIMED_OUT" => (Some("timed_out"), Some("JOB_TIMED_OUT")),
                    "ERROR_THROWN" => (Some("error_thrown"), Some("ERROR_THROWN")),
                    "CANCELED" => (Some("canceled"), None),
                    "RETRIES_UPDATED" => (None, Some("JOB_RETRIES_UPDATED")),
                    "TIMEOUT_UPDATED" => (None, None),
                    _ => {
                        fold.ignored += 1;
                        return;
                    }
                };
                self.fold_job(fold, &target, record.key, job, state, record);
                if let Some(event_type) = event_type {
                    let mut context = json!({
                        "status": state.unwrap_or("updated"),
                        "jobKey": record.key,
                        "jobType": job.job_type,
                        "worker": job.worker,
                        "retries": job.retries,
                        "elementInstanceKey": job.element_instance_key,
                    });
                    if !job.error_message.is_empty() {
                        context["errorMessage"] = json!(job.error_message);
                    }
                    if !job.error_code.is_empty() {
                        context["errorCode"] = json!(job.error_code);
                    }
                    let mut event = base_event(
                        event_type,
                        job.process_instance_key,
                        &job.bpmn_process_id,
                        context,
                    );
                    event.task_id = Some(job.element_id.clone());
                    if !job.variables.is_empty() {
                        event.variables = Some(self.sanitizer.variables(&job.variables));
                    }
                    fold.events.push(PendingEvent {
                        tenant: target.tenant.clone(),
                        event,
                        duration_of: None,
                        is_start: false,
                        operation: -1,
                        definition: Some((env, job.process_definition_key)),
                    });
                }
            }
            RecordValue::Other(batch)
                if record.value_type == ValueType::JobBatch && intent.as_str() == "ACTIVATED" =>
            {
                let keys = batch.get("jobKeys").and_then(Value::as_array);
                let jobs = batch.get("jobs").and_then(Value::as_array);
                let (Some(keys), Some(jobs)) = (keys, jobs) else {
                    fold.ignored += 1;
                    return;
                };
                for (key, job) in keys.iter().zip(jobs) {
                    let (Some(key), Ok(job)) = (
                        key.as_i64(),
                        serde_json::from_value::<zeebe::record::JobValue>(job.clone()),
                    ) else {
                        continue;
                    };
                    self.fold_job(fold, &target, key, &job, Some("activated"), record);
                    let mut event = base_event(
                        "JOB_ACTIVATED",
                        job.process_instance_key,
                        &job.bpmn_process_id,
                        json!({
                            "status": "activated",
                            "jobKey": key,
                            "jobType": job.job_type,
                            "worker": job.worker,
                            "retries": job.retries,
                            "elementInstanceKey": job.element_instance_key,
                        }),
                    );
                    event.task_id = Some(job.element_id.clone());
                    fold.events.push(PendingEvent {
                        tenant: target.tenant.clone(),
                        event,
                        duration_of: None,
                        is_start: false,
                        operation: -1,
                        definition: Some((env, job.process_definition_key)),
                    });
                }
            }
            RecordValue::Incident(incident) => {
                let (state, event_type) = match intent.as_str() {
                    "CREATED" => ("active", "INCIDENT_CREATED"),
                    "RESOLVED" => ("resolved", "INCIDENT_RESOLVED"),
                    _ => {
                        fold.ignored += 1;
                        return;
                    }
                };
                let row = fold
                    .incidents
                    .entry((env, record.key))
                    .or_insert_with(|| IncidentRow {
                        target: target.clone(),
                        key: record.key,
                        instance: incident.process_instance_key,
                        element_instance: incident.element_instance_key,
                        element_id: incident.element_id.clone(),
                        bpmn_process_id: incident.bpmn_process_id.clone(),
                        error_type: incident.error_type.clone(),
                        error_message: incident.error_message.clone(),
                        job_key: (incident.job_key > 0).then_some(incident.job_key),
                        state,
                        created: at,
                        resolved: None,
                        timestamp: record.timestamp,
                        position: record.position,
                    });
                row.state = state;
                row.timestamp = record.timestamp;
                row.position = record.position;
                if state == "resolved" {
                    row.resolved = Some(at);
                }
                fold.recount
                    .insert((env, incident.process_instance_key), target.clone());
                let mut event = base_event(
                    event_type,
                    incident.process_instance_key,
                    &incident.bpmn_process_id,
                    json!({
                        "status": state,
                        "incidentKey": record.key,
                        "errorType": incident.error_type,
                        "errorMessage": incident.error_message,
                        "elementInstanceKey": incident.element_instance_key,
                        "jobKey": incident.job_key,
                    }),
                );
                event.task_id = Some(incident.element_id.clone());
                fold.events.push(PendingEvent {
                    tenant: target.tenant.clone(),
                    event,
                    duration_of: None,
                    is_start: false,
                    operation: -1,
                    definition: Some((env, incident.process_definition_key)),
                });
            }
            RecordValue::Variable(variable) => {
                let event_type = match intent.as_str() {
                    "CREATED" => "VARIABLE_CREATED",
                    "UPDATED" => "VARIABLE_UPDATED",
                    _ => {
                        fold.ignored += 1;
                        return;
                    }
                };
                fold.variables.insert(
                    (env, variable.scope_key, variable.name.clone()),
                    VariableRow {
                        target: target.clone(),
                        scope: variable.scope_key,
                        name: variable.name.clone(),
                        instance: variable.process_instance_key,
                        bpmn_process_id: variable.bpmn_process_id.clone(),
                        value: variable.value.clone(),
                        at,
                        timestamp: record.timestamp,
                        position: record.position,
                    },
                );
                let mut values = Map::new();
                values.insert(
                    variable.name.clone(),
                    self.sanitizer.variable(&variable.name, &variable.value),
                );
                let mut event = base_event(
                    event_type,
                    variable.process_instance_key,
                    &variable.bpmn_process_id,
                    json!({ "scopeKey": variable.scope_key }),
                );
                event.variables = Some(Value::Object(values));
                fold.events.push(PendingEvent {
                    tenant: target.tenant.clone(),
                    event,
                    duration_of: None,
                    is_start: false,
                    operation: -1,
                    definition: None,
                });
            }
            RecordValue::Error(error) => {
                fold.events.push(PendingEvent {
                    tenant: target.tenant.clone(),
                    event: base_event(
                        "ERROR",
                        error.process_instance_key,
                        "",
                        json!({
                            "status": "error",
                            "errorMessage": error.exception_message,
                            "errorEventPosition": error.error_event_position,
                        }),
                    ),
                    duration_of: None,
                    is_start: false,
                    operation: -1,
                    definition: None,
                });
            }
            other => {
                // Events of the newer element kinds (timers, messages, signals, escalations)
                // are audited by what they did to which instance; their element states arrive
                // as process instance records.
                let event_type = match (record.value_type.as_str(), intent.as_str()) {
                    ("TIMER", "TRIGGERED") => "TIMER_TRIGGERED",
                    ("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED") => "MESSAGE_CORRELATED",
                    ("ESCALATION", "ESCALATED") => "ESCALATION_THROWN",
                    ("SIGNAL_SUBSCRIPTION", "TRIGGERED") | ("SIGNAL", "BROADCASTED") => {
                        "SIGNAL_RECEIVED"
                    }
                    _ => {
                        fold.ignored += 1;
                        return;
                    }
                };
                let json = serde_json::to_value(other).unwrap_or(Value::Null);
                let instance = json
                    .get("processInstanceKey")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1);
                let process_id = json
                    .get("bpmnProcessId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let element = json
                    .get("elementId")
                    .or_else(|| json.get("targetElementId"))
                    .or_else(|| json.get("catchElementId"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let mut context = json!({ "status": intent.as_str().to_lowercase() });
                for field in [
                    "messageName",
                    "correlationKey",
                    "signalName",
                    "escalationCode",
                ] {
                    if let Some(value) = json.get(field) {
                        context[field] = value.clone();
                    }
                }
                let mut event = base_event(event_type, instance, process_id, context);
                event.task_id = element;
                event.variables = json
                    .get("variables")
                    .and_then(Value::as_object)
                    .filter(|v| !v.is_empty())
                    .map(|v| self.sanitizer.variables(v));
                let definition = json
                    .get("processDefinitionKey")
                    .and_then(Value::as_i64)
                    .map(|key| (env, key));
                fold.events.push(PendingEvent {
                    tenant: target.tenant.clone(),
                    event,
                    duration_of: None,
                    is_start: false,
                    operation: -1,
                    definition,
                });
            }
        }
    }

    fn fold_job(
        &self,
        fold: &mut Fold,
        target: &Target,
        key: i64,
        job: &zeebe::record::JobValue,
        state: Option<&'static str>,
        record: &Record,
    ) {
        let at = millis(record.timestamp);
        let deadline = (job.deadline > 0).then(|| millis(job.deadline));
        let row = fold
            .jobs
            .entry((target.environment_id, key))
            .or_insert_with(|| JobRow {
                target: target.clone(),
                key,
                instance: job.process_instance_key,
                element_instance: job.element_instance_key,
                element_id: job.element_id.clone(),
                bpmn_process_id: job.bpmn_process_id.clone(),
                job_type: job.job_type.clone(),
                worker: job.worker.clone(),
                retries: job.retries,
                state: None,
                error_message: String::new(),
                deadline,
                at,
                timestamp: record.timestamp,
                position: record.position,
            });
        if state.is_some() {
            row.state = state;
        }
        row.retries = job.retries;
        if !job.worker.is_empty() {
            row.worker.clone_from(&job.worker);
        }
        if !job.error_message.is_empty() {
            row.error_message.clone_from(&job.error_message);
        }
        row.deadline = deadline;
        row.at = at;
        row.timestamp = record.timestamp;
        row.position = record.position;
    }

    /// The element names of a definition, for the audit trail's `taskName`.
    async fn names(
        &self,
        conn: &mut PgConnection,
        definition: (Uuid, i64),
        pending: &[DefinitionRow],
    ) -> Result<Names> {
        if let Some(names) = self.names.lock().await.get(&definition) {
            return Ok(names.clone());
        }
        let xml = match pending
            .iter()
            .find(|d| (d.target.environment_id, d.key) == definition)
        {
            Some(row) => Some(row.xml.clone()),
            None => {
                sqlx::query_scalar::<_, String>(
                    "select bpmn_xml from process_definitions \
                     where environment_id = $1 and process_definition_key = $2",
                )
                .bind(definition.0)
                .bind(definition.1)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let names: HashMap<String, String> = xml
            .and_then(|xml| bpmn::parse(&xml).ok())
            .map(|definitions| element_names(&definitions))
            .unwrap_or_default();
        let names = Arc::new(names);
        // Only cache what was found: a definition not ingested yet may arrive later.
        if !names.is_empty() {
            self.names.lock().await.insert(definition, names.clone());
        }
        Ok(names)
    }

    /// Writes the fold and returns the deltas it made.
    async fn write(&self, conn: &mut PgConnection, fold: Fold) -> Result<Vec<Delta>> {
        let mut deltas = Vec::new();
        write_definitions(conn, &fold.definitions).await?;

        // Starts of elements and instances that end in this batch but began earlier.
        let starts = self.earlier_starts(conn, &fold).await?;
        let mut referenced: Vec<(String, i64)> = fold
            .events
            .iter()
            .filter(|p| p.operation > 0)
            .map(|p| (p.tenant.as_str().to_owned(), p.operation))
            .collect();
        referenced.sort();
        referenced.dedup();
        let actors = super::operations::actors(conn, &referenced).await?;

        write_instances(conn, &fold.instances).await?;
        write_elements(conn, &fold.elements).await?;
        write_incidents(conn, &fold.incidents).await?;
        write_variables(conn, &fold.variables).await?;
        write_jobs(conn, &fold.jobs).await?;
        let recounted = recount_incidents(conn, &fold.recount).await?;

        for row in fold.instances.values() {
            deltas.push(Delta {
                tenant_id: row.target.tenant.as_str().to_owned(),
                environment: row.target.environment.clone(),
                kind: DeltaKind::Instance,
                process_instance_key: row.key,
                key: row.key,
                bpmn_process_id: row.bpmn_process_id.clone(),
                element_id: None,
                state: row.state.to_owned(),
                incidents: recounted
                    .get(&(row.target.environment_id, row.key))
                    .map(|(count, ..)| *count),
                deployment_id: None,
                timestamp: row.timestamp,
                position: row.position,
            });
        }
        // Instances whose incidents changed without the instance itself changing.
        for ((environment_id, key), (count, state, process_id)) in &recounted {
            if fold.instances.contains_key(&(*environment_id, *key)) {
                continue;
            }
            let Some(target) = fold.recount.get(&(*environment_id, *key)) else {
                continue;
            };
            let last = fold
                .incidents
                .values()
                .filter(|i| i.target.environment_id == *environment_id && i.instance == *key)
                .max_by_key(|i| i.position);
            deltas.push(Delta {
                tenant_id: target.tenant.as_str().to_owned(),
                environment: target.environment.clone(),
                kind: DeltaKind::Instance,
                process_instance_key: *key,
                key: *key,
                bpmn_process_id: process_id.clone(),
                element_id: None,
                state: state.clone(),
                incidents: Some(*count),
                deployment_id: None,
                timestamp: last.map_or(0, |i| i.timestamp),
                position: last.map_or(0, |i| i.position),
            });
        }
        let delta = |target: &Target, kind, instance, key, process: &str, element: &str| Delta {
            tenant_id: target.tenant.as_str().to_owned(),
            environment: target.environment.clone(),
            kind,
            process_instance_key: instance,
            key,
            bpmn_process_id: process.to_owned(),
            element_id: Some(element.to_owned()),
            state: String::new(),
            incidents: None,
            deployment_id: None,
            timestamp: 0,
            position: 0,
        };
        for row in fold.elements.values() {
            deltas.push(Delta {
                state: row.state.to_owned(),
                timestamp: row.timestamp,
                position: row.position,
                ..delta(
                    &row.target,
                    DeltaKind::Element,
                    row.instance,
                    row.key,
                    &row.bpmn_process_id,
                    &row.element_id,
                )
            });
        }
        for row in fold.incidents.values() {
            deltas.push(Delta {
                state: row.state.to_owned(),
                timestamp: row.timestamp,
                position: row.position,
                ..delta(
                    &row.target,
                    DeltaKind::Incident,
                    row.instance,
                    row.key,
                    &row.bpmn_process_id,
                    &row.element_id,
                )
            });
        }
        for row in fold.variables.values() {
            deltas.push(Delta {
                state: "updated".to_owned(),
                timestamp: row.timestamp,
                position: row.position,
                ..delta(
                    &row.target,
                    DeltaKind::Variable,
                    row.instance,
                    row.scope,
                    &row.bpmn_process_id,
                    &row.name,
                )
            });
        }
        for row in fold.jobs.values() {
            deltas.push(Delta {
                state: row.state.unwrap_or("updated").to_owned(),
                timestamp: row.timestamp,
                position: row.position,
                ..delta(
                    &row.target,
                    DeltaKind::Job,
                    row.instance,
                    row.key,
                    &row.bpmn_process_id,
                    &row.element_id,
                )
            });
        }
        deltas.sort_by_key(|d| (d.position, d.kind as u8));

        // The audit trail, per tenant, in record order.
        let mut by_tenant: BTreeMap<String, (TenantId, Vec<NewEvent>)> = BTreeMap::new();
        for pending in fold.events {
            let mut event = pending.event;
            if let Some((environment_id, key, is_process)) = pending.duration_of {
                let start = if is_process {
                    fold.instances
                        .get(&(environment_id, key))
                        .map(|row| row.start)
                        .or_else(|| starts.get(&(environment_id, key, true)).copied())
                } else {
                    fold.elements
                        .get(&(environment_id, key))
                        .map(|row| row.start)
                        .or_else(|| starts.get(&(environment_id, key, false)).copied())
                };
                if let Some(start) = start {
                    event.execution_context["durationMs"] =
                        json!((event.occurred_at - start).num_milliseconds());
                }
            }
            let actor = actors.get(&(pending.tenant.as_str().to_owned(), pending.operation));
            if let Some((user_id, label)) = actor {
                event.execution_context["userId"] = json!(user_id);
                event.execution_context["actor"] = json!(label);
            }
            if pending.is_start {
                event.execution_context["startedBy"] =
                    json!(actor.map_or("engine client", |(_, label)| label.as_str()));
                event.execution_context["sourceAlert"] = Value::Null;
            }
            if let (Some(definition), Some(task_id)) = (pending.definition, &event.task_id) {
                let names = self.names(conn, definition, &fold.definitions).await?;
                event.task_name = names.get(task_id).cloned();
            }
            by_tenant
                .entry(pending.tenant.as_str().to_owned())
                .or_insert_with(|| (pending.tenant.clone(), Vec::new()))
                .1
                .push(event);
        }
        for (_, (tenant, events)) in by_tenant {
            audit::append(conn, &tenant, events).await?;
        }
        Ok(deltas)
    }

    async fn earlier_starts(
        &self,
        conn: &mut PgConnection,
        fold: &Fold,
    ) -> Result<HashMap<(Uuid, i64, bool), DateTime<Utc>>> {
        let mut wanted: HashSet<(Uuid, i64, bool)> = HashSet::new();
        for pending in &fold.events {
            if let Some((environment_id, key, is_process)) = pending.duration_of {
                let known = if is_process {
                    fold.instances
                        .get(&(environment_id, key))
                        .is_some_and(|row| row.start < pending.event.occurred_at)
                } else {
                    fold.elements
                        .get(&(environment_id, key))
                        .is_some_and(|row| row.start < pending.event.occurred_at)
                };
                if !known {
                    wanted.insert((environment_id, key, is_process));
                }
            }
        }
        let mut starts = HashMap::new();
        for is_process in [true, false] {
            let (environments, keys): (Vec<Uuid>, Vec<i64>) = wanted
                .iter()
                .filter(|w| w.2 == is_process)
                .map(|w| (w.0, w.1))
                .unzip();
            if keys.is_empty() {
                continue;
            }
            let sql = if is_process {
                "select p.environment_id, p.process_instance_key, p.start_time \
                 from process_instances p join unnest($1::uuid[], $2::bigint[]) as w(e, k) \
                 on p.environment_id = w.e and p.process_instance_key = w.k"
            } else {
                "select p.environment_id, p.element_instance_key, p.start_time \
                 from element_instances p join unnest($1::uuid[], $2::bigint[]) as w(e, k) \
                 on p.environment_id = w.e and p.element_instance_key = w.k"
            };
            for row in sqlx::query(sql)
                .bind(&environments)
                .bind(&keys)
                .fetch_all(&mut *conn)
                .await?
            {
                starts.insert(
                    (row.try_get(0)?, row.try_get(1)?, is_process),
                    row.try_get(2)?,
                );
            }
        }
        Ok(starts)
    }
}

/// Every flow node's name by id, sub-processes included.
fn element_names(definitions: &bpmn::Definitions) -> HashMap<String, String> {
    bpmn::walk::all_flow_nodes(definitions)
        .filter_map(|node| {
            let name = node.name.as_ref().filter(|n| !n.is_empty())?;
            Some((node.id.as_str().to_owned(), name.clone()))
        })
        .collect()
}

/// The tenant a record belongs to. A job batch names its tenants in a list; its jobs carry
/// theirs.
pub fn record_tenant(record: &Record) -> Option<&str> {
    record.value.tenant_id().or_else(|| match &record.value {
        RecordValue::Other(value) if record.value_type == ValueType::JobBatch => value
            .get("jobs")
            .and_then(Value::as_array)
            .and_then(|jobs| jobs.first())
            .and_then(|job| job.get("tenantId"))
            .and_then(Value::as_str),
        _ => None,
    })
}

/// The stored position of `source`'s `partition`, locked until the transaction ends (0 for a
/// source seen for the first time).
async fn lock_cursor(conn: &mut PgConnection, source: &Source, partition: i32) -> Result<i64> {
    sqlx::query(
        "insert into ingest_cursors (source, partition_id, position, tenant_id) \
         values ($1, $2, 0, $3) on conflict do nothing",
    )
    .bind(&source.key)
    .bind(partition)
    .bind(source.tenant().map(TenantId::as_str))
    .execute(&mut *conn)
    .await?;
    let position = sqlx::query_scalar(
        "select position from ingest_cursors where source = $1 and partition_id = $2 for update",
    )
    .bind(&source.key)
    .bind(partition)
    .fetch_one(&mut *conn)
    .await?;
    Ok(position)
}

/// The stored position of `source`'s `partition`, 0 if none.
pub async fn position(conn: &mut PgConnection, source: &Source, partition: i32) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select position from ingest_cursors where source = $1 and partition_id = $2",
    )
    .bind(&source.key)
    .bind(partition)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(0))
}

/// Each tenant id in the records mapped to its environment of the source's name (`None`: no
/// such tenant or environment, so its records are not ours to project).
async fn resolve_targets(
    conn: &mut PgConnection,
    source: &Source,
    records: &[&Record],
) -> Result<HashMap<String, Option<Target>>> {
    let mut tenants: Vec<String> = records
        .iter()
        .filter_map(|r| record_tenant(r).map(str::to_owned))
        .collect();
    tenants.sort();
    tenants.dedup();
    let mut targets = HashMap::new();
    match &source.kind {
        SourceKind::Exporter {
            tenant,
            environment_id,
            environment,
        } => {
            // The records of an exporter are its environment's, whatever tenant id the
            // cluster gave them (the endpoint has checked it is the environment's own).
            let target = Target {
                tenant: tenant.clone(),
                environment_id: *environment_id,
                environment: environment.clone(),
            };
            targets.insert(String::new(), Some(target.clone()));
            for id in tenants {
                targets.insert(id, Some(target.clone()));
            }
        }
        SourceKind::Embedded { environment } => {
            let rows = sqlx::query(
                "select tenant_id, id from environments where name = $1 and tenant_id = any($2)",
            )
            .bind(environment)
            .bind(&tenants)
            .fetch_all(&mut *conn)
            .await?;
            for id in tenants {
                targets.insert(id, None);
            }
            for row in rows {
                let id: String = row.try_get(0)?;
                let tenant = TenantId::new(&id)
                    .map_err(|e| DomainError::Conflict(format!("stored tenant id: {e}")))?;
                targets.insert(
                    id,
                    Some(Target {
                        tenant,
                        environment_id: row.try_get(1)?,
                        environment: environment.clone(),
                    }),
                );
            }
        }
    }
    Ok(targets)
}

fn tenants_of<'a, T: 'a>(
    rows: impl Iterator<Item = &'a T>,
    target: fn(&T) -> &Target,
) -> Vec<String> {
    rows.map(|r| target(r).tenant.as_str().to_owned()).collect()
}

async fn write_definitions(conn: &mut PgConnection, rows: &[DefinitionRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into process_definitions (tenant_id, environment_id, process_definition_key, \
         bpmn_process_id, version, resource_name, bpmn_xml, deployed_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::integer[], \
         $6::text[], $7::text[], $8::timestamptz[]) on conflict do nothing",
    )
    .bind(tenants_of(rows.iter(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.bpmn_process_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.resource_name.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.xml.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_instances(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), InstanceRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&InstanceRow> = rows.values().collect();
    sqlx::query(
        "insert into process_instances as p (tenant_id, environment_id, process_instance_key, \
         process_definition_key, bpmn_process_id, version, workflow_id, state, \
         parent_process_instance_key, parent_element_instance_key, start_time, end_time) \
         select u.t, u.e, u.k, u.d, u.b, u.v, \
           (select w.id from workflows w where w.tenant_id = u.t and w.key = u.b), \
           u.s, u.pp, u.pe, u.st, u.et \
         from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::text[], \
           $6::integer[], $7::text[], $8::bigint[], $9::bigint[], $10::timestamptz[], \
           $11::timestamptz[]) as u(t, e, k, d, b, v, s, pp, pe, st, et) \
         on conflict (tenant_id, environment_id, process_instance_key) do update \
         set state = excluded.state, end_time = coalesce(excluded.end_time, p.end_time), \
           updated_at = now()",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.definition_key).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.bpmn_process_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.parent_instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.parent_element).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.end).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_elements(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), ElementRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&ElementRow> = rows.values().collect();
    sqlx::query(
        "insert into element_instances as p (tenant_id, environment_id, element_instance_key, \
         process_instance_key, flow_scope_key, element_id, element_type, event_type, state, \
         start_time, end_time) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], \
           $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], \
           $11::timestamptz[]) \
         on conflict (tenant_id, environment_id, element_instance_key) do update \
         set state = excluded.state, end_time = coalesce(excluded.end_time, p.end_time)",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.flow_scope).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.element_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.element_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.end).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_incidents(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), IncidentRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&IncidentRow> = rows.values().collect();
    sqlx::query(
        "insert into incidents as p (tenant_id, environment_id, incident_key, \
         process_instance_key, element_instance_key, element_id, error_type, error_message, \
         job_key, state, created_at, resolved_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], \
           $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::timestamptz[], \
           $12::timestamptz[]) \
         on conflict (tenant_id, environment_id, incident_key) do update \
         set state = excluded.state, resolved_at = coalesce(excluded.resolved_at, p.resolved_at)",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.element_instance).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.element_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.error_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.error_message.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.job_key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.created).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.resolved).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_variables(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64, String), VariableRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&VariableRow> = rows.values().collect();
    sqlx::query(
        "insert into instance_variables (tenant_id, environment_id, scope_key, name, \
         process_instance_key, value, updated_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], \
           $6::text[], $7::timestamptz[]) \
         on conflict (tenant_id, environment_id, scope_key, name) do update \
         set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.scope).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.value.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_jobs(conn: &mut PgConnection, rows: &BTreeMap<(Uuid, i64), JobRow>) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // A job whose state this batch does not know only has its details updated: its row
    // exists from an earlier batch (a job is created before anything else happens to it).
    let (with_state, details): (Vec<&JobRow>, Vec<&JobRow>) =
        rows.values().partition(|r| r.state.is_some());
    if !with_state.is_empty() {
        let rows = with_state;
        sqlx::query(
            "insert into jobs (tenant_id, environment_id, job_key, process_instance_key, \
             element_instance_key, element_id, job_type, worker, retries, state, error_message, \
             deadline, updated_at) \
             select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], \
               $5::bigint[], $6::text[], $7::text[], $8::text[], $9::integer[], $10::text[], \
               $11::text[], $12::timestamptz[], $13::timestamptz[]) \
             on conflict (tenant_id, environment_id, job_key) do update \
             set worker = excluded.worker, retries = excluded.retries, state = excluded.state, \
               error_message = excluded.error_message, deadline = excluded.deadline, \
               updated_at = excluded.updated_at",
        )
        .bind(tenants_of(rows.iter().copied(), |r| &r.target))
        .bind(
            rows.iter()
                .map(|r| r.target.environment_id)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.element_instance).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.element_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.job_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.worker.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.retries).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.state).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.error_message.clone())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.deadline).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if !details.is_empty() {
        let rows = details;
        sqlx::query(
            "update jobs j set retries = u.r, deadline = u.d, updated_at = u.a \
             from unnest($1::uuid[], $2::bigint[], $3::integer[], $4::timestamptz[], \
               $5::timestamptz[]) as u(e, k, r, d, a) \
             where j.environment_id = u.e and j.job_key = u.k",
        )
        .bind(
            rows.iter()
                .map(|r| r.target.environment_id)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.retries).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.deadline).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Recounts the open incidents of the instances; returns (count, state, process id) of each.
async fn recount_incidents(
    conn: &mut PgConnection,
    instances: &BTreeMap<(Uuid, i64), Target>,
) -> Result<HashMap<(Uuid, i64), (i32, String, String)>> {
    if instances.is_empty() {
        return Ok(HashMap::new());
    }
    let (environments, keys): (Vec<Uuid>, Vec<i64>) = instances.keys().copied().unzip();
    let rows = sqlx::query(
        "update process_instances p set incidents = ( \
           select count(*) from incidents i where i.tenant_id = p.tenant_id \
           and i.environment_id = p.environment_id \
           and i.process_instance_key = p.process_instance_key and i.state = 'active'), \
           updated_at = now() \
         from unnest($1::uuid[], $2::bigint[]) as u(e, k) \
         where p.environment_id = u.e and p.process_instance_key = u.k \
         returning p.environment_id, p.process_instance_key, p.incidents, p.state, \
           p.bpmn_process_id",
    )
    .bind(&environments)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = HashMap::new();
    for row in rows {
        counts.insert(
            (row.try_get(0)?, row.try_get(1)?),
            (row.try_get(2)?, row.try_get(3)?, row.try_get(4)?),
        );
    }
    Ok(counts)
}

/// Queues the deltas for every server replica; PostgreSQL delivers them at commit.
pub async fn notify(conn: &mut PgConnection, deltas: &[Delta]) -> Result<()> {
    let payloads = chunk(deltas);
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("select pg_notify($1, payload) from unnest($2::text[]) as p(payload)")
        .bind(NOTIFY_CHANNEL)
        .bind(payloads)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deltas as JSON arrays of at most [`NOTIFY_PAYLOAD`] bytes each. A single delta larger than
/// that (a very long element id) is sent without its element id rather than dropped.
fn chunk(deltas: &[Delta]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::from("[");
    for delta in deltas {
        let mut text = serde_json::to_string(delta).unwrap_or_default();
        if text.len() + 2 > NOTIFY_PAYLOAD {
            let mut shortened = delta.clone();
            shortened.element_id = None;
            shortened.bpmn_process_id.clear();
            text = serde_json::to_string(&shortened).unwrap_or_default();
        }
        if current.len() + text.len() + 2 > NOTIFY_PAYLOAD && current.len() > 1 {
            current.push(']');
            payloads.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&text);
    }
    if current.len() > 1 {
        current.push(']');
        payloads.push(current);
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(element: &str) -> Delta {
        Delta {
            tenant_id: "acme".into(),
            environment: "dev".into(),
            kind: DeltaKind::Element,
            process_instance_key: 1,
            key: 2,
            bpmn_process_id: "order".into(),
            element_id: Some(element.into()),
            state: "completed".into(),
            incidents: None,
            deployment_id: None,
            timestamp: 3,
            position: 4,
        }
    }

    #[test]
    fn notify_payloads_stay_under_the_limit_and_keep_every_delta() {
        let deltas: Vec<Delta> = (0..500).map(|i| delta(&format!("task_{i}"))).collect();
        let payloads = chunk(&deltas);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= NOTIFY_PAYLOAD, "{}", payload.len());
            back.extend(serde_json::from_str::<Vec<Delta>>(payload).unwrap());
        }
        assert_eq!(back, deltas);

        let huge = chunk(&[delta(&"x".repeat(10_000))]);
        assert_eq!(huge.len(), 1);
        assert!(huge[0].len() <= NOTIFY_PAYLOAD);
    }

    #[test]
    fn tasks_are_told_from_other_elements() {
        assert!(is_task("SERVICE_TASK"));
        assert!(is_task("TASK"));
        assert!(!is_task("EXCLUSIVE_GATEWAY"));
        assert!(!is_task("START_EVENT"));
    }
}
