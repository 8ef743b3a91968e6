//! The authorisation matrix: every tenant endpoint × every kind of caller × own and foreign
//! tenant, with the expected status written out here (not derived from the policy under test).

use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::TestApp;

const PASSWORD: &str = "matrix password 1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Admin,
    Owner,
    Editor,
    Viewer,
    Auditor,
    /// Signed in, member of no tenant.
    Outsider,
    /// API tokens scoped to the own tenant.
    OwnerToken,
    ViewerToken,
    Anonymous,
}

const CALLERS: [Caller; 9] = [
    Caller::Admin,
    Caller::Owner,
    Caller::Editor,
    Caller::Viewer,
    Caller::Auditor,
    Caller::Outsider,
    Caller::OwnerToken,
    Caller::ViewerToken,
    Caller::Anonymous,
];

/// Who may call an endpoint in their own tenant.
#[derive(Debug, Clone, Copy)]
enum Allowed {
    AnyMember,
    OwnerOnly,
    OwnerOrAuditor,
    OwnerOrEditor,
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    GetTenant,
    PutConfig,
    ListUsers,
    AddUser,
    ChangeRole,
    RemoveUser,
    CreateToken,
    ListTokens,
    RevokeToken,
    ListAudit,
    VerifyAudit,
    ListWorkflows,
    CreateWorkflow,
    GetWorkflow,
    UpdateWorkflow,
    ListVersions,
    AddVersion,
    GetVersion,
    ListExecutions,
    ListDeployments,
    RequestDeployment,
    GetDeployment,
    DeploymentStatus,
    ListApprovals,
    ListEnvironments,
    UpdateEnvironment,
    ListJobTypes,
    AddJobType,
    RemoveJobType,
    ListInstances,
    ListIncidents,
    ListExecutionAudit,
    VerifyExecutionAudit,
    ExportAudit,
    CreateIngestToken,
    CreateEngineClient,
    ListEngineClients,
    RevokeEngineClient,
    ListPlanes,
}

const ENDPOINTS: [(Endpoint, Allowed, u16); 39] = [
    (Endpoint::GetTenant, Allowed::AnyMember, 200),
    (Endpoint::PutConfig, Allowed::OwnerOnly, 200),
    (Endpoint::ListUsers, Allowed::AnyMember, 200),
    (Endpoint::AddUser, Allowed::OwnerOnly, 201),
    (Endpoint::ChangeRole, Allowed::OwnerOnly, 200),
    (Endpoint::RemoveUser, Allowed::OwnerOnly, 204),
    (Endpoint::CreateToken, Allowed::OwnerOnly, 201),
    (Endpoint::ListTokens, Allowed::OwnerOnly, 200),
    (Endpoint::RevokeToken, Allowed::OwnerOnly, 204),
    (Endpoint::ListAudit, Allowed::OwnerOrAuditor, 200),
    (Endpoint::VerifyAudit, Allowed::OwnerOrAuditor, 200),
    (Endpoint::ListWorkflows, Allowed::AnyMember, 200),
    (Endpoint::CreateWorkflow, Allowed::OwnerOrEditor, 201),
    (Endpoint::GetWorkflow, Allowed::AnyMember, 200),
    (Endpoint::UpdateWorkflow, Allowed::OwnerOrEditor, 200),
    (Endpoint::ListVersions, Allowed::AnyMember, 200),
    (Endpoint::AddVersion, Allowed::OwnerOrEditor, 201),
    (Endpoint::GetVersion, Allowed::AnyMember, 200),
    (Endpoint::ListExecutions, Allowed::AnyMember, 200),
    (Endpoint::ListDeployments, Allowed::AnyMember, 200),
    (Endpoint::RequestDeployment, Allowed::OwnerOrEditor, 202),
    (Endpoint::GetDeployment, Allowed::AnyMember, 200),
    (Endpoint::DeploymentStatus, Allowed::AnyMember, 200),
    (Endpoint::ListApprovals, Allowed::AnyMember, 200),
    (Endpoint::ListEnvironments, Allowed::AnyMember, 200),
    (Endpoint::UpdateEnvironment, Allowed::OwnerOnly, 200),
    (Endpoint::ListJobTypes, Allowed::AnyMember, 200),
    (Endpoint::AddJobType, Allowed::OwnerOrEditor, 201),
    (Endpoint::RemoveJobType, Allowed::OwnerOrEditor, 204),
    (Endpoint::ListInstances, Allowed::AnyMember, 200),
    (Endpoint::ListIncidents, Allowed::AnyMember, 200),
    (Endpoint::ListExecutionAudit, Allowed::OwnerOrAuditor, 200),
    (Endpoint::VerifyExecutionAudit, Allowed::OwnerOrAuditor, 200),
    (Endpoint::ExportAudit, Allowed::OwnerOrAuditor, 200),
    (Endpoint::CreateIngestToken, Allowed::OwnerOnly, 201),
    (Endpoint::CreateEngineClient, Allowed::OwnerOnly, 201),
    (Endpoint::ListEngineClients, Allowed::OwnerOnly, 200),
    (Endpoint::RevokeEngineClient, Allowed::OwnerOnly, 204),
    (Endpoint::ListPlanes, Allowed::AnyMember, 200),
];

