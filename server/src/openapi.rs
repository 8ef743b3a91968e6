//! The OpenAPI 3.1 description of the REST API, generated from the handlers' annotations and
//! the request and response types, served at `GET /api/v1/openapi.json`.
//!
//! The committed copy, `server/openapi.json`, is what clients and reviewers read; a test fails
//! when it differs from what this module generates (`UPDATE_OPENAPI=1 cargo test -p server
//! openapi` rewrites it).

use axum::{Json, response::IntoResponse};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, RefOr, Response, ResponseBuilder,
        path::Operation,
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    audit::{self, routes as audit_routes},
    auth::{Me, MembershipView, login, routes as auth_routes, tokens},
    deployments::{self as dep, routes as deployment_routes},
    domain::Role,
    engine_access::routes as engine_clients,
    environments::{self as env, routes as environment_routes},
    error::ErrorBody,
    executions::{self as exe, routes as execution_routes},
    monitor::{query, routes as monitor, trail as execution_audit, ws},
    planes::routes as planes,
    tenants::{
        Member, NewMember, Plan, Quotas, Tenant, TenantConfig, TenantStatus,
        cloud::{CloudConfig, RoleArn, VpcId},
        routes as tenant_routes,
    },
    workflows::{self as wf, routes as workflow_routes},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ASTRAflow API",
        description = "The control plane's REST API. Authenticate with `Authorization: Bearer \
            astf_…` (an API token, scoped to one tenant and role) or with the session cookie \
            that `POST /api/v1/auth/login` sets. Every error answers `{code, message, \
            correlation_id}`, and `correlation_id` equals the `x-request-id` response header.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        auth_routes::sign_in,
        auth_routes::sign_out,
        auth_routes::me,
        auth_routes::change_password,
        auth_routes::set_password,
        auth_routes::send_password_link,
        tenant_routes::list_tenants,
        tenant_routes::create_tenant,
        tenant_routes::get_tenant,
        tenant_routes::update_config,
        tenant_routes::list_members,
        tenant_routes::add_member,
        tenant_routes::change_role,
        tenant_routes::remove_member,
        auth_routes::create_token,
        auth_routes::list_tokens,
        auth_routes::revoke_token,
        audit_routes::list_audit,
        audit_routes::verify_audit,
        audit_routes::list_checkpoints,
        audit_routes::checkpoint_key,
        workflow_routes::list_workflows,
        workflow_routes::create_workflow,
        workflow_routes::get_workflow,
        workflow_routes::update_workflow,
        workflow_routes::delete_workflow,
        workflow_routes::list_versions,
        workflow_routes::add_version,
        workflow_routes::get_version,
        execution_routes::list_executions,
        execution_routes::start_execution,
        deployment_routes::list_deployments,
        deployment_routes::request_deployment,
        deployment_routes::get_deployment,
        deployment_routes::deployment_status,
        deployment_routes::list_approvals,
        deployment_routes::approve_deployment,
        deployment_routes::rollback_deployment,
        deployment_routes::reject_deployment,
        environment_routes::list_environments,
        environment_routes::update_environment,
        workflow_routes::list_job_types,
        workflow_routes::add_job_type,
        workflow_routes::remove_job_type,
        monitor::ingest_records,
        monitor::create_ingest_token,
        monitor::list_instances,
        monitor::get_instance,
        monitor::cancel_instance,
        monitor::set_variables,
        monitor::list_incidents,
        monitor::retry_incident,
        monitor::list_execution_audit,
        monitor::verify_execution_audit,
        monitor::export_audit,
        monitor::list_dead_letters,
        ws::upgrade,
        engine_clients::create_client,
        engine_clients::list_clients,
        engine_clients::revoke_client,
        planes::heartbeat,
        planes::list_planes,
    ),
    components(schemas(
        ErrorBody,
        Me,
        MembershipView,
        Role,
        Tenant,
        TenantStatus,
        Plan,
        Quotas,
        CloudConfig,
        VpcId,
        RoleArn,
        TenantConfig,
        Member,
        NewMember,
        login::Credentials,
        login::PasswordChange,
        crate::auth::links::SetPassword,
        crate::auth::service::LinkRequest,
        crate::auth::service::SentLink,
        tokens::NewToken,
        tokens::CreatedToken,
        tokens::TokenInfo,
        tokens::TokenState,
        audit::AuditEvent,
        audit::Verification,
        audit::checkpoint::Checkpoint,
        audit::checkpoint::CheckpointKey,
        audit_routes::TrailName,
        audit::chain::BrokenLink,
        wf::Workflow,
        wf::NewWorkflow,
        wf::WorkflowUpdate,
        wf::VersionSummary,
        wf::Version,
        wf::NewVersion,
        wf::JobType,
        workflow_routes::CreatedWorkflow,
        deployment_routes::DeploymentStatus,
        dep::State,
        env::Environment,
        env::EngineSettings,
        env::EnvironmentUpdate,
        dep::Deployment,
        dep::Approval,
        dep::NewDeployment,
        dep::NewApproval,
        exe::Execution,
        exe::NewExecution,
        monitor::IngestBatch,
        monitor::IngestResult,
        crate::monitor::ingest::DeadLetter,
        monitor::CreatedIngestToken,
        monitor::VariablesUpdate,
        monitor::RetryRequest,
        monitor::RetryOutcome,
        query::InstanceSummary,
        query::InstancePage,
        query::StateFilter,
        query::InstanceDetail,
        query::ElementView,
        query::VariableView,
        query::IncidentView,
        query::JobView,
        execution_audit::ExecutionAuditEvent,
        engine_clients::EnginePermission,
        engine_clients::NewEngineClient,
        engine_clients::CreatedEngineClient,
        engine_clients::EngineClient,
        planes::PlaneHeartbeat,
        planes::PlaneState,
        planes::Plane,
    )),
    modifiers(&Conventions),
    security(("bearer" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Signing in and out, the caller itself"),
        (name = "tenants", description = "Tenants and their configuration"),
        (name = "members", description = "Who belongs to a tenant, in which role"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "The tenant's tamper-evident audit trail"),
        (name = "workflows", description = "Workflows and their immutable versions"),
        (name = "deployments", description = "Deploying versions to environments: validation, approvals, rollback"),
        (name = "environments", description = "A tenant's environments and the job types its workers serve"),
        (name = "executions", description = "Starting workflow instances"),
        (name = "monitor", description = "Live execution monitoring: instances, incidents, operations, record ingest and the WebSocket feed"),
        (name = "execution planes", description = "The execution planes (astraflow-plane) customers run: their heartbeats and the tenant's list of them"),
        (name = "engine clients", description = "OAuth clients of an environment's engine: the credentials Zeebe workers exchange at `POST /oauth/token` (client credentials grant) for access tokens to the engine's gateway"),
    ),
)]
struct ApiDoc;

