//! Second parsing stage: the raw element tree to the typed model. Whatever a
//! typed element does not consume is kept in its [`Base`]/[`Extra`].

use crate::error::{ParseError, line_col};
use crate::model::zeebe::{
    AssignmentDefinition, CalledElement, FormDefinition, Header, IoMapping, Mapping, Properties,
    Property, Script, Subscription, TaskDefinition, TaskHeaders, Zeebe, ZeebeLoopCharacteristics,
};
use crate::model::*;
use crate::order::{Ctx, is_artifact, is_event_definition, is_flow_element, rank};
use crate::raw::{
    RawAttr, RawDocument, RawElement, RawNode, nodes, parse_bool, parse_f64, sorted_attrs, to_xml,
};
use crate::xml::{BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, MODELER_NS, XmlAttr, XmlElement, ZEEBE_NS};

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

    fn diagram(&self, mut el: RawElement) -> Result<Diagram, ParseError> {
        let Some(plane) = el.take_child(BPMNDI_NS, "BPMNPlane") else {
            return Err(self.model(&el, "bpmndi:BPMNDiagram has no bpmndi:BPMNPlane".into()));
        };
        let plane = self.plane(plane)?;
        let label_styles = el
            .take_children(BPMNDI_NS, "BPMNLabelStyle")
            .into_iter()
            .map(|mut s| LabelStyle {
                id: s.take_id("id").unwrap_or_default(),
                font: s.take_child(DC_NS, "Font").map(|mut f| Font {
                    name: f.take_attr("name"),
                    size: f.take_f64("size"),
                    is_bold: f.take_bool("isBold"),
                    is_italic: f.take_bool("isItalic"),
                    is_underline: f.take_bool("isUnderline"),
                    is_strike_through: f.take_bool("isStrikeThrough"),
                    extra: extra(f, Ctx::Di),
                }),
                extra: extra(s, Ctx::Di),
            })
            .collect();
        Ok(Diagram {
            id: el.take_id("id").unwrap_or_default(),
            name: el.take_attr("name"),
            documentation: el.take_attr("documentation"),
            resolution: el.take_f64("resolution"),
            plane,
            label_styles,
            extra: extra(el, Ctx::Di),
        })
    }

    fn plane(&self, mut el: RawElement) -> Result<Plane, ParseError> {
        let mut elements = Vec::new();
        let mut keep = Vec::new();
        for child in std::mem::take(&mut el.children) {
            match child {
                RawNode::Element(e) if e.is(BPMNDI_NS, "BPMNShape") => {
                    elements.push(DiagramElement::Shape(self.shape(e)?));
                }
                RawNode::Element(e) if e.is(BPMNDI_NS, "BPMNEdge") => {
                    elements.push(DiagramElement::Edge(self.edge(e)?));
                }
                other => keep.push(other),
            }
        }
        el.children = keep;
        Ok(Plane {
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            elements,
            extra: extra(el, Ctx::Di),
        })
    }

    fn shape(&self, mut el: RawElement) -> Result<Shape, ParseError> {
        let Some(bounds) = el.take_child(DC_NS, "Bounds") else {
            return Err(self.model(&el, "bpmndi:BPMNShape has no dc:Bounds".into()));
        };
        Ok(Shape {
            bounds: self.bounds(&bounds)?,
            label: el
                .take_child(BPMNDI_NS, "BPMNLabel")
                .map(|l| self.label(l))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            is_horizontal: el.take_bool("isHorizontal"),
            is_expanded: el.take_bool("isExpanded"),
            is_marker_visible: el.take_bool("isMarkerVisible"),
            is_message_visible: el.take_bool("isMessageVisible"),
            participant_band_kind: el.take_attr("participantBandKind"),
            choreography_activity_shape: el.take_id("choreographyActivityShape"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn edge(&self, mut el: RawElement) -> Result<Edge, ParseError> {
        let waypoints = el
            .take_children(DI_NS, "waypoint")
            .iter()
            .map(|w| Ok(Point::new(self.number(w, "x")?, self.number(w, "y")?)))
            .collect::<Result<_, ParseError>>()?;
        Ok(Edge {
            waypoints,
            label: el
                .take_child(BPMNDI_NS, "BPMNLabel")
                .map(|l| self.label(l))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            bpmn_element: el.take_id("bpmnElement"),
            source_element: el.take_id("sourceElement"),
            target_element: el.take_id("targetElement"),
            message_visible_kind: el.take_attr("messageVisibleKind"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn label(&self, mut el: RawElement) -> Result<Label, ParseError> {
        Ok(Label {
            bounds: el
                .take_child(DC_NS, "Bounds")
                .map(|b| self.bounds(&b))
                .transpose()?,
            id: el.take_id("id").unwrap_or_default(),
            label_style: el.take_id("labelStyle"),
            extra: extra(el, Ctx::Di),
        })
    }

    fn bounds(&self, el: &RawElement) -> Result<Bounds, ParseError> {
        Ok(Bounds {
            x: self.number(el, "x")?,
            y: self.number(el, "y")?,
            width: self.number(el, "width")?,
            height: self.number(el, "height")?,
        })
    }

    fn number(&self, el: &RawElement, name: &str) -> Result<f64, ParseError> {
        let raw = el.attrs.iter().find(|a| a.ns.is_none() && a.name == name);
        match raw {
            None => Err(self.model(el, format!("{}:{} has no {name} attribute", "dc", el.name))),
            Some(a) => parse_f64(&a.value).ok_or_else(|| {
                self.model(
                    el,
                    format!("{} {name}={:?} is not a finite number", el.name, a.value),
                )
            }),
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

fn merge_extension_elements(ext: &mut ExtensionElements, el: RawElement) {
    for a in sorted_attrs(el.attrs) {
        if !ext.attrs.iter().any(|b| b.ns == a.ns && b.name == a.name) {
            ext.attrs.push(a);
        }
    }
    ext.attrs.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    for child in el.children {
        let RawNode::Element(e) = child else { continue };
        if e.ns.as_deref() == Some(ZEEBE_NS) {
            if let Err(e) = zeebe(&mut ext.zeebe, e) {
                ext.other.push(to_xml(e));
            }
        } else {
            ext.other.push(to_xml(e));
        }
    }
}

/// Attribute bag of a leaf zeebe element; `None` if the element has content
/// the typed form cannot hold.
struct Bag {
    attrs: Vec<RawAttr>,
}

impl Bag {
    fn leaf(el: &RawElement) -> Option<Self> {
        if el.has_element_children() || el.has_text() {
            return None;
        }
        Some(Self {
            attrs: el.attrs.clone(),
        })
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        Some(self.attrs.remove(i).value)
    }

    fn take_bool(&mut self, name: &str) -> Option<bool> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        let v = parse_bool(&self.attrs[i].value)?;
        self.attrs.remove(i);
        Some(v)
    }

    fn extra(self) -> Vec<XmlAttr> {
        sorted_attrs(self.attrs)
    }
}

/// Items of a zeebe list element (`ioMapping`, `taskHeaders`, `properties`).
fn items<T>(
    el: &RawElement,
    allowed: &[&str],
    mut item: impl FnMut(&str, Bag) -> T,
) -> Option<Vec<T>> {
    if el.has_text() {
        return None;
    }
    let mut out = Vec::new();
    for c in &el.children {
        let RawNode::Element(e) = c else { continue };
        if e.ns.as_deref() != Some(ZEEBE_NS) || !allowed.contains(&e.name.as_str()) {
            return None;
        }
        out.push(item(&e.name, Bag::leaf(e)?));
    }
    Some(out)
}

/// Fills the typed slot for a zeebe element, or gives the element back when it
/// is unknown, repeated, or has content the typed form cannot hold.
fn zeebe(z: &mut Zeebe, el: RawElement) -> Result<(), RawElement> {
    macro_rules! slot {
        ($field:ident, $value:expr) => {{
            if z.$field.is_some() {
                return Err(el);
            }
            match $value {
                Some(v) => {
                    z.$field = Some(v);
                    Ok(())
                }
                None => Err(el),
            }
        }};
    }
    match el.name.as_str() {
        "taskDefinition" => slot!(
            task_definition,
            Bag::leaf(&el).map(|mut b| TaskDefinition {
                job_type: b.take("type"),
                retries: b.take("retries"),
                extra: b.extra(),
            })
        ),
        "subscription" => slot!(
            subscription,
            Bag::leaf(&el).map(|mut b| Subscription {
                correlation_key: b.take("correlationKey"),
                extra: b.extra(),
            })
        ),
        "calledElement" => slot!(
            called_element,
            Bag::leaf(&el).map(|mut b| CalledElement {
                process_id: b.take("processId"),
                propagate_all_child_variables: b.take_bool("propagateAllChildVariables"),
                propagate_all_parent_variables: b.take_bool("propagateAllParentVariables"),
                binding_type: b.take("bindingType"),
                version_tag: b.take("versionTag"),
                extra: b.extra(),
            })
        ),
        "loopCharacteristics" => slot!(
            loop_characteristics,
            Bag::leaf(&el).map(|mut b| ZeebeLoopCharacteristics {
                input_collection: b.take("inputCollection"),
                input_element: b.take("inputElement"),
                output_collection: b.take("outputCollection"),
                output_element: b.take("outputElement"),
                extra: b.extra(),
            })
        ),
        "script" => slot!(
            script,
            Bag::leaf(&el).map(|mut b| Script {
                expression: b.take("expression"),
                result_variable: b.take("resultVariable"),
                extra: b.extra(),
            })
        ),
        "formDefinition" => slot!(
            form_definition,
            Bag::leaf(&el).map(|mut b| FormDefinition {
                form_key: b.take("formKey"),
                form_id: b.take("formId"),
                external_reference: b.take("externalReference"),
                binding_type: b.take("bindingType"),
                version_tag: b.take("versionTag"),
                extra: b.extra(),
            })
        ),
        "assignmentDefinition" => slot!(
            assignment_definition,
            Bag::leaf(&el).map(|mut b| AssignmentDefinition {
                assignee: b.take("assignee"),
                candidate_groups: b.take("candidateGroups"),
                candidate_users: b.take("candidateUsers"),
                extra: b.extra(),
            })
        ),
        "ioMapping" => {
            let mut inputs = Vec::new();
            let mut outputs = Vec::new();
            let ok = items(&el, &["input", "output"], |name, mut b| {
                let m = Mapping {
                    source: b.take("source"),
                    target: b.take("target"),
                    extra: b.extra(),
                };
                if name == "input" {
                    inputs.push(m)
                } else {
                    outputs.push(m)
                }
            });
            slot!(
                io_mapping,
                ok.map(|_| IoMapping {
                    inputs,
                    outputs,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        "taskHeaders" => {
            let headers = items(&el, &["header"], |_, mut b| Header {
                key: b.take("key"),
                value: b.take("value"),
                extra: b.extra(),
            });
            slot!(
                task_headers,
                headers.map(|headers| TaskHeaders {
                    headers,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        "properties" => {
            let props = items(&el, &["property"], |_, mut b| Property {
                name: b.take("name"),
                value: b.take("value"),
                extra: b.extra(),
            });
            slot!(
                properties,
                props.map(|properties| Properties {
                    properties,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        _ => Err(el),
    }
}
