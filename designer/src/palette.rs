//! What the palette creates.

use bpmn::{
    Activity, Event, EventDefinitionKind, FlowNode, FlowNodeKind, Gateway, Id, TimerDefinition,
};

/// One palette entry. `key()` is the stable name the UI and tests use (`data-palette`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaletteItem {
    StartEvent,
    TimerStartEvent,
    MessageStartEvent,
    IntermediateThrowEvent,
    TimerCatchEvent,
    MessageCatchEvent,
    EndEvent,
    MessageEndEvent,
    ErrorEndEvent,
    TerminateEndEvent,
    ServiceTask,
    UserTask,
    ScriptTask,
    SendTask,
    ReceiveTask,
    BusinessRuleTask,
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
    EventBasedGateway,
    SubProcess,
    CallActivity,
    /// Boundary events: dropped onto an activity, they attach to it.
    TimerBoundaryEvent,
    MessageBoundaryEvent,
    ErrorBoundaryEvent,
}

impl PaletteItem {
    /// Every item, in palette order (grouped: events, tasks, gateways, containers, boundary).
    pub const ALL: &'static [PaletteItem] = &[
        Self::StartEvent,
        Self::TimerStartEvent,
        Self::MessageStartEvent,
        Self::IntermediateThrowEvent,
        Self::TimerCatchEvent,
        Self::MessageCatchEvent,
        Self::EndEvent,
        Self::MessageEndEvent,
        Self::ErrorEndEvent,
        Self::TerminateEndEvent,
        Self::ServiceTask,
        Self::UserTask,
        Self::ScriptTask,
        Self::SendTask,
        Self::ReceiveTask,
        Self::BusinessRuleTask,
        Self::ExclusiveGateway,
        Self::ParallelGateway,
        Self::InclusiveGateway,
        Self::EventBasedGateway,
        Self::SubProcess,
        Self::CallActivity,
        Self::TimerBoundaryEvent,
        Self::MessageBoundaryEvent,
        Self::ErrorBoundaryEvent,
    ];

    /// Stable kebab-case key, e.g. `service-task`, `timer-boundary-event`.
    pub fn key(self) -> &'static str {
        match self {
            Self::StartEvent => "start-event",
            Self::TimerStartEvent => "timer-start-event",
            Self::MessageStartEvent => "message-start-event",
            Self::IntermediateThrowEvent => "intermediate-throw-event",
            Self::TimerCatchEvent => "timer-catch-event",
            Self::MessageCatchEvent => "message-catch-event",
            Self::EndEvent => "end-event",
            Self::MessageEndEvent => "message-end-event",
            Self::ErrorEndEvent => "error-end-event",
            Self::TerminateEndEvent => "terminate-end-event",
            Self::ServiceTask => "service-task",
            Self::UserTask => "user-task",
            Self::ScriptTask => "script-task",
            Self::SendTask => "send-task",
            Self::ReceiveTask => "receive-task",
            Self::BusinessRuleTask => "business-rule-task",
            Self::ExclusiveGateway => "exclusive-gateway",
            Self::ParallelGateway => "parallel-gateway",
            Self::InclusiveGateway => "inclusive-gateway",
            Self::EventBasedGateway => "event-based-gateway",
            Self::SubProcess => "sub-process",
            Self::CallActivity => "call-activity",
            Self::TimerBoundaryEvent => "timer-boundary-event",
            Self::MessageBoundaryEvent => "message-boundary-event",
            Self::ErrorBoundaryEvent => "error-boundary-event",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|item| item.key() == key)
    }

    /// Human label, e.g. "Service task".
    pub fn label(self) -> &'static str {
        match self {
            Self::StartEvent => "Start event",
            Self::TimerStartEvent => "Timer start event",
            Self::MessageStartEvent => "Message start event",
            Self::IntermediateThrowEvent => "Intermediate throw event",
            Self::TimerCatchEvent => "Timer intermediate catch event",
            Self::MessageCatchEvent => "Message intermediate catch event",
            Self::EndEvent => "End event",
            Self::MessageEndEvent => "Message end event",
            Self::ErrorEndEvent => "Error end event",
            Self::TerminateEndEvent => "Terminate end event",
            Self::ServiceTask => "Service task",
            Self::UserTask => "User task",
            Self::ScriptTask => "Script task",
            Self::SendTask => "Send task",
            Self::ReceiveTask => "Receive task",
            Self::BusinessRuleTask => "Business rule task",
            Self::ExclusiveGateway => "Exclusive gateway",
            Self::ParallelGateway => "Parallel gateway",
            Self::InclusiveGateway => "Inclusive gateway",
            Self::EventBasedGateway => "Event-based gateway",
            Self::SubProcess => "Sub-process",
            Self::CallActivity => "Call activity",
            Self::TimerBoundaryEvent => "Timer boundary event",
            Self::MessageBoundaryEvent => "Message boundary event",
            Self::ErrorBoundaryEvent => "Error boundary event",
        }
    }

    /// Palette group: "Events", "Tasks", "Gateways", "Containers", "Boundary events".
    pub fn group(self) -> &'static str {
        match self {
            Self::StartEvent
            | Self::TimerStartEvent
            | Self::MessageStartEvent
            | Self::IntermediateThrowEvent
            | Self::TimerCatchEvent
            | Self::MessageCatchEvent
            | Self::EndEvent
            | Self::MessageEndEvent
            | Self::ErrorEndEvent
            | Self::TerminateEndEvent => "Events",
            Self::ServiceTask
            | Self::UserTask
            | Self::ScriptTask
            | Self::SendTask
            | Self::ReceiveTask
            | Self::BusinessRuleTask => "Tasks",
            Self::ExclusiveGateway
            | Self::ParallelGateway
            | Self::InclusiveGateway
            | Self::EventBasedGateway => "Gateways",
            Self::SubProcess | Self::CallActivity => "Containers",
            Self::TimerBoundaryEvent | Self::MessageBoundaryEvent | Self::ErrorBoundaryEvent => {
                "Boundary events"
            }
        }
    }

    pub fn is_boundary(self) -> bool {
        matches!(
            self,
            Self::TimerBoundaryEvent | Self::MessageBoundaryEvent | Self::ErrorBoundaryEvent
        )
    }

    /// Prefix for fresh ids (`Activity`, `Event`, `Gateway`, like Camunda Modeler).
    pub fn id_prefix(self) -> &'static str {
        match self.group() {
            "Tasks" | "Containers" => "Activity",
            "Gateways" => "Gateway",
            _ => "Event",
        }
    }

    /// A new node of this kind (timer definitions empty, boundary events unattached).
    pub fn node(self, id: Id) -> FlowNode {
        let timer = || Event::with(EventDefinitionKind::Timer(TimerDefinition::default()));
        let message = || Event::with(EventDefinitionKind::Message { message_ref: None });
        let error = || Event::with(EventDefinitionKind::Error { error_ref: None });
        let kind = match self {
            Self::StartEvent => FlowNodeKind::StartEvent(Event::default()),
            Self::TimerStartEvent => FlowNodeKind::StartEvent(timer()),
            Self::MessageStartEvent => FlowNodeKind::StartEvent(message()),
            Self::IntermediateThrowEvent => FlowNodeKind::IntermediateThrowEvent(Event::default()),
            Self::TimerCatchEvent => FlowNodeKind::IntermediateCatchEvent(timer()),
            Self::MessageCatchEvent => FlowNodeKind::IntermediateCatchEvent(message()),
            Self::EndEvent => FlowNodeKind::EndEvent(Event::default()),
            Self::MessageEndEvent => FlowNodeKind::EndEvent(message()),
            Self::ErrorEndEvent => FlowNodeKind::EndEvent(error()),
            Self::TerminateEndEvent => {
                FlowNodeKind::EndEvent(Event::with(EventDefinitionKind::Terminate))
            }
            Self::ServiceTask => FlowNodeKind::ServiceTask(Activity::default()),
            Self::UserTask => FlowNodeKind::UserTask(Activity::default()),
            Self::ScriptTask => FlowNodeKind::ScriptTask(Activity::default()),
            Self::SendTask => FlowNodeKind::SendTask(Activity::default()),
            Self::ReceiveTask => FlowNodeKind::ReceiveTask(Activity::default()),
            Self::BusinessRuleTask => FlowNodeKind::BusinessRuleTask(Activity::default()),
            Self::ExclusiveGateway => FlowNodeKind::ExclusiveGateway(Gateway::default()),
            Self::ParallelGateway => FlowNodeKind::ParallelGateway(Gateway::default()),
            Self::InclusiveGateway => FlowNodeKind::InclusiveGateway(Gateway::default()),
            Self::EventBasedGateway => FlowNodeKind::EventBasedGateway(Gateway::default()),
            Self::SubProcess => FlowNodeKind::SubProcess(Activity::default()),
            Self::CallActivity => FlowNodeKind::CallActivity(Activity::default()),
            Self::TimerBoundaryEvent => FlowNodeKind::BoundaryEvent(timer()),
            Self::MessageBoundaryEvent => FlowNodeKind::BoundaryEvent(message()),
            Self::ErrorBoundaryEvent => FlowNodeKind::BoundaryEvent(error()),
        };
        FlowNode::new(id, kind)
    }
}
