//! The editor: a document, a selection and undo/redo. Every command either changes the
//! document and pushes the previous state on the undo stack, or fails and changes nothing.

use std::collections::HashSet;

use bpmn::edit::default_size;
use bpmn::walk::{all_flow_nodes, all_sequence_flows, for_each_element};
use bpmn::{
    Bounds, Definitions, DiagramElement, EditError, FlowElement, FlowNode, FlowNodeKind, Id, Point,
};

use crate::clipboard::{Clipboard, copy_nodes, paste_into};
use crate::palette::PaletteItem;
use crate::props::PropertyEdit;
use crate::tree::{Tree, contains_point, first_plane, main_process, nearest_border_point, shapes};

/// Grid the canvas snaps to, in diagram units.
pub const GRID: f64 = 10.0;

/// Undo depth: whole-document snapshots are cheap to take but not free to keep.
const UNDO_LIMIT: usize = 200;

/// Which end of a sequence flow a reconnect moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEnd {
    Source,
    Target,
}

#[derive(Debug, Clone)]
pub struct Editor {
    defs: Definitions,
    undo: Vec<Definitions>,
    redo: Vec<Definitions>,
    selection: Vec<String>,
    revision: u64,
}

fn snap(v: f64) -> f64 {
    (v / GRID).round() * GRID
}

pub(crate) fn not_allowed(msg: &str) -> EditError {
    EditError::NotAllowed(msg.to_owned())
}

impl Editor {
    /// Edits `defs`. Undo history starts empty.
    pub fn new(defs: Definitions) -> Self {
        Self {
            defs,
            undo: Vec::new(),
            redo: Vec::new(),
            selection: Vec::new(),
            revision: 0,
        }
    }

    /// A new document: one executable process `process_id` with one start event at (180, 160)
    /// (centre), like Camunda Modeler's new diagram.
    pub fn blank(process_id: &str) -> Self {
        let mut defs = Definitions::new_process(process_id, None);
        let start = PaletteItem::StartEvent.node(Id::from("StartEvent_1"));
        let (w, h) = default_size(&start.kind);
        // A fresh document always has its process and a free id.
        let _ = defs.add_flow_node(
            process_id,
            start,
            Bounds::new(180.0 - w / 2.0, 160.0 - h / 2.0, w, h),
        );
        Self::new(defs)
    }

    pub fn definitions(&self) -> &Definitions {
        &self.defs
    }

    /// Increases with every change of the document (commands, undo, redo, replace).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The id of the (first) executable process, else the first process.
    pub fn process_id(&self) -> Option<String> {
        main_process(&self.defs).map(str::to_owned)
    }

