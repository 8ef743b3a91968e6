//! Resource deletion: deleting a process definition.
//!
//! As in Zeebe 8.6, any version can be deleted once no instance of it runs (called
//! instances included); with instances running the command is refused (`INVALID_STATE`)
//! and they must be completed or cancelled first. Then:
//!
//! * the definition is gone: creating an instance by its key answers `NOT_FOUND`, and
//!   its timer, message and signal start events are closed;
//! * when it was the latest version, the previous version becomes the latest again, and
//!   its start events open;
//! * versions are never reused: deploying the process again gets the next version.
//!
//! Records: `RESOURCE_DELETION DELETING`, `PROCESS DELETING`, the closed and opened
//! start event subscriptions, `PROCESS DELETED`, `RESOURCE_DELETION DELETED`.

use base64::Engine as _;
use serde_json::Map;
use zeebe::record::{Intent, ProcessValue, RecordValue, ResourceDeletionValue};

use super::{Ctx, Rejection, Response};
use crate::state::DeployedProcess;

fn process_value(process: &DeployedProcess) -> ProcessValue {
    ProcessValue {
        bpmn_process_id: process.bpmn_process_id.clone(),
        version: process.version,
        process_definition_key: process.key,
        resource_name: process.resource_name.clone(),
        checksum: process.checksum.clone(),
        resource: base64::engine::general_purpose::STANDARD.encode(process.xml.as_bytes()),
        duplicate: false,
        tenant_id: process.tenant_id.clone(),
        extra: Map::new(),
    }
}

pub(crate) fn delete(ctx: &mut Ctx<'_>, resource_key: i64) -> Result<Response, Rejection> {
    let tenants = ctx.tenants;
    let Some(process) = ctx
        .state
        .processes
        .get(&resource_key)
        .filter(|p| tenants.allows(&p.tenant_id))
        .cloned()
    else {
        return Err(Rejection::not_found(format!(
            "Expected to delete resource but no resource found with key `{resource_key}`"
        )));
    };
    let running = ctx.state.running_instances(resource_key);
    if running > 0 {
        return Err(Rejection::invalid_state(format!(
            "Expected to delete resource with key `{resource_key}` but there are still {running} running instances of it; complete or cancel them first"
        )));
    }
    let was_latest = ctx
        .state
        .process_by_id(&process.tenant_id, &process.bpmn_process_id, None)
        .is_some_and(|p| p.key == resource_key);
    let deletion = ResourceDeletionValue {
        resource_key,
        tenant_id: process.tenant_id.clone(),
        extra: Map::new(),
    };
    let key = ctx.next_key();
    ctx.event(
        key,
        Intent::DELETING,
        RecordValue::ResourceDeletion(deletion.clone()),
    );
    ctx.event(
        resource_key,
        Intent::DELETING,
        RecordValue::Process(process_value(&process)),
    );
    let previous = was_latest
        .then(|| {
            ctx.state
                .process_by_id(&process.tenant_id, &process.bpmn_process_id, None)
                .cloned()
        })
        .flatten();
    ctx.replace_start_events(Some(resource_key), previous.as_deref());
    ctx.event(
        resource_key,
        Intent::DELETED,
        RecordValue::Process(process_value(&process)),
    );
    ctx.event(
        key,
        Intent::DELETED,
        RecordValue::ResourceDeletion(deletion),
    );
    ctx.run_steps();
    Ok(Response::Accepted)
}
