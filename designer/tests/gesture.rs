//! The canvas's pointer gestures, keyboard shortcuts and viewport, driven with plain events
//! against a real editor: each test applies what the machine returns and checks the model.

use bpmn::{Bounds, Point};
use designer::gesture::DRAG_THRESHOLD;
use designer::scene::scene;
use designer::viewport::{LabelBox, MAX_ZOOM, MIN_ZOOM, label_box, wheel_zoom};
use designer::{
    Editor, Effect, FlowEnd, Gesture, Gestures, PaletteItem, Pointer, Press, Shortcut, Target,
    Viewport,
};

/// A start event (centre 180, 160) and a service task centred at (350, 160), nothing selected.
fn start_and_task() -> (Editor, String) {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(350.0, 160.0))
        .expect("task")
        .to_string();
    ed.clear_selection();
    (ed, task)
}

fn bounds(ed: &Editor, id: &str) -> Bounds {
    ed.definitions().shape(id).expect("shape").bounds
}

fn press(at: (f64, f64), target: Target) -> Press {
    Press {
        screen: Point::new(at.0, at.1),
        at: Point::new(at.0, at.1),
        target,
        shift: false,
        alt: false,
    }
}

fn node(id: &str) -> Target {
    Target::Element {
        id: id.to_owned(),
        node: true,
    }
}

/// The pointer over the canvas at diagram point (x, y), unzoomed (screen = diagram).
fn over(x: f64, y: f64) -> Pointer {
    Pointer {
        screen: Point::new(x, y),
        diagram: Some(Point::new(x, y)),
        over_canvas: true,
    }
}

/// The pointer off the canvas (over the palette, say).
fn outside(x: f64, y: f64) -> Pointer {
    Pointer {
        over_canvas: false,
        ..over(x, y)
    }
}

fn down(g: &mut Gestures, ed: &Editor, p: Press) -> Vec<Effect> {
    g.press(p, Viewport::default(), ed, &scene(ed.definitions()))
}

/// What the Studio does with the machine's effects, minus the previews.
fn apply(ed: &mut Editor, effects: &[Effect]) {
    for effect in effects {
        match effect.clone() {
            Effect::Select(ids) => ed.select(ids),
            Effect::ToggleSelected(id) => ed.toggle_selected(&id),
            Effect::ClearSelection => ed.clear_selection(),
            Effect::Create { item, at } => {
                ed.create(item, at).expect("create");
            }
            Effect::Move { ids, dx, dy } => ed.move_elements(&ids, dx, dy).expect("move"),
            Effect::Connect { source, target } => {
                ed.connect(&source, &target).expect("connect");
            }
            Effect::Reconnect { flow, end, node } => {
                ed.reconnect(&flow, end, &node).expect("reconnect");
            }
            _ => {}
        }
    }
}

fn edits(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Create { .. }
                    | Effect::Move { .. }
                    | Effect::Connect { .. }
                    | Effect::Reconnect { .. }
            )
        })
        .count()
}

#[test]
fn a_click_on_a_node_selects_it_and_changes_nothing_else() {
    let (mut ed, task) = start_and_task();
    let mut g = Gestures::default();
    let pressed = down(&mut g, &ed, press((350.0, 160.0), node(&task)));
    assert_eq!(
        pressed,
        [
            Effect::Select(vec![task.clone()]),
            Effect::Ghost(vec![bounds(&ed, &task)]),
        ]
    );
    apply(&mut ed, &pressed);
    let revision = ed.revision();
    // A jitter below the threshold is still a click: no preview, no move.
    assert!(g.pointer_move(over(351.0, 161.0)).is_empty());
    assert!(matches!(g.gesture(), Gesture::Pressed { .. }));
    let released = g.release(over(351.0, 161.0), &ed);
    assert_eq!(
        released,
        [Effect::Ghost(Vec::new()), Effect::GhostOffset(0.0, 0.0)]
    );
    apply(&mut ed, &released);
    assert_eq!(ed.selection(), std::slice::from_ref(&task));
    assert_eq!(ed.revision(), revision);
    assert_eq!(bounds(&ed, &task), Bounds::new(300.0, 120.0, 100.0, 80.0));
    assert_eq!(g.gesture(), &Gesture::Idle);
}

