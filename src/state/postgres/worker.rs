//! A connection to `PostgreSQL` on a runtime of its own (see `remote.rs`), with the tables
//! created on first use.

use std::future::Future;
use std::sync::Arc;

use tokio_postgres::{Client, NoTls};

use super::super::remote::Remote;

/// The connection and the runtime that drives it.
pub(super) struct Worker {
    remote: Remote,
    client: Arc<Client>,
}

/// Shows nothing of the connection's settings.
impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Worker")
    }
}

impl Worker {
    /// Connects to `url` (without TLS: use a loopback or otherwise trusted network, or a
    /// tunnel). The error is a message fit for users: it never repeats the URL.
    pub(super) fn connect(url: &str) -> Result<Worker, String> {
        let remote = Remote::new("ict-postgres")?;
        let config: tokio_postgres::Config = url.parse().map_err(|error| reason(&error))?;
        let client = remote.run(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        let worker = Worker {
            remote,
            client: Arc::new(client.map_err(|error| reason(&error))?),
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
        self.remote
            .run(call(self.client.clone()))?
            .map_err(|error| reason(&error))
    }

    /// Starts `task` on the worker's runtime (the lease renewal).
    pub(super) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::AbortHandle> {
        self.remote.spawn(task)
    }

    /// The client, for tasks started with [`Worker::spawn`].
    pub(super) fn client(&self) -> Arc<Client> {
        self.client.clone()
    }
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
