//! Incidents: raising one where an element instance cannot go on, and resolving one,
//! which retries what failed.
//!
//! A job incident (no retries left, unhandled error) makes the job activatable again if
//! its retries were raised; if they are still 0 a new incident opens at once, as in
//! Zeebe. Any other incident re-runs the element phase that failed.

use serde_json::Map;
use zeebe::record::{ElementType, IncidentErrorType, IncidentValue, Intent, RecordValue};

use super::{Ctx, Rejection, Response, element::Step};
use crate::{
    key,
    state::{ApplyError, Lifecycle},
};

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
    let element_key = incident.value.element_instance_key;
    ctx.event(
        incident_key,
        Intent::RESOLVED,
        RecordValue::Incident(incident.value.clone()),
    );
    match incident.job_key() {
        Some(job_key) => match ctx.state.jobs.get(&job_key) {
            Some(job) if job.value.retries <= 0 => {
                let message = incident.value.error_message.clone();
                ctx.raise_incident(element_key, incident.error_type(), message, Some(job_key));
            }
            Some(_) => ctx.jobs_available = true,
            // A job incident outlives its job only until the job's element instance is
            // terminated, which resolves the incident too; nothing to retry then.
            None => {}
        },
        None => {
            let outcome = ctx.retry_element(element_key);
            ctx.or_broken(Some(element_key), outcome);
        }
    }
    Ok(Response::Accepted)
}

impl Ctx<'_> {
    /// The value of `result`, or, for an error, an incident of `error_type` on `key`.
    pub(crate) fn or_incident<T>(
        &mut self,
        key: i64,
        error_type: IncidentErrorType,
        result: Result<T, String>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.raise_incident(key, error_type, message, None);
                None
            }
        }
    }

    /// Opens an incident on the element instance `key` (for the failure of `job_key`).
    /// There is always such an instance: an incident is raised by the instance's own
    /// phase or job; without one the broken invariant is reported instead.
    pub(crate) fn raise_incident(
        &mut self,
        key: i64,
        error_type: IncidentErrorType,
        message: String,
        job_key: Option<i64>,
    ) {
        let e = match self.state.element(key) {
            Ok(e) => e,
            Err(error) => {
                error.report(&format!("raising an incident ({error_type}: {message})"));
                return;
            }
        };
        let value = IncidentValue {
            error_type: error_type.into_string(),
            error_message: message,
            bpmn_process_id: e.bpmn_process_id.clone(),
            process_definition_key: e.process_definition_key,
            process_instance_key: e.process_instance_key,
            element_id: e.element_id.clone(),
            element_instance_key: key,
            job_key: key::to_wire(job_key),
            variable_scope_key: key,
            tenant_id: e.tenant_id.clone(),
            extra: Map::new(),
        };
        let incident_key = self.next_key();
        self.event(incident_key, Intent::CREATED, RecordValue::Incident(value));
    }

    /// Re-runs the phase an element instance was stuck in.
    pub(crate) fn retry_element(&mut self, key: i64) -> Result<(), ApplyError> {
        let element = self.state.element(key)?;
        let step = match element.lifecycle {
            Lifecycle::Activating => Step::Activate(key),
            // A body stuck while creating its next instance tries that again.
            Lifecycle::Activated if element.element_type == ElementType::MultiInstanceBody => {
                Step::InnerDone {
                    body: key,
                    complete_body: false,
                }
            }
            Lifecycle::Activated | Lifecycle::Completing => Step::Complete(key),
            // An instance being terminated resolves its incidents itself; an instance
            // that left the state is not in it.
            Lifecycle::Terminating | Lifecycle::Completed | Lifecycle::Terminated => {
                return Ok(());
            }
        };
        self.queue.push_back(step);
        self.run_steps();
        Ok(())
    }
}
