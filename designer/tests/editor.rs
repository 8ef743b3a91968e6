//! The editor's commands, undo/redo and hit testing, without a browser.
//!
//! One file of command cases over shared sample models; each test names the command it covers.

use bpmn::{
    Bounds, Definitions, EditError, EventDefinitionKind, FlowNodeKind, Point, Severity, parse,
    to_xml, validate,
};
use designer::{Editor, FlowEnd, GRID, PaletteItem, PropertyEdit};

fn errors(defs: &Definitions) -> Vec<String> {
    validate(defs)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {:?}: {}", d.code.as_str(), d.element_id, d.message))
        .collect()
}

fn bounds(ed: &Editor, id: &str) -> Bounds {
    ed.definitions().shape(id).expect("shape").bounds
}

fn owner(defs: &Definitions, id: &str) -> String {
    bpmn::walk::scopes(defs)
        .into_iter()
        .find(|s| s.container.flow_node(id).is_some() || s.container.sequence_flow(id).is_some())
        .map(|s| s.owner.to_string())
        .expect("owner")
}

fn not_allowed(r: Result<impl std::fmt::Debug, EditError>) -> String {
    match r {
        Err(EditError::NotAllowed(m)) => m,
        other => panic!("expected NotAllowed, got {other:?}"),
    }
}

#[test]
fn blank_has_one_start_event_where_camunda_puts_it() {
    let ed = Editor::blank("Process_1");
    assert_eq!(ed.process_id().as_deref(), Some("Process_1"));
    let p = ed.definitions().process("Process_1").expect("process");
    assert_eq!(p.is_executable, Some(true));
    let ids: Vec<&str> = p.flow_nodes().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["StartEvent_1"]);
    assert_eq!(
        bounds(&ed, "StartEvent_1"),
        Bounds::new(162.0, 142.0, 36.0, 36.0)
    );
    assert!(!ed.can_undo());
    assert_eq!(ed.revision(), 0);
    assert!(errors(ed.definitions()).is_empty());
}

#[test]
fn palette_keys_are_unique_and_round_trip() {
    assert_eq!(PaletteItem::ALL.len(), 25);
    for item in PaletteItem::ALL {
        assert_eq!(PaletteItem::from_key(item.key()), Some(*item));
    }
    let mut keys: Vec<_> = PaletteItem::ALL.iter().map(|i| i.key()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 25);
    assert_eq!(PaletteItem::ServiceTask.key(), "service-task");
    assert_eq!(PaletteItem::ServiceTask.label(), "Service task");
    assert_eq!(PaletteItem::TimerBoundaryEvent.group(), "Boundary events");
    assert_eq!(PaletteItem::ExclusiveGateway.id_prefix(), "Gateway");
    assert_eq!(PaletteItem::SubProcess.id_prefix(), "Activity");
    assert_eq!(PaletteItem::MessageEndEvent.id_prefix(), "Event");
}

#[test]
fn creates_every_palette_item() {
    let mut ed = Editor::blank("P");
    let host = ed
        .create(PaletteItem::ServiceTask, Point::new(1000.0, 1000.0))
        .expect("host");
    let mut x = 100.0;
    for item in PaletteItem::ALL {
        let at = if item.is_boundary() {
            Point::new(1000.0, 1040.0)
        } else {
            x += 400.0;
            Point::new(x, 2000.0)
        };
        let id = ed
            .create(*item, at)
            .unwrap_or_else(|e| panic!("{item:?}: {e}"));
        assert!(
            id.as_str().starts_with(&format!("{}_", item.id_prefix())),
            "{id}"
        );
        assert_eq!(ed.selection(), [id.to_string()]);
        let node = ed.definitions().flow_node(id.as_str()).expect("node");
        let expected = item.node(id.clone());
        assert_eq!(node.kind.tag(), expected.kind.tag(), "{item:?}");
        let (w, h) = bpmn::edit::default_size(&node.kind);
        let b = bounds(&ed, id.as_str());
        assert_eq!((b.width, b.height), (w, h), "{item:?}");
        if item.is_boundary() {
            assert_eq!(
                node.event()
                    .and_then(|e| e.attached_to_ref.as_ref())
                    .map(|h| h.as_str()),
                Some(host.as_str())
            );
        } else {
            assert_eq!(b.center(), at, "{item:?}");
        }
    }
    let sub = ed
        .definitions()
        .process("P")
        .unwrap()
        .flow_nodes()
        .find(|n| n.kind.is_sub_process())
        .expect("sub-process")
        .id
        .to_string();
    assert_eq!(
        ed.definitions().shape(&sub).unwrap().is_expanded,
        Some(true)
    );
    assert_eq!(bounds(&ed, &sub).width, 350.0);
    let catch = ed
        .definitions()
        .process("P")
        .unwrap()
        .flow_nodes()
        .find(|n| matches!(n.kind, FlowNodeKind::IntermediateCatchEvent(_)))
        .unwrap();
    let timer = catch.event().unwrap().definitions[0].kind.clone();
    assert!(matches!(timer, EventDefinitionKind::Timer(_)));
}

