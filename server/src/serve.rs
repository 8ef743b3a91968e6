//! The HTTP accept loop, with the time limits a server facing the internet needs.
//!
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout never fires there: a
//! client that sends its request headers a byte a minute, or opens connections and sends
//! nothing, holds them for ever. Here every connection gets:
//! - a **header-read timeout**: the whole request head must arrive within it. hyper starts
//!   that clock whenever it waits for a request, so it is also the **idle timeout** of a
//!   keep-alive connection between requests;
//! - a **request timeout** (in the router, [`tower_http::timeout`]): a request whose answer is
//!   not ready in time, for instance because its body trickles in, gets 408;
//!
//! It speaks HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a reverse proxy in front
//! ends, and detecting cleartext HTTP/2 would mean waiting for a preface with no time limit.
//! A WebSocket, once upgraded, is no longer HTTP and keeps its own rules (`monitor/ws.rs`).

use std::{future::Future, pin::pin, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

/// Time limits on each connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a request's head to arrive, and for a keep-alive connection to stay idle.
    pub header_read: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the connections
/// in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send,
) {
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(Body::new)
                });
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = async {
                    // The guard it returns is not `Send`; only the moment matters.
                    let _ = stopping.wait_for(|stop| *stop).await.map(|_| ());
                } => {
                    // Finishes the request in flight, then closes.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(stopping);
        });
    }
    drop(listener);
    drop(stopping);
    let _ = stop.send(true);
    // Every connection holds a receiver until it has finished.
    stop.closed().await;
}
