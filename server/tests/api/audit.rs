//! The control-plane audit trail: append-only in the database, hash-chained per tenant, linear
//! under concurrent writers, and verification that points at the exact tampered event.

use server::{
    audit::{self, Actor, AuditAction, Change},
    db,
    domain::TenantId,
    tenants::{NewTenant, service as tenants},
};
use sqlx::PgPool;

use crate::helpers::migrated_pool;

async fn tenant_with_events(pool: &PgPool, id: &str, events: usize) -> TenantId {
    let new: NewTenant =
        serde_json::from_value(serde_json::json!({ "id": id, "name": "Audited" })).unwrap();
    let mut tx = db::begin_platform(pool).await.unwrap();
    tenants::create_in(&mut tx, new, None, &Actor::system())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let tenant = TenantId::new(id).unwrap();
    for n in 1..events {
        append_one(pool, &tenant, n).await;
    }
    tenant
}

async fn append_one(pool: &PgPool, tenant: &TenantId, n: usize) {
    let mut tx = db::begin_tenant(pool, tenant, None).await.unwrap();
    let target = format!("thing-{n}");
    audit::append(
        &mut tx,
        tenant,
        &Actor {
            label: format!("writer-{n}"),
            ip: Some("127.0.0.1".into()),
            user_agent: Some("tests".into()),
            ..Actor::default()
        },
        Change {
            action: AuditAction::WorkflowUpdate,
            target_id: &target,
            before: None,
            after: Some(serde_json::json!({ "n": n, "nested": { "b": [1, 2], "a": "x" } })),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A checkpoint key of its own, with no checkpoints yet.
fn no_checkpoints() -> (audit::checkpoint::Checkpoints, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints =
        audit::checkpoint::Checkpoints::open(&dir.path().join("key"), dir.path().join("log"))
            .unwrap();
    (checkpoints, dir)
}

/// A full walk of the tenant's chain.
async fn verify(pool: &PgPool, tenant: &TenantId) -> audit::Verification {
    let (checkpoints, _dir) = no_checkpoints();
    let mut tx = db::begin_tenant(pool, tenant, None).await.unwrap();
    audit::store::verify(&mut tx, &checkpoints, tenant, true)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_intact_chain_verifies() {
    let pool = migrated_pool().await;
    let tenant = tenant_with_events(&pool, "intact", 5).await;
    let verification = verify(&pool, &tenant).await;
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.events_checked, 5);
    assert_eq!(verification.first_broken, None);
}

#[tokio::test]
async fn the_database_refuses_update_delete_and_truncate_even_for_the_owner() {
    let pool = migrated_pool().await;
    tenant_with_events(&pool, "sealed", 2).await;
    // The pool's own login role owns the table (a superuser in tests).
    for statement in [
        "update audit_events set actor = 'someone else' where seq = 1",
        "delete from audit_events where seq = 2",
        "truncate audit_events",
    ] {
        let error = sqlx::query(statement).execute(&pool).await.unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn an_edit_made_with_triggers_disabled_is_found_at_the_exact_event() {
    let pool = migrated_pool().await;
    let tenant = tenant_with_events(&pool, "tampered", 6).await;
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("alter table audit_events disable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "update audit_events set after = jsonb_set(after, '{n}', '99') \
         where tenant_id = 'tampered' and seq = 4",
    )
    .execute(&mut *conn)
    .await
    .unwrap();

    let verification = verify(&pool, &tenant).await;
    assert!(!verification.ok);
    let broken = verification.first_broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (4, "hash_mismatch"));
    assert_eq!(verification.events_checked, 4);

    // Deleting an event instead is reported where the gap starts.
    let other = tenant_with_events(&pool, "gapped", 5).await;
    sqlx::query("delete from audit_events where tenant_id = 'gapped' and seq = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let verification = verify(&pool, &other).await;
    let broken = verification.first_broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (3, "sequence_gap"));

    // Recomputing the edited event's own hash does not help: the next event's link breaks.
    let relinked = tenant_with_events(&pool, "relinked", 5).await;
    let mut events = {
        let mut tx = db::begin_tenant(&pool, &relinked, None).await.unwrap();
        audit::store::list(&mut tx, &relinked, 0, 100)
            .await
            .unwrap()
    };
    let mut forged = events.remove(1);
    forged.actor = "forger".into();
    let rehashed = forged.expected_hash().to_vec();
    sqlx::query(
        "update audit_events set actor = 'forger', audit_hash = $1 \
         where tenant_id = 'relinked' and seq = 2",
    )
    .bind(rehashed)
    .execute(&mut *conn)
    .await
    .unwrap();
    let verification = verify(&pool, &relinked).await;
    let broken = verification.first_broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (3, "link_mismatch"));

    sqlx::query("alter table audit_events enable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_writers_keep_each_chain_linear() {
    let pool = migrated_pool().await;
    let first = tenant_with_events(&pool, "busy-1", 1).await;
    let second = tenant_with_events(&pool, "busy-2", 1).await;
    let writers: Vec<_> = (0..40)
        .map(|n| {
            let pool = pool.clone();
            let tenant = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move { append_one(&pool, &tenant, n).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    for tenant in [&first, &second] {
        let verification = verify(&pool, tenant).await;
        assert!(verification.ok, "{tenant}: {verification:?}");
        assert_eq!(verification.events_checked, 21);
        let seqs: Vec<i64> =
            sqlx::query_scalar("select seq from audit_events where tenant_id = $1 order by seq")
                .bind(tenant.as_str())
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(seqs, (1..=21).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn numbers_verify_in_whatever_notation_they_were_written() {
    let pool = migrated_pool().await;
    let tenant = tenant_with_events(&pool, "numbers", 1).await;
    // jsonb keeps these as exact decimals in plain notation (10000000000000000, 0.00000015):
    // the hash must not depend on the notation the event was written in.
    let after: serde_json::Value =
        serde_json::from_str(r#"{"amount": 1e16, "rate": 1.5e-7, "big": 1e300, "n": -0.0}"#)
            .unwrap();
    let mut tx = db::begin_tenant(&pool, &tenant, None).await.unwrap();
    audit::append(
        &mut tx,
        &tenant,
        &Actor::system(),
        Change {
            action: AuditAction::WorkflowUpdate,
            target_id: "numbers",
            before: None,
            after: Some(after),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    append_one(&pool, &tenant, 2).await;

    let verification = verify(&pool, &tenant).await;
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.events_checked, 3);
}

#[tokio::test]
async fn a_chain_begun_under_the_first_hash_version_verifies_across_the_change() {
    let pool = migrated_pool().await;
    let tenant = tenant_with_events(&pool, "versions", 4).await;
    // Turn the stored events into what the first version wrote: keys-sorted JSON hashes,
    // relinked (an owner's connection with the immutability trigger off, as in the migration
    // era such chains come from).
    let mut events = {
        let mut tx = db::begin_tenant(&pool, &tenant, None).await.unwrap();
        audit::store::list(&mut tx, &tenant, 0, 100).await.unwrap()
    };
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("alter table audit_events disable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    let mut prev = audit::chain::GENESIS.to_vec();
    for event in &mut events {
        event.hash_version = 1;
        event.prev_hash = prev.clone();
        event.audit_hash = event.expected_hash().to_vec();
        prev = event.audit_hash.clone();
        sqlx::query(
            "update audit_events set hash_version = 1, prev_hash = $1, audit_hash = $2 \
             where tenant_id = 'versions' and seq = $3",
        )
        .bind(&event.prev_hash)
        .bind(&event.audit_hash)
        .bind(event.seq)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    sqlx::query("alter table audit_events enable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    // New events are appended under the current version, linked to the old head.
    append_one(&pool, &tenant, 10).await;
    append_one(&pool, &tenant, 11).await;
    let mut tx = db::begin_tenant(&pool, &tenant, None).await.unwrap();
    let stored = audit::store::list(&mut tx, &tenant, 0, 100).await.unwrap();
    let versions: Vec<i16> = stored.iter().map(|e| e.hash_version).collect();
    assert_eq!(versions, [1, 1, 1, 1, 2, 2]);
    let (checkpoints, _dir) = no_checkpoints();
    let verification = audit::store::verify(&mut tx, &checkpoints, &tenant, true)
        .await
        .unwrap();
    assert!(verification.ok, "{verification:?}");
    assert_eq!(verification.events_checked, 6);

    // A version-1 event is still checked: an edit to one is found.
    drop(tx);
    sqlx::query("alter table audit_events disable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "update audit_events set actor = 'forger' where tenant_id = 'versions' and seq = 2",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query("alter table audit_events enable trigger audit_events_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    let verification = verify(&pool, &tenant).await;
    let broken = verification.first_broken.unwrap();
    assert_eq!((broken.seq, broken.reason), (2, "hash_mismatch"));
}

mod checkpoints {
    //! Signed checkpoints catch what the chain alone cannot: its tail cut off or rewritten by
    //! someone who can write the table, even when they delete the published checkpoints too.

    use std::time::Duration;

    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use serde_json::{Value, json};

    use crate::{
        auth::PASSWORD,
        helpers::{TestApp, create_database, shared_tempdir, test_config},
    };

    /// A server that signs new chain heads every second, with a tenant whose trail has a few
    /// events; returns the server, its admin client and the trail's length.
    async fn audited(database: String, dir: &std::path::Path) -> (TestApp, reqwest::Client) {
        let mut config = test_config(Some(database), dir);
        config.audit.checkpoint_interval_secs = 1;
        let app = TestApp::spawn(config).await;
        app.create_user("root@example.com", PASSWORD, true).await;
        let admin = app.sign_in("root@example.com", PASSWORD).await;
        (app, admin)
    }

    async fn get(client: &reqwest::Client, app: &TestApp, path: &str) -> Value {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// Waits until a checkpoint covers event `seq` and returns the newest.
    async fn checkpoint_at(client: &reqwest::Client, app: &TestApp, seq: i64) -> Value {
        for _ in 0..100 {
            let listed = get(client, app, "/api/v1/tenants/acme/audit/checkpoints").await;
            if let Some(newest) = listed.as_array().unwrap().first()
                && newest["seq"] == seq
            {
                return newest.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no checkpoint of event {seq}");
    }

    #[tokio::test]
    async fn a_cut_or_rewritten_tail_is_found_against_the_signed_checkpoint() {
        let dir = shared_tempdir();
        let database = create_database().await;
        let (app, admin) = audited(database.clone(), dir.path()).await;
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": "acme", "name": "Acme" }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        for name in ["Acme 2", "Acme 3", "Acme 4"] {
            let changed = admin
                .put(app.url("/api/v1/tenants/acme/config"))
                .json(
                    &json!({ "name": name, "status": "active", "plan": "standard",
                    "quotas": { "max_users": 50, "max_workflows": 100 } }),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(changed.status(), 200, "{}", changed.text().await.unwrap());
        }
        let events = get(&admin, &app, "/api/v1/tenants/acme/audit").await;
        let head = events.as_array().unwrap().last().unwrap()["seq"]
            .as_i64()
            .unwrap();
        assert!(head >= 4, "{events}");
        let checkpoint = checkpoint_at(&admin, &app, head).await;

        // Anyone can check the signature with the published key, as an auditor would.
        let key = get(&admin, &app, "/api/v1/audit/checkpoint-key").await;
        assert_eq!(key["algorithm"], "Ed25519");
        assert_eq!(key["key_id"], checkpoint["key_id"]);
        let signed_at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(checkpoint["signed_at"].clone()).unwrap();
        let message = format!(
            "astraflow-audit-checkpoint/1\nacme\ncontrol\n{head}\n{}\n{}",
            checkpoint["head_hash"].as_str().unwrap(),
            signed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        );
        let public = URL_SAFE_NO_PAD
            .decode(key["public_key"].as_str().unwrap())
            .unwrap();
        let signature = URL_SAFE_NO_PAD
            .decode(checkpoint["signature"].as_str().unwrap())
            .unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
            .verify(message.as_bytes(), &signature)
            .expect("the checkpoint's signature verifies with the published key");

        // A whole chain verifies; the next verification resumes at its head.
        let first = get(&admin, &app, "/api/v1/tenants/acme/audit/verify").await;
        assert_eq!(first["ok"], true, "{first}");
        assert_eq!(first["checkpoint_seq"], head);
        let again = get(&admin, &app, "/api/v1/tenants/acme/audit/verify").await;
        assert_eq!(again["ok"], true, "{again}");
        assert_eq!(again["checked_from"], head + 1, "{again}");
        assert_eq!(again["events_checked"], 0, "{again}");
        let full = get(&admin, &app, "/api/v1/tenants/acme/audit/verify?full=true").await;
        assert_eq!(full["checked_from"], 1, "{full}");
        assert_eq!(full["events_checked"], head, "{full}");

        // The database's owner cuts the newest event and every published checkpoint, with
        // the triggers off. The chain that is left is consistent in itself.
        let owner = app.owner_pool().await;
        let mut conn = owner.acquire().await.unwrap();
        for statement in [
            "alter table audit_events disable trigger audit_events_no_update_delete",
            "delete from audit_events where tenant_id = 'acme' and seq = (select max(seq) from audit_events where tenant_id = 'acme')",
            "delete from audit_checkpoints",
            "alter table audit_events enable trigger audit_events_no_update_delete",
        ] {
            sqlx::query(statement).execute(&mut *conn).await.unwrap();
        }
        for path in [
            "/api/v1/tenants/acme/audit/verify",
            "/api/v1/tenants/acme/audit/verify?full=true",
        ] {
            let cut = get(&admin, &app, path).await;
            assert_eq!(cut["ok"], false, "{path}: {cut}");
            assert_eq!(
                cut["first_broken"]["reason"], "cut_before_checkpoint",
                "{cut}"
            );
            assert_eq!(cut["first_broken"]["seq"], head, "{cut}");
        }

        // A server started afresh on the same data directory still knows the checkpoint: it
        // was kept outside the database.
        app.stop().await;
        let (app, admin) = {
            let mut config = test_config(Some(database), dir.path());
            config.audit.checkpoint_interval_secs = 3600;
            let app = TestApp::spawn(config).await;
            let admin = app.sign_in("root@example.com", PASSWORD).await;
            (app, admin)
        };
        let cut = get(&admin, &app, "/api/v1/tenants/acme/audit/verify").await;
        assert_eq!(
            cut["first_broken"]["reason"], "cut_before_checkpoint",
            "{cut}"
        );
        app.stop().await;
    }

    #[tokio::test]
    async fn a_tail_rewritten_with_fresh_hashes_differs_from_the_checkpoint() {
        let dir = shared_tempdir();
        let (app, admin) = audited(create_database().await, dir.path()).await;
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": "acme", "name": "Acme" }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let events = get(&admin, &app, "/api/v1/tenants/acme/audit").await;
        let head = events.as_array().unwrap().last().unwrap()["seq"]
            .as_i64()
            .unwrap();
        checkpoint_at(&admin, &app, head).await;

        // The owner rewrites the newest event and gives it the hash it should now have, so
        // the chain alone cannot tell.
        let owner = app.owner_pool().await;
        let tenant = server::domain::TenantId::new("acme").unwrap();
        let mut tx = server::db::begin_platform(&owner).await.unwrap();
        let mut event = server::audit::store::list(&mut tx, &tenant, head - 1, 1)
            .await
            .unwrap()
            .remove(0);
        tx.rollback().await.unwrap();
        event.actor = "nobody at all".into();
        let forged = event.expected_hash();
        let mut conn = owner.acquire().await.unwrap();
        sqlx::query("alter table audit_events disable trigger audit_events_no_update_delete")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query(
            "update audit_events set actor = $1, audit_hash = $2 \
             where tenant_id = 'acme' and seq = $3",
        )
        .bind(&event.actor)
        .bind(forged.as_slice())
        .bind(head)
        .execute(&mut *conn)
        .await
        .unwrap();
        let full = get(&admin, &app, "/api/v1/tenants/acme/audit/verify?full=true").await;
        assert_eq!(full["ok"], false, "{full}");
        assert_eq!(
            full["first_broken"]["reason"], "checkpoint_mismatch",
            "{full}"
        );
        assert_eq!(full["first_broken"]["seq"], head, "{full}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_nul_character_in_a_trail_filter_is_refused_with_its_field() {
    use crate::{auth::PASSWORD, helpers::TestApp};
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&serde_json::json!({ "id": "acme", "name": "Acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for (path, field) in [
        (
            "/api/v1/tenants/acme/execution-audit?execution_id=a%00b",
            "execution_id",
        ),
        (
            "/api/v1/tenants/acme/execution-audit?event_type=%00",
            "event_type",
        ),
        ("/api/v1/tenants/acme/audit?actor=x%00", "actor"),
        ("/api/v1/tenants/acme/audit/export?action=%00", "action"),
    ] {
        let response = admin.get(app.url(path)).send().await.unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{path}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{field}:")),
            "{path}: {body}"
        );
    }
    // The server goes on serving.
    let listed = admin
        .get(app.url("/api/v1/tenants/acme/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn an_owner_of_one_tenant_reaches_neither_the_checkpoints_nor_the_verification_of_another() {
    use crate::{
        auth::PASSWORD,
        helpers::{TestApp, create_database, shared_tempdir, test_config},
    };
    use serde_json::{Value, json};
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.audit.checkpoint_interval_secs = 1;
    let app = TestApp::spawn(config).await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    for (tenant, owner) in [("acme", "a@acme.example"), ("globex", "b@globex.example")] {
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": tenant, "name": tenant }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        app.create_user(owner, PASSWORD, false).await;
        let added = admin
            .post(app.url(&format!("/api/v1/tenants/{tenant}/users")))
            .json(&json!({ "email": owner, "role": "owner" }))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201);
    }
    let alice = app.sign_in("a@acme.example", PASSWORD).await;
    let bob = app.sign_in("b@globex.example", PASSWORD).await;
    let globex_checkpoints = || async {
        bob.get(app.url("/api/v1/tenants/globex/audit/checkpoints"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    // Wait for globex's head to be signed.
    let before = loop {
        let listed = globex_checkpoints().await;
        if !listed.as_array().unwrap().is_empty() {
            break listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };

    // Alice, owner of acme with her own valid session, asks for globex's trail state.
    for path in [
        "/api/v1/tenants/globex/audit/checkpoints",
        "/api/v1/tenants/globex/audit/checkpoints?trail=execution",
        "/api/v1/tenants/globex/audit/verify",
        "/api/v1/tenants/globex/audit/verify?full=true",
        "/api/v1/tenants/globex/execution-audit/verify",
    ] {
        let response = alice.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("head_hash") && !body.contains("checked_from"),
            "{body}"
        );
    }
    // Her own tenant's list holds nothing of globex.
    let own: Value = alice
        .get(app.url("/api/v1/tenants/acme/audit/checkpoints"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|checkpoint| checkpoint["tenant_id"] == "acme"),
        "{own}"
    );
    // Row-level security: acme's transaction sees no checkpoint of globex.
    let acme = TenantId::new("acme").unwrap();
    let mut tx = db::begin_tenant(&app.pool, &acme, None).await.unwrap();
    let foreign: i64 =
        sqlx::query_scalar("select count(*) from audit_checkpoints where tenant_id = 'globex'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(foreign, 0);
    tx.rollback().await.unwrap();
    // And globex's checkpoints and chain are as they were.
    let after = globex_checkpoints().await;
    assert_eq!(
        after.as_array().unwrap().last(),
        before.as_array().unwrap().last()
    );
    let verified: Value = bob
        .get(app.url("/api/v1/tenants/globex/audit/verify?full=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    app.stop().await;
}