#[test]
fn create_snaps_the_centre_to_the_grid() {
    let mut ed = Editor::blank("P");
    let id = ed
        .create(PaletteItem::ServiceTask, Point::new(303.0, 207.0))
        .unwrap();
    assert_eq!(id.as_str(), "Activity_1");
    assert_eq!(
        bounds(&ed, "Activity_1"),
        Bounds::new(250.0, 170.0, 100.0, 80.0)
    );
    assert_eq!(GRID, 10.0);
}

#[test]
fn create_inside_an_expanded_sub_process_nests_the_node() {
    let mut ed = Editor::blank("P");
    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(500.0, 300.0))
        .unwrap();
    assert_eq!(
        bounds(&ed, sub.as_str()),
        Bounds::new(325.0, 200.0, 350.0, 200.0)
    );
    let inner = ed
        .create(PaletteItem::UserTask, Point::new(520.0, 310.0))
        .unwrap();
    assert_eq!(owner(ed.definitions(), inner.as_str()), sub.as_str());
    let outside = ed
        .create(PaletteItem::UserTask, Point::new(900.0, 310.0))
        .unwrap();
    assert_eq!(owner(ed.definitions(), outside.as_str()), "P");
    // the inner node is hit before the sub-process around it
    assert_eq!(
        ed.node_at(Point::new(520.0, 310.0)).as_deref(),
        Some(inner.as_str())
    );
    assert_eq!(
        ed.node_at(Point::new(340.0, 210.0)).as_deref(),
        Some(sub.as_str())
    );
    assert_eq!(ed.node_at(Point::new(0.0, 0.0)), None);
}

#[test]
fn boundary_event_attaches_and_sits_on_the_nearest_border() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(400.0, 200.0))
        .unwrap();
    // task bounds: (350, 160) 100x80; 2 from the bottom border
    let b = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(405.0, 238.0))
        .unwrap();
    assert_eq!(
        bounds(&ed, b.as_str()),
        Bounds::new(387.0, 222.0, 36.0, 36.0)
    );
    let node = ed.definitions().flow_node(b.as_str()).unwrap();
    assert!(matches!(node.kind, FlowNodeKind::BoundaryEvent(_)));
    assert_eq!(
        node.event().unwrap().attached_to_ref.as_ref().unwrap(),
        task.as_str()
    );
    assert_eq!(owner(ed.definitions(), b.as_str()), "P");
    // left border, clamped vertically onto it
    let b2 = ed
        .create(PaletteItem::ErrorBoundaryEvent, Point::new(352.0, 165.0))
        .unwrap();
    assert_eq!(bounds(&ed, b2.as_str()).center(), Point::new(350.0, 165.0));
    // boundary events are hit before their host
    assert_eq!(
        ed.node_at(Point::new(405.0, 240.0)).as_deref(),
        Some(b.as_str())
    );
    assert_eq!(
        ed.node_at(Point::new(400.0, 200.0)).as_deref(),
        Some(task.as_str())
    );
    assert!(
        errors(ed.definitions())
            .iter()
            .all(|e| !e.starts_with("BPMN013"))
    );

    let before = ed.definitions().clone();
    let undo_before = ed.can_undo();
    let rev = ed.revision();
    let msg = not_allowed(ed.create(PaletteItem::MessageBoundaryEvent, Point::new(800.0, 800.0)));
    assert!(msg.contains("boundary event"), "{msg}");
    let msg = not_allowed(ed.create(PaletteItem::MessageBoundaryEvent, Point::new(180.0, 160.0)));
    assert!(msg.contains("boundary event"), "{msg}");
    assert_eq!(ed.definitions(), &before);
    assert_eq!(ed.revision(), rev);
    assert_eq!(ed.can_undo(), undo_before);
}

#[test]
fn boundary_event_inside_a_sub_process_goes_to_its_hosts_container() {
    let mut ed = Editor::blank("P");
    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(500.0, 300.0))
        .unwrap();
    let inner = ed
        .create(PaletteItem::ServiceTask, Point::new(500.0, 300.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::MessageBoundaryEvent, Point::new(500.0, 335.0))
        .unwrap();
    assert_eq!(owner(ed.definitions(), b.as_str()), sub.as_str());
    let node = ed.definitions().flow_node(b.as_str()).unwrap();
    assert_eq!(
        node.event().unwrap().attached_to_ref.as_ref().unwrap(),
        inner.as_str()
    );
    assert_eq!(bounds(&ed, b.as_str()).center(), Point::new(500.0, 340.0));
}

