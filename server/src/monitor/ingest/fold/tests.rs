//! Records in, rows and audit events out: a batch's effect without a database.

use base64::Engine as _;

use crate::domain::TenantId;

use super::*;

const ENV: Uuid = Uuid::nil();

fn acme() -> Target {
    Target {
        tenant: TenantId::new("acme").unwrap(),
        environment_id: ENV,
        environment: "dev".into(),
    }
}

/// An event at position `n` (and second `n`), of tenant `acme` unless `value` names one.
fn record(n: i64, key: i64, value_type: &str, intent: &str, mut value: Value) -> Record {
    if let Some(value) = value.as_object_mut() {
        value.entry("tenantId").or_insert(json!("acme"));
    }
    serde_json::from_value(json!({
        "partitionId": 1, "position": n, "key": key, "timestamp": 1_000 * n,
        "recordType": "EVENT", "valueType": value_type, "intent": intent, "value": value,
    }))
    .unwrap()
}

/// Element `key` of instance 10 of `order` (definition 5); the instance itself is
/// element 10 of type `PROCESS`.
fn element(n: i64, key: i64, element_type: &str, intent: &str) -> Record {
    let value = json!({
        "bpmnProcessId": "order", "version": 1, "processDefinitionKey": 5,
        "processInstanceKey": 10, "elementId": format!("e{key}"), "flowScopeKey": 10,
        "bpmnElementType": element_type, "parentProcessInstanceKey": -1,
        "parentElementInstanceKey": -1,
    });
    record(n, key, "PROCESS_INSTANCE", intent, value)
}

fn job(n: i64, intent: &str, retries: i32, worker: &str, error: &str) -> Record {
    let value = json!({
        "type": "charge", "worker": worker, "retries": retries, "errorMessage": error,
        "elementId": "e20", "elementInstanceKey": 20, "processInstanceKey": 10,
        "bpmnProcessId": "order", "processDefinitionKey": 5,
    });
    record(n, 30, "JOB", intent, value)
}

fn fold_from(source: &SourceKind, records: &[Record]) -> Fold {
    let sanitizer = Sanitizer::new(&["*password*".into()], 1_000);
    let targets = HashMap::from([("acme".to_owned(), Some(acme()))]);
    Fold::of(
        &sanitizer,
        source,
        &targets,
        &records.iter().collect::<Vec<_>>(),
    )
}

fn fold(records: &[Record]) -> Fold {
    let exporter = SourceKind::Exporter {
        tenant: acme().tenant,
        environment_id: ENV,
        environment: "dev".into(),
    };
    fold_from(&exporter, records)
}

fn event_types(fold: &Fold) -> Vec<&str> {
    fold.events.iter().map(|p| p.event.event_type).collect()
}

#[test]
fn an_instance_started_and_completed_in_one_batch_is_one_completed_row() {
    let mut records = [
        "ELEMENT_ACTIVATING",
        "ELEMENT_ACTIVATED",
        "ELEMENT_COMPLETING",
        "ELEMENT_COMPLETED",
    ]
    .iter()
    .zip(1..)
    .map(|(intent, n)| element(n, 10, "PROCESS", intent))
    .collect::<Vec<_>>();
    records[1].operation_reference = 7;
    let fold = fold(&records);

    assert_eq!(fold.instances.len(), 1);
    let row = &fold.instances[&(ENV, 10)];
    assert_eq!(row.state, InstanceState::Completed);
    assert_eq!(row.state.as_str(), "completed");
    assert_eq!((row.start, row.end), (millis(1_000), Some(millis(4_000))));
    assert_eq!((row.position, row.timestamp), (4, 4_000));
    assert_eq!((row.parent_instance, row.parent_element), (None, None));
    assert_eq!(event_types(&fold), ["PROCESS_STARTED", "PROCESS_COMPLETED"]);
    let (started, completed) = (&fold.events[0], &fold.events[1]);
    assert!(started.is_start && !completed.is_start);
    assert_eq!((started.operation, completed.operation), (7, -1));
    assert_eq!(started.duration_of, None);
    assert_eq!(completed.duration_of, Some((ENV, 10, true)));
    assert_eq!(completed.event.execution_context["status"], "completed");
    assert_eq!(fold.ignored, 0);
}

