//! The monitor's REST API: record ingest from exporters, instances, incidents and the
//! operations on them, and the audit trails' export (seed 000 §3.1, §4.4).
//!
//! Reads need a role in the tenant; operations (retry, cancel, set variables) need an owner
//! or editor, and are recorded in the control-plane audit trail. Exporters authenticate with
//! their environment's ingest token (`astfi_…`), not an API token.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

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
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use utoipa::ToSchema;
use uuid::Uuid;
use zeebe::record::Record;

use crate::{
    auth::{
        Principal, RequestMeta,
        policy::{Action, Resource, authorize},
    },
    db,
    domain::{
        FieldError, TenantId,
        audit::{self as control_audit, Actor, Change},
        deployments,
    },
    error::{ApiError, ApiJson, ApiQuery, ErrorBody, Result},
    monitor::{
        audit::{self, ExecutionAuditEvent},
        hub::{Feed, Hub},
        ingest::{Ingest, Source},
        operations,
        query::{self, IncidentView, InstanceDetail, InstanceFilter, InstancePage, StateFilter},
        ws,
    },
    pipeline::{self, Pipeline},
    startup::AppState,
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
}

fn tenant_id(raw: &str) -> Result<TenantId> {
    TenantId::new(raw).map_err(|_| ApiError::NotFound("tenant"))
}

fn path_key(raw: &str, what: &'static str) -> Result<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|key| *key > 0)
        .ok_or(ApiError::NotFound(what))
}

// --- ingest ------------------------------------------------------------------------------

