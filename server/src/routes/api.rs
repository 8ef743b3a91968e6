//! The REST API under `/api/v1` (seed 000 §12, ASTRATenants). Each handler is a thin adapter:
//! authenticate ([`Principal`]), [`authorize`], open the right transaction, call a domain
//! service, commit.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post, put},
};
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::{
        self, AuthState, Me, Principal, RequestMeta, login,
        policy::{Action, Denied, Resource, authorize, status_change},
        tokens,
    },
    db,
    domain::{
        Role, TenantId, audit,
        tenants::{self, NewMember, NewTenant, TenantConfig},
    },
    error::{ApiError, ApiJson, ApiQuery, ErrorBody, Result},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(sign_in))
        .route("/api/v1/auth/logout", post(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
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
        .route("/api/v1/tenants/{tenant}/tokens", post(create_token))
        .route("/api/v1/tenants/{tenant}/audit", get(list_audit))
        .route("/api/v1/tenants/{tenant}/audit/verify", get(verify_audit))
        .route("/api/v1/openapi.json", get(super::openapi::serve))
        .route("/api/v1/{*rest}", axum::routing::any(unknown_endpoint))
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::NotAMember => ApiError::NotFound("tenant"),
            other => ApiError::Forbidden(other.to_string()),
        }
    }
}

async fn unknown_endpoint() -> ApiError {
    ApiError::NotFound("endpoint")
}

/// A tenant id from the path; one that could never exist is simply not found.
fn tenant_id(raw: &str) -> Result<TenantId> {
    TenantId::new(raw).map_err(|_| ApiError::NotFound("tenant"))
}

fn user_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| ApiError::NotFound("member"))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(),
    request_body = login::Credentials,
    responses(
        (status = 200, description = "Signed in; the response sets the session cookie", body = Me),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 423, description = "Locked after repeated failures; see `Retry-After`", body = ErrorBody),
    ))]
async fn sign_in(
    State(auth): State<AuthState>,
    session: Session,
    ApiJson(credentials): ApiJson<login::Credentials>,
) -> Result<Json<Me>> {
    let user_id = login::check_credentials(&auth.pool, &auth.config, credentials).await?;
    login::start_session(&session, user_id).await?;
    let principal = auth::load_user(&auth.pool, user_id).await?;
    tracing::info!(user.id = %user_id, "signed in");
    Ok(Json(Me::from(&principal)))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(),
    responses((status = 204, description = "The session, if any, has ended")))]
async fn sign_out(session: Session) -> Result<StatusCode> {
    login::end_session(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
/// The caller itself; needs no permission beyond being authenticated.
async fn me(principal: Principal) -> Json<Me> {
    Json(Me::from(&principal))
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth",
    request_body = login::PasswordChange,
    responses(
        (status = 204, description = "Changed; the one-time flag is cleared"),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
    ))]
async fn change_password(
    State(pool): State<PgPool>,
    principal: Principal,
    ApiJson(change): ApiJson<login::PasswordChange>,
) -> Result<StatusCode> {
    let (Some(user_id), None) = (principal.user_id, &principal.token_tenant) else {
        return Err(ApiError::Forbidden(
            "passwords are changed by signing in, not with an API token".to_owned(),
        ));
    };
    login::change_password(&pool, user_id, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, description = "The tenants the caller may see", body = Vec<tenants::Tenant>)))]
