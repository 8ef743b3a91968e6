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

use bpmn::FlowNode;
use serde_json::{Map, Value};
use zeebe::record::{IncidentErrorType, Intent, JobValue, RecordValue, TenantId, ValueType};

use super::{ActivatedJob, Ctx, Rejection, Response, element::Step, variables};
use crate::state::{ApplyError, DeployedProcess, ElementInstance, Job, JobState};

/// Job type of user tasks without a task definition (job-worker user tasks).
pub(crate) const USER_TASK_JOB_TYPE: &str = "io.camunda.zeebe:userTask";

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
    let outcome = completed(ctx, element_key, variables);
    if ctx.or_broken(Some(element_key), outcome).is_some() {
        ctx.run_steps();
    }
    Ok(Response::Accepted)
}

/// The job of `element_key` completed with `variables`: the element completes.
fn completed(
    ctx: &mut Ctx<'_>,
    element_key: i64,
    variables: &Map<String, Value>,
) -> Result<(), ApplyError> {
    let element = ctx.state.element(element_key)?;
    let node_has_outputs = variables::has_outputs(
        ctx.state
            .definition(element.process_definition_key)?
            .required_node(&element.element_id)?,
    );
    if node_has_outputs {
        ctx.set_local_variables(element_key, variables)?;
    } else {
        ctx.propagate_variables(element_key, variables)?;
    }
    ctx.queue.push_back(Step::Complete(element_key));
    Ok(())
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
    let outcome = ctx.set_local_variables(element_key, variables);
    ctx.or_broken(Some(element_key), outcome);
    if retries <= 0 {
        let message = if error_message.is_empty() {
            "No more retries left.".to_owned()
        } else {
            error_message.to_owned()
        };
        ctx.raise_incident(
            element_key,
            IncidentErrorType::JobNoRetries,
            message,
            Some(job_key),
        );
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
    let caught = ctx.throw_error(element_key, error_code, variables);
    match ctx.or_broken(Some(element_key), caught) {
        Some(true) => ctx.run_steps(),
        Some(false) => {
            let message = format!(
                "Expected to throw an error event with the code '{error_code}' with message '{error_message}', but it was not caught. No error events are available in the scope."
            );
            ctx.raise_incident(
                element_key,
                IncidentErrorType::UnhandledErrorEvent,
                message,
                Some(job_key),
            );
        }
        None => {}
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
        // Due jobs come from the state's index of jobs, and nothing in this loop removes
        // a job; a job missing here means the index is wrong.
        let job = match ctx.state.job(key) {
            Ok(job) => job,
            Err(error) => {
                ctx.broken(None, &error);
                continue;
            }
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

impl Ctx<'_> {
    /// The job an element instance of a job behaviour creates (its type, retries and
    /// headers evaluated in its scope).
    pub(crate) fn job_for(
        &self,
        element: &ElementInstance,
        process: &DeployedProcess,
        node: &FlowNode,
    ) -> Result<JobValue, String> {
        let key = element.key;
        let vars = self.state.visible_variables(key);
        let zeebe = node.zeebe();
        let definition = zeebe.task_definition.clone().unwrap_or_default();
        let job_type = match &definition.job_type {
            Some(attr) => match variables::eval_attribute(self.now, attr, &vars)? {
                Value::String(s) if !s.is_empty() => s,
                other => {
                    return Err(format!(
                        "expected the job type of '{}' to be a non-empty string, but was '{other}'",
                        node.id.as_str()
                    ));
                }
            },
            None => USER_TASK_JOB_TYPE.to_owned(),
        };
        let retries = match &definition.retries {
            None => 3,
            Some(attr) => {
                let value = match feel::expression_of_attribute(attr) {
                    Some(src) => variables::eval(self.now, src, &vars)?,
                    None => attr.trim().parse::<i64>().map(Value::from).map_err(|_| {
                        format!(
                            "retries of '{}' is not a number: '{attr}'",
                            node.id.as_str()
                        )
                    })?,
                };
                value
                    .as_i64()
                    .and_then(|r| i32::try_from(r).ok())
                    .ok_or_else(|| {
                        format!(
                            "expected the retries of '{}' to be a number, but was '{value}'",
                            node.id.as_str()
                        )
                    })?
            }
        };
        let custom_headers = zeebe
            .task_headers
            .iter()
            .flat_map(|h| &h.headers)
            .filter_map(|h| Some((h.key.clone()?, h.value.clone().unwrap_or_default())))
            .collect();
        Ok(JobValue {
            job_type,
            worker: String::new(),
            retries,
            deadline: -1,
            timeout: -1,
            retry_backoff: 0,
            recurring_time: -1,
            custom_headers,
            variables: Map::new(),
            error_code: String::new(),
            error_message: String::new(),
            element_id: node.id.as_str().to_owned(),
            element_instance_key: key,
            process_instance_key: element.process_instance_key,
            bpmn_process_id: process.bpmn_process_id.clone(),
            process_definition_key: process.key,
            process_definition_version: process.version,
            tenant_id: process.tenant_id.clone(),
            extra: Map::new(),
        })
    }
}
