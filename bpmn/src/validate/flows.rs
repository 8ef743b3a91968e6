//! The structure of each process and sub-process: sequence flows stay inside their
//! scope, start/end/boundary events have the flows they may have, default flows are
//! outgoing flows, every node can be reached, and link events pair up.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use super::{Code, Severity, Validator, is_executable};
use crate::model::*;
use crate::walk::Scope;

impl<'a> Validator<'a> {
    pub(super) fn scope(&mut self, s: &Scope<'a>) {
        let c = s.container;
        let nodes: HashMap<&str, &FlowNode> = c.flow_nodes().map(|n| (n.id.as_str(), n)).collect();
        let mut out_flows: HashMap<&str, Vec<&SequenceFlow>> = HashMap::new();
        let mut in_flows: HashMap<&str, Vec<&SequenceFlow>> = HashMap::new();
        for f in c.sequence_flows() {
            for (end, r) in [("sourceRef", &f.source_ref), ("targetRef", &f.target_ref)] {
                if nodes.contains_key(r.as_str()) {
                    continue;
                }
                if self.defs.flow_node(r.as_str()).is_some() {
                    self.push(
                        Code::FlowCrossesScope,
                        Some(f.id.as_str()),
                        format!("{end} {r:?} is in another process or sub-process than the flow"),
                    );
                } else {
                    self.push(
                        Code::DanglingFlowReference,
                        Some(f.id.as_str()),
                        format!("{end} {r:?} names no flow node"),
                    );
                }
            }
            out_flows.entry(f.source_ref.as_str()).or_default().push(f);
            in_flows.entry(f.target_ref.as_str()).or_default().push(f);
        }
        let process_executable = self
            .defs
            .process(s.process.as_str())
            .is_some_and(is_executable);
        let is_event_sub = s
            .sub_process
            .and_then(|n| n.activity())
            .is_some_and(|a| a.triggered_by_event == Some(true));
        let is_ad_hoc = s
            .sub_process
            .is_some_and(|n| matches!(n.kind, FlowNodeKind::AdHocSubProcess(_)));

        // Start events.
        let starts: Vec<&FlowNode> = c.start_events().collect();
        if starts.is_empty() && !is_ad_hoc {
            let sev = if process_executable {
                Severity::Error
            } else {
                Severity::Warning
            };
            let what = if s.sub_process.is_some() {
                "sub-process"
            } else {
                "process"
            };
            self.push_sev(
                Code::NoStartEvent,
                sev,
                Some(s.owner.as_str()),
                format!("{what} {} has no start event", s.owner),
            );
        }
        if let Some(sp) = s.sub_process
            && is_event_sub
        {
            {
                let ok = starts.len() == 1
                    && starts[0].event().is_some_and(|e| !e.definitions.is_empty());
                if !ok {
                    self.push(Code::EventSubProcessShape, Some(sp.id.as_str()), "an event sub-process needs exactly one start event with an event definition".into());
                }
                if !sp.incoming.is_empty() || !sp.outgoing.is_empty() {
                    self.push(
                        Code::EventSubProcessShape,
                        Some(sp.id.as_str()),
                        "an event sub-process must not have sequence flows".into(),
                    );
                }
            }
        }

        for n in c.flow_nodes() {
            let id = n.id.as_str();
            let outs = out_flows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let ins = in_flows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            self.incoming_outgoing(n, ins, outs);
            match &n.kind {
                FlowNodeKind::StartEvent(_) if !ins.is_empty() => {
                    self.push(
                        Code::StartWithIncoming,
                        Some(id),
                        "a start event cannot have incoming sequence flows".into(),
                    );
                }
                FlowNodeKind::EndEvent(_) if !outs.is_empty() => {
                    self.push(
                        Code::EndWithOutgoing,
                        Some(id),
                        "an end event cannot have outgoing sequence flows".into(),
                    );
                }
                FlowNodeKind::BoundaryEvent(e) => {
                    if !ins.is_empty() {
                        self.push(
                            Code::BoundaryWithIncoming,
                            Some(id),
                            "a boundary event cannot have incoming sequence flows".into(),
                        );
                    }
                    let host = e
                        .attached_to_ref
                        .as_ref()
                        .and_then(|h| nodes.get(h.as_str()));
                    if host.is_none_or(|h| h.activity().is_none()) {
                        let msg = match &e.attached_to_ref {
                            None => "boundary event has no attachedToRef".to_owned(),
                            Some(h) => {
                                format!("attachedToRef {h:?} is not an activity in the same scope")
                            }
                        };
                        self.push(Code::BoundaryNotAttached, Some(id), msg);
                    }
                }
                _ => {}
            }
            if let Some(d) = n.default_flow() {
                if !outs.iter().any(|f| f.id == *d) {
                    self.push(
                        Code::InvalidDefaultFlow,
                        Some(id),
                        format!("default flow {d:?} is not an outgoing flow of {id}"),
                    );
                } else if outs.iter().any(|f| f.id == *d && f.condition.is_some()) {
                    self.push(
                        Code::ConditionOnDefaultFlow,
                        Some(d.as_str()),
                        "the default flow's condition is ignored".into(),
                    );
                }
            }
            if n.gateway().is_some() {
                self.gateway(n, outs, &nodes);
            }
        }
        if !is_ad_hoc {
            self.reachability(c, &nodes, &out_flows);
        }
        self.links(c);
    }

