//! The REST API of workflows, versions, environments, job types, deployments and executions
//! (seed 000 §12, ASTRAStudio and ASTRADeploy).
//!
//! Workflows and deployments are addressed by their own id, without the tenant in the path:
//! the handler looks the tenant up across tenants first, authorises the caller for it (a
//! tenant the caller is not in answers "not found", exactly like an id that does not exist),
//! and only then opens the tenant transaction.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post, put},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{
        Principal, RequestMeta,
        policy::{Action, Denied, Resource, authorize},
    },
    db,
    domain::{
        FieldError, Role, TenantId,
        deployments::{
            self, Deployment, Environment, EnvironmentUpdate, Execution, NewApproval,
            NewDeployment, NewExecution, State as DeploymentState,
        },
        workflows::{
            self, JobType, NewVersion, NewWorkflow, Version, VersionSummary, Workflow,
            WorkflowUpdate,
        },
    },
    error::{ApiError, ApiJson, ApiQuery, ErrorBody, Result},
    pipeline::{self, Pipeline},
    startup::AppState,
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
            "/api/v1/workflows/{workflow}/executions",
            get(list_executions).post(start_execution),
        )
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
        .route(
            "/api/v1/tenants/{tenant}/environments",
            get(list_environments),
        )
        .route(
            "/api/v1/tenants/{tenant}/environments/{environment}",
            put(update_environment),
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

/// The tenant a new resource goes to: the one named, else the API token's, else the caller's
/// only tenant.
fn chosen_tenant(principal: &Principal, named: Option<&str>) -> Result<TenantId> {
    let named = match named {
        Some(named) => Some(named.to_owned()),
        None => match (&principal.token_tenant, principal.memberships.len()) {
            (Some((tenant, _)), _) => Some(tenant.as_str().to_owned()),
            (None, 1) => principal.memberships.keys().next().cloned(),
            _ => None,
        },
    };
    let named = named.ok_or_else(|| {
        ApiError::Invalid(FieldError::new(
            "tenant",
            "name the tenant (you belong to more than one, or to none)",
        ))
    })?;
    TenantId::new(&named).map_err(|_| ApiError::NotFound("tenant"))
}

/// A denial about a resource found by its own id: not being a member hides it entirely.
fn hide_as(what: &'static str) -> impl Fn(Denied) -> ApiError {
    move |denied| match denied {
        Denied::NotAMember => ApiError::NotFound(what),
        other => other.into(),
    }
}

async fn workflow_tenant(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> Result<TenantId> {
    let mut tx = db::begin_platform(pool).await?;
    let tenant = workflows::tenant_of(&mut tx, id).await?;
    tx.commit().await?;
    let tenant = tenant.ok_or(ApiError::NotFound("workflow"))?;
    authorize(principal, Action::ReadWorkflows, Resource::Tenant(&tenant))
        .map_err(hide_as("workflow"))?;
    authorize(principal, action, Resource::Tenant(&tenant))?;
    Ok(tenant)
}

async fn deployment_tenant(
    pool: &PgPool,
    principal: &Principal,
    id: Uuid,
    action: Action,
) -> Result<TenantId> {
    let mut tx = db::begin_platform(pool).await?;
    let tenant = deployments::tenant_of(&mut tx, id).await?;
    tx.commit().await?;
    let tenant = tenant.ok_or(ApiError::NotFound("deployment"))?;
    authorize(principal, Action::ReadWorkflows, Resource::Tenant(&tenant))
        .map_err(hide_as("deployment"))?;
    authorize(principal, action, Resource::Tenant(&tenant))?;
    Ok(tenant)
}

fn path_tenant(raw: &str) -> Result<TenantId> {
    TenantId::new(raw).map_err(|_| ApiError::NotFound("tenant"))
}

fn path_uuid(raw: &str, what: &'static str) -> Result<Uuid> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantFilter {
    pub(crate) tenant: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    params(("tenant" = Option<String>, Query, pattern = r"^[A-Za-z0-9._-]{1,31}$", description = "The tenant (default: the API token's, or your only tenant)")),
    responses(
        (status = 200, description = "The tenant's workflows", body = Vec<Workflow>),
        (status = 404, description = "No such tenant, or the caller is not a member of it", body = ErrorBody),
        (status = 422, description = "The tenant must be named", body = ErrorBody),
    ))]
pub(crate) async fn list_workflows(
    State(pool): State<PgPool>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<TenantFilter>,
) -> Result<Json<Vec<Workflow>>> {
    let tenant = chosen_tenant(&principal, filter.tenant.as_deref())?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = workflows::list(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(found))
}

/// A workflow with its first version.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWorkflow {
    pub workflow: Workflow,
    pub version: VersionSummary,
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(new): ApiJson<NewWorkflow>,
) -> Result<(StatusCode, Json<CreatedWorkflow>)> {
    let tenant = chosen_tenant(&principal, new.tenant_id.as_deref())?;
    authorize(&principal, Action::EditWorkflows, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let (workflow, version) =
        workflows::create(&mut tx, &tenant, new, &meta.actor(&principal)).await?;
    tx.commit().await?;
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path(workflow): Path<String>,
) -> Result<Json<Workflow>> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::ReadWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = workflows::get(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(Json(found))
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(workflow): Path<String>,
    ApiJson(update): ApiJson<WorkflowUpdate>,
) -> Result<Json<Workflow>> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::EditWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let updated = workflows::update(&mut tx, &tenant, id, update, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok(Json(updated))
}

#[utoipa::path(delete, path = "/api/v1/workflows/{workflow}", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 204, description = "Deleted with its versions"),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
        (status = 409, description = "It has deployments, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn delete_workflow(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(workflow): Path<String>,
) -> Result<StatusCode> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::EditWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    workflows::delete(&mut tx, &tenant, id, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}/versions", tag = "workflows",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "Versions, newest first, with author, message and time", body = Vec<VersionSummary>),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_versions(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(workflow): Path<String>,
) -> Result<Json<Vec<VersionSummary>>> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::ReadWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = workflows::versions(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(Json(found))
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(workflow): Path<String>,
    ApiJson(new): ApiJson<NewVersion>,
) -> Result<(StatusCode, Json<VersionSummary>)> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::EditWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let (version, created) =
        workflows::add_version(&mut tx, &tenant, id, new, &meta.actor(&principal)).await?;
    tx.commit().await?;
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
    State(pool): State<PgPool>,
    principal: Principal,
    Path((workflow, version)): Path<(String, String)>,
) -> Result<Json<Version>> {
    let id = path_uuid(&workflow, "workflow")?;
    let number: i32 = version.parse().map_err(|_| ApiError::NotFound("version"))?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::ReadWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = workflows::version(&mut tx, &tenant, id, number).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[utoipa::path(get, path = "/api/v1/workflows/{workflow}/executions", tag = "executions",
    params(("workflow" = Uuid, Path, description = "The workflow's id")),
    responses(
        (status = 200, description = "Instances started through the control plane, newest first", body = Vec<Execution>),
        (status = 404, description = "No such workflow in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_executions(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(workflow): Path<String>,
) -> Result<Json<Vec<Execution>>> {
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(&pool, &principal, id, Action::ReadWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = deployments::executions(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(Json(found))
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path(workflow): Path<String>,
    ApiJson(new): ApiJson<NewExecution>,
) -> Result<(StatusCode, Json<Execution>)> {
    let pool = &pool;
    let id = path_uuid(&workflow, "workflow")?;
    let tenant = workflow_tenant(pool, &principal, id, Action::StartExecution).await?;
    deployments::validate_variables(&new.variables)?;
    let mut tx = db::begin_tenant(pool, &tenant, principal.user_id).await?;
    crate::domain::tenants::lock_active(&mut tx, &tenant).await?;
    let declared = workflows::get(&mut tx, &tenant, id).await?.variables_schema;
    if let Some(schema) = &declared {
        crate::domain::variables::check(schema, &serde_json::Value::Object(new.variables.clone()))
            .map_err(|message| ApiError::Invalid(FieldError::new("variables", message)))?;
    }
    let environment = deployments::environment(&mut tx, &tenant, &new.environment).await?;
    let active = deployments::active(&mut tx, &tenant, id, environment.id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "the workflow is not deployed to {}; deploy it first",
                environment.name
            ))
        })?;
    let secret = deployments::engine_secret(&mut tx, environment.id).await?;
    let reference = crate::monitor::operations::record(
        &mut tx,
        &tenant,
        &meta.actor(&principal),
        "execution.start",
    )
    .await?;
    tx.commit().await?;

    let client = pipeline
        .engines()
        .client(&pipeline::target(&environment, secret))
        .await?;
    let variables = serde_json::Value::Object(new.variables);
    let created = client
        .create_instance(
            &deployments::engine_tenant(&environment, &tenant),
            active.process_definition_key.unwrap_or_default(),
            &variables,
            Some(reference),
        )
        .await?;

    let recorded = async {
        let mut tx = db::begin_tenant(pool, &tenant, principal.user_id).await?;
        let execution = deployments::record_execution(
            &mut tx,
            &tenant,
            &active,
            environment.id,
            created.process_instance_key,
            variables,
            &meta.actor(&principal),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, ApiError>(execution)
    }
    .await;
    match recorded {
        Ok(execution) => Ok((StatusCode::CREATED, Json(execution))),
        Err(error) => {
            // Nothing runs that the control plane has no record of.
            if let Err(cancel) = client
                .cancel_instance(created.process_instance_key, Some(reference))
                .await
            {
                tracing::error!(
                    process_instance_key = created.process_instance_key,
                    %cancel,
                    "an instance was started but could not be recorded or cancelled"
                );
            }
            Err(error)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeploymentFilter {
    pub(crate) tenant: Option<String>,
    pub(crate) workflow_id: Option<Uuid>,
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
    State(pool): State<PgPool>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<DeploymentFilter>,
) -> Result<Json<Vec<Deployment>>> {
    let tenant = chosen_tenant(&principal, filter.tenant.as_deref())?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = deployments::list(&mut tx, &tenant, filter.workflow_id).await?;
    tx.commit().await?;
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(new): ApiJson<NewDeployment>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let tenant = workflow_tenant(
        &pool,
        &principal,
        new.workflow_id,
        Action::RequestDeployment,
    )
    .await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let deployment =
        deployments::request(&mut tx, &tenant, &new, None, &meta.actor(&principal)).await?;
    tx.commit().await?;
    pipeline.publish(&deployment);
    pipeline.spawn(tenant, deployment.id);
    Ok((StatusCode::ACCEPTED, Json(deployment)))
}

#[utoipa::path(get, path = "/api/v1/deployments/{deployment}", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "The deployment with its diagnostics and approvals", body = Deployment),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn get_deployment(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(deployment): Path<String>,
) -> Result<Json<Deployment>> {
    let id = path_uuid(&deployment, "deployment")?;
    let tenant = deployment_tenant(&pool, &principal, id, Action::ReadWorkflows).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = deployments::get(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(Json(found))
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

#[utoipa::path(get, path = "/api/v1/deployments/{deployment}/status", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The deployment's id")),
    responses(
        (status = 200, description = "Its state", body = DeploymentStatus),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn deployment_status(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(deployment): Path<String>,
) -> Result<Json<DeploymentStatus>> {
    let Json(found) = get_deployment(State(pool), principal, Path(deployment)).await?;
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
        (status = 200, description = "Its approvals", body = Vec<deployments::Approval>),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
    ))]
pub(crate) async fn list_approvals(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(deployment): Path<String>,
) -> Result<Json<Vec<deployments::Approval>>> {
    let Json(found) = get_deployment(State(pool), principal, Path(deployment)).await?;
    Ok(Json(found.approvals))
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path(deployment): Path<String>,
    ApiJson(approval): ApiJson<NewApproval>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let id = path_uuid(&deployment, "deployment")?;
    let tenant = deployment_tenant(&pool, &principal, id, Action::ApproveDeployment).await?;
    let approver = principal.user_id.ok_or_else(|| {
        ApiError::Forbidden("approvals are given by people, not API tokens".to_owned())
    })?;
    if principal.token_tenant.is_some() {
        return Err(ApiError::Forbidden(
            "approvals are given by signed-in people, not API tokens".to_owned(),
        ));
    }
    // A platform administrator outside the tenant approves with an owner's standing.
    let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let (approved, ready) = deployments::approve(
        &mut tx,
        &tenant,
        id,
        approver,
        role,
        approval,
        &meta.actor(&principal),
    )
    .await?;
    let approved = if ready {
        deployments::transition(
            &mut tx,
            &tenant,
            id,
            DeploymentState::Deploying,
            deployments::Outcome::default(),
            &meta.actor(&principal),
        )
        .await?
    } else {
        approved
    };
    tx.commit().await?;
    pipeline.publish(&approved);
    if ready {
        pipeline.spawn(tenant, id);
    }
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
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path(deployment): Path<String>,
    ApiJson(reason): ApiJson<NewApproval>,
) -> Result<Json<Deployment>> {
    let id = path_uuid(&deployment, "deployment")?;
    let tenant = deployment_tenant(&pool, &principal, id, Action::ApproveDeployment).await?;
    let (Some(user), None) = (principal.user_id, &principal.token_tenant) else {
        return Err(ApiError::Forbidden(
            "deployments are rejected by signed-in people, not API tokens".to_owned(),
        ));
    };
    let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let rejected = deployments::reject(
        &mut tx,
        &tenant,
        id,
        user,
        role,
        &reason.comment,
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    pipeline.publish(&rejected);
    Ok(Json(rejected))
}

#[utoipa::path(post, path = "/api/v1/deployments/{deployment}/rollback", tag = "deployments",
    params(("deployment" = Uuid, Path, description = "The active deployment to replace")),
    responses(
        (status = 202, description = "A deployment of the previous version, replacing this one once deployed; running instances keep their version", body = Deployment),
        (status = 404, description = "No such deployment in the caller's tenants", body = ErrorBody),
        (status = 409, description = "It is not the active deployment, no earlier version was deployed there, or the tenant is suspended", body = ErrorBody),
    ))]
pub(crate) async fn rollback_deployment(
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    meta: RequestMeta,
    Path(deployment): Path<String>,
) -> Result<(StatusCode, Json<Deployment>)> {
    let id = path_uuid(&deployment, "deployment")?;
    let tenant = deployment_tenant(&pool, &principal, id, Action::RollbackDeployment).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let current = deployments::get(&mut tx, &tenant, id).await?;
    let environment = deployments::environment(&mut tx, &tenant, &current.environment).await?;
    let active = deployments::active(&mut tx, &tenant, current.workflow_id, environment.id).await?;
    if current.state != DeploymentState::Deployed || active.map(|a| a.id) != Some(id) {
        return Err(ApiError::Conflict(format!(
            "only the active deployment of a workflow in an environment can be rolled back; \
             this one is {}",
            current.state.as_str()
        )));
    }
    let previous = deployments::rollback_target(&mut tx, &tenant, &current)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "no earlier version of {} was deployed to {}",
                current.workflow_key, current.environment
            ))
        })?;
    let rollback = deployments::request(
        &mut tx,
        &tenant,
        &NewDeployment {
            workflow_id: current.workflow_id,
            version: Some(previous),
            environment: current.environment.clone(),
        },
        Some(id),
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    pipeline.publish(&rollback);
    pipeline.spawn(tenant, rollback.id);
    Ok((StatusCode::ACCEPTED, Json(rollback)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/environments", tag = "environments",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Environments in promotion order", body = Vec<Environment>)))]
pub(crate) async fn list_environments(
    State(pool): State<PgPool>,
    State(pipeline): State<Arc<Pipeline>>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Environment>>> {
    let tenant = path_tenant(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let mut found = deployments::environments(&mut tx, &tenant).await?;
    tx.commit().await?;
    let running = pipeline.engines().embedded_addresses().await;
    for environment in &mut found {
        if environment.engine == deployments::EngineSettings::Embedded {
            environment.gateway_address = running.get(&environment.name).map(|a| a.to_string());
        }
    }
    Ok(Json(found))
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, environment)): Path<(String, String)>,
    ApiJson(update): ApiJson<EnvironmentUpdate>,
) -> Result<Json<Environment>> {
    let tenant = path_tenant(&tenant)?;
    authorize(
        &principal,
        Action::ManageEnvironments,
        Resource::Tenant(&tenant),
    )?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let updated = deployments::update_environment(
        &mut tx,
        &tenant,
        &environment,
        update,
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(updated))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/job-types", tag = "environments",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Job types the tenant's own workers serve (connectors need no declaration)", body = Vec<JobType>)))]
pub(crate) async fn list_job_types(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<JobType>>> {
    let tenant = path_tenant(&tenant)?;
    authorize(&principal, Action::ReadWorkflows, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = workflows::job_types(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(found))
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(tenant): Path<String>,
    ApiJson(job_type): ApiJson<JobType>,
) -> Result<(StatusCode, Json<JobType>)> {
    let tenant = path_tenant(&tenant)?;
    authorize(
        &principal,
        Action::ManageJobTypes,
        Resource::Tenant(&tenant),
    )?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let added =
        workflows::add_job_type(&mut tx, &tenant, job_type, &meta.actor(&principal)).await?;
    tx.commit().await?;
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
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, job_type)): Path<(String, String)>,
) -> Result<StatusCode> {
    let tenant = path_tenant(&tenant)?;
    authorize(
        &principal,
        Action::ManageJobTypes,
        Resource::Tenant(&tenant),
    )?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    workflows::remove_job_type(&mut tx, &tenant, &job_type, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
