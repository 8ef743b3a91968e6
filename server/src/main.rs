//! `astraflow`: the control-plane server.

use anyhow::Context;
use server::{
    config::Config,
    startup::{Application, shutdown_signal},
    telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load().context("loading configuration")?;
    telemetry::init(&config);
    tracing::debug!(?config, "configuration loaded");

    let application = Application::build(config).await?;
    tracing::info!("ASTRAflow is serving on http://{}", application.address());
    application.run_until(shutdown_signal()).await
}
