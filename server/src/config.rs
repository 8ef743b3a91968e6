//! Typed configuration: built-in defaults, then an optional TOML file, then environment.
//!
//! Environment variables use the `ASTRAFLOW_` prefix and `__` between nested keys, e.g.
//! `ASTRAFLOW_HTTP__PORT=8080` or `ASTRAFLOW_LOG__FORMAT=json`. The file is `astraflow.toml` in
//! the working directory, or the path in `ASTRAFLOW_CONFIG`. The conventional `DATABASE_URL` is
//! honoured too, so the server works with the tools that expect it.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

/// Everything the server needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `development` (pretty logs) or `production` (JSON logs).
    pub environment: Environment,
    /// Directory for the server's own state (the embedded database lives under it).
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub embedded_postgres: EmbeddedPostgresConfig,
    pub site: SiteConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub engines: EnginesConfig,
    pub monitor: MonitorConfig,
    pub mail: MailConfig,
    pub audit: AuditConfig,
    pub metrics: MetricsConfig,
    /// At first start (no accounts yet), create a demo tenant and an administrator whose
    /// one-time password is printed once on the console.
    pub seed_demo: bool,
    /// The first-start administrator's password, when the operator (or a test harness) wants
    /// to choose it instead of having one generated and printed. A chosen password is not
    /// forced to change at first sign-in.
    pub initial_admin_password: Option<SecretString>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            data_dir: PathBuf::from(".astraflow"),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            embedded_postgres: EmbeddedPostgresConfig::default(),
            site: SiteConfig::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            engines: EnginesConfig::default(),
            monitor: MonitorConfig::default(),
            mail: MailConfig::default(),
            audit: AuditConfig::default(),
            metrics: MetricsConfig::default(),
            seed_demo: true,
            initial_admin_password: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub host: IpAddr,
    /// 0 picks a free port (tests do this).
    pub port: u16,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The URL clients reach the server at, e.g. `https://astraflow.example.com` (behind a
    /// reverse proxy, the proxy's). It is the issuer of the engines' access tokens and the
    /// base of the token URL given to engine clients. Default: `http://<host>:<port>` of the
    /// listener (loopback when it listens on every interface).
    pub public_url: Option<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-Proto: https` is believed: a request
    /// they forward over TLS gets `Secure` cookies and HSTS, as a request made over TLS does.
    /// A header from any other address is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Seconds a client has to send a request's head; also how long a keep-alive connection
    /// may sit idle between requests.
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take until its answer starts (slow bodies included); 408 after.
    pub request_timeout_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3000,
            body_limit: 10 * 1024 * 1024,
            public_url: None,
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 30,
            request_timeout_secs: 60,
        }
    }
}

impl HttpConfig {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The public base URL (see [`HttpConfig::public_url`]), without a trailing slash, for a
    /// server listening on `bound`.
    pub fn public_base_url(&self, bound: SocketAddr) -> Result<String, String> {
        if let Some(configured) = &self.public_url {
            let url = url::Url::parse(configured)
                .map_err(|error| format!("http.public_url {configured:?}: {error}"))?;
            if !matches!(url.scheme(), "http" | "https")
                || url.host().is_none()
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(format!(
                    "http.public_url {configured:?} must be an http or https URL without query \
                     or fragment"
                ));
            }
            return Ok(configured.trim_end_matches('/').to_owned());
        }
        let host = match bound.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Ok(format!("http://{}", SocketAddr::new(host, bound.port())))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// An external PostgreSQL. When absent the server starts its own embedded instance.
    pub url: Option<SecretString>,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it fails.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            acquire_timeout_secs: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedPostgresConfig {
    /// Directory holding `initdb`, `postgres` and `pg_ctl`. Found automatically when unset.
    pub bin_dir: Option<PathBuf>,
    /// Loopback port for the private instance; 0 picks a free one at each start.
    pub port: u16,
    /// PostgreSQL refuses to run as root. When the server runs as root it runs the database as
    /// this account instead.
    pub system_user: String,
}

impl Default for EmbeddedPostgresConfig {
    fn default() -> Self {
        Self {
            bin_dir: None,
            port: 0,
            system_user: "postgres".to_owned(),
        }
    }
}

/// Sessions and sign-in.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A session unused for this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_hours: i64,
    /// Mark the session cookie `Secure`. Defaults to on in production (which runs behind TLS).
    pub secure_cookies: Option<bool>,
    /// Consecutive failed sign-ins before the account is locked.
    pub max_failed_logins: i32,
    /// First lockout; it doubles with every further failure, up to an hour.
    pub lockout_secs: i64,
    /// Requests a minute per API token or signed-in user (seed 000 §12.2).
    pub requests_per_minute: u32,
    /// Sign-in attempts a minute from one client address, counted before any password is
    /// checked.
    pub sign_ins_per_minute_per_address: u32,
    /// Sign-in attempts a minute for one email address, from anywhere.
    pub sign_ins_per_minute_per_account: u32,
    /// Single sign-on with an OpenID Connect provider; off when absent.
    pub oidc: Option<OidcConfig>,
}

/// An OpenID Connect provider for single sign-on (authorization code flow with PKCE).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer, whose `/.well-known/openid-configuration` is discovered.
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// This server's callback as registered with the provider:
    /// `<public URL>/auth/oidc/callback`.
    pub redirect_url: String,
    /// Scopes to request; `openid` is always requested.
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// The sign-in button says "Sign in with <display_name>".
    #[serde(default = "default_oidc_display_name")]
    pub display_name: String,
}

fn default_oidc_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

fn default_oidc_display_name() -> String {
    "SSO".to_owned()
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            secure_cookies: None,
            max_failed_logins: 5,
            lockout_secs: 30,
            requests_per_minute: 1000,
            sign_ins_per_minute_per_address: 30,
            sign_ins_per_minute_per_account: 10,
            oidc: None,
        }
    }
}

/// `GET /metrics` for Prometheus.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// When set, a scrape must send `Authorization: Bearer <token>`.
    pub bearer_token: Option<SecretString>,
}

/// Signed checkpoints of the audit chains' heads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The Ed25519 key that signs checkpoints (64 hex digits), created on first start.
    /// Default: `<data_dir>/audit-checkpoint.key`. Keep it, and a copy, away from the database.
    pub checkpoint_key_file: Option<PathBuf>,
    /// The file every checkpoint this server signs is appended to. Default:
    /// `<data_dir>/audit-checkpoints.jsonl`.
    pub checkpoint_log: Option<PathBuf>,
    /// How often the heads of grown chains are signed.
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_key_file: None,
            checkpoint_log: None,
            checkpoint_interval_secs: 300,
        }
    }
}

/// Where the server's mail (one-time links that set a password) goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server: `smtp://host:port` (plain, or `?tls=required` for STARTTLS) or
    /// `smtps://user:password@host` (TLS from the start). Unset: messages are printed on the
    /// console for the operator to pass on.
    pub smtp_url: Option<SecretString>,
    /// The sender, e.g. `ASTRAflow <astraflow@example.com>`.
    pub from: String,
    /// How long one exchange with the SMTP server may take.
    pub timeout_secs: u64,
    /// How long a link that sets a password stays valid.
    pub password_link_hours: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "ASTRAflow <astraflow@localhost>".to_owned(),
            timeout_secs: 10,
            password_link_hours: 72,
        }
    }
}

