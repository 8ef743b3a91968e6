//! Sign-in under abuse, and whether a wrong password costs the same for known and unknown
//! emails.
//!
//! Starts the whole server on a fresh database with one known account, then:
//!
//! 1. **Cost of a wrong password**: alternates wrong passwords for the known email and for
//!    unknown ones, one at a time (limits raised so that every attempt is checked), and prints
//!    the median and mean of each and their difference (an account oracle if large).
//! 2. **Flood**: `clients` tasks send wrong passwords for unknown emails as fast as they are
//!    answered for `seconds`, while a signed-in reader polls `GET /api/v1/me` every 50 ms;
//!    prints the attempts answered 401 (checked) and 429 (limited), and the reader's p50, p99,
//!    maximum and 5xx count. It runs twice: with the default sign-in limits (every client on
//!    127.0.0.1, so mostly 429) and with the limits off, which leaves the bounded hashing alone
//!    between the flood and the reader.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p server --bench sign_in -- [clients] [seconds]
//! ```
//! Defaults: 100 clients for 30 seconds.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use server::{config::Config, startup::Application};
use sqlx::{Connection, Executor, PgConnection};

const PASSWORD: &str = "benchmark password";
const KNOWN: &str = "admin@astraflow.local";

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    millis(sorted[index])
}

/// A server on a fresh database, its first-start admin being the known account.
async fn start(base: &str, limits: Option<(u32, u32)>) -> anyhow::Result<String> {
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin_db = PgConnection::connect(base).await?;
    admin_db
        .execute(format!(r#"create database "{name}""#).as_str())
        .await?;
    let (head, _) = base.rsplit_once('/').expect("a URL with a database");
    let dir = tempfile::tempdir()?.keep();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let mut config = Config::default();
    config.http.port = 0;
    config.database.url = Some(format!("{head}/{name}").into());
    config.data_dir = dir.clone();
    config.site.root = dir.join("site");
    config.seed_demo = true;
    config.initial_admin_password = Some(PASSWORD.to_owned().into());
    config.auth.requests_per_minute = 1_000_000;
    // The failures of the cost phase must not lock the known account.
    config.auth.max_failed_logins = i32::MAX;
    match limits {
        Some((address, account)) => {
            config.auth.sign_ins_per_minute_per_address = address;
            config.auth.sign_ins_per_minute_per_account = account;
        }
        None => {
            config.auth.sign_ins_per_minute_per_address = u32::MAX;
            config.auth.sign_ins_per_minute_per_account = u32::MAX;
        }
    }
    let application = Application::build(config).await?;
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until(std::future::pending()));
    Ok(address)
}

async fn attempt(http: &reqwest::Client, address: &str, email: &str) -> reqwest::StatusCode {
    http.post(format!("{address}/api/v1/auth/login"))
        .header("origin", address)
        .json(&json!({ "email": email, "password": "not the password" }))
        .send()
        .await
        .map_or(reqwest::StatusCode::SERVICE_UNAVAILABLE, |r| r.status())
}

async fn cost(base: &str) -> anyhow::Result<()> {
    let address = start(base, None).await?;
    let http = reqwest::Client::new();
    // Warm up connections and the server's first requests.
    for _ in 0..5 {
        attempt(&http, &address, KNOWN).await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..120 {
        let email = if i % 2 == 0 {
            KNOWN.to_owned()
        } else {
            format!("nobody-{i}@example.com")
        };
        let started = Instant::now();
        let status = attempt(&http, &address, &email).await;
        anyhow::ensure!(status == 401, "expected 401, got {status}");
        if i % 2 == 0 {
            known.push(started.elapsed());
        } else {
            unknown.push(started.elapsed());
        }
    }
    known.sort();
    unknown.sort();
    let mean = |v: &[Duration]| millis(v.iter().sum::<Duration>()) / v.len() as f64;
    let (k, u) = (percentile(&known, 0.5), percentile(&unknown, 0.5));
    println!(
        "wrong password, {} each: known email median {k:.1} ms (mean {:.1}), unknown median {u:.1} ms (mean {:.1}); unknown/known {:.3}",
        known.len(),
        mean(&known),
        mean(&unknown),
        u / k
    );
    Ok(())
}

async fn flood(
    base: &str,
    limits: Option<(u32, u32)>,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let address = start(base, limits).await?;
    let reader = reqwest::Client::builder().cookie_store(true).build()?;
    let signed_in = reader
        .post(format!("{address}/api/v1/auth/login"))
        .header("origin", &address)
        .json(&json!({ "email": KNOWN, "password": PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(signed_in.status() == 200, "the reader signs in");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (checked, limited, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut flooders = Vec::new();
    for client in 0..clients {
        let (address, checked, limited, other) = (
            address.clone(),
            checked.clone(),
            limited.clone(),
            other.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let email = format!("flood-{client}-{n}@example.com");
                match attempt(&http, &address, &email).await.as_u16() {
                    401 => checked.fetch_add(1, Ordering::Relaxed),
                    429 => limited.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let mut latencies = Vec::new();
    let mut server_errors = 0;
    while Instant::now() < deadline {
        let started = Instant::now();
        let status = reader
            .get(format!("{address}/api/v1/me"))
            .send()
            .await
            .map_or(503, |r| r.status().as_u16());
        latencies.push(started.elapsed());
        if status >= 500 {
            server_errors += 1;
        }
        tokio::time::sleep(Duration::from_millis(50).saturating_sub(started.elapsed())).await;
    }
    for flooder in flooders {
        flooder.await?;
    }
    latencies.sort();
    let label = match limits {
        Some((a, b)) => format!("limits {a}/min per address, {b}/min per account"),
        None => "limits off".to_owned(),
    };
    println!(
        "flood, {label}: {clients} clients for {seconds} s: {} checked (401), {} limited (429), {} other; reader: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {server_errors} 5xx",
        checked.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().map_or(0.0, millis),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let clients: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(30), |a| a.parse())?;
    let base = std::env::var("DATABASE_URL")
        .map_err(|_| anyhow::anyhow!("set DATABASE_URL to a PostgreSQL server"))?;
    println!(
        "password checks run {} at a time",
        server::auth::password::concurrent_hashes()
    );
    cost(&base).await?;
    let defaults = Config::default().auth;
    flood(
        &base,
        Some((
            defaults.sign_ins_per_minute_per_address,
            defaults.sign_ins_per_minute_per_account,
        )),
        clients,
        seconds,
    )
    .await?;
    flood(&base, None, clients, seconds).await?;
    Ok(())
}
