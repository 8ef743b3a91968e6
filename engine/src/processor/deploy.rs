//! Deployments: parse and check BPMN, assign versions per (tenant, BPMN process id), and
//! move the start events (timer, message, signal) to the new latest version.
//!
//! A resource identical to the latest version of its process — the same checksum *and* the
//! same resource name — is not deployed again: the response names the existing version, as
//! Zeebe does. The same content under another name is a new version with a new key (Zeebe
//! 8.x compares both). Versions are never reused, not even after a version was deleted.
//!
//! Besides the validator's errors, a deployment is refused when an element is one the
//! engine does not run (see [`behavior_of`]), or when something the engine evaluates at
//! deployment does not work out: timer start events (their timers are scheduled now),
//! message start event names (unique per process), embedded sub-processes without a
//! none start event, call activities with a binding other than `latest`.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::Map;
use zeebe::record::{
    DeploymentResource, DeploymentValue, Intent, ProcessMetadataValue, ProcessValue, RecordValue,
    TenantId,
};

use super::{Ctx, ProcessMetadata, Rejection, Resource, Response, behavior::behavior_of};

struct Checked {
    resource: Resource,
    xml: String,
    processes: Vec<String>,
    checksum: String,
}

fn check(resource: &Resource) -> Result<Checked, String> {
    let name = &resource.name;
    if !(name.ends_with(".bpmn") || name.ends_with(".xml")) {
        return Err(format!(
            "'{name}': only BPMN resources (.bpmn, .xml) can be deployed to this engine"
        ));
    }
    let defs = bpmn::parse_bytes(&resource.content, &bpmn::ParseOptions::default())
        .map_err(|e| format!("'{name}': {e}"))?;
    let errors: Vec<String> = bpmn::validate(&defs)
        .into_iter()
        .filter(|d| d.severity == bpmn::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    if !errors.is_empty() {
        return Err(format!("'{name}': {}", errors.join("; ")));
    }
    let mut processes = Vec::new();
    for process in defs.processes() {
        if process.is_executable == Some(false) {
            continue;
        }
        check_process(&defs, process).map_err(|e| format!("'{name}': {e}"))?;
        processes.push(process.id.as_str().to_owned());
    }
    if processes.is_empty() {
        return Err(format!("'{name}': no executable process found"));
    }
    let xml = defs_source(resource)?;
    let checksum = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&resource.content));
    Ok(Checked {
        resource: resource.clone(),
        xml,
        processes,
        checksum,
    })
}

/// Checks what the engine needs beyond the validator's rules.
fn check_process(defs: &bpmn::Definitions, process: &bpmn::Process) -> Result<(), String> {
    for scope in bpmn::walk::scopes(defs) {
        if scope.process != &process.id {
            continue;
        }
        if let Some(sub) = scope.sub_process
            && !crate::model::is_event_sub_process(sub)
        {
            let none_starts = scope
                .container
                .start_events()
                .filter(|s| s.event().is_some_and(|e| e.definitions.is_empty()))
                .count();
            let starts = scope.container.start_events().count();
            if none_starts != 1 || starts != 1 {
                return Err(format!(
                    "the sub-process '{}' must have exactly one start event, a none start event",
                    sub.id.as_str()
                ));
            }
        }
        for node in scope.container.flow_nodes() {
            behavior_of(node)?;
            if let Some(called) = &node.zeebe().called_element
                && let Some(binding) = called.binding_type.as_deref()
                && binding != "latest"
            {
                return Err(format!(
                    "the call activity '{}' uses the binding type '{binding}'; this engine calls the latest version only (bindingType 'latest')",
                    node.id.as_str()
                ));
            }
            if let Some(timer) = super::timer::definition_of(node)
                && let Some((_, text)) = crate::schedule::timer_expression(timer)
                && feel::expression_of_attribute(text).is_none()
            {
                let kind = crate::schedule::timer_expression(timer).map(|(k, _)| k);
                if let Some(kind) = kind {
                    crate::schedule::parse_spec(kind, text)
                        .map_err(|why| format!("the timer of '{}': {why}", node.id.as_str()))?;
                }
            }
        }
    }
    for start in process.content.start_events() {
        if let Some(timer) = super::timer::definition_of(start) {
            let now = 0;
            super::timer::spec_of(now, timer, &Map::new(), start.id.as_str())?;
        }
    }
    super::message::check_start_messages(0, defs, process)?;
    if process.content.start_events().next().is_none() {
        return Err(format!(
            "process '{}' has no start event",
            process.id.as_str()
        ));
    }
    Ok(())
}

