//! What a caller may do with the tenant's environments.

use super::{EngineSettings, Environment, EnvironmentUpdate, store};
use crate::{
    auth::policy::Action, context::Ctx, domain::TenantId, error::Result, pipeline::Pipeline,
};

/// The tenant's environments in promotion order; an embedded engine's gateway address is
/// filled in while it runs.
pub async fn list(ctx: &Ctx, pipeline: &Pipeline, tenant: &TenantId) -> Result<Vec<Environment>> {
    let mut tx = ctx.tenant_tx(Action::ReadWorkflows, tenant).await?;
    let mut found = store::environments(&mut tx, tenant).await?;
    tx.commit().await?;
    let running = pipeline.engines().embedded_addresses().await;
    for environment in &mut found {
        if environment.engine == EngineSettings::Embedded {
            environment.gateway_address = running.get(&environment.name).map(|a| a.to_string());
        }
    }
    Ok(found)
}

/// Changes an environment's engine and approval policy.
pub async fn update(
    ctx: &Ctx,
    tenant: &TenantId,
    name: &str,
    update: EnvironmentUpdate,
) -> Result<Environment> {
    let mut tx = ctx.tenant_tx(Action::ManageEnvironments, tenant).await?;
    let updated = store::update_environment(&mut tx, tenant, name, update, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(updated)
}
