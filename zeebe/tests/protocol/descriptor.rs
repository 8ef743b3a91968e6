//! The compiled schema carries the names and numbers real Zeebe clients depend on.
//!
//! These facts are restated here independently of `gateway.proto`, so an accidental
//! edit of a name or number fails a test instead of silently breaking clients.

use std::collections::BTreeSet;

use prost::Message as _;
use prost_types::{
    DescriptorProto, FileDescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};
use zeebe::gateway::{self, FILE_DESCRIPTOR_SET, SERVICE_NAME};

fn schema() -> FileDescriptorProto {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    let mut files = set.file.into_iter();
    let file = files.next().expect("one file");
    assert!(files.next().is_none(), "the schema is a single file");
    file
}

/// Finds a message by dotted path below the package, e.g. `Partition` or
/// `ModifyProcessInstanceRequest.ActivateInstruction`.
fn message<'a>(file: &'a FileDescriptorProto, path: &str) -> &'a DescriptorProto {
    let mut parts = path.split('.');
    let first = parts.next().expect("non-empty path");
    let mut current = file
        .message_type
        .iter()
        .find(|m| m.name() == first)
        .unwrap_or_else(|| panic!("message {first} is missing"));
    for part in parts {
        current = current
            .nested_type
            .iter()
            .find(|m| m.name() == part)
            .unwrap_or_else(|| panic!("nested message {path} is missing"));
    }
    current
}

/// Every RPC of the Zeebe 8.x gateway service: the ones the engine serves and the
/// ones it answers UNIMPLEMENTED.
const RPCS: &[&str] = &[
    "ActivateJobs",
    "BroadcastSignal",
    "CancelProcessInstance",
    "CompleteJob",
    "CreateProcessInstance",
    "CreateProcessInstanceWithResult",
    "DeleteResource",
    "DeployProcess",
    "DeployResource",
    "EvaluateDecision",
    "FailJob",
    "MigrateProcessInstance",
    "ModifyProcessInstance",
    "PublishMessage",
    "ResolveIncident",
    "SetVariables",
    "StreamActivatedJobs",
    "ThrowError",
    "Topology",
    "UpdateJobRetries",
    "UpdateJobTimeout",
];

/// The RPCs the embedded engine implements.
const ENGINE_RPCS: &[&str] = &[
    "Topology",
    "DeployResource",
    "CreateProcessInstance",
    "CreateProcessInstanceWithResult",
    "ActivateJobs",
    "StreamActivatedJobs",
    "CompleteJob",
    "FailJob",
    "ThrowError",
    "CancelProcessInstance",
    "SetVariables",
    "ResolveIncident",
    "UpdateJobRetries",
    "UpdateJobTimeout",
    "PublishMessage",
    "BroadcastSignal",
    "ModifyProcessInstance",
    "DeleteResource",
    "EvaluateDecision",
    "MigrateProcessInstance",
];

#[test]
fn package_and_service_names_match_zeebe() {
    let file = schema();
    assert_eq!(file.package(), "gateway_protocol");
    assert_eq!(file.syntax(), "proto3");
    assert_eq!(file.service.len(), 1);
    assert_eq!(
        format!("{}.{}", file.package(), file.service[0].name()),
        SERVICE_NAME
    );
}

#[test]
fn service_has_exactly_the_zeebe_rpcs() {
    let file = schema();
    let names: BTreeSet<&str> = file.service[0].method.iter().map(|m| m.name()).collect();
    let expected: BTreeSet<&str> = RPCS.iter().copied().collect();
    assert_eq!(names, expected);
    for rpc in ENGINE_RPCS {
        assert!(names.contains(rpc), "{rpc} is missing");
    }
}

