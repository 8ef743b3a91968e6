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

async fn verify(pool: &PgPool, tenant: &TenantId) -> audit::Verification {
    let mut tx = db::begin_tenant(pool, tenant, None).await.unwrap();
    audit::store::verify(&mut tx, tenant).await.unwrap()
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
    let verification = audit::store::verify(&mut tx, &tenant).await.unwrap();
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
