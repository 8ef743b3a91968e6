//! What the canvas draws: shapes and edges with their BPMN notation, in paint order.

use std::collections::HashSet;

use bpmn::walk::{ElementRef, for_each_element};
use bpmn::xml::{XmlElement, XmlNode};
use bpmn::{
    ArtifactKind, Bounds, DataKind, Definitions, DiagramElement, EventDefinitionKind, FlowNode,
    FlowNodeKind, LoopCharacteristics, Point, Shape,
};

use crate::tree::{Tree, first_plane};

/// Where an event sits in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventPosition {
    Start,
    IntermediateCatch,
    IntermediateThrow,
    Boundary,
    End,
}

/// Event definition marker drawn inside the circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventMarker {
    None,
    Message,
    Timer,
    Error,
    Signal,
    Escalation,
    Terminate,
    Cancel,
    Link,
    Conditional,
    Compensate,
    /// More than one definition.
    Multiple,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskMarker {
    None,
    Service,
    User,
    Script,
    Send,
    Receive,
    BusinessRule,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopMarker {
    Parallel,
    Sequential,
    Standard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayMarker {
    /// `show_x`: isMarkerVisible.
    Exclusive {
        show_x: bool,
    },
    Parallel,
    Inclusive,
    EventBased,
    Complex,
}

/// The notation of one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Glyph {
    Event {
        position: EventPosition,
        marker: EventMarker,
        /// Dashed outline for non-interrupting start/boundary events.
        interrupting: bool,
    },
    Task {
        marker: TaskMarker,
        looping: Option<LoopMarker>,
    },
    SubProcess {
        expanded: bool,
        /// Event sub-process: dotted outline.
        triggered_by_event: bool,
        looping: Option<LoopMarker>,
    },
    CallActivity {
        looping: Option<LoopMarker>,
    },
    Gateway(GatewayMarker),
    /// A pool; `horizontal` is the DI flag (default true).
    Participant {
        horizontal: bool,
    },
    Lane {
        horizontal: bool,
    },
    DataObject,
    DataStore,
    TextAnnotation,
    Group,
    /// A shape whose element the scene does not know.
    Unknown,
}

/// One shape to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeView {
    /// The BPMN element id (what selection and overlays use).
    pub id: String,
    pub glyph: Glyph,
    pub bounds: Bounds,
    pub name: Option<String>,
    /// DI label bounds when the file has them (events, gateways: label below).
    pub label: Option<Bounds>,
    /// True for flow nodes (selectable and connectable); false for pools, lanes, artifacts.
    pub is_flow_node: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    Sequence { is_default: bool, conditional: bool },
    Message,
    Association,
    DataAssociation,
}

/// One edge to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeView {
    pub id: String,
    pub kind: EdgeKind,
    pub points: Vec<Point>,
    pub name: Option<String>,
    pub label: Option<Bounds>,
}

/// Everything the canvas draws for a document's first diagram, in paint order (pools, lanes,
/// expanded sub-processes before their contents, boundary events after their hosts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    pub shapes: Vec<ShapeView>,
    pub edges: Vec<EdgeView>,
    /// Extent of everything drawn (for fit-to-view); zero-sized when empty.
    pub extent: Bounds,
}

