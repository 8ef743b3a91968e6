//! Liveness and readiness probes for orchestrators and load balancers.

use std::{sync::Arc, time::Duration};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;
use sqlx::PgPool;

use crate::monitor::ingest::Ingest;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and fully migrated: 200; otherwise 503 with the reason.
///
/// A record source whose ingest keeps failing (an engine's stream that cannot be read, a
/// batch the database refuses for a passing reason) is listed under `ingest` with its latest
/// error, and the status says `degraded`: the server still serves everything else, so it stays
/// in rotation, while the monitor of that environment lags until the retries succeed.
pub async fn readyz(
    State(pool): State<PgPool>,
    State(ingest): State<Arc<Ingest>>,
) -> impl IntoResponse {
    let outcome = tokio::time::timeout(Duration::from_secs(5), crate::db::check_ready(&pool)).await;
    let reason = match outcome {
        Ok(Ok(())) => {
            let failing = ingest.failing_sources();
            let status = if failing.is_empty() {
                "ready"
            } else {
                "degraded"
            };
            return (
                StatusCode::OK,
                Json(json!({ "status": status, "ingest": failing })),
            );
        }
        Ok(Err(not_ready)) => not_ready.to_string(),
        Err(_) => "database check timed out".to_owned(),
    };
    tracing::warn!(%reason, "not ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}
