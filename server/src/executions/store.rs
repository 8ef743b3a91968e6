//! The executions' SQL.

use serde_json::{Value, json};
use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::*;
use crate::{
    audit::{self, Actor, AuditAction, Change},
    deployments::Deployment,
    domain::{Result, TenantId},
};

const EXECUTION_SELECT: &str = "select x.id, x.workflow_id, x.deployment_id, e.name as environment, \
    x.process_instance_key, x.process_definition_key, v.version, x.started_by_label, \
    x.variables, x.created_at \
    from executions x join environments e on e.id = x.environment_id \
    join deployments d on d.id = x.deployment_id \
    join workflow_versions v on v.id = d.version_id";

fn execution_from_row(row: &PgRow) -> Result<Execution> {
    Ok(Execution {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        deployment_id: row.try_get("deployment_id")?,
        environment: row.try_get("environment")?,
        process_instance_key: row.try_get("process_instance_key")?,
        process_definition_key: row.try_get("process_definition_key")?,
        version: row.try_get("version")?,
        started_by: row.try_get("started_by_label")?,
        variables: row.try_get("variables")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn record_execution(
    conn: &mut PgConnection,
    tenant: &TenantId,
    deployment: &Deployment,
    environment: Uuid,
    process_instance_key: i64,
    variables: Value,
    actor: &Actor,
) -> Result<Execution> {
    let id: Uuid = sqlx::query_scalar(
        "insert into executions (tenant_id, workflow_id, deployment_id, environment_id, \
         process_instance_key, process_definition_key, started_by, started_by_label, variables) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
    )
    .bind(tenant.as_str())
    .bind(deployment.workflow_id)
    .bind(deployment.id)
    .bind(environment)
    .bind(process_instance_key)
    .bind(deployment.process_definition_key.unwrap_or_default())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(&variables)
    .fetch_one(&mut *conn)
    .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::ExecutionStart,
            target_id: &deployment.workflow_id.to_string(),
            before: None,
            after: Some(json!({
                "environment": deployment.environment,
                "version": deployment.version,
                "process_instance_key": process_instance_key,
            })),
        },
    )
    .await?;
    let row = sqlx::query(&format!("{EXECUTION_SELECT} where x.id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    execution_from_row(&row)
}

pub async fn executions(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow: Uuid,
) -> Result<Vec<Execution>> {
    let rows = sqlx::query(&format!(
        "{EXECUTION_SELECT} where x.tenant_id = $1 and x.workflow_id = $2 \
         order by x.created_at desc limit 500"
    ))
    .bind(tenant.as_str())
    .bind(workflow)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(execution_from_row).collect()
}
