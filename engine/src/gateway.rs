//! The Zeebe gateway gRPC service over an [`Engine`].
//!
//! Thin adapters: each RPC checks its arguments, turns the request into a
//! [`Command`], and maps the engine's answer back. Rejections map to the gRPC codes a
//! Zeebe gateway uses: `NOT_FOUND`, `INVALID_ARGUMENT`, `FAILED_PRECONDITION` (invalid
//! state), `ALREADY_EXISTS`. RPCs the engine does not support answer `UNIMPLEMENTED`
//! with a message naming the RPC.
//!
//! `StreamActivatedJobs` pushes jobs as they become activatable: the stream activates only
//! as many jobs as it has buffer room for, so a slow client holds back at most
//! `STREAM_BUFFER` jobs, which time out like any unworked job if it leaves.

use std::{net::SocketAddr, time::Duration};

use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status, codec::CompressionEncoding};
use zeebe::gateway::{self as pb, BoxStream, Gateway, GatewayServer};
use zeebe::record::{RejectionType, TenantId};

use crate::{
    processor::{
        ActivateInstruction, ActivatedJob, Command, ProcessSelector, Resource,
        Response as EngineResponse, VariableInstruction,
    },
    runtime::{Engine, EngineError},
};

/// Long-polling time when a request asks for the default (`requestTimeout` 0).
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(10);

/// The gateway service.
#[derive(Debug, Clone)]
pub struct GatewayService {
    engine: Engine,
    address: SocketAddr,
}

impl GatewayService {
    /// A gateway for `engine`, reporting `address` in its topology.
    #[must_use]
    pub fn new(engine: Engine, address: SocketAddr) -> Self {
        Self { engine, address }
    }

    /// The tonic service, accepting and sending gzip.
    #[must_use]
    pub fn into_server(self) -> GatewayServer<Self> {
        GatewayServer::new(self)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
    }
}

/// Serves the gateway for `engine` on `listener` until `shutdown` resolves.
///
/// # Errors
/// When the server fails.
pub async fn serve(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let address = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 26500)));
    // Without TCP_NODELAY a reply written as several small frames waits for the client's
    // delayed ACK (Nagle), which adds tens of milliseconds to every call.
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |conn| {
            conn.and_then(|stream| {
                stream.set_nodelay(true)?;
                Ok(stream)
            })
        },
    );
    tonic::transport::Server::builder()
        .add_service(GatewayService::new(engine, address).into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

fn status(e: EngineError) -> Status {
    match e {
        EngineError::Rejected(r) => match r.kind {
            RejectionType::NotFound => Status::not_found(r.reason),
            RejectionType::InvalidArgument => Status::invalid_argument(r.reason),
            RejectionType::InvalidState => Status::failed_precondition(r.reason),
            RejectionType::AlreadyExists => Status::already_exists(r.reason),
            _ => Status::internal(r.reason),
        },
        EngineError::Storage(m) => Status::unavailable(format!("engine storage failure: {m}")),
        EngineError::Stopped => Status::unavailable("the engine is shutting down"),
        EngineError::Terminated(key) => Status::aborted(format!(
            "process instance {key} was terminated before it completed"
        )),
    }
}

fn tenant(id: &str) -> Result<TenantId, Status> {
    if id.is_empty() {
        return Ok(TenantId::default());
    }
    TenantId::new(id)
        .map_err(|e| Status::invalid_argument(format!("invalid tenant id '{id}': {e}")))
}

fn variables(json: &str, field: &str) -> Result<Map<String, Value>, Status> {
    if json.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Status::invalid_argument(format!(
            "expected {field} to be a JSON object, but it was another JSON value"
        ))),
        Err(e) => Err(Status::invalid_argument(format!(
            "expected {field} to be a JSON document: {e}"
        ))),
    }
}

fn activated(job: ActivatedJob) -> pb::ActivatedJob {
    let v = job.job;
    pb::ActivatedJob {
        key: job.key,
        r#type: v.job_type,
        process_instance_key: v.process_instance_key,
        bpmn_process_id: v.bpmn_process_id,
        process_definition_version: v.process_definition_version,
        process_definition_key: v.process_definition_key,
        element_id: v.element_id,
        element_instance_key: v.element_instance_key,
        custom_headers: serde_json::to_string(&v.custom_headers).unwrap_or_else(|_| "{}".into()),
        worker: v.worker,
        retries: v.retries,
        deadline: v.deadline,
        variables: Value::Object(v.variables).to_string(),
        tenant_id: v.tenant_id.into_string(),
        ..Default::default()
    }
}

