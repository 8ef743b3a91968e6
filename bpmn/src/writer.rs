//! Deterministic serialisation: the typed model to a generic element tree in
//! canonical order, then that tree to text with fixed formatting.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::zeebe::Zeebe;
use crate::model::*;
use crate::order::{Ctx, rank};
use crate::xml::{
    BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, MODELER_NS, WELL_KNOWN_NAMESPACES, XmlAttr, XmlElement,
    XmlNode, ZEEBE_NS, is_reserved_prefix, well_known_prefix,
};

/// Serialises a model to canonical XML (UTF-8, 2-space indent, fixed order).
pub fn to_xml(defs: &Definitions) -> String {
    let tree = definitions(defs);
    let mut w = Writer::new(&defs.namespaces, &tree);
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.element(&tree, 0, true);
    w.out
}

/// Builds one element: typed attributes first (in the order they are added),
/// unknown attributes after them, children sorted by their canonical rank.
struct B {
    el: XmlElement,
    ctx: Ctx,
    kids: Vec<(u16, XmlElement)>,
    extra_attrs: Vec<XmlAttr>,
}

impl B {
    fn new(ns: &str, name: &str, ctx: Ctx) -> Self {
        Self {
            el: XmlElement::new(Some(ns), name),
            ctx,
            kids: Vec::new(),
            extra_attrs: Vec::new(),
        }
    }

    fn bpmn(name: &str) -> Self {
        Self::new(BPMN_NS, name, Ctx::General)
    }

    fn attr(mut self, name: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.el.attrs.push(XmlAttr::new(name, v));
        }
        self
    }

    fn attr_ns(mut self, ns: &str, name: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.el.attrs.push(XmlAttr::with_ns(ns, name, v));
        }
        self
    }

    fn id(self, id: &Id) -> Self {
        let v = (!id.is_empty()).then_some(id.as_str());
        self.attr("id", v)
    }

    fn idref(self, name: &str, id: Option<&Id>) -> Self {
        self.attr(name, id.map(Id::as_str))
    }

    fn text_attr(self, name: &str, value: &Option<String>) -> Self {
        self.attr(name, value.as_deref())
    }

    fn bool(self, name: &str, value: Option<bool>) -> Self {
        self.attr(name, value.map(|b| if b { "true" } else { "false" }))
    }

    fn num(self, name: &str, value: f64) -> Self {
        let v = fmt_num(value);
        self.attr(name, Some(&v))
    }

    fn opt_num(self, name: &str, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.num(name, v),
            None => self,
        }
    }

    fn child(mut self, el: XmlElement) -> Self {
        let r = rank(self.ctx, el.ns.as_deref(), &el.name);
        self.kids.push((r, el));
        self
    }

    fn children(mut self, els: impl IntoIterator<Item = XmlElement>) -> Self {
        for el in els {
            self = self.child(el);
        }
        self
    }

    fn text(mut self, text: &str) -> Self {
        if !text.is_empty() {
            self.el.children.push(XmlNode::Text(text.to_owned()));
        }
        self
    }

    fn extra(mut self, extra: &Extra) -> Self {
        self.extra_attrs.extend(extra.attrs.iter().cloned());
        for c in &extra.children {
            self = self.child(c.clone());
        }
        self
    }

    fn base(mut self, base: &Base) -> Self {
        for d in &base.documentation {
            self = self.child(documentation(d));
        }
        if !base.extension_elements.is_empty() {
            self = self.child(extension_elements(&base.extension_elements));
        }
        self.extra(&base.extra)
    }

    fn build(mut self) -> XmlElement {
        for a in self.extra_attrs {
            if !self
                .el
                .attrs
                .iter()
                .any(|t| t.ns == a.ns && t.name == a.name)
            {
                self.el.attrs.push(a);
            }
        }
        self.kids.sort_by_key(|(r, _)| *r);
        self.el
            .children
            .extend(self.kids.into_iter().map(|(_, e)| XmlNode::Element(e)));
        self.el
    }
}

