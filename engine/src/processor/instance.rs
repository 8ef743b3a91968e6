//! Process instances: create (by command, or started by an event or a call activity),
//! cancel, and set variables on a scope.

use serde_json::{Map, Value};
use zeebe::record::{
    ElementType, EventType, Intent, ProcessInstanceValue, RecordValue, TenantId, ValueType,
};

use super::{Ctx, ProcessSelector, Rejection, Response};
use crate::{
    key,
    state::{ApplyError, DeployedProcess, Lifecycle},
};

pub(crate) fn create(
    ctx: &mut Ctx<'_>,
    selector: &ProcessSelector,
    tenant_id: &TenantId,
    variables: &Map<String, Value>,
) -> Result<Response, Rejection> {
    let process = match selector {
        ProcessSelector::Key(key) => ctx
            .state
            .processes
            .get(key)
            .filter(|p| &p.tenant_id == tenant_id)
            .ok_or_else(|| {
                Rejection::not_found(format!(
                    "expected to find process definition with key '{key}', but none found"
                ))
            })?,
        ProcessSelector::Id {
            bpmn_process_id,
            version,
        } => ctx
            .state
            .process_by_id(tenant_id, bpmn_process_id, *version)
            .ok_or_else(|| match version {
                None => Rejection::not_found(format!(
                    "expected to find process definition with process ID '{bpmn_process_id}', but none found"
                )),
                Some(v) => Rejection::not_found(format!(
                    "expected to find process definition with process ID '{bpmn_process_id}' and version '{v}', but none found"
                )),
            })?,
    }
    .clone();
    if process.model.none_start(None).is_none() {
        return Err(Rejection::invalid_argument(format!(
            "Expected to create instance of process with none start event, but there is no such event in process '{}'",
            process.bpmn_process_id
        )));
    }

    let key = ctx.new_process_instance(&process, None);
    let creation = serde_json::json!({
        "bpmnProcessId": process.bpmn_process_id,
        "version": process.version,
        "processDefinitionKey": process.key,
        "processInstanceKey": key,
        "variables": variables,
        "tenantId": process.tenant_id,
    });
    ctx.event_of(
        ValueType::ProcessInstanceCreation,
        key,
        Intent::CREATED,
        RecordValue::Other(creation),
    );
    let outcome = ctx.set_local_variables(key, variables);
    if ctx.or_broken(Some(key), outcome).is_some() {
        ctx.queue.push_back(super::element::Step::Activate(key));
        ctx.run_steps();
    }
    Ok(Response::InstanceCreated {
        process_definition_key: process.key,
        bpmn_process_id: process.bpmn_process_id.clone(),
        version: process.version,
        process_instance_key: key,
        tenant_id: process.tenant_id.clone(),
    })
}

pub(crate) fn cancel(ctx: &mut Ctx<'_>, key: i64) -> Result<Response, Rejection> {
    let tenants = ctx.tenants;
    match ctx
        .state
        .elements
        .get(&key)
        .filter(|e| tenants.allows(&e.tenant_id))
    {
        Some(e) if e.flow_scope_key.is_none() => {
            if let Some(parent) = e.parent_process_instance_key {
                return Err(Rejection::invalid_state(format!(
                    "Expected to cancel a process instance with key '{key}', but it is created by a parent process instance. Cancel the root process instance '{parent}' instead."
                )));
            }
        }
        _ => {
            return Err(Rejection::not_found(format!(
                "expected to cancel a process instance with key '{key}', but no such process was found"
            )));
        }
    }
    let outcome = ctx.terminate_element(key);
    ctx.or_broken(Some(key), outcome);
    ctx.run_steps();
    Ok(Response::Accepted)
}

pub(crate) fn set_variables(
    ctx: &mut Ctx<'_>,
    scope_key: i64,
    variables: &Map<String, Value>,
    local: bool,
) -> Result<Response, Rejection> {
    let tenants = ctx.tenants;
    let Some(scope) = ctx
        .state
        .elements
        .get(&scope_key)
        .filter(|e| tenants.allows(&e.tenant_id))
    else {
        return Err(Rejection::not_found(format!(
            "expected to update variables for element with key '{scope_key}', but no such element was found"
        )));
    };
    let document = serde_json::json!({
        "scopeKey": scope_key,
        "updateSemantics": if local { "LOCAL" } else { "PROPAGATE" },
        "variables": variables,
        "tenantId": scope.tenant_id,
    });
    let key = ctx.next_key();
    ctx.event_of(
        ValueType::VariableDocument,
        key,
        Intent::UPDATED,
        RecordValue::Other(document),
    );
    let outcome = if local {
        ctx.set_local_variables(scope_key, variables)
    } else {
        ctx.propagate_variables(scope_key, variables)
    };
    ctx.or_broken(Some(scope_key), outcome);
    Ok(Response::VariablesSet { key })
}

impl Ctx<'_> {
    /// Starts a process instance of `process` and writes its `ELEMENT_ACTIVATING`;
    /// returns its key. A called process carries its caller's keys in `parent`.
    pub(crate) fn new_process_instance(
        &mut self,
        process: &DeployedProcess,
        parent: Option<(i64, i64)>,
    ) -> i64 {
        let key = self.next_key();
        let value = ProcessInstanceValue {
            bpmn_process_id: process.bpmn_process_id.clone(),
            version: process.version,
            process_definition_key: process.key,
            process_instance_key: key,
            element_id: process.bpmn_process_id.clone(),
            flow_scope_key: key::NONE,
            bpmn_element_type: ElementType::Process.as_str().to_owned(),
            bpmn_event_type: EventType::Unspecified.as_str().to_owned(),
            parent_process_instance_key: key::to_wire(parent.map(|(pi, _)| pi)),
            parent_element_instance_key: key::to_wire(parent.map(|(_, element)| element)),
            tenant_id: process.tenant_id.clone(),
            extra: Map::new(),
        };
        self.event(
            key,
            Lifecycle::Activating.intent(),
            RecordValue::ProcessInstance(value),
        );
        key
    }

    /// Starts a process instance and runs its activation at once: at `start` (an event
    /// triggered with `event_variables`), or at the none start event.
    pub(crate) fn start_process(
        &mut self,
        process: &DeployedProcess,
        start: Option<(&str, &Map<String, Value>)>,
        variables: &Map<String, Value>,
        parent: Option<(i64, i64)>,
    ) -> Result<i64, ApplyError> {
        let key = self.new_process_instance(process, parent);
        self.set_local_variables(key, variables)?;
        self.activate_process_body(key, start)?;
        Ok(key)
    }
}
