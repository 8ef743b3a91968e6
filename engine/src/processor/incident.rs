//! Incidents: resolving one retries what failed.
//!
//! A job incident (no retries left, unhandled error) makes the job activatable again if
//! its retries were raised; if they are still 0 a new incident opens at once, as in
//! Zeebe. Any other incident re-runs the element phase that failed.

use zeebe::record::{Intent, RecordValue};

use super::{Ctx, Rejection, Response};

pub(crate) fn resolve(ctx: &mut Ctx<'_>, incident_key: i64) -> Result<Response, Rejection> {
    let tenants = ctx.tenants;
    let incident = ctx
        .state
        .incidents
        .get(&incident_key)
        .filter(|i| tenants.allows(&i.value.tenant_id))
        .cloned()
        .ok_or_else(|| {
        Rejection::not_found(format!(
            "expected to resolve incident with key '{incident_key}', but no such incident was found"
        ))
    })?;
    let value = incident.value;
    ctx.event(
        incident_key,
        Intent::RESOLVED,
        RecordValue::Incident(value.clone()),
    );
    if value.job_key > 0 {
        match ctx.state.jobs.get(&value.job_key) {
            Some(job) if job.value.retries <= 0 => {
                let message = value.error_message.clone();
                ctx.raise_incident(
                    value.element_instance_key,
                    &value.error_type,
                    message,
                    value.job_key,
                );
            }
            Some(_) => ctx.jobs_available = true,
            None => {}
        }
    } else {
        ctx.retry_element(value.element_instance_key);
    }
    Ok(Response::Accepted)
}
