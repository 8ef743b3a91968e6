//! Executions: process instances started through the control plane, on the active
//! deployment of a workflow in an environment.
//!
//! The feature's parts: [`store`] (the SQL), [`service`] (starting one: checks, the engine
//! call, the record), [`routes`] (the REST API).

pub mod routes;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{FieldError, Result};

/// A process instance started through the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Execution {
    pub id: Uuid,
    pub workflow_id: Uuid,
    pub deployment_id: Uuid,
    pub environment: String,
    pub process_instance_key: i64,
    pub process_definition_key: i64,
    pub version: i32,
    pub started_by: String,
    #[schema(value_type = Object)]
    pub variables: Value,
    pub created_at: DateTime<Utc>,
}

/// What `POST /api/v1/workflows/{id}/executions` accepts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExecution {
    #[schema(pattern = "^[a-z][a-z0-9-]{0,30}$")]
    pub environment: String,
    /// The instance's variables, a JSON object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: serde_json::Map<String, Value>,
}

/// Largest variables document an execution may start with, serialized.
pub const MAX_VARIABLES_BYTES: usize = 1024 * 1024;

/// Checks start variables before anything is sent to the engine, so an instance is never
/// started that the control plane could not then record: PostgreSQL's `jsonb` cannot hold a
/// NUL character in a key or a string.
pub fn validate_variables(variables: &serde_json::Map<String, Value>) -> Result<()> {
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(fields) => fields
                .iter()
                .any(|(key, value)| key.contains('\0') || has_nul(value)),
            _ => false,
        }
    }
    if variables
        .iter()
        .any(|(key, value)| key.contains('\0') || has_nul(value))
    {
        return Err(FieldError::new(
            "variables",
            "names and texts must not contain NUL characters",
        )
        .into());
    }
    let size = serde_json::to_vec(variables)
        .map(|bytes| bytes.len())
        .unwrap_or(usize::MAX);
    if size > MAX_VARIABLES_BYTES {
        return Err(FieldError::new(
            "variables",
            format!("are {size} bytes as JSON; at most {MAX_VARIABLES_BYTES} are accepted"),
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn variables_with_nul_anywhere_are_refused() {
        let object = |value: Value| value.as_object().unwrap().clone();
        assert!(validate_variables(&object(json!({ "a": [1, { "b": "ok" }] }))).is_ok());
        for bad in [
            json!({ "a\u{0}": 1 }),
            json!({ "a": "x\u{0}" }),
            json!({ "a": [{ "b": ["\u{0}"] }] }),
            json!({ "a": { "\u{0}": null } }),
        ] {
            assert!(validate_variables(&object(bad.clone())).is_err(), "{bad}");
        }
    }
}
