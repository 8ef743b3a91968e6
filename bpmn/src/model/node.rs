//! Flow nodes: [`FlowNode`] with its [`FlowNodeKind`], and the kind-specific data of
//! activities (with loop characteristics) and gateways. Events are in `event`.

use serde::{Deserialize, Serialize};

use super::{Base, Container, Event, Expression, Id, Zeebe};

/// An event, activity or gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowNode {
    /// `id`.
    pub id: Id,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `bpmn:incoming` references as written in the file.
    #[serde(default)]
    pub incoming: Vec<Id>,
    /// `bpmn:outgoing` references as written in the file.
    #[serde(default)]
    pub outgoing: Vec<Id>,
    /// What kind of node this is, with its kind-specific data.
    pub kind: FlowNodeKind,
    /// Documentation, extensions (zeebe) and unknown content.
    #[serde(default)]
    pub base: Base,
}

impl FlowNode {
    /// A node of the given kind with no name and no connections.
    pub fn new(id: impl Into<Id>, kind: FlowNodeKind) -> Self {
        Self {
            id: id.into(),
            name: None,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            kind,
            base: Base::default(),
        }
    }

    /// Sets the name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The typed zeebe extensions of this node.
    pub fn zeebe(&self) -> &Zeebe {
        self.base.zeebe()
    }

    /// Event data if this node is an event.
    pub fn event(&self) -> Option<&Event> {
        self.kind.event()
    }

    /// Activity data if this node is an activity.
    pub fn activity(&self) -> Option<&Activity> {
        self.kind.activity()
    }

    /// Gateway data if this node is a gateway.
    pub fn gateway(&self) -> Option<&Gateway> {
        self.kind.gateway()
    }

    /// The nested container if this node is a sub-process (embedded, event, ad-hoc, transaction).
    pub fn children(&self) -> Option<&Container> {
        self.kind
            .is_sub_process()
            .then(|| self.kind.activity().map(|a| &a.content))
            .flatten()
    }

    /// The default flow of an activity or gateway.
    pub fn default_flow(&self) -> Option<&Id> {
        match &self.kind {
            k if k.activity().is_some() => k.activity().and_then(|a| a.default_flow.as_ref()),
            k => k.gateway().and_then(|g| g.default_flow.as_ref()),
        }
    }
}

/// The kind of a flow node and its kind-specific data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FlowNodeKind {
    /// `bpmn:startEvent`.
    StartEvent(Event),
    /// `bpmn:intermediateCatchEvent`.
    IntermediateCatchEvent(Event),
    /// `bpmn:intermediateThrowEvent`.
    IntermediateThrowEvent(Event),
    /// `bpmn:endEvent`.
    EndEvent(Event),
    /// `bpmn:boundaryEvent`.
    BoundaryEvent(Event),
    /// `bpmn:task` (abstract task).
    Task(Activity),
    /// `bpmn:serviceTask`.
    ServiceTask(Activity),
    /// `bpmn:userTask`.
    UserTask(Activity),
    /// `bpmn:scriptTask`.
    ScriptTask(Activity),
    /// `bpmn:sendTask`.
    SendTask(Activity),
    /// `bpmn:receiveTask`.
    ReceiveTask(Activity),
    /// `bpmn:businessRuleTask`.
    BusinessRuleTask(Activity),
    /// `bpmn:manualTask`.
    ManualTask(Activity),
    /// `bpmn:callActivity`.
    CallActivity(Activity),
    /// `bpmn:subProcess` (an event sub-process when `triggered_by_event`).
    SubProcess(Activity),
    /// `bpmn:adHocSubProcess`.
    AdHocSubProcess(Activity),
    /// `bpmn:transaction`.
    Transaction(Activity),
    /// `bpmn:exclusiveGateway`.
    ExclusiveGateway(Gateway),
    /// `bpmn:parallelGateway`.
    ParallelGateway(Gateway),
    /// `bpmn:inclusiveGateway`.
    InclusiveGateway(Gateway),
    /// `bpmn:eventBasedGateway`.
    EventBasedGateway(Gateway),
    /// `bpmn:complexGateway`.
    ComplexGateway(Gateway),
}

