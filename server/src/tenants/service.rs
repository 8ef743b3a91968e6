//! What a caller may do with tenants and their members. The REST API and the tenant pages
//! both call these.

use std::sync::Arc;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Member, NewMember, NewTenant, Tenant, TenantConfig, store};
use crate::{
    audit::Actor,
    auth::{
        links::PasswordLinks,
        policy::{Action, Resource, platform_settings},
    },
    context::Ctx,
    domain::{Role, TenantId},
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

/// Adds a member, creating the account when the email is new. A new account has no password:
/// its owner gets a one-time link to choose one, sent once the member is stored.
pub async fn add_member(
    ctx: &Ctx,
    links: &Arc<PasswordLinks>,
    tenant: &TenantId,
    new: NewMember,
) -> Result<Member> {
    let mut tx = ctx.tenant_tx(Action::ManageMembers, tenant).await?;
    let (member, created) = store::add_member(&mut tx, tenant, new, &ctx.actor()).await?;
    let link = match created {
        Some(account) => Some(
            links
                .issue_for_new_account(&mut tx, account.user_id, &account.email)
                .await?,
        ),
        None => None,
    };
    tx.commit().await?;
    if let Some(link) = link {
        // Sent in the background: the answer must not wait for a mail server, nor take longer
        // for a new account than for one that existed.
        let links = links.clone();
        tokio::spawn(async move { links.send(link).await });
    }
    Ok(member)
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
