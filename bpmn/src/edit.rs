//! Editing API for the designer and tests. Every operation keeps the semantic
//! model and the diagram (BPMNDI) consistent: a created node gets a shape, a
//! connection gets an edge with waypoints and updates `incoming`/`outgoing`,
//! moving or resizing re-routes attached edges, deleting removes dangling
//! flows, edges, lane references and default-flow marks.

use std::collections::HashSet;

use thiserror::Error;

use crate::model::*;
use crate::walk::{all_flow_nodes, scopes};

/// Why an edit was refused. The model is unchanged when an edit fails.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// No element has this id.
    #[error("no element with id {0:?}")]
    NotFound(String),
    /// The id is already used.
    #[error("id {0:?} is already used")]
    DuplicateId(String),
    /// The parent is not a process or sub-process.
    #[error("{0:?} is not a process or a sub-process")]
    NotAContainer(String),
    /// Source and target are not in the same process or sub-process.
    #[error("{0:?} and {1:?} are not in the same process or sub-process")]
    DifferentScopes(String, String),
    /// The element has no shape to move or resize.
    #[error("{0:?} has no diagram shape")]
    NoShape(String),
    /// The element has no name to change.
    #[error("{0:?} cannot be renamed")]
    NotNamed(String),
    /// The edit breaks a modelling rule; the message says which, for the user.
    #[error("{0}")]
    NotAllowed(String),
}

/// Default sizes used by Camunda Modeler, handy when creating elements.
pub fn default_size(kind: &FlowNodeKind) -> (f64, f64) {
    if kind.event().is_some() {
        (36.0, 36.0)
    } else if kind.gateway().is_some() {
        (50.0, 50.0)
    } else if kind.is_sub_process() {
        (350.0, 200.0)
    } else {
        (100.0, 80.0)
    }
}

impl Definitions {
    /// A new document following Camunda Modeler's conventions: one executable
    /// process, `modeler:executionPlatform="Camunda Cloud"`, and a diagram plane.
    pub fn new_process(process_id: impl Into<Id>, name: Option<&str>) -> Self {
        let pid: Id = process_id.into();
        let mut defs = Definitions {
            id: Id::from(format!("Definitions_{pid}")),
            target_namespace: Some("http://bpmn.io/schema/bpmn".into()),
            exporter: Some("ASTRAflow".into()),
            exporter_version: Some(env!("CARGO_PKG_VERSION").into()),
            execution_platform: Some("Camunda Cloud".into()),
            execution_platform_version: Some("8.6.0".into()),
            ..Definitions::default()
        };
        defs.root_elements.push(RootElement::Process(Process {
            id: pid.clone(),
            name: name.map(str::to_owned),
            is_executable: Some(true),
            ..Process::default()
        }));
        defs.diagrams.push(Diagram {
            id: Id::from("BPMNDiagram_1"),
            plane: Plane {
                id: Id::from("BPMNPlane_1"),
                bpmn_element: Some(pid),
                ..Plane::default()
            },
            ..Diagram::default()
        });
        defs
    }

    /// True if any element (typed or in DI) uses `id`.
    pub fn id_in_use(&self, id: &str) -> bool {
        let mut used = self.id == id;
        crate::walk::for_each_element(self, |eid, _| used |= eid == id);
        used || self.diagrams.iter().any(|d| {
            d.id == id || d.plane.id == id || d.plane.elements.iter().any(|e| e.id() == id)
        })
    }

    /// A fresh id `{prefix}_{n}` not used anywhere in the document.
    pub fn fresh_id(&self, prefix: &str) -> Id {
        let mut n = 1;
        loop {
            let candidate = format!("{prefix}_{n}");
            if !self.id_in_use(&candidate) {
                return Id::from(candidate);
            }
            n += 1;
        }
    }

    /// Adds `node` to the process or sub-process `parent`, with a shape at `bounds`.
    pub fn add_flow_node(
        &mut self,
        parent: &str,
        node: FlowNode,
        bounds: Bounds,
    ) -> Result<(), EditError> {
        if node.id.is_empty() || self.id_in_use(node.id.as_str()) {
            return Err(EditError::DuplicateId(node.id.to_string()));
        }
        let process = self
            .process_of(parent)
            .ok_or_else(|| EditError::NotAContainer(parent.into()))?;
        let shape = Shape {
            id: Id::from(format!("{}_di", node.id)),
            bpmn_element: Some(node.id.clone()),
            is_expanded: node.kind.is_sub_process().then_some(true),
            is_marker_visible: matches!(node.kind, FlowNodeKind::ExclusiveGateway(_))
                .then_some(true),
            bounds,
            ..Shape::default()
        };
        let container = self
            .container_mut(parent)
            .ok_or_else(|| EditError::NotAContainer(parent.into()))?;
        container.flow_elements.push(FlowElement::Node(node));
        self.plane_for(&process)
            .elements
            .push(DiagramElement::Shape(shape));
        Ok(())
    }

