//! The execution plane against the server's embedded engine, as a customer runs it: an engine
//! client of the tenant (OAuth client credentials from `/oauth/token`), a real HTTP target,
//! secrets from a file. Jobs complete with Camunda's result and error expressions, failures
//! retry with their back-off and end in an incident the monitor shows, secrets reach the
//! target and nothing else, the journal verifies, and a plane of one tenant never sees
//! another tenant's jobs.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use plane::{Plane, config::Config as PlaneConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use zeebe::gateway as pb;

use crate::{
    deployments::{
        add_globex, create_workflow, deploy as deploy_workflow, json_of, owner_of_acme, settled,
    },
    engine_access::access_token,
    helpers::{TestApp, gateway_with_token, test_config},
    metrics::{eventually, prometheus},
    monitor::{WAIT, get_json},
};

const SECRET: &str = "k-5ecr3t-value-91";

/// What the target received, in order.
#[derive(Debug, Clone)]
struct Received {
    path: &'static str,
    headers: HeaderMap,
    body: Value,
    at: Instant,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A local HTTP service: `POST /orders` creates an order and echoes the API key it was sent,
/// `GET /orders/missing` answers 404, `GET /flaky` answers 503.
async fn target() -> (SocketAddr, Log) {
    async fn orders(
        State(log): State<Log>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        let echo = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut log = log.lock().unwrap();
        log.push(Received {
            path: "/orders",
            headers,
            body,
            at: Instant::now(),
        });
        let id = format!("o-{}", log.len());
        (StatusCode::CREATED, Json(json!({ "id": id, "echo": echo })))
    }
    async fn missing(State(log): State<Log>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
        log.lock().unwrap().push(Received {
            path: "/orders/missing",
            headers,
            body: Value::Null,
            at: Instant::now(),
        });
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "reason": "no such order" })),
        )
    }
    async fn flaky(State(log): State<Log>, headers: HeaderMap) -> StatusCode {
        log.lock().unwrap().push(Received {
            path: "/flaky",
            headers,
            body: Value::Null,
            at: Instant::now(),
        });
        StatusCode::SERVICE_UNAVAILABLE
    }
    let log = Log::default();
    let app = Router::new()
        .route("/orders", post(orders))
        .route("/orders/missing", get(missing))
        .route("/flaky", get(flaky))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, log)
}

