//! Reaching Zeebe: the server's embedded engines and a gRPC client for any Zeebe gateway.
//!
//! Every call goes over the Zeebe gateway protocol, also to the embedded engines (each serves
//! the gateway on a loopback port), so the path exercised in a laptop install is the one that
//! drives a Camunda 8 cluster. Channels are made once per target and reused; every call has a
//! deadline, is retried with backoff while the gateway answers UNAVAILABLE or
//! RESOURCE_EXHAUSTED, carries an OAuth bearer token, and names the tenant.
//!
//! In the embedded default each environment *name* gets its own engine (its own log and state
//! under `<data dir>/engines/<name>`), started at first use: what is deployed to `dev` is
//! never seen by `prod`. Tenants within one engine are separated by Zeebe's multi-tenancy with
//! authentication: every gateway call needs an access token issued by this server
//! ([`crate::engine_access`]) for that engine's audience, and the token grants one tenant.
//! The server's own calls carry an internal credential no user sees: the client of an
//! embedded target is bound to one tenant and signs its own short-lived token for it (client
//! `astraflow-control-plane`, every permission), so the engine confines each control-plane
//! call to the tenant it is made for and answers NOT_FOUND for another tenant's key.
//!
//! [`Engines`] (here) starts and finds the engines; [`client`] is the gRPC client with its
//! retries and credentials.

mod client;
pub mod guard;

pub use self::guard::is_private;

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::Mutex;
use tonic::transport::Channel;
use zeebe::gateway::GatewayClient;

use self::client::{CALL_DEADLINE, Credentials, InternalToken, TokenSource};
pub use self::client::{Client, EngineError, OAuth};
use crate::{
    domain::TenantId,
    engine_access::{self, Authority},
};

/// Where an environment's engine is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The server's own engine for this environment name, called on behalf of `tenant` only.
    Embedded {
        environment: String,
        tenant: TenantId,
    },
    /// A Zeebe gateway, e.g. `https://…zeebe.camunda.io:443` or `http://127.0.0.1:26500`.
    External {
        address: String,
        oauth: Option<OAuth>,
    },
}

