//! `{{secrets.NAME}}` placeholders in connector inputs, resolved inside the plane.
//!
//! A model refers to a secret by name (Camunda's placeholder syntax, also inside longer text
//! such as `"Bearer {{secrets.TOKEN}}"`), so the value never travels through the engine: it
//! is not in the process variables, in the records, in the control plane, or in this plane's
//! journal and logs. The values live in the customer's account — a JSON file of names to
//! values (mounted from a Kubernetes Secret, say) and/or environment variables with a
//! prefix. Every value a job used is remembered with the job, so error messages that echo
//! one (a URL in a transport error) are scrubbed before they leave the plane.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use serde_json::Value;

use crate::config::SecretsConfig;

/// What replaces a secret's value wherever the plane writes text.
pub const REDACTED: &str = "***";

/// Values shorter than this are not scrubbed: replacing every `42` or `true` in a response
/// would garble it. Secrets that short are not secret anyway.
const MIN_SCRUBBED_LEN: usize = 6;

/// Why a placeholder could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret {0:?} is not configured in this plane")]
    Missing(String),
    #[error("the secrets file cannot be read: {0}")]
    File(String),
}

/// The secret values one job's inputs used.
#[derive(Debug, Default, Clone)]
pub struct Used(Vec<String>);

impl Used {
    /// `text` with every used secret value replaced by [`REDACTED`].
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for value in &self.0 {
            if value.len() >= MIN_SCRUBBED_LEN {
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        out
    }

    /// `value` with every used secret value replaced inside its strings.
    #[must_use]
    pub fn scrub_json(&self, value: &Value) -> Value {
        if self.0.iter().all(|v| v.len() < MIN_SCRUBBED_LEN) {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.scrub(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.scrub_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.scrub_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The plane's secret sources.
#[derive(Clone)]
pub struct Secrets {
    file: Option<PathBuf>,
    env_prefix: Option<String>,
    cache: Arc<Mutex<FileCache>>,
}

#[derive(Default)]
struct FileCache {
    modified: Option<SystemTime>,
    values: HashMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    // Never the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("file", &self.file)
            .field("env_prefix", &self.env_prefix)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    #[must_use]
    pub fn new(config: &SecretsConfig) -> Self {
        Self {
            file: config.file.clone(),
            env_prefix: config.env_prefix.clone(),
            cache: Arc::default(),
        }
    }

    fn lookup(&self, name: &str) -> Result<String, SecretError> {
        if let Some(path) = &self.file {
            let mut cache = self.cache.lock().expect("secrets cache lock");
            let modified = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map_err(|e| SecretError::File(e.to_string()))?;
            if cache.modified != Some(modified) {
                let text =
                    std::fs::read_to_string(path).map_err(|e| SecretError::File(e.to_string()))?;
                let parsed: HashMap<String, Value> = serde_json::from_str(&text).map_err(|e| {
                    SecretError::File(format!("not a JSON object of names to values ({e})"))
                })?;
                cache.values = parsed
                    .into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect();
                cache.modified = Some(modified);
            }
            if let Some(value) = cache.values.get(name) {
                return Ok(value.clone());
            }
        }
        if let Some(prefix) = &self.env_prefix
            && let Ok(value) = std::env::var(format!("{prefix}{name}"))
        {
            return Ok(value);
        }
        Err(SecretError::Missing(name.to_owned()))
    }

    /// `inputs` with every placeholder replaced, and the values that were used.
    ///
    /// # Errors
    /// A placeholder names a secret no source has, or the file cannot be read.
    pub fn resolve(&self, inputs: &Value) -> Result<(Value, Used), SecretError> {
        let mut used = Used::default();
        let value = self.resolve_value(inputs, &mut used)?;
        Ok((value, used))
    }

    fn resolve_value(&self, value: &Value, used: &mut Used) -> Result<Value, SecretError> {
        Ok(match value {
            Value::String(s) => Value::String(self.resolve_text(s, used)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve_value(v, used))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve_value(v, used)?)))
                    .collect::<Result<_, SecretError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn resolve_text(&self, text: &str, used: &mut Used) -> Result<String, SecretError> {
        // Camunda's deprecated form: a whole value `secrets.NAME`.
        if let Some(name) = text.strip_prefix("secrets.")
            && is_name(name)
        {
            let value = self.lookup(name)?;
            used.0.push(value.clone());
            return Ok(value);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let inner = after[..end].trim();
            match inner.strip_prefix("secrets.").filter(|n| is_name(n)) {
                Some(name) => {
                    let value = self.lookup(name)?;
                    out.push_str(&rest[..start]);
                    out.push_str(&value);
                    used.0.push(value);
                }
                // Not a placeholder of ours: keep the text as it was.
                None => out.push_str(&rest[..start + 2 + end + 2]),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Camunda's secret names: letters, digits, `_`, `-`, `.` and `/`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn file_secrets(values: &Value) -> (Secrets, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, values.to_string()).unwrap();
        let secrets = Secrets::new(&SecretsConfig {
            file: Some(path),
            env_prefix: None,
        });
        (secrets, dir)
    }

    #[test]
    fn placeholders_resolve_anywhere_in_the_inputs() {
        let (secrets, _dir) = file_secrets(&json!({ "TOKEN": "t0k3n-42", "HOST": "api.example" }));
        let inputs = json!({
            "url": "https://{{secrets.HOST}}/v1",
            "headers": { "Authorization": "Bearer {{ secrets.TOKEN }}" },
            "authentication": { "password": "secrets.TOKEN" },
            "body": ["{{not.a.secret}}", 3, "{{secrets.TOKEN"]
        });
        let (resolved, used) = secrets.resolve(&inputs).unwrap();
        assert_eq!(
            resolved,
            json!({
                "url": "https://api.example/v1",
                "headers": { "Authorization": "Bearer t0k3n-42" },
                "authentication": { "password": "t0k3n-42" },
                "body": ["{{not.a.secret}}", 3, "{{secrets.TOKEN"]
            })
        );
        assert_eq!(
            used.scrub("GET https://x/?t=t0k3n-42 failed"),
            "GET https://x/?t=*** failed"
        );
        assert_eq!(
            used.scrub_json(&json!({ "e": ["t0k3n-42"] })),
            json!({ "e": ["***"] })
        );
    }

    #[test]
    fn a_missing_secret_is_named_and_the_file_is_reread_when_it_changes() {
        let (secrets, dir) = file_secrets(&json!({ "A": "1" }));
        assert_eq!(
            secrets.resolve(&json!("{{secrets.B}}")).unwrap_err(),
            SecretError::Missing("B".into())
        );
        // A later modification time than the cached one.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("secrets.json"), r#"{"B": "2"}"#).unwrap();
        let (value, _) = secrets.resolve(&json!("{{secrets.B}}")).unwrap();
        assert_eq!(value, json!("2"));
    }

    #[test]
    fn debug_output_holds_no_value() {
        let (secrets, _dir) = file_secrets(&json!({ "A": "very-secret" }));
        secrets.resolve(&json!("{{secrets.A}}")).unwrap();
        assert!(!format!("{secrets:?}").contains("very-secret"));
    }
}