#[test]
fn the_drag_threshold_counts_both_axes() {
    let (ed, task) = start_and_task();
    let mut g = Gestures::default();
    down(&mut g, &ed, press((350.0, 160.0), node(&task)));
    let step = DRAG_THRESHOLD / 2.0;
    // Half the threshold on each axis adds up to it: a drag.
    assert_eq!(
        g.pointer_move(over(350.0 + step, 160.0 - step)),
        [Effect::GhostOffset(step, -step)]
    );
    assert!(matches!(g.gesture(), Gesture::Dragging { .. }));
    // Once dragging, coming back close to the start still drags.
    assert_eq!(
        g.pointer_move(over(350.5, 160.0)),
        [Effect::GhostOffset(0.5, 0.0)]
    );
}

#[test]
fn dragging_a_selected_node_moves_the_whole_selection_by_the_delta_on_release() {
    let (mut ed, task) = start_and_task();
    ed.select(vec!["StartEvent_1".into(), task.clone()]);
    let start_before = bounds(&ed, "StartEvent_1");
    let revision = ed.revision();
    let mut g = Gestures::default();
    let pressed = down(&mut g, &ed, press((350.0, 160.0), node(&task)));
    // Already selected: the selection stays, and both outlines follow the pointer.
    assert_eq!(
        pressed,
        [Effect::Ghost(vec![start_before, bounds(&ed, &task)])]
    );
    assert_eq!(
        g.pointer_move(over(380.0, 200.0)),
        [Effect::GhostOffset(30.0, 40.0)]
    );
    assert_eq!(
        g.pointer_move(over(410.0, 250.0)),
        [Effect::GhostOffset(60.0, 90.0)]
    );
    // The model is untouched while dragging.
    assert_eq!(ed.revision(), revision);
    let released = g.release(over(410.0, 250.0), &ed);
    assert_eq!(
        released,
        [
            Effect::Ghost(Vec::new()),
            Effect::GhostOffset(0.0, 0.0),
            Effect::Move {
                ids: vec!["StartEvent_1".into(), task.clone()],
                dx: 60.0,
                dy: 90.0
            },
        ]
    );
    apply(&mut ed, &released);
    assert_eq!(
        bounds(&ed, "StartEvent_1"),
        Bounds::new(start_before.x + 60.0, start_before.y + 90.0, 36.0, 36.0)
    );
    assert_eq!(bounds(&ed, &task), Bounds::new(360.0, 210.0, 100.0, 80.0));
    // One undo step for the whole drag.
    ed.undo();
    assert_eq!(bounds(&ed, "StartEvent_1"), start_before);
}

#[test]
fn shift_click_toggles_an_element_without_dragging() {
    let (mut ed, task) = start_and_task();
    ed.select(vec!["StartEvent_1".into(), task.clone()]);
    let mut g = Gestures::default();
    let pressed = down(
        &mut g,
        &ed,
        Press {
            shift: true,
            ..press((180.0, 160.0), node("StartEvent_1"))
        },
    );
    assert_eq!(pressed, [Effect::ToggleSelected("StartEvent_1".into())]);
    apply(&mut ed, &pressed);
    assert_eq!(ed.selection(), [task]);
    assert_eq!(g.gesture(), &Gesture::Idle);
    assert!(g.pointer_move(over(300.0, 300.0)).is_empty());
}

#[test]
fn pressing_a_flow_selects_it_and_drags_nothing() {
    let (mut ed, task) = start_and_task();
    let flow = ed.connect("StartEvent_1", &task).expect("flow").to_string();
    ed.clear_selection();
    let mut g = Gestures::default();
    let pressed = down(
        &mut g,
        &ed,
        press(
            (250.0, 160.0),
            Target::Element {
                id: flow.clone(),
                node: false,
            },
        ),
    );
    assert_eq!(pressed, [Effect::Select(vec![flow])]);
    assert_eq!(g.gesture(), &Gesture::Idle);
}

