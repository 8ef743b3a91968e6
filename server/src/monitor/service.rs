//! What a caller may see and do in the monitor: instances, incidents and the operations on
//! them (cancel, set variables, retry), the two audit trails and their export, and the records
//! external exporters send. The REST API ([`super::routes`]) and the monitor pages
//! ([`crate::pages::monitor_plane`]) both call these.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeebe::record::Record;

use super::{
    hub::{Feed, Hub},
    ingest::{self, Ingest, Source},
    operations,
    query::{self, IncidentView, InstanceDetail, InstanceFilter, InstancePage, StateFilter},
    store,
    trail::{self, ExecutionAuditEvent},
};
use crate::{
    audit::{self as control_audit, Actor, AuditAction, Change, Verification},
    auth::policy::{Action, Resource},
    context::Ctx,
    domain::{FieldError, TenantId},
    engines::Client,
    environments,
    error::{ApiError, Result},
    pipeline::{self, Pipeline},
    tenants, workflows,
};

// --- ingest ------------------------------------------------------------------------------

const INGEST_PREFIX: &str = "astfi_";
/// Most records one request may carry.
pub const MAX_RECORDS: usize = 10_000;

/// What a batch did, per partition.
pub type IngestOutcome = ingest::Outcome;

/// Applies a batch of exporter records sent with an ingest token: the token names the tenant
/// and the external environment whose projections the records may change. A batch is parsed
/// and checked whole before anything is applied.
pub async fn ingest_records(
    pool: &sqlx::PgPool,
    ingest: &Ingest,
    token: Option<&str>,
    records: Vec<Value>,
) -> Result<IngestOutcome> {
    let token = token
        .map(str::trim)
        .filter(|t| t.starts_with(INGEST_PREFIX) && t.len() == INGEST_PREFIX.len() + 64)
        .ok_or(ApiError::Unauthenticated)?;
    let mut tx = crate::db::begin_platform(pool).await?;
    let exporter = store::exporter_by_token(&mut tx, &Sha256::digest(token.as_bytes()))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    tx.commit().await?;
    let tenant = crate::extract::tenant_id(&exporter.tenant_id)?;
    // Embedded engines report their records in process. A token left from before ingest
    // tokens were limited to external environments must not let anyone write their
    // projections: those decide what the monitor shows and what an operator may act on.
    if exporter.engine_kind == "embedded" {
        return Err(ApiError::Unauthenticated);
    }
    if records.len() > MAX_RECORDS {
        return Err(FieldError::new(
            "records",
            format!("at most {MAX_RECORDS} records per request"),
        )
        .into());
    }
    let records = parse_records(records, &exporter.engine_tenant)?;
    let source = Source::exporter(
        tenant.clone(),
        exporter.environment_id,
        &exporter.environment,
    );
    let mut tx = crate::db::begin_tenant(pool, &tenant, None).await?;
    tenants::store::lock_active(&mut tx, &tenant).await?;
    let outcome = ingest.apply(&mut tx, &source, &records).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// How many dead letters a platform administrator sees at once: the newest.
const DEAD_LETTERS_SHOWN: i64 = 500;

/// The newest records ingest could not store, for platform administrators.
pub async fn dead_letters(ctx: &Ctx) -> Result<Vec<ingest::DeadLetter>> {
    ctx.authorize(Action::ReadIngestDeadLetters, Resource::Platform)?;
    let mut tx = ctx.platform_tx().await?;
    let letters = ingest::dead_letters(&mut tx, DEAD_LETTERS_SHOWN).await?;
    tx.commit().await?;
    Ok(letters)
}

/// Exporter records from JSON, each of the environment's engine tenant.
fn parse_records(values: Vec<Value>, engine_tenant: &str) -> Result<Vec<Record>> {
    let mut records = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        let record: Record = serde_json::from_value(value).map_err(|error| {
            ApiError::BadRequest(format!(
                "records[{index}] is not an exporter record: {error}"
            ))
        })?;
        if let Some(id) = ingest::record_tenant(&record)
            && id != engine_tenant
        {
            return Err(FieldError::new(
                format!("records[{index}].value.tenantId"),
                format!("{id:?} is not this environment's engine tenant ({engine_tenant:?})"),
            )
            .into());
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
    Ok(records)
}

/// A new ingest token, shown once.
#[derive(Debug)]
pub struct IngestToken {
    pub token: String,
    pub created_at: DateTime<Utc>,
}

/// Gives an external environment's exporter a new ingest token, replacing the previous one.
pub async fn create_ingest_token(
    ctx: &Ctx,
    tenant: &TenantId,
    environment: &str,
) -> Result<IngestToken> {
    ctx.authorize(Action::ManageEnvironments, Resource::Tenant(tenant))?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{INGEST_PREFIX}{}", hex::encode(secret));
    let mut tx = ctx.begin_tenant(tenant).await?;
    tenants::store::lock_active(&mut tx, tenant).await?;
    let kind = store::engine_kind(&mut tx, tenant, environment)
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
    let (id, created_at) = store::replace_ingest_token(
        &mut tx,
        tenant,
        environment,
        &Sha256::digest(token.as_bytes()),
    )
    .await?
    .ok_or(ApiError::NotFound("environment"))?;
    control_audit::append(
        &mut tx,
        tenant,
        &ctx.actor(),
        Change {
            action: AuditAction::EnvironmentIngestTokenCreate,
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({ "environment": environment, "created_at": created_at })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(IngestToken { token, created_at })
}

// --- instances ---------------------------------------------------------------------------

/// Which instances to list.
#[derive(Debug, Clone, Default)]
pub struct InstanceQuery {
    pub environment: Option<String>,
    /// The workflow by its id.
    pub workflow_id: Option<Uuid>,
    /// The process by its id (a workflow's key).
    pub bpmn_process_id: Option<String>,
    pub version: Option<i32>,
    pub state: Option<StateFilter>,
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
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

/// Instances, newest first, a page at a time.
pub async fn instances(
    ctx: &Ctx,
    tenant: &TenantId,
    filter: InstanceQuery,
) -> Result<InstancePage> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(tenant))?;
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
    let mut tx = ctx.begin_tenant(tenant).await?;
    let environment_id = match &filter.environment {
        Some(name) => Some(query::environment_id(&mut tx, tenant, name).await?),
        None => None,
    };
    let bpmn_process_id = match (filter.workflow_id, filter.bpmn_process_id) {
        (Some(workflow), _) => Some(workflows::store::get(&mut tx, tenant, workflow).await?.key),
        (None, process) => process,
    };
    let page = query::instances(
        &mut tx,
        tenant,
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
    Ok(page)
}

/// What the filters of the instance list offer: the tenant's environments and its processes
/// (key and name).
pub async fn instance_choices(
    ctx: &Ctx,
    tenant: &TenantId,
) -> Result<(Vec<String>, Vec<(String, String)>)> {
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, tenant).await?;
    let environments = environments::store::environments(&mut tx, tenant)
        .await?
        .into_iter()
        .map(|e| e.name)
        .collect();
    let workflows = workflows::store::list(&mut tx, tenant)
        .await?
        .into_iter()
        .map(|w| (w.key, w.name))
        .collect();
    tx.commit().await?;
    Ok((environments, workflows))
}

/// One instance with its diagram, elements, variables, incidents, jobs and timeline.
pub async fn instance(
    ctx: &Ctx,
    tenant: &TenantId,
    environment: &str,
    key: i64,
) -> Result<InstanceDetail> {
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, tenant).await?;
    let environment_id = query::environment_id(&mut tx, tenant, environment).await?;
    let detail = query::instance_detail(&mut tx, tenant, environment_id, key).await?;
    tx.commit().await?;
    Ok(detail)
}

/// Checks the caller may operate instances of the tenant (reading them comes first: a caller
/// who cannot see the tenant learns nothing more).
fn authorize_operation(ctx: &Ctx, tenant: &TenantId) -> Result<()> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(tenant))?;
    ctx.authorize(Action::OperateInstances, Resource::Tenant(tenant))
}

