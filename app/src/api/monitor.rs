//! The monitor and the audit trails as the pages show them — server functions over the server's
//! [`MonitorPlane`](crate::api::ssr::MonitorPlane), which calls the same REST handlers (and so
//! the same authorisation) as `/api/v1`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One process instance in the monitor's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub environment: String,
    pub process_instance_key: i64,
    pub bpmn_process_id: String,
    pub version: i32,
    pub workflow_id: Option<String>,
    /// `active`, `completed` or `terminated`.
    pub state: String,
    pub incidents: i32,
    pub start_time: String,
    pub end_time: Option<String>,
}

/// A page of the monitor's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceList {
    pub rows: Vec<InstanceRow>,
    pub next_cursor: Option<String>,
    /// The tenant's environments and workflows, for the filters.
    pub environments: Vec<String>,
    /// `(process id, name)` of the tenant's workflows.
    pub workflows: Vec<(String, String)>,
    /// Whether the caller may retry incidents, cancel instances and set variables.
    pub can_operate: bool,
}

/// What the monitor's table shows; every field may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFilter {
    pub environment: String,
    pub process: String,
    pub version: String,
    pub state: String,
    /// `YYYY-MM-DDTHH:MM` (a `datetime-local` input), UTC.
    pub started_after: String,
    pub started_before: String,
    pub cursor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementRow {
    pub element_instance_key: i64,
    pub element_id: String,
    pub element_type: String,
    pub state: String,
    pub start_time: String,
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableRow {
    pub scope_key: i64,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub environment: String,
    pub incident_key: i64,
    pub process_instance_key: i64,
    pub bpmn_process_id: String,
    pub element_id: String,
    pub error_type: String,
    pub error_message: String,
    pub state: String,
    pub created_at: String,
}

/// A tenant's open incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentList {
    pub rows: Vec<IncidentRow>,
    /// Whether the caller may retry them.
    pub can_operate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    pub job_key: i64,
    pub element_id: String,
    pub job_type: String,
    pub worker: String,
    pub retries: i32,
    pub state: String,
    pub error_message: String,
}

/// One line of an instance's event timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub seq: i64,
    pub timestamp: String,
    pub event_type: String,
    pub task: String,
    pub detail: String,
}

/// Everything an instance's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    pub instance: InstanceRow,
    pub bpmn_xml: Option<String>,
    pub elements: Vec<ElementRow>,
    pub variables: Vec<VariableRow>,
    pub incidents: Vec<IncidentRow>,
    pub jobs: Vec<JobRow>,
    pub timeline: Vec<TimelineRow>,
    pub can_operate: bool,
}

/// How a retry turned out, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryView {
    /// `resolved`, `failed_again` or `pending`.
    pub outcome: String,
    pub message: String,
}

/// A row of either audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailRow {
    pub seq: i64,
    pub timestamp: String,
    /// Who (control trail) or which instance (execution trail).
    pub subject: String,
    /// The action or event type.
    pub action: String,
    /// The target or task.
    pub target: String,
    pub detail: String,
    /// The first hex digits of the event's hash.
    pub hash: String,
}

/// Which trail and which of its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailFilter {
    /// `control` (default) or `execution`.
    pub trail: String,
    pub actor: String,
    pub action: String,
    pub instance: String,
    /// `YYYY-MM-DDTHH:MM`, UTC.
    pub from: String,
    pub to: String,
}

/// A trail as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailView {
    pub rows: Vec<TrailRow>,
    /// Whether the whole chain verifies.
    pub verified: bool,
    pub events_checked: u64,
    /// The first broken event, with why.
    pub first_broken: Option<String>,
    /// The query string of the export links for this filter (without `format`).
    pub export_query: String,
}

/// What a monitor server function needs: the monitor plane, the request, and where to set the
/// status.
#[cfg(feature = "ssr")]
type MonitorBackend = (
    std::sync::Arc<dyn crate::api::ssr::MonitorPlane>,
    http::request::Parts,
    Option<leptos_axum::ResponseOptions>,
);

#[cfg(feature = "ssr")]
fn monitor_backend() -> Result<MonitorBackend, AppError> {
    let context = use_context::<crate::api::ssr::ServerContext>().ok_or(AppError::Internal)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    let response = use_context::<leptos_axum::ResponseOptions>();
    Ok((context.monitor, parts, response))
}

#[cfg(feature = "ssr")]
use super::access::with_status;

#[server(prefix = "/api/fn", endpoint = "monitor_instances")]
pub async fn monitor_instances(
    tenant: String,
    filter: InstanceFilter,
) -> Result<InstanceList, AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(response, monitor.instances(parts, tenant, filter).await)
}

#[server(prefix = "/api/fn", endpoint = "monitor_incidents")]
pub async fn monitor_incidents(tenant: String) -> Result<IncidentList, AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(response, monitor.incidents(parts, tenant).await)
}

#[server(prefix = "/api/fn", endpoint = "monitor_instance")]
pub async fn monitor_instance(
    tenant: String,
    environment: String,
    key: i64,
) -> Result<InstanceView, AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(
        response,
        monitor.instance(parts, tenant, environment, key).await,
    )
}

#[server(prefix = "/api/fn", endpoint = "retry_incident")]
pub async fn retry_incident(
    tenant: String,
    environment: String,
    incident: i64,
) -> Result<RetryView, AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(
        response,
        monitor.retry(parts, tenant, environment, incident).await,
    )
}

#[server(prefix = "/api/fn", endpoint = "cancel_instance")]
pub async fn cancel_instance(
    tenant: String,
    environment: String,
    key: i64,
) -> Result<(), AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(
        response,
        monitor.cancel(parts, tenant, environment, key).await,
    )
}

/// Sets one variable on the instance; `value` is JSON (`42`, `"text"`, `{"a": 1}`).
#[server(prefix = "/api/fn", endpoint = "set_variable")]
pub async fn set_variable(
    tenant: String,
    environment: String,
    key: i64,
    name: String,
    value: String,
) -> Result<(), AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(
        response,
        monitor
            .set_variable(parts, tenant, environment, key, name, value)
            .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "audit_trail")]
pub async fn audit_trail(tenant: String, filter: TrailFilter) -> Result<TrailView, AppError> {
    let (monitor, parts, response) = monitor_backend()?;
    with_status(response, monitor.trail(parts, tenant, filter).await)
}
