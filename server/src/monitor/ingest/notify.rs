//! The deltas a batch made, and their `NOTIFY` to every server replica.

use std::collections::HashMap;

use app::api::monitor_protocol::{Delta, DeltaKind};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    fold::Fold,
    rows::{Recounted, Target},
};
use crate::{domain::Result, monitor::NOTIFY_CHANNEL};

/// Largest `NOTIFY` payload we send (PostgreSQL's limit is just under 8000 bytes).
const NOTIFY_PAYLOAD: usize = 7500;

/// What `fold` changed, as pushed to WebSocket subscribers, in record order. `recounted`
/// holds the open-incident counts of the instances whose incidents changed.
pub(super) fn deltas(fold: &Fold, recounted: &HashMap<(Uuid, i64), Recounted>) -> Vec<Delta> {
    let mut deltas = Vec::new();
    for row in fold.instances.values() {
        deltas.push(Delta {
            tenant_id: row.target.tenant.as_str().to_owned(),
            environment: row.target.environment.clone(),
            kind: DeltaKind::Instance,
            process_instance_key: row.key,
            key: row.key,
            bpmn_process_id: row.bpmn_process_id.clone(),
            element_id: None,
            state: row.state.as_str().to_owned(),
            incidents: recounted
                .get(&(row.target.environment_id, row.key))
                .map(|r| r.incidents),
            deployment_id: None,
            timestamp: row.timestamp,
            position: row.position,
        });
    }
    // Instances whose incidents changed without the instance itself changing.
    for ((environment_id, key), recount) in recounted {
        if fold.instances.contains_key(&(*environment_id, *key)) {
            continue;
        }
        let Some(target) = fold.recount.get(&(*environment_id, *key)) else {
            continue;
        };
        let last = fold
            .incidents
            .values()
            .filter(|i| i.target.environment_id == *environment_id && i.instance == *key)
            .max_by_key(|i| i.position);
        deltas.push(Delta {
            tenant_id: target.tenant.as_str().to_owned(),
            environment: target.environment.clone(),
            kind: DeltaKind::Instance,
            process_instance_key: *key,
            key: *key,
            bpmn_process_id: recount.bpmn_process_id.clone(),
            element_id: None,
            state: recount.state.clone(),
            incidents: Some(recount.incidents),
            deployment_id: None,
            timestamp: last.map_or(0, |i| i.timestamp),
            position: last.map_or(0, |i| i.position),
        });
    }
    let delta = |target: &Target, kind, instance, key, process: &str, element: &str| Delta {
        tenant_id: target.tenant.as_str().to_owned(),
        environment: target.environment.clone(),
        kind,
        process_instance_key: instance,
        key,
        bpmn_process_id: process.to_owned(),
        element_id: Some(element.to_owned()),
        state: String::new(),
        incidents: None,
        deployment_id: None,
        timestamp: 0,
        position: 0,
    };
    for row in fold.elements.values() {
        deltas.push(Delta {
            state: row.state.as_str().to_owned(),
            timestamp: row.timestamp,
            position: row.position,
            ..delta(
                &row.target,
                DeltaKind::Element,
                row.instance,
                row.key,
                &row.bpmn_process_id,
                &row.element_id,
            )
        });
    }
    for row in fold.incidents.values() {
        deltas.push(Delta {
            state: row.state.as_str().to_owned(),
            timestamp: row.timestamp,
            position: row.position,
            ..delta(
                &row.target,
                DeltaKind::Incident,
                row.instance,
                row.key,
                &row.bpmn_process_id,
                &row.element_id,
            )
        });
    }
    for row in fold.variables.values() {
        deltas.push(Delta {
            state: "updated".to_owned(),
            timestamp: row.timestamp,
            position: row.position,
            ..delta(
                &row.target,
                DeltaKind::Variable,
                row.instance,
                row.scope,
                &row.bpmn_process_id,
                &row.name,
            )
        });
    }
    for row in fold.jobs.values() {
        deltas.push(Delta {
            state: row.state.map_or("updated", |s| s.as_str()).to_owned(),
            timestamp: row.timestamp,
            position: row.position,
            ..delta(
                &row.target,
                DeltaKind::Job,
                row.instance,
                row.key,
                &row.bpmn_process_id,
                &row.element_id,
            )
        });
    }
    deltas.sort_by_key(|d| (d.position, d.kind as u8));
    deltas
}

