//! `astraflow-plane`: the execution plane as a process.
//!
//! - `astraflow-plane` (or `astraflow-plane run`): takes the configured tenant's connector
//!   jobs until SIGTERM or Ctrl-C, then stops taking jobs and finishes or gives back the ones
//!   in hand. Configuration: `astraflow-plane.toml` (or the file in `ASTRAFLOW_PLANE_CONFIG`)
//!   and `ASTRAFLOW_PLANE_*` variables; see the README.
//! - `astraflow-plane journal verify [DIR]`: checks the journal's numbering, links and
//!   hashes (DIR defaults to the configured `journal.dir`); exits 1 at the first event that
//!   does not verify, naming its file and line.

use std::{path::PathBuf, process::ExitCode};

use plane::{Plane, config::Config};

const USAGE: &str = "usage: astraflow-plane [run] | astraflow-plane journal verify [DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["run"] => run(),
        ["journal", "verify"] => verify(None),
        ["journal", "verify", dir] => verify(Some(PathBuf::from(dir))),
        ["--version"] => {
            println!("astraflow-plane {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("astraflow-plane: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log.format.as_deref() == Some("json"));
    tracing::info!(?config, "configuration");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async move {
        let plane = match Plane::start(config).await {
            Ok(plane) => plane,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "the plane cannot start");
                return ExitCode::FAILURE;
            }
        };
        wait_for_signal().await;
        tracing::info!("stopping: no new jobs; finishing the ones in hand");
        plane.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn verify(dir: Option<PathBuf>) -> ExitCode {
    // The directory may come from the configuration, which need not be complete for this.
    let dir = dir.unwrap_or_else(|| match Config::load_unchecked() {
        Ok(config) => config.journal.dir,
        Err(_) => plane::config::JournalConfig::default().dir,
    });
    match plane::journal::verify(&dir) {
        Ok(verified) => {
            println!(
                "journal {} verifies: {} events in {} segments, head {} (event {})",
                dir.display(),
                verified.events,
                verified.segments,
                verified.head.hash,
                verified.head.seq
            );
            ExitCode::SUCCESS
        }
        Err(broken) => {
            println!("journal {} does NOT verify: {broken}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(json: bool) {
    use tracing_subscriber::{EnvFilter, fmt, prelude::*};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt::layer().json()).init();
    } else {
        registry.with(fmt::layer()).init();
    }
}
