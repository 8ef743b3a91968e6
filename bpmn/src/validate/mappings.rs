//! Zeebe input/output mappings, task headers and properties: each needs its target,
//! key or name.

use super::{Code, Validator};
use crate::model::*;

impl Validator<'_> {
    pub(super) fn mappings(&mut self, n: &FlowNode) {
        let z = n.zeebe();
        let mut bad = Vec::new();
        if let Some(io) = &z.io_mapping {
            for m in io.inputs.iter().chain(&io.outputs) {
                if m.target.as_deref().is_none_or(|t| t.trim().is_empty()) || m.source.is_none() {
                    bad.push("an input/output mapping needs a source and a target");
                }
            }
        }
        if let Some(h) = &z.task_headers
            && h.headers
                .iter()
                .any(|h| h.key.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            bad.push("a task header needs a key");
        }
        if let Some(p) = &z.properties
            && p.properties
                .iter()
                .any(|p| p.name.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            bad.push("a zeebe property needs a name");
        }
        for msg in bad {
            self.push(Code::InvalidMapping, Some(n.id.as_str()), msg.into());
        }
    }
}
