//! `/api/v1/workflows/{workflow}/executions`: starting a workflow and listing its executions.

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};

use super::{Execution, NewExecution, service};
use crate::{
    context::Ctx,
    error::{ApiJson, ErrorBody, Result},
    extract::WorkflowPath,
    pipeline::Pipeline,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/workflows/{workflow}/executions",
        get(list_executions).post(start_execution),
    )
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}/executions", tag = "executions",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "Instances started through the control plane, newest first", body = Vec<Execution>),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_executions(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
) -> Result<Json<Vec<Execution>>> {
    Ok(Json(service::list(&ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/workflows/{workflow}/executions", tag = "executions",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    request_body = NewExecution,
    responses(
        (status = 201, description = "Started on the environment's active deployment", body = Execution),
        (status = 404, description = "No such workflow or environment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "The workflow is not deployed to that environment, or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "The variables break the workflow's declared schema or cannot be stored (NUL characters, over 1 MiB), or the engine refused the instance", body = ErrorBody),
        (status = 503, description = "The engine cannot be reached", body = ErrorBody),
    ))]
pub(crate) async fn start_execution(
    ctx: Ctx,
    State(pipeline): State<Arc<Pipeline>>,
    WorkflowPath(id): WorkflowPath,
    ApiJson(new): ApiJson<NewExecution>,
) -> Result<(StatusCode, Json<Execution>)> {
    let execution = service::start(&ctx, &pipeline, id, new).await?;
    Ok((StatusCode::CREATED, Json(execution)))
}
