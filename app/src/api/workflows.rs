//! Workflows, versions and deployments as the pages show them — server functions over the
//! server's [`ControlPlane`](crate::api::ssr::ControlPlane). BPMN files are uploaded by plain
//! HTML forms to the server (`/tenants/{tenant}/workflows/import`,
//! `/workflows/{id}/versions/import`), which works before the page has hydrated too.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRow {
    pub id: String,
    pub tenant_id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    pub latest_version: i32,
    pub updated_at: String,
}

/// A tenant's workflows and whether the caller may import more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowList {
    pub workflows: Vec<WorkflowRow>,
    pub can_edit: bool,
    /// Whether the caller may change the environments' approval policies.
    pub can_manage_environments: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i32,
    pub author: String,
    pub message: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub id: String,
    pub version: i32,
    pub environment: String,
    pub state: String,
    pub approvals_missing: i32,
    pub approvers: Vec<String>,
    pub requested_by: String,
    pub error: Option<String>,
    /// Validation findings, one line each (`error CODE element: message`).
    pub diagnostics: Vec<String>,
    pub rollback_of: Option<String>,
    pub created_at: String,
    /// The newest deployed one in its environment: what new instances start on.
    pub active: bool,
    /// Whether the caller's approval would count (it may still be refused with a reason).
    pub can_approve: bool,
    pub can_roll_back: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentRow {
    pub name: String,
    pub approvals_required: i32,
    pub approver_roles: Vec<String>,
    pub require_owner_approval: bool,
    /// `embedded`, or the external gateway's address.
    pub engine: String,
}

/// Everything the workflow page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowView {
    pub workflow: WorkflowRow,
    pub versions: Vec<VersionRow>,
    pub deployments: Vec<DeploymentRow>,
    pub environments: Vec<EnvironmentRow>,
    pub can_edit: bool,
}

#[cfg(feature = "ssr")]
use super::access::{backend, with_status};

#[server(prefix = "/api/fn", endpoint = "tenant_workflows")]
pub async fn tenant_workflows(tenant: String) -> Result<WorkflowList, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.tenant_workflows(parts, tenant).await)
}

#[server(prefix = "/api/fn", endpoint = "environments")]
pub async fn tenant_environments(tenant: String) -> Result<Vec<EnvironmentRow>, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.environments(parts, tenant).await)
}

/// Changes an environment's approval policy (its engine stays as it is).
#[server(prefix = "/api/fn", endpoint = "environment_policy")]
pub async fn update_environment_policy(
    tenant: String,
    environment: String,
    approvals_required: i32,
    // Unticked boxes are not sent: none ticked means no field at all.
    approver_roles: Option<Vec<String>>,
    require_owner_approval: Option<String>,
) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control
            .update_environment_policy(
                parts,
                tenant,
                environment,
                approvals_required,
                approver_roles.unwrap_or_default(),
                require_owner_approval.is_some(),
            )
            .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "workflow")]
pub async fn workflow_detail(id: String) -> Result<WorkflowView, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.workflow(parts, id).await)
}

#[server(prefix = "/api/fn", endpoint = "deploy")]
pub async fn deploy_version(
    workflow: String,
    version: i32,
    environment: String,
) -> Result<String, AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control.deploy(parts, workflow, version, environment).await,
    )
}

#[server(prefix = "/api/fn", endpoint = "approve")]
pub async fn approve_deployment(deployment: String, comment: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.approve(parts, deployment, comment).await)
}

/// Rejects (an approver) or withdraws (its requester) a deployment awaiting approval.
#[server(prefix = "/api/fn", endpoint = "reject")]
pub async fn reject_deployment(deployment: String, comment: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.reject(parts, deployment, comment).await)
}

#[server(prefix = "/api/fn", endpoint = "rollback")]
pub async fn roll_back(deployment: String) -> Result<String, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.roll_back(parts, deployment).await)
}