/// Shortest decimal form that reads back to the same `f64`
/// (`100`, `96.5`, `-0.25`); never an exponent.
pub(crate) fn fmt_num(v: f64) -> String {
    format!("{v}")
}

fn text_el(name: &str, text: &str) -> XmlElement {
    B::bpmn(name).text(text).build()
}

fn documentation(d: &Documentation) -> XmlElement {
    let mut b = B::bpmn("documentation")
        .idref("id", d.id.as_ref())
        .text_attr("textFormat", &d.text_format);
    b.extra_attrs.extend(d.extra_attrs.iter().cloned());
    let mut el = b.build();
    el.children = d.content.clone();
    el
}

fn expression(name: &str, e: &Expression) -> XmlElement {
    let mut b = B::bpmn(name)
        .text_attr("language", &e.language)
        .text(&e.body);
    b.extra_attrs.extend(e.extra_attrs.iter().cloned());
    let mut el = b.build();
    el.children
        .extend(e.extra_children.iter().cloned().map(XmlNode::Element));
    el
}

fn extension_elements(ext: &ExtensionElements) -> XmlElement {
    let mut el = XmlElement::new(Some(BPMN_NS), "extensionElements");
    el.attrs = ext.attrs.clone();
    el.children
        .extend(zeebe(&ext.zeebe).into_iter().map(XmlNode::Element));
    el.children
        .extend(ext.other.iter().cloned().map(XmlNode::Element));
    el
}

fn z(name: &str) -> B {
    B::new(ZEEBE_NS, name, Ctx::General)
}

fn with_extra(mut b: B, extra: &[XmlAttr]) -> XmlElement {
    b.extra_attrs.extend(extra.iter().cloned());
    b.build()
}

/// Typed zeebe extensions, in the fixed order documented in the crate docs.
fn zeebe(zb: &Zeebe) -> Vec<XmlElement> {
    let mut out = Vec::new();
    if let Some(t) = &zb.task_definition {
        let b = z("taskDefinition")
            .text_attr("type", &t.job_type)
            .text_attr("retries", &t.retries);
        out.push(with_extra(b, &t.extra));
    }
    if let Some(s) = &zb.subscription {
        let b = z("subscription").text_attr("correlationKey", &s.correlation_key);
        out.push(with_extra(b, &s.extra));
    }
    if let Some(c) = &zb.called_element {
        let b = z("calledElement")
            .text_attr("processId", &c.process_id)
            .bool(
                "propagateAllChildVariables",
                c.propagate_all_child_variables,
            )
            .bool(
                "propagateAllParentVariables",
                c.propagate_all_parent_variables,
            )
            .text_attr("bindingType", &c.binding_type)
            .text_attr("versionTag", &c.version_tag);
        out.push(with_extra(b, &c.extra));
    }
    if let Some(l) = &zb.loop_characteristics {
        let b = z("loopCharacteristics")
            .text_attr("inputCollection", &l.input_collection)
            .text_attr("inputElement", &l.input_element)
            .text_attr("outputCollection", &l.output_collection)
            .text_attr("outputElement", &l.output_element);
        out.push(with_extra(b, &l.extra));
    }
    if let Some(s) = &zb.script {
        let b = z("script")
            .text_attr("expression", &s.expression)
            .text_attr("resultVariable", &s.result_variable);
        out.push(with_extra(b, &s.extra));
    }
    if let Some(f) = &zb.form_definition {
        let b = z("formDefinition")
            .text_attr("formKey", &f.form_key)
            .text_attr("formId", &f.form_id)
            .text_attr("externalReference", &f.external_reference)
            .text_attr("bindingType", &f.binding_type)
            .text_attr("versionTag", &f.version_tag);
        out.push(with_extra(b, &f.extra));
    }
    if let Some(a) = &zb.assignment_definition {
        let b = z("assignmentDefinition")
            .text_attr("assignee", &a.assignee)
            .text_attr("candidateGroups", &a.candidate_groups)
            .text_attr("candidateUsers", &a.candidate_users);
        out.push(with_extra(b, &a.extra));
    }
    if let Some(h) = &zb.task_headers {
        let mut el = with_extra(z("taskHeaders"), &h.extra);
        for item in &h.headers {
            let b = z("header")
                .text_attr("key", &item.key)
                .text_attr("value", &item.value);
            el.children
                .push(XmlNode::Element(with_extra(b, &item.extra)));
        }
        out.push(el);
    }
    if let Some(io) = &zb.io_mapping {
        let mut el = with_extra(z("ioMapping"), &io.extra);
        for (name, list) in [("input", &io.inputs), ("output", &io.outputs)] {
            for m in list {
                let b = z(name)
                    .text_attr("source", &m.source)
                    .text_attr("target", &m.target);
                el.children.push(XmlNode::Element(with_extra(b, &m.extra)));
            }
        }
        out.push(el);
    }
    if let Some(p) = &zb.properties {
        let mut el = with_extra(z("properties"), &p.extra);
        for item in &p.properties {
            let b = z("property")
                .text_attr("name", &item.name)
                .text_attr("value", &item.value);
            el.children
                .push(XmlNode::Element(with_extra(b, &item.extra)));
        }
        out.push(el);
    }
    out
}