#[test]
fn rpc_signatures_and_streaming_match_zeebe() {
    let file = schema();
    for method in &file.service[0].method {
        let name = method.name();
        let (input, output, server_streaming) = match name {
            "StreamActivatedJobs" => (format!("{name}Request"), "ActivatedJob".to_owned(), true),
            _ => (
                format!("{name}Request"),
                format!("{name}Response"),
                name == "ActivateJobs",
            ),
        };
        assert_eq!(method.input_type(), format!(".gateway_protocol.{input}"));
        assert_eq!(method.output_type(), format!(".gateway_protocol.{output}"));
        assert_eq!(method.server_streaming(), server_streaming, "{name}");
        assert!(!method.client_streaming(), "{name} is not client streaming");
    }
}

#[test]
fn every_message_zeebe_clients_use_exists() {
    let file = schema();
    let names: BTreeSet<&str> = file.message_type.iter().map(|m| m.name()).collect();
    for rpc in RPCS {
        assert!(names.contains(&*format!("{rpc}Request")), "{rpc}Request");
    }
    for name in [
        "ActivatedJob",
        "BrokerInfo",
        "Partition",
        "Resource",
        "Deployment",
        "ProcessMetadata",
        "DecisionMetadata",
        "DecisionRequirementsMetadata",
        "FormMetadata",
        "ProcessRequestObject",
        "ProcessInstanceCreationStartInstruction",
        "EvaluatedDecision",
        "EvaluatedDecisionInput",
        "EvaluatedDecisionOutput",
        "MatchedDecisionRule",
    ] {
        assert!(names.contains(name), "{name}");
    }
}

