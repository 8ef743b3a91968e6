//! Errors and escalations: finding the event that catches them, and what catching does.
//!
//! The search starts at the throwing element instance and walks outwards: at each
//! scope instance (sub-process, event sub-process, process) the start events of the
//! event sub-processes directly inside it, then the boundary events attached to it; a
//! called process continues at its call activity in the calling process. At each of
//! those places an event whose code equals the thrown code wins over a catch-all one
//! (no error or escalation referenced, or one without a code).
//!
//! * An error is always interrupting: the boundary event's activity (with everything
//!   inside it, the thrower included) or the event sub-process's scope content is
//!   terminated, then the catching event runs with the error's variables. An error
//!   nobody catches raises an `UNHANDLED_ERROR_EVENT` incident on the thrower.
//! * An escalation interrupts or not, as its catching event says; if nothing catches
//!   it, `ESCALATION NOT_ESCALATED` is written and the process goes on. A thrower that
//!   was not terminated by the catch continues (an intermediate throw event takes its
//!   outgoing flow).

use bpmn::{EventDefinitionKind, FlowNode};
use serde_json::{Map, Value};
use zeebe::record::{EscalationValue, Intent, RecordValue};

use super::{Ctx, variables};
use crate::{model, state::DeployedProcess};

/// Which kind of throw is being caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    Escalation,
}

/// Where a thrown error or escalation is caught.
#[derive(Debug, Clone)]
enum Catch {
    /// By a boundary event of the element instance `attached`.
    Boundary { attached: i64, boundary: String },
    /// By the start event of an event sub-process inside the scope instance `scope`.
    EventSubProcess {
        scope: i64,
        esp: String,
        start: String,
    },
}

/// The code a catching event catches: `Some(code)`, or `None` for catch-all; the outer
/// `None` when `node` does not catch this kind at all.
fn catch_code(process: &DeployedProcess, node: &FlowNode, kind: Kind) -> Option<Option<String>> {
    match (model::event_definition(node)?, kind) {
        (EventDefinitionKind::Error { error_ref }, Kind::Error) => Some(
            error_ref
                .as_ref()
                .and_then(|r| process.definitions.error(r.as_str()))
                .and_then(|e| e.error_code.clone())
                .filter(|c| !c.is_empty()),
        ),
        (EventDefinitionKind::Escalation { escalation_ref }, Kind::Escalation) => Some(
            escalation_ref
                .as_ref()
                .and_then(|r| process.definitions.escalation(r.as_str()))
                .and_then(|e| e.escalation_code.clone())
                .filter(|c| !c.is_empty()),
        ),
        _ => None,
    }
}

/// Picks, among `(candidate, node)` pairs, the one whose code is `code`, else a
/// catch-all one.
fn best<'a, T: Clone>(
    process: &DeployedProcess,
    candidates: impl Iterator<Item = (T, &'a FlowNode)>,
    code: &str,
    kind: Kind,
) -> Option<T> {
    let mut catch_all = None;
    for (candidate, node) in candidates {
        match catch_code(process, node, kind) {
            Some(Some(c)) if c == code => return Some(candidate),
            Some(None) if catch_all.is_none() => catch_all = Some(candidate),
            _ => {}
        }
    }
    catch_all
}

