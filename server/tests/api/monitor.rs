//! The live monitor end to end: the embedded engine's records become projections, execution
//! audit events and WebSocket deltas; exporters post records idempotently; operations reach
//! the engine; tenants never see each other.
//!
//! One file of scenarios that share their setup (an engine, a deployed workflow, a WebSocket
//! client); split by feature it would repeat those fixtures in each part.

use std::time::Duration;

use app::api::monitor_protocol::{ClientMessage, Delta, DeltaKind, ServerMessage, Topic};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use zeebe::gateway as pb;

use crate::{
    deployments::{
        PASSWORD, add_globex, complete_one_payment, create_workflow, declare_payments, deploy,
        gateway, json_of, member, order_bpmn, owner_of_acme, settled,
    },
    helpers::{TestApp, free_port, gateway_with_token, shared_tempdir, test_config},
};

/// How long a test waits for something the server does on its own.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An API token of `role` in acme, made by its owner.
pub(crate) async fn token(
    app: &TestApp,
    owner: &reqwest::Client,
    tenant: &str,
    role: &str,
) -> String {
    let created = owner
        .post(app.url(&format!("/api/v1/tenants/{tenant}/tokens")))
        .json(&json!({ "name": format!("ws {role}"), "role": role, "expires_in_days": 1 }))
        .send()
        .await
        .unwrap();
    json_of(created, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Opens the monitor's WebSocket with an API token.
async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = app.url("/api/v1/ws").replacen("http", "ws", 1);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    socket
}

async fn send(socket: &mut Socket, message: &ClientMessage) {
    socket
        .send(Message::Text(
            serde_json::to_string(message).unwrap().into(),
        ))
        .await
        .unwrap();
}

async fn receive(socket: &mut Socket) -> ServerMessage {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message arrives in time")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn subscribe(socket: &mut Socket, id: &str, topic: Topic) -> ServerMessage {
    send(
        socket,
        &ClientMessage::Subscribe {
            id: id.into(),
            topic,
        },
    )
    .await;
    receive(socket).await
}

/// Reads deltas until one satisfies `wanted`.
async fn delta_where(socket: &mut Socket, wanted: impl Fn(&Delta) -> bool) -> Delta {
    loop {
        if let ServerMessage::Delta { deltas, .. } = receive(socket).await
            && let Some(found) = deltas.into_iter().find(|d| wanted(d))
        {
            return found;
        }
    }
}

fn instances_of(tenant: &str) -> Topic {
    Topic::Instances {
        tenant: tenant.into(),
        environment: None,
        bpmn_process_id: None,
    }
}

/// acme with `order` deployed to dev; returns the owner and the workflow id.
pub(crate) async fn acme_with_order(app: &TestApp) -> (reqwest::Client, String) {
    let owner = owner_of_acme(app).await;
    declare_payments(app, &owner).await;
    let workflow = create_workflow(app, &owner, &order_bpmn("v1")).await;
    let id = workflow["id"].as_str().unwrap().to_owned();
    let requested = deploy(
        app,
        &owner,
        json!({ "workflow_id": id, "environment": "dev" }),
    )
    .await;
    let deployed = settled(app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");
    (owner, id)
}

pub(crate) async fn start(
    app: &TestApp,
    client: &reqwest::Client,
    workflow: &str,
    variables: Value,
) -> i64 {
    let started = client
        .post(app.url(&format!("/api/v1/workflows/{workflow}/executions")))
        .json(&json!({ "environment": "dev", "variables": variables }))
        .send()
        .await
        .unwrap();
    json_of(started, 201).await["process_instance_key"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn get_json(app: &TestApp, client: &reqwest::Client, path: &str) -> Value {
    json_of(client.get(app.url(path)).send().await.unwrap(), 200).await
}

#[tokio::test]
async fn instances_are_projected_pushed_live_and_audited_in_a_chain() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    app.hub.ready().await;
    let viewer_token = token(&app, &owner, "acme", "viewer").await;
    let mut socket = connect(&app, &viewer_token).await;
    assert_eq!(
        subscribe(&mut socket, "all", instances_of("acme")).await,
        ServerMessage::Subscribed { id: "all".into() }
    );

    let instance = start(
        &app,
        &owner,
        &workflow,
        json!({ "amount": 42, "cardPassword": "hunter2" }),
    )
    .await;
    let active = delta_where(&mut socket, |d| d.process_instance_key == instance).await;
    assert_eq!(active.kind, DeltaKind::Instance);
    assert_eq!(active.state, "active");
    assert_eq!(active.environment, "dev");
    assert_eq!(active.bpmn_process_id, "order");

    // Following one instance shows its elements move.
    let instance_topic = Topic::Instance {
        tenant: "acme".into(),
        environment: "dev".into(),
        process_instance_key: instance,
    };
    assert!(matches!(
        subscribe(&mut socket, "one", instance_topic).await,
        ServerMessage::Subscribed { .. }
    ));
    let mut worker = gateway(&app, "dev").await;
    assert_eq!(complete_one_payment(&mut worker).await, instance);
    let completed = delta_where(&mut socket, |d| {
        d.kind == DeltaKind::Instance && d.key == instance && d.state == "completed"
    })
    .await;
    assert!(completed.timestamp > 0 && completed.position > 0);

    // The REST views agree.
    let page = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/instances?environment=dev",
    )
    .await;
    assert_eq!(page["instances"][0]["process_instance_key"], instance);
    assert_eq!(page["instances"][0]["state"], "completed");
    assert_eq!(page["instances"][0]["workflow_id"], workflow.as_str());
    let filtered = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/instances?workflow_id={workflow}&state=active"),
    )
    .await;
    assert_eq!(filtered["instances"], json!([]));

    let detail = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/environments/dev/instances/{instance}"),
    )
    .await;
    assert!(detail["bpmn_xml"].as_str().unwrap().contains("charge"));
    let states: Vec<(String, String)> = detail["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["element_id"].as_str().unwrap().to_owned(),
                e["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("start", "completed"),
        ("charge", "completed"),
        ("end", "completed"),
        ("f1", "taken"),
    ] {
        assert!(
            states.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {states:?}"
        );
    }
    let variables: Vec<&str> = detail["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(variables.contains(&"amount") && variables.contains(&"charged"));
    assert_eq!(detail["jobs"][0]["state"], "completed");
    assert_eq!(detail["jobs"][0]["worker"], "test-worker");

    // The execution trail: table 1's fields, names from the model, secrets sanitized.
    let events = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/execution-audit?execution_id={instance}&limit=1000"),
    )
    .await;
    let events = events.as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for expected in [
        "PROCESS_STARTED",
        "TASK_ACTIVATED",
        "JOB_ACTIVATED",
        "JOB_COMPLETED",
        "TASK_COMPLETED",
        "VARIABLE_CREATED",
        "PROCESS_COMPLETED",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
    let started = events
        .iter()
        .find(|e| e["eventType"] == "PROCESS_STARTED")
        .unwrap();
    assert_eq!(started["workflowId"], "order");
    assert_eq!(started["executionId"], instance.to_string());
    assert!(
        started["executionContext"]["startedBy"].is_string(),
        "{started}"
    );
    let task = events
        .iter()
        .find(|e| e["eventType"] == "TASK_COMPLETED")
        .unwrap();
    assert_eq!(task["taskId"], "charge");
    assert_eq!(task["taskName"], "Charge");
    assert!(task["executionContext"]["durationMs"].as_i64().unwrap() >= 0);
    let secret = events
        .iter()
        .find(|e| e["variables"].get("cardPassword").is_some())
        .expect("the variable's creation is audited");
    assert_eq!(secret["variables"]["cardPassword"], "***");
    assert_eq!(
        events
            .iter()
            .find(|e| e["variables"].get("amount").is_some())
            .unwrap()["variables"]["amount"],
        42
    );
    let verified = get_json(&app, &owner, "/api/v1/tenants/acme/execution-audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["events_checked"].as_u64().unwrap() >= events.len() as u64);

    // Viewers see the monitor but not the audit trail.
    let viewer = reqwest::Client::new();
    let denied = viewer
        .get(app.url("/api/v1/tenants/acme/execution-audit"))
        .bearer_auth(&viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn ingest_resumes_after_a_restart_without_gap_or_duplicate() {
    let dir = shared_tempdir();
    let database = crate::helpers::create_database().await;
    let app = TestApp::spawn(test_config(Some(database.clone()), dir.path())).await;
    let (owner, workflow) = acme_with_order(&app).await;
    let mut first = Vec::new();
    for amount in 0..3 {
        first.push(start(&app, &owner, &workflow, json!({ "amount": amount })).await);
    }
    app.stop().await;

    // The engine stops with the server, and what it wrote last may not have been ingested yet.
    // The new server starts the engine it finds on disk and catches up from the stored
    // position.
    let app = TestApp::spawn(test_config(Some(database), dir.path())).await;
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    let mut worker = gateway(&app, "dev").await;
    let mut second = Vec::new();
    second.push(start(&app, &owner, &workflow, json!({ "amount": 9 })).await);
    let mut completed = Vec::new();
    for _ in 0..4 {
        completed.push(complete_one_payment(&mut worker).await);
    }
    completed.sort();
    let mut all: Vec<i64> = first.iter().chain(&second).copied().collect();
    all.sort();
    assert_eq!(completed, all);

    // Wait until the stored position reaches the engine's.
    let engine = app.engines.embedded_engine("dev").await.unwrap();
    let pool = app.owner_pool().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stored: i64 =
            sqlx::query_scalar("select position from ingest_cursors where source = 'embedded:dev'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if stored >= engine.committed_position() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "ingest caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every instance once, completed; every record's audit events once.
    let page = get_json(&app, &owner, "/api/v1/tenants/acme/instances?limit=200").await;
    let mut keys: Vec<i64> = page["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["state"], "completed", "{i}");
            i["process_instance_key"].as_i64().unwrap()
        })
        .collect();
    keys.sort();
    assert_eq!(keys, all);
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select position, event_type, task_id, execution_context->>'jobKey' \
         from execution_audit_events group by 1, 2, 3, 4 having count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    let started: i64 = sqlx::query_scalar(
        "select count(*) from execution_audit_events where event_type = 'PROCESS_STARTED'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(started, 4);
    app.stop().await;
}

/// Records an exporter would send, taken from a real engine: run `order` on the dev engine and
/// collect its stream as JSON.
pub(crate) async fn exported_records(
    app: &TestApp,
    owner: &reqwest::Client,
    workflow: &str,
) -> Vec<Value> {
    let engine = app.engines.embedded_engine("dev").await.unwrap();
    let instance = start(app, owner, workflow, json!({ "amount": 7 })).await;
    let mut worker = gateway(app, "dev").await;
    complete_one_payment(&mut worker).await;
    let mut stream = engine.subscribe(1);
    let mut records = Vec::new();
    loop {
        let record = tokio::time::timeout(WAIT, stream.recv())
            .await
            .unwrap()
            .unwrap();
        let done =
            record.key == instance && record.intent == zeebe::record::Intent::ELEMENT_COMPLETED;
        records.push(serde_json::to_value(&*record).unwrap());
        if done {
            return records;
        }
    }
}

/// Makes acme's `staging` an external engine and returns the ingest token of its exporter.
pub(crate) async fn external_staging(app: &TestApp, owner: &reqwest::Client) -> String {
    let external = owner
        .put(app.url("/api/v1/tenants/acme/environments/staging"))
        .json(&json!({
            "approvals_required": 0,
            "approver_roles": ["owner"],
            "require_owner_approval": false,
            "engine_kind": "external",
            "engine_address": "http://127.0.0.1:9",
            "engine_tenant_id": "acme",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(external.status(), 200);
    let created = owner
        .post(app.url("/api/v1/tenants/acme/environments/staging/ingest-token"))
        .send()
        .await
        .unwrap();
    json_of(created, 201).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn exporters_post_records_once_with_their_environments_token() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    let records = exported_records(&app, &owner, &workflow).await;

    // Without an ingest token (here an API token), refused.
    let anonymous = reqwest::Client::new();
    let api_token = token(&app, &owner, "acme", "owner").await;
    let refused = anonymous
        .post(app.url("/api/v1/ingest/records"))
        .bearer_auth(&api_token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Embedded engines report in process: no ingest token for them, so nobody can write
    // their projections from outside.
    let embedded = owner
        .post(app.url("/api/v1/tenants/acme/environments/staging/ingest-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(embedded, 409).await["code"], "conflict");
    let ingest_token = external_staging(&app, &owner).await;
    assert!(ingest_token.starts_with("astfi_"));
    let post = |body: Value| {
        anonymous
            .post(app.url("/api/v1/ingest/records"))
            .bearer_auth(&ingest_token)
            .json(&body)
            .send()
    };

    // A malformed record anywhere: nothing is applied.
    let mut broken = records.clone();
    broken.push(json!({ "position": "not a number" }));
    let bad = post(json!({ "records": broken })).await.unwrap();
    let body = json_of(bad, 400).await;
    assert_eq!(body["code"], "bad_request");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("records[{}]", records.len()))
    );
    // A record of another tenant: refused by field.
    let mut foreign = records.clone();
    foreign[0]["value"]["tenantId"] = json!("globex");
    let wrong = json_of(post(json!({ "records": foreign })).await.unwrap(), 422).await;
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains("records[0].value.tenantId")
    );
    let none = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/instances?environment=staging",
    )
    .await;
    assert_eq!(none["instances"], json!([]));

    // The first half, then everything: the overlap is recognised by position.
    let half = records.len() / 2;
    let first = json_of(
        post(json!({ "records": records[..half] })).await.unwrap(),
        200,
    )
    .await;
    assert_eq!(first["applied"], half);
    let again = json_of(post(json!({ "records": records })).await.unwrap(), 200).await;
    assert_eq!(again["duplicates"], half);
    assert_eq!(again["applied"], records.len() - half);
    let last = records.last().unwrap()["position"].as_i64().unwrap();
    assert_eq!(again["positions"]["1"], last);
    let repeat = json_of(post(json!({ "records": records })).await.unwrap(), 200).await;
    assert_eq!(repeat["applied"], 0);
    assert_eq!(repeat["duplicates"], records.len());

    let staging = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/instances?environment=staging",
    )
    .await;
    assert_eq!(staging["instances"].as_array().unwrap().len(), 1);
    assert_eq!(staging["instances"][0]["state"], "completed");
    let audit = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/execution-audit?limit=1000",
    )
    .await;
    let staging_starts = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["environment"] == "staging" && e["eventType"] == "PROCESS_STARTED")
        .count();
    assert_eq!(staging_starts, 1);
    let verified = get_json(&app, &owner, "/api/v1/tenants/acme/execution-audit/verify").await;
    assert_eq!(verified["ok"], true);

    // A new token replaces the old one.
    let replaced = owner
        .post(app.url("/api/v1/tenants/acme/environments/staging/ingest-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.status(), 201);
    assert_eq!(post(json!({ "records": [] })).await.unwrap().status(), 401);
    app.stop().await;
}

/// start → gateway that needs `amount` → big / small ends. Without `amount` the gateway raises
/// an incident.
const NEEDS_AMOUNT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="http://example.com">
  <bpmn:process id="route" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="size"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>big</bpmn:outgoing><bpmn:outgoing>small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="bigEnd"><bpmn:incoming>big</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="smallEnd"><bpmn:incoming>small</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="size" />
    <bpmn:sequenceFlow id="big" sourceRef="size" targetRef="bigEnd">
      <bpmn:conditionExpression>=amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="size" targetRef="smallEnd">
      <bpmn:conditionExpression>=amount &lt;= 100</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"#;

#[tokio::test]
async fn incidents_appear_live_and_a_retry_says_whether_they_cleared() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let workflow = create_workflow(&app, &owner, NEEDS_AMOUNT).await;
    let workflow = workflow["id"].as_str().unwrap().to_owned();
    let requested = deploy(
        &app,
        &owner,
        json!({ "workflow_id": workflow, "environment": "dev" }),
    )
    .await;
    assert_eq!(
        settled(&app, &owner, requested["id"].as_str().unwrap()).await["state"],
        "deployed"
    );
    app.hub.ready().await;
    let owner_token = token(&app, &owner, "acme", "owner").await;
    let mut socket = connect(&app, &owner_token).await;
    subscribe(
        &mut socket,
        "incidents",
        Topic::Incidents {
            tenant: "acme".into(),
            environment: Some("dev".into()),
        },
    )
    .await;

    let instance = start(&app, &owner, &workflow, json!({})).await;
    let raised = delta_where(&mut socket, |d| d.process_instance_key == instance).await;
    assert_eq!(raised.kind, DeltaKind::Incident);
    assert_eq!(raised.state, "active");
    assert_eq!(raised.element_id.as_deref(), Some("size"));
    let listed = get_json(&app, &owner, "/api/v1/tenants/acme/incidents").await;
    assert_eq!(listed[0]["incident_key"], raised.key);
    assert_eq!(listed[0]["error_type"], "CONDITION_ERROR");
    let with_incidents = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/instances?state=incident",
    )
    .await;
    assert_eq!(with_incidents["instances"][0]["incidents"], 1);

    // A viewer may look but not retry.
    let viewer = member(&app, &owner, "viewer@example.com", "viewer").await;
    let retry_path = format!(
        "/api/v1/tenants/acme/environments/dev/incidents/{}/retry",
        raised.key
    );
    let refused = viewer
        .post(app.url(&retry_path))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // Retried without fixing anything: the incident clears and comes straight back.
    let again = json_of(
        owner
            .post(app.url(&retry_path))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(again["outcome"], "failed_again", "{again}");
    assert_eq!(again["incident"]["state"], "resolved");
    let second = again["new_incident"]["incident_key"].as_i64().unwrap();

    // Fix the variable, retry: resolved, and the instance completes.
    let fixed = owner
        .post(app.url(&format!(
            "/api/v1/tenants/acme/environments/dev/instances/{instance}/variables"
        )))
        .json(&json!({ "variables": { "amount": 150 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 202);
    let resolved = json_of(
        owner
            .post(app.url(&format!(
                "/api/v1/tenants/acme/environments/dev/incidents/{second}/retry"
            )))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(resolved["outcome"], "resolved", "{resolved}");
    let resolved_again = owner
        .post(app.url(&format!(
            "/api/v1/tenants/acme/environments/dev/incidents/{second}/retry"
        )))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved_again.status(), 409);

    let detail_path = format!("/api/v1/tenants/acme/environments/dev/instances/{instance}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let detail = get_json(&app, &owner, &detail_path).await;
        if detail["instance"]["state"] == "completed" {
            assert_eq!(detail["instance"]["incidents"], 0);
            assert!(
                detail["elements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["element_id"] == "bigEnd")
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instance completes: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The execution trail names who resolved the incidents.
    let resolved_events = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/execution-audit?execution_id={instance}&event_type=INCIDENT_RESOLVED"),
    )
    .await;
    let resolved_events = resolved_events.as_array().unwrap();
    assert_eq!(resolved_events.len(), 2, "{resolved_events:?}");
    for event in resolved_events {
        assert_eq!(
            event["executionContext"]["actor"], "owner@example.com",
            "{event}"
        );
    }

    // The operations are in the control-plane trail.
    let audit = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/audit?action=incident&limit=1000",
    )
    .await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "{audit}");
    let variables = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/audit?action=instance.variables.set",
    )
    .await;
    assert_eq!(variables[0]["after"]["variables"], json!(["amount"]));

    // Cancelling an instance that has ended is refused by the engine.
    let cancel = owner
        .post(app.url(&format!("{detail_path}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 422, "{}", cancel.text().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn websocket_subscriptions_stay_inside_the_callers_tenants() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    add_globex(&app, &owner).await;
    app.hub.ready().await;
    let globex_token = token(&app, &owner, "globex", "owner").await;
    let acme_token = token(&app, &owner, "acme", "auditor").await;

    let mut globex = connect(&app, &globex_token).await;
    let foreign = subscribe(&mut globex, "peek", instances_of("acme")).await;
    assert!(
        matches!(&foreign, ServerMessage::Error { id: Some(id), code, .. } if id == "peek" && code == "not_found"),
        "{foreign:?}"
    );
    assert!(matches!(
        subscribe(&mut globex, "own", instances_of("globex")).await,
        ServerMessage::Subscribed { .. }
    ));
    let mut acme = connect(&app, &acme_token).await;
    subscribe(&mut acme, "own", instances_of("acme")).await;

    let instance = start(&app, &owner, &workflow, json!({})).await;
    delta_where(&mut acme, |d| d.process_instance_key == instance).await;
    // globex's socket got nothing of it: the next thing it hears is its own ping's answer.
    send(&mut globex, &ClientMessage::Ping).await;
    assert_eq!(receive(&mut globex).await, ServerMessage::Pong);

    // Garbage is answered, and the connection keeps serving.
    globex
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    assert!(
        matches!(receive(&mut globex).await, ServerMessage::Error { code, .. } if code == "bad_request")
    );
    send(&mut globex, &ClientMessage::Ping).await;
    assert_eq!(receive(&mut globex).await, ServerMessage::Pong);

    // Without credentials, or cookie-authenticated from another site: no socket.
    let url = app.url("/api/v1/ws").replacen("http", "ws", 1);
    match tokio_tungstenite::connect_async(url.clone()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let login = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &app.address)
        .json(&json!({ "email": "owner@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", app.address.parse().unwrap());
    let (mut own_site, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(matches!(
        subscribe(&mut own_site, "s", instances_of("globex")).await,
        ServerMessage::Subscribed { .. }
    ));
    app.stop().await;
}

#[tokio::test]
async fn projections_are_confined_by_row_level_security() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    let instance = start(&app, &owner, &workflow, json!({ "amount": 1 })).await;
    let detail = format!("/api/v1/tenants/acme/environments/dev/instances/{instance}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while owner.get(app.url(&detail)).send().await.unwrap().status() != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instance is projected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    add_globex(&app, &owner).await;

    // Through the API: another tenant's member finds nothing.
    let outsider_token = token(&app, &owner, "globex", "owner").await;
    let outsider = reqwest::Client::new();
    for path in [
        detail.clone(),
        "/api/v1/tenants/acme/instances".into(),
        "/api/v1/tenants/acme/incidents".into(),
        "/api/v1/tenants/acme/execution-audit".into(),
    ] {
        let response = outsider
            .get(app.url(&path))
            .bearer_auth(&outsider_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let globex_view = outsider
        .get(app.url(&format!(
            "/api/v1/tenants/globex/environments/dev/instances/{instance}"
        )))
        .bearer_auth(&outsider_token)
        .send()
        .await
        .unwrap();
    assert_eq!(globex_view.status(), 404);

    // Through SQL, as the application role of another tenant, with no WHERE clause.
    let pool = app.owner_pool().await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local role astraflow_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("select set_config('app.tenant_id', 'globex', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    for table in [
        "process_definitions",
        "process_instances",
        "element_instances",
        "incidents",
        "instance_variables",
        "jobs",
        "execution_audit_events",
        "ingest_cursors",
    ] {
        let seen: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen, 0, "{table}");
    }
    let forged = sqlx::query(
        "insert into instance_variables (tenant_id, environment_id, scope_key, name, \
         process_instance_key, value, updated_at) \
         select 'acme', id, 1, 'x', 1, '1', now() from environments limit 1",
    )
    .execute(&mut *tx)
    .await;
    assert!(forged.is_err() || forged.unwrap().rows_affected() == 0);
    tx.rollback().await.unwrap();

    // And the execution trail refuses edits even from its owner.
    let edit = sqlx::query("update execution_audit_events set event_type = 'X'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(edit.to_string().contains("append-only"), "{edit}");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_reads_too_slowly_is_told_to_resync() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(crate::helpers::create_database().await), dir.path());
    config.monitor.feed_capacity = 8;
    let app = TestApp::spawn(config).await;
    let owner = owner_of_acme(&app).await;
    app.hub.ready().await;
    let owner_token = token(&app, &owner, "acme", "owner").await;

    // A client whose socket buffers are tiny and who stops reading after subscribing.
    let address = app.address.trim_start_matches("http://").to_owned();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(address.parse().unwrap()).await.unwrap();
    let mut request = format!("ws://{address}/api/v1/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {owner_token}").parse().unwrap(),
    );
    let (mut slow, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    subscribe(&mut slow, "all", instances_of("acme")).await;

    // Far more changes than fit in the socket buffers and the feed, committed one by one.
    let pool = app.owner_pool().await;
    let delta = |key: i64| Delta {
        tenant_id: "acme".into(),
        environment: "dev".into(),
        kind: DeltaKind::Instance,
        process_instance_key: key,
        key,
        bpmn_process_id: "x".repeat(200),
        element_id: None,
        state: "active".into(),
        incidents: None,
        deployment_id: None,
        timestamp: 1,
        position: key,
    };
    for batch in 0..400_i64 {
        let deltas: Vec<Delta> = (0..20).map(|i| delta(batch * 20 + i + 1)).collect();
        sqlx::query("select pg_notify('astraflow_monitor', $1)")
            .bind(serde_json::to_string(&deltas).unwrap())
            .execute(&pool)
            .await
            .unwrap();
    }
    // Now it reads: somewhere in what it gets is a resync, and it did not get everything.
    let mut received = 0;
    loop {
        match receive(&mut slow).await {
            ServerMessage::Delta { deltas, .. } => received += deltas.len(),
            ServerMessage::Resync { reason } => {
                assert!(reason.contains("too slowly"), "{reason}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(received < 8000, "received {received}");
    // And it carries on with what follows.
    sqlx::query("select pg_notify('astraflow_monitor', $1)")
        .bind(serde_json::to_string(&vec![delta(99_999)]).unwrap())
        .execute(&pool)
        .await
        .unwrap();
    delta_where(&mut slow, |d| d.key == 99_999).await;
    app.stop().await;
}

/// Spawns the real server binary on `database` with its own data directory and port.
fn server_process(database: &str, data_dir: &std::path::Path, port: u16) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_astraflow"))
        .env("DATABASE_URL", database)
        .env("ASTRAFLOW_HTTP__PORT", port.to_string())
        .env("ASTRAFLOW_DATA_DIR", data_dir)
        .env("ASTRAFLOW_SITE__ROOT", data_dir.join("site"))
        .env("ASTRAFLOW_SEED_DEMO", "true")
        .env("ASTRAFLOW_INITIAL_ADMIN_PASSWORD", PASSWORD)
        .env("ASTRAFLOW_LOG__FILTER", "warn")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server binary starts")
}

async fn ready(base: &str) {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{base} became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_server_processes_on_one_database_share_the_feed() {
    let database = crate::helpers::create_database().await;
    let (dir_a, dir_b) = (shared_tempdir(), shared_tempdir());
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = server_process(&database, dir_a.path(), port_a);
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    ready(&base_a).await;
    // Started after the first has seeded the demo tenant and its administrator.
    let mut b = server_process(&database, dir_b.path(), port_b);
    ready(&base_b).await;

    let sign_in = |base: String| async move {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers({
                let mut headers = reqwest::header::HeaderMap::new();
                headers.insert("origin", base.parse().unwrap());
                headers
            })
            .build()
            .unwrap();
        let response = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": "admin@astraflow.local", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        client
    };
    let admin_a = sign_in(base_a.clone()).await;
    let admin_b = sign_in(base_b.clone()).await;
    let token_b = json_of(
        admin_b
            .post(format!("{base_b}/api/v1/tenants/demo/tokens"))
            .json(&json!({ "name": "watcher", "role": "viewer", "expires_in_days": 1 }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut request = format!("ws://127.0.0.1:{port_b}/api/v1/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token_b}").parse().unwrap(),
    );
    let (mut watcher, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    subscribe(&mut watcher, "demo", instances_of("demo")).await;

    // Deployed and started through A, whose embedded engine runs it.
    let plain = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="ping" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"#;
    let workflow = json_of(
        admin_a
            .post(format!("{base_a}/api/v1/workflows"))
            .json(&json!({ "tenant_id": "demo", "bpmn_xml": plain }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await["workflow"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deployment = json_of(
        admin_a
            .post(format!("{base_a}/api/v1/deployments"))
            .json(&json!({ "workflow_id": workflow, "environment": "dev" }))
            .send()
            .await
            .unwrap(),
        202,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = json_of(
            admin_a
                .get(format!("{base_a}/api/v1/deployments/{deployment}/status"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        if status["state"] == "deployed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "deployed: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = json_of(
        admin_a
            .post(format!("{base_a}/api/v1/workflows/{workflow}/executions"))
            .json(&json!({ "environment": "dev" }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await["process_instance_key"]
        .as_i64()
        .unwrap();
    // B's client hears of it, through PostgreSQL.
    let completed = delta_where(&mut watcher, |d| {
        d.process_instance_key == started && d.state == "completed"
    })
    .await;
    assert_eq!(completed.tenant_id, "demo");
    a.kill().await.unwrap();
    b.kill().await.unwrap();
}

#[tokio::test]
async fn audit_exports_carry_the_events_their_hashes_and_the_verdict() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    let instance = start(&app, &owner, &workflow, json!({ "amount": 3 })).await;
    let mut worker = gateway(&app, "dev").await;
    complete_one_payment(&mut worker).await;
    let auditor = member(&app, &owner, "auditor@example.com", "auditor").await;
    let path = format!(
        "/api/v1/tenants/acme/execution-audit?execution_id={instance}&event_type=PROCESS_COMPLETED"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while get_json(&app, &auditor, &path)
        .await
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the instance completes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let export = auditor
        .get(app.url("/api/v1/tenants/acme/audit/export?trail=execution"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"audit-acme-execution-")
    );
    let document: Value = export.json().await.unwrap();
    assert_eq!(document["verification"]["ok"], true);
    let events = document["events"].as_array().unwrap();
    assert!(events.len() > 10);
    assert_eq!(events[0]["prevHash"], "0".repeat(64));
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["auditHash"]);
    }

    let csv = auditor
        .get(
            app.url("/api/v1/tenants/acme/audit/export?trail=control&format=csv&action=deployment"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().contains("\"audit_hash\""));
    assert!(lines.all(|line| line.contains("deployment.")));

    let bad = auditor
        .get(app.url("/api/v1/tenants/acme/audit/export?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let editor = member(&app, &owner, "editor@example.com", "editor").await;
    let refused = editor
        .get(app.url("/api/v1/tenants/acme/audit/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn the_gateway_address_of_a_running_embedded_engine_is_listed() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, _) = acme_with_order(&app).await;
    let environments = get_json(&app, &owner, "/api/v1/tenants/acme/environments").await;
    let dev = environments
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "dev")
        .unwrap();
    let address = dev["gateway_address"].as_str().expect("dev's engine runs");
    // Workers need an access token for the engine (see engine_access.rs).
    let token = app.engine_token("dev", "acme");
    let mut client = gateway_with_token(address, Some(&token)).await;
    client.topology(pb::TopologyRequest {}).await.unwrap();
    app.stop().await;
}

/// Tries every REST operation that carries an engine key with globex's keys, as acme's owner,
/// and the control plane's own engine client for acme with the same keys: each is refused,
/// and the engine's record stream shows nothing applied to globex.
#[tokio::test]
async fn operations_with_another_tenants_keys_are_refused_and_change_nothing() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    add_globex(&app, &owner).await;
    let acme_instance = start(&app, &owner, &workflow, json!({})).await;

    // globex runs `order` on the same embedded engine through its own engine client, and one
    // of its jobs fails for good: an instance, a job and an incident of globex's.
    let address = app.engines.embedded("dev").await.unwrap().to_string();
    let mut globex = gateway_with_token(&address, Some(&app.engine_token("dev", "globex"))).await;
    globex
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "order.bpmn".into(),
                content: order_bpmn("globex").into_bytes(),
            }],
            tenant_id: "globex".into(),
        })
        .await
        .unwrap();
    let globex_instance = globex
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "order".into(),
            variables: r#"{"secret":"globex"}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .process_instance_key;
    let job = loop {
        let mut stream = globex
            .activate_jobs(pb::ActivateJobsRequest {
                r#type: "payments".into(),
                worker: "globex-worker".into(),
                timeout: 600_000,
                max_jobs_to_activate: 1,
                request_timeout: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(job) = stream
            .message()
            .await
            .unwrap()
            .and_then(|b| b.jobs.into_iter().next())
        {
            break job;
        }
    };
    assert_eq!(job.tenant_id, "globex");
    app.hub.ready().await;
    let globex_token = token(&app, &owner, "globex", "owner").await;
    let mut socket = connect(&app, &globex_token).await;
    subscribe(
        &mut socket,
        "incidents",
        Topic::Incidents {
            tenant: "globex".into(),
            environment: Some("dev".into()),
        },
    )
    .await;
    globex
        .fail_job(pb::FailJobRequest {
            job_key: job.key,
            retries: 0,
            error_message: "card declined".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Projected (and so in globex's monitor) once its delta is pushed.
    let globex_incident = delta_where(&mut socket, |d| {
        d.kind == DeltaKind::Incident && d.process_instance_key == globex_instance
    })
    .await
    .key;

    let engine = app.engines.embedded_engine("dev").await.unwrap();
    let watermark = engine.committed_position();
    let base = "/api/v1/tenants/acme/environments/dev";
    let attempts = [
        (
            format!("{base}/instances/{globex_instance}/cancel"),
            json!({}),
        ),
        (
            format!("{base}/instances/{globex_instance}/variables"),
            json!({ "variables": { "forged": true } }),
        ),
        (
            format!("{base}/instances/{acme_instance}/variables"),
            json!({ "scope_key": globex_instance, "variables": { "forged": true } }),
        ),
        (
            format!("{base}/instances/{acme_instance}/variables"),
            json!({ "scope_key": job.element_instance_key, "variables": { "forged": true } }),
        ),
        (
            format!("{base}/incidents/{globex_incident}/retry"),
            json!({}),
        ),
    ];
    for (path, body) in &attempts {
        let refused = owner.post(app.url(path)).json(body).send().await.unwrap();
        assert_eq!(refused.status(), 404, "{path} {body}");
    }

    // The control plane's own client for acme carries a credential for acme only: the engine
    // answers globex's keys as missing, whatever a projection says.
    let acme_client = app
        .engines
        .client(&server::engines::Target::Embedded {
            environment: "dev".into(),
            tenant: server::domain::TenantId::new("acme").unwrap(),
        })
        .await
        .unwrap();
    let refusals = [
        acme_client.cancel_instance(globex_instance, None).await,
        acme_client
            .set_variables(globex_instance, &json!({ "forged": true }), false, None)
            .await,
        acme_client.update_job_retries(job.key, 3, None).await,
        acme_client.resolve_incident(globex_incident, None).await,
    ];
    for refusal in refusals {
        assert!(
            matches!(
                &refusal,
                Err(server::engines::EngineError::Refused {
                    code: tonic::Code::NotFound,
                    ..
                })
            ),
            "{refusal:?}"
        );
    }

    let mut records = engine.subscribe(watermark + 1);
    while let Ok(Some(record)) =
        tokio::time::timeout(Duration::from_millis(300), records.recv()).await
    {
        let json = serde_json::to_value(&*record).unwrap();
        assert!(
            !(json["recordType"] == "EVENT" && json["value"]["tenantId"] == "globex"),
            "applied to globex: {json}"
        );
    }
    let detail = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/globex/environments/dev/instances/{globex_instance}"),
    )
    .await;
    assert_eq!(detail["instance"]["state"], "active", "{detail}");
    let names: Vec<&str> = detail["variables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(names.contains(&"secret"), "{names:?}");
    assert!(!names.contains(&"forged"), "{names:?}");
    assert_eq!(detail["incidents"][0]["state"], "active", "{detail}");
    app.stop().await;
}

#[tokio::test]
async fn websocket_connections_are_capped_per_caller_and_in_total() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(crate::helpers::create_database().await), dir.path());
    config.monitor.websocket_connections = 3;
    config.monitor.websocket_connections_per_caller = 2;
    let app = TestApp::spawn(config).await;
    let owner = owner_of_acme(&app).await;
    app.hub.ready().await;
    let (first, second) = (
        token(&app, &owner, "acme", "viewer").await,
        token(&app, &owner, "acme", "auditor").await,
    );
    let attempt = |token: &str| {
        let mut request = app
            .url("/api/v1/ws")
            .replace("http", "ws")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    let refused_with = |result: Result<_, tungstenite::Error>| match result {
        Err(tungstenite::Error::Http(response)) => {
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            (
                response.status().as_u16(),
                body["code"].as_str().unwrap().to_owned(),
            )
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    };

    let one = attempt(&first).await.unwrap();
    let _two = attempt(&first).await.unwrap();
    // A third for the same caller: refused, while another caller still gets in.
    assert_eq!(
        refused_with(attempt(&first).await.map(|_| ())),
        (429, "too_many_connections".to_owned())
    );
    let _three = attempt(&second).await.unwrap();
    // The server is full now, whoever asks.
    assert_eq!(
        refused_with(attempt(&second).await.map(|_| ())),
        (429, "too_many_connections".to_owned())
    );
    // Closing one frees its slot.
    drop(one);
    let deadline = tokio::time::Instant::now() + WAIT;
    while attempt(&first).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the slot is freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
