//! One call policy for every provider client: a per-provider rate limit and daily budget,
//! several keys rotated when one is refused for quota, `Retry-After` honoured, bounded
//! exponential backoff with jitter on 429 and 5xx, request timeouts, and errors that name
//! the provider. Every HTTP request is counted.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Why a provider call failed, after the policy's retries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: the key was refused ({status}); check the configured key")]
    Unauthorized { provider: &'static str, status: u16 },
    #[error("{provider}: every configured key is out of quota")]
    QuotaExhausted { provider: &'static str },
    #[error("{provider}: today's call budget of {budget} is spent")]
    BudgetExhausted { provider: &'static str, budget: u32 },
    #[error("{provider}: malformed response: {detail}")]
    Malformed {
        provider: &'static str,
        detail: String,
    },
    #[error("{provider}: unavailable after {attempts} attempts (last status {status})")]
    Unavailable {
        provider: &'static str,
        status: u16,
        attempts: u32,
    },
    #[error("{provider}: no answer within {seconds} s after {attempts} attempts")]
    Timeout {
        provider: &'static str,
        seconds: u64,
        attempts: u32,
    },
    #[error("{provider}: request refused ({status}): {detail}")]
    Rejected {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    #[error("{provider}: connection failed: {detail}")]
    Connection {
        provider: &'static str,
        detail: String,
    },
}

impl ProviderError {
    /// Errors after which later calls to the same provider in this run are pointless.
    pub fn stops_provider(&self) -> bool {
        matches!(
            self,
            ProviderError::Unauthorized { .. }
                | ProviderError::QuotaExhausted { .. }
                | ProviderError::BudgetExhausted { .. }
        )
    }
}

#[derive(Clone, Debug)]
pub struct PolicyConfig {
    /// Requests per second at most.
    pub rate_per_second: f64,
    /// Calls per UTC day at most (0: no limit).
    pub daily_budget: u32,
    /// Retries after the first attempt for 429, 5xx and timeouts.
    pub max_retries: u32,
    pub timeout: Duration,
    /// First backoff; it doubles on each retry, plus up to 50% jitter.
    pub base_backoff: Duration,
    /// Longest wait the policy accepts from a `Retry-After` header.
    pub max_retry_after: Duration,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            rate_per_second: 5.0,
            daily_budget: 0,
            max_retries: 4,
            timeout: Duration::from_secs(20),
            base_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A provider's HTTP access: keys, limits and counters, shared by all its calls in a process.
#[derive(Clone)]
pub struct Caller {
    pub provider: &'static str,
    http: reqwest::Client,
    keys: Arc<Vec<String>>,
    active_key: Arc<AtomicUsize>,
    config: PolicyConfig,
    next_slot: Arc<Mutex<Instant>>,
    /// HTTP requests made (each attempt counts).
    calls: Arc<AtomicU32>,
    /// Today's calls as the store counted them when this process last read or wrote them.
    stored_today: Arc<AtomicU32>,
    /// Calls this process made that the store does not count yet.
    unrecorded: Arc<AtomicU32>,
}

/// How the policy should treat an answer.
enum Verdict {
    Done(reqwest::Response),
    Retry { status: u16, wait: Option<Duration> },
    NextKey,
    Fail(ProviderError),
}

impl Caller {
    /// `keys` may be empty for keyless providers.
    pub fn new(provider: &'static str, keys: Vec<String>, config: PolicyConfig) -> Caller {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("TourSherpa/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client builds");
        Caller {
            provider,
            http,
            keys: Arc::new(keys),
            active_key: Arc::new(AtomicUsize::new(0)),
            config,
            next_slot: Arc::new(Mutex::new(Instant::now())),
            calls: Arc::new(AtomicU32::new(0)),
            stored_today: Arc::new(AtomicU32::new(0)),
            unrecorded: Arc::new(AtomicU32::new(0)),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Calls allowed per UTC day; 0 means no budget.
    pub fn daily_budget(&self) -> u32 {
        self.config.daily_budget
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// HTTP requests this caller made.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Takes the store's count of today's calls (every process's, this one's recorded
    /// calls included) as the base of the budget. Called before a refresh or an on-demand
    /// lookup, so that the budget is the day's, shared by every process on the store.
    pub fn sync_usage(&self, stored_today: u32) {
        self.stored_today.store(stored_today, Ordering::Relaxed);
    }

    /// The calls made since the last time this was called, for the store to add to
    /// today's count; they then count as stored.
    pub fn take_unrecorded(&self) -> u32 {
        // Counted as stored before they stop counting as unrecorded: a call checking the
        // budget in between sees them twice, never not at all.
        let n = self.unrecorded.load(Ordering::Relaxed);
        self.stored_today.fetch_add(n, Ordering::Relaxed);
        self.unrecorded.fetch_sub(n, Ordering::Relaxed);
        n
    }

    /// Counts one call against today's budget, unless the budget is spent. Checking and
    /// counting are one step, so calls made at once cannot together pass the budget.
    fn reserve_call(&self) -> bool {
        let budget = self.config.daily_budget;
        self.unrecorded
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |unrecorded| {
                let used = self.stored_today.load(Ordering::Relaxed) + unrecorded;
                (budget == 0 || used < budget).then_some(unrecorded + 1)
            })
            .is_ok()
    }

    /// Waits for the rate limit's next free slot.
    async fn pace(&self) {
        if self.config.rate_per_second <= 0.0 {
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / self.config.rate_per_second);
        let wait_until = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + gap;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.base_backoff.as_millis() as u64 * (1u64 << attempt.min(10));
        let jitter = jitter_fraction() * base as f64 * 0.5;
        Duration::from_millis(base + jitter as u64)
    }

    /// Sends a request built by `build` (given the active key, or "" for keyless providers),
    /// applying the whole policy. Returns the successful response.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response, ProviderError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        let provider = self.provider;
        let mut attempt = 0u32;
        let mut keys_tried = 0usize;
        loop {
            let key_index = self.active_key.load(Ordering::Relaxed);
            let key = if self.keys.is_empty() {
                ""
            } else if key_index < self.keys.len() {
                self.keys[key_index].as_str()
            } else {
                return Err(ProviderError::QuotaExhausted { provider });
            };
            if !self.reserve_call() {
                let budget = self.config.daily_budget;
                return Err(ProviderError::BudgetExhausted { provider, budget });
            }
            self.pace().await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let verdict = match build(&self.http, key).send().await {
                Err(e) if e.is_timeout() => {
                    if attempt >= self.config.max_retries {
                        return Err(ProviderError::Timeout {
                            provider,
                            seconds: self.config.timeout.as_secs(),
                            attempts: attempt + 1,
                        });
                    }
                    Verdict::Retry {
                        status: 0,
                        wait: None,
                    }
                }
                Err(e) => {
                    if attempt >= self.config.max_retries {
                        return Err(ProviderError::Connection {
                            provider,
                            detail: e.to_string(),
                        });
                    }
                    Verdict::Retry {
                        status: 0,
                        wait: None,
                    }
                }
                Ok(resp) => self.judge(resp).await,
            };
            match verdict {
                Verdict::Done(resp) => return Ok(resp),
                Verdict::Fail(e) => return Err(e),
                Verdict::NextKey => {
                    keys_tried += 1;
                    // Move on from the refused key (unless another call already did).
                    let _ = self.active_key.compare_exchange(
                        key_index,
                        key_index + 1,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    if keys_tried >= self.keys.len().max(1)
                        || self.active_key.load(Ordering::Relaxed) >= self.keys.len()
                    {
                        return Err(ProviderError::QuotaExhausted { provider });
                    }
                    tracing::warn!(
                        provider,
                        key = key_index + 1,
                        "key out of quota; rotating to the next one"
                    );
                }
                Verdict::Retry { status, wait } => {
                    if attempt >= self.config.max_retries {
                        return Err(ProviderError::Unavailable {
                            provider,
                            status,
                            attempts: attempt + 1,
                        });
                    }
                    let wait = wait
                        .map(|w| w.min(self.config.max_retry_after))
                        .unwrap_or_else(|| self.backoff(attempt));
                    tracing::info!(
                        provider,
                        status,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn judge(&self, resp: reqwest::Response) -> Verdict {
        let provider = self.provider;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Verdict::Done(resp);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        let quota_words = {
            let b = body.to_ascii_lowercase();
            b.contains("quota")
                || b.contains("exhausted")
                || b.contains("exceeded your")
                || b.contains("billing")
        };
        match status {
            429 if quota_words && retry_after.is_none() && self.keys.len() > 1 => Verdict::NextKey,
            429 => Verdict::Retry {
                status,
                wait: retry_after,
            },
            402 => Verdict::NextKey,
            403 if quota_words => Verdict::NextKey,
            401 | 403 => Verdict::Fail(ProviderError::Unauthorized { provider, status }),
            500..=599 => Verdict::Retry {
                status,
                wait: retry_after,
            },
            _ => Verdict::Fail(ProviderError::Rejected {
                provider,
                status,
                detail: body,
            }),
        }
    }
}

/// `Retry-After` as seconds (HTTP dates are treated as "a short while").
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    chrono::DateTime::parse_from_rfc2822(v).ok().map(|when| {
        let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64;
        Duration::from_secs(secs)
    })
}

/// A number in [0, 1) from the clock: jitter only needs to differ between callers.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// Reads a JSON body, turning anything unexpected into a `Malformed` error.
pub async fn json_body<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    resp: reqwest::Response,
) -> Result<T, ProviderError> {
    let bytes = resp.bytes().await.map_err(|e| ProviderError::Connection {
        provider,
        detail: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed {
        provider,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
