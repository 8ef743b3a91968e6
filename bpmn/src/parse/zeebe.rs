//! `zeebe:` extension elements: each known one fills its typed slot in [`Zeebe`];
//! anything unknown, repeated or with content the typed form cannot hold is kept as
//! a preserved element instead.

use crate::model::ExtensionElements;
use crate::model::zeebe::{
    AssignmentDefinition, CalledElement, FormDefinition, Header, IoMapping, Mapping, Properties,
    Property, Script, Subscription, TaskDefinition, TaskHeaders, Zeebe, ZeebeLoopCharacteristics,
};
use crate::raw::{RawAttr, RawElement, RawNode, parse_bool, sorted_attrs, to_xml};
use crate::xml::{XmlAttr, ZEEBE_NS};

pub(super) fn merge_extension_elements(ext: &mut ExtensionElements, el: RawElement) {
    for a in sorted_attrs(el.attrs) {
        if !ext.attrs.iter().any(|b| b.ns == a.ns && b.name == a.name) {
            ext.attrs.push(a);
        }
    }
    ext.attrs.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    for child in el.children {
        let RawNode::Element(e) = child else { continue };
        if e.ns.as_deref() == Some(ZEEBE_NS) {
            if let Err(e) = zeebe(&mut ext.zeebe, e) {
                ext.other.push(to_xml(e));
            }
        } else {
            ext.other.push(to_xml(e));
        }
    }
}

/// Attribute bag of a leaf zeebe element; `None` if the element has content
/// the typed form cannot hold.
struct Bag {
    attrs: Vec<RawAttr>,
}

impl Bag {
    fn leaf(el: &RawElement) -> Option<Self> {
        if el.has_element_children() || el.has_text() {
            return None;
        }
        Some(Self {
            attrs: el.attrs.clone(),
        })
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        Some(self.attrs.remove(i).value)
    }

    fn take_bool(&mut self, name: &str) -> Option<bool> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.ns.is_none() && a.name == name)?;
        let v = parse_bool(&self.attrs[i].value)?;
        self.attrs.remove(i);
        Some(v)
    }

    fn extra(self) -> Vec<XmlAttr> {
        sorted_attrs(self.attrs)
    }
}

/// Items of a zeebe list element (`ioMapping`, `taskHeaders`, `properties`).
fn items<T>(
    el: &RawElement,
    allowed: &[&str],
    mut item: impl FnMut(&str, Bag) -> T,
) -> Option<Vec<T>> {
    if el.has_text() {
        return None;
    }
    let mut out = Vec::new();
    for c in &el.children {
        let RawNode::Element(e) = c else { continue };
        if e.ns.as_deref() != Some(ZEEBE_NS) || !allowed.contains(&e.name.as_str()) {
            return None;
        }
        out.push(item(&e.name, Bag::leaf(e)?));
    }
    Some(out)
}

/// Fills the typed slot for a zeebe element, or gives the element back when it
/// is unknown, repeated, or has content the typed form cannot hold.
fn zeebe(z: &mut Zeebe, el: RawElement) -> Result<(), RawElement> {
    macro_rules! slot {
        ($field:ident, $value:expr) => {{
            if z.$field.is_some() {
                return Err(el);
            }
            match $value {
                Some(v) => {
                    z.$field = Some(v);
                    Ok(())
                }
                None => Err(el),
            }
        }};
    }
    match el.name.as_str() {
        "taskDefinition" => slot!(
            task_definition,
            Bag::leaf(&el).map(|mut b| TaskDefinition {
                job_type: b.take("type"),
                retries: b.take("retries"),
                extra: b.extra(),
            })
        ),
        "subscription" => slot!(
            subscription,
            Bag::leaf(&el).map(|mut b| Subscription {
                correlation_key: b.take("correlationKey"),
                extra: b.extra(),
            })
        ),
        "calledElement" => slot!(
            called_element,
            Bag::leaf(&el).map(|mut b| CalledElement {
                process_id: b.take("processId"),
                propagate_all_child_variables: b.take_bool("propagateAllChildVariables"),
                propagate_all_parent_variables: b.take_bool("propagateAllParentVariables"),
                binding_type: b.take("bindingType"),
                version_tag: b.take("versionTag"),
                extra: b.extra(),
            })
        ),
        "loopCharacteristics" => slot!(
            loop_characteristics,
            Bag::leaf(&el).map(|mut b| ZeebeLoopCharacteristics {
                input_collection: b.take("inputCollection"),
                input_element: b.take("inputElement"),
                output_collection: b.take("outputCollection"),
                output_element: b.take("outputElement"),
                extra: b.extra(),
            })
        ),
        "script" => slot!(
            script,
            Bag::leaf(&el).map(|mut b| Script {
                expression: b.take("expression"),
                result_variable: b.take("resultVariable"),
                extra: b.extra(),
            })
        ),
        "formDefinition" => slot!(
            form_definition,
            Bag::leaf(&el).map(|mut b| FormDefinition {
                form_key: b.take("formKey"),
                form_id: b.take("formId"),
                external_reference: b.take("externalReference"),
                binding_type: b.take("bindingType"),
                version_tag: b.take("versionTag"),
                extra: b.extra(),
            })
        ),
        "assignmentDefinition" => slot!(
            assignment_definition,
            Bag::leaf(&el).map(|mut b| AssignmentDefinition {
                assignee: b.take("assignee"),
                candidate_groups: b.take("candidateGroups"),
                candidate_users: b.take("candidateUsers"),
                extra: b.extra(),
            })
        ),
        "ioMapping" => {
            let mut inputs = Vec::new();
            let mut outputs = Vec::new();
            let ok = items(&el, &["input", "output"], |name, mut b| {
                let m = Mapping {
                    source: b.take("source"),
                    target: b.take("target"),
                    extra: b.extra(),
                };
                if name == "input" {
                    inputs.push(m)
                } else {
                    outputs.push(m)
                }
            });
            slot!(
                io_mapping,
                ok.map(|_| IoMapping {
                    inputs,
                    outputs,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        "taskHeaders" => {
            let headers = items(&el, &["header"], |_, mut b| Header {
                key: b.take("key"),
                value: b.take("value"),
                extra: b.extra(),
            });
            slot!(
                task_headers,
                headers.map(|headers| TaskHeaders {
                    headers,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        "properties" => {
            let props = items(&el, &["property"], |_, mut b| Property {
                name: b.take("name"),
                value: b.take("value"),
                extra: b.extra(),
            });
            slot!(
                properties,
                props.map(|properties| Properties {
                    properties,
                    extra: sorted_attrs(el.attrs.clone())
                })
            )
        }
        _ => Err(el),
    }
}
