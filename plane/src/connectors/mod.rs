//! The connectors a plane runs, with Camunda's job types and input names, and what every
//! connector shares: how its result becomes process variables (`resultVariable`,
//! `resultExpression`) and how a result or a failure becomes a BPMN error or a job error
//! (`errorExpression`), all three read from the task headers as Camunda's connectors do.

pub mod rest;

use serde_json::{Map, Value};

/// Job types and the connector that serves each.
pub const REST_JOB_TYPE: &str = "io.camunda:http-json:1";

/// A connector's failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Camunda's `error.code`: the HTTP status for a response, or a word for what failed.
    pub code: String,
    pub message: String,
    /// The target's answer, when there was one (`error.variables.response`).
    pub response: Option<Value>,
    /// Whether a retry could succeed (a malformed input never will).
    pub retryable: bool,
    /// Whether the target host itself failed (counts towards its circuit breaker).
    pub host_failed: bool,
}

impl Failure {
    /// A failure of the job's own inputs: retrying cannot help.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: "INVALID_INPUT".into(),
            message: message.into(),
            response: None,
            retryable: false,
            host_failed: false,
        }
    }
}

/// What the job's task asks for when the connector is done.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Complete the job with these variables.
    Complete(Map<String, Value>),
    /// Throw a BPMN error (`errorExpression` gave `bpmnError(…)`).
    ThrowError {
        code: String,
        message: String,
        variables: Map<String, Value>,
    },
    /// Fail the job (a connector failure, or `errorExpression` gave `jobError(…)`).
    Fail {
        message: String,
        variables: Map<String, Value>,
        /// Retries left after this failure; `None` means one less than the job had.
        retries: Option<i32>,
        /// The back-off before the next attempt; `None` means the plane's policy.
        backoff: Option<std::time::Duration>,
        retryable: bool,
    },
}

/// Why the task headers' expressions cannot be used (an incident-worthy model error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{header}: {message}")]
pub struct ExpressionError {
    pub header: &'static str,
    pub message: String,
}

/// What the task's headers ask to be done with a connector's `outcome`.
///
/// `errorExpression` sees the response's fields (`status`, `headers`, `body`), the whole
/// `response`, and on failure `error` (`code`, `message`, `variables.response`); it may
/// return `bpmnError(code, message[, variables])`, `jobError(message[, variables[, retries[,
/// retryBackoff]]])`, or null to go on. Then, on success, the variables are
/// `{<resultVariable>: response}` merged with the context `resultExpression` returns.
///
/// # Errors
/// An expression that does not parse, fails to evaluate, or returns something that is not a
/// context where one is needed.
pub fn decide(
    headers: &Map<String, Value>,
    outcome: &Result<Value, Failure>,
) -> Result<Decision, ExpressionError> {
    if let Some(source) = header(headers, "errorExpression") {
        let mut context = match outcome {
            Ok(response) => response_context(response),
            Err(failure) => {
                let mut context = failure
                    .response
                    .as_ref()
                    .map(response_context)
                    .unwrap_or_default();
                let mut variables = Map::new();
                if let Some(response) = &failure.response {
                    variables.insert("response".into(), response.clone());
                }
                context.insert(
                    "error".into(),
                    serde_json::json!({
                        "code": failure.code,
                        "message": failure.message,
                        "type": "io.camunda.connector.api.error.ConnectorException",
                        "variables": variables,
                    }),
                );
                context
            }
        };
        let value = evaluate("errorExpression", source, &mut context, true)?;
        if let Some(decision) = error_decision(&value) {
            return Ok(decision);
        }
    }
    let response = match outcome {
        Ok(response) => response,
        Err(failure) => {
            return Ok(Decision::Fail {
                message: format!("{}: {}", failure.code, failure.message),
                variables: Map::new(),
                retries: None,
                backoff: None,
                retryable: failure.retryable,
            });
        }
    };
    let mut variables = Map::new();
    if let Some(name) = header(headers, "resultVariable") {
        variables.insert(name.to_owned(), response.clone());
    }
    if let Some(source) = header(headers, "resultExpression") {
        let mut context = response_context(response);
        match evaluate("resultExpression", source, &mut context, false)? {
            Value::Null => {}
            Value::Object(map) => variables.extend(map),
            other => {
                return Err(ExpressionError {
                    header: "resultExpression",
                    message: format!(
                        "must give a context of variables, but gave {}",
                        json_type(&other)
                    ),
                });
            }
        }
    }
    Ok(Decision::Complete(variables))
}

fn header<'a>(headers: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The response's own fields at the top, and the whole of it as `response`.
fn response_context(response: &Value) -> Map<String, Value> {
    let mut context = response.as_object().cloned().unwrap_or_default();
    context.insert("response".into(), response.clone());
    context
}

/// FEEL definitions of Camunda's error functions; each returns a context tagged by
/// `errorType`, which [`error_decision`] reads.
const BPMN_ERROR: &str = r#"function(code, message, variables) { errorType: "bpmnError", code: code, message: message, variables: variables }"#;
const JOB_ERROR: &str = r#"function(message, variables, retries, retryBackoff) { errorType: "jobError", message: message, variables: variables, retries: retries, retryBackoff: retryBackoff }"#;

