//! The feed of deltas inside one server: `LISTEN` on [`NOTIFY_CHANNEL`], fanned out to the
//! WebSocket connections through a bounded broadcast channel.
//!
//! Every replica listens, and ingest notifies inside its transaction, so a delta reaches the
//! clients of every replica once its records are committed — whichever replica ingested them.
//! The broadcast ring is the only buffer: a connection that reads too slowly falls behind in
//! it and is told to resync ([`Feed::Gap`] or a lag), instead of holding a private backlog
//! that grows without bound. When the listening connection breaks, the hub reconnects and
//! announces a gap, because notifications sent meanwhile are lost.

use std::{sync::Arc, time::Duration};

use app::api::monitor_protocol::{Delta, DeltaKind};
use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::{broadcast, watch};

use super::{NOTIFY_CHANNEL, slots::Slots};
use crate::{deployments::Progress, pipeline::Pipeline};

/// What the hub hands to connections.
#[derive(Debug, Clone)]
pub enum Feed {
    /// Deltas that were committed together, oldest first.
    Deltas(Arc<Vec<Delta>>),
    /// Some deltas may have been lost (the listener reconnected): re-read.
    Gap,
}

#[derive(Debug)]
pub struct Hub {
    feed: broadcast::Sender<Feed>,
    /// Becomes true once the listener is listening (tests and benchmarks wait for it).
    listening: watch::Receiver<bool>,
    /// The WebSocket connections that may be open.
    pub slots: Slots,
}

impl Hub {
    /// Starts listening on the pool's database. `capacity` is how many committed batches a
    /// connection may fall behind before it must resync.
    pub fn start(pool: PgPool, capacity: usize, slots: Slots) -> Arc<Self> {
        let (feed, _) = broadcast::channel(capacity.max(1));
        let (ready, listening) = watch::channel(false);
        let sender = feed.clone();
        tokio::spawn(async move { listen(pool, sender, ready).await });
        Arc::new(Self {
            feed,
            listening,
            slots,
        })
    }

    /// The feed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Feed> {
        self.feed.subscribe()
    }

    /// Waits until the hub listens, so that nothing committed from now on is missed.
    pub async fn ready(&self) {
        let mut listening = self.listening.clone();
        let _ = listening.wait_for(|ready| *ready).await;
    }

    /// Forwards the pipeline's deployment progress to every replica.
    pub fn forward_deployments(pool: PgPool, pipeline: &Pipeline) {
        let mut progress = pipeline.subscribe();
        tokio::spawn(async move {
            loop {
                match progress.recv().await {
                    Ok(progress) => {
                        let delta = deployment_delta(&progress);
                        if let Ok(mut conn) = pool.acquire().await
                            && let Err(error) =
                                super::ingest::notify(&mut conn, std::slice::from_ref(&delta)).await
                        {
                            tracing::warn!(%error, "cannot publish a deployment's progress");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "deployment progress fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

fn deployment_delta(progress: &Progress) -> Delta {
    Delta {
        tenant_id: progress.tenant_id.clone(),
        environment: String::new(),
        kind: DeltaKind::Deployment,
        process_instance_key: 0,
        key: 0,
        bpmn_process_id: String::new(),
        element_id: None,
        state: progress.state.as_str().to_owned(),
        incidents: None,
        deployment_id: Some(progress.deployment_id.to_string()),
        timestamp: progress.at.timestamp_millis(),
        position: 0,
    }
}

async fn listen(pool: PgPool, feed: broadcast::Sender<Feed>, ready: watch::Sender<bool>) {
    let mut backoff = Duration::from_millis(100);
    let mut first = true;
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(NOTIFY_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(error) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, "monitor feed cannot listen; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        if !first {
            let _ = feed.send(Feed::Gap);
        }
        first = false;
        let _ = ready.send(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    match serde_json::from_str::<Vec<Delta>>(notification.payload()) {
                        // No receiver is not an error: nobody is watching right now.
                        Ok(deltas) => {
                            let _ = feed.send(Feed::Deltas(Arc::new(deltas)));
                        }
                        Err(error) => {
                            tracing::warn!(%error, "ignoring a malformed monitor notification")
                        }
                    }
                }
                // The connection was lost; notifications meanwhile are gone.
                Ok(None) => {
                    let _ = feed.send(Feed::Gap);
                }
                Err(error) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(%error, "monitor feed lost its connection; reconnecting");
                    break;
                }
            }
        }
    }
}
