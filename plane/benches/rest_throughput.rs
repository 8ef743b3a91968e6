//! Jobs per second through the plane's REST connector, and the plane's own time per job.
//!
//! One process holds an engine (durable log on a real directory, gateway on loopback, no
//! authentication), a local HTTP target that answers at once, and the plane. The benchmark
//! deploys start → REST task (`io.camunda:http-json:1`, POST with a FEEL body, a result
//! expression) → end, starts `BENCH_JOBS` instances from a few creator tasks, and waits until
//! the plane has completed every job. It prints jobs per second, and percentiles of the
//! plane's overhead per job: activation to the engine's answer to `CompleteJob`, minus the
//! call to the target. That overhead includes the journal's two appends (synced) and the
//! complete call's round trip to the engine, which waits for the engine's own `fsync`.
//!
//! ```text
//! cargo bench -p plane --bench rest_throughput
//! BENCH_JOBS=20000 BENCH_CONCURRENCY=128 cargo bench -p plane --bench rest_throughput
//! ```
//!
//! `BENCH_JOURNAL_DIR` puts the journal elsewhere (an empty directory on tmpfs, say, shows
//! what its `fsync` costs); the engine's log stays in a temporary directory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tonic::transport::Channel;
use zeebe::gateway::{self as pb, GatewayClient};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn process(target: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="bench" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="call"><bpmn:extensionElements>
      <zeebe:taskDefinition type="io.camunda:http-json:1"/>
      <zeebe:ioMapping>
        <zeebe:input source="POST" target="method"/>
        <zeebe:input source="http://{target}/work" target="url"/>
        <zeebe:input source="={{n: n}}" target="body"/>
      </zeebe:ioMapping>
      <zeebe:taskHeaders><zeebe:header key="resultExpression" value="={{answer: body.n}}"/></zeebe:taskHeaders>
    </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let jobs = env_usize("BENCH_JOBS", 10_000);
    let concurrency = env_usize("BENCH_CONCURRENCY", 64);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let tmp = tempfile::tempdir()?;
        let engine = engine::Engine::start(engine::EngineConfig::new(tmp.path().join("engine")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let gateway_address = listener.local_addr()?;
        tokio::spawn(engine::gateway::serve_with(
            engine.clone(),
            listener,
            engine::gateway::ServeOptions {
                authentication: engine::gateway::Authentication::Disabled,
                tls: None,
            },
            std::future::pending(),
        ));

        let target = Router::new().route(
            "/work",
            post(|Json(body): Json<Value>| async move { Json(body) }),
        );
        let target_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let target_address = target_listener.local_addr()?;
        tokio::spawn(async move { axum::serve(target_listener, target).await });

        let channel = Channel::from_shared(format!("http://{gateway_address}"))?.connect().await?;
        let mut client = GatewayClient::new(channel.clone());
        client
            .deploy_resource(pb::DeployResourceRequest {
                resources: vec![pb::Resource {
                    name: "bench.bpmn".into(),
                    content: process(&target_address.to_string()).into_bytes(),
                }],
                tenant_id: String::new(),
            })
            .await?;

        let mut config = plane::config::Config {
            tenant: "<default>".into(),
            ..Default::default()
        };
        config.gateway.address = format!("http://{gateway_address}");
        let journal = std::env::var("BENCH_JOURNAL_DIR")
            .map_or_else(|_| tmp.path().join("journal"), std::path::PathBuf::from);
        config.journal.dir = journal.clone();
        config.http.port = 0;
        config.connectors.rest.max_concurrent = concurrency;
        config.connectors.rest.max_per_host = concurrency;
        let plane = plane::Plane::start(config).await?;
        plane.metrics.keep_samples();

        println!("rest_throughput: {jobs} jobs, plane concurrency {concurrency}");
        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let mut creators = JoinSet::new();
        for _ in 0..8 {
            let next = next.clone();
            let mut client = GatewayClient::new(channel.clone());
            creators.spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= jobs {
                        return;
                    }
                    client
                        .create_process_instance(pb::CreateProcessInstanceRequest {
                            bpmn_process_id: "bench".into(),
                            version: -1,
                            variables: json!({ "n": n }).to_string(),
                            ..Default::default()
                        })
                        .await
                        .expect("instance created");
                }
            });
        }
        while creators.join_next().await.is_some() {}
        let created = started.elapsed();
        while (plane.metrics.jobs("rest", "completed") as usize) < jobs {
            let failed = plane.metrics.jobs("rest", "failed");
            assert_eq!(failed, 0, "jobs failed; see the log");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed();
        let samples = plane.metrics.take_samples();
        let mut overhead: Vec<Duration> = samples.iter().map(|(total, target)| total.saturating_sub(*target)).collect();
        let mut target: Vec<Duration> = samples.iter().map(|(_, target)| *target).collect();
        overhead.sort();
        target.sort();
        println!(
            "rest_throughput: {jobs} jobs in {:.2} s = {:.0} jobs/s (instances created in {:.2} s)",
            elapsed.as_secs_f64(),
            jobs as f64 / elapsed.as_secs_f64(),
            created.as_secs_f64()
        );
        println!(
            "rest_throughput: plane overhead per job p50 {:.2} ms, p99 {:.2} ms; target call p50 {:.2} ms, p99 {:.2} ms",
            percentile(&overhead, 50.0).as_secs_f64() * 1e3,
            percentile(&overhead, 99.0).as_secs_f64() * 1e3,
            percentile(&target, 50.0).as_secs_f64() * 1e3,
            percentile(&target, 99.0).as_secs_f64() * 1e3,
        );
        let verified = plane::journal::verify(&journal).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("rest_throughput: journal verifies, {} events", verified.events);
        plane.shutdown().await;
        Ok(())
    })
}