fn definitions(d: &Definitions) -> XmlElement {
    let mut b = B::new(BPMN_NS, "definitions", Ctx::Definitions)
        .id(&d.id)
        .text_attr("name", &d.name)
        .text_attr("targetNamespace", &d.target_namespace)
        .text_attr("expressionLanguage", &d.expression_language)
        .text_attr("typeLanguage", &d.type_language)
        .text_attr("exporter", &d.exporter)
        .text_attr("exporterVersion", &d.exporter_version)
        .attr_ns(
            MODELER_NS,
            "executionPlatform",
            d.execution_platform.as_deref(),
        )
        .attr_ns(
            MODELER_NS,
            "executionPlatformVersion",
            d.execution_platform_version.as_deref(),
        );
    for r in &d.root_elements {
        b = b.child(root_element(r));
    }
    for dia in &d.diagrams {
        b = b.child(diagram(dia));
    }
    b.base(&d.base).build()
}

fn root_element(r: &RootElement) -> XmlElement {
    match r {
        RootElement::Process(p) => {
            let b = B::new(BPMN_NS, "process", Ctx::Process)
                .id(&p.id)
                .text_attr("name", &p.name)
                .bool("isExecutable", p.is_executable);
            container(b, &p.content).base(&p.base).build()
        }
        RootElement::Collaboration(c) => collaboration(c),
        RootElement::Message(m) => B::bpmn("message")
            .id(&m.id)
            .text_attr("name", &m.name)
            .base(&m.base)
            .build(),
        RootElement::Error(e) => B::bpmn("error")
            .id(&e.id)
            .text_attr("name", &e.name)
            .text_attr("errorCode", &e.error_code)
            .base(&e.base)
            .build(),
        RootElement::Signal(s) => B::bpmn("signal")
            .id(&s.id)
            .text_attr("name", &s.name)
            .base(&s.base)
            .build(),
        RootElement::Escalation(e) => B::bpmn("escalation")
            .id(&e.id)
            .text_attr("name", &e.name)
            .text_attr("escalationCode", &e.escalation_code)
            .base(&e.base)
            .build(),
        RootElement::DataStore(s) => B::bpmn("dataStore")
            .id(&s.id)
            .text_attr("name", &s.name)
            .base(&s.base)
            .build(),
        RootElement::Other(x) => x.clone(),
    }
}

fn container(mut b: B, c: &Container) -> B {
    for ls in &c.lane_sets {
        b = b.child(lane_set("laneSet", ls));
    }
    for fe in &c.flow_elements {
        b = b.child(flow_element(fe));
    }
    for a in &c.artifacts {
        b = b.child(artifact(a));
    }
    b
}

