//! The plane's configuration: built-in defaults, then an optional TOML file, then the
//! environment, as the server's.
//!
//! Environment variables use the `ASTRAFLOW_PLANE_` prefix and `__` between nested keys, e.g.
//! `ASTRAFLOW_PLANE_TENANT=acme` or `ASTRAFLOW_PLANE_OAUTH__CLIENT_SECRET=…`. The file is
//! `astraflow-plane.toml` in the working directory, or the path in `ASTRAFLOW_PLANE_CONFIG`.
//! Secrets (`oauth.client_secret`) are [`SecretString`]s: `Debug` prints them redacted, so
//! the configuration can be logged whole.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

/// Everything a plane needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The one tenant whose jobs this plane takes (Zeebe's tenant id).
    pub tenant: String,
    /// The worker name the engine records on every job this plane activates.
    pub worker_name: String,
    pub gateway: GatewayConfig,
    pub oauth: OAuthConfig,
    pub jobs: JobsConfig,
    pub connectors: ConnectorsConfig,
    pub retry: RetryConfig,
    pub breaker: BreakerConfig,
    pub secrets: SecretsConfig,
    pub journal: JournalConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub control_plane: ControlPlaneConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tenant: String::new(),
            worker_name: "astraflow-plane".into(),
            gateway: GatewayConfig::default(),
            oauth: OAuthConfig::default(),
            jobs: JobsConfig::default(),
            connectors: ConnectorsConfig::default(),
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
            secrets: SecretsConfig::default(),
            journal: JournalConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            control_plane: ControlPlaneConfig::default(),
        }
    }
}

/// Where the Zeebe gateway is: ours (`astraflow-engine`, the server's embedded engines) or a
/// Camunda 8 cluster's.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// `http://host:port` or `https://host:port`.
    pub address: String,
    /// The certificate authorities (PEM) an `https` gateway's certificate is checked
    /// against; the system's bundle by default.
    pub ca_file: PathBuf,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            address: "http://127.0.0.1:26500".into(),
            ca_file: PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
        }
    }
}

/// OAuth 2.0 client credentials for the gateway (an engine client of the tenant's
/// environment, or a Camunda 8 client).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// The token endpoint; empty means the gateway needs no token (a local engine without
    /// authentication).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// The audience to ask for (`astraflow-engine:<environment>`, or Camunda's `zeebe-api`).
    pub audience: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How long a job stays with this plane before the engine may give it to another
    /// worker; long calls extend it (`UpdateJobTimeout`) while they run.
    pub timeout_secs: u64,
    /// Push jobs with `StreamActivatedJobs`; long-polling `ActivateJobs` runs either way, for
    /// jobs that were waiting before the stream opened and for gateways without streams.
    pub stream: bool,
    /// How long one `ActivateJobs` long poll waits for jobs.
    pub poll_timeout_secs: u64,
    /// How long to finish the jobs in hand after SIGTERM before failing them back.
    pub shutdown_grace_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 300,
            stream: true,
            poll_timeout_secs: 20,
            shutdown_grace_secs: 30,
        }
    }
}

impl JobsConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorsConfig {
    pub rest: RestConfig,
}

/// The REST connector (`io.camunda:http-json:1`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    pub enabled: bool,
    /// Jobs of this connector in hand at once.
    pub max_concurrent: usize,
    /// Calls to one target host at once.
    pub max_per_host: usize,
    /// The largest response body kept, in bytes; a larger one fails the job.
    pub max_response_bytes: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_concurrent: 64,
            max_per_host: 16,
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// How a failed job comes back: `FailJob` with one retry less, after a back-off that doubles
/// with each failed attempt (a task's `retryBackoff` header is the first wait when it has
/// one), up to `max_backoff_secs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    pub initial_backoff_ms: u64,
    pub max_backoff_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff_ms: 1_000,
            max_backoff_secs: 600,
        }
    }
}

/// A circuit breaker per target host: open after `failure_threshold` consecutive failures,
/// one probe call after `open_secs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_secs: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_secs: 30,
        }
    }
}

/// Where `{{secrets.NAME}}` placeholders are resolved: a JSON file of names to values, and/or
/// environment variables `<env_prefix>NAME`. The file is read again when it changes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    pub file: Option<PathBuf>,
    pub env_prefix: Option<String>,
}

/// The execution journal: hash-chained JSON lines in segments under `dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    pub dir: PathBuf,
    /// Events per segment; a full segment is closed and a new one begun.
    pub segment_events: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from(".astraflow-plane/journal"),
            segment_events: 10_000,
        }
    }
}

