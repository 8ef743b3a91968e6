//! The typed BPMN 2.0 model: definitions, processes, flow elements, events,
//! collaborations, artifacts, and (in [`di`]) the diagram interchange.
//!
//! Every element keeps what the typed fields do not cover in [`Base`] or
//! [`Extra`], so a parsed document serialises back without losing anything.

pub mod di;
mod id;
pub mod zeebe;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use di::{Bounds, Diagram, DiagramElement, Edge, Font, Label, LabelStyle, Plane, Point, Shape};
pub use id::Id;
pub use zeebe::Zeebe;

use crate::xml::{XmlAttr, XmlElement, XmlNode};

/// Unknown attributes and child elements of an element, kept for a lossless round-trip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extra {
    /// Attributes the typed model does not know, in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<XmlAttr>,
    /// Child elements the typed model does not know, in canonical order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<XmlElement>,
}

impl Extra {
    /// True if nothing is preserved.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty()
    }
}

/// What every BPMN element may carry besides its typed fields:
/// documentation, extension elements and unknown content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Base {
    /// `bpmn:documentation` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documentation: Vec<Documentation>,
    /// `bpmn:extensionElements` (typed zeebe extensions and other vendors' content).
    #[serde(skip_serializing_if = "ExtensionElements::is_empty")]
    pub extension_elements: ExtensionElements,
    /// Unknown attributes and children.
    #[serde(skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl Base {
    /// The typed zeebe extensions.
    pub fn zeebe(&self) -> &Zeebe {
        &self.extension_elements.zeebe
    }

    /// The typed zeebe extensions, for editing.
    pub fn zeebe_mut(&mut self) -> &mut Zeebe {
        &mut self.extension_elements.zeebe
    }
}

/// `bpmn:documentation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Documentation {
    /// `id`.
    pub id: Option<Id>,
    /// `textFormat` (a MIME type, `text/plain` when absent).
    pub text_format: Option<String>,
    /// Content: usually one text node; mixed content is kept as is.
    pub content: Vec<XmlNode>,
    /// Unknown attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<XmlAttr>,
}

impl Documentation {
    /// Plain-text documentation.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let content = if text.is_empty() {
            Vec::new()
        } else {
            vec![XmlNode::Text(text)]
        };
        Self {
            content,
            ..Self::default()
        }
    }

    /// The text of the documentation (text of nested elements included).
    pub fn text(&self) -> String {
        fn collect(nodes: &[XmlNode], out: &mut String) {
            for n in nodes {
                match n {
                    XmlNode::Text(t) => out.push_str(t),
                    XmlNode::Element(e) => collect(&e.children, out),
                }
            }
        }
        let mut s = String::new();
        collect(&self.content, &mut s);
        s
    }
}

/// `bpmn:extensionElements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionElements {
    /// Typed `zeebe:` extensions.
    #[serde(skip_serializing_if = "zeebe_is_empty")]
    pub zeebe: Box<Zeebe>,
    /// Everything else, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<XmlElement>,
    /// Attributes of the `extensionElements` element itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<XmlAttr>,
}

fn zeebe_is_empty(z: &Zeebe) -> bool {
    z.is_empty()
}

impl ExtensionElements {
    /// True if there is nothing to write (an empty `extensionElements` is dropped).
    pub fn is_empty(&self) -> bool {
        self.zeebe.is_empty() && self.other.is_empty() && self.attrs.is_empty()
    }
}

/// An expression (`bpmn:conditionExpression`, `bpmn:timeDuration`, …).
///
/// Zeebe expressions are FEEL when they start with `=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Expression {
    /// The expression text exactly as written.
    pub body: String,
    /// `language` (FormalExpression).
    pub language: Option<String>,
    /// Other attributes (`id`, `xsi:type`, `evaluatesToTypeRef`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_attrs: Vec<XmlAttr>,
    /// Child elements (not used by BPMN expressions, kept if present).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_children: Vec<XmlElement>,
}