fn lane_set(name: &str, ls: &LaneSet) -> XmlElement {
    let mut b = B::bpmn(name).id(&ls.id).text_attr("name", &ls.name);
    for lane in &ls.lanes {
        let mut lb = B::bpmn("lane").id(&lane.id).text_attr("name", &lane.name);
        for r in &lane.flow_node_refs {
            lb = lb.child(text_el("flowNodeRef", r.as_str()));
        }
        if let Some(child) = &lane.child_lane_set {
            lb = lb.child(lane_set("childLaneSet", child));
        }
        b = b.child(lb.base(&lane.base).build());
    }
    b.base(&ls.base).build()
}

fn artifact(a: &Artifact) -> XmlElement {
    let b = match &a.kind {
        ArtifactKind::TextAnnotation { text, text_format } => {
            let b = B::bpmn("textAnnotation")
                .id(&a.id)
                .text_attr("textFormat", text_format);
            match text {
                Some(t) => b.child(text_el("text", t)),
                None => b,
            }
        }
        ArtifactKind::Association {
            source_ref,
            target_ref,
            direction,
        } => B::bpmn("association")
            .id(&a.id)
            .idref("sourceRef", source_ref.as_ref())
            .idref("targetRef", target_ref.as_ref())
            .text_attr("associationDirection", direction),
        ArtifactKind::Group { category_value_ref } => B::bpmn("group")
            .id(&a.id)
            .idref("categoryValueRef", category_value_ref.as_ref()),
    };
    b.base(&a.base).build()
}

fn flow_element(fe: &FlowElement) -> XmlElement {
    match fe {
        FlowElement::Node(n) => flow_node(n),
        FlowElement::SequenceFlow(f) => {
            let mut b = B::bpmn("sequenceFlow")
                .id(&f.id)
                .text_attr("name", &f.name)
                .attr("sourceRef", Some(f.source_ref.as_str()))
                .attr("targetRef", Some(f.target_ref.as_str()))
                .bool("isImmediate", f.is_immediate);
            if let Some(c) = &f.condition {
                b = b.child(expression("conditionExpression", c));
            }
            b.base(&f.base).build()
        }
        FlowElement::Data(d) => {
            let b = match &d.kind {
                DataKind::DataObject { is_collection } => B::bpmn("dataObject")
                    .id(&d.id)
                    .text_attr("name", &d.name)
                    .bool("isCollection", *is_collection),
                DataKind::DataObjectReference { data_object_ref } => B::bpmn("dataObjectReference")
                    .id(&d.id)
                    .text_attr("name", &d.name)
                    .idref("dataObjectRef", data_object_ref.as_ref()),
                DataKind::DataStoreReference { data_store_ref } => B::bpmn("dataStoreReference")
                    .id(&d.id)
                    .text_attr("name", &d.name)
                    .idref("dataStoreRef", data_store_ref.as_ref()),
            };
            b.base(&d.base).build()
        }
        FlowElement::Other(x) => x.clone(),
    }
}

