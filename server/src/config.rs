//! Configuration from the environment (design.md section 5). Secrets are never logged.

use app::ingest::{EventsSource, RefreshConfig};

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub refresh: RefreshConfig,
    /// Map tile URL template; empty draws the bundled country shapes only.
    pub tile_url: String,
    pub tile_attribution: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn var(key: &str) -> Option<String> {
    std::env::var(key)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let events = match var("TOURSHERPA_EVENTS_PROVIDER").as_deref().unwrap_or("demo") {
            "demo" => EventsSource::Demo,
            "predicthq" => {
                return Err(ConfigError(
                    "TOURSHERPA_EVENTS_PROVIDER=predicthq is not available in this build yet; use `demo`".into(),
                ))
            }
            other => {
                return Err(ConfigError(format!(
                    "TOURSHERPA_EVENTS_PROVIDER must be `demo` or `predicthq`, not `{other}`"
                )))
            }
        };
        let mut flight_origins = Vec::new();
        for code in var("TOURSHERPA_FLIGHT_ORIGINS")
            .unwrap_or_else(|| "ICN".into())
            .split(',')
        {
            let code = code.trim().to_ascii_uppercase();
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ConfigError(format!(
                    "TOURSHERPA_FLIGHT_ORIGINS holds `{code}`, which is not an IATA airport code"
                )));
            }
            flight_origins.push(code);
        }
        Ok(Config {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| app::store::DEFAULT_DATABASE_URL.into()),
            refresh: RefreshConfig {
                events,
                flight_origins,
                ..RefreshConfig::default()
            },
            tile_url: var("TOURSHERPA_TILE_URL").unwrap_or_default(),
            tile_attribution: var("TOURSHERPA_TILE_ATTRIBUTION")
                .unwrap_or_else(|| "&copy; OpenStreetMap contributors".into()),
        })
    }
}