/// The scene of `defs`.
pub fn scene(defs: &Definitions) -> Scene {
    let Some(plane) = first_plane(defs) else {
        return Scene::default();
    };
    let tree = Tree::new(defs);
    let mut elements = std::collections::HashMap::new();
    for_each_element(defs, |id, e| {
        elements.entry(id).or_insert(e);
    });
    let data_associations = data_association_ids(defs);
    let drawn: HashSet<&str> = plane
        .elements
        .iter()
        .filter_map(|e| e.bpmn_element().map(|b| b.as_str()))
        .collect();

    // (layer, nesting depth, plane order) gives the paint order.
    let mut shapes: Vec<((u8, usize, usize), ShapeView)> = Vec::new();
    let mut edges = Vec::new();
    for (order, el) in plane.elements.iter().enumerate() {
        match el {
            DiagramElement::Shape(shape) => {
                let Some(id) = shape.bpmn_element.as_ref().map(|b| b.as_str()) else {
                    continue;
                };
                let element = elements.get(id).copied();
                let glyph = element.map_or(Glyph::Unknown, |e| glyph(e, shape, &drawn));
                let layer = match glyph {
                    Glyph::Participant { .. } => 0,
                    Glyph::Lane { .. } => 1,
                    Glyph::Event {
                        position: EventPosition::Boundary,
                        ..
                    } => 3,
                    _ => 2,
                };
                let name = element.and_then(|e| match e {
                    ElementRef::Artifact(a) => match &a.kind {
                        ArtifactKind::TextAnnotation { text, .. } => text.as_deref(),
                        _ => None,
                    },
                    e => e.name(),
                });
                let depth = tree.depth.get(id).copied().unwrap_or(0);
                shapes.push((
                    (layer, depth, order),
                    ShapeView {
                        id: id.to_owned(),
                        glyph,
                        bounds: shape.bounds,
                        name: name.map(str::to_owned),
                        label: shape.label.as_ref().and_then(|l| l.bounds),
                        is_flow_node: matches!(element, Some(ElementRef::FlowNode(_))),
                    },
                ));
            }
            DiagramElement::Edge(edge) => {
                let Some(id) = edge.bpmn_element.as_ref().map(|b| b.as_str()) else {
                    continue;
                };
                let element = elements.get(id).copied();
                let kind = match element {
                    Some(ElementRef::SequenceFlow(f)) => {
                        let source = tree.nodes.get(f.source_ref.as_str());
                        EdgeKind::Sequence {
                            is_default: source
                                .and_then(|s| s.default_flow())
                                .is_some_and(|d| d == id),
                            // The diamond marks conditions on flows out of activities only;
                            // out of a gateway, every flow may carry one.
                            conditional: f.condition.is_some()
                                && source.is_some_and(|s| s.activity().is_some()),
                        }
                    }
                    Some(ElementRef::MessageFlow(_)) => EdgeKind::Message,
                    _ if data_associations.contains(id) => EdgeKind::DataAssociation,
                    _ => EdgeKind::Association,
                };
                edges.push(EdgeView {
                    id: id.to_owned(),
                    kind,
                    points: edge.waypoints.clone(),
                    name: element.and_then(ElementRef::name).map(str::to_owned),
                    label: edge.label.as_ref().and_then(|l| l.bounds),
                });
            }
        }
    }
    shapes.sort_by_key(|(k, _)| *k);
    let shapes: Vec<ShapeView> = shapes.into_iter().map(|(_, s)| s).collect();
    let extent = extent(&shapes, &edges);
    Scene {
        shapes,
        edges,
        extent,
    }
}

fn extent(shapes: &[ShapeView], edges: &[EdgeView]) -> Bounds {
    let mut acc: Option<(f64, f64, f64, f64)> = None;
    let mut add = |x0: f64, y0: f64, x1: f64, y1: f64| {
        acc = Some(match acc {
            None => (x0, y0, x1, y1),
            Some((a, b, c, d)) => (a.min(x0), b.min(y0), c.max(x1), d.max(y1)),
        });
    };
    for s in shapes {
        for b in std::iter::once(s.bounds).chain(s.label) {
            add(b.x, b.y, b.x + b.width, b.y + b.height);
        }
    }
    for e in edges {
        for p in &e.points {
            add(p.x, p.y, p.x, p.y);
        }
        if let Some(b) = e.label {
            add(b.x, b.y, b.x + b.width, b.y + b.height);
        }
    }
    acc.map_or(Bounds::new(0.0, 0.0, 0.0, 0.0), |(x0, y0, x1, y1)| {
        Bounds::new(x0, y0, x1 - x0, y1 - y0)
    })
}

/// Ids of data input/output associations, which the model keeps as untyped children.
fn data_association_ids(defs: &Definitions) -> HashSet<String> {
    fn walk(e: &XmlElement, out: &mut HashSet<String>) {
        if matches!(
            e.name.as_str(),
            "dataInputAssociation" | "dataOutputAssociation"
        ) && let Some(id) = e.attr("id")
        {
            out.insert(id.to_owned());
        }
        for c in &e.children {
            if let XmlNode::Element(c) = c {
                walk(c, out);
            }
        }
    }
    let mut out = HashSet::new();
    for n in bpmn::walk::all_flow_nodes(defs) {
        for c in &n.base.extra.children {
            walk(c, &mut out);
        }
    }
    out
}

fn glyph(element: ElementRef<'_>, shape: &Shape, drawn: &HashSet<&str>) -> Glyph {
    match element {
        ElementRef::FlowNode(n) => node_glyph(n, shape, drawn),
        ElementRef::Participant(_) => Glyph::Participant {
            horizontal: shape.is_horizontal.unwrap_or(true),
        },
        ElementRef::Lane(_) => Glyph::Lane {
            horizontal: shape.is_horizontal.unwrap_or(true),
        },
        ElementRef::Data(d) => match d.kind {
            DataKind::DataStoreReference { .. } => Glyph::DataStore,
            DataKind::DataObject { .. } | DataKind::DataObjectReference { .. } => Glyph::DataObject,
        },
        ElementRef::DataStore(_) => Glyph::DataStore,
        ElementRef::Artifact(a) => match a.kind {
            ArtifactKind::TextAnnotation { .. } => Glyph::TextAnnotation,
            ArtifactKind::Group { .. } => Glyph::Group,
            ArtifactKind::Association { .. } => Glyph::Unknown,
        },
        _ => Glyph::Unknown,
    }
}

