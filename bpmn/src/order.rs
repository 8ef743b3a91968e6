//! The canonical order of child elements.
//!
//! Children of a typed element are written in the order of the BPMN 2.0 XSD
//! sequences; each known child name has a rank and children are sorted by rank
//! (stably, so elements of the same rank keep model order). Unknown children
//! of a BPMN element rank after all known ones.

use crate::xml::{BPMN_NS, BPMNDI_NS, DC_NS, DI_NS};

/// Which XSD sequence applies to the children of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Definitions,
    Process,
    Collaboration,
    General,
    Di,
}

pub(crate) const LAST: u16 = 100;

const FLOW_ELEMENTS: [&str; 27] = [
    "startEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "endEvent",
    "boundaryEvent",
    "implicitThrowEvent",
    "task",
    "serviceTask",
    "userTask",
    "scriptTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "manualTask",
    "callActivity",
    "subProcess",
    "adHocSubProcess",
    "transaction",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
    "sequenceFlow",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
];

const CHOREOGRAPHY_FLOW_ELEMENTS: [&str; 3] =
    ["callChoreography", "choreographyTask", "subChoreography"];

/// True for BPMN element names that are flow elements.
pub(crate) fn is_flow_element(name: &str) -> bool {
    FLOW_ELEMENTS.contains(&name) || CHOREOGRAPHY_FLOW_ELEMENTS.contains(&name)
}

/// True for BPMN element names that are artifacts.
pub(crate) fn is_artifact(name: &str) -> bool {
    matches!(name, "textAnnotation" | "association" | "group")
}

/// True for BPMN event definition element names.
pub(crate) fn is_event_definition(name: &str) -> bool {
    matches!(
        name,
        "messageEventDefinition"
            | "timerEventDefinition"
            | "errorEventDefinition"
            | "signalEventDefinition"
            | "escalationEventDefinition"
            | "terminateEventDefinition"
            | "cancelEventDefinition"
            | "linkEventDefinition"
            | "conditionalEventDefinition"
            | "compensateEventDefinition"
    )
}

fn is_resource_role(name: &str) -> bool {
    matches!(
        name,
        "resourceRole" | "performer" | "humanPerformer" | "potentialOwner"
    )
}

/// Rank of a child element `ns:name` inside an element of context `ctx`.
pub(crate) fn rank(ctx: Ctx, ns: Option<&str>, name: &str) -> u16 {
    match ns {
        Some(BPMN_NS) => bpmn_rank(ctx, name),
        Some(BPMNDI_NS | DI_NS | DC_NS) => di_rank(ctx, name),
        _ => LAST,
    }
}

fn di_rank(ctx: Ctx, name: &str) -> u16 {
    match (ctx, name) {
        (Ctx::Definitions, "BPMNDiagram") => 5,
        (_, "extension") => 1,
        (_, "BPMNPlane" | "Bounds" | "waypoint" | "Font" | "BPMNShape" | "BPMNEdge") => 2,
        (_, "BPMNLabel" | "BPMNLabelStyle") => 3,
        _ => LAST,
    }
}

fn bpmn_rank(ctx: Ctx, name: &str) -> u16 {
    match name {
        "documentation" => return 0,
        "extensionElements" => return 1,
        _ => {}
    }
    match ctx {
        Ctx::Definitions => match name {
            "import" => 2,
            "extension" => 3,
            "relationship" => 6,
            _ => 4,
        },
        Ctx::Process => match name {
            "supportedInterfaceRef" => 2,
            "ioSpecification" => 3,
            "ioBinding" => 4,
            "auditing" => 5,
            "monitoring" => 6,
            "property" => 7,
            "laneSet" => 50,
            n if is_flow_element(n) => 51,
            n if is_artifact(n) => 52,
            n if is_resource_role(n) => 53,
            "correlationSubscription" => 54,
            "supports" => 55,
            _ => LAST,
        },
        Ctx::Collaboration => match name {
            "participant" => 60,
            "messageFlow" => 61,
            n if is_artifact(n) => 62,
            "conversation" | "subConversation" | "callConversation" => 63,
            "conversationAssociation" => 64,
            "participantAssociation" => 65,
            "messageFlowAssociation" => 66,
            "correlationKey" => 67,
            "choreographyRef" => 68,
            "conversationLink" => 69,
            _ => LAST,
        },
        Ctx::General | Ctx::Di => match name {
            "auditing" => 2,
            "monitoring" => 3,
            "categoryValueRef" => 4,
            "incoming" => 5,
            "outgoing" => 6,
            "interfaceRef" => 7,
            "participantMultiplicity" => 8,
            "endPointRef" => 9,
            "partitionElement" => 10,
            "flowNodeRef" => 11,
            "childLaneSet" => 12,
            "lane" => 13,
            "conditionExpression" => 14,
            "timeDate" | "timeDuration" | "timeCycle" | "condition" | "source" => 15,
            "target" => 16,
            "sourceRef" => 17,
            "targetRef" => 18,
            "transformation" => 19,
            "assignment" => 20,
            "text" => 21,
            "ioSpecification" => 22,
            "property" => 23,
            "dataInput" => 24,
            "dataOutput" => 25,
            "dataInputAssociation" => 26,
            "dataOutputAssociation" => 27,
            "inputSet" => 28,
            "outputSet" => 29,
            n if is_event_definition(n) => 30,
            "eventDefinitionRef" => 31,
            n if is_resource_role(n) => 32,
            "standardLoopCharacteristics" | "multiInstanceLoopCharacteristics" => 33,
            "script" => 41,
            "rendering" => 42,
            "laneSet" => 50,
            n if is_flow_element(n) => 51,
            n if is_artifact(n) => 52,
            "loopCardinality" => 70,
            "loopDataInputRef" => 71,
            "loopDataOutputRef" => 72,
            "inputDataItem" => 73,
            "outputDataItem" => 74,
            "complexBehaviorDefinition" => 75,
            "completionCondition" => 76,
            "loopCondition" => 77,
            "dataState" => 78,
            _ => LAST,
        },
    }
}
