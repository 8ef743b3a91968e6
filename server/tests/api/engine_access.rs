//! The server as the OAuth 2.0 authorisation server of its embedded engines: engine clients
//! (created, listed, revoked, audited), the token endpoint with both client authentication
//! methods and its refusals, tokens verified as the engines verify them (from the published
//! JWKS), real gRPC calls to an embedded gateway with those tokens, and key rotation.

use engine::auth::{KeySet, TokenError, Verifier, now_secs};
use serde_json::{Value, json};
use tonic::Code;
use zeebe::gateway as pb;

use crate::{
    deployments::{json_of, owner_of_acme},
    helpers::{TestApp, gateway_with_token},
};

const TINY: &str = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="tiny" isExecutable="true"><bpmn:startEvent id="s" /></bpmn:process></bpmn:definitions>"#;

async fn create_client(
    app: &TestApp,
    owner: &reqwest::Client,
    environment: &str,
    permissions: &[&str],
) -> Value {
    let created = owner
        .post(app.url(&format!(
            "/api/v1/tenants/acme/environments/{environment}/clients"
        )))
        .json(&json!({ "name": "payments worker", "permissions": permissions }))
        .send()
        .await
        .unwrap();
    json_of(created, 201).await
}

fn form(client: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".to_owned()),
        (
            "client_id",
            client["client_id"].as_str().unwrap().to_owned(),
        ),
        (
            "client_secret",
            client["client_secret"].as_str().unwrap().to_owned(),
        ),
    ]
}

