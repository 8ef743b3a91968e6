//! The properties panel: what it shows per element kind, and that every edit reads back.

use bpmn::{EditError, EventDefinitionKind, Point, Severity, parse, to_xml, validate};
use designer::props::{apply, feel_fields, properties};
use designer::{Editor, MultiInstanceProps, PaletteItem, Properties, PropertyEdit, TimerKind};

fn props(ed: &Editor, id: &str) -> Properties {
    properties(ed.definitions(), id).expect("properties")
}

fn set(ed: &mut Editor, id: &str, edit: PropertyEdit) {
    let shown = format!("{edit:?}");
    ed.set_property(id, edit)
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn sections_follow_the_element_kind() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let user = ed
        .create(PaletteItem::UserTask, Point::new(340.0, 400.0))
        .unwrap();
    let gw = ed
        .create(PaletteItem::ParallelGateway, Point::new(500.0, 160.0))
        .unwrap();
    let msg_start = ed
        .create(PaletteItem::MessageStartEvent, Point::new(100.0, 400.0))
        .unwrap();
    let msg_end = ed
        .create(PaletteItem::MessageEndEvent, Point::new(700.0, 400.0))
        .unwrap();
    let f = ed.connect(task.as_str(), gw.as_str()).unwrap();
    let pf = ed.connect(gw.as_str(), user.as_str()).unwrap();

    let p = props(&ed, task.as_str());
    assert_eq!(p.kind, "Service task");
    assert_eq!(p.task_type.as_deref(), Some(""));
    assert_eq!(p.retries.as_deref(), Some(""));
    assert_eq!(p.headers, Some(vec![]));
    assert_eq!(p.inputs, Some(vec![]));
    assert_eq!(p.outputs, Some(vec![]));
    assert_eq!(p.multi_instance, Some(None));
    assert_eq!((p.condition, p.timer, p.message_name), (None, None, None));

    let p = props(&ed, user.as_str());
    assert_eq!(p.kind, "User task");
    assert_eq!(p.task_type, None);
    assert_eq!(p.inputs, Some(vec![]));

    let p = props(&ed, gw.as_str());
    assert_eq!(p.kind, "Parallel gateway");
    assert_eq!((p.inputs, p.multi_instance), (None, None));

    let p = props(&ed, msg_start.as_str());
    assert_eq!(p.kind, "Message start event");
    assert_eq!(p.inputs, None);
    assert_eq!(p.outputs, Some(vec![]));
    assert_eq!(p.message_name.as_deref(), Some(""));
    assert_eq!(p.correlation_key, None);

    let p = props(&ed, msg_end.as_str());
    assert_eq!(p.kind, "Message end event");
    assert_eq!(p.task_type.as_deref(), Some(""));
    assert_eq!(p.correlation_key, None);

    let p = props(&ed, f.as_str());
    assert_eq!(p.kind, "Sequence flow");
    assert_eq!(
        p.condition.as_deref(),
        Some(""),
        "flows out of activities may carry one"
    );
    assert_eq!(p.is_default, Some(false));
    let p = props(&ed, pf.as_str());
    assert_eq!(
        (p.condition, p.is_default),
        (None, None),
        "not out of a parallel gateway"
    );

    let p = props(&ed, "P");
    assert_eq!(p.kind, "Process");
    assert_eq!(p.task_type, None);
    assert!(properties(ed.definitions(), "nothing").is_none());
}