impl Ctx<'_> {
    /// Finds the catching event for a throw from `thrower` (see the module docs).
    fn find_catch(&self, thrower: i64, code: &str, kind: Kind) -> Option<Catch> {
        let mut current = thrower;
        let mut came_from: Option<i64> = None;
        loop {
            let element = self.state.elements.get(&current)?;
            let process = self.definition(element.process_definition_key)?;
            let model_process = process.process()?;
            let is_process = element.flow_scope_key == -1;
            let is_scope = is_process
                || matches!(
                    element.element_type.as_str(),
                    "SUB_PROCESS" | "EVENT_SUB_PROCESS"
                );
            // A throw inside an event sub-process is not caught by its siblings.
            let from_event_sub_process = came_from
                .and_then(|k| self.state.elements.get(&k))
                .is_some_and(|e| e.element_type == "EVENT_SUB_PROCESS");
            if is_scope && !from_event_sub_process {
                let scope_id = (!is_process).then_some(element.element_id.as_str());
                let starts = process
                    .model
                    .event_sub_processes(scope_id)
                    .iter()
                    .filter_map(|esp| {
                        let start = process.model.start_of(model_process, esp)?;
                        Some(((esp.clone(), start.id.as_str().to_owned()), start))
                    });
                if let Some((esp, start)) = best(&process, starts, code, kind) {
                    return Some(Catch::EventSubProcess {
                        scope: current,
                        esp,
                        start,
                    });
                }
            }
            let is_inner = self.body_of(current).is_some();
            if !is_process && !is_inner {
                let boundaries = process
                    .model
                    .boundary_events(&element.element_id)
                    .iter()
                    .filter_map(|b| Some((b.clone(), process.node(b)?)));
                if let Some(boundary) = best(&process, boundaries, code, kind) {
                    return Some(Catch::Boundary {
                        attached: current,
                        boundary,
                    });
                }
            }
            came_from = Some(current);
            current = if is_process {
                if element.parent_element_instance_key <= 0 {
                    return None;
                }
                element.parent_element_instance_key
            } else {
                element.flow_scope_key
            };
        }
    }

    /// Throws the BPMN error `code` from `thrower`; returns whether it was caught (then
    /// the catching event runs with `variables`).
    pub(crate) fn throw_error(
        &mut self,
        thrower: i64,
        code: &str,
        variables: &Map<String, Value>,
    ) -> bool {
        let Some(catch) = self.find_catch(thrower, code, Kind::Error) else {
            return false;
        };
        self.catch(catch, true, variables);
        true
    }

    /// Throws the escalation `code` from the event instance `thrower`, writing
    /// `ESCALATION ESCALATED` or `NOT_ESCALATED`.
    pub(crate) fn throw_escalation(&mut self, thrower: i64, code: &str) {
        let Some(element) = self.state.elements.get(&thrower) else {
            return;
        };
        let mut value = EscalationValue {
            process_instance_key: element.process_instance_key,
            escalation_code: code.to_owned(),
            throw_element_id: element.element_id.clone(),
            catch_element_id: String::new(),
            tenant_id: element.tenant_id.clone(),
            extra: Map::new(),
        };
        let scope = element.flow_scope_key;
        let catch = self.find_catch(scope, code, Kind::Escalation);
        let key = self.next_key();
        let Some(catch) = catch else {
            self.event(key, Intent::NOT_ESCALATED, RecordValue::Escalation(value));
            return;
        };
        let (process_key, catch_id) = match &catch {
            Catch::Boundary { attached, boundary } => (*attached, boundary.clone()),
            Catch::EventSubProcess { scope, start, .. } => (*scope, start.clone()),
        };
        let interrupting = self
            .state
            .elements
            .get(&process_key)
            .and_then(|e| self.definition(e.process_definition_key))
            .and_then(|p| p.node(&catch_id).map(super::events::is_interrupting))
            .unwrap_or(true);
        value.catch_element_id = catch_id;
        self.event(key, Intent::ESCALATED, RecordValue::Escalation(value));
        self.catch(catch, interrupting, &Map::new());
    }

    fn catch(&mut self, catch: Catch, interrupting: bool, variables: &Map<String, Value>) {
        match catch {
            Catch::Boundary { attached, boundary } => {
                let Some(scope) = self.state.elements.get(&attached).map(|e| e.flow_scope_key)
                else {
                    return;
                };
                if interrupting {
                    self.terminate_element(attached);
                }
                self.activate_triggered(scope, &boundary, variables);
            }
            Catch::EventSubProcess { scope, esp, start } => {
                if interrupting {
                    let children: Vec<i64> = self
                        .state
                        .elements
                        .get(&scope)
                        .map(|e| e.children.iter().copied().collect())
                        .unwrap_or_default();
                    for child in children {
                        self.terminate_element(child);
                    }
                }
                self.activate_event_sub_process(scope, &esp, &start, variables);
            }
        }
    }

    /// The error code an error end event throws (static, or FEEL in its scope).
    pub(crate) fn error_code_of(
        &self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
    ) -> Result<String, String> {
        self.thrown_code(key, process, node, Kind::Error)
    }

    /// The escalation code an escalation throw event throws.
    pub(crate) fn escalation_code_of(
        &self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
    ) -> Result<String, String> {
        self.thrown_code(key, process, node, Kind::Escalation)
    }

    fn thrown_code(
        &self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
        kind: Kind,
    ) -> Result<String, String> {
        let id = node.id.as_str();
        let what = match kind {
            Kind::Error => "error code",
            Kind::Escalation => "escalation code",
        };
        let Some(Some(attr)) = catch_code(process, node, kind) else {
            return Err(format!("'{id}' throws no {what}"));
        };
        self.code_value(key, &attr, id, what)
    }

    fn code_value(&self, key: i64, attr: &str, id: &str, what: &str) -> Result<String, String> {
        let vars = self.state.visible_variables(key);
        match variables::eval_attribute(self.now, attr, &vars)? {
            Value::String(s) if !s.is_empty() => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!(
                "expected the {what} '{attr}' of '{id}' to be a non-empty string, but was '{other}'"
            )),
        }
    }
}
