//! The REST API keeps the contract its OpenAPI document states: bodies have the published
//! shape, refusals have their documented status, and the document itself is served.

use serde_json::{Value, json};

use crate::helpers::TestApp;

const PASSWORD: &str = "correct horse battery";

async fn admin_with_tenant(app: &TestApp, max_users: i64) -> reqwest::Client {
    app.create_user("admin@example.com", PASSWORD, true).await;
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({
            "id": "acme",
            "name": "Acme",
            "quotas": { "max_users": max_users, "max_workflows": 10 },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    admin
}

async fn status_and_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_openapi_document_is_served_without_credentials() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/api/v1/tenants/{tenant}/users"]["post"].is_object());
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_full_tenant_refuses_another_member_with_409_quota_exceeded() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    // The creator is the first member of two.
    let admin = admin_with_tenant(&app, 2).await;
    let add = |email: &'static str| {
        admin
            .post(app.url("/api/v1/tenants/acme/users"))
            .json(&json!({ "email": email, "role": "viewer" }))
            .send()
    };
    assert_eq!(add("second@example.com").await.unwrap().status(), 201);
    let (status, code) = status_and_code(add("third@example.com").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "quota_exceeded"));
    let members: Vec<Value> = admin
        .get(app.url("/api/v1/tenants/acme/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members.len(), 2, "nothing stored for the refused member");
    app.stop().await;
}

#[tokio::test]
async fn bodies_must_be_objects_at_every_level() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let admin = admin_with_tenant(&app, 10).await;
    // serde would read these as the structs' fields in order; the schema says objects.
    let top_level = admin
        .post(app.url("/api/v1/tenants/acme/tokens"))
        .json(&json!(["ci", "viewer", 30]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_code(top_level).await,
        (400, "bad_request".into())
    );
    let nested = admin
        .put(app.url("/api/v1/tenants/acme/config"))
        .json(&json!({
            "name": "Acme",
            "status": "active",
            "plan": "standard",
            "quotas": [10, 10],
            "cloud": [null, null],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(nested).await, (400, "bad_request".into()));
    app.stop().await;
}

#[tokio::test]
async fn integers_written_as_whole_floats_are_integers() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let admin = admin_with_tenant(&app, 10).await;
    let token = admin
        .post(app.url("/api/v1/tenants/acme/tokens"))
        .json(&json!({ "name": "ci", "role": "viewer", "expires_in_days": 30.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let fractional = admin
        .post(app.url("/api/v1/tenants/acme/tokens"))
        .json(&json!({ "name": "ci", "role": "viewer", "expires_in_days": 30.5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_code(fractional).await,
        (400, "bad_request".into())
    );
    app.stop().await;
}

#[tokio::test]
async fn control_characters_in_names_are_refused_not_stored() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let admin = admin_with_tenant(&app, 10).await;
    for name in ["Acme\u{0}Corp", "Acme\nCorp", " Acme", ""] {
        let response = admin
            .put(app.url("/api/v1/tenants/acme/config"))
            .json(&json!({
                "name": name,
                "status": "active",
                "plan": "standard",
                "quotas": { "max_users": 10, "max_workflows": 10 },
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            status_and_code(response).await,
            (422, "invalid".into()),
            "{name:?}"
        );
    }
    let member = admin
        .post(app.url("/api/v1/tenants/acme/users"))
        .json(&json!({ "email": "nul\u{0}@example.com", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(status_and_code(member).await, (422, "invalid".into()));
    let tenant: Value = admin
        .get(app.url("/api/v1/tenants/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["name"], "Acme");
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_at_its_workflow_quota_refuses_another_workflow_with_409() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("admin@example.com", PASSWORD, true).await;
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({
            "id": "small",
            "name": "Small",
            "quotas": { "max_users": 10, "max_workflows": 1 },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let workflow = |id: &str| {
        admin
            .post(app.url("/api/v1/workflows"))
            .json(&json!({
                "tenant_id": "small",
                "bpmn_xml": format!(
                    r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="{id}" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>"#
                ),
            }))
            .send()
    };
    assert_eq!(workflow("first").await.unwrap().status(), 201);
    let (status, code) = status_and_code(workflow("second").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "quota_exceeded"));
    let listed: Vec<Value> = admin
        .get(app.url("/api/v1/workflows?tenant=small"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "nothing stored for the refused workflow");
    app.stop().await;
}
