//! Values the database will take, whatever an engine or a worker put into a record.
//!
//! Workers write free text into records (a `FailJob` error message, variable names and values,
//! job types), and PostgreSQL refuses some of it: a NUL character in `text` or `jsonb`, and a
//! key longer than a B-tree index entry may be (about 2.7 kB, e.g. a variable's name, part of
//! its primary key). One such value used to fail its whole batch, and the batch was retried
//! forever. Here every string a fold is about to write becomes storable first:
//!
//! - NUL is written as the six characters `\u0000`, so the value stays readable and it is
//!   visible that something was escaped;
//! - identifiers longer than [`KEY_BYTES`] and messages longer than [`MESSAGE_BYTES`] are cut
//!   at a character boundary and end with a marker naming their full length and a digest of the
//!   whole value, so two long names that share a prefix stay two rows.
//!
//! It runs before the audit trail hashes its events, so the hash covers what is stored.

use std::{borrow::Cow, collections::BTreeMap};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{fold::Fold, rows::VariableRow};
use crate::monitor::trail::NewEvent;

/// Longest identifier kept whole (element ids, variable names, job types, worker names).
pub const KEY_BYTES: usize = 1024;
/// Longest message kept whole (error messages).
pub const MESSAGE_BYTES: usize = 64 * 1024;
/// The text a NUL character is stored as.
pub const NUL_ESCAPE: &str = "\\u0000";

/// `value` with NUL escaped and, beyond `limit` bytes, cut with a marker.
pub fn text(value: &str, limit: usize) -> Cow<'_, str> {
    let escaped = if value.contains('\0') {
        Cow::Owned(value.replace('\0', NUL_ESCAPE))
    } else {
        Cow::Borrowed(value)
    };
    if escaped.len() <= limit {
        return escaped;
    }
    let digest = hex::encode(&Sha256::digest(value.as_bytes())[..8]);
    let marker = format!("…[truncated from {} bytes, sha256:{digest}]", escaped.len());
    let mut cut = limit.saturating_sub(marker.len());
    while !escaped.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}{marker}", &escaped[..cut]))
}

/// `value` with NUL escaped, no length limit (XML, variable documents).
pub fn unbounded(value: &str) -> Cow<'_, str> {
    text(value, usize::MAX)
}

fn fix(value: &mut String, limit: usize) {
    if let Cow::Owned(fixed) = text(value, limit) {
        *value = fixed;
    }
}

/// Escapes NUL in every string and key of `value`, in place (`jsonb` refuses `\u0000`).
pub fn json(value: &mut Value) {
    match value {
        Value::String(s) => fix(s, usize::MAX),
        Value::Array(items) => items.iter_mut().for_each(json),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(map);
                *map = old
                    .into_iter()
                    .map(|(k, v)| (unbounded(&k).into_owned(), v))
                    .collect::<Map<_, _>>();
            }
            map.values_mut().for_each(json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn event(event: &mut NewEvent) {
    fix(&mut event.execution_id, KEY_BYTES);
    fix(&mut event.workflow_id, KEY_BYTES);
    fix(&mut event.environment, KEY_BYTES);
    if let Some(task) = &mut event.task_id {
        fix(task, KEY_BYTES);
    }
    if let Some(name) = &mut event.task_name {
        fix(name, MESSAGE_BYTES);
    }
    json(&mut event.execution_context);
    if let Some(variables) = &mut event.variables {
        json(variables);
    }
}

impl Fold {
    /// The fold with every string it will write made storable (see the module docs).
    pub(super) fn into_storable(mut self) -> Self {
        for row in &mut self.definitions {
            fix(&mut row.bpmn_process_id, KEY_BYTES);
            fix(&mut row.resource_name, KEY_BYTES);
            fix(&mut row.xml, usize::MAX);
        }
        for row in self.instances.values_mut() {
            fix(&mut row.bpmn_process_id, KEY_BYTES);
        }
        for row in self.elements.values_mut() {
            fix(&mut row.element_id, KEY_BYTES);
            fix(&mut row.element_type, KEY_BYTES);
            fix(&mut row.event_type, KEY_BYTES);
            fix(&mut row.bpmn_process_id, KEY_BYTES);
        }
        for row in self.incidents.values_mut() {
            fix(&mut row.element_id, KEY_BYTES);
            fix(&mut row.bpmn_process_id, KEY_BYTES);
            fix(&mut row.error_type, KEY_BYTES);
            fix(&mut row.error_message, MESSAGE_BYTES);
        }
        for row in self.jobs.values_mut() {
            fix(&mut row.element_id, KEY_BYTES);
            fix(&mut row.bpmn_process_id, KEY_BYTES);
            fix(&mut row.job_type, KEY_BYTES);
            fix(&mut row.worker, KEY_BYTES);
            fix(&mut row.error_message, MESSAGE_BYTES);
        }
        // A variable's name is part of its key: rebuild the map with the stored names, the
        // later record winning should two names become one.
        let variables = std::mem::take(&mut self.variables);
        self.variables = variables
            .into_values()
            .map(|mut row: VariableRow| {
                fix(&mut row.name, KEY_BYTES);
                fix(&mut row.bpmn_process_id, KEY_BYTES);
                fix(&mut row.value, usize::MAX);
                row
            })
            .fold(BTreeMap::new(), |mut map, row| {
                let key = (row.target.environment_id, row.scope, row.name.clone());
                match map.get(&key) {
                    Some(VariableRow { position, .. }) if *position > row.position => {}
                    _ => {
                        map.insert(key, row);
                    }
                }
                map
            });
        for pending in &mut self.events {
            event(&mut pending.event);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_escaped_visibly() {
        assert_eq!(text("card\0declined", 100), "card\\u0000declined");
        assert!(matches!(text("fine", 100), Cow::Borrowed("fine")));
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary_with_a_distinct_marker() {
        let a = format!("{}a", "é".repeat(2000));
        let b = format!("{}b", "é".repeat(2000));
        let (ca, cb) = (text(&a, KEY_BYTES), text(&b, KEY_BYTES));
        assert!(ca.len() <= KEY_BYTES, "{}", ca.len());
        assert!(ca.contains("…[truncated from 4001 bytes, sha256:"), "{ca}");
        assert_ne!(ca, cb, "two long names stay two names");
        // Escaping counts towards the limit.
        let nuls = "\0".repeat(KEY_BYTES);
        assert!(text(&nuls, KEY_BYTES).len() <= KEY_BYTES);
    }

    #[test]
    fn json_strings_and_keys_lose_their_nul() {
        let mut value = json!({ "a\u{0}b": ["x\u{0}", { "k": "v\u{0}" }], "n": 1 });
        json(&mut value);
        assert_eq!(
            value,
            json!({ "a\\u0000b": ["x\\u0000", { "k": "v\\u0000" }], "n": 1 })
        );
    }
}