#[test]
fn job_worker_sections_round_trip_and_clean_up() {
    let mut ed = Editor::blank("P");
    let t = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let id = t.as_str();
    set(
        &mut ed,
        id,
        PropertyEdit::TaskType("=\"charge-\" + region".into()),
    );
    set(&mut ed, id, PropertyEdit::Retries("3".into()));
    set(
        &mut ed,
        id,
        PropertyEdit::Headers(pairs(&[("a", "1"), ("", ""), ("b", "2")])),
    );
    set(
        &mut ed,
        id,
        PropertyEdit::Inputs(pairs(&[("=order.total", "amount")])),
    );
    set(
        &mut ed,
        id,
        PropertyEdit::Outputs(pairs(&[("=receipt", "receipt")])),
    );
    set(&mut ed, id, PropertyEdit::Name("Charge".into()));
    set(
        &mut ed,
        id,
        PropertyEdit::Documentation("Charges the card.".into()),
    );
    let p = props(&ed, id);
    assert_eq!(p.task_type.as_deref(), Some("=\"charge-\" + region"));
    assert_eq!(p.retries.as_deref(), Some("3"));
    assert_eq!(p.headers, Some(pairs(&[("a", "1"), ("b", "2")])));
    assert_eq!(p.inputs, Some(pairs(&[("=order.total", "amount")])));
    assert_eq!(p.outputs, Some(pairs(&[("=receipt", "receipt")])));
    assert_eq!(p.name, "Charge");
    assert_eq!(p.documentation, "Charges the card.");
    assert_eq!(
        feel_fields(&p),
        vec![
            ("task_type", "\"charge-\" + region".to_string()),
            ("inputs", "order.total".to_string()),
            ("outputs", "receipt".to_string()),
        ]
    );
    let back = parse(&to_xml(ed.definitions())).unwrap();
    assert_eq!(&back, ed.definitions());

    for edit in [
        PropertyEdit::TaskType(String::new()),
        PropertyEdit::Retries(String::new()),
        PropertyEdit::Headers(vec![]),
        PropertyEdit::Inputs(vec![]),
        PropertyEdit::Outputs(pairs(&[("", "")])),
        PropertyEdit::Name("  ".into()),
        PropertyEdit::Documentation(String::new()),
    ] {
        set(&mut ed, id, edit);
    }
    let n = ed.definitions().flow_node(id).unwrap();
    assert!(n.zeebe().is_empty(), "{:?}", n.zeebe());
    assert!(n.base.extension_elements.is_empty());
    assert!(n.base.documentation.is_empty());
    assert_eq!(n.name, None);
    assert!(!to_xml(ed.definitions()).contains("extensionElements"));
}

#[test]
fn condition_and_default_flow() {
    let mut ed = Editor::blank("P");
    let gw = ed
        .create(PaletteItem::InclusiveGateway, Point::new(300.0, 160.0))
        .unwrap();
    let a = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 100.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 300.0))
        .unwrap();
    ed.connect("StartEvent_1", gw.as_str()).unwrap();
    let fa = ed.connect(gw.as_str(), a.as_str()).unwrap();
    let fb = ed.connect(gw.as_str(), b.as_str()).unwrap();
    set(
        &mut ed,
        fa.as_str(),
        PropertyEdit::Condition("amount > 10".into()),
    );
    set(
        &mut ed,
        fb.as_str(),
        PropertyEdit::Condition("=false".into()),
    );
    assert_eq!(
        props(&ed, fa.as_str()).condition.as_deref(),
        Some("amount > 10")
    );
    assert_eq!(
        feel_fields(&props(&ed, fa.as_str())),
        vec![("condition", "amount > 10".to_string())]
    );

    set(&mut ed, fb.as_str(), PropertyEdit::Default(true));
    let p = props(&ed, fb.as_str());
    assert_eq!(p.is_default, Some(true));
    assert_eq!(
        p.condition.as_deref(),
        Some(""),
        "a default flow has no condition"
    );
    assert_eq!(props(&ed, fa.as_str()).is_default, Some(false));
    let errors: Vec<_> = validate(ed.definitions())
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // moving the default mark to the other flow
    set(&mut ed, fa.as_str(), PropertyEdit::Default(true));
    assert_eq!(props(&ed, fb.as_str()).is_default, Some(false));
    set(&mut ed, fb.as_str(), PropertyEdit::Default(false));
    assert_eq!(
        props(&ed, fa.as_str()).is_default,
        Some(true),
        "not this flow's mark"
    );
    set(&mut ed, fa.as_str(), PropertyEdit::Default(false));
    assert_eq!(
        ed.definitions()
            .flow_node(gw.as_str())
            .unwrap()
            .default_flow(),
        None
    );

    set(&mut ed, fa.as_str(), PropertyEdit::Condition("=x".into()));
    set(&mut ed, fa.as_str(), PropertyEdit::Condition("".into()));
    assert!(
        ed.definitions()
            .sequence_flow(fa.as_str())
            .unwrap()
            .condition
            .is_none()
    );
}

