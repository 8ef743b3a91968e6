//! The monitor's REST API: record ingest from exporters, instances, incidents and the
//! operations on them, and the audit trails' export (seed 000 §3.1, §4.4).
//!
//! Reads need a role in the tenant; operations (retry, cancel, set variables) need an owner
//! or editor, and are recorded in the control-plane audit trail. Exporters authenticate with
//! their environment's ingest token (`astfi_…`), not an API token.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    hub::Hub,
    ingest::{DeadLetter, Ingest},
    query::{IncidentView, InstanceDetail, InstancePage, StateFilter},
    service,
    trail::{self, ExecutionAuditEvent},
    ws,
};
use crate::{
    audit::{Verification, checkpoint::Checkpoints},
    auth::policy::{Action, Resource},
    context::Ctx,
    domain::FieldError,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody, Result},
    extract::{EnvironmentPath, TenantPath},
    pipeline::Pipeline,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ws", get(ws::upgrade))
        .route("/api/v1/ingest/records", post(ingest_records))
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/ingest-token",
            post(create_ingest_token),
        )
        .route("/api/v1/tenants/{tenant}/instances", get(list_instances))
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}",
            get(get_instance),
        )
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}/cancel",
            post(cancel_instance),
        )
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}/variables",
            post(set_variables),
        )
        .route("/api/v1/tenants/{tenant}/incidents", get(list_incidents))
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}/incidents/{key}/retry",
            post(retry_incident),
        )
        .route(
            "/api/v1/tenants/{tenant}/execution-audit",
            get(list_execution_audit),
        )
        .route(
            "/api/v1/tenants/{tenant}/execution-audit/verify",
            get(verify_execution_audit),
        )
        .route("/api/v1/tenants/{tenant}/audit/export", get(export_audit))
        .route(
            "/api/v1/platform/ingest/dead-letters",
            get(list_dead_letters),
        )
}

fn path_key(raw: &str, what: &'static str) -> Result<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|key| *key > 0)
        .ok_or(ApiError::NotFound(what))
}

// --- ingest ------------------------------------------------------------------------------

/// A batch of exporter records.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestBatch {
    /// Records in Zeebe's exporter JSON shape (`partitionId`, `position`, `key`, `timestamp`,
    /// `recordType`, `valueType`, `intent`, `value`, …), in any order.
    #[schema(value_type = Vec<Object>, max_items = 10000)]
    pub records: Vec<Value>,
}

/// What a batch did.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// Records applied now.
    pub applied: usize,
    /// Records already applied before (at or behind the stored position).
    pub duplicates: usize,
    /// Records that concern nothing the monitor keeps.
    pub ignored: usize,
    /// Records the database refused even after their values were made storable: kept as dead
    /// letters for platform administrators and skipped.
    pub dead_lettered: usize,
    /// The stored position per partition after this batch.
    pub positions: BTreeMap<i32, i64>,
}

/// A new ingest token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedIngestToken {
    pub environment: String,
    /// `Authorization: Bearer <token>` on `POST /api/v1/ingest/records`.
    pub token: String,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/ingest/records", tag = "monitor",
    security(("ingest_token" = [])),
    request_body = IngestBatch,
    responses(
        (status = 200, description = "Applied; records sent before are recognised by position and not applied twice", body = IngestResult),
        (status = 400, description = "A record is not an exporter record; nothing was applied", body = ErrorBody),
        (status = 401, description = "No valid ingest token", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "Too many records, or a record of another tenant than the environment's engine tenant; nothing was applied", body = ErrorBody),
    ))]
pub(crate) async fn ingest_records(
    State(pool): State<PgPool>,
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<IngestBatch>,
) -> Result<Json<IngestResult>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let outcome = service::ingest_records(&pool, &ingest, token, batch.records).await?;
    Ok(Json(IngestResult {
        applied: outcome.applied,
        duplicates: outcome.duplicates,
        ignored: outcome.ignored,
        dead_lettered: outcome.dead_lettered,
        positions: outcome.positions,
    }))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{environment}/ingest-token", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
    ),
    responses(
        (status = 201, description = "A new ingest token for the environment's exporter, replacing the previous one; shown once", body = CreatedIngestToken),
        (status = 404, description = "No such tenant or environment", body = ErrorBody),
        (status = 409, description = "The tenant is suspended, or the environment uses an embedded engine, which needs no ingest token", body = ErrorBody),
    ))]