#[test]
fn elements_take_their_last_state_and_end_when_it_is_final() {
    let fold = fold(&[
        element(1, 20, "SERVICE_TASK", "ELEMENT_ACTIVATING"),
        element(2, 20, "SERVICE_TASK", "ELEMENT_ACTIVATED"),
        element(3, 21, "SEQUENCE_FLOW", "SEQUENCE_FLOW_TAKEN"),
        element(4, 22, "END_EVENT", "ELEMENT_ACTIVATED"),
        element(5, 20, "SERVICE_TASK", "ELEMENT_COMPLETED"),
        element(6, 22, "END_EVENT", "ELEMENT_MIGRATED"),
    ]);

    let state = |key| {
        let row = &fold.elements[&(ENV, key)];
        (row.state, row.end)
    };
    assert_eq!(state(20), (ElementState::Completed, Some(millis(5_000))));
    assert_eq!(state(21), (ElementState::Taken, Some(millis(3_000))));
    assert_eq!(state(22), (ElementState::Activated, None));
    assert!(fold.instances.is_empty());
    assert_eq!(
        event_types(&fold),
        ["TASK_ACTIVATED", "ELEMENT_ACTIVATED", "TASK_COMPLETED"]
    );
    let completed = &fold.events[2];
    assert_eq!(completed.duration_of, Some((ENV, 20, false)));
    assert_eq!(completed.definition, Some((ENV, 5)));
    assert_eq!(completed.event.task_id.as_deref(), Some("e20"));
    assert_eq!(fold.ignored, 1, "an intent no element state stands for");
}

#[test]
fn a_job_failed_with_no_retries_left_is_failed() {
    let activated = record(
        2,
        -1,
        "JOB_BATCH",
        "ACTIVATED",
        json!({
            "jobKeys": [30],
            "jobs": [job(0, "", 3, "w1", "").value],
        }),
    );
    let fold = fold(&[
        job(1, "CREATED", 3, "", ""),
        activated,
        job(3, "FAILED", 0, "", "card declined"),
    ]);

    assert_eq!(fold.jobs.len(), 1);
    let row = &fold.jobs[&(ENV, 30)];
    assert_eq!(row.state, Some(JobState::Failed));
    assert_eq!(row.retries, 0);
    assert_eq!(
        row.worker, "w1",
        "a record without a worker keeps the one known"
    );
    assert_eq!(row.error_message, "card declined");
    assert_eq!(event_types(&fold), ["JOB_ACTIVATED", "JOB_FAILED"]);
    let failed = &fold.events[1].event.execution_context;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["retries"], 0);
    assert_eq!(failed["errorMessage"], "card declined");
}

#[test]
fn a_job_whose_retries_change_keeps_its_state() {
    let fold = fold(&[
        job(1, "RETRIES_UPDATED", 5, "", ""),
        job(2, "TIMEOUT_UPDATED", 5, "", ""),
        job(3, "MIGRATED", 5, "", ""),
    ]);

    let row = &fold.jobs[&(ENV, 30)];
    assert_eq!((row.state, row.retries, row.position), (None, 5, 2));
    assert_eq!(event_types(&fold), ["JOB_RETRIES_UPDATED"]);
    assert_eq!(fold.events[0].event.execution_context["status"], "updated");
    assert_eq!(fold.ignored, 1);
}

