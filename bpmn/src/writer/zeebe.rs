//! Typed `zeebe:` extension elements to elements, in the fixed order documented in
//! the crate docs.

use super::B;
use crate::model::zeebe::Zeebe;
use crate::order::Ctx;
use crate::xml::{XmlAttr, XmlElement, XmlNode, ZEEBE_NS};

fn z(name: &str) -> B {
    B::new(ZEEBE_NS, name, Ctx::General)
}

fn with_extra(mut b: B, extra: &[XmlAttr]) -> XmlElement {
    b.extra_attrs.extend(extra.iter().cloned());
    b.build()
}

/// Typed zeebe extensions, in the fixed order documented in the crate docs.
pub(super) fn zeebe(zb: &Zeebe) -> Vec<XmlElement> {
    let mut out = Vec::new();
    if let Some(t) = &zb.task_definition {
        let b = z("taskDefinition")
            .text_attr("type", &t.job_type)
            .text_attr("retries", &t.retries);
        out.push(with_extra(b, &t.extra));
    }
    if let Some(s) = &zb.subscription {
        let b = z("subscription").text_attr("correlationKey", &s.correlation_key);
        out.push(with_extra(b, &s.extra));
    }
    if let Some(c) = &zb.called_element {
        let b = z("calledElement")
            .text_attr("processId", &c.process_id)
            .bool(
                "propagateAllChildVariables",
                c.propagate_all_child_variables,
            )
            .bool(
                "propagateAllParentVariables",
                c.propagate_all_parent_variables,
            )
            .text_attr("bindingType", &c.binding_type)
            .text_attr("versionTag", &c.version_tag);
        out.push(with_extra(b, &c.extra));
    }
    if let Some(l) = &zb.loop_characteristics {
        let b = z("loopCharacteristics")
            .text_attr("inputCollection", &l.input_collection)
            .text_attr("inputElement", &l.input_element)
            .text_attr("outputCollection", &l.output_collection)
            .text_attr("outputElement", &l.output_element);
        out.push(with_extra(b, &l.extra));
    }
    if let Some(s) = &zb.script {
        let b = z("script")
            .text_attr("expression", &s.expression)
            .text_attr("resultVariable", &s.result_variable);
        out.push(with_extra(b, &s.extra));
    }
    if let Some(f) = &zb.form_definition {
        let b = z("formDefinition")
            .text_attr("formKey", &f.form_key)
            .text_attr("formId", &f.form_id)
            .text_attr("externalReference", &f.external_reference)
            .text_attr("bindingType", &f.binding_type)
            .text_attr("versionTag", &f.version_tag);
        out.push(with_extra(b, &f.extra));
    }
    if let Some(a) = &zb.assignment_definition {
        let b = z("assignmentDefinition")
            .text_attr("assignee", &a.assignee)
            .text_attr("candidateGroups", &a.candidate_groups)
            .text_attr("candidateUsers", &a.candidate_users);
        out.push(with_extra(b, &a.extra));
    }
    if let Some(h) = &zb.task_headers {
        let mut el = with_extra(z("taskHeaders"), &h.extra);
        for item in &h.headers {
            let b = z("header")
                .text_attr("key", &item.key)
                .text_attr("value", &item.value);
            el.children
                .push(XmlNode::Element(with_extra(b, &item.extra)));
        }
        out.push(el);
    }
    if let Some(io) = &zb.io_mapping {
        let mut el = with_extra(z("ioMapping"), &io.extra);
        for (name, list) in [("input", &io.inputs), ("output", &io.outputs)] {
            for m in list {
                let b = z(name)
                    .text_attr("source", &m.source)
                    .text_attr("target", &m.target);
                el.children.push(XmlNode::Element(with_extra(b, &m.extra)));
            }
        }
        out.push(el);
    }
    if let Some(p) = &zb.properties {
        let mut el = with_extra(z("properties"), &p.extra);
        for item in &p.properties {
            let b = z("property")
                .text_attr("name", &item.name)
                .text_attr("value", &item.value);
            el.children
                .push(XmlNode::Element(with_extra(b, &item.extra)));
        }
        out.push(el);
    }
    out
}
