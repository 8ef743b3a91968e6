//! The typed BPMN 2.0 model: definitions, processes, flow elements, events,
//! collaborations, artifacts, and (in [`di`]) the diagram interchange.
//!
//! Every element keeps what the typed fields do not cover in [`Base`] or
//! [`Extra`], so a parsed document serialises back without losing anything.

mod base;
mod collaboration;
pub mod di;
mod event;
mod id;
mod node;
pub mod zeebe;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use base::{Base, Documentation, Expression, ExtensionElements, Extra};
pub use collaboration::{Collaboration, MessageFlow, Participant};
pub use di::{Bounds, Diagram, DiagramElement, Edge, Font, Label, LabelStyle, Plane, Point, Shape};
pub use event::{Event, EventDefinition, EventDefinitionKind, TimerDefinition};
pub use id::Id;
pub use node::{
    Activity, FlowNode, FlowNodeKind, Gateway, LoopCharacteristics, MultiInstance, StandardLoop,
};
pub use zeebe::Zeebe;

use crate::xml::XmlElement;

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
