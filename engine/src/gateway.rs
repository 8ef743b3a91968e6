//! The Zeebe gateway gRPC service over an [`Engine`].
//!
//! Thin adapters: each RPC checks its arguments, turns the request into a
//! [`Command`], and maps the engine's answer back. Rejections map to the gRPC codes a
//! Zeebe gateway uses: `NOT_FOUND`, `INVALID_ARGUMENT`, `FAILED_PRECONDITION` (invalid
//! state), `ALREADY_EXISTS`. While the engine cannot write its log (a full disk) commands
//! answer `RESOURCE_EXHAUSTED`, as Zeebe does when it cannot take commands for now. RPCs
//! the engine does not support answer `UNIMPLEMENTED` with a message naming the RPC.
//!
//! `StreamActivatedJobs` pushes jobs as they become activatable: the stream activates only
//! as many jobs as it has buffer room for, so a slow client holds back at most
//! `STREAM_BUFFER` jobs, which time out like any unworked job if it leaves.
//!
//! Over 800 lines: most of it is the one `impl Gateway` of the generated service trait, a
//! method per Zeebe RPC (about 600 lines); tonic wants it in one `impl` block, and each method
//! is already a thin adapter.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status, codec::CompressionEncoding};
use zeebe::gateway::{self as pb, BoxStream, Gateway, GatewayServer};
use zeebe::record::{RejectionType, TenantId};

use crate::{
    auth::{Permission, Verifier},
    processor::{
        ActivateInstruction, ActivatedJob, AuthorizedTenants, Command, ProcessSelector, Resource,
        Response as EngineResponse, VariableInstruction,
    },
    runtime::{Engine, EngineError},
};

/// Long-polling time when a request asks for the default (`requestTimeout` 0).
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(10);

/// How the gateway knows who calls.
#[derive(Debug, Clone, Default)]
pub enum Authentication {
    /// As Zeebe with multi-tenancy disabled: no authentication, and only the default tenant
    /// (`<default>`, or an empty tenant id); any other tenant id is refused with
    /// `PERMISSION_DENIED`, and keys of other tenants are answered as missing.
    #[default]
    Disabled,
    /// Every call needs a valid bearer token for this engine; it may touch only the token's
    /// tenant and do only what its permissions allow.
    Tokens(Verifier),
}

/// What a gateway serves with: authentication and, optionally, TLS.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Who may call.
    pub authentication: Authentication,
    /// PEM certificate chain and private key: serve over TLS instead of plaintext.
    pub tls: Option<TlsIdentity>,
}

/// A PEM certificate chain and its private key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate chain, PEM.
    pub certificate: Vec<u8>,
    /// The private key, PEM.
    pub key: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

/// The caller of one RPC, once authenticated.
struct Caller {
    /// The tenants the call may touch; the first is the one an empty tenant id means.
    tenants: Arc<[TenantId]>,
}

impl Caller {
    /// The tenant an empty tenant id in a request means.
    fn own(&self) -> &TenantId {
        &self.tenants[0]
    }

    /// The tenants a command of this call may touch.
    fn authorized(&self) -> AuthorizedTenants {
        AuthorizedTenants::Only(self.tenants.clone())
    }

    /// The tenant a request names: empty means the caller's own; another must be granted.
    fn tenant(&self, requested: &str) -> Result<TenantId, Status> {
        if requested.is_empty() {
            return Ok(self.own().clone());
        }
        let requested = tenant(requested)?;
        if self.tenants.contains(&requested) {
            Ok(requested)
        } else {
            Err(Status::permission_denied(format!(
                "expected to act for tenant '{requested}', but the caller is not authorized for it"
            )))
        }
    }

    /// The tenants a job request names (the caller's own when none).
    fn tenant_list(&self, requested: &[String]) -> Result<Vec<TenantId>, Status> {
        if requested.is_empty() {
            return Ok(vec![self.own().clone()]);
        }
        requested.iter().map(|t| self.tenant(t)).collect()
    }
}

