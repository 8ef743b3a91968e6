//! Environments, deployments of workflow versions to them, approvals, and executions.
//!
//! A deployment moves through an explicit state machine ([`State::can_become`]); every
//! transition is one transaction that also appends to the tenant's audit trail. The rules of
//! promotion are plain functions ([`may_approve`], [`approvals_satisfied`]) so they can be read
//! and tested without a database; the I/O (validation, calls to the engine) lives in
//! [`crate::pipeline`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, Row, postgres::PgRow};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    DomainError, FieldError, Result, Role, TenantId,
    audit::{self, Actor, Change},
    tenants::lock_active,
};

/// Where a deployment is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Requested,
    Validating,
    AwaitingApproval,
    Deploying,
    Deployed,
    Failed,
    /// Was deployed, then replaced by a rollback to an earlier version.
    RolledBack,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Requested,
        State::Validating,
        State::AwaitingApproval,
        State::Deploying,
        State::Deployed,
        State::Failed,
        State::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "requested",
            State::Validating => "validating",
            State::AwaitingApproval => "awaiting_approval",
            State::Deploying => "deploying",
            State::Deployed => "deployed",
            State::Failed => "failed",
            State::RolledBack => "rolled_back",
        }
    }

    fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// The transitions the state machine allows.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Requested, Validating)
                | (Validating, AwaitingApproval | Deploying | Failed)
                | (AwaitingApproval, Deploying | Failed)
                | (Deploying, Deployed | Failed)
                | (Deployed, RolledBack)
        )
    }

    /// No further transition except a rollback of a deployed one.
    pub fn is_settled(self) -> bool {
        matches!(self, State::Deployed | State::Failed | State::RolledBack)
    }
}

/// An environment's engine and approval policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Environment {
    pub id: Uuid,
    pub tenant_id: String,
    pub name: String,
    /// Promotion order: dev 1, staging 2, prod 3.
    pub position: i32,
    pub engine: EngineSettings,
    pub approvals_required: i32,
    pub approver_roles: Vec<Role>,
    pub require_owner_approval: bool,
    /// When the ingest token of its exporter was made (`None`: it has none).
    pub ingest_token_created_at: Option<DateTime<Utc>>,
    /// Where Zeebe workers reach an embedded engine that is running (`host:port` of its
    /// gateway), for a local installation's workers.
    pub gateway_address: Option<String>,
}

/// The engine an environment deploys to. The client secret is write-only: it is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineSettings {
    /// The server's own engine for this environment.
    Embedded,
    /// A Zeebe gateway such as a Camunda 8 cluster.
    External {
        address: String,
        oauth_token_url: Option<String>,
        oauth_client_id: Option<String>,
        oauth_audience: Option<String>,
        /// Whether a client secret is stored.
        has_client_secret: bool,
        /// The tenant id the engine is called with (`<default>` for a cluster without
        /// multi-tenancy).
        tenant_id: String,
    },
}

/// What `PUT /api/v1/tenants/{tenant}/environments/{name}` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentUpdate {
    #[serde(deserialize_with = "super::integer::deserialize")]
    #[schema(minimum = 0, maximum = 10)]
    pub approvals_required: i32,
    #[schema(min_items = 1)]
    pub approver_roles: Vec<Role>,
    pub require_owner_approval: bool,
    /// `embedded`, or `external` with an address.
    #[schema(pattern = "^(embedded|external)$")]
    pub engine_kind: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub engine_address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_token_url: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_client_id: Option<String>,
    /// Left out: the stored secret stays, as long as the address, token URL and client id
    /// stay the same (a secret is never sent anywhere it was not entered for).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub oauth_client_secret: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub oauth_audience: Option<String>,
    /// For an external engine: the tenant id to call it with; `<default>` (the default) for a
    /// cluster without multi-tenancy.
    #[serde(default)]
    #[schema(pattern = r"^(<default>|[A-Za-z0-9._-]{1,31})$")]
    pub engine_tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Deployment {
    pub id: Uuid,
    pub tenant_id: String,
    pub workflow_id: Uuid,
    pub workflow_key: String,
    pub version: i32,
    pub version_id: Uuid,
    pub environment: String,
    pub state: State,
    pub requested_by: String,
    pub requested_by_id: Option<Uuid>,
    /// For a rollback: the deployment it replaced.
    pub rollback_of: Option<Uuid>,
    /// The validation's findings (`[{code, severity, message, element_id}]`).
    #[schema(value_type = Vec<Object>)]
    pub diagnostics: Value,
    pub error: Option<String>,
    pub process_definition_key: Option<i64>,
    pub process_version: Option<i32>,
    /// When it reached `deployed`.
    pub deployed_at: Option<DateTime<Utc>>,
    pub approvals: Vec<Approval>,
    /// Approvals still needed before it deploys (0 once it has them).
    pub approvals_missing: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Approval {
    pub approver_id: Uuid,
    pub approver: String,
    pub role: Role,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

/// What `POST /api/v1/deployments` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    pub workflow_id: Uuid,
    /// The version to deploy; the latest when left out.
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: Option<i32>,
    #[schema(pattern = "^[a-z][a-z0-9-]{0,30}$")]
    pub environment: String,
}

fn optional_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<i32>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "super::integer::deserialize")] i32);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(value)| value))
}

