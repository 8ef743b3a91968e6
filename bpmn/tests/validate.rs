//! Validation rules, one small document per rule.

use bpmn::{Code, Diagnostic, Severity, ValidateOptions, parse, validate, validate_with};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="D" modeler:executionPlatform="Camunda Cloud">"#;

fn doc(body: &str) -> String {
    format!("{HEAD}\n{body}\n</bpmn:definitions>")
}

fn process(body: &str) -> String {
    doc(&format!(
        r#"<bpmn:process id="P" isExecutable="true">{body}</bpmn:process>"#
    ))
}

fn check(xml: &str) -> Vec<Diagnostic> {
    let defs = parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    validate_with(
        &defs,
        &ValidateOptions {
            skip_di: true,
            ..Default::default()
        },
    )
}

fn codes(xml: &str) -> Vec<Code> {
    check(xml).into_iter().map(|d| d.code).collect()
}

fn has(xml: &str, code: Code, id: &str) -> bool {
    check(xml)
        .iter()
        .any(|d| d.code == code && d.element_id.as_deref() == Some(id))
}

const OK_FLOW: &str = r#"
  <bpmn:startEvent id="S"/>
  <bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition type="work" retries="3"/></bpmn:extensionElements></bpmn:serviceTask>
  <bpmn:endEvent id="E"/>
  <bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="T"/>
  <bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E"/>"#;

#[test]
fn a_correct_process_has_no_findings() {
    assert_eq!(check(&process(OK_FLOW)), vec![]);
}

#[test]
fn every_code_is_documented() {
    let doc = include_str!("../DIAGNOSTICS.md");
    for code in Code::ALL {
        assert!(
            doc.contains(&format!("## {}", code.as_str())),
            "{code} missing from DIAGNOSTICS.md"
        );
    }
    let mut sorted = Code::ALL.to_vec();
    sorted.sort_by_key(|c| c.as_str());
    assert_eq!(
        sorted,
        Code::ALL.to_vec(),
        "codes are listed in numeric order"
    );
}

#[test]
fn diagnostics_serialise_with_their_code() {
    let d = Diagnostic {
        code: Code::DuplicateId,
        severity: Severity::Error,
        message: "m".into(),
        element_id: Some("x".into()),
    };
    assert_eq!(d.to_string(), "error BPMN001 [x]: m");
}

#[test]
fn structural_rules() {
    let dup = process(&format!("{OK_FLOW}<bpmn:task id=\"T\"/>"));
    assert!(has(&dup, Code::DuplicateId, "T"));
    assert!(has(
        &process(&format!("{OK_FLOW}<bpmn:task id=\"1bad\"/>")),
        Code::InvalidId,
        "1bad"
    ));
    assert!(codes(&process(&format!("{OK_FLOW}<bpmn:task/>"))).contains(&Code::MissingId));
    let dangling = process(&format!(
        "{OK_FLOW}<bpmn:sequenceFlow id=\"F9\" sourceRef=\"T\" targetRef=\"nowhere\"/>"
    ));
    assert!(has(&dangling, Code::DanglingFlowReference, "F9"));
    let cross = process(&format!(
        "{OK_FLOW}<bpmn:subProcess id=\"SP\"><bpmn:startEvent id=\"S2\"/></bpmn:subProcess>\
         <bpmn:sequenceFlow id=\"F9\" sourceRef=\"T\" targetRef=\"S2\"/>"
    ));
    assert!(has(&cross, Code::FlowCrossesScope, "F9"));
    let lists = process(&OK_FLOW.replace(
        "<bpmn:endEvent id=\"E\"/>",
        "<bpmn:endEvent id=\"E\"><bpmn:incoming>F1</bpmn:incoming></bpmn:endEvent>",
    ));
    assert!(has(&lists, Code::IncomingOutgoingMismatch, "E"));
    assert!(has(
        &process("<bpmn:task id=\"A\"/>"),
        Code::NoStartEvent,
        "P"
    ));
    assert!(has(
        &process(&format!("{OK_FLOW}<bpmn:task id=\"Lost\"/>")),
        Code::Unreachable,
        "Lost"
    ));
    assert!(has(
        &process(&format!(
            "{OK_FLOW}<bpmn:sequenceFlow id=\"F9\" sourceRef=\"T\" targetRef=\"S\"/>"
        )),
        Code::StartWithIncoming,
        "S"
    ));
    assert!(has(
        &process(&format!(
            "{OK_FLOW}<bpmn:sequenceFlow id=\"F9\" sourceRef=\"E\" targetRef=\"T\"/>"
        )),
        Code::EndWithOutgoing,
        "E"
    ));
}