/// A one-task process whose id and name vary, so every call stores something new.
fn process(id: &str, name: &str) -> String {
    format!(
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="{id}" name="{name}" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>"#
    )
}

fn expected(caller: Caller, own_tenant: bool, allowed: Allowed, success: u16) -> u16 {
    use Caller::*;
    match caller {
        Anonymous => 401,
        Admin => success,
        Outsider => 404,
        _ if !own_tenant => 404,
        Owner | OwnerToken => success,
        Auditor => match allowed {
            Allowed::AnyMember | Allowed::OwnerOrAuditor => success,
            Allowed::OwnerOnly | Allowed::OwnerOrEditor => 403,
        },
        Editor => match allowed {
            Allowed::AnyMember | Allowed::OwnerOrEditor => success,
            Allowed::OwnerOnly | Allowed::OwnerOrAuditor => 403,
        },
        Viewer | ViewerToken => match allowed {
            Allowed::AnyMember => success,
            Allowed::OwnerOnly | Allowed::OwnerOrAuditor | Allowed::OwnerOrEditor => 403,
        },
    }
}

struct World {
    app: TestApp,
    clients: Vec<(Caller, Client, Option<String>)>,
    /// Per tenant: a member whose role the matrix changes back and forth.
    spare: [(String, Uuid); 2],
    /// Per tenant: a workflow and one of its deployments.
    workflows: [(String, String, String); 2],
    _dir: tempfile::TempDir,
}