/// start → task → gateway → two ends, each with a condition: what a user builds first.
#[test]
fn acceptance_scenario_builds_a_deployable_model_that_round_trips() {
    let mut ed = Editor::blank("payment");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    ed.rename(task.as_str(), "  Charge card ").unwrap();
    ed.set_property(task.as_str(), PropertyEdit::TaskType("charge".into()))
        .unwrap();
    ed.set_property(task.as_str(), PropertyEdit::Retries("5".into()))
        .unwrap();
    ed.connect("StartEvent_1", task.as_str()).unwrap();
    let gw = ed
        .create(PaletteItem::ExclusiveGateway, Point::new(500.0, 160.0))
        .unwrap();
    ed.rename(gw.as_str(), "Amount?").unwrap();
    ed.connect(task.as_str(), gw.as_str()).unwrap();
    let big = ed
        .create(PaletteItem::EndEvent, Point::new(650.0, 80.0))
        .unwrap();
    let small = ed
        .create(PaletteItem::EndEvent, Point::new(650.0, 260.0))
        .unwrap();
    let f1 = ed.connect(gw.as_str(), big.as_str()).unwrap();
    assert_eq!(ed.selection(), [f1.to_string()]);
    let f2 = ed.connect(gw.as_str(), small.as_str()).unwrap();
    ed.set_property(f1.as_str(), PropertyEdit::Condition("=amount > 100".into()))
        .unwrap();
    ed.set_property(
        f2.as_str(),
        PropertyEdit::Condition("=amount <= 100".into()),
    )
    .unwrap();
    ed.set_property(f1.as_str(), PropertyEdit::Name("big".into()))
        .unwrap();

    let defs = ed.definitions();
    assert_eq!(errors(defs), Vec::<String>::new());
    let t = defs.flow_node(task.as_str()).unwrap();
    assert_eq!(t.name.as_deref(), Some("Charge card"));
    let td = t.zeebe().task_definition.as_ref().unwrap();
    assert_eq!(td.job_type.as_deref(), Some("charge"));
    assert_eq!(td.retries.as_deref(), Some("5"));
    assert_eq!(
        defs.sequence_flow(f1.as_str())
            .unwrap()
            .condition
            .as_ref()
            .unwrap()
            .body,
        "=amount > 100"
    );
    assert_eq!(defs.flow_node(gw.as_str()).unwrap().outgoing.len(), 2);
    assert_eq!(
        defs.shape(gw.as_str()).unwrap().is_marker_visible,
        Some(true)
    );

    let xml = to_xml(defs);
    assert!(
        xml.contains(r#"<zeebe:taskDefinition type="charge" retries="5"/>"#),
        "{xml}"
    );
    let back = parse(&xml).expect("parse");
    assert_eq!(&back, defs);
    assert_eq!(designer::scene::scene(&back).edges.len(), 4);
}

/// Asserts that undo restores exactly `before` and redo exactly `after`.
fn check_undo(ed: &mut Editor, before: &Definitions) {
    let after = ed.definitions().clone();
    assert_ne!(&after, before, "the command changed nothing");
    let rev = ed.revision();
    assert!(ed.undo());
    assert_eq!(ed.definitions(), before);
    assert!(ed.revision() > rev);
    assert!(ed.can_redo());
    assert!(ed.redo());
    assert_eq!(ed.definitions(), &after);
    assert!(!ed.can_redo());
}

#[test]
fn undo_and_redo_restore_exact_states_for_every_command() {
    let mut ed = Editor::blank("P");

    let before = ed.definitions().clone();
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    let end = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 160.0))
        .unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    let flow = ed.connect("StartEvent_1", task.as_str()).unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.connect(task.as_str(), end.as_str()).unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.move_elements(&[task.to_string()], 20.0, 40.0).unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.rename(task.as_str(), "Work").unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.set_property(task.as_str(), PropertyEdit::TaskType("work".into()))
        .unwrap();
    check_undo(&mut ed, &before);

    let other = ed
        .create(PaletteItem::UserTask, Point::new(340.0, 400.0))
        .unwrap();
    let before = ed.definitions().clone();
    ed.reconnect(flow.as_str(), FlowEnd::Target, other.as_str())
        .unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    let clip = ed.copy(&[task.to_string(), end.to_string()]);
    ed.paste(&clip, 0.0, 300.0).unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.delete(&[task.to_string()]).unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.set_property(end.as_str(), PropertyEdit::Id("Done".into()))
        .unwrap();
    check_undo(&mut ed, &before);

    let before = ed.definitions().clone();
    ed.replace(Editor::blank("Other").definitions().clone());
    check_undo(&mut ed, &before);

    // undo all the way back to the blank document
    while ed.undo() {}
    assert_eq!(ed.definitions(), Editor::blank("P").definitions());
}

