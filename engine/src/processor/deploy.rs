//! Deployments: parse and check BPMN, assign versions per (tenant, BPMN process id).
//!
//! A resource identical (by checksum) to the latest version of its process is not
//! deployed again: the response names the existing version, as Zeebe does.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::Map;
use zeebe::record::{
    DeploymentResource, DeploymentValue, Intent, ProcessMetadataValue, ProcessValue, RecordValue,
    TenantId,
};

use super::{Ctx, ProcessMetadata, Rejection, Resource, Response, element::behavior_of};

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
        for scope in bpmn::walk::scopes(&defs) {
            if scope.process != &process.id {
                continue;
            }
            if let Some(sub) = scope.sub_process {
                return Err(format!(
                    "'{name}': element '{}' is a sub-process, which this engine does not support yet",
                    sub.id.as_str()
                ));
            }
            for node in scope.container.flow_nodes() {
                behavior_of(node).map_err(|e| format!("'{name}': {e}"))?;
            }
        }
        if !process
            .content
            .start_events()
            .any(|s| s.event().is_some_and(|e| e.definitions.is_empty()))
        {
            return Err(format!(
                "'{name}': process '{}' has no none start event",
                process.id.as_str()
            ));
        }
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
    for c in &checked {
        for id in &c.processes {
            let latest = ctx.state.process_by_id(tenant_id, id, None).cloned();
            let (key, version, duplicate) = match latest {
                Some(p) if p.checksum == c.checksum => (p.key, p.version, true),
                Some(p) => (ctx.next_key(), p.version + 1, false),
                None => (ctx.next_key(), 1, false),
            };
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
