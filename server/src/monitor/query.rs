//! Reading the monitor's projections, for the REST API and the pages. Plain Rust over a
//! tenant transaction: row-level security confines every query to the tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, postgres::PgRow};
use utoipa::ToSchema;
use uuid::Uuid;

use super::trail::{self, ExecutionAuditEvent};
use crate::domain::{DomainError, FieldError, Result, TenantId};

/// Most instances or incidents one page holds.
pub const MAX_PAGE: i64 = 200;

/// A process instance as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InstanceSummary {
    pub environment: String,
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    /// The process id (a workflow's key).
    pub bpmn_process_id: String,
    pub version: i32,
    /// The control plane's workflow with this process id, if there is one.
    pub workflow_id: Option<Uuid>,
    /// `active`, `completed` or `terminated`.
    pub state: String,
    /// Open incidents.
    pub incidents: i32,
    pub parent_process_instance_key: Option<i64>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
}

/// Which instances to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    Active,
    Completed,
    Terminated,
    /// Active with at least one open incident.
    Incident,
}

#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    pub environment_id: Option<Uuid>,
    pub bpmn_process_id: Option<String>,
    pub version: Option<i32>,
    pub state: Option<StateFilter>,
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Where a page ends: the last row's (start time, key, environment), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub start_time: DateTime<Utc>,
    pub key: i64,
    pub environment_id: Uuid,
}

impl Cursor {
    /// The cursor as clients pass it back: `<start micros>.<key>.<environment id>`.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.start_time.timestamp_micros(),
            self.key,
            self.environment_id
        )
    }

    pub fn decode(text: &str) -> std::result::Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "not a cursor this server gave out");
        let mut parts = text.splitn(3, '.');
        let micros: i64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let key: i64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let environment_id: Uuid = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?;
        let start_time = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        Ok(Self {
            start_time,
            key,
            environment_id,
        })
    }
}

/// A page of instances; `next_cursor` fetches the next (older) page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InstancePage {
    pub instances: Vec<InstanceSummary>,
    pub next_cursor: Option<String>,
}

const INSTANCE_COLUMNS: &str = "e.name as environment, p.process_instance_key, \
    p.process_definition_key, p.bpmn_process_id, p.version, p.workflow_id, p.state, p.incidents, \
    p.parent_process_instance_key, p.start_time, p.end_time, p.environment_id";

fn instance_from_row(row: &PgRow) -> std::result::Result<InstanceSummary, sqlx::Error> {
    Ok(InstanceSummary {
        environment: row.try_get("environment")?,
        process_instance_key: row.try_get("process_instance_key")?,
        process_definition_key: row.try_get("process_definition_key")?,
        bpmn_process_id: row.try_get("bpmn_process_id")?,
        version: row.try_get("version")?,
        workflow_id: row.try_get("workflow_id")?,
        state: row.try_get("state")?,
        incidents: row.try_get("incidents")?,
        parent_process_instance_key: row.try_get("parent_process_instance_key")?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
    })
}

/// The query behind the monitor's instance list (also what `EXPLAIN` is run on).
pub fn instances_query<'a>(
    tenant: &'a TenantId,
    filter: &'a InstanceFilter,
) -> QueryBuilder<'a, Postgres> {
    let mut query = QueryBuilder::new(format!(
        "select {INSTANCE_COLUMNS} from process_instances p \
         join environments e on e.tenant_id = p.tenant_id and e.id = p.environment_id \
         where p.tenant_id = "
    ));
    query.push_bind(tenant.as_str());
    if let Some(environment) = filter.environment_id {
        query
            .push(" and p.environment_id = ")
            .push_bind(environment);
    }
    if let Some(process) = &filter.bpmn_process_id {
        query.push(" and p.bpmn_process_id = ").push_bind(process);
    }
    if let Some(version) = filter.version {
        query.push(" and p.version = ").push_bind(version);
    }
    match filter.state {
        Some(StateFilter::Incident) => {
            query.push(" and p.incidents > 0");
        }
        Some(state) => {
            let state = match state {
                StateFilter::Active => "active",
                StateFilter::Completed => "completed",
                _ => "terminated",
            };
            query.push(" and p.state = ").push_bind(state);
        }
        None => {}
    }
    if let Some(after) = filter.started_after {
        query.push(" and p.start_time >= ").push_bind(after);
    }
    if let Some(before) = filter.started_before {
        query.push(" and p.start_time < ").push_bind(before);
    }
    if let Some(cursor) = filter.cursor {
        query
            .push(" and (p.start_time, p.process_instance_key, p.environment_id) < (")
            .push_bind(cursor.start_time)
            .push(", ")
            .push_bind(cursor.key)
            .push(", ")
            .push_bind(cursor.environment_id)
            .push(")");
    }
    query
        .push(
            " order by p.start_time desc, p.process_instance_key desc, p.environment_id desc \
             limit ",
        )
        .push_bind(filter.limit + 1);
    query
}

