//! Tenant isolation through the gateway, attacked with a real gRPC client.
//!
//! One file: every attack runs against the one victim set up below, and the count of
//! attempts and leaks is summed over all of them.
//!
//! Tenant `globex` has deployed a process, started instances, holds an activated job and an
//! open incident. Then every gateway RPC is tried with no token, an expired token, a token
//! for another engine (audience), a token with a forged signature, and with a valid token of
//! tenant `acme` aimed at globex's ids and keys. Each attempt must be refused with the code a
//! Zeebe gateway gives (UNAUTHENTICATED, PERMISSION_DENIED, or NOT_FOUND worded exactly as
//! for a key that does not exist), must hand out nothing of globex's, and the engine's record
//! stream must show no event for globex after the attacks began.

use std::{collections::HashMap, sync::Arc, time::Duration};

use engine::{
    Engine, EngineConfig, ManualClock,
    auth::{Claims, KeySet, Permission, SigningKey, Verifier, now_secs},
    gateway::{Authentication, ServeOptions, TlsIdentity},
};
use tonic::{Code, Request, Status, transport::Channel};
use zeebe::{
    gateway::{self as pb, GatewayClient},
    record::{RecordType, TenantId},
};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "astraflow-engine:dev";

const PROCESS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="work"/></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"#;

struct Gateway {
    engine: Engine,
    address: std::net::SocketAddr,
    key: SigningKey,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(
    dir: &std::path::Path,
    authentication: Option<Verifier>,
    tls: Option<TlsIdentity>,
) -> Gateway {
    let engine = Engine::start(EngineConfig {
        clock: Arc::new(ManualClock::new(1_700_000_000_000)),
        tick_interval: None,
        ..EngineConfig::new(dir)
    })
    .expect("engine starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        authentication: authentication.map_or(Authentication::Disabled, Authentication::Tokens),
        tls,
    };
    tokio::spawn(engine::gateway::serve_with(
        engine.clone(),
        listener,
        options,
        async {
            let _ = stopped.await;
        },
    ));
    Gateway {
        engine,
        address,
        key: SigningKey::generate("k1"),
        _stop: stop,
    }
}

async fn authenticated(dir: &std::path::Path) -> Gateway {
    let key = SigningKey::generate("k1");
    let mut keys = KeySet::default();
    keys.insert(key.kid(), key.public_key());
    let mut gateway = start(dir, Some(Verifier::new(ISSUER, AUDIENCE, keys)), None).await;
    gateway.key = key;
    gateway
}

async fn client(address: std::net::SocketAddr) -> GatewayClient<Channel> {
    GatewayClient::connect(format!("http://{address}"))
        .await
        .unwrap()
}

fn claims(tenant: &str, permissions: &[Permission]) -> Claims {
    let now = now_secs();
    Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: format!("client-{tenant}"),
        iat: now,
        exp: now + 300,
        jti: format!("jti-{tenant}-{now}"),
        client_id: format!("client-{tenant}"),
        tenant_id: TenantId::new(tenant).unwrap(),
        permissions: permissions.to_vec(),
    }
}

fn request<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// What globex owns, for the attacks to aim at.
struct Victim {
    definition_key: i64,
    instance_key: i64,
    job_key: i64,
    incident_key: i64,
}

async fn activate(
    client: &mut GatewayClient<Channel>,
    token: &str,
    tenants: &[&str],
    max: i32,
) -> Result<Vec<pb::ActivatedJob>, Status> {
    let mut stream = client
        .activate_jobs(request(
            pb::ActivateJobsRequest {
                r#type: "work".into(),
                worker: "w".into(),
                timeout: 600_000,
                max_jobs_to_activate: max,
                request_timeout: -1,
                tenant_ids: tenants.iter().map(|t| (*t).to_owned()).collect(),
                ..Default::default()
            },
            Some(token),
        ))
        .await?
        .into_inner();
    let mut jobs = Vec::new();
    while let Some(batch) = stream.message().await? {
        jobs.extend(batch.jobs);
    }
    Ok(jobs)
}