    /// Replaces the whole document (import); undoable.
    pub fn replace(&mut self, defs: Definitions) {
        let before = std::mem::replace(&mut self.defs, defs);
        self.push_undo(before);
        self.selection.clear();
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
    /// Restores the state before the last command. Returns false when there is nothing to undo.
    pub fn undo(&mut self) -> bool {
        let Some(prev) = self.undo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.defs, prev);
        self.redo.push(cur);
        self.revision += 1;
        self.prune_selection();
        true
    }
    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.defs, next);
        self.undo.push(cur);
        self.revision += 1;
        self.prune_selection();
        true
    }

    // ---- selection (not part of undo history; ids of flow nodes and sequence flows) ----
    pub fn selection(&self) -> &[String] {
        &self.selection
    }
    pub fn select(&mut self, ids: Vec<String>) {
        let mut seen = HashSet::new();
        self.selection = ids
            .into_iter()
            .filter(|id| seen.insert(id.clone()))
            .collect();
    }
    /// Adds or removes one id (shift-click).
    pub fn toggle_selected(&mut self, id: &str) {
        if let Some(i) = self.selection.iter().position(|s| s == id) {
            self.selection.remove(i);
        } else {
            self.selection.push(id.to_owned());
        }
    }
    pub fn clear_selection(&mut self) {
        self.selection.clear();
    }
    /// Every flow node and sequence flow.
    pub fn select_all(&mut self) {
        let nodes = all_flow_nodes(&self.defs).map(|n| n.id.to_string());
        let flows = all_sequence_flows(&self.defs).map(|f| f.id.to_string());
        self.selection = nodes.chain(flows).collect();
    }
    pub fn is_selected(&self, id: &str) -> bool {
        self.selection.iter().any(|s| s == id)
    }

    // ---- hit testing (diagram coordinates) ----
    /// The top-most flow node whose shape contains `p` (boundary events before their host,
    /// inner elements before the sub-process around them).
    pub fn node_at(&self, p: Point) -> Option<String> {
        let tree = Tree::new(&self.defs);
        node_at_with(&self.defs, &tree, p, |_| true).map(str::to_owned)
    }
    /// Flow nodes whose shapes lie entirely inside `rect`, and sequence flows whose every
    /// waypoint does (lasso).
    pub fn elements_in(&self, rect: Bounds) -> Vec<String> {
        let tree = Tree::new(&self.defs);
        let flows: HashSet<&str> = all_sequence_flows(&self.defs)
            .map(|f| f.id.as_str())
            .collect();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for el in first_plane(&self.defs)
            .into_iter()
            .flat_map(|p| &p.elements)
        {
            let Some(id) = el.bpmn_element().map(Id::as_str) else {
                continue;
            };
            let inside = match el {
                DiagramElement::Shape(s) => tree.nodes.contains_key(id) && rect.contains(&s.bounds),
                DiagramElement::Edge(e) => {
                    !e.waypoints.is_empty()
                        && e.waypoints.iter().all(|w| contains_point(&rect, *w))
                        && flows.contains(id)
                }
            };
            if inside && seen.insert(id) {
                out.push(id.to_owned());
            }
        }
        out
    }

    // ---- commands (each undoable, each all-or-nothing) ----
    /// Creates `item` centred at `center` (snapped to the grid) in the innermost expanded
    /// sub-process containing that point, else in the process. A boundary item must be
    /// dropped on an activity: it attaches to it and sits centred on the host's nearest border.
    /// Selects and returns the new node's id.
    pub fn create(&mut self, item: PaletteItem, center: Point) -> Result<Id, EditError> {
        let id = self.command(|defs| create_node(defs, item, center))?;
        self.selection = vec![id.to_string()];
        Ok(id)
    }

    /// Moves elements by (dx, dy), snapping so the first element's centre lands on the grid.
    /// Moving a node moves its label, contents and boundary events; edges re-route.
    pub fn move_elements(&mut self, ids: &[String], dx: f64, dy: f64) -> Result<(), EditError> {
        self.command(|defs| move_nodes(defs, ids, dx, dy))
    }

    /// Connects two nodes with a sequence flow; selects and returns it. Refuses (with
    /// `EditError::NotAllowed`) a flow into a start or boundary event, out of an
    /// end event, a node to itself, or a second flow between the same pair.
    pub fn connect(&mut self, source: &str, target: &str) -> Result<Id, EditError> {
        let id = self.command(|defs| {
            check_connection(defs, source, target, None)?;
            defs.connect(source, target, None)
        })?;
        self.selection = vec![id.to_string()];
        Ok(id)
    }

    /// Moves one end of a sequence flow to another node (same rules as connect).
    pub fn reconnect(&mut self, flow: &str, end: FlowEnd, node: &str) -> Result<(), EditError> {
        self.command(|defs| reconnect_flow(defs, flow, end, node))
    }

    /// Deletes elements (with what `Definitions::delete` takes along); ids already gone because
    /// an earlier one took them are skipped. Clears them from the selection.
    pub fn delete(&mut self, ids: &[String]) -> Result<(), EditError> {
        self.command(|defs| {
            let exists = |d: &Definitions, id: &str| {
                d.flow_node(id).is_some() || d.sequence_flow(id).is_some()
            };
            if let Some(missing) = ids.iter().find(|id| !exists(defs, id)) {
                return Err(EditError::NotFound(missing.clone()));
            }
            for id in ids {
                if exists(defs, id) {
                    defs.delete(id)?;
                }
            }
            Ok(())
        })?;
        self.prune_selection();
        Ok(())
    }

    /// Copies the given nodes with the flows between them (flows whose ends are not both
    /// copied are left out) and their boundary events.
    pub fn copy(&self, ids: &[String]) -> Clipboard {
        copy_nodes(&self.defs, ids)
    }

    /// Pastes with fresh ids, offset by (dx, dy), into the process; selects and returns the
    /// new ids.
    pub fn paste(
        &mut self,
        clipboard: &Clipboard,
        dx: f64,
        dy: f64,
    ) -> Result<Vec<String>, EditError> {
        if clipboard.is_empty() {
            return Ok(Vec::new());
        }
        let ids = self.command(|defs| paste_into(defs, clipboard, dx, dy))?;
        self.selection.clone_from(&ids);
        Ok(ids)
    }

    /// Renames (empty or whitespace-only removes the name).
    pub fn rename(&mut self, id: &str, name: &str) -> Result<(), EditError> {
        let name = Some(name.trim()).filter(|n| !n.is_empty());
        self.command(|defs| defs.rename(id, name))
    }

    /// One properties-panel edit (see [`PropertyEdit`]).
    pub fn set_property(&mut self, id: &str, edit: PropertyEdit) -> Result<(), EditError> {
        let new_id = match &edit {
            PropertyEdit::Id(new) => Some(new.clone()),
            _ => None,
        };
        self.command(|defs| crate::props::apply(defs, id, edit))?;
        if let Some(new) = new_id {
            for s in &mut self.selection {
                if s == id {
                    s.clone_from(&new);
                }
            }
        }
        Ok(())
    }

    // ---- internals ----

    /// Runs one command: keeps the result and records the previous state, or puts the
    /// previous state back when it fails half-way.
    fn command<T>(
        &mut self,
        f: impl FnOnce(&mut Definitions) -> Result<T, EditError>,
    ) -> Result<T, EditError> {
        let before = self.defs.clone();
        match f(&mut self.defs) {
            Ok(v) => {
                if self.defs != before {
                    self.push_undo(before);
                }
                Ok(v)
            }
            Err(e) => {
                self.defs = before;
                Err(e)
            }
        }
    }

    fn push_undo(&mut self, before: Definitions) {
        self.undo.push(before);
        if self.undo.len() > UNDO_LIMIT {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.revision += 1;
    }

    /// Drops selected ids the document no longer has (after delete, undo, redo).
    fn prune_selection(&mut self) {
        if self.selection.is_empty() {
            return;
        }
        let mut ids = HashSet::new();
        for_each_element(&self.defs, |id, _| {
            ids.insert(id.to_owned());
        });
        self.selection.retain(|s| ids.contains(s));
    }
}

