//! Call activities: start the latest version of the process named by
//! `zeebe:calledElement processId` as a child instance, wait for it, and complete with
//! its variables.
//!
//! * The child instance gets, as its variables, every variable visible from the call
//!   activity (`propagateAllParentVariables`, the default), or only the call
//!   activity's input mappings. Its records carry `parentProcessInstanceKey` and
//!   `parentElementInstanceKey`.
//! * When the child completes, its variables go to the call activity's output mappings
//!   when it has some; otherwise all of them are merged into the calling scopes
//!   (`propagateAllChildVariables`, the default), or none.
//! * Terminating the call activity (cancelling the parent, an interrupting boundary
//!   event) terminates the child. Errors and escalations thrown in the child and not
//!   caught there continue at the call activity.
//! * A process id that is not deployed (in the caller's tenant) raises a
//!   `CALLED_ELEMENT_ERROR` incident; resolving it after deploying retries.

use bpmn::FlowNode;
use serde_json::{Map, Value};
use zeebe::record::IncidentErrorType;

use super::{Ctx, element::Step, events::Prepared, variables};
use crate::state::{ApplyError, DeployedProcess, Lifecycle};

impl Ctx<'_> {
    /// The activating phase of a call activity (input mappings already applied).
    pub(crate) fn activate_call_activity(
        &mut self,
        key: i64,
        process: &DeployedProcess,
        node: &FlowNode,
        subs: Vec<Prepared>,
    ) -> Result<(), ApplyError> {
        let called = node.zeebe().called_element.clone().unwrap_or_default();
        let vars = self.state.visible_variables(key);
        let id = match called
            .process_id
            .as_deref()
            .map(|attr| variables::eval_attribute(self.now, attr, &vars))
        {
            Some(Ok(Value::String(id))) if !id.is_empty() => id,
            Some(Ok(other)) => {
                let message = format!(
                    "Expected the called process id of '{}' to be a non-empty string, but was '{other}'",
                    node.id.as_str()
                );
                self.raise_incident(key, IncidentErrorType::ExtractValueError, message, None);
                return Ok(());
            }
            Some(Err(message)) => {
                self.raise_incident(key, IncidentErrorType::ExtractValueError, message, None);
                return Ok(());
            }
            None => {
                let message = format!(
                    "the call activity '{}' has no zeebe:calledElement processId",
                    node.id.as_str()
                );
                self.raise_incident(key, IncidentErrorType::CalledElementError, message, None);
                return Ok(());
            }
        };
        let element = self.state.element(key)?;
        let tenant = element.tenant_id.clone();
        let process_instance = element.process_instance_key;
        let Some(child) = self.state.process_by_id(&tenant, &id, None).cloned() else {
            let message = format!(
                "Expected process with BPMN process id '{id}' to be deployed, but not found."
            );
            self.raise_incident(key, IncidentErrorType::CalledElementError, message, None);
            return Ok(());
        };
        if child.model.none_start(None).is_none() {
            let message = format!(
                "Expected process with BPMN process id '{id}' to have a none start event, but not found."
            );
            self.raise_incident(key, IncidentErrorType::CalledElementError, message, None);
            return Ok(());
        }
        let child_variables = if called.propagate_all_parent_variables.unwrap_or(true) {
            vars
        } else {
            self.local_variables(key)
        };
        self.element_transition(key, Lifecycle::Activated)?;
        self.open_subscriptions(key, process, subs)?;
        self.start_process(
            &child,
            None,
            &child_variables,
            Some((process_instance, key)),
        )?;
        Ok(())
    }

    /// The variables set directly on a scope.
    pub(crate) fn local_variables(&self, key: i64) -> Map<String, Value> {
        self.state
            .variables
            .get(&key)
            .map(|vars| {
                vars.iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The process a call activity started completed with `variables`.
    pub(crate) fn child_completed(
        &mut self,
        call: i64,
        variables: &Map<String, Value>,
    ) -> Result<(), ApplyError> {
        let element = self.state.element(call)?;
        if element.lifecycle != Lifecycle::Activated {
            return Ok(());
        }
        let process = self.definition(element.process_definition_key)?;
        let node = process.required_node(&element.element_id)?;
        if variables::has_outputs(node) {
            self.set_local_variables(call, variables)?;
        } else if node
            .zeebe()
            .called_element
            .as_ref()
            .and_then(|c| c.propagate_all_child_variables)
            .unwrap_or(true)
        {
            self.propagate_variables(call, variables)?;
        }
        self.queue.push_back(Step::Complete(call));
        Ok(())
    }
}
