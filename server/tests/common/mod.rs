//! Test harness: spawn the whole app on port 0 over a fresh store (a temporary SQLite file,
//! or a PostgreSQL database created for the test and dropped afterwards).
#![allow(dead_code)]

use app::ingest::{RefreshConfig, RunReport};
use leptos::prelude::LeptosOptions;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use server::config::Config;
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            // Drop from a thread of its own: Drop cannot await on the test's runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(db) = Database::connect(&admin_url).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TOURSHERPA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub async fn test_db(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            TestDb {
                url,
                _dir: Some(dir),
                pg_drop: None,
            }
        }
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let name = format!(
                "toursherpa_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos()
            );
            let db = Database::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            TestDb {
                url: format!("{base}/{name}"),
                _dir: None,
                pg_drop: Some((admin, name)),
            }
        }
    }
}

/// How long a test waits for one response, body included. A response that never ends (a
/// request hung in the server) then fails its test, naming the URL, instead of holding the
/// whole run until CI stops it.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The HTTP client the tests use: [`RESPONSE_TIMEOUT`] on every request.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(RESPONSE_TIMEOUT)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub config: Config,
    pub _test_db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.get(path).await;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"));
        (status, json)
    }

    /// A GET with a bearer token, answered as JSON.
    pub async fn get_json_as(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request failed");
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"));
        (status, json)
    }

    pub async fn refresh(&self) -> RunReport {
        app::ingest::refresh(&self.db, &self.config.refresh)
            .await
            .expect("refresh ran")
    }
}

pub fn test_config(database_url: &str) -> Config {
    Config {
        database_url: database_url.to_string(),
        refresh: RefreshConfig::default(),
        refresh_every: None,
        refresh_nice: 0,
        tile_url: String::new(),
        tile_attribution: String::new(),
        auth: app::auth::AuthSettings::default(),
    }
}

/// The Leptos options every test's router is built with.
pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("toursherpa")
        .site_root("target/site")
        .build()
}

/// Serves the app built from `config` over `db` on a random port; returns its address.
pub async fn serve(config: &Config, db: DatabaseConnection) -> String {
    let router = server::router(leptos_options(), server::app_state(config, db));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    address
}

/// Starts the app on a random port over a fresh store; `refreshed` runs one demo refresh first.
pub async fn spawn_app(backend: Backend, refreshed: bool) -> TestApp {
    spawn_app_with(backend, refreshed, |_| {}).await
}

/// [`spawn_app`] with the configuration adjusted first (providers, session rules).
pub async fn spawn_app_with(
    backend: Backend,
    refreshed: bool,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let test_db = test_db(backend).await;
    let mut config = test_config(&test_db.url);
    adjust(&mut config);
    let db = server::open_store(&config).await.expect("store opens");
    let address = serve(&config, db.clone()).await;
    let app = TestApp {
        address,
        client: client_builder().build().unwrap(),
        db,
        config,
        _test_db: test_db,
    };
    if refreshed {
        let report = app.refresh().await;
        assert_eq!(report.status, "succeeded", "{:?}", report.errors);
    }
    app
}

/// Declares one test per backend from an async fn taking a [`Backend`].
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::common::Backend::Postgres).await }
            )*
        }
    };
}