impl Expression {
    /// A `bpmn:tFormalExpression` with the given body, as Camunda Modeler writes it.
    pub fn formal(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            extra_attrs: vec![XmlAttr::with_ns(
                crate::xml::XSI_NS,
                "type",
                "bpmn:tFormalExpression",
            )],
            ..Self::default()
        }
    }

    /// The FEEL source if this is a Zeebe FEEL expression (`=…`).
    pub fn feel(&self) -> Option<&str> {
        self.body.trim_start().strip_prefix('=')
    }
}

/// `bpmn:definitions`: the document root.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Definitions {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `targetNamespace`.
    pub target_namespace: Option<String>,
    /// `expressionLanguage`.
    pub expression_language: Option<String>,
    /// `typeLanguage`.
    pub type_language: Option<String>,
    /// `exporter`.
    pub exporter: Option<String>,
    /// `exporterVersion`.
    pub exporter_version: Option<String>,
    /// `modeler:executionPlatform` (`Camunda Cloud` for Zeebe).
    pub execution_platform: Option<String>,
    /// `modeler:executionPlatformVersion`.
    pub execution_platform_version: Option<String>,
    /// Prefixes of namespaces other than the well-known ones (prefix → URI),
    /// declared on the root when writing so that preserved content and
    /// QName-valued attributes keep their meaning.
    pub namespaces: BTreeMap<String, String>,
    /// Processes, collaborations, messages, errors, signals, … in document order.
    pub root_elements: Vec<RootElement>,
    /// `bpmndi:BPMNDiagram` entries.
    pub diagrams: Vec<Diagram>,
    /// Documentation, extensions and unknown content (imports, relationships, …).
    pub base: Base,
}

/// A top-level element of `bpmn:definitions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RootElement {
    /// `bpmn:process`.
    Process(Process),
    /// `bpmn:collaboration`.
    Collaboration(Collaboration),
    /// `bpmn:message`.
    Message(Message),
    /// `bpmn:error`.
    Error(ErrorDef),
    /// `bpmn:signal`.
    Signal(Signal),
    /// `bpmn:escalation`.
    Escalation(Escalation),
    /// `bpmn:dataStore`.
    DataStore(DataStore),
    /// Any other root element (itemDefinition, resource, interface, globalTask, …).
    Other(XmlElement),
}

impl RootElement {
    /// The element id (`None` for untyped root elements without one).
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Process(p) => Some(p.id.as_str()),
            Self::Collaboration(c) => Some(c.id.as_str()),
            Self::Message(m) => Some(m.id.as_str()),
            Self::Error(e) => Some(e.id.as_str()),
            Self::Signal(s) => Some(s.id.as_str()),
            Self::Escalation(e) => Some(e.id.as_str()),
            Self::DataStore(d) => Some(d.id.as_str()),
            Self::Other(x) => x.attr("id"),
        }
    }
}

/// `bpmn:process`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Process {
    /// `id` (the BPMN process id Zeebe deploys under).
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `isExecutable`.
    pub is_executable: Option<bool>,
    /// Lanes, flow elements and artifacts.
    pub content: Container,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// What a process or a sub-process contains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Container {
    /// `bpmn:laneSet` entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lane_sets: Vec<LaneSet>,
    /// Flow nodes, sequence flows and data elements, in model order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flow_elements: Vec<FlowElement>,
    /// Text annotations, associations and groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
}

/// A flow element of a process or sub-process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FlowElement {
    /// An event, activity or gateway.
    Node(FlowNode),
    /// `bpmn:sequenceFlow`.
    SequenceFlow(SequenceFlow),
    /// `bpmn:dataObject`, `bpmn:dataObjectReference`, `bpmn:dataStoreReference`.
    Data(DataElement),
    /// A flow element the model does not type (choreography activities, implicit throw events).
    Other(XmlElement),
}

impl FlowElement {
    /// The element id, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Node(n) => Some(n.id.as_str()),
            Self::SequenceFlow(f) => Some(f.id.as_str()),
            Self::Data(d) => Some(d.id.as_str()),
            Self::Other(x) => x.attr("id"),
        }
    }
}

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

