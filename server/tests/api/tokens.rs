//! API tokens: shown once, stored hashed, scoped to one tenant, listed and revoked by owners,
//! and never acting for more than their creator holds.

use serde_json::{Value, json};

use crate::{
    auth::{PASSWORD, error_body},
    helpers::TestApp,
};

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_scoped_to_their_tenant() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    for id in ["alpha", "beta"] {
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": id, "name": id }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let created: Value = admin
        .post(app.url("/api/v1/tenants/alpha/tokens"))
        .json(&json!({ "name": "ci", "role": "viewer", "expires_in_days": 30 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("astf_") && token.len() == 69, "{token}");

    let pool = app.owner_pool().await;
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from api_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(stored, token.as_bytes());
    assert_eq!(stored.len(), 32);

    let bearer = |path: &str| app.client.get(app.url(path)).bearer_auth(&token).send();
    assert_eq!(bearer("/api/v1/tenants/alpha").await.unwrap().status(), 200);
    assert_eq!(bearer("/api/v1/tenants/beta").await.unwrap().status(), 404);
    let me: Value = bearer("/api/v1/me").await.unwrap().json().await.unwrap();
    assert_eq!(me["token_tenant"], "alpha");
    assert_eq!(
        me["platform_admin"], false,
        "a token never carries platform admin"
    );
    // A viewer token cannot change anything, even without an Origin header.
    let change = app
        .client
        .post(app.url("/api/v1/tenants/alpha/users"))
        .bearer_auth(&token)
        .json(&json!({ "email": "x@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(change, 403).await["code"], "forbidden");

    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_used_at from api_tokens")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(used.is_some());
    sqlx::query("update api_tokens set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(bearer("/api/v1/tenants/alpha").await.unwrap().status(), 401);
    let garbage = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth("astf_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(garbage, 401).await["code"], "unauthenticated");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_never_outlive_their_creators_role() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let creator = app
        .create_user("creator@example.com", PASSWORD, false)
        .await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    for id in ["alpha", "beta"] {
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": id, "name": id }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let added = admin
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(&json!({ "email": "creator@example.com", "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let owner = app.sign_in("creator@example.com", PASSWORD).await;
    let mut tokens = std::collections::BTreeMap::new();
    for role in ["owner", "editor", "auditor", "viewer"] {
        let created: Value = owner
            .post(app.url("/api/v1/tenants/alpha/tokens"))
            .json(&json!({ "name": role, "role": role, "expires_in_days": 1 }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.insert(role, created);
    }
    let works = |role: &'static str| {
        let secret = tokens[role]["token"].as_str().unwrap().to_owned();
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/tenants/alpha"))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap()
                .status()
                == 200
        }
    };
    let states = || async {
        // The platform administrator: the creator may have lost the right to list them.
        let listed: Value = admin
            .get(app.url("/api/v1/tenants/alpha/tokens"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t["state"].clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    for role in ["owner", "editor", "auditor", "viewer"] {
        assert!(works(role).await, "{role}");
    }

    // Listed for owners without their secrets.
    let listed: Value = owner
        .get(app.url("/api/v1/tenants/alpha/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4);
    for token in listed {
        assert!(token.get("token").is_none(), "no secret: {token}");
        assert!(token.get("token_hash").is_none(), "no hash: {token}");
        assert_eq!(token["created_by"], "creator@example.com");
        assert_eq!(token["state"], "active");
    }

    // The creator becomes an editor: the owner and auditor tokens stop, the others go on.
    let demote = |role: &'static str| {
        let admin = &admin;
        let app = &app;
        async move {
            let changed = admin
                .put(app.url(&format!("/api/v1/tenants/alpha/users/{creator}")))
                .json(&json!({ "role": role }))
                .send()
                .await
                .unwrap();
            assert_eq!(changed.status(), 200);
        }
    };
    demote("editor").await;
    assert!(!works("owner").await);
    assert!(!works("auditor").await);
    assert!(works("editor").await);
    assert!(works("viewer").await);
    let now = states().await;
    assert_eq!(now["owner"], "creator_lacks_role");
    assert_eq!(now["editor"], "active");
    // A viewer: only the viewer token is left.
    demote("viewer").await;
    assert!(!works("editor").await);
    assert!(works("viewer").await);
    // Back to owner: they work again, as the role grants them again.
    demote("owner").await;
    assert!(works("owner").await);
    // Removed from the tenant: nothing works.
    let removed = admin
        .delete(app.url(&format!("/api/v1/tenants/alpha/users/{creator}")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    for role in ["owner", "editor", "auditor", "viewer"] {
        assert!(!works(role).await, "{role} after removal");
    }
    assert!(states().await.values().all(|s| s == "creator_lacks_role"));

    // Revoked by id: at once, recorded, once only, and only within its own tenant.
    let created: Value = admin
        .post(app.url("/api/v1/tenants/alpha/tokens"))
        .json(&json!({ "name": "ci", "role": "viewer", "expires_in_days": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let by_secret = || {
        app.client
            .get(app.url("/api/v1/tenants/alpha"))
            .bearer_auth(secret)
            .send()
    };
    assert_eq!(by_secret().await.unwrap().status(), 200);
    let foreign = admin
        .delete(app.url(&format!("/api/v1/tenants/beta/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(foreign, 404).await["code"], "not_found");
    assert_eq!(
        by_secret().await.unwrap().status(),
        200,
        "untouched by beta's path"
    );
    let revoke = || {
        admin
            .delete(app.url(&format!("/api/v1/tenants/alpha/tokens/{id}")))
            .send()
    };
    assert_eq!(revoke().await.unwrap().status(), 204);
    assert_eq!(by_secret().await.unwrap().status(), 401);
    assert_eq!(
        error_body(revoke().await.unwrap(), 409).await["code"],
        "conflict"
    );
    let audit: Value = admin
        .get(app.url("/api/v1/tenants/alpha/audit?action=token.revoke"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["target_id"], id);
    assert_eq!(audit[0]["before"]["name"], "ci");
    assert_eq!(audit[0]["actor"], "root@example.com");
    app.stop().await;
}

#[tokio::test]
async fn an_owner_of_one_tenant_cannot_list_or_revoke_another_tenants_tokens() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    app.create_user("alpha-owner@example.com", PASSWORD, false)
        .await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    for id in ["alpha", "beta"] {
        let created = admin
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": id, "name": id }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }
    let added = admin
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(&json!({ "email": "alpha-owner@example.com", "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    // beta's token, made by the platform administrator.
    let beta: Value = admin
        .post(app.url("/api/v1/tenants/beta/tokens"))
        .json(&json!({ "name": "beta-ci", "role": "viewer", "expires_in_days": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (beta_id, beta_secret) = (
        beta["id"].as_str().unwrap(),
        beta["token"].as_str().unwrap(),
    );

    // alpha's owner, signed in and with an owner token of alpha, tries both paths.
    let owner = app.sign_in("alpha-owner@example.com", PASSWORD).await;
    let alpha_token: Value = owner
        .post(app.url("/api/v1/tenants/alpha/tokens"))
        .json(&json!({ "name": "alpha-ci", "role": "owner", "expires_in_days": 1 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alpha_secret = alpha_token["token"].as_str().unwrap().to_owned();
    let as_token = reqwest::Client::new();
    for path in [
        format!("/api/v1/tenants/beta/tokens/{beta_id}"),
        format!("/api/v1/tenants/alpha/tokens/{beta_id}"),
    ] {
        let by_session = owner.delete(app.url(&path)).send().await.unwrap();
        assert_eq!(
            error_body(by_session, 404).await["code"],
            "not_found",
            "{path}"
        );
        let by_token = as_token
            .delete(app.url(&path))
            .bearer_auth(&alpha_secret)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_body(by_token, 404).await["code"],
            "not_found",
            "{path}"
        );
    }
    let listed = owner
        .get(app.url("/api/v1/tenants/beta/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(listed, 404).await["code"], "not_found");
    let own: Value = owner
        .get(app.url("/api/v1/tenants/alpha/tokens"))
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
            .all(|t| t["name"] != "beta-ci"),
        "{own}"
    );

    // Nothing crossed: beta's token still works, is not revoked, and beta's trail has no
    // revocation.
    let works = as_token
        .get(app.url("/api/v1/tenants/beta"))
        .bearer_auth(beta_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(works.status(), 200);
    let beta_tokens: Value = admin
        .get(app.url("/api/v1/tenants/beta/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(beta_tokens[0]["state"], "active");
    assert!(beta_tokens[0]["revoked_at"].is_null());
    let audit: Value = admin
        .get(app.url("/api/v1/tenants/beta/audit?action=token.revoke"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit, json!([]));
    app.stop().await;
}
