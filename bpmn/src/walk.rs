//! Navigation: finding elements by id, iterating flow nodes and flows, and
//! walking nested sub-processes. Everything here borrows the model.

use crate::model::*;
use crate::xml::XmlElement;

/// A borrowed reference to any element with an id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementRef<'a> {
    /// A process.
    Process(&'a Process),
    /// An event, activity or gateway.
    FlowNode(&'a FlowNode),
    /// A sequence flow.
    SequenceFlow(&'a SequenceFlow),
    /// A data object, data object reference or data store reference.
    Data(&'a DataElement),
    /// A text annotation, association or group.
    Artifact(&'a Artifact),
    /// A lane set.
    LaneSet(&'a LaneSet),
    /// A lane.
    Lane(&'a Lane),
    /// A collaboration.
    Collaboration(&'a Collaboration),
    /// A participant (pool).
    Participant(&'a Participant),
    /// A message flow.
    MessageFlow(&'a MessageFlow),
    /// A message.
    Message(&'a Message),
    /// An error.
    Error(&'a ErrorDef),
    /// A signal.
    Signal(&'a Signal),
    /// An escalation.
    Escalation(&'a Escalation),
    /// A data store.
    DataStore(&'a DataStore),
    /// An untyped element that has an `id` attribute.
    Other(&'a XmlElement),
}

impl<'a> ElementRef<'a> {
    /// The flow node, if this is one.
    pub fn as_flow_node(self) -> Option<&'a FlowNode> {
        match self {
            Self::FlowNode(n) => Some(n),
            _ => None,
        }
    }

    /// The sequence flow, if this is one.
    pub fn as_sequence_flow(self) -> Option<&'a SequenceFlow> {
        match self {
            Self::SequenceFlow(f) => Some(f),
            _ => None,
        }
    }

    /// The element's name, if it has one.
    pub fn name(self) -> Option<&'a str> {
        match self {
            Self::Process(p) => p.name.as_deref(),
            Self::FlowNode(n) => n.name.as_deref(),
            Self::SequenceFlow(f) => f.name.as_deref(),
            Self::Data(d) => d.name.as_deref(),
            Self::LaneSet(l) => l.name.as_deref(),
            Self::Lane(l) => l.name.as_deref(),
            Self::Collaboration(c) => c.name.as_deref(),
            Self::Participant(p) => p.name.as_deref(),
            Self::MessageFlow(m) => m.name.as_deref(),
            Self::Message(m) => m.name.as_deref(),
            Self::Error(e) => e.name.as_deref(),
            Self::Signal(s) => s.name.as_deref(),
            Self::Escalation(e) => e.name.as_deref(),
            Self::DataStore(d) => d.name.as_deref(),
            Self::Artifact(_) => None,
            Self::Other(x) => x.attr("name"),
        }
    }
}

/// A container (process or sub-process body) together with the id of its owner.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Id of the process or sub-process that owns the container.
    pub owner: &'a Id,
    /// Id of the process the container belongs to.
    pub process: &'a Id,
    /// The container.
    pub container: &'a Container,
    /// The sub-process node, when the container is a sub-process body.
    pub sub_process: Option<&'a FlowNode>,
}

/// Every container of every process, outermost first (depth-first, model order).
pub fn scopes(defs: &Definitions) -> Vec<Scope<'_>> {
    let mut out = Vec::new();
    for p in defs.processes() {
        push_scopes(&p.id, &p.id, &p.content, None, &mut out);
    }
    out
}

fn push_scopes<'a>(
    process: &'a Id,
    owner: &'a Id,
    c: &'a Container,
    sub: Option<&'a FlowNode>,
    out: &mut Vec<Scope<'a>>,
) {
    out.push(Scope {
        owner,
        process,
        container: c,
        sub_process: sub,
    });
    for n in c.flow_nodes() {
        if let Some(inner) = n.children() {
            push_scopes(process, &n.id, inner, Some(n), out);
        }
    }
}

/// Every flow node of every process, sub-process contents included.
pub fn all_flow_nodes(defs: &Definitions) -> impl Iterator<Item = &FlowNode> {
    scopes(defs)
        .into_iter()
        .flat_map(|s| s.container.flow_nodes())
}

/// Every sequence flow of every process, sub-process contents included.
pub fn all_sequence_flows(defs: &Definitions) -> impl Iterator<Item = &SequenceFlow> {
    scopes(defs)
        .into_iter()
        .flat_map(|s| s.container.sequence_flows())
}

/// Calls `f` for every element that has a non-empty id, in document order.
pub fn for_each_element<'a>(defs: &'a Definitions, mut f: impl FnMut(&'a str, ElementRef<'a>)) {
    let f = &mut f;
    for r in &defs.root_elements {
        match r {
            RootElement::Process(p) => {
                visit(f, &p.id, ElementRef::Process(p));
                visit_container(&p.content, f);
            }
            RootElement::Collaboration(c) => {
                visit(f, &c.id, ElementRef::Collaboration(c));
                for p in &c.participants {
                    visit(f, &p.id, ElementRef::Participant(p));
                }
                for m in &c.message_flows {
                    visit(f, &m.id, ElementRef::MessageFlow(m));
                }
                for a in &c.artifacts {
                    visit(f, &a.id, ElementRef::Artifact(a));
                }
            }
            RootElement::Message(m) => visit(f, &m.id, ElementRef::Message(m)),
            RootElement::Error(e) => visit(f, &e.id, ElementRef::Error(e)),
            RootElement::Signal(s) => visit(f, &s.id, ElementRef::Signal(s)),
            RootElement::Escalation(e) => visit(f, &e.id, ElementRef::Escalation(e)),
            RootElement::DataStore(d) => visit(f, &d.id, ElementRef::DataStore(d)),
            RootElement::Other(x) => {
                if let Some(id) = x.attr("id").filter(|s| !s.is_empty()) {
                    f(id, ElementRef::Other(x));
                }
            }
        }
    }
}

fn visit<'a>(f: &mut impl FnMut(&'a str, ElementRef<'a>), id: &'a Id, e: ElementRef<'a>) {
    if !id.is_empty() {
        f(id.as_str(), e);
    }
}

fn visit_lane_set<'a>(ls: &'a LaneSet, f: &mut impl FnMut(&'a str, ElementRef<'a>)) {
    visit(f, &ls.id, ElementRef::LaneSet(ls));
    for l in &ls.lanes {
        visit(f, &l.id, ElementRef::Lane(l));
        if let Some(c) = &l.child_lane_set {
            visit_lane_set(c, f);
        }
    }
}

fn visit_container<'a>(c: &'a Container, f: &mut impl FnMut(&'a str, ElementRef<'a>)) {
    for ls in &c.lane_sets {
        visit_lane_set(ls, f);
    }
    for fe in &c.flow_elements {
        match fe {
            FlowElement::Node(n) => {
                visit(f, &n.id, ElementRef::FlowNode(n));
                if let Some(a) = n.activity() {
                    visit_container(&a.content, f);
                }
            }
            FlowElement::SequenceFlow(s) => visit(f, &s.id, ElementRef::SequenceFlow(s)),
            FlowElement::Data(d) => visit(f, &d.id, ElementRef::Data(d)),
            FlowElement::Other(x) => {
                if let Some(id) = x.attr("id").filter(|s| !s.is_empty()) {
                    f(id, ElementRef::Other(x));
                }
            }
        }
    }
    for a in &c.artifacts {
        visit(f, &a.id, ElementRef::Artifact(a));
    }
}

impl Definitions {
    /// The processes, in document order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.root_elements.iter().filter_map(|r| match r {
            RootElement::Process(p) => Some(p),
            _ => None,
        })
    }

    /// The process with this id.
    pub fn process(&self, id: &str) -> Option<&Process> {
        self.processes().find(|p| p.id == id)
    }

    /// The process with this id, for editing.
    pub fn process_mut(&mut self, id: &str) -> Option<&mut Process> {
        self.root_elements.iter_mut().find_map(|r| match r {
            RootElement::Process(p) if p.id == id => Some(p),
            _ => None,
        })
    }

    /// The collaborations, in document order.
    pub fn collaborations(&self) -> impl Iterator<Item = &Collaboration> {
        self.root_elements.iter().filter_map(|r| match r {
            RootElement::Collaboration(c) => Some(c),
            _ => None,
        })
    }

    /// The messages, in document order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.root_elements.iter().filter_map(|r| match r {
            RootElement::Message(m) => Some(m),
            _ => None,
        })
    }

    /// The message with this id.
    pub fn message(&self, id: &str) -> Option<&Message> {
        self.messages().find(|m| m.id == id)
    }

    /// The error with this id.
    pub fn error(&self, id: &str) -> Option<&ErrorDef> {
        self.root_elements.iter().find_map(|r| match r {
            RootElement::Error(e) if e.id == id => Some(e),
            _ => None,
        })
    }

    /// The signal with this id.
    pub fn signal(&self, id: &str) -> Option<&Signal> {
        self.root_elements.iter().find_map(|r| match r {
            RootElement::Signal(s) if s.id == id => Some(s),
            _ => None,
        })
    }

    /// The escalation with this id.
    pub fn escalation(&self, id: &str) -> Option<&Escalation> {
        self.root_elements.iter().find_map(|r| match r {
            RootElement::Escalation(e) if e.id == id => Some(e),
            _ => None,
        })
    }

    /// Any element by id (the first one if ids are duplicated).
    pub fn element(&self, id: &str) -> Option<ElementRef<'_>> {
        let mut found = None;
        for_each_element(self, |eid, e| {
            if found.is_none() && eid == id {
                found = Some(e);
            }
        });
        found
    }

    /// The flow node with this id, searching sub-processes too.
    pub fn flow_node(&self, id: &str) -> Option<&FlowNode> {
        all_flow_nodes(self).find(|n| n.id == id)
    }

    /// The sequence flow with this id, searching sub-processes too.
    pub fn sequence_flow(&self, id: &str) -> Option<&SequenceFlow> {
        all_sequence_flows(self).find(|f| f.id == id)
    }

    /// Sequence flows leaving the node `id`.
    pub fn outgoing(&self, id: &str) -> Vec<&SequenceFlow> {
        all_sequence_flows(self)
            .filter(|f| f.source_ref == id)
            .collect()
    }

    /// Sequence flows entering the node `id`.
    pub fn incoming(&self, id: &str) -> Vec<&SequenceFlow> {
        all_sequence_flows(self)
            .filter(|f| f.target_ref == id)
            .collect()
    }

    /// All DI shapes and edges of all diagrams.
    pub fn diagram_elements(&self) -> impl Iterator<Item = &DiagramElement> {
        self.diagrams.iter().flat_map(|d| d.plane.elements.iter())
    }

    /// The DI shape drawing element `id`.
    pub fn shape(&self, id: &str) -> Option<&Shape> {
        self.diagram_elements().find_map(|e| match e {
            DiagramElement::Shape(s) if s.bpmn_element.as_ref().is_some_and(|b| b == id) => Some(s),
            _ => None,
        })
    }

    /// The DI edge drawing element `id`.
    pub fn edge(&self, id: &str) -> Option<&Edge> {
        self.diagram_elements().find_map(|e| match e {
            DiagramElement::Edge(d) if d.bpmn_element.as_ref().is_some_and(|b| b == id) => Some(d),
            _ => None,
        })
    }
}

