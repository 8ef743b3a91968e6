//! `astraflow-engine`: the embedded engine as a stand-alone Zeebe gateway.
//!
//! `--listen ADDR` (env `ASTRAFLOW_ENGINE_LISTEN`, default `127.0.0.1:26500`) and
//! `--data-dir DIR` (env `ASTRAFLOW_ENGINE_DATA_DIR`, default `./data/engine`), and
//! optionally `--records FILE` (env `ASTRAFLOW_ENGINE_RECORDS`): append every durable
//! record to FILE as one exporter-record JSON document per line, so tools without an
//! in-process subscription (conformance scripts, incident look-ups) can follow the record
//! stream. A new file starts at position 1; an existing one goes on after its last
//! complete line (an unfinished line left by a crash is cut off), unless it holds records
//! past the end of the log, when it is started afresh.
//! `--snapshot-every N` (env `ASTRAFLOW_ENGINE_SNAPSHOT_EVERY`, default 10000, 0 for
//! none): write a state snapshot every N log entries, so a restart replays less.
//! `--segment-bytes N` (env `ASTRAFLOW_ENGINE_SEGMENT_BYTES`, default 64 MiB): start a new
//! log segment once one grows past N bytes; segments are what is deleted.
//!
//! Log segments that a snapshot covers are deleted once the records file (if any) has
//! them, synced: disk use stays bounded, and the records file is the exporter that holds
//! deletion back. While the data directory cannot be written (a full disk), commands are
//! answered `RESOURCE_EXHAUSTED` and the engine carries on by itself once writes work again.
//!
//! Authentication, as Zeebe's: without an issuer the gateway runs with multi-tenancy
//! disabled (no authentication, only the default tenant `<default>`; any other tenant id is
//! refused with `PERMISSION_DENIED`). With `--issuer URL` (env `ASTRAFLOW_ENGINE_ISSUER`),
//! `--audience AUD` (env `ASTRAFLOW_ENGINE_AUDIENCE`) and the issuer's public keys, either
//! `--jwks-url URL` (env `ASTRAFLOW_ENGINE_JWKS_URL`; fetched at start, every five minutes,
//! and when a token names an unknown key) or `--jwks-file FILE` (env
//! `ASTRAFLOW_ENGINE_JWKS_FILE`), every call needs a bearer token from that issuer for that
//! audience, and may touch only the token's tenant.
//!
//! TLS: `--tls-cert FILE` and `--tls-key FILE` (PEM; env `ASTRAFLOW_ENGINE_TLS_CERT`,
//! `ASTRAFLOW_ENGINE_TLS_KEY`) serve the gateway over TLS.
//!
//! Stops gracefully on Ctrl-C or SIGTERM.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Read, Seek, SeekFrom, Write},
    path::Path,
};

use anyhow::{Context, bail};
use engine::{
    auth::{KeySet, Verifier},
    gateway::{Authentication, ServeOptions, TlsIdentity},
};

