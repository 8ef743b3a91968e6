//! Liveness and readiness probes for orchestrators and load balancers.

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;
use sqlx::PgPool;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and fully migrated: 200; otherwise 503 with the reason.
pub async fn readyz(State(pool): State<PgPool>) -> impl IntoResponse {
    let outcome = tokio::time::timeout(Duration::from_secs(5), crate::db::check_ready(&pool)).await;
    let reason = match outcome {
        Ok(Ok(())) => return (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Err(not_ready)) => not_ready.to_string(),
        Err(_) => "database check timed out".to_owned(),
    };
    tracing::warn!(%reason, "not ready");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "reason": reason })),
    )
}