pub(crate) async fn create_ingest_token(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
) -> Result<(StatusCode, Json<CreatedIngestToken>)> {
    let created = service::create_ingest_token(&ctx, &tenant, &environment).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIngestToken {
            environment,
            token: created.token,
            created_at: created.created_at,
        }),
    ))
}

// --- instances ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceQuery {
    pub(crate) environment: Option<String>,
    /// The workflow by its id.
    pub(crate) workflow_id: Option<Uuid>,
    /// The process by its id (a workflow's key).
    pub(crate) bpmn_process_id: Option<String>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub(crate) version: Option<i32>,
    pub(crate) state: Option<StateFilter>,
    pub(crate) started_after: Option<DateTime<Utc>>,
    pub(crate) started_before: Option<DateTime<Utc>>,
    pub(crate) cursor: Option<String>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub(crate) limit: Option<i64>,
}

fn optional_integer<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
{
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|text| {
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an integer")))
    })
    .transpose()
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/instances", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = Option<String>, Query, pattern = "^[a-z][a-z0-9-]{0,30}$", description = "Only this environment's instances"),
        ("workflow_id" = Option<Uuid>, Query, description = "Only this workflow's instances"),
        ("bpmn_process_id" = Option<String>, Query, max_length = 200, description = "Only instances of this process id"),
        ("version" = Option<i32>, Query, minimum = 1, maximum = 2147483647, description = "Only this version of the process"),
        ("state" = Option<StateFilter>, Query, description = "`active`, `completed`, `terminated`, or `incident` (with open incidents)"),
        ("started_after" = Option<DateTime<Utc>>, Query, description = "Started at or after (RFC 3339)"),
        ("started_before" = Option<DateTime<Utc>>, Query, description = "Started before (RFC 3339)"),
        ("cursor" = Option<String>, Query, max_length = 200, description = "`next_cursor` of the previous page"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Instances per page (default 50)"),
    ),
    responses(
        (status = 200, description = "Instances, newest first", body = InstancePage),
        (status = 404, description = "No such tenant, environment or workflow", body = ErrorBody),
        (status = 422, description = "A filter is out of range", body = ErrorBody),
    ))]
pub(crate) async fn list_instances(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiQuery(filter): ApiQuery<InstanceQuery>,
) -> Result<Json<InstancePage>> {
    let query = service::InstanceQuery {
        environment: filter.environment,
        workflow_id: filter.workflow_id,
        bpmn_process_id: filter.bpmn_process_id,
        version: filter.version,
        state: filter.state,
        started_after: filter.started_after,
        started_before: filter.started_before,
        cursor: filter.cursor,
        limit: filter.limit,
    };
    Ok(Json(service::instances(&ctx, &tenant, query).await?))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
        ("key" = i64, Path, minimum = 1, description = "The process instance key"),
    ),
    responses(
        (status = 200, description = "The instance with its diagram, elements, variables, incidents, jobs and timeline", body = InstanceDetail),
        (status = 404, description = "No such tenant, environment or instance", body = ErrorBody),
    ))]
pub(crate) async fn get_instance(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    Path((_, _, key)): Path<(String, String, String)>,
) -> Result<Json<InstanceDetail>> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let key = path_key(&key, "process instance")?;
    Ok(Json(
        service::instance(&ctx, &tenant, &environment, key).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}/cancel", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
        ("key" = i64, Path, minimum = 1, description = "The process instance key"),
    ),
    responses(
        (status = 202, description = "The engine is cancelling the instance; its state follows on the monitor"),
        (status = 404, description = "No such tenant, environment or instance", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "The engine refused (e.g. the instance has ended)", body = ErrorBody),
        (status = 503, description = "The engine cannot be reached", body = ErrorBody),
    ))]