const INGEST_PREFIX: &str = "astfi_";
/// Most records one request may carry.
pub const MAX_RECORDS: usize = 10_000;

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
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(INGEST_PREFIX) && t.len() == INGEST_PREFIX.len() + 64)
        .ok_or(ApiError::Unauthenticated)?;
    let mut tx = db::begin_platform(&pool).await?;
    let row = sqlx::query(
        "select e.tenant_id, e.id, e.name, coalesce(e.engine_tenant_id, '<default>'), \
         e.engine_kind from environments e where e.ingest_token_hash = $1",
    )
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Unauthenticated)?;
    tx.commit().await?;
    let tenant = tenant_id(&row.try_get::<String, _>(0)?)?;
    let environment_id: Uuid = row.try_get(1)?;
    let environment: String = row.try_get(2)?;
    let engine_tenant: String = row.try_get(3)?;
    // Embedded engines report their records in process. A token left from before ingest
    // tokens were limited to external environments must not let anyone write their
    // projections: those decide what the monitor shows and what an operator may act on.
    if row.try_get::<String, _>(4)? == "embedded" {
        return Err(ApiError::Unauthenticated);
    }

    if batch.records.len() > MAX_RECORDS {
        return Err(FieldError::new(
            "records",
            format!("at most {MAX_RECORDS} records per request"),
        )
        .into());
    }
    // Parse and check everything first: a batch is applied whole or not at all.
    let mut records = Vec::with_capacity(batch.records.len());
    for (index, value) in batch.records.into_iter().enumerate() {
        let record: Record = serde_json::from_value(value).map_err(|error| {
            ApiError::BadRequest(format!(
                "records[{index}] is not an exporter record: {error}"
            ))
        })?;
        if let Some(id) = crate::monitor::ingest::record_tenant(&record) {
            let expected = engine_tenant.as_str();
            if id != expected {
                return Err(FieldError::new(
                    format!("records[{index}].value.tenantId"),
                    format!("{id:?} is not this environment's engine tenant ({expected:?})"),
                )
                .into());
            }
        }
        if record.partition_id < 0 || record.position < 1 {
            return Err(FieldError::new(
                format!("records[{index}]"),
                "partitionId must not be negative and position must be positive",
            )
            .into());
        }
        records.push(record);
    }
    let source = Source::exporter(tenant.clone(), environment_id, &environment);
    let mut tx = db::begin_tenant(&pool, &tenant, None).await?;
    crate::domain::tenants::lock_active(&mut tx, &tenant).await?;
    let outcome = ingest.apply(&mut tx, &source, &records).await?;
    tx.commit().await?;
    Ok(Json(IngestResult {
        applied: outcome.applied,
        duplicates: outcome.duplicates,
        ignored: outcome.ignored,
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, environment)): Path<(String, String)>,
) -> Result<(StatusCode, Json<CreatedIngestToken>)> {
    use rand::RngCore;
    let tenant = tenant_id(&tenant)?;
    authorize(
        &principal,
        Action::ManageEnvironments,
        Resource::Tenant(&tenant),
    )?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{INGEST_PREFIX}{}", hex::encode(secret));
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    crate::domain::tenants::lock_active(&mut tx, &tenant).await?;
    let kind: String = sqlx::query_scalar(
        "select engine_kind from environments where tenant_id = $1 and name = $2",
    )
    .bind(tenant.as_str())
    .bind(&environment)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("environment"))?;
    if kind == "embedded" {
        // A conflict with the environment's current settings, not a malformed request: the
        // same call succeeds once the environment points at an external engine.
        return Err(ApiError::Conflict(
            "the environment uses an embedded engine, which reports its records directly; \
             ingest tokens are for external engines' exporters"
                .to_owned(),
        ));
    }
    let row = sqlx::query(
        "update environments set ingest_token_hash = $3, ingest_token_created_at = now() \
         where tenant_id = $1 and name = $2 returning id, ingest_token_created_at",
    )
    .bind(tenant.as_str())
    .bind(&environment)
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("environment"))?;
    let id: Uuid = row.try_get(0)?;
    let created_at: DateTime<Utc> = row.try_get(1)?;
    control_audit::append(
        &mut tx,
        &tenant,
        &meta.actor(&principal),
        Change {
            action: "environment.ingest_token.create",
            target_type: "environment",
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({ "environment": environment, "created_at": created_at })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedIngestToken {
            environment,
            token,
            created_at,
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

fn page_limit(limit: Option<i64>) -> Result<i64> {
    let limit = limit.unwrap_or(50);
    if !(1..=query::MAX_PAGE).contains(&limit) {
        return Err(FieldError::new(
            "limit",
            format!("must be between 1 and {}", query::MAX_PAGE),
        )
        .into());
    }
    Ok(limit)
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiQuery(filter): ApiQuery<InstanceQuery>,
) -> Result<Json<InstancePage>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let limit = page_limit(filter.limit)?;
    FieldError::check_length("bpmn_process_id", filter.bpmn_process_id.as_deref(), 200)?;
    FieldError::check_length("cursor", filter.cursor.as_deref(), 200)?;
    if filter.version.is_some_and(|v| v < 1) {
        return Err(FieldError::new("version", "must be at least 1").into());
    }
    let cursor = filter
        .cursor
        .as_deref()
        .map(query::Cursor::decode)
        .transpose()?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let environment_id = match &filter.environment {
        Some(name) => Some(query::environment_id(&mut tx, &tenant, name).await?),
        None => None,
    };
    let bpmn_process_id = match (filter.workflow_id, filter.bpmn_process_id) {
        (Some(workflow), _) => Some(
            crate::domain::workflows::get(&mut tx, &tenant, workflow)
                .await?
                .key,
        ),
        (None, process) => process,
    };
    let page = query::instances(
        &mut tx,
        &tenant,
        &InstanceFilter {
            environment_id,
            bpmn_process_id,
            version: filter.version,
            state: filter.state,
            started_after: filter.started_after,
            started_before: filter.started_before,
            cursor,
            limit,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(page))
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path((tenant, environment, key)): Path<(String, String, String)>,
) -> Result<Json<InstanceDetail>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let key = path_key(&key, "process instance")?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let environment_id = query::environment_id(&mut tx, &tenant, &environment).await?;
    let detail = query::instance_detail(&mut tx, &tenant, environment_id, key).await?;
    tx.commit().await?;
    Ok(Json(detail))
}

/// The engine client of a tenant's environment, after checking the tenant may act.
/// The engine client of a tenant's environment and a new operation reference for `action` by
/// `actor`, after checking the tenant may act.
async fn engine_of(
    pool: &PgPool,
    pipeline: &Pipeline,
    tenant: &TenantId,
    environment: &str,
    actor: &Actor,
    action: &str,
) -> Result<(Arc<crate::engines::Client>, Uuid, u64)> {
    let mut tx = db::begin_tenant(pool, tenant, actor.user_id).await?;
    crate::domain::tenants::lock_active(&mut tx, tenant).await?;
    let environment = deployments::environment(&mut tx, tenant, environment).await?;
    let secret = deployments::engine_secret(&mut tx, environment.id).await?;
    let reference = operations::record(&mut tx, tenant, actor, action).await?;
    tx.commit().await?;
    let client = pipeline
        .engines()
        .client(&pipeline::target(&environment, secret))
        .await?;
    Ok((client, environment.id, reference))
}

/// Records an operation in the control-plane audit trail.
async fn audit_operation(
    pool: &PgPool,
    tenant: &TenantId,
    actor: &Actor,
    change: Change<'_>,
) -> Result<()> {
    let mut tx = db::begin_tenant(pool, tenant, actor.user_id).await?;
    control_audit::append(&mut tx, tenant, actor, change).await?;
    tx.commit().await?;
    Ok(())
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, environment, key)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    authorize(
        &principal,
        Action::OperateInstances,
        Resource::Tenant(&tenant),
    )?;
    let key = path_key(&key, "process instance")?;
    let actor = meta.actor(&principal);
    let (client, environment_id, reference) = engine_of(
        &pool,
        &pipeline,
        &tenant,
        &environment,
        &actor,
        "instance.cancel",
    )
    .await?;
    let before = {
        let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
        let found = query::instance(&mut tx, &tenant, environment_id, key).await?;
        tx.commit().await?;
        found
    };
    client.cancel_instance(key, Some(reference)).await?;
    audit_operation(
        &pool,
        &tenant,
        &actor,
        Change {
            action: "instance.cancel",
            target_type: "process_instance",
            target_id: &key.to_string(),
            before: Some(json!({ "environment": environment, "state": before.state })),
            after: Some(json!({ "environment": environment, "state": "terminating" })),
        },
    )
    .await?;
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, environment, key)): Path<(String, String, String)>,
    ApiJson(update): ApiJson<VariablesUpdate>,
) -> Result<StatusCode> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    authorize(
        &principal,
        Action::OperateInstances,
        Resource::Tenant(&tenant),
    )?;
    let key = path_key(&key, "process instance")?;
    deployments::validate_variables(&update.variables)?;
    let actor = meta.actor(&principal);
    let (client, environment_id, reference) = engine_of(
        &pool,
        &pipeline,
        &tenant,
        &environment,
        &actor,
        "instance.variables.set",
    )
    .await?;
    let scope = update.scope_key.unwrap_or(key);
    {
        let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
        query::instance(&mut tx, &tenant, environment_id, key).await?;
        // The scope must lie inside the addressed instance; the engine then confirms the key
        // is this tenant's (the call carries a credential for this tenant only).
        query::scope_in_instance(&mut tx, &tenant, environment_id, key, scope).await?;
        tx.commit().await?;
    }
    let names: Vec<&String> = update.variables.keys().collect();
    client
        .set_variables(
            scope,
            &Value::Object(update.variables.clone()),
            update.local,
            Some(reference),
        )
        .await?;
    audit_operation(
        &pool,
        &tenant,
        &actor,
        Change {
            action: "instance.variables.set",
            target_type: "process_instance",
            target_id: &key.to_string(),
            before: None,
            // Names only: values can be personal data, and the execution trail keeps them
            // sanitized.
            after: Some(json!({
                "environment": environment,
                "scope_key": scope,
                "variables": names,
                "local": update.local,
            })),
        },
    )
    .await?;
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiQuery(filter): ApiQuery<IncidentQuery>,
) -> Result<Json<Vec<IncidentView>>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let limit = page_limit(filter.limit)?;
    let open_only = match filter.state.as_deref() {
        None | Some("active") => true,
        Some("all") => false,
        Some(_) => return Err(FieldError::new("state", "must be active or all").into()),
    };
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let environment_id = match &filter.environment {
        Some(name) => Some(query::environment_id(&mut tx, &tenant, name).await?),
        None => None,
    };
    let found = query::incidents(&mut tx, &tenant, environment_id, open_only, limit).await?;
    tx.commit().await?;
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

