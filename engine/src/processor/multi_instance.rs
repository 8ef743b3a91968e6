//! Multi-instance activities: a body (`MULTI_INSTANCE_BODY`) around one instance of the
//! activity per element of the input collection.
//!
//! * Activating the body evaluates `inputCollection` (it must be a list), creates the
//!   `outputCollection` as a local variable of the body (a list of `null`s, one per
//!   element) and opens the boundary events of the activity, which belong to the body.
//!   An empty collection completes the body at once.
//! * Parallel bodies create every instance at once; sequential ones create the next
//!   when the previous completes, evaluating the collection again each time.
//! * Each instance gets the local variables `loopCounter` (from 1) and `inputElement`;
//!   an `outputElement` that only names a variable (`= result`) creates that variable
//!   locally with `null`, so each instance writes its own.
//! * When an instance completes, `outputElement` is evaluated in it and stored at its
//!   index of the output collection; then the completion condition is evaluated with
//!   `numberOfInstances`, `numberOfActiveInstances`, `numberOfCompletedInstances` and
//!   `numberOfTerminatedInstances` (which win over process variables of those names).
//!   When it holds, the remaining instances are terminated and the body completes.
//! * Completing the body propagates the output collection to the enclosing scope and
//!   takes the activity's outgoing flows.

use bpmn::FlowNode;
use serde_json::{Map, Value, json};
use zeebe::record::IncidentErrorType;

use super::{Ctx, element::Step, variables};
use crate::{
    model,
    state::{ApplyError, DeployedProcess, Lifecycle},
};

/// The `zeebe:loopCharacteristics` of a multi-instance activity.
fn characteristics(node: &FlowNode) -> bpmn::model::zeebe::ZeebeLoopCharacteristics {
    model::multi_instance(node)
        .and_then(|mi| mi.base.zeebe().loop_characteristics.clone())
        .unwrap_or_default()
}

fn is_sequential(node: &FlowNode) -> bool {
    model::multi_instance(node).is_some_and(|mi| mi.is_sequential == Some(true))
}

/// The variable an output element expression names, when it only reads a variable (or
/// a property of one): `= result` and `= result.value` name `result`.
fn output_variable(expression: &str) -> Option<&str> {
    let src = feel::expression_of_attribute(expression)?.trim();
    let root = src.split('.').next()?;
    let is_name = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    (src.split('.').all(is_name)).then_some(root)
}

