//! Deterministic serialisation: the typed model to a generic element tree in
//! canonical order, then that tree to text with fixed formatting.

mod di;
mod text;
mod zeebe;

use crate::model::*;
use crate::order::{Ctx, rank};
use crate::xml::{BPMN_NS, MODELER_NS, XmlAttr, XmlElement, XmlNode};
use di::diagram;
use zeebe::zeebe;

/// Serialises a model to canonical XML (UTF-8, 2-space indent, fixed order).
pub fn to_xml(defs: &Definitions) -> String {
    text::write(&defs.namespaces, &definitions(defs))
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
