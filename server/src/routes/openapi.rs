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

use super::{api, monitor, workflows};
use crate::{
    auth::{Me, MembershipView, login, tokens},
    domain::{
        Role, audit,
        cloud::{CloudConfig, RoleArn, VpcId},
        deployments as dep,
        tenants::{Member, NewMember, Plan, Quotas, Tenant, TenantConfig, TenantStatus},
        workflows as wf,
    },
    engine_access::routes as engine_clients,
    error::ErrorBody,
    monitor::{audit as execution_audit, query, ws},
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
        api::sign_in,
        api::sign_out,
        api::me,
        api::change_password,
        api::list_tenants,
        api::create_tenant,
        api::get_tenant,
        api::update_config,
        api::list_members,
        api::add_member,
        api::change_role,
        api::remove_member,
        api::create_token,
        api::list_audit,
        api::verify_audit,
        workflows::list_workflows,
        workflows::create_workflow,
        workflows::get_workflow,
        workflows::update_workflow,
        workflows::delete_workflow,
        workflows::list_versions,
        workflows::add_version,
        workflows::get_version,
        workflows::list_executions,
        workflows::start_execution,
        workflows::list_deployments,
        workflows::request_deployment,
        workflows::get_deployment,
        workflows::deployment_status,
        workflows::list_approvals,
        workflows::approve_deployment,
        workflows::rollback_deployment,
        workflows::reject_deployment,
        workflows::list_environments,
        workflows::update_environment,
        workflows::list_job_types,
        workflows::add_job_type,
        workflows::remove_job_type,
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
        ws::upgrade,
        engine_clients::create_client,
        engine_clients::list_clients,
        engine_clients::revoke_client,
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
        tokens::NewToken,
        tokens::CreatedToken,
        audit::AuditEvent,
        audit::Verification,
        audit::BrokenLink,
        wf::Workflow,
        wf::NewWorkflow,
        wf::WorkflowUpdate,
        wf::VersionSummary,
        wf::Version,
        wf::NewVersion,
        wf::JobType,
        workflows::CreatedWorkflow,
        workflows::DeploymentStatus,
        dep::State,
        dep::Environment,
        dep::EngineSettings,
        dep::EnvironmentUpdate,
        dep::Deployment,
        dep::Approval,
        dep::NewDeployment,
        dep::NewApproval,
        dep::Execution,
        dep::NewExecution,
        monitor::IngestBatch,
        monitor::IngestResult,
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
            include_str!("workflows.rs"),
            include_str!("monitor.rs"),
            include_str!("../engine_access/routes.rs")
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