/// A page of a tenant's instances, newest first.
pub async fn instances(
    conn: &mut PgConnection,
    tenant: &TenantId,
    filter: &InstanceFilter,
) -> Result<InstancePage> {
    let rows = instances_query(tenant, filter)
        .build()
        .fetch_all(&mut *conn)
        .await?;
    let more = rows.len() as i64 > filter.limit;
    let rows = &rows[..rows.len().min(filter.limit as usize)];
    let next_cursor = match rows.last() {
        Some(last) if more => Some(
            Cursor {
                start_time: last.try_get("start_time")?,
                key: last.try_get("process_instance_key")?,
                environment_id: last.try_get("environment_id")?,
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(InstancePage {
        instances: rows
            .iter()
            .map(instance_from_row)
            .collect::<Result<_, _>>()?,
        next_cursor,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ElementView {
    pub element_instance_key: i64,
    pub flow_scope_key: i64,
    pub element_id: String,
    pub element_type: String,
    pub event_type: String,
    /// `activating`, `activated`, `completing`, `completed`, `terminating`, `terminated`, or
    /// `taken` for a sequence flow.
    pub state: String,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VariableView {
    pub scope_key: i64,
    pub name: String,
    /// The value as JSON text.
    pub value: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IncidentView {
    pub environment: String,
    pub incident_key: i64,
    pub process_instance_key: i64,
    pub bpmn_process_id: String,
    pub element_instance_key: i64,
    pub element_id: String,
    pub error_type: String,
    pub error_message: String,
    pub job_key: Option<i64>,
    /// `active` or `resolved`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct JobView {
    pub job_key: i64,
    pub element_instance_key: i64,
    pub element_id: String,
    pub job_type: String,
    pub worker: String,
    pub retries: i32,
    pub state: String,
    pub error_message: String,
    pub deadline: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Everything about one instance, for its page.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InstanceDetail {
    pub instance: InstanceSummary,
    /// The BPMN XML of its definition, when the engine reported it.
    pub bpmn_xml: Option<String>,
    pub elements: Vec<ElementView>,
    pub variables: Vec<VariableView>,
    pub incidents: Vec<IncidentView>,
    pub jobs: Vec<JobView>,
    /// Its execution audit events, oldest first (the latest 500).
    pub timeline: Vec<ExecutionAuditEvent>,
}

/// The environment of `tenant` named `name`, as (id, name).
pub async fn environment_id(
    conn: &mut PgConnection,
    tenant: &TenantId,
    name: &str,
) -> Result<Uuid> {
    sqlx::query_scalar("select id from environments where tenant_id = $1 and name = $2")
        .bind(tenant.as_str())
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("environment"))
}

pub async fn instance(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_id: Uuid,
    key: i64,
) -> Result<InstanceSummary> {
    let row = sqlx::query(&format!(
        "select {INSTANCE_COLUMNS} from process_instances p \
         join environments e on e.tenant_id = p.tenant_id and e.id = p.environment_id \
         where p.tenant_id = $1 and p.environment_id = $2 and p.process_instance_key = $3"
    ))
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("process instance"))?;
    Ok(instance_from_row(&row)?)
}

/// Whether `scope_key` names the process instance `instance_key` itself or one of its element
/// instances, as the projection knows them: a variables update may address no other scope.
pub async fn scope_in_instance(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_id: Uuid,
    instance_key: i64,
    scope_key: i64,
) -> Result<()> {
    if scope_key == instance_key {
        return Ok(());
    }
    let found: Option<i64> = sqlx::query_scalar(
        "select element_instance_key from element_instances \
         where tenant_id = $1 and environment_id = $2 and process_instance_key = $3 \
           and element_instance_key = $4",
    )
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(instance_key)
    .bind(scope_key)
    .fetch_optional(&mut *conn)
    .await?;
    found
        .map(|_| ())
        .ok_or(DomainError::NotFound("scope in this process instance"))
}

const INCIDENT_COLUMNS: &str = "e.name as environment, i.incident_key, i.process_instance_key, \
    coalesce(p.bpmn_process_id, '') as bpmn_process_id, i.element_instance_key, i.element_id, \
    i.error_type, i.error_message, i.job_key, i.state, i.created_at, i.resolved_at";

const INCIDENT_FROM: &str = "from incidents i \
    join environments e on e.tenant_id = i.tenant_id and e.id = i.environment_id \
    left join process_instances p on p.tenant_id = i.tenant_id \
      and p.environment_id = i.environment_id and p.process_instance_key = i.process_instance_key";

fn incident_from_row(row: &PgRow) -> std::result::Result<IncidentView, sqlx::Error> {
    Ok(IncidentView {
        environment: row.try_get("environment")?,
        incident_key: row.try_get("incident_key")?,
        process_instance_key: row.try_get("process_instance_key")?,
        bpmn_process_id: row.try_get("bpmn_process_id")?,
        element_instance_key: row.try_get("element_instance_key")?,
        element_id: row.try_get("element_id")?,
        error_type: row.try_get("error_type")?,
        error_message: row.try_get("error_message")?,
        job_key: row.try_get("job_key")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

pub async fn incident(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_id: Uuid,
    key: i64,
) -> Result<IncidentView> {
    let row = sqlx::query(&format!(
        "select {INCIDENT_COLUMNS} {INCIDENT_FROM} \
         where i.tenant_id = $1 and i.environment_id = $2 and i.incident_key = $3"
    ))
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("incident"))?;
    Ok(incident_from_row(&row)?)
}

/// A tenant's incidents, newest first: the open ones, or all.
pub async fn incidents(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_id: Option<Uuid>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<IncidentView>> {
    let rows = sqlx::query(&format!(
        "select {INCIDENT_COLUMNS} {INCIDENT_FROM} \
         where i.tenant_id = $1 and ($2::uuid is null or i.environment_id = $2) \
         and (not $3 or i.state = 'active') \
         order by i.created_at desc limit $4"
    ))
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(open_only)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(incident_from_row)
        .collect::<Result<_, _>>()?)
}

/// An instance with its definition, elements, variables, incidents, jobs and timeline.
pub async fn instance_detail(
    conn: &mut PgConnection,
    tenant: &TenantId,
    environment_id: Uuid,
    key: i64,
) -> Result<InstanceDetail> {
    let instance = instance(conn, tenant, environment_id, key).await?;
    let bpmn_xml: Option<String> = sqlx::query_scalar(
        "select bpmn_xml from process_definitions \
         where tenant_id = $1 and environment_id = $2 and process_definition_key = $3",
    )
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(instance.process_definition_key)
    .fetch_optional(&mut *conn)
    .await?;
    let elements = sqlx::query(
        "select element_instance_key, flow_scope_key, element_id, element_type, event_type, \
         state, start_time, end_time from element_instances \
         where tenant_id = $1 and environment_id = $2 and process_instance_key = $3 \
         order by start_time, element_instance_key",
    )
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(ElementView {
            element_instance_key: row.try_get("element_instance_key")?,
            flow_scope_key: row.try_get("flow_scope_key")?,
            element_id: row.try_get("element_id")?,
            element_type: row.try_get("element_type")?,
            event_type: row.try_get("event_type")?,
            state: row.try_get("state")?,
            start_time: row.try_get("start_time")?,
            end_time: row.try_get("end_time")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let variables = sqlx::query(
        "select scope_key, name, value, updated_at from instance_variables \
         where tenant_id = $1 and environment_id = $2 and process_instance_key = $3 \
         order by scope_key, name",
    )
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(VariableView {
            scope_key: row.try_get("scope_key")?,
            name: row.try_get("name")?,
            value: row.try_get("value")?,
            updated_at: row.try_get("updated_at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let incidents = sqlx::query(&format!(
        "select {INCIDENT_COLUMNS} {INCIDENT_FROM} \
         where i.tenant_id = $1 and i.environment_id = $2 and i.process_instance_key = $3 \
         order by i.created_at"
    ))
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(incident_from_row)
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let jobs = sqlx::query(
        "select job_key, element_instance_key, element_id, job_type, worker, retries, state, \
         error_message, deadline, updated_at from jobs \
         where tenant_id = $1 and environment_id = $2 and process_instance_key = $3 \
         order by job_key",
    )
    .bind(tenant.as_str())
    .bind(environment_id)
    .bind(key)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(JobView {
            job_key: row.try_get("job_key")?,
            element_instance_key: row.try_get("element_instance_key")?,
            element_id: row.try_get("element_id")?,
            job_type: row.try_get("job_type")?,
            worker: row.try_get("worker")?,
            retries: row.try_get("retries")?,
            state: row.try_get("state")?,
            error_message: row.try_get("error_message")?,
            deadline: row.try_get("deadline")?,
            updated_at: row.try_get("updated_at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    // The newest 500 events of this instance's environment, oldest first.
    let mut timeline: Vec<ExecutionAuditEvent> =
        trail::list_latest_of_execution(conn, tenant, &instance.environment, &key.to_string(), 500)
            .await?;
    timeline.reverse();
    Ok(InstanceDetail {
        instance,
        bpmn_xml,
        elements,
        variables,
        incidents,
        jobs,
        timeline,
    })
}