fn flow_node(n: &FlowNode) -> XmlElement {
    let mut b = B::bpmn(n.kind.tag()).id(&n.id).text_attr("name", &n.name);
    if let Some(e) = n.kind.event() {
        b = b
            .bool("isInterrupting", e.is_interrupting)
            .bool("parallelMultiple", e.parallel_multiple)
            .idref("attachedToRef", e.attached_to_ref.as_ref())
            .bool("cancelActivity", e.cancel_activity);
        for d in &e.definitions {
            b = b.child(event_definition(d));
        }
    }
    if let Some(a) = n.kind.activity() {
        b = b
            .bool("triggeredByEvent", a.triggered_by_event)
            .bool("isForCompensation", a.is_for_compensation)
            .idref("messageRef", a.message_ref.as_ref())
            .bool("instantiate", a.instantiate)
            .idref("default", a.default_flow.as_ref());
        match a.loop_characteristics.as_deref() {
            Some(LoopCharacteristics::MultiInstance(mi)) => {
                let mut lb = B::bpmn("multiInstanceLoopCharacteristics")
                    .idref("id", mi.id.as_ref())
                    .bool("isSequential", mi.is_sequential);
                if let Some(c) = &mi.loop_cardinality {
                    lb = lb.child(expression("loopCardinality", c));
                }
                if let Some(c) = &mi.completion_condition {
                    lb = lb.child(expression("completionCondition", c));
                }
                b = b.child(lb.base(&mi.base).build());
            }
            Some(LoopCharacteristics::Standard(sl)) => {
                let mut lb = B::bpmn("standardLoopCharacteristics")
                    .idref("id", sl.id.as_ref())
                    .bool("testBefore", sl.test_before)
                    .text_attr("loopMaximum", &sl.loop_maximum);
                if let Some(c) = &sl.loop_condition {
                    lb = lb.child(expression("loopCondition", c));
                }
                b = b.child(lb.base(&sl.base).build());
            }
            None => {}
        }
        if let Some(c) = &a.completion_condition {
            b = b.child(expression("completionCondition", c));
        }
        b = container(b, &a.content);
    }
    if let Some(g) = n.kind.gateway() {
        b = b
            .bool("instantiate", g.instantiate)
            .idref("default", g.default_flow.as_ref());
    }
    for i in &n.incoming {
        b = b.child(text_el("incoming", i.as_str()));
    }
    for o in &n.outgoing {
        b = b.child(text_el("outgoing", o.as_str()));
    }
    b.base(&n.base).build()
}

fn event_definition(d: &EventDefinition) -> XmlElement {
    let b = B::bpmn(d.kind.tag()).idref("id", d.id.as_ref());
    let b = match &d.kind {
        EventDefinitionKind::Message { message_ref } => b.idref("messageRef", message_ref.as_ref()),
        EventDefinitionKind::Timer(t) => {
            let mut b = b;
            for (name, e) in [
                ("timeDate", &t.time_date),
                ("timeDuration", &t.time_duration),
                ("timeCycle", &t.time_cycle),
            ] {
                if let Some(e) = e {
                    b = b.child(expression(name, e));
                }
            }
            b
        }
        EventDefinitionKind::Error { error_ref } => b.idref("errorRef", error_ref.as_ref()),
        EventDefinitionKind::Signal { signal_ref } => b.idref("signalRef", signal_ref.as_ref()),
        EventDefinitionKind::Escalation { escalation_ref } => {
            b.idref("escalationRef", escalation_ref.as_ref())
        }
        EventDefinitionKind::Terminate | EventDefinitionKind::Cancel => b,
        EventDefinitionKind::Link { name } => b.text_attr("name", name),
        EventDefinitionKind::Conditional { condition } => match condition {
            Some(c) => b.child(expression("condition", c)),
            None => b,
        },
        EventDefinitionKind::Compensate {
            activity_ref,
            wait_for_completion,
        } => b
            .bool("waitForCompletion", *wait_for_completion)
            .idref("activityRef", activity_ref.as_ref()),
    };
    b.base(&d.base).build()
}

fn collaboration(c: &Collaboration) -> XmlElement {
    let mut b = B::new(BPMN_NS, "collaboration", Ctx::Collaboration)
        .id(&c.id)
        .text_attr("name", &c.name)
        .bool("isClosed", c.is_closed);
    for p in &c.participants {
        b = b.child(
            B::bpmn("participant")
                .id(&p.id)
                .text_attr("name", &p.name)
                .idref("processRef", p.process_ref.as_ref())
                .base(&p.base)
                .build(),
        );
    }
    for m in &c.message_flows {
        b = b.child(
            B::bpmn("messageFlow")
                .id(&m.id)
                .text_attr("name", &m.name)
                .attr("sourceRef", Some(m.source_ref.as_str()))
                .attr("targetRef", Some(m.target_ref.as_str()))
                .idref("messageRef", m.message_ref.as_ref())
                .base(&m.base)
                .build(),
        );
    }
    b = b.children(c.artifacts.iter().map(artifact));
    b.base(&c.base).build()
}

