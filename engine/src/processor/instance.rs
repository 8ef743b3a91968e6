//! Process instances: create, cancel, and set variables on a scope.

use serde_json::{Map, Value};
use zeebe::record::{Intent, RecordValue, TenantId, ValueType};

use super::{Ctx, ProcessSelector, Rejection, Response};

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
    ctx.set_local_variables(key, variables);
    ctx.queue.push_back(super::element::Step::Activate(key));
    ctx.run_steps();
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
        Some(e) if e.flow_scope_key == -1 && e.parent_process_instance_key > 0 => {
            return Err(Rejection::invalid_state(format!(
                "Expected to cancel a process instance with key '{key}', but it is created by a parent process instance. Cancel the root process instance '{}' instead.",
                e.parent_process_instance_key
            )));
        }
        Some(e) if e.flow_scope_key == -1 => {}
        _ => {
            return Err(Rejection::not_found(format!(
                "expected to cancel a process instance with key '{key}', but no such process was found"
            )));
        }
    }
    ctx.terminate_element(key);
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
    if local {
        ctx.set_local_variables(scope_key, variables);
    } else {
        ctx.propagate_variables(scope_key, variables);
    }
    Ok(Response::VariablesSet { key })
}