/// A REST connector task, as Camunda Modeler writes it from the REST connector template;
/// `inputs` are (source, target) pairs.
fn rest_task(
    id: &str,
    inputs: &[(&str, &str)],
    headers: &[(&str, &str)],
    retries: u32,
    incoming: &str,
    outgoing: &str,
) -> String {
    let inputs: String = inputs
        .iter()
        .map(|(source, target)| {
            format!(
                r#"<zeebe:input source="{}" target="{target}" />"#,
                xml_escape(source)
            )
        })
        .collect();
    let headers: String = headers
        .iter()
        .map(|(key, value)| {
            format!(
                r#"<zeebe:header key="{key}" value="{}" />"#,
                xml_escape(value)
            )
        })
        .collect();
    format!(
        r#"<bpmn:serviceTask id="{id}">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="io.camunda:http-json:1" retries="{retries}" />
        <zeebe:ioMapping>{inputs}</zeebe:ioMapping>
        <zeebe:taskHeaders>{headers}</zeebe:taskHeaders>
      </bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:serviceTask>"#
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn definitions(process_id: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://astraflow.test">
  <bpmn:error id="not_found" errorCode="NOT_FOUND" />
  <bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"#
    )
}

/// start → create order (POST, secret header, result expression) → look the order up (404
/// turned into the BPMN error NOT_FOUND by the error expression, caught; as in Zeebe, the
/// error's variables reach the process only through the catching event's output mapping)
/// → end.
fn remediation() -> String {
    let create = rest_task(
        "create_order",
        &[
            ("=\"POST\"", "method"),
            ("=baseUrl + \"/orders\"", "url"),
            ("={\"X-Api-Key\": \"{{secrets.API_KEY}}\"}", "headers"),
            ("={item: item}", "body"),
            ("=\"bearer\"", "authentication.type"),
            ("=\"{{secrets.API_KEY}}\"", "authentication.token"),
        ],
        &[
            ("resultExpression", "={orderId: response.body.id}"),
            ("resultVariable", "created"),
        ],
        3,
        "f1",
        "f2",
    );
    let lookup = rest_task(
        "lookup",
        &[("=baseUrl + \"/orders/missing\"", "url")],
        &[(
            "errorExpression",
            "=if error.code = \"404\" then bpmnError(\"NOT_FOUND\", error.variables.response.body.reason, {notFound: true}) else null",
        )],
        3,
        "f2",
        "f3",
    );
    definitions(
        "remediate",
        &format!(
            r#"<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {create}
    {lookup}
    <bpmn:boundaryEvent id="on_missing" attachedToRef="lookup">
      <bpmn:extensionElements><zeebe:ioMapping><zeebe:output source="=notFound" target="notFound" /></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:outgoing>f4</bpmn:outgoing><bpmn:errorEventDefinition errorRef="not_found" />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="handled"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="create_order" />
    <bpmn:sequenceFlow id="f2" sourceRef="create_order" targetRef="lookup" />
    <bpmn:sequenceFlow id="f3" sourceRef="lookup" targetRef="done" />
    <bpmn:sequenceFlow id="f4" sourceRef="on_missing" targetRef="handled" />"#
        ),
    )
}

/// An engine client of `tenant` on dev with the `jobs` permission, as the tenant's owner
/// creates one for a plane.
async fn plane_client(app: &TestApp, owner: &reqwest::Client, tenant: &str) -> Value {
    let created = owner
        .post(app.url(&format!(
            "/api/v1/tenants/{tenant}/environments/dev/clients"
        )))
        .json(&json!({ "name": "execution plane", "permissions": ["jobs"] }))
        .send()
        .await
        .unwrap();
    json_of(created, 201).await
}

fn plane_config(tenant: &str, client: &Value, dir: &Path) -> PlaneConfig {
    let secrets = dir.join("secrets.json");
    std::fs::write(&secrets, json!({ "API_KEY": SECRET }).to_string()).unwrap();
    let mut config = PlaneConfig {
        tenant: tenant.into(),
        worker_name: format!("plane-{tenant}"),
        ..Default::default()
    };
    config.gateway.address = format!("http://{}", client["gateway_address"].as_str().unwrap());
    config.oauth.token_url = client["token_url"].as_str().unwrap().into();
    config.oauth.client_id = client["client_id"].as_str().unwrap().into();
    config.oauth.client_secret = Some(SecretString::from(
        client["client_secret"].as_str().unwrap(),
    ));
    config.oauth.audience = Some(client["audience"].as_str().unwrap().into());
    config.journal.dir = dir.join("journal");
    config.secrets.file = Some(secrets);
    config.http.port = 0;
    config.jobs.poll_timeout_secs = 2;
    config.jobs.shutdown_grace_secs = 5;
    config
}

async fn deploy(app: &TestApp, tenant: &str, name: &str, xml: String) {
    let address = app.engines.embedded("dev").await.unwrap().to_string();
    let mut gateway = gateway_with_token(&address, Some(&app.engine_token("dev", tenant))).await;
    gateway
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: name.into(),
                content: xml.into_bytes(),
            }],
            tenant_id: tenant.into(),
        })
        .await
        .unwrap();
}