    fn incoming_outgoing(&mut self, n: &FlowNode, ins: &[&SequenceFlow], outs: &[&SequenceFlow]) {
        let listed_in: BTreeSet<&str> = n.incoming.iter().map(Id::as_str).collect();
        let listed_out: BTreeSet<&str> = n.outgoing.iter().map(Id::as_str).collect();
        let real_in: BTreeSet<&str> = ins.iter().map(|f| f.id.as_str()).collect();
        let real_out: BTreeSet<&str> = outs.iter().map(|f| f.id.as_str()).collect();
        // Lists are optional in BPMN; only a list that is present and wrong is reported.
        if (!listed_in.is_empty() && listed_in != real_in)
            || (!listed_out.is_empty() && listed_out != real_out)
        {
            self.push(
                Code::IncomingOutgoingMismatch,
                Some(n.id.as_str()),
                "bpmn:incoming/bpmn:outgoing do not match the sequence flows".into(),
            );
        }
    }

    fn reachability(
        &mut self,
        c: &Container,
        nodes: &HashMap<&str, &FlowNode>,
        out_flows: &HashMap<&str, Vec<&SequenceFlow>>,
    ) {
        let mut link_catch: HashMap<&str, &str> = HashMap::new();
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name: Some(name) }) = e.definition()
            {
                link_catch.insert(name.as_str(), n.id.as_str());
            }
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        for n in c.flow_nodes() {
            let root = match &n.kind {
                FlowNodeKind::StartEvent(_) | FlowNodeKind::BoundaryEvent(_) => true,
                k => k.activity().is_some_and(|a| {
                    a.triggered_by_event == Some(true) || a.is_for_compensation == Some(true)
                }),
            };
            if root {
                queue.push_back(n.id.as_str());
            }
        }
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            for f in out_flows.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                queue.push_back(f.target_ref.as_str());
            }
            if let Some(n) = nodes.get(id)
                && let FlowNodeKind::IntermediateThrowEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name: Some(name) }) = e.definition()
                && let Some(target) = link_catch.get(name.as_str())
            {
                queue.push_back(target);
            }
        }
        for n in c.flow_nodes() {
            if !seen.contains(n.id.as_str()) {
                self.push(
                    Code::Unreachable,
                    Some(n.id.as_str()),
                    format!("{} cannot be reached from a start or boundary event", n.id),
                );
            }
        }
    }

    fn links(&mut self, c: &Container) {
        let mut catches: BTreeMap<&str, usize> = BTreeMap::new();
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
            {
                *catches.entry(name.as_deref().unwrap_or("")).or_default() += 1;
            }
        }
        for n in c.flow_nodes() {
            if let FlowNodeKind::IntermediateCatchEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
                && catches
                    .get(name.as_deref().unwrap_or(""))
                    .copied()
                    .unwrap_or(0)
                    > 1
            {
                self.push(
                    Code::LinkMismatch,
                    Some(n.id.as_str()),
                    format!(
                        "more than one link catch event is named {:?}",
                        name.as_deref().unwrap_or("")
                    ),
                );
            }
            if let FlowNodeKind::IntermediateThrowEvent(e) = &n.kind
                && let Some(EventDefinitionKind::Link { name }) = e.definition()
                && !catches.contains_key(name.as_deref().unwrap_or(""))
            {
                self.push(
                    Code::LinkMismatch,
                    Some(n.id.as_str()),
                    format!(
                        "no link catch event named {:?} in this scope",
                        name.as_deref().unwrap_or("")
                    ),
                );
            }
        }
    }
}
