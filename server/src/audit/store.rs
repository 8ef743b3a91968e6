//! The control-plane audit trail's SQL: appending to a tenant's chain, reading it back,
//! walking it.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::canonical::HashVersion;
use super::{
    Actor,
    chain::{AuditEvent, ChainWalk, Change, Filter, GENESIS, Verification},
    checkpoint::{Checkpoints, Trail},
};
use crate::domain::{Result, TenantId};

/// Appends an event for `tenant` to its chain, inside the caller's transaction.
///
/// The connection must be in a transaction (the advisory lock lasts until it ends) and able to
/// see and insert the tenant's audit rows (its tenant transaction, or the platform role).
pub async fn append(
    conn: &mut PgConnection,
    tenant: &TenantId,
    actor: &Actor,
    change: Change<'_>,
) -> Result<AuditEvent> {
    // One writer per tenant chain at a time, until this transaction commits or rolls back.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('audit_events:' || $1, 0))")
        .bind(tenant.as_str())
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query(
        "select seq, audit_hash from audit_events where tenant_id = $1 order by seq desc limit 1",
    )
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let (seq, prev_hash) = match head {
        Some(row) => (row.try_get::<i64, _>(0)? + 1, row.try_get::<Vec<u8>, _>(1)?),
        None => (1, GENESIS.to_vec()),
    };
    let now = Utc::now();
    // Stored with microsecond precision, so hash exactly what will be read back.
    let occurred_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let mut event = AuditEvent {
        tenant_id: tenant.as_str().to_owned(),
        seq,
        occurred_at,
        actor_id: actor.user_id,
        actor: actor.label.clone(),
        action: change.action.as_str().to_owned(),
        target_type: change.action.target_type().to_owned(),
        target_id: change.target_id.to_owned(),
        before: change.before,
        after: change.after,
        ip: actor.ip.clone(),
        user_agent: actor.user_agent.clone(),
        correlation_id: actor.correlation_id.clone(),
        hash_version: HashVersion::CURRENT.number(),
        prev_hash,
        audit_hash: Vec::new(),
    };
    event.audit_hash = event.expected_hash().to_vec();
    sqlx::query(
        "insert into audit_events (tenant_id, seq, occurred_at, actor_id, actor, action, \
         target_type, target_id, before, after, ip, user_agent, correlation_id, hash_version, \
         prev_hash, audit_hash) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&event.tenant_id)
    .bind(event.seq)
    .bind(event.occurred_at)
    .bind(event.actor_id)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.target_type)
    .bind(&event.target_id)
    .bind(&event.before)
    .bind(&event.after)
    .bind(&event.ip)
    .bind(&event.user_agent)
    .bind(&event.correlation_id)
    .bind(event.hash_version)
    .bind(&event.prev_hash)
    .bind(&event.audit_hash)
    .execute(&mut *conn)
    .await?;
    Ok(event)
}

const SELECT_EVENTS: &str = "select tenant_id, seq, occurred_at, actor_id, actor, action, \
    target_type, target_id, before, after, ip, user_agent, correlation_id, hash_version, \
    prev_hash, audit_hash from audit_events";

fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        tenant_id: row.try_get("tenant_id")?,
        seq: row.try_get("seq")?,
        occurred_at: row.try_get("occurred_at")?,
        actor_id: row.try_get("actor_id")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target_type: row.try_get("target_type")?,
        target_id: row.try_get("target_id")?,
        before: row.try_get("before")?,
        after: row.try_get("after")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        correlation_id: row.try_get("correlation_id")?,
        hash_version: row.try_get("hash_version")?,
        prev_hash: row.try_get("prev_hash")?,
        audit_hash: row.try_get("audit_hash")?,
    })
}

/// A tenant's events after `after_seq`, oldest first, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: &TenantId,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(&format!(
        "{SELECT_EVENTS} where tenant_id = $1 and seq > $2 order by seq limit $3"
    ))
    .bind(tenant.as_str())
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// A tenant's events after `after_seq` that pass `filter`, oldest first, at most `limit`.
pub async fn list_filtered(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    select_filtered(conn, tenant, filter, after_seq, limit, "seq").await
}

/// The newest `limit` events that pass `filter`, newest first.
pub async fn list_newest(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    select_filtered(conn, tenant, filter, 0, limit, "seq desc").await
}

async fn select_filtered(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
    order: &str,
) -> Result<Vec<AuditEvent>> {
    let actor = filter.actor.as_ref().map(|actor| {
        format!(
            "%{}%",
            actor
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let rows = sqlx::query(&format!(
        "{SELECT_EVENTS} where tenant_id = $1 and seq > $2 \
         and ($4::text is null or lower(actor) like $4) \
         and ($5::text is null or action = $5 or starts_with(action, $5 || '.')) \
         and ($6::text is null or target_id = $6) \
         and ($7::timestamptz is null or occurred_at >= $7) \
         and ($8::timestamptz is null or occurred_at < $8) \
         order by {order} limit $3"
    ))
    .bind(tenant.as_str())
    .bind(after_seq)
    .bind(limit)
    .bind(actor)
    .bind(&filter.action)
    .bind(&filter.target_id)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// A tenant's newest `limit` events, newest first.
pub async fn latest(
    conn: &mut PgConnection,
    tenant: &TenantId,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(&format!(
        "{SELECT_EVENTS} where tenant_id = $1 order by seq desc limit $2"
    ))
    .bind(tenant.as_str())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// Verifies a tenant's control-plane chain (from where the last verification left it, or
/// from the start when `full`) and holds it against its newest signed checkpoint.
pub async fn verify(
    conn: &mut PgConnection,
    checkpoints: &Checkpoints,
    tenant: &TenantId,
    full: bool,
) -> Result<Verification> {
    let owned = tenant.clone();
    checkpoints
        .verify(conn, tenant, Trail::Control, full, |conn, after| {
            let tenant = owned.clone();
            Box::pin(async move { list(conn, &tenant, after, ChainWalk::PAGE).await })
        })
        .await
}
