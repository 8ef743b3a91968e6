//! Record JSON in the shape Zeebe's exporters write: typed values round-trip exactly,
//! and anything this crate does not know is kept rather than rejected.

use serde_json::{Value, json};
use zeebe::record::{Intent, Record, RecordType, RecordValue, RejectionType, ValueType};

/// Parses `sample`, writes it back, and checks nothing was added, lost or changed.
fn round_trip(sample: &Value) -> Record {
    let record: Record = serde_json::from_value(sample.clone()).expect("record parses");
    let written = serde_json::to_value(&record).expect("record serialises");
    assert_eq!(&written, sample, "JSON changed in a round trip");
    let reparsed: Record = serde_json::from_value(written).expect("written record parses");
    assert_eq!(reparsed, record);
    record
}

/// The envelope every sample shares, around `value`.
fn envelope(value_type: &str, intent: &str, value: Value) -> Value {
    let mut record = json!({
        "partitionId": 1,
        "position": 4_503_599_627_370_500_i64,
        "sourceRecordPosition": 4_503_599_627_370_499_i64,
        "key": 2_251_799_813_685_251_i64,
        "timestamp": 1_717_400_000_123_i64,
        "recordType": "EVENT",
        "valueType": value_type,
        "intent": intent,
        "rejectionType": "NULL_VAL",
        "rejectionReason": "",
        "brokerVersion": "8.6.3",
        "recordVersion": 1,
        "operationReference": -1,
        "authorizations": { "authorized_tenants": ["<default>"] },
    });
    record["value"] = value;
    record
}

