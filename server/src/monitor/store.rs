//! The monitor's SQL outside the projections ([`super::query`] reads those, [`super::ingest`]
//! writes them): ingest tokens, and the incident a retry may have raised.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::{Result, TenantId};

/// The environment an ingest token belongs to.
#[derive(Debug)]
pub struct Exporter {
    pub tenant_id: String,
    pub environment_id: Uuid,
    pub environment: String,
    /// The tenant id the environment's engine runs the tenant's work under.
    pub engine_tenant: String,
    pub engine_kind: String,
}

/// The environment whose ingest token hashes to `hash`, across tenants (platform role).
pub async fn exporter_by_token(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<Exporter>> {
    let row = sqlx::query(
        "select e.tenant_id, e.id, e.name, coalesce(e.engine_tenant_id, '<default>'), \
         e.engine_kind from environments e where e.ingest_token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(Exporter {
        tenant_id: row.try_get(0)?,
        environment_id: row.try_get(1)?,
        environment: row.try_get(2)?,
        engine_tenant: row.try_get(3)?,
        engine_kind: row.try_get(4)?,
    }))
}

/// `embedded` or `external`, for the tenant's environment `name`.
pub async fn engine_kind(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "select engine_kind from environments where tenant_id = $1 and name = $2",
    )
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Stores the hash of an environment's new ingest token; its id and the token's time.
pub async fn replace_ingest_token(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
    hash: &[u8],
) -> Result<Option<(Uuid, DateTime<Utc>)>> {
    let row = sqlx::query(
        "update environments set ingest_token_hash = $3, ingest_token_created_at = now() \
         where tenant_id = $1 and name = $2 returning id, ingest_token_created_at",
    )
    .bind(tenant.as_str())
    .bind(name)
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
        None => Ok(None),
    }
}

/// The newest open incident of the same element instance raised after incident `key`.
pub async fn newer_open_incident(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: Uuid,
    element_instance_key: i64,
    key: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "select incident_key from incidents where tenant_id = $1 and environment_id = $2 \
         and element_instance_key = $3 and incident_key > $4 and state = 'active' \
         order by incident_key desc limit 1",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .bind(element_instance_key)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?)
}
