//! Gateway decisions: which flows an exclusive or inclusive gateway takes, when a
//! joining gateway may fire, and where a link throw event continues.
//!
//! A parallel join fires when every incoming flow has a token. An inclusive join fires
//! when every incoming flow has a token or can no longer get one: no token of the scope
//! (an active element, or a token waiting at another join) can reach the flow without
//! passing through the join itself. Because tokens can also vanish (an end event, a
//! terminated element), waiting inclusive joins are checked again whenever a token of
//! their scope goes away.

use std::collections::{BTreeSet, HashSet, VecDeque};

use bpmn::{EventDefinitionKind, FlowNode, FlowNodeKind};
use serde_json::{Map, Value};

use super::{Ctx, variables};
use crate::state::{ApplyError, DeployedProcess, Lifecycle};

/// Evaluates the condition of a flow; `Ok(None)` when it has none.
fn condition_holds(
    now: i64,
    flow: &bpmn::SequenceFlow,
    vars: &Map<String, Value>,
) -> Result<Option<bool>, String> {
    let Some(condition) = &flow.condition else {
        return Ok(None);
    };
    let src = condition.feel().unwrap_or(&condition.body);
    match variables::eval(now, src, vars)? {
        Value::Bool(b) => Ok(Some(b)),
        other => Err(format!(
            "expected the condition '{src}' of '{}' to be a boolean, but was '{other}'",
            flow.id.as_str()
        )),
    }
}

fn outgoing_flows<'a>(
    process: &'a DeployedProcess,
    node: &FlowNode,
) -> Vec<&'a bpmn::SequenceFlow> {
    process
        .model
        .outgoing(node.id.as_str())
        .iter()
        .filter_map(|f| process.flow(f))
        .collect()
}

/// The outgoing flow an exclusive gateway takes: the first whose condition is true, else
/// the default flow.
pub(crate) fn choose_exclusive(
    now: i64,
    process: &DeployedProcess,
    node: &FlowNode,
    vars: &Map<String, Value>,
) -> Result<Option<String>, String> {
    let outgoing = outgoing_flows(process, node);
    if outgoing.is_empty() {
        return Ok(None);
    }
    let default = node.default_flow();
    if outgoing.len() == 1 && outgoing[0].condition.is_none() {
        return Ok(Some(outgoing[0].id.as_str().to_owned()));
    }
    for flow in &outgoing {
        if default.is_some_and(|d| d == &flow.id) {
            continue;
        }
        if condition_holds(now, flow, vars)? == Some(true) {
            return Ok(Some(flow.id.as_str().to_owned()));
        }
    }
    match default {
        Some(flow) => Ok(Some(flow.as_str().to_owned())),
        None => Err(format!(
            "expected at least one condition of '{}' to evaluate to true, or to have a default flow",
            node.id.as_str()
        )),
    }
}

/// The outgoing flows an inclusive gateway takes: every flow whose condition is true
/// (a flow without condition always), else the default flow.
pub(crate) fn choose_inclusive(
    now: i64,
    process: &DeployedProcess,
    node: &FlowNode,
    vars: &Map<String, Value>,
) -> Result<Vec<String>, String> {
    let outgoing = outgoing_flows(process, node);
    if outgoing.is_empty() {
        return Ok(Vec::new());
    }
    let default = node.default_flow();
    let mut taken = Vec::new();
    for flow in &outgoing {
        if default.is_some_and(|d| d == &flow.id) {
            continue;
        }
        if condition_holds(now, flow, vars)?.unwrap_or(true) {
            taken.push(flow.id.as_str().to_owned());
        }
    }
    if taken.is_empty() {
        match default {
            Some(flow) => taken.push(flow.as_str().to_owned()),
            None => {
                return Err(format!(
                    "expected at least one condition of '{}' to evaluate to true, or to have a default flow",
                    node.id.as_str()
                ));
            }
        }
    }
    Ok(taken)
}