#[test]
fn process_instance_event() {
    let sample = envelope(
        "PROCESS_INSTANCE",
        "ELEMENT_ACTIVATED",
        json!({
            "bpmnProcessId": "order-process",
            "version": 3,
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "elementId": "ship-order",
            "flowScopeKey": 2_251_799_813_685_250_i64,
            "bpmnElementType": "SERVICE_TASK",
            "bpmnEventType": "UNSPECIFIED",
            "parentProcessInstanceKey": -1,
            "parentElementInstanceKey": -1,
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&sample);
    assert_eq!(record.record_type, RecordType::Event);
    assert_eq!(record.value_type, ValueType::ProcessInstance);
    assert_eq!(record.intent, Intent::ELEMENT_ACTIVATED);
    assert_eq!(record.tenant_id(), Some("tenant-a"));
    let RecordValue::ProcessInstance(value) = &record.value else {
        panic!("typed process instance value, got {:?}", record.value);
    };
    assert_eq!(value.element_id, "ship-order");
    assert_eq!(value.bpmn_element_type, "SERVICE_TASK");
    assert_eq!(value.parent_process_instance_key, -1);
    assert!(value.extra.is_empty());
}

#[test]
fn job_event_keeps_fields_of_newer_brokers() {
    let sample = envelope(
        "JOB",
        "CREATED",
        json!({
            "type": "payment",
            "worker": "",
            "retries": 3,
            "deadline": -1,
            "timeout": -1,
            "retryBackoff": 0,
            "recurringTime": -1,
            "customHeaders": { "method": "card" },
            "variables": {},
            "errorCode": "",
            "errorMessage": "",
            "elementId": "charge",
            "elementInstanceKey": 2_251_799_813_685_260_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "bpmnProcessId": "order-process",
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "processDefinitionVersion": 3,
            "tenantId": "<default>",
            "jobKind": "BPMN_ELEMENT",
            "jobListenerEventType": "UNSPECIFIED",
            "tags": ["priority"],
        }),
    );
    let record = round_trip(&sample);
    let RecordValue::Job(job) = &record.value else {
        panic!("typed job value, got {:?}", record.value);
    };
    assert_eq!(job.job_type, "payment");
    assert_eq!(job.custom_headers["method"], "card");
    assert!(job.tenant_id.is_default());
    assert_eq!(job.extra["jobKind"], "BPMN_ELEMENT");
    assert_eq!(job.extra["tags"], json!(["priority"]));
}

#[test]
fn failed_job_carries_error_and_variables() {
    let sample = envelope(
        "JOB",
        "FAILED",
        json!({
            "type": "payment",
            "worker": "worker-1",
            "retries": 0,
            "deadline": 1_717_400_030_000_i64,
            "timeout": 30_000,
            "retryBackoff": 5_000,
            "recurringTime": 1_717_400_005_000_i64,
            "customHeaders": {},
            "variables": { "amount": 42.5, "items": [1, 2] },
            "errorCode": "",
            "errorMessage": "card declined",
            "elementId": "charge",
            "elementInstanceKey": 2_251_799_813_685_260_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "bpmnProcessId": "order-process",
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "processDefinitionVersion": 3,
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&sample);
    let RecordValue::Job(job) = &record.value else {
        panic!("typed job value");
    };
    assert_eq!(job.error_message, "card declined");
    assert_eq!(job.retry_backoff, 5_000);
    assert_eq!(job.variables["amount"], 42.5);
}

#[test]
fn incident_event() {
    let sample = envelope(
        "INCIDENT",
        "CREATED",
        json!({
            "errorType": "JOB_NO_RETRIES",
            "errorMessage": "card declined",
            "bpmnProcessId": "order-process",
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "elementId": "charge",
            "elementInstanceKey": 2_251_799_813_685_260_i64,
            "jobKey": 2_251_799_813_685_261_i64,
            "variableScopeKey": 2_251_799_813_685_260_i64,
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&sample);
    let RecordValue::Incident(incident) = &record.value else {
        panic!("typed incident value");
    };
    assert_eq!(incident.error_type, "JOB_NO_RETRIES");
    assert_eq!(incident.job_key, 2_251_799_813_685_261);
}

#[test]
fn variable_value_is_json_text() {
    let sample = envelope(
        "VARIABLE",
        "CREATED",
        json!({
            "name": "customer",
            "value": "{\"name\":\"Ada\",\"tier\":\"gold\"}",
            "scopeKey": 2_251_799_813_685_250_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "bpmnProcessId": "order-process",
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&sample);
    let RecordValue::Variable(variable) = &record.value else {
        panic!("typed variable value");
    };
    let parsed: Value = serde_json::from_str(&variable.value).expect("value is JSON text");
    assert_eq!(parsed["tier"], "gold");
}

#[test]
fn deployment_and_process_events() {
    let deployment = envelope(
        "DEPLOYMENT",
        "CREATED",
        json!({
            "resources": [
                { "resourceName": "order.bpmn", "resource": "PGRlZmluaXRpb25zLz4=" }
            ],
            "processesMetadata": [{
                "bpmnProcessId": "order-process",
                "version": 3,
                "processDefinitionKey": 2_251_799_813_685_249_i64,
                "resourceName": "order.bpmn",
                "checksum": "q1w2e3r4",
                "duplicate": false,
                "tenantId": "tenant-a",
                "deploymentKey": 2_251_799_813_685_248_i64,
                "versionTag": "",
            }],
            "decisionsMetadata": [],
            "decisionRequirementsMetadata": [],
            "formMetadata": [],
            "tenantId": "tenant-a",
            "deploymentKey": 2_251_799_813_685_248_i64,
        }),
    );
    let record = round_trip(&deployment);
    let RecordValue::Deployment(value) = &record.value else {
        panic!("typed deployment value");
    };
    assert_eq!(value.processes_metadata[0].version, 3);
    assert_eq!(
        value.processes_metadata[0].extra["deploymentKey"],
        2_251_799_813_685_248_i64
    );

    let process = envelope(
        "PROCESS",
        "CREATED",
        json!({
            "bpmnProcessId": "order-process",
            "version": 3,
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "resourceName": "order.bpmn",
            "checksum": "q1w2e3r4",
            "resource": "PGRlZmluaXRpb25zLz4=",
            "duplicate": false,
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&process);
    assert!(matches!(record.value, RecordValue::Process(ref p) if p.version == 3));
}

#[test]
fn message_timer_signal_and_error_events() {
    let message = envelope(
        "MESSAGE",
        "PUBLISHED",
        json!({
            "name": "payment-received",
            "correlationKey": "order-17",
            "messageId": "",
            "timeToLive": 60_000,
            "deadline": 1_717_400_060_123_i64,
            "variables": { "paid": true },
            "tenantId": "tenant-a",
        }),
    );
    assert!(matches!(
        round_trip(&message).value,
        RecordValue::Message(_)
    ));

    let timer = envelope(
        "TIMER",
        "CREATED",
        json!({
            "elementInstanceKey": 2_251_799_813_685_270_i64,
            "processInstanceKey": 2_251_799_813_685_250_i64,
            "processDefinitionKey": 2_251_799_813_685_249_i64,
            "dueDate": 1_717_403_600_000_i64,
            "targetElementId": "wait-a-bit",
            "repetitions": 1,
            "tenantId": "tenant-a",
        }),
    );
    assert!(matches!(round_trip(&timer).value, RecordValue::Timer(_)));

    let signal = envelope(
        "SIGNAL",
        "BROADCASTED",
        json!({
            "signalName": "stop-all",
            "variables": {},
            "tenantId": "tenant-a",
        }),
    );
    let record = round_trip(&signal);
    assert_eq!(record.intent, Intent::BROADCASTED);
    assert!(matches!(record.value, RecordValue::Signal(_)));

    let error = envelope(
        "ERROR",
        "CREATED",
        json!({
            "exceptionMessage": "boom",
            "stacktrace": "at step 3",
            "errorEventPosition": 4_503_599_627_370_400_i64,
            "processInstanceKey": -1,
        }),
    );
    let record = round_trip(&error);
    assert!(matches!(record.value, RecordValue::Error(_)));
    assert_eq!(record.tenant_id(), None);
}

/// The subscription, escalation, modification and deletion values keep Zeebe's field
/// names (as its exporters' JSON has them) and round-trip exactly.
#[test]
fn subscription_escalation_modification_and_deletion_events() {
    let samples = [
        (
            "MESSAGE_SUBSCRIPTION",
            "CORRELATED",
            json!({
                "processInstanceKey": 2_251_799_813_685_250_i64,
                "elementInstanceKey": 2_251_799_813_685_270_i64,
                "bpmnProcessId": "order-process",
                "messageKey": 2_251_799_813_685_300_i64,
                "messageName": "payment-received",
                "correlationKey": "order-17",
                "interrupting": true,
                "variables": { "paid": true },
                "tenantId": "tenant-a",
            }),
        ),
        (
            "PROCESS_MESSAGE_SUBSCRIPTION",
            "CREATED",
            json!({
                "processInstanceKey": 2_251_799_813_685_250_i64,
                "elementInstanceKey": 2_251_799_813_685_270_i64,
                "bpmnProcessId": "order-process",
                "messageKey": -1,
                "messageName": "payment-received",
                "correlationKey": "order-17",
                "elementId": "payment-received",
                "interrupting": false,
                "variables": {},
                "tenantId": "tenant-a",
            }),
        ),
        (
            "MESSAGE_START_EVENT_SUBSCRIPTION",
            "CORRELATED",
            json!({
                "processDefinitionKey": 2_251_799_813_685_249_i64,
                "bpmnProcessId": "order-process",
                "startEventId": "order-placed",
                "messageName": "order-placed",
                "processInstanceKey": 2_251_799_813_685_250_i64,
                "correlationKey": "order-17",
                "messageKey": 2_251_799_813_685_300_i64,
                "variables": { "total": 3 },
                "tenantId": "tenant-a",
            }),
        ),
        (
            "SIGNAL_SUBSCRIPTION",
            "CREATED",
            json!({
                "processDefinitionKey": 2_251_799_813_685_249_i64,
                "bpmnProcessId": "order-process",
                "catchEventId": "stop-all",
                "catchEventInstanceKey": -1,
                "signalName": "stop-all",
                "tenantId": "tenant-a",
            }),
        ),
        (
            "ESCALATION",
            "ESCALATED",
            json!({
                "processInstanceKey": 2_251_799_813_685_250_i64,
                "escalationCode": "late",
                "throwElementId": "escalate",
                "catchElementId": "notify-manager",
                "tenantId": "tenant-a",
            }),
        ),
        (
            "PROCESS_INSTANCE_MODIFICATION",
            "MODIFIED",
            json!({
                "processInstanceKey": 2_251_799_813_685_250_i64,
                "terminateInstructions": [{ "elementInstanceKey": 2_251_799_813_685_270_i64 }],
                "activateInstructions": [{
                    "elementId": "ship",
                    "ancestorScopeKey": -1,
                    "variableInstructions": [{ "elementId": "", "variables": { "x": 1 } }],
                    "ancestorScopeKeys": [2_251_799_813_685_250_i64],
                }],
                "ancestorScopeKeys": [2_251_799_813_685_250_i64],
                "tenantId": "tenant-a",
            }),
        ),
        (
            "RESOURCE_DELETION",
            "DELETED",
            json!({
                "resourceKey": 2_251_799_813_685_249_i64,
                "tenantId": "tenant-a",
            }),
        ),
    ];
    for (value_type, intent, value) in samples {
        let record = round_trip(&envelope(value_type, intent, value));
        assert!(
            !matches!(record.value, RecordValue::Other(_)),
            "{value_type} is typed"
        );
        assert_eq!(record.value.value_type().unwrap().as_str(), value_type);
        assert_eq!(record.tenant_id(), Some("tenant-a"));
    }
}

#[test]
fn command_rejection() {
    let mut sample = envelope(
        "PROCESS_INSTANCE_CREATION",
        "CREATE",
        json!({
            "bpmnProcessId": "missing",
            "processDefinitionKey": -1,
            "version": -1,
            "variables": {},
            "startInstructions": [],
            "tenantId": "<default>",
        }),
    );
    sample["recordType"] = json!("COMMAND_REJECTION");
    sample["rejectionType"] = json!("NOT_FOUND");
    sample["rejectionReason"] = json!("Expected to find process definition 'missing'");
    let record = round_trip(&sample);
    assert_eq!(record.record_type, RecordType::CommandRejection);
    assert_eq!(record.rejection_type, RejectionType::NotFound);
    // No typed variant for this value type: kept as JSON, tenant still readable.
    assert!(matches!(record.value, RecordValue::Other(_)));
    assert_eq!(record.tenant_id(), Some("<default>"));
}

#[test]
fn unknown_value_type_intent_and_top_level_fields_are_kept() {
    let mut sample = envelope(
        "BATCH_OPERATION_CHUNK",
        "SOMETHING_NEW_HAPPENED",
        json!({ "batchOperationKey": 7, "items": [{ "itemKey": 1 }], "tenantId": "t1" }),
    );
    sample["recordType"] = json!("SOME_FUTURE_TYPE");
    sample["batchOperationReference"] = json!(-1);
    let record = round_trip(&sample);
    assert_eq!(
        record.value_type,
        ValueType::Unknown("BATCH_OPERATION_CHUNK".into())
    );
    assert_eq!(record.intent.as_str(), "SOMETHING_NEW_HAPPENED");
    assert_eq!(
        record.record_type,
        RecordType::Unknown("SOME_FUTURE_TYPE".into())
    );
    assert_eq!(record.extra["batchOperationReference"], -1);
    assert_eq!(record.tenant_id(), Some("t1"));
}

#[test]
fn value_that_does_not_match_its_type_falls_back_to_json() {
    let sample = envelope(
        "JOB",
        "CREATED",
        json!({ "type": "payment", "retries": "three", "tenantId": "tenant-a" }),
    );
    let record = round_trip(&sample);
    assert!(matches!(record.value, RecordValue::Other(_)));
    assert_eq!(record.tenant_id(), Some("tenant-a"));
}

#[test]
fn optional_envelope_fields_take_zeebe_defaults() {
    let minimal = json!({
        "partitionId": 2,
        "position": 10,
        "key": 5,
        "timestamp": 1_717_400_000_000_i64,
        "recordType": "EVENT",
        "valueType": "SIGNAL",
        "intent": "BROADCASTED",
        "rejectionType": null,
        "rejectionReason": null,
        "value": { "signalName": "go" },
    });
    let record: Record = serde_json::from_value(minimal).expect("minimal record parses");
    assert_eq!(record.source_record_position, -1);
    assert_eq!(record.operation_reference, -1);
    assert_eq!(record.record_version, 1);
    assert_eq!(record.rejection_type, RejectionType::NullVal);
    assert_eq!(record.rejection_reason, "");
    assert_eq!(record.authorizations, None);
    // A value without tenantId belongs to the default tenant.
    assert_eq!(record.tenant_id(), Some("<default>"));
}

#[test]
fn records_without_identity_are_rejected() {
    let mut sample = envelope("SIGNAL", "BROADCASTED", json!({ "signalName": "go" }));
    sample.as_object_mut().expect("object").remove("position");
    assert!(serde_json::from_value::<Record>(sample).is_err());
}

#[test]
fn a_batch_of_records_parses_from_one_document() {
    let batch = json!([
        envelope(
            "SIGNAL",
            "BROADCASTED",
            json!({ "signalName": "a", "variables": {}, "tenantId": "t" })
        ),
        envelope("NOT_YET_INVENTED", "X", json!({})),
    ]);
    let records: Vec<Record> = serde_json::from_value(batch).expect("batch parses");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].value, RecordValue::Other(json!({})));
}
