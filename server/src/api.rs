//! The REST API under `/api/v1`, assembled from the features' routers. Each feature's
//! `routes.rs` holds its handlers: a few lines each, extracting the request context
//! ([`crate::context::Ctx`]) and the path ([`crate::extract`]), calling the feature's service
//! and shaping the answer.

use axum::{Router, routing::get};

use crate::{
    audit, auth, deployments, engine_access, environments, error::ApiError, executions, health,
    monitor, openapi, planes, state::AppState, tenants, workflows,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(auth::routes::router())
        .merge(tenants::routes::router())
        .merge(audit::routes::router())
        .merge(workflows::routes::router())
        .merge(workflows::uploads::router())
        .merge(environments::routes::router())
        .merge(deployments::routes::router())
        .merge(executions::routes::router())
        .merge(monitor::routes::router())
        .merge(auth::oidc::router())
        .merge(engine_access::routes::router())
        .merge(planes::routes::router())
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/v1/{*rest}", axum::routing::any(unknown_endpoint))
}

async fn unknown_endpoint() -> ApiError {
    ApiError::NotFound("endpoint")
}