    /// Connects two flow nodes of the same scope with a sequence flow and an
    /// edge routed between their shapes. Returns the new flow's id.
    pub fn connect(
        &mut self,
        source: &str,
        target: &str,
        flow_id: Option<Id>,
    ) -> Result<Id, EditError> {
        let owner_s = self
            .owner_of(source)
            .ok_or_else(|| EditError::NotFound(source.into()))?;
        let owner_t = self
            .owner_of(target)
            .ok_or_else(|| EditError::NotFound(target.into()))?;
        if owner_s != owner_t {
            return Err(EditError::DifferentScopes(source.into(), target.into()));
        }
        let id = match flow_id {
            Some(id) if self.id_in_use(id.as_str()) || id.is_empty() => {
                return Err(EditError::DuplicateId(id.to_string()));
            }
            Some(id) => id,
            None => self.fresh_id("Flow"),
        };
        let waypoints = self.route(source, target);
        let process = self
            .process_of(&owner_s)
            .ok_or_else(|| EditError::NotFound(source.into()))?;
        let container = self
            .container_mut(&owner_s)
            .ok_or_else(|| EditError::NotFound(source.into()))?;
        container
            .flow_elements
            .push(FlowElement::SequenceFlow(SequenceFlow {
                id: id.clone(),
                source_ref: Id::from(source),
                target_ref: Id::from(target),
                ..SequenceFlow::default()
            }));
        for fe in &mut container.flow_elements {
            if let FlowElement::Node(n) = fe {
                if n.id == source {
                    n.outgoing.push(id.clone());
                }
                if n.id == target {
                    n.incoming.push(id.clone());
                }
            }
        }
        let edge = Edge {
            id: Id::from(format!("{id}_di")),
            bpmn_element: Some(id.clone()),
            waypoints,
            ..Edge::default()
        };
        self.plane_for(&process)
            .elements
            .push(DiagramElement::Edge(edge));
        Ok(id)
    }

