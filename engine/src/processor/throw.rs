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
use zeebe::record::{ElementType, EscalationValue, Intent, RecordValue};

use super::{Ctx, variables};
use crate::{
    model,
    state::{ApplyError, DeployedProcess},
};

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
    /// Finds the catching event for a throw from `thrower` (see the module docs);
    /// `None` when nothing catches it.
    fn find_catch(
        &self,
        thrower: i64,
        code: &str,
        kind: Kind,
    ) -> Result<Option<Catch>, ApplyError> {
        let mut current = thrower;
        let mut came_from: Option<&ElementType> = None;
        loop {
            let element = self.state.element(current)?;
            let process = self.definition(element.process_definition_key)?;
            let Some(model_process) = process.process() else {
                return Err(ApplyError::Inconsistent(format!(
                    "process definition {} lacks its process",
                    process.key
                )));
            };
            let is_process = element.flow_scope_key.is_none();
            let is_scope = is_process
                || matches!(
                    element.element_type,
                    ElementType::SubProcess | ElementType::EventSubProcess
                );
            // A throw inside an event sub-process is not caught by its siblings.
            let from_event_sub_process = came_from == Some(&ElementType::EventSubProcess);
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
                    return Ok(Some(Catch::EventSubProcess {
                        scope: current,
                        esp,
                        start,
                    }));
                }
            }
            let is_inner = self.body_of(current)?.is_some();
            if !is_process && !is_inner {
                let boundaries = process
                    .model
                    .boundary_events(&element.element_id)
                    .iter()
                    .filter_map(|b| Some((b.clone(), process.node(b)?)));
                if let Some(boundary) = best(&process, boundaries, code, kind) {
                    return Ok(Some(Catch::Boundary {
                        attached: current,
                        boundary,
                    }));
                }
            }
            came_from = Some(&element.element_type);
            // Outwards: the flow scope, or from a called process to its call activity.
            match element
                .flow_scope_key
                .or(element.parent_element_instance_key)
            {
                Some(next) => current = next,
                None => return Ok(None),
            }
        }
    }

    /// Throws the BPMN error `code` from `thrower`; returns whether it was caught (then
    /// the catching event runs with `variables`).
    pub(crate) fn throw_error(
        &mut self,
        thrower: i64,
        code: &str,
        variables: &Map<String, Value>,
    ) -> Result<bool, ApplyError> {
        let Some(catch) = self.find_catch(thrower, code, Kind::Error)? else {
            return Ok(false);
        };
        self.catch(catch, true, variables)?;
        Ok(true)
    }

    /// Throws the escalation `code` from the event instance `thrower`, writing
    /// `ESCALATION ESCALATED` or `NOT_ESCALATED`.
    pub(crate) fn throw_escalation(&mut self, thrower: i64, code: &str) -> Result<(), ApplyError> {
        let element = self.state.element(thrower)?;
        let mut value = EscalationValue {
            process_instance_key: element.process_instance_key,
            escalation_code: code.to_owned(),
            throw_element_id: element.element_id.clone(),
            catch_element_id: String::new(),
            tenant_id: element.tenant_id.clone(),
            extra: Map::new(),
        };
        let scope = element.required_flow_scope()?;
        let catch = self.find_catch(scope, code, Kind::Escalation)?;
        let key = self.next_key();
        let Some(catch) = catch else {
            self.event(key, Intent::NOT_ESCALATED, RecordValue::Escalation(value));
            return Ok(());
        };
        let (catching, catch_id) = match &catch {
            Catch::Boundary { attached, boundary } => (*attached, boundary.clone()),
            Catch::EventSubProcess { scope, start, .. } => (*scope, start.clone()),
        };
        let process = self.definition(self.state.element(catching)?.process_definition_key)?;
        let interrupting = super::events::is_interrupting(process.required_node(&catch_id)?);
        value.catch_element_id = catch_id;
        self.event(key, Intent::ESCALATED, RecordValue::Escalation(value));
        self.catch(catch, interrupting, &Map::new())
    }

    fn catch(
        &mut self,
        catch: Catch,
        interrupting: bool,
        variables: &Map<String, Value>,
    ) -> Result<(), ApplyError> {
        match catch {
            Catch::Boundary { attached, boundary } => {
                let scope = self.state.element(attached)?.required_flow_scope()?;
                if interrupting {
                    self.terminate_element(attached)?;
                }
                self.activate_triggered(scope, &boundary, variables)?;
            }
            Catch::EventSubProcess { scope, esp, start } => {
                if interrupting {
                    let children: Vec<i64> = self
                        .state
                        .element(scope)?
                        .children
                        .iter()
                        .copied()
                        .collect();
                    for child in children {
                        self.terminate_element(child)?;
                    }
                }
                self.activate_event_sub_process(scope, &esp, &start, variables)?;
            }
        }
        Ok(())
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