async fn run_to_end(app: &TestApp, tenant: &str, process: &str, variables: Value) -> Value {
    let address = app.engines.embedded("dev").await.unwrap().to_string();
    let mut gateway = gateway_with_token(&address, Some(&app.engine_token("dev", tenant))).await;
    let done = gateway
        .create_process_instance_with_result(pb::CreateProcessInstanceWithResultRequest {
            request: Some(pb::CreateProcessInstanceRequest {
                bpmn_process_id: process.into(),
                variables: variables.to_string(),
                tenant_id: tenant.into(),
                ..Default::default()
            }),
            request_timeout: 60_000,
            fetch_variables: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut variables: Value = serde_json::from_str(&done.variables).unwrap();
    variables["_key"] = done.process_instance_key.into();
    variables
}

#[tokio::test]
async fn connector_jobs_complete_with_camunda_expressions_and_secrets_stay_in_the_plane() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let (target_address, received) = target().await;
    deploy(&app, "acme", "remediate.bpmn", remediation()).await;
    let plane = Plane::start(plane_config("acme", &client, dir.path()))
        .await
        .unwrap();

    let variables = run_to_end(
        &app,
        "acme",
        "remediate",
        json!({ "baseUrl": format!("http://{target_address}"), "item": "disk" }),
    )
    .await;

    // The result expression and result variable, and the BPMN error path with its variables.
    assert_eq!(variables["orderId"], "o-1", "{variables}");
    assert_eq!(variables["created"]["status"], 201);
    assert_eq!(variables["notFound"], true, "{variables}");
    // The target echoed the secret; the plane scrubbed it before it became a variable.
    assert_eq!(variables["created"]["body"]["echo"], "***", "{variables}");

    let calls = received.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(|c| c.path).collect::<Vec<_>>(),
        ["/orders", "/orders/missing"]
    );
    let create = &calls[0];
    assert_eq!(create.body, json!({ "item": "disk" }));
    assert_eq!(create.headers["x-api-key"], SECRET);
    assert_eq!(
        create.headers["authorization"],
        format!("Bearer {SECRET}").as_str()
    );
    let key = create.headers["idempotency-key"].to_str().unwrap();
    assert!(key.starts_with("astraflow-job-"), "{key}");
    assert_ne!(key, calls[1].headers["idempotency-key"].to_str().unwrap());

    // The secret is in no process variable, record or projection the control plane holds…
    let instance = variables["_key"].as_i64().unwrap();
    let deadline = Instant::now() + WAIT;
    let detail = loop {
        // 404 until the record stream's ingest has reached the instance.
        let detail: Value = owner
            .get(app.url(&format!(
                "/api/v1/tenants/acme/environments/dev/instances/{instance}"
            )))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if detail["instance"]["state"] == "completed" || Instant::now() > deadline {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(detail["instance"]["state"], "completed", "{detail}");
    assert!(!detail.to_string().contains(SECRET));
    let trail = get_json(
        &app,
        &owner,
        "/api/v1/tenants/acme/execution-audit?limit=200",
    )
    .await;
    assert!(!trail.to_string().contains(SECRET));

    // …nor in the plane's journal, which verifies and names what happened.
    plane.shutdown().await;
    let journal = dir.path().join("journal");
    let verified = plane::journal::verify(&journal).unwrap();
    assert_eq!(verified.events, 4, "activated and completed, twice");
    let mut text = String::new();
    for entry in std::fs::read_dir(&journal).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(!text.contains(SECRET));
    for expected in [
        "TASK_ACTIVATED",
        "TASK_COMPLETED",
        "ERROR_THROWN",
        "\"workflowId\":\"remediate\"",
        "\"tenantId\":\"acme\"",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}

#[tokio::test]
async fn a_failing_target_is_retried_after_its_backoff_then_the_monitor_shows_the_incident() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let (target_address, received) = target().await;
    // Two attempts, one second apart.
    let xml = one_call("flaky", "/flaky", &[("retryBackoff", "PT1S")], 2);
    deploy(&app, "acme", "flaky.bpmn", xml).await;
    let plane = Plane::start(plane_config("acme", &client, dir.path()))
        .await
        .unwrap();

    let address = app.engines.embedded("dev").await.unwrap().to_string();
    let mut gateway = gateway_with_token(&address, Some(&app.engine_token("dev", "acme"))).await;
    let instance = gateway
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "flaky".into(),
            variables: json!({ "baseUrl": format!("http://{target_address}") }).to_string(),
            tenant_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .process_instance_key;

    let deadline = Instant::now() + WAIT;
    let incident = loop {
        let listed = get_json(&app, &owner, "/api/v1/tenants/acme/incidents").await;
        let found = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["process_instance_key"] == instance)
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no incident: {listed}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(incident["error_type"], "JOB_NO_RETRIES", "{incident}");
    assert!(
        incident["error_message"].as_str().unwrap().contains("503"),
        "{incident}"
    );

    // Two attempts, the second no sooner than the task's one-second back-off.
    let calls = received.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls[1].at - calls[0].at >= Duration::from_millis(950),
        "{:?}",
        calls[1].at - calls[0].at
    );
    // One job: the same idempotency key both times.
    assert_eq!(
        calls[0].headers["idempotency-key"],
        calls[1].headers["idempotency-key"]
    );
    assert_eq!(plane.metrics.jobs("rest", "failed"), 2);

    // The plane's metrics show the failures and the host's breaker (still closed: two
    // failures are under the threshold of five).
    let text = reqwest::get(format!("http://{}/metrics", plane.http_address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"astraflow_plane_jobs_total{connector="rest",outcome="failed"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"astraflow_plane_breaker_state{{host="{target_address}"}} 0"#
        )),
        "{text}"
    );
    // And a real Prometheus scrapes them.
    let scraper = prometheus(dir.path(), &plane.http_address.to_string(), "unused");
    let failed = eventually(
        &scraper,
        r#"astraflow_plane_jobs_total{connector="rest",outcome="failed"}"#,
        |v| v >= 2.0,
    )
    .await;
    assert_eq!(failed, 2.0);
    eventually(
        &scraper,
        "astraflow_plane_job_overhead_seconds_count",
        |v| v >= 2.0,
    )
    .await;
    let health = reqwest::get(format!("http://{}/healthz", plane.http_address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    plane.shutdown().await;
}

#[tokio::test]
async fn a_plane_takes_only_its_own_tenants_jobs_and_cannot_claim_another_tenant() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    add_globex(&app, &owner).await;
    let acme_client = plane_client(&app, &owner, "acme").await;
    let globex_client = plane_client(&app, &owner, "globex").await;
    let (target_address, received) = target().await;
    deploy(&app, "acme", "remediate.bpmn", remediation()).await;

    // globex's credentials claiming to be acme's plane: refused at start.
    let globex_dir = dir.path().join("globex");
    std::fs::create_dir_all(&globex_dir).unwrap();
    let mut impostor = plane_config("acme", &globex_client, &globex_dir);
    impostor.journal.dir = globex_dir.join("impostor-journal");
    let refused = Plane::start(impostor).await.err().expect("refused");
    assert!(format!("{refused:#}").contains("refused"), "{refused:#}");

    // globex's own plane runs while an acme instance waits at its connector task.
    let globex = Plane::start(plane_config("globex", &globex_client, &globex_dir))
        .await
        .unwrap();
    let address = app.engines.embedded("dev").await.unwrap().to_string();
    let mut gateway = gateway_with_token(&address, Some(&app.engine_token("dev", "acme"))).await;
    gateway
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "remediate".into(),
            variables: json!({ "baseUrl": format!("http://{target_address}"), "item": "cpu" })
                .to_string(),
            tenant_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Long enough for several of globex's polls (two seconds each) and its open stream.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        received.lock().unwrap().is_empty(),
        "globex's plane called acme's target"
    );
    for outcome in ["completed", "failed", "error_thrown", "breaker_open"] {
        assert_eq!(globex.metrics.jobs("rest", outcome), 0, "{outcome}");
    }

    // acme's plane takes the waiting job at once.
    let acme_dir = dir.path().join("acme");
    std::fs::create_dir_all(&acme_dir).unwrap();
    let acme = Plane::start(plane_config("acme", &acme_client, &acme_dir))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while received.lock().unwrap().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "acme's plane did not run acme's jobs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    acme.shutdown().await;
    globex.shutdown().await;
    assert_eq!(
        plane::journal::verify(&globex_dir.join("journal"))
            .unwrap()
            .events,
        0
    );
    assert_eq!(
        plane::journal::verify(&acme_dir.join("journal"))
            .unwrap()
            .events,
        4
    );
}

