//! The zero-configuration mode: the server runs its own PostgreSQL.

use std::path::Path;

use crate::helpers::{TestApp, shared_tempdir, test_config};

async fn installation_id(app: &TestApp) -> String {
    let status: serde_json::Value = app.server_fn("system_status").await.json().await.unwrap();
    assert_eq!(status["database_mode"], "embedded");
    status["installation_id"].as_str().unwrap().to_owned()
}

/// True while a PostgreSQL process serves `data_dir`.
fn postgres_running(data_dir: &Path) -> bool {
    let Ok(pid_file) = std::fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let pid = pid_file.lines().next().unwrap().trim();
    Path::new("/proc").join(pid).exists()
}

#[tokio::test]
async fn embedded_database_is_created_stopped_and_reused() {
    let dir = shared_tempdir();
    let data_dir = dir.path().join("pg");

    let app = TestApp::spawn(test_config(None, dir.path())).await;
    assert!(
        data_dir.join("PG_VERSION").exists(),
        "first start initialises the data directory"
    );
    assert!(postgres_running(&data_dir));
    assert_eq!(app.get("/readyz").await.status(), 200);
    let first = installation_id(&app).await;
    app.stop().await;
    assert!(
        !postgres_running(&data_dir),
        "shutdown stops the embedded PostgreSQL"
    );

    let app = TestApp::spawn(test_config(None, dir.path())).await;
    assert_eq!(
        installation_id(&app).await,
        first,
        "the second start reuses the data"
    );
    app.stop().await;
    assert!(!postgres_running(&data_dir));
}

#[tokio::test]
async fn a_postgres_left_behind_by_a_killed_server_is_taken_over() {
    use server::embedded_pg::{EmbeddedPostgres, Settings};

    let dir = shared_tempdir();
    let settings = Settings {
        data_dir: dir.path().join("pg"),
        bin_dir: None,
        port: 0,
        system_user: "postgres".to_owned(),
    };
    // Simulate a server that died without stopping its database: forget the handle.
    let orphan = EmbeddedPostgres::start(settings.clone()).await.unwrap();
    std::mem::forget(orphan);
    assert!(postgres_running(&settings.data_dir));

    let mut adopted = EmbeddedPostgres::start(settings.clone())
        .await
        .expect("the next start");
    assert!(postgres_running(&settings.data_dir));
    adopted.stop().await.unwrap();
    assert!(!postgres_running(&settings.data_dir));
}

/// The default data directory is relative (`.astraflow`); PostgreSQL's tools run elsewhere.
#[tokio::test]
async fn a_relative_data_directory_is_resolved() {
    use std::os::unix::fs::PermissionsExt;

    use server::embedded_pg::{EmbeddedPostgres, Settings};

    let dir = tempfile::tempdir_in(".").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let relative = Path::new(dir.path().file_name().unwrap()).join("pg");
    assert!(relative.is_relative());

    let mut database = EmbeddedPostgres::start(Settings {
        data_dir: relative.clone(),
        bin_dir: None,
        port: 0,
        system_user: "postgres".to_owned(),
    })
    .await
    .expect("starts with a relative data directory");
    assert!(postgres_running(&relative));
    database.stop().await.unwrap();
}

/// `ASTRAFLOW_DATA_DIR=$(mktemp -d)` under root: a folder only root may enter. PostgreSQL runs
/// as `postgres`, which is let through it (group pass-through only) rather than left to fail
/// inside `initdb`.
#[tokio::test]
async fn a_private_data_directory_under_root_is_made_passable_for_the_database_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use server::embedded_pg::{EmbeddedPostgres, Settings};

    if !nix::unistd::geteuid().is_root() {
        // Without root the database runs as the server's own account: nothing to pass.
        return;
    }
    let outer = shared_tempdir();
    let private = outer.path().join("data");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(private.join("secret"), "the server's own").unwrap();
    std::fs::set_permissions(
        private.join("secret"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let mut database = EmbeddedPostgres::start(Settings {
        data_dir: private.join("pg"),
        bin_dir: None,
        port: 0,
        system_user: "postgres".to_owned(),
    })
    .await
    .expect("starts inside a 0700 root-owned data directory");
    assert!(postgres_running(&private.join("pg")));
    database.stop().await.unwrap();

    let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
    let meta = std::fs::metadata(&private).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o710,
        "pass-through for the group, nothing more"
    );
    assert_eq!(meta.gid(), postgres.gid.as_raw());
    assert_eq!(
        std::fs::metadata(private.join("secret")).unwrap().mode() & 0o777,
        0o600
    );
}

/// A private folder further up, which the server does not own, is named in the error with the
/// change to make.
#[tokio::test]
async fn an_unpassable_folder_above_is_reported_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;

    use server::embedded_pg::{EmbeddedPgError, EmbeddedPostgres, Settings};

    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let outer = shared_tempdir();
    let locked = outer.path().join("locked");
    let data = locked.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();

    let error = EmbeddedPostgres::start(Settings {
        data_dir: data.join("pg"),
        bin_dir: None,
        port: 0,
        system_user: "postgres".to_owned(),
    })
    .await
    .expect_err("postgres cannot pass the folder above the data directory");
    assert!(
        matches!(&error, EmbeddedPgError::Unreachable { path, .. } if *path == locked),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("chmod o+x {}", locked.display())),
        "{message}"
    );
    assert!(message.contains("ASTRAFLOW_DATA_DIR"), "{message}");
    assert!(!data.join("pg").exists(), "nothing was half-created");
}
