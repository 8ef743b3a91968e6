//! Copy and paste: a clipboard that holds copied elements whole (nodes, the flows between them,
//! their shapes and edges), and pasting it back under fresh ids with every reference inside
//! the copy renamed along.

use std::collections::{HashMap, HashSet};

use bpmn::walk::{all_flow_nodes, all_sequence_flows, for_each_element};
use bpmn::{
    ArtifactKind, Bounds, Container, DataKind, Definitions, Diagram, DiagramElement, EditError,
    FlowElement, FlowNode, Id, LaneSet, LoopCharacteristics, Plane, RootElement, SequenceFlow,
};
use serde::{Deserialize, Serialize};

use crate::editor::not_allowed;
use crate::tree::{Tree, main_process};

/// Copied elements: self-contained (nodes, the flows between them, their shapes/edges),
/// serialisable so the UI may keep it anywhere.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clipboard {
    /// Top-level copied nodes; a sub-process carries its contents.
    nodes: Vec<FlowNode>,
    /// Sequence flows between top-level copied nodes.
    flows: Vec<SequenceFlow>,
    /// Shapes and edges of everything copied, contents included, in paint order.
    di: Vec<DiagramElement>,
}

impl Clipboard {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

pub(crate) fn copy_nodes(defs: &Definitions, ids: &[String]) -> Clipboard {
    let tree = Tree::new(defs);
    let mut picked: HashSet<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| tree.nodes.contains_key(id))
        .collect();
    // Boundary events come along with their host.
    let attached: Vec<&str> = tree
        .nodes
        .keys()
        .copied()
        .filter(|id| tree.host(id).is_some_and(|h| picked.contains(h)))
        .collect();
    picked.extend(attached);
    // Nodes inside a copied sub-process travel in its contents; boundary events whose host
    // stays behind would be attached to the original.
    let top: HashSet<&str> = picked
        .iter()
        .copied()
        .filter(|id| {
            let nested = tree.enclosing(id).iter().any(|o| picked.contains(o));
            let orphan = tree.host(id).is_some_and(|h| !picked.contains(h));
            !nested && !orphan
        })
        .collect();
    let nodes: Vec<FlowNode> = all_flow_nodes(defs)
        .filter(|n| top.contains(n.id.as_str()))
        .cloned()
        .collect();
    let flows: Vec<SequenceFlow> = all_sequence_flows(defs)
        .filter(|f| top.contains(f.source_ref.as_str()) && top.contains(f.target_ref.as_str()))
        .cloned()
        .collect();
    let mut drawn: HashSet<String> = HashSet::new();
    for n in &nodes {
        drawn.insert(n.id.to_string());
        if let Some(c) = n.children() {
            collect_container_ids(c, &mut |id, _| {
                drawn.insert(id.to_owned());
            });
        }
    }
    drawn.extend(flows.iter().map(|f| f.id.to_string()));
    let mut seen = HashSet::new();
    let di = defs
        .diagram_elements()
        .filter(|e| {
            e.bpmn_element()
                .is_some_and(|b| drawn.contains(b.as_str()) && seen.insert(b.to_string()))
        })
        .cloned()
        .collect();
    Clipboard { nodes, flows, di }
}