/// The `astraflow-plane` binary `scripts/build.sh` built, beside this test's own directory.
fn plane_bin() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("PLANE_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("astraflow-plane");
    assert!(
        bin.exists(),
        "{} is missing: build it with scripts/build.sh (or set PLANE_BIN)",
        bin.display()
    );
    bin
}

/// A plane process configured through its environment, as a container runs it.
fn spawn_plane(client: &Value, dir: &Path) -> tokio::process::Child {
    let secrets = dir.join("secrets.json");
    std::fs::write(&secrets, json!({ "API_KEY": SECRET }).to_string()).unwrap();
    tokio::process::Command::new(plane_bin())
        .env("ASTRAFLOW_PLANE_TENANT", "acme")
        .env(
            "ASTRAFLOW_PLANE_GATEWAY__ADDRESS",
            format!("http://{}", client["gateway_address"].as_str().unwrap()),
        )
        .env(
            "ASTRAFLOW_PLANE_OAUTH__TOKEN_URL",
            client["token_url"].as_str().unwrap(),
        )
        .env(
            "ASTRAFLOW_PLANE_OAUTH__CLIENT_ID",
            client["client_id"].as_str().unwrap(),
        )
        .env(
            "ASTRAFLOW_PLANE_OAUTH__CLIENT_SECRET",
            client["client_secret"].as_str().unwrap(),
        )
        .env(
            "ASTRAFLOW_PLANE_OAUTH__AUDIENCE",
            client["audience"].as_str().unwrap(),
        )
        .env("ASTRAFLOW_PLANE_JOURNAL__DIR", dir.join("journal"))
        .env("ASTRAFLOW_PLANE_SECRETS__FILE", &secrets)
        .env("ASTRAFLOW_PLANE_HTTP__PORT", "0")
        .env("ASTRAFLOW_PLANE_JOBS__TIMEOUT_SECS", "3")
        .env("ASTRAFLOW_PLANE_JOBS__POLL_TIMEOUT_SECS", "1")
        .env("ASTRAFLOW_PLANE_CONFIG", dir.join("none.toml"))
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// A payment service that honours `Idempotency-Key`: the first request with a key charges and
/// answers after two seconds; a repeat answers the stored result without charging again.
async fn idempotent_target() -> (SocketAddr, Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<String>>>) {
    type Seen = Arc<Mutex<Vec<String>>>;
    #[derive(Clone)]
    struct Payments {
        requests: Seen,
        charges: Seen,
    }
    async fn charge(State(payments): State<Payments>, headers: HeaderMap) -> Json<Value> {
        let key = headers["idempotency-key"].to_str().unwrap().to_owned();
        payments.requests.lock().unwrap().push(key.clone());
        let first = {
            let mut charges = payments.charges.lock().unwrap();
            let first = !charges.contains(&key);
            if first {
                charges.push(key.clone());
            }
            first
        };
        if first {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Json(json!({ "charge": format!("ch-{key}") }))
    }
    let payments = Payments {
        requests: Seen::default(),
        charges: Seen::default(),
    };
    let app = Router::new()
        .route("/charge", post(charge))
        .with_state(payments.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, payments.requests, payments.charges)
}

#[tokio::test]
async fn a_plane_killed_mid_call_loses_nothing_and_the_target_charges_once() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let (target_address, requests, charges) = idempotent_target().await;
    let call = rest_task(
        "charge",
        &[("=\"POST\"", "method"), ("=baseUrl + \"/charge\"", "url")],
        &[("resultExpression", "={charge: body.charge}")],
        3,
        "f1",
        "f2",
    );
    let xml = definitions(
        "pay",
        &format!(
            r#"<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {call}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />"#
        ),
    );
    deploy(&app, "acme", "pay.bpmn", xml).await;

    let mut first = spawn_plane(&client, dir.path());
    let base = format!("http://{target_address}");
    let app = Arc::new(app);
    let finished = {
        let app = app.clone();
        tokio::spawn(
            async move { run_to_end(&app, "acme", "pay", json!({ "baseUrl": base })).await },
        )
    };
    let deadline = Instant::now() + WAIT;
    while requests.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the plane never called the target"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Mid-call: the target is still working on the first request.
    first.kill().await.unwrap();

    let mut second = spawn_plane(&client, dir.path());
    let variables = tokio::time::timeout(WAIT, finished)
        .await
        .expect("the instance completed")
        .unwrap();
    second.kill().await.unwrap();

    let requests = requests.lock().unwrap().clone();
    let charges = charges.lock().unwrap().clone();
    assert!(
        requests.len() >= 2,
        "the job ran again after the kill: {requests:?}"
    );
    assert!(
        requests.iter().all(|key| *key == requests[0]),
        "one idempotency key: {requests:?}"
    );
    assert_eq!(charges.len(), 1, "charged once: {charges:?}");
    assert_eq!(
        variables["charge"],
        format!("ch-{}", requests[0]).as_str(),
        "{variables}"
    );
    // The killed plane's journal goes on in the second; the chain is whole.
    let verified = plane::journal::verify(&dir.path().join("journal")).unwrap();
    assert!(verified.events >= 3, "{verified:?}");
}

/// A target whose health the test switches: `GET /switch` answers 200 while healthy and 503
/// otherwise; `GET /slow` answers after five seconds. Both count their calls.
struct Switchable {
    address: SocketAddr,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

async fn switchable_target() -> Switchable {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    #[derive(Clone)]
    struct Shared {
        healthy: Arc<AtomicBool>,
        calls: Arc<AtomicUsize>,
    }
    async fn switch(State(shared): State<Shared>) -> (StatusCode, Json<Value>) {
        shared.calls.fetch_add(1, Ordering::SeqCst);
        if shared.healthy.load(Ordering::SeqCst) {
            (StatusCode::OK, Json(json!({ "ok": true })))
        } else {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ok": false })),
            )
        }
    }
    async fn slow(State(shared): State<Shared>) -> Json<Value> {
        shared.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(5)).await;
        Json(json!({ "ok": true }))
    }
    let shared = Shared {
        healthy: Arc::new(AtomicBool::new(false)),
        calls: Arc::default(),
    };
    let app = Router::new()
        .route("/switch", get(switch))
        .route("/slow", get(slow))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Switchable {
        address,
        healthy: shared.healthy,
        calls: shared.calls,
    }
}