impl GatewayService {
    async fn activate_once(
        &self,
        req: &pb::ActivateJobsRequest,
    ) -> Result<Vec<pb::ActivatedJob>, Status> {
        let tenant_ids = req
            .tenant_ids
            .iter()
            .map(|t| tenant(t))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command::ActivateJobs {
            job_type: req.r#type.clone(),
            worker: req.worker.clone(),
            timeout: req.timeout,
            max_jobs: req.max_jobs_to_activate,
            fetch_variables: req.fetch_variable.clone(),
            tenant_ids,
        };
        match self.engine.execute(command).await.map_err(status)? {
            EngineResponse::JobsActivated(jobs) => Ok(jobs.into_iter().map(activated).collect()),
            _ => Ok(Vec::new()),
        }
    }
}

#[tonic::async_trait]
impl Gateway for GatewayService {
    async fn topology(
        &self,
        _request: Request<pb::TopologyRequest>,
    ) -> Result<Response<pb::TopologyResponse>, Status> {
        let partition = pb::Partition {
            partition_id: self.engine.partition_id(),
            role: pb::partition::PartitionBrokerRole::Leader as i32,
            health: pb::partition::PartitionBrokerHealth::Healthy as i32,
        };
        Ok(Response::new(pb::TopologyResponse {
            brokers: vec![pb::BrokerInfo {
                node_id: 0,
                host: self.address.ip().to_string(),
                port: i32::from(self.address.port()),
                partitions: vec![partition],
                version: crate::processor::BROKER_VERSION.to_owned(),
            }],
            cluster_size: 1,
            partitions_count: 1,
            replication_factor: 1,
            gateway_version: crate::processor::BROKER_VERSION.to_owned(),
            ..Default::default()
        }))
    }