/// `(field, number, type, label)`; `Optional` here means a plain singular field.
type FieldFact = (&'static str, i32, Type, Label);

fn assert_fields(file: &FileDescriptorProto, path: &str, facts: &[FieldFact]) {
    let message = message(file, path);
    for &(name, number, ty, label) in facts {
        let field = message
            .field
            .iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("{path}.{name} is missing"));
        assert_eq!(field.number(), number, "{path}.{name} number");
        assert_eq!(field.r#type(), ty, "{path}.{name} type");
        assert_eq!(field.label(), label, "{path}.{name} label");
    }
}

#[test]
fn job_messages_have_zeebe_field_numbers() {
    use Label::{Optional as One, Repeated as Many};
    use Type::{Int32, Int64, Message, String};
    let file = schema();
    assert_fields(
        &file,
        "ActivateJobsRequest",
        &[
            ("type", 1, String, One),
            ("worker", 2, String, One),
            ("timeout", 3, Int64, One),
            ("maxJobsToActivate", 4, Int32, One),
            ("fetchVariable", 5, String, Many),
            ("requestTimeout", 6, Int64, One),
            ("tenantIds", 7, String, Many),
        ],
    );
    assert_fields(
        &file,
        "StreamActivatedJobsRequest",
        &[
            ("type", 1, String, One),
            ("worker", 2, String, One),
            ("timeout", 3, Int64, One),
            ("fetchVariable", 5, String, Many),
            ("tenantIds", 6, String, Many),
        ],
    );
    assert_fields(
        &file,
        "ActivatedJob",
        &[
            ("key", 1, Int64, One),
            ("type", 2, String, One),
            ("processInstanceKey", 3, Int64, One),
            ("bpmnProcessId", 4, String, One),
            ("processDefinitionVersion", 5, Int32, One),
            ("processDefinitionKey", 6, Int64, One),
            ("elementId", 7, String, One),
            ("elementInstanceKey", 8, Int64, One),
            ("customHeaders", 9, String, One),
            ("worker", 10, String, One),
            ("retries", 11, Int32, One),
            ("deadline", 12, Int64, One),
            ("variables", 13, String, One),
            ("tenantId", 14, String, One),
            ("userTask", 15, Message, One),
            ("tags", 18, String, Many),
        ],
    );
    assert_fields(
        &file,
        "FailJobRequest",
        &[
            ("jobKey", 1, Int64, One),
            ("retries", 2, Int32, One),
            ("errorMessage", 3, String, One),
            ("retryBackOff", 4, Int64, One),
            ("variables", 5, String, One),
        ],
    );
    assert_fields(
        &file,
        "ThrowErrorRequest",
        &[
            ("jobKey", 1, Int64, One),
            ("errorCode", 2, String, One),
            ("errorMessage", 3, String, One),
            ("variables", 4, String, One),
        ],
    );
    assert_fields(
        &file,
        "UpdateJobTimeoutRequest",
        &[("jobKey", 1, Int64, One), ("timeout", 2, Int64, One)],
    );
}

#[test]
fn instance_and_deployment_messages_have_zeebe_field_numbers() {
    use Label::{Optional as One, Repeated as Many};
    use Type::{Bool, Bytes, Int32, Int64, Message, String};
    let file = schema();
    assert_fields(
        &file,
        "CreateProcessInstanceRequest",
        &[
            ("processDefinitionKey", 1, Int64, One),
            ("bpmnProcessId", 2, String, One),
            ("version", 3, Int32, One),
            ("variables", 4, String, One),
            ("startInstructions", 5, Message, Many),
            ("tenantId", 6, String, One),
        ],
    );
    assert_fields(
        &file,
        "CreateProcessInstanceWithResultRequest",
        &[
            ("request", 1, Message, One),
            ("requestTimeout", 2, Int64, One),
            ("fetchVariables", 3, String, Many),
        ],
    );
    assert_fields(
        &file,
        "CreateProcessInstanceWithResultResponse",
        &[
            ("processInstanceKey", 4, Int64, One),
            ("variables", 5, String, One),
            ("tenantId", 6, String, One),
        ],
    );
    assert_fields(
        &file,
        "DeployResourceRequest",
        &[
            ("resources", 1, Message, Many),
            ("tenantId", 2, String, One),
        ],
    );
    assert_fields(
        &file,
        "Resource",
        &[("name", 1, String, One), ("content", 2, Bytes, One)],
    );
    assert_fields(
        &file,
        "DeployResourceResponse",
        &[
            ("key", 1, Int64, One),
            ("deployments", 2, Message, Many),
            ("tenantId", 3, String, One),
        ],
    );
    assert_fields(
        &file,
        "Deployment",
        &[
            ("process", 1, Message, One),
            ("decision", 2, Message, One),
            ("decisionRequirements", 3, Message, One),
            ("form", 4, Message, One),
        ],
    );
    assert_fields(
        &file,
        "DecisionMetadata",
        &[
            ("dmnDecisionRequirementsId", 5, String, One),
            ("decisionRequirementsKey", 6, Int64, One),
            ("tenantId", 7, String, One),
        ],
    );
    assert_fields(
        &file,
        "ModifyProcessInstanceRequest.ActivateInstruction",
        &[
            ("elementId", 1, String, One),
            ("ancestorElementInstanceKey", 2, Int64, One),
            ("variableInstructions", 3, Message, Many),
        ],
    );
    assert_fields(
        &file,
        "MigrateProcessInstanceRequest.MappingInstruction",
        &[
            ("sourceElementId", 1, String, One),
            ("targetElementId", 2, String, One),
        ],
    );
    assert_fields(
        &file,
        "SetVariablesRequest",
        &[
            ("elementInstanceKey", 1, Int64, One),
            ("variables", 2, String, One),
            ("local", 3, Bool, One),
        ],
    );
    assert_fields(
        &file,
        "PublishMessageRequest",
        &[
            ("name", 1, String, One),
            ("correlationKey", 2, String, One),
            ("timeToLive", 3, Int64, One),
            ("messageId", 4, String, One),
            ("variables", 5, String, One),
            ("tenantId", 6, String, One),
        ],
    );
    assert_fields(
        &file,
        "BroadcastSignalRequest",
        &[
            ("signalName", 1, String, One),
            ("variables", 2, String, One),
            ("tenantId", 3, String, One),
        ],
    );
    assert_fields(
        &file,
        "EvaluateDecisionResponse",
        &[
            ("evaluatedDecisions", 8, Message, Many),
            ("failedDecisionId", 9, String, One),
            ("failureMessage", 10, String, One),
            ("tenantId", 11, String, One),
            ("decisionInstanceKey", 12, Int64, One),
        ],
    );
    assert_fields(
        &file,
        "TopologyResponse",
        &[
            ("brokers", 1, Message, Many),
            ("clusterSize", 2, Int32, One),
            ("partitionsCount", 3, Int32, One),
            ("replicationFactor", 4, Int32, One),
            ("gatewayVersion", 5, String, One),
        ],
    );
    assert_fields(
        &file,
        "Partition",
        &[
            ("partitionId", 1, Int32, One),
            ("role", 2, Type::Enum, One),
            ("health", 3, Type::Enum, One),
        ],
    );
}

#[test]
fn operation_references_are_proto3_optional_uint64() {
    let file = schema();
    for (path, number) in [
        ("CancelProcessInstanceRequest", 2),
        ("CreateProcessInstanceRequest", 7),
        ("DeleteResourceRequest", 2),
        ("MigrateProcessInstanceRequest", 3),
        ("ModifyProcessInstanceRequest", 4),
        ("ResolveIncidentRequest", 2),
        ("SetVariablesRequest", 4),
        ("UpdateJobRetriesRequest", 3),
        ("UpdateJobTimeoutRequest", 3),
    ] {
        let field = message(&file, path)
            .field
            .iter()
            .find(|f| f.name() == "operationReference")
            .unwrap_or_else(|| panic!("{path}.operationReference is missing"));
        assert_eq!(field.number(), number, "{path}");
        assert_eq!(field.r#type(), Type::Uint64, "{path}");
        assert!(field.proto3_optional(), "{path} is proto3 optional");
    }
}

#[test]
fn partition_enums_have_zeebe_values() {
    let file = schema();
    let partition = message(&file, "Partition");
    let values = |name: &str| -> Vec<(String, i32)> {
        partition
            .enum_type
            .iter()
            .find(|e| e.name() == name)
            .unwrap_or_else(|| panic!("{name} is missing"))
            .value
            .iter()
            .map(|v| (v.name().to_owned(), v.number()))
            .collect()
    };
    assert_eq!(
        values("PartitionBrokerRole"),
        [
            ("LEADER".into(), 0),
            ("FOLLOWER".into(), 1),
            ("INACTIVE".into(), 2)
        ]
    );
    assert_eq!(
        values("PartitionBrokerHealth"),
        [
            ("HEALTHY".into(), 0),
            ("UNHEALTHY".into(), 1),
            ("DEAD".into(), 2)
        ]
    );
}

#[test]
fn generated_types_encode_zeebe_wire_bytes() {
    // key = 1 (field 1, varint) and tenantId = "t" (field 14, length-delimited).
    let job = gateway::ActivatedJob {
        key: 1,
        tenant_id: "t".into(),
        ..Default::default()
    };
    assert_eq!(job.encode_to_vec(), [0x08, 0x01, 0x72, 0x01, b't']);

    // operationReference = 5 (field 2, varint) is written even though optional.
    let cancel = gateway::CancelProcessInstanceRequest {
        process_instance_key: 0,
        operation_reference: Some(5),
    };
    assert_eq!(cancel.encode_to_vec(), [0x10, 0x05]);

    // fetchVariable (field 5) and tenantIds (field 6) on the streaming request.
    let stream = gateway::StreamActivatedJobsRequest {
        fetch_variable: vec!["a".into()],
        tenant_ids: vec!["b".into()],
        ..Default::default()
    };
    assert_eq!(stream.encode_to_vec(), [0x2a, 0x01, b'a', 0x32, 0x01, b'b']);
}
