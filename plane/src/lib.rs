//! ASTRAPlane: the execution plane. It runs in the customer's own cloud account, for one
//! tenant, and does the work the control plane only orchestrates: it takes the tenant's
//! connector jobs from a Zeebe gateway (ours or a Camunda 8 cluster's), calls the customer's
//! systems with secrets that never leave the account, reports each job back to the engine,
//! and keeps its own hash-chained journal of what it did.
//!
//! The pieces, each in its module:
//! - [`config`]: defaults → `astraflow-plane.toml` → `ASTRAFLOW_PLANE_*`, secrets redacted;
//! - [`token`]: OAuth client credentials for the gateway;
//! - [`worker`]: job streams and long polling, concurrency, timeouts, shutdown;
//! - [`connectors`]: the connectors (REST so far) and Camunda's result and error expressions;
//! - [`secrets`]: `{{secrets.NAME}}` placeholders;
//! - [`breaker`]: a circuit breaker per target host;
//! - [`journal`]: the execution journal and its verification;
//! - [`metrics`]: `/metrics` and `/healthz`;
//! - [`heartbeat`]: what the tenant page shows of the plane.
//!
//! The plane needs nothing from the control plane while it runs: the gateway and its token
//! endpoint are all its jobs need. Heartbeats to the control plane are optional and never
//! hold anything up.

pub mod breaker;
pub mod config;
pub mod connectors;
pub mod heartbeat;
pub mod journal;
pub mod metrics;
pub mod secrets;
pub mod token;
pub mod worker;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{sync::watch, task::JoinHandle};

use crate::{config::Config, journal::Journal, metrics::Metrics, worker::Worker};

/// A running plane.
pub struct Plane {
    /// Where `/metrics` and `/healthz` are served.
    pub http_address: SocketAddr,
    pub metrics: Arc<Metrics>,
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
    abort: watch::Sender<bool>,
    takers: Vec<JoinHandle<()>>,
    http: JoinHandle<std::io::Result<()>>,
}

impl Plane {
    /// Opens the journal, checks the credentials, and starts taking jobs.
    ///
    /// # Errors
    /// The journal cannot be opened, the metrics port cannot be bound, or the token endpoint
    /// or gateway refuse the plane's credentials.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let (journal, head) = Journal::open(&config.journal.dir, config.journal.segment_events)
            .with_context(|| format!("opening the journal in {}", config.journal.dir.display()))?;
        tracing::info!(dir = %config.journal.dir.display(), events = head.seq, "journal open");
        let listener = tokio::net::TcpListener::bind((config.http.host, config.http.port))
            .await
            .with_context(|| format!("binding {}:{}", config.http.host, config.http.port))?;
        let http_address = listener.local_addr()?;
        let metrics = Arc::new(Metrics::default());
        let tenant = config.tenant.clone();
        let job_types = worker::served_job_types(&config);
        let heartbeat_to = config.control_plane.url.clone().zip(config.environment());
        let worker = Worker::new(config, journal, metrics.clone()).await?;

        let (stop, stop_rx) = watch::channel(false);
        let (abort, abort_rx) = watch::channel(false);
        let mut takers = Vec::new();
        for job_type in job_types {
            takers.push(tokio::spawn(worker.clone().poll(
                job_type,
                stop_rx.clone(),
                abort_rx.clone(),
            )));
            if worker.config.jobs.stream {
                takers.push(tokio::spawn(worker.clone().stream(
                    job_type,
                    stop_rx.clone(),
                    abort_rx.clone(),
                )));
            }
        }
        if let Some((url, environment)) = heartbeat_to {
            takers.push(tokio::spawn(heartbeat::run(
                worker.clone(),
                url,
                environment,
                worker::served_job_types(&worker.config),
                stop_rx.clone(),
            )));
        }
        let mut http_stop = stop_rx;
        let http = tokio::spawn(metrics::serve(
            listener,
            metrics.clone(),
            worker.breakers.clone(),
            tenant.clone(),
            async move {
                let _ = http_stop.wait_for(|s| *s).await;
            },
        ));
        tracing::info!(%tenant, gateway = %worker.config.gateway.address, metrics = %format!("http://{http_address}/metrics"), "plane started");
        Ok(Self {
            http_address,
            metrics,
            worker,
            stop,
            abort,
            takers,
            http,
        })
    }

    /// Stops taking jobs, lets the ones in hand finish within the grace period, gives back
    /// the rest with their retries untouched, and stops serving `/metrics`.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for taker in self.takers {
            let _ = taker.await;
        }
        let grace = Duration::from_secs(self.worker.config.jobs.shutdown_grace_secs);
        if !self.worker.drained(grace).await {
            tracing::warn!("jobs still running after the grace period; giving them back");
            let _ = self.abort.send(true);
            let _ = self.worker.drained(Duration::from_secs(10)).await;
        }
        let _ = self.http.await;
        tracing::info!("plane stopped");
    }
}
