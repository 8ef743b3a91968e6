//! The pages' view of the control plane: [`app::api::ssr::ControlPlane`] implemented over the
//! same authentication, [`authorize`] policy and domain services as the REST API.

use app::{
    api::{
        access::{
            AuditCheck, AuditRow, ConfigForm, CreatedEngineClientView, EngineAccessView,
            EngineClientView, EngineEnvironmentView, MeView, MemberView, TenantView,
        },
        ssr::{BoxFuture, ControlPlane},
    },
    error::AppError,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use tower_sessions::Session;

use crate::domain::deployments::EngineSettings;
use crate::{
    auth::{
        self, AuthState, Me, Principal, RequestMeta, login,
        policy::{Action, Resource, authorize, status_change},
    },
    db,
    domain::{
        FieldError, Role, TenantId, audit,
        cloud::CloudConfig,
        tenants::{self, NewMember, NewTenant, Plan, Quotas, TenantConfig, TenantStatus},
        workflows::{NewVersion, NewWorkflow},
    },
    engine_access::{self, Authority},
    error::{ApiError, ApiJson, ApiQuery},
    routes::{
        api::initial_password_hash,
        workflows::{self as rest, DeploymentFilter, TenantFilter},
    },
};
use app::api::studio::{SavedVersion, StudioDocument};
use app::api::workflows::{
    DeploymentRow, EnvironmentRow, VersionRow, WorkflowList, WorkflowRow, WorkflowView,
};
use axum::{
    Json,
    extract::{Path, State},
};
use engine::auth::Permission;

/// The implementation handed to the Leptos app through its server context. Cheap to clone: each
/// call moves a clone into its `'static` future.
#[derive(Clone)]
pub struct Backend {
    pub auth: AuthState,
    pub pipeline: std::sync::Arc<crate::pipeline::Pipeline>,
    /// The engines' authorisation server: where engine clients get their tokens.
    pub authority: std::sync::Arc<Authority>,
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

    fn engine_access(&self, parts: Parts, tenant: String) -> BoxFuture<EngineAccessView> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let pool = backend.auth.pool.clone();
            // The environments as the REST API lists them (whoever may read the tenant's
            // workflows), with the running embedded engines' gateway addresses.
            let Json(environments) = rest::list_environments(
                State(pool.clone()),
                State(backend.pipeline.clone()),
                principal.clone(),
                Path(tenant.clone()),
            )
            .await?;
            let tenant = tenant_id(&tenant)?;
            // The clients only for those the REST API lists them to.
            let can_manage = authorize(
                &principal,
                Action::ManageEngineClients,
                Resource::Tenant(&tenant),
            )
            .is_ok();
            let mut clients = Vec::new();
            if can_manage {
                let mut tx = db::begin_tenant(&pool, &tenant, principal.user_id).await?;
                for environment in &environments {
                    let rows =
                        engine_access::service::list_clients(&mut tx, &tenant, &environment.name)
                            .await?;
                    clients.push(rows.into_iter().map(engine_client_view).collect());
                }
                tx.commit().await?;
            }
            let mut clients = clients.into_iter();
            let token_url = backend.authority.token_url();
            Ok(EngineAccessView {
                environments: environments
                    .into_iter()
                    .map(|environment| {
                        let (embedded, gateway_address) = match environment.engine {
                            EngineSettings::Embedded => (true, environment.gateway_address),
                            EngineSettings::External { address, .. } => (false, Some(address)),
                        };
                        EngineEnvironmentView {
                            audience: engine_access::audience(&environment.name),
                            name: environment.name,
                            embedded,
                            gateway_address,
                            token_url: token_url.clone(),
                            clients: clients.next(),
                        }
                    })
                    .collect(),
                can_manage,
            })
        })
    }

    fn create_engine_client(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        name: String,
        permissions: Vec<String>,
    ) -> BoxFuture<CreatedEngineClientView> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(
                &principal,
                Action::ManageEngineClients,
                Resource::Tenant(&tenant),
            )?;
            let permissions = permissions
                .iter()
                .map(|name| {
                    Permission::parse(name).ok_or_else(|| {
                        FieldError::new("permissions", format!("unknown permission {name:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            let created = engine_access::service::create_client(
                &mut tx,
                &tenant,
                &environment,
                name.trim(),
                &permissions,
                principal.user_id,
                &meta.actor(&principal),
            )
            .await?;
            // Before committing, as the REST API does: a client whose engine cannot be reached
            // is not created.
            let gateway_address = engine_access::service::gateway_address(
                backend.pipeline.engines(),
                &created.environment,
            )
            .await?;
            tx.commit().await?;
            Ok(CreatedEngineClientView {
                audience: engine_access::audience(&created.environment.name),
                embedded: created.environment.engine == EngineSettings::Embedded,
                client_id: created.client_id,
                client_secret: created.client_secret,
                name: created.name,
                permissions: created
                    .permissions
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect(),
                environment: created.environment.name,
                gateway_address,
                token_url: backend.authority.token_url(),
            })
        })
    }

    fn revoke_engine_client(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        client_id: String,
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let tenant = tenant_id(&tenant)?;
            authorize(
                &principal,
                Action::ManageEngineClients,
                Resource::Tenant(&tenant),
            )?;
            let mut tx = db::begin_tenant(&backend.auth.pool, &tenant, principal.user_id).await?;
            engine_access::service::revoke_client(
                &mut tx,
                &tenant,
                &environment,
                &client_id,
                &meta.actor(&principal),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn tenant_workflows(&self, parts: Parts, tenant: String) -> BoxFuture<WorkflowList> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let id = tenant_id(&tenant)?;
            let can_edit =
                authorize(&principal, Action::EditWorkflows, Resource::Tenant(&id)).is_ok();
            let can_manage_environments = authorize(
                &principal,
                Action::ManageEnvironments,
                Resource::Tenant(&id),
            )
            .is_ok();
            let Json(list) = rest::list_workflows(
                State(backend.auth.pool.clone()),
                principal,
                ApiQuery(TenantFilter {
                    tenant: Some(tenant),
                }),
            )
            .await?;
            Ok(WorkflowList {
                workflows: list.into_iter().map(workflow_row).collect(),
                can_edit,
                can_manage_environments,
            })
        })
    }

    fn environments(&self, parts: Parts, tenant: String) -> BoxFuture<Vec<EnvironmentRow>> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let Json(list) = rest::list_environments(
                State(backend.auth.pool.clone()),
                State(backend.pipeline.clone()),
                principal,
                Path(tenant),
            )
            .await?;
            Ok(list.into_iter().map(environment_row).collect())
        })
    }

    fn update_environment_policy(
        &self,
        parts: Parts,
        tenant: String,
        environment: String,
        approvals_required: i32,
        approver_roles: Vec<String>,
        require_owner_approval: bool,
    ) -> BoxFuture<()> {
        use crate::domain::deployments::EnvironmentUpdate;
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let pool = backend.auth.pool.clone();
            let Json(current) = rest::list_environments(
                State(pool.clone()),
                State(backend.pipeline.clone()),
                principal.clone(),
                Path(tenant.clone()),
            )
            .await?;
            let current = current
                .into_iter()
                .find(|e| e.name == environment)
                .ok_or(ApiError::NotFound("environment"))?;
            let approver_roles = approver_roles
                .iter()
                .map(|role| parse_role(role))
                .collect::<Result<Vec<_>, _>>()?;
            // Only the policy changes; the engine, and with it the stored secret, stays.
            let mut update = EnvironmentUpdate {
                approvals_required,
                approver_roles,
                require_owner_approval,
                engine_kind: "embedded".to_owned(),
                engine_address: None,
                oauth_token_url: None,
                oauth_client_id: None,
                oauth_client_secret: None,
                oauth_audience: None,
                engine_tenant_id: None,
            };
            if let EngineSettings::External {
                address,
                oauth_token_url,
                oauth_client_id,
                oauth_audience,
                tenant_id,
                ..
            } = current.engine
            {
                update.engine_kind = "external".to_owned();
                update.engine_address = Some(address);
                update.oauth_token_url = oauth_token_url;
                update.oauth_client_id = oauth_client_id;
                update.oauth_audience = oauth_audience;
                update.engine_tenant_id = Some(tenant_id);
            }
            let _updated = rest::update_environment(
                State(pool),
                principal,
                meta,
                Path((tenant, environment)),
                ApiJson(update),
            )
            .await?;
            Ok(())
        })
    }

    fn workflow(&self, parts: Parts, id: String) -> BoxFuture<WorkflowView> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let pool = backend.auth.pool.clone();
            let Json(workflow) =
                rest::get_workflow(State(pool.clone()), principal.clone(), Path(id.clone()))
                    .await?;
            let Json(versions) =
                rest::list_versions(State(pool.clone()), principal.clone(), Path(id)).await?;
            let Json(deployments) = rest::list_deployments(
                State(pool.clone()),
                principal.clone(),
                ApiQuery(DeploymentFilter {
                    tenant: Some(workflow.tenant_id.clone()),
                    workflow_id: Some(workflow.id),
                }),
            )
            .await?;
            let Json(environments) = rest::list_environments(
                State(pool),
                State(backend.pipeline.clone()),
                principal.clone(),
                Path(workflow.tenant_id.clone()),
            )
            .await?;
            let tenant = tenant_id(&workflow.tenant_id)?;
            let may = |action| authorize(&principal, action, Resource::Tenant(&tenant)).is_ok();
            let can_edit = may(Action::EditWorkflows);
            let can_roll_back = may(Action::RollbackDeployment);
            let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
            // What new instances start on: per environment, the most recently deployed.
            let active: Vec<uuid::Uuid> = environments
                .iter()
                .filter_map(|environment| {
                    deployments
                        .iter()
                        .filter(|d| d.environment == environment.name)
                        .filter(|d| d.state == crate::domain::deployments::State::Deployed)
                        .max_by_key(|d| (d.updated_at, d.created_at))
                        .map(|d| d.id)
                })
                .collect();
            let rows = deployments
                .iter()
                .map(|deployment| {
                    let environment = environments
                        .iter()
                        .find(|environment| environment.name == deployment.environment);
                    let can_approve = match (environment, principal.user_id) {
                        (Some(environment), Some(user)) if principal.token_tenant.is_none() => {
                            crate::domain::deployments::may_approve(
                                environment,
                                deployment,
                                user,
                                role,
                            )
                            .is_ok()
                        }
                        _ => false,
                    };
                    let is_active = active.contains(&deployment.id);
                    DeploymentRow {
                        id: deployment.id.to_string(),
                        version: deployment.version,
                        environment: deployment.environment.clone(),
                        state: deployment.state.as_str().to_owned(),
                        approvals_missing: deployment.approvals_missing,
                        approvers: deployment
                            .approvals
                            .iter()
                            .map(|approval| approval.approver.clone())
                            .collect(),
                        requested_by: deployment.requested_by.clone(),
                        error: deployment.error.clone(),
                        diagnostics: diagnostic_lines(&deployment.diagnostics),
                        rollback_of: deployment.rollback_of.map(|id| id.to_string()),
                        created_at: deployment
                            .created_at
                            .format("%Y-%m-%d %H:%M:%S UTC")
                            .to_string(),
                        active: is_active,
                        can_approve,
                        can_roll_back: can_roll_back && is_active,
                    }
                })
                .collect();
            Ok(WorkflowView {
                workflow: workflow_row(workflow),
                versions: versions
                    .into_iter()
                    .map(|version| VersionRow {
                        version: version.version,
                        author: version.author,
                        message: version.message,
                        created_at: version
                            .created_at
                            .format("%Y-%m-%d %H:%M:%S UTC")
                            .to_string(),
                    })
                    .collect(),
                deployments: rows,
                environments: environments.into_iter().map(environment_row).collect(),
                can_edit,
            })
        })
    }

    fn deploy(
        &self,
        parts: Parts,
        workflow: String,
        version: i32,
        environment: String,
    ) -> BoxFuture<String> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let workflow_id = workflow
                .parse()
                .map_err(|_| ApiError::NotFound("workflow"))?;
            let (_, Json(deployment)) = rest::request_deployment(
                State(backend.auth.pool.clone()),
                State(backend.pipeline.clone()),
                principal,
                meta,
                ApiJson(crate::domain::deployments::NewDeployment {
                    workflow_id,
                    version: Some(version),
                    environment,
                }),
            )
            .await?;
            Ok(deployment.id.to_string())
        })
    }

    fn approve(&self, parts: Parts, deployment: String, comment: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let _approved = rest::approve_deployment(
                State(backend.auth.pool.clone()),
                State(backend.pipeline.clone()),
                principal,
                meta,
                Path(deployment),
                ApiJson(crate::domain::deployments::NewApproval { comment }),
            )
            .await?;
            Ok(())
        })
    }

    fn reject(&self, parts: Parts, deployment: String, comment: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let _rejected = rest::reject_deployment(
                State(backend.auth.pool.clone()),
                State(backend.pipeline.clone()),
                principal,
                meta,
                Path(deployment),
                ApiJson(crate::domain::deployments::NewApproval { comment }),
            )
            .await?;
            Ok(())
        })
    }

    fn roll_back(&self, parts: Parts, deployment: String) -> BoxFuture<String> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let (_, Json(rollback)) = rest::rollback_deployment(
                State(backend.auth.pool.clone()),
                State(backend.pipeline.clone()),
                principal,
                meta,
                Path(deployment),
            )
            .await?;
            Ok(rollback.id.to_string())
        })
    }

    fn studio_document(
        &self,
        parts: Parts,
        workflow: String,
        version: Option<i32>,
    ) -> BoxFuture<StudioDocument> {
        let backend = self.clone();
        boxed(async move {
            let (principal, _) = backend.principal(parts).await?;
            let pool = backend.auth.pool.clone();
            let Json(found) = rest::get_workflow(
                State(pool.clone()),
                principal.clone(),
                Path(workflow.clone()),
            )
            .await?;
            let number = version.unwrap_or(found.latest_version);
            let Json(version) = rest::get_version(
                State(pool),
                principal.clone(),
                Path((workflow, number.to_string())),
            )
            .await?;
            let tenant = tenant_id(&found.tenant_id)?;
            let can_edit =
                authorize(&principal, Action::EditWorkflows, Resource::Tenant(&tenant)).is_ok();
            Ok(StudioDocument {
                workflow_id: found.id.to_string(),
                tenant_id: found.tenant_id,
                name: found.name,
                version: version.summary.version,
                latest_version: found.latest_version,
                bpmn_xml: version.bpmn_xml,
                can_edit,
            })
        })
    }

    fn studio_save(
        &self,
        parts: Parts,
        tenant: String,
        workflow: Option<String>,
        bpmn_xml: String,
        message: String,
    ) -> BoxFuture<SavedVersion> {
        let backend = self.clone();
        boxed(async move {
            let (principal, meta) = backend.principal(parts).await?;
            let pool = backend.auth.pool.clone();
            let message = Some(message).filter(|m| !m.trim().is_empty());
            match workflow {
                Some(workflow) => {
                    let (status, Json(version)) = rest::add_version(
                        State(pool),
                        principal,
                        meta,
                        Path(workflow),
                        ApiJson(NewVersion { bpmn_xml, message }),
                    )
                    .await?;
                    Ok(SavedVersion {
                        workflow_id: version.workflow_id.to_string(),
                        version: version.version,
                        created: status == axum::http::StatusCode::CREATED,
                    })
                }
                None => {
                    let (_, Json(created)) = rest::create_workflow(
                        State(pool),
                        principal,
                        meta,
                        ApiJson(NewWorkflow {
                            tenant_id: Some(tenant),
                            name: None,
                            description: None,
                            variables_schema: None,
                            bpmn_xml,
                            message,
                        }),
                    )
                    .await?;
                    Ok(SavedVersion {
                        workflow_id: created.workflow.id.to_string(),
                        version: created.version.version,
                        created: true,
                    })
                }
            }
        })
    }
}

fn workflow_row(workflow: crate::domain::workflows::Workflow) -> WorkflowRow {
    WorkflowRow {
        id: workflow.id.to_string(),
        tenant_id: workflow.tenant_id,
        key: workflow.key,
        name: workflow.name,
        description: workflow.description,
        latest_version: workflow.latest_version,
        updated_at: workflow
            .updated_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
    }
}

fn engine_client_view(row: engine_access::store::ClientRow) -> EngineClientView {
    let format = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    EngineClientView {
        client_id: row.client_id,
        name: row.name,
        permissions: row.permissions,
        created_by: row.created_by,
        created_at: format(row.created_at),
        last_used_at: row.last_used_at.map(format),
    }
}

fn environment_row(environment: crate::domain::deployments::Environment) -> EnvironmentRow {
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
fn diagnostic_lines(diagnostics: &serde_json::Value) -> Vec<String> {
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