/// start → one REST call to `path` → end.
fn one_call(process_id: &str, path: &str, headers: &[(&str, &str)], retries: u32) -> String {
    let url = format!("=baseUrl + \"{path}\"");
    let call = rest_task(
        "call",
        &[(url.as_str(), "url")],
        headers,
        retries,
        "f1",
        "f2",
    );
    definitions(
        process_id,
        &format!(
            r#"<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {call}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" />"#
        ),
    )
}

#[tokio::test]
async fn a_call_longer_than_the_job_timeout_keeps_its_job_and_runs_once() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let target = switchable_target().await;
    deploy(&app, "acme", "slow.bpmn", one_call("slow", "/slow", &[], 3)).await;
    let mut config = plane_config("acme", &client, dir.path());
    // The call takes five seconds, more than twice the job's timeout: without extensions the
    // engine would give the job out again while the first call is still running.
    config.jobs.timeout_secs = 2;
    let plane = Plane::start(config).await.unwrap();

    let variables = run_to_end(
        &app,
        "acme",
        "slow",
        json!({ "baseUrl": format!("http://{}", target.address) }),
    )
    .await;
    assert!(variables["_key"].is_i64());
    assert_eq!(
        target.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the job was run twice"
    );
    assert_eq!(plane.metrics.jobs("rest", "completed"), 1);
    plane.shutdown().await;
}

