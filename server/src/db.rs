//! The connection pool and schema migrations.

use std::time::Duration;

use sqlx::{
    PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use uuid::Uuid;

use crate::domain::TenantId;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A lazily connecting pool: the server comes up even while the database is down, and
/// `/readyz` reports it.
pub fn pool(options: PgConnectOptions, max_connections: u32, acquire_timeout: Duration) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options)
}

/// Whether the database answers and has every migration this build knows applied.
pub async fn check_ready(pool: &PgPool) -> Result<(), NotReady> {
    let applied: Vec<i64> =
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(pool)
            .await
            .map_err(NotReady::Unreachable)?;
    let missing: Vec<i64> = MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|version| !applied.contains(version))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NotReady::Unmigrated(missing))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable: {0}")]
    Unreachable(sqlx::Error),
    #[error("migrations not applied: {0:?}")]
    Unmigrated(Vec<i64>),
}

/// A transaction confined to one tenant by row-level security: it runs as `astraflow_app` (no
/// BYPASSRLS) with `app.tenant_id` — and `app.user_id` when someone is signed in — set for the
/// transaction only. Both settings end with the transaction, so a pooled connection never
/// carries them into the next request.
pub async fn begin_tenant(
    pool: &PgPool,
    tenant: &TenantId,
    user: Option<Uuid>,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local role astraflow_app")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "select set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
    )
    .bind(tenant.as_str())
    .bind(user.map(|id| id.to_string()).unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// A transaction for operations across tenants (creating a tenant, a platform admin's list,
/// resolving a login or a token). It runs as `astraflow_platform`, which also lacks BYPASSRLS
/// and reaches every tenant only through the explicit policies in the migrations. Callers
/// authorise first.
pub async fn begin_platform(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("set local role astraflow_platform")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