fn bounds(bd: &Bounds) -> XmlElement {
    B::new(DC_NS, "Bounds", Ctx::Di)
        .num("x", bd.x)
        .num("y", bd.y)
        .num("width", bd.width)
        .num("height", bd.height)
        .build()
}

fn label(l: &Label) -> XmlElement {
    let mut b = B::new(BPMNDI_NS, "BPMNLabel", Ctx::Di)
        .id(&l.id)
        .idref("labelStyle", l.label_style.as_ref());
    if let Some(bd) = &l.bounds {
        b = b.child(bounds(bd));
    }
    b.extra(&l.extra).build()
}

fn diagram(d: &Diagram) -> XmlElement {
    let p = &d.plane;
    let mut pb = B::new(BPMNDI_NS, "BPMNPlane", Ctx::Di)
        .id(&p.id)
        .idref("bpmnElement", p.bpmn_element.as_ref());
    for el in &p.elements {
        pb = pb.child(match el {
            DiagramElement::Shape(s) => {
                let mut b = B::new(BPMNDI_NS, "BPMNShape", Ctx::Di)
                    .id(&s.id)
                    .idref("bpmnElement", s.bpmn_element.as_ref())
                    .bool("isHorizontal", s.is_horizontal)
                    .bool("isExpanded", s.is_expanded)
                    .bool("isMarkerVisible", s.is_marker_visible)
                    .bool("isMessageVisible", s.is_message_visible)
                    .text_attr("participantBandKind", &s.participant_band_kind)
                    .idref(
                        "choreographyActivityShape",
                        s.choreography_activity_shape.as_ref(),
                    )
                    .child(bounds(&s.bounds));
                if let Some(l) = &s.label {
                    b = b.child(label(l));
                }
                b.extra(&s.extra).build()
            }
            DiagramElement::Edge(e) => {
                let mut b = B::new(BPMNDI_NS, "BPMNEdge", Ctx::Di)
                    .id(&e.id)
                    .idref("bpmnElement", e.bpmn_element.as_ref())
                    .idref("sourceElement", e.source_element.as_ref())
                    .idref("targetElement", e.target_element.as_ref())
                    .text_attr("messageVisibleKind", &e.message_visible_kind);
                for w in &e.waypoints {
                    b = b.child(
                        B::new(DI_NS, "waypoint", Ctx::Di)
                            .num("x", w.x)
                            .num("y", w.y)
                            .build(),
                    );
                }
                if let Some(l) = &e.label {
                    b = b.child(label(l));
                }
                b.extra(&e.extra).build()
            }
        });
    }
    let mut b = B::new(BPMNDI_NS, "BPMNDiagram", Ctx::Di)
        .id(&d.id)
        .text_attr("name", &d.name)
        .text_attr("documentation", &d.documentation)
        .opt_num("resolution", d.resolution)
        .child(pb.extra(&p.extra).build());
    for s in &d.label_styles {
        let mut sb = B::new(BPMNDI_NS, "BPMNLabelStyle", Ctx::Di).id(&s.id);
        if let Some(f) = &s.font {
            sb = sb.child(
                B::new(DC_NS, "Font", Ctx::Di)
                    .text_attr("name", &f.name)
                    .opt_num("size", f.size)
                    .bool("isBold", f.is_bold)
                    .bool("isItalic", f.is_italic)
                    .bool("isUnderline", f.is_underline)
                    .bool("isStrikeThrough", f.is_strike_through)
                    .extra(&f.extra)
                    .build(),
            );
        }
        b = b.child(sb.extra(&s.extra).build());
    }
    b.extra(&d.extra).build()
}

struct Writer {
    out: String,
    prefixes: BTreeMap<String, String>,
    declarations: Vec<(String, String)>,
}

