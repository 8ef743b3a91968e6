//! The execution audit trail: what happened in the engines, as a hash chain per tenant.
//!
//! It runs beside the control-plane chain of [`crate::audit`] with the same rule —
//! `audit_hash = SHA-256(prev_hash ‖ canonical JSON of the event)`, 32 zero bytes before a
//! tenant's first event, UPDATE and DELETE refused by the database — in its own table, because
//! executions produce events far faster than people change configuration. Ingest appends a
//! whole batch of a tenant's events under one lock and one head read.
//!
//! The fields are those of seed 000's table 1 (`tenantId`, `executionId`, `workflowId`,
//! `timestamp`, `eventType`, `taskId`, `taskName`, `executionContext`, `variables`,
//! `auditHash`), plus the chain's `seq` and `prevHash` and where the event came from
//! (`environment`, `partitionId`, `position`). Variable values pass through a [`Sanitizer`]
//! first.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, Row};

use crate::{
    audit::{
        canonical::HashVersion,
        chain::{ChainWalk, Chained, GENESIS, Verification, chain_hash, versioned},
        checkpoint::{Checkpoints, Trail},
    },
    domain::{Result, TenantId},
};

/// An event before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub occurred_at: DateTime<Utc>,
    /// The process instance key.
    pub execution_id: String,
    /// The process id (the workflow's key).
    pub workflow_id: String,
    pub environment: String,
    /// `PROCESS_STARTED`, `TASK_COMPLETED`, `INCIDENT_CREATED`, …
    pub event_type: &'static str,
    pub task_id: Option<String>,
    pub task_name: Option<String>,
    /// Status, duration, who started it, element and job details.
    pub execution_context: Value,
    /// Sanitized variables, when the event is about variables.
    pub variables: Option<Value>,
    pub partition_id: i32,
    pub position: i64,
}

/// One stored event, in the camelCase of table 1.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionAuditEvent {
    pub tenant_id: String,
    pub seq: i64,
    /// ISO-8601, UTC.
    pub timestamp: DateTime<Utc>,
    pub execution_id: String,
    pub workflow_id: String,
    pub environment: String,
    pub event_type: String,
    pub task_id: Option<String>,
    pub task_name: Option<String>,
    #[schema(value_type = Object)]
    pub execution_context: Value,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Value>,
    pub partition_id: i32,
    pub position: i64,
    /// How the canonical JSON is written: 2 is RFC 8785, 1 the keys-sorted form of older events.
    pub hash_version: i16,
    /// The previous event's `auditHash` (zeros for the first), hex.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub prev_hash: Vec<u8>,
    /// SHA-256 of `prevHash` and the event's canonical JSON, hex.
    #[serde(serialize_with = "hex_bytes")]
    #[schema(value_type = String)]
    pub audit_hash: Vec<u8>,
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

impl ExecutionAuditEvent {
    /// The fields the hash covers, as canonical JSON of its hash version: every field but the
    /// two hashes.
    pub fn canonical_json(&self) -> String {
        let mut fields = json!({
            "tenantId": self.tenant_id,
            "seq": self.seq,
            "timestamp": self.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true),
            "executionId": self.execution_id,
            "workflowId": self.workflow_id,
            "environment": self.environment,
            "eventType": self.event_type,
            "taskId": self.task_id,
            "taskName": self.task_name,
            "executionContext": self.execution_context,
            "variables": self.variables,
            "partitionId": self.partition_id,
            "position": self.position,
        });
        versioned(&mut fields, "hashVersion", self.hash_version)
    }
}

impl Chained for ExecutionAuditEvent {
    fn seq(&self) -> i64 {
        self.seq
    }
    fn prev_hash(&self) -> &[u8] {
        &self.prev_hash
    }
    fn audit_hash(&self) -> &[u8] {
        &self.audit_hash
    }
    fn expected_hash(&self) -> [u8; 32] {
        chain_hash(&self.prev_hash, &self.canonical_json())
    }
}

