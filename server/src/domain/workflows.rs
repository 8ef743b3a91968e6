//! Workflows, their immutable versions, and the job types a tenant's workflows may use.
//!
//! A workflow is one executable BPMN process; its `key` is the process id (Zeebe's
//! `bpmnProcessId`), fixed by the first version. Every version is stored exactly as given and
//! never changes; a version identical to the latest one is not stored twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row, postgres::PgRow};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    DomainError, FieldError, Result, TenantId,
    audit::{self, Actor, Change},
    tenants::{is_unique_violation, lock_active, validate_name},
};

/// Largest BPMN document accepted, in bytes (the database allows 5 MiB too).
pub const MAX_BPMN_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Workflow {
    pub id: Uuid,
    pub tenant_id: String,
    /// The BPMN process id (Zeebe's `bpmnProcessId`).
    pub key: String,
    pub name: String,
    pub description: String,
    /// The declared start variables, a JSON Schema subset (see the README), if any.
    #[schema(value_type = Option<Object>)]
    pub variables_schema: Option<serde_json::Value>,
    /// The newest version's number; 0 before the first version.
    pub latest_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A version without its XML, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionSummary {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub version: i32,
    /// SHA-256 of the XML, hex.
    pub content_hash: String,
    pub author: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Version {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub bpmn_xml: String,
}

/// What `POST /api/v1/workflows` accepts: a BPMN document, which becomes version 1.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkflow {
    /// The tenant; may be left out with an API token (its tenant is used).
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,31}$")]
    pub tenant_id: Option<String>,
    /// Defaults to the process's name, or its id.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub description: Option<String>,
    /// The declared start variables: a JSON Schema subset whose root is `"type": "object"`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub variables_schema: Option<serde_json::Value>,
    #[schema(min_length = 1, max_length = 5242880)]
    pub bpmn_xml: String,
    /// What this version is, like a commit message.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub message: Option<String>,
}

/// What `PUT /api/v1/workflows/{id}` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowUpdate {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub description: String,
    /// Replaces the declared start variables; left out or null: none.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub variables_schema: Option<serde_json::Value>,
}

/// What `POST /api/v1/workflows/{id}/versions` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    #[schema(min_length = 1, max_length = 5242880)]
    pub bpmn_xml: String,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub message: Option<String>,
}

/// A job type the tenant's own workers serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobType {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]+$"
    )]
    #[serde(rename = "type")]
    pub job_type: String,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = r"^[^\x00]*$")]
    pub description: String,
}

/// The connectors every tenant may use without declaring them (job types of the Camunda
/// connectors our execution plane runs).
pub const BUILTIN_JOB_TYPES: &[&str] = &[
    "io.camunda:http-json:1",
    "io.camunda:aws-lambda:1",
    "io.camunda:aws-sqs:1",
    "io.camunda:aws-sns:1",
    "io.camunda:aws-eventbridge:1",
    "io.camunda:aws-dynamodb:1",
    "io.camunda:sendgrid:1",
    "io.camunda:slack:1",
];

/// The BPMN document's one executable process, checked and parsed.
#[derive(Debug)]
pub struct ParsedBpmn {
    pub definitions: bpmn::Definitions,
    pub process_id: String,
    pub process_name: Option<String>,
}

/// Why a BPMN document cannot be stored; carries the element when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BpmnProblem {
    /// `bpmn_unreadable`, `bpmn_no_executable_process`, `bpmn_several_processes`,
    /// `bpmn_invalid_process_id` or `bpmn_process_id_changed`.
    pub code: &'static str,
    pub message: String,
    pub element_id: Option<String>,
}

/// Parses `xml` and finds its executable process.
pub fn parse_bpmn(xml: &str) -> std::result::Result<ParsedBpmn, BpmnProblem> {
    let options = bpmn::ParseOptions {
        max_size: MAX_BPMN_BYTES,
        ..bpmn::ParseOptions::default()
    };
    let definitions = bpmn::parse_bytes(xml.as_bytes(), &options).map_err(|error| BpmnProblem {
        code: "bpmn_unreadable",
        message: error.to_string(),
        element_id: None,
    })?;
    let executable: Vec<&bpmn::Process> = definitions
        .processes()
        .filter(|process| process.is_executable != Some(false))
        .collect();
    let process = match executable.as_slice() {
        [one] => *one,
        [] => {
            return Err(BpmnProblem {
                code: "bpmn_no_executable_process",
                message: "the document has no executable process".to_owned(),
                element_id: None,
            });
        }
        [_, second, ..] => {
            return Err(BpmnProblem {
                code: "bpmn_several_processes",
                message: format!(
                    "the document has {} executable processes; a workflow is one process \
                     (mark the others isExecutable=\"false\" or put them in files of their own)",
                    executable.len()
                ),
                element_id: Some(second.id.as_str().to_owned()),
            });
        }
    };
    let process_id = process.id.as_str().to_owned();
    // What the workflows table and Zeebe's bpmnProcessId accept.
    let valid_id = process_id.len() <= 200
        && process_id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && process_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid_id {
        return Err(BpmnProblem {
            code: "bpmn_invalid_process_id",
            message: format!(
                "the process id {process_id:?} must start with a letter or _ and have at most \
                 200 of A-Z a-z 0-9 . _ -"
            ),
            element_id: Some(process_id),
        });
    }
    let process_name = process.name.clone();
    Ok(ParsedBpmn {
        definitions,
        process_id,
        process_name,
    })
}

