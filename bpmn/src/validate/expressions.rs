//! FEEL expressions in the model: where they are, and the syntax rule (`BPMN119`)
//! that runs them through the caller's [`FeelCheck`].

use super::{Code, FeelCheck, Validator};
use crate::model::*;
use crate::walk::scopes;

/// A FEEL expression found in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeelSite<'a> {
    /// Element carrying the expression.
    pub element_id: &'a str,
    /// Which attribute or element holds it (`conditionExpression`, `zeebe:input source`, …).
    pub field: &'static str,
    /// The expression without its leading `=`.
    pub expression: &'a str,
}

/// Every FEEL expression (values starting with `=`) in the model, in model order.
pub fn feel_expressions<'d>(defs: &'d Definitions) -> Vec<FeelSite<'d>> {
    let mut out = Vec::new();
    let mut push = |id: &'d Id, field: &'static str, v: Option<&'d str>| {
        if let Some(e) = v.and_then(|v| v.trim_start().strip_prefix('=')) {
            out.push(FeelSite {
                element_id: id.as_str(),
                field,
                expression: e,
            });
        }
    };
    for m in defs.messages() {
        push(&m.id, "name", m.name.as_deref());
        if let Some(s) = &m.base.zeebe().subscription {
            push(
                &m.id,
                "zeebe:subscription correlationKey",
                s.correlation_key.as_deref(),
            );
        }
    }
    for s in scopes(defs) {
        for f in s.container.sequence_flows() {
            push(
                &f.id,
                "conditionExpression",
                f.condition.as_ref().map(|c| c.body.as_str()),
            );
        }
        for n in s.container.flow_nodes() {
            let z = n.zeebe();
            if let Some(t) = &z.task_definition {
                push(&n.id, "zeebe:taskDefinition type", t.job_type.as_deref());
                push(&n.id, "zeebe:taskDefinition retries", t.retries.as_deref());
            }
            if let Some(io) = &z.io_mapping {
                for m in &io.inputs {
                    push(&n.id, "zeebe:input source", m.source.as_deref());
                }
                for m in &io.outputs {
                    push(&n.id, "zeebe:output source", m.source.as_deref());
                }
            }
            if let Some(c) = &z.called_element {
                push(
                    &n.id,
                    "zeebe:calledElement processId",
                    c.process_id.as_deref(),
                );
            }
            if let Some(sc) = &z.script {
                push(&n.id, "zeebe:script expression", sc.expression.as_deref());
            }
            if let Some(a) = &z.assignment_definition {
                push(
                    &n.id,
                    "zeebe:assignmentDefinition assignee",
                    a.assignee.as_deref(),
                );
                push(
                    &n.id,
                    "zeebe:assignmentDefinition candidateGroups",
                    a.candidate_groups.as_deref(),
                );
                push(
                    &n.id,
                    "zeebe:assignmentDefinition candidateUsers",
                    a.candidate_users.as_deref(),
                );
            }
            if let Some(a) = n.activity() {
                if let Some(LoopCharacteristics::MultiInstance(mi)) =
                    a.loop_characteristics.as_deref()
                {
                    if let Some(l) = &mi.base.zeebe().loop_characteristics {
                        push(
                            &n.id,
                            "zeebe:loopCharacteristics inputCollection",
                            l.input_collection.as_deref(),
                        );
                        push(
                            &n.id,
                            "zeebe:loopCharacteristics outputElement",
                            l.output_element.as_deref(),
                        );
                    }
                    push(
                        &n.id,
                        "completionCondition",
                        mi.completion_condition.as_ref().map(|c| c.body.as_str()),
                    );
                }
                push(
                    &n.id,
                    "completionCondition",
                    a.completion_condition.as_ref().map(|c| c.body.as_str()),
                );
            }
            if let Some(e) = n.event() {
                for d in &e.definitions {
                    if let EventDefinitionKind::Timer(t) = &d.kind {
                        for x in [&t.time_date, &t.time_duration, &t.time_cycle]
                            .into_iter()
                            .flatten()
                        {
                            push(&n.id, "timer", Some(x.body.as_str()));
                        }
                    }
                }
            }
        }
    }
    out
}

impl Validator<'_> {
    pub(super) fn feel_syntax(&mut self, feel: &dyn FeelCheck) {
        for site in feel_expressions(self.defs) {
            if let Err(msg) = feel.check(site.expression) {
                self.push(
                    Code::FeelSyntax,
                    Some(site.element_id),
                    format!("{}: {msg}", site.field),
                );
            }
        }
    }
}
