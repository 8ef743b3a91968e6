//! The deployment pipeline: takes a requested deployment through validation, approval and the
//! engine, one committed transition at a time, and publishes every state change.
//!
//! Each step reads the deployment, does its work outside any transaction (validating, calling
//! the engine), then commits the transition it led to with its audit event. A step that finds
//! the deployment already moved on does nothing, so running a step twice — after a restart, or
//! from an approval racing the pipeline — is harmless. At start the server resumes every
//! deployment left in `requested`, `validating` or `deploying`.

use std::sync::Arc;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{
    audit::Actor,
    db,
    deployments::{Deployment, Outcome, Progress, State, store as deployments},
    domain::{DomainError, TenantId},
    engines::{EngineError, Engines, OAuth, Target},
    environments::{self, EngineSettings, Environment},
    planes, workflows,
};

/// Tries of a deployment's steps before it waits for the next start (backoff doubles from
/// half a second: about a minute in all).
const RUN_ATTEMPTS: u32 = 7;

/// How many progress events a slow subscriber may fall behind before it misses some.
const PROGRESS_BUFFER: usize = 1024;

pub struct Pipeline {
    pool: PgPool,
    engines: Arc<Engines>,
    progress: broadcast::Sender<Progress>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The audit actor of the pipeline's own transitions.
fn pipeline_actor() -> Actor {
    Actor {
        label: "system:deploy-pipeline".to_owned(),
        ..Actor::default()
    }
}

impl Pipeline {
    pub fn new(pool: PgPool, engines: Arc<Engines>) -> Self {
        let (progress, _) = broadcast::channel(PROGRESS_BUFFER);
        Self {
            pool,
            engines,
            progress,
        }
    }

    pub fn engines(&self) -> &Arc<Engines> {
        &self.engines
    }

    /// Every deployment state change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Publishes a deployment's current state to subscribers.
    pub fn publish(&self, deployment: &Deployment) {
        // No subscriber is not an error.
        let _ = self.progress.send(Progress {
            tenant_id: deployment.tenant_id.clone(),
            deployment_id: deployment.id,
            state: deployment.state,
            at: Utc::now(),
        });
    }

    /// Runs the pipeline for a deployment in the background.
    /// Runs the pipeline for a deployment in the background. A step that fails for a reason
    /// outside the deployment (the database briefly unreachable, say) is retried with backoff;
    /// every step is safe to repeat, and a redeploy of the same resource is idempotent.
    pub fn spawn(self: &Arc<Self>, tenant: TenantId, id: Uuid) {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let mut backoff = std::time::Duration::from_millis(500);
            for attempt in 1..=RUN_ATTEMPTS {
                match pipeline.run(&tenant, id).await {
                    Ok(_) => return,
                    Err(error) if attempt < RUN_ATTEMPTS => {
                        tracing::warn!(deployment.id = %id, %error, attempt, "deployment step failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                    Err(error) => {
                        tracing::error!(
                            deployment.id = %id,
                            %error,
                            "deployment pipeline stopped; it resumes at the next start"
                        );
                    }
                }
            }
        });
    }

