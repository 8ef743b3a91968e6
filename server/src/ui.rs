//! The pages' view of the control plane: [`app::api::ssr::ControlPlane`] implemented over the
//! same authentication, [`authorize`] policy and domain services as the REST API.

use app::{
    api::{
        access::{AuditCheck, AuditRow, ConfigForm, MeView, MemberView, TenantView},
        ssr::{BoxFuture, ControlPlane},
    },
    error::AppError,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use tower_sessions::Session;

use crate::{
    auth::{
        self, AuthState, Me, Principal, RequestMeta, login,
        policy::{Action, Resource, authorize, status_change},
    },
    db,
    domain::{
        Role, TenantId, audit,
        cloud::CloudConfig,
        tenants::{self, NewMember, NewTenant, Plan, Quotas, TenantConfig, TenantStatus},
    },
    error::ApiError,
    routes::api::initial_password_hash,
};

/// The implementation handed to the Leptos app through its server context. Cheap to clone: each
/// call moves a clone into its `'static` future.
#[derive(Clone)]
pub struct Backend {
    pub auth: AuthState,
}

impl From<ApiError> for AppError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unauthenticated => AppError::Unauthenticated,
            ApiError::Database(error) => {
                tracing::error!(%error, "database error");
                AppError::DatabaseUnavailable
            }
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                AppError::Internal
            }
            other => AppError::Refused {
                status: other.status().as_u16(),
                message: other.to_string(),
            },
        }
    }
}

fn me_view(me: Me) -> MeView {
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

fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse()
        .map_err(|error: crate::domain::UnknownRole| ApiError::BadRequest(error.to_string()))
}

/// The form's flat fields as the domain's configuration; lists are comma- or space-separated.
fn config_from_form(form: ConfigForm) -> Result<TenantConfig, ApiError> {
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

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    TenantId::new(raw).map_err(|_| ApiError::NotFound("tenant"))
}

impl Backend {
    async fn principal(&self, mut parts: Parts) -> Result<(Principal, RequestMeta), ApiError> {
        let principal = Principal::from_request_parts(&mut parts, &self.auth).await?;
        let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
        Ok((principal, meta))
    }
}

fn boxed<T: Send + 'static>(
    future: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> BoxFuture<T> {
    Box::pin(async move { future.await.map_err(AppError::from) })
}