/// Every job type the document's tasks are served by, with the element that names it. FEEL
/// job types (`=…`) are decided at run time and cannot be checked here.
pub fn job_types_used(definitions: &bpmn::Definitions) -> Vec<(String, String)> {
    let mut used = Vec::new();
    for node in bpmn::walk::all_flow_nodes(definitions) {
        let Some(job_type) = node
            .base
            .zeebe()
            .task_definition
            .as_ref()
            .and_then(|definition| definition.job_type.as_deref())
        else {
            continue;
        };
        if !job_type.starts_with('=') {
            used.push((node.id.as_str().to_owned(), job_type.to_owned()));
        }
    }
    used
}

fn digest(xml: &str) -> Vec<u8> {
    Sha256::digest(xml.as_bytes()).to_vec()
}

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

fn validate_variables_schema(schema: Option<&serde_json::Value>) -> Result<(), FieldError> {
    match schema {
        Some(schema) => super::variables::validate_schema(schema)
            .map_err(|message| FieldError::new("variables_schema", message)),
        None => Ok(()),
    }
}

fn validate_description(field: &str, text: &str, max: usize) -> Result<(), FieldError> {
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.contains('\0') {
        return Err(FieldError::new(field, "must not contain NUL characters"));
    }
    Ok(())
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
            action: "workflow.create",
            target_type: "workflow",
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

/// Why a workflow or version could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{}", .0.message)]
    Bpmn(BpmnProblem),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<BpmnProblem> for WorkflowError {
    fn from(problem: BpmnProblem) -> Self {
        WorkflowError::Bpmn(problem)
    }
}

impl From<FieldError> for WorkflowError {
    fn from(error: FieldError) -> Self {
        WorkflowError::Domain(error.into())
    }
}

impl From<sqlx::Error> for WorkflowError {
    fn from(error: sqlx::Error) -> Self {
        WorkflowError::Domain(error.into())
    }
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
            action: "workflow_version.create",
            target_type: "workflow",
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
                action: "workflow.update",
                target_type: "workflow",
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
            action: "workflow.delete",
            target_type: "workflow",
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
            action: "job_type.add",
            target_type: "job_type",
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
            action: "job_type.remove",
            target_type: "job_type",
            target_id: job_type,
            before: Some(json!({})),
            after: None,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="charge">
      <bpmn:extensionElements><zeebe:taskDefinition type="payments" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"#;

    #[test]
    fn the_executable_process_names_the_workflow_and_its_job_types() {
        let parsed = parse_bpmn(ORDER).unwrap();
        assert_eq!(parsed.process_id, "order");
        assert_eq!(parsed.process_name.as_deref(), Some("Order"));
        assert_eq!(
            job_types_used(&parsed.definitions),
            [("charge".to_owned(), "payments".to_owned())]
        );
    }

    #[test]
    fn documents_without_exactly_one_executable_process_are_refused() {
        let none = ORDER.replace(r#"isExecutable="true""#, r#"isExecutable="false""#);
        assert_eq!(
            parse_bpmn(&none).unwrap_err().code,
            "bpmn_no_executable_process"
        );
        let two = ORDER.replace(
            "</bpmn:definitions>",
            r#"<bpmn:process id="second" isExecutable="true" /></bpmn:definitions>"#,
        );
        let problem = parse_bpmn(&two).unwrap_err();
        assert_eq!(problem.code, "bpmn_several_processes");
        assert_eq!(problem.element_id.as_deref(), Some("second"));
        assert_eq!(parse_bpmn("<not-bpmn").unwrap_err().code, "bpmn_unreadable");
        let umlaut = ORDER.replace(r#"id="order""#, r#"id="Bestellung_ä""#);
        assert_eq!(
            parse_bpmn(&umlaut).unwrap_err().code,
            "bpmn_invalid_process_id"
        );
    }
}
