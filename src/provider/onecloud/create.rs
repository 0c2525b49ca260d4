//! POSTs that must not take effect twice: object creation and server actions.
//!
//! A create whose answer is lost (timeout, broken connection, 5xx, 429) may still have created
//! the object. So it is never blindly re-sent: the caller supplies a `lookup` that lists the
//! objects and looks for one that matches the request and was not there before (for a server:
//! the same name with an ID missing from the list taken before the POST); if found it is
//! adopted, and only if not is the POST sent again. A failure to connect at all is the one case
//! resent without looking, since the server never saw the request.

use std::future::Future;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::transport::decode;
use super::Client;
use crate::provider::ProviderError;

impl Client {
    /// Sends a non-idempotent POST with retries, checking with `lookup` before every resend
    /// whether the previous attempt took effect after all.
    pub(super) async fn post_checked<T, L, F>(
        &self,
        path: &str,
        body: &Value,
        lookup: L,
    ) -> Result<T, ProviderError>
    where
        T: DeserializeOwned,
        L: Fn() -> F,
        F: Future<Output = Result<Option<T>, ProviderError>>,
    {
        let max_retries = self.inner.config.retry.max_retries;
        let mut retry = 0;
        loop {
            let failure = match self.attempt(&Method::POST, path, Some(body)).await {
                Ok(bytes) => return decode(&Method::POST, path, &bytes),
                Err(failure) => failure,
            };
            if !failure.retryable() {
                return Err(self.error(&Method::POST, path, failure, retry + 1));
            }
            let last = retry >= max_retries;
            if !last {
                self.backoff(retry, &failure).await;
            }
            if !failure.surely_unsent() {
                if let Some(found) = lookup().await? {
                    tracing::info!(%path, "adopted the result of a POST whose answer was lost");
                    self.count_adopted();
                    return Ok(found);
                }
            }
            if last {
                return Err(self.error(&Method::POST, path, failure, retry + 1));
            }
            tracing::debug!(%path, ?failure, "re-sending POST: it did not take effect");
            self.count_retry();
            retry += 1;
        }
    }
}
