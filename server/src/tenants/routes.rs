//! `/api/v1/tenants…`: tenants, their configuration and their members.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, put},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Member, NewMember, NewTenant, Tenant, TenantConfig, service};
use crate::{
    auth::AuthState,
    context::Ctx,
    domain::Role,
    error::{ApiJson, ErrorBody, Result},
    extract::{MemberPath, TenantPath},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(list_tenants).post(create_tenant))
        .route("/api/v1/tenants/{tenant}", get(get_tenant))
        .route("/api/v1/tenants/{tenant}/config", put(update_config))
        .route(
            "/api/v1/tenants/{tenant}/users",
            get(list_members).post(add_member),
        )
        .route(
            "/api/v1/tenants/{tenant}/users/{user}",
            put(change_role).delete(remove_member),
        )
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, description = "The tenants the caller may see", body = Vec<Tenant>)))]
/// Every tenant for a platform administrator; otherwise the caller's own tenants.
pub(crate) async fn list_tenants(ctx: Ctx) -> Result<Json<Vec<Tenant>>> {
    Ok(Json(service::visible(&ctx).await?))
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants",
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = Tenant),
        (status = 409, description = "A tenant with this id exists", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn create_tenant(
    ctx: Ctx,
    ApiJson(new): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>)> {
    Ok((StatusCode::CREATED, Json(service::create(&ctx, new).await?)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant", body = Tenant)))]
pub(crate) async fn get_tenant(ctx: Ctx, TenantPath(tenant): TenantPath) -> Result<Json<Tenant>> {
    Ok(Json(service::get(&ctx, &tenant).await?))
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/config", tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = TenantConfig,
    responses(
        (status = 200, description = "The updated tenant", body = Tenant),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn update_config(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiJson(config): ApiJson<TenantConfig>,
) -> Result<Json<Tenant>> {
    Ok(Json(service::update_config(&ctx, &tenant, config).await?))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "members",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant's members", body = Vec<Member>)))]
pub(crate) async fn list_members(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Vec<Member>>> {
    Ok(Json(service::members(&ctx, &tenant).await?))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "members",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewMember,
    responses(
        (status = 201, description = "Added. A new email gets an account without a password and a one-time link to choose one, by mail (or on the server's console where no mail server is configured); an existing account joins as it is, named as given here", body = Member),
        (status = 409, description = "Already a member, the user quota is used up (`quota_exceeded`), or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn add_member(
    ctx: Ctx,
    State(auth): State<AuthState>,
    TenantPath(tenant): TenantPath,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<(StatusCode, Json<Member>)> {
    let member = service::add_member(&ctx, &auth.links, &tenant, new).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleChange {
    role: Role,
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "members",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("user" = Uuid, Path, description = "The member's user id"),
    ),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The member with the new role", body = Member),
        (status = 409, description = "The last owner keeps the owner role, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn change_role(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    MemberPath(user): MemberPath,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<Member>> {
    Ok(Json(
        service::change_role(&ctx, &tenant, user, change.role).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}", tag = "members",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("user" = Uuid, Path, description = "The member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "The last owner stays, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn remove_member(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    MemberPath(user): MemberPath,
) -> Result<StatusCode> {
    service::remove_member(&ctx, &tenant, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
