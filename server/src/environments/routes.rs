//! `/api/v1/tenants/{tenant}/environments…`: the tenant's environments, their engines and
//! approval policies.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    routing::{get, put},
};

use super::{Environment, EnvironmentUpdate, service};
use crate::{
    context::Ctx,
    error::{ApiJson, ErrorBody, Result},
    extract::{EnvironmentPath, TenantPath},
    pipeline::Pipeline,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/tenants/{tenant}/environments",
            get(list_environments),
        )
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}",
            put(update_environment),
        )
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments", tag = "environments",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Environments in promotion order", body = Vec<Environment>)))]
pub(crate) async fn list_environments(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Vec<Environment>>> {
    Ok(Json(service::list(&ctx, &pipeline, &tenant).await?))
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/environments/{environment}", tag = "environments",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("environment" = String, Path, description = "The environment's name"),
    ),
    request_body = EnvironmentUpdate,
    responses(
        (status = 200, description = "The updated environment", body = Environment),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn update_environment(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    EnvironmentPath(environment): EnvironmentPath,
    ApiJson(update): ApiJson<EnvironmentUpdate>,
) -> Result<Json<Environment>> {
    Ok(Json(
        service::update(&ctx, &tenant, &environment, update).await?,
    ))
}