impl FlowNodeKind {
    /// The BPMN element name (`serviceTask`, `exclusiveGateway`, …).
    pub fn tag(&self) -> &'static str {
        match self {
            Self::StartEvent(_) => "startEvent",
            Self::IntermediateCatchEvent(_) => "intermediateCatchEvent",
            Self::IntermediateThrowEvent(_) => "intermediateThrowEvent",
            Self::EndEvent(_) => "endEvent",
            Self::BoundaryEvent(_) => "boundaryEvent",
            Self::Task(_) => "task",
            Self::ServiceTask(_) => "serviceTask",
            Self::UserTask(_) => "userTask",
            Self::ScriptTask(_) => "scriptTask",
            Self::SendTask(_) => "sendTask",
            Self::ReceiveTask(_) => "receiveTask",
            Self::BusinessRuleTask(_) => "businessRuleTask",
            Self::ManualTask(_) => "manualTask",
            Self::CallActivity(_) => "callActivity",
            Self::SubProcess(_) => "subProcess",
            Self::AdHocSubProcess(_) => "adHocSubProcess",
            Self::Transaction(_) => "transaction",
            Self::ExclusiveGateway(_) => "exclusiveGateway",
            Self::ParallelGateway(_) => "parallelGateway",
            Self::InclusiveGateway(_) => "inclusiveGateway",
            Self::EventBasedGateway(_) => "eventBasedGateway",
            Self::ComplexGateway(_) => "complexGateway",
        }
    }

    /// Event data if this is an event.
    pub fn event(&self) -> Option<&Event> {
        match self {
            Self::StartEvent(e)
            | Self::IntermediateCatchEvent(e)
            | Self::IntermediateThrowEvent(e)
            | Self::EndEvent(e)
            | Self::BoundaryEvent(e) => Some(e),
            _ => None,
        }
    }

    /// Mutable event data if this is an event.
    pub fn event_mut(&mut self) -> Option<&mut Event> {
        match self {
            Self::StartEvent(e)
            | Self::IntermediateCatchEvent(e)
            | Self::IntermediateThrowEvent(e)
            | Self::EndEvent(e)
            | Self::BoundaryEvent(e) => Some(e),
            _ => None,
        }
    }

    /// Activity data if this is an activity.
    pub fn activity(&self) -> Option<&Activity> {
        match self {
            Self::Task(a)
            | Self::ServiceTask(a)
            | Self::UserTask(a)
            | Self::ScriptTask(a)
            | Self::SendTask(a)
            | Self::ReceiveTask(a)
            | Self::BusinessRuleTask(a)
            | Self::ManualTask(a)
            | Self::CallActivity(a)
            | Self::SubProcess(a)
            | Self::AdHocSubProcess(a)
            | Self::Transaction(a) => Some(a),
            _ => None,
        }
    }

    /// Mutable activity data if this is an activity.
    pub fn activity_mut(&mut self) -> Option<&mut Activity> {
        match self {
            Self::Task(a)
            | Self::ServiceTask(a)
            | Self::UserTask(a)
            | Self::ScriptTask(a)
            | Self::SendTask(a)
            | Self::ReceiveTask(a)
            | Self::BusinessRuleTask(a)
            | Self::ManualTask(a)
            | Self::CallActivity(a)
            | Self::SubProcess(a)
            | Self::AdHocSubProcess(a)
            | Self::Transaction(a) => Some(a),
            _ => None,
        }
    }

    /// Gateway data if this is a gateway.
    pub fn gateway(&self) -> Option<&Gateway> {
        match self {
            Self::ExclusiveGateway(g)
            | Self::ParallelGateway(g)
            | Self::InclusiveGateway(g)
            | Self::EventBasedGateway(g)
            | Self::ComplexGateway(g) => Some(g),
            _ => None,
        }
    }

    /// Mutable gateway data if this is a gateway.
    pub fn gateway_mut(&mut self) -> Option<&mut Gateway> {
        match self {
            Self::ExclusiveGateway(g)
            | Self::ParallelGateway(g)
            | Self::InclusiveGateway(g)
            | Self::EventBasedGateway(g)
            | Self::ComplexGateway(g) => Some(g),
            _ => None,
        }
    }

    /// True for sub-process kinds, which contain flow elements.
    pub fn is_sub_process(&self) -> bool {
        matches!(
            self,
            Self::SubProcess(_) | Self::AdHocSubProcess(_) | Self::Transaction(_)
        )
    }
}

/// Data of an activity (tasks, call activities, sub-processes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Activity {
    /// `default`: the default outgoing sequence flow.
    pub default_flow: Option<Id>,
    /// `isForCompensation`.
    pub is_for_compensation: Option<bool>,
    /// Standard or multi-instance loop characteristics.
    pub loop_characteristics: Option<Box<LoopCharacteristics>>,
    /// `messageRef` (send and receive tasks).
    pub message_ref: Option<Id>,
    /// `instantiate` (receive tasks).
    pub instantiate: Option<bool>,
    /// `triggeredByEvent` (sub-processes: true for an event sub-process).
    pub triggered_by_event: Option<bool>,
    /// `bpmn:completionCondition` (ad-hoc sub-processes).
    pub completion_condition: Option<Expression>,
    /// Nested flow elements (sub-processes only).
    #[serde(skip_serializing_if = "container_is_empty")]
    pub content: Container,
}

fn container_is_empty(c: &Container) -> bool {
    c.lane_sets.is_empty() && c.flow_elements.is_empty() && c.artifacts.is_empty()
}

/// Loop characteristics of an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LoopCharacteristics {
    /// `bpmn:multiInstanceLoopCharacteristics` (Zeebe data lives in
    /// `base.extension_elements.zeebe.loop_characteristics`).
    MultiInstance(MultiInstance),
    /// `bpmn:standardLoopCharacteristics` (not executed by Zeebe).
    Standard(StandardLoop),
}

/// `bpmn:multiInstanceLoopCharacteristics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiInstance {
    /// `id`.
    pub id: Option<Id>,
    /// `isSequential` (default false: parallel).
    pub is_sequential: Option<bool>,
    /// `bpmn:loopCardinality`.
    pub loop_cardinality: Option<Expression>,
    /// `bpmn:completionCondition`.
    pub completion_condition: Option<Expression>,
    /// Documentation, extensions (zeebe:loopCharacteristics) and unknown content.
    pub base: Base,
}

/// `bpmn:standardLoopCharacteristics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StandardLoop {
    /// `id`.
    pub id: Option<Id>,
    /// `testBefore`.
    pub test_before: Option<bool>,
    /// `loopMaximum`.
    pub loop_maximum: Option<String>,
    /// `bpmn:loopCondition`.
    pub loop_condition: Option<Expression>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// Data of a gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gateway {
    /// `default`: the default outgoing sequence flow (exclusive, inclusive, complex).
    pub default_flow: Option<Id>,
    /// `instantiate` (event-based gateways).
    pub instantiate: Option<bool>,
}
