//! A connection to `PostgreSQL` that synchronous code can use from anywhere — also from a
//! thread of another tokio runtime, where `block_on` is forbidden: the connection lives on a
//! small runtime of its own, and a call waits for its answer on a channel.

use std::future::Future;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// How long a connection or a statement may take before ict gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The connection and the runtime that drives it.
#[derive(Debug)]
pub(super) struct Worker {
    runtime: Option<tokio::runtime::Runtime>,
    client: Arc<Client>,
}

impl Worker {
    /// Connects to `url` (without TLS: use a loopback or otherwise trusted network, or a
    /// tunnel). The error is a message fit for users: it never repeats the URL.
    pub(super) fn connect(url: &str) -> Result<Worker, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ict-postgres")
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        let config: tokio_postgres::Config = url.parse().map_err(|error| reason(&error))?;
        let (tx, rx) = mpsc::sync_channel(1);
        runtime.spawn(async move {
            let connected = config.connect(NoTls).await.map(|(client, connection)| {
                tokio::spawn(connection);
                client
            });
            let _ = tx.send(connected);
        });
        let client = wait(&rx)?.map_err(|error| reason(&error))?;
        let worker = Worker {
            runtime: Some(runtime),
            client: Arc::new(client),
        };
        worker.run(|client| async move {
            let ready: bool = client
                .query_one(super::sql::SCHEMA_READY, &[])
                .await?
                .get(0);
            if !ready {
                client.batch_execute(super::sql::SCHEMA).await?;
            }
            Ok(())
        })?;
        Ok(worker)
    }

    /// Runs `call` with the client on the worker's runtime and waits for its result.
    pub(super) fn run<T, F>(&self, call: impl FnOnce(Arc<Client>) -> F) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        let future = call(self.client.clone());
        self.spawn(async move {
            let _ = tx.send(future.await);
        });
        wait(&rx)?.map_err(|error| reason(&error))
    }

    /// Starts `task` on the worker's runtime (the lease renewal).
    pub(super) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::AbortHandle> {
        self.runtime
            .as_ref()
            .map(|runtime| runtime.spawn(task).abort_handle())
    }

    /// The client, for tasks started with [`Worker::spawn`].
    pub(super) fn client(&self) -> Arc<Client> {
        self.client.clone()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is forbidden inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn wait<T>(rx: &mpsc::Receiver<T>) -> Result<T, String> {
    rx.recv_timeout(TIMEOUT).map_err(|error| match error {
        mpsc::RecvTimeoutError::Timeout => format!("no answer within {} s", TIMEOUT.as_secs()),
        mpsc::RecvTimeoutError::Disconnected => "the connection closed".to_owned(),
    })
}

/// What went wrong, in the server's words when it said something.
pub(super) fn reason(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
