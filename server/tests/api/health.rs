use server::embedded_pg::{EmbeddedPostgres, Settings};
use sqlx::ConnectOptions;

use crate::helpers::{TestApp, shared_tempdir, test_config};

#[tokio::test]
async fn healthz_answers_ok() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn readyz_is_ready_once_migrated() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

/// The server keeps running while its database is away, reports 503, and recovers by itself.
#[tokio::test]
async fn readyz_follows_the_database_down_and_back_up() {
    let dir = shared_tempdir();
    let mut database = EmbeddedPostgres::start(Settings {
        data_dir: dir.path().join("db"),
        bin_dir: None,
        port: 0,
        system_user: "postgres".to_owned(),
    })
    .await
    .expect("a PostgreSQL starts");
    let url = database.connect_options().to_url_lossy().to_string();
    let app = TestApp::spawn(test_config(Some(url), dir.path())).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    database.stop().await.unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"].as_str().unwrap().contains("unreachable"),
        "{body}"
    );
    // Liveness is unaffected: restarting the process would not help.
    assert_eq!(app.get("/healthz").await.status(), 200);

    database.restart().await.unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);

    app.stop().await;
    database.stop().await.unwrap();
}

#[tokio::test]
async fn readyz_reports_missing_migrations() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let pool = sqlx::PgPool::connect(app.database_url.as_deref().unwrap())
        .await
        .unwrap();
    sqlx::query("update _sqlx_migrations set success = false")
        .execute(&pool)
        .await
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("migrations not applied"),
        "{body}"
    );
    app.stop().await;
}