#[test]
fn gateway_rules() {
    let gw = |attrs: &str, flows: &str| {
        process(&format!(
            r#"<bpmn:startEvent id="S"/><bpmn:exclusiveGateway id="G" {attrs}/>
            <bpmn:endEvent id="E1"/><bpmn:endEvent id="E2"/>
            <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="G"/>{flows}"#
        ))
    };
    let cond = r#"<bpmn:conditionExpression>=x &gt; 1</bpmn:conditionExpression>"#;
    let two = format!(
        r#"<bpmn:sequenceFlow id="A" sourceRef="G" targetRef="E1">{cond}</bpmn:sequenceFlow>
           <bpmn:sequenceFlow id="B" sourceRef="G" targetRef="E2"/>"#
    );
    assert!(has(&gw("", &two), Code::MissingConditionOrDefault, "B"));
    assert!(!codes(&gw("default=\"B\"", &two)).contains(&Code::MissingConditionOrDefault));
    assert!(has(
        &gw("default=\"A\"", &two),
        Code::ConditionOnDefaultFlow,
        "A"
    ));
    assert!(has(
        &gw("default=\"Z\"", &two),
        Code::InvalidDefaultFlow,
        "G"
    ));
    assert!(has(&gw("", ""), Code::GatewayWithoutOutgoing, "G"));
    let parallel = process(&format!(
        r#"<bpmn:startEvent id="S"/><bpmn:parallelGateway id="G"/><bpmn:endEvent id="E"/>
        <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="G"/>
        <bpmn:sequenceFlow id="A" sourceRef="G" targetRef="E">{cond}</bpmn:sequenceFlow>"#
    ));
    assert!(has(&parallel, Code::ConditionIgnored, "A"));
    let event_gw = process(
        r#"<bpmn:startEvent id="S"/><bpmn:eventBasedGateway id="G"/><bpmn:task id="X"/>
        <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="G"/>
        <bpmn:sequenceFlow id="A" sourceRef="G" targetRef="X"/>"#,
    );
    assert!(has(&event_gw, Code::EventGatewayTargets, "G"));
    assert!(has(&event_gw, Code::EventGatewayTargets, "A"));
}

#[test]
fn boundary_and_event_sub_process_rules() {
    let xml = process(&format!(
        r#"{OK_FLOW}<bpmn:boundaryEvent id="B1" attachedToRef="S"/><bpmn:boundaryEvent id="B2"/>
        <bpmn:boundaryEvent id="B3" attachedToRef="T"/><bpmn:sequenceFlow id="F9" sourceRef="T" targetRef="B3"/>
        <bpmn:subProcess id="ESP" triggeredByEvent="true"><bpmn:startEvent id="ES"/></bpmn:subProcess>"#
    ));
    assert!(has(&xml, Code::BoundaryNotAttached, "B1"));
    assert!(has(&xml, Code::BoundaryNotAttached, "B2"));
    assert!(has(&xml, Code::BoundaryWithIncoming, "B3"));
    assert!(has(&xml, Code::EventSubProcessShape, "ESP"));
}