/// Data of an event (start, intermediate, end, boundary).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Event definitions; empty for a "none" event.
    pub definitions: Vec<EventDefinition>,
    /// `isInterrupting` (start events of event sub-processes).
    pub is_interrupting: Option<bool>,
    /// `parallelMultiple`.
    pub parallel_multiple: Option<bool>,
    /// `attachedToRef` (boundary events).
    pub attached_to_ref: Option<Id>,
    /// `cancelActivity` (boundary events).
    pub cancel_activity: Option<bool>,
}

impl Event {
    /// An event with one definition.
    pub fn with(kind: EventDefinitionKind) -> Self {
        Self {
            definitions: vec![EventDefinition::new(kind)],
            ..Self::default()
        }
    }

    /// The first event definition, if any.
    pub fn definition(&self) -> Option<&EventDefinitionKind> {
        self.definitions.first().map(|d| &d.kind)
    }

    /// `isInterrupting` with its default (true).
    pub fn interrupting(&self) -> bool {
        self.is_interrupting.unwrap_or(true)
    }

    /// `cancelActivity` with its default (true).
    pub fn cancels_activity(&self) -> bool {
        self.cancel_activity.unwrap_or(true)
    }
}

/// An event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDefinition {
    /// `id`.
    #[serde(default)]
    pub id: Option<Id>,
    /// Kind and kind-specific data.
    pub kind: EventDefinitionKind,
    /// Documentation, extensions and unknown content.
    #[serde(default)]
    pub base: Base,
}

impl EventDefinition {
    /// A definition without id.
    pub fn new(kind: EventDefinitionKind) -> Self {
        Self {
            id: None,
            kind,
            base: Base::default(),
        }
    }
}

/// The kinds of event definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventDefinitionKind {
    /// `bpmn:messageEventDefinition`.
    Message {
        /// `messageRef`.
        message_ref: Option<Id>,
    },
    /// `bpmn:timerEventDefinition`.
    Timer(TimerDefinition),
    /// `bpmn:errorEventDefinition`.
    Error {
        /// `errorRef`.
        error_ref: Option<Id>,
    },
    /// `bpmn:signalEventDefinition`.
    Signal {
        /// `signalRef`.
        signal_ref: Option<Id>,
    },
    /// `bpmn:escalationEventDefinition`.
    Escalation {
        /// `escalationRef`.
        escalation_ref: Option<Id>,
    },
    /// `bpmn:terminateEventDefinition`.
    Terminate,
    /// `bpmn:cancelEventDefinition`.
    Cancel,
    /// `bpmn:linkEventDefinition`.
    Link {
        /// `name`: throw and catch links pair by name.
        name: Option<String>,
    },
    /// `bpmn:conditionalEventDefinition`.
    Conditional {
        /// `bpmn:condition`.
        condition: Option<Expression>,
    },
    /// `bpmn:compensateEventDefinition`.
    Compensate {
        /// `activityRef`.
        activity_ref: Option<Id>,
        /// `waitForCompletion`.
        wait_for_completion: Option<bool>,
    },
}

impl EventDefinitionKind {
    /// The BPMN element name (`timerEventDefinition`, …).
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Message { .. } => "messageEventDefinition",
            Self::Timer(_) => "timerEventDefinition",
            Self::Error { .. } => "errorEventDefinition",
            Self::Signal { .. } => "signalEventDefinition",
            Self::Escalation { .. } => "escalationEventDefinition",
            Self::Terminate => "terminateEventDefinition",
            Self::Cancel => "cancelEventDefinition",
            Self::Link { .. } => "linkEventDefinition",
            Self::Conditional { .. } => "conditionalEventDefinition",
            Self::Compensate { .. } => "compensateEventDefinition",
        }
    }
}

/// `bpmn:timerEventDefinition`: exactly one of the three should be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimerDefinition {
    /// `bpmn:timeDate`: an ISO-8601 date-time.
    pub time_date: Option<Expression>,
    /// `bpmn:timeDuration`: an ISO-8601 duration.
    pub time_duration: Option<Expression>,
    /// `bpmn:timeCycle`: an ISO-8601 repeating interval or a cron expression.
    pub time_cycle: Option<Expression>,
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

