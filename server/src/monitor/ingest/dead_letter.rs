//! Records the database refuses even after they were made storable: kept with the reason,
//! and skipped, so their source's cursor moves on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use zeebe::record::Record;

use super::{source::Source, storable, write};
use crate::domain::{DomainError, Result, TenantId};

/// A record ingest skipped, as platform administrators see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: i64,
    /// `embedded:<environment>` or `environment:<id>` (an exporter).
    pub source: String,
    pub partition_id: i32,
    pub position: i64,
    /// The tenant of the exporter that sent it; none for an embedded engine's stream.
    pub tenant_id: Option<String>,
    pub value_type: String,
    pub intent: String,
    /// The record as received, with NUL escaped.
    #[schema(value_type = Object)]
    pub record: Value,
    /// What the database said.
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// Whether the database refused a statement for the values in it (SQLSTATE classes 22, data
/// exception; 23, integrity constraint; 54, program limit such as an index entry too large)
/// rather than for a reason that passes (a lost connection, a serialization failure), which is
/// retried instead.
pub(super) fn refused_for_its_data(error: &DomainError) -> bool {
    let DomainError::Database(sqlx::Error::Database(db)) = error else {
        return false;
    };
    db.code().is_some_and(|code| {
        ["22", "23", "54"]
            .iter()
            .any(|class| code.starts_with(class))
    })
}

/// Keeps `record` as a dead letter and moves `source`'s cursor past it; returns the cursor.
pub(super) async fn keep(
    conn: &mut PgConnection,
    source: &Source,
    record: &Record,
    error: &DomainError,
) -> Result<i64> {
    let reason = match error {
        DomainError::Database(sqlx::Error::Database(db)) => {
            format!("{}: {}", db.code().unwrap_or_default(), db.message())
        }
        other => other.to_string(),
    };
    tracing::error!(
        source = source.key,
        partition = record.partition_id,
        position = record.position,
        %reason,
        "a record could not be ingested; kept as a dead letter and skipped"
    );
    let mut value = serde_json::to_value(record).unwrap_or_else(|e| Value::String(e.to_string()));
    storable::json(&mut value);
    sqlx::query(
        "insert into ingest_dead_letters (source, partition_id, position, tenant_id, value_type, \
         intent, record, reason) values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (source, partition_id, position) do nothing",
    )
    .bind(&source.key)
    .bind(record.partition_id)
    .bind(record.position)
    .bind(source.tenant().map(TenantId::as_str))
    .bind(storable::text(record.value_type.as_str(), storable::KEY_BYTES).as_ref())
    .bind(storable::text(record.intent.as_str(), storable::KEY_BYTES).as_ref())
    .bind(&value)
    .bind(storable::text(&reason, storable::MESSAGE_BYTES).as_ref())
    .execute(&mut *conn)
    .await?;
    let stored = write::lock_cursor(conn, source, record.partition_id).await?;
    let position = stored.max(record.position);
    write::advance_cursors(
        conn,
        source,
        &std::iter::once((record.partition_id, position)).collect(),
    )
    .await?;
    Ok(position)
}

/// The newest dead letters, across every source; the platform role's connection sees all.
pub async fn dead_letters(conn: &mut PgConnection, limit: i64) -> Result<Vec<DeadLetter>> {
    Ok(sqlx::query_as(
        "select id, source, partition_id, position, tenant_id, value_type, intent, record, \
         reason, created_at from ingest_dead_letters order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
