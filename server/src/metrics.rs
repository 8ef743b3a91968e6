//! Prometheus metrics at `GET /metrics` (OpenMetrics text).
//!
//! Counted where things happen (requests, checkpoints, verifications) or sampled at scrape
//! time (the pool, WebSocket connections, ingest progress per record source).
//!
//! No label carries a tenant, a user or an id from a URL: requests are counted by their route
//! template (`/api/v1/tenants/{tenant}`), so the endpoint shows how the server is doing and
//! nothing about whose data it holds. Set `metrics.bearer_token` to have scrapers
//! authenticate.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::{
    audit::checkpoint::{self, Trail},
    monitor::{hub::Hub, ingest::Ingest},
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrailLabels {
    trail: &'static str,
}

/// The server's metrics, shared by the middleware, the services that count and `/metrics`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    pool_connections: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    websocket_clients: Gauge,
    ingest_failing: Gauge,
    ingest_lag: Family<SourceLabels, Gauge>,
    ingest_records: Family<SourceLabels, Counter>,
    checkpoints_signed: Counter,
    verifications: Family<TrailLabels, Histogram>,
    token: Option<SecretString>,
    started: Instant,
    uptime: Gauge<f64, AtomicU64>,
    /// One scrape at a time samples the gauges and catches the counters up.
    sampling: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(token: Option<SecretString>) -> Self {
        let mut registry = Registry::with_prefix("astraflow");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time until the answer's head was ready, by route template",
            durations.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of the serving pool, idle or in use",
            pool_connections.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "The serving pool's limit",
            pool_max.clone(),
        );
        let websocket_clients = Gauge::default();
        registry.register(
            "websocket_clients",
            "Open monitor WebSocket connections",
            websocket_clients.clone(),
        );
        let ingest_failing = Gauge::default();
        registry.register(
            "ingest_failing_sources",
            "Record sources whose ingest is failing and being retried",
            ingest_failing.clone(),
        );
        let ingest_lag = Family::<SourceLabels, Gauge>::default();
        registry.register(
            "ingest_lag_records",
            "Positions the engine has committed that ingest has not stored yet, by source",
            ingest_lag.clone(),
        );
        let ingest_records = Family::<SourceLabels, Counter>::default();
        registry.register(
            "ingest_records",
            "Records ingest applied since the server started, by source",
            ingest_records.clone(),
        );
        let checkpoints_signed = Counter::default();
        registry.register(
            "audit_checkpoints_signed",
            "Signed checkpoints of audit chain heads",
            checkpoints_signed.clone(),
        );
        let verifications = Family::<TrailLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "audit_verification_seconds",
            "Time one audit chain verification took, by trail",
            verifications.clone(),
        );
        let uptime = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "uptime_seconds",
            "Seconds since the server started",
            uptime.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            pool_connections,
            pool_max,
            websocket_clients,
            ingest_failing,
            ingest_lag,
            ingest_records,
            checkpoints_signed,
            verifications,
            token,
            started: Instant::now(),
            uptime,
            sampling: std::sync::Mutex::new(()),
        }
    }

    /// The text exposition, after reading the gauges that are sampled rather than counted.
    fn render(&self, sources: &Sources) -> String {
        let _sampling = self
            .sampling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let idle = i64::try_from(sources.pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(sources.pool.size());
        self.pool_connections
            .get_or_create(&StateLabels { state: "idle" })
            .set(idle);
        self.pool_connections
            .get_or_create(&StateLabels { state: "in_use" })
            .set((size - idle).max(0));
        self.pool_max
            .set(i64::from(sources.pool.options().get_max_connections()));
        self.websocket_clients
            .set(i64::try_from(sources.hub.slots.open()).unwrap_or(i64::MAX));
        self.ingest_failing
            .set(i64::try_from(sources.ingest.failing_sources().len()).unwrap_or(i64::MAX));
        for (source, progress) in sources.ingest.progress() {
            let labels = SourceLabels { source };
            self.ingest_lag
                .get_or_create(&labels)
                .set((progress.head - progress.position).max(0));
            // Ingest keeps its own running count; the counter catches up with it.
            let counter = self.ingest_records.get_or_create(&labels);
            let counted = counter.get();
            if progress.applied > counted {
                counter.inc_by(progress.applied - counted);
            }
        }
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

impl checkpoint::Observer for Metrics {
    fn signed(&self) {
        self.checkpoints_signed.inc();
    }

    fn verified(&self, trail: Trail, seconds: f64) {
        self.verifications
            .get_or_create(&TrailLabels {
                trail: trail.as_str(),
            })
            .observe(seconds);
    }
}

/// What `/metrics` samples when scraped.
#[derive(Clone)]
pub struct Sources {
    pub metrics: Arc<Metrics>,
    pub pool: PgPool,
    pub hub: Arc<Hub>,
    pub ingest: Arc<Ingest>,
}

/// `GET /metrics`.
pub async fn scrape(State(sources): State<Sources>, headers: HeaderMap) -> Response {
    if let Some(token) = &sources.metrics.token {
        let expected = format!("Bearer {}", token.expose_secret());
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        if given != Some(expected.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                "a scrape needs the metrics bearer token\n",
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        sources.metrics.render(&sources),
    )
        .into_response()
}

/// Middleware: counts each request by method, route template and status, and times it.
pub async fn track(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    // Requests that matched no route are counted under one name, not by their path, so
    // scanners cannot grow the series without bound.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .durations
        .get_or_create(&RouteLabels { method, route })
        .observe(elapsed);
    response
}
