//! Second parsing stage: the raw element tree to the typed model. Whatever a
//! typed element does not consume is kept in its [`Base`]/[`Extra`].

mod di;
mod zeebe;

use crate::error::{ParseError, line_col};
use crate::model::*;
use crate::order::{Ctx, is_artifact, is_event_definition, is_flow_element, rank};
use crate::raw::{RawDocument, RawElement, RawNode, nodes, sorted_attrs, to_xml};
use crate::xml::{BPMN_NS, BPMNDI_NS, MODELER_NS, XmlElement};
use zeebe::merge_extension_elements;

pub(crate) fn definitions(src: &str, doc: RawDocument) -> Result<Definitions, ParseError> {
    let p = Conv { src };
    let mut root = doc.root;
    if !root.is(BPMN_NS, "definitions") {
        return Err(p.model(
            &root,
            format!(
                "root element is <{}> in namespace {:?}; a BPMN document has <definitions> \
                 in namespace {BPMN_NS}",
                root.name,
                root.ns.as_deref().unwrap_or("")
            ),
        ));
    }
    let mut defs = Definitions {
        id: root.take_id("id").unwrap_or_default(),
        name: root.take_attr("name"),
        target_namespace: root.take_attr("targetNamespace"),
        expression_language: root.take_attr("expressionLanguage"),
        type_language: root.take_attr("typeLanguage"),
        exporter: root.take_attr("exporter"),
        exporter_version: root.take_attr("exporterVersion"),
        execution_platform: root.take_attr_ns(MODELER_NS, "executionPlatform"),
        execution_platform_version: root.take_attr_ns(MODELER_NS, "executionPlatformVersion"),
        namespaces: doc.namespaces,
        ..Definitions::default()
    };
    let mut keep = Vec::new();
    for child in std::mem::take(&mut root.children) {
        let RawNode::Element(el) = child else {
            continue;
        };
        match (el.ns.as_deref(), el.name.as_str()) {
            (
                Some(BPMN_NS),
                "documentation" | "extensionElements" | "import" | "extension" | "relationship",
            ) => keep.push(RawNode::Element(el)),
            (Some(BPMN_NS), _) => defs.root_elements.push(p.root_element(el)?),
            (Some(BPMNDI_NS), "BPMNDiagram") => defs.diagrams.push(p.diagram(el)?),
            _ => keep.push(RawNode::Element(el)),
        }
    }
    root.children = keep;
    defs.base = p.base(root, Ctx::Definitions);
    Ok(defs)
}

fn ids_of(children: Vec<RawElement>) -> Vec<Id> {
    children
        .into_iter()
        .map(|c| Id::from(c.text().trim()))
        .collect()
}

struct Conv<'a> {
    src: &'a str,
}

