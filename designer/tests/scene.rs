//! The scene the canvas draws: reference models from the MIWG test suite and models the
//! editor builds.

use std::collections::HashMap;

use bpmn::{Bounds, DiagramElement, Point, parse};
use designer::scene::{EventMarker, EventPosition, GatewayMarker, LoopMarker, TaskMarker, scene};
use designer::{EdgeKind, Editor, Glyph, PaletteItem, PropertyEdit};

/// The reference models, kept in the repository as test data (see its README for the licence).
const MIWG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg");

fn miwg_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(MIWG)
        .expect("MIWG folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bpmn"))
        .collect();
    files.sort();
    files
}

#[test]
fn miwg_models_draw_every_diagram_element_with_a_known_glyph() {
    let files = miwg_files();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in ["A.1.0.bpmn", "B.1.0.bpmn", "C.1.0.bpmn"] {
        assert!(names.iter().any(|n| n == required), "{required} missing");
    }
    for file in files {
        let name = file.display().to_string();
        let xml = std::fs::read_to_string(&file).unwrap();
        let defs = parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plane = &defs.diagrams[0].plane;
        let di_shapes = plane
            .elements
            .iter()
            .filter(|e| matches!(e, DiagramElement::Shape(s) if s.bpmn_element.is_some()))
            .count();
        let di_edges = plane
            .elements
            .iter()
            .filter(|e| matches!(e, DiagramElement::Edge(d) if d.bpmn_element.is_some()))
            .count();
        let s = scene(&defs);
        assert_eq!(s.shapes.len(), di_shapes, "{name}");
        assert_eq!(s.edges.len(), di_edges, "{name}");
        assert!(di_shapes > 0, "{name}");
        let index: HashMap<&str, usize> = s
            .shapes
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect();
        for v in &s.shapes {
            let is_node = defs.flow_node(&v.id).is_some();
            assert_eq!(v.is_flow_node, is_node, "{name} {}", v.id);
            if is_node {
                assert_ne!(v.glyph, Glyph::Unknown, "{name} {}", v.id);
            }
            let node = defs.flow_node(&v.id);
            // boundary events paint after their host
            if let Some(host) = node
                .and_then(|n| n.event())
                .and_then(|e| e.attached_to_ref.as_ref())
                && let Some(h) = index.get(host.as_str())
            {
                assert!(index[v.id.as_str()] > *h, "{name} {}", v.id);
            }
            // contents paint after the sub-process around them
            if let Some(children) = node.and_then(|n| n.children()) {
                for c in children.flow_nodes() {
                    if let Some(ci) = index.get(c.id.as_str()) {
                        assert!(*ci > index[v.id.as_str()], "{name} {}", c.id);
                    }
                }
            }
            // pools before everything else
            if matches!(v.glyph, Glyph::Participant { .. }) {
                assert!(
                    s.shapes[..index[v.id.as_str()]]
                        .iter()
                        .all(|o| matches!(o.glyph, Glyph::Participant { .. })),
                    "{name} {}",
                    v.id
                );
            }
        }
        for e in &s.edges {
            if defs.sequence_flow(&e.id).is_some() {
                assert!(
                    matches!(e.kind, EdgeKind::Sequence { .. }),
                    "{name} {}",
                    e.id
                );
            }
            assert!(e.points.len() >= 2, "{name} {}", e.id);
        }
        assert!(s.extent.width > 0.0 && s.extent.height > 0.0, "{name}");
        for v in &s.shapes {
            assert!(s.extent.contains(&v.bounds), "{name} {}", v.id);
        }
    }
}

#[test]
fn miwg_b_1_0_has_pools_lanes_and_message_flows() {
    let xml = std::fs::read_to_string(format!("{MIWG}/B.1.0.bpmn")).unwrap();
    let defs = parse(&xml).unwrap();
    let s = scene(&defs);
    let pools = s
        .shapes
        .iter()
        .filter(|v| matches!(v.glyph, Glyph::Participant { .. }))
        .count();
    let collab_pools: usize = defs.collaborations().map(|c| c.participants.len()).sum();
    assert!(pools > 0);
    assert!(pools <= collab_pools);
    let message_flows: usize = defs.collaborations().map(|c| c.message_flows.len()).sum();
    let drawn = s
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Message)
        .count();
    assert_eq!(drawn, message_flows);
}

#[test]
fn empty_document_has_an_empty_scene() {
    assert_eq!(
        scene(&bpmn::Definitions::default()),
        designer::Scene::default()
    );
    let s = scene(Editor::blank("P").definitions());
    assert_eq!(s.extent, Bounds::new(162.0, 142.0, 36.0, 36.0));
    assert_eq!(s.shapes.len(), 1);
    assert_eq!(
        s.shapes[0].glyph,
        Glyph::Event {
            position: EventPosition::Start,
            marker: EventMarker::None,
            interrupting: true
        }
    );
}

