//! Heartbeats to the control plane: who this plane is, what it serves, how busy it is.
//!
//! Sent every `control_plane.heartbeat_secs` with the plane's engine access token (the
//! control plane issued it, and takes it as proof of tenant, environment and client), and once
//! more at shutdown to say the plane stopped. A control plane that is away costs a warning in
//! the log, nothing else: jobs do not depend on it.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::watch;

use crate::worker::Worker;

/// Beats until `stop` turns true, then says goodbye.
pub async fn run(
    worker: Arc<Worker>,
    url: String,
    environment: String,
    job_types: Vec<&'static str>,
    mut stop: watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a plain HTTP client builds");
    let endpoint = format!("{}/api/v1/plane/heartbeat", url.trim_end_matches('/'));
    let started_at = Utc::now();
    let every = Duration::from_secs(worker.config.control_plane.heartbeat_secs.max(1));
    loop {
        beat(
            &http,
            &endpoint,
            &worker,
            &environment,
            &job_types,
            started_at,
            false,
        )
        .await;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    beat(
        &http,
        &endpoint,
        &worker,
        &environment,
        &job_types,
        started_at,
        true,
    )
    .await;
}

async fn beat(
    http: &reqwest::Client,
    endpoint: &str,
    worker: &Worker,
    environment: &str,
    job_types: &[&'static str],
    started_at: DateTime<Utc>,
    stopped: bool,
) {
    let bearer = match worker.bearer().await {
        Ok(bearer) => bearer,
        Err(e) => {
            tracing::warn!(error = %e, "no token for the heartbeat");
            return;
        }
    };
    let body = json!({
        "environment": environment,
        "name": worker.config.worker_name,
        "version": env!("CARGO_PKG_VERSION"),
        "job_types": job_types,
        "capacity": worker.config.connectors.rest.max_concurrent,
        "in_flight": worker.in_flight(),
        "state": if stopped { "stopped" } else { "running" },
        "started_at": started_at.to_rfc3339(),
    });
    let mut request = http.post(endpoint).json(&body);
    if let Some(bearer) = bearer {
        request = request.header("authorization", bearer);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => tracing::warn!(
            status = response.status().as_u16(),
            "the control plane refused the heartbeat"
        ),
        Err(e) => tracing::warn!(error = %e.without_url(), "the control plane is unreachable"),
    }
}
