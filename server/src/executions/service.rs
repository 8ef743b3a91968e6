//! Starting a workflow on an environment's active deployment, and listing what was started.

use serde_json::Value;
use uuid::Uuid;

use super::{Execution, NewExecution, store, validate_variables};
use crate::{
    auth::policy::Action,
    context::Ctx,
    deployments,
    domain::FieldError,
    environments,
    error::{ApiError, Result},
    monitor::operations,
    pipeline::{self, Pipeline},
    tenants,
    workflows::{self, variables},
};

/// Instances of workflow `id` started through the control plane, newest first.
pub async fn list(ctx: &Ctx, id: Uuid) -> Result<Vec<Execution>> {
    let tenant = workflows::service::tenant_of(ctx, id, Action::ReadWorkflows).await?;
    let mut tx = ctx.begin_tenant(&tenant).await?;
    let found = store::executions(&mut tx, &tenant, id).await?;
    tx.commit().await?;
    Ok(found)
}

/// Starts workflow `id` on the active deployment of `new.environment`: checks the variables
/// against the workflow's declared schema, starts the instance on the engine, and records it.
/// An instance that cannot be recorded is cancelled: nothing runs that the control plane has
/// no record of.
pub async fn start(
    ctx: &Ctx,
    pipeline: &Pipeline,
    id: Uuid,
    new: NewExecution,
) -> Result<Execution> {
    let tenant = workflows::service::tenant_of(ctx, id, Action::StartExecution).await?;
    validate_variables(&new.variables)?;
    let actor = ctx.actor();
    let mut tx = ctx.begin_tenant(&tenant).await?;
    tenants::store::lock_active(&mut tx, &tenant).await?;
    let declared = workflows::store::get(&mut tx, &tenant, id)
        .await?
        .variables_schema;
    if let Some(schema) = &declared {
        variables::check(schema, &Value::Object(new.variables.clone()))
            .map_err(|message| ApiError::Invalid(FieldError::new("variables", message)))?;
    }
    let environment = environments::store::environment(&mut tx, &tenant, &new.environment).await?;
    let active = deployments::store::active(&mut tx, &tenant, id, environment.id)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "the workflow is not deployed to {}; deploy it first",
                environment.name
            ))
        })?;
    let secret = environments::store::engine_secret(&mut tx, environment.id).await?;
    let reference = operations::record(
        &mut tx,
        &tenant,
        &actor,
        crate::audit::AuditAction::ExecutionStart,
    )
    .await?;
    tx.commit().await?;

    let client = pipeline
        .engines()
        .client(&pipeline::target(&environment, secret))
        .await?;
    let variables = Value::Object(new.variables);
    let created = client
        .create_instance(
            &environments::engine_tenant(&environment, &tenant),
            active.process_definition_key.unwrap_or_default(),
            &variables,
            Some(reference),
        )
        .await?;

    let recorded = async {
        let mut tx = ctx.begin_tenant(&tenant).await?;
        let execution = store::record_execution(
            &mut tx,
            &tenant,
            &active,
            environment.id,
            created.process_instance_key,
            variables,
            &actor,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, ApiError>(execution)
    }
    .await;
    if recorded.is_err()
        && let Err(cancel) = client
            .cancel_instance(created.process_instance_key, Some(reference))
            .await
    {
        tracing::error!(
            process_instance_key = created.process_instance_key,
            %cancel,
            "an instance was started but could not be recorded or cancelled"
        );
    }
    recorded
}