/// The gateway service.
#[derive(Debug, Clone)]
pub struct GatewayService {
    engine: Engine,
    address: SocketAddr,
    authentication: Authentication,
    /// The default tenant alone: what an unauthenticated caller may touch.
    default_tenant: Arc<[TenantId]>,
}

impl GatewayService {
    /// A gateway for `engine` without authentication (default tenant only), reporting
    /// `address` in its topology.
    #[must_use]
    pub fn new(engine: Engine, address: SocketAddr) -> Self {
        Self::with_authentication(engine, address, Authentication::Disabled)
    }

    /// A gateway for `engine` that authenticates callers as `authentication` says.
    #[must_use]
    pub fn with_authentication(
        engine: Engine,
        address: SocketAddr,
        authentication: Authentication,
    ) -> Self {
        Self {
            engine,
            address,
            authentication,
            default_tenant: Arc::new([TenantId::default()]),
        }
    }

    /// Authenticates the caller of `request` and checks it holds `permission` (`None`:
    /// any valid caller, e.g. for the topology).
    fn caller<T>(
        &self,
        request: &Request<T>,
        permission: Option<Permission>,
    ) -> Result<Caller, Status> {
        let grant = match &self.authentication {
            Authentication::Disabled => {
                return Ok(Caller {
                    tenants: self.default_tenant.clone(),
                });
            }
            Authentication::Tokens(verifier) => {
                let token = request
                    .metadata()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
                    .map(str::trim)
                    .ok_or_else(|| {
                        Status::unauthenticated(
                            "expected a bearer access token (OAuth client credentials), but \
                             the call carried none",
                        )
                    })?;
                verifier
                    .verify_cached(token, crate::auth::now_secs())
                    .map_err(|e| {
                        if e == crate::auth::TokenError::UnknownKey {
                            verifier.unknown_key_seen();
                        }
                        Status::unauthenticated(e.to_string())
                    })?
            }
        };
        let claims = &grant.claims;
        if let Some(permission) = permission
            && !claims.allows(permission)
        {
            return Err(Status::permission_denied(format!(
                "the client '{}' lacks the '{}' permission this call needs",
                claims.client_id,
                permission.as_str()
            )));
        }
        Ok(Caller {
            tenants: grant.tenants.clone(),
        })
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
    serve_with(engine, listener, ServeOptions::default(), shutdown).await
}

/// [`serve`] with authentication and TLS as `options` say.
///
/// # Errors
/// When the TLS identity is unusable or the server fails.
pub async fn serve_with(
    engine: Engine,
    listener: TcpListener,
    options: ServeOptions,
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
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = options.tls {
        builder = builder.tls_config(tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(tls.certificate, tls.key),
        ))?;
    }
    builder
        .add_service(
            GatewayService::with_authentication(engine, address, options.authentication)
                .into_server(),
        )
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
            RejectionType::Unauthorized => Status::permission_denied(r.reason),
            _ => Status::internal(r.reason),
        },
        // Zeebe answers RESOURCE_EXHAUSTED when it cannot take commands for now; its clients
        // retry on it, which is what a full disk that is cleared calls for.
        EngineError::Storage(m) => Status::resource_exhausted(format!(
            "the engine cannot write its log, so it accepts no commands until it can \
             (it retries by itself): {m}"
        )),
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
        caller: &Caller,
    ) -> Result<Vec<pb::ActivatedJob>, Status> {
        let tenant_ids = caller.tenant_list(&req.tenant_ids)?;
        let command = Command::ActivateJobs {
            job_type: req.r#type.clone(),
            worker: req.worker.clone(),
            timeout: req.timeout,
            max_jobs: req.max_jobs_to_activate,
            fetch_variables: req.fetch_variable.clone(),
            tenant_ids,
        };
        match self
            .engine
            .execute_as(command, -1, caller.authorized())
            .await
            .map_err(status)?
        {
            EngineResponse::JobsActivated(jobs) => Ok(jobs.into_iter().map(activated).collect()),
            _ => Ok(Vec::new()),
        }
    }
}