#[test]
fn dragging_the_connect_handle_onto_another_node_creates_a_flow() {
    let (mut ed, task) = start_and_task();
    let mut g = Gestures::default();
    let handle = Target::ConnectHandle {
        node: "StartEvent_1".into(),
    };
    assert!(down(&mut g, &ed, press((214.0, 160.0), handle)).is_empty());
    // The preview line starts at the source's centre, not at the handle.
    assert_eq!(
        g.pointer_move(over(300.0, 170.0)),
        [Effect::Link(Some((
            Point::new(180.0, 160.0),
            Point::new(300.0, 170.0)
        )))]
    );
    let released = g.release(over(350.0, 160.0), &ed);
    assert_eq!(
        released,
        [
            Effect::Link(None),
            Effect::Connect {
                source: "StartEvent_1".into(),
                target: task.clone()
            },
        ]
    );
    apply(&mut ed, &released);
    let flow = ed.selection()[0].clone();
    let flow = ed.definitions().sequence_flow(&flow).expect("flow");
    assert_eq!(flow.source_ref.as_str(), "StartEvent_1");
    assert_eq!(flow.target_ref.as_str(), task);
}

#[test]
fn a_connection_dropped_on_empty_canvas_or_on_its_source_creates_nothing() {
    let (ed, _task) = start_and_task();
    let mut g = Gestures::default();
    for drop in [over(600.0, 600.0), over(180.0, 160.0)] {
        let handle = Target::ConnectHandle {
            node: "StartEvent_1".into(),
        };
        down(&mut g, &ed, press((214.0, 160.0), handle));
        assert_eq!(g.release(drop, &ed), [Effect::Link(None)]);
    }
}

#[test]
fn dragging_the_end_of_a_flow_reconnects_it() {
    let (mut ed, task) = start_and_task();
    let flow = ed.connect("StartEvent_1", &task).expect("flow").to_string();
    let other = ed
        .create(PaletteItem::UserTask, Point::new(350.0, 400.0))
        .expect("other")
        .to_string();
    ed.select(vec![flow.clone()]);
    let points = scene(ed.definitions())
        .edges
        .iter()
        .find(|e| e.id == flow)
        .expect("edge")
        .points
        .clone();
    let mut g = Gestures::default();
    let end = Target::EndHandle {
        flow: flow.clone(),
        end: FlowEnd::Target,
    };
    let last = *points.last().expect("last");
    down(&mut g, &ed, press((last.x, last.y), end));
    // Moving the target end: the line is anchored at the source end.
    assert_eq!(
        g.pointer_move(over(350.0, 380.0)),
        [Effect::Link(Some((points[0], Point::new(350.0, 380.0))))]
    );
    let released = g.release(over(350.0, 400.0), &ed);
    assert_eq!(
        released,
        [
            Effect::Link(None),
            Effect::Reconnect {
                flow: flow.clone(),
                end: FlowEnd::Target,
                node: other.clone()
            },
        ]
    );
    apply(&mut ed, &released);
    let moved = ed.definitions().sequence_flow(&flow).expect("flow");
    assert_eq!(moved.source_ref.as_str(), "StartEvent_1");
    assert_eq!(moved.target_ref.as_str(), other);
}

#[test]
fn the_source_handle_is_anchored_at_the_target_end_and_an_unknown_flow_starts_nothing() {
    let (mut ed, task) = start_and_task();
    let flow = ed.connect("StartEvent_1", &task).expect("flow").to_string();
    let mut g = Gestures::default();
    let source = Target::EndHandle {
        flow: flow.clone(),
        end: FlowEnd::Source,
    };
    down(&mut g, &ed, press((198.0, 160.0), source));
    let Gesture::Reconnect { fixed, end, .. } = g.gesture().clone() else {
        panic!("expected a reconnect, got {:?}", g.gesture());
    };
    assert_eq!(end, FlowEnd::Source);
    let edge = scene(ed.definitions())
        .edges
        .into_iter()
        .find(|e| e.id == flow)
        .expect("edge");
    assert_eq!(Some(fixed), edge.points.last().copied());

    let mut g = Gestures::default();
    let gone = Target::EndHandle {
        flow: "Flow_gone".into(),
        end: FlowEnd::Source,
    };
    assert!(down(&mut g, &ed, press((198.0, 160.0), gone)).is_empty());
    assert_eq!(g.gesture(), &Gesture::Idle);
}