#[test]
fn editor_models_get_their_notation() {
    let mut ed = Editor::blank("P");
    let task = ed
        .create(PaletteItem::ServiceTask, Point::new(340.0, 160.0))
        .unwrap();
    let gw = ed
        .create(PaletteItem::ExclusiveGateway, Point::new(500.0, 160.0))
        .unwrap();
    let a = ed
        .create(PaletteItem::EndEvent, Point::new(650.0, 80.0))
        .unwrap();
    let b = ed
        .create(PaletteItem::ErrorEndEvent, Point::new(650.0, 260.0))
        .unwrap();
    let c = ed
        .create(PaletteItem::UserTask, Point::new(340.0, 400.0))
        .unwrap();
    let timer = ed
        .create(PaletteItem::TimerBoundaryEvent, Point::new(340.0, 200.0))
        .unwrap();
    let sub = ed
        .create(PaletteItem::SubProcess, Point::new(900.0, 500.0))
        .unwrap();
    let inner = ed
        .create(PaletteItem::ScriptTask, Point::new(900.0, 500.0))
        .unwrap();
    ed.connect("StartEvent_1", task.as_str()).unwrap();
    ed.connect(task.as_str(), gw.as_str()).unwrap();
    let to_c = ed.connect(task.as_str(), c.as_str()).unwrap();
    ed.set_property(to_c.as_str(), PropertyEdit::Condition("=x".into()))
        .unwrap();
    let fa = ed.connect(gw.as_str(), a.as_str()).unwrap();
    let fb = ed.connect(gw.as_str(), b.as_str()).unwrap();
    ed.set_property(fa.as_str(), PropertyEdit::Condition("=y".into()))
        .unwrap();
    ed.set_property(fb.as_str(), PropertyEdit::Default(true))
        .unwrap();
    ed.set_property(
        c.as_str(),
        PropertyEdit::MultiInstance(Some(designer::MultiInstanceProps {
            sequential: true,
            input_collection: "=items".into(),
            ..Default::default()
        })),
    )
    .unwrap();
    ed.rename(task.as_str(), "Charge").unwrap();

    let s = scene(ed.definitions());
    let shape = |id: &str| s.shapes.iter().find(|v| v.id == id).unwrap();
    let pos = |id: &str| s.shapes.iter().position(|v| v.id == id).unwrap();
    let edge = |id: &str| s.edges.iter().find(|v| v.id == id).unwrap();
    assert_eq!(
        shape(task.as_str()).glyph,
        Glyph::Task {
            marker: TaskMarker::Service,
            looping: None
        }
    );
    assert_eq!(shape(task.as_str()).name.as_deref(), Some("Charge"));
    assert_eq!(
        shape(c.as_str()).glyph,
        Glyph::Task {
            marker: TaskMarker::User,
            looping: Some(LoopMarker::Sequential)
        }
    );
    assert_eq!(
        shape(gw.as_str()).glyph,
        Glyph::Gateway(GatewayMarker::Exclusive { show_x: true })
    );
    assert_eq!(
        shape(b.as_str()).glyph,
        Glyph::Event {
            position: EventPosition::End,
            marker: EventMarker::Error,
            interrupting: true
        }
    );
    assert_eq!(
        shape(timer.as_str()).glyph,
        Glyph::Event {
            position: EventPosition::Boundary,
            marker: EventMarker::Timer,
            interrupting: true
        }
    );
    assert_eq!(
        shape(sub.as_str()).glyph,
        Glyph::SubProcess {
            expanded: true,
            triggered_by_event: false,
            looping: None
        }
    );
    assert!(shape(task.as_str()).is_flow_node);
    // paint order: the sub-process (created after the boundary event) before its contents,
    // boundary events last
    assert!(pos(sub.as_str()) < pos(inner.as_str()));
    assert_eq!(pos(timer.as_str()), s.shapes.len() - 1);
    assert_eq!(
        edge(fa.as_str()).kind,
        EdgeKind::Sequence {
            is_default: false,
            conditional: false
        }
    );
    assert_eq!(
        edge(fb.as_str()).kind,
        EdgeKind::Sequence {
            is_default: true,
            conditional: false
        }
    );
    assert_eq!(
        edge(to_c.as_str()).kind,
        EdgeKind::Sequence {
            is_default: false,
            conditional: true
        }
    );
    let sub_b = ed.definitions().shape(sub.as_str()).unwrap().bounds;
    assert_eq!(s.extent.x, 162.0);
    assert_eq!(s.extent.x + s.extent.width, sub_b.x + sub_b.width);
    assert_eq!(s.extent.y + s.extent.height, sub_b.y + sub_b.height);
}