/// `/metrics` and `/healthz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub host: IpAddr,
    /// 0 picks a free port (tests).
    pub port: u16,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 9464,
        }
    }
}

/// The ASTRAflow server the plane reports its heartbeat to (optional: without it the plane
/// works all the same, it only does not show on the tenant page).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlPlaneConfig {
    /// The server's base URL, e.g. `https://astraflow.example.com`.
    pub url: Option<String>,
    /// The environment the plane works for; by default the one `oauth.audience`
    /// (`astraflow-engine:<environment>`) names.
    pub environment: Option<String>,
    pub heartbeat_secs: u64,
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        Self {
            url: None,
            environment: None,
            heartbeat_secs: 15,
        }
    }
}

impl Config {
    /// The environment heartbeats name: configured, or taken from the audience.
    #[must_use]
    pub fn environment(&self) -> Option<String> {
        self.control_plane.environment.clone().or_else(|| {
            self.oauth
                .audience
                .as_deref()
                .and_then(|a| a.strip_prefix("astraflow-engine:"))
                .map(str::to_owned)
        })
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `json` for one JSON object per line; anything else is human-readable.
    pub format: Option<String>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(Box<figment::Error>),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl Config {
    /// Loads the configuration from the process environment and the optional file, and
    /// checks it.
    pub fn load() -> Result<Self, ConfigError> {
        let config = Self::load_unchecked()?;
        config.validate()?;
        Ok(config)
    }

    /// Loads without the checks, for commands that need only part of it (the journal's
    /// directory, say).
    pub fn load_unchecked() -> Result<Self, ConfigError> {
        let file = std::env::var_os("ASTRAFLOW_PLANE_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("astraflow-plane.toml"));
        Self::figment(file)
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    fn figment(file: PathBuf) -> Figment {
        Figment::new().merge(Toml::file(file)).merge(
            Env::prefixed("ASTRAFLOW_PLANE_")
                .ignore(&["config"])
                .split("__"),
        )
    }

    /// Checks what serde cannot: the tenant id's rule, a usable gateway address, and
    /// credentials that are either complete or absent.
    pub fn validate(&self) -> Result<(), ConfigError> {
        zeebe::tenant::TenantId::new(&self.tenant).map_err(|e| ConfigError::Invalid {
            field: "tenant",
            message: e.to_string(),
        })?;
        let address = url::Url::parse(&self.gateway.address).map_err(|e| ConfigError::Invalid {
            field: "gateway.address",
            message: format!("not a URL ({e}); write it as http://host:port"),
        })?;
        if !matches!(address.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid {
                field: "gateway.address",
                message: "the scheme must be http or https".into(),
            });
        }
        if !self.oauth.token_url.is_empty()
            && (self.oauth.client_id.is_empty() || self.oauth.client_secret.is_none())
        {
            return Err(ConfigError::Invalid {
                field: "oauth",
                message: "a token_url needs a client_id and a client_secret".into(),
            });
        }
        if self.connectors.rest.max_concurrent == 0 || self.connectors.rest.max_per_host == 0 {
            return Err(ConfigError::Invalid {
                field: "connectors.rest",
                message: "max_concurrent and max_per_host must be at least 1".into(),
            });
        }
        if self.control_plane.url.is_some() && self.environment().is_none() {
            return Err(ConfigError::Invalid {
                field: "control_plane.environment",
                message: "heartbeats name an environment: set it, or an oauth.audience of astraflow-engine:<environment>".into(),
            });
        }
        if self.breaker.failure_threshold == 0 {
            return Err(ConfigError::Invalid {
                field: "breaker.failure_threshold",
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        for (key, value) in pairs {
            figment = figment.merge((*key, *value));
        }
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn the_secret_never_reaches_debug_output() {
        let config = with(&[
            ("tenant", "acme"),
            ("oauth.token_url", "http://127.0.0.1:1/oauth/token"),
            ("oauth.client_id", "astc_x"),
            ("oauth.client_secret", "hunter2-very-secret"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("astc_x"));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (vec![], "tenant"),
            (vec![("tenant", "not a tenant!")], "tenant"),
            (
                vec![("tenant", "acme"), ("gateway.address", "127.0.0.1:26500")],
                "gateway.address",
            ),
            (
                vec![("tenant", "acme"), ("oauth.token_url", "http://x/token")],
                "oauth",
            ),
        ];
        for (pairs, field) in cases {
            match with(&pairs) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field, "{pairs:?}"),
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        assert!(matches!(
            with(&[("tenant", "acme"), ("no_such_key", "1")]),
            Err(ConfigError::Load(_))
        ));
    }
}
