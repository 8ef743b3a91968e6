//! Process instance modification: activate elements and terminate element instances of
//! a running process instance, to repair it.
//!
//! Every instruction is checked before anything is written; one invalid instruction
//! rejects the whole command. Then, as in Zeebe:
//!
//! 1. Activations: an element is activated in the active instance of its enclosing
//!    sub-process (created first, without its start event or input mappings, when none
//!    is active), or below the ancestor instance the caller chose, where new instances
//!    of the scopes in between are created. Variable instructions set their variables
//!    locally on the named flow scope of the element (the process instance when none is
//!    named) before the element activates. Activating an event sub-process enters its
//!    start event without interrupting anything.
//! 2. Terminations: the element instance and everything inside it; a scope left without
//!    active instances is terminated as well, up to the process instance.
//!
//! Refused, with a reason: start events of the process or of sub-processes, boundary
//! events, events after an event-based gateway, elements inside a multi-instance
//! activity, a scope with several active instances and no ancestor chosen, terminating
//! the last active instance of a called process, instances that are not active.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeebe::record::{
    Intent, ModificationActivateInstruction, ModificationTerminateInstruction,
    ModificationVariableInstruction, ProcessInstanceModificationValue, RecordValue,
};

use super::{Ctx, Rejection, Response};
use crate::{
    model,
    state::{ApplyError, DeployedProcess, Lifecycle},
};

fn minus_one() -> i64 {
    -1
}

/// Activate an element of the process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateInstruction {
    /// BPMN id of the element to activate.
    pub element_id: String,
    /// The instance of an enclosing scope to activate the element under; -1 (or 0) to
    /// use the active instance of its flow scope.
    #[serde(default = "minus_one")]
    pub ancestor_element_instance_key: i64,
    /// Variables to set before the element activates.
    #[serde(default)]
    pub variables: Vec<VariableInstruction>,
}

/// Variables for one scope of an activation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableInstruction {
    /// BPMN id of a flow scope of the element; empty for the process instance.
    #[serde(default)]
    pub scope_id: String,
    /// The variables.
    pub variables: Map<String, Value>,
}

/// An activation, resolved against the state.
struct Plan {
    element_id: String,
    /// Where to start: an existing scope instance.
    parent: i64,
    /// Flow scopes to create below `parent`, outermost first.
    create: Vec<String>,
    /// Scope instances already chosen (existing), outermost first, with their ids.
    existing: Vec<(String, i64)>,
    variables: Vec<VariableInstruction>,
}

fn invalid(process: &str, why: impl std::fmt::Display) -> Rejection {
    Rejection::invalid_argument(format!(
        "Expected to modify instance of process '{process}' but {why}"
    ))
}

/// Why `element_id` cannot be activated by a modification, if it cannot.
fn activation_refused(process: &DeployedProcess, element_id: &str) -> Option<String> {
    let node = process.node(element_id)?;
    let start_of_scope = matches!(node.kind, bpmn::FlowNodeKind::StartEvent(_))
        && process
            .model
            .scope_of(element_id)
            .and_then(|s| process.node(s))
            .is_none_or(|scope| !model::is_event_sub_process(scope));
    if start_of_scope {
        return Some(format!(
            "it contains an activate instruction for the start event '{element_id}'; the activation of start events is not supported"
        ));
    }
    if matches!(node.kind, bpmn::FlowNodeKind::BoundaryEvent(_)) {
        return Some(format!(
            "it contains an activate instruction for the boundary event '{element_id}'; the activation of boundary events is not supported"
        ));
    }
    let after_event_gateway = process.model.incoming(element_id).iter().any(|f| {
        process
            .flow(f)
            .and_then(|f| process.node(f.source_ref.as_str()))
            .is_some_and(|n| matches!(n.kind, bpmn::FlowNodeKind::EventBasedGateway(_)))
    });
    if after_event_gateway {
        return Some(format!(
            "it contains an activate instruction for '{element_id}', which belongs to an event-based gateway; this is not supported"
        ));
    }
    if process
        .model
        .scope_chain(element_id)
        .iter()
        .filter_map(|s| process.node(s))
        .any(model::is_multi_instance)
    {
        return Some(format!(
            "it contains an activate instruction for '{element_id}', which is inside a multi-instance element; this is not supported"
        ));
    }
    None
}

