//! Headers every response carries so that browsers hold our pages to what they are.
//!
//! - `Content-Security-Policy` here says what no page may be: framed by another site
//!   (`frame-ancestors`, the clickjacking defence), given another base URL, or embed plugins.
//!   What a page may load and run is in the policy the page itself carries, in a `<meta>` tag
//!   of [`app::shell`], whose script rule names the nonce of that very response: only the
//!   hydration and streaming scripts the server wrote run, plus our own bundle and its
//!   WebAssembly. Browsers enforce both policies.
//! - `X-Content-Type-Options: nosniff`: a response is only ever what its type says.
//! - `Referrer-Policy: same-origin`: links to other sites do not carry our URLs (which hold
//!   tenant ids and instance keys).
//! - `Strict-Transport-Security`, when the request came over TLS: browsers then refuse to
//!   reach the server over plain HTTP for a year. And on such a request every cookie set gets
//!   `Secure`, so it never travels over plain HTTP.
//!
//! "Came over TLS" is [`Transport::tls`]: always, when `auth.secure_cookies` says so (the
//! server is only ever reached over TLS); otherwise when a trusted reverse proxy
//! (`http.trusted_proxies`) says `X-Forwarded-Proto: https`.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// The policy of every response.
pub const FRAME_POLICY: &str = "frame-ancestors 'none'; base-uri 'self'; object-src 'none'";

const HSTS: &str = "max-age=31536000";

/// The address of the client a request came from: the connection's, or — when the connection
/// is from a trusted proxy — the last address in `X-Forwarded-For` that is not a trusted
/// proxy's. Sign-in limits count per this address, and the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// How requests reach the server.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Every request came over TLS.
    pub always_tls: bool,
    pub trusted_proxies: Vec<IpAddr>,
}

impl Transport {
    fn peer(request: &Request) -> Option<IpAddr> {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
    }

    /// The client's address (see [`ClientAddress`]).
    pub fn client(&self, request: &Request) -> Option<IpAddr> {
        let peer = Self::peer(request)?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // Each proxy appends the address it saw; whatever stands before that came from the
        // client, who may write anything there. So: the last address no trusted proxy has.
        let chain: Vec<IpAddr> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|item| item.trim().parse::<IpAddr>().ok())
            .collect();
        let client = chain
            .iter()
            .rev()
            .find(|ip| !self.trusted_proxies.contains(ip))
            .or(chain.first());
        Some(client.copied().unwrap_or(peer))
    }

    /// Whether `request` came over TLS.
    pub fn tls(&self, request: &Request) -> bool {
        if self.always_tls {
            return true;
        }
        let peer = Self::peer(request);
        peer.is_some_and(|peer| self.trusted_proxies.contains(&peer))
            && request
                .headers()
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// Adds the headers above to `next`'s response, keeping any a handler set itself.
pub async fn add(
    transport: std::sync::Arc<Transport>,
    mut request: Request,
    next: Next,
) -> Response {
    let tls = transport.tls(&request);
    if let Some(client) = transport.client(&request) {
        request.extensions_mut().insert(ClientAddress(client));
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if tls {
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            let secure = cookie
                .to_str()
                .map(|text| {
                    text.split(';')
                        .skip(1)
                        .any(|a| a.trim().eq_ignore_ascii_case("secure"))
                })
                .unwrap_or(true);
            let cookie = if secure {
                cookie
            } else {
                let mut bytes = cookie.as_bytes().to_vec();
                bytes.extend_from_slice(b"; Secure");
                HeaderValue::from_bytes(&bytes).unwrap_or(cookie)
            };
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    let hsts = tls;
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, FRAME_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    if hsts {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
