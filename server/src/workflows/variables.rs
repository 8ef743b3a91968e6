//! A workflow's declared start variables: a small, strict subset of JSON Schema, checked when
//! the schema is declared, again before each deployment, and against the variables of every
//! execution started through the control plane.
//!
//! Supported keywords: `type` (`object`, `array`, `string`, `number`, `integer`, `boolean`,
//! `null`), `properties`, `required`, `additionalProperties` (a boolean), `items`, `enum`,
//! `minimum`, `maximum`, `minLength`, `maxLength`, `description` and `title`. Anything else is
//! refused when the schema is declared, so a schema never silently means less than it says.

use serde_json::{Map, Value};

const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "description",
    "title",
];
const TYPES: &[&str] = &[
    "object", "array", "string", "number", "integer", "boolean", "null",
];
/// Deeper schemas are a mistake, not a design.
const MAX_DEPTH: usize = 16;

/// Checks that `schema` uses only what [`check`] understands, in the right shapes; returns
/// where it does not (a JSON pointer) and why.
pub fn validate_schema(schema: &Value) -> Result<(), String> {
    let root = schema
        .as_object()
        .ok_or_else(|| "the schema must be a JSON object".to_owned())?;
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Err("the schema must have \"type\": \"object\" (variables are an object)".into());
    }
    schema_at(schema, "", 0)
}

fn schema_at(schema: &Value, at: &str, depth: usize) -> Result<(), String> {
    let here = || if at.is_empty() { "/" } else { at };
    if depth > MAX_DEPTH {
        return Err(format!("{}: nested deeper than {MAX_DEPTH} levels", here()));
    }
    let object = schema
        .as_object()
        .ok_or_else(|| format!("{}: a schema must be an object", here()))?;
    for (keyword, value) in object {
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(format!(
                "{at}/{keyword}: not supported (use {})",
                KEYWORDS.join(", ")
            ));
        }
        let ok = match keyword.as_str() {
            "type" => value.as_str().is_some_and(|kind| TYPES.contains(&kind)),
            "properties" => value.is_object(),
            "required" => value
                .as_array()
                .is_some_and(|names| names.iter().all(Value::is_string)),
            "additionalProperties" => value.is_boolean(),
            "items" => value.is_object(),
            "enum" => value.as_array().is_some_and(|values| !values.is_empty()),
            "minimum" | "maximum" => value.is_number(),
            "minLength" | "maxLength" => value.as_u64().is_some(),
            _ => value.is_string(),
        };
        if !ok {
            return Err(format!("{at}/{keyword}: not a valid value for {keyword}"));
        }
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            schema_at(property, &format!("{at}/properties/{name}"), depth + 1)?;
        }
    }
    if let Some(items) = object.get("items") {
        schema_at(items, &format!("{at}/items"), depth + 1)?;
    }
    Ok(())
}

/// The first way `value` breaks `schema` (a schema [`validate_schema`] accepted), as
/// `path: reason`.
pub fn check(schema: &Value, value: &Value) -> Result<(), String> {
    check_at(schema, value, "")
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|number| number.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check_at(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let here = || {
        if at.is_empty() {
            "variables".to_owned()
        } else {
            format!("variables{at}")
        }
    };
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(kind) = schema.get("type").and_then(Value::as_str)
        && !type_matches(kind, value)
    {
        return Err(format!("{}: must be of type {kind}", here()));
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!(
            "{}: must be one of {}",
            here(),
            Value::Array(allowed.clone())
        ));
    }
    if let Some(number) = value.as_f64() {
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
            && number < minimum
        {
            return Err(format!("{}: must be at least {minimum}", here()));
        }
        if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
            && number > maximum
        {
            return Err(format!("{}: must be at most {maximum}", here()));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            return Err(format!("{}: must be at least {min} characters", here()));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            return Err(format!("{}: must be at most {max} characters", here()));
        }
    }
    if let Some(fields) = value.as_object() {
        check_object(schema, fields, at)?;
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (index, item) in values.iter().enumerate() {
            check_at(items, item, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

fn check_object(
    schema: &Map<String, Value>,
    fields: &Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !fields.contains_key(name) {
            return Err(format!("variables{at}.{name}: is required"));
        }
    }
    for (name, field) in fields {
        match properties.and_then(|properties| properties.get(name)) {
            Some(property) => check_at(property, field, &format!("{at}.{name}"))?,
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                return Err(format!("variables{at}.{name}: is not a declared variable"));
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> Value {
        json!({
            "type": "object",
            "required": ["amount", "customer"],
            "additionalProperties": false,
            "properties": {
                "amount": { "type": "number", "minimum": 0 },
                "customer": {
                    "type": "object",
                    "required": ["tier"],
                    "properties": { "tier": { "enum": ["gold", "silver"] } },
                },
                "items": { "type": "array", "items": { "type": "string", "maxLength": 8 } },
            },
        })
    }

    #[test]
    fn a_conforming_start_passes() {
        validate_schema(&order()).unwrap();
        check(
            &order(),
            &json!({ "amount": 10, "customer": { "tier": "gold" }, "items": ["a", "b"] }),
        )
        .unwrap();
    }

    #[test]
    fn each_violation_names_the_variable() {
        for (variables, expected) in [
            (
                json!({ "customer": { "tier": "gold" } }),
                "variables.amount: is required",
            ),
            (
                json!({ "amount": -1, "customer": { "tier": "gold" } }),
                "variables.amount: must be at least 0",
            ),
            (
                json!({ "amount": 1, "customer": { "tier": "bronze" } }),
                "variables.customer.tier: must be one of",
            ),
            (
                json!({ "amount": 1, "customer": { "tier": "gold" }, "items": ["far too long"] }),
                "variables.items[0]: must be at most 8 characters",
            ),
            (
                json!({ "amount": 1, "customer": { "tier": "gold" }, "extra": true }),
                "variables.extra: is not a declared variable",
            ),
            (
                json!({ "amount": "ten", "customer": { "tier": "gold" } }),
                "variables.amount: must be of type number",
            ),
        ] {
            let error = check(&order(), &variables).unwrap_err();
            assert!(error.starts_with(expected), "{error} for {variables}");
        }
    }

    #[test]
    fn schemas_with_unsupported_or_malformed_keywords_are_refused() {
        assert!(validate_schema(&json!({ "type": "array" })).is_err());
        let pattern = validate_schema(&json!({
            "type": "object",
            "properties": { "code": { "type": "string", "pattern": "^[A-Z]+$" } },
        }))
        .unwrap_err();
        assert!(pattern.contains("/properties/code/pattern"), "{pattern}");
        assert!(
            validate_schema(&json!({ "type": "object", "required": "amount" })).is_err(),
            "required must be a list"
        );
        assert!(
            validate_schema(
                &json!({ "type": "object", "properties": { "a": { "type": "date" } } })
            )
            .is_err()
        );
    }
}