impl World {
    fn call(&self, caller: Caller, method: Method, path: &str) -> RequestBuilder {
        let (_, client, token) = self.clients.iter().find(|(c, ..)| *c == caller).unwrap();
        let request = client.request(method, self.app.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// A fresh member to remove, added directly in the database.
    async fn disposable_member(&self, tenant: &str) -> Uuid {
        let pool = self.app.owner_pool().await;
        let email = format!("{}@example.com", Uuid::new_v4().simple());
        let id: Uuid =
            sqlx::query_scalar("insert into users (email, name) values ($1, $1) returning id")
                .bind(&email)
                .fetch_one(&pool)
                .await
                .unwrap();
        sqlx::query("insert into memberships (tenant_id, user_id, role) values ($1, $2, 'viewer')")
            .bind(tenant)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        id
    }

    /// An engine client of the tenant's `dev` environment to revoke, made directly in the
    /// database (its secret's hash is never used here).
    async fn disposable_engine_client(&self, tenant: &str) -> String {
        let pool = self.app.owner_pool().await;
        let client_id = format!("astc_{}", Uuid::new_v4().simple());
        sqlx::query(
            "insert into engine_clients (tenant_id, environment, client_id, secret_hash, name, \
             permissions) values ($1, 'dev', $2, $3, 'matrix', '{jobs}')",
        )
        .bind(tenant)
        .bind(&client_id)
        .bind(vec![0u8; 32])
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        client_id
    }

    /// An API token of the tenant to revoke, made directly in the database (its secret's hash
    /// is never used here).
    async fn disposable_token(&self, tenant: &str) -> Uuid {
        let pool = self.app.owner_pool().await;
        let id = sqlx::query_scalar(
            "insert into api_tokens (tenant_id, name, role, token_hash, expires_at) \
             values ($1, 'matrix', 'viewer', $2, now() + interval '1 day') returning id",
        )
        .bind(tenant)
        .bind(Uuid::new_v4().as_bytes().repeat(2))
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        id
    }

    /// A job type to remove, declared directly in the database.
    async fn disposable_job_type(&self, tenant: &str) -> String {
        let pool = self.app.owner_pool().await;
        let job_type = format!("worker-{}", Uuid::new_v4().simple());
        sqlx::query("insert into job_types (tenant_id, type) values ($1, $2)")
            .bind(tenant)
            .bind(&job_type)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        job_type
    }

    async fn request(&self, caller: Caller, endpoint: Endpoint, tenant: &str) -> reqwest::Response {
        let base = format!("/api/v1/tenants/{tenant}");
        let spare = self.spare.iter().find(|(t, _)| t == tenant).unwrap().1;
        let (_, workflow, deployment) = self.workflows.iter().find(|(t, ..)| t == tenant).unwrap();
        let workflow_path = format!("/api/v1/workflows/{workflow}");
        let deployment_path = format!("/api/v1/deployments/{deployment}");
        let fresh = Uuid::new_v4().simple().to_string();
        let request = match endpoint {
            Endpoint::GetTenant => self.call(caller, Method::GET, &base),
            Endpoint::PutConfig => self
                .call(caller, Method::PUT, &format!("{base}/config"))
                .json(&json!({
                    "name": format!("Tenant {tenant}"),
                    "status": "active",
                    // The tenant's own plan and quotas: only platform administrators change
                    // those (tested below), owners the rest.
                    "plan": "standard",
                    "quotas": { "max_users": 50, "max_workflows": 100 },
                    "cloud": { "aws_account_id": "123456789012", "aws_region": "eu-west-1" },
                })),
            Endpoint::ListUsers => self.call(caller, Method::GET, &format!("{base}/users")),
            Endpoint::AddUser => self
                .call(caller, Method::POST, &format!("{base}/users"))
                .json(&json!({
                    "email": format!("{}@example.com", Uuid::new_v4().simple()),
                    "role": "viewer",
                })),
            Endpoint::ChangeRole => self
                .call(caller, Method::PUT, &format!("{base}/users/{spare}"))
                .json(&json!({ "role": "editor" })),
            Endpoint::RemoveUser => {
                let member = self.disposable_member(tenant).await;
                self.call(caller, Method::DELETE, &format!("{base}/users/{member}"))
            }
            Endpoint::CreateToken => self
                .call(caller, Method::POST, &format!("{base}/tokens"))
                .json(&json!({ "name": "matrix", "role": "viewer", "expires_in_days": 1 })),
            Endpoint::ListTokens => self.call(caller, Method::GET, &format!("{base}/tokens")),
            Endpoint::RevokeToken => {
                let token = self.disposable_token(tenant).await;
                self.call(caller, Method::DELETE, &format!("{base}/tokens/{token}"))
            }
            Endpoint::ListAudit => self.call(caller, Method::GET, &format!("{base}/audit")),
            Endpoint::VerifyAudit => {
                self.call(caller, Method::GET, &format!("{base}/audit/verify"))
            }
            Endpoint::ListWorkflows => self.call(
                caller,
                Method::GET,
                &format!("/api/v1/workflows?tenant={tenant}"),
            ),
            Endpoint::CreateWorkflow => {
                self.call(caller, Method::POST, "/api/v1/workflows")
                    .json(&json!({
                        "tenant_id": tenant,
                        "bpmn_xml": process(&format!("p{fresh}"), "New"),
                    }))
            }
            Endpoint::GetWorkflow => self.call(caller, Method::GET, &workflow_path),
            Endpoint::UpdateWorkflow => self
                .call(caller, Method::PUT, &workflow_path)
                .json(&json!({ "name": format!("Renamed {fresh}"), "description": "" })),
            Endpoint::ListVersions => {
                self.call(caller, Method::GET, &format!("{workflow_path}/versions"))
            }
            Endpoint::AddVersion => self
                .call(caller, Method::POST, &format!("{workflow_path}/versions"))
                .json(&json!({ "bpmn_xml": process("matrix", &fresh) })),
            Endpoint::GetVersion => {
                self.call(caller, Method::GET, &format!("{workflow_path}/versions/1"))
            }
            Endpoint::ListExecutions => {
                self.call(caller, Method::GET, &format!("{workflow_path}/executions"))
            }
            Endpoint::ListDeployments => self.call(
                caller,
                Method::GET,
                &format!("/api/v1/deployments?tenant={tenant}"),
            ),
            Endpoint::RequestDeployment => self
                .call(caller, Method::POST, "/api/v1/deployments")
                .json(&json!({ "workflow_id": workflow, "environment": "dev" })),
            Endpoint::GetDeployment => self.call(caller, Method::GET, &deployment_path),
            Endpoint::DeploymentStatus => {
                self.call(caller, Method::GET, &format!("{deployment_path}/status"))
            }
            Endpoint::ListApprovals => {
                self.call(caller, Method::GET, &format!("{deployment_path}/approvals"))
            }
            Endpoint::ListEnvironments => {
                self.call(caller, Method::GET, &format!("{base}/environments"))
            }
            Endpoint::ListPlanes => self.call(caller, Method::GET, &format!("{base}/planes")),
            Endpoint::UpdateEnvironment => self
                .call(caller, Method::PUT, &format!("{base}/environments/staging"))
                .json(&json!({
                    "approvals_required": 1,
                    "approver_roles": ["owner", "editor"],
                    "require_owner_approval": false,
                    "engine_kind": "embedded",
                })),
            Endpoint::ListJobTypes => self.call(caller, Method::GET, &format!("{base}/job-types")),
            Endpoint::AddJobType => self
                .call(caller, Method::POST, &format!("{base}/job-types"))
                .json(&json!({ "type": format!("worker-{fresh}") })),
            Endpoint::RemoveJobType => {
                let job_type = self.disposable_job_type(tenant).await;
                self.call(
                    caller,
                    Method::DELETE,
                    &format!("{base}/job-types/{job_type}"),
                )
            }
            Endpoint::ListInstances => self.call(caller, Method::GET, &format!("{base}/instances")),
            Endpoint::ListIncidents => self.call(caller, Method::GET, &format!("{base}/incidents")),
            Endpoint::ListExecutionAudit => {
                self.call(caller, Method::GET, &format!("{base}/execution-audit"))
            }
            Endpoint::VerifyExecutionAudit => self.call(
                caller,
                Method::GET,
                &format!("{base}/execution-audit/verify"),
            ),
            Endpoint::ExportAudit => self.call(
                caller,
                Method::GET,
                &format!("{base}/audit/export?trail=execution&format=csv"),
            ),
            Endpoint::CreateIngestToken => self.call(
                caller,
                Method::POST,
                &format!("{base}/environments/prod/ingest-token"),
            ),
            Endpoint::CreateEngineClient => self
                .call(
                    caller,
                    Method::POST,
                    &format!("{base}/environments/dev/clients"),
                )
                .json(&json!({ "name": "matrix", "permissions": ["jobs", "instances"] })),
            Endpoint::ListEngineClients => self.call(
                caller,
                Method::GET,
                &format!("{base}/environments/dev/clients"),
            ),
            Endpoint::RevokeEngineClient => {
                let client = self.disposable_engine_client(tenant).await;
                self.call(
                    caller,
                    Method::DELETE,
                    &format!("{base}/environments/dev/clients/{client}"),
                )
            }
        };
        request.send().await.unwrap()
    }
}

async fn world() -> World {
    let (app, dir) = TestApp::with_fresh_database().await;
    app.create_user("admin@example.com", PASSWORD, true).await;
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    for id in ["own", "foreign"] {
        let response = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": id, "name": format!("Tenant {id}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let mut spare = Vec::new();
    for tenant in ["own", "foreign"] {
        let roles = [
            ("owner", "owner"),
            ("editor", "editor"),
            ("viewer", "viewer"),
            ("auditor", "auditor"),
            ("spare", "viewer"),
        ];
        for (name, role) in roles {
            let email = format!("{name}@{tenant}.example.com");
            app.create_user(&email, PASSWORD, false).await;
            let added: Value = admin
                .post(app.url(&format!("/api/v1/tenants/{tenant}/users")))
                .json(&json!({ "email": email, "role": role }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if name == "spare" {
                spare.push((
                    tenant.to_owned(),
                    added["user_id"].as_str().unwrap().parse().unwrap(),
                ));
            }
        }
    }
    app.create_user("outsider@example.com", PASSWORD, false)
        .await;
    // Ingest tokens exist only for external engines: `prod` points at one.
    for tenant in ["own", "foreign"] {
        let response = admin
            .put(app.url(&format!("/api/v1/tenants/{tenant}/environments/prod")))
            .json(&json!({
                "approvals_required": 0,
                "approver_roles": ["owner"],
                "require_owner_approval": false,
                "engine_kind": "external",
                "engine_address": "http://127.0.0.1:9",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    let mut clients = vec![
        (Caller::Admin, admin.clone(), None),
        (Caller::Anonymous, app.browser(), None),
        (
            Caller::Outsider,
            app.sign_in("outsider@example.com", PASSWORD).await,
            None,
        ),
    ];
    for (caller, name) in [
        (Caller::Owner, "owner"),
        (Caller::Editor, "editor"),
        (Caller::Viewer, "viewer"),
        (Caller::Auditor, "auditor"),
    ] {
        let client = app
            .sign_in(&format!("{name}@own.example.com"), PASSWORD)
            .await;
        clients.push((caller, client, None));
    }
    for (caller, role) in [
        (Caller::OwnerToken, "owner"),
        (Caller::ViewerToken, "viewer"),
    ] {
        let created: Value = admin
            .post(app.url("/api/v1/tenants/own/tokens"))
            .json(&json!({ "name": role, "role": role, "expires_in_days": 1 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = created["token"].as_str().unwrap().to_owned();
        // Token clients keep no cookies and send no Origin: they are not browsers.
        clients.push((caller, Client::new(), Some(token)));
    }
    let mut workflows = Vec::new();
    for tenant in ["own", "foreign"] {
        let created: Value = admin
            .post(app.url("/api/v1/workflows"))
            .json(&json!({ "tenant_id": tenant, "bpmn_xml": process("matrix", "Matrix") }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let workflow = created["workflow"]["id"].as_str().unwrap().to_owned();
        let deployment: Value = admin
            .post(app.url("/api/v1/deployments"))
            .json(&json!({ "workflow_id": workflow, "environment": "staging" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let deployment = deployment["id"].as_str().unwrap().to_owned();
        workflows.push((tenant.to_owned(), workflow, deployment));
    }
    World {
        app,
        clients,
        spare: [spare[0].clone(), spare[1].clone()],
        workflows: [workflows[0].clone(), workflows[1].clone()],
        _dir: dir,
    }
}

#[tokio::test]
async fn every_endpoint_for_every_caller_in_own_and_foreign_tenant() {
    let world = world().await;
    let mut mismatches = Vec::new();
    for (endpoint, allowed, success) in ENDPOINTS {
        for caller in CALLERS {
            for (tenant, own) in [("own", true), ("foreign", false)] {
                let want = expected(caller, own, allowed, success);
                let response = world.request(caller, endpoint, tenant).await;
                let got = response.status().as_u16();
                if got != want {
                    let body = response.text().await.unwrap_or_default();
                    mismatches.push(format!(
                        "{endpoint:?} {caller:?} {tenant}: want {want}, got {got} {body}"
                    ));
                } else if got >= 400 {
                    let body: Value = response.json().await.unwrap();
                    assert!(
                        body["code"].is_string() && body["correlation_id"].is_string(),
                        "{body}"
                    );
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // Platform endpoints: only a signed-in administrator creates tenants or lists all.
    for caller in CALLERS {
        let created = world
            .call(caller, Method::POST, "/api/v1/tenants")
            .json(&json!({ "id": format!("t-{}", Uuid::new_v4().simple().to_string().get(..8).unwrap()), "name": "New" }))
            .send()
            .await
            .unwrap()
            .status();
        let want = match caller {
            Caller::Admin => 201,
            Caller::Anonymous => 401,
            _ => 403,
        };
        assert_eq!(created, want, "create tenant as {caller:?}");

        let listed = world
            .call(caller, Method::GET, "/api/v1/tenants")
            .send()
            .await
            .unwrap();
        if caller == Caller::Anonymous {
            assert_eq!(listed.status(), 401);
            continue;
        }
        let ids: Vec<String> = listed
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        match caller {
            Caller::Admin => {
                assert!(ids.contains(&"own".into()) && ids.contains(&"foreign".into()))
            }
            Caller::Outsider => assert!(ids.is_empty(), "{ids:?}"),
            _ => assert_eq!(ids, ["own"], "{caller:?}"),
        }
        let me = world
            .call(caller, Method::GET, "/api/v1/me")
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
    }

    // Every change above was recorded, and both chains still verify.
    for tenant in ["own", "foreign"] {
        let verification: Value = world
            .call(
                Caller::Admin,
                Method::GET,
                &format!("/api/v1/tenants/{tenant}/audit/verify"),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(verification["ok"], true, "{verification}");
        assert!(verification["events_checked"].as_u64().unwrap() > 10);
    }
    world.app.stop().await;
}

#[tokio::test]
async fn only_platform_admins_suspend_and_a_suspended_tenant_refuses_changes() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("admin@example.com", PASSWORD, true).await;
    app.create_user("owner@example.com", PASSWORD, false).await;
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "paused", "name": "Paused" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let added = admin
        .post(app.url("/api/v1/tenants/paused/users"))
        .json(&json!({ "email": "owner@example.com", "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    let config = |status: &str, name: &str| {
        json!({
            "name": name,
            "status": status,
            "plan": "standard",
            "quotas": { "max_users": 50, "max_workflows": 100 },
        })
    };
    let put = |client: &Client, body: Value| {
        client
            .put(app.url("/api/v1/tenants/paused/config"))
            .json(&body)
            .send()
    };
    let add = |client: &Client| {
        client
            .post(app.url("/api/v1/tenants/paused/users"))
            .json(&json!({ "email": format!("{}@example.com", Uuid::new_v4().simple()), "role": "viewer" }))
            .send()
    };

    let refused = put(&owner, config("suspended", "Paused")).await.unwrap();
    assert_eq!(refused.status(), 403, "an owner cannot suspend");
    assert_eq!(
        put(&admin, config("suspended", "Paused"))
            .await
            .unwrap()
            .status(),
        200
    );

    let blocked = add(&owner).await.unwrap();
    assert_eq!(blocked.status(), 409);
    let body: Value = blocked.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("suspended"),
        "{body}"
    );
    assert_eq!(
        put(&owner, config("suspended", "Renamed"))
            .await
            .unwrap()
            .status(),
        409
    );
    let token = owner
        .post(app.url("/api/v1/tenants/paused/tokens"))
        .json(&json!({ "name": "t", "role": "viewer", "expires_in_days": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 409);
    // Reading still works.
    let read = owner
        .get(app.url("/api/v1/tenants/paused"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.json::<Value>().await.unwrap()["status"], "suspended");

    assert_eq!(
        put(&admin, config("active", "Paused"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(add(&owner).await.unwrap().status(), 201);

    // Plan and quotas are the platform's too: an owner cannot lift its own limits.
    let raised = |plan: &str, max_users: i32| {
        json!({
            "name": "Paused",
            "status": "active",
            "plan": plan,
            "quotas": { "max_users": max_users, "max_workflows": 100 },
        })
    };
    for body in [raised("enterprise", 50), raised("standard", 100_000)] {
        let refused = put(&owner, body).await.unwrap();
        assert_eq!(refused.status(), 403);
        let message = refused.json::<Value>().await.unwrap()["message"].clone();
        assert!(
            message.as_str().unwrap().contains("plan and quotas"),
            "{message}"
        );
    }
    let unchanged: Value = owner
        .get(app.url("/api/v1/tenants/paused"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["plan"], "standard");
    assert_eq!(unchanged["quotas"]["max_users"], 50);
    assert_eq!(
        put(&admin, raised("enterprise", 500))
            .await
            .unwrap()
            .status(),
        200
    );
    let audit: Value = admin
        .get(app.url("/api/v1/tenants/paused/audit?action=tenant.update_config"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let latest = audit.as_array().unwrap().last().unwrap();
    assert_eq!(latest["after"]["plan"], "enterprise", "{audit}");
    assert_eq!(latest["actor"], "admin@example.com");
    app.stop().await;
}