pub(crate) async fn cancel_instance(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    Path((_, _, key)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    ctx.authorize(Action::OperateInstances, Resource::Tenant(&tenant))?;
    let key = path_key(&key, "process instance")?;
    service::cancel(&ctx, &pipeline, &tenant, &environment, key).await?;
    Ok(StatusCode::ACCEPTED)
}

/// What `POST …/instances/{key}/variables` accepts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablesUpdate {
    /// The scope: the process instance (default) or one of its element instances.
    #[serde(
        default,
        deserialize_with = "crate::domain::integer::deserialize_option"
    )]
    #[schema(minimum = 1)]
    pub scope_key: Option<i64>,
    /// Names and values.
    #[schema(value_type = Object)]
    pub variables: serde_json::Map<String, Value>,
    /// Only this scope (`true`), or where each variable already lives (`false`, default).
    #[serde(default)]
    pub local: bool,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{environment}/instances/{key}/variables", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
        ("key" = i64, Path, minimum = 1, description = "The process instance key"),
    ),
    request_body = VariablesUpdate,
    responses(
        (status = 202, description = "The engine set the variables; the monitor shows them when their records arrive"),
        (status = 404, description = "No such tenant, environment or instance", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "The variables cannot be stored, or the engine refused (e.g. the scope has ended)", body = ErrorBody),
        (status = 503, description = "The engine cannot be reached", body = ErrorBody),
    ))]
pub(crate) async fn set_variables(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    Path((_, _, key)): Path<(String, String, String)>,
    ApiJson(update): ApiJson<VariablesUpdate>,
) -> Result<StatusCode> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    ctx.authorize(Action::OperateInstances, Resource::Tenant(&tenant))?;
    let key = path_key(&key, "process instance")?;
    let update = service::SetVariables {
        scope_key: update.scope_key,
        variables: update.variables,
        local: update.local,
    };
    service::set_variables(&ctx, &pipeline, &tenant, &environment, key, update).await?;
    Ok(StatusCode::ACCEPTED)
}

// --- incidents ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentQuery {
    pub(crate) environment: Option<String>,
    /// `active` (default) or `all`.
    pub(crate) state: Option<String>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub(crate) limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/incidents", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = Option<String>, Query, pattern = "^[a-z][a-z0-9-]{0,30}$", description = "Only this environment's incidents"),
        ("state" = Option<String>, Query, pattern = "^(active|all)$", description = "`active` (default) or `all`"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "How many (default 50)"),
    ),
    responses(
        (status = 200, description = "Incidents, newest first", body = Vec<IncidentView>),
        (status = 404, description = "No such tenant or environment", body = ErrorBody),
        (status = 422, description = "A filter is out of range", body = ErrorBody),
    ))]
pub(crate) async fn list_incidents(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiQuery(filter): ApiQuery<IncidentQuery>,
) -> Result<Json<Vec<IncidentView>>> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let open_only = match filter.state.as_deref() {
        None | Some("active") => true,
        Some("all") => false,
        Some(_) => return Err(FieldError::new("state", "must be active or all").into()),
    };
    let found = service::incidents(
        &ctx,
        &tenant,
        filter.environment.as_deref(),
        open_only,
        filter.limit,
    )
    .await?;
    Ok(Json(found))
}

/// What `POST …/incidents/{key}/retry` accepts.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// For a job's incident: the retries to give the job (default 1).
    #[serde(
        default,
        deserialize_with = "crate::domain::integer::deserialize_option"
    )]
    #[schema(minimum = 1, maximum = 100)]
    pub retries: Option<i32>,
}

/// How a retry turned out.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryOutcome {
    /// `resolved`: the incident cleared and the element went on; `failed_again`: it cleared
    /// but the element raised a new incident; `pending`: the engine accepted the retry, and
    /// its result had not reached the monitor within the wait.
    pub outcome: String,
    pub incident: IncidentView,
    /// The new incident, for `failed_again`.
    pub new_incident: Option<IncidentView>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/environments/{environment}/incidents/{key}/retry", tag = "monitor",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
        ("key" = i64, Path, minimum = 1, description = "The incident key"),
    ),
    request_body = RetryRequest,
    responses(
        (status = 200, description = "Retried; says whether the incident really cleared", body = RetryOutcome),
        (status = 404, description = "No such tenant, environment or incident", body = ErrorBody),
        (status = 409, description = "The incident is resolved already, or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "The engine refused the retry", body = ErrorBody),
        (status = 503, description = "The engine cannot be reached", body = ErrorBody),
    ))]
