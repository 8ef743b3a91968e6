//! Reading an element into what the properties panel shows.

use bpmn::model::zeebe::{Mapping, ZeebeLoopCharacteristics};
use bpmn::walk::ElementRef;
use bpmn::{
    ArtifactKind, Base, DataKind, Definitions, Documentation, EventDefinitionKind, FlowNode,
    FlowNodeKind, Id, LoopCharacteristics, TimerDefinition,
};

use super::*;

/// The properties of `id`, or `None` if nothing has that id.
pub fn properties(defs: &Definitions, id: &str) -> Option<Properties> {
    let element = defs.element(id)?;
    let mut p = Properties {
        id: id.to_owned(),
        name: element.name().unwrap_or_default().to_owned(),
        ..Properties::default()
    };
    match element {
        ElementRef::Process(proc) => {
            p.kind = "Process".into();
            p.documentation = documentation(&proc.base);
        }
        ElementRef::FlowNode(n) => {
            p.kind = node_kind(n);
            p.documentation = documentation(&n.base);
            node_sections(defs, n, &mut p);
        }
        ElementRef::SequenceFlow(f) => {
            p.kind = "Sequence flow".into();
            p.documentation = documentation(&f.base);
            let source = defs.flow_node(f.source_ref.as_str());
            if source.is_some_and(takes_condition) {
                p.condition = Some(
                    f.condition
                        .as_ref()
                        .map(|c| c.body.clone())
                        .unwrap_or_default(),
                );
            }
            if let Some(s) = source.filter(|s| takes_default(s)) {
                p.is_default = Some(s.default_flow().is_some_and(|d| d == id));
            }
        }
        ElementRef::Participant(x) => {
            p.kind = "Participant".into();
            p.documentation = documentation(&x.base);
        }
        ElementRef::Lane(x) => {
            p.kind = "Lane".into();
            p.documentation = documentation(&x.base);
        }
        ElementRef::MessageFlow(x) => {
            p.kind = "Message flow".into();
            p.documentation = documentation(&x.base);
        }
        ElementRef::Artifact(a) => {
            p.kind = match &a.kind {
                ArtifactKind::TextAnnotation { text, .. } => {
                    p.name = text.clone().unwrap_or_default();
                    "Text annotation"
                }
                ArtifactKind::Association { .. } => "Association",
                ArtifactKind::Group { .. } => "Group",
            }
            .into();
            p.documentation = documentation(&a.base);
        }
        ElementRef::Data(d) => {
            p.kind = match d.kind {
                DataKind::DataObject { .. } => "Data object",
                DataKind::DataObjectReference { .. } => "Data object reference",
                DataKind::DataStoreReference { .. } => "Data store reference",
            }
            .into();
            p.documentation = documentation(&d.base);
        }
        _ => p.kind = "Element".into(),
    }
    Some(p)
}