impl Process {
    /// Flow nodes directly in the process (not inside sub-processes).
    pub fn flow_nodes(&self) -> impl Iterator<Item = &FlowNode> {
        self.content.flow_nodes()
    }

    /// Sequence flows directly in the process.
    pub fn sequence_flows(&self) -> impl Iterator<Item = &SequenceFlow> {
        self.content.sequence_flows()
    }

    /// Flow node by id, directly in the process.
    pub fn flow_node(&self, id: &str) -> Option<&FlowNode> {
        self.content.flow_node(id)
    }

    /// Sequence flows leaving `id` (in the process body).
    pub fn outgoing<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a SequenceFlow> + 'a {
        self.content.outgoing(id)
    }

    /// Sequence flows entering `id` (in the process body).
    pub fn incoming<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a SequenceFlow> + 'a {
        self.content.incoming(id)
    }

    /// Start events directly in the process.
    pub fn start_events(&self) -> impl Iterator<Item = &FlowNode> {
        self.content.start_events()
    }
}

impl Container {
    /// Flow nodes in this container, in model order.
    pub fn flow_nodes(&self) -> impl Iterator<Item = &FlowNode> {
        self.flow_elements.iter().filter_map(|e| match e {
            FlowElement::Node(n) => Some(n),
            _ => None,
        })
    }

