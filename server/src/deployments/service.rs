//! What a caller may do with deployments: request one, approve or reject it, roll back. Each
//! change commits first and then tells the [`Pipeline`], which publishes it to the live
//! feeds and, where the deployment can move on, takes it to the engine.

use std::sync::Arc;

use uuid::Uuid;

use super::{Approval, Deployment, NewApproval, NewDeployment, Outcome, State, store};
use crate::{
    auth::policy::Action,
    context::Ctx,
    domain::{Role, TenantId},
    environments,
    error::{ApiError, Result},
    pipeline::Pipeline,
    workflows,
};

/// The tenant of deployment `id`, once the caller may do `action` there.
pub async fn tenant_of(ctx: &Ctx, id: Uuid, action: Action) -> Result<TenantId> {
    let mut tx = ctx.platform_tx().await?;
    let tenant = store::tenant_of(&mut tx, id).await?;
    tx.commit().await?;
    let tenant = tenant.ok_or(ApiError::NotFound("deployment"))?;
    ctx.authorize_hidden(action, &tenant, "deployment")?;
    Ok(tenant)
}

/// The named tenant's deployments (or the caller's only tenant's), newest first, optionally
/// of one workflow.
pub async fn list(
    ctx: &Ctx,
    tenant: Option<&str>,
    workflow: Option<Uuid>,
) -> Result<Vec<Deployment>> {
    let tenant = ctx.chosen_tenant(tenant)?;
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, &tenant).await?;
    let found = store::list(&mut tx, &tenant, workflow).await?;
    tx.commit().await?;
    Ok(found)
}

pub async fn get(ctx: &Ctx, id: Uuid) -> Result<Deployment> {
    let tenant = tenant_of(ctx, id, Action::ReadWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let found = store::get(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(found)
}

/// Requests a deployment; the pipeline validates it, waits for approvals as its environment
/// requires, and deploys it.
pub async fn request(
    ctx: &Ctx,
    pipeline: &Arc<Pipeline>,
    new: NewDeployment,
) -> Result<Deployment> {
    let tenant =
        workflows::service::tenant_of(ctx, new.workflow_id, Action::RequestDeployment).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let deployment = store::request(&mut tx, &tenant, &new, None, &ctx.actor()).await?;
    tx.commit().await?;
    pipeline.publish(&deployment);
    pipeline.spawn(tenant, deployment.id);
    Ok(deployment)
}

/// Approves a deployment; with enough approvals it moves on to deploying.
pub async fn approve(
    ctx: &Ctx,
    pipeline: &Arc<Pipeline>,
    id: Uuid,
    approval: NewApproval,
) -> Result<Deployment> {
    let tenant = tenant_of(ctx, id, Action::ApproveDeployment).await?;
    let principal = &ctx.principal;
    let approver = principal.user_id.ok_or_else(|| {
        ApiError::Forbidden("approvals are given by people, not API tokens".to_owned())
    })?;
    if principal.token_tenant.is_some() {
        return Err(ApiError::Forbidden(
            "approvals are given by signed-in people, not API tokens".to_owned(),
        ));
    }
    // A platform administrator outside the tenant approves with an owner's standing.
    let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
    let actor = ctx.actor();
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let (approved, ready) =
        store::approve(&mut tx, &tenant, id, approver, role, approval, &actor).await?;
    let approved = if ready {
        store::transition(
            &mut tx,
            &tenant,
            id,
            State::Deploying,
            Outcome::default(),
            &actor,
        )
        .await?
    } else {
        approved
    };
    tx.commit().await?;
    pipeline.publish(&approved);
    if ready {
        pipeline.spawn(tenant, id);
    }
    Ok(approved)
}

/// Its approvals so far.
pub async fn approvals(ctx: &Ctx, id: Uuid) -> Result<Vec<Approval>> {
    Ok(get(ctx, id).await?.approvals)
}

/// Rejects a deployment awaiting approval (an approver) or withdraws it (its requester).
pub async fn reject(
    ctx: &Ctx,
    pipeline: &Pipeline,
    id: Uuid,
    reason: NewApproval,
) -> Result<Deployment> {
    let tenant = tenant_of(ctx, id, Action::ApproveDeployment).await?;
    let principal = &ctx.principal;
    let (Some(user), None) = (principal.user_id, &principal.token_tenant) else {
        return Err(ApiError::Forbidden(
            "deployments are rejected by signed-in people, not API tokens".to_owned(),
        ));
    };
    let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let rejected = store::reject(
        &mut tx,
        &tenant,
        id,
        user,
        role,
        &reason.comment,
        &ctx.actor(),
    )
    .await?;
    tx.commit().await?;
    pipeline.publish(&rejected);
    Ok(rejected)
}

/// Requests a deployment of the version deployed before the active deployment `id`, to
/// replace it; running instances keep their version.
pub async fn roll_back(ctx: &Ctx, pipeline: &Arc<Pipeline>, id: Uuid) -> Result<Deployment> {
    let tenant = tenant_of(ctx, id, Action::RollbackDeployment).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let current = store::get(&mut tx, &tenant, id).await?;
    let environment =
        environments::store::environment(&mut tx, &tenant, &current.environment).await?;
    let active = store::active(&mut tx, &tenant, current.workflow_id, environment.id).await?;
    if current.state != State::Deployed || active.map(|a| a.id) != Some(id) {
        return Err(ApiError::Conflict(format!(
            "only the active deployment of a workflow in an environment can be rolled back; \
             this one is {}",
            current.state.as_str()
        )));
    }
    let previous = store::rollback_target(&mut tx, &tenant, &current)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "no earlier version of {} was deployed to {}",
                current.workflow_key, current.environment
            ))
        })?;
    let rollback = store::request(
        &mut tx,
        &tenant,
        &NewDeployment {
            workflow_id: current.workflow_id,
            version: Some(previous),
            environment: current.environment.clone(),
        },
        Some(id),
        &ctx.actor(),
    )
    .await?;
    tx.commit().await?;
    pipeline.publish(&rollback);
    pipeline.spawn(tenant, rollback.id);
    Ok(rollback)
}
