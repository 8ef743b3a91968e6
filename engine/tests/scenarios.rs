//! Scenario tests of the core elements: drive the processor directly, with time as a
//! plain number (see `support`).

mod support;

use engine::processor::{Command, Resource, Response};
use engine::state::JobState;
use serde_json::{Map, json};
use support::{Harness, NOW, bpmn, obj};
use zeebe::record::{Intent, RecordType, RejectionType, TenantId};

fn service_task_process() -> String {
    bpmn(
        r#"<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="task"><bpmn:extensionElements>
        <zeebe:taskDefinition type="pay" retries="2"/>
        <zeebe:taskHeaders><zeebe:header key="k" value="v"/></zeebe:taskHeaders>
        <zeebe:ioMapping><zeebe:input source="=amount * 2" target="double"/><zeebe:output source="=paid" target="result"/></zeebe:ioMapping>
      </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>"#,
    )
}

#[test]
fn deploy_assigns_versions_and_identical_redeploy_returns_existing_version() {
    let mut h = Harness::new();
    let xml = service_task_process();
    let first = h.deploy(&xml);
    assert_eq!(h.deploy(&xml), first);
    let changed = xml.replace("retries=\"2\"", "retries=\"5\"");
    let second = h.deploy(&changed);
    assert_ne!(second, first);
    let latest = h
        .state
        .process_by_id(&TenantId::default(), "p", None)
        .unwrap();
    assert_eq!((latest.key, latest.version), (second, 2));
    let tenant = TenantId::new("acme").unwrap();
    let out = h.run(&Command::Deploy {
        tenant_id: tenant,
        resources: vec![Resource {
            name: "p.bpmn".into(),
            content: xml.into_bytes(),
        }],
    });
    let Ok(Response::Deployed { processes, .. }) = out else {
        panic!("{out:?}")
    };
    assert_eq!(processes[0].version, 1, "versions are per tenant");
}

#[test]
fn the_same_content_under_another_resource_name_is_a_new_version() {
    let mut h = Harness::new();
    let xml = service_task_process();
    let first = h.deploy(&xml);
    let deployed = |out: Result<Response, engine::Rejection>| match out {
        Ok(Response::Deployed { processes, .. }) => {
            (processes[0].process_definition_key, processes[0].version)
        }
        other => panic!("{other:?}"),
    };
    let (renamed, version) = deployed(h.deploy_as("renamed.bpmn", &xml));
    assert_ne!(renamed, first);
    assert_eq!(version, 2);
    // Now the same name and content as the latest: a duplicate of version 2.
    assert_eq!(deployed(h.deploy_as("renamed.bpmn", &xml)), (renamed, 2));
    // The first name again is a change against the latest, so a third version.
    assert_eq!(deployed(h.deploy_as("p.bpmn", &xml)).1, 3);
}

