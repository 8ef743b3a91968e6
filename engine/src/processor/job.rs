//! Jobs: activation by workers, completion, failure with retries and back-off, BPMN
//! errors, retries and timeout updates, and the time-driven transitions (`TIMED_OUT`,
//! `RECURRED_AFTER_BACKOFF`).
//!
//! Job states (see [`JobState`]):
//!
//! ```text
//! CREATED ─► Activatable ─ActivateJobs─► Activated ─Complete─► (gone, task completes)
//!                ▲   ▲                     │  │  └─deadline passed─► Activatable
//!                │   └──back-off over── BackingOff ◄─Fail(retries>0, backoff>0)
//!                │                         │
//!                └──Fail(retries>0)────────┘  Fail(retries=0) ─► Failed + incident
//!                                             ThrowError ─► caught (see `throw`):
//!                                                           task terminated, catching
//!                                                           event runs; uncaught:
//!                                                           incident
//! ```

use serde_json::{Map, Value};
use zeebe::record::{Intent, RecordValue, TenantId, ValueType};

use super::{ActivatedJob, Ctx, Rejection, Response, variables};
use crate::state::{Job, JobState};

pub(crate) struct ActivateRequest<'a> {
    pub(crate) job_type: &'a str,
    pub(crate) worker: &'a str,
    pub(crate) timeout: i64,
    pub(crate) max_jobs: i32,
    pub(crate) fetch_variables: &'a [String],
    pub(crate) tenant_ids: &'a [TenantId],
}

pub(crate) fn activate(
    ctx: &mut Ctx<'_>,
    req: &ActivateRequest<'_>,
) -> Result<Response, Rejection> {
    if req.job_type.is_empty() {
        return Err(Rejection::invalid_argument(
            "expected a job type, but it was empty",
        ));
    }
    if req.max_jobs < 1 {
        return Err(Rejection::invalid_argument(format!(
            "expected to activate at least 1 job, but maxJobsToActivate was {}",
            req.max_jobs
        )));
    }
    if req.timeout < 1 {
        return Err(Rejection::invalid_argument(format!(
            "expected a job timeout of at least 1 ms, but it was {}",
            req.timeout
        )));
    }
    let default_tenant = [TenantId::default()];
    let tenants = if req.tenant_ids.is_empty() {
        &default_tenant[..]
    } else {
        req.tenant_ids
    };
    let max = usize::try_from(req.max_jobs).unwrap_or(usize::MAX);
    let picked: Vec<Job> = ctx
        .state
        .jobs
        .values()
        .filter(|j| {
            j.state == JobState::Activatable
                && j.value.job_type == req.job_type
                && tenants.contains(&j.value.tenant_id)
                && ctx.tenants.allows(&j.value.tenant_id)
        })
        .take(max)
        .cloned()
        .collect();
    if picked.is_empty() {
        return Ok(Response::JobsActivated(Vec::new()));
    }
    let deadline = ctx.now.saturating_add(req.timeout);
    let mut activated = Vec::with_capacity(picked.len());
    for job in picked {
        let mut value = job.value.clone();
        value.worker = req.worker.to_owned();
        value.deadline = deadline;
        value.timeout = req.timeout;
        let mut vars = ctx.state.visible_variables(value.element_instance_key);
        if !req.fetch_variables.is_empty() {
            vars.retain(|name, _| req.fetch_variables.contains(name));
        }
        value.variables = vars;
        activated.push(ActivatedJob {
            key: job.key,
            job: value,
        });
    }
    let batch = serde_json::json!({
        "type": req.job_type,
        "worker": req.worker,
        "timeout": req.timeout,
        "maxJobsToActivate": req.max_jobs,
        "jobKeys": activated.iter().map(|j| j.key).collect::<Vec<_>>(),
        "jobs": activated.iter().map(|j| &j.job).collect::<Vec<_>>(),
        "truncateJobs": false,
        "tenantIds": tenants,
    });
    let key = ctx.next_key();
    ctx.event_of(
        ValueType::JobBatch,
        key,
        Intent::new("ACTIVATED"),
        RecordValue::Other(batch),
    );
    Ok(Response::JobsActivated(activated))
}

/// The job with `job_key`, if it exists and belongs to a tenant the command may touch; a job
/// of another tenant is answered exactly as a missing one.
fn visible_job<'c>(ctx: &'c Ctx<'_>, job_key: i64, doing: &str) -> Result<&'c Job, Rejection> {
    ctx.state
        .jobs
        .get(&job_key)
        .filter(|j| ctx.tenants.allows(&j.value.tenant_id))
        .ok_or_else(|| {
            Rejection::not_found(format!(
                "expected to {doing} job with key '{job_key}', but no such job was found"
            ))
        })
}

/// The job, if it exists and is in a state where a worker may act on it.
fn workable(ctx: &Ctx<'_>, job_key: i64, action: &str) -> Result<Job, Rejection> {
    let job = visible_job(ctx, job_key, action)?;
    match job.state {
        JobState::Activatable | JobState::Activated => Ok(job.clone()),
        JobState::BackingOff | JobState::Failed => Err(Rejection::invalid_state(format!(
            "expected to {action} job with key '{job_key}', but it is in state 'FAILED'"
        ))),
        JobState::ErrorThrown => Err(Rejection::invalid_state(format!(
            "expected to {action} job with key '{job_key}', but it is in state 'ERROR_THROWN'"
        ))),
    }
}

