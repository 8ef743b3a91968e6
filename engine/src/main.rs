//! `astraflow-engine`: the embedded engine as a stand-alone Zeebe gateway.
//!
//! `--listen ADDR` (env `ASTRAFLOW_ENGINE_LISTEN`, default `127.0.0.1:26500`) and
//! `--data-dir DIR` (env `ASTRAFLOW_ENGINE_DATA_DIR`, default `./data/engine`).
//! Stops gracefully on Ctrl-C or SIGTERM.

use anyhow::{Context, bail};

struct Args {
    listen: String,
    data_dir: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: std::env::var("ASTRAFLOW_ENGINE_LISTEN")
            .unwrap_or_else(|_| "127.0.0.1:26500".into()),
        data_dir: std::env::var("ASTRAFLOW_ENGINE_DATA_DIR")
            .unwrap_or_else(|_| "data/engine".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .with_context(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--listen" => args.listen = value()?,
            "--data-dir" => args.data_dir = value()?,
            "-h" | "--help" => {
                println!(
                    "usage: astraflow-engine [--listen ADDR] [--data-dir DIR]\n\
                     env: ASTRAFLOW_ENGINE_LISTEN, ASTRAFLOW_ENGINE_DATA_DIR"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    Ok(args)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = parse_args()?;
    let engine = engine::Engine::start(engine::EngineConfig::new(&args.data_dir))
        .with_context(|| format!("starting the engine in {}", args.data_dir))?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %args.data_dir, "Zeebe gateway listening");
    engine::gateway::serve(engine, listener, shutdown_signal())
        .await
        .context("gateway server")?;
    Ok(())
}
