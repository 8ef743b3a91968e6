//! System status: a cheap end-to-end probe of the server and its database for the home page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the status card shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// Version of the server build.
    pub version: String,
    /// `embedded` or `external`.
    pub database_mode: String,
    /// `server_version` as PostgreSQL reports it.
    pub database_version: String,
    /// Identifier of this installation, created by the first migration.
    pub installation_id: String,
    /// Number of schema migrations applied.
    pub migrations_applied: i64,
}

/// Queries the database for its version and this installation's identity.
#[server(prefix = "/api/fn", endpoint = "system_status")]
pub async fn fetch_system_status() -> Result<SystemStatus, AppError> {
    use crate::api::ssr::{DatabaseMode, ServerContext};

    let ctx = use_context::<ServerContext>().ok_or(AppError::Internal)?;
    let row: (String, String, i64) = sqlx::query_as(
        "select current_setting('server_version'), \
                (select id::text from installation), \
                (select count(*) from _sqlx_migrations where success)",
    )
    .fetch_one(&ctx.pool)
    .await
    .map_err(|error| {
        tracing::error!(%error, "system status query failed");
        AppError::DatabaseUnavailable
    })?;

    Ok(SystemStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database_mode: match ctx.database_mode {
            DatabaseMode::Embedded => "embedded",
            DatabaseMode::External => "external",
        }
        .to_owned(),
        database_version: row.0,
        installation_id: row.1,
        migrations_applied: row.2,
    })
}