    async fn deploy_resource(
        &self,
        request: Request<pb::DeployResourceRequest>,
    ) -> Result<Response<pb::DeployResourceResponse>, Status> {
        let req = request.into_inner();
        let tenant_id = tenant(&req.tenant_id)?;
        let command = Command::Deploy {
            tenant_id,
            resources: req
                .resources
                .into_iter()
                .map(|r| Resource {
                    name: r.name,
                    content: r.content,
                })
                .collect(),
        };
        match self.engine.execute(command).await.map_err(status)? {
            EngineResponse::Deployed {
                key,
                tenant_id,
                processes,
            } => Ok(Response::new(pb::DeployResourceResponse {
                key,
                tenant_id: tenant_id.into_string(),
                deployments: processes
                    .into_iter()
                    .map(|p| pb::Deployment {
                        metadata: Some(pb::deployment::Metadata::Process(pb::ProcessMetadata {
                            bpmn_process_id: p.bpmn_process_id,
                            version: p.version,
                            process_definition_key: p.process_definition_key,
                            resource_name: p.resource_name,
                            tenant_id: p.tenant_id.into_string(),
                        })),
                    })
                    .collect(),
            })),
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }

    async fn create_process_instance(
        &self,
        request: Request<pb::CreateProcessInstanceRequest>,
    ) -> Result<Response<pb::CreateProcessInstanceResponse>, Status> {
        let req = request.into_inner();
        let reference = reference(req.operation_reference);
        let command = create_command(req)?;
        match self
            .engine
            .execute_referenced(command, reference)
            .await
            .map_err(status)?
        {
            EngineResponse::InstanceCreated {
                process_definition_key,
                bpmn_process_id,
                version,
                process_instance_key,
                tenant_id,
            } => Ok(Response::new(pb::CreateProcessInstanceResponse {
                process_definition_key,
                bpmn_process_id,
                version,
                process_instance_key,
                tenant_id: tenant_id.into_string(),
                ..Default::default()
            })),
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }

    async fn create_process_instance_with_result(
        &self,
        request: Request<pb::CreateProcessInstanceWithResultRequest>,
    ) -> Result<Response<pb::CreateProcessInstanceWithResultResponse>, Status> {
        let req = request.into_inner();
        let inner = req
            .request
            .ok_or_else(|| Status::invalid_argument("expected a request, but none given"))?;
        let reference = reference(inner.operation_reference);
        let command = create_command(inner)?;
        let wait = async {
            self.engine
                .create_instance_with_result(command, reference)
                .await
        };
        let reply = if req.request_timeout > 0 {
            tokio::time::timeout(
                Duration::from_millis(req.request_timeout.unsigned_abs()),
                wait,
            )
            .await
            .map_err(|_| {
                Status::deadline_exceeded(
                    "the process instance did not complete within the request timeout",
                )
            })?
        } else {
            wait.await
        }
        .map_err(status)?;
        let EngineResponse::InstanceCreated {
            process_definition_key,
            bpmn_process_id,
            version,
            process_instance_key,
            tenant_id,
        } = reply.response
        else {
            return Err(Status::internal("unexpected engine answer"));
        };
        let mut vars = reply.variables.unwrap_or_default();
        if !req.fetch_variables.is_empty() {
            vars.retain(|k, _| req.fetch_variables.contains(k));
        }
        Ok(Response::new(pb::CreateProcessInstanceWithResultResponse {
            process_definition_key,
            bpmn_process_id,
            version,
            process_instance_key,
            variables: Value::Object(vars).to_string(),
            tenant_id: tenant_id.into_string(),
            ..Default::default()
        }))
    }

    async fn cancel_process_instance(
        &self,
        request: Request<pb::CancelProcessInstanceRequest>,
    ) -> Result<Response<pb::CancelProcessInstanceResponse>, Status> {
        let req = request.into_inner();
        self.engine
            .execute_referenced(
                Command::CancelInstance {
                    process_instance_key: req.process_instance_key,
                },
                reference(req.operation_reference),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CancelProcessInstanceResponse {}))
    }

    async fn set_variables(
        &self,
        request: Request<pb::SetVariablesRequest>,
    ) -> Result<Response<pb::SetVariablesResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        match self
            .engine
            .execute_referenced(
                Command::SetVariables {
                    element_instance_key: req.element_instance_key,
                    variables: vars,
                    local: req.local,
                },
                reference(req.operation_reference),
            )
            .await
            .map_err(status)?
        {
            EngineResponse::VariablesSet { key } => {
                Ok(Response::new(pb::SetVariablesResponse { key }))
            }
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }

    async fn activate_jobs(
        &self,
        request: Request<pb::ActivateJobsRequest>,
    ) -> Result<Response<BoxStream<pb::ActivateJobsResponse>>, Status> {
        let req = request.into_inner();
        let mut notifications = self.engine.job_notifications();
        notifications.mark_unchanged();
        let mut jobs = self.activate_once(&req).await?;
        if jobs.is_empty() && req.request_timeout >= 0 {
            let wait = if req.request_timeout == 0 {
                DEFAULT_LONG_POLL
            } else {
                Duration::from_millis(req.request_timeout.unsigned_abs())
            };
            let deadline = tokio::time::Instant::now() + wait;
            while jobs.is_empty() {
                match tokio::time::timeout_at(deadline, notifications.changed()).await {
                    Ok(Ok(())) => jobs = self.activate_once(&req).await?,
                    _ => break,
                }
            }
        }
        let response = pb::ActivateJobsResponse { jobs };
        let stream = tokio_stream::once(Ok(response));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn complete_job(
        &self,
        request: Request<pb::CompleteJobRequest>,
    ) -> Result<Response<pb::CompleteJobResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute(Command::CompleteJob {
                job_key: req.job_key,
                variables: vars,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CompleteJobResponse {}))
    }

    async fn fail_job(
        &self,
        request: Request<pb::FailJobRequest>,
    ) -> Result<Response<pb::FailJobResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute(Command::FailJob {
                job_key: req.job_key,
                retries: req.retries,
                error_message: req.error_message,
                retry_backoff: req.retry_back_off,
                variables: vars,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::FailJobResponse {}))
    }

