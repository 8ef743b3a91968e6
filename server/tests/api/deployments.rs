//! Workflows, deployments and executions end to end: the server deploys over real gRPC to its
//! embedded engines, and a test worker (a plain Zeebe gateway client) completes the jobs.
//!
//! One file of scenarios that share their setup (a tenant, an owner, a deployed workflow and
//! a worker); split by feature it would repeat those fixtures in each part.

use std::time::Duration;

use serde_json::{Value, json};
use zeebe::gateway as pb;

use crate::helpers::{Gateway, TestApp, gateway_with_token};

pub(crate) const PASSWORD: &str = "correct horse battery";

/// start → charge (service task, job type `payments`) → end; `marker` varies the content so
/// two versions differ.
pub(crate) fn order_bpmn(marker: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://example.com">
  <bpmn:process id="order" name="Order {marker}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="charge" name="Charge">
      <bpmn:extensionElements><zeebe:taskDefinition type="payments" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="order">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="charge_di" bpmnElement="charge"><dc:Bounds x="200" y="78" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118" /><di:waypoint x="200" y="118" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118" /><di:waypoint x="360" y="118" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>"#
    )
}

/// A platform administrator who owns tenant `acme`, signed in.
pub(crate) async fn owner_of_acme(app: &TestApp) -> reqwest::Client {
    app.create_user("owner@example.com", PASSWORD, true).await;
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    let created = owner
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "acme", "name": "Acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    owner
}

/// Tenant `globex` beside acme, created by acme's owner (a platform administrator): the
/// other side of every cross-tenant test.
pub(crate) async fn add_globex(app: &TestApp, owner: &reqwest::Client) {
    let created = owner
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "globex", "name": "Globex" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

/// Adds a member, has them choose a password through a one-time link, and returns them
/// signed in.
pub(crate) async fn member(
    app: &TestApp,
    owner: &reqwest::Client,
    email: &str,
    role: &str,
) -> reqwest::Client {
    let added = owner
        .post(app.url("/api/v1/tenants/acme/users"))
        .json(&json!({ "email": email, "role": role }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201, "{}", added.text().await.unwrap());
    app.choose_password(email, PASSWORD).await;
    app.sign_in(email, PASSWORD).await
}

pub(crate) async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    body
}

pub(crate) async fn declare_payments(app: &TestApp, owner: &reqwest::Client) {
    let declared = owner
        .post(app.url("/api/v1/tenants/acme/job-types"))
        .json(&json!({ "type": "payments", "description": "the payments team's worker" }))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 201);
}

pub(crate) async fn create_workflow(app: &TestApp, client: &reqwest::Client, xml: &str) -> Value {
    let created = client
        .post(app.url("/api/v1/workflows"))
        .json(&json!({ "tenant_id": "acme", "bpmn_xml": xml, "message": "first cut" }))
        .send()
        .await
        .unwrap();
    json_of(created, 201).await["workflow"].clone()
}

pub(crate) async fn deploy(app: &TestApp, client: &reqwest::Client, body: Value) -> Value {
    let requested = client
        .post(app.url("/api/v1/deployments"))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(requested, 202).await
}