#[test]
fn a_new_command_clears_redo_and_undo_is_capped() {
    let mut ed = Editor::blank("P");
    ed.create(PaletteItem::UserTask, Point::new(300.0, 300.0))
        .unwrap();
    assert!(ed.undo());
    assert!(ed.can_redo());
    ed.create(PaletteItem::UserTask, Point::new(300.0, 300.0))
        .unwrap();
    assert!(!ed.can_redo());
    for i in 0..230 {
        ed.rename("StartEvent_1", &format!("n{i}")).unwrap();
    }
    let mut n = 0;
    while ed.undo() {
        n += 1;
    }
    assert_eq!(n, 200);
    assert!(!ed.undo());
    assert!(!ed.redo() || ed.can_undo());
}

#[test]
fn failing_commands_leave_document_and_history_unchanged() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let end = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 160.0))
        .unwrap();
    ed.connect(task.as_str(), end.as_str()).unwrap();
    ed.undo();
    ed.redo();
    let before = ed.definitions().clone();
    let rev = ed.revision();
    let undo_depth = {
        let mut probe = ed.clone();
        let mut n = 0;
        while probe.undo() {
            n += 1;
        }
        n
    };
    let sel = ed.selection().to_vec();

    assert!(ed.delete(&[task.to_string(), "nope".into()]).is_err());
    assert!(ed.move_elements(&["nope".into()], 10.0, 10.0).is_err());
    assert!(ed.rename("nope", "x").is_err());
    assert!(ed.connect(end.as_str(), task.as_str()).is_err());
    assert!(ed.connect("nope", task.as_str()).is_err());
    assert!(
        ed.reconnect("nope", FlowEnd::Source, task.as_str())
            .is_err()
    );
    assert!(
        ed.set_property(task.as_str(), PropertyEdit::Id("1bad".into()))
            .is_err()
    );
    assert!(
        ed.set_property(task.as_str(), PropertyEdit::Id(end.to_string()))
            .is_err()
    );
    assert!(
        ed.set_property(end.as_str(), PropertyEdit::TaskType("x".into()))
            .is_err()
    );
    assert!(
        ed.set_property("StartEvent_1", PropertyEdit::Condition("=x".into()))
            .is_err()
    );

    assert_eq!(ed.definitions(), &before);
    assert_eq!(ed.revision(), rev);
    assert_eq!(ed.selection(), sel.as_slice());
    let mut probe = ed.clone();
    let mut n = 0;
    while probe.undo() {
        n += 1;
    }
    assert_eq!(n, undo_depth);
    assert!(!ed.can_redo());
}

#[test]
fn connect_refuses_what_bpmn_forbids() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let end = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 160.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(340.0, 200.0))
        .unwrap();
    let ebg = ed
        .create(PaletteItem::EventBasedGateway, Point::new(340.0, 400.0))
        .unwrap();
    let catch = ed
        .create(PaletteItem::TimerCatchEvent, Point::new(500.0, 400.0))
        .unwrap();
    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(900.0, 400.0))
        .unwrap();
    let inner = ed
        .create(PaletteItem::UserTask, Point::new(900.0, 400.0))
        .unwrap();

    assert_eq!(
        not_allowed(ed.connect(task.as_str(), task.as_str())),
        "an element cannot be connected to itself"
    );
    assert_eq!(
        not_allowed(ed.connect(task.as_str(), "StartEvent_1")),
        "a start event has no incoming flows"
    );
    assert!(
        not_allowed(ed.connect(task.as_str(), b.as_str()))
            .starts_with("a boundary event has no incoming flows")
    );
    assert_eq!(
        not_allowed(ed.connect(end.as_str(), task.as_str())),
        "an end event has no outgoing flows"
    );
    assert!(
        not_allowed(ed.connect(ebg.as_str(), task.as_str())).starts_with("an event-based gateway")
    );
    assert_eq!(
        ed.connect(task.as_str(), inner.as_str()),
        Err(EditError::DifferentScopes(
            task.to_string(),
            inner.to_string()
        ))
    );
    ed.connect(task.as_str(), end.as_str()).unwrap();
    assert_eq!(
        not_allowed(ed.connect(task.as_str(), end.as_str())),
        "these elements are already connected"
    );
    // allowed: out of a boundary event, event-based gateway to a catch event, in and out of a sub-process
    ed.connect(b.as_str(), end.as_str()).unwrap();
    ed.connect(ebg.as_str(), catch.as_str()).unwrap();
    ed.connect(catch.as_str(), sub.as_str()).unwrap();
    let flow = ed.connect(sub.as_str(), end.as_str()).unwrap();
    assert_eq!(ed.selection(), [flow.to_string()]);
    let f = ed.definitions().sequence_flow(flow.as_str()).unwrap();
    assert_eq!(
        (f.source_ref.as_str(), f.target_ref.as_str()),
        (sub.as_str(), end.as_str())
    );
    assert!(
        ed.definitions()
            .flow_node(sub.as_str())
            .unwrap()
            .outgoing
            .contains(&flow)
    );
    assert!(
        ed.definitions()
            .flow_node(end.as_str())
            .unwrap()
            .incoming
            .contains(&flow)
    );
    assert!(
        ed.definitions()
            .edge(flow.as_str())
            .unwrap()
            .waypoints
            .len()
            >= 2
    );
}