    async fn throw_error(
        &self,
        request: Request<pb::ThrowErrorRequest>,
    ) -> Result<Response<pb::ThrowErrorResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute(Command::ThrowError {
                job_key: req.job_key,
                error_code: req.error_code,
                error_message: req.error_message,
                variables: vars,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ThrowErrorResponse {}))
    }

    async fn update_job_retries(
        &self,
        request: Request<pb::UpdateJobRetriesRequest>,
    ) -> Result<Response<pb::UpdateJobRetriesResponse>, Status> {
        let req = request.into_inner();
        self.engine
            .execute_referenced(
                Command::UpdateJobRetries {
                    job_key: req.job_key,
                    retries: req.retries,
                },
                reference(req.operation_reference),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateJobRetriesResponse {}))
    }

    async fn update_job_timeout(
        &self,
        request: Request<pb::UpdateJobTimeoutRequest>,
    ) -> Result<Response<pb::UpdateJobTimeoutResponse>, Status> {
        let req = request.into_inner();
        self.engine
            .execute(Command::UpdateJobTimeout {
                job_key: req.job_key,
                timeout: req.timeout,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateJobTimeoutResponse {}))
    }

    async fn resolve_incident(
        &self,
        request: Request<pb::ResolveIncidentRequest>,
    ) -> Result<Response<pb::ResolveIncidentResponse>, Status> {
        let req = request.into_inner();
        self.engine
            .execute_referenced(
                Command::ResolveIncident {
                    incident_key: req.incident_key,
                },
                reference(req.operation_reference),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ResolveIncidentResponse {}))
    }

    async fn publish_message(
        &self,
        request: Request<pb::PublishMessageRequest>,
    ) -> Result<Response<pb::PublishMessageResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        let tenant_id = tenant(&req.tenant_id)?;
        match self
            .engine
            .execute(Command::PublishMessage {
                name: req.name,
                correlation_key: req.correlation_key,
                time_to_live: req.time_to_live,
                message_id: req.message_id,
                variables: vars,
                tenant_id,
            })
            .await
            .map_err(status)?
        {
            EngineResponse::MessagePublished { key, tenant_id } => {
                Ok(Response::new(pb::PublishMessageResponse {
                    key,
                    tenant_id: tenant_id.into_string(),
                }))
            }
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }
    async fn deploy_process(
        &self,
        request: Request<pb::DeployProcessRequest>,
    ) -> Result<Response<pb::DeployProcessResponse>, Status> {
        let req = request.into_inner();
        let command = Command::Deploy {
            tenant_id: TenantId::default(),
            resources: req
                .processes
                .into_iter()
                .map(|p| Resource {
                    name: p.name,
                    content: p.definition,
                })
                .collect(),
        };
        match self.engine.execute(command).await.map_err(status)? {
            EngineResponse::Deployed { key, processes, .. } => {
                Ok(Response::new(pb::DeployProcessResponse {
                    key,
                    processes: processes
                        .into_iter()
                        .map(|p| pb::ProcessMetadata {
                            bpmn_process_id: p.bpmn_process_id,
                            version: p.version,
                            process_definition_key: p.process_definition_key,
                            resource_name: p.resource_name,
                            tenant_id: p.tenant_id.into_string(),
                        })
                        .collect(),
                }))
            }
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }

    async fn stream_activated_jobs(
        &self,
        request: Request<pb::StreamActivatedJobsRequest>,
    ) -> Result<Response<BoxStream<pb::ActivatedJob>>, Status> {
        let req = request.into_inner();
        if req.r#type.is_empty() {
            return Err(Status::invalid_argument(
                "expected a job type to stream, but it was empty",
            ));
        }
        if req.timeout < 1 {
            return Err(Status::invalid_argument(format!(
                "expected a job timeout of at least 1 ms, but it was {}",
                req.timeout
            )));
        }
        let tenant_ids = req
            .tenant_ids
            .iter()
            .map(|t| tenant(t))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        tokio::spawn(push_jobs(self.engine.clone(), req, tenant_ids, tx));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn delete_resource(
        &self,
        request: Request<pb::DeleteResourceRequest>,
    ) -> Result<Response<pb::DeleteResourceResponse>, Status> {
        let req = request.into_inner();
        self.engine
            .execute(Command::DeleteResource {
                resource_key: req.resource_key,
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteResourceResponse {}))
    }

    async fn modify_process_instance(
        &self,
        request: Request<pb::ModifyProcessInstanceRequest>,
    ) -> Result<Response<pb::ModifyProcessInstanceResponse>, Status> {
        let req = request.into_inner();
        let mut activate = Vec::with_capacity(req.activate_instructions.len());
        for instruction in req.activate_instructions {
            let mut vars = Vec::with_capacity(instruction.variable_instructions.len());
            for v in instruction.variable_instructions {
                vars.push(VariableInstruction {
                    scope_id: v.scope_id,
                    variables: variables(&v.variables, "variableInstructions.variables")?,
                });
            }
            activate.push(ActivateInstruction {
                element_id: instruction.element_id,
                ancestor_element_instance_key: instruction.ancestor_element_instance_key,
                variables: vars,
            });
        }
        let operation_reference = reference(req.operation_reference);
        self.engine
            .execute_referenced(
                Command::ModifyProcessInstance {
                    process_instance_key: req.process_instance_key,
                    activate,
                    terminate: req
                        .terminate_instructions
                        .into_iter()
                        .map(|t| t.element_instance_key)
                        .collect(),
                },
                operation_reference,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ModifyProcessInstanceResponse {}))
    }

    async fn migrate_process_instance(
        &self,
        _request: Request<pb::MigrateProcessInstanceRequest>,
    ) -> Result<Response<pb::MigrateProcessInstanceResponse>, Status> {
        Err(unsupported("MigrateProcessInstance"))
    }

    async fn broadcast_signal(
        &self,
        request: Request<pb::BroadcastSignalRequest>,
    ) -> Result<Response<pb::BroadcastSignalResponse>, Status> {
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        let tenant_id = tenant(&req.tenant_id)?;
        match self
            .engine
            .execute(Command::BroadcastSignal {
                name: req.signal_name,
                variables: vars,
                tenant_id,
            })
            .await
            .map_err(status)?
        {
            EngineResponse::SignalBroadcast { key, tenant_id } => {
                Ok(Response::new(pb::BroadcastSignalResponse {
                    key,
                    tenant_id: tenant_id.into_string(),
                }))
            }
            other => Err(Status::internal(format!(
                "unexpected engine answer {other:?}"
            ))),
        }
    }

    async fn evaluate_decision(
        &self,
        _request: Request<pb::EvaluateDecisionRequest>,
    ) -> Result<Response<pb::EvaluateDecisionResponse>, Status> {
        Err(unsupported("EvaluateDecision"))
    }
}