/// The engine client of a tenant's environment and a new operation reference for `action`,
/// which ties the engine's records of the operation to the caller.
async fn engine_of(
    ctx: &Ctx,
    pipeline: &Pipeline,
    tenant: &TenantId,
    environment: &str,
    action: AuditAction,
) -> Result<(Arc<Client>, Uuid, u64)> {
    let mut tx = ctx.begin_tenant(tenant).await?;
    tenants::store::lock_active(&mut tx, tenant).await?;
    let environment = environments::store::environment(&mut tx, tenant, environment).await?;
    let secret = environments::store::engine_secret(&mut tx, environment.id).await?;
    let reference = operations::record(&mut tx, tenant, &ctx.actor(), action).await?;
    tx.commit().await?;
    let client = pipeline
        .engines()
        .client(&pipeline::target(&environment, secret))
        .await?;
    Ok((client, environment.id, reference))
}

/// Records an operation in the control-plane audit trail once the engine has taken it.
async fn audit_operation(
    ctx: &Ctx,
    tenant: &TenantId,
    actor: &Actor,
    change: Change<'_>,
) -> Result<()> {
    let mut tx = ctx.begin_tenant(tenant).await?;
    control_audit::append(&mut tx, tenant, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Asks the engine to cancel an instance; its state follows on the monitor.
pub async fn cancel(
    ctx: &Ctx,
    pipeline: &Pipeline,
    tenant: &TenantId,
    environment: &str,
    key: i64,
) -> Result<()> {
    authorize_operation(ctx, tenant)?;
    let (client, environment_id, reference) = engine_of(
        ctx,
        pipeline,
        tenant,
        environment,
        AuditAction::InstanceCancel,
    )
    .await?;
    let before = {
        let mut tx = ctx.begin_tenant(tenant).await?;
        let found = query::instance(&mut tx, tenant, environment_id, key).await?;
        tx.commit().await?;
        found
    };
    client.cancel_instance(key, Some(reference)).await?;
    audit_operation(
        ctx,
        tenant,
        &ctx.actor(),
        Change {
            action: AuditAction::InstanceCancel,
            target_id: &key.to_string(),
            before: Some(json!({ "environment": environment, "state": before.state })),
            after: Some(json!({ "environment": environment, "state": "terminating" })),
        },
    )
    .await
}

/// Variables to set on a running instance.
#[derive(Debug, Clone, Default)]
pub struct SetVariables {
    /// The scope: the process instance (default) or one of its element instances.
    pub scope_key: Option<i64>,
    pub variables: Map<String, Value>,
    /// Only this scope, or where each variable already lives.
    pub local: bool,
}

/// Sets variables on an instance (or one of its scopes) through the engine.
pub async fn set_variables(
    ctx: &Ctx,
    pipeline: &Pipeline,
    tenant: &TenantId,
    environment: &str,
    key: i64,
    update: SetVariables,
) -> Result<()> {
    authorize_operation(ctx, tenant)?;
    crate::executions::validate_variables(&update.variables)?;
    let (client, environment_id, reference) = engine_of(
        ctx,
        pipeline,
        tenant,
        environment,
        AuditAction::InstanceVariablesSet,
    )
    .await?;
    let scope = update.scope_key.unwrap_or(key);
    {
        let mut tx = ctx.begin_tenant(tenant).await?;
        query::instance(&mut tx, tenant, environment_id, key).await?;
        // The scope must lie inside the addressed instance; the engine then confirms the key
        // is this tenant's (the call carries a credential for this tenant only).
        query::scope_in_instance(&mut tx, tenant, environment_id, key, scope).await?;
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
        ctx,
        tenant,
        &ctx.actor(),
        Change {
            action: AuditAction::InstanceVariablesSet,
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
    .await
}

// --- incidents ---------------------------------------------------------------------------

/// Incidents, newest first: open ones only, or all.
pub async fn incidents(
    ctx: &Ctx,
    tenant: &TenantId,
    environment: Option<&str>,
    open_only: bool,
    limit: Option<i64>,
) -> Result<Vec<IncidentView>> {
    ctx.authorize(Action::ReadWorkflows, Resource::Tenant(tenant))?;
    let limit = page_limit(limit)?;
    let mut tx = ctx.begin_tenant(tenant).await?;
    let environment_id = match environment {
        Some(name) => Some(query::environment_id(&mut tx, tenant, name).await?),
        None => None,
    };
    let found = query::incidents(&mut tx, tenant, environment_id, open_only, limit).await?;
    tx.commit().await?;
    Ok(found)
}

/// How a retry turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryState {
    /// The incident cleared and the element went on.
    Resolved,
    /// It cleared, but the element raised a new incident.
    FailedAgain,
    /// The engine accepted the retry; its result had not reached the monitor within the wait.
    Pending,
}

impl RetryState {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryState::Resolved => "resolved",
            RetryState::FailedAgain => "failed_again",
            RetryState::Pending => "pending",
        }
    }
}

/// A retry's outcome, with the incident as it is now and the new one if it failed again.
#[derive(Debug)]
pub struct Retried {
    pub state: RetryState,
    pub incident: IncidentView,
    pub new_incident: Option<IncidentView>,
}

/// How long a retry waits to see its result on the monitor.
const RETRY_WAIT: Duration = Duration::from_secs(10);

/// Retries an incident: gives its job `retries` (default 1) and resolves it, then waits up to
/// [`RETRY_WAIT`] for the monitor to show whether it cleared or failed again.
pub async fn retry(
    ctx: &Ctx,
    pipeline: &Pipeline,
    hub: &Hub,
    tenant: &TenantId,
    environment: &str,
    key: i64,
    retries: Option<i32>,
) -> Result<Retried> {
    authorize_operation(ctx, tenant)?;
    let retries = retries.unwrap_or(1);
    if !(1..=100).contains(&retries) {
        return Err(FieldError::new("retries", "must be between 1 and 100").into());
    }
    let (client, environment_id, reference) = engine_of(
        ctx,
        pipeline,
        tenant,
        environment,
        AuditAction::IncidentRetry,
    )
    .await?;
    let incident = {
        let mut tx = ctx.begin_tenant(tenant).await?;
        let found = query::incident(&mut tx, tenant, environment_id, key).await?;
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
        ctx,
        tenant,
        &ctx.actor(),
        Change {
            action: AuditAction::IncidentRetry,
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
            let mut tx = ctx.begin_tenant(tenant).await?;
            let current = query::incident(&mut tx, tenant, environment_id, key).await?;
            let newer = store::newer_open_incident(
                &mut tx,
                tenant,
                environment_id,
                incident.element_instance_key,
                key,
            )
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
    let mut tx = ctx.begin_tenant(tenant).await?;
    let incident = query::incident(&mut tx, tenant, environment_id, key).await?;
    let new_incident = match new_incident_key {
        Some(new) => Some(query::incident(&mut tx, tenant, environment_id, new).await?),
        None => None,
    };
    tx.commit().await?;
    let state = match (resolved, &new_incident) {
        (true, Some(_)) => RetryState::FailedAgain,
        (true, None) => RetryState::Resolved,
        (false, _) => RetryState::Pending,
    };
    Ok(Retried {
        state,
        incident,
        new_incident,
    })
}

// --- audit trails ------------------------------------------------------------------------

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

/// Execution events in sequence order that pass `filter`.
pub async fn execution_trail(
    ctx: &Ctx,
    tenant: &TenantId,
    filter: &trail::Filter,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<ExecutionAuditEvent>> {
    ctx.authorize(Action::ReadAudit, Resource::Tenant(tenant))?;
    let (after, limit) = audit_page(after, limit, 1000)?;
    FieldError::check_length("execution_id", filter.execution_id.as_deref(), 40)?;
    FieldError::check_length("workflow_id", filter.workflow_id.as_deref(), 200)?;
    FieldError::check_length("event_type", filter.event_type.as_deref(), 100)?;
    let mut tx = ctx.begin_tenant(tenant).await?;
    let events = trail::list(&mut tx, tenant, filter, after, limit).await?;
    tx.commit().await?;
    Ok(events)
}

/// Whether the tenant's execution chain holds, or its first broken event.
pub async fn verify_execution_trail(
    ctx: &Ctx,
    checkpoints: &crate::audit::checkpoint::Checkpoints,
    tenant: &TenantId,
    full: bool,
) -> Result<Verification> {
    let mut tx = ctx.tenant_tx(Action::ReadAudit, tenant).await?;
    let verification = trail::verify(&mut tx, checkpoints, tenant, full).await?;
    tx.commit().await?;
    Ok(verification)
}

/// Which trail, and which of its events.
#[derive(Debug, Clone, Default)]
pub struct TrailQuery {
    /// The execution trail (what happened in the engines), or the control trail (what people
    /// and the control plane changed).
    pub execution: bool,
    /// Control trail: part of the actor's name.
    pub actor: Option<String>,
    /// Control trail: an action or its prefix; execution trail: an event type.
    pub action: Option<String>,
    /// Control trail: a target id; execution trail: a process instance key.
    pub instance: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Most events one export holds.
pub const MAX_EXPORT: i64 = 100_000;

/// A trail's events, oldest first (or the newest `limit`, newest first), as JSON, with the
/// trail's verification: walked from the start for an export (evidence), resumed for a page.
pub async fn trail_events(
    ctx: &Ctx,
    checkpoints: &crate::audit::checkpoint::Checkpoints,
    tenant: &TenantId,
    query: &TrailQuery,
    newest: Option<i64>,
) -> Result<(Verification, Vec<TrailEvent>)> {
    ctx.authorize(Action::ReadAudit, Resource::Tenant(tenant))?;
    FieldError::check_length("actor", query.actor.as_deref(), 200)?;
    FieldError::check_length("action", query.action.as_deref(), 100)?;
    FieldError::check_length("instance", query.instance.as_deref(), 100)?;
    let mut tx = ctx.begin_tenant(tenant).await?;
    let found = if query.execution {
        let filter = trail::Filter {
            execution_id: query.instance.clone(),
            workflow_id: None,
            event_type: query.action.clone(),
            from: query.from,
            to: query.to,
        };
        let events = match newest {
            Some(limit) => trail::list_newest(&mut tx, tenant, &filter, limit).await?,
            None => trail::list(&mut tx, tenant, &filter, 0, MAX_EXPORT).await?,
        };
        let verification = trail::verify(&mut tx, checkpoints, tenant, newest.is_none()).await?;
        (
            verification,
            events.into_iter().map(TrailEvent::Execution).collect(),
        )
    } else {
        let filter = control_audit::Filter {
            actor: query.actor.clone(),
            action: query.action.clone(),
            target_id: query.instance.clone(),
            from: query.from,
            to: query.to,
        };
        let events = match newest {
            Some(limit) => {
                control_audit::store::list_newest(&mut tx, tenant, &filter, limit).await?
            }
            None => {
                control_audit::store::list_filtered(&mut tx, tenant, &filter, 0, MAX_EXPORT).await?
            }
        };
        let verification =
            control_audit::store::verify(&mut tx, checkpoints, tenant, newest.is_none()).await?;
        (
            verification,
            events.into_iter().map(TrailEvent::Control).collect(),
        )
    };
    tx.commit().await?;
    Ok(found)
}

/// An event of either trail.
#[derive(Debug, Clone)]
pub enum TrailEvent {
    Control(control_audit::AuditEvent),
    Execution(ExecutionAuditEvent),
}

impl TrailEvent {
    pub fn to_json(&self) -> Value {
        match self {
            TrailEvent::Control(event) => serde_json::to_value(event),
            TrailEvent::Execution(event) => serde_json::to_value(event),
        }
        .unwrap_or(Value::Null)
    }
}