pub(crate) fn complete(
    ctx: &mut Ctx<'_>,
    job_key: i64,
    variables: &Map<String, Value>,
) -> Result<Response, Rejection> {
    let job = workable(ctx, job_key, "complete")?;
    let element_key = job.value.element_instance_key;
    let mut value = job.value;
    value.variables = variables.clone();
    ctx.event(job_key, Intent::COMPLETED, RecordValue::Job(value));
    if let Some(element) = ctx.state.elements.get(&element_key) {
        let node_has_outputs = ctx
            .state
            .processes
            .get(&element.process_definition_key)
            .and_then(|p| p.node(&element.element_id).map(variables::has_outputs))
            .unwrap_or(false);
        if node_has_outputs {
            ctx.set_local_variables(element_key, variables);
        } else {
            ctx.propagate_variables(element_key, variables);
        }
        ctx.queue
            .push_back(super::element::Step::Complete(element_key));
        ctx.run_steps();
    }
    Ok(Response::Accepted)
}

pub(crate) fn fail(
    ctx: &mut Ctx<'_>,
    job_key: i64,
    retries: i32,
    error_message: &str,
    retry_backoff: i64,
    variables: &Map<String, Value>,
) -> Result<Response, Rejection> {
    let job = workable(ctx, job_key, "fail")?;
    let element_key = job.value.element_instance_key;
    let mut value = job.value;
    value.retries = retries;
    value.error_message = error_message.to_owned();
    value.retry_backoff = retry_backoff.max(0);
    value.recurring_time = if retries > 0 && retry_backoff > 0 {
        ctx.now.saturating_add(retry_backoff)
    } else {
        -1
    };
    value.variables = variables.clone();
    ctx.event(job_key, Intent::FAILED, RecordValue::Job(value));
    ctx.set_local_variables(element_key, variables);
    if retries <= 0 {
        let message = if error_message.is_empty() {
            "No more retries left.".to_owned()
        } else {
            error_message.to_owned()
        };
        ctx.raise_incident(element_key, "JOB_NO_RETRIES", message, job_key);
    } else if retry_backoff <= 0 {
        ctx.jobs_available = true;
    }
    Ok(Response::Accepted)
}

pub(crate) fn throw_error(
    ctx: &mut Ctx<'_>,
    job_key: i64,
    error_code: &str,
    error_message: &str,
    variables: &Map<String, Value>,
) -> Result<Response, Rejection> {
    if error_code.is_empty() {
        return Err(Rejection::invalid_argument(
            "expected an error code, but it was empty",
        ));
    }
    let job = workable(ctx, job_key, "throw an error for")?;
    let element_key = job.value.element_instance_key;
    let mut value = job.value;
    value.error_code = error_code.to_owned();
    value.error_message = error_message.to_owned();
    value.variables = variables.clone();
    ctx.event(job_key, Intent::ERROR_THROWN, RecordValue::Job(value));
    if ctx.throw_error(element_key, error_code, variables) {
        ctx.run_steps();
    } else {
        let message = format!(
            "Expected to throw an error event with the code '{error_code}' with message '{error_message}', but it was not caught. No error events are available in the scope."
        );
        ctx.raise_incident(element_key, "UNHANDLED_ERROR_EVENT", message, job_key);
    }
    Ok(Response::Accepted)
}

pub(crate) fn update_retries(
    ctx: &mut Ctx<'_>,
    job_key: i64,
    retries: i32,
) -> Result<Response, Rejection> {
    if retries < 1 {
        return Err(Rejection::invalid_argument(format!(
            "expected retries to be at least 1, but it was {retries}"
        )));
    }
    let job = visible_job(ctx, job_key, "update retries for")?;
    let mut value = job.value.clone();
    value.retries = retries;
    ctx.event(job_key, Intent::RETRIES_UPDATED, RecordValue::Job(value));
    Ok(Response::Accepted)
}

pub(crate) fn update_timeout(
    ctx: &mut Ctx<'_>,
    job_key: i64,
    timeout: i64,
) -> Result<Response, Rejection> {
    let job = visible_job(ctx, job_key, "update the timeout of")?;
    if job.state != JobState::Activated {
        return Err(Rejection::invalid_state(format!(
            "expected to update the timeout of job with key '{job_key}', but it is not activated"
        )));
    }
    let mut value = job.value.clone();
    value.deadline = ctx.now.saturating_add(timeout);
    value.timeout = timeout;
    ctx.event(job_key, Intent::TIMEOUT_UPDATED, RecordValue::Job(value));
    Ok(Response::Accepted)
}

/// Times out jobs past their deadline and ends back-offs that are over.
pub(crate) fn tick(ctx: &mut Ctx<'_>) {
    for key in ctx.state.due_jobs(ctx.now) {
        let Some(job) = ctx.state.jobs.get(&key) else {
            continue;
        };
        let intent = match job.state {
            JobState::Activated => Intent::TIMED_OUT,
            JobState::BackingOff => Intent::new("RECURRED_AFTER_BACKOFF"),
            _ => continue,
        };
        let value = job.value.clone();
        ctx.event(key, intent, RecordValue::Job(value));
        ctx.jobs_available = true;
    }
}
