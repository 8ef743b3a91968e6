//! What a caller may do with workflows, their versions and the tenant's job types.
//!
//! Workflows are addressed by their own id, without the tenant: [`tenant_of`] looks the
//! tenant up across tenants first and authorises the caller for it (a tenant the caller is
//! not in answers "not found", exactly like an id that does not exist); only then is the
//! tenant's transaction opened.

use uuid::Uuid;

use super::{
    JobType, NewVersion, NewWorkflow, Version, VersionSummary, Workflow, WorkflowUpdate, store,
};
use crate::{
    auth::policy::Action,
    context::Ctx,
    domain::TenantId,
    error::{ApiError, Result},
};

/// The tenant of workflow `id`, once the caller may do `action` there.
pub async fn tenant_of(ctx: &Ctx, id: Uuid, action: Action) -> Result<TenantId> {
    let mut tx = ctx.platform_tx().await?;
    let tenant = store::tenant_of(&mut tx, id).await?;
    tx.commit().await?;
    let tenant = tenant.ok_or(ApiError::NotFound("workflow"))?;
    ctx.authorize_hidden(action, &tenant, "workflow")?;
    Ok(tenant)
}

/// The workflows of the named tenant (or the caller's only one).
pub async fn list(ctx: &Ctx, tenant: Option<&str>) -> Result<Vec<Workflow>> {
    let tenant = ctx.chosen_tenant(tenant)?;
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, &tenant).await?;
    let found = store::list(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(found)
}

/// Creates a workflow from a BPMN document, which becomes its version 1.
pub async fn create(ctx: &Ctx, new: NewWorkflow) -> Result<(Workflow, VersionSummary)> {
    let tenant = ctx.chosen_tenant(new.tenant_id.as_deref())?;
    let mut tx = ctx.tenant_tx(Action::EditWorkflows, &tenant).await?;
    let created = store::create(&mut tx, &tenant, new, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn get(ctx: &Ctx, id: Uuid) -> Result<Workflow> {
    let tenant = tenant_of(ctx, id, Action::ReadWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let found = store::get(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(found)
}

pub async fn update(ctx: &Ctx, id: Uuid, update: WorkflowUpdate) -> Result<Workflow> {
    let tenant = tenant_of(ctx, id, Action::EditWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let updated = store::update(&mut tx, &tenant, id, update, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Deletes a workflow with its versions; one that was ever deployed stays.
pub async fn delete(ctx: &Ctx, id: Uuid) -> Result<()> {
    let tenant = tenant_of(ctx, id, Action::EditWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    store::delete(&mut tx, &tenant, id, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(())
}

/// Versions, newest first.
pub async fn versions(ctx: &Ctx, id: Uuid) -> Result<Vec<VersionSummary>> {
    let tenant = tenant_of(ctx, id, Action::ReadWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let found = store::versions(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(found)
}

/// Adds a version; `false` when the document is identical to the latest version, which is
/// returned instead.
pub async fn add_version(ctx: &Ctx, id: Uuid, new: NewVersion) -> Result<(VersionSummary, bool)> {
    let tenant = tenant_of(ctx, id, Action::EditWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let added = store::add_version(&mut tx, &tenant, id, new, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(added)
}

pub async fn version(ctx: &Ctx, id: Uuid, number: i32) -> Result<Version> {
    let tenant = tenant_of(ctx, id, Action::ReadWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let found = store::version(&mut tx, &tenant, id, number).await?;
    tx.commit().await?;
    Ok(found)
}

/// Job types the tenant's own workers serve.
pub async fn job_types(ctx: &Ctx, tenant: &TenantId) -> Result<Vec<JobType>> {
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, tenant).await?;
    let found = store::job_types(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(found)
}

pub async fn add_job_type(ctx: &Ctx, tenant: &TenantId, job_type: JobType) -> Result<JobType> {
    let mut tx = ctx.tenant_tx(Action::ManageJobTypes, tenant).await?;
    let added = store::add_job_type(&mut tx, tenant, job_type, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(added)
}

pub async fn remove_job_type(ctx: &Ctx, tenant: &TenantId, job_type: &str) -> Result<()> {
    let mut tx = ctx.tenant_tx(Action::ManageJobTypes, tenant).await?;
    store::remove_job_type(&mut tx, tenant, job_type, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(())
}
