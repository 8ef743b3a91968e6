//! An index over a deployed process for the processor: every flow node and sequence flow
//! by id, however deeply nested in sub-processes, with the scope that contains it, the
//! boundary events attached to it and the event sub-processes of each scope.
//!
//! The BPMN model keeps nested containers as a tree; the processor looks elements up by
//! id on every transition, so the index stores, for each id, the path of positions that
//! leads to it. A lookup is a few vector indexings instead of a walk over the whole tree.

use std::collections::HashMap;

use bpmn::{Container, EventDefinitionKind, FlowElement, FlowNode, FlowNodeKind, SequenceFlow};

/// Where an element sits: positions in `flow_elements` from the process body down.
type Path = Vec<usize>;

#[derive(Debug, Clone, Default)]
struct NodeEntry {
    path: Path,
    /// Id of the sub-process that contains the node; `None` in the process body.
    scope: Option<String>,
    incoming: Vec<String>,
    outgoing: Vec<String>,
    boundary_events: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct ScopeEntry {
    /// Event sub-processes directly inside the scope.
    event_sub_processes: Vec<String>,
    /// The none start event of the scope, if any.
    none_start: Option<String>,
}

/// The index of one process (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct ProcessModel {
    nodes: HashMap<String, NodeEntry>,
    flows: HashMap<String, (Path, Option<String>)>,
    /// Scopes by sub-process id; the process body under `None`.
    scopes: HashMap<Option<String>, ScopeEntry>,
}

impl ProcessModel {
    /// Indexes `process`.
    #[must_use]
    pub fn new(process: &bpmn::Process) -> Self {
        let mut model = Self::default();
        model.index(&process.content, &mut Vec::new(), None);
        model
    }

    fn index(&mut self, container: &Container, path: &mut Path, scope: Option<String>) {
        let mut entry = ScopeEntry::default();
        for (i, element) in container.flow_elements.iter().enumerate() {
            path.push(i);
            match element {
                FlowElement::Node(node) => {
                    let id = node.id.as_str().to_owned();
                    if is_event_sub_process(node) {
                        entry.event_sub_processes.push(id.clone());
                    }
                    if let FlowNodeKind::StartEvent(e) = &node.kind
                        && e.definitions.is_empty()
                        && entry.none_start.is_none()
                    {
                        entry.none_start = Some(id.clone());
                    }
                    self.nodes.insert(
                        id.clone(),
                        NodeEntry {
                            path: path.clone(),
                            scope: scope.clone(),
                            ..NodeEntry::default()
                        },
                    );
                    if let Some(inner) = node.children() {
                        self.index(inner, path, Some(id));
                    }
                }
                FlowElement::SequenceFlow(flow) => {
                    self.flows
                        .insert(flow.id.as_str().to_owned(), (path.clone(), scope.clone()));
                }
                FlowElement::Data(_) | FlowElement::Other(_) => {}
            }
            path.pop();
        }
        // Flows and boundary events by their nodes, in model order.
        for element in &container.flow_elements {
            match element {
                FlowElement::SequenceFlow(flow) => {
                    let id = flow.id.as_str().to_owned();
                    if let Some(source) = self.nodes.get_mut(flow.source_ref.as_str()) {
                        source.outgoing.push(id.clone());
                    }
                    if let Some(target) = self.nodes.get_mut(flow.target_ref.as_str()) {
                        target.incoming.push(id);
                    }
                }
                FlowElement::Node(node) => {
                    if let FlowNodeKind::BoundaryEvent(e) = &node.kind
                        && let Some(attached) = &e.attached_to_ref
                        && let Some(activity) = self.nodes.get_mut(attached.as_str())
                    {
                        activity.boundary_events.push(node.id.as_str().to_owned());
                    }
                }
                _ => {}
            }
        }
        self.scopes.insert(scope, entry);
    }

