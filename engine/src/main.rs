//! `astraflow-engine`: the embedded engine as a stand-alone Zeebe gateway.
//!
//! `--listen ADDR` (env `ASTRAFLOW_ENGINE_LISTEN`, default `127.0.0.1:26500`) and
//! `--data-dir DIR` (env `ASTRAFLOW_ENGINE_DATA_DIR`, default `./data/engine`), and
//! optionally `--records FILE` (env `ASTRAFLOW_ENGINE_RECORDS`): append every durable
//! record to FILE as one exporter-record JSON document per line, from position 1 on
//! start, so tools without an in-process subscription (conformance scripts, incident
//! look-ups) can follow the record stream.
//! `--snapshot-every N` (env `ASTRAFLOW_ENGINE_SNAPSHOT_EVERY`, default 10000, 0 for
//! none): write a state snapshot every N log entries, so a restart replays less.
//! Stops gracefully on Ctrl-C or SIGTERM.

use anyhow::{Context, bail};

struct Args {
    listen: String,
    data_dir: String,
    records: Option<String>,
    snapshot_every: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        listen: std::env::var("ASTRAFLOW_ENGINE_LISTEN")
            .unwrap_or_else(|_| "127.0.0.1:26500".into()),
        data_dir: std::env::var("ASTRAFLOW_ENGINE_DATA_DIR")
            .unwrap_or_else(|_| "data/engine".into()),
        records: std::env::var("ASTRAFLOW_ENGINE_RECORDS").ok(),
        snapshot_every: match std::env::var("ASTRAFLOW_ENGINE_SNAPSHOT_EVERY") {
            Ok(v) => v
                .parse()
                .context("ASTRAFLOW_ENGINE_SNAPSHOT_EVERY must be a number")?,
            Err(_) => engine::runtime::DEFAULT_SNAPSHOT_EVERY,
        },
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
            "--records" => args.records = Some(value()?),
            "--snapshot-every" => {
                args.snapshot_every = value()?
                    .parse()
                    .context("--snapshot-every must be a number")?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: astraflow-engine [--listen ADDR] [--data-dir DIR] [--records FILE] \
                     [--snapshot-every N]\n\
                     env: ASTRAFLOW_ENGINE_LISTEN, ASTRAFLOW_ENGINE_DATA_DIR, \
                     ASTRAFLOW_ENGINE_RECORDS, ASTRAFLOW_ENGINE_SNAPSHOT_EVERY"
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

/// Writes the record stream to `path` as JSON lines (the file is truncated first: the
/// stream starts again at position 1).
fn export_records(engine: &engine::Engine, path: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating the records file {path}"))?;
    let mut out = std::io::LineWriter::new(file);
    let mut records = engine.subscribe(1);
    tokio::spawn(async move {
        while let Some(record) = records.recv().await {
            let written = serde_json::to_writer(&mut out, &*record)
                .map_err(std::io::Error::other)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                tracing::error!(error = %e, "writing the records file failed; export stopped");
                return;
            }
        }
    });
    Ok(())
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
    let config = engine::EngineConfig {
        snapshot_every: args.snapshot_every,
        ..engine::EngineConfig::new(&args.data_dir)
    };
    let engine = engine::Engine::start(config)
        .with_context(|| format!("starting the engine in {}", args.data_dir))?;
    if let Some(path) = &args.records {
        export_records(&engine, path)?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %args.data_dir, "Zeebe gateway listening");
    engine::gateway::serve(engine, listener, shutdown_signal())
        .await
        .context("gateway server")?;
    Ok(())
}