    /// Moves an element's shape by (`dx`, `dy`), with its label, its contents
    /// (sub-processes), its boundary events, and re-routes attached edges.
    pub fn move_element(&mut self, id: &str, dx: f64, dy: f64) -> Result<(), EditError> {
        if self.shape(id).is_none() {
            return Err(EditError::NoShape(id.into()));
        }
        let mut moved = self.descendants(id);
        moved.insert(id.to_owned());
        let attached: Vec<String> = all_flow_nodes(self)
            .filter(|n| {
                n.event()
                    .and_then(|e| e.attached_to_ref.as_ref())
                    .is_some_and(|h| moved.contains(h.as_str()))
            })
            .map(|n| n.id.to_string())
            .collect();
        moved.extend(attached);
        let flows = self.flow_ends();
        for d in &mut self.diagrams {
            for el in &mut d.plane.elements {
                match el {
                    DiagramElement::Shape(s)
                        if s.bpmn_element
                            .as_ref()
                            .is_some_and(|b| moved.contains(b.as_str())) =>
                    {
                        s.bounds.x += dx;
                        s.bounds.y += dy;
                        if let Some(b) = s.label.as_mut().and_then(|l| l.bounds.as_mut()) {
                            b.x += dx;
                            b.y += dy;
                        }
                    }
                    DiagramElement::Edge(e) => {
                        let ends = e
                            .bpmn_element
                            .as_ref()
                            .and_then(|b| flows.iter().find(|(f, _, _)| f == b.as_str()));
                        if let Some((_, s, t)) = ends
                            && moved.contains(s)
                            && moved.contains(t)
                        {
                            for w in &mut e.waypoints {
                                w.x += dx;
                                w.y += dy;
                            }
                            if let Some(b) = e.label.as_mut().and_then(|l| l.bounds.as_mut()) {
                                b.x += dx;
                                b.y += dy;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.reroute(|s, t| moved.contains(s) != moved.contains(t));
        Ok(())
    }

    /// Resizes an element's shape and re-routes attached edges.
    pub fn resize(&mut self, id: &str, width: f64, height: f64) -> Result<(), EditError> {
        let shape = self
            .shape_mut(id)
            .ok_or_else(|| EditError::NoShape(id.into()))?;
        shape.bounds.width = width;
        shape.bounds.height = height;
        self.reroute(|s, t| s == id || t == id);
        Ok(())
    }

    /// Re-routes the edge of the sequence or message flow `flow_id` between the
    /// shapes of its current ends (after one end was moved to another node).
    pub fn reroute_flow(&mut self, flow_id: &str) -> Result<(), EditError> {
        let (_, source, target) = self
            .flow_ends()
            .into_iter()
            .find(|(f, _, _)| f == flow_id)
            .ok_or_else(|| EditError::NotFound(flow_id.into()))?;
        let waypoints = self.route(&source, &target);
        if waypoints.is_empty() {
            return Ok(());
        }
        for d in &mut self.diagrams {
            for el in &mut d.plane.elements {
                if let DiagramElement::Edge(e) = el
                    && e.bpmn_element.as_ref().is_some_and(|b| b == flow_id)
                {
                    e.waypoints.clone_from(&waypoints);
                }
            }
        }
        Ok(())
    }

    /// Renames an element (`None` removes the name).
    pub fn rename(&mut self, id: &str, name: Option<&str>) -> Result<(), EditError> {
        let name = name.map(str::to_owned);
        let mut done = false;
        for r in &mut self.root_elements {
            let slot = match r {
                RootElement::Process(p) if p.id == id => Some(&mut p.name),
                RootElement::Message(m) if m.id == id => Some(&mut m.name),
                RootElement::Signal(s) if s.id == id => Some(&mut s.name),
                RootElement::Error(e) if e.id == id => Some(&mut e.name),
                RootElement::Escalation(e) if e.id == id => Some(&mut e.name),
                RootElement::Collaboration(c) => {
                    let p = c
                        .participants
                        .iter_mut()
                        .find(|p| p.id == id)
                        .map(|p| &mut p.name);
                    p.or_else(|| {
                        c.message_flows
                            .iter_mut()
                            .find(|m| m.id == id)
                            .map(|m| &mut m.name)
                    })
                }
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = name.clone();
                done = true;
            }
        }
        self.for_each_container_mut(&mut |_, c| {
            for fe in &mut c.flow_elements {
                let slot = match fe {
                    FlowElement::Node(n) if n.id == id => Some(&mut n.name),
                    FlowElement::SequenceFlow(f) if f.id == id => Some(&mut f.name),
                    FlowElement::Data(d) if d.id == id => Some(&mut d.name),
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = name.clone();
                    done = true;
                }
            }
            for ls in &mut c.lane_sets {
                for l in &mut ls.lanes {
                    if l.id == id {
                        l.name = name.clone();
                        done = true;
                    }
                }
            }
            for a in &mut c.artifacts {
                if a.id == id
                    && let ArtifactKind::TextAnnotation { text, .. } = &mut a.kind
                {
                    *text = name.clone();
                    done = true;
                }
            }
        });
        if done {
            Ok(())
        } else {
            Err(EditError::NotFound(id.into()))
        }
    }

    /// Deletes an element. Deleting a flow node also deletes its sequence
    /// flows, its boundary events, its contents (sub-processes), message
    /// flows and associations touching it, and its lane references; every
    /// deleted element's shape or edge goes too.
    pub fn delete(&mut self, id: &str) -> Result<(), EditError> {
        let is_flow = crate::walk::all_sequence_flows(self).any(|f| f.id == id);
        let is_node = self.flow_node(id).is_some();
        if !is_flow && !is_node {
            return Err(EditError::NotFound(id.into()));
        }
        let mut gone: HashSet<String> = HashSet::new();
        if is_node {
            gone.insert(id.to_owned());
            gone.extend(self.descendants(id));
            let attached: Vec<String> = all_flow_nodes(self)
                .filter(|n| {
                    n.event()
                        .and_then(|e| e.attached_to_ref.as_ref())
                        .is_some_and(|h| gone.contains(h.as_str()))
                })
                .map(|n| n.id.to_string())
                .collect();
            gone.extend(attached);
        }
        let mut flows: HashSet<String> = crate::walk::all_sequence_flows(self)
            .filter(|f| {
                f.id == id
                    || gone.contains(f.source_ref.as_str())
                    || gone.contains(f.target_ref.as_str())
            })
            .map(|f| f.id.to_string())
            .collect();
        for c in self.collaborations() {
            for m in &c.message_flows {
                if gone.contains(m.source_ref.as_str()) || gone.contains(m.target_ref.as_str()) {
                    flows.insert(m.id.to_string());
                }
            }
        }
        let keep_node = |n: &FlowNode| !gone.contains(n.id.as_str());
        self.for_each_container_mut(&mut |_, c| {
            c.flow_elements.retain(|fe| match fe {
                FlowElement::Node(n) => keep_node(n),
                FlowElement::SequenceFlow(f) => !flows.contains(f.id.as_str()),
                _ => true,
            });
            c.artifacts.retain(|a| match &a.kind {
                ArtifactKind::Association {
                    source_ref,
                    target_ref,
                    ..
                } => ![source_ref, target_ref]
                    .into_iter()
                    .flatten()
                    .any(|r| gone.contains(r.as_str())),
                _ => true,
            });
            for fe in &mut c.flow_elements {
                if let FlowElement::Node(n) = fe {
                    n.incoming.retain(|f| !flows.contains(f.as_str()));
                    n.outgoing.retain(|f| !flows.contains(f.as_str()));
                    let default = match &mut n.kind {
                        k if k.activity().is_some() => {
                            k.activity_mut().map(|a| &mut a.default_flow)
                        }
                        k => k.gateway_mut().map(|g| &mut g.default_flow),
                    };
                    if let Some(d) = default
                        && d.as_ref().is_some_and(|d| flows.contains(d.as_str()))
                    {
                        *d = None;
                    }
                }
            }
            for ls in &mut c.lane_sets {
                remove_lane_refs(ls, &gone);
            }
        });
        for r in &mut self.root_elements {
            if let RootElement::Collaboration(c) = r {
                c.message_flows.retain(|m| !flows.contains(m.id.as_str()));
            }
        }
        for d in &mut self.diagrams {
            d.plane.elements.retain(|e| {
                e.bpmn_element()
                    .is_none_or(|b| !gone.contains(b.as_str()) && !flows.contains(b.as_str()))
            });
        }
        Ok(())
    }

    // ----- helpers -----

    fn shape_mut(&mut self, id: &str) -> Option<&mut Shape> {
        self.diagrams
            .iter_mut()
            .flat_map(|d| d.plane.elements.iter_mut())
            .find_map(|e| match e {
                DiagramElement::Shape(s) if s.bpmn_element.as_ref().is_some_and(|b| b == id) => {
                    Some(s)
                }
                _ => None,
            })
    }

    /// Owner (process or sub-process id) of the container holding node `id`.
    fn owner_of(&self, id: &str) -> Option<String> {
        scopes(self)
            .into_iter()
            .find(|s| s.container.flow_node(id).is_some())
            .map(|s| s.owner.to_string())
    }

    /// Process id for a container owner id (a process or a sub-process).
    fn process_of(&self, owner: &str) -> Option<Id> {
        scopes(self)
            .into_iter()
            .find(|s| s.owner == owner)
            .map(|s| s.process.clone())
    }

    /// Ids of everything nested inside sub-process `id`.
    fn descendants(&self, id: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        if let Some(n) = self.flow_node(id)
            && let Some(c) = n.children()
        {
            collect_ids(c, &mut out);
        }
        out
    }

    /// (flow id, source, target) for every sequence and message flow.
    fn flow_ends(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<(String, String, String)> = crate::walk::all_sequence_flows(self)
            .map(|f| {
                (
                    f.id.to_string(),
                    f.source_ref.to_string(),
                    f.target_ref.to_string(),
                )
            })
            .collect();
        for c in self.collaborations() {
            for m in &c.message_flows {
                v.push((
                    m.id.to_string(),
                    m.source_ref.to_string(),
                    m.target_ref.to_string(),
                ));
            }
        }
        v
    }

    fn reroute(&mut self, affected: impl Fn(&str, &str) -> bool) {
        let flows = self.flow_ends();
        let mut routes = Vec::new();
        for (f, s, t) in &flows {
            if affected(s, t) {
                routes.push((f.clone(), self.route(s, t)));
            }
        }
        for d in &mut self.diagrams {
            for el in &mut d.plane.elements {
                if let DiagramElement::Edge(e) = el
                    && let Some((_, wp)) = routes
                        .iter()
                        .find(|(f, _)| e.bpmn_element.as_ref().is_some_and(|b| b == f.as_str()))
                    && !wp.is_empty()
                {
                    e.waypoints.clone_from(wp);
                }
            }
        }
    }

    /// Orthogonal route between two shapes: leave right / enter left when the
    /// target is to the right (or the mirror), else leave bottom / enter top.
    fn route(&self, source: &str, target: &str) -> Vec<Point> {
        let (Some(s), Some(t)) = (self.shape(source), self.shape(target)) else {
            return Vec::new();
        };
        let (s, t) = (s.bounds, t.bounds);
        let (sc, tc) = (s.center(), t.center());
        let elbow = |a: Point, b: Point, horizontal: bool| {
            if (horizontal && a.y == b.y) || (!horizontal && a.x == b.x) {
                vec![a, b]
            } else if horizontal {
                let mx = (a.x + b.x) / 2.0;
                vec![a, Point::new(mx, a.y), Point::new(mx, b.y), b]
            } else {
                let my = (a.y + b.y) / 2.0;
                vec![a, Point::new(a.x, my), Point::new(b.x, my), b]
            }
        };
        if t.x >= s.x + s.width {
            elbow(Point::new(s.x + s.width, sc.y), Point::new(t.x, tc.y), true)
        } else if t.x + t.width <= s.x {
            elbow(Point::new(s.x, sc.y), Point::new(t.x + t.width, tc.y), true)
        } else if t.y >= s.y + s.height {
            elbow(
                Point::new(sc.x, s.y + s.height),
                Point::new(tc.x, t.y),
                false,
            )
        } else {
            elbow(
                Point::new(sc.x, s.y),
                Point::new(tc.x, t.y + t.height),
                false,
            )
        }
    }

    /// The plane drawing `process` (directly or through a pool); created if missing.
    fn plane_for(&mut self, process: &Id) -> &mut Plane {
        let pools: Vec<Id> = self
            .collaborations()
            .filter(|c| {
                c.participants
                    .iter()
                    .any(|p| p.process_ref.as_ref() == Some(process))
            })
            .map(|c| c.id.clone())
            .collect();
        let idx = self.diagrams.iter().position(|d| {
            d.plane
                .bpmn_element
                .as_ref()
                .is_some_and(|b| b == process || pools.contains(b))
        });
        let idx = match idx {
            Some(i) => i,
            None => {
                let n = self.diagrams.len() + 1;
                self.diagrams.push(Diagram {
                    id: Id::from(format!("BPMNDiagram_{n}")),
                    plane: Plane {
                        id: Id::from(format!("BPMNPlane_{n}")),
                        bpmn_element: Some(process.clone()),
                        ..Plane::default()
                    },
                    ..Diagram::default()
                });
                self.diagrams.len() - 1
            }
        };
        &mut self.diagrams[idx].plane
    }

    /// The container owned by the process or sub-process `owner`.
    pub fn container_mut(&mut self, owner: &str) -> Option<&mut Container> {
        fn find<'c>(c: &'c mut Container, owner: &str) -> Option<&'c mut Container> {
            for fe in &mut c.flow_elements {
                if let FlowElement::Node(n) = fe
                    && n.kind.is_sub_process()
                {
                    let is_owner = n.id == owner;
                    let a = n.kind.activity_mut()?;
                    if is_owner {
                        return Some(&mut a.content);
                    }
                    if let Some(found) = find(&mut a.content, owner) {
                        return Some(found);
                    }
                }
            }
            None
        }
        for r in &mut self.root_elements {
            if let RootElement::Process(p) = r {
                if p.id == owner {
                    return Some(&mut p.content);
                }
                if let Some(c) = find(&mut p.content, owner) {
                    return Some(c);
                }
            }
        }
        None
    }

    fn for_each_container_mut(&mut self, f: &mut dyn FnMut(&Id, &mut Container)) {
        fn walk(owner: &Id, c: &mut Container, f: &mut dyn FnMut(&Id, &mut Container)) {
            f(owner, c);
            for fe in &mut c.flow_elements {
                if let FlowElement::Node(n) = fe
                    && n.kind.is_sub_process()
                {
                    let id = n.id.clone();
                    if let Some(a) = n.kind.activity_mut() {
                        walk(&id, &mut a.content, f);
                    }
                }
            }
        }
        for r in &mut self.root_elements {
            if let RootElement::Process(p) = r {
                let id = p.id.clone();
                walk(&id, &mut p.content, f);
            }
        }
    }
}

fn collect_ids(c: &Container, out: &mut HashSet<String>) {
    for fe in &c.flow_elements {
        if let Some(id) = fe.id() {
            out.insert(id.to_owned());
        }
        if let FlowElement::Node(n) = fe
            && let Some(inner) = n.children()
        {
            collect_ids(inner, out);
        }
    }
}

fn remove_lane_refs(ls: &mut LaneSet, gone: &HashSet<String>) {
    for l in &mut ls.lanes {
        l.flow_node_refs.retain(|r| !gone.contains(r.as_str()));
        if let Some(c) = &mut l.child_lane_set {
            remove_lane_refs(c, gone);
        }
    }
}
