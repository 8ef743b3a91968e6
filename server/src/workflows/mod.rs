//! Workflows, their immutable versions, and the job types a tenant's workflows may use.
//!
//! A workflow is one executable BPMN process; its `key` is the process id (Zeebe's
//! `bpmnProcessId`), fixed by the first version. Every version is stored exactly as given and
//! never changes; a version identical to the latest one is not stored twice.
//!
//! The feature's parts: [`store`] (the SQL), [`service`] (what a caller may do), [`routes`]
//! (the REST API), [`uploads`] (the pages' BPMN file uploads).

pub mod routes;
pub mod service;
pub mod store;
pub mod uploads;
pub mod variables;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{DomainError, FieldError};

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
pub fn parse_bpmn(xml: &str) -> Result<ParsedBpmn, BpmnProblem> {
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

fn validate_variables_schema(schema: Option<&serde_json::Value>) -> Result<(), FieldError> {
    match schema {
        Some(schema) => variables::validate_schema(schema)
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