/// The top-most flow node at `p` among those `accept` lets through: boundary events first,
/// then the most deeply nested, then the one painted last.
fn node_at_with<'a>(
    defs: &'a Definitions,
    tree: &Tree<'a>,
    p: Point,
    accept: impl Fn(&FlowNode) -> bool,
) -> Option<&'a str> {
    let mut best: Option<((bool, usize, usize), &'a str)> = None;
    for (order, (id, shape)) in shapes(defs).enumerate() {
        let Some(node) = tree.nodes.get(id) else {
            continue;
        };
        if !accept(node) || !contains_point(&shape.bounds, p) {
            continue;
        }
        let boundary = matches!(node.kind, FlowNodeKind::BoundaryEvent(_));
        let rank = (boundary, tree.depth.get(id).copied().unwrap_or(0), order);
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, tree.nodes[id].id.as_str()));
        }
    }
    best.map(|(_, id)| id)
}

fn create_node(defs: &mut Definitions, item: PaletteItem, center: Point) -> Result<Id, EditError> {
    let mut node = item.node(defs.fresh_id(item.id_prefix()));
    let id = node.id.clone();
    let (w, h) = default_size(&node.kind);
    let (parent, c) = {
        let tree = Tree::new(defs);
        if item.is_boundary() {
            let host = node_at_with(defs, &tree, center, |n| {
                n.activity().is_some()
                    && n.activity()
                        .is_none_or(|a| a.triggered_by_event != Some(true))
            })
            .ok_or_else(|| {
                not_allowed(
                    "a boundary event must be dropped on a task, sub-process or call activity",
                )
            })?;
            let host_bounds = defs
                .shape(host)
                .map(|s| s.bounds)
                .ok_or_else(|| EditError::NoShape(host.into()))?;
            let owner = tree.owner.get(host).copied().unwrap_or_default().to_owned();
            if let Some(e) = node.kind.event_mut() {
                e.attached_to_ref = Some(Id::from(host));
            }
            (owner, nearest_border_point(&host_bounds, center))
        } else {
            let c = Point::new(snap(center.x), snap(center.y));
            (container_at(defs, &tree, c)?, c)
        }
    };
    defs.add_flow_node(
        &parent,
        node,
        Bounds::new(c.x - w / 2.0, c.y - h / 2.0, w, h),
    )?;
    Ok(id)
}