/// Jobs a `StreamActivatedJobs` call may hold activated but not yet sent.
const STREAM_BUFFER: usize = 32;

/// A request's `operationReference` as records carry it: -1 when absent (or beyond what the
/// records' signed field holds).
fn reference(value: Option<u64>) -> i64 {
    value.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)
}

/// `UNIMPLEMENTED` naming the RPC, so a client's error says what is missing.
fn unsupported(rpc: &str) -> Status {
    Status::unimplemented(format!(
        "{rpc} is not supported by the ASTRAflow embedded engine (Zeebe gateway protocol {}); \
         use a Camunda 8 cluster (ZEEBE_ADDRESS) for it",
        crate::processor::BROKER_VERSION
    ))
}

/// Feeds a `StreamActivatedJobs` call: activates only as many jobs as the stream has room
/// for, pushes them, and waits for more jobs (or for the client to leave) when none are
/// activatable. Jobs in the buffer when the client leaves time out like any unworked job.
async fn push_jobs(
    engine: Engine,
    req: pb::StreamActivatedJobsRequest,
    tenant_ids: Vec<TenantId>,
    tx: tokio::sync::mpsc::Sender<Result<pb::ActivatedJob, Status>>,
) {
    let mut notifications = engine.job_notifications();
    loop {
        notifications.mark_unchanged();
        let room = tx.capacity().max(1);
        let Ok(permits) = tx.reserve_many(room).await else {
            return;
        };
        let command = Command::ActivateJobs {
            job_type: req.r#type.clone(),
            worker: req.worker.clone(),
            timeout: req.timeout,
            max_jobs: i32::try_from(room).unwrap_or(i32::MAX),
            fetch_variables: req.fetch_variable.clone(),
            tenant_ids: tenant_ids.clone(),
        };
        let jobs = match engine.execute(command).await {
            Ok(EngineResponse::JobsActivated(jobs)) => jobs,
            Ok(_) => Vec::new(),
            Err(e) => {
                let _ = tx.send(Err(status(e))).await;
                return;
            }
        };
        if jobs.is_empty() {
            drop(permits);
            tokio::select! {
                changed = notifications.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
            continue;
        }
        for (permit, job) in permits.zip(jobs) {
            permit.send(Ok(activated(job)));
        }
    }
}

fn create_command(req: pb::CreateProcessInstanceRequest) -> Result<Command, Status> {
    let tenant_id = tenant(&req.tenant_id)?;
    let process = if req.process_definition_key > 0 {
        ProcessSelector::Key(req.process_definition_key)
    } else if !req.bpmn_process_id.is_empty() {
        ProcessSelector::Id {
            bpmn_process_id: req.bpmn_process_id,
            version: (req.version > 0).then_some(req.version),
        }
    } else {
        return Err(Status::invalid_argument(
            "expected either a processDefinitionKey or a bpmnProcessId, but none given",
        ));
    };
    if !req.start_instructions.is_empty() {
        return Err(Status::unimplemented(
            "start instructions are not supported by this engine yet",
        ));
    }
    Ok(Command::CreateInstance {
        process,
        tenant_id,
        variables: variables(&req.variables, "variables")?,
    })
}
