//! The deployments' and approvals' SQL.

use serde_json::json;
use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::*;
use crate::{
    audit::{self, Actor, AuditAction, Change},
    domain::{DomainError, FieldError, Result, Role, TenantId},
    environments,
    tenants::store::lock_active,
};

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
    let environment = environments::store::by_id(conn, environment_id).await?;
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
    let environment = environments::store::environment(conn, tenant, &new.environment).await?;
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
                AuditAction::DeploymentRollback
            } else {
                AuditAction::DeploymentRequest
            },
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
            action: AuditAction::DeploymentTransition,
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
    let environment =
        environments::store::environment(conn, tenant, &deployment.environment).await?;
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
            action: AuditAction::DeploymentApprove,
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
    let environment =
        environments::store::environment(conn, tenant, &deployment.environment).await?;
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