/// The resource as text; the stored process keeps the original document.
fn defs_source(resource: &Resource) -> Result<String, String> {
    match std::str::from_utf8(&resource.content) {
        Ok(s) => Ok(s.trim_start_matches('\u{feff}').to_owned()),
        // Other encodings were decoded by the parser; keep the canonical form instead.
        Err(_) => bpmn::parse_bytes(&resource.content, &bpmn::ParseOptions::default())
            .map(|d| bpmn::to_xml(&d))
            .map_err(|e| format!("'{}': {e}", resource.name)),
    }
}

pub(crate) fn deploy(
    ctx: &mut Ctx<'_>,
    tenant_id: &TenantId,
    resources: &[Resource],
) -> Result<Response, Rejection> {
    if resources.is_empty() {
        return Err(Rejection::invalid_argument(
            "expected to deploy at least one resource, but none given",
        ));
    }
    let checked = resources
        .iter()
        .map(check)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Rejection::invalid_argument(format!("failed to deploy: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for c in &checked {
        for id in &c.processes {
            if !seen.insert(id.clone()) {
                return Err(Rejection::invalid_argument(format!(
                    "failed to deploy: process id '{id}' appears in more than one resource"
                )));
            }
        }
    }

    let deployment_key = ctx.next_key();
    let mut metadata = Vec::new();
    let mut replaced = Vec::new();
    for c in &checked {
        for id in &c.processes {
            let latest = ctx.state.process_by_id(tenant_id, id, None).cloned();
            let max_version = ctx
                .state
                .max_versions
                .get(&(tenant_id.clone(), id.clone()))
                .copied()
                .unwrap_or(0);
            let (key, version, duplicate) = match latest {
                Some(p) if p.checksum == c.checksum && p.resource_name == c.resource.name => {
                    (p.key, p.version, true)
                }
                _ => (ctx.next_key(), max_version + 1, false),
            };
            if !duplicate {
                replaced.push((
                    ctx.state.process_by_id(tenant_id, id, None).map(|p| p.key),
                    key,
                ));
            }
            if !duplicate {
                let value = ProcessValue {
                    bpmn_process_id: id.clone(),
                    version,
                    process_definition_key: key,
                    resource_name: c.resource.name.clone(),
                    checksum: c.checksum.clone(),
                    resource: base64::engine::general_purpose::STANDARD.encode(c.xml.as_bytes()),
                    duplicate: false,
                    tenant_id: tenant_id.clone(),
                    extra: Map::new(),
                };
                ctx.event(key, Intent::CREATED, RecordValue::Process(value));
            }
            metadata.push(ProcessMetadataValue {
                bpmn_process_id: id.clone(),
                version,
                process_definition_key: key,
                resource_name: c.resource.name.clone(),
                checksum: c.checksum.clone(),
                duplicate,
                tenant_id: tenant_id.clone(),
                extra: Map::new(),
            });
        }
    }
    let value = DeploymentValue {
        resources: checked
            .iter()
            .map(|c| DeploymentResource {
                resource_name: c.resource.name.clone(),
                resource: base64::engine::general_purpose::STANDARD.encode(&c.resource.content),
                extra: Map::new(),
            })
            .collect(),
        processes_metadata: metadata.clone(),
        tenant_id: tenant_id.clone(),
        ..DeploymentValue::default()
    };
    ctx.event(
        deployment_key,
        Intent::CREATED,
        RecordValue::Deployment(value),
    );
    for (previous, latest) in replaced {
        match ctx.definition(latest) {
            Ok(latest) => ctx.replace_start_events(previous, Some(&latest)),
            Err(error) => ctx.broken(None, &error),
        }
    }
    ctx.run_steps();
    Ok(Response::Deployed {
        key: deployment_key,
        tenant_id: tenant_id.clone(),
        processes: metadata
            .into_iter()
            .map(|m| ProcessMetadata {
                bpmn_process_id: m.bpmn_process_id,
                version: m.version,
                process_definition_key: m.process_definition_key,
                resource_name: m.resource_name,
                tenant_id: m.tenant_id,
            })
            .collect(),
    })
}
