//! The gRPC client of one engine target: deadlines, retries with backoff, and the bearer
//! token of each call (an OAuth client's, or the control plane's own for an embedded engine).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tonic::{Code, Request, Status, transport::Channel};
use zeebe::gateway::{
    CreateProcessInstanceRequest, CreateProcessInstanceResponse, DeployResourceRequest,
    GatewayClient, ProcessMetadata, Resource, TopologyRequest, deployment::Metadata,
};

use crate::{
    domain::TenantId,
    engine_access::{Authority, CONTROL_PLANE_CLIENT_ID},
};

/// How long one gRPC call may take.
pub(super) const CALL_DEADLINE: Duration = Duration::from_secs(15);
/// Attempts for a call the gateway could not take (UNAVAILABLE, RESOURCE_EXHAUSTED).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// OAuth client credentials for a Camunda 8 cluster.
#[derive(Debug, Clone)]
pub struct OAuth {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub audience: Option<String>,
}

impl PartialEq for OAuth {
    fn eq(&self, other: &Self) -> bool {
        (&self.token_url, &self.client_id, &self.audience)
            == (&other.token_url, &other.client_id, &other.audience)
            && self.client_secret.expose_secret() == other.client_secret.expose_secret()
    }
}

impl Eq for OAuth {}

impl std::hash::Hash for OAuth {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.token_url, &self.client_id, &self.audience).hash(state);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be reached or did not answer in time, even after retries.
    #[error("the engine is unavailable: {0}")]
    Unavailable(String),
    /// The engine refused the request (e.g. an invalid resource); says why.
    #[error("the engine refused the request: {message}")]
    Refused { code: Code, message: String },
    #[error("the engine's OAuth token could not be obtained: {0}")]
    Auth(String),
    #[error("the embedded engine could not be started: {0}")]
    Start(String),
}

impl From<Status> for EngineError {
    fn from(status: Status) -> Self {
        match status.code() {
            // A connection that failed on our side: why (refused, unreachable, which address)
            // goes to the log only, so a tenant's engine URL cannot map the server's network.
            Code::Unavailable if std::error::Error::source(&status).is_some() => {
                tracing::info!(error = ?status, "the engine could not be reached");
                EngineError::Unavailable("the engine could not be reached".to_owned())
            }
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                EngineError::Unavailable(status.message().to_owned())
            }
            code => EngineError::Refused {
                code,
                message: status.message().to_owned(),
            },
        }
    }
}

/// OAuth client-credentials tokens, cached until shortly before they expire.
pub(super) struct TokenSource {
    pub(super) oauth: OAuth,
    pub(super) http: reqwest::Client,
    pub(super) cached: Mutex<Option<(String, Instant)>>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    async fn token(&self) -> Result<String, EngineError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.oauth.client_id.clone()),
            (
                "client_secret",
                self.oauth.client_secret.expose_secret().to_owned(),
            ),
        ];
        if let Some(audience) = &self.oauth.audience {
            form.push(("audience", audience.clone()));
        }
        let response = self
            .http
            .post(&self.oauth.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|error| {
                tracing::info!(error = ?anyhow::Error::new(error), "the token endpoint could not be reached");
                EngineError::Auth("the token endpoint could not be reached".to_owned())
            })?;
        if !response.status().is_success() {
            return Err(EngineError::Auth(format!(
                "the token endpoint answered {}",
                response.status()
            )));
        }
        let body: TokenResponse = response.json().await.map_err(|error| {
            tracing::info!(%error, "the token endpoint's answer is not a token");
            EngineError::Auth("the token endpoint's answer is not an OAuth token".to_owned())
        })?;
        // Renewed a little early, so a token never expires on its way to the gateway.
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(300).saturating_sub(30));
        *cached = Some((body.access_token.clone(), Instant::now() + lifetime));
        Ok(body.access_token)
    }
}

/// The server's own token for one tenant on one embedded engine, signed in process and
/// cached until shortly before it expires.
pub(super) struct InternalToken {
    pub(super) authority: Arc<Authority>,
    pub(super) audience: String,
    pub(super) tenant: TenantId,
    pub(super) cached: std::sync::Mutex<Option<(String, Instant)>>,
}

impl InternalToken {
    fn token(&self) -> String {
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return token.clone();
        }
        let issued = self.authority.sign(
            &self.audience,
            CONTROL_PLANE_CLIENT_ID,
            &self.tenant,
            &engine::auth::Permission::ALL,
        );
        // Renewed a little early, so a token never expires on its way to the gateway.
        let lifetime = Duration::from_secs(
            u64::try_from(issued.expires_in)
                .unwrap_or(0)
                .saturating_sub(30),
        );
        *cached = Some((issued.token.clone(), Instant::now() + lifetime));
        issued.token
    }
}

/// How a client proves itself to its gateway.
pub(super) enum Credentials {
    /// An external gateway without authentication.
    None,
    /// An external cluster's OAuth client credentials.
    OAuth(TokenSource),
    /// An embedded engine: the server's own credential for one tenant.
    Internal(InternalToken),
}

/// A Zeebe gateway client for one target (for an embedded target, one tenant's).
pub struct Client {
    pub(super) grpc: GatewayClient<Channel>,
    pub(super) credentials: Credentials,
}

