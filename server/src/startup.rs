//! Builds the application from its configuration and runs it until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use app::api::ssr::{DatabaseMode, ServerContext};
use axum::{Router, http::Request, routing::get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use secrecy::ExposeSecret;
use sqlx::{PgPool, postgres::PgConnectOptions};
use tokio::net::TcpListener;
use tower_http::{
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{
    Expiry, SessionManagerLayer, SessionStore, cookie::SameSite, session_store::ExpiredDeletion,
};
use tower_sessions_sqlx_store::PostgresStore;

use crate::{
    api,
    audit::checkpoint::Checkpoints,
    auth::{
        self, AuthState,
        links::PasswordLinks,
        rate_limit::{RateLimiter, SignInLimits},
    },
    config::{Config, Environment},
    db,
    embedded_pg::{self, EmbeddedPostgres},
    engine_access::Authority,
    engines::Engines,
    error, mail,
    metrics::{self, Metrics},
    monitor::{self, hub::Hub, ingest::Ingest, slots::Slots, trail::Sanitizer},
    pages,
    pipeline::Pipeline,
    security_headers, seed, serve,
    state::AppState,
};

/// How often expired sessions are removed from the store.
const SESSION_CLEANUP_PERIOD: Duration = Duration::from_secs(600);

/// A built application: listening, migrated, not yet serving.
pub struct Application {
    listener: TcpListener,
    checkpoints: Arc<Checkpoints>,
    checkpoint_every: Duration,
    router: Router,
    timeouts: serve::Timeouts,
    pool: PgPool,
    embedded_postgres: Option<EmbeddedPostgres>,
    session_store: PostgresStore,
    engines: Arc<Engines>,
    pipeline: Arc<Pipeline>,
    hub: Arc<Hub>,
    authority: Arc<Authority>,
}

impl Application {
    /// Starts (or connects to) the database, runs migrations and binds the HTTP listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let (options, database_mode, embedded_postgres) = match &config.database.url {
            Some(url) => {
                let options: PgConnectOptions = url
                    .expose_secret()
                    .parse()
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?;
                (options, DatabaseMode::External, None)
            }
            None => {
                let instance = EmbeddedPostgres::start(embedded_pg::Settings {
                    data_dir: config.embedded_postgres_dir(),
                    bin_dir: config.embedded_postgres.bin_dir.clone(),
                    port: config.embedded_postgres.port,
                    system_user: config.embedded_postgres.system_user.clone(),
                })
                .await
                .context("starting the embedded PostgreSQL")?;
                (
                    instance.connect_options(),
                    DatabaseMode::Embedded,
                    Some(instance),
                )
            }
        };

        let acquire_timeout = Duration::from_secs(config.database.acquire_timeout_secs);
        // The owner of the tables migrates and seeds; requests are then served by a login role
        // that owns nothing (db::serving_login).
        let owner = db::pool(
            options.clone(),
            config.database.max_connections,
            acquire_timeout,
        );
        db::MIGRATOR
            .run(&owner)
            .await
            .context("running database migrations")?;
        PostgresStore::new(owner.clone())
            .migrate()
            .await
            .context("creating the session store's table")?;
        if config.seed_demo
            && let Some(admin) = seed::first_start(&owner, config.initial_admin_password.as_ref())
                .await
                .context("seeding the demo tenant and administrator")?
        {
            match &admin.password {
                // On the console only, never in the logs: this is a credential.
                Some(one_time) => eprintln!(
                    "\nFirst start: sign in as {} with the one-time password {one_time}\n\
                     (you will be asked to choose a new password; it is not shown again)\n",
                    admin.email
                ),
                None => eprintln!(
                    "\nFirst start: sign in as {} with the configured initial password\n",
                    admin.email
                ),
            }
        }

        let pool = match db::serving_login(&owner, &options).await {
            Ok(serving) => {
                owner.close().await;
                tracing::info!(
                    role = serving.get_username(),
                    "serving as a login role that owns no table"
                );
                db::pool(serving, config.database.max_connections, acquire_timeout)
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "serving as the owner of the tables, because the serving login role could \
                     not be set up (the database account needs CREATEROLE): whoever takes over \
                     the server's connection can then disable the audit trails' triggers"
                );
                owner
            }
        };
        let session_store = PostgresStore::new(pool.clone());

        let listener = TcpListener::bind(config.http.address())
            .await
            .with_context(|| format!("binding {}", config.http.address()))?;
        let address = listener.local_addr()?;

        let leptos_options = LeptosOptions::builder()
            .output_name(app::BUNDLE_NAME)
            .site_root(config.site.root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .env(match config.environment {
                Environment::Development => Env::DEV,
                Environment::Production => Env::PROD,
            })
            .build();
        // In the background: start-up need not wait for a hash.
        tokio::spawn(async {
            if let Err(error) = auth::password::prepare().await {
                tracing::warn!(%error, "preparing password checks");
            }
        });
        let issuer = config
            .http
            .public_base_url(address)
            .map_err(anyhow::Error::msg)?;
        let postman = mail::Postman::new(&config.mail).context("the mail settings (mail)")?;
        let auth = AuthState {
            pool: pool.clone(),
            config: config.auth.clone(),
            limiter: Arc::new(RateLimiter::new(config.auth.requests_per_minute)),
            sign_in: Arc::new(SignInLimits::new(
                config.auth.sign_ins_per_minute_per_address,
                config.auth.sign_ins_per_minute_per_account,
            )),
            links: Arc::new(PasswordLinks::new(
                postman,
                &issuer,
                config.mail.password_link_hours,
            )),
        };
        let sso = config
            .auth
            .oidc
            .clone()
            .map(auth::oidc::Sso::new)
            .transpose()
            .context("the single sign-on settings (auth.oidc)")?
            .map(Arc::new);
        let authority = Authority::load(pool.clone(), issuer)
            .await
            .context("loading the token signing keys")?;
        let engines = Arc::new(Engines::new(
            config.data_dir.join("engines"),
            config.allow_private_engine_addresses(),
            authority.clone(),
            config
                .engines
                .gateway_listen()
                .context("the embedded engines' gateway settings")?,
        ));
        let pipeline = Arc::new(Pipeline::new(pool.clone(), engines.clone()));
        pipeline
            .resume_unfinished()
            .await
            .context("resuming unfinished deployments")?;
        let ingest = Arc::new(Ingest::new(Sanitizer::new(
            &config.monitor.audit_redact,
            config.monitor.audit_max_value_chars,
        )));
        let hub = Hub::start(
            pool.clone(),
            config.monitor.feed_capacity,
            Slots::new(
                config.monitor.websocket_connections,
                config.monitor.websocket_connections_per_caller,
            ),
        );
        Hub::forward_deployments(pool.clone(), &pipeline);
        {
            let (pool, ingest, stopped) = (pool.clone(), ingest.clone(), engines.stopped());
            engines
                .on_start(Box::new(move |environment, engine| {
                    tokio::spawn(monitor::embedded::follow(
                        pool.clone(),
                        ingest.clone(),
                        environment.to_owned(),
                        engine,
                        stopped.clone(),
                    ));
                }))
                .await;
        }
        let resumed = engines
            .start_existing()
            .await
            .context("starting the embedded engines found on disk")?;
        if !resumed.is_empty() {
            tracing::info!(?resumed, "embedded engines resumed");
        }
        let checkpoints = Arc::new(
            Checkpoints::open(
                &config.audit_checkpoint_key_file(),
                config.audit_checkpoint_log(),
            )
            .context("the audit checkpoint key (audit.checkpoint_key_file)")?,
        );
        let metrics = Arc::new(Metrics::new(config.metrics.bearer_token.clone()));
        checkpoints.observe(metrics.clone());
        let metric_sources = metrics::Sources {
            metrics,
            pool: pool.clone(),
            hub: hub.clone(),
            ingest: ingest.clone(),
        };
        let state = AppState {
            leptos_options,
            pool: pool.clone(),
            server_context: ServerContext {
                pool: pool.clone(),
                database_mode,
                control: Arc::new(pages::control_plane::Backend {
                    auth: auth.clone(),
                    pipeline: pipeline.clone(),
                    authority: authority.clone(),
                    checkpoints: checkpoints.clone(),
                }),
                monitor: Arc::new(pages::monitor_plane::MonitorBackend {
                    auth: auth.clone(),
                    pipeline: pipeline.clone(),
                    hub: hub.clone(),
                    checkpoints: checkpoints.clone(),
                }),
                sso_label: sso.as_ref().map(|sso| sso.label().to_owned()),
            },
            auth,
            sso,
            pipeline: pipeline.clone(),
            ingest,
            hub: hub.clone(),
            authority: authority.clone(),
            checkpoints: checkpoints.clone(),
        };
        let state_pipeline = pipeline;
        let sessions = SessionManagerLayer::new(session_store.clone())
            .with_name("astraflow_session")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(config.secure_cookies())
            .with_expiry(Expiry::OnInactivity(
                tower_sessions::cookie::time::Duration::minutes(config.auth.session_idle_minutes),
            ));
        let router = router(
            state,
            metric_sources,
            config.http.body_limit,
            Duration::from_secs(config.http.request_timeout_secs.max(1)),
            security_headers::Transport {
                always_tls: config.secure_cookies(),
                trusted_proxies: config.http.trusted_proxies.clone(),
            },
            sessions,
        );

        Ok(Self {
            listener,
            checkpoints,
            checkpoint_every: Duration::from_secs(config.audit.checkpoint_interval_secs.max(1)),
            router,
            timeouts: serve::Timeouts {
                header_read: Duration::from_secs(config.http.header_read_timeout_secs.max(1)),
            },
            pool,
            embedded_postgres,
            session_store,
            engines,
            pipeline: state_pipeline,
            hub,
            authority,
        })
    }

    /// The engines' authorisation server (tests rotate its keys).
    pub fn authority(&self) -> Arc<Authority> {
        self.authority.clone()
    }

    /// The monitor's feed (tests wait until it listens).
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// The pool requests are served from (tests check whom it logs in as).
    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// The workflow engines the server deploys to (tests run workers against them).
    pub fn engines(&self) -> Arc<Engines> {
        self.engines.clone()
    }

    /// The deployment pipeline (tests subscribe to its progress).
    pub fn pipeline(&self) -> Arc<Pipeline> {
        self.pipeline.clone()
    }

    /// The embedded database, when the server runs one (tests stop and restart it).
    pub fn embedded_postgres(&mut self) -> Option<&mut EmbeddedPostgres> {
        self.embedded_postgres.as_mut()
    }

    /// Serves until `shutdown` completes, then drains requests, closes the pool and stops the
    /// embedded database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            checkpoints,
            checkpoint_every,
            router,
            timeouts,
            pool,
            mut embedded_postgres,
            session_store,
            engines,
            pipeline: _,
            hub: _,
            authority,
        } = self;
        let key_refresh = authority.spawn_refresh();
        let signing = checkpoints.spawn(pool.clone(), checkpoint_every);
        let cleanup = tokio::spawn(async move {
            let mut interval = tokio::time::interval(SESSION_CLEANUP_PERIOD);
            loop {
                interval.tick().await;
                if let Err(error) = session_store.delete_expired().await {
                    tracing::warn!(%error, "cannot delete expired sessions");
                }
            }
        });
        serve::serve(listener, router, timeouts, shutdown).await;
        cleanup.abort();
        key_refresh.abort();
        signing.abort();
        engines.shutdown().await;
        pool.close().await;
        if let Some(instance) = embedded_postgres.as_mut() {
            instance
                .stop()
                .await
                .context("stopping the embedded PostgreSQL")?;
        }
        Ok(())
    }
}