    /// Takes up the deployments a previous run left unfinished.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<(), PipelineError> {
        let mut tx = db::begin_platform(&self.pool).await?;
        let unfinished = deployments::unfinished(&mut tx).await?;
        tx.commit().await?;
        for (tenant, id) in unfinished {
            tracing::info!(deployment.id = %id, "resuming an unfinished deployment");
            self.spawn(tenant, id);
        }
        Ok(())
    }

    /// Advances the deployment until it waits for someone or is settled.
    pub async fn run(&self, tenant: &TenantId, id: Uuid) -> Result<Deployment, PipelineError> {
        loop {
            let deployment = self.load(tenant, id).await?;
            let next = match deployment.state {
                State::Requested => {
                    self.move_to(tenant, id, State::Validating, Outcome::default())
                        .await?
                }
                State::Validating => self.validate(tenant, &deployment).await?,
                State::Deploying => self.deploy(tenant, &deployment).await?,
                State::AwaitingApproval | State::Deployed | State::Failed | State::RolledBack => {
                    return Ok(deployment);
                }
            };
            if next.is_none() {
                // Someone else moved it meanwhile; look again.
                continue;
            }
        }
    }

    async fn load(&self, tenant: &TenantId, id: Uuid) -> Result<Deployment, PipelineError> {
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        let deployment = deployments::get(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(deployment)
    }

    /// Commits a transition; `None` when the state machine refused it because the deployment
    /// had already moved on.
    async fn move_to(
        &self,
        tenant: &TenantId,
        id: Uuid,
        next: State,
        outcome: Outcome,
    ) -> Result<Option<Deployment>, PipelineError> {
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        match deployments::transition(&mut tx, tenant, id, next, outcome, &pipeline_actor()).await {
            Ok(deployment) => {
                tx.commit().await?;
                tracing::info!(deployment.id = %id, state = next.as_str(), "deployment moved");
                self.publish(&deployment);
                Ok(Some(deployment))
            }
            Err(DomainError::Conflict(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Validates the version for its environment: BPMN and FEEL diagnostics (errors block,
    /// warnings are kept for the user) and job types the tenant does not know.
    async fn validate(
        &self,
        tenant: &TenantId,
        deployment: &Deployment,
    ) -> Result<Option<Deployment>, PipelineError> {
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        let version =
            workflows::store::version(&mut tx, tenant, deployment.workflow_id, deployment.version)
                .await?;
        let known = workflows::store::job_types(&mut tx, tenant).await?;
        let served =
            planes::store::live_job_types(&mut tx, tenant, &deployment.environment).await?;
        let workflow = workflows::store::get(&mut tx, tenant, deployment.workflow_id).await?;
        tx.commit().await?;

        let mut diagnostics = diagnose(&version.bpmn_xml, &known, &served);
        if let Some(schema) = &workflow.variables_schema
            && let Err(message) = workflows::variables::validate_schema(schema)
        {
            diagnostics.push(json!({
                "code": "VARIABLES_SCHEMA_INVALID",
                "severity": "error",
                "message": format!("the declared start variables: {message}"),
                "element_id": null,
            }));
        }
        let errors = diagnostics
            .iter()
            .filter(|diagnostic| diagnostic["severity"] == "error")
            .count();
        let outcome = Outcome {
            diagnostics: Some(Value::Array(diagnostics.clone())),
            ..Outcome::default()
        };
        if errors > 0 {
            let first = diagnostics
                .iter()
                .find(|diagnostic| diagnostic["severity"] == "error")
                .and_then(|diagnostic| diagnostic["message"].as_str())
                .unwrap_or_default();
            return self
                .move_to(
                    tenant,
                    deployment.id,
                    State::Failed,
                    Outcome {
                        error: Some(format!(
                            "validation found {errors} error{}: {first}",
                            if errors == 1 { "" } else { "s" }
                        )),
                        ..outcome
                    },
                )
                .await;
        }
        // Whether approvals are needed is decided again in the transaction that moves on, with
        // the environment's row locked: a policy tightened meanwhile still applies.
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        let needs_approval =
            environments::store::needs_approval(&mut tx, tenant, &deployment.environment).await?;
        // Rollbacks too: going back to a version is still a change of what runs in prod, and
        // nobody should be able to toggle versions there alone.
        let next = if needs_approval {
            State::AwaitingApproval
        } else {
            State::Deploying
        };
        match deployments::transition(
            &mut tx,
            tenant,
            deployment.id,
            next,
            outcome,
            &pipeline_actor(),
        )
        .await
        {
            Ok(moved) => {
                tx.commit().await?;
                tracing::info!(deployment.id = %deployment.id, state = next.as_str(), "deployment moved");
                self.publish(&moved);
                Ok(Some(moved))
            }
            Err(DomainError::Conflict(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    async fn deploy(
        &self,
        tenant: &TenantId,
        deployment: &Deployment,
    ) -> Result<Option<Deployment>, PipelineError> {
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        let version =
            workflows::store::version(&mut tx, tenant, deployment.workflow_id, deployment.version)
                .await?;
        let environment =
            environments::store::environment(&mut tx, tenant, &deployment.environment).await?;
        let secret = environments::store::engine_secret(&mut tx, environment.id).await?;
        tx.commit().await?;

        let resource = format!("{}.bpmn", deployment.workflow_key);
        let result = async {
            let client = self.engines.client(&target(&environment, secret)).await?;
            client
                .deploy_process(
                    &environments::engine_tenant(&environment, tenant),
                    &resource,
                    &version.bpmn_xml,
                )
                .await
        }
        .await;
        let process = match result {
            Ok(process) => process,
            Err(error) => {
                tracing::warn!(deployment.id = %deployment.id, %error, "deploying failed");
                return self
                    .move_to(
                        tenant,
                        deployment.id,
                        State::Failed,
                        Outcome {
                            error: Some(error.to_string()),
                            ..Outcome::default()
                        },
                    )
                    .await;
            }
        };
        // Deployed, and for a rollback the replaced deployment rolled back, in one transaction:
        // there is never a moment with two active deployments, or none.
        let outcome = Outcome {
            process_definition_key: Some(process.process_definition_key),
            process_version: Some(process.version),
            ..Outcome::default()
        };
        let mut tx = db::begin_tenant(&self.pool, tenant, None).await?;
        let actor = pipeline_actor();
        let deployed = match deployments::transition(
            &mut tx,
            tenant,
            deployment.id,
            State::Deployed,
            outcome,
            &actor,
        )
        .await
        {
            Ok(deployed) => deployed,
            Err(DomainError::Conflict(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let replaced = match deployment.rollback_of {
            Some(replaced) => Some(
                deployments::transition(
                    &mut tx,
                    tenant,
                    replaced,
                    State::RolledBack,
                    Outcome::default(),
                    &actor,
                )
                .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        tracing::info!(deployment.id = %deployment.id, "deployment moved to deployed");
        self.publish(&deployed);
        if let Some(replaced) = &replaced {
            self.publish(replaced);
        }
        Ok(Some(deployed))
    }
}

/// The engine target of an environment.
pub fn target(environment: &Environment, secret: Option<String>) -> Target {
    match &environment.engine {
        // The embedded engine is shared by every tenant: the client acts for this
        // environment's tenant only (a tenant id the database let in is always valid; were it
        // not, `<default>` reaches nothing of any tenant).
        EngineSettings::Embedded => Target::Embedded {
            environment: environment.name.clone(),
            tenant: TenantId::new(environment.tenant_id.as_str()).unwrap_or_default(),
        },
        EngineSettings::External {
            address,
            oauth_token_url,
            oauth_client_id,
            oauth_audience,
            ..
        } => Target::External {
            address: address.clone(),
            oauth: match (oauth_token_url, oauth_client_id) {
                (Some(token_url), Some(client_id)) => Some(OAuth {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: SecretString::from(secret.unwrap_or_default()),
                    audience: oauth_audience.clone(),
                }),
                _ => None,
            },
        },
    }
}

/// Everything validation finds, as `{code, severity, message, element_id}` objects. A job
/// type is served when the tenant declared it (its own workers) or a live execution plane of
/// the environment runs a connector for it (`served`).
pub fn diagnose(xml: &str, known: &[workflows::JobType], served: &[String]) -> Vec<Value> {
    let parsed = match workflows::parse_bpmn(xml) {
        Ok(parsed) => parsed,
        Err(problem) => {
            return vec![json!({
                "code": problem.code,
                "severity": "error",
                "message": problem.message,
                "element_id": problem.element_id,
            })];
        }
    };
    let feel_check = |expression: &str| match feel::check(expression).first() {
        Some(diagnostic) => Err(diagnostic.message.clone()),
        None => Ok(()),
    };
    let options = bpmn::validate::ValidateOptions {
        feel: Some(&feel_check as &dyn bpmn::validate::FeelCheck),
        ..Default::default()
    };
    let mut found: Vec<Value> = bpmn::validate::validate_with(&parsed.definitions, &options)
        .into_iter()
        .map(|diagnostic| {
            json!({
                "code": diagnostic.code.as_str(),
                "severity": diagnostic.severity,
                "message": diagnostic.message,
                "element_id": diagnostic.element_id,
            })
        })
        .collect();
    for (element, job_type) in workflows::job_types_used(&parsed.definitions) {
        let declared = known.iter().any(|known| known.job_type == job_type);
        if !declared && !served.contains(&job_type) {
            found.push(json!({
                "code": "JOB_TYPE_UNKNOWN",
                "severity": "error",
                "message": format!(
                    "nothing serves job type {job_type:?}: no live execution plane of the \
                     environment runs a connector for it, and the tenant has not declared it \
                     as its own workers' job type"
                ),
                "element_id": element,
            }));
        }
    }
    found
}
