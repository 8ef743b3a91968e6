//! Signing in and out, the current user, tenants and their members — server functions over
//! the server's [`ControlPlane`](crate::api::ssr::ControlPlane).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeView {
    pub label: String,
    pub platform_admin: bool,
    pub must_change_password: bool,
    /// (tenant id, role) pairs.
    pub memberships: Vec<(String, String)>,
}

/// A tenant as the tenants page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub status: String,
    pub plan: String,
    /// The caller's role in it (none for a platform admin who is not a member).
    pub role: Option<String>,
    /// Whether the caller may change its members and configuration.
    pub can_manage: bool,
    /// Whether the caller may read and verify its audit trail.
    pub can_audit: bool,
    pub max_users: i32,
    pub max_workflows: i32,
    pub aws_account_id: Option<String>,
    pub aws_region: Option<String>,
    pub vpc_ids: Vec<String>,
    pub iam_role_arns: Vec<String>,
}

/// The outcome of verifying a tenant's audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheck {
    pub ok: bool,
    pub events_checked: u64,
    /// The first broken event's sequence number and why, if any.
    pub first_broken: Option<(i64, String)>,
}

/// One audit event as the audit list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}

/// A tenant's editable configuration, as the form sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigForm {
    pub name: String,
    pub status: String,
    pub plan: String,
    pub max_users: i32,
    pub max_workflows: i32,
    pub aws_account_id: String,
    pub aws_region: String,
    /// Comma- or space-separated.
    pub vpc_ids: String,
    /// Comma- or space-separated.
    pub iam_role_arns: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// Sets the failed server function's HTTP status from its error, so refusals are not 500s.
#[cfg(feature = "ssr")]
pub(crate) fn with_status<T>(
    response: Option<leptos_axum::ResponseOptions>,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    if let Err(error) = &result
        && let Some(response) = response
        && let Ok(status) = http::StatusCode::from_u16(error.status())
    {
        response.set_status(status);
    }
    result
}

/// What a server function needs: the control plane, the request, and where to set the status.
#[cfg(feature = "ssr")]
pub(crate) type Backend = (
    std::sync::Arc<dyn crate::api::ssr::ControlPlane>,
    http::request::Parts,
    Option<leptos_axum::ResponseOptions>,
);

#[cfg(feature = "ssr")]
pub(crate) fn backend() -> Result<Backend, AppError> {
    let context = use_context::<crate::api::ssr::ServerContext>().ok_or(AppError::Internal)?;
    let parts = use_context::<http::request::Parts>().ok_or(AppError::Internal)?;
    // Taken now, before any await, while the server function's context is current.
    let response = use_context::<leptos_axum::ResponseOptions>();
    Ok((context.control, parts, response))
}

#[server(prefix = "/api/fn", endpoint = "me")]
pub async fn current_user() -> Result<Option<MeView>, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.me(parts).await)
}

/// The single sign-on provider's name, when the server has one configured.
#[server(prefix = "/api/fn", endpoint = "sso")]
pub async fn sso_provider() -> Result<Option<String>, AppError> {
    let context = use_context::<crate::api::ssr::ServerContext>().ok_or(AppError::Internal)?;
    Ok(context.sso_label)
}

#[server(prefix = "/api/fn", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<MeView, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.sign_in(parts, email, password).await)
}

#[server(prefix = "/api/fn", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.sign_out(parts).await)
}

#[server(prefix = "/api/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control
            .change_password(parts, current_password, new_password)
            .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "tenants")]
pub async fn list_tenants() -> Result<Vec<TenantView>, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.tenants(parts).await)
}

#[server(prefix = "/api/fn", endpoint = "create_tenant")]
pub async fn create_tenant(id: String, name: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.create_tenant(parts, id, name).await)
}

#[server(prefix = "/api/fn", endpoint = "update_tenant_config")]
pub async fn update_tenant_config(tenant: String, config: ConfigForm) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.update_config(parts, tenant, config).await)
}

#[server(prefix = "/api/fn", endpoint = "verify_audit")]
pub async fn verify_audit(tenant: String) -> Result<AuditCheck, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.verify_audit(parts, tenant).await)
}

#[server(prefix = "/api/fn", endpoint = "audit_events")]
pub async fn recent_audit_events(tenant: String) -> Result<Vec<AuditRow>, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.audit_events(parts, tenant).await)
}

#[server(prefix = "/api/fn", endpoint = "members")]
pub async fn list_members(tenant: String) -> Result<Vec<MemberView>, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.members(parts, tenant).await)
}

#[server(prefix = "/api/fn", endpoint = "add_member")]
pub async fn add_member(
    tenant: String,
    email: String,
    role: String,
    password: String,
) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    let password = Some(password).filter(|p| !p.is_empty());
    with_status(
        response,
        control
            .add_member(parts, tenant, email, role, password)
            .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "change_role")]
pub async fn change_role(tenant: String, user_id: String, role: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control.change_role(parts, tenant, user_id, role).await,
    )
}

#[server(prefix = "/api/fn", endpoint = "remove_member")]
pub async fn remove_member(tenant: String, user_id: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control.remove_member(parts, tenant, user_id).await,
    )
}
