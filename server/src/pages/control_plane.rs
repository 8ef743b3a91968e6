//! The pages' view of the control plane: [`app::api::ssr::ControlPlane`] over the same
//! services as the REST API. Each method builds the request context from the server
//! function's request, calls the features' services, and shapes their answers into the
//! views the pages render.

use app::{
    api::{
        access::{
            AuditCheck, AuditRow, ConfigForm, CreatedEngineClientView, EngineAccessView,
            EngineEnvironmentView, MeView, MemberView, TenantView,
        },
        ssr::{BoxFuture, ControlPlane},
        studio::{SavedVersion, StudioDocument},
        workflows::{DeploymentRow, EnvironmentRow, VersionRow, WorkflowList, WorkflowView},
    },
    error::AppError,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use engine::auth::Permission;
use tower_sessions::Session;

use super::views::{
    config_from_form, diagnostic_lines, engine_client_view, environment_row, me_view, parse_role,
    plane_view, timestamp, workflow_row,
};
use crate::{
    audit,
    auth::{
        self, AuthState, Me, Principal, RequestMeta, login,
        policy::{Action, Resource},
    },
    context::Ctx,
    deployments::{self, NewApproval, NewDeployment},
    domain::{FieldError, Role, TenantId},
    engine_access::{self, Authority},
    environments::{self, EngineSettings, EnvironmentUpdate},
    error::ApiError,
    extract::tenant_id,
    pipeline::Pipeline,
    planes,
    tenants::{self, NewMember, NewTenant},
    workflows::{self, NewVersion, NewWorkflow},
};

/// The implementation handed to the Leptos app through its server context. Cheap to clone: each
/// call moves a clone into its `'static` future.
#[derive(Clone)]
pub struct Backend {
    pub auth: AuthState,
    pub pipeline: std::sync::Arc<Pipeline>,
    /// The engines' authorisation server: where engine clients get their tokens.
    pub authority: std::sync::Arc<Authority>,
    /// Signed checkpoints of the audit chains.
    pub checkpoints: std::sync::Arc<audit::checkpoint::Checkpoints>,
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

fn uuid_of(raw: &str, what: &'static str) -> Result<uuid::Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

impl Backend {
    /// The request context of a server function's request.
    async fn ctx(&self, mut parts: Parts) -> Result<Ctx, ApiError> {
        let principal = Principal::from_request_parts(&mut parts, &self.auth).await?;
        let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
        Ok(Ctx::new(self.auth.pool.clone(), principal, meta))
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
            match backend.ctx(parts).await {
                Ok(ctx) => Ok(Some(me_view(Me::from(&ctx.principal)))),
                Err(ApiError::Unauthenticated) => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn sign_in(&self, parts: Parts, email: String, password: String) -> BoxFuture<MeView> {
        let auth = self.auth.clone();
        boxed(async move {
            let mut parts = parts;
            let session = parts
                .extensions
                .get::<Session>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no session layer")))?;
            let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
            let credentials = login::Credentials { email, password };
            Ok(me_view(
                auth::service::sign_in(&auth, &session, &meta, credentials).await?,
            ))
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

    fn set_password(&self, token: String, new_password: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let request = auth::links::SetPassword {
                token,
                new_password,
            };
            auth::links::redeem(&backend.auth.pool, request).await?;
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
            let session = parts
                .extensions
                .get::<Session>()
                .cloned()
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no session layer")))?;
            let ctx = backend.ctx(parts).await?;
            let change = login::PasswordChange {
                current_password,
                new_password,
            };
            auth::service::change_own_password(&ctx, &session, change).await
        })
    }

    fn tenants(&self, parts: Parts) -> BoxFuture<Vec<TenantView>> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let visible = tenants::service::visible(&ctx).await?;
            Ok(visible
                .into_iter()
                .map(|tenant| {
                    let id = TenantId::new(tenant.id.as_str()).ok();
                    let may = |action| {
                        id.as_ref()
                            .is_some_and(|id| ctx.may(action, Resource::Tenant(id)))
                    };
                    TenantView {
                        can_audit: may(Action::ReadAudit),
                        can_manage: may(Action::ManageMembers),
                        can_set_plan: ctx.may(Action::ChangeTenantStatus, Resource::Platform),
                        max_users: tenant.quotas.max_users,
                        max_workflows: tenant.quotas.max_workflows,
                        aws_account_id: tenant.cloud.aws_account_id,
                        aws_region: tenant.cloud.aws_region,
                        vpc_ids: tenant.cloud.vpc_ids,
                        iam_role_arns: tenant.cloud.iam_role_arns,
                        role: id
                            .as_ref()
                            .and_then(|id| ctx.principal.role_in(id))
                            .map(|role| role.as_str().to_owned()),
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
            let ctx = backend.ctx(parts).await?;
            ctx.authorize(Action::CreateTenant, Resource::Platform)?;
            let new: NewTenant =
                serde_json::from_value(serde_json::json!({ "id": id, "name": name }))
                    .map_err(|error| ApiError::BadRequest(error.to_string()))?;
            tenants::service::create(&ctx, new).await?;
            Ok(())
        })
    }

    fn update_config(&self, parts: Parts, tenant: String, form: ConfigForm) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::UpdateTenantConfig, Resource::Tenant(&tenant))?;
            let config = config_from_form(form)?;
            tenants::service::update_config(&ctx, &tenant, config).await?;
            Ok(())
        })
    }

    fn verify_audit(&self, parts: Parts, tenant: String) -> BoxFuture<AuditCheck> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let verification =
                audit::service::verify(&ctx, &backend.checkpoints, &tenant_id(&tenant)?, false)
                    .await?;
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
            let ctx = backend.ctx(parts).await?;
            let events = audit::service::latest(&ctx, &tenant_id(&tenant)?, 50).await?;
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
            let ctx = backend.ctx(parts).await?;
            let members = tenants::service::members(&ctx, &tenant_id(&tenant)?).await?;
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
    ) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::ManageMembers, Resource::Tenant(&tenant))?;
            let new = NewMember {
                email,
                name: None,
                role: parse_role(&role)?,
            };
            tenants::service::add_member(&ctx, &backend.auth.links, &tenant, new).await?;
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
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::ManageMembers, Resource::Tenant(&tenant))?;
            let role = parse_role(&role)?;
            let user = uuid_of(&user_id, "member")?;
            tenants::service::change_role(&ctx, &tenant, user, role).await?;
            Ok(())
        })
    }

    fn remove_member(&self, parts: Parts, tenant: String, user_id: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::ManageMembers, Resource::Tenant(&tenant))?;
            let user = uuid_of(&user_id, "member")?;
            tenants::service::remove_member(&ctx, &tenant, user).await
        })
    }

    fn engine_access(&self, parts: Parts, tenant: String) -> BoxFuture<EngineAccessView> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            // The environments as the REST API lists them (whoever may read the tenant's
            // workflows), with the running embedded engines' gateway addresses.
            let environments =
                environments::service::list(&ctx, &backend.pipeline, &tenant).await?;
            // The clients only for those the REST API lists them to.
            let can_manage = ctx.may(Action::ManageEngineClients, Resource::Tenant(&tenant));
            let mut clients = Vec::new();
            if can_manage {
                for environment in &environments {
                    let rows =
                        engine_access::service::list(&ctx, &tenant, &environment.name).await?;
                    clients.push(rows.into_iter().map(engine_client_view).collect());
                }
            }
            let mut clients = clients.into_iter();
            // Every member sees the planes.
            let planes = planes::service::list(&ctx, &tenant).await?;
            let token_url = backend.authority.token_url();
            Ok(EngineAccessView {
                environments: environments
                    .into_iter()
                    .map(|environment| {
                        let (embedded, gateway_address) = match environment.engine {
                            EngineSettings::Embedded => (true, environment.gateway_address),
                            EngineSettings::External { address, .. } => (false, Some(address)),
                        };
                        let planes_here = planes
                            .iter()
                            .filter(|plane| plane.environment == environment.name)
                            .cloned()
                            .map(plane_view)
                            .collect();
                        EngineEnvironmentView {
                            audience: engine_access::audience(&environment.name),
                            name: environment.name,
                            embedded,
                            gateway_address,
                            token_url: token_url.clone(),
                            clients: clients.next(),
                            planes: planes_here,
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
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            ctx.authorize(Action::ManageEngineClients, Resource::Tenant(&tenant))?;
            let permissions = permissions
                .iter()
                .map(|name| {
                    Permission::parse(name).ok_or_else(|| {
                        FieldError::new("permissions", format!("unknown permission {name:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (created, gateway_address) = engine_access::service::create(
                &ctx,
                backend.pipeline.engines(),
                &tenant,
                &environment,
                name.trim(),
                &permissions,
            )
            .await?;
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
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            engine_access::service::revoke(&ctx, &tenant, &environment, &client_id).await
        })
    }

    fn tenant_workflows(&self, parts: Parts, tenant: String) -> BoxFuture<WorkflowList> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let id = tenant_id(&tenant)?;
            let can_edit = ctx.may(Action::EditWorkflows, Resource::Tenant(&id));
            let can_manage_environments =
                ctx.may(Action::ManageEnvironments, Resource::Tenant(&id));
            let list = workflows::service::list(&ctx, Some(&tenant)).await?;
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
            let ctx = backend.ctx(parts).await?;
            let list =
                environments::service::list(&ctx, &backend.pipeline, &tenant_id(&tenant)?).await?;
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
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let tenant = tenant_id(&tenant)?;
            let current = environments::service::list(&ctx, &backend.pipeline, &tenant)
                .await?
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
            environments::service::update(&ctx, &tenant, &environment, update).await?;
            Ok(())
        })
    }

    fn workflow(&self, parts: Parts, id: String) -> BoxFuture<WorkflowView> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let id = uuid_of(&id, "workflow")?;
            let workflow = workflows::service::get(&ctx, id).await?;
            let versions = workflows::service::versions(&ctx, id).await?;
            let deployments =
                deployments::service::list(&ctx, Some(&workflow.tenant_id), Some(workflow.id))
                    .await?;
            let tenant = tenant_id(&workflow.tenant_id)?;
            let environments =
                environments::service::list(&ctx, &backend.pipeline, &tenant).await?;
            let can_edit = ctx.may(Action::EditWorkflows, Resource::Tenant(&tenant));
            let can_roll_back = ctx.may(Action::RollbackDeployment, Resource::Tenant(&tenant));
            let principal = &ctx.principal;
            let role = principal.role_in(&tenant).unwrap_or(Role::Owner);
            // What new instances start on: per environment, the active deployment.
            let active: Vec<uuid::Uuid> = environments
                .iter()
                .filter_map(|environment| deployments::active_of(&deployments, &environment.name))
                .map(|deployment| deployment.id)
                .collect();
            let rows = deployments
                .iter()
                .map(|deployment| {
                    let environment = environments
                        .iter()
                        .find(|environment| environment.name == deployment.environment);
                    let can_approve = match (environment, principal.user_id) {
                        (Some(environment), Some(user)) if principal.token_tenant.is_none() => {
                            deployments::may_approve(environment, deployment, user, role).is_ok()
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
                        created_at: timestamp(deployment.created_at),
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
                        created_at: timestamp(version.created_at),
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
            let ctx = backend.ctx(parts).await?;
            let new = NewDeployment {
                workflow_id: uuid_of(&workflow, "workflow")?,
                version: Some(version),
                environment,
            };
            let deployment = deployments::service::request(&ctx, &backend.pipeline, new).await?;
            Ok(deployment.id.to_string())
        })
    }

    fn approve(&self, parts: Parts, deployment: String, comment: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let id = uuid_of(&deployment, "deployment")?;
            let approval = NewApproval { comment };
            deployments::service::approve(&ctx, &backend.pipeline, id, approval).await?;
            Ok(())
        })
    }

    fn reject(&self, parts: Parts, deployment: String, comment: String) -> BoxFuture<()> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let id = uuid_of(&deployment, "deployment")?;
            let reason = NewApproval { comment };
            deployments::service::reject(&ctx, &backend.pipeline, id, reason).await?;
            Ok(())
        })
    }

    fn roll_back(&self, parts: Parts, deployment: String) -> BoxFuture<String> {
        let backend = self.clone();
        boxed(async move {
            let ctx = backend.ctx(parts).await?;
            let id = uuid_of(&deployment, "deployment")?;
            let rollback = deployments::service::roll_back(&ctx, &backend.pipeline, id).await?;
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
            let ctx = backend.ctx(parts).await?;
            let id = uuid_of(&workflow, "workflow")?;
            let found = workflows::service::get(&ctx, id).await?;
            let number = version.unwrap_or(found.latest_version);
            let version = workflows::service::version(&ctx, id, number).await?;
            let tenant = tenant_id(&found.tenant_id)?;
            Ok(StudioDocument {
                workflow_id: found.id.to_string(),
                can_edit: ctx.may(Action::EditWorkflows, Resource::Tenant(&tenant)),
                tenant_id: found.tenant_id,
                name: found.name,
                version: version.summary.version,
                latest_version: found.latest_version,
                bpmn_xml: version.bpmn_xml,
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
            let ctx = backend.ctx(parts).await?;
            let message = Some(message).filter(|m| !m.trim().is_empty());
            match workflow {
                Some(workflow) => {
                    let id = uuid_of(&workflow, "workflow")?;
                    let new = NewVersion { bpmn_xml, message };
                    let (version, created) = workflows::service::add_version(&ctx, id, new).await?;
                    Ok(SavedVersion {
                        workflow_id: version.workflow_id.to_string(),
                        version: version.version,
                        created,
                    })
                }
                None => {
                    let new = NewWorkflow {
                        tenant_id: Some(tenant),
                        name: None,
                        description: None,
                        variables_schema: None,
                        bpmn_xml,
                        message,
                    };
                    let (workflow, version) = workflows::service::create(&ctx, new).await?;
                    Ok(SavedVersion {
                        workflow_id: workflow.id.to_string(),
                        version: version.version,
                        created: true,
                    })
                }
            }
        })
    }
}