fn router<S>(
    state: AppState,
    metric_sources: metrics::Sources,
    body_limit: usize,
    request_timeout: Duration,
    transport: security_headers::Transport,
    sessions: SessionManagerLayer<S>,
) -> Router
where
    S: SessionStore + Clone,
{
    let transport = Arc::new(transport);
    let counted = metric_sources.metrics.clone();
    let routes = generate_route_list(app::App);
    let context = state.server_context.clone();
    let options = state.leptos_options.clone();

    Router::new()
        .merge(api::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        // Inside the router, so each request is counted under the route it matched.
        .layer(axum::middleware::from_fn(move |request, next| {
            metrics::track(counted.clone(), request, next)
        }))
        .route("/metrics", get(metrics::scrape).with_state(metric_sources))
        .layer(axum::middleware::from_fn(auth::csrf::same_origin_only))
        .layer(sessions)
        .layer(RequestBodyLimitLayer::new(body_limit))
        // axum's extractors have a 2 MiB limit of their own; ours is the one above.
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(move |request, next| {
            error::time_limit(request_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn(error::attach_correlation_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .extensions()
                    .get::<RequestId>()
                    .and_then(|id| id.header_value().to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    uri = %loggable_uri(request.uri()),
                    request_id,
                )
            }),
        )
        .layer(axum::middleware::from_fn(move |request, next| {
            security_headers::add(transport.clone(), request, next)
        }))
        // Outermost: every request has an id before anything logs or answers.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The request URI for the logs, without the query of the single sign-on callback, whose
/// authorization code and state are credentials however short-lived.
fn loggable_uri(uri: &axum::http::Uri) -> std::borrow::Cow<'_, str> {
    if uri.path() == auth::oidc::CALLBACK_PATH && uri.query().is_some() {
        format!("{}?<redacted>", uri.path()).into()
    } else {
        uri.to_string().into()
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; draining connections");
}
