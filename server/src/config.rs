//! Configuration from the environment (design.md section 5). Secrets (provider keys) are
//! read here and never logged or printed.

use app::ingest::RefreshConfig;
use app::providers::duffel::Duffel;
use app::providers::places::{GooglePlaces, Overpass};
use app::providers::policy::{Caller, PolicyConfig};
use app::providers::predicthq::PredictHq;
use app::providers::{EventsClient, FlightsClient, PlacesClient, Providers};
use std::time::Duration;

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub refresh: RefreshConfig,
    /// Run a refresh this often inside `serve` (`TOURSHERPA_REFRESH_EVERY`); off when unset.
    pub refresh_every: Option<Duration>,
    /// The nice value refreshes run at (`TOURSHERPA_REFRESH_NICE`, 0 to 19; 0 keeps the
    /// server's priority): see `priority`.
    pub refresh_nice: i32,
    /// Map tile URL template; empty draws the bundled country shapes only.
    pub tile_url: String,
    pub tile_attribution: String,
    /// Session lifetime, idle timeout, cookie and proxy rules for the admin pages.
    pub auth: app::auth::AuthSettings,
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

fn list(key: &str, default: &str) -> Vec<String> {
    var(key)
        .unwrap_or_else(|| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn number<T: std::str::FromStr>(key: &str, default: T) -> Result<T, ConfigError> {
    match var(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError(format!("{key} must be a number, not `{v}`"))),
    }
}

/// Durations like `24h`, `30m`, `90s` or `2d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// The call policy of one provider: `{PREFIX}_RATE_PER_SECOND`, `{PREFIX}_DAILY_BUDGET`,
/// and the shared `TOURSHERPA_HTTP_TIMEOUT_SECS` and `TOURSHERPA_MAX_RETRIES`.
fn policy(prefix: &str, rate: f64, budget: u32) -> Result<PolicyConfig, ConfigError> {
    Ok(PolicyConfig {
        rate_per_second: number(&format!("{prefix}_RATE_PER_SECOND"), rate)?,
        daily_budget: number(&format!("{prefix}_DAILY_BUDGET"), budget)?,
        max_retries: number("TOURSHERPA_MAX_RETRIES", 4)?,
        timeout: Duration::from_secs(number("TOURSHERPA_HTTP_TIMEOUT_SECS", 20)?),
        ..PolicyConfig::default()
    })
}

fn keys(key: &str, needed_for: &str) -> Result<Vec<String>, ConfigError> {
    let keys = list(key, "");
    if keys.is_empty() {
        return Err(ConfigError(format!(
            "{needed_for} needs {key} (one key, or several separated by commas)"
        )));
    }
    Ok(keys)
}

fn providers() -> Result<Providers, ConfigError> {
    let events = match var("TOURSHERPA_EVENTS_PROVIDER")
        .as_deref()
        .unwrap_or("demo")
    {
        "demo" => EventsClient::Demo,
        "predicthq" => EventsClient::PredictHq(Box::new(PredictHq {
            caller: Caller::new(
                "predicthq",
                keys("PREDICTHQ_TOKEN", "TOURSHERPA_EVENTS_PROVIDER=predicthq")?,
                policy("PREDICTHQ", 5.0, 0)?,
            ),
            base_url: var("PREDICTHQ_BASE_URL")
                .unwrap_or_else(|| "https://api.predicthq.com".into()),
            categories: list(
                "PREDICTHQ_CATEGORIES",
                "concerts,festivals,expos,sports,conferences,performing-arts",
            ),
            countries: list("PREDICTHQ_COUNTRIES", "")
                .into_iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        })),
        other => {
            return Err(ConfigError(format!(
                "TOURSHERPA_EVENTS_PROVIDER must be `demo` or `predicthq`, not `{other}`"
            )))
        }
    };
    let places = match var("TOURSHERPA_PLACES_PROVIDER")
        .as_deref()
        .unwrap_or("demo")
    {
        "demo" => PlacesClient::demo(),
        "google" => PlacesClient::Google(GooglePlaces {
            caller: Caller::new(
                "google",
                keys("GOOGLE_PLACES_KEY", "TOURSHERPA_PLACES_PROVIDER=google")?,
                policy("GOOGLE_PLACES", 10.0, 0)?,
            ),
            base_url: var("GOOGLE_PLACES_BASE_URL")
                .unwrap_or_else(|| "https://places.googleapis.com".into()),
        }),
        "overpass" => PlacesClient::Overpass(Overpass {
            // Fair use: about 10,000 queries a day, gently paced.
            caller: Caller::new("overpass", Vec::new(), policy("OVERPASS", 1.0, 10_000)?),
            url: var("OVERPASS_URL")
                .unwrap_or_else(|| "https://overpass-api.de/api/interpreter".into()),
        }),
        other => {
            return Err(ConfigError(format!(
                "TOURSHERPA_PLACES_PROVIDER must be `demo`, `google` or `overpass`, not `{other}`"
            )))
        }
    };
    let flights = match var("TOURSHERPA_FLIGHTS_PROVIDER")
        .as_deref()
        .unwrap_or("demo")
    {
        "demo" => FlightsClient::demo(),
        "duffel" => FlightsClient::Duffel(Duffel {
            caller: Caller::new(
                "duffel",
                keys("DUFFEL_TOKEN", "TOURSHERPA_FLIGHTS_PROVIDER=duffel")?,
                policy("DUFFEL", 5.0, 0)?,
            ),
            base_url: var("DUFFEL_BASE_URL").unwrap_or_else(|| "https://api.duffel.com".into()),
        }),
        other => {
            return Err(ConfigError(format!(
                "TOURSHERPA_FLIGHTS_PROVIDER must be `demo` or `duffel`, not `{other}`"
            )))
        }
    };
    Ok(Providers {
        events,
        places,
        flights,
    })
}

/// `TOURSHERPA_SESSION_HOURS` (12), `TOURSHERPA_SESSION_IDLE_MINUTES` (120),
/// `TOURSHERPA_SECURE_COOKIES` (`auto`, `always` or `never`), `TOURSHERPA_TRUST_PROXY`.
fn auth() -> Result<app::auth::AuthSettings, ConfigError> {
    let hours: i64 = number("TOURSHERPA_SESSION_HOURS", 12)?;
    let idle: i64 = number("TOURSHERPA_SESSION_IDLE_MINUTES", 120)?;
    if !(1..=24 * 30).contains(&hours) || !(1..=24 * 60).contains(&idle) {
        return Err(ConfigError(
            "TOURSHERPA_SESSION_HOURS must be 1 to 720 and TOURSHERPA_SESSION_IDLE_MINUTES 1 to 1440"
                .into(),
        ));
    }
    let secure_cookies = match var("TOURSHERPA_SECURE_COOKIES")
        .as_deref()
        .unwrap_or("auto")
    {
        "auto" => None,
        "always" | "true" | "1" => Some(true),
        "never" | "false" | "0" => Some(false),
        other => {
            return Err(ConfigError(format!(
                "TOURSHERPA_SECURE_COOKIES must be `auto`, `always` or `never`, not `{other}`"
            )))
        }
    };
    let trust_proxy = matches!(
        var("TOURSHERPA_TRUST_PROXY").as_deref(),
        Some("1" | "true" | "yes")
    );
    Ok(app::auth::AuthSettings {
        lifetime: chrono::Duration::hours(hours),
        idle: chrono::Duration::minutes(idle),
        secure_cookies,
        trust_proxy,
    })
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut flight_origins = Vec::new();
        for code in list("TOURSHERPA_FLIGHT_ORIGINS", "ICN") {
            let code = code.to_ascii_uppercase();
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ConfigError(format!(
                    "TOURSHERPA_FLIGHT_ORIGINS holds `{code}`, which is not an IATA airport code"
                )));
            }
            flight_origins.push(code);
        }
        let refresh_every = match var("TOURSHERPA_REFRESH_EVERY") {
            None => None,
            Some(v) => Some(parse_duration(&v).ok_or_else(|| {
                ConfigError(format!(
                    "TOURSHERPA_REFRESH_EVERY must look like 24h, 30m or 2d, not `{v}`"
                ))
            })?),
        };
        let window_days: i64 = number("PREDICTHQ_WINDOW_DAYS", 365)?;
        if !(1..=3650).contains(&window_days) {
            return Err(ConfigError(
                "PREDICTHQ_WINDOW_DAYS must be from 1 to 3650".into(),
            ));
        }
        let refresh_nice: i32 = number(
            "TOURSHERPA_REFRESH_NICE",
            crate::priority::DEFAULT_REFRESH_NICE,
        )?;
        if !(0..=19).contains(&refresh_nice) {
            return Err(ConfigError(
                "TOURSHERPA_REFRESH_NICE must be from 0 (the usual priority) to 19 (the lowest)"
                    .into(),
            ));
        }
        Ok(Config {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| app::store::DEFAULT_DATABASE_URL.into()),
            refresh: RefreshConfig {
                providers: providers()?,
                flight_origins,
                window_days,
                demo_latency: Duration::from_millis(number("TOURSHERPA_DEMO_LATENCY_MS", 0)?),
                stage_pause: Duration::from_millis(number("TOURSHERPA_STAGE_PAUSE_MS", 0)?),
                ..RefreshConfig::default()
            },
            refresh_every,
            refresh_nice,
            tile_url: var("TOURSHERPA_TILE_URL").unwrap_or_default(),
            tile_attribution: var("TOURSHERPA_TILE_ATTRIBUTION")
                .unwrap_or_else(|| "&copy; OpenStreetMap contributors".into()),
            auth: auth()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