#[test]
fn reconnect_rewires_lists_default_and_route() {
    let mut ed = Editor::blank("P");
    let gw = ed
        .create(PaletteItem::ExclusiveGateway, Point::new(300.0, 160.0))
        .unwrap();
    let a = ed
        .create(PaletteItem::UserTask, Point::new(500.0, 100.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::UserTask, Point::new(500.0, 300.0))
        .unwrap();
    let c = ed
        .create(PaletteItem::UserTask, Point::new(300.0, 400.0))
        .unwrap();
    let f = ed.connect(gw.as_str(), a.as_str()).unwrap();
    ed.set_property(f.as_str(), PropertyEdit::Default(true))
        .unwrap();
    assert_eq!(
        ed.definitions()
            .flow_node(gw.as_str())
            .unwrap()
            .default_flow()
            .map(|d| d.as_str()),
        Some(f.as_str())
    );

    ed.reconnect(f.as_str(), FlowEnd::Target, b.as_str())
        .unwrap();
    let d = ed.definitions();
    assert_eq!(d.sequence_flow(f.as_str()).unwrap().target_ref, b.as_str());
    assert!(d.flow_node(a.as_str()).unwrap().incoming.is_empty());
    assert_eq!(
        d.flow_node(b.as_str()).unwrap().incoming,
        std::slice::from_ref(&f)
    );
    let wp = &d.edge(f.as_str()).unwrap().waypoints;
    let bb = d.shape(b.as_str()).unwrap().bounds;
    assert_eq!(wp.last().unwrap().x, bb.x, "enters b from the left");
    // the default mark stays while the source stays
    assert!(d.flow_node(gw.as_str()).unwrap().default_flow().is_some());

    ed.reconnect(f.as_str(), FlowEnd::Source, c.as_str())
        .unwrap();
    let d = ed.definitions();
    assert_eq!(d.sequence_flow(f.as_str()).unwrap().source_ref, c.as_str());
    assert!(d.flow_node(gw.as_str()).unwrap().outgoing.is_empty());
    assert_eq!(d.flow_node(gw.as_str()).unwrap().default_flow(), None);
    assert_eq!(
        d.flow_node(c.as_str()).unwrap().outgoing,
        std::slice::from_ref(&f)
    );

    assert_eq!(
        not_allowed(ed.reconnect(f.as_str(), FlowEnd::Target, "StartEvent_1")),
        "a start event has no incoming flows"
    );
    assert!(
        errors(ed.definitions())
            .iter()
            .all(|e| !e.contains("BPMN004"))
    );
}

#[test]
fn move_snaps_the_first_centre_and_carries_contents() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(300.0, 200.0))
        .unwrap();
    ed.move_elements(&[task.to_string()], 13.0, 4.0).unwrap();
    assert_eq!(
        bounds(&ed, task.as_str()).center(),
        Point::new(310.0, 200.0)
    );

    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(700.0, 500.0))
        .unwrap();
    let inner = ed
        .create(PaletteItem::UserTask, Point::new(650.0, 500.0))
        .unwrap();
    let inner2 = ed
        .create(PaletteItem::UserTask, Point::new(780.0, 500.0))
        .unwrap();
    let inner_flow = ed.connect(inner.as_str(), inner2.as_str()).unwrap();
    let b = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(700.0, 600.0))
        .unwrap();
    let flow = ed.connect(task.as_str(), sub.as_str()).unwrap();
    let (sb, ib, bb) = (
        bounds(&ed, sub.as_str()),
        bounds(&ed, inner.as_str()),
        bounds(&ed, b.as_str()),
    );
    let wp = ed
        .definitions()
        .edge(inner_flow.as_str())
        .unwrap()
        .waypoints
        .clone();

    // the inner node and the flow are listed too: they must not move twice
    ed.move_elements(
        &[sub.to_string(), inner.to_string(), flow.to_string()],
        21.0,
        -18.0,
    )
    .unwrap();
    let moved = |old: Bounds, new: Bounds| (new.x - old.x, new.y - old.y);
    assert_eq!(moved(sb, bounds(&ed, sub.as_str())), (20.0, -20.0));
    assert_eq!(moved(ib, bounds(&ed, inner.as_str())), (20.0, -20.0));
    assert_eq!(moved(bb, bounds(&ed, b.as_str())), (20.0, -20.0));
    let wp2 = &ed
        .definitions()
        .edge(inner_flow.as_str())
        .unwrap()
        .waypoints;
    assert_eq!(wp2[0], Point::new(wp[0].x + 20.0, wp[0].y - 20.0));
    // the flow from outside is re-routed to the new position
    let sub_b = bounds(&ed, sub.as_str());
    assert_eq!(
        ed.definitions()
            .edge(flow.as_str())
            .unwrap()
            .waypoints
            .last()
            .unwrap()
            .x,
        sub_b.x
    );

    // a boundary event moved alone stays on its host's border
    ed.move_elements(&[b.to_string()], 0.0, -50.0).unwrap();
    let c = bounds(&ed, b.as_str()).center();
    assert_eq!(c.y, sub_b.y + sub_b.height);

    // moving nothing but flows is a no-op
    let rev = ed.revision();
    ed.move_elements(&[flow.to_string()], 50.0, 50.0).unwrap();
    assert_eq!(ed.revision(), rev);
}