fn evaluate(
    header: &'static str,
    source: &str,
    context: &mut Map<String, Value>,
    with_error_functions: bool,
) -> Result<Value, ExpressionError> {
    let fail = |message: String| ExpressionError { header, message };
    let source = feel::expression_of_attribute(source).unwrap_or(source);
    let expr = feel::parse(source).map_err(|e| fail(e.to_string()))?;
    let options = feel::default_options();
    let mut vars = feel::Context::from_json(&Value::Object(std::mem::take(context)));
    if with_error_functions {
        for (name, definition) in [("bpmnError", BPMN_ERROR), ("jobError", JOB_ERROR)] {
            let function = feel::parse(definition).expect("a valid FEEL function");
            let value = feel::evaluate(&function, &Value::Null, &options).value;
            vars.insert(name, value);
        }
    }
    let out = feel::evaluate_in(&expr, &vars, &options);
    if let Some(error) = out.error {
        return Err(fail(error.to_string()));
    }
    Ok(out.value.to_json())
}

fn error_decision(value: &Value) -> Option<Decision> {
    let map = value.as_object()?;
    let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let variables = map
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match map.get("errorType").and_then(Value::as_str)? {
        "bpmnError" => Some(Decision::ThrowError {
            code: text("code").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            variables,
        }),
        "jobError" => Some(Decision::Fail {
            message: text("message").unwrap_or_else(|| "job error".into()),
            variables,
            retries: map
                .get("retries")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
            backoff: map
                .get("retryBackoff")
                .and_then(Value::as_str)
                .and_then(parse_iso_duration),
            retryable: true,
        }),
        _ => None,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a context",
    }
}

/// An ISO-8601 duration of days, hours, minutes and seconds (`PT30S`, `P1DT2H`,
/// `PT0.5S`), as Camunda's `retryBackoff` header holds; `None` for anything else.
#[must_use]
pub fn parse_iso_duration(text: &str) -> Option<std::time::Duration> {
    let rest = text.trim().strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, Some(time)),
        None => (rest, None),
    };
    let mut seconds = 0f64;
    if !days.is_empty() {
        seconds += days.strip_suffix('D')?.parse::<f64>().ok()? * 86_400.0;
    }
    if let Some(mut time) = time {
        if time.is_empty() {
            return None;
        }
        for (unit, factor) in [('H', 3_600.0), ('M', 60.0), ('S', 1.0)] {
            if let Some(at) = time.find(unit) {
                seconds += time[..at].parse::<f64>().ok()? * factor;
                time = &time[at + 1..];
            }
        }
        if !time.is_empty() {
            return None;
        }
    }
    (seconds.is_finite() && seconds >= 0.0).then(|| std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    fn response(status: u16, body: &Value) -> Value {
        json!({ "status": status, "headers": { "content-type": "application/json" }, "body": body })
    }

    #[test]
    fn result_variable_and_expression_become_the_variables() {
        let decided = decide(
            &headers(&[
                ("resultVariable", "answer"),
                (
                    "resultExpression",
                    "={ orderId: response.body.id, code: status }",
                ),
            ]),
            &Ok(response(201, &json!({ "id": "o-1" }))),
        )
        .unwrap();
        let Decision::Complete(variables) = decided else {
            panic!("{decided:?}")
        };
        assert_eq!(variables["orderId"], "o-1");
        assert_eq!(variables["code"], 201);
        assert_eq!(variables["answer"]["body"]["id"], "o-1");
    }

    #[test]
    fn error_expression_turns_a_failure_into_a_bpmn_error() {
        let failure = Failure {
            code: "404".into(),
            message: "HTTP 404".into(),
            response: Some(response(404, &json!({ "reason": "no such order" }))),
            retryable: true,
            host_failed: false,
        };
        let expression = r#"=if error.code = "404" then bpmnError("NOT_FOUND", error.variables.response.body.reason, { looked: true }) else null"#;
        let decided = decide(
            &headers(&[("errorExpression", expression)]),
            &Err(failure.clone()),
        )
        .unwrap();
        assert_eq!(
            decided,
            Decision::ThrowError {
                code: "NOT_FOUND".into(),
                message: "no such order".into(),
                variables: json!({ "looked": true }).as_object().unwrap().clone(),
            }
        );
        // Null: the failure stays a failure.
        let other = Failure {
            code: "500".into(),
            ..failure
        };
        assert!(matches!(
            decide(&headers(&[("errorExpression", expression)]), &Err(other)).unwrap(),
            Decision::Fail { retries: None, .. }
        ));
    }

    #[test]
    fn error_expression_can_fail_a_successful_call_as_a_job_error() {
        let decided = decide(
            &headers(&[(
                "errorExpression",
                r#"=if body.state = "busy" then jobError("busy", {}, 1, "PT2S") else null"#,
            )]),
            &Ok(response(200, &json!({ "state": "busy" }))),
        )
        .unwrap();
        assert_eq!(
            decided,
            Decision::Fail {
                message: "busy".into(),
                variables: Map::new(),
                retries: Some(1),
                backoff: Some(Duration::from_secs(2)),
                retryable: true,
            }
        );
    }

    #[test]
    fn bad_expressions_are_reported_with_their_header() {
        let err = decide(
            &headers(&[("resultExpression", "={ a: ")]),
            &Ok(response(200, &Value::Null)),
        )
        .unwrap_err();
        assert_eq!(err.header, "resultExpression");
        let err = decide(
            &headers(&[("resultExpression", "=status")]),
            &Ok(response(200, &Value::Null)),
        )
        .unwrap_err();
        assert!(err.message.contains("a number"), "{err}");
    }

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT30S"), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_iso_duration("P1DT1H1M1S"),
            Some(Duration::from_secs(90_061))
        );
        assert_eq!(
            parse_iso_duration("PT0.5S"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_iso_duration("P2D"),
            Some(Duration::from_secs(172_800))
        );
        for bad in ["", "30S", "PT", "PTxS", "PT1S2", "P-1D"] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
    }
}
