//! What the engine does with each kind of BPMN element, and Zeebe's names for it.
//!
//! [`behavior_of`] is the one place that maps a flow node to its [`Behavior`] in the
//! lifecycle (see [`super::element`]) and to the [`ElementType`] and [`EventType`] its
//! records carry; deployment refuses a process with a node it has no behaviour for.

use bpmn::{EventDefinitionKind, FlowNode, FlowNodeKind};
use zeebe::record::{ElementType, EventType};

use crate::model;

/// How an element behaves in its lifecycle phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Process,
    SubProcess,
    EventSubProcess,
    MultiInstanceBody,
    CallActivity,
    Task,
    Job,
    Script,
    ReceiveTask,
    PassThrough,
    TerminateEnd,
    ErrorEnd,
    EscalationThrow,
    SignalThrow,
    LinkThrow,
    CatchEvent,
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
    EventBasedGateway,
}

impl Behavior {
    /// Activities may carry boundary events.
    pub(crate) fn is_activity(self) -> bool {
        matches!(
            self,
            Self::SubProcess
                | Self::CallActivity
                | Self::Task
                | Self::Job
                | Self::Script
                | Self::ReceiveTask
                | Self::MultiInstanceBody
        )
    }
}

/// The event type of an event definition.
fn event_type_of(definition: Option<&EventDefinitionKind>) -> EventType {
    match definition {
        None => EventType::None,
        Some(EventDefinitionKind::Timer(_)) => EventType::Timer,
        Some(EventDefinitionKind::Message { .. }) => EventType::Message,
        Some(EventDefinitionKind::Signal { .. }) => EventType::Signal,
        Some(EventDefinitionKind::Error { .. }) => EventType::Error,
        Some(EventDefinitionKind::Escalation { .. }) => EventType::Escalation,
        Some(EventDefinitionKind::Terminate) => EventType::Terminate,
        Some(EventDefinitionKind::Link { .. }) => EventType::Link,
        Some(EventDefinitionKind::Conditional { .. }) => EventType::Conditional,
        Some(EventDefinitionKind::Compensate { .. }) => EventType::Compensation,
        Some(EventDefinitionKind::Cancel) => EventType::Unspecified,
    }
}

