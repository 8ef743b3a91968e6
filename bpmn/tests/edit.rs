//! Editing API: every operation keeps model and diagram consistent, and the
//! canonical serialisation of a small model is byte-for-byte fixed.

use bpmn::edit::default_size;
use bpmn::model::zeebe::TaskDefinition;
use bpmn::{
    Bounds, Code, Definitions, EditError, Event, FlowNode, FlowNodeKind, Gateway, Point, parse,
    to_xml, validate,
};

fn node(id: &str, kind: FlowNodeKind) -> FlowNode {
    FlowNode::new(id, kind)
}

/// start → service task → end, drawn left to right.
fn small() -> Definitions {
    let mut d = Definitions::new_process("order", Some("Order"));
    d.add_flow_node(
        "order",
        node("start", FlowNodeKind::StartEvent(Event::default())),
        Bounds::new(100.0, 100.0, 36.0, 36.0),
    )
    .expect("start");
    let mut task =
        node("charge", FlowNodeKind::ServiceTask(Default::default())).with_name("Charge card");
    task.base.zeebe_mut().task_definition = Some(TaskDefinition {
        job_type: Some("charge".into()),
        retries: Some("3".into()),
        ..Default::default()
    });
    d.add_flow_node("order", task, Bounds::new(200.0, 78.0, 100.0, 80.0))
        .expect("task");
    d.add_flow_node(
        "order",
        node("end", FlowNodeKind::EndEvent(Event::default())),
        Bounds::new(360.0, 100.0, 36.0, 36.0),
    )
    .expect("end");
    d.connect("start", "charge", None).expect("flow 1");
    d.connect("charge", "end", None).expect("flow 2");
    d
}

const SMALL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:modeler="http://camunda.org/schema/modeler/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_order" targetNamespace="http://bpmn.io/schema/bpmn" exporter="ASTRAflow" exporterVersion="0.1.0" modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:serviceTask id="charge" name="Charge card">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="charge" retries="3"/>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>Flow_2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="start" targetRef="charge"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="charge" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="order">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="100" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="charge_di" bpmnElement="charge">
        <dc:Bounds x="200" y="78" width="100" height="80"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="360" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="136" y="118"/>
        <di:waypoint x="200" y="118"/>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_2_di" bpmnElement="Flow_2">
        <di:waypoint x="300" y="118"/>
        <di:waypoint x="360" y="118"/>
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"#;

#[test]
fn canonical_serialisation_of_a_small_model() {
    let xml = to_xml(&small());
    assert_eq!(xml, SMALL_XML.replace("0.1.0", env!("CARGO_PKG_VERSION")));
    assert_eq!(parse(&xml).expect("parses"), small());
}

#[test]
fn written_models_follow_camunda_modeler_conventions() {
    let d = small();
    assert!(validate(&d).is_empty(), "{:#?}", validate(&d));
    let p = d.processes().next().expect("process");
    assert_eq!(p.is_executable, Some(true));
    assert_eq!(d.execution_platform.as_deref(), Some("Camunda Cloud"));
    for n in p.flow_nodes() {
        assert!(d.shape(n.id.as_str()).is_some());
    }
    for f in p.sequence_flows() {
        assert!(d.edge(f.id.as_str()).is_some());
    }
}

#[test]
fn navigation() {
    let d = small();
    assert_eq!(d.outgoing("charge").len(), 1);
    assert_eq!(d.incoming("charge")[0].source_ref, "start");
    assert!(
        d.element("Flow_2")
            .and_then(|e| e.as_sequence_flow())
            .is_some()
    );
    assert_eq!(
        d.element("charge").and_then(|e| e.name()),
        Some("Charge card")
    );
    let p = d.process("order").expect("process");
    assert_eq!(p.start_events().count(), 1);
    assert_eq!(
        p.outgoing("start").next().map(|f| f.target_ref.as_str()),
        Some("charge")
    );
    assert_eq!(
        d.flow_node("charge")
            .and_then(|n| n.zeebe().task_definition.as_ref())
            .and_then(|t| t.job_type.as_deref()),
        Some("charge")
    );
}

#[test]
fn move_and_resize_reroute_edges() {
    let mut d = small();
    d.move_element("end", 0.0, 100.0).expect("move");
    assert_eq!(d.shape("end").expect("shape").bounds.y, 200.0);
    let wp = &d.edge("Flow_2").expect("edge").waypoints;
    assert_eq!(wp.first(), Some(&Point::new(300.0, 118.0)));
    assert_eq!(wp.last(), Some(&Point::new(360.0, 218.0)));
    assert_eq!(wp.len(), 4, "orthogonal elbow");
    d.resize("charge", 120.0, 80.0).expect("resize");
    assert_eq!(
        d.edge("Flow_2").expect("edge").waypoints[0],
        Point::new(320.0, 118.0)
    );
    assert_eq!(
        d.move_element("nothing", 1.0, 1.0),
        Err(EditError::NoShape("nothing".into()))
    );
}

