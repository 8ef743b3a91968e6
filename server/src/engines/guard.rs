//! Where the server may connect on a tenant's behalf.
//!
//! Tenants name the gateway and token endpoint of their external engines. Checking a name once
//! and letting the client resolve it again later would let a name that answers with a public
//! address first and a private one next (DNS rebinding) lead the server into the networks it
//! runs in. So the check happens where the connection is made: the gRPC connector
//! ([`GuardedConnector`]) and the HTTP client's resolver ([`GuardedResolver`]) both resolve
//! through [`resolve_checked`] and connect only to the addresses it returned.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tonic::{Code, transport::Uri};

use super::client::EngineError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long one TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves `host` (a name or an IP literal) and returns its addresses, refusing them all when
/// private addresses are not allowed and any of them is one.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, EngineError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|error| {
                tracing::info!(host, %error, "an engine's host name did not resolve");
                EngineError::Unavailable(format!("{host} could not be resolved"))
            })?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(EngineError::Unavailable(format!(
            "{host} could not be resolved"
        )));
    }
    if !allow_private && addresses.iter().any(|address| is_private(address.ip())) {
        return Err(EngineError::Refused {
            code: Code::PermissionDenied,
            message: format!(
                "{host} is on a loopback, private or reserved network, which external engines \
                 may not use here (engines.allow_private_addresses)"
            ),
        });
    }
    Ok(addresses)
}

/// Connects the gRPC channel of an external engine: resolves the URI's host on every
/// connection and connects only to the addresses that passed the check.
#[derive(Debug, Clone, Copy)]
pub struct GuardedConnector {
    pub allow_private: bool,
}

impl tower::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or("the engine address has no host")?
                .to_owned();
            let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            let addresses = resolve_checked(&host, port, allow_private).await?;
            let mut last = None;
            for address in addresses {
                match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
                    Ok(Ok(stream)) => {
                        stream.set_nodelay(true)?;
                        return Ok(TokioIo::new(stream));
                    }
                    Ok(Err(error)) => last = Some(error.to_string()),
                    Err(_) => last = Some("timed out".to_owned()),
                }
            }
            // The reason stays in the log: refused, unreachable or timed out would tell a
            // tenant which of the server's neighbours listen where.
            tracing::info!(
                %host,
                error = last.as_deref().unwrap_or("no address"),
                "connecting to an external engine failed"
            );
            Err(format!("{host} could not be reached").into())
        })
    }
}

/// Whether an address is one a tenant's engine must not be on: loopback, private, link-local,
/// shared (carrier-grade NAT), unspecified, multicast or documentation ranges.
pub fn is_private(ip: IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                // "This network" 0.0.0.0/8: 0.x.y.z reaches the local host on Linux.
                || a == 0
                // Shared address space (carrier-grade NAT) 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments 192.0.0.0/24.
                || (a == 192 && b == 0 && c == 0)
                // Benchmarking 198.18.0.0/15.
                || (a == 198 && (18..20).contains(&b))
                // Reserved 240.0.0.0/4.
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // Documentation 2001:db8::/32.
                || (first == 0x2001 && segments[1] == 0x0db8)
                // Addresses that carry an IPv4 address a gateway would translate to, which
                // could be any of the above: NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4
                // 2002::/16 and Teredo 2001::/32 are refused whole.
                || (first == 0x0064 && segments[1] == 0xff9b)
                || first == 0x2002
                || (first == 0x2001 && segments[1] == 0)
                // IPv4-mapped and the deprecated IPv4-compatible forms.
                || v6.to_ipv4().is_some_and(|v4| is_private(v4.into()))
        }
    }
}

/// The HTTP client's resolver for token endpoints: the same check, at connection time.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // reqwest puts the URL's port on the addresses; 0 is a placeholder.
            let addresses = resolve_checked(name.as_str(), 0, allow_private)
                .await
                .map_err(|error| -> BoxError { error.to_string().into() })?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// An HTTP client for token endpoints that resolves through [`GuardedResolver`] and follows no
/// redirect (a redirect could point anywhere).
pub fn http_client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .connect_timeout(CONNECT_TIMEOUT)
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()
        .expect("a plain HTTP client builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::Service;

    /// A listener that counts the connections it accepts.
    async fn counting_listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((_stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn the_connector_checks_every_connection_it_makes() {
        let (port, accepted) = counting_listener().await;
        for host in ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0"] {
            let uri: Uri = format!("http://{host}:{port}").parse().unwrap();
            let refused = GuardedConnector {
                allow_private: false,
            }
            .call(uri)
            .await
            .err()
            .unwrap();
            assert!(
                refused.to_string().contains("may not use"),
                "{host}: {refused}"
            );
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Allowed (development), it connects.
        let uri: Uri = format!("http://localhost:{port}").parse().unwrap();
        GuardedConnector {
            allow_private: true,
        }
        .call(uri)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn the_connector_does_not_say_why_a_connection_failed() {
        // Nothing listens on a port just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let uri: Uri = format!("http://127.0.0.1:{port}").parse().unwrap();
        let error = GuardedConnector {
            allow_private: true,
        }
        .call(uri)
        .await
        .err()
        .unwrap()
        .to_string();
        assert_eq!(error, "127.0.0.1 could not be reached");
    }

    #[tokio::test]
    async fn the_http_client_resolves_names_through_the_check() {
        let (port, accepted) = counting_listener().await;
        let error = http_client(false)
            .get(format!("http://localhost:{port}/token"))
            .send()
            .await
            .unwrap_err();
        let chain = format!("{:?}", anyhow::Error::new(error));
        assert!(chain.contains("may not use"), "{chain}");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
