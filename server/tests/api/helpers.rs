//! Spawning the application for a test.

use std::{os::unix::fs::PermissionsExt, path::Path};

use secrecy::{ExposeSecret, SecretString};
use server::{config::Config, startup::Application};
use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};
use tokio::sync::oneshot;

/// The database server the tests run against (scripts/test.sh provides one).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server; scripts/test.sh starts one")
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn create_database() -> String {
    let base: PgConnectOptions = database_url().parse().expect("DATABASE_URL parses");
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = PgConnection::connect_with(&base)
        .await
        .expect("connect to the test PostgreSQL");
    connection
        .execute(format!(r#"create database "{name}""#).as_str())
        .await
        .unwrap();
    let mut url = url_without_database(&database_url());
    url.push('/');
    url.push_str(&name);
    url
}

fn url_without_database(url: &str) -> String {
    let (head, _) = url.rsplit_once('/').expect("a URL with a database path");
    head.to_owned()
}

/// Configuration for a test server on a free port; `database_url` of `None` means embedded.
pub fn test_config(database_url: Option<String>, data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.http.port = 0;
    config.database.url = database_url.map(SecretString::from);
    config.data_dir = data_dir.to_path_buf();
    config.site.root = data_dir.join("site");
    // Tests create the accounts they need; the first-start seed has its own test.
    config.seed_demo = false;
    // Every test client signs in from 127.0.0.1, often as one account many times a minute;
    // the sign-in limits have their own test.
    config.auth.sign_ins_per_minute_per_address = 100_000;
    config.auth.sign_ins_per_minute_per_account = 100_000;
    config
}

/// A loopback port nothing listens on now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A temporary directory PostgreSQL's unprivileged account can traverse when tests run as root.
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A running application and the means to stop it.
pub struct TestApp {
    pub address: String,
    /// The external database the app uses, if it was given one.
    pub database_url: Option<String>,
    pub client: reqwest::Client,
    /// The server's workflow engines (for test workers and the record stream).
    pub engines: std::sync::Arc<server::engines::Engines>,
    /// The deployment pipeline (to subscribe to its progress events).
    pub pipeline: std::sync::Arc<server::pipeline::Pipeline>,
    /// The monitor's feed.
    pub hub: std::sync::Arc<server::monitor::hub::Hub>,
    /// The engines' authorisation server (its keys).
    pub authority: std::sync::Arc<server::engine_access::Authority>,
    /// The pool the server serves requests from.
    pub pool: sqlx::PgPool,
    shutdown: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn(config: Config) -> TestApp {
        let database_url = config
            .database
            .url
            .as_ref()
            .map(|url| url.expose_secret().to_owned());
        let application = Application::build(config)
            .await
            .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        let engines = application.engines();
        let pipeline = application.pipeline();
        let hub = application.hub();
        let authority = application.authority();
        let pool = application.pool();
        let (shutdown, stop) = oneshot::channel();
        let served = tokio::spawn(application.run_until(async {
            let _ = stop.await;
        }));
        TestApp {
            address,
            engines,
            pipeline,
            hub,
            authority,
            pool,
            database_url,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown: Some(shutdown),
            served,
        }
    }

    /// A server on its own fresh database.
    pub async fn with_fresh_database() -> (TestApp, tempfile::TempDir) {
        let dir = shared_tempdir();
        let app = TestApp::spawn(test_config(Some(create_database().await), dir.path())).await;
        (app, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Calls a server function the way the browser does.
    pub async fn server_fn(&self, name: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/fn/{name}")))
            // Browsers send the page's origin with every POST; the CSRF check requires it.
            .header("origin", &self.address)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body("")
            .send()
            .await
            .expect("request sent")
    }

    /// Graceful shutdown: drains, closes the pool, stops an embedded database.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.served)
            .await
            .expect("server task")
            .expect("clean shutdown");
    }
}

/// A fresh, fully migrated database, without a server.
pub async fn migrated_pool() -> sqlx::PgPool {
    let url = create_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .expect("connect to the test database");
    server::db::MIGRATOR.run(&pool).await.expect("migrations");
    pool
}

impl TestApp {
    /// A direct connection pool to the app's database, as its owner (for setting up and for
    /// tampering, like an operator with psql would).
    pub async fn owner_pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(self.database_url.as_deref().expect("an external database"))
            .await
            .unwrap()
    }

    /// Creates an account directly in the database and returns its id.
    pub async fn create_user(
        &self,
        email: &str,
        password: &str,
        platform_admin: bool,
    ) -> uuid::Uuid {
        let pool = self.owner_pool().await;
        let hash = server::auth::password::hash(password.to_owned())
            .await
            .unwrap();
        let id: uuid::Uuid = sqlx::query_scalar(
            "insert into users (email, name, password_hash) values ($1, $1, $2) returning id",
        )
        .bind(email)
        .bind(hash)
        .fetch_one(&pool)
        .await
        .unwrap();
        if platform_admin {
            sqlx::query("insert into platform_admins (user_id) values ($1)")
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        id
    }

    /// Gives the account `email` the password `password` the way its person would: a platform
    /// administrator has a one-time link made (printed, as no mail server is configured), and
    /// the link is used.
    pub async fn choose_password(&self, email: &str, password: &str) {
        let admin_email = format!("links-{}@example.com", uuid::Uuid::new_v4().simple());
        self.create_user(&admin_email, password, true).await;
        let admin = self.sign_in(&admin_email, password).await;
        let made = admin
            .post(self.url("/api/v1/platform/password-links"))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
        let link: serde_json::Value = made.json().await.unwrap();
        assert_eq!(link["delivery"], "printed", "{link}");
        let url = url::Url::parse(link["url"].as_str().unwrap()).unwrap();
        let token = url
            .query_pairs()
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value.into_owned())
            .unwrap();
        let set = self
            .client
            .post(self.url("/api/v1/auth/set-password"))
            .json(&serde_json::json!({ "token": token, "new_password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 204, "{}", set.text().await.unwrap());
    }

    /// A client that keeps cookies and sends our Origin, like the browser on our pages.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.address.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in with email and password; returns the signed-in client.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Client {
        let client = self.browser();
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        client
    }
}

/// A Zeebe gateway client that sends a bearer token with every call (or none).
pub type Gateway = zeebe::gateway::GatewayClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

/// A gateway client for `address` (`host:port`) calling with `token`.
pub async fn gateway_with_token(address: &str, token: Option<&str>) -> Gateway {
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer = Bearer(token.map(|token| format!("Bearer {token}").parse().unwrap()));
    zeebe::gateway::GatewayClient::with_interceptor(channel, bearer)
}

impl TestApp {
    /// An access token for a test worker of `tenant` on the embedded engine of `environment`,
    /// with every permission, signed by the server's current key (as `/oauth/token` would
    /// give an engine client).
    pub fn engine_token(&self, environment: &str, tenant: &str) -> String {
        self.authority
            .sign(
                &server::engine_access::audience(environment),
                "test-worker",
                &server::domain::TenantId::new(tenant).unwrap(),
                &engine::auth::Permission::ALL,
            )
            .token
    }
}