async fn set_up_victim(
    client: &mut GatewayClient<Channel>,
    engine: &Engine,
    token: &str,
) -> Victim {
    let deployed = client
        .deploy_resource(request(
            pb::DeployResourceRequest {
                resources: vec![pb::Resource {
                    name: "p.bpmn".into(),
                    content: PROCESS.as_bytes().to_vec(),
                }],
                tenant_id: "globex".into(),
            },
            Some(token),
        ))
        .await
        .unwrap()
        .into_inner();
    let Some(pb::deployment::Metadata::Process(process)) = &deployed.deployments[0].metadata else {
        panic!("a process was deployed");
    };
    let mut instances = Vec::new();
    for _ in 0..3 {
        // An empty tenant id means the token's tenant.
        let created = client
            .create_process_instance(request(
                pb::CreateProcessInstanceRequest {
                    bpmn_process_id: "p".into(),
                    variables: r#"{"secret":"globex-only"}"#.into(),
                    ..Default::default()
                },
                Some(token),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(created.tenant_id, "globex");
        instances.push(created.process_instance_key);
    }
    let jobs = activate(client, token, &[], 2).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j.tenant_id == "globex"));
    // One job fails for good: an incident.
    client
        .fail_job(request(
            pb::FailJobRequest {
                job_key: jobs[1].key,
                retries: 0,
                error_message: "boom".into(),
                ..Default::default()
            },
            Some(token),
        ))
        .await
        .unwrap();
    let incident_key = find_incident(engine, jobs[1].key).await;
    Victim {
        definition_key: process.process_definition_key,
        instance_key: instances[0],
        job_key: jobs[0].key,
        incident_key,
    }
}

/// Every RPC of the gateway, aimed at globex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rpc {
    Topology,
    DeployResource,
    DeployProcess,
    CreateByIdForGlobex,
    CreateByGlobexKey,
    CreateWithResult,
    Cancel,
    SetVariables,
    Modify,
    Migrate,
    ActivateForGlobex,
    ActivateOwn,
    StreamForGlobex,
    StreamOwn,
    Complete,
    Fail,
    ThrowError,
    UpdateRetries,
    UpdateTimeout,
    ResolveIncident,
    PublishMessage,
    BroadcastSignal,
    DeleteResource,
    EvaluateDecision,
}

const ALL: [Rpc; 24] = [
    Rpc::Topology,
    Rpc::DeployResource,
    Rpc::DeployProcess,
    Rpc::CreateByIdForGlobex,
    Rpc::CreateByGlobexKey,
    Rpc::CreateWithResult,
    Rpc::Cancel,
    Rpc::SetVariables,
    Rpc::Modify,
    Rpc::Migrate,
    Rpc::ActivateForGlobex,
    Rpc::ActivateOwn,
    Rpc::StreamForGlobex,
    Rpc::StreamOwn,
    Rpc::Complete,
    Rpc::Fail,
    Rpc::ThrowError,
    Rpc::UpdateRetries,
    Rpc::UpdateTimeout,
    Rpc::ResolveIncident,
    Rpc::PublishMessage,
    Rpc::BroadcastSignal,
    Rpc::DeleteResource,
    Rpc::EvaluateDecision,
];