impl Conv<'_> {
    fn model(&self, el: &RawElement, message: String) -> ParseError {
        let (line, column) = line_col(self.src, el.pos);
        let element_id = el
            .attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == "id")
            .map(|a| a.value.clone());
        ParseError::Model {
            line,
            column,
            message,
            element_id,
        }
    }

    /// Everything left in `el`: documentation, extension elements and unknown content.
    fn base(&self, mut el: RawElement, ctx: Ctx) -> Base {
        let documentation = el
            .take_children(BPMN_NS, "documentation")
            .into_iter()
            .map(documentation)
            .collect();
        // Several extensionElements are merged: they are written back as one.
        let mut extension_elements = ExtensionElements::default();
        for ext in el.take_children(BPMN_NS, "extensionElements") {
            merge_extension_elements(&mut extension_elements, ext);
        }
        Base {
            documentation,
            extension_elements,
            extra: extra(el, ctx),
        }
    }

    fn root_element(&self, mut el: RawElement) -> Result<RootElement, ParseError> {
        Ok(match el.name.as_str() {
            "process" => RootElement::Process(self.process(el)?),
            "collaboration" => RootElement::Collaboration(self.collaboration(el)),
            "message" => RootElement::Message(Message {
                id: el.take_id("id").unwrap_or_default(),
                name: el.take_attr("name"),
                base: self.base(el, Ctx::General),
            }),
            "error" => RootElement::Error(ErrorDef {
                id: el.take_id("id").unwrap_or_default(),
                name: el.take_attr("name"),
                error_code: el.take_attr("errorCode"),
                base: self.base(el, Ctx::General),
            }),
            "signal" => RootElement::Signal(Signal {
                id: el.take_id("id").unwrap_or_default(),
                name: el.take_attr("name"),
                base: self.base(el, Ctx::General),
            }),
            "escalation" => RootElement::Escalation(Escalation {
                id: el.take_id("id").unwrap_or_default(),
                name: el.take_attr("name"),
                escalation_code: el.take_attr("escalationCode"),
                base: self.base(el, Ctx::General),
            }),
            "dataStore" => RootElement::DataStore(DataStore {
                id: el.take_id("id").unwrap_or_default(),
                name: el.take_attr("name"),
                base: self.base(el, Ctx::General),
            }),
            _ => RootElement::Other(to_xml(el)),
        })
    }

    fn process(&self, mut el: RawElement) -> Result<Process, ParseError> {
        Ok(Process {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            is_executable: el.take_bool("isExecutable"),
            content: self.container(&mut el)?,
            base: self.base(el, Ctx::Process),
        })
    }

    fn container(&self, el: &mut RawElement) -> Result<Container, ParseError> {
        let mut c = Container::default();
        let mut keep = Vec::new();
        for child in std::mem::take(&mut el.children) {
            let RawNode::Element(e) = child else {
                keep.push(child);
                continue;
            };
            if e.ns.as_deref() != Some(BPMN_NS) {
                keep.push(RawNode::Element(e));
                continue;
            }
            match e.name.as_str() {
                "laneSet" => c.lane_sets.push(self.lane_set(e)),
                n if is_flow_element(n) => c.flow_elements.push(self.flow_element(e)?),
                n if is_artifact(n) => c.artifacts.push(self.artifact(e)),
                _ => keep.push(RawNode::Element(e)),
            }
        }
        el.children = keep;
        Ok(c)
    }

    fn lane_set(&self, mut el: RawElement) -> LaneSet {
        LaneSet {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            lanes: el
                .take_children(BPMN_NS, "lane")
                .into_iter()
                .map(|l| self.lane(l))
                .collect(),
            base: self.base(el, Ctx::General),
        }
    }

    fn lane(&self, mut el: RawElement) -> Lane {
        Lane {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            flow_node_refs: ids_of(el.take_children(BPMN_NS, "flowNodeRef")),
            child_lane_set: el
                .take_child(BPMN_NS, "childLaneSet")
                .map(|c| Box::new(self.lane_set(c))),
            base: self.base(el, Ctx::General),
        }
    }

    fn artifact(&self, mut el: RawElement) -> Artifact {
        let id = el.take_id("id").unwrap_or_default();
        let kind = match el.name.as_str() {
            "textAnnotation" => ArtifactKind::TextAnnotation {
                text_format: el.take_attr("textFormat"),
                text: el.take_child(BPMN_NS, "text").map(|t| t.text()),
            },
            "association" => ArtifactKind::Association {
                source_ref: el.take_id("sourceRef"),
                target_ref: el.take_id("targetRef"),
                direction: el.take_attr("associationDirection"),
            },
            _ => ArtifactKind::Group {
                category_value_ref: el.take_id("categoryValueRef"),
            },
        };
        Artifact {
            id,
            kind,
            base: self.base(el, Ctx::General),
        }
    }

    fn flow_element(&self, mut el: RawElement) -> Result<FlowElement, ParseError> {
        let kind = match el.name.as_str() {
            "sequenceFlow" => {
                return Ok(FlowElement::SequenceFlow(SequenceFlow {
                    id: el.take_id("id").unwrap_or_default(),
                    name: el.take_attr("name"),
                    source_ref: el.take_id("sourceRef").unwrap_or_default(),
                    target_ref: el.take_id("targetRef").unwrap_or_default(),
                    is_immediate: el.take_bool("isImmediate"),
                    condition: el
                        .take_child(BPMN_NS, "conditionExpression")
                        .map(expression),
                    base: self.base(el, Ctx::General),
                }));
            }
            "dataObject" => DataKind::DataObject {
                is_collection: el.take_bool("isCollection"),
            },
            "dataObjectReference" => DataKind::DataObjectReference {
                data_object_ref: el.take_id("dataObjectRef"),
            },
            "dataStoreReference" => DataKind::DataStoreReference {
                data_store_ref: el.take_id("dataStoreRef"),
            },
            "implicitThrowEvent" | "callChoreography" | "choreographyTask" | "subChoreography" => {
                return Ok(FlowElement::Other(to_xml(el)));
            }
            _ => return Ok(FlowElement::Node(self.flow_node(el)?)),
        };
        Ok(FlowElement::Data(DataElement {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            kind,
            base: self.base(el, Ctx::General),
        }))
    }

    fn flow_node(&self, mut el: RawElement) -> Result<FlowNode, ParseError> {
        let id = el.take_id("id").unwrap_or_default();
        let name = el.take_attr("name");
        let incoming = ids_of(el.take_children(BPMN_NS, "incoming"));
        let outgoing = ids_of(el.take_children(BPMN_NS, "outgoing"));
        let tag = el.name.clone();
        let kind = match tag.as_str() {
            "startEvent" => FlowNodeKind::StartEvent(self.event(&mut el)),
            "intermediateCatchEvent" => FlowNodeKind::IntermediateCatchEvent(self.event(&mut el)),
            "intermediateThrowEvent" => FlowNodeKind::IntermediateThrowEvent(self.event(&mut el)),
            "endEvent" => FlowNodeKind::EndEvent(self.event(&mut el)),
            "boundaryEvent" => FlowNodeKind::BoundaryEvent(self.event(&mut el)),
            "task" => FlowNodeKind::Task(self.activity(&mut el)?),
            "serviceTask" => FlowNodeKind::ServiceTask(self.activity(&mut el)?),
            "userTask" => FlowNodeKind::UserTask(self.activity(&mut el)?),
            "scriptTask" => FlowNodeKind::ScriptTask(self.activity(&mut el)?),
            "sendTask" => FlowNodeKind::SendTask(self.activity(&mut el)?),
            "receiveTask" => FlowNodeKind::ReceiveTask(self.activity(&mut el)?),
            "businessRuleTask" => FlowNodeKind::BusinessRuleTask(self.activity(&mut el)?),
            "manualTask" => FlowNodeKind::ManualTask(self.activity(&mut el)?),
            "callActivity" => FlowNodeKind::CallActivity(self.activity(&mut el)?),
            "subProcess" => FlowNodeKind::SubProcess(self.activity(&mut el)?),
            "adHocSubProcess" => FlowNodeKind::AdHocSubProcess(self.activity(&mut el)?),
            "transaction" => FlowNodeKind::Transaction(self.activity(&mut el)?),
            "exclusiveGateway" => FlowNodeKind::ExclusiveGateway(gateway(&mut el)),
            "parallelGateway" => FlowNodeKind::ParallelGateway(gateway(&mut el)),
            "inclusiveGateway" => FlowNodeKind::InclusiveGateway(gateway(&mut el)),
            "eventBasedGateway" => FlowNodeKind::EventBasedGateway(gateway(&mut el)),
            _ => FlowNodeKind::ComplexGateway(gateway(&mut el)),
        };
        Ok(FlowNode {
            id,
            name,
            incoming,
            outgoing,
            kind,
            base: self.base(el, Ctx::General),
        })
    }

    fn event(&self, el: &mut RawElement) -> Event {
        let mut definitions = Vec::new();
        let mut keep = Vec::new();
        for child in std::mem::take(&mut el.children) {
            match child {
                RawNode::Element(e)
                    if e.ns.as_deref() == Some(BPMN_NS) && is_event_definition(&e.name) =>
                {
                    definitions.push(self.event_definition(e));
                }
                other => keep.push(other),
            }
        }
        el.children = keep;
        Event {
            definitions,
            is_interrupting: el.take_bool("isInterrupting"),
            parallel_multiple: el.take_bool("parallelMultiple"),
            attached_to_ref: el.take_id("attachedToRef"),
            cancel_activity: el.take_bool("cancelActivity"),
        }
    }

    fn event_definition(&self, mut el: RawElement) -> EventDefinition {
        let id = el.take_id("id");
        let kind = match el.name.as_str() {
            "messageEventDefinition" => EventDefinitionKind::Message {
                message_ref: el.take_id("messageRef"),
            },
            "timerEventDefinition" => EventDefinitionKind::Timer(TimerDefinition {
                time_date: el.take_child(BPMN_NS, "timeDate").map(expression),
                time_duration: el.take_child(BPMN_NS, "timeDuration").map(expression),
                time_cycle: el.take_child(BPMN_NS, "timeCycle").map(expression),
            }),
            "errorEventDefinition" => EventDefinitionKind::Error {
                error_ref: el.take_id("errorRef"),
            },
            "signalEventDefinition" => EventDefinitionKind::Signal {
                signal_ref: el.take_id("signalRef"),
            },
            "escalationEventDefinition" => EventDefinitionKind::Escalation {
                escalation_ref: el.take_id("escalationRef"),
            },
            "terminateEventDefinition" => EventDefinitionKind::Terminate,
            "cancelEventDefinition" => EventDefinitionKind::Cancel,
            "linkEventDefinition" => EventDefinitionKind::Link {
                name: el.take_attr("name"),
            },
            "conditionalEventDefinition" => EventDefinitionKind::Conditional {
                condition: el.take_child(BPMN_NS, "condition").map(expression),
            },
            _ => EventDefinitionKind::Compensate {
                activity_ref: el.take_id("activityRef"),
                wait_for_completion: el.take_bool("waitForCompletion"),
            },
        };
        EventDefinition {
            id,
            kind,
            base: self.base(el, Ctx::General),
        }
    }

    fn activity(&self, el: &mut RawElement) -> Result<Activity, ParseError> {
        let loop_characteristics =
            if let Some(mi) = el.take_child(BPMN_NS, "multiInstanceLoopCharacteristics") {
                Some(Box::new(LoopCharacteristics::MultiInstance(
                    self.multi_instance(mi),
                )))
            } else {
                el.take_child(BPMN_NS, "standardLoopCharacteristics")
                    .map(|mut l| {
                        Box::new(LoopCharacteristics::Standard(StandardLoop {
                            id: l.take_id("id"),
                            test_before: l.take_bool("testBefore"),
                            loop_maximum: l.take_attr("loopMaximum"),
                            loop_condition: l.take_child(BPMN_NS, "loopCondition").map(expression),
                            base: self.base(l, Ctx::General),
                        }))
                    })
            };
        Ok(Activity {
            default_flow: el.take_id("default"),
            is_for_compensation: el.take_bool("isForCompensation"),
            loop_characteristics,
            message_ref: el.take_id("messageRef"),
            instantiate: el.take_bool("instantiate"),
            triggered_by_event: el.take_bool("triggeredByEvent"),
            completion_condition: el
                .take_child(BPMN_NS, "completionCondition")
                .map(expression),
            content: self.container(el)?,
        })
    }

    fn multi_instance(&self, mut el: RawElement) -> MultiInstance {
        MultiInstance {
            id: el.take_id("id"),
            is_sequential: el.take_bool("isSequential"),
            loop_cardinality: el.take_child(BPMN_NS, "loopCardinality").map(expression),
            completion_condition: el
                .take_child(BPMN_NS, "completionCondition")
                .map(expression),
            base: self.base(el, Ctx::General),
        }
    }

    fn collaboration(&self, mut el: RawElement) -> Collaboration {
        let participants = el
            .take_children(BPMN_NS, "participant")
            .into_iter()
            .map(|mut p| Participant {
                id: p.take_id("id").unwrap_or_default(),
                name: p.take_attr("name"),
                process_ref: p.take_id("processRef"),
                base: self.base(p, Ctx::General),
            })
            .collect();
        let message_flows = el
            .take_children(BPMN_NS, "messageFlow")
            .into_iter()
            .map(|mut m| MessageFlow {
                id: m.take_id("id").unwrap_or_default(),
                name: m.take_attr("name"),
                source_ref: m.take_id("sourceRef").unwrap_or_default(),
                target_ref: m.take_id("targetRef").unwrap_or_default(),
                message_ref: m.take_id("messageRef"),
                base: self.base(m, Ctx::General),
            })
            .collect();
        let mut artifacts = Vec::new();
        let mut keep = Vec::new();
        for child in std::mem::take(&mut el.children) {
            match child {
                RawNode::Element(e) if e.ns.as_deref() == Some(BPMN_NS) && is_artifact(&e.name) => {
                    artifacts.push(self.artifact(e));
                }
                other => keep.push(other),
            }
        }
        el.children = keep;
        Collaboration {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            is_closed: el.take_bool("isClosed"),
            participants,
            message_flows,
            artifacts,
            base: self.base(el, Ctx::Collaboration),
        }
    }
}

