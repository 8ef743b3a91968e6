//! Ids and the references between elements: every id is unique and well formed,
//! and every reference names an element of the right kind.

use std::collections::{HashMap, HashSet};

use super::{Code, Validator};
use crate::model::*;
use crate::walk::{for_each_element, scopes};

impl Validator<'_> {
    pub(super) fn ids(&mut self) {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut dups = Vec::new();
        let mut bad = Vec::new();
        for_each_element(self.defs, |id, _| {
            if !seen.insert(id) {
                dups.push(id);
            }
            if !Id::is_valid_ncname(id) {
                bad.push(id);
            }
        });
        for id in dups {
            self.push(
                Code::DuplicateId,
                Some(id),
                format!("id {id:?} is used by more than one element"),
            );
        }
        for id in bad {
            self.push(
                Code::InvalidId,
                Some(id),
                format!("id {id:?} is not a valid XML name"),
            );
        }
        let mut missing = Vec::new();
        for p in self.defs.processes() {
            if p.id.is_empty() {
                missing.push("a process".to_owned());
            }
        }
        for s in scopes(self.defs) {
            for fe in &s.container.flow_elements {
                let id = fe.id().unwrap_or("");
                if id.is_empty() && !matches!(fe, FlowElement::Other(_)) {
                    missing.push(format!("a flow element in {}", s.owner));
                }
            }
        }
        for what in missing {
            self.push(Code::MissingId, None, format!("{what} has no id"));
        }
    }

    pub(super) fn references(&mut self) {
        let defs = self.defs;
        let mut kinds: HashMap<&str, &'static str> = HashMap::new();
        for_each_element(defs, |id, e| {
            use crate::walk::ElementRef as E;
            let k = match e {
                E::Process(_) => "process",
                E::FlowNode(_) => "flowNode",
                E::Participant(_) => "participant",
                E::Data(d) => match d.kind {
                    DataKind::DataObject { .. } => "dataObject",
                    _ => "data",
                },
                E::DataStore(_) => "dataStore",
                _ => "other",
            };
            kinds.entry(id).or_insert(k);
        });
        let exists = |id: &Id| kinds.contains_key(id.as_str());
        let mut found = Vec::new();
        for c in defs.collaborations() {
            for p in &c.participants {
                if let Some(r) = &p.process_ref
                    && kinds.get(r.as_str()) != Some(&"process")
                {
                    found.push((p.id.as_str(), format!("processRef {r:?} names no process")));
                }
            }
            for m in &c.message_flows {
                for (end, r) in [("sourceRef", &m.source_ref), ("targetRef", &m.target_ref)] {
                    if !matches!(kinds.get(r.as_str()), Some(&"flowNode" | &"participant")) {
                        found.push((
                            m.id.as_str(),
                            format!("{end} {r:?} names no flow node or pool"),
                        ));
                    }
                }
                if let Some(r) = &m.message_ref
                    && defs.message(r.as_str()).is_none()
                {
                    found.push((m.id.as_str(), format!("messageRef {r:?} names no message")));
                }
            }
        }
        for s in scopes(defs) {
            for ls in &s.container.lane_sets {
                let mut stack = vec![ls];
                while let Some(ls) = stack.pop() {
                    for l in &ls.lanes {
                        for r in &l.flow_node_refs {
                            if kinds.get(r.as_str()) != Some(&"flowNode") {
                                found.push((
                                    l.id.as_str(),
                                    format!("flowNodeRef {r:?} names no flow node"),
                                ));
                            }
                        }
                        if let Some(c) = &l.child_lane_set {
                            stack.push(c);
                        }
                    }
                }
            }
            for a in &s.container.artifacts {
                if let ArtifactKind::Association {
                    source_ref,
                    target_ref,
                    ..
                } = &a.kind
                {
                    for r in [source_ref, target_ref].into_iter().flatten() {
                        if !exists(r) {
                            found.push((
                                a.id.as_str(),
                                format!("association end {r:?} names no element"),
                            ));
                        }
                    }
                }
            }
            for fe in &s.container.flow_elements {
                if let FlowElement::Data(d) = fe {
                    let bad = match &d.kind {
                        DataKind::DataObjectReference {
                            data_object_ref: Some(r),
                        } => kinds.get(r.as_str()) != Some(&"dataObject"),
                        DataKind::DataStoreReference {
                            data_store_ref: Some(r),
                        } => kinds.get(r.as_str()) != Some(&"dataStore"),
                        _ => false,
                    };
                    if bad {
                        found.push((
                            d.id.as_str(),
                            "data reference names no data object or data store".to_owned(),
                        ));
                    }
                }
            }
            for n in s.container.flow_nodes() {
                self.event_refs(n);
            }
        }
        for (id, msg) in found {
            self.push(Code::DanglingReference, Some(id), msg);
        }
    }

    fn event_refs(&mut self, n: &FlowNode) {
        let defs = self.defs;
        let mut bad = Vec::new();
        if let Some(a) = n.activity()
            && let Some(r) = &a.message_ref
            && defs.message(r.as_str()).is_none()
        {
            bad.push(format!("messageRef {r:?} names no message"));
        }
        for d in n.event().map(|e| e.definitions.as_slice()).unwrap_or(&[]) {
            match &d.kind {
                EventDefinitionKind::Message {
                    message_ref: Some(r),
                } if defs.message(r.as_str()).is_none() => {
                    bad.push(format!("messageRef {r:?} names no message"))
                }
                EventDefinitionKind::Error { error_ref: Some(r) }
                    if defs.error(r.as_str()).is_none() =>
                {
                    bad.push(format!("errorRef {r:?} names no error"))
                }
                EventDefinitionKind::Signal {
                    signal_ref: Some(r),
                } if defs.signal(r.as_str()).is_none() => {
                    bad.push(format!("signalRef {r:?} names no signal"))
                }
                EventDefinitionKind::Escalation {
                    escalation_ref: Some(r),
                } if defs.escalation(r.as_str()).is_none() => {
                    bad.push(format!("escalationRef {r:?} names no escalation"))
                }
                _ => {}
            }
        }
        for msg in bad {
            self.push(Code::UndefinedEventReference, Some(n.id.as_str()), msg);
        }
    }
}
