//! The plane's Prometheus metrics (`GET /metrics`) and health (`GET /healthz`).
//!
//! Jobs by connector and outcome, how long a job took in all and how much of that was the
//! plane's own work (the overhead: everything but the call to the target), each host's
//! circuit-breaker state, how long fetching a gateway token took, and the journal's appends.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
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

use crate::breaker::Breakers;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub connector: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    connector: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabels {
    host: String,
}

/// The plane's counters and histograms.
pub struct Metrics {
    registry: Registry,
    jobs: Family<JobLabels, Counter>,
    durations: Family<ConnectorLabels, Histogram>,
    overhead: Family<ConnectorLabels, Histogram>,
    in_flight: Family<ConnectorLabels, Gauge>,
    breakers: Family<HostLabels, Gauge>,
    token_fetch: Histogram,
    journal_appends: Histogram,
    /// Unix seconds of the last call the gateway answered (0: none yet).
    last_gateway_contact: AtomicI64,
    /// Every job's (total, target) time, kept only when asked for (the benchmark's
    /// percentiles); histograms' buckets are too coarse for them.
    samples: std::sync::Mutex<Option<Vec<(Duration, Duration)>>>,
}

fn seconds_buckets() -> Histogram {
    // 50 µs to about 100 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 22))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("astraflow_plane");
        let jobs = Family::<JobLabels, Counter>::default();
        registry.register(
            "jobs",
            "Jobs handled, by connector and outcome (completed, failed, error_thrown, breaker_open)",
            jobs.clone(),
        );
        let durations = Family::<ConnectorLabels, Histogram>::new_with_constructor(seconds_buckets);
        registry.register(
            "job_duration_seconds",
            "From activation to the engine's answer to complete, fail or throw",
            durations.clone(),
        );
        let overhead = Family::<ConnectorLabels, Histogram>::new_with_constructor(seconds_buckets);
        registry.register(
            "job_overhead_seconds",
            "The plane's own time per job: the duration without the call to the target",
            overhead.clone(),
        );
        let in_flight = Family::<ConnectorLabels, Gauge>::default();
        registry.register("jobs_in_flight", "Jobs in hand", in_flight.clone());
        let breakers = Family::<HostLabels, Gauge>::default();
        registry.register(
            "breaker_state",
            "Circuit breaker per target host: 0 closed, 1 open, 2 half-open",
            breakers.clone(),
        );
        let token_fetch = seconds_buckets();
        registry.register(
            "gateway_token_fetch_seconds",
            "Time to get a gateway access token (cached ones included)",
            token_fetch.clone(),
        );
        let journal_appends = seconds_buckets();
        registry.register(
            "journal_append_seconds",
            "Time until a journal event was on disk",
            journal_appends.clone(),
        );
        Self {
            registry,
            jobs,
            durations,
            overhead,
            in_flight,
            breakers,
            token_fetch,
            journal_appends,
            last_gateway_contact: AtomicI64::new(0),
            samples: std::sync::Mutex::new(None),
        }
    }
}

impl Metrics {
    /// Starts keeping every job's times, for [`Metrics::take_samples`].
    pub fn keep_samples(&self) {
        *self.samples.lock().expect("samples lock") = Some(Vec::new());
    }

    /// The (total, target) times of the jobs done since [`Metrics::keep_samples`].
    #[must_use]
    pub fn take_samples(&self) -> Vec<(Duration, Duration)> {
        self.samples
            .lock()
            .expect("samples lock")
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Counts a job that ended with `outcome`, with its total time and the part of it spent
    /// in the call to the target.
    pub fn job_done(
        &self,
        connector: &'static str,
        outcome: &'static str,
        total: Duration,
        target: Duration,
    ) {
        if let Some(samples) = self.samples.lock().expect("samples lock").as_mut() {
            samples.push((total, target));
        }
        self.jobs
            .get_or_create(&JobLabels { connector, outcome })
            .inc();
        let labels = ConnectorLabels { connector };
        self.durations
            .get_or_create(&labels)
            .observe(total.as_secs_f64());
        self.overhead
            .get_or_create(&labels)
            .observe(total.saturating_sub(target).as_secs_f64());
    }

    pub fn in_flight(&self, connector: &'static str, delta: i64) {
        self.in_flight
            .get_or_create(&ConnectorLabels { connector })
            .inc_by(delta);
    }

    pub fn token_fetched(&self, took: Duration) {
        self.token_fetch.observe(took.as_secs_f64());
    }

    pub fn journal_appended(&self, took: Duration) {
        self.journal_appends.observe(took.as_secs_f64());
    }

    pub fn gateway_answered(&self) {
        self.last_gateway_contact
            .store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// The count of jobs with this connector and outcome (tests and the benchmark).
    #[must_use]
    pub fn jobs(&self, connector: &'static str, outcome: &'static str) -> u64 {
        self.jobs
            .get_or_create(&JobLabels { connector, outcome })
            .get()
    }

    fn render(&self, breakers: &Breakers) -> String {
        for (host, state) in breakers.states() {
            self.breakers
                .get_or_create(&HostLabels { host })
                .set(state.gauge());
        }
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    breakers: Arc<Breakers>,
    tenant: String,
}

async fn metrics_page(State(shared): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.render(&shared.breakers),
    )
}

/// Healthy once the gateway has answered in the last two minutes.
async fn health_page(State(shared): State<Shared>) -> impl IntoResponse {
    let last = shared.metrics.last_gateway_contact.load(Ordering::Relaxed);
    let age = chrono::Utc::now().timestamp() - last;
    let healthy = last > 0 && age <= 120;
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({
            "status": if healthy { "ok" } else { "gateway_unreachable" },
            "tenant": shared.tenant,
            "last_gateway_contact_secs_ago": (last > 0).then_some(age),
        })),
    )
}

/// Serves `/metrics` and `/healthz` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    breakers: Arc<Breakers>,
    tenant: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(health_page))
        .with_state(Shared {
            metrics,
            breakers,
            tenant,
        });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