/// A running embedded engine and its gateway.
struct Embedded {
    address: SocketAddr,
    engine: engine::Engine,
    gateway: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Called with each embedded engine as it starts (the monitor follows its record stream).
pub type OnStart = Box<dyn Fn(&str, engine::Engine) + Send + Sync>;

/// One client per target, and the embedded engines behind the embedded targets.
pub struct Engines {
    data_dir: PathBuf,
    on_start: std::sync::OnceLock<OnStart>,
    /// Becomes true at shutdown, for the tasks that follow the engines.
    stopped: tokio::sync::watch::Sender<bool>,
    /// Whether external engines and token endpoints may be on loopback or private networks.
    /// Off in production: tenants configure these URLs, and the server must not become their
    /// way into the networks it runs in (its own embedded engines listen on loopback).
    allow_private: bool,
    embedded: Mutex<HashMap<String, Embedded>>,
    clients: Mutex<HashMap<Target, Arc<Client>>>,
    /// The channel to each embedded engine, shared by the clients of its tenants.
    channels: Mutex<HashMap<String, Channel>>,
    http: reqwest::Client,
    /// Issues the embedded engines' tokens and verifies them.
    authority: Arc<Authority>,
    /// Where and how the embedded gateways listen.
    listen: crate::config::GatewayListen,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Engines {
    /// Embedded engines keep their data under `data_dir/<environment name>` and accept the
    /// tokens `authority` issues for them.
    pub fn new(
        data_dir: PathBuf,
        allow_private: bool,
        authority: Arc<Authority>,
        listen: crate::config::GatewayListen,
    ) -> Self {
        let http = guard::http_client(allow_private);
        Self {
            data_dir,
            on_start: std::sync::OnceLock::new(),
            stopped: tokio::sync::watch::Sender::new(false),
            allow_private,
            embedded: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            http,
            authority,
            listen,
        }
    }

    /// The client for `target`, connecting (and for an embedded target, starting the engine)
    /// on first use.
    pub async fn client(&self, target: &Target) -> Result<Arc<Client>, EngineError> {
        if let Some(client) = self.clients.lock().await.get(target) {
            return Ok(client.clone());
        }
        // Made without the cache locked: resolving a tenant's host name or starting an engine
        // must not hold up every other tenant's calls. Two callers may race to make the same
        // client; the first one stored wins.
        let made = Arc::new(self.connect(target).await?);
        let mut clients = self.clients.lock().await;
        Ok(clients.entry(target.clone()).or_insert(made).clone())
    }

    async fn connect(&self, target: &Target) -> Result<Client, EngineError> {
        let (channel, credentials) = match target {
            Target::Embedded {
                environment,
                tenant,
            } => {
                let bound = self.embedded(environment).await?;
                // A gateway on every interface is reached here through loopback.
                let ip = if bound.ip().is_unspecified() {
                    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                } else {
                    bound.ip()
                };
                let reached = SocketAddr::new(ip, bound.port());
                let scheme = if self.listen.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let address = format!("{scheme}://{reached}");
                let mut channels = self.channels.lock().await;
                let channel = match channels.get(&address) {
                    Some(channel) => channel.clone(),
                    None => {
                        let channel = match &self.listen.tls {
                            // Our own certificate is the one to trust, for the address we
                            // reach (an IP address or a name in its subject alternative names).
                            Some(tls) => tls_channel(&address, &tls.certificate, &ip.to_string())?,
                            None => endpoint(&address)?.connect_lazy(),
                        };
                        channels.insert(address, channel.clone());
                        channel
                    }
                };
                let credentials = Credentials::Internal(InternalToken {
                    authority: self.authority.clone(),
                    audience: engine_access::audience(environment),
                    tenant: tenant.clone(),
                    cached: std::sync::Mutex::new(None),
                });
                (channel, credentials)
            }
            Target::External { address, oauth } => {
                // Checked now for a clear error at once; the connector and the token client
                // check again on every connection they make (see guard.rs).
                if !self.allow_private {
                    check_url(address).await?;
                    if let Some(oauth) = oauth {
                        check_url(&oauth.token_url).await?;
                    }
                }
                let credentials = match oauth {
                    Some(oauth) => Credentials::OAuth(TokenSource {
                        oauth: oauth.clone(),
                        http: self.http.clone(),
                        cached: Mutex::new(None),
                    }),
                    None => Credentials::None,
                };
                let connector = guard::GuardedConnector {
                    allow_private: self.allow_private,
                };
                (
                    endpoint(address)?.connect_with_connector_lazy(connector),
                    credentials,
                )
            }
        };
        Ok(Client {
            grpc: GatewayClient::new(channel),
            credentials,
        })
    }

    /// The gateway address of the embedded engine for `environment`, starting it if needed.
    pub async fn embedded(&self, environment: &str) -> Result<SocketAddr, EngineError> {
        let mut embedded = self.embedded.lock().await;
        if let Some(running) = embedded.get(environment) {
            return Ok(running.address);
        }
        let data_dir = self.data_dir.join(environment);
        // Recovery reads the log and snapshot from disk.
        let mut config = engine::EngineConfig::new(data_dir);
        // Segments go once a snapshot covers them and the monitor's ingest has stored their
        // records (monitor/embedded.rs acknowledges each committed batch), so disk use is bounded.
        config.retention = engine::Retention::Compact {
            exporters: vec![MONITOR_EXPORTER.to_owned()],
        };
        let engine = tokio::task::spawn_blocking(move || engine::Engine::start(config))
            .await
            .map_err(|error| EngineError::Start(error.to_string()))?
            .map_err(|error| EngineError::Start(format!("{error:#}")))?;
        let listener = tokio::net::TcpListener::bind((self.listen.host, 0))
            .await
            .map_err(|error| EngineError::Start(error.to_string()))?;
        let address = listener
            .local_addr()
            .map_err(|error| EngineError::Start(error.to_string()))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = engine.clone();
        // Multi-tenancy with authentication, as Zeebe's: tokens of this server for this
        // engine's audience only; the verifier follows key rotations.
        let options = engine::gateway::ServeOptions {
            authentication: engine::gateway::Authentication::Tokens(
                self.authority
                    .verifier(&engine_access::audience(environment)),
            ),
            tls: self.listen.tls.clone(),
        };
        let gateway = tokio::spawn(async move {
            if let Err(error) = engine::gateway::serve_with(served, listener, options, async {
                let _ = stopped.await;
            })
            .await
            {
                tracing::error!(%error, "embedded engine gateway stopped");
            }
        });
        tracing::info!(environment, %address, "embedded engine started");
        if let Some(on_start) = self.on_start.get() {
            on_start(environment, engine.clone());
        }
        embedded.insert(
            environment.to_owned(),
            Embedded {
                address,
                engine,
                gateway,
                stop,
            },
        );
        Ok(address)
    }

    /// The in-process engine for `environment`, if it runs (the monitor subscribes to its
    /// record stream).
    pub async fn embedded_engine(&self, environment: &str) -> Option<engine::Engine> {
        self.embedded
            .lock()
            .await
            .get(environment)
            .map(|running| running.engine.clone())
    }

    /// Registers what to do with each embedded engine as it starts, and does it for those
    /// running already. Only the first registration counts.
    pub async fn on_start(&self, on_start: OnStart) {
        let embedded = self.embedded.lock().await;
        if self.on_start.set(on_start).is_ok()
            && let Some(on_start) = self.on_start.get()
        {
            for (name, running) in embedded.iter() {
                on_start(name, running.engine.clone());
            }
        }
    }

    /// Starts the embedded engine of every environment that has data on disk, so that what
    /// they have still to do (and to report) goes on after a restart without waiting for the
    /// next deployment.
    pub async fn start_existing(&self) -> Result<Vec<String>, EngineError> {
        let mut names = Vec::new();
        let entries = match std::fs::read_dir(&self.data_dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(error) => return Err(EngineError::Start(error.to_string())),
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && is_environment_name(&name) {
                // One engine that cannot start (its log damaged beyond a torn tail, say) must
                // not keep the server from serving everything else: its environment answers
                // "engine unavailable", with the reason, until the cause is fixed.
                match self.embedded(&name).await {
                    Ok(_) => names.push(name),
                    Err(error) => {
                        tracing::error!(%error, environment = name, "an embedded engine cannot start")
                    }
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// True from shutdown on.
    pub fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopped.subscribe()
    }

    /// The gateway addresses of the embedded engines running now, by environment name
    /// (workers of a local installation connect there).
    pub async fn embedded_addresses(&self) -> HashMap<String, SocketAddr> {
        self.embedded
            .lock()
            .await
            .iter()
            .map(|(name, running)| (name.clone(), running.address))
            .collect()
    }

    /// Stops the embedded engines' gateways (the engines flush on drop).
    pub async fn shutdown(&self) {
        self.stopped.send_replace(true);
        self.clients.lock().await.clear();
        self.channels.lock().await.clear();
        let running: Vec<Embedded> = self.embedded.lock().await.drain().map(|(_, e)| e).collect();
        for embedded in running {
            let _ = embedded.stop.send(());
            let _ = embedded.gateway.await;
        }
    }
}

/// A lazily connecting channel to a gateway: the first call connects, so an engine that is
/// down now can come up later.
/// A channel to our own gateway over TLS, trusting `certificate` (PEM) for `server_name`.
fn tls_channel(
    address: &str,
    certificate: &[u8],
    server_name: &str,
) -> Result<Channel, EngineError> {
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(certificate))
        .domain_name(server_name);
    Ok(Channel::from_shared(address.to_owned())
        .map_err(|error| EngineError::Unavailable(format!("{address:?}: {error}")))?
        .tls_config(tls)
        .map_err(|error| EngineError::Start(format!("TLS for {address}: {error}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_DEADLINE)
        .tcp_nodelay(true)
        .connect_lazy())
}

fn endpoint(address: &str) -> Result<tonic::transport::Endpoint, EngineError> {
    Ok(Channel::from_shared(address.to_owned())
        .map_err(|error| EngineError::Unavailable(format!("{address:?}: {error}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(CALL_DEADLINE)
        .tcp_nodelay(true))
}

/// Whether `name` is a possible environment name (`^[a-z][a-z0-9-]{0,30}$`, as the database
/// checks), so that only engine directories are started.
fn is_environment_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 31
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The name under which the monitor's ingest acknowledges an embedded engine's records.
pub const MONITOR_EXPORTER: &str = "monitor";

/// Resolves the URL's host and refuses it if any of its addresses is private.
async fn check_url(url: &str) -> Result<(), EngineError> {
    let parsed = url::Url::parse(url)
        .map_err(|error| EngineError::Unavailable(format!("{url:?}: {error}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| EngineError::Unavailable(format!("{url:?} has no host")))?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    guard::resolve_checked(host, port, false).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.254",
            "240.0.0.1",
            "255.255.255.254",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "35.190.1.1",
            "198.20.0.1",
            "223.255.255.1",
            "2606:4700::1111",
            "2001:4860::8888",
        ] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}
