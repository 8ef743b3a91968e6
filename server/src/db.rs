//! The connection pool and schema migrations.

use std::time::Duration;

use sha2::Digest;
use sqlx::{
    PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use uuid::Uuid;

use crate::domain::TenantId;

/// Every migration in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Makes sure this database's serving login role exists, with the privileges serving needs
/// and nothing more, and returns `owner`'s connect options logged in as it instead.
///
/// The role owns nothing: it reaches data only by `set local role astraflow_app` or
/// `astraflow_platform` (see [`begin_tenant`], [`begin_platform`]), reads the migration table
/// and the installation's identity for the status page and `/readyz`, and keeps the session
/// store's rows. So it can disable no trigger and alter,
/// drop or truncate no table. `owner` must be allowed to create roles (a superuser, or a role
/// with CREATEROLE).
pub async fn serving_login(
    owner: &PgPool,
    options: &PgConnectOptions,
) -> Result<PgConnectOptions, sqlx::Error> {
    let mut tx = owner.begin().await?;
    // Two servers starting on one database agree on one password.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('astraflow_serving_login', 0))")
        .execute(&mut *tx)
        .await?;
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut *tx)
        .await?;
    let role = format!(
        "astraflow_srv_{}",
        &hex::encode(sha2::Sha256::digest(database.as_bytes()))[..16]
    );
    let stored: Option<String> =
        sqlx::query_scalar("select password from serving_login where role_name = $1")
            .bind(&role)
            .fetch_optional(&mut *tx)
            .await?;
    let password = match stored {
        Some(password) => password,
        None => {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            let password = hex::encode(bytes);
            sqlx::query("insert into serving_login (role_name, password) values ($1, $2)")
                .bind(&role)
                .bind(&password)
                .execute(&mut *tx)
                .await?;
            password
        }
    };
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(&role)
            .fetch_one(&mut *tx)
            .await?;
    // DDL takes no parameters; format() quotes the name and the password.
    let statement: String = sqlx::query_scalar(if exists {
        "select format('alter role %I login nobypassrls nocreatedb nocreaterole password %L', $1, $2)"
    } else {
        "select format('create role %I login nobypassrls nocreatedb nocreaterole password %L', $1, $2)"
    })
    .bind(&role)
    .bind(&password)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(&statement).execute(&mut *tx).await?;
    for grant in [
        "grant astraflow_app, astraflow_platform to %I",
        "grant select on _sqlx_migrations, installation to %I",
        "grant usage on schema tower_sessions to %I",
        "grant select, insert, update, delete on tower_sessions.session to %I",
    ] {
        let statement: String = sqlx::query_scalar("select format($1, $2)")
            .bind(grant)
            .bind(&role)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    let statement: String = sqlx::query_scalar(
        "select format('grant connect on database %I to %I', current_database(), $1)",
    )
    .bind(&role)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(&statement).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(options.clone().username(&role).password(&password))
}

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
