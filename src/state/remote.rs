//! A runtime of its own for a remote backend's client, so that the synchronous [`super::Store`]
//! can call it from anywhere — also from a thread of another tokio runtime, where `block_on`
//! is forbidden: a call runs on this runtime and is waited for on a channel, for a bounded time.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use tokio::task::AbortHandle;

/// How long one call to a remote backend may take before ict gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The runtime; shut down in the background when dropped.
#[derive(Debug)]
pub(super) struct Remote {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Remote {
    /// A runtime with one worker thread named `name`.
    pub(super) fn new(name: &str) -> Result<Remote, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Remote {
            runtime: Some(runtime),
        })
    }

    /// Runs `call` on the runtime and waits for its result.
    pub(super) fn run<T: Send + 'static>(
        &self,
        call: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.spawn(async move {
            let _ = tx.send(call.await);
        });
        rx.recv_timeout(TIMEOUT).map_err(|error| match error {
            mpsc::RecvTimeoutError::Timeout => format!("no answer within {} s", TIMEOUT.as_secs()),
            mpsc::RecvTimeoutError::Disconnected => "the connection closed".to_owned(),
        })
    }

    /// Starts `task` on the runtime (a lease renewal, a connection).
    pub(super) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Option<AbortHandle> {
        self.runtime
            .as_ref()
            .map(|runtime| runtime.spawn(task).abort_handle())
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is forbidden inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
