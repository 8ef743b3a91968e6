//! The SQL side of a batch: the cursors, the tenants' environments, one statement per
//! projection table, the open-incident counts and the execution audit trail.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use app::api::monitor_protocol::Delta;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, Row};
use tokio::sync::Mutex;
use uuid::Uuid;
use zeebe::record::Record;

use super::{
    fold::{Fold, record_tenant},
    notify,
    rows::{
        DefinitionRow, ElementRow, IncidentRow, InstanceRow, JobRow, JobState, Recounted, Target,
        VariableRow,
    },
    source::{Source, SourceKind},
};
use crate::{
    domain::{DomainError, Result, TenantId},
    monitor::{
        operations,
        trail::{self, NewEvent},
    },
};

/// Starts of element instances (`false`) and process instances (`true`) by environment and
/// key.
type Starts = HashMap<(Uuid, i64, bool), DateTime<Utc>>;

/// Who caused the records of an operation reference, by tenant and reference.
type Actors = HashMap<(String, i64), (Option<Uuid>, String)>;

/// Element names by id, of one process definition.
type Names = Arc<HashMap<String, String>>;

/// The element names of the definitions seen so far, for the audit trail's `taskName`.
#[derive(Debug, Default)]
pub(super) struct NameCache(Mutex<HashMap<(Uuid, i64), Names>>);

/// Writes the fold — projections, then the audit trail — and returns the deltas it made.
pub(super) async fn write(
    conn: &mut PgConnection,
    names: &NameCache,
    fold: Fold,
) -> Result<Vec<Delta>> {
    write_definitions(conn, &fold.definitions).await?;
    // Read before the projections are written, which would add this batch's own starts.
    let starts = earlier_starts(conn, &fold).await?;
    let actors = actors(conn, &fold).await?;
    write_instances(conn, &fold.instances).await?;
    write_elements(conn, &fold.elements).await?;
    write_incidents(conn, &fold.incidents).await?;
    write_variables(conn, &fold.variables).await?;
    write_jobs(conn, &fold.jobs).await?;
    let recounted = recount_incidents(conn, &fold.recount).await?;
    let deltas = notify::deltas(&fold, &recounted);
    append_audit(conn, names, fold, &starts, &actors).await?;
    Ok(deltas)
}

/// Completes the fold's audit events (durations, actors, element names) and appends them
/// to each tenant's chain, in record order.
async fn append_audit(
    conn: &mut PgConnection,
    cache: &NameCache,
    fold: Fold,
    starts: &Starts,
    actors: &Actors,
) -> Result<()> {
    let mut by_tenant: BTreeMap<String, (TenantId, Vec<NewEvent>)> = BTreeMap::new();
    for pending in fold.events {
        let mut event = pending.event;
        if let Some((environment_id, key, is_process)) = pending.duration_of {
            // A start stored by an earlier batch wins: when only the end is in this batch,
            // the fold's row starts at the end (`earlier_starts` looked it up for that case).
            let stored = starts.get(&(environment_id, key, is_process)).copied();
            let folded = if is_process {
                fold.instances
                    .get(&(environment_id, key))
                    .map(|row| row.start)
            } else {
                fold.elements
                    .get(&(environment_id, key))
                    .map(|row| row.start)
            };
            let start = stored.or(folded);
            if let Some(start) = start {
                event.execution_context["durationMs"] =
                    json!((event.occurred_at - start).num_milliseconds());
            }
        }
        let actor = actors.get(&(pending.tenant.as_str().to_owned(), pending.operation));
        if let Some((user_id, label)) = actor {
            event.execution_context["userId"] = json!(user_id);
            event.execution_context["actor"] = json!(label);
        }
        if pending.is_start {
            event.execution_context["startedBy"] =
                json!(actor.map_or("engine client", |(_, label)| label.as_str()));
            event.execution_context["sourceAlert"] = Value::Null;
        }
        if let (Some(definition), Some(task_id)) = (pending.definition, &event.task_id) {
            let names = cache.names(conn, definition, &fold.definitions).await?;
            event.task_name = names.get(task_id).cloned();
        }
        by_tenant
            .entry(pending.tenant.as_str().to_owned())
            .or_insert_with(|| (pending.tenant.clone(), Vec::new()))
            .1
            .push(event);
    }
    for (_, (tenant, events)) in by_tenant {
        trail::append(conn, &tenant, events).await?;
    }
    Ok(())
}

