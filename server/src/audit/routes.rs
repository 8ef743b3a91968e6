//! `GET /api/v1/tenants/{tenant}/audit` and `…/audit/verify`.

use axum::{Json, Router, routing::get};
use serde::Deserialize;

use super::{
    AuditEvent, Filter, Verification,
    service::{self, Page},
};
use crate::{
    context::Ctx,
    error::{ApiQuery, ErrorBody, Result},
    extract::TenantPath,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/audit", get(list_audit))
        .route("/api/v1/tenants/{tenant}/audit/verify", get(verify_audit))
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
    params(("tenant" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "Whether the chain holds, or its first broken event", body = Verification)))]
pub(crate) async fn verify_audit(
    ctx: Ctx,
    TenantPath(tenant): TenantPath,
) -> Result<Json<Verification>> {
    Ok(Json(service::verify(&ctx, &tenant).await?))
}
