//! `GET /api/v1/tenants/{tenant}/audit`, `…/audit/verify` and `…/audit/checkpoints`, and the
//! checkpoints' public key.

use std::sync::Arc;

use axum::{Json, Router, extract::State, routing::get};
use serde::Deserialize;

use super::{
    AuditEvent, Filter, Verification,
    checkpoint::{Checkpoint, CheckpointKey, Checkpoints, Trail},
    service::{self, Page},
};
use crate::{
    context::Ctx,
    domain::FieldError,
    error::{ApiQuery, ErrorBody, Result},
    extract::TenantPath,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/audit", get(list_audit))
        .route("/api/v1/tenants/{tenant}/audit/verify", get(verify_audit))
        .route(
            "/api/v1/tenants/{tenant}/audit/checkpoints",
            get(list_checkpoints),
        )
        .route("/api/v1/audit/checkpoint-key", get(checkpoint_key))
}

/// `?full=true`: walk the chain from its first event.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyQuery {
    #[serde(default)]
    pub(crate) full: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
    actor: Option<String>,
    action: Option<String>,
    target_id: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
}

fn default_limit() -> i64 {
    100
}

impl From<AuditQuery> for Page {
    fn from(query: AuditQuery) -> Self {
        Page {
            after: query.after,
            limit: query.limit,
            filter: Filter {
                actor: query.actor,
                action: query.action,
                target_id: query.target_id,
                from: query.from,
                to: query.to,
            },
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("after" = Option<i64>, Query, minimum = 0, description = "Events after this sequence number (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "How many events (default 100)"),
        ("actor" = Option<String>, Query, max_length = 200, description = "Only events whose actor's name contains this, in any case"),
        ("action" = Option<String>, Query, max_length = 100, description = "Only this action, or actions starting with it and a dot (`deployment`)"),
        ("target_id" = Option<String>, Query, max_length = 200, description = "Only events about this target (a deployment id, a process instance key, …)"),
        ("from" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "At or after (RFC 3339)"),
        ("to" = Option<chrono::DateTime<chrono::Utc>>, Query, description = "Before (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "Events in sequence order", body = Vec<AuditEvent>),
        (status = 422, description = "A filter is out of range or too long", body = ErrorBody),
    ))]
pub(crate) async fn list_audit(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEvent>>> {
    Ok(Json(service::list(&ctx, &tenant, query.into()).await?))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit/verify", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("full" = Option<bool>, Query, description = "Walk the chain from its first event, not from where the last verification found it whole"),
    ),
    responses((status = 200, description = "Whether the chain holds, also against its newest signed checkpoint, or its first broken event", body = Verification)))]
pub(crate) async fn verify_audit(
    ctx: Ctx,
    State(checkpoints): State<Arc<Checkpoints>>,
    TenantPath(tenant): TenantPath,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<Verification>> {
    Ok(Json(
        service::verify(&ctx, &checkpoints, &tenant, query.full).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointQuery {
    #[serde(default)]
    trail: TrailName,
    #[serde(default = "default_limit")]
    limit: i64,
}

/// Which trail's checkpoints.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TrailName {
    #[default]
    Control,
    Execution,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/audit/checkpoints", tag = "audit",
    params(
        ("tenant" = String, Path, description = "The tenant's id"),
        ("trail" = Option<TrailName>, Query, description = "`control` (default) or `execution`"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "How many, newest first (default 100)"),
    ),
    responses(
        (status = 200, description = "Signed checkpoints of the chain's head, newest first; keep copies: a chain that later ends before one, or differs at its sequence number, was cut or rewritten", body = Vec<Checkpoint>),
        (status = 422, description = "An unknown trail or a limit out of range", body = ErrorBody),
    ))]
pub(crate) async fn list_checkpoints(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
    ApiQuery(query): ApiQuery<CheckpointQuery>,
) -> Result<Json<Vec<Checkpoint>>> {
    let trail = match query.trail {
        TrailName::Control => Trail::Control,
        TrailName::Execution => Trail::Execution,
    };
    if !(1..=1000).contains(&query.limit) {
        return Err(FieldError::new("limit", "must be between 1 and 1000").into());
    }
    Ok(Json(
        service::checkpoints(&ctx, &tenant, trail, query.limit).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/checkpoint-key", tag = "audit", security(),
    responses((status = 200, description = "The public key that signs audit checkpoints (Ed25519 over the lines `astraflow-audit-checkpoint/1`, tenant, trail, seq, head_hash, signed_at in RFC 3339 with microseconds, joined by newlines)", body = CheckpointKey)))]
pub(crate) async fn checkpoint_key(
    State(checkpoints): State<Arc<Checkpoints>>,
) -> Json<CheckpointKey> {
    Json(checkpoints.public_key())
}
