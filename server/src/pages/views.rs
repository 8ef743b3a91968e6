//! The control plane's answers as the pages' views, and the pages' forms as commands.

use app::api::{
    access::{ConfigForm, EngineClientView, MeView, PlaneView},
    workflows::{EnvironmentRow, WorkflowRow},
};

use crate::{
    auth::Me,
    domain::Role,
    engine_access,
    environments::{EngineSettings, Environment},
    error::ApiError,
    tenants::{Plan, Quotas, TenantConfig, TenantStatus, cloud::CloudConfig},
    workflows,
};

pub(super) fn me_view(me: Me) -> MeView {
    MeView {
        label: me.label,
        platform_admin: me.platform_admin,
        must_change_password: me.must_change_password,
        memberships: me
            .memberships
            .into_iter()
            .map(|m| (m.tenant_id, m.role.as_str().to_owned()))
            .collect(),
    }
}

pub(super) fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse()
        .map_err(|error: crate::domain::UnknownRole| ApiError::BadRequest(error.to_string()))
}

/// The form's flat fields as the domain's configuration; lists are comma- or space-separated.
pub(super) fn config_from_form(form: ConfigForm) -> Result<TenantConfig, ApiError> {
    let status = match form.status.as_str() {
        "active" => TenantStatus::Active,
        "suspended" => TenantStatus::Suspended,
        other => return Err(ApiError::BadRequest(format!("unknown status {other:?}"))),
    };
    let plan = match form.plan.as_str() {
        "free" => Plan::Free,
        "standard" => Plan::Standard,
        "enterprise" => Plan::Enterprise,
        other => return Err(ApiError::BadRequest(format!("unknown plan {other:?}"))),
    };
    let optional = |value: String| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    let list = |value: &str| {
        value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(TenantConfig {
        name: form.name.trim().to_owned(),
        status,
        plan,
        quotas: Quotas {
            max_users: form.max_users,
            max_workflows: form.max_workflows,
        },
        cloud: CloudConfig {
            aws_account_id: optional(form.aws_account_id),
            aws_region: optional(form.aws_region),
            vpc_ids: list(&form.vpc_ids),
            iam_role_arns: list(&form.iam_role_arns),
        },
    })
}

pub(super) fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(super) fn workflow_row(workflow: workflows::Workflow) -> WorkflowRow {
    WorkflowRow {
        id: workflow.id.to_string(),
        tenant_id: workflow.tenant_id,
        key: workflow.key,
        name: workflow.name,
        description: workflow.description,
        latest_version: workflow.latest_version,
        updated_at: timestamp(workflow.updated_at),
    }
}

pub(super) fn engine_client_view(row: engine_access::store::ClientRow) -> EngineClientView {
    EngineClientView {
        client_id: row.client_id,
        name: row.name,
        permissions: row.permissions,
        created_by: row.created_by,
        created_at: timestamp(row.created_at),
        last_used_at: row.last_used_at.map(timestamp),
    }
}

pub(super) fn plane_view(plane: crate::planes::store::PlaneRow) -> PlaneView {
    PlaneView {
        live: crate::planes::is_live(&plane.state, plane.silent_secs),
        name: plane.name,
        client_id: plane.client_id,
        version: plane.version,
        job_types: plane.job_types,
        capacity: plane.capacity,
        in_flight: plane.in_flight,
        state: plane.state,
        last_heartbeat_at: timestamp(plane.last_heartbeat_at),
    }
}

pub(super) fn environment_row(environment: Environment) -> EnvironmentRow {
    EnvironmentRow {
        name: environment.name,
        approvals_required: environment.approvals_required,
        approver_roles: environment
            .approver_roles
            .iter()
            .map(|role| role.as_str().to_owned())
            .collect(),
        require_owner_approval: environment.require_owner_approval,
        engine: match environment.engine {
            EngineSettings::Embedded => "embedded".to_owned(),
            EngineSettings::External { address, .. } => address,
        },
    }
}

/// Validation findings as lines for the page.
pub(super) fn diagnostic_lines(diagnostics: &serde_json::Value) -> Vec<String> {
    diagnostics
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
                    let element = text("element_id");
                    format!(
                        "{} {}{}: {}",
                        text("severity"),
                        text("code"),
                        if element.is_empty() {
                            String::new()
                        } else {
                            format!(" at {element}")
                        },
                        text("message")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
