//! `/api/v1/auth/…`, `/api/v1/me…` and `/api/v1/tenants/{tenant}/tokens`: signing in and out,
//! the caller itself, and API tokens.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{delete, get, post},
};
use tower_sessions::Session;

use super::{
    AuthState, Me, Principal, RequestMeta,
    links::{self, SetPassword},
    login, service, tokens,
};
use crate::{
    context::Ctx,
    error::{ApiJson, ErrorBody, Result},
    extract::{TenantPath, TokenPath},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(sign_in))
        .route("/api/v1/auth/logout", post(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/auth/set-password", post(set_password))
        .route("/api/v1/platform/password-links", post(send_password_link))
        .route(
            "/api/v1/tenants/{tenant}/tokens",
            get(list_tokens).post(create_token),
        )
        .route(
            "/api/v1/tenants/{tenant}/tokens/{token}",
            delete(revoke_token),
        )
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(),
    request_body = login::Credentials,
    responses(
        (status = 200, description = "Signed in; the response sets the session cookie", body = Me),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 423, description = "Locked after repeated failures; see `Retry-After`", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address or for this account; see `Retry-After`", body = ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(auth): State<AuthState>,
    session: Session,
    meta: RequestMeta,
    ApiJson(credentials): ApiJson<login::Credentials>,
) -> Result<Json<Me>> {
    Ok(Json(
        service::sign_in(&auth, &session, &meta, credentials).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(),
    responses((status = 204, description = "The session, if any, has ended")))]
pub(crate) async fn sign_out(session: Session) -> Result<StatusCode> {
    login::end_session(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
/// The caller itself; needs no permission beyond being authenticated.
pub(crate) async fn me(principal: Principal) -> Json<Me> {
    Json(Me::from(&principal))
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth",
    request_body = login::PasswordChange,
    responses(
        (status = 204, description = "Changed; the one-time flag is cleared, every other session of the account has ended and this one goes on under a new id"),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
    ))]
pub(crate) async fn change_password(
    ctx: Ctx,
    session: Session,
    ApiJson(change): ApiJson<login::PasswordChange>,
) -> Result<StatusCode> {
    service::change_own_password(&ctx, &session, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/set-password", tag = "auth", security(),
    request_body = SetPassword,
    responses(
        (status = 204, description = "The password is set: the link is used up and every session of the account has ended; sign in with the new password"),
        (status = 404, description = "`invalid_link`: the link was used, has expired, was replaced by a newer one or never existed", body = ErrorBody),
        (status = 422, description = "The password is too weak", body = ErrorBody),
    ))]
/// Sets an account's password with the secret of a one-time link (sent when a tenant added a
/// new email, or when a platform administrator sent one).
pub(crate) async fn set_password(
    State(auth): State<AuthState>,
    ApiJson(request): ApiJson<SetPassword>,
) -> Result<StatusCode> {
    links::redeem(&auth.pool, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/platform/password-links", tag = "auth",
    request_body = service::LinkRequest,
    responses(
        (status = 201, description = "A new link was made (older ones stop working) and sent, or printed on the console where no mail server is configured; then `url` is the link, for the administrator to pass on", body = service::SentLink),
        (status = 403, description = "Only platform administrators may send them", body = ErrorBody),
        (status = 404, description = "No account has this email", body = ErrorBody),
    ))]
/// Sends an account a one-time link that sets its password: how a new member without mail,
/// or anyone who forgot their password, gets (back) in.
pub(crate) async fn send_password_link(
    ctx: Ctx,
    State(auth): State<AuthState>,
    ApiJson(request): ApiJson<service::LinkRequest>,
) -> Result<(StatusCode, Json<service::SentLink>)> {
    let sent = service::send_password_link(&ctx, &auth.links, request).await?;
    Ok((StatusCode::CREATED, Json(sent)))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = tokens::NewToken,
    responses(
        (status = 201, description = "Created; `token` is shown only now", body = tokens::CreatedToken),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn create_token(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiJson(new): ApiJson<tokens::NewToken>,
) -> Result<(StatusCode, Json<tokens::CreatedToken>)> {
    let created = service::create_token(&ctx, &tenant, new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant's tokens, newest first, without secrets", body = Vec<tokens::TokenInfo>),
        (status = 403, description = "Only owners manage tokens", body = ErrorBody),
    ))]
pub(crate) async fn list_tokens(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Vec<tokens::TokenInfo>>> {
    Ok(Json(service::list_tokens(&ctx, &tenant).await?))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/tokens/{token}", tag = "tokens",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("token" = String, Path, description = "The token's id (not its secret)"),
    ),
    responses(
        (status = 204, description = "Revoked: it stops working at once"),
        (status = 404, description = "No such token in this tenant", body = ErrorBody),
        (status = 409, description = "Already revoked", body = ErrorBody),
    ))]
pub(crate) async fn revoke_token(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    TokenPath(token): TokenPath,
) -> Result<StatusCode> {
    service::revoke_token(&ctx, &tenant, token).await?;
    Ok(StatusCode::NO_CONTENT)
}
