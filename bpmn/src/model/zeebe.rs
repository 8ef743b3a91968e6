//! Typed `zeebe:` extension elements (Camunda 8), found inside `bpmn:extensionElements`.
//!
//! Each typed element keeps attributes it does not know in `extra`, so newer
//! attributes survive a round-trip. A `zeebe:` element that does not fit its
//! typed form (an unknown child, or a second occurrence) is kept as a generic
//! node in [`ExtensionElements::other`](super::ExtensionElements::other).

use serde::{Deserialize, Serialize};

use crate::xml::XmlAttr;

/// All typed zeebe extensions an element can carry. Which ones the engine
/// reads depends on the element kind (see the validator for the rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Zeebe {
    /// `zeebe:taskDefinition`: job type and retries of a job-based task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDefinition>,
    /// `zeebe:ioMapping`: input and output variable mappings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io_mapping: Option<IoMapping>,
    /// `zeebe:taskHeaders`: static headers handed to job workers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_headers: Option<TaskHeaders>,
    /// `zeebe:subscription`: message correlation key (on `bpmn:message`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// `zeebe:calledElement`: process called by a call activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_element: Option<CalledElement>,
    /// `zeebe:loopCharacteristics`: multi-instance collections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loop_characteristics: Option<ZeebeLoopCharacteristics>,
    /// `zeebe:script`: FEEL script of a script task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<Script>,
    /// `zeebe:formDefinition`: form linked to a user task or start event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_definition: Option<FormDefinition>,
    /// `zeebe:assignmentDefinition`: user task assignment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_definition: Option<AssignmentDefinition>,
    /// `zeebe:properties`: free key/value properties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties>,
}

impl Zeebe {
    /// True if no typed zeebe extension is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// `zeebe:taskDefinition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskDefinition {
    /// `type`: the job type workers subscribe to (may be a FEEL expression `=…`).
    pub job_type: Option<String>,
    /// `retries`: number of retries (may be a FEEL expression).
    pub retries: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:ioMapping`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IoMapping {
    /// `zeebe:input` entries, in order.
    pub inputs: Vec<Mapping>,
    /// `zeebe:output` entries, in order.
    pub outputs: Vec<Mapping>,
    /// Attributes of `zeebe:ioMapping` itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// One `zeebe:input` or `zeebe:output`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mapping {
    /// `source`: a FEEL expression (`=…`) or a static value.
    pub source: Option<String>,
    /// `target`: the variable written.
    pub target: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

impl Mapping {
    /// A mapping from `source` to `target`.
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        Self {
            source: Some(source.into()),
            target: Some(target.into()),
            extra: Vec::new(),
        }
    }
}

/// `zeebe:taskHeaders`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskHeaders {
    /// `zeebe:header` entries, in order.
    pub headers: Vec<Header>,
    /// Attributes of `zeebe:taskHeaders` itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// One `zeebe:header`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Header {
    /// `key`.
    pub key: Option<String>,
    /// `value`.
    pub value: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:subscription`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Subscription {
    /// `correlationKey`: FEEL expression evaluated against the process variables.
    pub correlation_key: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:calledElement`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CalledElement {
    /// `processId`: BPMN process id to start (may be a FEEL expression).
    pub process_id: Option<String>,
    /// `propagateAllChildVariables`.
    pub propagate_all_child_variables: Option<bool>,
    /// `propagateAllParentVariables`.
    pub propagate_all_parent_variables: Option<bool>,
    /// `bindingType` (`latest`, `deployment`, `versionTag`).
    pub binding_type: Option<String>,
    /// `versionTag`.
    pub version_tag: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:loopCharacteristics` (inside `bpmn:multiInstanceLoopCharacteristics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ZeebeLoopCharacteristics {
    /// `inputCollection`: FEEL expression giving the collection to iterate.
    pub input_collection: Option<String>,
    /// `inputElement`: variable receiving each item.
    pub input_element: Option<String>,
    /// `outputCollection`: variable collecting the results.
    pub output_collection: Option<String>,
    /// `outputElement`: FEEL expression giving each result.
    pub output_element: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:script`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Script {
    /// `expression`: the FEEL expression.
    pub expression: Option<String>,
    /// `resultVariable`.
    pub result_variable: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:formDefinition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormDefinition {
    /// `formKey` (embedded or custom form).
    pub form_key: Option<String>,
    /// `formId` (linked Camunda form).
    pub form_id: Option<String>,
    /// `externalReference` (external form URL).
    pub external_reference: Option<String>,
    /// `bindingType`.
    pub binding_type: Option<String>,
    /// `versionTag`.
    pub version_tag: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:assignmentDefinition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssignmentDefinition {
    /// `assignee`.
    pub assignee: Option<String>,
    /// `candidateGroups`.
    pub candidate_groups: Option<String>,
    /// `candidateUsers`.
    pub candidate_users: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// `zeebe:properties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Properties {
    /// `zeebe:property` entries, in order.
    pub properties: Vec<Property>,
    /// Attributes of `zeebe:properties` itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}

/// One `zeebe:property`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Property {
    /// `name`.
    pub name: Option<String>,
    /// `value`.
    pub value: Option<String>,
    /// Attributes not typed above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<XmlAttr>,
}