impl ControlPlane for Backend {
    fn me(&self, parts: Parts) -> BoxFuture<Option<MeView>> {
        let backend = self.clone();
        Box::pin(async move {
            match backend.principal(parts).await {
                Ok((principal, _)) => Ok(Some(me_view(Me::from(&principal)))),
                Err(ApiError::Unauthenticated) => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn sign_in(&self, parts: Parts, email: String, password: String) -> BoxFuture<MeView> {
        let auth = self.auth.clone();
        boxed(async move {
            let session = parts
                .extensions
                .get::<Session>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no session layer")))?;
            let credentials = login::Credentials { email, password };
            let user_id = login::check_credentials(&auth.pool, &auth.config, credentials).await?;
            login::start_session(&session, user_id).await?;
            let principal = auth::load_user(&auth.pool, user_id).await?;
            Ok(me_view(Me::from(&principal)))
        })
    }

    fn sign_out(&self, parts: Parts) -> BoxFuture<()> {
        boxed(async move {
            if let Some(session) = parts.extensions.get::<Session>() {
                login::end_session(session).await?;
            }
            Ok(())
        })
    }

    fn change_password(
        &self,
        parts: Parts,
        current_password: String,
        new_password: String,
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let (Some(user_id), None) = (principal.user_id, &principal.token_tenant) else {
                return Err(ApiError::Unauthenticated);
            };
            let change = login::PasswordChange {
                current_password,
                new_password,
            };
            login::change_password(&backend.auth.pool, user_id, change).await
        })
    }

    fn tenants(&self, parts: Parts) -> BoxFuture<Vec<TenantView>> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let pool = &backend.auth.pool;
            let mut visible = Vec::new();
            if authorize(&principal, Action::ListAllTenants, Resource::Platform).is_ok() {
                let mut tx = db::begin_platform(pool).await?;
                visible = tenants::list(&mut tx).await?;
                tx.commit().await?;
            } else {
                for id in principal.memberships.keys() {
                    let tenant = tenant_id(id)?;
                    authorize(&principal, Action::ReadTenant, Resource::Tenant(&tenant))?;
                    let mut tx = db::begin_tenant(pool, &tenant, principal.user_id).await?;
                    visible.push(tenants::get(&mut tx, &tenant).await?);
                    tx.commit().await?;
                }
            }
            Ok(visible
                .into_iter()
                .map(|tenant| {
                    let id = TenantId::new(tenant.id.as_str()).ok();
                    let can_manage = id.as_ref().is_some_and(|id| {
                        authorize(&principal, Action::ManageMembers, Resource::Tenant(id)).is_ok()
                    });
                    let can_audit = id.as_ref().is_some_and(|id| {
                        authorize(&principal, Action::ReadAudit, Resource::Tenant(id)).is_ok()
                    });
                    TenantView {
                        can_audit,
                        max_users: tenant.quotas.max_users,
                        max_workflows: tenant.quotas.max_workflows,
                        aws_account_id: tenant.cloud.aws_account_id,
                        aws_region: tenant.cloud.aws_region,
                        vpc_ids: tenant.cloud.vpc_ids,
                        iam_role_arns: tenant.cloud.iam_role_arns,
                        role: id
                            .as_ref()
                            .and_then(|id| principal.role_in(id))
                            .map(|role| role.as_str().to_owned()),
                        can_manage,
                        status: tenant.status.as_str().to_owned(),
                        plan: tenant.plan.as_str().to_owned(),
                        id: tenant.id,
                        name: tenant.name,
                    }
                })
                .collect())
        })
    }

    fn create_tenant(&self, parts: Parts, id: String, name: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            authorize(&principal, Action::CreateTenant, Resource::Platform)
                .map_err(ApiError::from)?;
            let new: NewTenant =
                serde_json::from_value(serde_json::json!({ "id": id, "name": name }))
                    .map_err(|error| ApiError::BadRequest(error.to_string()))?;
            let mut tx = db::begin_platform(&backend.auth.pool).await?;
            tenants::create(&mut tx, new, principal.user_id, &meta.actor(&principal)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn update_config(&self, parts: Parts, tenant: String, form: ConfigForm) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(
                &principal,
                Action::UpdateTenantConfig,
                Resource::Tenant(&tenant),
            )?;
            let config = config_from_form(form)?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            tenants::update_config(
                &mut tx,
                &tenant,
                config,
                status_change(&principal),
                &meta.actor(&principal),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn verify_audit(&self, parts: Parts, tenant: String) -> BoxFuture<AuditCheck> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let verification = audit::verify(&mut tx, &tenant).await?;
            tx.commit().await?;
            Ok(AuditCheck {
                ok: verification.ok,
                events_checked: verification.events_checked,
                first_broken: verification
                    .first_broken
                    .map(|broken| (broken.seq, broken.reason.to_owned())),
            })
        })
    }

    fn audit_events(&self, parts: Parts, tenant: String) -> BoxFuture<Vec<AuditRow>> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ReadAudit, Resource::Tenant(&tenant))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let events = audit::latest(&mut tx, &tenant, 50).await?;
            tx.commit().await?;
            Ok(events
                .into_iter()
                .map(|event| AuditRow {
                    seq: event.seq,
                    occurred_at: event
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    actor: event.actor,
                    action: event.action,
                    target: format!("{} {}", event.target_type, event.target_id),
                })
                .collect())
        })
    }

    fn members(&self, parts: Parts, tenant: String) -> BoxFuture<Vec<MemberView>> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ListMembers, Resource::Tenant(&tenant))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let members = tenants::list_members(&mut tx, &tenant).await?;
            tx.commit().await?;
            Ok(members
                .into_iter()
                .map(|m| MemberView {
                    user_id: m.user_id.to_string(),
                    email: m.email,
                    name: m.name,
                    role: m.role.as_str().to_owned(),
                })
                .collect())
        })
    }

    fn add_member(
        &self,
        parts: Parts,
        tenant: String,
        email: String,
        role: String,
        password: Option<String>,
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
            let role = parse_role(&role)?;
            let password_hash = initial_password_hash(password).await?;
            let new = NewMember {
                email,
                name: None,
                role,
                password: None,
            };
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            tenants::add_member(
                &mut tx,
                &tenant,
                new,
                password_hash,
                &meta.actor(&principal),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn change_role(
        &self,
        parts: Parts,
        tenant: String,
        user_id: String,
        role: String,
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
            let role = parse_role(&role)?;
            let user = user_id.parse().map_err(|_| ApiError::NotFound("member"))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            tenants::change_role(&mut tx, &tenant, user, role, &meta.actor(&principal)).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn remove_member(&self, parts: Parts, tenant: String, user_id: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(&principal, Action::ManageMembers, Resource::Tenant(&tenant))?;
            let user = user_id.parse().map_err(|_| ApiError::NotFound("member"))?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            tenants::remove_member(&mut tx, &tenant, user, &meta.actor(&principal)).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
