//! The workflows', versions' and job types' SQL.

use serde_json::json;
use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::*;
use crate::{
    audit::{self, Actor, AuditAction, Change},
    domain::{DomainError, FieldError, Result, TenantId},
    tenants::{
        store::{is_unique_violation, lock_active},
        validate_name,
    },
};

const WORKFLOW_SELECT: &str = "select w.id, w.tenant_id, w.key, w.name, w.description, \
    w.variables_schema, \
    w.created_at, w.updated_at, \
    coalesce((select max(v.version) from workflow_versions v where v.workflow_id = w.id), 0) \
        as latest_version \
    from workflows w";

fn workflow_from_row(row: &PgRow) -> Result<Workflow> {
    Ok(Workflow {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        variables_schema: row.try_get("variables_schema")?,
        latest_version: row.try_get("latest_version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const VERSION_COLUMNS: &str = "id, workflow_id, version, content_hash, author, message, created_at";

fn summary_from_row(row: &PgRow) -> Result<VersionSummary> {
    Ok(VersionSummary {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        version: row.try_get("version")?,
        content_hash: hex::encode(row.try_get::<Vec<u8>, _>("content_hash")?),
        author: row.try_get("author")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Creates a workflow from a BPMN document (its version 1), within the tenant's workflow quota.
pub async fn create(
    conn: &mut PgConnection,
    tenant: &TenantId,
    new: NewWorkflow,
    actor: &Actor,
) -> std::result::Result<(Workflow, VersionSummary), WorkflowError> {
    let parsed = parse_bpmn(&new.bpmn_xml)?;
    let name = new
        .name
        .clone()
        .or(parsed.process_name.clone())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| parsed.process_id.clone());
    validate_name("name", &name)?;
    let description = new.description.clone().unwrap_or_default();
    validate_description("description", &description, 4000)?;
    let message = new.message.clone().unwrap_or_default();
    validate_description("message", &message, 2000)?;
    validate_variables_schema(new.variables_schema.as_ref())?;

    let current = lock_active(conn, tenant).await?;
    let count: i64 = sqlx::query_scalar("select count(*) from workflows where tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(DomainError::from)?;
    if count >= i64::from(current.quotas.max_workflows) {
        return Err(DomainError::QuotaExceeded(format!(
            "tenant {:?} already has {count} of its {} workflows; raise quotas.max_workflows or \
             delete a workflow first",
            tenant.as_str(),
            current.quotas.max_workflows
        ))
        .into());
    }
    let id: Uuid = sqlx::query_scalar(
        "insert into workflows (tenant_id, key, name, description, variables_schema, created_by) \
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(tenant.as_str())
    .bind(&parsed.process_id)
    .bind(&name)
    .bind(&description)
    .bind(&new.variables_schema)
    .bind(actor.user_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error, "workflows_tenant_id_key_key") {
            DomainError::Conflict(format!(
                "tenant {:?} already has a workflow for process {:?}; add a version to it",
                tenant.as_str(),
                parsed.process_id
            ))
        } else {
            error.into()
        }
    })?;
    let workflow = get(conn, tenant, id).await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::WorkflowCreate,
            target_id: &id.to_string(),
            before: None,
            after: Some(json!({ "key": workflow.key, "name": workflow.name })),
        },
    )
    .await?;
    let version = insert_version(conn, tenant, &workflow, &new.bpmn_xml, &message, actor).await?;
    let workflow = get(conn, tenant, id).await?;
    Ok((workflow, version))
}

async fn insert_version(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow: &Workflow,
    xml: &str,
    message: &str,
    actor: &Actor,
) -> Result<VersionSummary> {
    let row = sqlx::query(&format!(
        "insert into workflow_versions \
         (tenant_id, workflow_id, version, bpmn_xml, content_hash, author_id, author, message) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning {VERSION_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(workflow.id)
    .bind(workflow.latest_version + 1)
    .bind(xml)
    .bind(digest(xml))
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(message)
    .fetch_one(&mut *conn)
    .await?;
    let version = summary_from_row(&row)?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::WorkflowVersionCreate,
            target_id: &workflow.id.to_string(),
            before: None,
            after: Some(json!({
                "version": version.version,
                "content_hash": version.content_hash,
                "message": version.message,
            })),
        },
    )
    .await?;
    Ok(version)
}

/// Adds a version. A document identical to the latest version returns that version instead
/// (`false`: nothing was created), like a redeploy of an unchanged resource in Zeebe.
pub async fn add_version(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow_id: Uuid,
    new: NewVersion,
    actor: &Actor,
) -> std::result::Result<(VersionSummary, bool), WorkflowError> {
    let parsed = parse_bpmn(&new.bpmn_xml)?;
    let message = new.message.unwrap_or_default();
    validate_description("message", &message, 2000)?;
    lock_active(conn, tenant).await?;
    // Serialises version numbering per workflow.
    sqlx::query("select id from workflows where id = $1 for no key update")
        .bind(workflow_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("workflow"))?;
    let workflow = get(conn, tenant, workflow_id).await?;
    if parsed.process_id != workflow.key {
        return Err(BpmnProblem {
            code: "bpmn_process_id_changed",
            message: format!(
                "the process id is {:?} but this workflow is {:?}; a different process is a \
                 different workflow",
                parsed.process_id, workflow.key
            ),
            element_id: Some(parsed.process_id),
        }
        .into());
    }
    if workflow.latest_version > 0 {
        let latest = sqlx::query(&format!(
            "select {VERSION_COLUMNS} from workflow_versions \
             where workflow_id = $1 and version = $2"
        ))
        .bind(workflow_id)
        .bind(workflow.latest_version)
        .fetch_one(&mut *conn)
        .await?;
        let latest = summary_from_row(&latest)?;
        if latest.content_hash == hex::encode(digest(&new.bpmn_xml)) {
            return Ok((latest, false));
        }
    }
    let version = insert_version(conn, tenant, &workflow, &new.bpmn_xml, &message, actor).await?;
    sqlx::query("update workflows set updated_at = now() where id = $1")
        .bind(workflow_id)
        .execute(&mut *conn)
        .await?;
    Ok((version, true))
}

pub async fn list(conn: &mut PgConnection, tenant: &TenantId) -> Result<Vec<Workflow>> {
    let rows = sqlx::query(&format!(
        "{WORKFLOW_SELECT} where w.tenant_id = $1 order by lower(w.name), w.key"
    ))
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(workflow_from_row).collect()
}

pub async fn get(conn: &mut PgConnection, tenant: &TenantId, id: Uuid) -> Result<Workflow> {
    let row = sqlx::query(&format!(
        "{WORKFLOW_SELECT} where w.tenant_id = $1 and w.id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("workflow"))?;
    workflow_from_row(&row)
}

/// The tenant a workflow belongs to, looked up across tenants (platform transaction) so the
/// caller can be authorised for it before anything of it is read.
pub async fn tenant_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<TenantId>> {
    let tenant: Option<String> =
        sqlx::query_scalar("select tenant_id from workflows where id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(tenant.and_then(|tenant| TenantId::new(&tenant).ok()))
}

pub async fn update(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    update: WorkflowUpdate,
    actor: &Actor,
) -> Result<Workflow> {
    validate_name("name", &update.name)?;
    validate_description("description", &update.description, 4000)?;
    validate_variables_schema(update.variables_schema.as_ref())?;
    lock_active(conn, tenant).await?;
    let before = get(conn, tenant, id).await?;
    sqlx::query(
        "update workflows set name = $3, description = $4, variables_schema = $5, \
         updated_at = now() where tenant_id = $1 and id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(&update.name)
    .bind(&update.description)
    .bind(&update.variables_schema)
    .execute(&mut *conn)
    .await?;
    let after = get(conn, tenant, id).await?;
    if (&before.name, &before.description, &before.variables_schema)
        != (&after.name, &after.description, &after.variables_schema)
    {
        audit::append(
            conn,
            tenant,
            actor,
            Change {
                action: AuditAction::WorkflowUpdate,
                target_id: &id.to_string(),
                before: Some(json!({
                    "name": before.name,
                    "description": before.description,
                    "variables_schema": before.variables_schema,
                })),
                after: Some(json!({
                    "name": after.name,
                    "description": after.description,
                    "variables_schema": after.variables_schema,
                })),
            },
        )
        .await?;
    }
    Ok(after)
}

/// Deletes a workflow that was never deployed; a deployed one stays, as its record.
pub async fn delete(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
    actor: &Actor,
) -> Result<()> {
    lock_active(conn, tenant).await?;
    let workflow = get(conn, tenant, id).await?;
    let deployed: bool =
        sqlx::query_scalar("select exists (select 1 from deployments where workflow_id = $1)")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if deployed {
        return Err(DomainError::Conflict(format!(
            "workflow {:?} has deployments, which keep their record; it cannot be deleted",
            workflow.key
        )));
    }
    sqlx::query("delete from workflows where tenant_id = $1 and id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::WorkflowDelete,
            target_id: &id.to_string(),
            before: Some(json!({ "key": workflow.key, "name": workflow.name })),
            after: None,
        },
    )
    .await?;
    Ok(())
}

pub async fn versions(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow_id: Uuid,
) -> Result<Vec<VersionSummary>> {
    get(conn, tenant, workflow_id).await?;
    let rows = sqlx::query(&format!(
        "select {VERSION_COLUMNS} from workflow_versions where workflow_id = $1 \
         order by version desc"
    ))
    .bind(workflow_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(summary_from_row).collect()
}

pub async fn version(
    conn: &mut PgConnection,
    tenant: &TenantId,
    workflow_id: Uuid,
    number: i32,
) -> Result<Version> {
    get(conn, tenant, workflow_id).await?;
    let row = sqlx::query(&format!(
        "select {VERSION_COLUMNS}, bpmn_xml from workflow_versions \
         where workflow_id = $1 and version = $2"
    ))
    .bind(workflow_id)
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DomainError::NotFound("version"))?;
    Ok(Version {
        summary: summary_from_row(&row)?,
        bpmn_xml: row.try_get("bpmn_xml")?,
    })
}

pub async fn job_types(conn: &mut PgConnection, tenant: &TenantId) -> Result<Vec<JobType>> {
    let rows =
        sqlx::query("select type, description from job_types where tenant_id = $1 order by type")
            .bind(tenant.as_str())
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|row| {
            Ok(JobType {
                job_type: row.try_get("type")?,
                description: row.try_get("description")?,
            })
        })
        .collect()
}

pub async fn add_job_type(
    conn: &mut PgConnection,
    tenant: &TenantId,
    job_type: JobType,
    actor: &Actor,
) -> Result<JobType> {
    let valid = !job_type.job_type.is_empty()
        && job_type.job_type.chars().count() <= 200
        && !job_type
            .job_type
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(FieldError::new(
            "type",
            "must be 1 to 200 characters without spaces or control characters",
        )
        .into());
    }
    validate_description("description", &job_type.description, 2000)?;
    lock_active(conn, tenant).await?;
    sqlx::query("insert into job_types (tenant_id, type, description) values ($1, $2, $3)")
        .bind(tenant.as_str())
        .bind(&job_type.job_type)
        .bind(&job_type.description)
        .execute(&mut *conn)
        .await
        .map_err(|error| {
            if is_unique_violation(&error, "job_types_pkey") {
                DomainError::Conflict(format!(
                    "job type {:?} is declared already",
                    job_type.job_type
                ))
            } else {
                error.into()
            }
        })?;
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::JobTypeAdd,
            target_id: &job_type.job_type,
            before: None,
            after: Some(json!({ "description": job_type.description })),
        },
    )
    .await?;
    Ok(job_type)
}

pub async fn remove_job_type(
    conn: &mut PgConnection,
    tenant: &TenantId,
    job_type: &str,
    actor: &Actor,
) -> Result<()> {
    lock_active(conn, tenant).await?;
    let removed = sqlx::query("delete from job_types where tenant_id = $1 and type = $2")
        .bind(tenant.as_str())
        .bind(job_type)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(DomainError::NotFound("job type"));
    }
    audit::append(
        conn,
        tenant,
        actor,
        Change {
            action: AuditAction::JobTypeRemove,
            target_id: job_type,
            before: Some(json!({})),
            after: None,
        },
    )
    .await?;
    Ok(())
}
