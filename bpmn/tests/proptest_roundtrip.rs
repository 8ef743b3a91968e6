//! Property: any generated model writes to XML that reads back to an equal
//! model, and writing is deterministic.

use std::collections::BTreeMap;

use bpmn::model::zeebe::{IoMapping, Mapping, TaskDefinition, Zeebe};
use bpmn::xml::{XmlAttr, XmlElement, XmlNode};
use bpmn::*;
use proptest::prelude::*;

const VENDOR: &str = "urn:example:vendor";

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 &<>\"'\t\n=é中.:_-]{0,12}").expect("regex")
}

fn ident() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z_][a-zA-Z0-9_]{0,6}").expect("regex")
}

fn coord() -> impl Strategy<Value = f64> {
    (-100_000i32..100_000, 0u8..4).prop_map(|(i, f)| f64::from(i) + f64::from(f) * 0.25)
}

fn vendor_element() -> impl Strategy<Value = XmlElement> {
    let leaf =
        (ident(), text(), proptest::option::of(text())).prop_map(|(name, t, a)| XmlElement {
            ns: Some(VENDOR.into()),
            name,
            attrs: a.map(|v| vec![XmlAttr::new("v", v)]).unwrap_or_default(),
            children: if t.trim().is_empty() {
                vec![]
            } else {
                vec![XmlNode::Text(t)]
            },
        });
    leaf.prop_recursive(2, 6, 3, |inner| {
        (ident(), proptest::collection::vec(inner, 1..3)).prop_map(|(name, kids)| XmlElement {
            ns: Some(VENDOR.into()),
            name,
            attrs: vec![],
            children: kids.into_iter().map(XmlNode::Element).collect(),
        })
    })
}

fn base() -> impl Strategy<Value = Base> {
    (
        proptest::option::of(text()),
        proptest::option::of((text(), proptest::option::of("[0-9]{1,2}"))),
        proptest::collection::vec((text(), ident()), 0..2),
        proptest::collection::vec(vendor_element(), 0..2),
        proptest::option::of(text()),
    )
        .prop_map(|(doc, task, inputs, other, attr)| {
            let mut b = Base::default();
            if let Some(d) = doc.filter(|d| !d.is_empty()) {
                b.documentation.push(Documentation::new(d));
            }
            let z: &mut Zeebe = b.zeebe_mut();
            z.task_definition = task.map(|(t, r)| TaskDefinition {
                job_type: Some(t),
                retries: r,
                extra: vec![],
            });
            if !inputs.is_empty() {
                z.io_mapping = Some(IoMapping {
                    inputs: inputs
                        .into_iter()
                        .map(|(s, t)| Mapping::new(s, t))
                        .collect(),
                    ..IoMapping::default()
                });
            }
            b.extension_elements.other = other;
            if let Some(v) = attr {
                b.extra.attrs.push(XmlAttr::with_ns(VENDOR, "color", v));
            }
            b
        })
}

fn activity() -> impl Strategy<Value = Activity> {
    (proptest::option::of(ident()), any::<bool>()).prop_map(|(d, mi)| Activity {
        default_flow: d.map(Id::from),
        loop_characteristics: mi.then(|| {
            Box::new(LoopCharacteristics::MultiInstance(MultiInstance {
                is_sequential: Some(true),
                ..Default::default()
            }))
        }),
        ..Activity::default()
    })
}

fn kind() -> impl Strategy<Value = FlowNodeKind> {
    let timer = (text(), 0u8..3).prop_map(|(v, k)| {
        let e = Some(Expression::formal(v));
        let t = match k {
            0 => TimerDefinition {
                time_date: e,
                ..Default::default()
            },
            1 => TimerDefinition {
                time_duration: e,
                ..Default::default()
            },
            _ => TimerDefinition {
                time_cycle: e,
                ..Default::default()
            },
        };
        Event::with(EventDefinitionKind::Timer(t))
    });
    let message = proptest::option::of(ident()).prop_map(|m| {
        Event::with(EventDefinitionKind::Message {
            message_ref: m.map(Id::from),
        })
    });
    prop_oneof![
        Just(FlowNodeKind::StartEvent(Event::default())),
        timer.prop_map(FlowNodeKind::IntermediateCatchEvent),
        message.prop_map(FlowNodeKind::BoundaryEvent),
        Just(FlowNodeKind::EndEvent(Event::with(
            EventDefinitionKind::Terminate
        ))),
        activity().prop_map(FlowNodeKind::ServiceTask),
        activity().prop_map(FlowNodeKind::UserTask),
        activity().prop_map(FlowNodeKind::CallActivity),
        proptest::option::of(ident()).prop_map(|d| FlowNodeKind::ExclusiveGateway(Gateway {
            default_flow: d.map(Id::from),
            instantiate: None
        })),
        Just(FlowNodeKind::ParallelGateway(Gateway::default())),
    ]
}

fn definitions() -> impl Strategy<Value = Definitions> {
    (
        proptest::collection::vec(
            (
                kind(),
                proptest::option::of(text()),
                base(),
                coord(),
                coord(),
            ),
            1..8,
        ),
        proptest::collection::vec((0usize..8, 0usize..8, proptest::option::of(text())), 0..8),
        proptest::option::of(text()),
        any::<bool>(),
    )
        .prop_map(|(nodes, flows, pname, sub)| {
            let mut d = Definitions::new_process("P", pname.as_deref());
            d.namespaces.insert("v".into(), VENDOR.into());
            let n = nodes.len();
            let parent = if sub {
                let sp = FlowNode::new("Sub", FlowNodeKind::SubProcess(Activity::default()));
                d.add_flow_node("P", sp, Bounds::new(0.0, 0.0, 400.0, 300.0))
                    .expect("sub");
                "Sub"
            } else {
                "P"
            };
            for (i, (kind, name, base, x, y)) in nodes.into_iter().enumerate() {
                let mut node = FlowNode::new(format!("N{i}"), kind);
                node.name = name;
                node.base = base;
                d.add_flow_node(parent, node, Bounds::new(x, y, 100.0, 80.0))
                    .expect("node");
            }
            for (i, (s, t, cond)) in flows.into_iter().enumerate() {
                let id = d
                    .connect(
                        &format!("N{}", s % n),
                        &format!("N{}", t % n),
                        Some(Id::from(format!("F{i}"))),
                    )
                    .expect("connect");
                if let Some(c) = cond
                    && let Some(container) = d.container_mut(parent)
                {
                    for fe in &mut container.flow_elements {
                        if let FlowElement::SequenceFlow(f) = fe
                            && f.id == id
                        {
                            f.condition = Some(Expression::formal(c.clone()));
                        }
                    }
                }
            }
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn generated_models_round_trip(defs in definitions()) {
        let xml = to_xml(&defs);
        let back = parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(&back, &defs, "{}", xml);
        prop_assert_eq!(to_xml(&back), xml);
        let _ = validate(&back);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }
}

#[test]
fn foreign_namespaces_keep_their_prefix() {
    let mut d = Definitions::new_process("P", None);
    d.namespaces = BTreeMap::from([("v".to_owned(), VENDOR.to_owned())]);
    d.base
        .extension_elements
        .other
        .push(XmlElement::new(Some(VENDOR), "meta"));
    let xml = to_xml(&d);
    assert!(xml.contains("xmlns:v=\"urn:example:vendor\""));
    assert!(xml.contains("<v:meta/>"));
    assert_eq!(parse(&xml).expect("parses"), d);
}