#[test]
fn sub_processes_move_with_their_contents_and_boundary_events() {
    let mut d = small();
    let sp = node("sub", FlowNodeKind::SubProcess(Default::default()));
    let (w, h) = default_size(&sp.kind);
    d.add_flow_node("order", sp, Bounds::new(100.0, 300.0, w, h))
        .expect("sub");
    d.add_flow_node(
        "sub",
        node("inner", FlowNodeKind::StartEvent(Event::default())),
        Bounds::new(120.0, 320.0, 36.0, 36.0),
    )
    .expect("inner");
    let boundary = Event {
        attached_to_ref: Some("sub".into()),
        ..Event::default()
    };
    d.add_flow_node(
        "order",
        node("b", FlowNodeKind::BoundaryEvent(boundary)),
        Bounds::new(200.0, 482.0, 36.0, 36.0),
    )
    .expect("boundary");
    d.move_element("sub", 10.0, 20.0).expect("move");
    assert_eq!(d.shape("inner").expect("inner").bounds.x, 130.0);
    assert_eq!(d.shape("b").expect("b").bounds.y, 502.0);
    assert_eq!(d.shape("sub").expect("sub").is_expanded, Some(true));
    assert_eq!(
        d.connect("inner", "end", None),
        Err(EditError::DifferentScopes("inner".into(), "end".into()))
    );
    d.delete("sub").expect("delete");
    assert!(d.flow_node("inner").is_none() && d.flow_node("b").is_none());
    assert!(d.shape("inner").is_none() && d.shape("b").is_none() && d.shape("sub").is_none());
}

#[test]
fn delete_removes_dangling_flows_and_defaults() {
    let mut d = small();
    let gw = node("gw", FlowNodeKind::ExclusiveGateway(Gateway::default()));
    d.add_flow_node("order", gw, Bounds::new(450.0, 93.0, 50.0, 50.0))
        .expect("gateway");
    let f = d
        .connect("charge", "gw", Some("toGw".into()))
        .expect("connect");
    if let Some(g) = d.container_mut("order").and_then(|c| {
        c.flow_elements.iter_mut().find_map(|fe| match fe {
            bpmn::FlowElement::Node(n) if n.id == "gw" => n.kind.gateway_mut(),
            _ => None,
        })
    }) {
        g.default_flow = Some(f);
    }
    d.connect("gw", "end", None).expect("connect");
    d.delete("charge").expect("delete");
    assert!(d.flow_node("charge").is_none());
    assert!(d.sequence_flow("Flow_1").is_none() && d.sequence_flow("Flow_2").is_none());
    assert!(d.sequence_flow("toGw").is_none());
    assert!(d.edge("Flow_1").is_none() && d.shape("charge").is_none());
    assert!(d.flow_node("start").expect("start").outgoing.is_empty());
    assert!(d.flow_node("gw").and_then(|n| n.default_flow()).is_none());
    let found = validate(&d);
    assert!(!found.iter().any(|x| matches!(
        x.code,
        Code::DanglingFlowReference | Code::IncomingOutgoingMismatch | Code::InvalidDefaultFlow
    )));
    assert_eq!(
        d.delete("charge"),
        Err(EditError::NotFound("charge".into()))
    );
}

#[test]
fn rename_and_duplicate_ids() {
    let mut d = small();
    d.rename("charge", Some("Charge")).expect("rename");
    assert_eq!(
        d.flow_node("charge").and_then(|n| n.name.as_deref()),
        Some("Charge")
    );
    d.rename("order", None).expect("rename process");
    assert_eq!(d.process("order").and_then(|p| p.name.as_deref()), None);
    assert_eq!(
        d.rename("ghost", None),
        Err(EditError::NotFound("ghost".into()))
    );
    let dup = node("charge", FlowNodeKind::Task(Default::default()));
    assert_eq!(
        d.add_flow_node("order", dup, Bounds::default()),
        Err(EditError::DuplicateId("charge".into()))
    );
    assert_eq!(d.fresh_id("Flow"), "Flow_3");
    assert!(matches!(
        d.add_flow_node(
            "nope",
            node("x", FlowNodeKind::Task(Default::default())),
            Bounds::default()
        ),
        Err(EditError::NotAContainer(_))
    ));
}

#[test]
fn reroute_flow_follows_a_changed_end() {
    let mut d = small();
    // point Flow_1 at the end event by hand, as a reconnect does, then re-route it
    let process = d.process_mut("order").expect("process");
    for fe in &mut process.content.flow_elements {
        if let bpmn::FlowElement::SequenceFlow(f) = fe
            && f.id == "Flow_1"
        {
            f.target_ref = "end".into();
        }
    }
    d.reroute_flow("Flow_1").expect("reroute");
    let wp = &d.edge("Flow_1").expect("edge").waypoints;
    assert_eq!(wp.first(), Some(&Point::new(136.0, 118.0)));
    assert_eq!(wp.last(), Some(&Point::new(360.0, 118.0)));
    assert_eq!(
        d.reroute_flow("nope"),
        Err(EditError::NotFound("nope".into()))
    );
    assert_eq!(
        EditError::NotAllowed("an end event has no outgoing flows".into()).to_string(),
        "an end event has no outgoing flows"
    );
}
