//! What a caller may do with tenants and their members. The REST API and the tenant pages
//! both call these.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Member, NewMember, NewTenant, Tenant, TenantConfig, store};
use crate::{
    audit::Actor,
    auth::{
        password,
        policy::{Action, Resource, platform_settings},
    },
    context::Ctx,
    domain::{FieldError, Role, TenantId},
    environments,
    error::Result,
};

/// Every tenant for a platform administrator; otherwise the caller's own tenants (an API
/// token's one tenant).
pub async fn visible(ctx: &Ctx) -> Result<Vec<Tenant>> {
    if ctx.may(Action::ListAllTenants, Resource::Platform) {
        let mut tx = ctx.platform_tx().await?;
        let all = store::list(&mut tx).await?;
        tx.commit().await?;
        return Ok(all);
    }
    let ids: Vec<TenantId> = match &ctx.principal.token_tenant {
        Some((tenant, _)) => vec![tenant.clone()],
        None => ctx
            .principal
            .memberships
            .keys()
            .filter_map(|id| TenantId::new(id.as_str()).ok())
            .collect(),
    };
    let mut visible = Vec::with_capacity(ids.len());
    for tenant in ids {
        visible.push(get(ctx, &tenant).await?);
    }
    Ok(visible)
}

/// Creates a tenant whose owner is the caller.
pub async fn create(ctx: &Ctx, new: NewTenant) -> Result<Tenant> {
    ctx.authorize(Action::CreateTenant, Resource::Platform)?;
    let mut tx = ctx.platform_tx().await?;
    let tenant = create_in(&mut tx, new, ctx.principal.user_id, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(tenant)
}

/// Creates a tenant with its default environments (dev, staging, prod) inside the caller's
/// platform transaction; `owner`, when given, becomes its owner. For the first-start seed and
/// [`create`].
pub async fn create_in(
    conn: &mut PgConnection,
    new: NewTenant,
    owner: Option<Uuid>,
    actor: &Actor,
) -> Result<Tenant> {
    let tenant = store::create(conn, new, owner, actor).await?;
    let id = crate::extract::tenant_id(&tenant.id)?;
    environments::store::create_default_environments(conn, &id).await?;
    Ok(tenant)
}

pub async fn get(ctx: &Ctx, tenant: &TenantId) -> Result<Tenant> {
    let mut tx = ctx.tenant_tx(Action::ReadTenant, tenant).await?;
    let found = store::get(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(found)
}

/// Replaces the tenant's configuration; only platform administrators change its status.
pub async fn update_config(ctx: &Ctx, tenant: &TenantId, config: TenantConfig) -> Result<Tenant> {
    let mut tx = ctx.tenant_tx(Action::UpdateTenantConfig, tenant).await?;
    let updated = store::update_config(
        &mut tx,
        tenant,
        config,
        platform_settings(&ctx.principal),
        &ctx.actor(),
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn members(ctx: &Ctx, tenant: &TenantId) -> Result<Vec<Member>> {
    let mut tx = ctx.tenant_tx(Action::ListMembers, tenant).await?;
    let members = store::list_members(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(members)
}

/// Adds a member, creating the account when the email is new (with `new.password`, checked
/// and hashed here, before any connection is taken).
pub async fn add_member(ctx: &Ctx, tenant: &TenantId, new: NewMember) -> Result<Member> {
    ctx.authorize(Action::ManageMembers, Resource::Tenant(tenant))?;
    let password_hash = initial_password_hash(new.password.clone()).await?;
    let mut tx = ctx.begin_tenant(tenant).await?;
    let member = store::add_member(&mut tx, tenant, new, password_hash, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(member)
}

/// Checks and hashes an initial password for a new member's account.
async fn initial_password_hash(password: Option<String>) -> Result<Option<String>> {
    let Some(password) = password else {
        return Ok(None);
    };
    password::check_strength(&password).map_err(|message| FieldError::new("password", message))?;
    Ok(Some(password::hash(password).await?))
}

pub async fn change_role(ctx: &Ctx, tenant: &TenantId, user: Uuid, role: Role) -> Result<Member> {
    let mut tx = ctx.tenant_tx(Action::ManageMembers, tenant).await?;
    let member = store::change_role(&mut tx, tenant, user, role, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(member)
}

/// Removes a member; the account stays.
pub async fn remove_member(ctx: &Ctx, tenant: &TenantId, user: Uuid) -> Result<()> {
    let mut tx = ctx.tenant_tx(Action::ManageMembers, tenant).await?;
    store::remove_member(&mut tx, tenant, user, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(())
}