impl Ctx<'_> {
    /// The input collection of the body `body`, evaluated in its scope.
    fn input_collection(&self, body: i64, node: &FlowNode) -> Result<Vec<Value>, String> {
        let expression = characteristics(node).input_collection.ok_or_else(|| {
            format!(
                "the multi-instance activity '{}' has no inputCollection",
                node.id.as_str()
            )
        })?;
        let vars = self.state.visible_variables(body);
        match variables::eval_attribute(self.now, &expression, &vars)? {
            Value::Array(items) => Ok(items),
            other => Err(format!(
                "Expected result of the expression '{expression}' to be 'ARRAY', but was '{}'.",
                json_type(&other)
            )),
        }
    }

    /// The activating phase of a multi-instance body.
    pub(crate) fn activate_body(
        &mut self,
        body: i64,
        process: &DeployedProcess,
        node: &FlowNode,
    ) -> Result<(), ApplyError> {
        let Some(items) = self.or_incident(
            body,
            IncidentErrorType::ExtractValueError,
            self.input_collection(body, node),
        ) else {
            return Ok(());
        };
        let Some(subs) = self.or_incident(
            body,
            IncidentErrorType::ExtractValueError,
            self.prepare_boundaries(body, process, node.id.as_str()),
        ) else {
            return Ok(());
        };
        self.element_transition(body, Lifecycle::Activated)?;
        self.open_subscriptions(body, process, subs)?;
        if let Some(output) = characteristics(node).output_collection {
            self.set_local_variable(body, &output, &Value::Array(vec![Value::Null; items.len()]))?;
        }
        if items.is_empty() {
            self.queue.push_back(Step::Complete(body));
        } else if is_sequential(node) {
            self.create_inner(body, node, 1, &items[0])?;
        } else {
            for (i, item) in items.iter().enumerate() {
                self.create_inner(body, node, i + 1, item)?;
            }
        }
        Ok(())
    }

    fn create_inner(
        &mut self,
        body: i64,
        node: &FlowNode,
        loop_counter: usize,
        item: &Value,
    ) -> Result<(), ApplyError> {
        let inner = self.activate_element(body, node.id.as_str())?;
        let characteristics = characteristics(node);
        if let Some(name) = characteristics.input_element.filter(|n| !n.is_empty()) {
            self.set_local_variable(inner, &name, item)?;
        }
        self.set_local_variable(inner, "loopCounter", &json!(loop_counter))?;
        if let Some(name) = characteristics
            .output_element
            .as_deref()
            .and_then(output_variable)
        {
            self.set_local_variable(inner, name, &Value::Null)?;
        }
        Ok(())
    }

    /// An instance is completing: collect its output and decide whether the body is
    /// done (its completion condition holds). The inner result is a FEEL failure, which
    /// raises an incident.
    pub(crate) fn inner_completing(
        &mut self,
        inner: i64,
        body: i64,
        node: &FlowNode,
    ) -> Result<Result<bool, String>, ApplyError> {
        let characteristics = characteristics(node);
        let vars = self.state.visible_variables(inner);
        let loop_counter = vars.get("loopCounter").and_then(Value::as_u64).unwrap_or(0);
        if let (Some(collection), Some(element)) = (
            characteristics.output_collection.as_deref(),
            characteristics.output_element.as_deref(),
        ) {
            let value = match variables::eval_attribute(self.now, element, &vars) {
                Ok(value) => value,
                Err(message) => return Ok(Err(message)),
            };
            let mut current = self
                .state
                .variables
                .get(&body)
                .and_then(|v| v.get(collection))
                .map(|v| v.value.clone())
                .unwrap_or(Value::Array(Vec::new()));
            if let Value::Array(items) = &mut current {
                let index = usize::try_from(loop_counter.saturating_sub(1)).unwrap_or(0);
                if items.len() <= index {
                    items.resize(index + 1, Value::Null);
                }
                items[index] = value;
            }
            self.set_local_variable(body, collection, &current)?;
        }
        let Some(condition) =
            model::multi_instance(node).and_then(|mi| mi.completion_condition.as_ref())
        else {
            return Ok(Ok(false));
        };
        let src = condition.feel().unwrap_or(&condition.body).trim();
        if src.is_empty() {
            return Ok(Ok(false));
        }
        let body_element = self.state.element(body)?;
        let active = body_element.children.len().saturating_sub(1);
        let completed = body_element.completed_children as usize + 1;
        let terminated = body_element.terminated_children as usize;
        let total = self
            .input_collection(body, node)
            .map_or(active + completed + terminated, |items| items.len());
        let mut context = vars;
        context.insert("numberOfInstances".into(), json!(total));
        context.insert("numberOfActiveInstances".into(), json!(active));
        context.insert("numberOfCompletedInstances".into(), json!(completed));
        context.insert("numberOfTerminatedInstances".into(), json!(terminated));
        Ok(match variables::eval(self.now, src, &context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "Expected the completion condition '{src}' of '{}' to be a boolean, but was '{other}'",
                node.id.as_str()
            )),
            Err(message) => Err(message),
        })
    }

    /// An instance of `body` completed.
    pub(crate) fn inner_done(&mut self, body: i64, complete_body: bool) -> Result<(), ApplyError> {
        // A queued step: an earlier step of this command may have ended the body.
        let Some(element) = self.state.element_if_present(body) else {
            return Ok(());
        };
        if element.lifecycle != Lifecycle::Activated {
            return Ok(());
        }
        let process = self.definition(element.process_definition_key)?;
        let node = process.required_node(&element.element_id)?;
        let children: Vec<i64> = element.children.iter().copied().collect();
        let created = element.completed_children as usize
            + element.terminated_children as usize
            + children.len();
        if complete_body {
            for child in children {
                self.terminate_element(child)?;
            }
            self.queue.push_back(Step::Complete(body));
            return Ok(());
        }
        if is_sequential(node) {
            match self.input_collection(body, node) {
                Ok(items) if created < items.len() => {
                    let item = items[created].clone();
                    return self.create_inner(body, node, created + 1, &item);
                }
                Ok(_) => {}
                Err(message) => {
                    self.raise_incident(body, IncidentErrorType::ExtractValueError, message, None);
                    return Ok(());
                }
            }
        }
        if children.is_empty() {
            self.queue.push_back(Step::Complete(body));
        }
        Ok(())
    }

    /// The completing phase of a body: hand the output collection to the enclosing
    /// scope and leave the activity.
    pub(crate) fn complete_body(
        &mut self,
        body: i64,
        process: &DeployedProcess,
    ) -> Result<(), ApplyError> {
        let element = self.state.element(body)?;
        let flow_scope = element.required_flow_scope()?;
        let element_id = element.element_id.clone();
        let node = process.required_node(&element_id)?;
        if let Some(collection) = characteristics(node).output_collection {
            let value = self
                .state
                .variables
                .get(&body)
                .and_then(|v| v.get(&collection))
                .map_or(Value::Array(Vec::new()), |v| v.value.clone());
            let mut out = Map::new();
            out.insert(collection, value);
            self.propagate_variables(flow_scope, &out)?;
        }
        self.close_owned(body)?;
        self.element_transition(body, Lifecycle::Completed)?;
        let flows = process.model.outgoing(&element_id).to_vec();
        if flows.is_empty() {
            self.queue.push_back(Step::ScopeFinished {
                scope: flow_scope,
                force: false,
            });
        } else {
            self.take_flows(process, flow_scope, &flows)?;
        }
        self.queue_join_check(flow_scope)
    }
}

/// FEEL's name of a JSON value's type, for error messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::Number(_) => "NUMBER",
        Value::String(_) => "STRING",
        Value::Array(_) => "ARRAY",
        Value::Object(_) => "OBJECT",
    }
}

#[cfg(test)]
mod tests {
    use super::output_variable;

    #[test]
    fn output_elements_that_name_a_variable_are_recognised() {
        assert_eq!(output_variable("= result"), Some("result"));
        assert_eq!(output_variable("=result.value"), Some("result"));
        assert_eq!(output_variable("= a + 1"), None);
        assert_eq!(output_variable("= {x: 1}"), None);
        assert_eq!(output_variable("result"), None);
    }
}
