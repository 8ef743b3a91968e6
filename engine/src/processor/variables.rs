//! Variable scopes, input/output mappings and FEEL evaluation.
//!
//! Scopes nest like element instances: a variable is looked up from the element's own
//! scope outwards. Setting a variable *locally* writes it on the given scope;
//! *propagating* it updates the nearest scope that already has it, or creates it on the
//! process instance.

use serde_json::{Map, Value};
use zeebe::record::{Intent, RecordValue, VariableValue};

use super::Ctx;
use crate::{clock::FeelClock, state::ApplyError};

/// Evaluates a FEEL expression (without the leading `=`) against `vars`.
///
/// A result of `null` that came with warnings is treated as a failure, because that is how
/// a missing variable or a type error shows.
pub(crate) fn eval(now: i64, src: &str, vars: &Map<String, Value>) -> Result<Value, String> {
    let out = evaluate(now, src, vars)?;
    let value = out.value.to_json();
    if value.is_null() && !out.warnings.is_empty() {
        return Err(failure(src, &out.warnings));
    }
    Ok(value)
}

/// Evaluates a FEEL expression and returns FEEL's own value (temporal values keep
/// their type, e.g. for timers).
pub(crate) fn eval_feel(
    now: i64,
    src: &str,
    vars: &Map<String, Value>,
) -> Result<feel::Value, String> {
    let out = evaluate(now, src, vars)?;
    if matches!(out.value, feel::Value::Null) && !out.warnings.is_empty() {
        return Err(failure(src, &out.warnings));
    }
    Ok(out.value)
}

/// Parses and evaluates `src`; an evaluation stopped by one of FEEL's resource limits
/// (the size of the values it builds, its steps, its depth) fails with that limit alone,
/// whatever else it warned about on the way.
fn evaluate(now: i64, src: &str, vars: &Map<String, Value>) -> Result<feel::Evaluation, String> {
    let expr = feel::parse(src).map_err(|e| format!("failed to parse expression '{src}': {e}"))?;
    let options = feel::EvalOptions::with_clock(FeelClock(now));
    let out = feel::evaluate(&expr, &Value::Object(vars.clone()), &options);
    match out.error {
        Some(limit) => Err(format!("failed to evaluate expression '{src}': {limit}")),
        None => Ok(out),
    }
}

fn failure(src: &str, warnings: &[feel::Warning]) -> String {
    let why: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    format!("failed to evaluate expression '{src}': {}", why.join("; "))
}

/// An attribute that is either a FEEL expression (`=…`) or a static string.
pub(crate) fn eval_attribute(
    now: i64,
    attr: &str,
    vars: &Map<String, Value>,
) -> Result<Value, String> {
    match feel::expression_of_attribute(attr) {
        Some(src) => eval(now, src, vars),
        None => Ok(Value::String(attr.to_owned())),
    }
}

/// Inserts `value` at a dotted `target` path (`a.b.c`) into `map`.
fn insert_path(map: &mut Map<String, Value>, target: &str, value: Value) {
    let mut parts = target.split('.').peekable();
    let mut current = map;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        current = next;
    }
}

/// Evaluates mappings in order against `base`; each result is visible to later ones.
fn evaluate_mappings(
    now: i64,
    mappings: &[bpmn::model::zeebe::Mapping],
    base: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut context = base;
    let mut results = Map::new();
    for mapping in mappings {
        let (Some(source), Some(target)) = (&mapping.source, &mapping.target) else {
            continue;
        };
        let value = eval_attribute(now, source, &context)?;
        insert_path(&mut results, target, value);
        for (k, v) in &results {
            context.insert(k.clone(), v.clone());
        }
    }
    Ok(results)
}

