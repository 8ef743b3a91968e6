//! Signing in, changing one's own password, creating API tokens: what the REST API and the
//! pages both do, over the request context.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{
    AuthState, Me, RequestMeta,
    links::PasswordLinks,
    load_user,
    login::{self, Credentials, PasswordChange},
    policy::{Action, Resource},
    tokens::{self, CreatedToken, NewToken, TokenInfo},
};
use uuid::Uuid;

use crate::{
    context::Ctx,
    domain::{Role, TenantId},
    error::{ApiError, Result},
    mail::Delivery,
};

/// Checks the credentials and starts a session for their account. Attempts are limited per
/// client address and per account before anything is looked up or hashed.
pub async fn sign_in(
    auth: &AuthState,
    session: &Session,
    meta: &RequestMeta,
    credentials: Credentials,
) -> Result<Me> {
    auth.sign_in
        .admit(meta.ip.as_deref(), &credentials.email)
        .map_err(|wait| ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0),
        })?;
    let user_id = login::check_credentials(&auth.pool, &auth.config, credentials).await?;
    login::start_session(session, user_id).await?;
    let principal = load_user(&auth.pool, user_id).await?;
    tracing::info!(user.id = %user_id, "signed in");
    Ok(Me::from(&principal))
}

/// Changes the signed-in caller's own password. An API token cannot: it has no password. Every
/// other session of the account ends; the caller's own goes on under a new id.
pub async fn change_own_password(
    ctx: &Ctx,
    session: &Session,
    change: PasswordChange,
) -> Result<()> {
    let (Some(user_id), None) = (ctx.principal.user_id, &ctx.principal.token_tenant) else {
        return Err(ApiError::Forbidden(
            "passwords are changed by signing in, not with an API token".to_owned(),
        ));
    };
    let ended = login::change_password(&ctx.pool, user_id, change).await?;
    login::restart_session(session, ended).await
}

/// Creates an API token scoped to `tenant` for the caller, who must be allowed to manage
/// tokens there.
pub async fn create_token(ctx: &Ctx, tenant: &TenantId, new: NewToken) -> Result<CreatedToken> {
    let mut tx = ctx.tenant_tx(Action::ManageTokens, tenant).await?;
    let principal = &ctx.principal;
    let holds = principal.role_in(tenant);
    let admin = principal.platform_admin && principal.token_tenant.is_none();
    let creator_holds = |role: Role| admin || holds.is_some_and(|held| held.covers(role));
    let created = tokens::create(
        &mut tx,
        tenant,
        principal.user_id,
        creator_holds,
        new,
        &ctx.actor(),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// The tenant's API tokens, for those who may manage them.
pub async fn list_tokens(ctx: &Ctx, tenant: &TenantId) -> Result<Vec<TokenInfo>> {
    let mut tx = ctx.tenant_tx(Action::ManageTokens, tenant).await?;
    let listed = tokens::list(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(listed)
}

/// Revokes one of the tenant's API tokens.
pub async fn revoke_token(ctx: &Ctx, tenant: &TenantId, id: Uuid) -> Result<()> {
    let mut tx = ctx.tenant_tx(Action::ManageTokens, tenant).await?;
    tokens::revoke(&mut tx, tenant, id, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(())
}

/// What `POST /api/v1/platform/password-links` accepts.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The account's email.
    #[schema(max_length = 254)]
    pub email: String,
}

/// A link a platform administrator had sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SentLink {
    pub email: String,
    pub expires_at: DateTime<Utc>,
    /// `sent` (by mail), `printed` (on the console: no mail server is configured) or `failed`
    /// (the mail server refused it; see the server's log).
    pub delivery: String,
    /// The link itself, only when it was not mailed: the administrator passes it on.
    pub url: Option<String>,
}

/// Makes a new one-time link for the account with `request.email` (voiding its older links)
/// and sends it; for platform administrators.
pub async fn send_password_link(
    ctx: &Ctx,
    links: &PasswordLinks,
    request: LinkRequest,
) -> Result<SentLink> {
    ctx.authorize(Action::SendPasswordLinks, Resource::Platform)?;
    let link = links
        .issue_by_admin(&ctx.pool, &request.email)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    let url = links.url(&link);
    let (email, expires_at) = (link.email.clone(), link.expires_at);
    let delivery = links.send(link).await;
    tracing::info!(
        by = ?ctx.principal.user_id,
        to = email,
        ?delivery,
        "a platform administrator sent a link that sets a password"
    );
    Ok(SentLink {
        email,
        expires_at,
        delivery: match delivery {
            Some(Delivery::Sent) => "sent",
            Some(Delivery::Printed) => "printed",
            None => "failed",
        }
        .to_owned(),
        url: (delivery != Some(Delivery::Sent)).then_some(url),
    })
}
