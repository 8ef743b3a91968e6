//! Latency of the OAuth token endpoint (`POST /oauth/token`, client-credentials grant) at a
//! steady request rate, as many workers renewing their tokens would load it.
//!
//! Starts the whole server on a fresh database, creates an engine client for the demo tenant's
//! `dev` environment, then sends token requests at a fixed rate (open loop: a request is sent
//! on schedule whether or not earlier ones have been answered, so a slow server shows as
//! latency, not as a lower rate) and prints p50, p90, p99 and the maximum.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p server --bench token_latency -- [requests per second] [seconds]
//! ```
//! Defaults: 200 requests per second for 20 seconds.

use std::time::{Duration, Instant};

use serde_json::json;
use server::{config::Config, startup::Application};
use sqlx::{Connection, Executor, PgConnection};

const PASSWORD: &str = "benchmark password";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let rate: f64 = args.next().map_or(Ok(200.0), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(20), |a| a.parse())?;
    let base = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL server"))?;

    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin_db = PgConnection::connect(&base).await?;
    admin_db
        .execute(format!(r#"create database "{name}""#).as_str())
        .await?;
    let (head, _) = base.rsplit_once('/').expect("a URL with a database");
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    let mut config = Config::default();
    config.http.port = 0;
    config.database.url = Some(format!("{head}/{name}").into());
    config.data_dir = dir.path().to_path_buf();
    config.site.root = dir.path().join("site");
    config.seed_demo = true;
    config.initial_admin_password = Some(PASSWORD.to_owned().into());
    config.auth.requests_per_minute = 100_000;
    let application = Application::build(config).await?;
    let address = format!("127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));

    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let signed_in = http
        .post(format!("http://{address}/api/v1/auth/login"))
        .header("origin", format!("http://{address}"))
        .json(&json!({ "email": "admin@astraflow.local", "password": PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(signed_in.status() == 200, "sign-in failed");
    let client: serde_json::Value = http
        .post(format!(
            "http://{address}/api/v1/tenants/demo/environments/dev/clients"
        ))
        .header("origin", format!("http://{address}"))
        .json(&json!({ "name": "bench", "permissions": ["jobs"] }))
        .send()
        .await?
        .json()
        .await?;
    let token_url = client["token_url"]
        .as_str()
        .expect("a token URL")
        .to_owned();
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        (
            "client_id",
            client["client_id"].as_str().expect("an id").to_owned(),
        ),
        (
            "client_secret",
            client["client_secret"]
                .as_str()
                .expect("a secret")
                .to_owned(),
        ),
        (
            "audience",
            client["audience"].as_str().expect("an audience").to_owned(),
        ),
    ];
    // Keep-alive connections, as workers renewing tokens hold them.
    let workers = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    // Warm up: connections and the first key load.
    for _ in 0..20 {
        let answer = workers.post(&token_url).form(&form).send().await?;
        anyhow::ensure!(answer.status() == 200, "token request: {}", answer.status());
    }

    let total = (rate * seconds as f64) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = started + interval * u32::try_from(i)?;
        tokio::time::sleep_until(due.into()).await;
        let (workers, token_url, form) = (workers.clone(), token_url.clone(), form.clone());
        tasks.spawn(async move {
            let sent = Instant::now();
            let answer = workers.post(&token_url).form(&form).send().await;
            let ok = match answer {
                Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            (sent.elapsed(), ok)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failures = 0usize;
    while let Some(done) = tasks.join_next().await {
        let (latency, ok) = done?;
        latencies.push(latency);
        failures += usize::from(!ok);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "token_latency: {total} client-credentials grants at {rate:.0}/s over {elapsed:.1} s \
         ({:.0}/s achieved), {failures} failed",
        total as f64 / elapsed
    );
    println!(
        "token_latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    admin_db
        .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
        .await
        .ok();
    Ok(())
}
