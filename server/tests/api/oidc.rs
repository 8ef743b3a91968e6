//! Single sign-on end to end against a real OpenID Connect provider: panva's `oidc-provider`
//! (npm), started from `end2end/oidc/provider.mjs` for each test.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use secrecy::SecretString;
use serde_json::{Value, json};
use server::config::OidcConfig;

use crate::helpers::{TestApp, create_database, free_port, shared_tempdir, test_config};

const CLIENT_ID: &str = "astraflow-test";
const CLIENT_SECRET: &str = "a-client-secret-for-tests-only";
const PASSWORD: &str = "correct horse battery";
/// A machine client for the client-credentials grant, as a cluster's OAuth server has.
const SERVICE_CLIENT_ID: &str = "astraflow-control-plane";
const SERVICE_CLIENT_SECRET: &str = "a-service-secret-for-tests-only";

/// The identity provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start(redirect_uri: &str) -> Provider {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/oidc/provider.mjs");
        let port = free_port();
        let mut child = Command::new("node")
            .arg(&script)
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", redirect_uri)
            .env("OIDC_SERVICE_CLIENT_ID", SERVICE_CLIENT_ID)
            .env("OIDC_SERVICE_CLIENT_SECRET", SERVICE_CLIENT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs end2end/oidc/provider.mjs (scripts/test.sh installs its packages)");
        // The provider prints one line once it accepts connections.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains("listening"),
            "oidc-provider did not start: {line:?}"
        );
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app configured for single sign-on with a freshly started provider.
async fn app_with_sso() -> (TestApp, Provider, tempfile::TempDir) {
    let dir = shared_tempdir();
    let port = free_port();
    let redirect_url = format!("http://127.0.0.1:{port}/auth/oidc/callback");
    let provider = Provider::start(&redirect_url);
    let mut config = test_config(Some(create_database().await), dir.path());
    config.http.port = port;
    config.auth.oidc = Some(OidcConfig {
        issuer_url: provider.issuer.clone(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(CLIENT_SECRET),
        redirect_url,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        display_name: "Test IdP".to_owned(),
    });
    (TestApp::spawn(config).await, provider, dir)
}

fn location(response: &reqwest::Response) -> String {
    let base = response.url().clone();
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("{} {} has no Location", response.status(), base))
        .to_str()
        .unwrap();
    base.join(location).unwrap().to_string()
}

/// The value of `name="…"`'s `value` or the form's `action` in the provider's login page.
fn attribute_after<'a>(html: &'a str, marker: &str, attribute: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[start..];
    let key = format!("{attribute}=\"");
    let value = &rest[rest.find(&key).unwrap() + key.len()..];
    &value[..value.find('"').unwrap()]
}

/// Runs the whole flow as a browser would, typing `login` at the provider; returns the
/// browser and where the app sent it at the end.
async fn sign_in_with_sso(app: &TestApp, login: &str) -> (reqwest::Client, String) {
    let browser = app.browser();
    let callback =
        through_provider(app, &browser, "/auth/oidc/login?next=/tenants/demo", login).await;
    let finished = browser.get(&callback).send().await.unwrap();
    assert_eq!(finished.status(), 303);
    (browser, location(&finished))
}