#[test]
fn escape_cancels_a_drag_and_its_preview_and_clears_the_selection() {
    let (mut ed, task) = start_and_task();
    let mut g = Gestures::default();
    let pressed = down(&mut g, &ed, press((350.0, 160.0), node(&task)));
    apply(&mut ed, &pressed);
    g.pointer_move(over(420.0, 200.0));
    let cancelled = g.cancel();
    assert!(cancelled.contains(&Effect::Ghost(Vec::new())));
    assert!(cancelled.contains(&Effect::GhostOffset(0.0, 0.0)));
    assert_eq!(cancelled.last(), Some(&Effect::ClearSelection));
    apply(&mut ed, &cancelled);
    assert_eq!(g.gesture(), &Gesture::Idle);
    // The release that follows moves nothing.
    assert!(g.release(over(420.0, 200.0), &ed).is_empty());
    assert_eq!(bounds(&ed, &task), Bounds::new(300.0, 120.0, 100.0, 80.0));
    assert!(ed.selection().is_empty());
}

#[test]
fn escape_disarms_a_clicked_palette_entry() {
    let (ed, _) = start_and_task();
    let mut g = Gestures::default();
    g.press_palette(PaletteItem::UserTask);
    g.release(outside(20.0, 20.0), &ed);
    assert_eq!(g.armed(), Some(PaletteItem::UserTask));
    assert!(g.cancel().contains(&Effect::Armed(None)));
    assert_eq!(g.armed(), None);
    // The next press on empty canvas pans again instead of creating.
    let pressed = down(&mut g, &ed, press((600.0, 600.0), Target::Canvas));
    assert_eq!(pressed, [Effect::ClearSelection]);
}

#[test]
fn dragging_empty_canvas_clears_the_selection_and_pans_with_the_pointer() {
    let (ed, _) = start_and_task();
    let mut g = Gestures::default();
    let from = Viewport {
        x: 10.0,
        y: 20.0,
        zoom: 1.5,
    };
    let p = Press {
        screen: Point::new(100.0, 100.0),
        ..press((500.0, 500.0), Target::Canvas)
    };
    let pressed = g.press(p, from, &ed, &scene(ed.definitions()));
    assert_eq!(pressed, [Effect::ClearSelection]);
    // The viewport follows the pointer on screen, whatever the zoom; the diagram point under
    // the pointer (which moves with the viewport) plays no part.
    let moved = Pointer {
        screen: Point::new(130.0, 90.0),
        diagram: None,
        over_canvas: false,
    };
    assert_eq!(
        g.pointer_move(moved),
        [Effect::Viewport(Viewport {
            x: 40.0,
            y: 10.0,
            zoom: 1.5
        })]
    );
    assert!(g.release(moved, &ed).is_empty());
    assert!(g.pointer_move(over(0.0, 0.0)).is_empty());
}

#[test]
fn shift_lasso_adds_what_it_encloses_and_alt_lasso_replaces_the_selection() {
    let (mut ed, task) = start_and_task();
    let flow = ed.connect("StartEvent_1", &task).expect("flow").to_string();
    let far = ed
        .create(PaletteItem::UserTask, Point::new(700.0, 500.0))
        .expect("far")
        .to_string();
    ed.select(vec![far.clone()]);
    let mut g = Gestures::default();
    let lasso = |shift: bool, alt: bool| Press {
        shift,
        alt,
        ..press((120.0, 90.0), Target::Canvas)
    };
    assert!(down(&mut g, &ed, lasso(true, false)).is_empty());
    let rect = Bounds::new(120.0, 90.0, 300.0, 125.0);
    assert_eq!(
        g.pointer_move(over(420.0, 215.0)),
        [Effect::Lasso(Some(rect))]
    );
    let released = g.release(over(420.0, 215.0), &ed);
    apply(&mut ed, &released);
    assert_eq!(released.last(), Some(&Effect::Lasso(None)));
    let mut selected = ed.selection().to_vec();
    assert_eq!(selected[0], far, "the earlier selection stays first");
    selected.sort();
    let mut expected = vec!["StartEvent_1".to_owned(), task.clone(), flow.clone(), far];
    expected.sort();
    assert_eq!(selected, expected);

    // Dragged from bottom right to top left, with Alt: only what is enclosed.
    down(
        &mut g,
        &ed,
        Press {
            at: Point::new(420.0, 215.0),
            ..lasso(false, true)
        },
    );
    assert_eq!(
        g.pointer_move(over(120.0, 90.0)),
        [Effect::Lasso(Some(rect))]
    );
    let released = g.release(over(120.0, 90.0), &ed);
    apply(&mut ed, &released);
    let mut selected = ed.selection().to_vec();
    selected.sort();
    let mut expected = vec!["StartEvent_1".to_owned(), task, flow];
    expected.sort();
    assert_eq!(selected, expected);
}

