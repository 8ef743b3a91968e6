//! The diagram (`BPMN022`, `BPMN023`): every flow node and sequence flow is drawn,
//! and every shape or edge draws an element that exists.

use std::collections::HashSet;

use super::{Code, Validator};
use crate::model::*;
use crate::walk::{Scope, for_each_element, scopes};

impl<'a> Validator<'a> {
    pub(super) fn diagram(&mut self, all: &[Scope<'a>]) {
        let defs = self.defs;
        let mut drawn: HashSet<&str> = HashSet::new();
        let mut unknown = Vec::new();
        for d in &defs.diagrams {
            if let Some(p) = &d.plane.bpmn_element {
                drawn.insert(p.as_str());
            }
        }
        let mut known: HashSet<&str> = HashSet::new();
        for_each_element(defs, |id, _| {
            known.insert(id);
        });
        preserved_ids(defs, &mut known);
        for e in defs.diagram_elements() {
            if let Some(b) = e.bpmn_element() {
                drawn.insert(b.as_str());
                if !known.contains(b.as_str()) {
                    unknown.push((e.id().as_str(), b.as_str()));
                }
            }
        }
        for (di, b) in unknown {
            self.push(
                Code::DiUnknownElement,
                Some(di),
                format!("diagram element draws {b:?}, which does not exist"),
            );
        }
        if defs.diagrams.is_empty() {
            return;
        }
        for s in all {
            // Content of a collapsed sub-process is drawn on its own plane, if at all.
            if let Some(sp) = s.sub_process
                && defs
                    .shape(sp.id.as_str())
                    .is_some_and(|sh| sh.is_expanded == Some(false))
                && !drawn.contains(sp.id.as_str())
            {
                continue;
            }
            let mut missing = Vec::new();
            for fe in &s.container.flow_elements {
                match fe {
                    FlowElement::Node(n) if !drawn.contains(n.id.as_str()) => {
                        missing.push(n.id.as_str())
                    }
                    FlowElement::SequenceFlow(f) if !drawn.contains(f.id.as_str()) => {
                        missing.push(f.id.as_str())
                    }
                    _ => {}
                }
            }
            for id in missing {
                self.push(
                    Code::MissingDi,
                    Some(id),
                    format!("{id} has no diagram shape or edge"),
                );
            }
        }
    }
}

/// Ids inside preserved (untyped) content that diagrams may draw, such as
/// data associations, conversations or choreography elements.
fn preserved_ids<'d>(defs: &'d Definitions, out: &mut HashSet<&'d str>) {
    fn scan<'d>(el: &'d crate::xml::XmlElement, out: &mut HashSet<&'d str>) {
        if let Some(id) = el.attr("id") {
            out.insert(id);
        }
        for c in el.elements() {
            scan(c, out);
        }
    }
    let mut bases: Vec<&'d Base> = vec![&defs.base];
    for r in &defs.root_elements {
        match r {
            RootElement::Other(x) => scan(x, out),
            RootElement::Process(p) => bases.push(&p.base),
            RootElement::Collaboration(c) => bases.push(&c.base),
            _ => {}
        }
    }
    for s in scopes(defs) {
        for fe in &s.container.flow_elements {
            match fe {
                FlowElement::Node(n) => bases.push(&n.base),
                FlowElement::Other(x) => scan(x, out),
                _ => {}
            }
        }
    }
    for b in bases {
        for c in &b.extra.children {
            scan(c, out);
        }
    }
}
