//! Turning a batch of records into the final state of every row it touches and the audit
//! events it makes: pure code, so a batch's effect can be checked without a database.
//!
//! Rows are keyed by environment and key, so that a later record of the same entity
//! overwrites what an earlier one in the batch set: an instance that starts and completes in
//! one batch is written once, as completed.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;
use zeebe::record::{
    ErrorValue, IncidentValue, Intent, JobValue, ProcessInstanceValue, ProcessValue, Record,
    RecordType, RecordValue, ValueType, VariableValue,
};

use super::{
    rows::{
        DefinitionRow, ElementRow, ElementState, IncidentRow, IncidentState, InstanceRow,
        InstanceState, JobRow, JobState, PendingEvent, Target, VariableRow,
    },
    source::SourceKind,
};
use crate::monitor::trail::{NewEvent, Sanitizer};

/// Everything a batch changes, keyed so that later records overwrite earlier ones.
#[derive(Debug, Default)]
pub(super) struct Fold {
    pub(super) definitions: Vec<DefinitionRow>,
    pub(super) instances: BTreeMap<(Uuid, i64), InstanceRow>,
    pub(super) elements: BTreeMap<(Uuid, i64), ElementRow>,
    pub(super) incidents: BTreeMap<(Uuid, i64), IncidentRow>,
    pub(super) variables: BTreeMap<(Uuid, i64, String), VariableRow>,
    pub(super) jobs: BTreeMap<(Uuid, i64), JobRow>,
    /// Instances whose open-incident count must be recounted.
    pub(super) recount: BTreeMap<(Uuid, i64), Target>,
    pub(super) events: Vec<PendingEvent>,
    /// Records of no known tenant environment, or that concern nothing projected.
    pub(super) ignored: usize,
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

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn is_task(element_type: &str) -> bool {
    element_type.ends_with("_TASK") || element_type == "TASK"
}

/// The record being folded, with what every row and event made from it shares.
struct Folding<'a> {
    sanitizer: &'a Sanitizer,
    target: Target,
    record: &'a Record,
    at: DateTime<Utc>,
}

impl Folding<'_> {
    fn environment_id(&self) -> Uuid {
        self.target.environment_id
    }

    fn event(
        &self,
        event_type: &'static str,
        execution_id: i64,
        workflow_id: &str,
        context: Value,
    ) -> NewEvent {
        NewEvent {
            occurred_at: self.at,
            execution_id: execution_id.to_string(),
            workflow_id: workflow_id.to_owned(),
            environment: self.target.environment.clone(),
            event_type,
            task_id: None,
            task_name: None,
            execution_context: context,
            variables: None,
            partition_id: self.record.partition_id,
            position: self.record.position,
        }
    }

    /// `event` as this record's, with no duration, start or element names to add.
    fn pending(&self, event: NewEvent) -> PendingEvent {
        PendingEvent {
            tenant: self.target.tenant.clone(),
            event,
            duration_of: None,
            is_start: false,
            operation: self.record.operation_reference,
            definition: None,
        }
    }
}

impl Fold {
    /// Folds `records`, fresh and in position order, with the targets
    /// `write::resolve_targets` found for their tenants. Only events change
    /// projections; commands and rejections are skipped.
    pub(super) fn of(
        sanitizer: &Sanitizer,
        source: &SourceKind,
        targets: &HashMap<String, Option<Target>>,
        records: &[&Record],
    ) -> Self {
        let mut fold = Self::default();
        for record in records {
            let target = match record_tenant(record) {
                Some(tenant) => targets.get(tenant).cloned().flatten(),
                None => match source {
                    // A record without a tenant (a processing error) from an exporter is
                    // its environment's.
                    SourceKind::Exporter { .. } => targets.values().next().cloned().flatten(),
                    SourceKind::Embedded { .. } => None,
                },
            };
            match target {
                Some(target) if record.record_type == RecordType::Event => {
                    fold.record(sanitizer, target, record);
                }
                Some(_) => {}
                None => fold.ignored += 1,
            }
        }
        fold
    }