#[test]
fn delete_many_with_overlap() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::ErrorBoundaryEvent, Point::new(340.0, 200.0))
        .unwrap();
    let end = ed
        .create(PaletteItem::EndEvent, Point::new(500.0, 160.0))
        .unwrap();
    let f1 = ed.connect("StartEvent_1", task.as_str()).unwrap();
    let f2 = ed.connect(task.as_str(), end.as_str()).unwrap();
    let f3 = ed.connect(b.as_str(), end.as_str()).unwrap();
    ed.select(vec![
        task.to_string(),
        b.to_string(),
        f2.to_string(),
        end.to_string(),
    ]);
    ed.delete(&[
        task.to_string(),
        b.to_string(),
        f2.to_string(),
        f3.to_string(),
    ])
    .unwrap();
    let d = ed.definitions();
    for gone in [&task, &b, &f1, &f2, &f3] {
        assert!(d.element(gone.as_str()).is_none(), "{gone}");
        assert!(d.shape(gone.as_str()).is_none() && d.edge(gone.as_str()).is_none());
    }
    assert!(d.flow_node(end.as_str()).unwrap().incoming.is_empty());
    assert!(d.flow_node("StartEvent_1").unwrap().outgoing.is_empty());
    assert_eq!(ed.selection(), [end.to_string()]);
    // one undo brings everything back
    ed.undo();
    assert!(ed.definitions().flow_node(b.as_str()).is_some());
    assert!(ed.definitions().sequence_flow(f3.as_str()).is_some());
}

#[test]
fn copy_paste_gives_fresh_ids_and_rewired_flows() {
    let mut ed = Editor::blank("P");
    let a = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    ed.set_property(a.as_str(), PropertyEdit::TaskType("work".into()))
        .unwrap();
    let gw = ed
        .create(PaletteItem::ExclusiveGateway, Point::new(500.0, 160.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(340.0, 200.0))
        .unwrap();
    let into = ed.connect("StartEvent_1", a.as_str()).unwrap();
    let between = ed.connect(a.as_str(), gw.as_str()).unwrap();
    ed.set_property(between.as_str(), PropertyEdit::Default(true))
        .unwrap();
    let before_ids: Vec<String> = bpmn::walk::all_flow_nodes(ed.definitions())
        .map(|n| n.id.to_string())
        .collect();

    let clip = ed.copy(&[a.to_string(), gw.to_string()]);
    assert!(!clip.is_empty());
    let new = ed.paste(&clip, 0.0, 200.0).unwrap();
    assert_eq!(new.len(), 4, "{new:?}: task, gateway, boundary event, flow");
    assert_eq!(ed.selection(), new.as_slice());
    let d = ed.definitions();
    for id in &new {
        assert!(!before_ids.contains(id), "{id} reused");
        assert!(id.contains('_'));
    }
    let (na, ngw, nb, nf) = (&new[0], &new[1], &new[2], &new[3]);
    assert!(na.starts_with("Activity_") && ngw.starts_with("Gateway_") && nb.starts_with("Event_"));
    assert!(nf.starts_with("Flow_"));
    let f = d.sequence_flow(nf).unwrap();
    assert_eq!(
        (f.source_ref.as_str(), f.target_ref.as_str()),
        (na.as_str(), ngw.as_str())
    );
    let pa = d.flow_node(na).unwrap();
    assert_eq!(pa.outgoing, [bpmn::Id::from(nf.as_str())]);
    assert!(
        pa.incoming.is_empty(),
        "the flow from the start event was not copied"
    );
    assert_eq!(pa.default_flow().map(|x| x.as_str()), Some(nf.as_str()));
    assert_eq!(
        pa.zeebe()
            .task_definition
            .as_ref()
            .unwrap()
            .job_type
            .as_deref(),
        Some("work")
    );
    assert_eq!(
        d.flow_node(nb)
            .unwrap()
            .event()
            .unwrap()
            .attached_to_ref
            .as_ref()
            .unwrap(),
        na.as_str()
    );
    let old_b = d.shape(a.as_str()).unwrap().bounds;
    let new_b = d.shape(na).unwrap().bounds;
    assert_eq!((new_b.x, new_b.y), (old_b.x, old_b.y + 200.0));
    assert_eq!(d.shape(na).unwrap().id.as_str(), format!("{na}_di"));
    let old_wp = &d.edge(between.as_str()).unwrap().waypoints;
    let new_wp = &d.edge(nf).unwrap().waypoints;
    assert_eq!(new_wp[0], Point::new(old_wp[0].x, old_wp[0].y + 200.0));
    assert!(d.edge(into.as_str()).is_some());
    assert!(
        errors(d).iter().all(|e| !e.starts_with("BPMN001")),
        "{:?}",
        errors(d)
    );
    assert_eq!(
        d.flow_node(b.as_str())
            .unwrap()
            .event()
            .unwrap()
            .attached_to_ref
            .as_ref()
            .unwrap(),
        a.as_str()
    );
    // pasting twice gives other fresh ids again
    let again = ed.paste(&clip, 0.0, 400.0).unwrap();
    assert!(again.iter().all(|id| !new.contains(id)));
}

#[test]
fn copy_paste_carries_sub_process_contents() {
    let mut ed = Editor::blank("P");
    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(500.0, 300.0))
        .unwrap();
    let s = ed
        .create(PaletteItem::StartEvent, Point::new(400.0, 300.0))
        .unwrap();
    let t = ed
        .create(PaletteItem::UserTask, Point::new(520.0, 300.0))
        .unwrap();
    ed.connect(s.as_str(), t.as_str()).unwrap();
    let shapes_before = ed.definitions().diagrams[0].plane.elements.len();
    let clip = ed.copy(&[sub.to_string(), t.to_string()]);
    let new = ed.paste(&clip, 0.0, 300.0).unwrap();
    assert_eq!(new.len(), 1);
    let d = ed.definitions();
    let copy = d.flow_node(&new[0]).unwrap();
    let inner: Vec<_> = copy
        .children()
        .unwrap()
        .flow_nodes()
        .map(|n| n.id.to_string())
        .collect();
    assert_eq!(inner.len(), 2);
    assert!(!inner.contains(&s.to_string()) && !inner.contains(&t.to_string()));
    assert_eq!(
        d.diagrams[0].plane.elements.len(),
        shapes_before * 2 - 1,
        "start event of P is not copied"
    );
    for id in &inner {
        assert_eq!(
            d.shape(id).unwrap().bounds.y,
            300.0 - 40.0 + 300.0 + if id.starts_with("Event") { 22.0 } else { 0.0 }
        );
    }
    assert!(errors(d).is_empty(), "{:?}", errors(d));
}