/// Every tenant for a platform administrator; otherwise the caller's own tenants.
async fn list_tenants(
    State(pool): State<PgPool>,
    principal: Principal,
) -> Result<Json<Vec<tenants::Tenant>>> {
    let all = authorize(&principal, Action::ListAllTenants, Resource::Platform).is_ok();
    let mut visible = Vec::new();
    if all {
        let mut tx = db::begin_platform(&pool).await?;
        visible = tenants::list(&mut tx).await?;
        tx.commit().await?;
    } else {
        let ids: Vec<TenantId> = match &principal.token_tenant {
            Some((tenant, _)) => vec![tenant.clone()],
            None => principal
                .memberships
                .keys()
                .filter_map(|id| TenantId::new(id.as_str()).ok())
                .collect(),
        };
        for tenant in ids {
            authorize(&principal, Action::ReadTenant, Resource::Tenant(&tenant))?;
            let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
            visible.push(tenants::get(&mut tx, &tenant).await?);
            tx.commit().await?;
        }
    }
    Ok(Json(visible))
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants",
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created; the caller is its owner", body = tenants::Tenant),
        (status = 409, description = "A tenant with this id exists", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
async fn create_tenant(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    ApiJson(new): ApiJson<NewTenant>,
) -> Result<impl IntoResponse> {
    authorize(&principal, Action::CreateTenant, Resource::Platform)?;
    let mut tx = db::begin_platform(&pool).await?;
    let tenant = tenants::create(&mut tx, new, principal.user_id, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant", body = tenants::Tenant)))]
async fn get_tenant(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<tenants::Tenant>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadTenant, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let found = tenants::get(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(found))
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/config", tag = "tenants",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = TenantConfig,
    responses(
        (status = 200, description = "The updated tenant", body = tenants::Tenant),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
async fn update_config(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(tenant): Path<String>,
    ApiJson(config): ApiJson<TenantConfig>,
) -> Result<Json<tenants::Tenant>> {
    let tenant = tenant_id(&tenant)?;
    authorize(
        &principal,
        Action::UpdateTenantConfig,
        Resource::Tenant(&tenant),
    )?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let updated = tenants::update_config(
        &mut tx,
        &tenant,
        config,
        status_change(&principal),
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(updated))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users", tag = "members",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant's members", body = Vec<tenants::Member>)))]
async fn list_members(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<tenants::Member>>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ListMembers, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let members = tenants::list_members(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(members))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users", tag = "members",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = NewMember,
    responses(
        (status = 201, description = "Added", body = tenants::Member),
        (status = 409, description = "Already a member, the user quota is used up (`quota_exceeded`), or the tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
async fn add_member(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(tenant): Path<String>,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<impl IntoResponse> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
    let password_hash = initial_password_hash(new.password.clone()).await?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let member = tenants::add_member(
        &mut tx,
        &tenant,
        new,
        password_hash,
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Checks and hashes an initial password for a new member's account.
pub(crate) async fn initial_password_hash(password: Option<String>) -> Result<Option<String>> {
    let Some(password) = password else {
        return Ok(None);
    };
    auth::password::check_strength(&password)
        .map_err(|message| crate::domain::FieldError::new("password", message))?;
    Ok(Some(auth::password::hash(password).await?))
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
        (status = 200, description = "The member with the new role", body = tenants::Member),
        (status = 409, description = "The last owner keeps the owner role, or the tenant is suspended", body = ErrorBody),
    ))]
async fn change_role(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, user)): Path<(String, String)>,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<tenants::Member>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
    let user = user_id(&user)?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let member =
        tenants::change_role(&mut tx, &tenant, user, change.role, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok(Json(member))
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
async fn remove_member(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path((tenant, user)): Path<(String, String)>,
) -> Result<StatusCode> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
    let user = user_id(&user)?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    tenants::remove_member(&mut tx, &tenant, user, &meta.actor(&principal)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "tokens",
    params(("tenant" = String, Path, description = "The tenant's id")),
    request_body = tokens::NewToken,
    responses(
        (status = 201, description = "Created; `token` is shown only now", body = tokens::CreatedToken),
        (status = 409, description = "The tenant is suspended", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
async fn create_token(
    State(pool): State<PgPool>,
    principal: Principal,
    meta: RequestMeta,
    Path(tenant): Path<String>,
    ApiJson(new): ApiJson<tokens::NewToken>,
) -> Result<impl IntoResponse> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ManageTokens, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let created = tokens::create(
        &mut tx,
        &tenant,
        principal.user_id,
        new,
        &meta.actor(&principal),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditPage {
    /// Events after this sequence number.
    #[serde(default)]
    after: i64,
    /// How many events, 1 to 1000.
    #[serde(default = "default_limit")]
    limit: i64,
    /// Part of the actor's name, any case.
    actor: Option<String>,
    /// An action, or its first dotted parts (`deployment`).
    action: Option<String>,
    /// The target's id (a deployment id, a process instance key, …).
    target_id: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
}

fn default_limit() -> i64 {
    100
}

impl AuditPage {
    const MAX_LIMIT: i64 = 1000;

    fn validate(&self) -> Result<(), crate::domain::FieldError> {
        use crate::domain::FieldError;
        if self.after < 0 {
            return Err(FieldError::new("after", "must not be negative"));
        }
        if !(1..=Self::MAX_LIMIT).contains(&self.limit) {
            return Err(FieldError::new(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ));
        }
        FieldError::check_length("actor", self.actor.as_deref(), 200)?;
        FieldError::check_length("action", self.action.as_deref(), 100)?;
        FieldError::check_length("target_id", self.target_id.as_deref(), 200)?;
        Ok(())
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("after" = Option<i64>, Query, minimum = 0, description = "Events after this sequence number (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "How many events (default 100)"),
        ("actor" = Option<String>, Query, max_length = 200, description = "Only events whose actor's name contains this, in any case"),
        ("action" = Option<String>, Query, max_length = 100, description = "Only this action, or actions starting with it and a dot (`deployment`)"),
        ("target_id" = Option<String>, Query, max_length = 200, description = "Only events about this target (a deployment id, a process instance key, …)"),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "At or after (RFC 3339)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Before (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "Events in sequence order", body = Vec<audit::AuditEvent>),
        (status = 422, description = "A filter is out of range or too long", body = ErrorBody),
    ))]
async fn list_audit(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
    ApiQuery(page): ApiQuery<AuditPage>,
) -> Result<Json<Vec<audit::AuditEvent>>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
    page.validate()?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let filter = audit::Filter {
        actor: page.actor,
        action: page.action,
        target_id: page.target_id,
        from: page.from,
        to: page.to,
    };
    let events = audit::list_filtered(&mut tx, &tenant, &filter, page.after, page.limit).await?;
    tx.commit().await?;
    Ok(Json(events))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit/verify", tag = "audit",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Whether the chain holds, or its first broken event", body = audit::Verification)))]
async fn verify_audit(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(tenant): Path<String>,
) -> Result<Json<audit::Verification>> {
    let tenant = tenant_id(&tenant)?;
    authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
    let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
    let verification = audit::verify(&mut tx, &tenant).await?;
    tx.commit().await?;
    Ok(Json(verification))
}