/// Polls the deployment until it stops moving (a bounded wait on a real condition).
pub(crate) async fn settled(app: &TestApp, client: &reqwest::Client, id: &str) -> Value {
    for _ in 0..200 {
        let status = json_of(
            client
                .get(app.url(&format!("/api/v1/deployments/{id}/status")))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        if !matches!(
            status["state"].as_str(),
            Some("requested" | "validating" | "deploying")
        ) {
            return json_of(
                client
                    .get(app.url(&format!("/api/v1/deployments/{id}")))
                    .send()
                    .await
                    .unwrap(),
                200,
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deployment {id} did not settle");
}

/// A worker of tenant `acme` on the embedded engine of `environment`, with a token for it.
pub(crate) async fn gateway(app: &TestApp, environment: &str) -> Gateway {
    let address = app.engines.embedded(environment).await.unwrap();
    let token = app.engine_token(environment, "acme");
    gateway_with_token(&address.to_string(), Some(&token)).await
}

/// Activates one `payments` job of tenant `acme`, waiting for one to be there.
pub(crate) async fn next_payment(worker: &mut Gateway) -> pb::ActivatedJob {
    loop {
        let mut stream = worker
            .activate_jobs(pb::ActivateJobsRequest {
                r#type: "payments".into(),
                worker: "test-worker".into(),
                timeout: 60_000,
                max_jobs_to_activate: 1,
                request_timeout: 10_000,
                tenant_ids: vec!["acme".into()],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(job) = stream
            .message()
            .await
            .unwrap()
            .and_then(|batch| batch.jobs.into_iter().next())
        {
            assert_eq!(job.tenant_id, "acme");
            return job;
        }
    }
}

/// Activates and completes one `payments` job for tenant `acme`; returns its instance key.
pub(crate) async fn complete_one_payment(worker: &mut Gateway) -> i64 {
    let job = next_payment(worker).await;
    worker
        .complete_job(pb::CompleteJobRequest {
            job_key: job.key,
            variables: r#"{"charged":true}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    job.process_instance_key
}

#[tokio::test]
async fn a_workflow_deploys_to_dev_over_grpc_and_an_instance_completes_with_a_worker() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    assert_eq!(workflow["key"], "order");
    assert_eq!(workflow["latest_version"], 1);
    let id = workflow["id"].as_str().unwrap();

    let requested = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    let deployed = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");
    assert_eq!(deployed["process_version"], 1);
    assert!(deployed["process_definition_key"].as_i64().unwrap() > 0);

    let mut records = app
        .engines
        .embedded_engine("dev")
        .await
        .expect("the dev engine runs")
        .subscribe(1);
    let started = json_of(
        owner
            .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .json(&json!({ "environment": "dev", "variables": { "amount": 42 } }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let instance = started["process_instance_key"].as_i64().unwrap();
    assert_eq!(started["version"], 1);

    let mut worker = gateway(&app, "dev").await;
    assert_eq!(complete_one_payment(&mut worker).await, instance);
    loop {
        let record = tokio::time::timeout(Duration::from_secs(30), records.recv())
            .await
            .expect("the instance completes")
            .expect("the record stream stays open");
        if record.key == instance && record.intent == zeebe::record::Intent::ELEMENT_COMPLETED {
            break;
        }
    }

    let executions = json_of(
        owner
            .get(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(executions[0]["process_instance_key"], instance);
    assert_eq!(executions[0]["variables"], json!({ "amount": 42 }));

    // prod has its own engine, which has never heard of this process.
    let mut prod = gateway(&app, "prod").await;
    let missing = prod
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            version: -1,
            tenant_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let not_deployed = owner
        .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
        .json(&json!({ "environment": "prod" }))
        .send()
        .await
        .unwrap();
    assert_eq!(not_deployed.status(), 409);

    // Every transition is in the audit trail, and the chain holds.
    let audit = json_of(
        owner
            .get(app.url("/api/v1/tenants/acme/audit?limit=1000"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    for expected in [
        "workflow.create",
        "workflow_version.create",
        "deployment.request",
        "deployment.transition",
        "execution.start",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let verified = json_of(
        owner
            .get(app.url("/api/v1/tenants/acme/audit/verify"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(verified["ok"], true);
    app.stop().await;
}

#[tokio::test]
async fn validation_blocks_an_unknown_job_type_and_names_the_element() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let requested = deploy(
        &app,
        &owner,
        json!({ "workflow_id": workflow["id"], "environment": "dev" }),
    )
    .await;
    let failed = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["error"].as_str().unwrap().contains("payments"),
        "{failed}"
    );
    let unknown = failed["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|diagnostic| diagnostic["code"] == "JOB_TYPE_UNKNOWN")
        .expect("the unknown job type is reported");
    assert_eq!(unknown["element_id"], "charge");
    assert_eq!(unknown["severity"], "error");
    app.stop().await;
}

#[tokio::test]
async fn malformed_bpmn_is_refused_with_a_code_and_nothing_is_stored() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    for (xml, code) in [
        ("<bpmn:definitions", "bpmn_unreadable"),
        (
            r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#,
            "bpmn_unreadable",
        ),
        (
            &order_bpmn("v1").replace(r#"isExecutable="true""#, r#"isExecutable="false""#),
            "bpmn_no_executable_process",
        ),
    ] {
        let refused = owner
            .post(app.url("/api/v1/workflows"))
            .json(&json!({ "tenant_id": "acme", "bpmn_xml": xml }))
            .send()
            .await
            .unwrap();
        let body = json_of(refused, 422).await;
        assert_eq!(body["code"], code, "{body}");
    }
    let listed = json_of(
        owner
            .get(app.url("/api/v1/workflows?tenant=acme"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed, json!([]));

    // A version of another process is refused and names it.
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let other = order_bpmn("v2")
        .replace(r#"id="order""#, r#"id="invoice""#)
        .replace(r#"bpmnElement="order""#, r#"bpmnElement="invoice""#);
    let refused = owner
        .post(app.url(&format!(
            "/api/v1/workflows/{}/versions",
            workflow["id"].as_str().unwrap()
        )))
        .json(&json!({ "bpmn_xml": other }))
        .send()
        .await
        .unwrap();
    let body = json_of(refused, 422).await;
    assert_eq!(body["code"], "bpmn_process_id_changed");
    assert_eq!(body["element_id"], "invoice");
    app.stop().await;
}

#[tokio::test]
async fn prod_needs_two_approvals_including_an_owner_and_never_the_requesters_own() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let requester = member(&app, &owner, "requester@example.com", "editor").await;
    let editor = member(&app, &owner, "editor@example.com", "editor").await;
    let viewer = member(&app, &owner, "viewer@example.com", "viewer").await;
    let workflow = create_workflow(&app, &requester, &order_bpmn("v1")).await;
    let mut progress = app_progress(&app);

    let requested = deploy(
        &app,
        &requester,
        json!({ "workflow_id": workflow["id"], "environment": "prod" }),
    )
    .await;
    let id = requested["id"].as_str().unwrap();
    let waiting = settled(&app, &requester, id).await;
    assert_eq!(waiting["state"], "awaiting_approval");
    assert_eq!(waiting["approvals_missing"], 2);

    let approve = |client: &reqwest::Client| {
        client
            .post(app.url(&format!("/api/v1/deployments/{id}/approvals")))
            .json(&json!({ "comment": "looks right" }))
            .send()
    };
    let own = json_of(approve(&requester).await.unwrap(), 403).await;
    assert!(
        own["message"].as_str().unwrap().contains("someone else"),
        "{own}"
    );
    let by_viewer = json_of(approve(&viewer).await.unwrap(), 403).await;
    assert!(
        by_viewer["message"]
            .as_str()
            .unwrap()
            .contains("owner or editor"),
        "{by_viewer}"
    );
    let first = json_of(approve(&editor).await.unwrap(), 201).await;
    assert_eq!(first["state"], "awaiting_approval");
    assert_eq!(
        first["approvals_missing"], 1,
        "an owner's approval is still needed"
    );
    let twice = json_of(approve(&editor).await.unwrap(), 403).await;
    assert!(twice["message"].as_str().unwrap().contains("already"));
    let second = json_of(approve(&owner).await.unwrap(), 201).await;
    assert_eq!(second["state"], "deploying");
    let deployed = settled(&app, &requester, id).await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");
    let approvers: Vec<&str> = deployed["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|approval| approval["approver"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["editor@example.com", "owner@example.com"]);

    // Subscribers saw every state, in order.
    let mut seen = Vec::new();
    while let Ok(event) = progress.try_recv() {
        if event.deployment_id.to_string() == id {
            seen.push(event.state.as_str());
        }
    }
    assert_eq!(
        seen,
        [
            "requested",
            "validating",
            "awaiting_approval",
            "awaiting_approval",
            "deploying",
            "deployed"
        ]
    );
    app.stop().await;
}

fn app_progress(app: &TestApp) -> tokio::sync::broadcast::Receiver<server::deployments::Progress> {
    app.pipeline.subscribe()
}

#[tokio::test]
async fn rollback_redeploys_the_previous_version_and_new_instances_use_it() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap();
    let v1 = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    assert_eq!(
        settled(&app, &owner, v1["id"].as_str().unwrap()).await["state"],
        "deployed"
    );

    let added = owner
        .post(app.url(&format!("/api/v1/workflows/{id}/versions")))
        .json(&json!({ "bpmn_xml": order_bpmn("v2"), "message": "second cut" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(added, 201).await["version"], 2);
    // The same document again is not a new version.
    let same = owner
        .post(app.url(&format!("/api/v1/workflows/{id}/versions")))
        .json(&json!({ "bpmn_xml": order_bpmn("v2") }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(same, 200).await["version"], 2);
    let history = json_of(
        owner
            .get(app.url(&format!("/api/v1/workflows/{id}/versions")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(history[0]["message"], "second cut");
    assert_eq!(history[0]["author"], "owner@example.com");
    assert_eq!(history[1]["version"], 1);

    let v2 = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    let v2_id = v2["id"].as_str().unwrap();
    assert_eq!(settled(&app, &owner, v2_id).await["process_version"], 2);

    // An instance started on v2 keeps running on v2 across the rollback.
    let on_v2 = json_of(
        owner
            .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .json(&json!({ "environment": "dev" }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(on_v2["version"], 2);

    let rollback = json_of(
        owner
            .post(app.url(&format!("/api/v1/deployments/{v2_id}/rollback")))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    assert_eq!(rollback["version"], 1);
    assert_eq!(rollback["rollback_of"], v2_id);
    let restored = settled(&app, &owner, rollback["id"].as_str().unwrap()).await;
    assert_eq!(restored["state"], "deployed", "{restored}");
    let replaced = json_of(
        owner
            .get(app.url(&format!("/api/v1/deployments/{v2_id}")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(replaced["state"], "rolled_back");

    let on_v1 = json_of(
        owner
            .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .json(&json!({ "environment": "dev" }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(on_v1["version"], 1);
    // Like Zeebe, the engine numbers redeployed older content as its newest process version,
    // so clients that start the latest version by process id get version 1's content too.
    assert_eq!(restored["process_version"], 3);
    assert_eq!(
        on_v1["process_definition_key"],
        restored["process_definition_key"]
    );
    let mut worker = gateway(&app, "dev").await;
    let first = complete_one_payment(&mut worker).await;
    let second = complete_one_payment(&mut worker).await;
    let mut completed = [first, second];
    completed.sort_unstable();
    let mut expected = [
        on_v2["process_instance_key"].as_i64().unwrap(),
        on_v1["process_instance_key"].as_i64().unwrap(),
    ];
    expected.sort_unstable();
    assert_eq!(
        completed, expected,
        "both instances ran, each on its version"
    );

    // Rolling back the rollback's predecessor again is refused: it is no longer active.
    let again = owner
        .post(app.url(&format!("/api/v1/deployments/{v2_id}/rollback")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn another_tenants_workflows_and_deployments_are_not_found() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap();
    let deployment = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    let deployment_id = deployment["id"].as_str().unwrap();
    settled(&app, &owner, deployment_id).await;

    // Someone of another tenant.
    add_globex(&app, &owner).await;
    let added = owner
        .post(app.url("/api/v1/tenants/globex/users"))
        .json(&json!({ "email": "mallory@example.com", "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    app.choose_password("mallory@example.com", PASSWORD).await;
    let mallory = app.sign_in("mallory@example.com", PASSWORD).await;
    for path in [
        format!("/api/v1/workflows/{id}"),
        format!("/api/v1/workflows/{id}/versions"),
        format!("/api/v1/workflows/{id}/versions/1"),
        format!("/api/v1/workflows/{id}/executions"),
        format!("/api/v1/deployments/{deployment_id}"),
        "/api/v1/tenants/acme/environments".to_owned(),
    ] {
        let response = mallory.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    for (path, body) in [
        (
            format!("/api/v1/workflows/{id}/executions"),
            json!({ "environment": "dev" }),
        ),
        (
            format!("/api/v1/deployments/{deployment_id}/rollback"),
            json!({}),
        ),
        (
            "/api/v1/deployments".to_owned(),
            json!({ "workflow_id": id, "environment": "dev" }),
        ),
    ] {
        let response = mallory
            .post(app.url(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let own = json_of(
        mallory
            .get(app.url("/api/v1/workflows"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(own, json!([]), "globex has no workflows");

    // Row-level security: as globex, a query with no WHERE sees none of acme's rows.
    let pool = app.owner_pool().await;
    for table in [
        "workflows",
        "workflow_versions",
        "deployments",
        "executions",
        "environments",
    ] {
        let globex = server::domain::TenantId::new("globex").unwrap();
        let mut tx = server::db::begin_tenant(&pool, &globex, None)
            .await
            .unwrap();
        let foreign: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where tenant_id <> 'globex'"
        ))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        let all: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(foreign, 0, "{table}");
        if table == "environments" {
            assert_eq!(all, 3, "globex sees its own three environments");
        } else {
            assert_eq!(all, 0, "{table}");
        }
        tx.rollback().await.unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn an_engine_secret_is_never_shown_and_does_not_follow_a_new_target() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let put = |body: Value| {
        owner
            .put(app.url("/api/v1/tenants/acme/environments/prod"))
            .json(&body)
            .send()
    };
    let external = |token_url: &str, secret: Option<&str>| {
        let mut body = json!({
            "approvals_required": 2,
            "approver_roles": ["owner", "editor"],
            "require_owner_approval": true,
            "engine_kind": "external",
            "engine_address": "https://zeebe.example.com:443",
            "oauth_token_url": token_url,
            "oauth_client_id": "astraflow",
            "oauth_audience": "zeebe-api",
        });
        if let Some(secret) = secret {
            body["oauth_client_secret"] = json!(secret);
        }
        body
    };
    let saved = json_of(
        put(external(
            "https://login.example.com/oauth/token",
            Some("s3cret"),
        ))
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(saved["engine"]["kind"], "external");
    assert_eq!(saved["engine"]["has_client_secret"], true);
    assert_eq!(saved["engine"]["tenant_id"], "<default>");
    assert!(!saved.to_string().contains("s3cret"), "{saved}");

    // The same target without a secret keeps it.
    let kept = json_of(
        put(external("https://login.example.com/oauth/token", None))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(kept["engine"]["has_client_secret"], true);
    // A new token URL without a new secret drops it: it was entered for the old one.
    let moved = json_of(
        put(external("https://elsewhere.example.net/token", None))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(moved["engine"]["has_client_secret"], false);

    // Neither the API nor the audit trail ever carries the secret.
    let audit = owner
        .get(app.url("/api/v1/tenants/acme/audit?limit=1000"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("environment.update"));
    assert!(!audit.contains("s3cret"));

    // A policy that can never be met is refused.
    let unsatisfiable = put(json!({
        "approvals_required": 1,
        "approver_roles": ["editor"],
        "require_owner_approval": true,
        "engine_kind": "embedded",
    }))
    .await
    .unwrap();
    let body = json_of(unsatisfiable, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("owners"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rollback_in_an_environment_with_approvals_waits_for_them() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let editor = member(&app, &owner, "editor@example.com", "editor").await;
    let workflow = create_workflow(&app, &editor, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap();
    let added = editor
        .post(app.url(&format!("/api/v1/workflows/{id}/versions")))
        .json(&json!({ "bpmn_xml": order_bpmn("v2") }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    // staging needs one approval; the owner gives it for both versions.
    let mut last = String::new();
    for version in [1, 2] {
        let requested = deploy(
            &app,
            &editor,
            json!({ "workflow_id": id, "environment": "staging", "version": version }),
        )
        .await;
        let deployment = requested["id"].as_str().unwrap().to_owned();
        assert_eq!(
            settled(&app, &editor, &deployment).await["state"],
            "awaiting_approval"
        );
        let approved = owner
            .post(app.url(&format!("/api/v1/deployments/{deployment}/approvals")))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(approved.status(), 201);
        assert_eq!(
            settled(&app, &editor, &deployment).await["state"],
            "deployed"
        );
        last = deployment;
    }
    let rollback = json_of(
        editor
            .post(app.url(&format!("/api/v1/deployments/{last}/rollback")))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await;
    let waiting = settled(&app, &editor, rollback["id"].as_str().unwrap()).await;
    assert_eq!(
        waiting["state"], "awaiting_approval",
        "an editor cannot roll back alone"
    );
    assert_eq!(waiting["version"], 1);
    app.stop().await;
}

#[tokio::test]
async fn declared_start_variables_are_checked_before_an_instance_starts() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap();
    let declare = |schema: Value| {
        owner
            .put(app.url(&format!("/api/v1/workflows/{id}")))
            .json(&json!({ "name": "Order", "description": "", "variables_schema": schema }))
            .send()
    };
    // A keyword the server would not enforce is refused rather than ignored.
    let unsupported = declare(json!({
        "type": "object",
        "properties": { "sku": { "type": "string", "pattern": "^[A-Z]+$" } },
    }))
    .await
    .unwrap();
    let body = json_of(unsupported, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("pattern"),
        "{body}"
    );
    let declared = json_of(
        declare(json!({
            "type": "object",
            "required": ["amount"],
            "properties": { "amount": { "type": "number", "minimum": 1 } },
        }))
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(declared["variables_schema"]["required"], json!(["amount"]));

    let deployed = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    assert_eq!(
        settled(&app, &owner, deployed["id"].as_str().unwrap()).await["state"],
        "deployed"
    );
    let start = |variables: Value| {
        owner
            .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .json(&json!({ "environment": "dev", "variables": variables }))
            .send()
    };
    let refused = json_of(start(json!({ "amount": 0 })).await.unwrap(), 422).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("variables.amount: must be at least 1"),
        "{refused}"
    );
    let missing = json_of(start(json!({})).await.unwrap(), 422).await;
    assert!(missing["message"].as_str().unwrap().contains("is required"));
    let nothing_started = json_of(
        owner
            .get(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(nothing_started, json!([]));
    json_of(start(json!({ "amount": 5 })).await.unwrap(), 201).await;
    app.stop().await;
}

#[tokio::test]
async fn a_deployment_awaiting_approval_is_rejected_for_good() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let editor = member(&app, &owner, "editor@example.com", "editor").await;
    let viewer = member(&app, &owner, "viewer@example.com", "viewer").await;
    let workflow = create_workflow(&app, &editor, &order_bpmn("v1")).await;
    let requested = deploy(
        &app,
        &editor,
        json!({ "workflow_id": workflow["id"], "environment": "prod" }),
    )
    .await;
    let id = requested["id"].as_str().unwrap();
    assert_eq!(
        settled(&app, &editor, id).await["state"],
        "awaiting_approval"
    );
    let reject = |client: &reqwest::Client| {
        client
            .post(app.url(&format!("/api/v1/deployments/{id}/reject")))
            .json(&json!({ "comment": "not before the audit" }))
            .send()
    };
    let by_viewer = json_of(reject(&viewer).await.unwrap(), 403).await;
    assert!(
        by_viewer["message"].as_str().unwrap().contains("approver"),
        "{by_viewer}"
    );
    let rejected = json_of(reject(&owner).await.unwrap(), 200).await;
    assert_eq!(rejected["state"], "failed");
    assert_eq!(
        rejected["error"],
        "rejected by owner@example.com: not before the audit"
    );
    // Gone for good: neither approving nor rejecting it again does anything.
    let late = owner
        .post(app.url(&format!("/api/v1/deployments/{id}/approvals")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 403);
    assert_eq!(reject(&owner).await.unwrap().status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn extreme_numbers_in_variables_survive_the_round_trip_through_postgres() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap();
    let deployed = deploy(
        &app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    settled(&app, &owner, deployed["id"].as_str().unwrap()).await;
    // jsonb stores numbers as decimals and returns 1.7976931348623157e308 with 309 digits.
    let variables =
        json!({ "max": 1.7976931348623157e308, "tiny": 5e-324, "big": -3.2589158477190045e19 });
    let started = json_of(
        owner
            .post(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .json(&json!({ "environment": "dev", "variables": variables }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(started["variables"], variables);
    let listed = json_of(
        owner
            .get(app.url(&format!("/api/v1/workflows/{id}/executions")))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed[0]["variables"], variables);
    app.stop().await;
}

#[tokio::test]
async fn where_private_addresses_are_refused_an_external_engine_on_loopback_is_not_reached() {
    let dir = crate::helpers::shared_tempdir();
    let mut config =
        crate::helpers::test_config(Some(crate::helpers::create_database().await), dir.path());
    config.engines.allow_private_addresses = Some(false);
    let app = TestApp::spawn(config).await;
    let owner = owner_of_acme(&app).await;
    let workflow = create_workflow(
        &app,
        &owner,
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>"#,
    )
    .await;
    // The server's own embedded engine listens on loopback: exactly what must not be reachable.
    let inside = app.engines.embedded("dev").await.unwrap();
    for address in [
        format!("http://{inside}"),
        "http://localhost:26500".to_owned(),
    ] {
        let pointed = owner
            .put(app.url("/api/v1/tenants/acme/environments/staging"))
            .json(&json!({
                "approvals_required": 0,
                "approver_roles": ["owner"],
                "require_owner_approval": false,
                "engine_kind": "external",
                "engine_address": address,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(pointed.status(), 200);
        let requested = deploy(
            &app,
            &owner,
            json!({ "workflow_id": workflow["id"], "environment": "staging" }),
        )
        .await;
        let refused = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
        assert_eq!(refused["state"], "failed", "{address}");
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("private or reserved network"),
            "{refused}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_embedded_engine_that_cannot_start_leaves_the_rest_of_the_server_serving() {
    let dir = crate::helpers::shared_tempdir();
    let database = crate::helpers::create_database().await;
    let config = |database| crate::helpers::test_config(Some(database), dir.path());
    let app = TestApp::spawn(config(database.clone())).await;
    let owner = owner_of_acme(&app).await;
    declare_payments(&app, &owner).await;
    let workflow = create_workflow(&app, &owner, &order_bpmn("v1")).await;
    let workflow = workflow["id"].as_str().unwrap().to_owned();
    let requested = deploy(
        &app,
        &owner,
        json!({ "workflow_id": workflow, "environment": "dev" }),
    )
    .await;
    let id = requested["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &owner, &id).await["state"], "deployed");
    app.stop().await;

    // dev's engine cannot start: its log segment is not a file any more.
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("engines/dev/partition-1"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    let segment = segments.first().expect("dev has a log segment").clone();
    std::fs::remove_file(&segment).unwrap();
    std::fs::create_dir(&segment).unwrap();

    let app = TestApp::spawn(config(database)).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    // The server serves; dev answers that its engine is unavailable, and nothing else fails.
    let listed = owner
        .get(app.url("/api/v1/workflows?tenant=acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let refused = owner
        .post(app.url(&format!("/api/v1/workflows/{workflow}/executions")))
        .json(&json!({ "environment": "dev" }))
        .send()
        .await
        .unwrap();
    let status = refused.status();
    let body = refused.text().await.unwrap();
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "engine_unavailable");
    app.stop().await;
}
