//! The `planes` table: one row per (engine client, worker name), inside the caller's tenant
//! transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use crate::domain::TenantId;

/// A plane as last reported.
#[derive(Debug, Clone)]
pub struct PlaneRow {
    pub environment: String,
    pub client_id: String,
    pub name: String,
    pub version: String,
    pub job_types: Vec<String>,
    pub capacity: i32,
    pub in_flight: i32,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub last_heartbeat_at: DateTime<Utc>,
    /// Seconds since the last heartbeat, by the database's clock.
    pub silent_secs: i64,
}

/// One heartbeat, with the tenant, environment and client its token proved.
pub struct Beat<'a> {
    pub tenant: &'a TenantId,
    pub environment: &'a str,
    pub client_id: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    pub job_types: &'a [String],
    pub capacity: i32,
    pub in_flight: i32,
    pub state: &'a str,
    pub started_at: DateTime<Utc>,
}

/// Records a heartbeat: the plane's row is created or brought up to date.
pub async fn record(conn: &mut PgConnection, beat: &Beat<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into planes (tenant_id, environment, client_id, name, version, job_types, \
         capacity, in_flight, state, started_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         on conflict (tenant_id, client_id, name) do update set \
         environment = excluded.environment, version = excluded.version, \
         job_types = excluded.job_types, capacity = excluded.capacity, \
         in_flight = excluded.in_flight, state = excluded.state, \
         started_at = excluded.started_at, last_heartbeat_at = now()",
    )
    .bind(beat.tenant.as_str())
    .bind(beat.environment)
    .bind(beat.client_id)
    .bind(beat.name)
    .bind(beat.version)
    .bind(beat.job_types)
    .bind(beat.capacity)
    .bind(beat.in_flight)
    .bind(beat.state)
    .bind(beat.started_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's planes, by environment and name.
pub async fn list(
    conn: &mut PgConnection,
    tenant: &TenantId,
) -> Result<Vec<PlaneRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select environment, client_id, name, version, job_types, capacity, in_flight, state, \
         started_at, last_heartbeat_at, \
         extract(epoch from now() - last_heartbeat_at)::bigint as silent_secs \
         from planes where tenant_id = $1 order by environment, name, client_id",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PlaneRow {
                environment: row.try_get("environment")?,
                client_id: row.try_get("client_id")?,
                name: row.try_get("name")?,
                version: row.try_get("version")?,
                job_types: row.try_get("job_types")?,
                capacity: row.try_get("capacity")?,
                in_flight: row.try_get("in_flight")?,
                state: row.try_get("state")?,
                started_at: row.try_get("started_at")?,
                last_heartbeat_at: row.try_get("last_heartbeat_at")?,
                silent_secs: row.try_get("silent_secs")?,
            })
        })
        .collect()
}

/// The job types that the tenant's live planes of `environment` serve: running, and heard
/// from within [`super::LIVE_WITHIN_SECS`].
pub async fn live_job_types(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct job_type from planes, unnest(job_types) as job_type \
         where tenant_id = $1 and environment = $2 and state = 'running' \
         and last_heartbeat_at > now() - make_interval(secs => $3) order by job_type",
    )
    .bind(tenant.as_str())
    .bind(environment)
    .bind(super::LIVE_WITHIN_SECS as f64)
    .fetch_all(&mut *conn)
    .await
}