pub(crate) async fn retry_incident(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    State(hub): State<Arc<Hub>>,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    Path((_, _, key)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<RetryRequest>,
) -> Result<Json<RetryOutcome>> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    ctx.authorize(Action::OperateInstances, Resource::Tenant(&tenant))?;
    let key = path_key(&key, "incident")?;
    let retried = service::retry(
        &ctx,
        &pipeline,
        &hub,
        &tenant,
        &environment,
        key,
        request.retries,
    )
    .await?;
    Ok(Json(RetryOutcome {
        outcome: retried.state.as_str().to_owned(),
        incident: retried.incident,
        new_incident: retried.new_incident,
    }))
}

// --- audit trails ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecutionAuditQuery {
    /// A process instance key.
    execution_id: Option<String>,
    /// A process id.
    workflow_id: Option<String>,
    event_type: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_integer")]
    after: Option<i64>,
    #[serde(default, deserialize_with = "optional_integer")]
    limit: Option<i64>,
}

impl ExecutionAuditQuery {
    fn filter(&self) -> trail::Filter {
        trail::Filter {
            execution_id: self.execution_id.clone(),
            workflow_id: self.workflow_id.clone(),
            event_type: self.event_type.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/execution-audit", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("execution_id" = Option<String>, Query, max_length = 40, description = "Only this process instance's events"),
        ("workflow_id" = Option<String>, Query, max_length = 200, description = "Only this process id's events"),
        ("event_type" = Option<String>, Query, max_length = 100, description = "Only events of this type (`PROCESS_STARTED`, `TASK_COMPLETED`, `INCIDENT_CREATED`, …)"),
        ("from" = Option<DateTime<Utc>>, Query, description = "At or after (RFC 3339)"),
        ("to" = Option<DateTime<Utc>>, Query, description = "Before (RFC 3339)"),
        ("after" = Option<i64>, Query, minimum = 0, description = "Events after this sequence number (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "How many events (default 100)"),
    ),
    responses(
        (status = 200, description = "Execution events in sequence order (seed 000 table 1)", body = Vec<ExecutionAuditEvent>),
        (status = 422, description = "A filter is out of range or too long", body = ErrorBody),
    ))]
pub(crate) async fn list_execution_audit(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiQuery(filter): ApiQuery<ExecutionAuditQuery>,
) -> Result<Json<Vec<ExecutionAuditEvent>>> {
    let events =
        service::execution_trail(&ctx, &tenant, &filter.filter(), filter.after, filter.limit)
            .await?;
    Ok(Json(events))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/execution-audit/verify", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("full" = Option<bool>, Query, description = "Walk the chain from its first event, not from where the last verification found it whole"),
    ),
    responses((status = 200, description = "Whether the execution chain holds, also against its newest signed checkpoint, or its first broken event", body = Verification)))]
