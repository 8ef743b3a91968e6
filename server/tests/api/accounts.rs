//! Accounts a tenant creates belong to their person: no owner ever chooses or learns a
//! member's password, a one-time link (mailed through a real SMTP server, aiosmtpd) lets the
//! person choose it, and adding an account that already exists reveals nothing about it.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{
    auth::{PASSWORD, error_body},
    helpers::{TestApp, create_database, free_port, shared_tempdir, test_config},
};

/// aiosmtpd from PyPI, storing every message it receives in a maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(dir: &Path) -> SmtpServer {
        let program = std::env::var("AIOSMTPD_BIN").expect(
            "AIOSMTPD_BIN must name aiosmtpd; scripts/test.sh installs it \
             (server/tests/smtp/requirements.txt)",
        );
        let port = free_port();
        let maildir = dir.join("maildir");
        let child = Command::new(program)
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        SmtpServer {
            child,
            port,
            maildir,
        }
    }

    async fn ready(&self) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on {}", self.port);
    }

    /// Every message received so far, as text.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }

    /// Waits for the message to `to` and returns the one-time link's secret in it.
    async fn link_for(&self, to: &str) -> String {
        for _ in 0..200 {
            if let Some(message) = self
                .messages()
                .into_iter()
                .find(|message| message.contains(&format!("To: {to}")))
            {
                // The body is quoted-printable: long lines fold with a trailing `=`, and `=`
                // itself is `=3D` (the secret, base64url, has none of its own).
                let unfolded = message
                    .replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=");
                let start = unfolded.find("token=").expect("a link in the message") + 6;
                return unfolded[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message to {to} arrived: {:?}", self.messages());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_with_mail(dir: &Path, smtp: &SmtpServer) -> TestApp {
    let mut config = test_config(Some(create_database().await), dir);
    config.mail.smtp_url = Some(SecretString::from(format!(
        "smtp://127.0.0.1:{}",
        smtp.port
    )));
    config.mail.from = "ASTRAflow <noreply@astraflow.test>".to_owned();
    TestApp::spawn(config).await
}

async fn tenant_with_owner(app: &TestApp, admin: &reqwest::Client, id: &str) -> reqwest::Client {
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": id, "name": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let owner_email = format!("owner@{id}.example");
    app.create_user(&owner_email, PASSWORD, false).await;
    let added = admin
        .post(app.url(&format!("/api/v1/tenants/{id}/users")))
        .json(&json!({ "email": owner_email, "role": "owner" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    app.sign_in(&owner_email, PASSWORD).await
}

async fn set_password(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/set-password"))
        .json(&json!({ "token": token, "new_password": password }))
        .send()
        .await
        .unwrap()
}

async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_new_member_chooses_their_own_password_through_a_mailed_one_time_link() {
    let dir = shared_tempdir();
    let smtp = SmtpServer::start(dir.path());
    smtp.ready().await;
    let app = app_with_mail(dir.path(), &smtp).await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let owner = tenant_with_owner(&app, &admin, "alpha").await;

    // The owner cannot choose the newcomer's password any more.
    let chosen = owner
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(&json!({ "email": "new@example.com", "role": "editor", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let body = error_body(chosen, 400).await;
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let added = owner
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(&json!({ "email": "new@example.com", "role": "editor", "name": "New Person" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    // The account has no password: nothing signs in to it yet.
    assert_eq!(sign_in_status(&app, "new@example.com", PASSWORD).await, 401);
    assert_eq!(sign_in_status(&app, "new@example.com", "").await, 401);

    let token = smtp.link_for("new@example.com").await;
    let message = smtp.messages().join("\n");
    assert!(
        message.contains("From: ASTRAflow <noreply@astraflow.test>"),
        "{message}"
    );
    assert!(message.contains("/set-password?token"), "{message}");
    // Only its hash is stored.
    let pool = app.owner_pool().await;
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select token_hash from password_links")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token.as_bytes());

    // A weak password is refused and leaves the link usable.
    let weak = error_body(set_password(&app, &token, "short").await, 422).await;
    assert!(
        weak["message"]
            .as_str()
            .unwrap()
            .starts_with("new_password:"),
        "{weak}"
    );
    let chosen = "the newcomer's own passphrase";
    assert_eq!(set_password(&app, &token, chosen).await.status(), 204);
    assert_eq!(sign_in_status(&app, "new@example.com", chosen).await, 200);

    // The link works once.
    let again = error_body(
        set_password(&app, &token, "another fine passphrase").await,
        404,
    )
    .await;
    assert_eq!(again["code"], "invalid_link", "{again}");
    assert_eq!(sign_in_status(&app, "new@example.com", chosen).await, 200);
    // A made-up link is refused the same way.
    let forged = error_body(set_password(&app, &"A".repeat(43), chosen).await, 404).await;
    assert_eq!(forged["code"], "invalid_link", "{forged}");
    app.stop().await;
}

#[tokio::test]
async fn an_account_cannot_be_pre_claimed_and_adding_it_elsewhere_reveals_nothing() {
    let dir = shared_tempdir();
    let smtp = SmtpServer::start(dir.path());
    smtp.ready().await;
    let app = app_with_mail(dir.path(), &smtp).await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let mallory = tenant_with_owner(&app, &admin, "alpha").await;
    let bob = tenant_with_owner(&app, &admin, "beta").await;

    // Mallory, owner of alpha, adds her target's email first, naming the account herself.
    let added = mallory
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(
            &json!({ "email": "victim@example.com", "role": "viewer", "name": "Pwned By Mallory" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let link = smtp.link_for("victim@example.com").await;
    // The link went to the victim, not to Mallory; she cannot sign in as the account.
    assert_eq!(
        sign_in_status(&app, "victim@example.com", PASSWORD).await,
        401
    );
    // Nor can she have a fresh link made: that is for platform administrators.
    let made = mallory
        .post(app.url("/api/v1/platform/password-links"))
        .json(&json!({ "email": "victim@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 403);
    // The victim sets a password and lives in the account from now on.
    assert_eq!(
        set_password(&app, &link, "victim's own passphrase")
            .await
            .status(),
        204
    );

    // Bob, owner of beta, adds the same email and a new one; both answers look alike and
    // neither names the account as Mallory did.
    let mut answers = Vec::new();
    for email in ["victim@example.com", "fresh@example.com"] {
        let added: Value = bob
            .post(app.url("/api/v1/tenants/beta/users"))
            .json(&json!({ "email": email, "role": "viewer" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answers.push(added);
    }
    let keys = |value: &Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&answers[0]), keys(&answers[1]));
    assert_eq!(answers[0]["name"], "victim");
    assert_eq!(answers[1]["name"], "fresh");
    let members: Value = bob
        .get(app.url("/api/v1/tenants/beta/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = members.to_string();
    assert!(!text.contains("Pwned"), "{text}");
    // Only the new account got mail from Bob's additions.
    smtp.link_for("fresh@example.com").await;
    let to_victim = smtp
        .messages()
        .into_iter()
        .filter(|message| message.contains("To: victim@example.com"))
        .count();
    assert_eq!(
        to_victim, 1,
        "an existing account gets no new link when added"
    );
    assert_eq!(
        sign_in_status(&app, "victim@example.com", "victim's own passphrase").await,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_tenant_role_can_neither_write_a_password_nor_link_an_existing_account() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let existing = app
        .create_user("someone@example.com", PASSWORD, false)
        .await;
    let pool = app.owner_pool().await;
    sqlx::query("insert into tenants (id, name) values ('alpha', 'Alpha')")
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = server::db::begin_tenant(
        &pool,
        &server::domain::TenantId::new("alpha").unwrap(),
        None,
    )
    .await
    .unwrap();
    let error = sqlx::query(
        "insert into users (id, email, name, password_hash) \
         values (gen_random_uuid(), 'x@example.com', 'x', 'chosen')",
    )
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    tx.rollback().await.unwrap();

    let mut tx = server::db::begin_tenant(
        &pool,
        &server::domain::TenantId::new("alpha").unwrap(),
        None,
    )
    .await
    .unwrap();
    let issued: bool = sqlx::query_scalar(
        "select issue_first_password_link($1, sha256('guess'::bytea), now() + interval '1 day')",
    )
    .bind(existing)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert!(
        !issued,
        "an account that existed before gets no link from a tenant"
    );
    let error = sqlx::query("select count(*) from password_links")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
    tx.rollback().await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_platform_administrator_resets_a_password_with_a_link_that_ends_every_session() {
    // No mail server: the link is printed on the console and handed to the administrator.
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    app.create_user("forgetful@example.com", PASSWORD, false)
        .await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let stolen = app.sign_in("forgetful@example.com", PASSWORD).await;
    assert_eq!(
        stolen
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let unknown = admin
        .post(app.url("/api/v1/platform/password-links"))
        .json(&json!({ "email": "nobody@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let made = |email: &'static str| {
        admin
            .post(app.url("/api/v1/platform/password-links"))
            .json(&json!({ "email": email }))
            .send()
    };
    let token_of = |link: &Value| {
        let url = url::Url::parse(link["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.path(), "/set-password");
        url.query_pairs()
            .find(|(key, _)| key == "token")
            .unwrap()
            .1
            .into_owned()
    };
    let first: Value = made("Forgetful@Example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["delivery"], "printed", "{first}");
    assert_eq!(first["email"], "forgetful@example.com");
    let second: Value = made("forgetful@example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A newer link voids the older one.
    let old = error_body(
        set_password(&app, &token_of(&first), "a brand new passphrase").await,
        404,
    )
    .await;
    assert_eq!(old["code"], "invalid_link", "{old}");
    assert_eq!(
        set_password(&app, &token_of(&second), "a brand new passphrase")
            .await
            .status(),
        204
    );
    // Whoever held a session of the account holds nothing now.
    assert_eq!(
        stolen
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        sign_in_status(&app, "forgetful@example.com", PASSWORD).await,
        401
    );
    assert_eq!(
        sign_in_status(&app, "forgetful@example.com", "a brand new passphrase").await,
        200
    );

    // An expired link is refused.
    let third: Value = made("forgetful@example.com")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sqlx::query(
        "update password_links set created_at = now() - interval '2 days', \
         expires_at = now() - interval '1 second' where used_at is null",
    )
    .execute(&app.owner_pool().await)
    .await
    .unwrap();
    let expired = error_body(
        set_password(&app, &token_of(&third), "yet another passphrase").await,
        404,
    )
    .await;
    assert_eq!(expired["code"], "invalid_link", "{expired}");
    app.stop().await;
}
