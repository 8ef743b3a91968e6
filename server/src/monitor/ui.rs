//! The pages' side of the monitor: [`MonitorPlane`] over the REST handlers of
//! [`crate::routes::monitor`], so a page and the API cannot disagree about what a caller may
//! see or do.

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
use axum::{
    extract::{FromRequestParts, Path, State},
    http::request::Parts,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{
    audit::ExecutionAuditEvent,
    hub::Hub,
    query::{IncidentView, InstanceSummary},
};
use crate::{
    auth::{
        AuthState, Principal, RequestMeta,
        policy::{Action, Resource, authorize},
    },
    db,
    domain::{FieldError, TenantId, audit as control_audit, workflows},
    error::{ApiError, ApiJson, ApiQuery},
    pipeline::Pipeline,
    routes::monitor as rest,
};

#[derive(Clone)]
pub struct MonitorBackend {
    pub auth: AuthState,
    pub pipeline: Arc<Pipeline>,
    pub hub: Arc<Hub>,
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
    async fn principal(&self, mut parts: Parts) -> Result<(Principal, RequestMeta), ApiError> {
        let principal = Principal::from_request_parts(&mut parts, &self.auth).await?;
        let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
        Ok((principal, meta))
    }

    fn pool(&self) -> State<sqlx::PgPool> {
        State(self.auth.pool.clone())
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
            let (principal, _) = backend.principal(parts).await?;
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
            let query = rest::InstanceQuery {
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
            let axum::Json(page) = rest::list_instances(
                backend.pool(),
                principal.clone(),
                Path(tenant.clone()),
                ApiQuery(query),
            )
            .await?;
            let tenant = TenantId::new(&tenant).map_err(|_| ApiError::NotFound("tenant"))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let environments = crate::domain::deployments::environments(&mut tx, &tenant)
                .await?
                .into_iter()
                .map(|e| e.name)
                .collect();
            let workflows = workflows::list(&mut tx, &tenant)
                .await?
                .into_iter()
                .map(|w| (w.key, w.name))
                .collect();
            tx.commit().await?;
            Ok(InstanceList {
                rows: page.instances.into_iter().map(instance_row).collect(),
                next_cursor: page.next_cursor,
                environments,
                workflows,
                can_operate: authorize(
                    &principal,
                    Action::OperateInstances,
                    Resource::Tenant(&tenant),
                )
                .is_ok(),
            })
        })
    }

    fn incidents(&self, parts: Parts, tenant: String) -> BoxFuture<IncidentList> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let can_operate = TenantId::new(&tenant).is_ok_and(|id| {
                authorize(&principal, Action::OperateInstances, Resource::Tenant(&id)).is_ok()
            });
            let axum::Json(found) = rest::list_incidents(
                backend.pool(),
                principal,
                Path(tenant),
                ApiQuery(rest::IncidentQuery {
                    environment: None,
                    state: None,
                    limit: Some(50),
                }),
            )
            .await?;
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
            let (principal, _) = backend.principal(parts).await?;
            let tenant_id = TenantId::new(&tenant).map_err(|_| ApiError::NotFound("tenant"))?;
            let can_operate = authorize(
                &principal,
                Action::OperateInstances,
                Resource::Tenant(&tenant_id),
            )
            .is_ok();
            let axum::Json(detail) = rest::get_instance(
                backend.pool(),
                principal,
                Path((tenant, environment, key.to_string())),
            )
            .await?;
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
            let (principal, meta) = backend.principal(parts).await?;
            let axum::Json(outcome) = rest::retry_incident(
                backend.pool(),
                State(backend.pipeline.clone()),
                State(backend.hub.clone()),
                principal,
                meta,
                Path((tenant, environment, incident.to_string())),
                ApiJson(rest::RetryRequest::default()),
            )
            .await?;
            let message = match outcome.outcome.as_str() {
                "resolved" => "Resolved: the incident cleared and the instance went on.".to_owned(),
                "failed_again" => format!(
                    "Failed again: {}",
                    outcome
                        .new_incident
                        .map(|i| i.error_message)
                        .unwrap_or_default()
                ),
                _ => "Retried: the engine accepted it; the outcome has not arrived yet.".to_owned(),
            };
            Ok(RetryView {
                outcome: outcome.outcome,
                message,
            })
        })
    }

    fn cancel(&self, parts: Parts, tenant: String, environment: String, key: i64) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            rest::cancel_instance(
                backend.pool(),
                State(backend.pipeline.clone()),
                principal,
                meta,
                Path((tenant, environment, key.to_string())),
            )
            .await?;
            Ok(())
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
            let (principal, meta) = backend.principal(parts).await?;
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
            rest::set_variables(
                backend.pool(),
                State(backend.pipeline.clone()),
                principal,
                meta,
                Path((tenant, environment, key.to_string())),
                ApiJson(rest::VariablesUpdate {
                    scope_key: None,
                    variables,
                    local: false,
                }),
            )
            .await?;
            Ok(())
        })
    }

    fn trail(&self, parts: Parts, tenant: String, filter: TrailFilter) -> BoxFuture<TrailView> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let tenant = TenantId::new(&tenant).map_err(|_| ApiError::NotFound("tenant"))?;
            authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
            let from = instant("from", &filter.from)?;
            let to = instant("to", &filter.to)?;
            let execution = filter.trail == "execution";
            // The newest 200 events that pass the filter.
            const SHOWN: i64 = 200;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let (rows, verification) = if execution {
                let query = super::audit::Filter {
                    execution_id: optional(&filter.instance),
                    workflow_id: None,
                    event_type: optional(&filter.action),
                    from,
                    to,
                };
                let events = super::audit::list_newest(&mut tx, &tenant, &query, SHOWN).await?;
                let rows = events
                    .iter()
                    .map(|e| TrailRow {
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
                    })
                    .collect::<Vec<_>>();
                (rows, super::audit::verify(&mut tx, &tenant).await?)
            } else {
                let query = control_audit::Filter {
                    actor: optional(&filter.actor),
                    action: optional(&filter.action),
                    target_id: optional(&filter.instance),
                    from,
                    to,
                };
                let events = control_audit::list_newest(&mut tx, &tenant, &query, SHOWN).await?;
                let rows = events
                    .iter()
                    .map(|e| TrailRow {
                        seq: e.seq,
                        timestamp: time(e.occurred_at),
                        subject: e.actor.clone(),
                        action: e.action.clone(),
                        target: format!("{} {}", e.target_type, e.target_id),
                        detail: e.after.as_ref().map(Value::to_string).unwrap_or_default(),
                        hash: hex::encode(&e.audit_hash[..6.min(e.audit_hash.len())]),
                    })
                    .collect::<Vec<_>>();
                (rows, control_audit::verify(&mut tx, &tenant).await?)
            };
            tx.commit().await?;
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

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