impl Client {
    async fn request<T>(&self, message: T) -> Result<Request<T>, EngineError> {
        let mut request = Request::new(message);
        request.set_timeout(CALL_DEADLINE);
        let token = match &self.credentials {
            Credentials::None => None,
            Credentials::OAuth(source) => Some(source.token().await?),
            Credentials::Internal(internal) => Some(internal.token()),
        };
        if let Some(token) = token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| EngineError::Auth("the token is not a valid header".to_owned()))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// Runs `call` until it succeeds, is refused, or the attempts are used up.
    async fn with_retries<T, R, F, Fut>(&self, message: T, call: F) -> Result<R, EngineError>
    where
        T: Clone,
        F: Fn(GatewayClient<Channel>, Request<T>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let request = self.request(message.clone()).await?;
            match call(self.grpc.clone(), request).await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status)
                    if attempt < ATTEMPTS
                        && matches!(status.code(), Code::Unavailable | Code::ResourceExhausted) =>
                {
                    tracing::debug!(attempt, code = ?status.code(), "engine busy or unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(status) => return Err(status.into()),
            }
        }
    }

    /// Checks that the gateway answers.
    pub async fn topology(&self) -> Result<(), EngineError> {
        self.with_retries(TopologyRequest {}, |mut grpc, request| async move {
            grpc.topology(request).await
        })
        .await
        .map(|_| ())
    }

    /// Deploys one BPMN resource for `tenant` and returns its process's metadata.
    pub async fn deploy_process(
        &self,
        tenant: &TenantId,
        resource_name: &str,
        xml: &str,
    ) -> Result<ProcessMetadata, EngineError> {
        let message = DeployResourceRequest {
            resources: vec![Resource {
                name: resource_name.to_owned(),
                content: xml.as_bytes().to_vec(),
            }],
            tenant_id: tenant.as_str().to_owned(),
        };
        let response = self
            .with_retries(message, |mut grpc, request| async move {
                grpc.deploy_resource(request).await
            })
            .await?;
        response
            .deployments
            .into_iter()
            .find_map(|deployment| match deployment.metadata {
                Some(Metadata::Process(process)) => Some(process),
                _ => None,
            })
            .ok_or_else(|| EngineError::Refused {
                code: Code::Internal,
                message: "the deployment holds no process".to_owned(),
            })
    }

    /// Cancels a process instance (to undo one the control plane could not record). On an
    /// embedded engine only one of the client's tenant: another tenant's key is NOT_FOUND.
    pub async fn cancel_instance(
        &self,
        process_instance_key: i64,
        operation_reference: Option<u64>,
    ) -> Result<(), EngineError> {
        let message = zeebe::gateway::CancelProcessInstanceRequest {
            process_instance_key,
            operation_reference,
        };
        self.with_retries(message, |mut grpc, request| async move {
            grpc.cancel_process_instance(request).await
        })
        .await
        .map(|_| ())
    }

    /// Sets a job's retries (before resolving the incident its failure raised); on an embedded
    /// engine only a job of the client's tenant.
    pub async fn update_job_retries(
        &self,
        job_key: i64,
        retries: i32,
        operation_reference: Option<u64>,
    ) -> Result<(), EngineError> {
        let message = zeebe::gateway::UpdateJobRetriesRequest {
            job_key,
            retries,
            operation_reference,
        };
        self.with_retries(message, |mut grpc, request| async move {
            grpc.update_job_retries(request).await
        })
        .await
        .map(|_| ())
    }

    /// Resolves an incident: the engine retries what failed. On an embedded engine only an
    /// incident of the client's tenant.
    pub async fn resolve_incident(
        &self,
        incident_key: i64,
        operation_reference: Option<u64>,
    ) -> Result<(), EngineError> {
        let message = zeebe::gateway::ResolveIncidentRequest {
            incident_key,
            operation_reference,
        };
        self.with_retries(message, |mut grpc, request| async move {
            grpc.resolve_incident(request).await
        })
        .await
        .map(|_| ())
    }

    /// Sets variables (a JSON object) on a process or element instance's scope; on an embedded
    /// engine only in an instance of the client's tenant.
    pub async fn set_variables(
        &self,
        element_instance_key: i64,
        variables: &serde_json::Value,
        local: bool,
        operation_reference: Option<u64>,
    ) -> Result<(), EngineError> {
        let message = zeebe::gateway::SetVariablesRequest {
            element_instance_key,
            variables: variables.to_string(),
            local,
            operation_reference,
        };
        self.with_retries(message, |mut grpc, request| async move {
            grpc.set_variables(request).await
        })
        .await
        .map(|_| ())
    }

    /// Starts an instance of a deployed process definition with `variables` (a JSON object).
    pub async fn create_instance(
        &self,
        tenant: &TenantId,
        process_definition_key: i64,
        variables: &serde_json::Value,
        operation_reference: Option<u64>,
    ) -> Result<CreateProcessInstanceResponse, EngineError> {
        let message = CreateProcessInstanceRequest {
            process_definition_key,
            variables: variables.to_string(),
            tenant_id: tenant.as_str().to_owned(),
            operation_reference,
            ..CreateProcessInstanceRequest::default()
        };
        self.with_retries(message, |mut grpc, request| async move {
            grpc.create_process_instance(request).await
        })
        .await
    }
}