/// Starts a flow at `start`, signs in at the provider as `login` and returns the callback URL
/// the provider sends the browser back to (not yet followed).
async fn through_provider(
    app: &TestApp,
    browser: &reqwest::Client,
    start: &str,
    login: &str,
) -> String {
    let started = browser.get(app.url(start)).send().await.unwrap();
    assert_eq!(started.status(), 303);
    let authorize = location(&started);
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    assert!(authorize.contains("state="), "{authorize}");

    let to_interaction = browser.get(&authorize).send().await.unwrap();
    assert_eq!(to_interaction.status(), 303, "{authorize}");
    let page = browser.get(location(&to_interaction)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action = attribute_after(&html, "<form", "action").to_owned();
    let submitted = browser
        .post(&action)
        .form(&[
            ("prompt", "login"),
            ("login", login),
            ("password", "anything"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 303);
    let resumed = browser.get(location(&submitted)).send().await.unwrap();
    assert_eq!(resumed.status(), 303);
    let callback = location(&resumed);
    assert!(
        callback.starts_with(&app.url("/auth/oidc/callback?")),
        "{callback}"
    );
    callback
}

async fn me(browser: &reqwest::Client, app: &TestApp) -> (u16, Value) {
    let response = browser.get(app.url("/api/v1/me")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn sso_links_an_invited_account_by_verified_email_and_signs_it_in() {
    let (app, _provider, _dir) = app_with_sso().await;
    app.create_user("owner@example.com", PASSWORD, true).await;
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    let created = owner
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "demo", "name": "Demo" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // Invited by email before the first sign-in: no password, no SSO identity yet.
    let invited = owner
        .post(app.url("/api/v1/tenants/demo/users"))
        .json(&json!({ "email": "grace.hopper@example.test", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), 201);
    let invited: Value = invited.json().await.unwrap();

    let (browser, landed) = sign_in_with_sso(&app, "grace.hopper").await;
    assert_eq!(
        landed,
        app.url("/tenants/demo"),
        "back where the flow started"
    );
    let (status, me_body) = me(&browser, &app).await;
    assert_eq!(status, 200, "{me_body}");
    assert_eq!(me_body["user_id"], invited["user_id"], "{me_body}");
    assert_eq!(me_body["label"], "grace.hopper@example.test");
    assert_eq!(
        me_body["memberships"],
        json!([{ "tenant_id": "demo", "role": "viewer" }])
    );

    // The identity is linked now: the next sign-in finds the account by issuer and subject.
    let pool = app.owner_pool().await;
    let (issuer, subject): (Option<String>, Option<String>) =
        sqlx::query_as("select oidc_issuer, oidc_subject from users where email = $1")
            .bind("grace.hopper@example.test")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(issuer.as_deref(), Some(_provider.issuer.as_str()));
    assert_eq!(subject.as_deref(), Some("grace.hopper"));
    let (again, _) = sign_in_with_sso(&app, "grace.hopper").await;
    assert_eq!(me(&again, &app).await.1["user_id"], invited["user_id"]);
    let accounts: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(accounts, 2, "no duplicate account");
    app.stop().await;
}

#[tokio::test]
async fn a_new_sso_identity_gets_an_account_without_any_tenant() {
    let (app, _provider, _dir) = app_with_sso().await;
    let (browser, _) = sign_in_with_sso(&app, "alan.turing@example.test").await;
    let (status, body) = me(&browser, &app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["label"], "alan.turing@example.test");
    assert_eq!(body["memberships"], json!([]));
    assert_eq!(body["platform_admin"], false);
    let tenants = browser
        .get(app.url("/api/v1/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.json::<Value>().await.unwrap(), json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_callback_with_a_forged_state_or_replayed_code_signs_nobody_in() {
    let (app, _provider, _dir) = app_with_sso().await;
    let browser = app.browser();
    let started = browser
        .get(app.url("/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let forged = browser
        .get(app.url("/auth/oidc/callback?code=stolen&state=not-the-one-we-sent"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303);
    let back = location(&forged);
    assert!(back.starts_with(&app.url("/login?sso_error=")), "{back}");
    assert_eq!(me(&browser, &app).await.0, 401);

    // A callback URL that worked once is worthless afterwards, even in the same browser.
    let browser = app.browser();
    let callback = through_provider(&app, &browser, "/auth/oidc/login", "mallory").await;
    let first = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&first), app.url("/tenants"));
    browser
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    let replayed = browser.get(&callback).send().await.unwrap();
    assert!(
        location(&replayed).starts_with(&app.url("/login?sso_error=")),
        "{}",
        location(&replayed)
    );
    assert_eq!(me(&browser, &app).await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn without_a_provider_configured_sso_says_so() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app
        .browser()
        .get(app.url("/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        app.url("/login?sso_error=single+sign-on+is+not+configured")
    );
    app.stop().await;
}

#[tokio::test]
async fn sso_never_takes_over_an_account_that_has_a_password() {
    let (app, _provider, _dir) = app_with_sso().await;
    app.create_user("carol@example.test", PASSWORD, false).await;
    let browser = app.browser();
    let callback = through_provider(&app, &browser, "/auth/oidc/login", "carol@example.test").await;
    let finished = browser.get(&callback).send().await.unwrap();
    let back = location(&finished);
    assert!(back.starts_with(&app.url("/login?sso_error=")), "{back}");
    assert!(back.contains("password"), "{back}");
    assert_eq!(me(&browser, &app).await.0, 401);
    app.stop().await;
}

/// An environment pointed at an external Zeebe gateway with OAuth client credentials: the
/// server fetches a token from a real OAuth server (oidc-provider's client-credentials grant)
/// and deploys over gRPC to the gateway, as it would to a Camunda 8 cluster. The gateway here is
/// one of our engines on loopback standing in for the cluster, outside the server and with
/// multi-tenancy disabled (Camunda's default); it does not check tokens, so a wrong secret
/// shows up as the token request failing.
#[tokio::test]
async fn deployments_reach_an_external_engine_with_an_oauth_token() {
    let (app, provider, dir) = app_with_sso().await;
    app.create_user("owner@example.com", PASSWORD, true).await;
    let owner = app.sign_in("owner@example.com", PASSWORD).await;
    let created = owner
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "acme", "name": "Acme" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let cluster_dir = dir.path().join("stand-in-cluster");
    let engine = tokio::task::spawn_blocking(move || {
        engine::Engine::start(engine::EngineConfig::new(cluster_dir))
    })
    .await
    .unwrap()
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cluster = listener.local_addr().unwrap();
    let (_stop_cluster, cluster_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(engine::gateway::serve(engine, listener, async {
        let _ = cluster_stopped.await;
    }));
    let point_at_cluster = |secret: &str| {
        owner
            .put(app.url("/api/v1/tenants/acme/environments/staging"))
            .json(&json!({
                "approvals_required": 0,
                "approver_roles": ["owner"],
                "require_owner_approval": false,
                "engine_kind": "external",
                "engine_address": format!("http://{cluster}"),
                "oauth_token_url": format!("{}/token", provider.issuer),
                "oauth_client_id": SERVICE_CLIENT_ID,
                "oauth_client_secret": secret,
            }))
            .send()
    };
    let xml = r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="remote" isExecutable="true"><bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent><bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" /></bpmn:process></bpmn:definitions>"#;
    let workflow: Value = owner
        .post(app.url("/api/v1/workflows"))
        .json(&json!({ "tenant_id": "acme", "bpmn_xml": xml }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let workflow_id = workflow["workflow"]["id"].as_str().unwrap().to_owned();
    let deploy_and_settle = || async {
        let requested: Value = owner
            .post(app.url("/api/v1/deployments"))
            .json(&json!({ "workflow_id": workflow_id, "environment": "staging" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = requested["id"].as_str().unwrap().to_owned();
        for _ in 0..200 {
            let found: Value = owner
                .get(app.url(&format!("/api/v1/deployments/{id}")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if matches!(found["state"].as_str(), Some("deployed" | "failed")) {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("deployment {id} did not settle");
    };

    assert_eq!(
        point_at_cluster("not-the-secret").await.unwrap().status(),
        200
    );
    let refused = deploy_and_settle().await;
    assert_eq!(refused["state"], "failed", "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("OAuth token"),
        "{refused}"
    );

    assert_eq!(
        point_at_cluster(SERVICE_CLIENT_SECRET)
            .await
            .unwrap()
            .status(),
        200
    );
    let deployed = deploy_and_settle().await;
    assert_eq!(deployed["state"], "deployed", "{deployed}");

    // The cluster has it under `<default>` (no multi-tenancy there), not under "acme".
    let mut gateway = zeebe::gateway::GatewayClient::connect(format!("http://{cluster}"))
        .await
        .unwrap();
    let started = gateway
        .create_process_instance(zeebe::gateway::CreateProcessInstanceRequest {
            bpmn_process_id: "remote".into(),
            version: -1,
            tenant_id: "<default>".into(),
            ..Default::default()
        })
        .await;
    assert!(started.is_ok(), "{started:?}");
    app.stop().await;
}