    /// Sequence flows in this container, in model order.
    pub fn sequence_flows(&self) -> impl Iterator<Item = &SequenceFlow> {
        self.flow_elements.iter().filter_map(|e| match e {
            FlowElement::SequenceFlow(f) => Some(f),
            _ => None,
        })
    }

    /// Flow node by id in this container.
    pub fn flow_node(&self, id: &str) -> Option<&FlowNode> {
        self.flow_nodes().find(|n| n.id == id)
    }

    /// Sequence flow by id in this container.
    pub fn sequence_flow(&self, id: &str) -> Option<&SequenceFlow> {
        self.sequence_flows().find(|f| f.id == id)
    }

    /// Sequence flows leaving `id`.
    pub fn outgoing<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a SequenceFlow> + 'a {
        self.sequence_flows().filter(move |f| f.source_ref == id)
    }

    /// Sequence flows entering `id`.
    pub fn incoming<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a SequenceFlow> + 'a {
        self.sequence_flows().filter(move |f| f.target_ref == id)
    }

    /// Start events in this container.
    pub fn start_events(&self) -> impl Iterator<Item = &FlowNode> {
        self.flow_nodes()
            .filter(|n| matches!(n.kind, FlowNodeKind::StartEvent(_)))
    }

    /// Boundary events attached to `activity_id`.
    pub fn boundary_events<'a>(
        &'a self,
        activity_id: &'a str,
    ) -> impl Iterator<Item = &'a FlowNode> + 'a {
        self.flow_nodes().filter(move |n| {
            matches!(&n.kind, FlowNodeKind::BoundaryEvent(e)
                if e.attached_to_ref.as_ref().is_some_and(|a| a == activity_id))
        })
    }
}
