use crate::helpers::TestApp;

#[tokio::test]
async fn home_page_is_rendered_on_the_server() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Workflow orchestration control plane"),
        "{html}"
    );
    assert!(
        html.contains("/pkg/astraflow.js"),
        "hydration script missing: {html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn tenant_pages_render_on_the_server_and_ask_to_sign_in() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let login = app.get("/login").await;
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    assert!(html.contains(r#"name="password""#), "{html}");

    let tenants = app.get("/tenants").await.text().await.unwrap();
    assert!(tenants.contains("<h1>Tenants</h1>"), "{tenants}");
    assert!(tenants.contains("You are not signed in."), "{tenants}");

    let deployments = app.get("/deployments").await.text().await.unwrap();
    assert!(
        deployments.contains("<h1>Deployments</h1>"),
        "{deployments}"
    );
    assert!(
        deployments.contains("You are not signed in."),
        "{deployments}"
    );

    for (path, title) in [("/monitor", "Monitor"), ("/audit", "Audit")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 401, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{path}: {html}"
        );
        assert!(html.contains("You are not signed in."), "{path}: {html}");
    }
    app.stop().await;
}

#[tokio::test]
async fn every_section_renders_and_says_plainly_when_it_is_not_available() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    for (path, title) in [
        ("/actions", "Actions"),
        ("/control-center", "ControlCenter"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{path}: {html}"
        );
        assert!(html.contains("Not available yet."), "{path}: {html}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_studio_renders_its_designer_for_anyone() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/studio").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    // The new diagram's start event is drawn on the server already, with the palette.
    assert!(html.contains(r#"data-id="StartEvent_1""#), "{html}");
    assert!(html.contains(r#"data-palette="service-task""#), "{html}");
    assert!(
        html.contains("Sign in as an editor to save workflows."),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_get_the_app_404_page() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    for path in ["/no-such-page", "/studio/nested/missing", "/pkg/missing.js"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Page not found"), "{path}: {html}");
        assert!(
            html.contains("ControlCenter"),
            "the 404 page keeps the app's navigation"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn system_status_server_function_queries_the_database() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.server_fn("system_status").await;
    assert_eq!(response.status(), 200);
    let status: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status["database_mode"], "external");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        status["database_version"]
            .as_str()
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit()
    );
    assert_eq!(
        status["migrations_applied"],
        server::db::MIGRATOR.iter().count() as i64
    );
    assert_eq!(status["installation_id"].as_str().unwrap().len(), 36);
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app
        .client
        .post(app.url("/api/fn/system_status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 11 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "the server keeps serving"
    );
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_whose_nonce_is_on_every_inline_script() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/login").await;
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-security-policy"],
        "frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "plain HTTP in development: no HSTS"
    );
    let html = response.text().await.unwrap();
    let policy = html
        .split(r#"<meta http-equiv="Content-Security-Policy" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a policy in the page: {html}"));
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("a nonce in the policy: {policy}"));
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("'unsafe-eval'"), "{policy}");
    // Every inline script the server wrote carries this response's nonce.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains(&format!(r#"nonce="{nonce}""#)) || tag.contains("src="),
            "an inline script without the nonce: <script{tag}>"
        );
    }
    // A new response, a new nonce.
    let again = app.get("/login").await.text().await.unwrap();
    assert!(!again.contains(nonce));
    // The API's answers carry the headers too.
    let api = app.get("/api/v1/me").await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    app.stop().await;
}