/// The workflow engines deployments go to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnginesConfig {
    /// Whether tenants' external engines and token endpoints may be on loopback or private
    /// networks. Defaults to allowed in development (a local Zeebe) and refused in production.
    pub allow_private_addresses: Option<bool>,
    /// The address the embedded engines' gateways listen on (each on a port of its own).
    /// Loopback by default; anything else needs TLS (`gateway_tls_cert` and `gateway_tls_key`)
    /// so tokens and job variables never cross a network in clear.
    pub gateway_host: Option<IpAddr>,
    /// PEM certificate chain the embedded gateways serve TLS with.
    pub gateway_tls_cert: Option<PathBuf>,
    /// PEM private key of `gateway_tls_cert`.
    pub gateway_tls_key: Option<PathBuf>,
}

/// How the embedded engines' gateways listen, read from [`EnginesConfig`].
#[derive(Clone)]
pub struct GatewayListen {
    /// The address to bind.
    pub host: IpAddr,
    /// The certificate chain and key, when serving TLS.
    pub tls: Option<engine::gateway::TlsIdentity>,
}

impl std::fmt::Debug for GatewayListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayListen")
            .field("host", &self.host)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl EnginesConfig {
    /// The embedded gateways' listening settings, with the TLS files read.
    ///
    /// # Errors
    /// When only one of certificate and key is set, a file cannot be read, or the gateways
    /// would listen beyond loopback without TLS.
    pub fn gateway_listen(&self) -> anyhow::Result<GatewayListen> {
        use anyhow::Context as _;
        let host = self.gateway_host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let tls = match (&self.gateway_tls_cert, &self.gateway_tls_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(engine::gateway::TlsIdentity {
                certificate: std::fs::read(cert).with_context(|| {
                    format!("reading engines.gateway_tls_cert {}", cert.display())
                })?,
                key: std::fs::read(key).with_context(|| {
                    format!("reading engines.gateway_tls_key {}", key.display())
                })?,
            }),
            _ => anyhow::bail!("engines.gateway_tls_cert and engines.gateway_tls_key go together"),
        };
        if !host.is_loopback() && tls.is_none() {
            anyhow::bail!(
                "the embedded engines' gateways would listen on {host} without TLS: set \
                 engines.gateway_tls_cert and engines.gateway_tls_key \
                 (ASTRAFLOW_ENGINES__GATEWAY_TLS_CERT, ASTRAFLOW_ENGINES__GATEWAY_TLS_KEY), or \
                 keep engines.gateway_host on loopback"
            );
        }
        Ok(GatewayListen { host, tls })
    }
}