/// What `POST /api/v1/deployments/{id}/approvals` accepts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub comment: String,
}

/// A state change, published to in-process subscribers (the monitor's WebSocket carries them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub tenant_id: String,
    pub deployment_id: Uuid,
    pub state: State,
    pub at: DateTime<Utc>,
}

/// Why an approval is refused, decided from the deployment, the policy and the approver.
pub fn may_approve(
    environment: &Environment,
    deployment: &Deployment,
    approver: Uuid,
    role: Role,
) -> std::result::Result<(), String> {
    if deployment.state != State::AwaitingApproval {
        return Err(format!(
            "the deployment is {}, not awaiting approval",
            deployment.state.as_str()
        ));
    }
    if deployment.requested_by_id == Some(approver) {
        return Err("you requested this deployment; someone else must approve it".to_owned());
    }
    if deployment
        .approvals
        .iter()
        .any(|approval| approval.approver_id == approver)
    {
        return Err("you have approved this deployment already".to_owned());
    }
    if !environment.approver_roles.contains(&role) {
        return Err(format!(
            "in {} approvals come from {}; your role is {role}",
            environment.name,
            environment
                .approver_roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(())
}

/// How many more approvals `approvals` need under the environment's policy as it is now: an
/// approval given in a role the environment no longer accepts does not count.
pub fn approvals_missing(environment: &Environment, approvals: &[Approval]) -> i32 {
    let counted: Vec<&Approval> = approvals
        .iter()
        .filter(|approval| environment.approver_roles.contains(&approval.role))
        .collect();
    let count = i32::try_from(counted.len()).unwrap_or(i32::MAX);
    let mut missing = (environment.approvals_required - count).max(0);
    if environment.require_owner_approval
        && environment.approvals_required > 0
        && !counted.iter().any(|approval| approval.role == Role::Owner)
    {
        missing = missing.max(1);
    }
    missing
}

pub fn approvals_satisfied(environment: &Environment, approvals: &[Approval]) -> bool {
    approvals_missing(environment, approvals) == 0
}

const ENVIRONMENT_COLUMNS: &str = "id, tenant_id, name, position, engine_kind, engine_address, \
    oauth_token_url, oauth_client_id, oauth_client_secret is not null as has_client_secret, \
    oauth_audience, engine_tenant_id, approvals_required, approver_roles, require_owner_approval, \
    ingest_token_created_at";

fn environment_from_row(row: &PgRow) -> Result<Environment> {
    let kind: String = row.try_get("engine_kind")?;
    let engine = if kind == "external" {
        EngineSettings::External {
            address: row.try_get("engine_address")?,
            oauth_token_url: row.try_get("oauth_token_url")?,
            oauth_client_id: row.try_get("oauth_client_id")?,
            oauth_audience: row.try_get("oauth_audience")?,
            has_client_secret: row.try_get("has_client_secret")?,
            tenant_id: row
                .try_get::<Option<String>, _>("engine_tenant_id")?
                .unwrap_or_else(|| "<default>".to_owned()),
        }
    } else {
        EngineSettings::Embedded
    };
    let roles: Vec<String> = row.try_get("approver_roles")?;
    Ok(Environment {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        position: row.try_get("position")?,
        engine,
        approvals_required: row.try_get("approvals_required")?,
        approver_roles: roles.iter().filter_map(|role| role.parse().ok()).collect(),
        require_owner_approval: row.try_get("require_owner_approval")?,
        ingest_token_created_at: row.try_get("ingest_token_created_at")?,
        gateway_address: None,
    })
}

/// The default environments of a new tenant: dev deploys at once, staging needs one approval,
/// prod two including an owner's.
pub async fn create_default_environments(conn: &mut PgConnection, tenant: &TenantId) -> Result<()> {
    sqlx::query(
        "insert into environments \
         (tenant_id, name, position, approvals_required, require_owner_approval) \
         values ($1, 'dev', 1, 0, false), ($1, 'staging', 2, 1, false), ($1, 'prod', 3, 2, true)",
    )
    .bind(tenant.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn environments(conn: &mut PgConnection, tenant: &TenantId) -> Result<Vec<Environment>> {
    let rows = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where tenant_id = $1 order by position"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(environment_from_row).collect()
}

pub async fn environment(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
) -> Result<Environment> {
    let row = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where tenant_id = $1 and name = $2"
    ))
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("environment"))?;
    environment_from_row(&row)
}

/// Whether deployments to `environment` wait for approvals, read with its row locked against
/// a concurrent policy change until the transaction ends.
pub async fn needs_approval(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
) -> Result<bool> {
    let required: i32 = sqlx::query_scalar(
        "select approvals_required from environments where tenant_id = $1 and name = $2 \
         for share",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("environment"))?;
    Ok(required > 0)
}

/// The tenant id an environment's engine is called with: the tenant's own in the embedded
/// engines (shared by all tenants), the configured one (by default `<default>`) outside.
pub fn engine_tenant(environment: &Environment, tenant: &TenantId) -> TenantId {
    match &environment.engine {
        EngineSettings::Embedded => tenant.clone(),
        EngineSettings::External { tenant_id, .. } => {
            TenantId::new(tenant_id).unwrap_or_else(|_| tenant.clone())
        }
    }
}

/// The engine target and, for an external one, its secret, for the pipeline.
pub async fn engine_secret(conn: &mut PgConnection, environment: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select oauth_client_secret from environments where id = $1")
            .bind(environment)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

fn optional_text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let value = value.filter(|value| !value.is_empty());
    if let Some(value) = &value
        && (value.chars().count() > max || value.chars().any(char::is_control))
    {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters without control characters"),
        )
        .into());
    }
    Ok(value)
}