pub(super) fn documentation(base: &Base) -> String {
    base.documentation
        .iter()
        .map(Documentation::text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A flow out of an exclusive or inclusive gateway or an activity may carry a condition.
pub(super) fn takes_condition(source: &FlowNode) -> bool {
    matches!(
        source.kind,
        FlowNodeKind::ExclusiveGateway(_) | FlowNodeKind::InclusiveGateway(_)
    ) || source.activity().is_some()
}

pub(super) fn takes_default(source: &FlowNode) -> bool {
    takes_condition(source) || matches!(source.kind, FlowNodeKind::ComplexGateway(_))
}

pub(super) fn has_definition(n: &FlowNode, f: impl Fn(&EventDefinitionKind) -> bool) -> bool {
    n.event()
        .is_some_and(|e| e.definitions.iter().any(|d| f(&d.kind)))
}

pub(super) fn is_message_event(n: &FlowNode) -> bool {
    has_definition(n, |d| matches!(d, EventDefinitionKind::Message { .. }))
}

/// Kinds Zeebe runs as job workers (zeebe:taskDefinition).
pub(super) fn is_job_worker(n: &FlowNode) -> bool {
    match n.kind {
        FlowNodeKind::ServiceTask(_)
        | FlowNodeKind::SendTask(_)
        | FlowNodeKind::BusinessRuleTask(_)
        | FlowNodeKind::ScriptTask(_) => true,
        FlowNodeKind::IntermediateThrowEvent(_) | FlowNodeKind::EndEvent(_) => is_message_event(n),
        _ => false,
    }
}

pub(super) fn takes_message(n: &FlowNode) -> bool {
    is_message_event(n)
        || matches!(
            n.kind,
            FlowNodeKind::SendTask(_) | FlowNodeKind::ReceiveTask(_)
        )
}

/// Zeebe correlates catching messages by key; a process-level start event creates the
/// instance and throwing elements publish nothing to correlate.
pub(super) fn takes_correlation_key(defs: &Definitions, n: &FlowNode) -> bool {
    match n.kind {
        FlowNodeKind::IntermediateCatchEvent(_) | FlowNodeKind::BoundaryEvent(_) => {
            is_message_event(n)
        }
        FlowNodeKind::ReceiveTask(_) => true,
        FlowNodeKind::StartEvent(_) => {
            is_message_event(n)
                && defs
                    .processes()
                    .all(|p| p.flow_node(n.id.as_str()).is_none())
        }
        _ => false,
    }
}

pub(super) fn message_ref(n: &FlowNode) -> Option<&Id> {
    if let Some(a) = n.activity() {
        return a.message_ref.as_ref();
    }
    n.event()?.definitions.iter().find_map(|d| match &d.kind {
        EventDefinitionKind::Message { message_ref } => message_ref.as_ref(),
        _ => None,
    })
}

pub(super) fn error_ref(n: &FlowNode) -> Option<&Id> {
    n.event()?.definitions.iter().find_map(|d| match &d.kind {
        EventDefinitionKind::Error { error_ref } => error_ref.as_ref(),
        _ => None,
    })
}

pub(super) fn node_sections(defs: &Definitions, n: &FlowNode, p: &mut Properties) {
    let z = n.zeebe();
    if is_job_worker(n) {
        let td = z.task_definition.as_ref();
        p.task_type = Some(td.and_then(|t| t.job_type.clone()).unwrap_or_default());
        p.retries = Some(td.and_then(|t| t.retries.clone()).unwrap_or_default());
        p.headers = Some(
            z.task_headers
                .iter()
                .flat_map(|h| &h.headers)
                .map(|h| {
                    (
                        h.key.clone().unwrap_or_default(),
                        h.value.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        );
    }
    let pairs = |ms: &[Mapping]| -> Vec<(String, String)> {
        ms.iter()
            .map(|m| {
                (
                    m.source.clone().unwrap_or_default(),
                    m.target.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let io = z.io_mapping.as_ref();
    let (inputs, outputs) = (
        io.map(|m| pairs(&m.inputs)).unwrap_or_default(),
        io.map(|m| pairs(&m.outputs)).unwrap_or_default(),
    );
    match n.kind {
        FlowNodeKind::StartEvent(_) => p.outputs = Some(outputs),
        _ if n.activity().is_some() || n.event().is_some() => {
            p.inputs = Some(inputs);
            p.outputs = Some(outputs);
        }
        _ => {}
    }
    if let Some(e) = n.event() {
        if let Some(t) = e.definitions.iter().find_map(|d| match &d.kind {
            EventDefinitionKind::Timer(t) => Some(t),
            _ => None,
        }) {
            p.timer = Some(timer_of(t));
        }
        if has_definition(n, |d| matches!(d, EventDefinitionKind::Error { .. })) {
            p.error_code = Some(
                error_ref(n)
                    .and_then(|r| defs.error(r.as_str()))
                    .and_then(|e| e.error_code.clone())
                    .unwrap_or_default(),
            );
        }
    }
    if takes_message(n) {
        let message = message_ref(n).and_then(|r| defs.message(r.as_str()));
        p.message_name = Some(message.and_then(|m| m.name.clone()).unwrap_or_default());
        if takes_correlation_key(defs, n) {
            p.correlation_key = Some(
                message
                    .and_then(|m| m.base.zeebe().subscription.as_ref())
                    .and_then(|s| s.correlation_key.clone())
                    .unwrap_or_default(),
            );
        }
    }
    if matches!(n.kind, FlowNodeKind::CallActivity(_)) {
        p.called_process_id = Some(
            z.called_element
                .as_ref()
                .and_then(|c| c.process_id.clone())
                .unwrap_or_default(),
        );
    }
    if let Some(a) = n.activity() {
        p.multi_instance = Some(match a.loop_characteristics.as_deref() {
            Some(LoopCharacteristics::MultiInstance(m)) => {
                let zl = m.base.zeebe().loop_characteristics.as_ref();
                let get = |f: fn(&ZeebeLoopCharacteristics) -> &Option<String>| {
                    zl.and_then(|z| f(z).clone()).unwrap_or_default()
                };
                Some(MultiInstanceProps {
                    sequential: m.is_sequential == Some(true),
                    input_collection: get(|z| &z.input_collection),
                    input_element: get(|z| &z.input_element),
                    output_collection: get(|z| &z.output_collection),
                    output_element: get(|z| &z.output_element),
                    completion_condition: m
                        .completion_condition
                        .as_ref()
                        .map(|c| c.body.clone())
                        .unwrap_or_default(),
                })
            }
            _ => None,
        });
    }
}

pub(super) fn timer_of(t: &TimerDefinition) -> (TimerKind, String) {
    [
        (TimerKind::Date, &t.time_date),
        (TimerKind::Duration, &t.time_duration),
        (TimerKind::Cycle, &t.time_cycle),
    ]
    .into_iter()
    .find_map(|(k, e)| e.as_ref().map(|e| (k, e.body.clone())))
    .unwrap_or((TimerKind::Duration, String::new()))
}

/// "Timer boundary event", "Service task", …
pub(super) fn node_kind(n: &FlowNode) -> String {
    let base = match &n.kind {
        FlowNodeKind::StartEvent(_) => "start event",
        FlowNodeKind::IntermediateCatchEvent(_) => "intermediate catch event",
        FlowNodeKind::IntermediateThrowEvent(_) => "intermediate throw event",
        FlowNodeKind::EndEvent(_) => "end event",
        FlowNodeKind::BoundaryEvent(_) => "boundary event",
        FlowNodeKind::Task(_) => "task",
        FlowNodeKind::ServiceTask(_) => "service task",
        FlowNodeKind::UserTask(_) => "user task",
        FlowNodeKind::ScriptTask(_) => "script task",
        FlowNodeKind::SendTask(_) => "send task",
        FlowNodeKind::ReceiveTask(_) => "receive task",
        FlowNodeKind::BusinessRuleTask(_) => "business rule task",
        FlowNodeKind::ManualTask(_) => "manual task",
        FlowNodeKind::CallActivity(_) => "call activity",
        FlowNodeKind::SubProcess(a) if a.triggered_by_event == Some(true) => "event sub-process",
        FlowNodeKind::SubProcess(_) => "sub-process",
        FlowNodeKind::AdHocSubProcess(_) => "ad-hoc sub-process",
        FlowNodeKind::Transaction(_) => "transaction",
        FlowNodeKind::ExclusiveGateway(_) => "exclusive gateway",
        FlowNodeKind::ParallelGateway(_) => "parallel gateway",
        FlowNodeKind::InclusiveGateway(_) => "inclusive gateway",
        FlowNodeKind::EventBasedGateway(_) => "event-based gateway",
        FlowNodeKind::ComplexGateway(_) => "complex gateway",
    };
    let qualifier = n.event().and_then(|e| match e.definitions.as_slice() {
        [] => None,
        [one] => Some(match one.kind {
            EventDefinitionKind::Message { .. } => "message",
            EventDefinitionKind::Timer(_) => "timer",
            EventDefinitionKind::Error { .. } => "error",
            EventDefinitionKind::Signal { .. } => "signal",
            EventDefinitionKind::Escalation { .. } => "escalation",
            EventDefinitionKind::Terminate => "terminate",
            EventDefinitionKind::Cancel => "cancel",
            EventDefinitionKind::Link { .. } => "link",
            EventDefinitionKind::Conditional { .. } => "conditional",
            EventDefinitionKind::Compensate { .. } => "compensation",
        }),
        _ => Some("multiple"),
    });
    let text = match qualifier {
        Some(q) => format!("{q} {base}"),
        None => base.to_owned(),
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
