//! `/metrics`, scraped by a real Prometheus (Debian's package): the series exist, move with
//! the traffic, and carry route templates, never a tenant's id.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::{
    auth::PASSWORD,
    helpers::{TestApp, create_database, free_port, shared_tempdir, test_config},
};

pub(crate) struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Prometheus scraping `target` (`host:port`) every second with `token`.
pub(crate) fn prometheus(dir: &std::path::Path, target: &str, token: &str) -> Prometheus {
    let program = std::env::var("PROMETHEUS_BIN")
        .expect("PROMETHEUS_BIN must name Debian's prometheus; scripts/test.sh installs it");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: astraflow\n    \
             authorization:\n      credentials: {token}\n    static_configs:\n      \
             - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(program)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    Prometheus { child, port }
}

/// The value of the instant vector `query` (summed), once Prometheus has one.
async fn query(prometheus: &Prometheus, query: &str) -> Option<f64> {
    let response = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/api/v1/query", prometheus.port))
        .query(&[("query", query)])
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    let result = body["data"]["result"].as_array()?;
    let first = result.first()?;
    first["value"][1].as_str()?.parse().ok()
}

pub(crate) async fn eventually(
    prometheus: &Prometheus,
    promql: &str,
    holds: impl Fn(f64) -> bool,
) -> f64 {
    for _ in 0..300 {
        if let Some(value) = query(prometheus, promql).await
            && holds(value)
        {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Prometheus never saw {promql} hold");
}

#[tokio::test]
async fn prometheus_scrapes_series_that_move_and_name_no_tenant() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.metrics.bearer_token = Some("scrape-secret".to_owned().into());
    let app = TestApp::spawn(config).await;

    // Without the token, nothing.
    let refused = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);

    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "secret-tenant", "name": "Secret" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for _ in 0..3 {
        let read = admin
            .get(app.url("/api/v1/tenants/secret-tenant"))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
    }

    let target = app.address.trim_start_matches("http://").to_owned();
    let prometheus = prometheus(dir.path(), &target, "scrape-secret");
    eventually(&prometheus, "up{job=\"astraflow\"}", |up| up == 1.0).await;
    let route = r#"route="/api/v1/tenants/{tenant}",method="GET",status="200""#;
    let before = eventually(
        &prometheus,
        &format!("astraflow_http_requests_total{{{route}}}"),
        |count| count >= 3.0,
    )
    .await;
    eventually(
        &prometheus,
        "astraflow_http_request_duration_seconds_count{route=\"/api/v1/tenants/{tenant}\"}",
        |count| count >= 3.0,
    )
    .await;
    eventually(&prometheus, "astraflow_db_pool_max_connections", |max| {
        max > 0.0
    })
    .await;
    eventually(&prometheus, "astraflow_uptime_seconds", |up| up > 0.0).await;

    // More traffic moves the counter Prometheus sees.
    for _ in 0..5 {
        admin
            .get(app.url("/api/v1/tenants/secret-tenant"))
            .send()
            .await
            .unwrap();
    }
    eventually(
        &prometheus,
        &format!("astraflow_http_requests_total{{{route}}}"),
        |count| count >= before + 5.0,
    )
    .await;
    let verified = admin
        .get(app.url("/api/v1/tenants/secret-tenant/audit/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    eventually(
        &prometheus,
        "astraflow_audit_verification_seconds_count{trail=\"control\"}",
        |count| count >= 1.0,
    )
    .await;

    // What Prometheus stores names routes, never the tenant.
    let exposition = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        exposition.contains("astraflow_websocket_clients"),
        "{exposition}"
    );
    assert!(!exposition.contains("secret-tenant"), "{exposition}");
    app.stop().await;
}