/// Where a node dropped at `c` belongs: the innermost expanded sub-process around it, else
/// the process of the pool around it, else the main process.
fn container_at(defs: &Definitions, tree: &Tree<'_>, c: Point) -> Result<String, EditError> {
    let sub = node_at_with(defs, tree, c, |n| {
        n.kind.is_sub_process()
            && defs
                .shape(n.id.as_str())
                .is_some_and(|s| s.is_expanded == Some(true))
    });
    if let Some(sub) = sub {
        return Ok(sub.to_owned());
    }
    let pool = defs
        .collaborations()
        .flat_map(|c| &c.participants)
        .filter(|p| {
            defs.shape(p.id.as_str())
                .is_some_and(|s| contains_point(&s.bounds, c))
        })
        .find_map(|p| p.process_ref.as_ref())
        .filter(|p| defs.process(p.as_str()).is_some());
    if let Some(pool) = pool {
        return Ok(pool.to_string());
    }
    main_process(defs)
        .map(str::to_owned)
        .ok_or_else(|| not_allowed("the document has no process to add to"))
}

fn move_nodes(defs: &mut Definitions, ids: &[String], dx: f64, dy: f64) -> Result<(), EditError> {
    let movable: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| defs.shape(id).is_some() || defs.edge(id).is_none())
        .collect();
    let Some(first) = movable.first() else {
        return Ok(());
    };
    let c = defs
        .shape(first)
        .ok_or_else(|| EditError::NoShape((*first).into()))?
        .bounds
        .center();
    let (dx, dy) = (snap(c.x + dx) - c.x, snap(c.y + dy) - c.y);
    if dx == 0.0 && dy == 0.0 {
        return Ok(());
    }
    let (roots, lone_boundaries, kept_edges) = {
        let tree = Tree::new(defs);
        let listed: HashSet<&str> = movable.iter().copied().collect();
        let roots: Vec<String> = movable
            .iter()
            .filter(|id| !tree.ancestors(id).iter().any(|a| listed.contains(a)))
            .map(|id| (*id).to_owned())
            .collect();
        let root_set: HashSet<&str> = roots.iter().map(String::as_str).collect();
        let moved = tree.closure(&root_set);
        let lone_boundaries: Vec<(String, String)> = roots
            .iter()
            .filter_map(|r| tree.host(r).map(|h| (r.clone(), h.to_owned())))
            .collect();
        // Edges between two moved nodes keep their shape instead of being re-routed.
        let mut ends: Vec<(&str, &str, &str)> = all_sequence_flows(defs)
            .map(|f| (f.id.as_str(), f.source_ref.as_str(), f.target_ref.as_str()))
            .collect();
        for c in defs.collaborations() {
            for m in &c.message_flows {
                ends.push((m.id.as_str(), m.source_ref.as_str(), m.target_ref.as_str()));
            }
        }
        let kept: HashSet<String> = ends
            .into_iter()
            .filter(|(_, s, t)| moved.contains(s) && moved.contains(t))
            .map(|(f, _, _)| f.to_owned())
            .collect();
        let kept_edges: Vec<(String, Vec<Point>, Option<Bounds>)> = defs
            .diagram_elements()
            .filter_map(|e| match e {
                DiagramElement::Edge(e) => e.bpmn_element.as_ref().map(|b| (b, e)),
                DiagramElement::Shape(_) => None,
            })
            .filter(|(b, _)| kept.contains(b.as_str()))
            .map(|(b, e)| {
                (
                    b.to_string(),
                    e.waypoints.clone(),
                    e.label.as_ref().and_then(|l| l.bounds),
                )
            })
            .collect();
        (roots, lone_boundaries, kept_edges)
    };
    for r in &roots {
        defs.move_element(r, dx, dy)?;
    }
    for (event, host) in &lone_boundaries {
        let (Some(e), Some(h)) = (defs.shape(event), defs.shape(host)) else {
            continue;
        };
        let c = e.bounds.center();
        let on_border = nearest_border_point(&h.bounds, c);
        if on_border != c {
            defs.move_element(event, on_border.x - c.x, on_border.y - c.y)?;
        }
    }
    for d in &mut defs.diagrams {
        for el in &mut d.plane.elements {
            let DiagramElement::Edge(e) = el else {
                continue;
            };
            let Some(b) = &e.bpmn_element else {
                continue;
            };
            if let Some((_, wps, label)) = kept_edges.iter().find(|(f, _, _)| f == b.as_str()) {
                e.waypoints = wps.iter().map(|w| Point::new(w.x + dx, w.y + dy)).collect();
                if let (Some(l), Some(lb)) = (e.label.as_mut(), label) {
                    l.bounds = Some(Bounds::new(lb.x + dx, lb.y + dy, lb.width, lb.height));
                }
            }
        }
    }
    Ok(())
}