impl Ctx<'_> {
    /// Sets one variable on exactly `scope_key`.
    pub(crate) fn set_local_variable(
        &mut self,
        scope_key: i64,
        name: &str,
        value: &Value,
    ) -> Result<(), ApplyError> {
        let existing = self
            .state
            .variables
            .get(&scope_key)
            .and_then(|vars| vars.get(name))
            .map(|v| (v.key, &v.value == value));
        let (key, intent) = match existing {
            Some((_, true)) => return Ok(()),
            Some((key, false)) => (key, Intent::UPDATED),
            None => (self.next_key(), Intent::CREATED),
        };
        let scope = self.state.element(scope_key)?;
        let record = VariableValue {
            name: name.to_owned(),
            value: value.to_string(),
            scope_key,
            process_instance_key: scope.process_instance_key,
            process_definition_key: scope.process_definition_key,
            bpmn_process_id: scope.bpmn_process_id.clone(),
            tenant_id: scope.tenant_id.clone(),
            extra: Map::new(),
        };
        self.event(key, intent, RecordValue::Variable(record));
        Ok(())
    }

    /// Sets variables on exactly `scope_key`.
    pub(crate) fn set_local_variables(
        &mut self,
        scope_key: i64,
        vars: &Map<String, Value>,
    ) -> Result<(), ApplyError> {
        for (name, value) in vars {
            self.set_local_variable(scope_key, name, value)?;
        }
        Ok(())
    }

    /// Sets each variable where it already lives, looking outwards from `scope_key`, or
    /// on the process instance when no scope has it.
    pub(crate) fn propagate_variables(
        &mut self,
        scope_key: i64,
        vars: &Map<String, Value>,
    ) -> Result<(), ApplyError> {
        for (name, value) in vars {
            let mut key = scope_key;
            let target = loop {
                let element = self.state.element(key)?;
                if self
                    .state
                    .variables
                    .get(&key)
                    .is_some_and(|v| v.contains_key(name))
                {
                    break key;
                }
                match element.flow_scope_key {
                    Some(scope) => key = scope,
                    None => break key,
                }
            };
            self.set_local_variable(target, name, value)?;
        }
        Ok(())
    }

    /// Applies input mappings of the element instance `key` as its local variables. The
    /// inner result is a mapping that failed to evaluate, which raises an incident.
    pub(crate) fn apply_input_mappings(
        &mut self,
        key: i64,
        node: &bpmn::FlowNode,
    ) -> Result<Result<(), String>, ApplyError> {
        let Some(io) = &node.zeebe().io_mapping else {
            return Ok(Ok(()));
        };
        if io.inputs.is_empty() {
            return Ok(Ok(()));
        }
        let base = self.state.visible_variables(key);
        match evaluate_mappings(self.now, &io.inputs, base) {
            Ok(results) => self.set_local_variables(key, &results).map(Ok),
            Err(message) => Ok(Err(message)),
        }
    }

    /// Applies output mappings of the element instance `key` into its flow scope; without
    /// output mappings, the element's local variables are left where they are. The inner
    /// result is a mapping that failed to evaluate, which raises an incident.
    pub(crate) fn apply_output_mappings(
        &mut self,
        key: i64,
        flow_scope_key: i64,
        node: &bpmn::FlowNode,
    ) -> Result<Result<(), String>, ApplyError> {
        let Some(io) = &node.zeebe().io_mapping else {
            return Ok(Ok(()));
        };
        if io.outputs.is_empty() {
            return Ok(Ok(()));
        }
        let base = self.state.visible_variables(key);
        match evaluate_mappings(self.now, &io.outputs, base) {
            Ok(results) => self.propagate_variables(flow_scope_key, &results).map(Ok),
            Err(message) => Ok(Err(message)),
        }
    }
}

/// Whether the element has output mappings (then results stay local until mapped).
pub(crate) fn has_outputs(node: &bpmn::FlowNode) -> bool {
    node.zeebe()
        .io_mapping
        .as_ref()
        .is_some_and(|io| !io.outputs.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_targets_build_nested_objects() {
        let mut map = Map::new();
        insert_path(&mut map, "a.b", json!(1));
        insert_path(&mut map, "a.c", json!(2));
        insert_path(&mut map, "d", json!("x"));
        assert_eq!(Value::Object(map), json!({"a": {"b": 1, "c": 2}, "d": "x"}));
    }

    #[test]
    fn missing_variable_is_an_error_and_static_values_are_strings() {
        let vars = Map::new();
        assert!(eval(0, "missing + 1", &vars).is_err());
        assert_eq!(eval_attribute(0, "plain", &vars).unwrap(), json!("plain"));
        assert_eq!(eval_attribute(0, "=1 + 2", &vars).unwrap(), json!(3));
    }

    #[test]
    fn a_feel_limit_fails_the_evaluation_even_inside_is_defined() {
        let vars = Map::new();
        let tight = "is defined(for a in 1..1000, b in 1..1000 return a)";
        let err = eval(0, tight, &vars).unwrap_err();
        assert!(
            err.contains("max_list_items") && err.contains("feel.limit.list_items"),
            "{err}"
        );
    }
}
