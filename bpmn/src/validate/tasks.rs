//! Zeebe rules for tasks and other activities: job types, called processes and
//! scripts, retries, multi-instance, and elements Zeebe does not execute.

use super::{Code, Validator};
use crate::model::*;

impl Validator<'_> {
    pub(super) fn zeebe_task(&mut self, n: &FlowNode, job_type_ok: bool) {
        let id = Some(n.id.as_str());
        let z = n.zeebe();
        let has_other = |name: &str| {
            n.base
                .extension_elements
                .other
                .iter()
                .any(|e| e.is(crate::xml::ZEEBE_NS, name))
        };
        match &n.kind {
            FlowNodeKind::ServiceTask(_) | FlowNodeKind::SendTask(_) if !job_type_ok => {
                self.push(
                    Code::MissingJobType,
                    id,
                    format!("{} needs a zeebe:taskDefinition with a type", n.kind.tag()),
                );
            }
            FlowNodeKind::BusinessRuleTask(_) if !job_type_ok && !has_other("calledDecision") => {
                self.push(Code::MissingJobType, id, "businessRuleTask needs a zeebe:calledDecision or a zeebe:taskDefinition with a type".into());
            }
            FlowNodeKind::ScriptTask(_) if !job_type_ok && z.script.is_none() => {
                self.push(
                    Code::MissingJobType,
                    id,
                    "scriptTask needs a zeebe:script or a zeebe:taskDefinition with a type".into(),
                );
            }
            FlowNodeKind::CallActivity(_)
                if z.called_element
                    .as_ref()
                    .and_then(|c| c.process_id.as_deref())
                    .is_none_or(|p| p.trim().is_empty()) =>
            {
                self.push(
                    Code::MissingCalledProcess,
                    id,
                    "callActivity needs a zeebe:calledElement with a processId".into(),
                );
            }
            FlowNodeKind::ComplexGateway(_) | FlowNodeKind::Transaction(_) => {
                self.push(
                    Code::UnsupportedElement,
                    id,
                    format!("Zeebe does not execute {}", n.kind.tag()),
                );
            }
            _ => {}
        }
        if let Some(t) = &z.task_definition
            && let Some(r) = t.retries.as_deref()
            && !r.trim_start().starts_with('=')
            && r.trim().parse::<u32>().is_err()
        {
            self.push(
                Code::InvalidRetries,
                id,
                format!("retries {r:?} is not a number or a FEEL expression"),
            );
        }
        if let Some(sc) = &z.script
            && (sc.expression.as_deref().is_none_or(str::is_empty)
                || sc.result_variable.as_deref().is_none_or(str::is_empty))
        {
            self.push(
                Code::InvalidScript,
                id,
                "zeebe:script needs an expression and a resultVariable".into(),
            );
        }
        self.mappings(n);
        if let Some(a) = n.activity() {
            match a.loop_characteristics.as_deref() {
                Some(LoopCharacteristics::MultiInstance(mi)) => {
                    let ok = mi
                        .base
                        .zeebe()
                        .loop_characteristics
                        .as_ref()
                        .and_then(|l| l.input_collection.as_deref())
                        .is_some_and(|c| !c.trim().is_empty());
                    if !ok {
                        self.push(Code::MissingInputCollection, id, "multi-instance needs zeebe:loopCharacteristics with an inputCollection".into());
                    }
                }
                Some(LoopCharacteristics::Standard(_)) => {
                    self.push(
                        Code::UnsupportedElement,
                        id,
                        "Zeebe does not execute standard loops; use multi-instance".into(),
                    );
                }
                None => {}
            }
            if matches!(n.kind, FlowNodeKind::ReceiveTask(_)) {
                self.message(n, a.message_ref.as_ref(), true);
            }
        }
    }
}