/// The behaviour of `node`, its element type and event type, or why the engine cannot
/// run it.
pub(crate) fn behavior_of(node: &FlowNode) -> Result<(Behavior, ElementType, EventType), String> {
    use EventDefinitionKind as D;
    let unsupported = |what: &str| {
        Err(format!(
            "element '{}' is a {what}, which this engine does not support",
            node.id.as_str()
        ))
    };
    if let Some(activity) = node.activity()
        && matches!(
            activity.loop_characteristics.as_deref(),
            Some(bpmn::LoopCharacteristics::Standard(_))
        )
    {
        return unsupported("standard loop activity (use multi-instance instead)");
    }
    let zeebe = node.zeebe();
    let definition = model::event_definition(node);
    let event = event_type_of(definition);
    let with_definition = |tag: &str| {
        format!(
            "{tag}{}",
            definition
                .map(|d| format!(" with a {}", d.tag()))
                .unwrap_or_default()
        )
    };
    let has_job = zeebe.task_definition.is_some();
    match &node.kind {
        FlowNodeKind::StartEvent(_) => match definition {
            None
            | Some(D::Timer(_) | D::Message { .. } | D::Signal { .. })
            | Some(D::Error { .. } | D::Escalation { .. }) => {
                Ok((Behavior::PassThrough, ElementType::StartEvent, event))
            }
            _ => unsupported(&with_definition("start event")),
        },
        FlowNodeKind::IntermediateCatchEvent(_) => match definition {
            Some(D::Timer(_) | D::Message { .. } | D::Signal { .. }) => Ok((
                Behavior::CatchEvent,
                ElementType::IntermediateCatchEvent,
                event,
            )),
            Some(D::Link { .. }) => Ok((
                Behavior::PassThrough,
                ElementType::IntermediateCatchEvent,
                event,
            )),
            _ => unsupported(&with_definition("intermediate catch event")),
        },
        FlowNodeKind::IntermediateThrowEvent(_) => match definition {
            None => Ok((
                Behavior::PassThrough,
                ElementType::IntermediateThrowEvent,
                event,
            )),
            Some(D::Message { .. }) if has_job => {
                Ok((Behavior::Job, ElementType::IntermediateThrowEvent, event))
            }
            Some(D::Signal { .. }) => Ok((
                Behavior::SignalThrow,
                ElementType::IntermediateThrowEvent,
                event,
            )),
            Some(D::Escalation { .. }) => Ok((
                Behavior::EscalationThrow,
                ElementType::IntermediateThrowEvent,
                event,
            )),
            Some(D::Link { .. }) => Ok((
                Behavior::LinkThrow,
                ElementType::IntermediateThrowEvent,
                event,
            )),
            Some(D::Message { .. }) => {
                unsupported("message throw event without a zeebe:taskDefinition")
            }
            _ => unsupported(&with_definition("intermediate throw event")),
        },
        FlowNodeKind::EndEvent(_) => match definition {
            None => Ok((Behavior::PassThrough, ElementType::EndEvent, event)),
            Some(D::Terminate) => Ok((Behavior::TerminateEnd, ElementType::EndEvent, event)),
            Some(D::Error { .. }) => Ok((Behavior::ErrorEnd, ElementType::EndEvent, event)),
            Some(D::Escalation { .. }) => {
                Ok((Behavior::EscalationThrow, ElementType::EndEvent, event))
            }
            Some(D::Signal { .. }) => Ok((Behavior::SignalThrow, ElementType::EndEvent, event)),
            Some(D::Message { .. }) if has_job => Ok((Behavior::Job, ElementType::EndEvent, event)),
            Some(D::Message { .. }) => {
                unsupported("message end event without a zeebe:taskDefinition")
            }
            _ => unsupported(&with_definition("end event")),
        },
        FlowNodeKind::BoundaryEvent(_) => match definition {
            Some(
                D::Timer(_)
                | D::Message { .. }
                | D::Signal { .. }
                | D::Error { .. }
                | D::Escalation { .. },
            ) => Ok((Behavior::PassThrough, ElementType::BoundaryEvent, event)),
            _ => unsupported(&with_definition("boundary event")),
        },
        FlowNodeKind::Task(_) => Ok((Behavior::Task, ElementType::Task, EventType::Unspecified)),
        FlowNodeKind::ManualTask(_) => Ok((
            Behavior::Task,
            ElementType::ManualTask,
            EventType::Unspecified,
        )),
        FlowNodeKind::UserTask(_) => {
            Ok((Behavior::Job, ElementType::UserTask, EventType::Unspecified))
        }
        FlowNodeKind::ReceiveTask(_) => Ok((
            Behavior::ReceiveTask,
            ElementType::ReceiveTask,
            EventType::Unspecified,
        )),
        FlowNodeKind::ServiceTask(_) if has_job => Ok((
            Behavior::Job,
            ElementType::ServiceTask,
            EventType::Unspecified,
        )),
        FlowNodeKind::SendTask(_) if has_job => {
            Ok((Behavior::Job, ElementType::SendTask, EventType::Unspecified))
        }
        FlowNodeKind::BusinessRuleTask(_) if has_job => Ok((
            Behavior::Job,
            ElementType::BusinessRuleTask,
            EventType::Unspecified,
        )),
        FlowNodeKind::ScriptTask(_)
            if zeebe
                .script
                .as_ref()
                .is_some_and(|s| s.expression.is_some()) =>
        {
            Ok((
                Behavior::Script,
                ElementType::ScriptTask,
                EventType::Unspecified,
            ))
        }
        FlowNodeKind::ScriptTask(_) if has_job => Ok((
            Behavior::Job,
            ElementType::ScriptTask,
            EventType::Unspecified,
        )),
        FlowNodeKind::CallActivity(_) => Ok((
            Behavior::CallActivity,
            ElementType::CallActivity,
            EventType::Unspecified,
        )),
        FlowNodeKind::SubProcess(a) if a.triggered_by_event == Some(true) => Ok((
            Behavior::EventSubProcess,
            ElementType::EventSubProcess,
            EventType::Unspecified,
        )),
        FlowNodeKind::SubProcess(_) => Ok((
            Behavior::SubProcess,
            ElementType::SubProcess,
            EventType::Unspecified,
        )),
        FlowNodeKind::ExclusiveGateway(_) => Ok((
            Behavior::ExclusiveGateway,
            ElementType::ExclusiveGateway,
            EventType::Unspecified,
        )),
        FlowNodeKind::ParallelGateway(_) => Ok((
            Behavior::ParallelGateway,
            ElementType::ParallelGateway,
            EventType::Unspecified,
        )),
        FlowNodeKind::InclusiveGateway(_) => Ok((
            Behavior::InclusiveGateway,
            ElementType::InclusiveGateway,
            EventType::Unspecified,
        )),
        FlowNodeKind::EventBasedGateway(_) => Ok((
            Behavior::EventBasedGateway,
            ElementType::EventBasedGateway,
            EventType::Unspecified,
        )),
        FlowNodeKind::ServiceTask(_)
        | FlowNodeKind::SendTask(_)
        | FlowNodeKind::BusinessRuleTask(_)
        | FlowNodeKind::ScriptTask(_) => {
            unsupported(&format!("{} without a task definition", node.kind.tag()))
        }
        other => unsupported(other.tag()),
    }
}
