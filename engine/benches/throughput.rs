//! Throughput of the engine over gRPC with durability on.
//!
//! Starts an [`engine::Engine`] in this process on a real data directory (every reply
//! waits for the group-committed `fsync`), serves the Zeebe gateway on loopback, deploys
//! start → service task → end, and then drives it like real clients: creator tasks start
//! instances, worker tasks long-poll `ActivateJobs` and complete each job. It prints the
//! completed instances per second and the process's CPU use (user + system, from
//! `/proc/self/stat`) over the run; the clients run in the same process and are included.
//!
//! ```text
//! cargo bench -p engine --bench throughput
//! BENCH_INSTANCES=50000 BENCH_CREATORS=64 BENCH_WORKERS=4 cargo bench -p engine --bench throughput
//! ```
//!
//! `BENCH_DATA_DIR` puts the log somewhere other than a temporary directory (the disk under
//! test matters: the figure is bound by `fsync` latency when batches are small).
//!
//! `BENCH_AUTH=tokens` serves the gateway with authentication on, as the server's embedded
//! engines run: every call carries a bearer token (Ed25519 JWT) that the gateway verifies,
//! and the work is confined to the token's tenant. Without it the gateway runs
//! unauthenticated with only the default tenant. Run both to see what authentication costs.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use tokio::task::JoinSet;
use tonic::{Request, transport::Channel};
use zeebe::gateway::{self as pb, GatewayClient};

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="bench" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="bench-work"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// The `authorization` header every call carries (`BENCH_AUTH=tokens`), or none. Made once,
/// as a client holding a token for its lifetime would.
static TOKEN: std::sync::OnceLock<Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>> =
    std::sync::OnceLock::new();

