//! Latency from a record being produced by the embedded engine to a WebSocket client receiving
//! the delta it caused, at a steady load.
//!
//! The whole path runs for real: instances are started over the Zeebe gateway protocol, the
//! engine commits their records, the server ingests them into PostgreSQL, `NOTIFY` carries the
//! deltas to the server's feed, and a WebSocket client subscribed to the tenant's instances
//! receives them. Latency is the client's receive time minus the record's timestamp (both from
//! this machine's clock, millisecond resolution).
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p server --bench ws_latency -- [records per second] [seconds]
//! ```
//! Defaults: 1000 records per second for 30 seconds.

use std::time::{Duration, Instant};

use app::api::monitor_protocol::{ClientMessage, DeltaKind, ServerMessage, Topic};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use server::{config::Config, startup::Application};
use sqlx::{Connection, Executor, PgConnection};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use zeebe::gateway::{self as pb, GatewayClient};

const PASSWORD: &str = "benchmark password";

/// start → three pass-through tasks → end: about 29 records per instance, a realistic mix of
/// element transitions and sequence flows.
const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bench" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="a"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
    <bpmn:task id="b"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:task>
    <bpmn:task id="c"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:task>
    <bpmn:endEvent id="e"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a" />
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c" />
    <bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"#;

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let rate: f64 = args.next().map_or(Ok(1000.0), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(30), |a| a.parse())?;
    let base = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL server"))?;

    // A fresh database and data directory.
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin_db = PgConnection::connect(&base).await?;
    admin_db
        .execute(format!(r#"create database "{name}""#).as_str())
        .await?;
    let (head, _) = base.rsplit_once('/').expect("a URL with a database");
    let url = format!("{head}/{name}");
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    let mut config = Config::default();
    config.http.port = 0;
    config.database.url = Some(url.clone().into());
    config.database.max_connections = 20;
    config.data_dir = dir.path().to_path_buf();
    config.site.root = dir.path().join("site");
    config.seed_demo = true;
    config.initial_admin_password = Some(PASSWORD.to_owned().into());
    config.auth.requests_per_minute = 100_000;
    let application = Application::build(config).await?;
    let address = format!("127.0.0.1:{}", application.port());
    let engines = application.engines();
    let hub = application.hub();
    tokio::spawn(application.run_until(std::future::pending()));
    hub.ready().await;

    // A viewer token of the demo tenant for the WebSocket.
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let signed_in = http
        .post(format!("http://{address}/api/v1/auth/login"))
        .header("origin", format!("http://{address}"))
        .json(&json!({ "email": "admin@astraflow.local", "password": PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(signed_in.status() == 200, "sign-in failed");
    let token: serde_json::Value = http
        .post(format!("http://{address}/api/v1/tenants/demo/tokens"))
        .header("origin", format!("http://{address}"))
        .json(&json!({ "name": "bench", "role": "viewer", "expires_in_days": 1 }))
        .send()
        .await?
        .json()
        .await?;
    let token = token["token"].as_str().expect("a token").to_owned();

    // The load comes over the gateway like any client's: with an engine client's token (valid
    // five minutes, so runs longer than that would need to renew it).
    let client: serde_json::Value = http
        .post(format!(
            "http://{address}/api/v1/tenants/demo/environments/dev/clients"
        ))
        .header("origin", format!("http://{address}"))
        .json(&json!({ "name": "bench", "permissions": ["deploy", "instances"] }))
        .send()
        .await?
        .json()
        .await?;
    let issued: serde_json::Value = reqwest::Client::new()
        .post(client["token_url"].as_str().expect("a token URL"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                client["client_id"].as_str().expect("a client id"),
            ),
            (
                "client_secret",
                client["client_secret"].as_str().expect("a secret"),
            ),
        ])
        .send()
        .await?
        .json()
        .await?;
    let bearer: tonic::metadata::MetadataValue<_> = format!(
        "Bearer {}",
        issued["access_token"].as_str().expect("a token")
    )
    .parse()?;
    let channel = tonic::transport::Channel::from_shared(format!(
        "http://{}",
        client["gateway_address"].as_str().expect("an address")
    ))?
    .connect()
    .await?;
    let mut gateway =
        GatewayClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
            Ok(request)
        });
    gateway
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "bench.bpmn".into(),
                content: PROCESS.as_bytes().to_vec(),
            }],
            tenant_id: "demo".into(),
        })
        .await?;

    let mut request = format!("ws://{address}/api/v1/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let subscribe = ClientMessage::Subscribe {
        id: "bench".into(),
        topic: Topic::Instances {
            tenant: "demo".into(),
            environment: None,
            bpmn_process_id: None,
        },
    };
    socket
        .send(Message::Text(serde_json::to_string(&subscribe)?.into()))
        .await?;

    // Records per instance, measured on one instance first.
    let engine = engines.embedded_engine("dev").await.expect("dev runs");
    let before = engine.committed_position();
    gateway
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "bench".into(),
            version: -1,
            tenant_id: "demo".into(),
            ..Default::default()
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_instance = (engine.committed_position() - before).max(1) as f64;
    let instances_per_second = rate / per_instance;
    println!(
        "load: {rate:.0} records/s = {instances_per_second:.1} instances/s ({per_instance:.0} records each) for {seconds} s"
    );

    // Latencies (ms) of every instance delta, and how many resyncs the client was sent.
    let seen = std::sync::Arc::new(std::sync::Mutex::new((Vec::<i64>::new(), 0_u32)));
    let receiver = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let now = chrono::Utc::now().timestamp_millis();
                let mut seen = seen.lock().expect("not poisoned");
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Delta { deltas, .. }) => seen.0.extend(
                        deltas
                            .iter()
                            .filter(|d| d.kind == DeltaKind::Instance)
                            .map(|d| now - d.timestamp),
                    ),
                    Ok(ServerMessage::Resync { .. }) => seen.1 += 1,
                    _ => {}
                }
            }
        })
    };
    // Only what the load produces counts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    seen.lock().expect("not poisoned").0.clear();

    let start_position = engine.committed_position();
    let started = Instant::now();
    let mut created = 0_u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * instances_per_second) as u64;
        while created < due {
            let mut client = gateway.clone();
            tokio::spawn(async move {
                let _ = client
                    .create_process_instance(pb::CreateProcessInstanceRequest {
                        bpmn_process_id: "bench".into(),
                        version: -1,
                        tenant_id: "demo".into(),
                        ..Default::default()
                    })
                    .await;
            });
            created += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let produced = engine.committed_position() - start_position;
    // Let the tail drain, then stop the receiver.
    tokio::time::sleep(Duration::from_secs(3)).await;
    receiver.abort();
    let (mut latencies, resyncs) = seen.lock().expect("not poisoned").clone();
    latencies.sort_unstable();
    println!(
        "produced {produced} records in {elapsed:.1} s = {:.0} records/s ({created} instances)",
        produced as f64 / elapsed
    );
    println!(
        "deltas received: {} (resyncs: {resyncs}); latency record → WebSocket client: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    drop(admin_db);
    Ok(())
}
