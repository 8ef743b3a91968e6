//! Row-level security: a tenant transaction sees its own tenant's rows and nothing else, even
//! when a query has no WHERE clause.

use server::{
    audit::Actor,
    db,
    domain::{Role, TenantId},
    tenants::{self, NewMember, NewTenant},
};
use sqlx::PgPool;

use crate::helpers::migrated_pool;

fn new_tenant(id: &str) -> NewTenant {
    serde_json::from_value(serde_json::json!({ "id": id, "name": format!("Tenant {id}") })).unwrap()
}

/// Two tenants, each with two members; returns their ids.
async fn two_tenants(pool: &PgPool) -> (TenantId, TenantId) {
    let actor = Actor::system();
    let mut tx = db::begin_platform(pool).await.unwrap();
    tenants::service::create_in(&mut tx, new_tenant("tenant-a"), None, &actor)
        .await
        .unwrap();
    tenants::service::create_in(&mut tx, new_tenant("tenant-b"), None, &actor)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (a, b) = (
        TenantId::new("tenant-a").unwrap(),
        TenantId::new("tenant-b").unwrap(),
    );
    for (tenant, emails) in [
        (&a, ["a1@example.com", "a2@example.com"]),
        (&b, ["b1@example.com", "b2@example.com"]),
    ] {
        let mut tx = db::begin_tenant(pool, tenant, None).await.unwrap();
        for email in emails {
            let member = NewMember {
                email: email.to_owned(),
                name: None,
                role: Role::Viewer,
            };
            tenants::store::add_member(&mut tx, tenant, member, &actor)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    (a, b)
}

#[tokio::test]
async fn queries_without_where_see_only_the_transactions_tenant() {
    let pool = migrated_pool().await;
    let (a, _b) = two_tenants(&pool).await;

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let tenant_ids: Vec<String> = sqlx::query_scalar("select id from tenants")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(tenant_ids, ["tenant-a"]);
    let membership_tenants: Vec<String> = sqlx::query_scalar("select tenant_id from memberships")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(membership_tenants, ["tenant-a", "tenant-a"]);
    let audit_tenants: Vec<String> =
        sqlx::query_scalar("select distinct tenant_id from audit_events")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(audit_tenants, ["tenant-a"]);
    // Even naming the other tenant finds nothing.
    let foreign: i64 =
        sqlx::query_scalar("select count(*) from memberships where tenant_id = 'tenant-b'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(foreign, 0);
    tx.rollback().await.unwrap();

    // The rows exist: the platform role sees both tenants.
    let mut tx = db::begin_platform(&pool).await.unwrap();
    let all: i64 = sqlx::query_scalar("select count(*) from memberships")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(all, 4);
}

#[tokio::test]
async fn a_tenant_transaction_cannot_write_into_another_tenant() {
    let pool = migrated_pool().await;
    let (a, _b) = two_tenants(&pool).await;

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let user: uuid::Uuid = sqlx::query_scalar("select user_id from memberships limit 1")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query(
        "insert into memberships (tenant_id, user_id, role) values ('tenant-b', $1, 'owner')",
    )
    .bind(user)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let updated = sqlx::query("update tenants set name = 'hijacked' where id = 'tenant-b'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let deleted = sqlx::query("delete from memberships")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        deleted.rows_affected(),
        2,
        "only tenant A's two memberships"
    );
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn request_transactions_run_as_roles_without_bypassrls() {
    let pool = migrated_pool().await;
    let (a, _b) = two_tenants(&pool).await;

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let (role, bypass, superuser): (String, bool, bool) = sqlx::query_as(
        "select rolname::text, rolbypassrls, rolsuper from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(role, "astraflow_app");
    assert!(!bypass && !superuser);
    // Password hashes are not readable by the tenant role at all.
    let error = sqlx::query("select password_hash from users")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    tx.rollback().await.unwrap();

    let mut tx = db::begin_platform(&pool).await.unwrap();
    let (role, bypass): (String, bool) = sqlx::query_as(
        "select rolname::text, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(role, "astraflow_platform");
    assert!(!bypass);
    tx.rollback().await.unwrap();

    // The settings and the role end with the transaction: the pooled connection is clean again.
    let mut conn = pool.acquire().await.unwrap();
    let (user, tenant): (String, Option<String>) = sqlx::query_as(
        "select current_user::text, nullif(current_setting('app.tenant_id', true), '')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_ne!(user, "astraflow_app");
    assert_eq!(tenant, None);
}

#[tokio::test]
async fn without_a_tenant_setting_nothing_is_visible() {
    let pool = migrated_pool().await;
    two_tenants(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("set local role astraflow_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar(
        "select (select count(*) from tenants) + (select count(*) from memberships) + \
         (select count(*) from audit_events) + (select count(*) from api_tokens)",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(visible, 0);
}

#[tokio::test]
async fn accounts_of_other_tenants_are_invisible_but_can_be_added_by_email() {
    let pool = migrated_pool().await;
    let (a, _b) = two_tenants(&pool).await;

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let mut emails: Vec<String> = sqlx::query_scalar("select email from users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    emails.sort();
    assert_eq!(emails, ["a1@example.com", "a2@example.com"]);

    // A member of B becomes a member of A: the existing account is reused, not duplicated.
    let member = NewMember {
        email: "B1@example.com".to_owned(),
        name: None,
        role: Role::Editor,
    };
    let (added, created) = tenants::store::add_member(&mut tx, &a, member, &Actor::system())
        .await
        .unwrap();
    assert_eq!(added.email, "b1@example.com");
    assert!(created.is_none());
    tx.commit().await.unwrap();

    let mut tx = db::begin_platform(&pool).await.unwrap();
    let accounts: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(accounts, 4);
}

#[tokio::test]
async fn the_server_serves_as_a_login_role_that_owns_nothing_and_cannot_unseal_the_trails() {
    let (app, _dir) = crate::helpers::TestApp::with_fresh_database().await;
    let (user, owned, superuser, bypass): (String, i64, bool, bool) = sqlx::query_as(
        "select current_user::text, \
                (select count(*) from pg_class where relowner = r.oid), \
                r.rolsuper, r.rolbypassrls \
         from pg_roles r where r.rolname = current_user",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(user.starts_with("astraflow_srv_"), "{user}");
    assert_eq!(owned, 0, "{user} owns nothing");
    assert!(!superuser && !bypass);

    // What the owner of the tables could do to the trails, the serving role cannot, neither
    // as itself nor as either of the roles it may switch to.
    for role in [
        "",
        "set local role astraflow_platform",
        "set local role astraflow_app",
    ] {
        for statement in [
            "alter table audit_events disable trigger audit_events_no_update_delete",
            "alter table execution_audit_events disable trigger all",
            "alter table audit_checkpoints disable row level security",
            "drop table audit_events",
            "truncate audit_events",
            "delete from audit_events",
            "update audit_events set actor = 'x'",
            "delete from audit_checkpoints",
            "select password from serving_login",
            "create table intruder (x int)",
        ] {
            let mut tx = app.pool.begin().await.unwrap();
            if !role.is_empty() {
                sqlx::query(role).execute(&mut *tx).await.unwrap();
            }
            let error = sqlx::query(statement).execute(&mut *tx).await.unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains("must be owner")
                    || message.contains("permission denied")
                    || message.contains("append-only"),
                "{role}: {statement}: {message}"
            );
            tx.rollback().await.unwrap();
        }
    }

    // And it serves: readiness, sign-in (the session store) and the platform's tables.
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.create_user("root@example.com", crate::auth::PASSWORD, true)
        .await;
    let admin = app.sign_in("root@example.com", crate::auth::PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&serde_json::json!({ "id": "acme", "name": "Acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    app.stop().await;
}
