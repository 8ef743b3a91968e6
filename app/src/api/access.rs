//! Signing in and out, the current user, tenants, their members and their engine clients —
//! server functions over the server's [`ControlPlane`](crate::api::ssr::ControlPlane).

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
    /// Whether the caller may change its status, plan and quotas (platform administrators).
    pub can_set_plan: bool,
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

/// What an engine client may be allowed to do, in the order the page offers them.
pub const ENGINE_PERMISSIONS: [&str; 4] = ["jobs", "instances", "messages", "deploy"];

/// An environment's engine as Zeebe clients reach it, and its engine clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEnvironmentView {
    pub name: String,
    /// Whether it is the server's own engine (plain gRPC on the loopback interface) rather
    /// than an external one.
    pub embedded: bool,
    /// Where clients reach the engine: `host:port`. `None` for an embedded engine that is not
    /// running yet (it starts when a client is created or a version is deployed).
    pub gateway_address: Option<String>,
    /// Where clients exchange their id and secret for access tokens.
    pub token_url: String,
    /// The audience their tokens are for.
    pub audience: String,
    /// The clients that are not revoked, oldest first; `None` when the caller may not see
    /// them (only owners manage engine clients).
    pub clients: Option<Vec<EngineClientView>>,
    /// The execution planes that reported for this environment, by name; every member sees
    /// them.
    pub planes: Vec<PlaneView>,
}

/// An execution plane (`astraflow-plane`) as it last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaneView {
    pub name: String,
    /// The engine client it authenticates as.
    pub client_id: String,
    pub version: String,
    pub job_types: Vec<String>,
    pub capacity: i32,
    pub in_flight: i32,
    /// Running and heard from within the last minute.
    pub live: bool,
    /// `running` or `stopped`.
    pub state: String,
    pub last_heartbeat_at: String,
}

/// An engine client, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineClientView {
    pub client_id: String,
    pub name: String,
    pub permissions: Vec<String>,
    /// The email of who created it (`None` once that account is gone).
    pub created_by: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub created_at: String,
    /// When it last got a token (updated at most once a minute), as `created_at`.
    pub last_used_at: Option<String>,
}

/// A tenant's environments as the tenant page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineAccessView {
    pub environments: Vec<EngineEnvironmentView>,
    /// Whether the caller may create and revoke engine clients.
    pub can_manage: bool,
}

/// A client just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedEngineClientView {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub environment: String,
    /// See [`EngineEnvironmentView::embedded`].
    pub embedded: bool,
    pub gateway_address: String,
    pub token_url: String,
    pub audience: String,
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

/// Sets an account's password with the secret of a one-time link; needs no session.
#[server(prefix = "/api/fn", endpoint = "set_password")]
pub async fn set_password(token: String, new_password: String) -> Result<(), AppError> {
    let (control, _, response) = backend()?;
    with_status(response, control.set_password(token, new_password).await)
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
pub async fn add_member(tenant: String, email: String, role: String) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control.add_member(parts, tenant, email, role).await,
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

/// The tenant's environments with their engines' connection details and, for owners, their
/// engine clients.
#[server(prefix = "/api/fn", endpoint = "engine_access")]
pub async fn engine_access(tenant: String) -> Result<EngineAccessView, AppError> {
    let (control, parts, response) = backend()?;
    with_status(response, control.engine_access(parts, tenant).await)
}

/// Creates an engine client; the answer holds its secret, which is never shown again.
#[server(prefix = "/api/fn", endpoint = "create_engine_client")]
pub async fn create_engine_client(
    tenant: String,
    environment: String,
    name: String,
    // Unticked boxes are not sent: none ticked means no field at all.
    permissions: Option<Vec<String>>,
) -> Result<CreatedEngineClientView, AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control
            .create_engine_client(
                parts,
                tenant,
                environment,
                name,
                permissions.unwrap_or_default(),
            )
            .await,
    )
}

#[server(prefix = "/api/fn", endpoint = "revoke_engine_client")]
pub async fn revoke_engine_client(
    tenant: String,
    environment: String,
    client_id: String,
) -> Result<(), AppError> {
    let (control, parts, response) = backend()?;
    with_status(
        response,
        control
            .revoke_engine_client(parts, tenant, environment, client_id)
            .await,
    )
}
