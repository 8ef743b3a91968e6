//! First start: a demo tenant and an administrator, so a new installation can be used at once.
//!
//! The administrator's password is generated here, printed once on the console (never logged,
//! never stored in clear) and must be replaced at first sign-in: until then the policy refuses
//! everything but the password change.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    audit::Actor,
    auth::password,
    db,
    tenants::{NewTenant, service as tenants},
};

pub const ADMIN_EMAIL: &str = "admin@astraflow.local";
pub const DEMO_TENANT: &str = "demo";

/// The administrator created at first start and their one-time password (`None` when the
/// operator chose the password).
pub struct FirstAdmin {
    pub email: String,
    pub password: Option<String>,
}

/// Seeds the installation if it has no accounts yet; returns the new administrator. Runs under
/// an advisory lock so two servers starting on one database seed once.
pub async fn first_start(
    pool: &PgPool,
    chosen_password: Option<&SecretString>,
) -> anyhow::Result<Option<FirstAdmin>> {
    let mut tx = db::begin_platform(pool).await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('astraflow:first_start', 0))")
        .execute(&mut *tx)
        .await?;
    let accounts: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut *tx)
        .await?;
    if accounts > 0 {
        return Ok(None);
    }
    let (password, one_time) = match chosen_password {
        Some(chosen) => {
            password::check_strength(chosen.expose_secret())
                .map_err(|why| anyhow::anyhow!("initial_admin_password {why}"))?;
            (chosen.expose_secret().to_owned(), None)
        }
        None => {
            let generated = password::generate();
            (generated.clone(), Some(generated))
        }
    };
    let hash = password::hash(password).await?;
    let admin: Uuid = sqlx::query_scalar(
        "insert into users (email, name, password_hash, must_change_password) \
         values ($1, 'Administrator', $2, $3) returning id",
    )
    .bind(ADMIN_EMAIL)
    .bind(hash)
    .bind(one_time.is_some())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("insert into platform_admins (user_id) values ($1)")
        .bind(admin)
        .execute(&mut *tx)
        .await?;
    let demo: NewTenant = serde_json::from_value(serde_json::json!({
        "id": DEMO_TENANT,
        "name": "Demo",
    }))?;
    tenants::create_in(&mut tx, demo, Some(admin), &Actor::system())
        .await
        .context("creating the demo tenant")?;
    tx.commit().await?;
    Ok(Some(FirstAdmin {
        email: ADMIN_EMAIL.to_owned(),
        password: one_time,
    }))
}