pub(crate) async fn verify_execution_audit(
    ctx: Ctx,
    State(checkpoints): State<Arc<Checkpoints>>,
    TenantPath(tenant): TenantPath,
    ApiQuery(query): ApiQuery<crate::audit::routes::VerifyQuery>,
) -> Result<Json<Verification>> {
    Ok(Json(
        service::verify_execution_trail(&ctx, &checkpoints, &tenant, query.full).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportQuery {
    /// `control` (default) or `execution`.
    trail: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    /// Control trail: a target id; execution trail: a process instance key.
    instance: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit/export", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("trail" = Option<String>, Query, pattern = "^(control|execution)$", description = "`control` (default): changes people and the control plane made; `execution`: what happened in the engines"),
        ("format" = Option<String>, Query, pattern = "^(json|csv)$", description = "`json` (default) or `csv`"),
        ("actor" = Option<String>, Query, max_length = 200, description = "Control trail: part of the actor's name"),
        ("action" = Option<String>, Query, max_length = 100, description = "Control trail: an action or its prefix (`deployment`); execution trail: an event type"),
        ("instance" = Option<String>, Query, max_length = 100, description = "Control trail: a target id; execution trail: a process instance key"),
        ("from" = Option<DateTime<Utc>>, Query, description = "At or after (RFC 3339)"),
        ("to" = Option<DateTime<Utc>>, Query, description = "Before (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "The events as a download (JSON: with the verification result and the hashing rule; CSV: one event a row)",
            content((Object = "application/json"), (String = "text/csv"))),
        (status = 422, description = "A filter is out of range", body = ErrorBody),
    ))]
pub(crate) async fn export_audit(
    ctx: Ctx,
    State(checkpoints): State<Arc<Checkpoints>>,
    TenantPath(tenant): TenantPath,
    ApiQuery(filter): ApiQuery<ExportQuery>,
) -> Result<Response> {
    ctx.authorize(Action::ReadAudit, Resource::Tenant(&tenant))?;
    let execution = match filter.trail.as_deref() {
        None | Some("control") => false,
        Some("execution") => true,
        Some(_) => return Err(FieldError::new("trail", "must be control or execution").into()),
    };
    let csv = match filter.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(FieldError::new("format", "must be json or csv").into()),
    };
    let query = service::TrailQuery {
        execution,
        actor: filter.actor.clone(),
        action: filter.action.clone(),
        instance: filter.instance.clone(),
        from: filter.from,
        to: filter.to,
    };
    let (verification, events) =
        service::trail_events(&ctx, &checkpoints, &tenant, &query, None).await?;
    let events: Vec<Value> = events.iter().map(service::TrailEvent::to_json).collect();
    let trail = if execution { "execution" } else { "control" };
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let (body, content_type, extension) = if csv {
        (to_csv(&events), "text/csv; charset=utf-8", "csv")
    } else {
        let document = json!({
            "tenant_id": tenant.as_str(),
            "trail": trail,
            "exported_at": Utc::now(),
            "filter": {
                "actor": filter.actor, "action": filter.action, "instance": filter.instance,
                "from": filter.from, "to": filter.to,
            },
            "hashing": if execution {
                "audit_hash = SHA-256(prev_hash bytes || canonical JSON of the event without \
                 prevHash and auditHash; keys sorted, no whitespace, timestamp as RFC 3339 UTC \
                 with microseconds); the first event's prev_hash is 32 zero bytes"
            } else {
                "audit_hash = SHA-256(prev_hash bytes || canonical JSON of the event without \
                 prev_hash and audit_hash; keys sorted, no whitespace, occurred_at as RFC 3339 \
                 UTC with microseconds); the first event's prev_hash is 32 zero bytes"
            },
            "verification": verification,
            "events": events,
        });
        (
            serde_json::to_string_pretty(&document).unwrap_or_default(),
            "application/json",
            "json",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"audit-{}-{trail}-{stamp}.{extension}\"",
                    tenant.as_str()
                ),
            ),
        ],
        Body::from(body),
    )
        .into_response())
}

/// Events as CSV: one column per top-level field (in alphabetical order, as the events' JSON
/// objects keep them), nested values as JSON, quoted as RFC 4180 says.
fn to_csv(events: &[Value]) -> String {
    let columns: Vec<String> = events
        .first()
        .and_then(Value::as_object)
        .map(|first| first.keys().cloned().collect())
        .unwrap_or_default();
    let quote = |text: &str| {
        // Cells starting with a formula character are prefixed, so a spreadsheet shows
        // them rather than running them.
        let text = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        format!("\"{}\"", text.replace('"', "\"\""))
    };
    let mut out = columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for event in events {
        let row: Vec<String> = columns
            .iter()
            .map(|column| match event.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => quote(text),
                Some(other) => quote(&other.to_string()),
            })
            .collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_every_cell_and_defuses_formulas() {
        let events = vec![
            json!({"seq": 1, "actor": "a,\"b\"", "after": {"x": 1}, "note": null}),
            json!({"seq": 2, "actor": "=cmd()", "after": null, "note": "n"}),
        ];
        let csv = to_csv(&events);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], r#""actor","after","note","seq""#);
        assert_eq!(lines[1], r#""a,""b""","{""x"":1}",,"1""#);
        assert_eq!(lines[2], r#""'=cmd()",,"n","2""#);
    }
}

// --- dead letters --------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/platform/ingest/dead-letters", tag = "monitor",
    responses(
        (status = 200, description = "The newest records ingest could not store, with the reason, across every tenant and engine", body = Vec<DeadLetter>),
        (status = 403, description = "Only platform administrators may read them", body = ErrorBody),
    ))]
pub(crate) async fn list_dead_letters(ctx: Ctx) -> Result<Json<Vec<DeadLetter>>> {
    Ok(Json(service::dead_letters(&ctx).await?))
}
