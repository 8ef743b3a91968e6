//! Signing in, changing one's own password, creating API tokens: what the REST API and the
//! pages both do, over the request context.

use tower_sessions::Session;

use super::{
    AuthState, Me, load_user,
    login::{self, Credentials, PasswordChange},
    policy::Action,
    tokens::{self, CreatedToken, NewToken},
};
use crate::{
    context::Ctx,
    domain::TenantId,
    error::{ApiError, Result},
};

/// Checks the credentials and starts a session for their account.
pub async fn sign_in(auth: &AuthState, session: &Session, credentials: Credentials) -> Result<Me> {
    let user_id = login::check_credentials(&auth.pool, &auth.config, credentials).await?;
    login::start_session(session, user_id).await?;
    let principal = load_user(&auth.pool, user_id).await?;
    tracing::info!(user.id = %user_id, "signed in");
    Ok(Me::from(&principal))
}

/// Changes the signed-in caller's own password. An API token cannot: it has no password.
pub async fn change_own_password(ctx: &Ctx, change: PasswordChange) -> Result<()> {
    let (Some(user_id), None) = (ctx.principal.user_id, &ctx.principal.token_tenant) else {
        return Err(ApiError::Forbidden(
            "passwords are changed by signing in, not with an API token".to_owned(),
        ));
    };
    login::change_password(&ctx.pool, user_id, change).await
}

/// Creates an API token scoped to `tenant` for the caller, who must be allowed to manage
/// tokens there.
pub async fn create_token(ctx: &Ctx, tenant: &TenantId, new: NewToken) -> Result<CreatedToken> {
    let mut tx = ctx.tenant_tx(Action::ManageTokens, tenant).await?;
    let created = tokens::create(&mut tx, tenant, ctx.principal.user_id, new, &ctx.actor()).await?;
    tx.commit().await?;
    Ok(created)
}