#[tokio::test]
async fn a_failing_host_opens_its_breaker_which_gives_jobs_back_and_closes_once_the_host_recovers()
{
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let target = switchable_target().await;
    let xml = one_call("probe", "/switch", &[("retryBackoff", "PT0.1S")], 10);
    deploy(&app, "acme", "probe.bpmn", xml).await;
    let mut config = plane_config("acme", &client, dir.path());
    config.breaker.failure_threshold = 2;
    config.breaker.open_secs = 2;
    let plane = Plane::start(config).await.unwrap();
    let metrics_url = format!("http://{}/metrics", plane.http_address);
    let state_line = |state: u8| {
        format!(
            r#"astraflow_plane_breaker_state{{host="{}"}} {state}"#,
            target.address
        )
    };

    let finished = {
        let app = Arc::new(app);
        let base = format!("http://{}", target.address);
        let runner = app.clone();
        (
            app,
            tokio::spawn(async move {
                run_to_end(&runner, "acme", "probe", json!({ "baseUrl": base })).await
            }),
        )
    };
    // Two failures open the breaker; the job, back after its 0.2 s back-off, finds it open
    // and is given back with its retries untouched, without a call.
    let deadline = Instant::now() + WAIT;
    while plane.metrics.jobs("rest", "breaker_open") == 0 {
        assert!(Instant::now() < deadline, "the breaker never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(&state_line(1)), "{text}");
    assert_eq!(
        target.calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "no call while open"
    );

    // The host recovers; the next attempt is the probe, which closes the breaker.
    target
        .healthy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let variables = tokio::time::timeout(WAIT, finished.1)
        .await
        .expect("the instance completed")
        .unwrap();
    assert!(variables["_key"].is_i64());
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains(&state_line(0)), "{text}");
    assert_eq!(plane.metrics.jobs("rest", "failed"), 2);
    assert_eq!(plane.metrics.jobs("rest", "completed"), 1);
    let given_back = plane.metrics.jobs("rest", "breaker_open");
    plane.shutdown().await;
    // Every activation is closed in the journal, the give-backs included.
    let journal = plane::journal::verify(&dir.path().join("journal")).unwrap();
    assert_eq!(journal.events, 2 * (3 + given_back));
    let mut text = String::new();
    for entry in std::fs::read_dir(dir.path().join("journal")).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(text.contains(r#""status":"breaker_open""#), "{text}");
}

/// The tenant's planes once `holds` says so.
async fn planes_when(
    app: &TestApp,
    owner: &reqwest::Client,
    tenant: &str,
    holds: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let planes = get_json(app, owner, &format!("/api/v1/tenants/{tenant}/planes")).await;
        if holds(&planes) {
            return planes;
        }
        assert!(Instant::now() < deadline, "{tenant}'s planes: {planes}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn planes_report_to_the_tenant_of_their_token_and_members_see_them_live_then_stopped() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    add_globex(&app, &owner).await;
    let acme_client = plane_client(&app, &owner, "acme").await;
    let globex_client = plane_client(&app, &owner, "globex").await;

    let acme_dir = dir.path().join("acme");
    std::fs::create_dir_all(&acme_dir).unwrap();
    let mut config = plane_config("acme", &acme_client, &acme_dir);
    config.control_plane.url = Some(app.address.clone());
    config.control_plane.heartbeat_secs = 1;
    let acme = Plane::start(config).await.unwrap();
    let planes = planes_when(&app, &owner, "acme", |p| p[0]["live"] == true).await;
    assert_eq!(planes.as_array().unwrap().len(), 1, "{planes}");
    let plane = &planes[0];
    assert_eq!(plane["environment"], "dev");
    assert_eq!(plane["client_id"], acme_client["client_id"]);
    assert_eq!(plane["name"], "plane-acme");
    assert_eq!(plane["job_types"], json!(["io.camunda:http-json:1"]));
    assert_eq!(plane["capacity"], 64);
    assert_eq!(plane["in_flight"], 0, "an idle plane holds no job");
    assert_eq!(plane["state"], "running");

    // globex's plane calls itself what acme's is called: its token puts it in globex's list,
    // and acme's list is unchanged.
    let globex_dir = dir.path().join("globex");
    std::fs::create_dir_all(&globex_dir).unwrap();
    let mut config = plane_config("globex", &globex_client, &globex_dir);
    config.worker_name = "plane-acme".into();
    config.connectors.rest.max_concurrent = 7;
    config.control_plane.url = Some(app.address.clone());
    config.control_plane.heartbeat_secs = 1;
    let globex = Plane::start(config).await.unwrap();
    let theirs = planes_when(&app, &owner, "globex", |p| p[0]["live"] == true).await;
    assert_eq!(theirs[0]["client_id"], globex_client["client_id"]);
    let ours = get_json(&app, &owner, "/api/v1/tenants/acme/planes").await;
    assert_eq!(ours.as_array().unwrap().len(), 1, "{ours}");
    assert_eq!(ours[0]["client_id"], acme_client["client_id"]);
    assert_eq!(
        ours[0]["capacity"], 64,
        "acme's row is not overwritten: {ours}"
    );
    assert_eq!(theirs[0]["capacity"], 7);

    // Heartbeats without a token, with a token for another engine, or from a client that may
    // not take jobs, are refused.
    let beat = |environment: &str| {
        json!({
            "environment": environment, "name": "intruder", "version": "0", "job_types": [],
            "capacity": 1, "in_flight": 0, "state": "running",
            "started_at": "2026-12-08T00:00:00Z"
        })
    };
    let post = |token: Option<String>, body: Value| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/v1/plane/heartbeat"))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(post(None, beat("dev")).await.unwrap().status(), 401);
    let token = access_token(&app, &acme_client).await;
    assert_eq!(
        post(Some(token.clone()), beat("staging"))
            .await
            .unwrap()
            .status(),
        401,
        "a dev token for the staging engine"
    );
    assert_eq!(
        post(Some(format!("{token}x")), beat("dev"))
            .await
            .unwrap()
            .status(),
        401
    );
    let mut bad = beat("dev");
    bad["job_types"] = json!([""]);
    assert_eq!(post(Some(token.clone()), bad).await.unwrap().status(), 422);
    let deployer = owner
        .post(app.url("/api/v1/tenants/acme/environments/dev/clients"))
        .json(&json!({ "name": "deployer", "permissions": ["deploy"] }))
        .send()
        .await
        .unwrap();
    let deployer = json_of(deployer, 201).await;
    let deployer_token = access_token(&app, &deployer).await;
    assert_eq!(
        post(Some(deployer_token), beat("dev"))
            .await
            .unwrap()
            .status(),
        403
    );
    let ours = get_json(&app, &owner, "/api/v1/tenants/acme/planes").await;
    assert_eq!(
        ours.as_array().unwrap().len(),
        1,
        "nothing refused was recorded: {ours}"
    );

    // A plane that stops says so.
    acme.shutdown().await;
    let stopped = planes_when(&app, &owner, "acme", |p| p[0]["state"] == "stopped").await;
    assert_eq!(stopped[0]["live"], false);
    globex.shutdown().await;
}

#[tokio::test]
async fn a_connector_task_deploys_only_while_a_live_plane_of_the_environment_serves_it() {
    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let workflow = create_workflow(&app, &owner, &one_call("check", "/switch", &[], 3)).await;
    let to_dev = json!({ "workflow_id": workflow["id"], "environment": "dev" });

    // No plane of acme's yet; globex's live dev plane serves the job type, but not for acme:
    // nothing serves io.camunda:http-json:1, and validation says where.
    add_globex(&app, &owner).await;
    let globex_client = plane_client(&app, &owner, "globex").await;
    let globex_dir = dir.path().join("globex");
    std::fs::create_dir_all(&globex_dir).unwrap();
    let mut config = plane_config("globex", &globex_client, &globex_dir);
    config.control_plane.url = Some(app.address.clone());
    config.control_plane.heartbeat_secs = 1;
    let globex = Plane::start(config).await.unwrap();
    planes_when(&app, &owner, "globex", |p| p[0]["live"] == true).await;
    let requested = deploy_workflow(&app, &owner, to_dev.clone()).await;
    let failed = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let unknown = failed["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|diagnostic| diagnostic["code"] == "JOB_TYPE_UNKNOWN")
        .expect("the unserved job type is reported");
    assert_eq!(unknown["element_id"], "call");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("io.camunda:http-json:1")
    );

    // A live plane of dev serves it: the same version deploys.
    let mut config = plane_config("acme", &client, dir.path());
    config.control_plane.url = Some(app.address.clone());
    config.control_plane.heartbeat_secs = 1;
    let plane = Plane::start(config).await.unwrap();
    planes_when(&app, &owner, "acme", |p| p[0]["live"] == true).await;
    let requested = deploy_workflow(&app, &owner, to_dev).await;
    let deployed = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");

    // It serves dev only: staging still has nothing for the connector.
    let to_staging = json!({ "workflow_id": workflow["id"], "environment": "staging" });
    let requested = deploy_workflow(&app, &owner, to_staging).await;
    let refused = settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(refused["state"], "failed", "{refused}");
    plane.shutdown().await;
    globex.shutdown().await;
}

#[tokio::test]
async fn with_the_control_plane_down_the_plane_keeps_running_jobs_and_reports_again_when_it_returns()
 {
    use engine::auth::{KeySet, Verifier};

    let (app, dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = plane_client(&app, &owner, "acme").await;
    let target = switchable_target().await;
    target
        .healthy
        .store(true, std::sync::atomic::Ordering::SeqCst);

    // The customer's engine, apart from the control plane: it trusts the server's published
    // keys (as astraflow-engine does with --jwks-url), and lives on when the server stops.
    let jwks = app.get("/oauth/jwks.json").await.text().await.unwrap();
    let verifier = Verifier::new(
        app.address.clone(),
        "astraflow-engine:dev",
        KeySet::from_jwks(&jwks).unwrap(),
    );
    let engine_dir = dir.path().join("customer-engine");
    let engine = engine::Engine::start(engine::EngineConfig::new(&engine_dir)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_address = listener.local_addr().unwrap().to_string();
    tokio::spawn(engine::gateway::serve_with(
        engine,
        listener,
        engine::gateway::ServeOptions {
            authentication: engine::gateway::Authentication::Tokens(verifier),
            tls: None,
        },
        std::future::pending(),
    ));
    // A token for the test's own calls, taken while the server is up (valid five minutes).
    let token = app.engine_token("dev", "acme");
    let mut gateway = gateway_with_token(&gateway_address, Some(&token)).await;
    gateway
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "check.bpmn".into(),
                content: one_call("check", "/switch", &[], 3).into_bytes(),
            }],
            tenant_id: "acme".into(),
        })
        .await
        .unwrap();
    let run = |gateway: zeebe::gateway::GatewayClient<_>| {
        let base = format!("http://{}", target.address);
        async move {
            let mut gateway = gateway;
            gateway
                .create_process_instance_with_result(pb::CreateProcessInstanceWithResultRequest {
                    request: Some(pb::CreateProcessInstanceRequest {
                        bpmn_process_id: "check".into(),
                        variables: json!({ "baseUrl": base }).to_string(),
                        tenant_id: "acme".into(),
                        ..Default::default()
                    }),
                    request_timeout: 60_000,
                    fetch_variables: Vec::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .process_instance_key
        }
    };

    let mut config = plane_config("acme", &client, dir.path());
    config.gateway.address = format!("http://{gateway_address}");
    config.control_plane.url = Some(app.address.clone());
    config.control_plane.heartbeat_secs = 1;
    let plane = Plane::start(config).await.unwrap();
    planes_when(&app, &owner, "acme", |p| p[0]["live"] == true).await;
    run(gateway.clone()).await;

    // The control plane goes away. The plane's token is cached; the engine needs nothing of
    // the server: jobs keep completing and the journal keeps growing.
    let seen =
        get_json(&app, &owner, "/api/v1/tenants/acme/planes").await[0]["last_heartbeat_at"].clone();
    let port = app
        .address
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let database = app.database_url.clone();
    app.stop().await;
    run(gateway.clone()).await;
    run(gateway).await;
    assert_eq!(plane.metrics.jobs("rest", "completed"), 3);
    assert_eq!(target.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(
        plane::journal::verify(&dir.path().join("journal"))
            .unwrap()
            .events,
        6
    );

    // The control plane returns at the same address: the plane's heartbeats land again.
    let mut config = test_config(database, dir.path());
    config.http.port = port;
    let app = TestApp::spawn(config).await;
    let back = planes_when(&app, &owner, "acme", |p| {
        p[0]["live"] == true && p[0]["last_heartbeat_at"] != seen
    })
    .await;
    assert_eq!(back[0]["in_flight"], 0);
    plane.shutdown().await;
    app.stop().await;
}
