//! `cargo bench -p bpmn`: parse, validate and serialise a generated model of
//! 1,000 flow elements (500 nodes, 500 sequence flows, all drawn).
//! Plain `harness = false` benchmark: prints the median and minimum of repeated runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bpmn::model::zeebe::TaskDefinition;
use bpmn::*;

fn generated(nodes: usize) -> Definitions {
    let mut d = Definitions::new_process("bench", Some("Benchmark"));
    let mut elements = Vec::new();
    let mut shapes = Vec::new();
    for i in 0..nodes {
        let kind = match i {
            0 => FlowNodeKind::StartEvent(Event::default()),
            i if i == nodes - 1 => FlowNodeKind::EndEvent(Event::default()),
            i if i % 10 == 5 => FlowNodeKind::ExclusiveGateway(Gateway::default()),
            _ => FlowNodeKind::ServiceTask(Activity::default()),
        };
        let mut n = FlowNode::new(format!("Node_{i}"), kind).with_name(format!("Step {i}"));
        if matches!(n.kind, FlowNodeKind::ServiceTask(_)) {
            n.base.zeebe_mut().task_definition = Some(TaskDefinition {
                job_type: Some(format!("job-{}", i % 7)),
                retries: Some("3".into()),
                extra: vec![],
            });
        }
        if i > 0 {
            n.incoming.push(Id::from(format!("Flow_{}", i - 1)));
        }
        if i + 1 < nodes {
            n.outgoing.push(Id::from(format!("Flow_{i}")));
        }
        let (x, y) = ((i % 25) as f64 * 150.0, (i / 25) as f64 * 120.0);
        shapes.push(DiagramElement::Shape(Shape {
            id: Id::from(format!("Node_{i}_di")),
            bpmn_element: Some(n.id.clone()),
            bounds: Bounds::new(x, y, 100.0, 80.0),
            ..Shape::default()
        }));
        elements.push(FlowElement::Node(n));
    }
    for i in 0..nodes - 1 {
        elements.push(FlowElement::SequenceFlow(SequenceFlow {
            id: Id::from(format!("Flow_{i}")),
            source_ref: Id::from(format!("Node_{i}")),
            target_ref: Id::from(format!("Node_{}", i + 1)),
            ..SequenceFlow::default()
        }));
        shapes.push(DiagramElement::Edge(Edge {
            id: Id::from(format!("Flow_{i}_di")),
            bpmn_element: Some(Id::from(format!("Flow_{i}"))),
            waypoints: vec![Point::new(0.0, 0.0), Point::new(50.0, 50.0)],
            ..Edge::default()
        }));
    }
    if let Some(RootElement::Process(p)) = d.root_elements.first_mut() {
        p.content.flow_elements = elements;
    }
    d.diagrams[0].plane.elements = shapes;
    d
}

fn measure(name: &str, runs: usize, mut f: impl FnMut()) {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<28} median {:>9.3} ms   min {:>9.3} ms   ({runs} runs)",
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn main() {
    let defs = generated(501);
    let xml = to_xml(&defs);
    let count = defs
        .processes()
        .map(|p| p.content.flow_elements.len())
        .sum::<usize>();
    println!(
        "model: {count} flow elements, {} diagram elements, {} bytes of XML",
        defs.diagrams[0].plane.elements.len(),
        xml.len()
    );
    measure("parse", 50, || {
        black_box(parse(black_box(&xml)).ok());
    });
    measure("validate", 50, || {
        black_box(validate(black_box(&defs)));
    });
    measure("serialize", 50, || {
        black_box(to_xml(black_box(&defs)));
    });
    measure("parse+validate+serialize", 20, || {
        let d = parse(&xml).ok();
        if let Some(d) = d {
            black_box(validate(&d));
            black_box(to_xml(&d));
        }
    });
}