#[test]
fn timer_keeps_only_the_chosen_field() {
    let mut ed = Editor::blank("P");
    let t = ed
        .create(PaletteItem::TimerCatchEvent, Point::new(300.0, 160.0))
        .unwrap();
    assert_eq!(
        props(&ed, t.as_str()).timer,
        Some((TimerKind::Duration, String::new()))
    );
    set(
        &mut ed,
        t.as_str(),
        PropertyEdit::Timer(TimerKind::Date, "2030-01-01T00:00:00Z".into()),
    );
    set(
        &mut ed,
        t.as_str(),
        PropertyEdit::Timer(TimerKind::Cycle, "R3/PT1H".into()),
    );
    assert_eq!(
        props(&ed, t.as_str()).timer,
        Some((TimerKind::Cycle, "R3/PT1H".into()))
    );
    let n = ed.definitions().flow_node(t.as_str()).unwrap();
    let EventDefinitionKind::Timer(td) = &n.event().unwrap().definitions[0].kind else {
        panic!("timer");
    };
    assert!(td.time_date.is_none() && td.time_duration.is_none());
    assert_eq!(td.time_cycle.as_ref().unwrap().body, "R3/PT1H");
    assert_eq!(
        feel_fields(&props(&ed, t.as_str())),
        Vec::<(&str, String)>::new(),
        "ISO text is not FEEL"
    );
    set(
        &mut ed,
        t.as_str(),
        PropertyEdit::Timer(TimerKind::Duration, "=delay".into()),
    );
    assert_eq!(
        feel_fields(&props(&ed, t.as_str())),
        vec![("timer", "delay".to_string())]
    );
}

#[test]
fn message_name_and_correlation_key() {
    let mut ed = Editor::blank("P");
    let c = ed
        .create(PaletteItem::MessageCatchEvent, Point::new(300.0, 160.0))
        .unwrap();
    let r = ed
        .create(PaletteItem::ReceiveTask, Point::new(500.0, 160.0))
        .unwrap();
    ed.connect("StartEvent_1", c.as_str()).unwrap();
    ed.connect(c.as_str(), r.as_str()).unwrap();
    let p = props(&ed, c.as_str());
    assert_eq!(
        (p.message_name.as_deref(), p.correlation_key.as_deref()),
        (Some(""), Some(""))
    );

    set(
        &mut ed,
        c.as_str(),
        PropertyEdit::MessageName("order-paid".into()),
    );
    set(
        &mut ed,
        c.as_str(),
        PropertyEdit::CorrelationKey("=orderId".into()),
    );
    set(
        &mut ed,
        r.as_str(),
        PropertyEdit::CorrelationKey("=orderId".into()),
    );
    set(
        &mut ed,
        r.as_str(),
        PropertyEdit::MessageName("order-shipped".into()),
    );
    let p = props(&ed, c.as_str());
    assert_eq!(p.message_name.as_deref(), Some("order-paid"));
    assert_eq!(p.correlation_key.as_deref(), Some("=orderId"));
    assert_eq!(
        props(&ed, r.as_str()).message_name.as_deref(),
        Some("order-shipped")
    );
    let d = ed.definitions();
    let m1 = d.message("Message_1").expect("a message of its own");
    assert_eq!(m1.name.as_deref(), Some("order-paid"));
    assert_eq!(
        m1.base
            .zeebe()
            .subscription
            .as_ref()
            .unwrap()
            .correlation_key
            .as_deref(),
        Some("=orderId")
    );
    let m2 = d.message("Message_2").unwrap();
    assert_eq!(m2.name.as_deref(), Some("order-shipped"));
    assert_eq!(
        d.flow_node(r.as_str())
            .unwrap()
            .activity()
            .unwrap()
            .message_ref
            .as_ref()
            .unwrap(),
        "Message_2"
    );
    assert!(
        validate(d)
            .iter()
            .all(|x| !matches!(x.code.as_str(), "BPMN019" | "BPMN103" | "BPMN104")),
        "{:?}",
        validate(d)
    );
    assert_eq!(parse(&to_xml(d)).unwrap(), *d);
    assert!(
        feel_fields(&props(&ed, c.as_str())).contains(&("correlation_key", "orderId".to_string()))
    );

    // renaming a pasted copy gives it a message of its own
    let clip = ed.copy(&[c.to_string()]);
    let copy = ed.paste(&clip, 0.0, 200.0).unwrap().remove(0);
    assert_eq!(
        props(&ed, &copy).message_name.as_deref(),
        Some("order-paid")
    );
    set(
        &mut ed,
        &copy,
        PropertyEdit::MessageName("order-cancelled".into()),
    );
    assert_eq!(
        props(&ed, c.as_str()).message_name.as_deref(),
        Some("order-paid")
    );
    assert_eq!(
        props(&ed, &copy).message_name.as_deref(),
        Some("order-cancelled")
    );
    assert_eq!(
        props(&ed, &copy).correlation_key.as_deref(),
        Some("=orderId")
    );

    set(
        &mut ed,
        c.as_str(),
        PropertyEdit::CorrelationKey(String::new()),
    );
    assert!(
        ed.definitions()
            .message("Message_1")
            .unwrap()
            .base
            .zeebe()
            .is_empty()
    );
}