/// Queues the deltas for every server replica; PostgreSQL delivers them at commit.
pub async fn notify(conn: &mut PgConnection, deltas: &[Delta]) -> Result<()> {
    let payloads = chunk(deltas);
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("select pg_notify($1, payload) from unnest($2::text[]) as p(payload)")
        .bind(NOTIFY_CHANNEL)
        .bind(payloads)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deltas as JSON arrays of at most [`NOTIFY_PAYLOAD`] bytes each. A single delta larger than
/// that (a very long element id) is sent without its element id rather than dropped.
fn chunk(deltas: &[Delta]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::from("[");
    for delta in deltas {
        let mut text = serde_json::to_string(delta).unwrap_or_default();
        if text.len() + 2 > NOTIFY_PAYLOAD {
            let mut shortened = delta.clone();
            shortened.element_id = None;
            shortened.bpmn_process_id.clear();
            text = serde_json::to_string(&shortened).unwrap_or_default();
        }
        if current.len() + text.len() + 2 > NOTIFY_PAYLOAD && current.len() > 1 {
            current.push(']');
            payloads.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&text);
    }
    if current.len() > 1 {
        current.push(']');
        payloads.push(current);
    }
    payloads
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use zeebe::record::Record;

    use super::*;
    use crate::{
        domain::TenantId,
        monitor::{ingest::SourceKind, trail::Sanitizer},
    };

    fn record(position: i64, key: i64, value_type: &str, value: &Value) -> Record {
        let intent = if value_type == "INCIDENT" {
            "CREATED"
        } else {
            "ELEMENT_ACTIVATED"
        };
        serde_json::from_value(json!({
            "partitionId": 1, "position": position, "key": key, "timestamp": 1_000,
            "recordType": "EVENT", "valueType": value_type, "intent": intent, "value": value,
        }))
        .unwrap()
    }

    fn delta(element: &str) -> Delta {
        Delta {
            tenant_id: "acme".into(),
            environment: "dev".into(),
            kind: DeltaKind::Element,
            process_instance_key: 1,
            key: 2,
            bpmn_process_id: "order".into(),
            element_id: Some(element.into()),
            state: "completed".into(),
            incidents: None,
            deployment_id: None,
            timestamp: 3,
            position: 4,
        }
    }

    #[test]
    fn notify_payloads_stay_under_the_limit_and_keep_every_delta() {
        let deltas: Vec<Delta> = (0..500).map(|i| delta(&format!("task_{i}"))).collect();
        let payloads = chunk(&deltas);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= NOTIFY_PAYLOAD, "{}", payload.len());
            back.extend(serde_json::from_str::<Vec<Delta>>(payload).unwrap());
        }
        assert_eq!(back, deltas);

        let huge = chunk(&[delta(&"x".repeat(10_000))]);
        assert_eq!(huge.len(), 1);
        assert!(huge[0].len() <= NOTIFY_PAYLOAD);
    }

    #[test]
    fn an_incident_updates_its_instance_even_when_the_instance_did_not_change() {
        let target = Target {
            tenant: TenantId::new("acme").unwrap(),
            environment_id: Uuid::nil(),
            environment: "dev".into(),
        };
        let instance = json!({
            "bpmnProcessId": "order", "processInstanceKey": 10, "elementId": "pay",
            "bpmnElementType": "SERVICE_TASK", "tenantId": "acme",
        });
        let incident = json!({
            "bpmnProcessId": "order", "processInstanceKey": 10, "elementId": "pay",
            "elementInstanceKey": 20, "tenantId": "acme",
        });
        let records = [
            record(1, 20, "PROCESS_INSTANCE", &instance),
            record(2, 40, "INCIDENT", &incident),
        ];
        let fold = Fold::of(
            &Sanitizer::new(&[], 100),
            &SourceKind::Embedded {
                environment: "dev".into(),
            },
            &HashMap::from([("acme".to_owned(), Some(target))]),
            &records.iter().collect::<Vec<_>>(),
        );
        let recounted = HashMap::from([(
            (Uuid::nil(), 10),
            Recounted {
                incidents: 1,
                state: "active".into(),
                bpmn_process_id: "order".into(),
            },
        )]);

        let deltas = deltas(&fold, &recounted);
        let summary: Vec<_> = deltas
            .iter()
            .map(|d| (d.kind, d.key, d.state.as_str(), d.incidents, d.position))
            .collect();
        assert_eq!(
            summary,
            [
                (DeltaKind::Element, 20, "activated", None, 1),
                (DeltaKind::Instance, 10, "active", Some(1), 2),
                (DeltaKind::Incident, 40, "active", None, 2),
            ]
        );
    }
}