impl NameCache {
    /// The element names of a definition, for the audit trail's `taskName`.
    async fn names(
        &self,
        conn: &mut PgConnection,
        definition: (Uuid, i64),
        pending: &[DefinitionRow],
    ) -> Result<Names> {
        if let Some(names) = self.0.lock().await.get(&definition) {
            return Ok(names.clone());
        }
        let xml = match pending
            .iter()
            .find(|d| (d.target.environment_id, d.key) == definition)
        {
            Some(row) => Some(row.xml.clone()),
            None => {
                sqlx::query_scalar::<_, String>(
                    "select bpmn_xml from process_definitions \
                 where environment_id = $1 and process_definition_key = $2",
                )
                .bind(definition.0)
                .bind(definition.1)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let names: HashMap<String, String> = xml
            .and_then(|xml| bpmn::parse(&xml).ok())
            .map(|definitions| element_names(&definitions))
            .unwrap_or_default();
        let names = Arc::new(names);
        // Only cache what was found: a definition not ingested yet may arrive later.
        if !names.is_empty() {
            self.0.lock().await.insert(definition, names.clone());
        }
        Ok(names)
    }
}

/// Every flow node's name by id, sub-processes included.
fn element_names(definitions: &bpmn::Definitions) -> HashMap<String, String> {
    bpmn::walk::all_flow_nodes(definitions)
        .filter_map(|node| {
            let name = node.name.as_ref().filter(|n| !n.is_empty())?;
            Some((node.id.as_str().to_owned(), name.clone()))
        })
        .collect()
}

/// The people behind the operation references of the fold's events.
async fn actors(conn: &mut PgConnection, fold: &Fold) -> Result<Actors> {
    let mut referenced: Vec<(String, i64)> = fold
        .events
        .iter()
        .filter(|p| p.operation > 0)
        .map(|p| (p.tenant.as_str().to_owned(), p.operation))
        .collect();
    referenced.sort();
    referenced.dedup();
    operations::actors(conn, &referenced).await
}

/// Starts of elements and instances that end in this batch but began earlier.
async fn earlier_starts(conn: &mut PgConnection, fold: &Fold) -> Result<Starts> {
    let mut wanted: HashSet<(Uuid, i64, bool)> = HashSet::new();
    for pending in &fold.events {
        if let Some((environment_id, key, is_process)) = pending.duration_of {
            let known = if is_process {
                fold.instances
                    .get(&(environment_id, key))
                    .is_some_and(|row| row.start < pending.event.occurred_at)
            } else {
                fold.elements
                    .get(&(environment_id, key))
                    .is_some_and(|row| row.start < pending.event.occurred_at)
            };
            if !known {
                wanted.insert((environment_id, key, is_process));
            }
        }
    }
    let mut starts = HashMap::new();
    for is_process in [true, false] {
        let (environments, keys): (Vec<Uuid>, Vec<i64>) = wanted
            .iter()
            .filter(|w| w.2 == is_process)
            .map(|w| (w.0, w.1))
            .unzip();
        if keys.is_empty() {
            continue;
        }
        let sql = if is_process {
            "select p.environment_id, p.process_instance_key, p.start_time \
             from process_instances p join unnest($1::uuid[], $2::bigint[]) as w(e, k) \
             on p.environment_id = w.e and p.process_instance_key = w.k"
        } else {
            "select p.environment_id, p.element_instance_key, p.start_time \
             from element_instances p join unnest($1::uuid[], $2::bigint[]) as w(e, k) \
             on p.environment_id = w.e and p.element_instance_key = w.k"
        };
        for row in sqlx::query(sql)
            .bind(&environments)
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await?
        {
            starts.insert(
                (row.try_get(0)?, row.try_get(1)?, is_process),
                row.try_get(2)?,
            );
        }
    }
    Ok(starts)
}

/// The stored position of `source`'s `partition`, locked until the transaction ends (0 for a
/// source seen for the first time).
pub(super) async fn lock_cursor(
    conn: &mut PgConnection,
    source: &Source,
    partition: i32,
) -> Result<i64> {
    sqlx::query(
        "insert into ingest_cursors (source, partition_id, position, tenant_id) \
         values ($1, $2, 0, $3) on conflict do nothing",
    )
    .bind(&source.key)
    .bind(partition)
    .bind(source.tenant().map(TenantId::as_str))
    .execute(&mut *conn)
    .await?;
    let position = sqlx::query_scalar(
        "select position from ingest_cursors where source = $1 and partition_id = $2 for update",
    )
    .bind(&source.key)
    .bind(partition)
    .fetch_one(&mut *conn)
    .await?;
    Ok(position)
}

/// Moves `source`'s cursors to `positions`, by partition.
pub(super) async fn advance_cursors(
    conn: &mut PgConnection,
    source: &Source,
    positions: &BTreeMap<i32, i64>,
) -> Result<()> {
    for (partition, position) in positions {
        sqlx::query(
            "update ingest_cursors set position = $3, updated_at = now() \
             where source = $1 and partition_id = $2",
        )
        .bind(&source.key)
        .bind(partition)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The stored position of `source`'s `partition`, 0 if none.
pub async fn position(conn: &mut PgConnection, source: &Source, partition: i32) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select position from ingest_cursors where source = $1 and partition_id = $2",
    )
    .bind(&source.key)
    .bind(partition)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(0))
}

/// Each tenant id in the records mapped to its environment of the source's name (`None`: no
/// such tenant or environment, so its records are not ours to project).
pub(super) async fn resolve_targets(
    conn: &mut PgConnection,
    source: &Source,
    records: &[&Record],
) -> Result<HashMap<String, Option<Target>>> {
    let mut tenants: Vec<String> = records
        .iter()
        .filter_map(|r| record_tenant(r).map(str::to_owned))
        .collect();
    tenants.sort();
    tenants.dedup();
    let mut targets = HashMap::new();
    match &source.kind {
        SourceKind::Exporter {
            tenant,
            environment_id,
            environment,
        } => {
            // The records of an exporter are its environment's, whatever tenant id the
            // cluster gave them (the endpoint has checked it is the environment's own).
            let target = Target {
                tenant: tenant.clone(),
                environment_id: *environment_id,
                environment: environment.clone(),
            };
            targets.insert(String::new(), Some(target.clone()));
            for id in tenants {
                targets.insert(id, Some(target.clone()));
            }
        }
        SourceKind::Embedded { environment } => {
            let rows = sqlx::query(
                "select tenant_id, id from environments where name = $1 and tenant_id = any($2)",
            )
            .bind(environment)
            .bind(&tenants)
            .fetch_all(&mut *conn)
            .await?;
            for id in tenants {
                targets.insert(id, None);
            }
            for row in rows {
                let id: String = row.try_get(0)?;
                let tenant = TenantId::new(&id)
                    .map_err(|e| DomainError::Conflict(format!("stored tenant id: {e}")))?;
                targets.insert(
                    id,
                    Some(Target {
                        tenant,
                        environment_id: row.try_get(1)?,
                        environment: environment.clone(),
                    }),
                );
            }
        }
    }
    Ok(targets)
}

fn tenants_of<'a, T: 'a>(
    rows: impl Iterator<Item = &'a T>,
    target: fn(&T) -> &Target,
) -> Vec<String> {
    rows.map(|r| target(r).tenant.as_str().to_owned()).collect()
}

async fn write_definitions(conn: &mut PgConnection, rows: &[DefinitionRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "insert into process_definitions (tenant_id, environment_id, process_definition_key, \
         bpmn_process_id, version, resource_name, bpmn_xml, deployed_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::integer[], \
         $6::text[], $7::text[], $8::timestamptz[]) on conflict do nothing",
    )
    .bind(tenants_of(rows.iter(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.bpmn_process_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.resource_name.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.xml.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_instances(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), InstanceRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&InstanceRow> = rows.values().collect();
    sqlx::query(
        "insert into process_instances as p (tenant_id, environment_id, process_instance_key, \
         process_definition_key, bpmn_process_id, version, workflow_id, state, \
         parent_process_instance_key, parent_element_instance_key, start_time, end_time) \
         select u.t, u.e, u.k, u.d, u.b, u.v, \
           (select w.id from workflows w where w.tenant_id = u.t and w.key = u.b), \
           u.s, u.pp, u.pe, u.st, u.et \
         from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::text[], \
           $6::integer[], $7::text[], $8::bigint[], $9::bigint[], $10::timestamptz[], \
           $11::timestamptz[]) as u(t, e, k, d, b, v, s, pp, pe, st, et) \
         on conflict (tenant_id, environment_id, process_instance_key) do update \
         set state = excluded.state, end_time = coalesce(excluded.end_time, p.end_time), \
           updated_at = now()",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.definition_key).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.bpmn_process_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.parent_instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.parent_element).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.end).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_elements(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), ElementRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&ElementRow> = rows.values().collect();
    sqlx::query(
        "insert into element_instances as p (tenant_id, environment_id, element_instance_key, \
         process_instance_key, flow_scope_key, element_id, element_type, event_type, state, \
         start_time, end_time) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], \
           $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], \
           $11::timestamptz[]) \
         on conflict (tenant_id, environment_id, element_instance_key) do update \
         set state = excluded.state, end_time = coalesce(excluded.end_time, p.end_time)",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.flow_scope).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.element_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.element_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.state.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.start).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.end).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_incidents(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64), IncidentRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&IncidentRow> = rows.values().collect();
    sqlx::query(
        "insert into incidents as p (tenant_id, environment_id, incident_key, \
         process_instance_key, element_instance_key, element_id, error_type, error_message, \
         job_key, state, created_at, resolved_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], \
           $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::timestamptz[], \
           $12::timestamptz[]) \
         on conflict (tenant_id, environment_id, incident_key) do update \
         set state = excluded.state, resolved_at = coalesce(excluded.resolved_at, p.resolved_at)",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.element_instance).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.element_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.error_type.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.error_message.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.job_key).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.created).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.resolved).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_variables(
    conn: &mut PgConnection,
    rows: &BTreeMap<(Uuid, i64, String), VariableRow>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<&VariableRow> = rows.values().collect();
    sqlx::query(
        "insert into instance_variables (tenant_id, environment_id, scope_key, name, \
         process_instance_key, value, updated_at) \
         select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::bigint[], \
           $6::text[], $7::timestamptz[]) \
         on conflict (tenant_id, environment_id, scope_key, name) do update \
         set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(tenants_of(rows.iter().copied(), |r| &r.target))
    .bind(
        rows.iter()
            .map(|r| r.target.environment_id)
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.scope).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.value.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_jobs(conn: &mut PgConnection, rows: &BTreeMap<(Uuid, i64), JobRow>) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // A job whose state this batch does not know only has its details updated: its row
    // exists from an earlier batch (a job is created before anything else happens to it).
    let (with_state, details): (Vec<&JobRow>, Vec<&JobRow>) =
        rows.values().partition(|r| r.state.is_some());
    if !with_state.is_empty() {
        let rows = with_state;
        sqlx::query(
            "insert into jobs (tenant_id, environment_id, job_key, process_instance_key, \
             element_instance_key, element_id, job_type, worker, retries, state, error_message, \
             deadline, updated_at) \
             select * from unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[], \
               $5::bigint[], $6::text[], $7::text[], $8::text[], $9::integer[], $10::text[], \
               $11::text[], $12::timestamptz[], $13::timestamptz[]) \
             on conflict (tenant_id, environment_id, job_key) do update \
             set worker = excluded.worker, retries = excluded.retries, state = excluded.state, \
               error_message = excluded.error_message, deadline = excluded.deadline, \
               updated_at = excluded.updated_at",
        )
        .bind(tenants_of(rows.iter().copied(), |r| &r.target))
        .bind(
            rows.iter()
                .map(|r| r.target.environment_id)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.instance).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.element_instance).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.element_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.job_type.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.worker.clone()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.retries).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.state.map(JobState::as_str))
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|r| r.error_message.clone())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.deadline).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if !details.is_empty() {
        let rows = details;
        sqlx::query(
            "update jobs j set retries = u.r, deadline = u.d, updated_at = u.a \
             from unnest($1::uuid[], $2::bigint[], $3::integer[], $4::timestamptz[], \
               $5::timestamptz[]) as u(e, k, r, d, a) \
             where j.environment_id = u.e and j.job_key = u.k",
        )
        .bind(
            rows.iter()
                .map(|r| r.target.environment_id)
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|r| r.key).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.retries).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.deadline).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Recounts the open incidents of the instances.
async fn recount_incidents(
    conn: &mut PgConnection,
    instances: &BTreeMap<(Uuid, i64), Target>,
) -> Result<HashMap<(Uuid, i64), Recounted>> {
    if instances.is_empty() {
        return Ok(HashMap::new());
    }
    let (environments, keys): (Vec<Uuid>, Vec<i64>) = instances.keys().copied().unzip();
    let rows = sqlx::query(
        "update process_instances p set incidents = ( \
           select count(*) from incidents i where i.tenant_id = p.tenant_id \
           and i.environment_id = p.environment_id \
           and i.process_instance_key = p.process_instance_key and i.state = 'active'), \
           updated_at = now() \
         from unnest($1::uuid[], $2::bigint[]) as u(e, k) \
         where p.environment_id = u.e and p.process_instance_key = u.k \
         returning p.environment_id, p.process_instance_key, p.incidents, p.state, \
           p.bpmn_process_id",
    )
    .bind(&environments)
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = HashMap::new();
    for row in rows {
        counts.insert(
            (row.try_get(0)?, row.try_get(1)?),
            Recounted {
                incidents: row.try_get(2)?,
                state: row.try_get(3)?,
                bpmn_process_id: row.try_get(4)?,
            },
        );
    }
    Ok(counts)
}