fn gateway(el: &mut RawElement) -> Gateway {
    Gateway {
        default_flow: el.take_id("default"),
        instantiate: el.take_bool("instantiate"),
    }
}

fn extra(el: RawElement, ctx: Ctx) -> Extra {
    let mut children: Vec<XmlElement> = el
        .children
        .into_iter()
        .filter_map(|c| match c {
            RawNode::Element(e) => Some(to_xml(e)),
            RawNode::Text(_) => None,
        })
        .collect();
    children.sort_by_key(|c| rank(ctx, c.ns.as_deref(), &c.name));
    Extra {
        attrs: sorted_attrs(el.attrs),
        children,
    }
}

fn expression(mut el: RawElement) -> Expression {
    let body = el.text();
    let language = el.take_attr("language");
    Expression {
        body,
        language,
        extra_attrs: sorted_attrs(el.attrs),
        extra_children: el
            .children
            .into_iter()
            .filter_map(|c| match c {
                RawNode::Element(e) => Some(to_xml(e)),
                RawNode::Text(_) => None,
            })
            .collect(),
    }
}

fn documentation(mut el: RawElement) -> Documentation {
    let content = std::mem::take(&mut el.children);
    Documentation {
        id: el.take_id("id"),
        text_format: el.take_attr("textFormat"),
        content: nodes(content),
        extra_attrs: sorted_attrs(el.attrs),
    }
}