impl Writer {
    fn new(namespaces: &BTreeMap<String, String>, tree: &XmlElement) -> Self {
        let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
        let mut declarations = Vec::new();
        for (p, uri) in WELL_KNOWN_NAMESPACES {
            prefixes.insert(uri.to_owned(), p.to_owned());
            declarations.push((p.to_owned(), uri.to_owned()));
        }
        for (p, uri) in namespaces {
            if is_reserved_prefix(p) || well_known_prefix(uri).is_some() || !is_ncname(p) {
                continue;
            }
            prefixes.entry(uri.clone()).or_insert_with(|| p.clone());
            declarations.push((p.clone(), uri.clone()));
        }
        let mut used = Vec::new();
        collect_namespaces(tree, &mut used);
        let mut n = 1;
        for uri in used {
            if prefixes.contains_key(&uri) || well_known_prefix(&uri).is_some() {
                continue;
            }
            let p = loop {
                let p = format!("ns{n}");
                n += 1;
                if !declarations.iter().any(|(d, _)| *d == p) {
                    break p;
                }
            };
            prefixes.insert(uri.clone(), p.clone());
            declarations.push((p, uri));
        }
        Self {
            out: String::new(),
            prefixes,
            declarations,
        }
    }

    fn qname(&self, ns: Option<&str>, name: &str) -> String {
        match ns {
            None => name.to_owned(),
            Some(uri) => {
                let p = well_known_prefix(uri)
                    .or_else(|| self.prefixes.get(uri).map(String::as_str))
                    .unwrap_or("");
                format!("{p}:{name}")
            }
        }
    }

    fn element(&mut self, el: &XmlElement, depth: usize, root: bool) {
        let name = self.qname(el.ns.as_deref(), &el.name);
        let indent = "  ".repeat(depth);
        self.out.push_str(&indent);
        self.open_tag(el, &name, root);
        if el.children.is_empty() {
            self.out.push_str("/>\n");
            return;
        }
        let inline = el.children.iter().any(|c| matches!(c, XmlNode::Text(_)));
        if inline {
            self.out.push('>');
            self.inline_children(&el.children);
            let _ = writeln!(self.out, "</{name}>");
        } else {
            self.out.push_str(">\n");
            for c in &el.children {
                if let XmlNode::Element(e) = c {
                    self.element(e, depth + 1, false);
                }
            }
            let _ = writeln!(self.out, "{indent}</{name}>");
        }
    }

    fn open_tag(&mut self, el: &XmlElement, name: &str, root: bool) {
        self.out.push('<');
        self.out.push_str(name);
        if root {
            for (p, uri) in &self.declarations {
                let _ = write!(self.out, " xmlns:{p}=\"");
                escape_attr(&mut self.out, uri);
                self.out.push('"');
            }
        }
        for a in &el.attrs {
            let qn = self.qname(a.ns.as_deref(), &a.name);
            let _ = write!(self.out, " {qn}=\"");
            escape_attr(&mut self.out, &a.value);
            self.out.push('"');
        }
    }

    fn inline_children(&mut self, children: &[XmlNode]) {
        for c in children {
            match c {
                XmlNode::Text(t) => escape_text(&mut self.out, t),
                XmlNode::Element(e) => {
                    let name = self.qname(e.ns.as_deref(), &e.name);
                    self.open_tag(e, &name, false);
                    if e.children.is_empty() {
                        self.out.push_str("/>");
                    } else {
                        self.out.push('>');
                        self.inline_children(&e.children);
                        let _ = write!(self.out, "</{name}>");
                    }
                }
            }
        }
    }
}

fn is_ncname(s: &str) -> bool {
    Id::is_valid_ncname(s)
}

fn collect_namespaces(el: &XmlElement, out: &mut Vec<String>) {
    let mut see = |ns: &Option<String>| {
        if let Some(ns) = ns
            && !out.contains(ns)
        {
            out.push(ns.clone());
        }
    };
    see(&el.ns);
    for a in &el.attrs {
        see(&a.ns);
    }
    for c in &el.children {
        if let XmlNode::Element(e) = c {
            collect_namespaces(e, out);
        }
    }
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}
