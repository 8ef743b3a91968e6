//! What a plane and a member may do: report a heartbeat (with the engine client's access
//! token), and list the tenant's planes.

use chrono::{DateTime, Utc};
use engine::auth::{Permission, Verifier, now_secs};
use sqlx::PgPool;

use super::{MAX_JOB_TYPES, store};
use crate::{
    auth::policy::Action,
    context::Ctx,
    db,
    domain::{FieldError, TenantId},
    engine_access::{Authority, audience},
    error::ApiError,
};

/// A plane's report, as its body says.
pub struct Heartbeat {
    pub environment: String,
    pub name: String,
    pub version: String,
    pub job_types: Vec<String>,
    pub capacity: u32,
    pub in_flight: u32,
    pub stopped: bool,
    pub started_at: DateTime<Utc>,
}

fn check(beat: &Heartbeat) -> Result<(), FieldError> {
    for (field, value, max) in [
        ("environment", beat.environment.as_str(), 64),
        ("name", beat.name.as_str(), 200),
        ("version", beat.version.as_str(), 64),
    ] {
        if value.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        FieldError::check_length(field, Some(value), max)?;
    }
    if beat.job_types.len() > MAX_JOB_TYPES {
        return Err(FieldError::new(
            "job_types",
            format!("at most {MAX_JOB_TYPES} job types"),
        ));
    }
    for job_type in &beat.job_types {
        if job_type.is_empty() {
            return Err(FieldError::new("job_types", "a job type must not be empty"));
        }
        FieldError::check_length("job_types", Some(job_type), 200)?;
    }
    let fits = |n: u32| i32::try_from(n).is_ok();
    if !fits(beat.capacity) || !fits(beat.in_flight) {
        return Err(FieldError::new("capacity", "out of range"));
    }
    Ok(())
}

/// Records a plane's heartbeat. `token` is the access token of the plane's engine client for
/// `beat.environment`'s engine: it decides the tenant, the environment and the client.
///
/// # Errors
/// 401 without a token, or one this server did not issue for that environment's engine (or
/// that has expired); 403 for a client without the `jobs` permission; 422 for a field out of
/// bounds.
pub async fn heartbeat(
    pool: &PgPool,
    authority: &Authority,
    token: Option<&str>,
    beat: Heartbeat,
) -> Result<(), ApiError> {
    let token = token.ok_or(ApiError::Unauthenticated)?;
    check(&beat)?;
    let verifier = Verifier::new(
        authority.issuer(),
        audience(&beat.environment),
        authority.key_set(),
    );
    let claims = verifier
        .verify(token, now_secs())
        .map_err(|_| ApiError::Unauthenticated)?;
    if !claims.permissions.contains(&Permission::Jobs) {
        return Err(ApiError::Forbidden(
            "a plane's engine client needs the jobs permission".into(),
        ));
    }
    let tenant = claims.tenant_id.clone();
    let mut tx = db::begin_tenant(pool, &tenant, None).await?;
    store::record(
        &mut tx,
        &store::Beat {
            tenant: &tenant,
            environment: &beat.environment,
            client_id: &claims.client_id,
            name: &beat.name,
            version: &beat.version,
            job_types: &beat.job_types,
            capacity: i32::try_from(beat.capacity).unwrap_or(i32::MAX),
            in_flight: i32::try_from(beat.in_flight).unwrap_or(i32::MAX),
            state: if beat.stopped { "stopped" } else { "running" },
            started_at: beat.started_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The tenant's planes, for any member.
pub async fn list(ctx: &Ctx, tenant: &TenantId) -> Result<Vec<store::PlaneRow>, ApiError> {
    let mut tx = ctx.tenant_tx(Action::ReadTenant, tenant).await?;
    let planes = store::list(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(planes)
}