impl Ctx<'_> {
    /// The active instances of the scope element `scope_id` directly inside `parent`.
    fn scope_instances(&self, parent: i64, scope_id: &str) -> Vec<i64> {
        self.state
            .elements
            .get(&parent)
            .map(|p| {
                p.children
                    .iter()
                    .filter(|c| {
                        self.state.elements.get(c).is_some_and(|e| {
                            e.element_id == scope_id && e.lifecycle == Lifecycle::Activated
                        })
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn plan_activation(
        &self,
        root: i64,
        process: &DeployedProcess,
        instruction: &ActivateInstruction,
    ) -> Result<Plan, Rejection> {
        let pid = process.bpmn_process_id.as_str();
        let id = instruction.element_id.as_str();
        if !process.model.contains(id) {
            return Err(invalid(
                pid,
                format!(
                    "it contains an activate instruction with an element that could not be found: '{id}'"
                ),
            ));
        }
        if let Some(why) = activation_refused(process, id) {
            return Err(invalid(pid, why));
        }
        let mut chain: Vec<String> = process
            .model
            .scope_chain(id)
            .into_iter()
            .map(str::to_owned)
            .collect();
        chain.reverse();
        for scope in &instruction.variables {
            if !scope.scope_id.is_empty() && !chain.contains(&scope.scope_id) {
                return Err(invalid(
                    pid,
                    format!(
                        "it contains a variable instruction for '{}', which is not a flow scope of '{id}'",
                        scope.scope_id
                    ),
                ));
            }
        }
        let mut parent = root;
        let mut existing = Vec::new();
        let mut rest: &[String] = &chain;
        let ancestor = instruction.ancestor_element_instance_key;
        if ancestor > 0 {
            let chosen = self
                .state
                .elements
                .get(&ancestor)
                .filter(|e| e.process_instance_key == root && e.lifecycle == Lifecycle::Activated)
                .ok_or_else(|| {
                    invalid(
                        pid,
                        format!(
                            "the ancestor element instance '{ancestor}' of '{id}' is not an active element instance of it"
                        ),
                    )
                })?;
            if ancestor != root {
                let position = chain
                    .iter()
                    .position(|s| *s == chosen.element_id)
                    .ok_or_else(|| {
                        invalid(
                            pid,
                            format!(
                                "the ancestor element instance '{ancestor}' ('{}') is not a flow scope of '{id}'",
                                chosen.element_id
                            ),
                        )
                    })?;
                let mut next = Some(ancestor);
                while let Some(key) = next
                    && key != root
                    && let Some(e) = self.state.elements.get(&key)
                {
                    existing.push((e.element_id.clone(), key));
                    next = e.flow_scope_key;
                }
                existing.reverse();
                parent = ancestor;
                rest = &chain[position + 1..];
            }
            return Ok(Plan {
                element_id: id.to_owned(),
                parent,
                create: rest.to_vec(),
                existing,
                variables: instruction.variables.clone(),
            });
        }
        while let Some((scope, tail)) = rest.split_first() {
            match self.scope_instances(parent, scope).as_slice() {
                [] => break,
                [only] => {
                    existing.push((scope.clone(), *only));
                    parent = *only;
                    rest = tail;
                }
                _ => {
                    return Err(invalid(
                        pid,
                        format!(
                            "the flow scope '{scope}' of '{id}' has more than one active instance; choose one with an ancestor element instance key"
                        ),
                    ));
                }
            }
        }
        Ok(Plan {
            element_id: id.to_owned(),
            parent,
            create: rest.to_vec(),
            existing,
            variables: instruction.variables.clone(),
        })
    }

    /// Creates an instance of a scope element for a modification: activated, with its
    /// subscriptions, but without entering its start event or applying input mappings.
    fn create_scope(
        &mut self,
        parent: i64,
        scope_id: &str,
        process: &DeployedProcess,
    ) -> Result<i64, ApplyError> {
        let node = process.required_node(scope_id)?;
        let (_, element_type, event_type) =
            super::behavior::behavior_of(node).map_err(ApplyError::Inconsistent)?;
        let key = self.new_element(parent, scope_id, &element_type, &event_type)?;
        let mut subs = self
            .prepare_scope_starts(key, process, Some(scope_id))
            .unwrap_or_default();
        if !model::is_event_sub_process(node) {
            subs.extend(
                self.prepare_boundaries(key, process, scope_id)
                    .unwrap_or_default(),
            );
        }
        self.element_transition(key, Lifecycle::Activated)?;
        self.open_subscriptions(key, process, subs)?;
        Ok(key)
    }

    /// Terminates an element instance for a modification, then every scope it leaves
    /// empty.
    fn terminate_for_modification(&mut self, key: i64) -> Result<(), ApplyError> {
        // Checked before anything was written, but terminating an instance named
        // earlier in the same command may have terminated this one with it.
        let Some(element) = self.state.element_if_present(key) else {
            return Ok(());
        };
        let mut scope = element.flow_scope_key;
        self.terminate_element(key)?;
        while let Some(scope_key) = scope {
            let e = self.state.element(scope_key)?;
            if e.lifecycle != Lifecycle::Activated || !e.children.is_empty() {
                break;
            }
            let next = e.flow_scope_key;
            self.terminate_element(scope_key)?;
            scope = next;
        }
        Ok(())
    }

    /// Carries out the checked plans and terminations of a modification, writing into
    /// `value` what was done.
    fn modify_checked(
        &mut self,
        process: &DeployedProcess,
        process_instance_key: i64,
        activate: &[ActivateInstruction],
        plans: Vec<Plan>,
        terminate: &[i64],
        value: &mut ProcessInstanceModificationValue,
    ) -> Result<(), ApplyError> {
        let mut all_ancestors = Vec::new();
        for plan in plans {
            let mut scopes: Vec<(String, i64)> = plan.existing.clone();
            let mut parent = plan.parent;
            for scope_id in &plan.create {
                let created = self.create_scope(parent, scope_id, process)?;
                scopes.push((scope_id.clone(), created));
                parent = created;
            }
            for instruction in &plan.variables {
                let target = if instruction.scope_id.is_empty() {
                    process_instance_key
                } else {
                    scopes
                        .iter()
                        .find(|(id, _)| *id == instruction.scope_id)
                        .map_or(process_instance_key, |(_, k)| *k)
                };
                self.set_local_variables(target, &instruction.variables)?;
            }
            let node_is_esp = process
                .node(&plan.element_id)
                .is_some_and(model::is_event_sub_process);
            if node_is_esp {
                if let Some(start) = process
                    .process()
                    .and_then(|p| process.model.start_of(p, &plan.element_id))
                {
                    let start = start.id.as_str().to_owned();
                    self.activate_event_sub_process(parent, &plan.element_id, &start, &Map::new())?;
                }
            } else {
                self.activate_element(parent, &plan.element_id)?;
            }
            let mut ancestors = vec![process_instance_key];
            ancestors.extend(scopes.iter().map(|(_, k)| *k).filter(|k| *k > 0));
            all_ancestors.extend(ancestors.iter().copied());
            value
                .activate_instructions
                .push(ModificationActivateInstruction {
                    element_id: plan.element_id.clone(),
                    ancestor_scope_key: activate
                        .iter()
                        .find(|a| a.element_id == plan.element_id)
                        .map_or(-1, |a| a.ancestor_element_instance_key),
                    variable_instructions: plan
                        .variables
                        .iter()
                        .map(|v| ModificationVariableInstruction {
                            element_id: v.scope_id.clone(),
                            variables: v.variables.clone(),
                            extra: Map::new(),
                        })
                        .collect(),
                    ancestor_scope_keys: ancestors,
                    extra: Map::new(),
                });
        }
        for key in terminate {
            self.terminate_for_modification(*key)?;
            value
                .terminate_instructions
                .push(ModificationTerminateInstruction {
                    element_instance_key: *key,
                    extra: Map::new(),
                });
        }
        all_ancestors.sort_unstable();
        all_ancestors.dedup();
        value.ancestor_scope_keys = all_ancestors;
        Ok(())
    }
}

pub(crate) fn modify(
    ctx: &mut Ctx<'_>,
    process_instance_key: i64,
    activate: &[ActivateInstruction],
    terminate: &[i64],
) -> Result<Response, Rejection> {
    let Some(root) = ctx
        .state
        .elements
        .get(&process_instance_key)
        .filter(|e| e.flow_scope_key.is_none() && ctx.tenants.allows(&e.tenant_id))
        .cloned()
    else {
        return Err(Rejection::not_found(format!(
            "Expected to modify a process instance with key '{process_instance_key}', but no such process was found"
        )));
    };
    let process = match ctx.definition(root.process_definition_key) {
        Ok(process) => process,
        Err(error) => {
            error.report("modifying a process instance");
            return Err(Rejection::not_found(format!(
                "Expected to modify a process instance with key '{process_instance_key}', but its process definition was not found"
            )));
        }
    };
    let pid = process.bpmn_process_id.clone();
    if activate.is_empty() && terminate.is_empty() {
        return Err(invalid(
            &pid,
            "it contains no activate or terminate instructions",
        ));
    }
    let plans = activate
        .iter()
        .map(|a| ctx.plan_activation(process_instance_key, &process, a))
        .collect::<Result<Vec<_>, _>>()?;
    for key in terminate {
        let active = ctx.state.elements.get(key).is_some_and(|e| {
            e.process_instance_key == process_instance_key
                && *key != process_instance_key
                && e.lifecycle != Lifecycle::Terminating
        });
        if !active {
            return Err(invalid(
                &pid,
                format!(
                    "it contains a terminate instruction with an element instance that could not be found or is not active: '{key}'"
                ),
            ));
        }
    }
    if root.parent_element_instance_key.is_some()
        && activate.is_empty()
        && !root.children.is_empty()
        && root.children.iter().all(|c| terminate.contains(c))
    {
        return Err(invalid(
            &pid,
            "it would terminate the last active element instances of a called process instance; terminate the call activity in the calling process instead",
        ));
    }

    let mut value = ProcessInstanceModificationValue {
        process_instance_key,
        tenant_id: root.tenant_id,
        ..ProcessInstanceModificationValue::default()
    };
    let outcome = ctx.modify_checked(
        &process,
        process_instance_key,
        activate,
        plans,
        terminate,
        &mut value,
    );
    ctx.or_broken(Some(process_instance_key), outcome);
    ctx.event(
        process_instance_key,
        Intent::MODIFIED,
        RecordValue::ProcessInstanceModification(value),
    );
    ctx.run_steps();
    Ok(Response::Accepted)
}