/// The modelling rules for a sequence flow from `source` to `target` (`flow` is the one
/// being reconnected, which does not count as a duplicate of itself).
fn check_connection(
    defs: &Definitions,
    source: &str,
    target: &str,
    flow: Option<&str>,
) -> Result<(), EditError> {
    let s = defs
        .flow_node(source)
        .ok_or_else(|| EditError::NotFound(source.into()))?;
    let t = defs
        .flow_node(target)
        .ok_or_else(|| EditError::NotFound(target.into()))?;
    if source == target {
        return Err(not_allowed("an element cannot be connected to itself"));
    }
    match t.kind {
        FlowNodeKind::StartEvent(_) => {
            return Err(not_allowed("a start event has no incoming flows"));
        }
        FlowNodeKind::BoundaryEvent(_) => {
            return Err(not_allowed(
                "a boundary event has no incoming flows: its activity triggers it",
            ));
        }
        _ => {}
    }
    if matches!(s.kind, FlowNodeKind::EndEvent(_)) {
        return Err(not_allowed("an end event has no outgoing flows"));
    }
    let event_sub = |n: &FlowNode| {
        n.activity()
            .is_some_and(|a| a.triggered_by_event == Some(true))
    };
    if event_sub(s) || event_sub(t) {
        return Err(not_allowed(
            "an event sub-process has no incoming or outgoing flows",
        ));
    }
    if matches!(s.kind, FlowNodeKind::EventBasedGateway(_))
        && !matches!(
            t.kind,
            FlowNodeKind::IntermediateCatchEvent(_) | FlowNodeKind::ReceiveTask(_)
        )
    {
        return Err(not_allowed(
            "an event-based gateway can only lead to intermediate catch events or receive tasks",
        ));
    }
    let tree = Tree::new(defs);
    if tree.owner.get(source) != tree.owner.get(target) {
        return Err(EditError::DifferentScopes(source.into(), target.into()));
    }
    if all_sequence_flows(defs)
        .any(|f| f.source_ref == source && f.target_ref == target && Some(f.id.as_str()) != flow)
    {
        return Err(not_allowed("these elements are already connected"));
    }
    Ok(())
}

fn reconnect_flow(
    defs: &mut Definitions,
    flow: &str,
    end: FlowEnd,
    node: &str,
) -> Result<(), EditError> {
    let f = defs
        .sequence_flow(flow)
        .ok_or_else(|| EditError::NotFound(flow.into()))?;
    let (old_source, old_target) = (f.source_ref.to_string(), f.target_ref.to_string());
    let (source, target) = match end {
        FlowEnd::Source => (node, old_target.as_str()),
        FlowEnd::Target => (old_source.as_str(), node),
    };
    if source == old_source && target == old_target {
        return Ok(());
    }
    check_connection(defs, source, target, Some(flow))?;
    let owner = Tree::new(defs)
        .owner
        .get(flow)
        .map(|o| (*o).to_owned())
        .ok_or_else(|| EditError::NotFound(flow.into()))?;
    let (old, new) = match end {
        FlowEnd::Source => (old_source.as_str(), source),
        FlowEnd::Target => (old_target.as_str(), target),
    };
    let container = defs
        .container_mut(&owner)
        .ok_or_else(|| EditError::NotAContainer(owner.clone()))?;
    for fe in &mut container.flow_elements {
        match fe {
            FlowElement::SequenceFlow(f) if f.id == flow => match end {
                FlowEnd::Source => f.source_ref = Id::from(new),
                FlowEnd::Target => f.target_ref = Id::from(new),
            },
            FlowElement::Node(n) => {
                let list = match end {
                    FlowEnd::Source => &mut n.outgoing,
                    FlowEnd::Target => &mut n.incoming,
                };
                if n.id == old {
                    list.retain(|r| r != flow);
                }
                if n.id == new && !list.iter().any(|r| r == flow) {
                    list.push(Id::from(flow));
                }
                if end == FlowEnd::Source && n.id == old {
                    clear_default(n, flow);
                }
            }
            _ => {}
        }
    }
    defs.reroute_flow(flow)
}

fn clear_default(n: &mut FlowNode, flow: &str) {
    let slot = match &mut n.kind {
        k if k.activity().is_some() => k.activity_mut().map(|a| &mut a.default_flow),
        k => k.gateway_mut().map(|g| &mut g.default_flow),
    };
    if let Some(d) = slot
        && d.as_ref().is_some_and(|d| d == flow)
    {
        *d = None;
    }
}