fn validate_url(field: &str, value: &str) -> Result<()> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err(FieldError::new(field, "must be an http:// or https:// URL").into()),
    }
}

pub async fn update_environment(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
    update: EnvironmentUpdate,
    actor: &Actor,
) -> Result<Environment> {
    if !(0..=10).contains(&update.approvals_required) {
        return Err(FieldError::new("approvals_required", "must be between 0 and 10").into());
    }
    if update.approver_roles.is_empty() {
        return Err(FieldError::new("approver_roles", "name at least one role").into());
    }
    if update.require_owner_approval && !update.approver_roles.contains(&Role::Owner) {
        return Err(FieldError::new(
            "approver_roles",
            "an owner's approval is required, so owners must be among the approvers",
        )
        .into());
    }
    let engine_tenant = optional_text("engine_tenant_id", update.engine_tenant_id, 31)?;
    if let Some(engine_tenant) = &engine_tenant
        && engine_tenant != "<default>"
        && TenantId::new(engine_tenant).is_err()
    {
        return Err(FieldError::new(
            "engine_tenant_id",
            "must be <default> or at most 31 of A-Z a-z 0-9 . _ -",
        )
        .into());
    }
    let address = optional_text("engine_address", update.engine_address, 500)?;
    let token_url = optional_text("oauth_token_url", update.oauth_token_url, 500)?;
    let client_id = optional_text("oauth_client_id", update.oauth_client_id, 500)?;
    let secret = optional_text("oauth_client_secret", update.oauth_client_secret, 2000)?;
    let audience = optional_text("oauth_audience", update.oauth_audience, 500)?;
    let external = match update.engine_kind.as_str() {
        "embedded" => false,
        "external" => true,
        _ => {
            return Err(FieldError::new("engine_kind", "must be embedded or external").into());
        }
    };
    if external {
        let Some(address) = &address else {
            return Err(FieldError::new(
                "engine_address",
                "an external engine needs the gateway's address",
            )
            .into());
        };
        validate_url("engine_address", address)?;
        if let Some(token_url) = &token_url {
            validate_url("oauth_token_url", token_url)?;
            if client_id.is_none() {
                return Err(FieldError::new(
                    "oauth_client_id",
                    "OAuth needs a client id with the token URL",
                )
                .into());
            }
        }
    }
    lock_active(conn, tenant).await?;
    let before = environment(conn, tenant, name).await?;
    let mut roles: Vec<&str> = update
        .approver_roles
        .iter()
        .map(|role| role.as_str())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    sqlx::query(
        "update environments set approvals_required = $3, approver_roles = $4, \
         require_owner_approval = $5, engine_kind = $6, engine_address = $7, \
         oauth_token_url = $8, oauth_client_id = $9, \
         oauth_client_secret = case \
             when $6 = 'embedded' then null \
             when $10::text is not null then $10 \
             when (engine_address, oauth_token_url, oauth_client_id) \
                  is not distinct from ($7, $8, $9) then oauth_client_secret \
             else null end, \
         oauth_audience = $11, engine_tenant_id = $12, updated_at = now() \
         where tenant_id = $1 and name = $2",
    )
    .bind(tenant.as_str())
    .bind(name)
    .bind(update.approvals_required)
    .bind(&roles)
    .bind(update.require_owner_approval)
    .bind(&update.engine_kind)
    .bind(address.filter(|_| external))
    .bind(token_url.filter(|_| external))
    .bind(client_id.filter(|_| external))
    .bind(secret.filter(|_| external))
    .bind(audience.filter(|_| external))
    .bind(engine_tenant.filter(|_| external))
    .execute(&mut *conn)
    .await?;
    let after = environment(conn, tenant, name).await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: "environment.update",
            target_type: "environment",
            target_id: name,
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(&after).unwrap_or_default()),
        },
    )
    .await?;
    Ok(after)
}