/// Appends `events` (oldest first) to `tenant`'s execution chain, inside the caller's
/// transaction.
pub async fn append(
    conn: &mut PgConnection,
    tenant: &TenantId,
    events: Vec<NewEvent>,
) -> Result<Vec<ExecutionAuditEvent>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // One writer per tenant chain at a time, until this transaction ends.
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('execution_audit:' || $1, 0))")
        .bind(tenant.as_str())
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query(
        "select seq, audit_hash from execution_audit_events where tenant_id = $1 \
         order by seq desc limit 1",
    )
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let (mut seq, mut prev_hash) = match head {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<Vec<u8>, _>(1)?),
        None => (0, GENESIS.to_vec()),
    };
    let mut chained = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        // Stored with microsecond precision: hash exactly what will be read back.
        let timestamp = DateTime::from_timestamp_micros(event.occurred_at.timestamp_micros())
            .unwrap_or(event.occurred_at);
        let mut stored = ExecutionAuditEvent {
            tenant_id: tenant.as_str().to_owned(),
            seq,
            timestamp,
            execution_id: event.execution_id,
            workflow_id: event.workflow_id,
            environment: event.environment,
            event_type: event.event_type.to_owned(),
            task_id: event.task_id,
            task_name: event.task_name,
            execution_context: event.execution_context,
            variables: event.variables,
            partition_id: event.partition_id,
            position: event.position,
            hash_version: HashVersion::CURRENT.number(),
            prev_hash: prev_hash.clone(),
            audit_hash: Vec::new(),
        };
        stored.audit_hash = stored.expected_hash().to_vec();
        prev_hash.clone_from(&stored.audit_hash);
        chained.push(stored);
    }
    sqlx::query(
        "insert into execution_audit_events (tenant_id, seq, occurred_at, execution_id, \
         workflow_id, environment, event_type, task_id, task_name, execution_context, variables, \
         partition_id, position, prev_hash, audit_hash, hash_version) \
         select $1, *, $16 from unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::jsonb[], \
         $12::integer[], $13::bigint[], $14::bytea[], $15::bytea[])",
    )
    .bind(tenant.as_str())
    .bind(chained.iter().map(|e| e.seq).collect::<Vec<_>>())
    .bind(chained.iter().map(|e| e.timestamp).collect::<Vec<_>>())
    .bind(
        chained
            .iter()
            .map(|e| e.execution_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.workflow_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.environment.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.event_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.task_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.task_name.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.execution_context.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.variables.clone())
            .collect::<Vec<_>>(),
    )
    .bind(chained.iter().map(|e| e.partition_id).collect::<Vec<_>>())
    .bind(chained.iter().map(|e| e.position).collect::<Vec<_>>())
    .bind(
        chained
            .iter()
            .map(|e| e.prev_hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        chained
            .iter()
            .map(|e| e.audit_hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind(HashVersion::CURRENT.number())
    .execute(&mut *conn)
    .await?;
    Ok(chained)
}

/// Which of a tenant's execution events to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub execution_id: Option<String>,
    pub workflow_id: Option<String>,
    pub event_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

const SELECT_EVENTS: &str = "select tenant_id, seq, occurred_at, execution_id, workflow_id, \
    environment, event_type, task_id, task_name, execution_context, variables, partition_id, \
    position, hash_version, prev_hash, audit_hash from execution_audit_events";

fn event_from_row(row: &sqlx::postgres::PgRow) -> Result<ExecutionAuditEvent, sqlx::Error> {
    Ok(ExecutionAuditEvent {
        tenant_id: row.try_get("tenant_id")?,
        seq: row.try_get("seq")?,
        timestamp: row.try_get("occurred_at")?,
        execution_id: row.try_get("execution_id")?,
        workflow_id: row.try_get("workflow_id")?,
        environment: row.try_get("environment")?,
        event_type: row.try_get("event_type")?,
        task_id: row.try_get("task_id")?,
        task_name: row.try_get("task_name")?,
        execution_context: row.try_get("execution_context")?,
        variables: row.try_get("variables")?,
        partition_id: row.try_get("partition_id")?,
        position: row.try_get("position")?,
        hash_version: row.try_get("hash_version")?,
        prev_hash: row.try_get("prev_hash")?,
        audit_hash: row.try_get("audit_hash")?,
    })
}

/// A tenant's events after `after_seq` that pass `filter`, oldest first, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<ExecutionAuditEvent>> {
    select(conn, tenant, filter, after_seq, limit, "seq").await
}

/// The newest `limit` events that pass `filter`, newest first.
pub async fn list_newest(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<ExecutionAuditEvent>> {
    select(conn, tenant, filter, 0, limit, "seq desc").await
}

async fn select(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &Filter,
    after_seq: i64,
    limit: i64,
    order: &str,
) -> Result<Vec<ExecutionAuditEvent>> {
    let rows = sqlx::query(&format!(
        "{SELECT_EVENTS} where tenant_id = $1 and seq > $2 \
         and ($4::text is null or execution_id = $4) \
         and ($5::text is null or workflow_id = $5) \
         and ($6::text is null or event_type = $6) \
         and ($7::timestamptz is null or occurred_at >= $7) \
         and ($8::timestamptz is null or occurred_at < $8) \
         order by {order} limit $3"
    ))
    .bind(tenant.as_str())
    .bind(after_seq)
    .bind(limit)
    .bind(&filter.execution_id)
    .bind(&filter.workflow_id)
    .bind(&filter.event_type)
    .bind(filter.from)
    .bind(filter.to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// The newest `limit` events of one execution (process instance) in one environment, newest
/// first.
pub async fn list_latest_of_execution(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment: &str,
    execution_id: &str,
    limit: i64,
) -> Result<Vec<ExecutionAuditEvent>> {
    let rows = sqlx::query(&format!(
        "{SELECT_EVENTS} where tenant_id = $1 and execution_id = $2 and environment = $3 \
         order by seq desc limit $4"
    ))
    .bind(tenant.as_str())
    .bind(execution_id)
    .bind(environment)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// Verifies a tenant's execution chain (from where the last verification left it, or from the
/// start when `full`) and holds it against its newest signed checkpoint.
pub async fn verify(
    conn: &mut PgConnection,
    checkpoints: &Checkpoints,
    tenant: &TenantId,
    full: bool,
) -> Result<Verification> {
    let owned = tenant.clone();
    checkpoints
        .verify(conn, tenant, Trail::Execution, full, |conn, after| {
            let tenant = owned.clone();
            Box::pin(async move {
                list(conn, &tenant, &Filter::default(), after, ChainWalk::PAGE).await
            })
        })
        .await
}

/// What the execution trail keeps of variable values: values of variables whose names match a
/// pattern become `"***"` (also inside objects, by key), and long values are cut.
#[derive(Debug, Clone)]
pub struct Sanitizer {
    patterns: Vec<String>,
    max_chars: usize,
}

/// What replaces a redacted value.
pub const REDACTED: &str = "***";

impl Sanitizer {
    /// `patterns` are case-insensitive names where `*` stands for any run of characters
    /// (`*password*`, `card_*`).
    pub fn new(patterns: &[String], max_chars: usize) -> Self {
        Self {
            patterns: patterns.iter().map(|p| p.to_lowercase()).collect(),
            max_chars,
        }
    }

    fn redacts(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.patterns.iter().any(|pattern| glob(pattern, &name))
    }

    /// The value of variable `name` (JSON text, as the engine reports it) as the trail keeps it.
    pub fn variable(&self, name: &str, json_text: &str) -> Value {
        if self.redacts(name) {
            return Value::String(REDACTED.to_owned());
        }
        match serde_json::from_str::<Value>(json_text) {
            Ok(value) => self.value(value),
            Err(_) => self.cut(json_text),
        }
    }

    /// A variables document (as a job completion carries it) as the trail keeps it.
    pub fn variables(&self, variables: &Map<String, Value>) -> Value {
        Value::Object(
            variables
                .iter()
                .map(|(name, value)| {
                    let kept = if self.redacts(name) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        self.value(value.clone())
                    };
                    (name.clone(), kept)
                })
                .collect(),
        )
    }

    fn value(&self, value: Value) -> Value {
        let value = self.redact_keys(value);
        let text = value.to_string();
        if text.chars().count() > self.max_chars {
            self.cut(&text)
        } else {
            value
        }
    }

    fn redact_keys(&self, value: Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| {
                        let kept = if self.redacts(&key) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.redact_keys(value)
                        };
                        (key, kept)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_keys(v)).collect())
            }
            other => other,
        }
    }

    fn cut(&self, text: &str) -> Value {
        if text.chars().count() <= self.max_chars {
            return Value::String(text.to_owned());
        }
        let kept: String = text.chars().take(self.max_chars).collect();
        Value::String(format!("{kept}…(cut at {} characters)", self.max_chars))
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_insensitive_names() {
        assert!(glob("*password*", "dbpassword"));
        assert!(glob("*password*", "password"));
        assert!(glob("card_*", "card_number"));
        assert!(!glob("card_*", "discard_x"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxcyyb"));
        assert!(glob("token", "token"));
        assert!(!glob("token", "tokens"));
        assert!(glob("*", ""));
    }

    #[test]
    fn sanitizing_redacts_by_name_and_nested_key_and_cuts_long_values() {
        let sanitizer = Sanitizer::new(&["*password*".into(), "Secret".into()], 80);
        assert_eq!(
            sanitizer.variable("dbPassword", "\"hunter2\""),
            json!("***")
        );
        assert_eq!(
            sanitizer.variable(
                "customer",
                r#"{"name":"Ann","secret":"x","tags":[{"SECRET":1}]}"#
            ),
            json!({"name": "Ann", "secret": "***", "tags": [{"SECRET": "***"}]})
        );
        let long = sanitizer.variable("note", &format!("\"{}\"", "a".repeat(100)));
        assert!(long.as_str().unwrap().ends_with("…(cut at 80 characters)"));
        assert_eq!(sanitizer.variable("amount", "42"), json!(42));
        let mut doc = Map::new();
        doc.insert("password".into(), json!("p"));
        doc.insert("ok".into(), json!(true));
        assert_eq!(
            sanitizer.variables(&doc),
            json!({"password": "***", "ok": true})
        );
    }

    #[test]
    fn the_hash_covers_every_table_one_field() {
        let event = ExecutionAuditEvent {
            tenant_id: "acme".into(),
            seq: 1,
            timestamp: DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap(),
            execution_id: "2251799813685249".into(),
            workflow_id: "order".into(),
            environment: "dev".into(),
            event_type: "PROCESS_STARTED".into(),
            task_id: None,
            task_name: None,
            execution_context: json!({"status": "active"}),
            variables: None,
            partition_id: 1,
            position: 5,
            hash_version: HashVersion::CURRENT.number(),
            prev_hash: GENESIS.to_vec(),
            audit_hash: Vec::new(),
        };
        let hash = event.expected_hash();
        let mut changed = event.clone();
        changed.execution_context = json!({"status": "completed"});
        assert_ne!(changed.expected_hash(), hash);
        let mut moved = event;
        moved.position = 6;
        assert_ne!(moved.expected_hash(), hash);
    }
}