#[test]
fn reference_rules() {
    let xml = doc(&format!(
        r#"<bpmn:collaboration id="C"><bpmn:participant id="Pool" processRef="Nope"/>
        <bpmn:messageFlow id="MF" sourceRef="T" targetRef="Ghost"/></bpmn:collaboration>
        <bpmn:process id="P" isExecutable="true">{OK_FLOW}
        <bpmn:laneSet id="LS"><bpmn:lane id="L"><bpmn:flowNodeRef>Ghost</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
        <bpmn:intermediateThrowEvent id="Sig"><bpmn:signalEventDefinition signalRef="NoSignal"/></bpmn:intermediateThrowEvent>
        <bpmn:intermediateThrowEvent id="Lk"><bpmn:linkEventDefinition name="away"/></bpmn:intermediateThrowEvent>
        </bpmn:process>"#
    ));
    assert!(has(&xml, Code::DanglingReference, "Pool"));
    assert!(has(&xml, Code::DanglingReference, "MF"));
    assert!(has(&xml, Code::DanglingReference, "L"));
    assert!(has(&xml, Code::UndefinedEventReference, "Sig"));
    assert!(has(&xml, Code::LinkMismatch, "Lk"));
}

#[test]
fn zeebe_task_rules() {
    let xml = process(
        r#"<bpmn:startEvent id="S"/>
        <bpmn:serviceTask id="NoType"/>
        <bpmn:serviceTask id="BadRetries"><bpmn:extensionElements><zeebe:taskDefinition type="t" retries="many"/></bpmn:extensionElements></bpmn:serviceTask>
        <bpmn:callActivity id="Call"/>
        <bpmn:scriptTask id="Script"><bpmn:extensionElements><zeebe:script expression="=1"/></bpmn:extensionElements></bpmn:scriptTask>
        <bpmn:userTask id="MI"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>
        <bpmn:userTask id="Io"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=a"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:userTask>
        <bpmn:complexGateway id="Cx"/>"#,
    );
    assert!(has(&xml, Code::MissingJobType, "NoType"));
    assert!(has(&xml, Code::InvalidRetries, "BadRetries"));
    assert!(has(&xml, Code::MissingCalledProcess, "Call"));
    assert!(has(&xml, Code::InvalidScript, "Script"));
    assert!(has(&xml, Code::MissingInputCollection, "MI"));
    assert!(has(&xml, Code::InvalidMapping, "Io"));
    assert!(has(&xml, Code::UnsupportedElement, "Cx"));
}

#[test]
fn zeebe_event_rules() {
    let xml = doc(
        r#"<bpmn:message id="M" name="m"/><bpmn:message id="Anon"/><bpmn:error id="Err"/>
        <bpmn:process id="P" isExecutable="true">
        <bpmn:startEvent id="S"><bpmn:messageEventDefinition messageRef="M"/></bpmn:startEvent>
        <bpmn:startEvent id="S2"/><bpmn:startEvent id="S3"/>
        <bpmn:intermediateCatchEvent id="Wait"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent>
        <bpmn:receiveTask id="Recv" messageRef="Anon"/>
        <bpmn:intermediateCatchEvent id="NoTime"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>
        <bpmn:intermediateCatchEvent id="BadTime"><bpmn:timerEventDefinition><bpmn:timeDuration>15 minutes</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:intermediateCatchEvent id="Feel"><bpmn:timerEventDefinition><bpmn:timeDuration>=wait</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:intermediateCatchEvent id="Cycle"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
        <bpmn:endEvent id="ErrEnd"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent>
        <bpmn:endEvent id="Two"><bpmn:terminateEventDefinition/><bpmn:errorEventDefinition/></bpmn:endEvent>
        </bpmn:process>"#,
    );
    let found = check(&xml);
    let has = |code: Code, id: &str| {
        found
            .iter()
            .any(|d| d.code == code && d.element_id.as_deref() == Some(id))
    };
    assert!(
        !has(Code::MissingCorrelationKey, "S"),
        "process-level message start needs no key"
    );
    assert!(has(Code::MissingCorrelationKey, "Wait"));
    assert!(has(Code::MissingMessage, "Recv"));
    assert!(has(Code::MultipleNoneStartEvents, "P"));
    assert!(has(Code::TimerWithoutValue, "NoTime"));
    assert!(has(Code::InvalidTimerValue, "BadTime"));
    assert!(
        !has(Code::InvalidTimerValue, "Feel"),
        "FEEL timers are not ISO-checked"
    );
    assert!(has(Code::TimerKindNotAllowed, "Cycle"));
    assert!(has(Code::MissingErrorCode, "ErrEnd"));
    assert!(has(Code::MultipleEventDefinitions, "Two"));
}