fn looping(n: &FlowNode) -> Option<LoopMarker> {
    n.activity()
        .and_then(|a| a.loop_characteristics.as_deref())
        .map(|lc| match lc {
            LoopCharacteristics::MultiInstance(m) if m.is_sequential == Some(true) => {
                LoopMarker::Sequential
            }
            LoopCharacteristics::MultiInstance(_) => LoopMarker::Parallel,
            LoopCharacteristics::Standard(_) => LoopMarker::Standard,
        })
}

fn node_glyph(n: &FlowNode, shape: &Shape, drawn: &HashSet<&str>) -> Glyph {
    let task = |marker| Glyph::Task {
        marker,
        looping: looping(n),
    };
    let event = |position, e: &bpmn::Event| {
        let marker = match e.definitions.as_slice() {
            [] => EventMarker::None,
            [one] => match one.kind {
                EventDefinitionKind::Message { .. } => EventMarker::Message,
                EventDefinitionKind::Timer(_) => EventMarker::Timer,
                EventDefinitionKind::Error { .. } => EventMarker::Error,
                EventDefinitionKind::Signal { .. } => EventMarker::Signal,
                EventDefinitionKind::Escalation { .. } => EventMarker::Escalation,
                EventDefinitionKind::Terminate => EventMarker::Terminate,
                EventDefinitionKind::Cancel => EventMarker::Cancel,
                EventDefinitionKind::Link { .. } => EventMarker::Link,
                EventDefinitionKind::Conditional { .. } => EventMarker::Conditional,
                EventDefinitionKind::Compensate { .. } => EventMarker::Compensate,
            },
            _ => EventMarker::Multiple,
        };
        let interrupting = match position {
            EventPosition::Start => e.interrupting(),
            EventPosition::Boundary => e.cancels_activity(),
            _ => true,
        };
        Glyph::Event {
            position,
            marker,
            interrupting,
        }
    };
    match &n.kind {
        FlowNodeKind::StartEvent(e) => event(EventPosition::Start, e),
        FlowNodeKind::IntermediateCatchEvent(e) => event(EventPosition::IntermediateCatch, e),
        FlowNodeKind::IntermediateThrowEvent(e) => event(EventPosition::IntermediateThrow, e),
        FlowNodeKind::EndEvent(e) => event(EventPosition::End, e),
        FlowNodeKind::BoundaryEvent(e) => event(EventPosition::Boundary, e),
        FlowNodeKind::Task(_) => task(TaskMarker::None),
        FlowNodeKind::ServiceTask(_) => task(TaskMarker::Service),
        FlowNodeKind::UserTask(_) => task(TaskMarker::User),
        FlowNodeKind::ScriptTask(_) => task(TaskMarker::Script),
        FlowNodeKind::SendTask(_) => task(TaskMarker::Send),
        FlowNodeKind::ReceiveTask(_) => task(TaskMarker::Receive),
        FlowNodeKind::BusinessRuleTask(_) => task(TaskMarker::BusinessRule),
        FlowNodeKind::ManualTask(_) => task(TaskMarker::Manual),
        FlowNodeKind::CallActivity(_) => Glyph::CallActivity {
            looping: looping(n),
        },
        FlowNodeKind::SubProcess(a)
        | FlowNodeKind::AdHocSubProcess(a)
        | FlowNodeKind::Transaction(a) => Glyph::SubProcess {
            // Files from tools that omit isExpanded draw an expanded sub-process's contents
            // on the same plane.
            expanded: shape.is_expanded.unwrap_or_else(|| {
                a.content
                    .flow_elements
                    .iter()
                    .any(|fe| fe.id().is_some_and(|id| drawn.contains(id)))
            }),
            triggered_by_event: a.triggered_by_event == Some(true),
            looping: looping(n),
        },
        FlowNodeKind::ExclusiveGateway(_) => Glyph::Gateway(GatewayMarker::Exclusive {
            show_x: shape.is_marker_visible.unwrap_or(false),
        }),
        FlowNodeKind::ParallelGateway(_) => Glyph::Gateway(GatewayMarker::Parallel),
        FlowNodeKind::InclusiveGateway(_) => Glyph::Gateway(GatewayMarker::Inclusive),
        FlowNodeKind::EventBasedGateway(_) => Glyph::Gateway(GatewayMarker::EventBased),
        FlowNodeKind::ComplexGateway(_) => Glyph::Gateway(GatewayMarker::Complex),
    }
}
