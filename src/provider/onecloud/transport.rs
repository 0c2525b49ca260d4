//! One HTTP exchange ([`Client::attempt`]), its failure classes, backoff, and the retry loop
//! for idempotent calls (GET, PUT, DELETE). Non-idempotent POSTs go through `create.rs`.
//!
//! Retried: connection errors, timeouts, broken transfers, HTTP 5xx and 429. Never retried:
//! other 4xx. A DELETE that answers 404 after a retry had succeeded before its answer was lost.

use std::time::Duration;

use rand::RngExt as _;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{lenient, Client};
use crate::provider::ProviderError;

/// How an attempt failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection was made: the server saw nothing, anything may be resent.
    Connect(reqwest::Error),
    /// No answer in time: the server may or may not have acted.
    Timeout,
    /// The exchange broke half-way: the server may or may not have acted.
    Transport(reqwest::Error),
    /// The server answered with an unsuccessful status.
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    /// A change not sent: the send guard said no (see [`Client::with_send_guard`]).
    Withheld,
}

impl Failure {
    /// Whether trying again may help.
    pub(super) fn retryable(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Timeout | Failure::Transport(_) => true,
            Failure::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Failure::Withheld => false,
        }
    }

    /// Whether the request certainly had no effect, so a create may be resent unchecked.
    pub(super) fn surely_unsent(&self) -> bool {
        matches!(self, Failure::Connect(_))
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Client {
    /// Sends one request and reads the whole answer.
    pub(super) async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, Failure> {
        let change = *method != Method::GET;
        if change && self.guard.as_ref().is_some_and(|may_send| !may_send()) {
            return Err(Failure::Withheld);
        }
        self.count_request();
        let url = format!("{}{path}", self.inner.request_url);
        let mut request = self
            .inner
            .http
            .request(method.clone(), &url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Ok(mut auth) =
            HeaderValue::from_str(&format!("Bearer {}", self.inner.token.expose()))
        {
            auth.set_sensitive(true);
            request = request.header(AUTHORIZATION, auth);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        tracing::debug!(%method, %path, "1cloud request");
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(classify)?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(Failure::Status {
                status,
                message: self.message_of(&bytes),
                retry_after,
            })
        }
    }

    /// The `Message` of an error body, or its start, with the token redacted.
    fn message_of(&self, body: &[u8]) -> String {
        let message = lenient::from_slice::<Value>(body)
            .ok()
            .and_then(|value| {
                value
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(body);
                text.trim().chars().take(200).collect()
            });
        let message = self.inner.token.redact(&message);
        if message.is_empty() {
            "(no message)".to_owned()
        } else {
            message
        }
    }

    /// Sleeps before retry number `retry` (0-based): full jitter over an exponential cap, but
    /// at least what a `Retry-After` header asked for (within `max_delay`).
    pub(super) async fn backoff(&self, retry: u32, failure: &Failure) {
        let policy = &self.inner.config.retry;
        let cap = policy
            .base_delay
            .saturating_mul(2_u32.saturating_pow(retry.min(20)))
            .min(policy.max_delay);
        let jitter = rand::rng().random_range(0..=cap.as_millis() as u64);
        let mut delay = Duration::from_millis(jitter);
        if let Some(asked) = failure.retry_after() {
            delay = delay.max(asked.min(policy.max_delay));
        }
        tokio::time::sleep(delay).await;
    }

    /// The error for a failure that ends a call after `attempts` attempts.
    pub(super) fn error(
        &self,
        method: &Method,
        path: &str,
        failure: Failure,
        attempts: u32,
    ) -> ProviderError {
        let method = method.to_string();
        let path = path.to_owned();
        match failure {
            Failure::Connect(source) => ProviderError::Connect {
                url: self.inner.base_url.clone(),
                attempts,
                source: source.without_url(),
            },
            Failure::Timeout => ProviderError::Timeout {
                method,
                path,
                timeout: self.inner.config.request_timeout,
                attempts,
            },
            Failure::Transport(source) => ProviderError::Transport {
                method,
                path,
                attempts,
                source: source.without_url(),
            },
            Failure::Withheld => ProviderError::NotSent { method, path },
            Failure::Status {
                status, message, ..
            } => match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProviderError::Unauthorized {
                    method,
                    path,
                    status: status.as_u16(),
                },
                StatusCode::NOT_FOUND => ProviderError::NotFound {
                    method,
                    path,
                    message,
                },
                _ => ProviderError::Http {
                    method,
                    path,
                    status: status.as_u16(),
                    message,
                    attempts,
                },
            },
        }
    }

    /// An idempotent call (GET, PUT, DELETE), retried on transient failures. A DELETE that
    /// finds nothing on a retry counts as done (the lost answer was the success).
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ProviderError> {
        let max_retries = self.inner.config.retry.max_retries;
        let mut retry = 0;
        loop {
            match self.attempt(&method, path, body).await {
                Ok(bytes) => return Ok(bytes),
                Err(Failure::Status { status, .. })
                    if retry > 0 && method == Method::DELETE && status == StatusCode::NOT_FOUND =>
                {
                    return Ok(Vec::new());
                }
                Err(failure) if failure.retryable() && retry < max_retries => {
                    tracing::debug!(%method, %path, ?failure, "retrying");
                    self.backoff(retry, &failure).await;
                    self.count_retry();
                    retry += 1;
                }
                Err(failure) => return Err(self.error(&method, path, failure, retry + 1)),
            }
        }
    }

    /// GET and decode.
    pub(super) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        let bytes = self.call(Method::GET, path, None).await?;
        decode(&Method::GET, path, &bytes)
    }

    /// PUT and decode.
    pub(super) async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, ProviderError> {
        let bytes = self.call(Method::PUT, path, Some(body)).await?;
        decode(&Method::PUT, path, &bytes)
    }

    /// DELETE, ignoring the (empty) answer.
    pub(super) async fn delete(&self, path: &str) -> Result<(), ProviderError> {
        self.call(Method::DELETE, path, None).await.map(drop)
    }
}

/// Decodes an answer tolerantly (see `lenient`).
pub(super) fn decode<T: DeserializeOwned>(
    method: &Method,
    path: &str,
    bytes: &[u8],
) -> Result<T, ProviderError> {
    lenient::from_slice(bytes).map_err(|source| ProviderError::Decode {
        method: method.to_string(),
        path: path.to_owned(),
        source,
    })
}

/// `url` with the credentials of its authority (`user:password@`) replaced by `(sensitive)@`:
/// what messages, logs and `--verbose` may show of an `ONECLOUD_API_URL`.
pub(super) fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url
        .find("://")
        .map_or(("", url), |at| url.split_at(at + "://".len()));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}(sensitive)@{host}{}", &rest[end..]),
        None => url.to_owned(),
    }
}

fn classify(error: reqwest::Error) -> Failure {
    if error.is_connect() {
        Failure::Connect(error)
    } else if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transport(error)
    }
}