/// How long a retry waits to see its result on the monitor.
const RETRY_WAIT: Duration = Duration::from_secs(10);

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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    State(hub): State<Arc<Hub>>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, environment, key)): Path<(String, String, String)>,
    ApiJson(request): ApiJson<RetryRequest>,
) -> Result<Json<RetryOutcome>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    authorize(
        &principal,
        Action::OperateInstances,
        Resource::Tenant(&tenant),
    )?;
    let key = path_key(&key, "incident")?;
    let retries = request.retries.unwrap_or(1);
    if !(1..=100).contains(&retries) {
        return Err(FieldError::new("retries", "must be between 1 and 100").into());
    }
    let actor = meta.actor(&principal);
    let (client, environment_id, reference) = engine_of(
        &pool,
        &pipeline,
        &tenant,
        &environment,
        &actor,
        "incident.retry",
    )
    .await?;
    let incident = {
        let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
        let found = query::incident(&mut tx, &tenant, environment_id, key).await?;
        tx.commit().await?;
        found
    };
    if incident.state != "active" {
        return Err(ApiError::Conflict(
            "the incident is resolved already".to_owned(),
        ));
    }
    // Watch the feed before acting, so the incident's resolution cannot slip by unseen.
    let mut feed = hub.subscribe();
    if let Some(job) = incident.job_key {
        client
            .update_job_retries(job, retries, Some(reference))
            .await?;
    }
    client.resolve_incident(key, Some(reference)).await?;
    audit_operation(
        &pool,
        &tenant,
        &actor,
        Change {
            action: "incident.retry",
            target_type: "incident",
            target_id: &key.to_string(),
            before: Some(json!({
                "environment": environment,
                "process_instance_key": incident.process_instance_key,
                "element_id": incident.element_id,
                "error_type": incident.error_type,
                "state": "active",
            })),
            after: Some(json!({ "job_retries": incident.job_key.map(|_| retries) })),
        },
    )
    .await?;
    let deadline = tokio::time::Instant::now() + RETRY_WAIT;
    let concerns = |d: &app::api::monitor_protocol::Delta| {
        d.tenant_id == tenant.as_str()
            && d.environment == environment
            && d.kind == app::api::monitor_protocol::DeltaKind::Incident
            && d.process_instance_key == incident.process_instance_key
    };
    let mut resolved = false;
    let mut new_incident_key = None;
    loop {
        // What the database says now (the records may have arrived before we listened).
        let (current, newer) = {
            let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
            let current = query::incident(&mut tx, &tenant, environment_id, key).await?;
            let newer: Option<i64> = sqlx::query_scalar(
                "select incident_key from incidents where tenant_id = $1 and environment_id = $2 \
                 and element_instance_key = $3 and incident_key > $4 and state = 'active' \
                 order by incident_key desc limit 1",
            )
            .bind(tenant.as_str())
            .bind(environment_id)
            .bind(incident.element_instance_key)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            (current, newer)
        };
        if current.state == "resolved" {
            resolved = true;
            new_incident_key = newer;
            // A job retried by a worker may fail again only after a while; one resolution
            // seen is the answer unless a new incident is already there.
            break;
        }
        let wait = tokio::time::timeout_at(deadline, async {
            loop {
                match feed.recv().await {
                    Ok(Feed::Deltas(deltas)) if deltas.iter().any(&concerns) => return,
                    Ok(Feed::Gap) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                    }
                    Ok(_) => {}
                }
            }
        })
        .await;
        if wait.is_err() {
            break;
        }
    }
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let incident = query::incident(&mut tx, &tenant, environment_id, key).await?;
    let new_incident = match new_incident_key {
        Some(new) => Some(query::incident(&mut tx, &tenant, environment_id, new).await?),
        None => None,
    };
    tx.commit().await?;
    let outcome = match (resolved, &new_incident) {
        (true, Some(_)) => "failed_again",
        (true, None) => "resolved",
        (false, _) => "pending",
    };
    Ok(Json(RetryOutcome {
        outcome: outcome.to_owned(),
        incident,
        new_incident,
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
    fn filter(&self) -> audit::Filter {
        audit::Filter {
            execution_id: self.execution_id.clone(),
            workflow_id: self.workflow_id.clone(),
            event_type: self.event_type.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

fn audit_page(after: Option<i64>, limit: Option<i64>, max: i64) -> Result<(i64, i64)> {
    let after = after.unwrap_or(0);
    let limit = limit.unwrap_or(100);
    if after < 0 {
        return Err(FieldError::new("after", "must not be negative").into());
    }
    if !(1..=max).contains(&limit) {
        return Err(FieldError::new("limit", format!("must be between 1 and {max}")).into());
    }
    Ok((after, limit))
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiQuery(filter): ApiQuery<ExecutionAuditQuery>,
) -> Result<Json<Vec<ExecutionAuditEvent>>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
    let (after, limit) = audit_page(filter.after, filter.limit, 1000)?;
    FieldError::check_length("execution_id", filter.execution_id.as_deref(), 40)?;
    FieldError::check_length("workflow_id", filter.workflow_id.as_deref(), 200)?;
    FieldError::check_length("event_type", filter.event_type.as_deref(), 100)?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let events = audit::list(&mut tx, &tenant, &filter.filter(), after, limit).await?;
    tx.commit().await?;
    Ok(Json(events))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/execution-audit/verify", tag = "audit",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Whether the execution chain holds, or its first broken event", body = control_audit::Verification)))]
pub(crate) async fn verify_execution_audit(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<control_audit::Verification>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let verification = audit::verify(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(verification))
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

/// Most events one export holds.
pub const MAX_EXPORT: i64 = 100_000;

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
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiQuery(filter): ApiQuery<ExportQuery>,
) -> Result<Response> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
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
    FieldError::check_length("actor", filter.actor.as_deref(), 200)?;
    FieldError::check_length("action", filter.action.as_deref(), 100)?;
    FieldError::check_length("instance", filter.instance.as_deref(), 100)?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let (verification, events): (control_audit::Verification, Vec<Value>) = if execution {
        let filter = audit::Filter {
            execution_id: filter.instance.clone(),
            workflow_id: None,
            event_type: filter.action.clone(),
            from: filter.from,
            to: filter.to,
        };
        let events = audit::list(&mut tx, &tenant, &filter, 0, MAX_EXPORT).await?;
        let verification = audit::verify(&mut tx, &tenant).await?;
        (
            verification,
            events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
                .collect(),
        )
    } else {
        let control = control_audit::Filter {
            actor: filter.actor.clone(),
            action: filter.action.clone(),
            target_id: filter.instance.clone(),
            from: filter.from,
            to: filter.to,
        };
        let events =
            control_audit::list_filtered(&mut tx, &tenant, &control, 0, MAX_EXPORT).await?;
        let verification = control_audit::verify(&mut tx, &tenant).await?;
        (
            verification,
            events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
                .collect(),
        )
    };
    tx.commit().await?;
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