    /// Folds one event of `target`'s.
    fn record(&mut self, sanitizer: &Sanitizer, target: Target, record: &Record) {
        let folding = Folding {
            sanitizer,
            target,
            record,
            at: millis(record.timestamp),
        };
        let intent = record.intent.as_str();
        let folded = match &record.value {
            RecordValue::Process(process) if record.intent == Intent::CREATED => {
                self.process(&folding, process);
                Some(())
            }
            RecordValue::ProcessInstance(v) if v.bpmn_element_type == "PROCESS" => {
                self.process_instance(&folding, v);
                Some(())
            }
            RecordValue::ProcessInstance(v) => self.element_instance(&folding, v),
            RecordValue::Job(job) => self.job(&folding, job),
            RecordValue::Other(batch)
                if record.value_type == ValueType::JobBatch && intent == "ACTIVATED" =>
            {
                self.job_batch(&folding, batch)
            }
            RecordValue::Incident(incident) => self.incident(&folding, incident),
            RecordValue::Variable(variable) => self.variable(&folding, variable),
            RecordValue::Error(error) => {
                self.error(&folding, error);
                Some(())
            }
            other => self.audited_only(&folding, other),
        };
        if folded.is_none() {
            self.ignored += 1;
        }
    }

    /// A deployed process definition, with its BPMN for the element names.
    fn process(&mut self, folding: &Folding, process: &ProcessValue) {
        let xml = base64::engine::general_purpose::STANDARD
            .decode(process.resource.as_bytes())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_default();
        self.definitions.push(DefinitionRow {
            target: folding.target.clone(),
            key: process.process_definition_key,
            bpmn_process_id: process.bpmn_process_id.clone(),
            version: process.version,
            resource_name: process.resource_name.clone(),
            xml,
            at: folding.at,
        });
    }