#[test]
fn invalid_or_unsupported_bpmn_is_rejected_with_a_reason() {
    let mut h = Harness::new();
    let err = h
        .run(&Command::Deploy {
            tenant_id: TenantId::default(),
            resources: vec![Resource {
                name: "x.bpmn".into(),
                content: b"<not-bpmn".to_vec(),
            }],
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidArgument);
    let timer = bpmn(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
        <bpmn:complexGateway id="wait"><bpmn:incoming>f</bpmn:incoming></bpmn:complexGateway>
        <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="wait"/>"#,
    );
    let err = h
        .run(&Command::Deploy {
            tenant_id: TenantId::default(),
            resources: vec![Resource {
                name: "t.bpmn".into(),
                content: timer.into_bytes(),
            }],
        })
        .unwrap_err();
    assert!(err.reason.contains("wait"), "{}", err.reason);
    assert_eq!(
        h.log.last().unwrap().record_type,
        RecordType::CommandRejection
    );
}

#[test]
fn service_task_job_with_mappings_runs_to_completion_and_replays() {
    let mut h = Harness::new();
    h.deploy(&service_task_process());
    let pi = h.create("p", json!({"amount": 21}));
    let jobs = h.activate("pay");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.job.retries, 2);
    assert_eq!(
        job.job.custom_headers.get("k").map(String::as_str),
        Some("v")
    );
    assert_eq!(job.job.variables.get("double"), Some(&json!(42)));
    assert_eq!(job.job.deadline, NOW + 10_000);
    assert!(
        h.activate("pay").is_empty(),
        "an activated job is not handed out twice"
    );
    h.complete(job.key, json!({"paid": true}));
    assert!(h.instance_completed(pi));
    assert_eq!(
        h.element_intents("task"),
        [
            "ELEMENT_ACTIVATING",
            "ELEMENT_ACTIVATED",
            "ELEMENT_COMPLETING",
            "ELEMENT_COMPLETED"
        ]
    );
    let variables: Vec<(String, String)> = h
        .log
        .iter()
        .filter_map(|r| match &r.value {
            zeebe::record::RecordValue::Variable(v) if v.scope_key == pi => {
                Some((v.name.clone(), v.value.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(variables.contains(&("result".into(), "true".into())));
    assert!(
        !variables.iter().any(|(n, _)| n == "paid"),
        "outputs map, not merge"
    );
    // Positions are gap-free and replay reproduces the state.
    for (i, r) in h.log.iter().enumerate() {
        assert_eq!(r.position, i64::try_from(i).unwrap() + 1);
    }
    h.assert_replays();
    assert!(h.state.elements.is_empty());
}

/// An input mapping whose expression doubles a string at every context entry stops at
/// FEEL's limit on the bytes an evaluation may build: the element gets an incident that
/// names the limit, no job, and the engine keeps its memory.
#[test]
fn input_mapping_past_the_feel_size_limit_raises_an_incident() {
    let names: Vec<String> = (0..32).map(|i| format!("e{i}")).collect();
    let mut entries = vec![r#"e0: "xxxxxxxxxxxxxxxx""#.to_string()];
    for pair in names.windows(2) {
        entries.push(format!("{}: {} + {}", pair[1], pair[0], pair[0]));
    }
    let doubling = format!("={{{}}}.e31", entries.join(", "));
    let xml = service_task_process().replace("=amount * 2", &doubling.replace('"', "&quot;"));
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"amount": 21}));
    assert!(!h.instance_completed(pi));
    assert!(h.activate("pay").is_empty(), "no job for a failed mapping");
    let incidents = h.open_incidents();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].value.error_type, "IO_MAPPING_ERROR");
    assert_eq!(incidents[0].value.element_instance_key, h.active("task"));
    let message = &incidents[0].value.error_message;
    assert!(
        message.contains("max_bytes") && message.contains("feel.limit.bytes"),
        "{message}"
    );
    h.assert_replays();
}

#[test]
fn exclusive_gateway_takes_condition_or_default_and_raises_incident_without_match() {
    let xml = bpmn(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
        <bpmn:exclusiveGateway id="gw" default="fDefault"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>fBig</bpmn:outgoing><bpmn:outgoing>fDefault</bpmn:outgoing></bpmn:exclusiveGateway>
        <bpmn:endEvent id="big"><bpmn:incoming>fBig</bpmn:incoming></bpmn:endEvent>
        <bpmn:endEvent id="small"><bpmn:incoming>fDefault</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw"/>
        <bpmn:sequenceFlow id="fBig" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>=amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="fDefault" sourceRef="gw" targetRef="small"/>"#,
    );
    let mut h = Harness::new();
    h.deploy(&xml);
    let a = h.create("p", json!({"amount": 500}));
    assert!(h.instance_completed(a));
    assert_eq!(h.element_intents("big").len(), 4);
    assert!(h.element_intents("small").is_empty());
    let b = h.create("p", json!({"amount": 5}));
    assert!(h.instance_completed(b));
    assert_eq!(h.element_intents("small").len(), 4);

    let no_default = xml.replace(" default=\"fDefault\"", "").replace(
        r#"<bpmn:sequenceFlow id="fDefault" sourceRef="gw" targetRef="small"/>"#,
        r#"<bpmn:sequenceFlow id="fDefault" sourceRef="gw" targetRef="small"><bpmn:conditionExpression>=amount &lt; 10</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
    );
    h.deploy(&no_default);
    let c = h.create("p", json!({"amount": 50}));
    assert!(!h.instance_completed(c));
    let incident = h.state.incidents.values().next().unwrap().clone();
    assert_eq!(incident.value.error_type, "CONDITION_ERROR");
    h.run(&Command::SetVariables {
        element_instance_key: c,
        variables: obj(json!({"amount": 1})),
        local: false,
    })
    .unwrap();
    h.run(&Command::ResolveIncident {
        incident_key: incident.key,
    })
    .unwrap();
    assert!(h.instance_completed(c));
    assert!(h.state.incidents.is_empty());
}

#[test]
fn parallel_gateway_forks_and_joins() {
    let xml = bpmn(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
        <bpmn:parallelGateway id="fork"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fb</bpmn:outgoing></bpmn:parallelGateway>
        <bpmn:serviceTask id="a"><bpmn:extensionElements><zeebe:taskDefinition type="a"/></bpmn:extensionElements><bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing></bpmn:serviceTask>
        <bpmn:serviceTask id="b"><bpmn:extensionElements><zeebe:taskDefinition type="b"/></bpmn:extensionElements><bpmn:incoming>fb</bpmn:incoming><bpmn:outgoing>fb2</bpmn:outgoing></bpmn:serviceTask>
        <bpmn:parallelGateway id="join"><bpmn:incoming>fa2</bpmn:incoming><bpmn:incoming>fb2</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing></bpmn:parallelGateway>
        <bpmn:endEvent id="e"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/>
        <bpmn:sequenceFlow id="fa" sourceRef="fork" targetRef="a"/>
        <bpmn:sequenceFlow id="fb" sourceRef="fork" targetRef="b"/>
        <bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="join"/>
        <bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="join"/>
        <bpmn:sequenceFlow id="f9" sourceRef="join" targetRef="e"/>"#,
    );
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    let a = h.activate("a");
    let b = h.activate("b");
    h.complete(a[0].key, json!({"x": 1}));
    assert!(h.element_intents("join").is_empty(), "join waits for both");
    assert!(!h.instance_completed(pi));
    h.complete(b[0].key, json!({"y": 2}));
    assert_eq!(h.element_intents("join").len(), 4);
    assert!(h.instance_completed(pi));
}

#[test]
fn failed_job_backs_off_then_raises_incident_and_resolves_after_retries_update() {
    let mut h = Harness::new();
    h.deploy(&service_task_process());
    let pi = h.create("p", json!({"amount": 1}));
    let job = h.activate("pay")[0].key;
    h.run(&Command::FailJob {
        job_key: job,
        retries: 1,
        error_message: "try again".into(),
        retry_backoff: 5_000,
        variables: Map::new(),
    })
    .unwrap();
    assert!(h.activate("pay").is_empty(), "backing off");
    h.now += 5_000;
    h.run(&Command::Tick).unwrap();
    assert_eq!(h.activate("pay").len(), 1);
    h.run(&Command::FailJob {
        job_key: job,
        retries: 0,
        error_message: "broken".into(),
        retry_backoff: 0,
        variables: Map::new(),
    })
    .unwrap();
    let incident = h.state.incidents.values().next().unwrap().clone();
    assert_eq!(incident.value.error_type, "JOB_NO_RETRIES");
    assert_eq!(incident.value.job_key, job);
    assert_eq!(h.state.jobs[&job].state, JobState::Failed);
    let err = h
        .run(&Command::CompleteJob {
            job_key: job,
            variables: Map::new(),
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::InvalidState);
    h.run(&Command::UpdateJobRetries {
        job_key: job,
        retries: 3,
    })
    .unwrap();
    h.run(&Command::ResolveIncident {
        incident_key: incident.key,
    })
    .unwrap();
    let again = h.activate("pay");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job.retries, 3);
    h.complete(job, json!({"paid": 1}));
    assert!(h.instance_completed(pi));
}

#[test]
fn activated_job_times_out_and_becomes_activatable() {
    let mut h = Harness::new();
    h.deploy(&service_task_process());
    h.create("p", json!({"amount": 1}));
    let job = h.activate("pay")[0].key;
    h.now += 9_999;
    h.run(&Command::Tick).unwrap();
    assert!(h.activate("pay").is_empty());
    h.now += 1;
    h.run(&Command::Tick).unwrap();
    assert_eq!(h.activate("pay")[0].key, job);
}

#[test]
fn thrown_error_is_caught_by_boundary_event_or_becomes_incident() {
    let xml = bpmn(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
        <bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="t"/></bpmn:extensionElements><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:serviceTask>
        <bpmn:boundaryEvent id="caught" attachedToRef="t"><bpmn:outgoing>f2</bpmn:outgoing><bpmn:errorEventDefinition errorRef="Err"/></bpmn:boundaryEvent>
        <bpmn:endEvent id="ok"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
        <bpmn:endEvent id="failed"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>
        <bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="ok"/>
        <bpmn:sequenceFlow id="f2" sourceRef="caught" targetRef="failed"/>"#,
    );
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({}));
    let job = h.activate("t")[0].key;
    h.run(&Command::ThrowError {
        job_key: job,
        error_code: "boom".into(),
        error_message: "it broke".into(),
        variables: obj(json!({"reason": "x"})),
    })
    .unwrap();
    assert!(h.instance_completed(pi));
    assert!(
        h.element_intents("t")
            .contains(&"ELEMENT_TERMINATED".to_owned())
    );
    assert_eq!(h.element_intents("failed").len(), 4);

    let pi2 = h.create("p", json!({}));
    let job2 = h.activate("t")[0].key;
    h.run(&Command::ThrowError {
        job_key: job2,
        error_code: "other".into(),
        error_message: String::new(),
        variables: Map::new(),
    })
    .unwrap();
    assert!(!h.instance_completed(pi2));
    let incident = h.state.incidents.values().next().unwrap();
    assert_eq!(incident.value.error_type, "UNHANDLED_ERROR_EVENT");
}

