//! What the properties panel shows and changes for one element.

use serde::{Deserialize, Serialize};

/// Timer definition kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    Date,
    Duration,
    Cycle,
}

/// Multi-instance settings (bpmn:multiInstanceLoopCharacteristics + zeebe:loopCharacteristics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiInstanceProps {
    pub sequential: bool,
    pub input_collection: String,
    pub input_element: String,
    pub output_collection: String,
    pub output_element: String,
    pub completion_condition: String,
}

/// The properties of one flow node, sequence flow or process. A section is `None` when it does
/// not apply to the element (the panel hides it): e.g. `task_type` is `Some` only for service,
/// send, script-with-job and business-rule tasks … (the kinds that take a zeebe:taskDefinition),
/// `condition` only for sequence flows leaving exclusive/inclusive gateways or activities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Properties {
    pub id: String,
    /// Human kind, e.g. "Service task", "Timer boundary event", "Sequence flow", "Process".
    pub kind: String,
    pub name: String,
    pub documentation: String,
    pub task_type: Option<String>,
    pub retries: Option<String>,
    /// zeebe:taskHeaders (key, value); `Some` wherever `task_type` is.
    pub headers: Option<Vec<(String, String)>>,
    /// zeebe:ioMapping inputs (source, target); `Some` for activities and events that take them.
    pub inputs: Option<Vec<(String, String)>>,
    pub outputs: Option<Vec<(String, String)>>,
    /// Condition expression text (sequence flows that may carry one).
    pub condition: Option<String>,
    /// Whether this flow is its source's default flow (flows whose source can have one).
    pub is_default: Option<bool>,
    /// Timer events.
    pub timer: Option<(TimerKind, String)>,
    /// Message events, receive/send tasks: the message's name and zeebe:subscription key.
    pub message_name: Option<String>,
    pub correlation_key: Option<String>,
    /// Call activities: zeebe:calledElement processId.
    pub called_process_id: Option<String>,
    /// Activities: `Some(None)` = may be multi-instance but is not; `Some(Some(..))` = is.
    pub multi_instance: Option<Option<MultiInstanceProps>>,
    /// Error events: the error's code.
    pub error_code: Option<String>,
}

/// One change from the panel. Text fields take the text as typed; empty clears the attribute
/// (or removes the element when nothing is left, so saved XML stays minimal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropertyEdit {
    /// Changes the id everywhere it is referenced (flows, DI, default flow, attachments,
    /// lanes). Refused if invalid (not an NCName) or in use.
    Id(String),
    Name(String),
    Documentation(String),
    TaskType(String),
    Retries(String),
    Headers(Vec<(String, String)>),
    Inputs(Vec<(String, String)>),
    Outputs(Vec<(String, String)>),
    Condition(String),
    /// Makes this flow its source's default flow (true) or not (false).
    Default(bool),
    Timer(TimerKind, String),
    /// Creates or reuses a bpmn:message with that name (per element: a message of its own)
    /// and points the element's messageRef at it.
    MessageName(String),
    CorrelationKey(String),
    CalledProcessId(String),
    MultiInstance(Option<MultiInstanceProps>),
    ErrorCode(String),
}

mod apply;
mod read;

pub use apply::apply;
pub use read::properties;

/// Every FEEL expression field of `props` that should be checked, as (field name, text
/// without the leading `=`). Fields that are always FEEL (condition, correlation key,
/// input/output sources, collections) count even without `=`.
pub fn feel_fields(props: &Properties) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut maybe = |field: &'static str, text: Option<&String>| {
        if let Some(feel) = text.and_then(|t| t.trim_start().strip_prefix('=')) {
            out.push((field, feel.to_owned()));
        }
    };
    maybe("task_type", props.task_type.as_ref());
    maybe("retries", props.retries.as_ref());
    maybe("timer", props.timer.as_ref().map(|(_, t)| t));
    maybe("message_name", props.message_name.as_ref());
    maybe("called_process_id", props.called_process_id.as_ref());
    maybe("error_code", props.error_code.as_ref());
    let mut always = |field: &'static str, text: Option<&String>| {
        if let Some(t) = text.map(|t| t.trim()).filter(|t| !t.is_empty()) {
            out.push((field, t.strip_prefix('=').unwrap_or(t).to_owned()));
        }
    };
    always("condition", props.condition.as_ref());
    always("correlation_key", props.correlation_key.as_ref());
    for (source, _) in props.inputs.iter().flatten() {
        always("inputs", Some(source));
    }
    for (source, _) in props.outputs.iter().flatten() {
        always("outputs", Some(source));
    }
    if let Some(Some(mi)) = &props.multi_instance {
        always("input_collection", Some(&mi.input_collection));
        always("output_element", Some(&mi.output_element));
        always("completion_condition", Some(&mi.completion_condition));
    }
    out
}