/// The live monitor and the execution audit trail.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// Variables whose values the execution audit trail records as `***`: case-insensitive
    /// names where `*` stands for any run of characters. Keys of objects inside variables
    /// are matched too.
    pub audit_redact: Vec<String>,
    /// Longest variable value (as JSON text) the execution audit trail keeps; longer values
    /// are cut to this many characters.
    pub audit_max_value_chars: usize,
    /// How many committed batches of changes a WebSocket client may fall behind before it is
    /// told to resync instead.
    pub feed_capacity: usize,
    /// Monitor WebSocket connections open at once, in total.
    pub websocket_connections: usize,
    /// Monitor WebSocket connections one user or API token may have open at once.
    pub websocket_connections_per_caller: usize,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            audit_redact: [
                "*password*",
                "*passwd*",
                "*secret*",
                "*token*",
                "*apikey*",
                "*api_key*",
                "*credential*",
                "*private_key*",
                "*ssn*",
                "*card_number*",
                "*cardnumber*",
                "*iban*",
            ]
            .map(str::to_owned)
            .to_vec(),
            audit_max_value_chars: 1024,
            feed_capacity: 1024,
            websocket_connections: 10_000,
            websocket_connections_per_caller: 32,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Directory with the built browser bundle (`pkg/astraflow.js`, `.wasm`, `.css`).
    pub root: PathBuf,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("target/site"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` or `json`; defaults by environment.
    pub format: Option<LogFormat>,
    /// A `tracing` filter such as `info,server=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: None,
            filter: "info,sqlx=warn".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Config {
    /// Loads the configuration from the process environment and the optional file.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var_os("ASTRAFLOW_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("astraflow.toml"));
        Self::figment(file).extract().map_err(Box::new)
    }

    fn figment(file: PathBuf) -> Figment {
        let mut figment = Figment::new().merge(Toml::file(file)).merge(
            Env::prefixed("ASTRAFLOW_")
                .ignore(&["config"])
                // The execution plane's and the stand-alone engine's settings share the
                // prefix and may share the environment (one container's, one compose
                // file's); they are theirs, not unknown keys of the server's.
                .filter(|key| {
                    let key = key.as_str().to_ascii_lowercase();
                    !key.starts_with("plane_") && !key.starts_with("engine_")
                })
                .split("__"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.is_empty()
        {
            figment = figment.merge(("database.url", url));
        }
        figment
    }

    pub fn log_format(&self) -> LogFormat {
        self.log.format.unwrap_or(match self.environment {
            Environment::Development => LogFormat::Pretty,
            Environment::Production => LogFormat::Json,
        })
    }

    /// Whether session cookies carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.auth
            .secure_cookies
            .unwrap_or(self.environment == Environment::Production)
    }

    /// Whether external engines may be on loopback or private networks.
    pub fn allow_private_engine_addresses(&self) -> bool {
        self.engines
            .allow_private_addresses
            .unwrap_or(self.environment == Environment::Development)
    }

    /// Where the embedded PostgreSQL keeps its files.
    pub fn embedded_postgres_dir(&self) -> PathBuf {
        self.data_dir.join("pg")
    }

    pub fn audit_checkpoint_key_file(&self) -> PathBuf {
        self.audit
            .checkpoint_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoint.key"))
    }

    pub fn audit_checkpoint_log(&self) -> PathBuf {
        self.audit
            .checkpoint_log
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints.jsonl"))
    }
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail fixes the closures' error type"
)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn defaults_serve_on_loopback_3000_with_embedded_database() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let config: Config = Config::figment("missing.toml".into()).extract()?;
            assert_eq!(config.http.address(), "127.0.0.1:3000".parse().unwrap());
            assert!(config.database.url.is_none());
            assert_eq!(
                config.embedded_postgres_dir(),
                PathBuf::from(".astraflow/pg")
            );
            assert_eq!(config.log_format(), LogFormat::Pretty);
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "astraflow.toml",
                "environment = \"production\"\n[http]\nport = 8080\nhost = \"0.0.0.0\"\n",
            )?;
            jail.set_env("ASTRAFLOW_HTTP__PORT", "9090");
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/astraflow");
            // Another program's settings in the same environment are not the server's.
            jail.set_env("ASTRAFLOW_PLANE_TENANT", "acme");
            jail.set_env("ASTRAFLOW_ENGINE_LISTEN", "0.0.0.0:26500");
            let config: Config = Config::figment("astraflow.toml".into()).extract()?;
            assert_eq!(config.http.address(), "0.0.0.0:9090".parse().unwrap());
            assert_eq!(config.log_format(), LogFormat::Json);
            let url = config.database.url.as_ref().expect("url from DATABASE_URL");
            assert_eq!(url.expose_secret(), "postgres://app:hunter2@db/astraflow");
            Ok(())
        });
    }

    #[test]
    fn debug_output_never_contains_the_database_password() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env(
                "ASTRAFLOW_DATABASE__URL",
                "postgres://app:hunter2@db/astraflow",
            );
            let config: Config = Config::figment("missing.toml".into()).extract()?;
            let printed = format!("{config:?}");
            assert!(!printed.contains("hunter2"), "{printed}");
            Ok(())
        });
    }

    #[test]
    fn the_public_url_is_configured_or_the_listeners() {
        let mut http = HttpConfig::default();
        let bound: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(
            http.public_base_url(bound).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            http.public_base_url("[::]:80".parse().unwrap()).unwrap(),
            "http://[::1]:80"
        );
        http.public_url = Some("https://flow.example.com/".into());
        assert_eq!(
            http.public_base_url(bound).unwrap(),
            "https://flow.example.com"
        );
        http.public_url = Some("ftp://flow.example.com".into());
        assert!(http.public_base_url(bound).is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("astraflow.toml", "[http]\nprot = 1\n")?;
            let error = Config::figment("astraflow.toml".into())
                .extract::<Config>()
                .unwrap_err();
            assert!(error.to_string().contains("prot"), "{error}");
            Ok(())
        });
    }
}