fn request<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(Some(bearer)) = TOKEN.get() {
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
    }
    request
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU time of this process, in seconds.
fn cpu_seconds(ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (field(11), field(12)) {
        (Some(u), Some(s)) => (u + s) / ticks_per_second,
        _ => f64::NAN,
    }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn creator(
    mut client: GatewayClient<Channel>,
    remaining: Arc<AtomicUsize>,
) -> Vec<std::time::Duration> {
    let mut latencies = Vec::new();
    loop {
        let left =
            remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if left.is_err() {
            return latencies;
        }
        let sent = Instant::now();
        client
            .create_process_instance(request(pb::CreateProcessInstanceRequest {
                bpmn_process_id: "bench".into(),
                variables: r#"{"orderId":"A-1","amount":42}"#.into(),
                ..Default::default()
            }))
            .await
            .expect("create instance");
        latencies.push(sent.elapsed());
    }
}

async fn worker(
    client: GatewayClient<Channel>,
    completed: Arc<AtomicUsize>,
    total: usize,
) -> Vec<std::time::Duration> {
    let mut poller = client.clone();
    while completed.load(Ordering::Relaxed) < total {
        let mut stream = poller
            .activate_jobs(request(pb::ActivateJobsRequest {
                r#type: "bench-work".into(),
                worker: "bench".into(),
                timeout: 60_000,
                max_jobs_to_activate: 256,
                request_timeout: 1_000,
                ..Default::default()
            }))
            .await
            .expect("activate jobs")
            .into_inner();
        let mut completions = JoinSet::new();
        while let Some(batch) = stream.message().await.expect("job batch") {
            for job in batch.jobs {
                let mut client = client.clone();
                let completed = completed.clone();
                completions.spawn(async move {
                    client
                        .complete_job(request(pb::CompleteJobRequest {
                            job_key: job.key,
                            variables: r#"{"ok":true}"#.into(),
                            ..Default::default()
                        }))
                        .await
                        .expect("complete job");
                    completed.fetch_add(1, Ordering::Relaxed);
                });
            }
        }
        while let Some(done) = completions.join_next().await {
            done.expect("completion task");
        }
    }
    Vec::new()
}

fn main() -> anyhow::Result<()> {
    let instances = env_usize("BENCH_INSTANCES", 20_000);
    let creators = env_usize("BENCH_CREATORS", 64);
    let workers = env_usize("BENCH_WORKERS", 4);
    let threads = env_usize("BENCH_THREADS", 2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let tmp = tempfile::tempdir()?;
        let dir = std::env::var("BENCH_DATA_DIR")
            .map_or_else(|_| tmp.path().to_owned(), std::path::PathBuf::from);
        let engine = engine::Engine::start(engine::EngineConfig::new(&dir))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let authentication = if std::env::var("BENCH_AUTH").as_deref() == Ok("tokens") {
            use engine::auth::{Claims, KeySet, Permission, SigningKey, Verifier, now_secs};
            let key = SigningKey::generate("bench");
            let mut keys = KeySet::default();
            keys.insert(key.kid(), key.public_key());
            let now = now_secs();
            let token = key.sign(&Claims {
                iss: "https://issuer.bench".into(),
                aud: "astraflow-engine:bench".into(),
                sub: "bench".into(),
                iat: now,
                exp: now + 3600,
                jti: "bench".into(),
                client_id: "bench".into(),
                tenant_id: zeebe::record::TenantId::new("bench")?,
                permissions: Permission::ALL.to_vec(),
            });
            let bearer = format!("Bearer {token}").parse()?;
            TOKEN.get_or_init(|| Some(bearer));
            engine::gateway::Authentication::Tokens(Verifier::new(
                "https://issuer.bench",
                "astraflow-engine:bench",
                keys,
            ))
        } else {
            TOKEN.get_or_init(|| None);
            engine::gateway::Authentication::Disabled
        };
        println!(
            "throughput: gateway authentication {}",
            match authentication {
                engine::gateway::Authentication::Tokens(_) => "on (bearer tokens, Ed25519 JWT)",
                engine::gateway::Authentication::Disabled => "off (default tenant only)",
            }
        );
        tokio::spawn(engine::gateway::serve_with(
            engine.clone(),
            listener,
            engine::gateway::ServeOptions {
                authentication,
                tls: None,
            },
            std::future::pending(),
        ));
        let url = format!("http://{address}");
        // A few connections, as separate client processes would have.
        let mut channels = Vec::new();
        for _ in 0..4 {
            channels.push(Channel::from_shared(url.clone())?.connect().await?);
        }
        let mut deployer = GatewayClient::new(channels[0].clone());
        deployer
            .deploy_resource(request(pb::DeployResourceRequest {
                resources: vec![pb::Resource {
                    name: "bench.bpmn".into(),
                    content: PROCESS.as_bytes().to_vec(),
                }],
                tenant_id: String::new(),
            }))
            .await?;

        let ticks = clock_ticks();
        let cpu_before = cpu_seconds(ticks);
        let commits_before = engine.commit_counts();
        let started = Instant::now();
        let remaining = Arc::new(AtomicUsize::new(instances));
        let completed = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for i in 0..creators {
            let client = GatewayClient::new(channels[i % channels.len()].clone());
            tasks.spawn(creator(client, remaining.clone()));
        }
        for i in 0..workers {
            let client = GatewayClient::new(channels[(i + 1) % channels.len()].clone());
            tasks.spawn(worker(client, completed.clone(), instances));
        }
        let mut latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done?);
        }
        latencies.sort();
        let percentile = |p: usize| {
            latencies
                .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let commits = engine.commit_counts();
        let syncs = (commits.syncs - commits_before.syncs).max(1);
        let appends = commits.appends - commits_before.appends;
        let bytes = commits.bytes - commits_before.bytes;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(ticks) - cpu_before;
        let rate = instances as f64 / elapsed;
        println!(
            "throughput: {instances} instances (start -> service task -> end) created and \
             completed over gRPC in {elapsed:.2} s with durability on"
        );
        println!("throughput: {rate:.0} completed instances/s ({rate:.0} completed tasks/s)");
        println!(
            "throughput: CPU {cpu:.2} s user+system = {:.0}% of one core, {:.0}% of {threads} \
             runtime threads ({creators} creators, {workers} workers, clients in-process)",
            100.0 * cpu / elapsed,
            100.0 * cpu / elapsed / threads as f64
        );
        println!(
            "throughput: create latency p50 {:.1} ms, p99 {:.1} ms",
            percentile(50),
            percentile(99)
        );
        println!(
            "throughput: group commit: {syncs} fsyncs, {:.1} commands and {:.0} KiB per fsync, \
             {:.2} ms writing + {:.2} ms in fsync each; processor busy {:.2} s; log position {}",
            appends as f64 / syncs as f64,
            bytes as f64 / syncs as f64 / 1024.0,
            (commits.write_nanos - commits_before.write_nanos) as f64 / syncs as f64 / 1e6,
            (commits.sync_nanos - commits_before.sync_nanos) as f64 / syncs as f64 / 1e6,
            (commits.producer_nanos - commits_before.producer_nanos) as f64 / 1e9,
            engine.committed_position()
        );
        anyhow::Ok(())
    })
}