#[test]
fn error_code_and_called_process_and_multi_instance() {
    let mut ed = Editor::blank("P");
    let call = ed
        .create(PaletteItem::CallActivity, Point::new(400.0, 160.0))
        .unwrap();
    let err = ed
        .create(PaletteItem::ErrorBoundaryEvent, Point::new(400.0, 200.0))
        .unwrap();
    assert_eq!(props(&ed, err.as_str()).kind, "Error boundary event");
    assert_eq!(props(&ed, err.as_str()).error_code.as_deref(), Some(""));
    set(
        &mut ed,
        err.as_str(),
        PropertyEdit::ErrorCode("card-declined".into()),
    );
    assert_eq!(
        props(&ed, err.as_str()).error_code.as_deref(),
        Some("card-declined")
    );
    let e = ed.definitions().error("Error_1").unwrap();
    assert_eq!(e.error_code.as_deref(), Some("card-declined"));
    assert_eq!(e.name.as_deref(), Some("card-declined"));
    set(
        &mut ed,
        err.as_str(),
        PropertyEdit::ErrorCode("declined".into()),
    );
    let e = ed.definitions().error("Error_1").unwrap();
    assert_eq!(
        (e.error_code.as_deref(), e.name.as_deref()),
        (Some("declined"), Some("declined"))
    );

    set(
        &mut ed,
        call.as_str(),
        PropertyEdit::CalledProcessId("billing".into()),
    );
    assert_eq!(
        props(&ed, call.as_str()).called_process_id.as_deref(),
        Some("billing")
    );
    set(
        &mut ed,
        call.as_str(),
        PropertyEdit::CalledProcessId(String::new()),
    );
    assert!(
        ed.definitions()
            .flow_node(call.as_str())
            .unwrap()
            .zeebe()
            .is_empty()
    );

    let mi = MultiInstanceProps {
        sequential: false,
        input_collection: "=items".into(),
        input_element: "item".into(),
        output_collection: "results".into(),
        output_element: "=result".into(),
        completion_condition: "=done".into(),
    };
    set(
        &mut ed,
        call.as_str(),
        PropertyEdit::MultiInstance(Some(mi.clone())),
    );
    assert_eq!(
        props(&ed, call.as_str()).multi_instance,
        Some(Some(mi.clone()))
    );
    assert_eq!(
        feel_fields(&props(&ed, call.as_str())),
        vec![
            ("input_collection", "items".to_string()),
            ("output_element", "result".to_string()),
            ("completion_condition", "done".to_string()),
        ]
    );
    let seq = MultiInstanceProps {
        sequential: true,
        ..mi
    };
    set(
        &mut ed,
        call.as_str(),
        PropertyEdit::MultiInstance(Some(seq.clone())),
    );
    assert_eq!(props(&ed, call.as_str()).multi_instance, Some(Some(seq)));
    assert_eq!(parse(&to_xml(ed.definitions())).unwrap(), *ed.definitions());
    set(&mut ed, call.as_str(), PropertyEdit::MultiInstance(None));
    assert_eq!(props(&ed, call.as_str()).multi_instance, Some(None));
    assert!(
        ed.definitions()
            .flow_node(call.as_str())
            .unwrap()
            .activity()
            .unwrap()
            .loop_characteristics
            .is_none()
    );
}

#[test]
fn process_properties_and_refusals() {
    let mut ed = Editor::blank("P");
    set(&mut ed, "P", PropertyEdit::Name("Payment".into()));
    set(
        &mut ed,
        "P",
        PropertyEdit::Documentation("Takes the money.".into()),
    );
    let p = props(&ed, "P");
    assert_eq!(
        (p.name.as_str(), p.documentation.as_str()),
        ("Payment", "Takes the money.")
    );

    let mut defs = ed.definitions().clone();
    let before = defs.clone();
    let refused = apply(&mut defs, "P", PropertyEdit::TaskType("x".into()));
    assert!(matches!(refused, Err(EditError::NotAllowed(m)) if m == "Process has no job type"));
    assert_eq!(
        apply(&mut defs, "missing", PropertyEdit::Name("x".into())),
        Err(EditError::NotFound("missing".into()))
    );
    assert_eq!(defs, before);
}
