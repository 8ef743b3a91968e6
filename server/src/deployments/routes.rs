//! `/api/v1/deployments…`: requesting, approving, rejecting and rolling back deployments.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Approval, Deployment, NewApproval, NewDeployment, State as DeploymentState, service};
use crate::{
    context::Ctx,
    error::{ApiJson, ApiQuery, ErrorBody, Result},
    extract::DeploymentPath,
    pipeline::Pipeline,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/deployments",
            get(list_deployments).post(request_deployment),
        )
        .route("/api/v1/deployments/{deployment}", get(get_deployment))
        .route(
            "/api/v1/deployments/{deployment}/status",
            get(deployment_status),
        )
        .route(
            "/api/v1/deployments/{deployment}/approvals",
            get(list_approvals).post(approve_deployment),
        )
        .route(
            "/api/v1/deployments/{deployment}/rollback",
            post(rollback_deployment),
        )
        .route(
            "/api/v1/deployments/{deployment}/reject",
            post(reject_deployment),
        )
}

/// `?tenant=&workflow_id=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeploymentFilter {
    pub(crate) tenant: Option<String>,
    pub(crate) workflow_id: Option<Uuid>,
}

/// Where a deployment is.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentStatus {
    state: DeploymentState,
    approvals_missing: i32,
    error: Option<String>,
    process_definition_key: Option<i64>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments",
    params(
        ("tenant" = Option<String>, Query, pattern = r"^[A-Za-z0-9._-]{1,31}$", description = "The tenant (default: the API token's, or your only tenant)"),
        ("workflow_id" = Option<Uuid>, Query, description = "Only this workflow's deployments"),
    ),
    responses(
        (status = 200, description = "Deployments, newest first", body = Vec<Deployment>),
        (status = 404, description = "No such tenant, or the caller is not a member of it", body = ErrorBody),
        (status = 422, description = "The tenant must be named", body = ErrorBody),
    ))]
pub(crate) async fn list_deployments(
    ctx: Ctx,
    ApiQuery(filter): ApiQuery<DeploymentFilter>,
) -> Result<Json<Vec<Deployment>>> {
    let found = service::list(&ctx, filter.tenant.as_deref(), filter.workflow_id).await?;
    Ok(Json(found))
}

#[utoipa::path(post, path = "/api/v1/deployments", tag = "deployments",
    request_body = NewDeployment,
    responses(
        (status = 202, description = "Requested; it is validated, approved as its environment requires, and deployed (follow `…/status`)", body = Deployment),
        (status = 404, description = "No such workflow, version or environment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn request_deployment(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    ApiJson(new): ApiJson<NewDeployment>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let deployment = service::request(&ctx, &pipeline, new).await?;
    Ok((StatusCode::ACCEPTED, Json(deployment)))
}

#[utoipa::path(get, path = "/api/v1/deployments/{deployment}", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "The deployment with its diagnostics and approvals", body = Deployment),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn get_deployment(
    ctx: Ctx,
    DeploymentPath(id): DeploymentPath,
) -> Result<Json<Deployment>> {
    Ok(Json(service::get(&ctx, id).await?))
}

#[utoipa::path(get, path = "/api/v1/deployments/{deployment}/status", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "Its state", body = DeploymentStatus),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn deployment_status(
    ctx: Ctx,
    DeploymentPath(id): DeploymentPath,
) -> Result<Json<DeploymentStatus>> {
    let found = service::get(&ctx, id).await?;
    Ok(Json(DeploymentStatus {
        state: found.state,
        approvals_missing: found.approvals_missing,
        error: found.error,
        process_definition_key: found.process_definition_key,
        updated_at: found.updated_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/deployments/{deployment}/approvals", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "Its approvals", body = Vec<Approval>),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_approvals(
    ctx: Ctx,
    DeploymentPath(id): DeploymentPath,
) -> Result<Json<Vec<Approval>>> {
    Ok(Json(service::approvals(&ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/deployments/{deployment}/approvals", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    request_body = NewApproval,
    responses(
        (status = 201, description = "Approved; with enough approvals it deploys", body = Deployment),
        (status = 422, description = "The comment is too long or contains NUL characters", body = ErrorBody),
        (status = 403, description = "Not an approver here: the requester, an approver already, a role the environment does not count, or not awaiting approval", body = ErrorBody),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn approve_deployment(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    DeploymentPath(id): DeploymentPath,
    ApiJson(approval): ApiJson<NewApproval>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let approved = service::approve(&ctx, &pipeline, id, approval).await?;
    Ok((StatusCode::CREATED, Json(approved)))
}

#[utoipa::path(post, path = "/api/v1/deployments/{deployment}/reject", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    request_body = NewApproval,
    responses(
        (status = 200, description = "Rejected (by an approver) or withdrawn (by its requester); it ends as failed and can never be approved", body = Deployment),
        (status = 403, description = "Neither its requester nor an approver of its environment, or an API token", body = ErrorBody),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "It is not awaiting approval, or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "The comment is too long or contains NUL characters", body = ErrorBody),
    ))]
pub(crate) async fn reject_deployment(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    DeploymentPath(id): DeploymentPath,
    ApiJson(reason): ApiJson<NewApproval>,
) -> Result<Json<Deployment>> {
    Ok(Json(service::reject(&ctx, &pipeline, id, reason).await?))
}

#[utoipa::path(post, path = "/api/v1/deployments/{deployment}/rollback", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The active deployment to replace")),
    responses(
        (status = 202, description = "A deployment of the previous version, replacing this one once deployed; running instances keep their version", body = Deployment),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "It is not the active deployment, no earlier version was deployed there, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn rollback_deployment(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    DeploymentPath(id): DeploymentPath,
) -> Result<(StatusCode, Json<Deployment>)> {
    let rollback = service::roll_back(&ctx, &pipeline, id).await?;
    Ok((StatusCode::ACCEPTED, Json(rollback)))
}
