//! The pages' side of the monitor: [`MonitorPlane`] over the services of
//! [`crate::monitor::service`], which the REST API calls too, so a page and the API cannot
//! disagree about what a caller may see or do.

use std::sync::Arc;

use app::{
    api::{
        monitor::{
            ElementRow, IncidentList, IncidentRow, InstanceFilter, InstanceList, InstanceRow,
            InstanceView, JobRow, RetryView, TimelineRow, TrailFilter, TrailRow, TrailView,
            VariableRow,
        },
        ssr::{BoxFuture, MonitorPlane},
    },
    error::AppError,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::{
    auth::{
        AuthState, Principal, RequestMeta,
        policy::{Action, Resource},
    },
    context::Ctx,
    domain::FieldError,
    error::ApiError,
    extract::tenant_id,
    monitor::{
        hub::Hub,
        query::{IncidentView, InstanceSummary},
        service::{self, InstanceQuery, RetryState, SetVariables, TrailEvent, TrailQuery},
        trail::ExecutionAuditEvent,
    },
    pipeline::Pipeline,
};

#[derive(Clone)]
pub struct MonitorBackend {
    pub auth: AuthState,
    pub pipeline: Arc<Pipeline>,
    pub hub: Arc<Hub>,
    /// Signed checkpoints of the audit chains.
    pub checkpoints: Arc<crate::audit::checkpoint::Checkpoints>,
}

fn boxed<T: Send + 'static>(
    future: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> BoxFuture<T> {
    Box::pin(async move { future.await.map_err(AppError::from) })
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A `datetime-local` value (or RFC 3339) as a UTC instant; empty is none.
fn instant(field: &str, text: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| Some(naive.and_utc()))
        .ok_or_else(|| {
            FieldError::new(field, "expected a date and time such as 2026-12-03T09:30").into()
        })
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn instance_row(summary: InstanceSummary) -> InstanceRow {
    InstanceRow {
        environment: summary.environment,
        process_instance_key: summary.process_instance_key,
        bpmn_process_id: summary.bpmn_process_id,
        version: summary.version,
        workflow_id: summary.workflow_id.map(|id| id.to_string()),
        state: summary.state,
        incidents: summary.incidents,
        start_time: time(summary.start_time),
        end_time: summary.end_time.map(time),
    }
}

fn incident_row(incident: IncidentView) -> IncidentRow {
    IncidentRow {
        environment: incident.environment,
        incident_key: incident.incident_key,
        process_instance_key: incident.process_instance_key,
        bpmn_process_id: incident.bpmn_process_id,
        element_id: incident.element_id,
        error_type: incident.error_type,
        error_message: incident.error_message,
        state: incident.state,
        created_at: time(incident.created_at),
    }
}

/// A short account of an execution event's context: status, duration, who, what failed.
fn context_summary(event: &ExecutionAuditEvent) -> String {
    let context = &event.execution_context;
    let mut parts = Vec::new();
    for (field, label) in [
        ("status", ""),
        ("startedBy", "by "),
        ("worker", "worker "),
        ("jobType", "job "),
        ("errorType", ""),
        ("errorMessage", ""),
    ] {
        if let Some(text) = context
            .get(field)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            parts.push(format!("{label}{text}"));
        }
    }
    if let Some(ms) = context.get("durationMs").and_then(Value::as_i64) {
        parts.push(format!("{ms} ms"));
    }
    if let Some(variables) = &event.variables {
        parts.push(variables.to_string());
    }
    parts.join(" · ")
}

impl MonitorBackend {
    /// The request context of a server function's request.
    async fn ctx(&self, mut parts: Parts) -> Result<Ctx, ApiError> {
        let principal = Principal::from_request_parts(&mut parts, &self.auth).await?;
        let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
        Ok(Ctx::new(self.auth.pool.clone(), principal, meta))
    }
}

impl MonitorPlane for MonitorBackend {
    fn instances(
        &self,
        parts: Parts,
        tenant: String,
        filter: InstanceFilter,
    ) -> BoxFuture<InstanceList> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let version = match optional(&filter.version) {
                Some(text) => Some(text.parse::<i32>().map_err(|_| {
                    ApiError::from(FieldError::new("version", "must be a whole number"))
                })?),
                None => None,
            };
            let state = match optional(&filter.state) {
                Some(text) => Some(
                    serde_json::from_value(Value::String(text))
                        .map_err(|_| FieldError::new("state", "unknown state"))?,
                ),
                None => None,
            };
            let query = InstanceQuery {
                environment: optional(&filter.environment),
                workflow_id: None,
                bpmn_process_id: optional(&filter.process),
                version,
                state,
                started_after: instant("started_after", &filter.started_after)?,
                started_before: instant("started_before", &filter.started_before)?,
                cursor: optional(&filter.cursor),
                limit: Some(50),
            };
            let page = service::instances(&ctx, &tenant, query).await?;
            let (environments, workflows) = service::instance_choices(&ctx, &tenant).await?;
            Ok(InstanceList {
                rows: page.instances.into_iter().map(instance_row).collect(),
                next_cursor: page.next_cursor,
                environments,
                workflows,
                can_operate: ctx.may(Action::OperateInstances, Resource::Tenant(&tenant)),
            })
        })
    }

    fn incidents(&self, parts: Parts, tenant: String) -> BoxFuture<IncidentList> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let can_operate = ctx.may(Action::OperateInstances, Resource::Tenant(&tenant));
            let found = service::incidents(&ctx, &tenant, None, true, Some(50)).await?;
            Ok(IncidentList {
                rows: found.into_iter().map(incident_row).collect(),
                can_operate,
            })
        })
    }

    fn instance(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        key: i64,
    ) -> BoxFuture<InstanceView> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let can_operate = ctx.may(Action::OperateInstances, Resource::Tenant(&tenant));
            let detail = service::instance(&ctx, &tenant, &environment, key).await?;
            Ok(InstanceView {
                instance: instance_row(detail.instance),
                bpmn_xml: detail.bpmn_xml,
                elements: detail
                    .elements
                    .into_iter()
                    .map(|e| ElementRow {
                        element_instance_key: e.element_instance_key,
                        element_id: e.element_id,
                        element_type: e.element_type,
                        state: e.state,
                        start_time: time(e.start_time),
                        end_time: e.end_time.map(time),
                    })
                    .collect(),
                variables: detail
                    .variables
                    .into_iter()
                    .map(|v| VariableRow {
                        scope_key: v.scope_key,
                        name: v.name,
                        value: v.value,
                    })
                    .collect(),
                incidents: detail.incidents.into_iter().map(incident_row).collect(),
                jobs: detail
                    .jobs
                    .into_iter()
                    .map(|j| JobRow {
                        job_key: j.job_key,
                        element_id: j.element_id,
                        job_type: j.job_type,
                        worker: j.worker,
                        retries: j.retries,
                        state: j.state,
                        error_message: j.error_message,
                    })
                    .collect(),
                timeline: detail
                    .timeline
                    .iter()
                    .map(|event| TimelineRow {
                        seq: event.seq,
                        timestamp: time(event.timestamp),
                        event_type: event.event_type.clone(),
                        task: match (&event.task_name, &event.task_id) {
                            (Some(name), Some(id)) => format!("{name} ({id})"),
                            (None, Some(id)) => id.clone(),
                            _ => String::new(),
                        },
                        detail: context_summary(event),
                    })
                    .collect(),
                can_operate,
            })
        })
    }

    fn retry(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        incident: i64,
    ) -> BoxFuture<RetryView> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let retried = service::retry(
                &ctx,
                &backend.pipeline,
                &backend.hub,
                &tenant,
                &environment,
                incident,
                None,
            )
            .await?;
            let message = match retried.state {
                RetryState::Resolved => {
                    "Resolved: the incident cleared and the instance went on.".to_owned()
                }
                RetryState::FailedAgain => format!(
                    "Failed again: {}",
                    retried
                        .new_incident
                        .map(|i| i.error_message)
                        .unwrap_or_default()
                ),
                RetryState::Pending => {
                    "Retried: the engine accepted it; the outcome has not arrived yet.".to_owned()
                }
            };
            Ok(RetryView {
                outcome: retried.state.as_str().to_owned(),
                message,
            })
        })
    }

    fn cancel(&self, parts: Parts, tenant: String, environment: String, key: i64) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            service::cancel(&ctx, &backend.pipeline, &tenant, &environment, key).await
        })
    }

    fn set_variable(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        key: i64,
        name: String,
        value: String,
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let name = name.trim().to_owned();
            if name.is_empty() {
                return Err(FieldError::new("name", "name the variable").into());
            }
            let value: Value = serde_json::from_str(&value).map_err(|e| {
                FieldError::new(
                    "value",
                    format!("not JSON ({e}); quote text: \"like this\""),
                )
            })?;
            let mut variables = serde_json::Map::new();
            variables.insert(name, value);
            let update = SetVariables {
                scope_key: None,
                variables,
                local: false,
            };
            service::set_variables(&ctx, &backend.pipeline, &tenant, &environment, key, update)
                .await
        })
    }

    fn trail(&self, parts: Parts, tenant: String, filter: TrailFilter) -> BoxFuture<TrailView> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::ReadAudit, Resource::Tenant(&tenant))?;
            let from = instant("from", &filter.from)?;
            let to = instant("to", &filter.to)?;
            let execution = filter.trail == "execution";
            // The newest 200 events that pass the filter.
            const SHOWN: i64 = 200;
            let query = TrailQuery {
                execution,
                actor: optional(&filter.actor).filter(|_| !execution),
                action: optional(&filter.action),
                instance: optional(&filter.instance),
                from,
                to,
            };
            let (verification, events) =
                service::trail_events(&ctx, &backend.checkpoints, &tenant, &query, Some(SHOWN))
                    .await?;
            let rows = events.iter().map(trail_row).collect::<Vec<_>>();
            let mut query = vec![format!(
                "trail={}",
                if execution { "execution" } else { "control" }
            )];
            for (key, value) in [
                ("actor", &filter.actor),
                ("action", &filter.action),
                ("instance", &filter.instance),
            ] {
                if let Some(value) = optional(value) {
                    query.push(format!("{key}={}", urlencode(&value)));
                }
            }
            for (key, value) in [("from", from), ("to", to)] {
                if let Some(value) = value {
                    query.push(format!("{key}={}", urlencode(&value.to_rfc3339())));
                }
            }
            Ok(TrailView {
                rows,
                verified: verification.ok,
                events_checked: verification.events_checked,
                first_broken: verification
                    .first_broken
                    .map(|broken| format!("event {}: {}", broken.seq, broken.reason)),
                export_query: query.join("&"),
            })
        })
    }
}

fn trail_row(event: &TrailEvent) -> TrailRow {
    match event {
        TrailEvent::Execution(e) => TrailRow {
            seq: e.seq,
            timestamp: time(e.timestamp),
            subject: format!("{} · {}", e.environment, e.execution_id),
            action: e.event_type.clone(),
            target: e
                .task_name
                .clone()
                .or(e.task_id.clone())
                .unwrap_or_default(),
            detail: context_summary(e),
            hash: hex::encode(&e.audit_hash[..6.min(e.audit_hash.len())]),
        },
        TrailEvent::Control(e) => TrailRow {
            seq: e.seq,
            timestamp: time(e.occurred_at),
            subject: e.actor.clone(),
            action: e.action.clone(),
            target: format!("{} {}", e.target_type, e.target_id),
            detail: e.after.as_ref().map(Value::to_string).unwrap_or_default(),
            hash: hex::encode(&e.audit_hash[..6.min(e.audit_hash.len())]),
        },
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