const DEPLOYMENT_SELECT: &str = "select d.id, d.tenant_id, d.workflow_id, w.key as workflow_key, \
    v.version, d.version_id, e.name as environment, d.environment_id, d.state, \
    d.requested_by_label, d.requested_by, d.rollback_of, d.diagnostics, d.error, \
    d.process_definition_key, d.process_version, d.deployed_at, d.created_at, d.updated_at \
    from deployments d \
    join workflows w on w.id = d.workflow_id \
    join workflow_versions v on v.id = d.version_id \
    join environments e on e.id = d.environment_id";

async fn deployment_from_row(conn: &mut PgConnection, row: &PgRow) -> Result<Deployment> {
    let id: Uuid = row.try_get("id")?;
    let state: String = row.try_get("state")?;
    let approvals = approvals_of(conn, id).await?;
    let environment_id: Uuid = row.try_get("environment_id")?;
    let environment_row = sqlx::query(&format!(
        "select {ENVIRONMENT_COLUMNS} from environments where id = $1"
    ))
    .bind(environment_id)
    .fetch_one(&mut *conn)
    .await?;
    let environment = environment_from_row(&environment_row)?;
    let state = State::parse(&state)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown state {state:?}").into()))?;
    let approvals_missing = if state == State::AwaitingApproval {
        approvals_missing(&environment, &approvals)
    } else {
        0
    };
    Ok(Deployment {
        id,
        tenant_id: row.try_get("tenant_id")?,
        workflow_id: row.try_get("workflow_id")?,
        workflow_key: row.try_get("workflow_key")?,
        version: row.try_get("version")?,
        version_id: row.try_get("version_id")?,
        environment: row.try_get("environment")?,
        state,
        requested_by: row.try_get("requested_by_label")?,
        requested_by_id: row.try_get("requested_by")?,
        rollback_of: row.try_get("rollback_of")?,
        diagnostics: row.try_get("diagnostics")?,
        error: row.try_get("error")?,
        process_definition_key: row.try_get("process_definition_key")?,
        process_version: row.try_get("process_version")?,
        deployed_at: row.try_get("deployed_at")?,
        approvals,
        approvals_missing,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn approvals_of(conn: &mut PgConnection, deployment: Uuid) -> Result<Vec<Approval>> {
    let rows = sqlx::query(
        "select approver_id, approver_label, role, comment, created_at from approvals \
         where deployment_id = $1 order by created_at",
    )
    .bind(deployment)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            Ok(Approval {
                approver_id: row.try_get("approver_id")?,
                approver: row.try_get("approver_label")?,
                role: role
                    .parse()
                    .map_err(|_| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
                comment: row.try_get("comment")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn get(conn: &mut PgConnection, tenant: &TenantId, id: Uuid) -> Result<Deployment> {
    let row = sqlx::query(&format!(
        "{DEPLOYMENT_SELECT} where d.tenant_id = $1 and d.id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("deployment"))?;
    deployment_from_row(conn, &row).await
}

/// The tenant of a deployment, across tenants, to authorise the caller before reading it.
pub async fn tenant_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<TenantId>> {
    let tenant: Option<String> =
        sqlx::query_scalar("select tenant_id from deployments where id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(tenant.and_then(|tenant| TenantId::new(&tenant).ok()))
}

/// A tenant's deployments, newest first, optionally of one workflow.
pub async fn list(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow: Option<Uuid>,
) -> Result<Vec<Deployment>> {
    let rows = sqlx::query(&format!(
        "{DEPLOYMENT_SELECT} where d.tenant_id = $1 and ($2::uuid is null or d.workflow_id = $2) \
         order by d.created_at desc limit 500"
    ))
    .bind(tenant.as_str())
    .bind(workflow)
    .fetch_all(&mut *conn)
    .await?;
    let mut deployments = Vec::with_capacity(rows.len());
    for row in &rows {
        deployments.push(deployment_from_row(conn, row).await?);
    }
    Ok(deployments)
}

/// Records a request to deploy a version to an environment (state `requested`); the pipeline
/// takes it from there.
pub async fn request(
    conn: &mut PgConnection,
    tenant: &TenantId,
    new: &NewDeployment,
    rollback_of: Option<Uuid>,
    actor: &Actor,
) -> Result<Deployment> {
    lock_active(conn, tenant).await?;
    let environment = environment(conn, tenant, &new.environment).await?;
    let version_id: Uuid = match new.version {
        Some(number) => sqlx::query_scalar(
            "select id from workflow_versions where workflow_id = $1 and version = $2",
        )
        .bind(new.workflow_id)
        .bind(number)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("version"))?,
        None => sqlx::query_scalar(
            "select id from workflow_versions where workflow_id = $1 \
             order by version desc limit 1",
        )
        .bind(new.workflow_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("version"))?,
    };
    let id: Uuid = sqlx::query_scalar(
        "insert into deployments (tenant_id, workflow_id, version_id, environment_id, \
         requested_by, requested_by_label, rollback_of) \
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
    )
    .bind(tenant.as_str())
    .bind(new.workflow_id)
    .bind(version_id)
    .bind(environment.id)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(rollback_of)
    .fetch_one(&mut *conn)
    .await?;
    let deployment = get(conn, tenant, id).await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: if rollback_of.is_some() {
                "deployment.rollback"
            } else {
                "deployment.request"
            },
            target_type: "deployment",
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({
                "workflow": deployment.workflow_key,
                "version": deployment.version,
                "environment": deployment.environment,
                "rollback_of": rollback_of,
            })),
        },
    )
    .await?;
    Ok(deployment)
}

/// What a transition records besides the new state.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub diagnostics: Option<Value>,
    pub error: Option<String>,
    pub process_definition_key: Option<i64>,
    pub process_version: Option<i32>,
}

/// Moves a deployment to `next` if the state machine allows it from its current state,
/// locking the row so two movers cannot both win.
pub async fn transition(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    next: State,
    outcome: Outcome,
    actor: &Actor,
) -> Result<Deployment> {
    let current: String = sqlx::query_scalar(
        "select state from deployments where tenant_id = $1 and id = $2 for no key update",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("deployment"))?;
    let current = State::parse(&current).unwrap_or(State::Failed);
    if !current.can_become(next) {
        return Err(DomainError::Conflict(format!(
            "a {} deployment cannot become {}",
            current.as_str(),
            next.as_str()
        )));
    }
    sqlx::query(
        "update deployments set state = $3, \
         diagnostics = coalesce($4, diagnostics), error = coalesce($5, error), \
         process_definition_key = coalesce($6, process_definition_key), \
         process_version = coalesce($7, process_version), \
         deployed_at = case when $3 = 'deployed' then now() else deployed_at end, \
         updated_at = now() \
         where tenant_id = $1 and id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(next.as_str())
    .bind(&outcome.diagnostics)
    .bind(&outcome.error)
    .bind(outcome.process_definition_key)
    .bind(outcome.process_version)
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: "deployment.transition",
            target_type: "deployment",
            target_id: &id.to_string(),
            before: Some(json!({ "state": current })),
            after: Some(json!({
                "state": next,
                "error": outcome.error,
                "process_definition_key": outcome.process_definition_key,
                "process_version": outcome.process_version,
            })),
        },
    )
    .await?;
    get(conn, tenant, id).await
}

/// Records an approval; returns the deployment and whether it now has all it needs.
pub async fn approve(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    approver: Uuid,
    role: Role,
    approval: NewApproval,
    actor: &Actor,
) -> Result<(Deployment, bool)> {
    if approval.comment.chars().count() > 2000 || approval.comment.contains('\0') {
        return Err(FieldError::new(
            "comment",
            "must be at most 2000 characters, without NUL characters",
        )
        .into());
    }
    lock_active(conn, tenant).await?;
    sqlx::query("select 1 from deployments where tenant_id = $1 and id = $2 for no key update")
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("deployment"))?;
    let deployment = get(conn, tenant, id).await?;
    let environment = environment(conn, tenant, &deployment.environment).await?;
    may_approve(&environment, &deployment, approver, role).map_err(DomainError::Forbidden)?;
    sqlx::query(
        "insert into approvals (tenant_id, deployment_id, approver_id, approver_label, role, \
         comment) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(approver)
    .bind(&actor.label)
    .bind(role.as_str())
    .bind(&approval.comment)
    .execute(&mut *conn)
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: "deployment.approve",
            target_type: "deployment",
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({ "role": role, "comment": approval.comment })),
        },
    )
    .await?;
    let deployment = get(conn, tenant, id).await?;
    let ready = approvals_satisfied(&environment, &deployment.approvals);
    Ok((deployment, ready))
}

/// Rejects a deployment awaiting approval (an approver), or withdraws it (its requester): it
/// ends as failed, saying who and why, and can never be approved later.
pub async fn reject(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    user: Uuid,
    role: Role,
    comment: &str,
    actor: &Actor,
) -> Result<Deployment> {
    if comment.chars().count() > 2000 || comment.contains('\0') {
        return Err(FieldError::new(
            "comment",
            "must be at most 2000 characters, without NUL characters",
        )
        .into());
    }
    lock_active(conn, tenant).await?;
    let deployment = get(conn, tenant, id).await?;
    if deployment.state != State::AwaitingApproval {
        return Err(DomainError::Conflict(format!(
            "the deployment is {}, not awaiting approval",
            deployment.state.as_str()
        )));
    }
    let environment = environment(conn, tenant, &deployment.environment).await?;
    let requester = deployment.requested_by_id == Some(user);
    if !requester && !environment.approver_roles.contains(&role) {
        return Err(DomainError::Forbidden(format!(
            "only its requester or an approver of {} ({}) may reject it",
            environment.name,
            environment
                .approver_roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let verb = if requester { "withdrawn" } else { "rejected" };
    let reason = if comment.is_empty() {
        format!("{verb} by {}", actor.label)
    } else {
        format!("{verb} by {}: {comment}", actor.label)
    };
    transition(
        conn,
        tenant,
        id,
        State::Failed,
        Outcome {
            error: Some(reason),
            ..Outcome::default()
        },
        actor,
    )
    .await
}

/// The deployment currently serving `workflow` in `environment`: its newest deployed one.
pub async fn active(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow: Uuid,
    environment: Uuid,
) -> Result<Option<Deployment>> {
    let row = sqlx::query(&format!(
        "{DEPLOYMENT_SELECT} where d.tenant_id = $1 and d.workflow_id = $2 \
         and d.environment_id = $3 and d.state = 'deployed' \
         order by d.deployed_at desc limit 1"
    ))
    .bind(tenant.as_str())
    .bind(workflow)
    .bind(environment)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(deployment_from_row(conn, &row).await?)),
        None => Ok(None),
    }
}

/// The version a rollback of `deployment` returns to: the other version that was deployed to
/// the same environment most recently before it (by when each was deployed, not requested:
/// approvals can make the two orders differ).
pub async fn rollback_target(
    conn: &mut PgConnection,
    tenant: &TenantId,
    deployment: &Deployment,
) -> Result<Option<i32>> {
    let Some(deployed_at) = deployment.deployed_at else {
        return Ok(None);
    };
    let version: Option<i32> = sqlx::query_scalar(
        "select v.version from deployments d join workflow_versions v on v.id = d.version_id \
         join environments e on e.id = d.environment_id \
         where d.tenant_id = $1 and d.workflow_id = $2 and e.name = $3 \
         and d.state in ('deployed', 'rolled_back') and d.version_id <> $4 \
         and d.deployed_at < $5 \
         order by d.deployed_at desc limit 1",
    )
    .bind(tenant.as_str())
    .bind(deployment.workflow_id)
    .bind(&deployment.environment)
    .bind(deployment.version_id)
    .bind(deployed_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(version)
}

/// Deployments the pipeline has not finished (after a restart it takes them up again).
pub async fn unfinished(conn: &mut PgConnection) -> Result<Vec<(TenantId, Uuid)>> {
    let rows = sqlx::query(
        "select tenant_id, id from deployments \
         where state in ('requested', 'validating', 'deploying') order by created_at",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .filter_map(|row| {
            let tenant: String = row.try_get("tenant_id").ok()?;
            Some(Ok((TenantId::new(&tenant).ok()?, row.try_get("id").ok()?)))
        })
        .collect()
}

/// A process instance started through the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Execution {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub deployment_id: Uuid,
    pub environment: String,
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    pub version: i32,
    pub started_by: String,
    #[schema(value_type = Object)]
    pub variables: Value,
    pub created_at: DateTime<Utc>,
}

/// What `POST /api/v1/workflows/{id}/executions` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExecution {
    #[schema(pattern = "^[a-z][a-z0-9-]{0,30}$")]
    pub environment: String,
    /// The instance's variables, a JSON object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: serde_json::Map<String, Value>,
}

/// Largest variables document an execution may start with, serialized.
pub const MAX_VARIABLES_BYTES: usize = 1024 * 1024;

/// Checks start variables before anything is sent to the engine, so an instance is never
/// started that the control plane could not then record: PostgreSQL's `jsonb` cannot hold a
/// NUL character in a key or a string.
pub fn validate_variables(variables: &serde_json::Map<String, Value>) -> Result<()> {
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(fields) => fields
                .iter()
                .any(|(key, value)| key.contains('\0') || has_nul(value)),
            _ => false,
        }
    }
    if variables
        .iter()
        .any(|(key, value)| key.contains('\0') || has_nul(value))
    {
        return Err(FieldError::new(
            "variables",
            "names and texts must not contain NUL characters",
        )
        .into());
    }
    let size = serde_json::to_vec(variables)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_VARIABLES_BYTES {
        return Err(FieldError::new(
            "variables",
            format!("are {size} bytes as JSON; at most {MAX_VARIABLES_BYTES} are accepted"),
        )
        .into());
    }
    Ok(())
}

const EXECUTION_SELECT: &str = "select x.id, x.workflow_id, x.deployment_id, e.name as environment, \
    x.process_instance_key, x.process_definition_key, v.version, x.started_by_label, \
    x.variables, x.created_at \
    from executions x join environments e on e.id = x.environment_id \
    join deployments d on d.id = x.deployment_id \
    join workflow_versions v on v.id = d.version_id";

fn execution_from_row(row: &PgRow) -> Result<Execution> {
    Ok(Execution {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        deployment_id: row.try_get("deployment_id")?,
        environment: row.try_get("environment")?,
        process_instance_key: row.try_get("process_instance_key")?,
        process_definition_key: row.try_get("process_definition_key")?,
        version: row.try_get("version")?,
        started_by: row.try_get("started_by_label")?,
        variables: row.try_get("variables")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn record_execution(
    conn: &mut PgConnection,
    tenant: &TenantId,
    deployment: &Deployment,
    environment: Uuid,
    process_instance_key: i64,
    variables: Value,
    actor: &Actor,
) -> Result<Execution> {
    let id: Uuid = sqlx::query_scalar(
        "insert into executions (tenant_id, workflow_id, deployment_id, environment_id, \
         process_instance_key, process_definition_key, started_by, started_by_label, variables) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(tenant.as_str())
    .bind(deployment.workflow_id)
    .bind(deployment.id)
    .bind(environment)
    .bind(process_instance_key)
    .bind(deployment.process_definition_key.unwrap_or_default())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(&variables)
    .fetch_one(&mut *conn)
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: "execution.start",
            target_type: "workflow",
            target_id: &deployment.workflow_id.to_string(),
            before: None,
            after: Some(json!({
                "environment": deployment.environment,
                "version": deployment.version,
                "process_instance_key": process_instance_key,
            })),
        },
    )
    .await?;
    let row = sqlx::query(&format!("{EXECUTION_SELECT} where x.id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    execution_from_row(&row)
}

pub async fn executions(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow: Uuid,
) -> Result<Vec<Execution>> {
    let rows = sqlx::query(&format!(
        "{EXECUTION_SELECT} where x.tenant_id = $1 and x.workflow_id = $2 \
         order by x.created_at desc limit 500"
    ))
    .bind(tenant.as_str())
    .bind(workflow)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(execution_from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Environment {
        Environment {
            id: Uuid::new_v4(),
            tenant_id: "acme".into(),
            name: "prod".into(),
            position: 3,
            engine: EngineSettings::Embedded,
            approvals_required: 2,
            approver_roles: vec![Role::Owner, Role::Editor],
            require_owner_approval: true,
            ingest_token_created_at: None,
            gateway_address: None,
        }
    }

    fn approval(role: Role) -> Approval {
        Approval {
            approver_id: Uuid::new_v4(),
            approver: "someone".into(),
            role,
            comment: String::new(),
            created_at: Utc::now(),
        }
    }

    fn awaiting(requester: Uuid) -> Deployment {
        Deployment {
            id: Uuid::new_v4(),
            tenant_id: "acme".into(),
            workflow_id: Uuid::new_v4(),
            workflow_key: "order".into(),
            version: 1,
            version_id: Uuid::new_v4(),
            environment: "prod".into(),
            state: State::AwaitingApproval,
            requested_by: "requester".into(),
            requested_by_id: Some(requester),
            rollback_of: None,
            diagnostics: json!([]),
            error: None,
            process_definition_key: None,
            process_version: None,
            deployed_at: None,
            approvals: vec![],
            approvals_missing: 2,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn variables_with_nul_anywhere_are_refused() {
        let object = |value: Value| value.as_object().unwrap().clone();
        assert!(validate_variables(&object(json!({ "a": [1, { "b": "ok" }] }))).is_ok());
        for bad in [
            json!({ "a\u{0}": 1 }),
            json!({ "a": "x\u{0}" }),
            json!({ "a": [{ "b": ["\u{0}"] }] }),
            json!({ "a": { "\u{0}": null } }),
        ] {
            assert!(validate_variables(&object(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_state_machine_allows_only_forward_transitions() {
        use State::*;
        assert!(Requested.can_become(Validating));
        assert!(Validating.can_become(AwaitingApproval));
        assert!(AwaitingApproval.can_become(Deploying));
        assert!(Deploying.can_become(Deployed));
        assert!(Deployed.can_become(RolledBack));
        for settled in [Failed, RolledBack] {
            for next in State::ALL {
                assert!(!settled.can_become(next), "{settled:?} -> {next:?}");
            }
        }
        assert!(!Requested.can_become(Deployed), "no skipping validation");
        assert!(
            !AwaitingApproval.can_become(Deployed),
            "no skipping the engine"
        );
    }

    #[test]
    fn prod_needs_two_approvals_one_of_them_an_owner() {
        let prod = prod();
        assert_eq!(approvals_missing(&prod, &[]), 2);
        assert_eq!(approvals_missing(&prod, &[approval(Role::Editor)]), 1);
        assert_eq!(
            approvals_missing(&prod, &[approval(Role::Editor), approval(Role::Editor)]),
            1,
            "two editors are not enough without an owner"
        );
        assert!(approvals_satisfied(
            &prod,
            &[approval(Role::Editor), approval(Role::Owner)]
        ));
        let owners_only = Environment {
            approver_roles: vec![Role::Owner],
            ..prod.clone()
        };
        assert_eq!(
            approvals_missing(
                &owners_only,
                &[approval(Role::Editor), approval(Role::Owner)]
            ),
            1,
            "an editor's approval stops counting once editors are no longer approvers"
        );
        let dev = Environment {
            approvals_required: 0,
            require_owner_approval: false,
            ..prod
        };
        assert!(approvals_satisfied(&dev, &[]));
    }

    #[test]
    fn the_requester_never_approves_their_own_deployment() {
        let requester = Uuid::new_v4();
        let deployment = awaiting(requester);
        let refused = may_approve(&prod(), &deployment, requester, Role::Owner).unwrap_err();
        assert!(refused.contains("someone else"), "{refused}");
        assert!(may_approve(&prod(), &deployment, Uuid::new_v4(), Role::Owner).is_ok());
        let viewer = may_approve(&prod(), &deployment, Uuid::new_v4(), Role::Viewer).unwrap_err();
        assert!(viewer.contains("owner or editor"), "{viewer}");
        let done = Deployment {
            state: State::Deployed,
            ..deployment
        };
        assert!(may_approve(&prod(), &done, Uuid::new_v4(), Role::Owner).is_err());
    }
}