#[test]
fn a_lasso_press_without_a_move_keeps_the_selection() {
    let (mut ed, task) = start_and_task();
    ed.select(vec![task.clone()]);
    let mut g = Gestures::default();
    down(
        &mut g,
        &ed,
        Press {
            alt: true,
            ..press((120.0, 90.0), Target::Canvas)
        },
    );
    let released = g.release(over(120.0, 90.0), &ed);
    assert_eq!(released, [Effect::Lasso(None)]);
    apply(&mut ed, &released);
    assert_eq!(ed.selection(), [task]);
}

#[test]
fn a_palette_entry_dragged_onto_the_canvas_is_created_where_it_is_dropped() {
    let (mut ed, _) = start_and_task();
    let mut g = Gestures::default();
    g.press_palette(PaletteItem::UserTask);
    // No outline while the pointer is still over the palette.
    assert_eq!(g.pointer_move(outside(20.0, 20.0)), [Effect::Placing(None)]);
    assert_eq!(
        g.pointer_move(over(500.0, 300.0)),
        [Effect::Placing(Some((
            PaletteItem::UserTask,
            Point::new(500.0, 300.0)
        )))]
    );
    let released = g.release(over(500.0, 300.0), &ed);
    assert_eq!(edits(&released), 1);
    apply(&mut ed, &released);
    let id = ed.selection()[0].clone();
    assert_eq!(bounds(&ed, &id), Bounds::new(450.0, 260.0, 100.0, 80.0));
    assert_eq!(g.armed(), None);
    assert_eq!(g.gesture(), &Gesture::Idle);
}

#[test]
fn a_palette_click_arms_the_entry_and_the_next_press_on_the_canvas_creates_it() {
    let (mut ed, _) = start_and_task();
    let mut g = Gestures::default();
    g.press_palette(PaletteItem::ExclusiveGateway);
    let released = g.release(outside(20.0, 20.0), &ed);
    assert_eq!(
        released,
        [
            Effect::Placing(None),
            Effect::Armed(Some(PaletteItem::ExclusiveGateway))
        ]
    );
    assert_eq!(edits(&released), 0);
    // The press creates even on an element, and neither selects it nor drags it.
    let pressed = down(&mut g, &ed, press((180.0, 160.0), node("StartEvent_1")));
    assert_eq!(
        pressed,
        [
            Effect::Armed(None),
            Effect::Create {
                item: PaletteItem::ExclusiveGateway,
                at: Point::new(180.0, 160.0)
            },
        ]
    );
    assert_eq!(g.gesture(), &Gesture::Idle);
    apply(&mut ed, &pressed);
    let id = ed.selection()[0].clone();
    assert!(id.starts_with("Gateway"), "{id}");
    // Used once: the next press pans.
    assert_eq!(
        down(&mut g, &ed, press((600.0, 600.0), Target::Canvas)),
        [Effect::ClearSelection]
    );
}

#[test]
fn a_release_without_a_gesture_does_nothing() {
    let (ed, _) = start_and_task();
    let mut g = Gestures::default();
    assert!(g.pointer_move(over(10.0, 10.0)).is_empty());
    assert!(g.release(over(10.0, 10.0), &ed).is_empty());
}