    /// A process instance's own lifecycle (its element type is `PROCESS`).
    fn process_instance(&mut self, folding: &Folding, v: &ProcessInstanceValue) {
        let record = folding.record;
        let at = folding.at;
        let env = folding.environment_id();
        let intent = record.intent.as_str();
        let state = InstanceState::of(intent);
        let row = self
            .instances
            .entry((env, record.key))
            .or_insert_with(|| InstanceRow {
                target: folding.target.clone(),
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
        if state != InstanceState::Active {
            row.end = Some(at);
        }
        let event_type = match intent {
            "ELEMENT_ACTIVATED" => "PROCESS_STARTED",
            "ELEMENT_COMPLETED" => "PROCESS_COMPLETED",
            "ELEMENT_TERMINATED" => "PROCESS_TERMINATED",
            _ => return,
        };
        let mut context = json!({
            "status": state.as_str(),
            "processDefinitionKey": v.process_definition_key,
            "version": v.version,
        });
        if v.parent_process_instance_key > 0 {
            context["parentProcessInstanceKey"] = json!(v.parent_process_instance_key);
        }
        let event = folding.event(event_type, record.key, &v.bpmn_process_id, context);
        self.events.push(PendingEvent {
            duration_of: (state != InstanceState::Active).then_some((env, record.key, true)),
            is_start: event_type == "PROCESS_STARTED",
            ..folding.pending(event)
        });
    }

    /// An element instance (or a taken sequence flow) inside a process instance.
    fn element_instance(&mut self, folding: &Folding, v: &ProcessInstanceValue) -> Option<()> {
        let record = folding.record;
        let at = folding.at;
        let env = folding.environment_id();
        let intent = record.intent.as_str();
        let state = ElementState::of(intent)?;
        let row = self
            .elements
            .entry((env, record.key))
            .or_insert_with(|| ElementRow {
                target: folding.target.clone(),
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
        if state.is_final() {
            row.end = Some(at);
        }
        let task = is_task(&v.bpmn_element_type);
        let event_type = match (intent, task) {
            ("ELEMENT_ACTIVATED", true) => "TASK_ACTIVATED",
            ("ELEMENT_COMPLETED", true) => "TASK_COMPLETED",
            ("ELEMENT_TERMINATED", true) => "TASK_TERMINATED",
            ("ELEMENT_ACTIVATED", false) => "ELEMENT_ACTIVATED",
            ("ELEMENT_COMPLETED", false) => "ELEMENT_COMPLETED",
            ("ELEMENT_TERMINATED", false) => "ELEMENT_TERMINATED",
            _ => return Some(()),
        };
        let mut event = folding.event(
            event_type,
            v.process_instance_key,
            &v.bpmn_process_id,
            json!({
                "status": state.as_str(),
                "elementType": v.bpmn_element_type,
                "elementInstanceKey": record.key,
                "processDefinitionKey": v.process_definition_key,
                "version": v.version,
            }),
        );
        event.task_id = Some(v.element_id.clone());
        self.events.push(PendingEvent {
            duration_of: (state != ElementState::Activated).then_some((env, record.key, false)),
            definition: Some((env, v.process_definition_key)),
            ..folding.pending(event)
        });
        Some(())
    }

    /// A job's lifecycle; `RETRIES_UPDATED` and `TIMEOUT_UPDATED` change only its details.
    fn job(&mut self, folding: &Folding, job: &JobValue) -> Option<()> {
        let (state, event_type) = match folding.record.intent.as_str() {
            "CREATED" | "RECURRED_AFTER_BACKOFF" => (Some(JobState::Created), None),
            "COMPLETED" => (Some(JobState::Completed), Some("JOB_COMPLETED")),
            "FAILED" => (Some(JobState::Failed), Some("JOB_FAILED")),
            "TIMED_OUT" => (Some(JobState::TimedOut), Some("JOB_TIMED_OUT")),
            "ERROR_THROWN" => (Some(JobState::ErrorThrown), Some("ERROR_THROWN")),
            "CANCELED" => (Some(JobState::Canceled), None),
            "RETRIES_UPDATED" => (None, Some("JOB_RETRIES_UPDATED")),
            "TIMEOUT_UPDATED" => (None, None),
            _ => return None,
        };
        self.upsert_job(folding, folding.record.key, job, state);
        let Some(event_type) = event_type else {
            return Some(());
        };
        let mut context = json!({
            "status": state.map_or("updated", JobState::as_str),
            "jobKey": folding.record.key,
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
        let mut event = folding.event(
            event_type,
            job.process_instance_key,
            &job.bpmn_process_id,
            context,
        );
        event.task_id = Some(job.element_id.clone());
        if !job.variables.is_empty() {
            event.variables = Some(folding.sanitizer.variables(&job.variables));
        }
        self.events.push(PendingEvent {
            definition: Some((folding.environment_id(), job.process_definition_key)),
            ..folding.pending(event)
        });
        Some(())
    }

    /// A batch of jobs activated by one worker's request.
    fn job_batch(&mut self, folding: &Folding, batch: &Value) -> Option<()> {
        let keys = batch.get("jobKeys").and_then(Value::as_array)?;
        let jobs = batch.get("jobs").and_then(Value::as_array)?;
        for (key, job) in keys.iter().zip(jobs) {
            let (Some(key), Ok(job)) = (
                key.as_i64(),
                serde_json::from_value::<JobValue>(job.clone()),
            ) else {
                continue;
            };
            self.upsert_job(folding, key, &job, Some(JobState::Activated));
            let mut event = folding.event(
                "JOB_ACTIVATED",
                job.process_instance_key,
                &job.bpmn_process_id,
                json!({
                    "status": JobState::Activated.as_str(),
                    "jobKey": key,
                    "jobType": job.job_type,
                    "worker": job.worker,
                    "retries": job.retries,
                    "elementInstanceKey": job.element_instance_key,
                }),
            );
            event.task_id = Some(job.element_id.clone());
            self.events.push(PendingEvent {
                definition: Some((folding.environment_id(), job.process_definition_key)),
                ..folding.pending(event)
            });
        }
        Some(())
    }

    /// Updates the job `key`, moving it to `state` unless that is `None`.
    fn upsert_job(&mut self, folding: &Folding, key: i64, job: &JobValue, state: Option<JobState>) {
        let record = folding.record;
        let at = folding.at;
        let deadline = (job.deadline > 0).then(|| millis(job.deadline));
        let row = self
            .jobs
            .entry((folding.environment_id(), key))
            .or_insert_with(|| JobRow {
                target: folding.target.clone(),
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

    /// An incident created or resolved; its instance's open-incident count is recounted.
    fn incident(&mut self, folding: &Folding, incident: &IncidentValue) -> Option<()> {
        let record = folding.record;
        let at = folding.at;
        let env = folding.environment_id();
        let (state, event_type) = match record.intent.as_str() {
            "CREATED" => (IncidentState::Active, "INCIDENT_CREATED"),
            "RESOLVED" => (IncidentState::Resolved, "INCIDENT_RESOLVED"),
            _ => return None,
        };
        let row = self
            .incidents
            .entry((env, record.key))
            .or_insert_with(|| IncidentRow {
                target: folding.target.clone(),
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
        if state == IncidentState::Resolved {
            row.resolved = Some(at);
        }
        self.recount
            .insert((env, incident.process_instance_key), folding.target.clone());
        let mut event = folding.event(
            event_type,
            incident.process_instance_key,
            &incident.bpmn_process_id,
            json!({
                "status": state.as_str(),
                "incidentKey": record.key,
                "errorType": incident.error_type,
                "errorMessage": incident.error_message,
                "elementInstanceKey": incident.element_instance_key,
                "jobKey": incident.job_key,
            }),
        );
        event.task_id = Some(incident.element_id.clone());
        self.events.push(PendingEvent {
            definition: Some((env, incident.process_definition_key)),
            ..folding.pending(event)
        });
        Some(())
    }

    /// A variable set in a scope; the last value of the batch is the one kept.
    fn variable(&mut self, folding: &Folding, variable: &VariableValue) -> Option<()> {
        let record = folding.record;
        let event_type = match record.intent.as_str() {
            "CREATED" => "VARIABLE_CREATED",
            "UPDATED" => "VARIABLE_UPDATED",
            _ => return None,
        };
        self.variables.insert(
            (
                folding.environment_id(),
                variable.scope_key,
                variable.name.clone(),
            ),
            VariableRow {
                target: folding.target.clone(),
                scope: variable.scope_key,
                name: variable.name.clone(),
                instance: variable.process_instance_key,
                bpmn_process_id: variable.bpmn_process_id.clone(),
                value: variable.value.clone(),
                at: folding.at,
                timestamp: record.timestamp,
                position: record.position,
            },
        );
        let mut values = Map::new();
        values.insert(
            variable.name.clone(),
            folding.sanitizer.variable(&variable.name, &variable.value),
        );
        let mut event = folding.event(
            event_type,
            variable.process_instance_key,
            &variable.bpmn_process_id,
            json!({ "scopeKey": variable.scope_key }),
        );
        event.variables = Some(Value::Object(values));
        self.events.push(folding.pending(event));
        Some(())
    }

    /// The engine failed to process a record: audited, nothing projected.
    fn error(&mut self, folding: &Folding, error: &ErrorValue) {
        let event = folding.event(
            "ERROR",
            error.process_instance_key,
            "",
            json!({
                "status": "error",
                "errorMessage": error.exception_message,
                "errorEventPosition": error.error_event_position,
            }),
        );
        self.events.push(folding.pending(event));
    }

    /// Events of the newer element kinds (timers, messages, signals, escalations) are
    /// audited by what they did to which instance; their element states arrive as process
    /// instance records.
    fn audited_only(&mut self, folding: &Folding, value: &RecordValue) -> Option<()> {
        let record = folding.record;
        let intent = record.intent.as_str();
        let event_type = match (record.value_type.as_str(), intent) {
            ("TIMER", "TRIGGERED") => "TIMER_TRIGGERED",
            ("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED") => "MESSAGE_CORRELATED",
            ("ESCALATION", "ESCALATED") => "ESCALATION_THROWN",
            ("SIGNAL_SUBSCRIPTION", "TRIGGERED") | ("SIGNAL", "BROADCASTED") => "SIGNAL_RECEIVED",
            _ => return None,
        };
        let json = serde_json::to_value(value).unwrap_or(Value::Null);
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
        let mut context = json!({ "status": intent.to_lowercase() });
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
        let mut event = folding.event(event_type, instance, process_id, context);
        event.task_id = element;
        event.variables = json
            .get("variables")
            .and_then(Value::as_object)
            .filter(|v| !v.is_empty())
            .map(|v| folding.sanitizer.variables(v));
        let definition = json
            .get("processDefinitionKey")
            .and_then(Value::as_i64)
            .map(|key| (folding.environment_id(), key));
        self.events.push(PendingEvent {
            definition,
            ..folding.pending(event)
        });
        Some(())
    }
}

#[cfg(test)]
mod tests;