/// The link catch event a link throw event jumps to: same name, same scope.
pub(crate) fn link_target(process: &DeployedProcess, throw: &FlowNode) -> Option<String> {
    let name = match crate::model::event_definition(throw)? {
        EventDefinitionKind::Link { name } => name.clone()?,
        _ => return None,
    };
    let scope = process.model.scope_of(throw.id.as_str());
    process
        .model
        .node_ids()
        .filter(|id| process.model.scope_of(id) == scope)
        .filter_map(|id| process.node(id))
        .find(|n| {
            matches!(n.kind, FlowNodeKind::IntermediateCatchEvent(_))
                && matches!(
                    crate::model::event_definition(n),
                    Some(EventDefinitionKind::Link { name: Some(other) }) if *other == name
                )
        })
        .map(|n| n.id.as_str().to_owned())
}

/// Nodes from which `targets` can be reached without passing through `gateway`
/// (boundary events continue their activity's path).
fn upstream_of(process: &DeployedProcess, gateway: &str, targets: &[&str]) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<String> = targets
        .iter()
        .filter(|t| **t != gateway)
        .map(|t| (*t).to_owned())
        .collect();
    while let Some(node_id) = queue.pop_front() {
        if !seen.insert(node_id.clone()) {
            continue;
        }
        let mut predecessors: Vec<String> = process
            .model
            .incoming(&node_id)
            .iter()
            .filter_map(|f| process.flow(f))
            .map(|f| f.source_ref.as_str().to_owned())
            .collect();
        if let Some(FlowNodeKind::BoundaryEvent(e)) = process.node(&node_id).map(|n| &n.kind)
            && let Some(attached) = &e.attached_to_ref
        {
            predecessors.push(attached.as_str().to_owned());
        }
        for p in predecessors {
            if p != gateway && !seen.contains(&p) {
                queue.push_back(p);
            }
        }
    }
    seen
}

impl Ctx<'_> {
    /// Whether the joining gateway `gateway` in `scope_key` may fire now.
    pub(crate) fn join_ready(
        &self,
        process: &DeployedProcess,
        scope_key: i64,
        gateway: &FlowNode,
    ) -> Result<bool, ApplyError> {
        let scope = self.state.element(scope_key)?;
        let id = gateway.id.as_str();
        let incoming = process.model.incoming(id);
        let has_token = |flow: &String| scope.join_tokens.get(flow).is_some_and(|&n| n > 0);
        if !matches!(gateway.kind, FlowNodeKind::InclusiveGateway(_)) {
            return Ok(incoming.iter().all(has_token));
        }
        let (with, without): (Vec<&String>, Vec<&String>) =
            incoming.iter().partition(|f| has_token(f));
        if with.is_empty() {
            return Ok(false);
        }
        if without.is_empty() {
            return Ok(true);
        }
        let sources: Vec<&str> = without
            .iter()
            .filter_map(|f| process.flow(f))
            .map(|f| f.source_ref.as_str())
            .collect();
        let upstream = upstream_of(process, id, &sources);
        let active_upstream = scope.children.iter().any(|child| {
            self.state
                .elements
                .get(child)
                .is_some_and(|c| upstream.contains(&c.element_id))
        });
        let waiting_upstream = scope.join_tokens.iter().any(|(flow, n)| {
            *n > 0
                && process
                    .flow(flow)
                    .map(|f| f.target_ref.as_str())
                    .is_some_and(|target| target != id && upstream.contains(target))
        });
        Ok(!active_upstream && !waiting_upstream)
    }

    /// Fires the inclusive joins of `scope` that have become ready.
    pub(crate) fn check_joins(&mut self, scope_key: i64) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have ended the scope.
        let Some(scope) = self.state.element_if_present(scope_key) else {
            return Ok(());
        };
        if scope.lifecycle != Lifecycle::Activated {
            return Ok(());
        }
        let process = self.definition(scope.process_definition_key)?;
        let gateways = scope
            .join_tokens
            .keys()
            .map(|flow| Ok(process.required_flow(flow)?.target_ref.as_str().to_owned()))
            .collect::<Result<BTreeSet<String>, ApplyError>>()?;
        for gateway in gateways {
            let node = process.required_node(&gateway)?;
            if matches!(node.kind, FlowNodeKind::InclusiveGateway(_))
                && self.join_ready(&process, scope_key, node)?
            {
                self.activate_element(scope_key, &gateway)?;
            }
        }
        Ok(())
    }
}
