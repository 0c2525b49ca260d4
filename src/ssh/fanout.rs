//! Fan-out: run one command on many hosts at once, with bounded concurrency.
//!
//! Every host is independent: its own task, connection, timeouts and result. A host that is
//! down, slow, refuses our key or fails its command never stops or delays the others beyond
//! the semaphore. Results stream out as hosts finish (`exec_stream`, for progress displays) or
//! come back in input order (`exec_many`). With a [`Pool`], each host's session is the pool's
//! (kept open for the next command). Depends on `ssh::{auth, error, host_keys, pool, session,
//! target}`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};

use super::auth::Auth;
use super::error::SshError;
use super::host_keys::HostKeyVerifier;
use super::pool::Pool;
use super::session::{ConnectOptions, ExecResult, Session};
use super::target::Target;

/// Limits for a fan-out.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// How many hosts are worked on at once (at least 1).
    pub parallelism: usize,
    /// Socket options and the connect (+ handshake + auth) timeout, per host.
    pub connect: ConnectOptions,
    /// Limit for the command itself, per host.
    pub command_timeout: Duration,
    /// Sessions to reuse (and to leave open) instead of one connection per host and command.
    pub pool: Option<Pool>,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        Self {
            parallelism: 50,
            connect: ConnectOptions::default(),
            command_timeout: Duration::from_secs(60),
            pool: None,
        }
    }
}

/// One host's outcome.
#[derive(Debug)]
pub struct HostResult {
    /// The host.
    pub target: Target,
    /// The command's output and status, or why the host could not run it.
    pub outcome: Result<ExecResult, SshError>,
    /// Time from the start of this host's connection to its result.
    pub elapsed: Duration,
}

/// Runs `command` on every target; returns one result per target, in input order.
pub async fn exec_many(
    targets: &[Target],
    auth: &Auth,
    verifier: Arc<dyn HostKeyVerifier>,
    command: &str,
    options: &FanoutOptions,
) -> Vec<HostResult> {
    let mut slots: Vec<Option<HostResult>> = targets.iter().map(|_| None).collect();
    let mut results = exec_stream(
        targets.to_vec(),
        auth.clone(),
        verifier,
        command.to_owned(),
        options.clone(),
    );
    while let Some((index, result)) = results.recv().await {
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(result);
        }
    }
    slots
        .into_iter()
        .zip(targets)
        .map(|(slot, target)| {
            // A slot stays empty only if its task panicked: report it, do not lose the host.
            slot.unwrap_or_else(|| HostResult {
                target: target.clone(),
                outcome: Err(SshError::Channel {
                    server: target.to_string(),
                    what: format!("exec `{command}`"),
                    reason: "internal error: the host's task ended without a result".to_owned(),
                }),
                elapsed: Duration::ZERO,
            })
        })
        .collect()
}

/// Starts the fan-out and returns a receiver of `(index into targets, result)` in completion
/// order. The receiver ends when every host is done. Must be called inside a tokio runtime.
pub fn exec_stream(
    targets: Vec<Target>,
    auth: Auth,
    verifier: Arc<dyn HostKeyVerifier>,
    command: String,
    options: FanoutOptions,
) -> mpsc::Receiver<(usize, HostResult)> {
    let (sender, receiver) = mpsc::channel(targets.len().max(1));
    let semaphore = Arc::new(Semaphore::new(options.parallelism.max(1)));
    let shared = Arc::new(Shared {
        auth,
        verifier,
        command,
        options,
    });
    for (index, target) in targets.into_iter().enumerate() {
        let (sender, semaphore, shared) =
            (sender.clone(), Arc::clone(&semaphore), Arc::clone(&shared));
        tokio::spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail; run anyway if it did.
            let _permit = semaphore.acquire_owned().await;
            let started = Instant::now();
            let outcome = run_one(&target, &shared).await;
            let result = HostResult {
                target,
                outcome,
                elapsed: started.elapsed(),
            };
            // The caller may have stopped listening; that only drops this result.
            let _ = sender.send((index, result)).await;
        });
    }
    receiver
}

/// What every host's task reads.
struct Shared {
    auth: Auth,
    verifier: Arc<dyn HostKeyVerifier>,
    command: String,
    options: FanoutOptions,
}

async fn run_one(target: &Target, shared: &Shared) -> Result<ExecResult, SshError> {
    let Shared {
        auth,
        verifier,
        command,
        options,
    } = shared;
    let Some(pool) = &options.pool else {
        let session =
            Session::connect_with(target, auth, verifier.as_ref(), &options.connect).await?;
        let result = session.exec(command, options.command_timeout).await;
        session.close().await;
        return result;
    };
    let session = pool
        .session(target, auth, verifier.as_ref(), &options.connect)
        .await?;
    let result = session.exec(command, options.command_timeout).await;
    if result.is_err() {
        pool.forget(target);
    }
    result
}