#[test]
fn keys_map_to_shortcuts() {
    use Shortcut::*;
    let cases = [
        ("Delete", false, false, Some(Delete)),
        ("Backspace", false, false, Some(Delete)),
        ("Escape", false, false, Some(Cancel)),
        ("z", true, false, Some(Undo)),
        ("Z", true, true, Some(Redo)),
        ("z", true, true, Some(Redo)),
        ("y", true, false, Some(Redo)),
        ("c", true, false, Some(Copy)),
        ("V", true, false, Some(Paste)),
        ("a", true, false, Some(SelectAll)),
        // Without Control these are typing, not shortcuts.
        ("z", false, false, None),
        ("a", false, true, None),
        ("x", true, false, None),
        ("Enter", false, false, None),
    ];
    for (key, ctrl, shift, expected) in cases {
        assert_eq!(
            Shortcut::of_key(key, ctrl, shift),
            expected,
            "{key} ctrl={ctrl} shift={shift}"
        );
    }
}

#[test]
fn the_viewport_maps_both_ways_and_zooms_about_a_fixed_point() {
    let v = Viewport {
        x: 40.0,
        y: -20.0,
        zoom: 2.0,
    };
    let p = Point::new(100.0, 50.0);
    assert_eq!(v.to_canvas(p), Point::new(240.0, 80.0));
    assert_eq!(v.to_diagram(240.0, 80.0), p);

    let zoomed = v.zoomed(1.5, (240.0, 80.0));
    assert_eq!(zoomed.zoom, 3.0);
    assert_eq!(zoomed.to_diagram(240.0, 80.0), p);

    assert_eq!(v.zoomed(100.0, (0.0, 0.0)).zoom, MAX_ZOOM);
    assert_eq!(v.zoomed(0.001, (0.0, 0.0)).zoom, MIN_ZOOM);
}

#[test]
fn fit_centres_the_extent_and_never_magnifies_much() {
    let extent = Bounds::new(100.0, 100.0, 800.0, 400.0);
    let v = Viewport::fit(extent, 50.0, 900.0, 1000.0).expect("fit");
    // Width-bound: 800 + 2 × 50 fills 900 pixels.
    assert_eq!(v.zoom, 1.0);
    let centre = v.to_canvas(extent.center());
    assert_eq!(centre, Point::new(450.0, 500.0));

    let small = Viewport::fit(Bounds::new(0.0, 0.0, 10.0, 10.0), 0.0, 1000.0, 1000.0);
    assert_eq!(small.map(|v| v.zoom), Some(1.5));
    assert_eq!(Viewport::fit(Bounds::default(), 50.0, 900.0, 900.0), None);
    assert_eq!(Viewport::fit(extent, 50.0, 0.0, 900.0), None);
}

#[test]
fn one_wheel_notch_zooms_about_ten_percent() {
    let pixels = wheel_zoom(100.0, false);
    let lines = wheel_zoom(3.0, true);
    assert!((pixels - 0.905).abs() < 0.001, "{pixels}");
    assert!((lines - 0.906).abs() < 0.001, "{lines}");
    assert!(wheel_zoom(-100.0, false) > 1.0);
}

#[test]
fn the_label_editor_sits_below_events_and_over_tasks() {
    let (ed, task) = start_and_task();
    let s = scene(ed.definitions());
    let shape = |id: &str| s.shapes.iter().find(|s| s.id == id).expect("shape").clone();
    let v = Viewport {
        x: 10.0,
        y: 20.0,
        zoom: 2.0,
    };
    // Start event (162, 142, 36 × 36): below it, 140 pixels wide, centred.
    assert_eq!(
        label_box(&shape("StartEvent_1"), v),
        LabelBox {
            left: 180.0 * 2.0 + 10.0 - 70.0,
            top: (142.0 + 36.0 + 4.0) * 2.0 + 20.0,
            width: 140.0,
        }
    );
    // Task (300, 120, 100 × 80): over its middle, as wide as it is on screen.
    assert_eq!(
        label_box(&shape(&task), v),
        LabelBox {
            left: 350.0 * 2.0 + 10.0 - 100.0,
            top: (160.0 - 6.0) * 2.0 + 20.0,
            width: 200.0,
        }
    );
}
