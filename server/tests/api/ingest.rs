//! Ingest against values the database refuses: a worker's NUL characters and over-long names
//! are stored escaped or cut, a record that still cannot be stored becomes a dead letter, and
//! neither stops the records after it — of the same tenant or another.

use std::time::Duration;

use serde_json::{Value, json};
use zeebe::gateway as pb;

use crate::{
    deployments::{gateway, json_of, member, next_payment},
    helpers::TestApp,
    monitor::{WAIT, acme_with_order, exported_records, external_staging, get_json, start, token},
};

/// Polls `path` until it answers and `done` holds for its JSON.
async fn eventually(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        // Not found until ingest has projected it.
        let response = client.get(app.url(path)).send().await.unwrap();
        let value: Value = if response.status() == 200 {
            response.json().await.unwrap()
        } else {
            Value::Null
        };
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_workers_unstorable_values_are_stored_escaped_and_ingest_goes_on() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    let mut worker = gateway(&app, "dev").await;

    // A failure message with a NUL character (PostgreSQL's text refuses it).
    let failed = start(&app, &owner, &workflow, json!({})).await;
    let job = next_payment(&mut worker).await;
    assert_eq!(job.process_instance_key, failed);
    worker
        .fail_job(pb::FailJobRequest {
            job_key: job.key,
            retries: 0,
            error_message: "card\0declined".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Variables whose name is longer than an index entry may be, and a NUL in a key and in a
    // value (jsonb refuses `\u0000`).
    let long_name = "n".repeat(5000);
    let completed = start(&app, &owner, &workflow, json!({})).await;
    let job = next_payment(&mut worker).await;
    assert_eq!(job.process_instance_key, completed);
    // The task's start is ingested well before its end arrives in a batch of its own.
    tokio::time::sleep(Duration::from_millis(400)).await;
    worker
        .complete_job(pb::CompleteJobRequest {
            job_key: job.key,
            variables: json!({ long_name.clone(): 1, "odd\u{0}key": "a\u{0}b" }).to_string(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Ingest went past them: an instance started afterwards is projected. Its number reads
    // back from jsonb as 10000000000000000, and the trail's hash must still hold.
    let later = start(&app, &owner, &workflow, json!({ "amount": 1e16 })).await;
    eventually(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/environments/dev/instances/{later}"),
        |detail| detail["instance"]["state"] == "active",
    )
    .await;

    let incidents = eventually(&app, &owner, "/api/v1/tenants/acme/incidents", |list| {
        list.as_array().is_some_and(|l| !l.is_empty())
    })
    .await;
    assert_eq!(incidents[0]["process_instance_key"], failed);
    assert_eq!(incidents[0]["error_message"], "card\\u0000declined");

    let detail = eventually(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/environments/dev/instances/{completed}"),
        |detail| detail["instance"]["state"] == "completed",
    )
    .await;
    let names: Vec<&str> = detail["variables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    let cut = names
        .iter()
        .find(|name| name.starts_with("nnnn"))
        .unwrap_or_else(|| panic!("the long name is kept, cut: {names:?}"));
    assert!(cut.len() <= 1024, "{}", cut.len());
    assert!(
        cut.contains("…[truncated from 5000 bytes, sha256:"),
        "{cut}"
    );
    assert!(names.contains(&"odd\\u0000key"), "{names:?}");
    // Its duration counts from the start stored by the earlier batch.
    let task = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "TASK_COMPLETED")
        .unwrap_or_else(|| panic!("the task completed: {detail}"));
    let duration = task["executionContext"]["durationMs"].as_i64().unwrap();
    assert!(duration >= 400, "durationMs {duration}: {task}");

    // The execution trail hashed what it stored, and nothing is dead-lettered or failing.
    let trail = get_json(
        &app,
        &owner,
        &format!(
            "/api/v1/tenants/acme/execution-audit?execution_id={later}&event_type=VARIABLE_CREATED"
        ),
    )
    .await;
    assert_eq!(
        trail[0]["variables"]["amount"], 10_000_000_000_000_000_u64,
        "{trail}"
    );
    let verified = get_json(&app, &owner, "/api/v1/tenants/acme/execution-audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
    let ready = json_of(app.get("/readyz").await, 200).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["ingest"], json!([]));
    // (acme's owner is also a platform administrator.)
    let letters = get_json(&app, &owner, "/api/v1/platform/ingest/dead-letters").await;
    assert_eq!(letters, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_record_the_database_refuses_is_dead_lettered_and_the_rest_applied() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    let mut records = exported_records(&app, &owner, &workflow).await;
    let ingest_token = external_staging(&app, &owner).await;

    // The instance's first event carries a time before 4713 BC, which no PostgreSQL timestamp
    // holds (its start time and the trail's PROCESS_STARTED would store it).
    let poisoned = records
        .iter_mut()
        .find(|r| {
            r["valueType"] == "PROCESS_INSTANCE"
                && r["recordType"] == "EVENT"
                && r["intent"] == "ELEMENT_ACTIVATING"
                && r["value"]["bpmnElementType"] == "PROCESS"
        })
        .expect("the run started an instance");
    poisoned["timestamp"] = json!(-8_000_000_000_000_000_i64);
    let poisoned_position = poisoned["position"].as_i64().unwrap();
    let instance = records
        .iter()
        .find(|r| {
            r["valueType"] == "PROCESS_INSTANCE" && r["value"]["bpmnElementType"] == "PROCESS"
        })
        .unwrap()["value"]["processInstanceKey"]
        .as_i64()
        .unwrap();

    let exporter = reqwest::Client::new();
    let post = || {
        exporter
            .post(app.url("/api/v1/ingest/records"))
            .bearer_auth(&ingest_token)
            .json(&json!({ "records": records }))
            .send()
    };
    let outcome = json_of(post().await.unwrap(), 200).await;
    assert_eq!(outcome["dead_lettered"], 1, "{outcome}");
    assert_eq!(
        outcome["applied"].as_u64().unwrap() as usize,
        records.len() - 1,
        "{outcome}"
    );
    // Everything else was applied: the instance completed in staging.
    let detail = get_json(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/environments/staging/instances/{instance}"),
    )
    .await;
    assert_eq!(detail["instance"]["state"], "completed", "{detail}");
    // Sent again, the whole batch is behind the cursor, the dead letter included.
    let again = json_of(post().await.unwrap(), 200).await;
    assert_eq!(
        again["duplicates"].as_u64().unwrap() as usize,
        records.len()
    );
    assert_eq!(again["dead_lettered"], 0);

    // Platform administrators (acme's owner is one) see it with the reason; a tenant's own
    // people and tokens do not.
    let letters = get_json(&app, &owner, "/api/v1/platform/ingest/dead-letters").await;
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    assert_eq!(letters[0]["position"], poisoned_position);
    assert_eq!(letters[0]["tenant_id"], "acme");
    assert_eq!(letters[0]["value_type"], "PROCESS_INSTANCE");
    assert_eq!(letters[0]["intent"], "ELEMENT_ACTIVATING");
    assert!(
        letters[0]["reason"].as_str().unwrap().starts_with("22008"),
        "{letters}"
    );
    assert_eq!(
        letters[0]["record"]["timestamp"],
        -8_000_000_000_000_000_i64
    );
    let second_owner = member(&app, &owner, "second-owner@example.com", "owner").await;
    let refused = second_owner
        .get(app.url("/api/v1/platform/ingest/dead-letters"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(refused, 403).await["code"], "forbidden");
    let owner_token = token(&app, &owner, "acme", "owner").await;
    let refused = exporter
        .get(app.url("/api/v1/platform/ingest/dead-letters"))
        .bearer_auth(owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let anonymous = exporter
        .get(app.url("/api/v1/platform/ingest/dead-letters"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_source_whose_ingest_keeps_failing_is_in_readyz_until_it_recovers() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let (owner, workflow) = acme_with_order(&app).await;
    // The cursors' table goes away under the running server: every batch of the dev engine
    // fails, for a reason that passes (no record is to blame).
    let pool = app.owner_pool().await;
    sqlx::query("alter table ingest_cursors rename to ingest_cursors_away")
        .execute(&pool)
        .await
        .unwrap();
    let instance = start(&app, &owner, &workflow, json!({})).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let degraded = loop {
        let ready = json_of(app.get("/readyz").await, 200).await;
        if ready["status"] == "degraded" {
            break ready;
        }
        assert!(tokio::time::Instant::now() < deadline, "{ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        degraded["ingest"][0]["source"], "embedded:dev",
        "{degraded}"
    );
    assert!(
        degraded["ingest"][0]["error"]
            .as_str()
            .unwrap()
            .contains("ingest_cursors"),
        "{degraded}"
    );
    assert!(degraded["ingest"][0]["attempts"].as_u64().unwrap() >= 1);

    // Back: the retries catch up, nothing is lost, and readiness says so.
    sqlx::query("alter table ingest_cursors_away rename to ingest_cursors")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    eventually(
        &app,
        &owner,
        &format!("/api/v1/tenants/acme/environments/dev/instances/{instance}"),
        |detail| detail["instance"]["state"] == "active",
    )
    .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ready = json_of(app.get("/readyz").await, 200).await;
        if ready["status"] == "ready" {
            assert_eq!(ready["ingest"], json!([]));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