#[tonic::async_trait]
impl Gateway for GatewayService {
    async fn topology(
        &self,
        request: Request<pb::TopologyRequest>,
    ) -> Result<Response<pb::TopologyResponse>, Status> {
        self.caller(&request, None)?;
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
        let caller = self.caller(&request, Some(Permission::Deploy))?;
        let req = request.into_inner();
        let tenant_id = caller.tenant(&req.tenant_id)?;
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
        match self
            .engine
            .execute_as(command, -1, caller.authorized())
            .await
            .map_err(status)?
        {
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
        let caller = self.caller(&request, Some(Permission::Instances))?;
        let req = request.into_inner();
        let reference = reference(req.operation_reference);
        let command = create_command(req, &caller)?;
        match self
            .engine
            .execute_as(command, reference, caller.authorized())
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
        let caller = self.caller(&request, Some(Permission::Instances))?;
        let req = request.into_inner();
        let inner = req
            .request
            .ok_or_else(|| Status::invalid_argument("expected a request, but none given"))?;
        let reference = reference(inner.operation_reference);
        let command = create_command(inner, &caller)?;
        let wait = async {
            self.engine
                .create_instance_with_result_as(command, reference, caller.authorized())
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
        let caller = self.caller(&request, Some(Permission::Instances))?;
        let req = request.into_inner();
        self.engine
            .execute_as(
                Command::CancelInstance {
                    process_instance_key: req.process_instance_key,
                },
                reference(req.operation_reference),
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CancelProcessInstanceResponse {}))
    }

    async fn set_variables(
        &self,
        request: Request<pb::SetVariablesRequest>,
    ) -> Result<Response<pb::SetVariablesResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Instances))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        match self
            .engine
            .execute_as(
                Command::SetVariables {
                    element_instance_key: req.element_instance_key,
                    variables: vars,
                    local: req.local,
                },
                reference(req.operation_reference),
                caller.authorized(),
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
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        let mut notifications = self.engine.job_notifications();
        notifications.mark_unchanged();
        let mut jobs = self.activate_once(&req, &caller).await?;
        if jobs.is_empty() && req.request_timeout >= 0 {
            let wait = if req.request_timeout == 0 {
                DEFAULT_LONG_POLL
            } else {
                Duration::from_millis(req.request_timeout.unsigned_abs())
            };
            let deadline = tokio::time::Instant::now() + wait;
            while jobs.is_empty() {
                match tokio::time::timeout_at(deadline, notifications.changed()).await {
                    Ok(Ok(())) => jobs = self.activate_once(&req, &caller).await?,
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
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute_as(
                Command::CompleteJob {
                    job_key: req.job_key,
                    variables: vars,
                },
                -1,
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CompleteJobResponse {}))
    }

    async fn fail_job(
        &self,
        request: Request<pb::FailJobRequest>,
    ) -> Result<Response<pb::FailJobResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute_as(
                Command::FailJob {
                    job_key: req.job_key,
                    retries: req.retries,
                    error_message: req.error_message,
                    retry_backoff: req.retry_back_off,
                    variables: vars,
                },
                -1,
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::FailJobResponse {}))
    }

    async fn throw_error(
        &self,
        request: Request<pb::ThrowErrorRequest>,
    ) -> Result<Response<pb::ThrowErrorResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        self.engine
            .execute_as(
                Command::ThrowError {
                    job_key: req.job_key,
                    error_code: req.error_code,
                    error_message: req.error_message,
                    variables: vars,
                },
                -1,
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ThrowErrorResponse {}))
    }

    async fn update_job_retries(
        &self,
        request: Request<pb::UpdateJobRetriesRequest>,
    ) -> Result<Response<pb::UpdateJobRetriesResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        self.engine
            .execute_as(
                Command::UpdateJobRetries {
                    job_key: req.job_key,
                    retries: req.retries,
                },
                reference(req.operation_reference),
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateJobRetriesResponse {}))
    }

    async fn update_job_timeout(
        &self,
        request: Request<pb::UpdateJobTimeoutRequest>,
    ) -> Result<Response<pb::UpdateJobTimeoutResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Jobs))?;
        let req = request.into_inner();
        self.engine
            .execute_as(
                Command::UpdateJobTimeout {
                    job_key: req.job_key,
                    timeout: req.timeout,
                },
                -1,
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateJobTimeoutResponse {}))
    }

    async fn resolve_incident(
        &self,
        request: Request<pb::ResolveIncidentRequest>,
    ) -> Result<Response<pb::ResolveIncidentResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Instances))?;
        let req = request.into_inner();
        self.engine
            .execute_as(
                Command::ResolveIncident {
                    incident_key: req.incident_key,
                },
                reference(req.operation_reference),
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ResolveIncidentResponse {}))
    }

    async fn publish_message(
        &self,
        request: Request<pb::PublishMessageRequest>,
    ) -> Result<Response<pb::PublishMessageResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Messages))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        let tenant_id = caller.tenant(&req.tenant_id)?;
        match self
            .engine
            .execute_as(
                Command::PublishMessage {
                    name: req.name,
                    correlation_key: req.correlation_key,
                    time_to_live: req.time_to_live,
                    message_id: req.message_id,
                    variables: vars,
                    tenant_id,
                },
                -1,
                caller.authorized(),
            )
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
        let caller = self.caller(&request, Some(Permission::Deploy))?;
        let req = request.into_inner();
        // The deprecated RPC has no tenant field: it deploys for the caller's tenant.
        let command = Command::Deploy {
            tenant_id: caller.own().clone(),
            resources: req
                .processes
                .into_iter()
                .map(|p| Resource {
                    name: p.name,
                    content: p.definition,
                })
                .collect(),
        };
        match self
            .engine
            .execute_as(command, -1, caller.authorized())
            .await
            .map_err(status)?
        {
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
        let caller = self.caller(&request, Some(Permission::Jobs))?;
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
        let tenant_ids = caller.tenant_list(&req.tenant_ids)?;
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        tokio::spawn(push_jobs(
            self.engine.clone(),
            req,
            (tenant_ids, caller.authorized()),
            tx,
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn delete_resource(
        &self,
        request: Request<pb::DeleteResourceRequest>,
    ) -> Result<Response<pb::DeleteResourceResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Deploy))?;
        let req = request.into_inner();
        self.engine
            .execute_as(
                Command::DeleteResource {
                    resource_key: req.resource_key,
                },
                -1,
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteResourceResponse {}))
    }

    async fn modify_process_instance(
        &self,
        request: Request<pb::ModifyProcessInstanceRequest>,
    ) -> Result<Response<pb::ModifyProcessInstanceResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Instances))?;
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
            .execute_as(
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
                caller.authorized(),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ModifyProcessInstanceResponse {}))
    }

    async fn migrate_process_instance(
        &self,
        request: Request<pb::MigrateProcessInstanceRequest>,
    ) -> Result<Response<pb::MigrateProcessInstanceResponse>, Status> {
        self.caller(&request, Some(Permission::Instances))?;
        Err(unsupported("MigrateProcessInstance"))
    }

    async fn broadcast_signal(
        &self,
        request: Request<pb::BroadcastSignalRequest>,
    ) -> Result<Response<pb::BroadcastSignalResponse>, Status> {
        let caller = self.caller(&request, Some(Permission::Messages))?;
        let req = request.into_inner();
        let vars = variables(&req.variables, "variables")?;
        let tenant_id = caller.tenant(&req.tenant_id)?;
        match self
            .engine
            .execute_as(
                Command::BroadcastSignal {
                    name: req.signal_name,
                    variables: vars,
                    tenant_id,
                },
                -1,
                caller.authorized(),
            )
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
        request: Request<pb::EvaluateDecisionRequest>,
    ) -> Result<Response<pb::EvaluateDecisionResponse>, Status> {
        self.caller(&request, Some(Permission::Instances))?;
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
    (tenant_ids, authorized): (Vec<TenantId>, AuthorizedTenants),
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
        let jobs = match engine.execute_as(command, -1, authorized.clone()).await {
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

fn create_command(
    req: pb::CreateProcessInstanceRequest,
    caller: &Caller,
) -> Result<Command, Status> {
    let tenant_id = caller.tenant(&req.tenant_id)?;
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