/// Calls `f(id, default prefix)` for every element with an id inside `c`, nested ones included.
fn collect_container_ids(c: &Container, f: &mut dyn FnMut(&str, &'static str)) {
    fn lanes(ls: &LaneSet, f: &mut dyn FnMut(&str, &'static str)) {
        f(ls.id.as_str(), "LaneSet");
        for l in &ls.lanes {
            f(l.id.as_str(), "Lane");
            if let Some(child) = &l.child_lane_set {
                lanes(child, f);
            }
        }
    }
    for ls in &c.lane_sets {
        lanes(ls, f);
    }
    for fe in &c.flow_elements {
        match fe {
            FlowElement::Node(n) => {
                f(n.id.as_str(), node_prefix(n));
                if let Some(inner) = n.children() {
                    collect_container_ids(inner, f);
                }
            }
            FlowElement::SequenceFlow(s) => f(s.id.as_str(), "Flow"),
            FlowElement::Data(d) => f(d.id.as_str(), "DataObject"),
            FlowElement::Other(_) => {}
        }
    }
    for a in &c.artifacts {
        f(a.id.as_str(), "Artifact");
    }
}

fn node_prefix(n: &FlowNode) -> &'static str {
    if n.event().is_some() {
        "Event"
    } else if n.gateway().is_some() {
        "Gateway"
    } else {
        "Activity"
    }
}

/// Hands out ids unused in the document and not handed out before.
struct Fresh {
    taken: HashSet<String>,
}

impl Fresh {
    fn new(defs: &Definitions) -> Self {
        let mut taken = HashSet::new();
        for_each_element(defs, |id, _| {
            taken.insert(id.to_owned());
        });
        for d in &defs.diagrams {
            taken.insert(d.id.to_string());
            taken.insert(d.plane.id.to_string());
            for e in &d.plane.elements {
                taken.insert(e.id().to_string());
            }
        }
        taken.insert(defs.id.to_string());
        Self { taken }
    }

    /// `{prefix}_{n}`, with the prefix of `old` (the part before its first `_`) when it has one.
    fn like(&mut self, old: &str, default_prefix: &str) -> Id {
        let prefix = old
            .split_once('_')
            .map(|(p, _)| p)
            .filter(|p| Id::is_valid_ncname(p))
            .unwrap_or(default_prefix);
        self.with_prefix(prefix)
    }

    fn with_prefix(&mut self, prefix: &str) -> Id {
        let mut n = 1;
        loop {
            let candidate = format!("{prefix}_{n}");
            if self.taken.insert(candidate.clone()) {
                return Id::from(candidate);
            }
            n += 1;
        }
    }

    /// `exact` if free, else a fresh id with `prefix`.
    fn exact_or(&mut self, exact: String, prefix: &str) -> Id {
        if self.taken.insert(exact.clone()) {
            Id::from(exact)
        } else {
            self.with_prefix(prefix)
        }
    }
}

/// Old id → new id for one paste; references to anything not pasted stay as they are.
struct Renames {
    map: HashMap<String, Id>,
}

impl Renames {
    fn get(&self, old: &Id) -> Id {
        self.map
            .get(old.as_str())
            .cloned()
            .unwrap_or_else(|| old.clone())
    }

    fn known(&self, old: &Id) -> Option<Id> {
        self.map.get(old.as_str()).cloned()
    }

    fn node(&self, n: &mut FlowNode, fresh: &mut Fresh) {
        n.id = self.get(&n.id);
        n.incoming = n.incoming.iter().filter_map(|r| self.known(r)).collect();
        n.outgoing = n.outgoing.iter().filter_map(|r| self.known(r)).collect();
        if let Some(e) = n.kind.event_mut() {
            if let Some(h) = &e.attached_to_ref {
                e.attached_to_ref = Some(self.get(h));
            }
            for d in &mut e.definitions {
                if let Some(old) = &d.id {
                    d.id = Some(fresh.like(old.as_str(), "EventDefinition"));
                }
            }
        }
        if let Some(g) = n.kind.gateway_mut() {
            g.default_flow = g.default_flow.as_ref().and_then(|d| self.known(d));
        }
        if let Some(a) = n.kind.activity_mut() {
            a.default_flow = a.default_flow.as_ref().and_then(|d| self.known(d));
            if let Some(lc) = a.loop_characteristics.as_deref_mut() {
                let id = match lc {
                    LoopCharacteristics::MultiInstance(m) => &mut m.id,
                    LoopCharacteristics::Standard(s) => &mut s.id,
                };
                if let Some(old) = id {
                    *id = Some(fresh.like(old.as_str(), "LoopCharacteristics"));
                }
            }
            self.container(&mut a.content, fresh);
        }
    }

    fn flow(&self, f: &mut SequenceFlow) {
        f.id = self.get(&f.id);
        f.source_ref = self.get(&f.source_ref);
        f.target_ref = self.get(&f.target_ref);
    }

    fn container(&self, c: &mut Container, fresh: &mut Fresh) {
        fn lanes(r: &Renames, ls: &mut LaneSet) {
            ls.id = r.get(&ls.id);
            for l in &mut ls.lanes {
                l.id = r.get(&l.id);
                for n in &mut l.flow_node_refs {
                    *n = r.get(n);
                }
                if let Some(child) = &mut l.child_lane_set {
                    lanes(r, child);
                }
            }
        }
        for ls in &mut c.lane_sets {
            lanes(self, ls);
        }
        for fe in &mut c.flow_elements {
            match fe {
                FlowElement::Node(n) => self.node(n, fresh),
                FlowElement::SequenceFlow(f) => self.flow(f),
                FlowElement::Data(d) => {
                    d.id = self.get(&d.id);
                    if let DataKind::DataObjectReference {
                        data_object_ref: Some(r),
                    } = &mut d.kind
                    {
                        *r = self.get(r);
                    }
                }
                FlowElement::Other(_) => {}
            }
        }
        for a in &mut c.artifacts {
            a.id = self.get(&a.id);
            if let ArtifactKind::Association {
                source_ref,
                target_ref,
                ..
            } = &mut a.kind
            {
                for r in [source_ref, target_ref].into_iter().flatten() {
                    *r = self.get(r);
                }
            }
        }
    }
}

pub(crate) fn paste_into(
    defs: &mut Definitions,
    clip: &Clipboard,
    dx: f64,
    dy: f64,
) -> Result<Vec<String>, EditError> {
    let process = main_process(defs)
        .map(Id::from)
        .ok_or_else(|| not_allowed("the document has no process to paste into"))?;
    let mut fresh = Fresh::new(defs);
    let mut renames = Renames {
        map: HashMap::new(),
    };
    {
        let mut add = |old: &str, prefix: &'static str| {
            if !old.is_empty() && !renames.map.contains_key(old) {
                let new = fresh.like(old, prefix);
                renames.map.insert(old.to_owned(), new);
            }
        };
        for n in &clip.nodes {
            add(n.id.as_str(), node_prefix(n));
            if let Some(c) = n.children() {
                collect_container_ids(c, &mut add);
            }
        }
        for f in &clip.flows {
            add(f.id.as_str(), "Flow");
        }
    }
    let mut nodes = clip.nodes.clone();
    for n in &mut nodes {
        renames.node(n, &mut fresh);
    }
    let mut flows = clip.flows.clone();
    for f in &mut flows {
        renames.flow(f);
    }
    let mut di_ids: HashMap<String, Id> = HashMap::new();
    let mut di = Vec::new();
    for el in &clip.di {
        let Some(new_el) = el.bpmn_element().and_then(|b| renames.known(b)) else {
            continue;
        };
        let new_id = fresh.exact_or(format!("{new_el}_di"), "DiagramElement");
        di_ids.insert(el.id().to_string(), new_id.clone());
        let mut el = el.clone();
        let shift = |b: &mut Bounds| {
            b.x += dx;
            b.y += dy;
        };
        match &mut el {
            DiagramElement::Shape(s) => {
                s.id = new_id;
                s.bpmn_element = Some(new_el);
                shift(&mut s.bounds);
                if let Some(l) = &mut s.label {
                    l.bounds.as_mut().map(shift);
                    if !l.id.is_empty() {
                        l.id = fresh.like(l.id.as_str(), "Label");
                    }
                }
            }
            DiagramElement::Edge(e) => {
                e.id = new_id;
                e.bpmn_element = Some(new_el);
                for w in &mut e.waypoints {
                    w.x += dx;
                    w.y += dy;
                }
                if let Some(l) = &mut e.label {
                    l.bounds.as_mut().map(shift);
                    if !l.id.is_empty() {
                        l.id = fresh.like(l.id.as_str(), "Label");
                    }
                }
            }
        }
        di.push(el);
    }
    for el in &mut di {
        if let DiagramElement::Edge(e) = el {
            for r in [&mut e.source_element, &mut e.target_element] {
                *r = r.as_ref().and_then(|old| di_ids.get(old.as_str()).cloned());
            }
        }
    }
    let new_ids: Vec<String> = nodes
        .iter()
        .map(|n| n.id.to_string())
        .chain(flows.iter().map(|f| f.id.to_string()))
        .collect();
    let container = defs
        .container_mut(process.as_str())
        .ok_or_else(|| EditError::NotAContainer(process.to_string()))?;
    container
        .flow_elements
        .extend(nodes.into_iter().map(FlowElement::Node));
    container
        .flow_elements
        .extend(flows.into_iter().map(FlowElement::SequenceFlow));
    plane_for(defs, &process).elements.extend(di);
    Ok(new_ids)
}

/// The plane drawing `process` directly or through its pool; created when there is none.
fn plane_for<'d>(defs: &'d mut Definitions, process: &Id) -> &'d mut Plane {
    let pools: Vec<Id> = defs
        .root_elements
        .iter()
        .filter_map(|r| match r {
            RootElement::Collaboration(c)
                if c.participants
                    .iter()
                    .any(|p| p.process_ref.as_ref() == Some(process)) =>
            {
                Some(c.id.clone())
            }
            _ => None,
        })
        .collect();
    let found = defs.diagrams.iter().position(|d| {
        d.plane
            .bpmn_element
            .as_ref()
            .is_some_and(|b| b == process || pools.contains(b))
    });
    let idx = match found {
        Some(i) => i,
        None => {
            let mut fresh = Fresh::new(defs);
            let diagram = Diagram {
                id: fresh.with_prefix("BPMNDiagram"),
                plane: Plane {
                    id: fresh.with_prefix("BPMNPlane"),
                    bpmn_element: Some(process.clone()),
                    ..Plane::default()
                },
                ..Diagram::default()
            };
            defs.diagrams.push(diagram);
            defs.diagrams.len() - 1
        }
    };
    &mut defs.diagrams[idx].plane
}