/// The document, as served and as committed.
pub fn document() -> openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`; public, like any API's published contract.
pub async fn serve() -> impl IntoResponse {
    Json(document())
}

/// What every operation shares, added in one place so no handler can forget it: the two
/// security schemes, and the error responses that the middleware and extractors give any
/// endpoint (a malformed body, no credentials, a forbidden role, an unknown tenant, the rate
/// limit).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("astf_ API token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ingest_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("astfi_ ingest token of one environment")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "engine_client_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT access token of an engine client, from POST /oauth/token")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("astraflow_session"))),
        );

        for (path, item) in openapi.paths.paths.iter_mut() {
            let in_tenant = ["{tenant}", "{workflow}", "{deployment}"]
                .iter()
                .any(|parameter| path.contains(parameter));
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_common_responses(operation, in_tenant);
            }
        }
    }
}

fn add_common_responses(operation: &mut Operation, in_tenant: bool) {
    // `security(())` on an operation means "no credentials needed".
    let public = operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(is_empty_requirement));
    let takes_input = operation.request_body.is_some()
        || operation
            .parameters
            .as_ref()
            .is_some_and(|parameters| !parameters.is_empty());
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    };
    if takes_input {
        add(
            "400",
            "The request is malformed (not the JSON or query the endpoint takes)",
        );
    }
    if !public {
        add("401", "No valid session or API token");
        add(
            "403",
            "The caller's role does not allow this (or a one-time password must be changed first)",
        );
        add(
            "429",
            "The caller's request allowance is used up; see `Retry-After`",
        );
    }
    if in_tenant {
        add("404", "Not found in the caller's tenants");
    }
}

fn is_empty_requirement(requirement: &openapi::security::SecurityRequirement) -> bool {
    requirement == &openapi::security::SecurityRequirement::default()
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            openapi::ContentBuilder::new()
                .schema(Some(openapi::Ref::from_schema_name("Error")))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn committed_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
    }

    #[test]
    fn committed_openapi_document_is_current() {
        let generated = document()
            .to_pretty_json()
            .expect("the document serializes")
            + "\n";
        let path = committed_path();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is out of date; run `UPDATE_OPENAPI=1 cargo test -p server openapi` and commit it",
            path.display()
        );
    }

    #[test]
    fn every_api_route_is_documented() {
        let documented = document();
        let source = concat!(
            include_str!("api.rs"),
            include_str!("auth/routes.rs"),
            include_str!("tenants/routes.rs"),
            include_str!("audit/routes.rs"),
            include_str!("workflows/routes.rs"),
            include_str!("environments/routes.rs"),
            include_str!("deployments/routes.rs"),
            include_str!("executions/routes.rs"),
            include_str!("monitor/routes.rs"),
            include_str!("engine_access/routes.rs"),
            include_str!("planes/routes.rs")
        );
        // Every string literal naming an API path: the router's routes (and the annotations,
        // which are documented by definition).
        for route in source
            .split('"')
            .filter(|token| token.starts_with("/api/v1/"))
        {
            if route.contains('*') || route.ends_with("openapi.json") {
                continue;
            }
            assert!(
                documented.paths.paths.contains_key(route),
                "{route} is routed but missing from the OpenAPI document"
            );
        }
    }
}