#[test]
fn executability_of_the_document() {
    let xml = doc(
        r#"<bpmn:process id="P" isExecutable="false"><bpmn:startEvent id="S"/></bpmn:process>"#,
    );
    assert!(codes(&xml).contains(&Code::NoExecutableProcess));
    let plain = xml.replace(" modeler:executionPlatform=\"Camunda Cloud\"", "");
    let found = check(&plain);
    assert!(
        found
            .iter()
            .any(|d| d.code == Code::NotCamundaPlatform && d.severity == Severity::Info)
    );
}

#[test]
fn feel_hook_is_called_only_when_given() {
    let xml = process(&format!(
        r#"{OK_FLOW}<bpmn:exclusiveGateway id="G"/><bpmn:sequenceFlow id="C" sourceRef="G" targetRef="E"><bpmn:conditionExpression>= x &gt;</bpmn:conditionExpression></bpmn:sequenceFlow>"#
    ));
    let defs = parse(&xml).expect("parses");
    assert!(!validate(&defs).iter().any(|d| d.code == Code::FeelSyntax));
    let reject_trailing_op = |e: &str| {
        if e.trim_end().ends_with('>') {
            Err("dangling operator".to_owned())
        } else {
            Ok(())
        }
    };
    let found = validate_with(
        &defs,
        &ValidateOptions {
            feel: Some(&reject_trailing_op),
            ..Default::default()
        },
    );
    let feel: Vec<_> = found
        .iter()
        .filter(|d| d.code == Code::FeelSyntax)
        .collect();
    assert_eq!(feel.len(), 1);
    assert_eq!(feel[0].element_id.as_deref(), Some("C"));
    assert!(
        validate::feel_expressions(&defs)
            .iter()
            .any(|s| s.expression == " x >")
    );
}

#[test]
fn diagram_rules() {
    let xml = doc(&format!(
        r#"<bpmn:process id="P" isExecutable="true">{OK_FLOW}</bpmn:process>
        <bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="Di">
        <bpmndi:BPMNPlane id="Pl" bpmnElement="P">
        <bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="0" y="0" width="36" height="36"/></bpmndi:BPMNShape>
        <bpmndi:BPMNShape id="X_di" bpmnElement="Ghost"><dc:Bounds x="0" y="0" width="36" height="36"/></bpmndi:BPMNShape>
        </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"#
    ));
    let found = validate(&parse(&xml).expect("parses"));
    let has = |code: Code, id: &str| {
        found
            .iter()
            .any(|d| d.code == code && d.element_id.as_deref() == Some(id))
    };
    assert!(has(Code::MissingDi, "T"));
    assert!(has(Code::MissingDi, "F1"));
    assert!(!has(Code::MissingDi, "S"));
    assert!(has(Code::DiUnknownElement, "X_di"));
}

#[test]
fn reference_models_validate_without_panicking() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/miwg"));
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("MIWG folder missing at {}", dir.display())
    };
    for e in entries {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "bpmn") {
            let defs = bpmn::parse_bytes(&std::fs::read(&path).expect("read"), &Default::default())
                .expect("parse");
            let found = validate(&defs);
            // MIWG models are descriptive, not executable: BPMN100 must be among the findings,
            // and no structural error may be reported on these reference files.
            assert!(
                found.iter().any(|d| d.code == Code::NoExecutableProcess)
                    || defs.processes().any(|p| p.is_executable == Some(true)),
                "{}",
                path.display()
            );
            // The reference models are consistent: every reference resolves.
            let structural: Vec<_> = found
                .iter()
                .filter(|d| {
                    matches!(
                        d.code,
                        Code::DuplicateId
                            | Code::DanglingFlowReference
                            | Code::FlowCrossesScope
                            | Code::DanglingReference
                            | Code::UndefinedEventReference
                            | Code::DiUnknownElement
                    )
                })
                .collect();
            assert!(structural.is_empty(), "{}: {structural:#?}", path.display());
        }
    }
}