#[test]
fn selection_commands() {
    let mut ed = Editor::blank("P");
    let t = ed
        .create(PaletteItem::UserTask, Point::new(340.0, 160.0))
        .unwrap();
    let f = ed.connect("StartEvent_1", t.as_str()).unwrap();
    ed.select_all();
    assert_eq!(
        ed.selection(),
        ["StartEvent_1".to_string(), t.to_string(), f.to_string()]
    );
    ed.toggle_selected(t.as_str());
    assert!(!ed.is_selected(t.as_str()));
    ed.toggle_selected(t.as_str());
    assert!(ed.is_selected(t.as_str()));
    ed.clear_selection();
    assert!(ed.selection().is_empty());
    ed.select(vec![t.to_string(), t.to_string()]);
    assert_eq!(ed.selection().len(), 1);
    // undo of the create drops the id from the selection
    ed.undo();
    ed.undo();
    assert!(ed.selection().is_empty());
}

#[test]
fn lasso_selects_contained_nodes_and_flows() {
    let mut ed = Editor::blank("P");
    let t = ed
        .create(PaletteItem::UserTask, Point::new(340.0, 160.0))
        .unwrap();
    let e = ed
        .create(PaletteItem::EndEvent, Point::new(600.0, 160.0))
        .unwrap();
    let f1 = ed.connect("StartEvent_1", t.as_str()).unwrap();
    ed.connect(t.as_str(), e.as_str()).unwrap();
    let got = ed.elements_in(Bounds::new(100.0, 100.0, 300.0, 120.0));
    assert_eq!(
        got,
        ["StartEvent_1".to_string(), t.to_string(), f1.to_string()]
    );
    assert!(ed.elements_in(Bounds::new(0.0, 0.0, 10.0, 10.0)).is_empty());
}

#[test]
fn rename_trims_and_clears() {
    let mut ed = Editor::blank("P");
    ed.rename("StartEvent_1", "  Order received ").unwrap();
    assert_eq!(
        ed.definitions()
            .flow_node("StartEvent_1")
            .unwrap()
            .name
            .as_deref(),
        Some("Order received")
    );
    ed.rename("StartEvent_1", "   ").unwrap();
    assert_eq!(
        ed.definitions().flow_node("StartEvent_1").unwrap().name,
        None
    );
}

