//! The HTTP side of execution planes: their heartbeat, authenticated with the plane's engine
//! client access token (not a session or an API token), and the tenant's list of planes.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{is_live, service, store::PlaneRow};
use crate::{
    context::Ctx,
    engine_access::Authority,
    error::{ApiJson, ErrorBody, Result},
    extract::TenantPath,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/plane/heartbeat", post(heartbeat))
        .route("/api/v1/tenants/{tenant}/planes", get(list_planes))
}

/// Whether a plane takes jobs, or has said goodbye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlaneState {
    Running,
    Stopped,
}

/// What a plane reports every few seconds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaneHeartbeat {
    /// The environment whose engine the plane works for; the access token must be for it.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00]+$")]
    pub environment: String,
    /// The plane's worker name, unique among the planes of its engine client.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]+$")]
    pub name: String,
    #[schema(min_length = 1, max_length = 64, pattern = r"^[^\x00]+$")]
    pub version: String,
    /// The job types its connectors serve.
    #[schema(schema_with = served_job_types)]
    pub job_types: Vec<String>,
    /// Jobs it runs at once at most.
    #[schema(maximum = 2147483647)]
    #[serde(deserialize_with = "crate::domain::integer::deserialize")]
    pub capacity: u32,
    /// Jobs in hand now.
    #[schema(maximum = 2147483647)]
    #[serde(deserialize_with = "crate::domain::integer::deserialize")]
    pub in_flight: u32,
    pub state: PlaneState,
    pub started_at: DateTime<Utc>,
}

/// Up to 200 job types of 1 to 200 characters each, as the service checks them (an unnamed
/// newtype could not carry these bounds into the schema).
fn served_job_types() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(200))
                .pattern(Some(r"^[^\x00]+$")),
        )
        .max_items(Some(super::MAX_JOB_TYPES))
        .build()
}

/// A plane of the tenant, as last reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plane {
    pub environment: String,
    /// The engine client it authenticates as.
    pub client_id: String,
    pub name: String,
    pub version: String,
    pub job_types: Vec<String>,
    pub capacity: i32,
    pub in_flight: i32,
    pub state: PlaneState,
    /// Running and heard from within the last minute.
    pub live: bool,
    pub started_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
}

impl From<PlaneRow> for Plane {
    fn from(row: PlaneRow) -> Self {
        let state = if row.state == "stopped" {
            PlaneState::Stopped
        } else {
            PlaneState::Running
        };
        Self {
            live: is_live(&row.state, row.silent_secs),
            environment: row.environment,
            client_id: row.client_id,
            name: row.name,
            version: row.version,
            job_types: row.job_types,
            capacity: row.capacity,
            in_flight: row.in_flight,
            state,
            started_at: row.started_at,
            last_heartbeat_at: row.last_heartbeat_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/plane/heartbeat", tag = "execution planes",
    request_body = PlaneHeartbeat,
    security(("engine_client_token" = [])),
    responses(
        (status = 204, description = "Recorded for the token's tenant, environment and client"),
        (status = 401, description = "No access token, or not one this server issued for the environment's engine", body = ErrorBody),
        (status = 403, description = "The engine client lacks the `jobs` permission", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
/// A plane's heartbeat, authenticated with an access token of its engine client from
/// `POST /oauth/token` (the one it calls the engine with).
pub(crate) async fn heartbeat(
    State(pool): State<PgPool>,
    State(authority): State<Arc<Authority>>,
    headers: HeaderMap,
    ApiJson(beat): ApiJson<PlaneHeartbeat>,
) -> Result<StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    service::heartbeat(
        &pool,
        &authority,
        token,
        service::Heartbeat {
            environment: beat.environment,
            name: beat.name,
            version: beat.version,
            job_types: beat.job_types,
            capacity: beat.capacity,
            in_flight: beat.in_flight,
            stopped: beat.state == PlaneState::Stopped,
            started_at: beat.started_at,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/planes", tag = "execution planes",
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses(
        (status = 200, description = "The tenant's planes by environment and name, live or not", body = Vec<Plane>),
        (status = 404, description = "No such tenant", body = ErrorBody),
    ))]
pub(crate) async fn list_planes(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Vec<Plane>>> {
    let planes = service::list(&ctx, &tenant).await?;
    Ok(Json(planes.into_iter().map(Plane::from).collect()))
}
