//! Lookups the editor, the scene and the properties need over and over: who contains whom,
//! how deeply, and what the first diagram draws.

use std::collections::{HashMap, HashSet};

use bpmn::walk::scopes;
use bpmn::{Bounds, Definitions, DiagramElement, FlowNode, Plane, Point, Shape};

/// The nesting of flow elements, computed once per command (the model has no parent links).
pub(crate) struct Tree<'a> {
    pub nodes: HashMap<&'a str, &'a FlowNode>,
    /// Element id → id of the process or sub-process whose container holds it.
    pub owner: HashMap<&'a str, &'a str>,
    /// Element id → number of sub-processes around it.
    pub depth: HashMap<&'a str, usize>,
    /// Element id → the process it belongs to.
    pub process: HashMap<&'a str, &'a str>,
}

impl<'a> Tree<'a> {
    pub fn new(defs: &'a Definitions) -> Self {
        let mut tree = Tree {
            nodes: HashMap::new(),
            owner: HashMap::new(),
            depth: HashMap::new(),
            process: HashMap::new(),
        };
        for scope in scopes(defs) {
            let depth = scope
                .sub_process
                .map_or(0, |n| tree.depth.get(n.id.as_str()).map_or(0, |d| d + 1));
            for fe in &scope.container.flow_elements {
                let Some(id) = fe.id().filter(|id| !id.is_empty()) else {
                    continue;
                };
                tree.owner.insert(id, scope.owner.as_str());
                tree.depth.insert(id, depth);
                tree.process.insert(id, scope.process.as_str());
                if let bpmn::FlowElement::Node(n) = fe {
                    tree.nodes.insert(id, n);
                }
            }
            for a in &scope.container.artifacts {
                tree.owner.insert(a.id.as_str(), scope.owner.as_str());
                tree.depth.insert(a.id.as_str(), depth);
                tree.process.insert(a.id.as_str(), scope.process.as_str());
            }
        }
        tree
    }

    /// The boundary event's host.
    pub fn host(&self, id: &str) -> Option<&'a str> {
        self.nodes
            .get(id)
            .and_then(|n| n.event())
            .and_then(|e| e.attached_to_ref.as_ref())
            .map(|h| h.as_str())
    }

    /// What `id` moves with: the host of a boundary event, else the sub-process around it.
    pub fn parent(&self, id: &str) -> Option<&'a str> {
        self.host(id).or_else(|| {
            self.owner
                .get(id)
                .copied()
                .filter(|o| self.nodes.contains_key(o))
        })
    }

    /// Every element `id` moves with, nearest first.
    pub fn ancestors(&self, id: &str) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        let mut cur = self.parent(id);
        while let Some(p) = cur {
            // A malformed file may attach a boundary event to itself or loop otherwise.
            if out.contains(&p) || p == id {
                break;
            }
            out.push(p);
            cur = self.parent(p);
        }
        out
    }

    /// The sub-processes around `id`, innermost first.
    pub fn enclosing(&self, id: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut cur = self.owner.get(id).copied();
        while let Some(o) = cur.filter(|o| self.nodes.contains_key(o)) {
            if out.contains(&o) {
                break;
            }
            out.push(o);
            cur = self.owner.get(o).copied();
        }
        out
    }

    /// Ids of `roots` and of everything that moves or goes with them.
    pub fn closure(&self, roots: &HashSet<&str>) -> HashSet<&'a str> {
        self.nodes
            .keys()
            .copied()
            .filter(|id| roots.contains(id) || self.ancestors(id).iter().any(|a| roots.contains(a)))
            .collect()
    }
}

/// The plane the canvas draws.
pub(crate) fn first_plane(defs: &Definitions) -> Option<&Plane> {
    defs.diagrams.first().map(|d| &d.plane)
}

/// Shapes of the first diagram that draw an element, in paint order.
pub(crate) fn shapes(defs: &Definitions) -> impl Iterator<Item = (&str, &Shape)> {
    first_plane(defs)
        .into_iter()
        .flat_map(|p| p.elements.iter())
        .filter_map(|e| match e {
            DiagramElement::Shape(s) => s.bpmn_element.as_ref().map(|b| (b.as_str(), s)),
            DiagramElement::Edge(_) => None,
        })
}

pub(crate) fn contains_point(b: &Bounds, p: Point) -> bool {
    p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height
}

/// The point of `b`'s outline nearest to `p` (for boundary events).
pub(crate) fn nearest_border_point(b: &Bounds, p: Point) -> Point {
    let (left, right, top, bottom) = (b.x, b.x + b.width, b.y, b.y + b.height);
    let cx = p.x.clamp(left, right);
    let cy = p.y.clamp(top, bottom);
    let candidates = [
        ((p.x - left).abs(), Point::new(left, cy)),
        ((p.x - right).abs(), Point::new(right, cy)),
        ((p.y - top).abs(), Point::new(cx, top)),
        ((p.y - bottom).abs(), Point::new(cx, bottom)),
    ];
    candidates
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(p, |(_, q)| q)
}

/// The (first) executable process, else the first process.
pub(crate) fn main_process(defs: &Definitions) -> Option<&str> {
    defs.processes()
        .find(|p| p.is_executable == Some(true))
        .or_else(|| defs.processes().next())
        .map(|p| p.id.as_str())
}