struct Args {
    listen: String,
    data_dir: String,
    records: Option<String>,
    snapshot_every: u64,
    segment_bytes: u64,
    issuer: Option<String>,
    audience: Option<String>,
    jwks_url: Option<String>,
    jwks_file: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
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
        segment_bytes: match std::env::var("ASTRAFLOW_ENGINE_SEGMENT_BYTES") {
            Ok(v) => v
                .parse()
                .context("ASTRAFLOW_ENGINE_SEGMENT_BYTES must be a number")?,
            Err(_) => engine::log::LogOptions::default().max_segment_bytes,
        },
        issuer: std::env::var("ASTRAFLOW_ENGINE_ISSUER").ok(),
        audience: std::env::var("ASTRAFLOW_ENGINE_AUDIENCE").ok(),
        jwks_url: std::env::var("ASTRAFLOW_ENGINE_JWKS_URL").ok(),
        jwks_file: std::env::var("ASTRAFLOW_ENGINE_JWKS_FILE").ok(),
        tls_cert: std::env::var("ASTRAFLOW_ENGINE_TLS_CERT").ok(),
        tls_key: std::env::var("ASTRAFLOW_ENGINE_TLS_KEY").ok(),
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
            "--issuer" => args.issuer = Some(value()?),
            "--audience" => args.audience = Some(value()?),
            "--jwks-url" => args.jwks_url = Some(value()?),
            "--jwks-file" => args.jwks_file = Some(value()?),
            "--tls-cert" => args.tls_cert = Some(value()?),
            "--tls-key" => args.tls_key = Some(value()?),
            "--snapshot-every" => {
                args.snapshot_every = value()?
                    .parse()
                    .context("--snapshot-every must be a number")?;
            }
            "--segment-bytes" => {
                args.segment_bytes = value()?
                    .parse()
                    .context("--segment-bytes must be a number")?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: astraflow-engine [--listen ADDR] [--data-dir DIR] [--records FILE] \
                     [--snapshot-every N] [--segment-bytes N] [--issuer URL --audience AUD \
                     (--jwks-url URL | --jwks-file FILE)] [--tls-cert FILE --tls-key FILE]\n\
                     env: ASTRAFLOW_ENGINE_LISTEN, ASTRAFLOW_ENGINE_DATA_DIR, \
                     ASTRAFLOW_ENGINE_RECORDS, ASTRAFLOW_ENGINE_SNAPSHOT_EVERY, \
                     ASTRAFLOW_ENGINE_SEGMENT_BYTES, \
                     ASTRAFLOW_ENGINE_ISSUER, ASTRAFLOW_ENGINE_AUDIENCE, \
                     ASTRAFLOW_ENGINE_JWKS_URL, ASTRAFLOW_ENGINE_JWKS_FILE, \
                     ASTRAFLOW_ENGINE_TLS_CERT, ASTRAFLOW_ENGINE_TLS_KEY"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    Ok(args)
}

/// The gateway's authentication from the arguments: none without an issuer; otherwise a
/// verifier whose keys come from a file or a JWKS URL (followed in the background).
async fn authentication(args: &Args) -> anyhow::Result<Authentication> {
    let Some(issuer) = &args.issuer else {
        if args.audience.is_some() || args.jwks_url.is_some() || args.jwks_file.is_some() {
            bail!("--audience, --jwks-url and --jwks-file need --issuer");
        }
        tracing::warn!(
            "no token issuer configured: multi-tenancy is disabled, only the default tenant \
             is served and callers are not authenticated"
        );
        return Ok(Authentication::Disabled);
    };
    let audience = args
        .audience
        .clone()
        .context("--issuer needs --audience (the audience tokens for this engine carry)")?;
    let keys = match (&args.jwks_url, &args.jwks_file) {
        (Some(url), None) => fetch_jwks(url).await?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the JWKS file {file}"))?;
            KeySet::from_jwks(&text).map_err(anyhow::Error::msg)?
        }
        _ => bail!("--issuer needs exactly one of --jwks-url and --jwks-file"),
    };
    let verifier = Verifier::new(issuer.clone(), audience, keys);
    if let Some(url) = &args.jwks_url {
        tokio::spawn(follow_jwks(url.clone(), verifier.clone()));
    }
    Ok(Authentication::Tokens(verifier))
}

async fn fetch_jwks(url: &str) -> anyhow::Result<KeySet> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let text = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching the issuer's keys from {url}"))?
        .text()
        .await?;
    KeySet::from_jwks(&text).map_err(anyhow::Error::msg)
}

/// Keeps the verifier's keys current: every five minutes, and soon after a token names a
/// key we do not know (at most every ten seconds, so bad tokens cannot make us hammer the
/// issuer). A failed fetch keeps the keys we have.
async fn follow_jwks(url: String, verifier: Verifier) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(300);
    const AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
    loop {
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = verifier.unknown_key_notified() => {}
        }
        match fetch_jwks(&url).await {
            Ok(keys) if !keys.is_empty() => verifier.set_keys(keys),
            Ok(_) => tracing::warn!(%url, "the issuer published no Ed25519 key; keeping ours"),
            Err(error) => {
                tracing::warn!(%url, error = %format!("{error:#}"), "refreshing keys failed")
            }
        }
        tokio::time::sleep(AT_MOST_EVERY).await;
    }
}