#[test]
fn cancel_terminates_everything_and_script_task_sets_its_result() {
    let xml = bpmn(
        r#"<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
        <bpmn:scriptTask id="calc"><bpmn:extensionElements><zeebe:script expression="=a + b" resultVariable="sum"/></bpmn:extensionElements><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:scriptTask>
        <bpmn:userTask id="review"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
        <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="calc"/>
        <bpmn:sequenceFlow id="f1" sourceRef="calc" targetRef="review"/>
        <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>"#,
    );
    let mut h = Harness::new();
    h.deploy(&xml);
    let pi = h.create("p", json!({"a": 1, "b": 2}));
    let jobs = h.activate("io.camunda.zeebe:userTask");
    assert_eq!(jobs[0].job.variables.get("sum"), Some(&json!(3)));
    h.run(&Command::CancelInstance {
        process_instance_key: pi,
    })
    .unwrap();
    assert!(h.state.elements.is_empty());
    assert!(h.state.jobs.is_empty());
    assert!(h.log.iter().any(|r| r.intent == Intent::CANCELED));
    let err = h
        .run(&Command::CancelInstance {
            process_instance_key: pi,
        })
        .unwrap_err();
    assert_eq!(err.kind, RejectionType::NotFound);
}

#[test]
fn set_variables_local_or_propagated_and_tenant_filter_on_activation() {
    let mut h = Harness::new();
    h.deploy(&service_task_process());
    let pi = h.create("p", json!({"amount": 1}));
    let task = h
        .state
        .elements
        .values()
        .find(|e| e.element_id == "task")
        .unwrap()
        .key;
    h.run(&Command::SetVariables {
        element_instance_key: task,
        variables: obj(json!({"local": 1})),
        local: true,
    })
    .unwrap();
    h.run(&Command::SetVariables {
        element_instance_key: task,
        variables: obj(json!({"amount": 7, "fresh": true})),
        local: false,
    })
    .unwrap();
    let root = h.state.visible_variables(pi);
    assert_eq!(root.get("amount"), Some(&json!(7)));
    assert_eq!(root.get("fresh"), Some(&json!(true)));
    assert!(!root.contains_key("local"));
    assert_eq!(
        h.state.visible_variables(task).get("local"),
        Some(&json!(1))
    );

    let out = h.run(&Command::ActivateJobs {
        job_type: "pay".into(),
        worker: "w".into(),
        timeout: 1000,
        max_jobs: 5,
        fetch_variables: vec!["amount".into()],
        tenant_ids: vec![TenantId::new("other").unwrap()],
    });
    assert_eq!(out, Ok(Response::JobsActivated(vec![])));
    let jobs = h.activate("pay");
    assert_eq!(jobs.len(), 1);
}

/// A step that finds the state inconsistent never skips silently: debug builds panic
/// (so the test that broke an invariant fails where it happened), release builds stop
/// the instance with an incident that says what is wrong.
#[test]
fn a_broken_invariant_fails_loudly() {
    let mut h = Harness::new();
    h.deploy(&service_task_process());
    h.create("p", json!({"amount": 1}));
    let task = h.active("task");
    let jobs = h.activate("pay");
    // Break the state: the running instance's definition is gone.
    h.state.processes.clear();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.complete(jobs[0].key, json!({"paid": true}));
    }));
    if cfg!(debug_assertions) {
        let panic = outcome.expect_err("debug builds panic");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("broken invariant: process definition"),
            "{message}"
        );
    } else {
        outcome.expect("release builds carry on");
        let incidents = h.open_incidents();
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].value.error_type, "UNKNOWN");
        assert_eq!(incidents[0].value.element_instance_key, task);
        assert!(
            incidents[0]
                .value
                .error_message
                .contains("broken invariant: process definition"),
            "{}",
            incidents[0].value.error_message
        );
    }
}