    /// Whether the process has a flow node `id`.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    /// Ids of every flow node, in no particular order.
    pub fn node_ids(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// The flow node `id`, at any depth.
    #[must_use]
    pub fn node<'a>(&self, process: &'a bpmn::Process, id: &str) -> Option<&'a FlowNode> {
        match follow(&process.content, &self.nodes.get(id)?.path)? {
            FlowElement::Node(node) => Some(node),
            _ => None,
        }
    }

    /// The sequence flow `id`, at any depth.
    #[must_use]
    pub fn flow<'a>(&self, process: &'a bpmn::Process, id: &str) -> Option<&'a SequenceFlow> {
        match follow(&process.content, &self.flows.get(id)?.0)? {
            FlowElement::SequenceFlow(flow) => Some(flow),
            _ => None,
        }
    }

    /// The sub-process that directly contains `id` (`None` for the process body, or an
    /// unknown id).
    #[must_use]
    pub fn scope_of(&self, id: &str) -> Option<&str> {
        self.nodes.get(id).and_then(|n| n.scope.as_deref())
    }

    /// The chain of sub-processes containing `id`, innermost first.
    #[must_use]
    pub fn scope_chain(&self, id: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut current = self.scope_of(id);
        while let Some(scope) = current {
            out.push(scope);
            current = self.scope_of(scope);
        }
        out
    }

    /// Outgoing sequence flows of `id`, in model order.
    #[must_use]
    pub fn outgoing(&self, id: &str) -> &[String] {
        self.nodes.get(id).map_or(&[], |n| &n.outgoing)
    }

    /// Incoming sequence flows of `id`, in model order.
    #[must_use]
    pub fn incoming(&self, id: &str) -> &[String] {
        self.nodes.get(id).map_or(&[], |n| &n.incoming)
    }

    /// Boundary events attached to the activity `id`, in model order.
    #[must_use]
    pub fn boundary_events(&self, id: &str) -> &[String] {
        self.nodes.get(id).map_or(&[], |n| &n.boundary_events)
    }

    /// Event sub-processes directly inside `scope` (`None` for the process body).
    #[must_use]
    pub fn event_sub_processes(&self, scope: Option<&str>) -> &[String] {
        self.scopes
            .get(&scope.map(str::to_owned))
            .map_or(&[], |s| &s.event_sub_processes)
    }

    /// The none start event of `scope` (`None` for the process body).
    #[must_use]
    pub fn none_start(&self, scope: Option<&str>) -> Option<&str> {
        self.scopes
            .get(&scope.map(str::to_owned))
            .and_then(|s| s.none_start.as_deref())
    }

    /// The start event of the event sub-process `id` (its first start event).
    #[must_use]
    pub fn start_of<'a>(&self, process: &'a bpmn::Process, id: &str) -> Option<&'a FlowNode> {
        self.node(process, id)?
            .children()?
            .flow_nodes()
            .find(|n| matches!(n.kind, FlowNodeKind::StartEvent(_)))
    }
}

fn follow<'a>(container: &'a Container, path: &[usize]) -> Option<&'a FlowElement> {
    let (last, parents) = path.split_last()?;
    let mut current = container;
    for &i in parents {
        match current.flow_elements.get(i)? {
            FlowElement::Node(node) => current = node.children()?,
            _ => return None,
        }
    }
    current.flow_elements.get(*last)
}

/// Whether `node` is an event sub-process (`triggeredByEvent`).
#[must_use]
pub fn is_event_sub_process(node: &FlowNode) -> bool {
    matches!(&node.kind, FlowNodeKind::SubProcess(a) if a.triggered_by_event == Some(true))
}

/// Whether `node` is an activity marked multi-instance.
#[must_use]
pub fn is_multi_instance(node: &FlowNode) -> bool {
    node.activity().is_some_and(|a| {
        matches!(
            a.loop_characteristics.as_deref(),
            Some(bpmn::LoopCharacteristics::MultiInstance(_))
        )
    })
}

/// The multi-instance characteristics of `node`, if it has them.
#[must_use]
pub fn multi_instance(node: &FlowNode) -> Option<&bpmn::MultiInstance> {
    match node.activity()?.loop_characteristics.as_deref()? {
        bpmn::LoopCharacteristics::MultiInstance(mi) => Some(mi),
        bpmn::LoopCharacteristics::Standard(_) => None,
    }
}

/// The event definition of an event node.
#[must_use]
pub fn event_definition(node: &FlowNode) -> Option<&EventDefinitionKind> {
    node.event()?.definition()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
      <bpmn:process id="p" isExecutable="true">
        <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
        <bpmn:subProcess id="sub"><bpmn:incoming>f1</bpmn:incoming>
          <bpmn:startEvent id="inner-start"/>
          <bpmn:task id="inner"/>
          <bpmn:sequenceFlow id="fi" sourceRef="inner-start" targetRef="inner"/>
          <bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="esp-start"/></bpmn:subProcess>
        </bpmn:subProcess>
        <bpmn:boundaryEvent id="b" attachedToRef="sub"/>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>
      </bpmn:process></bpmn:definitions>"#;

    #[test]
    fn nested_elements_are_found_with_their_scopes() {
        let defs = bpmn::parse(XML).unwrap();
        let process = defs.process("p").unwrap();
        let model = ProcessModel::new(process);
        assert_eq!(model.node(process, "inner").unwrap().id.as_str(), "inner");
        assert_eq!(
            model.flow(process, "fi").unwrap().target_ref.as_str(),
            "inner"
        );
        assert_eq!(model.scope_of("inner"), Some("sub"));
        assert_eq!(model.scope_of("esp-start"), Some("esp"));
        assert_eq!(model.scope_chain("esp-start"), ["esp", "sub"]);
        assert_eq!(model.scope_of("sub"), None);
        assert_eq!(model.outgoing("s"), ["f1"]);
        assert_eq!(model.incoming("inner"), ["fi"]);
        assert_eq!(model.boundary_events("sub"), ["b"]);
        assert_eq!(model.event_sub_processes(Some("sub")), ["esp"]);
        assert_eq!(model.none_start(None), Some("s"));
        assert_eq!(model.none_start(Some("sub")), Some("inner-start"));
        assert_eq!(
            model.start_of(process, "esp").unwrap().id.as_str(),
            "esp-start"
        );
        assert!(model.node(process, "nope").is_none());
    }
}
