//! The 1cloud REST client (reqwest + tokio): every endpoint ict uses (docs/1cloud-api.md §2),
//! tolerant decoding (`lenient`, `wire`), timeouts and retries (`transport`), creates that are
//! never sent twice (`create`), task polling (`wait`), and the [`crate::provider::Provider`]
//! implementation (`provider_impl`).
//!
//! The token lives in a [`Token`] that never prints; the `Authorization` header is marked
//! sensitive and no header is ever logged. Depends only on `provider`'s types.

mod catalog;
mod create;
mod dns;
mod lenient;
mod networks;
mod provider_impl;
mod requests;
mod servers;
mod token;
mod transport;
mod wait;
mod wire;
#[cfg(test)]
mod wire_tests;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::provider::ProviderError;

pub use token::Token;

/// The public 1cloud API.
pub const DEFAULT_API_URL: &str = "https://api.1cloud.ru";

/// How long to wait and how often to retry.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request (connect, send, read the answer).
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub poll: PollPolicy,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
        }
    }
}

/// Retries with exponential backoff and full jitter: before retry `n` (from 0) the client
/// sleeps a random time in `[0, min(max_delay, base_delay * 2^n)]`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts in all).
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Polling of tasks and states: the interval starts at `initial` and doubles up to `max`.
#[derive(Debug, Clone)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> PollPolicy {
        PollPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        }
    }
}

/// Counters of what the client did, for tests, `-v` output and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Requests sent again after a failure.
    pub retries: u64,
    /// Creates or actions whose answer was lost but whose object was found and adopted.
    pub adopted: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    adopted: AtomicU64,
}

/// A 1cloud API client. Cheap to clone (shared connection pool and counters).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Asked before every change (POST, PUT, DELETE) is sent: whether the sender still holds
    /// the state's lock (see [`Client::with_send_guard`]).
    guard: Option<SendGuard>,
}

/// Whether a change may be sent now.
pub type SendGuard = Arc<dyn Fn() -> bool + Send + Sync>;

struct Inner {
    http: reqwest::Client,
    /// The address requests go to, credentials included.
    request_url: String,
    /// The address as messages and logs show it: without credentials (`user:password@`).
    base_url: String,
    token: Token,
    config: ClientConfig,
    counters: Counters,
}

impl Client {
    /// This client, asking `guard` before it sends each change (and each retry of one): an
    /// apply under a shared backend's lease sends nothing once the lease may have lapsed.
    #[must_use]
    pub fn with_send_guard(&self, guard: Option<SendGuard>) -> Client {
        Client {
            inner: self.inner.clone(),
            guard,
        }
    }

    /// A client for `base_url` (e.g. [`DEFAULT_API_URL`] or an emulator's address) with the
    /// default timeouts and retries.
    pub fn new(base_url: &str, token: Token) -> Result<Client, ProviderError> {
        Client::with_config(base_url, token, ClientConfig::default())
    }

    /// A client with explicit timeouts, retries and polling.
    pub fn with_config(
        base_url: &str,
        token: Token,
        config: ClientConfig,
    ) -> Result<Client, ProviderError> {
        let request_url = base_url.trim().trim_end_matches('/').to_owned();
        let base_url = transport::without_userinfo(&request_url);
        if !(request_url.starts_with("http://") || request_url.starts_with("https://")) {
            return Err(ProviderError::Config {
                reason: format!("the API URL {base_url:?} must start with http:// or https://"),
            });
        }
        let http = crate::http::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("ict/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ProviderError::Config {
                reason: error.to_string(),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                request_url,
                base_url,
                token,
                config,
                counters: Counters::default(),
            }),
            guard: None,
        })
    }

    /// A client from `ONECLOUD_TOKEN` (required) and `ONECLOUD_API_URL` (default
    /// [`DEFAULT_API_URL`]).
    pub fn from_env() -> Result<Client, ProviderError> {
        let token = Token::from_env()?.ok_or(ProviderError::NoToken)?;
        let url = std::env::var("ONECLOUD_API_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        Client::new(&url, token)
    }

    /// The API address as people may see it: without a trailing slash, and without the
    /// credentials (`user:password@`) an `ONECLOUD_API_URL` may carry.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// What the client has done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            adopted: c.adopted.load(Ordering::Relaxed),
        }
    }

    fn count_request(&self) {
        self.inner.counters.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn count_retry(&self) {
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    fn count_adopted(&self) {
        self.inner.counters.adopted.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("token", &self.inner.token)
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::new("http://127.0.0.1:9/", Token::new("feedface".repeat(8)))
            .expect("valid URL");
        let shown = format!("{client:?} {client:#?}");
        assert!(!shown.contains("feedface"), "{shown}");
        assert!(shown.contains("(sensitive)"), "{shown}");
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
    }

    #[test]
    fn credentials_in_the_api_url_are_never_shown() {
        let client = Client::new(
            "https://alice:s3cret@api.example:8443/v1/",
            Token::new("feedface".repeat(8)),
        )
        .expect("valid URL");
        assert_eq!(client.base_url(), "https://(sensitive)@api.example:8443/v1");
        assert!(!format!("{client:?}").contains("s3cret"));
        let error = Client::new("ftp://alice:s3cret@api.example/", Token::new("t")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot set up the 1cloud client: the API URL \"ftp://(sensitive)@api.example\" must \
             start with http:// or https://"
        );
    }

    #[test]
    fn rejects_urls_without_a_scheme() {
        let error = Client::new("api.1cloud.ru", Token::new("t")).unwrap_err();
        assert!(error.to_string().contains("http://"), "{error}");
    }
}