fn tls(args: &Args) -> anyhow::Result<Option<TlsIdentity>> {
    match (&args.tls_cert, &args.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(TlsIdentity {
            certificate: std::fs::read(cert).with_context(|| format!("reading {cert}"))?,
            key: std::fs::read(key).with_context(|| format!("reading {key}"))?,
        })),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
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

/// The exporter name under which the records file acknowledges what it holds.
const RECORDS_EXPORTER: &str = "records-file";

/// Writes the record stream to `path` as JSON lines, going on after what an earlier run
/// wrote, and acknowledges each batch once it is synced, so the log segments holding it
/// may be deleted.
fn export_records(engine: &engine::Engine, path: &str) -> anyhow::Result<()> {
    let (file, last) = open_records_file(Path::new(path), engine.committed_position())
        .with_context(|| format!("opening the records file {path}"))?;
    let records = engine.subscribe(last + 1);
    let exporter = engine.exporter(RECORDS_EXPORTER);
    std::thread::Builder::new()
        .name("records-file".into())
        .spawn(move || write_records(records, file, &exporter))
        .context("starting the records file exporter")?;
    Ok(())
}

/// Opens the records file for appending after its last complete line; returns it with
/// the position of the last record in it (0 for none).
fn open_records_file(path: &Path, committed: i64) -> std::io::Result<(File, i64)> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = file.metadata()?.len();
    let (mut keep, mut last) = (0, 0);
    if let Some(end) = rfind_newline(&mut file, len)? {
        let start = rfind_newline(&mut file, end)?.map_or(0, |s| s + 1);
        let mut line = vec![0; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        match serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["position"].as_i64())
        {
            Some(position) if position <= committed => (keep, last) = (end + 1, position),
            _ => tracing::warn!(
                path = %path.display(),
                "the records file does not continue this engine's log; starting it afresh"
            ),
        }
    }
    if keep < len {
        if keep > 0 {
            tracing::warn!(path = %path.display(), "cutting an unfinished line off the records file");
        }
        file.set_len(keep)?;
    }
    file.seek(SeekFrom::Start(keep))?;
    Ok((file, last))
}

/// Offset of the last newline before byte `before`, reading backwards in chunks.
fn rfind_newline(file: &mut File, before: u64) -> std::io::Result<Option<u64>> {
    let mut buf = vec![0; 64 * 1024];
    let mut end = before;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

/// Writes what the stream delivers, a batch at a time, each synced before it is
/// acknowledged.
fn write_records(
    mut records: tokio::sync::mpsc::Receiver<std::sync::Arc<zeebe::record::Record>>,
    file: File,
    exporter: &engine::ExporterHandle,
) {
    const BATCH: usize = 1000;
    let mut out = BufWriter::new(file);
    let write = |out: &mut BufWriter<File>, record: &zeebe::record::Record| {
        serde_json::to_writer(&mut *out, record)
            .map_err(std::io::Error::other)
            .and_then(|()| out.write_all(b"\n"))
    };
    while let Some(first) = records.blocking_recv() {
        let mut last = first.position;
        let mut written = write(&mut out, &first);
        for _ in 1..BATCH {
            let Ok(record) = records.try_recv() else {
                break;
            };
            last = record.position;
            written = written.and_then(|()| write(&mut out, &record));
        }
        let synced = written
            .and_then(|()| out.flush())
            .and_then(|()| out.get_ref().sync_data());
        if let Err(e) = synced {
            tracing::error!(
                error = %e,
                "writing the records file failed; export stopped (a restart goes on from the \
                 file's last complete line)"
            );
            return;
        }
        exporter.acknowledge(last);
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
    let options = ServeOptions {
        authentication: authentication(&args).await?,
        tls: tls(&args)?,
    };
    let config = engine::EngineConfig {
        snapshot_every: args.snapshot_every,
        log: engine::log::LogOptions {
            max_segment_bytes: args.segment_bytes,
        },
        retention: engine::Retention::Compact {
            exporters: args
                .records
                .iter()
                .map(|_| RECORDS_EXPORTER.to_owned())
                .collect(),
        },
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
    engine::gateway::serve_with(engine, listener, options, shutdown_signal())
        .await
        .context("gateway server")?;
    Ok(())
}