/// Posts a token request form (no cookies, no Origin: an OAuth client, not a browser).
async fn token_request(app: &TestApp, form: &[(&str, String)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The access token of a successful request.
pub(crate) async fn access_token(app: &TestApp, client: &Value) -> String {
    let issued = json_of(token_request(app, &form(client)).await, 200).await;
    issued["access_token"].as_str().unwrap().to_owned()
}

/// A verifier built the way an engine builds one: from the published JWKS.
async fn jwks_verifier(app: &TestApp, environment: &str) -> Verifier {
    let jwks = app.get("/oauth/jwks.json").await.text().await.unwrap();
    Verifier::new(
        app.address.clone(),
        format!("astraflow-engine:{environment}"),
        KeySet::from_jwks(&jwks).unwrap(),
    )
}

async fn oauth_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].is_string(), "{body}");
    body["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn engine_clients_are_created_listed_and_revoked_and_audited() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = create_client(&app, &owner, "dev", &["deploy", "jobs"]).await;
    let client_id = client["client_id"].as_str().unwrap();
    assert!(
        client_id.starts_with("astc_") && client_id.len() == 37,
        "{client}"
    );
    assert!(client["client_secret"].as_str().unwrap().len() >= 64);
    assert_eq!(client["permissions"], json!(["jobs", "deploy"]));
    assert_eq!(client["token_url"], app.url("/oauth/token"));
    assert_eq!(client["audience"], "astraflow-engine:dev");
    let dev = app.engines.embedded("dev").await.unwrap();
    assert_eq!(client["gateway_address"], dev.to_string());

    // Refusals: no such environment, and what the schema refuses.
    let post = |environment: &str, body: Value| {
        owner
            .post(app.url(&format!(
                "/api/v1/tenants/acme/environments/{environment}/clients"
            )))
            .json(&body)
            .send()
    };
    let valid = json!({ "name": "w", "permissions": ["jobs"] });
    assert_eq!(post("nowhere", valid.clone()).await.unwrap().status(), 404);
    assert_eq!(post("Not An Env", valid).await.unwrap().status(), 404);
    for (body, status) in [
        (json!({ "name": "w", "permissions": [] }), 422),
        (json!({ "name": "w", "permissions": ["jobs", "jobs"] }), 422),
        (json!({ "name": "", "permissions": ["jobs"] }), 422),
        (json!({ "name": " w", "permissions": ["jobs"] }), 422),
        (json!({ "name": "w", "permissions": ["admin"] }), 400),
        (json!({ "name": "w" }), 400),
        (
            json!({ "name": "w", "permissions": ["jobs"], "tenant": "x" }),
            400,
        ),
    ] {
        let response = post("dev", body.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{body}");
    }

    // The list shows no secret; last use appears once the client got a token.
    let list = || async {
        json_of(
            owner
                .get(app.url("/api/v1/tenants/acme/environments/dev/clients"))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
    };
    let listed = list().await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["client_id"], client_id);
    assert_eq!(listed[0]["name"], "payments worker");
    assert_eq!(listed[0]["permissions"], json!(["jobs", "deploy"]));
    assert_eq!(listed[0]["created_by"], "owner@example.com");
    assert!(listed[0]["last_used_at"].is_null());
    assert!(listed[0].get("client_secret").is_none() && !listed.to_string().contains("astcs_"));
    access_token(&app, &client).await;
    assert!(list().await[0]["last_used_at"].is_string());
    // Clients are per environment.
    let staging = json_of(
        owner
            .get(app.url("/api/v1/tenants/acme/environments/staging/clients"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(staging, json!([]));

    // Revoking: only through its own environment, once.
    let delete = |path: String| owner.delete(app.url(&path)).send();
    let base = "/api/v1/tenants/acme/environments";
    assert_eq!(
        delete(format!("{base}/staging/clients/{client_id}"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        delete(format!("{base}/dev/clients/astc_{}", "0".repeat(32)))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        delete(format!("{base}/dev/clients/{client_id}"))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        delete(format!("{base}/dev/clients/{client_id}"))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(list().await, json!([]));
    let refused = token_request(&app, &form(&client)).await;
    assert_eq!(oauth_error(refused, 401).await, "invalid_client");

    // Both changes are in the audit trail, without the secret, and the chain holds.
    let audit = json_of(
        owner
            .get(app.url("/api/v1/tenants/acme/audit?action=engine_client"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["engine_client.create", "engine_client.revoke"],
        "{audit}"
    );
    assert_eq!(audit[0]["target_id"], client_id);
    assert_eq!(audit[0]["actor"], "owner@example.com");
    assert_eq!(
        audit[0]["after"],
        json!({ "environment": "dev", "name": "payments worker", "permissions": ["jobs", "deploy"] })
    );
    assert_eq!(audit[1]["target_id"], client_id);
    assert!(
        !audit
            .to_string()
            .contains(client["client_secret"].as_str().unwrap())
    );
    let verified = json_of(
        owner
            .get(app.url("/api/v1/tenants/acme/audit/verify"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(verified["ok"], true, "{verified}");
    app.stop().await;
}

#[tokio::test]
async fn the_token_endpoint_issues_tokens_the_engines_verify_and_refuses_the_rest() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = create_client(&app, &owner, "dev", &["deploy"]).await;
    let client_id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();

    // client_secret_post.
    let response = token_request(&app, &form(&client)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued: Value = response.json().await.unwrap();
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 300);
    let token = issued["access_token"].as_str().unwrap();

    let now = now_secs();
    let verifier = jwks_verifier(&app, "dev").await;
    let claims = verifier.verify(token, now).expect("the token verifies");
    assert_eq!(claims.iss, app.address);
    assert_eq!(claims.aud, "astraflow-engine:dev");
    assert_eq!(claims.sub, client_id);
    assert_eq!(claims.client_id, client_id);
    assert_eq!(claims.tenant_id.as_str(), "acme");
    assert_eq!(claims.permissions, [engine::auth::Permission::Deploy]);
    assert_eq!(claims.exp - claims.iat, 300);
    assert!((claims.iat - now).abs() <= 5);
    // Another engine's verifier refuses it.
    assert_eq!(
        jwks_verifier(&app, "prod").await.verify(token, now),
        Err(TokenError::Audience)
    );
    // Tampered: the claims of another tenant under the same signature.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["tenant_id"] = json!("globex");
        b64.encode(serde_json::to_vec(&claims).unwrap())
    };
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(verifier.verify(&tampered, now), Err(TokenError::Signature));
    // Expired: the same token after its lifetime.
    assert_eq!(verifier.verify(token, now + 400), Err(TokenError::Expired));

    // client_secret_basic, with the audience Camunda clients send and a scope that is ignored.
    let basic = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("audience", "astraflow-engine:dev"),
            ("scope", "anything"),
        ])
        .send()
        .await
        .unwrap();
    let issued = json_of(basic, 200).await;
    let claims = verifier
        .verify(issued["access_token"].as_str().unwrap(), now_secs())
        .unwrap();
    assert_eq!(claims.client_id, client_id);

    // Refusals.
    let mut wrong = form(&client);
    wrong[2].1 = format!("{secret}x");
    let response = token_request(&app, &wrong).await;
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(oauth_error(response, 401).await, "invalid_client");
    let unknown = vec![
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", format!("astc_{}", "1".repeat(32))),
        ("client_secret", secret.to_owned()),
    ];
    assert_eq!(
        oauth_error(token_request(&app, &unknown).await, 401).await,
        "invalid_client"
    );
    let wrong_basic = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .basic_auth(client_id, Some("not the secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(
        wrong_basic.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(oauth_error(wrong_basic, 401).await, "invalid_client");
    let mut password = form(&client);
    password[0].1 = "password".to_owned();
    assert_eq!(
        oauth_error(token_request(&app, &password).await, 400).await,
        "unsupported_grant_type"
    );
    assert_eq!(
        oauth_error(token_request(&app, &form(&client)[1..]).await, 400).await,
        "invalid_request"
    );
    assert_eq!(
        oauth_error(token_request(&app, &form(&client)[..2]).await, 400).await,
        "invalid_request"
    );
    let mut elsewhere = form(&client);
    elsewhere.push(("audience", "astraflow-engine:prod".to_owned()));
    assert_eq!(
        oauth_error(token_request(&app, &elsewhere).await, 400).await,
        "invalid_target"
    );
    let json_body = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(json_body, 400).await, "invalid_request");

    // No session, no CSRF: a client with a cookie jar and a foreign Origin still gets its
    // token, since the endpoint looks at nothing but the credentials it is sent.
    let with_cookie = reqwest::Client::new()
        .post(app.url("/oauth/token"))
        .header("cookie", "astraflow_session=whatever")
        .header("origin", "https://elsewhere.example")
        .form(&form(&client))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);

    // The authorisation server metadata points at both endpoints.
    let metadata: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], app.address);
    assert_eq!(metadata["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(metadata["jwks_uri"], app.url("/oauth/jwks.json"));
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_answered_with_429_for_a_while() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = create_client(&app, &owner, "dev", &["jobs"]).await;
    let mut wrong = form(&client);
    wrong[2].1 = "guess".to_owned();
    let mut refusals = Vec::new();
    for _ in 0..12 {
        refusals.push(token_request(&app, &wrong).await.status().as_u16());
    }
    assert_eq!(&refusals[..10], [401; 10]);
    assert_eq!(&refusals[10..], [429; 2]);
    // Now even the right secret waits.
    let limited = token_request(&app, &form(&client)).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&retry_after), "{retry_after}");
    assert_eq!(oauth_error(limited, 429).await, "rate_limited");
    // Another client from the same address is not blocked yet (that limit is higher).
    let other = create_client(&app, &owner, "dev", &["jobs"]).await;
    access_token(&app, &other).await;
    app.stop().await;
}

#[tokio::test]
async fn a_token_from_the_endpoint_reaches_the_embedded_gateway_for_its_own_tenant_only() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let deployer = create_client(&app, &owner, "dev", &["deploy"]).await;
    let address = deployer["gateway_address"].as_str().unwrap();
    let token = access_token(&app, &deployer).await;
    let deploy = |tenant: &str| pb::DeployResourceRequest {
        resources: vec![pb::Resource {
            name: "tiny.bpmn".into(),
            content: TINY.as_bytes().to_vec(),
        }],
        tenant_id: tenant.into(),
    };

    let mut gateway = gateway_with_token(address, Some(&token)).await;
    let deployed = gateway.deploy_resource(deploy("acme")).await.unwrap();
    assert_eq!(deployed.into_inner().tenant_id, "acme");
    // No tenant named: the token's.
    let deployed = gateway.deploy_resource(deploy("")).await.unwrap();
    assert_eq!(deployed.into_inner().tenant_id, "acme");
    let other = gateway.deploy_resource(deploy("globex")).await.unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");
    // Only what the client may: this one deploys, it does not start instances.
    let start = gateway
        .create_process_instance(pb::CreateProcessInstanceRequest {
            bpmn_process_id: "tiny".into(),
            version: -1,
            tenant_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(start.code(), Code::PermissionDenied, "{start:?}");

    let mut anonymous = gateway_with_token(address, None).await;
    let refused = anonymous.deploy_resource(deploy("acme")).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let refused = anonymous
        .topology(pb::TopologyRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    // A token for another environment's engine is not one for this engine.
    let staging = create_client(&app, &owner, "staging", &["deploy"]).await;
    let staging_token = access_token(&app, &staging).await;
    let mut misdirected = gateway_with_token(address, Some(&staging_token)).await;
    let refused = misdirected
        .deploy_resource(deploy("acme"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains("audience"), "{refused:?}");
    app.stop().await;
}

#[tokio::test]
async fn after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_use_the_new_key() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let owner = owner_of_acme(&app).await;
    let client = create_client(&app, &owner, "dev", &["deploy"]).await;
    let address = client["gateway_address"].as_str().unwrap();
    let old_token = access_token(&app, &client).await;
    let old_kid = Verifier::key_id(&old_token).unwrap();
    let before: Value = app.get("/oauth/jwks.json").await.json().await.unwrap();
    assert_eq!(before["keys"].as_array().unwrap().len(), 1, "{before}");
    assert_eq!(before["keys"][0]["kid"], old_kid);
    assert_eq!(before["keys"][0]["kty"], "OKP");
    assert_eq!(before["keys"][0]["crv"], "Ed25519");

    let new_kid = app.authority.rotate_signing_key().await.unwrap();
    assert_ne!(new_kid, old_kid);
    let after: Value = app.get("/oauth/jwks.json").await.json().await.unwrap();
    let mut kids: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    kids.sort_unstable();
    let mut expected = vec![old_kid.as_str(), new_kid.as_str()];
    expected.sort_unstable();
    assert_eq!(kids, expected);

    let new_token = access_token(&app, &client).await;
    assert_eq!(Verifier::key_id(&new_token).unwrap(), new_kid);
    let verifier = jwks_verifier(&app, "dev").await;
    let now = now_secs();
    assert!(verifier.verify(&old_token, now).is_ok());
    assert!(verifier.verify(&new_token, now).is_ok());
    assert_eq!(
        verifier.verify(&old_token, now + 400),
        Err(TokenError::Expired)
    );

    // The running engine learnt the new key at once, and still takes the old one's tokens.
    for token in [&old_token, &new_token] {
        let mut gateway = gateway_with_token(address, Some(token)).await;
        gateway.topology(pb::TopologyRequest {}).await.unwrap();
    }
    // The server's own calls go on too: a deployment through the control plane.
    let workflow = crate::deployments::create_workflow(&app, &owner, TINY).await;
    let requested = crate::deployments::deploy(
        &app,
        &owner,
        json!({ "workflow_id": workflow["id"], "environment": "dev" }),
    )
    .await;
    let settled =
        crate::deployments::settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(settled["state"], "deployed", "{settled}");

    // A restarted server loads the same keys from the database.
    let restarted =
        server::engine_access::Authority::load(app.owner_pool().await, app.address.clone())
            .await
            .unwrap();
    assert_eq!(restarted.current_kid(), new_kid);
    assert_eq!(restarted.key_set(), app.authority.key_set());
    app.stop().await;
}

#[tokio::test]
async fn engine_clients_are_confined_by_row_level_security_and_signing_keys_to_the_platform() {
    use server::{
        audit::Actor,
        db,
        domain::TenantId,
        engine_access::{Authority, service},
        tenants,
    };

    let pool = crate::helpers::migrated_pool().await;
    let actor = Actor::system();
    let mut tx = db::begin_platform(&pool).await.unwrap();
    for id in ["tenant-a", "tenant-b"] {
        let new = serde_json::from_value(json!({ "id": id, "name": id })).unwrap();
        tenants::service::create_in(&mut tx, new, None, &actor)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let (a, b) = (
        TenantId::new("tenant-a").unwrap(),
        TenantId::new("tenant-b").unwrap(),
    );
    let mut ids = Vec::new();
    for tenant in [&a, &b] {
        let mut tx = db::begin_tenant(&pool, tenant, None).await.unwrap();
        let created = service::create_client(
            &mut tx,
            tenant,
            "dev",
            "worker",
            &[engine::auth::Permission::Jobs],
            None,
            &actor,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        ids.push(created.client_id);
    }
    // Keys exist once the authority has loaded.
    Authority::load(pool.clone(), "http://issuer.test".into())
        .await
        .unwrap();

    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let visible: Vec<String> = sqlx::query_scalar("select client_id from engine_clients")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, [ids[0].clone()]);
    let revoked = sqlx::query("update engine_clients set revoked_at = now() where client_id = $1")
        .bind(&ids[1])
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(revoked.rows_affected(), 0);
    let error = sqlx::query(
        "insert into engine_clients (tenant_id, environment, client_id, secret_hash, name, \
         permissions) values ('tenant-b', 'dev', $1, $2, 'x', '{jobs}')",
    )
    .bind(format!("astc_{}", "2".repeat(32)))
    .bind(vec![0u8; 32])
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    // Permissions outside the four, or none, never reach the table.
    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let error = sqlx::query(
        "insert into engine_clients (tenant_id, environment, client_id, secret_hash, name, \
         permissions) values ('tenant-a', 'dev', $1, $2, 'x', '{admin}')",
    )
    .bind(format!("astc_{}", "3".repeat(32)))
    .bind(vec![0u8; 32])
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("check constraint"), "{error}");
    tx.rollback().await.unwrap();

    // No tenant transaction can read a private key, not even with a WHERE-less query.
    let mut tx = db::begin_tenant(&pool, &a, None).await.unwrap();
    let error = sqlx::query("select seed from oauth_signing_keys")
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    tx.rollback().await.unwrap();
    let mut tx = db::begin_platform(&pool).await.unwrap();
    let keys: i64 = sqlx::query_scalar("select count(*) from oauth_signing_keys")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(keys, 1);
}

/// A self-signed certificate for 127.0.0.1 and its key, made with the machine's `openssl`.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("gateway.pem"), dir.join("gateway.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=astraflow-gateway"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

#[tokio::test]
async fn embedded_gateways_serve_remote_workers_over_tls_when_configured() {
    let dir = crate::helpers::shared_tempdir();
    let (cert, key) = self_signed(dir.path());
    let mut config =
        crate::helpers::test_config(Some(crate::helpers::create_database().await), dir.path());
    // Off loopback without TLS the server refuses to start.
    config.engines.gateway_host = Some("0.0.0.0".parse().unwrap());
    let refused = config.engines.gateway_listen().unwrap_err();
    assert!(
        format!("{refused:#}").contains("without TLS"),
        "{refused:#}"
    );
    config.engines.gateway_tls_cert = Some(cert.clone());
    config.engines.gateway_tls_key = Some(key);
    let app = TestApp::spawn(config).await;
    let owner = owner_of_acme(&app).await;

    // The control plane reaches its own engine over TLS (deploying starts the engine).
    let client = create_client(&app, &owner, "dev", &["deploy", "instances"]).await;
    let port: u16 = client["gateway_address"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    let token = access_token(&app, &client).await;

    // A worker elsewhere trusts the certificate and connects with its token.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            std::fs::read(&cert).unwrap(),
        ))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection to the embedded gateway");
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    let mut worker =
        pb::GatewayClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        });
    let deployed = worker
        .deploy_resource(pb::DeployResourceRequest {
            resources: vec![pb::Resource {
                name: "tiny.bpmn".into(),
                content: TINY.as_bytes().to_vec(),
            }],
            tenant_id: String::new(),
        })
        .await
        .expect("deploys over TLS")
        .into_inner();
    assert_eq!(deployed.tenant_id, "acme");

    // The control plane's own deployment goes over TLS too.
    crate::deployments::declare_payments(&app, &owner).await;
    let workflow =
        crate::deployments::create_workflow(&app, &owner, &crate::deployments::order_bpmn("tls"))
            .await;
    let requested = crate::deployments::deploy(
        &app,
        &owner,
        json!({ "workflow_id": workflow["id"], "environment": "dev" }),
    )
    .await;
    let deployed =
        crate::deployments::settled(&app, &owner, requested["id"].as_str().unwrap()).await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");

    // Plaintext is not served.
    if let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
    {
        let mut plain = pb::GatewayClient::new(channel);
        assert!(plain.topology(pb::TopologyRequest {}).await.is_err());
    }
    app.stop().await;
}
