//! Operation references: which person's request an engine record followed from.
//!
//! Before the control plane sends a command on someone's behalf it stores a fresh random
//! reference with the actor, and sends it as the command's `operationReference`; the engine
//! (ours, or Zeebe 8.5+) stamps it on every record the command causes. Ingest looks the
//! references of a batch up in one query, so execution audit events name the person behind
//! them — also when the records arrive before the request that caused them has returned.

use std::collections::HashMap;

use rand::Rng;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::{
    audit::{Actor, AuditAction},
    domain::{Result, TenantId},
};

/// Stores a new reference for `actor` doing `action` in `tenant`, inside the caller's tenant
/// transaction, and returns it.
pub async fn record(
    conn: &mut PgConnection,
    tenant: &TenantId,
    actor: &Actor,
    action: AuditAction,
) -> Result<u64> {
    // Positive and within i64, the records' field type; 2^62 values make a collision between
    // two live references of one tenant practically impossible, and the key would refuse one.
    let reference: i64 = rand::rng().random_range(1..i64::MAX);
    sqlx::query(
        "insert into operation_references (tenant_id, operation_reference, actor_id, actor, \
         action) values ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.as_str())
    .bind(reference)
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(action.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(reference.unsigned_abs())
}

/// The actors behind `(tenant, reference)` pairs, where known.
pub async fn actors(
    conn: &mut PgConnection,
    pairs: &[(String, i64)],
) -> Result<HashMap<(String, i64), (Option<Uuid>, String)>> {
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let (tenants, references): (Vec<String>, Vec<i64>) = pairs.iter().cloned().unzip();
    let rows = sqlx::query(
        "select o.tenant_id, o.operation_reference, o.actor_id, o.actor \
         from operation_references o \
         join unnest($1::text[], $2::bigint[]) as w(t, r) \
           on o.tenant_id = w.t and o.operation_reference = w.r",
    )
    .bind(&tenants)
    .bind(&references)
    .fetch_all(&mut *conn)
    .await?;
    let mut found = HashMap::new();
    for row in rows {
        found.insert(
            (row.try_get(0)?, row.try_get(1)?),
            (row.try_get(2)?, row.try_get(3)?),
        );
    }
    Ok(found)
}
