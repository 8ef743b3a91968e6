//! `/api/v1/workflows…` (workflows and their versions) and `/api/v1/tenants/{tenant}/job-types`.

use axum::{
    Json, Router,
    extract::Path,
    http::StatusCode,
    routing::{delete, get},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    JobType, NewVersion, NewWorkflow, Version, VersionSummary, Workflow, WorkflowUpdate, service,
};
use crate::{
    context::Ctx,
    error::{ApiError, ApiJson, ApiQuery, ErrorBody, Result},
    extract::{TenantPath, WorkflowPath},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/workflows",
            get(list_workflows).post(create_workflow),
        )
        .route(
            "/api/v1/workflows/{workflow}",
            get(get_workflow)
                .put(update_workflow)
                .delete(delete_workflow),
        )
        .route(
            "/api/v1/workflows/{workflow}/versions",
            get(list_versions).post(add_version),
        )
        .route(
            "/api/v1/workflows/{workflow}/versions/{version}",
            get(get_version),
        )
        .route(
            "/api/v1/tenants/{tenant}/job-types",
            get(list_job_types).post(add_job_type),
        )
        .route(
            "/api/v1/tenants/{tenant}/job-types/{job_type}",
            delete(remove_job_type),
        )
}

/// `?tenant=`: which tenant to list, when the caller has several.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantFilter {
    pub(crate) tenant: Option<String>,
}

/// A workflow with its first version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWorkflow {
    pub workflow: Workflow,
    pub version: VersionSummary,
}

#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    params(("tenant" = Option<String>, Query, pattern = r"^[A-Za-z0-9._-]{1,31}$", description = "The tenant (default: the API token's, or your only tenant)")),
    responses(
        (status = 200, description = "The tenant's workflows", body = Vec<Workflow>),
        (status = 404, description = "No such tenant, or the caller is not a member of it", body = ErrorBody),
        (status = 422, description = "The tenant must be named", body = ErrorBody),
    ))]
pub(crate) async fn list_workflows(
    ctx: Ctx,
    ApiQuery(filter): ApiQuery<TenantFilter>,
) -> Result<Json<Vec<Workflow>>> {
    Ok(Json(service::list(&ctx, filter.tenant.as_deref()).await?))
}

#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows",
    request_body = NewWorkflow,
    responses(
        (status = 201, description = "Created from the document's executable process, as version 1", body = CreatedWorkflow),
        (status = 404, description = "No such tenant, or the caller is not a member of it", body = ErrorBody),
        (status = 409, description = "The process has a workflow already, the workflow quota is used up (`quota_exceeded`), or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "The BPMN cannot be read or has not exactly one executable process (`element_id` names the element), or a field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn create_workflow(
    ctx: Ctx,
    ApiJson(new): ApiJson<NewWorkflow>,
) -> Result<(StatusCode, Json<CreatedWorkflow>)> {
    let (workflow, version) = service::create(&ctx, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWorkflow { workflow, version }),
    ))
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "The workflow", body = Workflow),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn get_workflow(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
) -> Result<Json<Workflow>> {
    Ok(Json(service::get(&ctx, id).await?))
}

#[utoipa::path(put, path = "/api/v1/workflows/{workflow}", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    request_body = WorkflowUpdate,
    responses(
        (status = 200, description = "The updated workflow", body = Workflow),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the variables schema uses what is not supported", body = ErrorBody),
    ))]
pub(crate) async fn update_workflow(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
    ApiJson(update): ApiJson<WorkflowUpdate>,
) -> Result<Json<Workflow>> {
    Ok(Json(service::update(&ctx, id, update).await?))
}

#[utoipa::path(delete, path = "/api/v1/workflows/{workflow}", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 204, description = "Deleted with its versions"),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
        (status = 409, description = "It has deployments, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn delete_workflow(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
) -> Result<StatusCode> {
    service::delete(&ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}/versions", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "Versions, newest first, with author, message and time", body = Vec<VersionSummary>),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_versions(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
) -> Result<Json<Vec<VersionSummary>>> {
    Ok(Json(service::versions(&ctx, id).await?))
}

#[utoipa::path(post, path = "/api/v1/workflows/{workflow}/versions", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    request_body = NewVersion,
    responses(
        (status = 201, description = "A new version", body = VersionSummary),
        (status = 200, description = "Identical to the latest version, which is returned", body = VersionSummary),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "The BPMN cannot be read, or is another process (`element_id` names it)", body = ErrorBody),
    ))]
pub(crate) async fn add_version(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
    ApiJson(new): ApiJson<NewVersion>,
) -> Result<(StatusCode, Json<VersionSummary>)> {
    let (version, created) = service::add_version(&ctx, id, new).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(version)))
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}/versions/{version}", tag = "workflows",
    params(
        ("workflow" = Uuid, Path, description = "The workflow's id"),
        ("version" = i32, Path, minimum = 1, description = "The version number"),
    ),
    responses(
        (status = 200, description = "The version with its BPMN XML", body = Version),
        (status = 404, description = "No such workflow or version in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn get_version(
    ctx: Ctx,
    WorkflowPath(id): WorkflowPath,
    Path((_, version)): Path<(String, String)>,
) -> Result<Json<Version>> {
    let number: i32 = version.parse().map_err(|_| ApiError::NotFound("version"))?;
    Ok(Json(service::version(&ctx, id, number).await?))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/job-types", tag = "environments",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Job types the tenant's own workers serve (connectors need no declaration)", body = Vec<JobType>)))]
pub(crate) async fn list_job_types(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Vec<JobType>>> {
    Ok(Json(service::job_types(&ctx, &tenant).await?))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/job-types", tag = "environments",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = JobType,
    responses(
        (status = 201, description = "Declared", body = JobType),
        (status = 409, description = "Declared already, or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub(crate) async fn add_job_type(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiJson(job_type): ApiJson<JobType>,
) -> Result<(StatusCode, Json<JobType>)> {
    let added = service::add_job_type(&ctx, &tenant, job_type).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/job-types/{job_type}", tag = "environments",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("job_type" = String, Path, description = "The job type"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn remove_job_type(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    Path((_, job_type)): Path<(String, String)>,
) -> Result<StatusCode> {
    service::remove_job_type(&ctx, &tenant, &job_type).await?;
    Ok(StatusCode::NO_CONTENT)
}