#[test]
fn changing_an_id_updates_every_reference() {
    let mut ed = Editor::blank("P");
    let gw = ed
        .create(PaletteItem::ExclusiveGateway, Point::new(300.0, 160.0))
        .unwrap();
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(500.0, 160.0))
        .unwrap();
    ed.set_property(task.as_str(), PropertyEdit::TaskType("t".into()))
        .unwrap();
    let end = ed
        .create(PaletteItem::EndEvent, Point::new(700.0, 160.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(500.0, 200.0))
        .unwrap();
    ed.set_property(
        b.as_str(),
        PropertyEdit::Timer(designer::TimerKind::Duration, "PT1H".into()),
    )
    .unwrap();
    ed.connect("StartEvent_1", gw.as_str()).unwrap();
    let f = ed.connect(gw.as_str(), task.as_str()).unwrap();
    ed.set_property(f.as_str(), PropertyEdit::Default(true))
        .unwrap();
    ed.connect(task.as_str(), end.as_str()).unwrap();
    ed.connect(b.as_str(), end.as_str()).unwrap();
    let findings_before = errors(ed.definitions());

    ed.select(vec![task.to_string()]);
    ed.set_property(task.as_str(), PropertyEdit::Id("Charge".into()))
        .unwrap();
    ed.set_property(f.as_str(), PropertyEdit::Id("ToCharge".into()))
        .unwrap();
    ed.set_property("P", PropertyEdit::Id("Payment".into()))
        .unwrap();
    assert_eq!(ed.selection(), ["Charge".to_string()]);
    let d = ed.definitions();
    assert!(d.flow_node(task.as_str()).is_none());
    let charge = d.flow_node("Charge").unwrap();
    assert_eq!(charge.incoming, [bpmn::Id::from("ToCharge")]);
    let flow = d.sequence_flow("ToCharge").unwrap();
    assert_eq!(flow.target_ref, "Charge");
    assert_eq!(
        d.flow_node(gw.as_str()).unwrap().default_flow().unwrap(),
        "ToCharge"
    );
    assert_eq!(d.flow_node(gw.as_str()).unwrap().outgoing[0], "ToCharge");
    assert_eq!(
        d.flow_node(b.as_str())
            .unwrap()
            .event()
            .unwrap()
            .attached_to_ref
            .as_ref()
            .unwrap(),
        "Charge"
    );
    assert_eq!(d.shape("Charge").unwrap().id, "Charge_di");
    assert_eq!(d.edge("ToCharge").unwrap().id, "ToCharge_di");
    assert!(
        d.outgoing("Charge")
            .iter()
            .all(|f| f.source_ref == "Charge")
    );
    assert_eq!(
        d.diagrams[0].plane.bpmn_element.as_ref().unwrap(),
        "Payment"
    );
    assert!(d.process("Payment").is_some());
    assert_eq!(errors(d), findings_before);
    assert!(
        validate(d)
            .iter()
            .all(|x| x.code.as_str() != "BPMN006" && x.code.as_str() != "BPMN023")
    );

    assert!(matches!(
        ed.set_property("Charge", PropertyEdit::Id("has space".into())),
        Err(EditError::NotAllowed(_))
    ));
    assert_eq!(
        ed.set_property("Charge", PropertyEdit::Id("ToCharge".into())),
        Err(EditError::DuplicateId("ToCharge".into()))
    );
}

#[test]
fn replace_is_undoable_and_counts_as_a_change() {
    let mut ed = Editor::blank("P");
    let rev = ed.revision();
    ed.select(vec!["StartEvent_1".into()]);
    let other = designer::generated(20);
    ed.replace(other.clone());
    assert_eq!(ed.definitions(), &other);
    assert!(ed.revision() > rev);
    assert!(ed.selection().is_empty());
    assert_eq!(ed.process_id().as_deref(), Some("generated"));
    ed.undo();
    assert_eq!(ed.process_id().as_deref(), Some("P"));
}

#[test]
fn generated_model_is_valid_and_has_the_requested_size() {
    let defs = designer::generated(1000);
    assert_eq!(errors(&defs), Vec::<String>::new());
    let p = defs.process("generated").unwrap();
    let nodes = p.flow_nodes().count();
    let flows = p.sequence_flows().count();
    assert_eq!(nodes, 501);
    assert_eq!(flows, 500);
    assert!((nodes + flows).abs_diff(1000) <= 2);
    assert!(
        validate(&defs)
            .iter()
            .all(|d| d.severity != Severity::Warning),
        "{:?}",
        validate(&defs).first()
    );
    // rows of ten: the eleventh node starts the second row
    let first = defs.shape("StartEvent_1").unwrap().bounds.center();
    let eleventh = defs.shape("Activity_10").unwrap().bounds.center();
    assert_eq!(eleventh.x, first.x);
    assert!(eleventh.y > first.y);
    let back = parse(&to_xml(&defs)).unwrap();
    assert_eq!(back, defs);
    let ed = Editor::new(defs);
    assert_eq!(designer::scene::scene(ed.definitions()).shapes.len(), 501);
}
