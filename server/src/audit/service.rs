//! Reading and verifying a tenant's trail, for the REST API and the tenant page alike.

use super::{
    AuditEvent, Filter, Verification,
    checkpoint::{Checkpoint, Checkpoints, Trail},
    store,
};
use crate::{
    auth::policy::Action,
    context::Ctx,
    domain::{FieldError, TenantId},
    error::Result,
};

/// Which page of the trail to read.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Events after this sequence number.
    pub after: i64,
    /// How many, 1 to [`Page::MAX_LIMIT`].
    pub limit: i64,
    pub filter: Filter,
}

impl Page {
    pub const MAX_LIMIT: i64 = 1000;

    fn validate(&self) -> Result<(), FieldError> {
        if self.after < 0 {
            return Err(FieldError::new("after", "must not be negative"));
        }
        if !(1..=Self::MAX_LIMIT).contains(&self.limit) {
            return Err(FieldError::new(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        FieldError::check_length("actor", self.filter.actor.as_deref(), 200)?;
        FieldError::check_length("action", self.filter.action.as_deref(), 100)?;
        FieldError::check_length("target_id", self.filter.target_id.as_deref(), 200)?;
        Ok(())
    }
}

/// Events in sequence order that pass the page's filter.
pub async fn list(ctx: &Ctx, tenant: &TenantId, page: Page) -> Result<Vec<AuditEvent>> {
    ctx.authorize(
        Action::ReadAudit,
        crate::auth::policy::Resource::Tenant(tenant),
    )?;
    page.validate()?;
    let mut tx = ctx.begin_tenant(tenant).await?;
    let events =
        store::list_filtered(&mut tx, tenant, &page.filter, page.after, page.limit).await?;
    tx.commit().await?;
    Ok(events)
}

/// The newest `limit` events, newest first.
pub async fn latest(ctx: &Ctx, tenant: &TenantId, limit: i64) -> Result<Vec<AuditEvent>> {
    let mut tx = ctx.tenant_tx(Action::ReadAudit, tenant).await?;
    let events = store::latest(&mut tx, tenant, limit).await?;
    tx.commit().await?;
    Ok(events)
}

/// Whether the tenant's chain holds (from where the last verification left it, or from the
/// start when `full`, and against its newest signed checkpoint), or its first broken event.
pub async fn verify(
    ctx: &Ctx,
    checkpoints: &Checkpoints,
    tenant: &TenantId,
    full: bool,
) -> Result<Verification> {
    let mut tx = ctx.tenant_tx(Action::ReadAudit, tenant).await?;
    let verification = store::verify(&mut tx, checkpoints, tenant, full).await?;
    tx.commit().await?;
    Ok(verification)
}

/// The tenant's newest published checkpoints of `trail`, newest first.
pub async fn checkpoints(
    ctx: &Ctx,
    tenant: &TenantId,
    trail: Trail,
    limit: i64,
) -> Result<Vec<Checkpoint>> {
    let mut tx = ctx.tenant_tx(Action::ReadAudit, tenant).await?;
    let listed = Checkpoints::published(&mut tx, tenant, trail, limit.clamp(1, 1000)).await?;
    tx.commit().await?;
    Ok(listed)
}