#[test]
fn a_variable_set_twice_keeps_the_last_value() {
    let variable = |n, intent, name: &str, value: &str| {
        let value = json!({
            "name": name, "value": value, "scopeKey": 10, "processInstanceKey": 10,
            "bpmnProcessId": "order",
        });
        record(n, 50 + n, "VARIABLE", intent, value)
    };
    let fold = fold(&[
        variable(1, "CREATED", "tier", r#""silver""#),
        variable(2, "CREATED", "cardPassword", r#""hunter2""#),
        variable(3, "UPDATED", "tier", r#""gold""#),
    ]);

    assert_eq!(fold.variables.len(), 2);
    let tier = &fold.variables[&(ENV, 10, "tier".to_owned())];
    assert_eq!((tier.value.as_str(), tier.position), (r#""gold""#, 3));
    assert_eq!(
        event_types(&fold),
        ["VARIABLE_CREATED", "VARIABLE_CREATED", "VARIABLE_UPDATED"]
    );
    assert_eq!(
        fold.events[1].event.variables,
        Some(json!({ "cardPassword": "***" }))
    );
}

#[test]
fn an_incident_resolved_in_its_batch_is_resolved_and_recounted() {
    let incident = |n, intent| {
        let value = json!({
            "errorType": "JOB_NO_RETRIES", "errorMessage": "card declined",
            "bpmnProcessId": "order", "processDefinitionKey": 5, "processInstanceKey": 10,
            "elementId": "e20", "elementInstanceKey": 20, "jobKey": -1,
        });
        record(n, 40, "INCIDENT", intent, value)
    };
    let fold = fold(&[incident(1, "CREATED"), incident(2, "RESOLVED")]);

    let row = &fold.incidents[&(ENV, 40)];
    assert_eq!(row.state, IncidentState::Resolved);
    assert_eq!(
        (row.created, row.resolved),
        (millis(1_000), Some(millis(2_000)))
    );
    assert_eq!(row.job_key, None);
    assert_eq!(fold.recount.keys().collect::<Vec<_>>(), [&(ENV, 10)]);
    assert_eq!(
        event_types(&fold),
        ["INCIDENT_CREATED", "INCIDENT_RESOLVED"]
    );
}

#[test]
fn definitions_keep_their_bpmn_and_timers_are_audited_only() {
    let bpmn = base64::engine::general_purpose::STANDARD.encode("<definitions/>");
    let process = json!({
        "bpmnProcessId": "order", "version": 2, "processDefinitionKey": 5,
        "resourceName": "order.bpmn", "resource": bpmn,
    });
    let timer = json!({
        "processInstanceKey": 10, "processDefinitionKey": 5, "targetElementId": "wait",
        "elementInstanceKey": 23,
    });
    let fold = fold(&[
        record(1, 5, "PROCESS", "CREATED", process),
        record(2, 60, "TIMER", "TRIGGERED", timer.clone()),
        record(3, 60, "TIMER", "CREATED", timer),
    ]);

    let definition = &fold.definitions[0];
    assert_eq!((definition.key, definition.version), (5, 2));
    assert_eq!(definition.xml, "<definitions/>");
    assert_eq!(event_types(&fold), ["TIMER_TRIGGERED"]);
    let triggered = &fold.events[0];
    assert_eq!(triggered.event.task_id.as_deref(), Some("wait"));
    assert_eq!(triggered.event.execution_id, "10");
    assert_eq!(triggered.definition, Some((ENV, 5)));
    assert_eq!(triggered.event.execution_context["status"], "triggered");
    assert_eq!(fold.ignored, 1, "a timer scheduled is not audited");
}

#[test]
fn only_events_of_known_tenants_fold() {
    let mut command = element(1, 10, "PROCESS", "ELEMENT_ACTIVATED");
    command.record_type = RecordType::Command;
    let globex = record(2, 11, "PROCESS_INSTANCE", "ELEMENT_ACTIVATED", {
        json!({ "bpmnElementType": "PROCESS", "tenantId": "globex" })
    });
    let error = record(
        3,
        12,
        "ERROR",
        "CREATED",
        json!({ "exceptionMessage": "boom" }),
    );
    let records = [command, globex, error];

    let exported = fold(&records);
    assert!(exported.instances.is_empty());
    assert_eq!(
        exported.ignored, 1,
        "globex is not this environment's tenant"
    );
    assert_eq!(
        event_types(&exported),
        ["ERROR"],
        "an exporter's error is its own"
    );
    assert_eq!(exported.events[0].tenant, acme().tenant);

    let embedded = fold_from(
        &SourceKind::Embedded {
            environment: "dev".into(),
        },
        &records,
    );
    assert!(embedded.events.is_empty());
    assert_eq!(
        embedded.ignored, 2,
        "an embedded engine's error names no tenant"
    );
}

#[test]
fn tasks_are_told_from_other_elements() {
    assert!(is_task("SERVICE_TASK"));
    assert!(is_task("TASK"));
    assert!(!is_task("EXCLUSIVE_GATEWAY"));
    assert!(!is_task("START_EVENT"));
}