/// `bpmn:sequenceFlow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SequenceFlow {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `sourceRef`.
    pub source_ref: Id,
    /// `targetRef`.
    pub target_ref: Id,
    /// `bpmn:conditionExpression`.
    pub condition: Option<Expression>,
    /// `isImmediate`.
    pub is_immediate: Option<bool>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:dataObject`, `bpmn:dataObjectReference` or `bpmn:dataStoreReference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataElement {
    /// `id`.
    pub id: Id,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// Which data element and its reference.
    pub kind: DataKind,
    /// Documentation, extensions and unknown content (`dataState`, …).
    #[serde(default)]
    pub base: Base,
}

/// The kinds of data element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataKind {
    /// `bpmn:dataObject`.
    DataObject {
        /// `isCollection`.
        is_collection: Option<bool>,
    },
    /// `bpmn:dataObjectReference`.
    DataObjectReference {
        /// `dataObjectRef`.
        data_object_ref: Option<Id>,
    },
    /// `bpmn:dataStoreReference`.
    DataStoreReference {
        /// `dataStoreRef`.
        data_store_ref: Option<Id>,
    },
}

/// An artifact: text annotation, association or group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// `id`.
    pub id: Id,
    /// Which artifact and its data.
    pub kind: ArtifactKind,
    /// Documentation, extensions and unknown content.
    #[serde(default)]
    pub base: Base,
}

/// The kinds of artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ArtifactKind {
    /// `bpmn:textAnnotation`.
    TextAnnotation {
        /// `bpmn:text` content.
        text: Option<String>,
        /// `textFormat`.
        text_format: Option<String>,
    },
    /// `bpmn:association`.
    Association {
        /// `sourceRef`.
        source_ref: Option<Id>,
        /// `targetRef`.
        target_ref: Option<Id>,
        /// `associationDirection` (`None`, `One`, `Both`).
        direction: Option<String>,
    },
    /// `bpmn:group`.
    Group {
        /// `categoryValueRef`.
        category_value_ref: Option<Id>,
    },
}

/// `bpmn:laneSet`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LaneSet {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// Lanes.
    pub lanes: Vec<Lane>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:lane`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lane {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `bpmn:flowNodeRef` entries.
    pub flow_node_refs: Vec<Id>,
    /// `bpmn:childLaneSet`.
    pub child_lane_set: Option<Box<LaneSet>>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:collaboration`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Collaboration {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `isClosed`.
    pub is_closed: Option<bool>,
    /// `bpmn:participant` (pools).
    pub participants: Vec<Participant>,
    /// `bpmn:messageFlow`.
    pub message_flows: Vec<MessageFlow>,
    /// Artifacts drawn on the collaboration.
    pub artifacts: Vec<Artifact>,
    /// Documentation, extensions and unknown content (conversations, …).
    pub base: Base,
}

/// `bpmn:participant` (a pool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Participant {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `processRef`: the process shown in the pool (absent for a black-box pool).
    pub process_ref: Option<Id>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:messageFlow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageFlow {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `sourceRef`.
    pub source_ref: Id,
    /// `targetRef`.
    pub target_ref: Id,
    /// `messageRef`.
    pub message_ref: Option<Id>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:message` (its zeebe subscription is in `base`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// `id`.
    pub id: Id,
    /// `name`: what Zeebe correlates on (may be a FEEL expression).
    pub name: Option<String>,
    /// Documentation, extensions (zeebe:subscription) and unknown content.
    pub base: Base,
}

/// `bpmn:error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDef {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `errorCode`.
    pub error_code: Option<String>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:signal`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Signal {
    /// `id`.
    pub id: Id,
    /// `name`: what Zeebe broadcasts on.
    pub name: Option<String>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:escalation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Escalation {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// `escalationCode`.
    pub escalation_code: Option<String>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}

/// `bpmn:dataStore`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataStore {
    /// `id`.
    pub id: Id,
    /// `name`.
    pub name: Option<String>,
    /// Documentation, extensions and unknown content.
    pub base: Base,
}