/// Calls `rpc` against `victim` (or, with `victim` = the missing keys, against keys that
/// exist nowhere) and returns the tenants of whatever data came back.
async fn call(
    client: &mut GatewayClient<Channel>,
    rpc: Rpc,
    token: Option<&str>,
    victim: &Victim,
) -> Result<Vec<String>, Status> {
    Ok(match rpc {
        Rpc::Topology => {
            client
                .topology(request(pb::TopologyRequest {}, token))
                .await?;
            vec![]
        }
        Rpc::DeployResource => {
            let d = client
                .deploy_resource(request(
                    pb::DeployResourceRequest {
                        resources: vec![pb::Resource {
                            name: "p.bpmn".into(),
                            content: PROCESS.as_bytes().to_vec(),
                        }],
                        tenant_id: "globex".into(),
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![d.tenant_id]
        }
        Rpc::DeployProcess => {
            #[expect(
                deprecated,
                reason = "the deprecated RPC is still served and must be guarded"
            )]
            let d = client
                .deploy_process(request(
                    pb::DeployProcessRequest {
                        processes: vec![pb::ProcessRequestObject {
                            name: "p.bpmn".into(),
                            definition: PROCESS.as_bytes().to_vec(),
                        }],
                    },
                    token,
                ))
                .await?
                .into_inner();
            d.processes.into_iter().map(|p| p.tenant_id).collect()
        }
        Rpc::CreateByIdForGlobex => {
            let c = client
                .create_process_instance(request(
                    pb::CreateProcessInstanceRequest {
                        bpmn_process_id: "p".into(),
                        tenant_id: "globex".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![c.tenant_id]
        }
        Rpc::CreateByGlobexKey => {
            let c = client
                .create_process_instance(request(
                    pb::CreateProcessInstanceRequest {
                        process_definition_key: victim.definition_key,
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![c.tenant_id]
        }
        Rpc::CreateWithResult => {
            let c = client
                .create_process_instance_with_result(request(
                    pb::CreateProcessInstanceWithResultRequest {
                        request: Some(pb::CreateProcessInstanceRequest {
                            process_definition_key: victim.definition_key,
                            ..Default::default()
                        }),
                        request_timeout: 500,
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![c.tenant_id]
        }
        Rpc::Cancel => {
            client
                .cancel_process_instance(request(
                    pb::CancelProcessInstanceRequest {
                        process_instance_key: victim.instance_key,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::SetVariables => {
            client
                .set_variables(request(
                    pb::SetVariablesRequest {
                        element_instance_key: victim.instance_key,
                        variables: r#"{"forged":true}"#.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::Modify => {
            client
                .modify_process_instance(request(
                    pb::ModifyProcessInstanceRequest {
                        process_instance_key: victim.instance_key,
                        activate_instructions: vec![
                            pb::modify_process_instance_request::ActivateInstruction {
                                element_id: "end".into(),
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::Migrate => {
            client
                .migrate_process_instance(request(
                    pb::MigrateProcessInstanceRequest {
                        process_instance_key: victim.instance_key,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::ActivateForGlobex | Rpc::ActivateOwn => {
            let tenants: Vec<String> = if rpc == Rpc::ActivateForGlobex {
                vec!["globex".into()]
            } else {
                vec![]
            };
            let mut stream = client
                .activate_jobs(request(
                    pb::ActivateJobsRequest {
                        r#type: "work".into(),
                        worker: "thief".into(),
                        timeout: 1000,
                        max_jobs_to_activate: 10,
                        request_timeout: -1,
                        tenant_ids: tenants,
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            let mut got = Vec::new();
            while let Some(batch) = stream.message().await? {
                got.extend(batch.jobs.into_iter().map(|j| j.tenant_id));
            }
            got
        }
        Rpc::StreamForGlobex | Rpc::StreamOwn => {
            let tenants: Vec<String> = if rpc == Rpc::StreamForGlobex {
                vec!["globex".into()]
            } else {
                vec![]
            };
            let mut stream = client
                .stream_activated_jobs(request(
                    pb::StreamActivatedJobsRequest {
                        r#type: "work".into(),
                        worker: "thief".into(),
                        timeout: 1000,
                        tenant_ids: tenants,
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            match tokio::time::timeout(Duration::from_millis(300), stream.message()).await {
                Ok(message) => message?.map(|j| j.tenant_id).into_iter().collect(),
                Err(_) => vec![],
            }
        }
        Rpc::Complete => {
            client
                .complete_job(request(
                    pb::CompleteJobRequest {
                        job_key: victim.job_key,
                        variables: r#"{"forged":true}"#.into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::Fail => {
            client
                .fail_job(request(
                    pb::FailJobRequest {
                        job_key: victim.job_key,
                        retries: 0,
                        error_message: "sabotage".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::ThrowError => {
            client
                .throw_error(request(
                    pb::ThrowErrorRequest {
                        job_key: victim.job_key,
                        error_code: "E".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::UpdateRetries => {
            client
                .update_job_retries(request(
                    pb::UpdateJobRetriesRequest {
                        job_key: victim.job_key,
                        retries: 5,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::UpdateTimeout => {
            client
                .update_job_timeout(request(
                    pb::UpdateJobTimeoutRequest {
                        job_key: victim.job_key,
                        timeout: 1,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::ResolveIncident => {
            client
                .resolve_incident(request(
                    pb::ResolveIncidentRequest {
                        incident_key: victim.incident_key,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::PublishMessage => {
            let p = client
                .publish_message(request(
                    pb::PublishMessageRequest {
                        name: "m".into(),
                        correlation_key: "k".into(),
                        tenant_id: "globex".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![p.tenant_id]
        }
        Rpc::BroadcastSignal => {
            let b = client
                .broadcast_signal(request(
                    pb::BroadcastSignalRequest {
                        signal_name: "s".into(),
                        tenant_id: "globex".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?
                .into_inner();
            vec![b.tenant_id]
        }
        Rpc::DeleteResource => {
            client
                .delete_resource(request(
                    pb::DeleteResourceRequest {
                        resource_key: victim.definition_key,
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
        Rpc::EvaluateDecision => {
            client
                .evaluate_decision(request(
                    pb::EvaluateDecisionRequest {
                        decision_id: "d".into(),
                        tenant_id: "globex".into(),
                        ..Default::default()
                    },
                    token,
                ))
                .await?;
            vec!["<accepted>".into()]
        }
    })
}

/// The code acme's valid token must meet, aimed at globex; `None`: the call may succeed but
/// must return nothing of globex's (it acts for acme).
fn expected_for_acme(rpc: Rpc) -> Option<Code> {
    match rpc {
        Rpc::Topology | Rpc::ActivateOwn | Rpc::StreamOwn | Rpc::DeployProcess => None,
        Rpc::DeployResource
        | Rpc::CreateByIdForGlobex
        | Rpc::ActivateForGlobex
        | Rpc::StreamForGlobex
        | Rpc::PublishMessage
        | Rpc::BroadcastSignal => Some(Code::PermissionDenied),
        Rpc::Migrate | Rpc::EvaluateDecision => Some(Code::Unimplemented),
        Rpc::CreateByGlobexKey
        | Rpc::CreateWithResult
        | Rpc::Cancel
        | Rpc::SetVariables
        | Rpc::Modify
        | Rpc::Complete
        | Rpc::Fail
        | Rpc::ThrowError
        | Rpc::UpdateRetries
        | Rpc::UpdateTimeout
        | Rpc::ResolveIncident
        | Rpc::DeleteResource => Some(Code::NotFound),
    }
}

/// The victim's keys, each replaced by a key that exists nowhere.
fn missing(victim: &Victim) -> Victim {
    Victim {
        definition_key: victim.definition_key + 1_000_000,
        instance_key: victim.instance_key + 1_000_000,
        job_key: victim.job_key + 1_000_000,
        incident_key: victim.incident_key + 1_000_000,
    }
}

fn without_keys(message: &str, victim: &Victim) -> String {
    let mut out = message.to_owned();
    for key in [
        victim.definition_key,
        victim.instance_key,
        victim.job_key,
        victim.incident_key,
    ] {
        out = out.replace(&key.to_string(), "<key>");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gateway_rpc_crosses_from_one_tenant_to_another() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = authenticated(dir.path()).await;
    let mut client = client(gateway.address).await;
    let globex = gateway.key.sign(&claims("globex", &Permission::ALL));
    let acme = gateway.key.sign(&claims("acme", &Permission::ALL));
    let victim = set_up_victim(&mut client, &gateway.engine, &globex).await;

    // Bad credentials of every kind.
    let expired = {
        let mut c = claims("acme", &Permission::ALL);
        c.iat -= 1000;
        c.exp = c.iat + 300;
        gateway.key.sign(&c)
    };
    let wrong_audience = {
        let mut c = claims("acme", &Permission::ALL);
        c.aud = "astraflow-engine:prod".into();
        gateway.key.sign(&c)
    };
    let forged = SigningKey::generate("k1").sign(&claims("globex", &Permission::ALL));
    let tampered = {
        // globex's own token with acme's claims swapped in: the signature no longer fits.
        let parts: Vec<&str> = globex.split('.').collect();
        let acme_parts: Vec<&str> = acme.split('.').collect();
        format!("{}.{}.{}", parts[0], acme_parts[1], parts[2])
    };

    let watermark = gateway.engine.committed_position();
    let mut attempts: HashMap<Rpc, usize> = HashMap::new();
    let mut leaks = Vec::new();
    for rpc in ALL {
        for (label, token) in [
            ("no token", None),
            ("expired", Some(expired.as_str())),
            ("wrong audience", Some(wrong_audience.as_str())),
            ("forged signature", Some(forged.as_str())),
            ("tampered claims", Some(tampered.as_str())),
            ("not a JWT", Some("not-a-token")),
        ] {
            *attempts.entry(rpc).or_default() += 1;
            match call(&mut client, rpc, token, &victim).await {
                Err(status) if status.code() == Code::Unauthenticated => {}
                other => leaks.push(format!("{rpc:?} with {label}: {other:?}")),
            }
        }
        *attempts.entry(rpc).or_default() += 1;
        let outcome = call(&mut client, rpc, Some(&acme), &victim).await;
        match (expected_for_acme(rpc), outcome) {
            (None, Ok(tenants))
                if tenants
                    .iter()
                    .all(|t| t == "acme" || t.is_empty() && rpc == Rpc::Topology) => {}
            (Some(code), Err(status)) if status.code() == code => {
                if code == Code::NotFound {
                    // Exactly the answer a key that exists nowhere gets: keys can't be probed.
                    let absent = missing(&victim);
                    *attempts.entry(rpc).or_default() += 1;
                    match call(&mut client, rpc, Some(&acme), &absent).await {
                        Err(other)
                            if other.code() == Code::NotFound
                                && without_keys(other.message(), &absent)
                                    == without_keys(status.message(), &victim) => {}
                        other => leaks.push(format!(
                            "{rpc:?}: a foreign key answers {:?} but a missing one {other:?}",
                            status.message()
                        )),
                    }
                }
            }
            (expected, outcome) => {
                leaks.push(format!(
                    "{rpc:?} with acme's token: expected {expected:?}, got {outcome:?}"
                ));
            }
        }
    }
    // Permissions are checked per RPC: a jobs-only client may not start instances.
    let jobs_only = gateway.key.sign(&claims("acme", &[Permission::Jobs]));
    for rpc in [
        Rpc::CreateByIdForGlobex,
        Rpc::DeployResource,
        Rpc::PublishMessage,
        Rpc::Cancel,
    ] {
        *attempts.entry(rpc).or_default() += 1;
        match call(&mut client, rpc, Some(&jobs_only), &victim).await {
            Err(status) if status.code() == Code::PermissionDenied => {}
            other => leaks.push(format!("{rpc:?} with a jobs-only token: {other:?}")),
        }
    }

    // Nothing was applied to globex: no event of globex's after the attacks began.
    let mut records = gateway.engine.subscribe(watermark + 1);
    let mut applied = Vec::new();
    while let Ok(Some(record)) =
        tokio::time::timeout(Duration::from_millis(300), records.recv()).await
    {
        let json = serde_json::to_value(&*record).unwrap();
        if record.record_type == RecordType::Event && json["value"]["tenantId"] == "globex" {
            applied.push(format!("{} {}", json["valueType"], json["intent"]));
        }
    }
    assert!(
        applied.is_empty(),
        "events for globex during the attacks: {applied:?}"
    );

    // globex still works with its own token: the job acme tried to take is still globex's.
    client
        .complete_job(request(
            pb::CompleteJobRequest {
                job_key: victim.job_key,
                variables: "{}".into(),
                ..Default::default()
            },
            Some(&globex),
        ))
        .await
        .expect("globex completes its own job");

    let total: usize = attempts.values().sum();
    let mut per_rpc: Vec<_> = attempts.iter().map(|(r, n)| format!("{r:?}={n}")).collect();
    per_rpc.sort();
    println!("attempts per RPC: {}", per_rpc.join(", "));
    println!("{total} attempts, {} leaks", leaks.len());
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// The key of the incident raised for `job_key`, read from the record stream.
async fn find_incident(engine: &Engine, job_key: i64) -> i64 {
    let mut records = engine.subscribe(1);
    while let Ok(Some(record)) = tokio::time::timeout(Duration::from_secs(5), records.recv()).await
    {
        let json = serde_json::to_value(&*record).unwrap();
        if json["valueType"] == "INCIDENT"
            && json["intent"] == "CREATED"
            && json["value"]["jobKey"] == job_key
        {
            return record.key;
        }
    }
    panic!("no incident for job {job_key}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_issuer_only_the_default_tenant_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(dir.path(), None, None).await;
    let mut client = client(gateway.address).await;
    let deploy = |tenant: &str| pb::DeployResourceRequest {
        resources: vec![pb::Resource {
            name: "p.bpmn".into(),
            content: PROCESS.as_bytes().to_vec(),
        }],
        tenant_id: tenant.into(),
    };
    for tenant in ["", "<default>"] {
        let deployed = client
            .deploy_resource(deploy(tenant))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(deployed.tenant_id, "<default>");
    }
    let refused = client.deploy_resource(deploy("globex")).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = client
        .activate_jobs(pb::ActivateJobsRequest {
            r#type: "work".into(),
            timeout: 1000,
            max_jobs_to_activate: 1,
            request_timeout: -1,
            tenant_ids: vec!["globex".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reaches_the_gateway_over_tls_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let certificate = std::fs::read(&cert).unwrap();
    let signing = SigningKey::generate("k1");
    let mut keys = KeySet::default();
    keys.insert(signing.kid(), signing.public_key());
    let gateway = start(
        dir.path(),
        Some(Verifier::new(ISSUER, AUDIENCE, keys)),
        Some(TlsIdentity {
            certificate: certificate.clone(),
            key: std::fs::read(&key).unwrap(),
        }),
    )
    .await;
    let token = signing.sign(&claims("acme", &Permission::ALL));

    // Plaintext is not served.
    let plain = GatewayClient::connect(format!("http://{}", gateway.address)).await;
    if let Ok(mut plain) = plain {
        assert!(
            plain
                .topology(request(pb::TopologyRequest {}, Some(&token)))
                .await
                .is_err()
        );
    }
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(certificate))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", gateway.address.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection");
    let mut client = GatewayClient::new(channel);
    let deployed = client
        .deploy_resource(request(
            pb::DeployResourceRequest {
                resources: vec![pb::Resource {
                    name: "p.bpmn".into(),
                    content: PROCESS.as_bytes().to_vec(),
                }],
                tenant_id: String::new(),
            },
            Some(&token),
        ))
        .await
        .expect("deploys over TLS")
        .into_inner();
    assert_eq!(deployed.tenant_id, "acme");
    let refused = client.topology(pb::TopologyRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}
