//! The daemon process itself (`ict emulator daemon DIR`, started by `start`): it leaves the
//! starter's session, loads the project's account with the settings from its environment,
//! listens on loopback (on the port it had before a restart, when free), records itself in the
//! lock and address files, says `ready URL` on standard output, and serves until SIGTERM,
//! Ctrl-C, the idle period or the loss of its project; on the way out it clears those files.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::emulator::daemon::{DaemonEmulator, DaemonOptions, Lease, StopReason};
use crate::emulator::EmulatorError;
use crate::state::LockHolder;

use super::process::Process;
use super::settings::{self, Requested};
use super::{files, DaemonError, Project};

/// Runs the daemon of the project in `dir`; `announce` writes the `ready` line.
pub fn serve(
    dir: &std::path::Path,
    port: Option<u16>,
    announce: impl FnOnce(&str),
) -> Result<StopReason, DaemonError> {
    // Its own session: a Ctrl-C or hang-up in the starter's terminal does not reach it.
    let _ = rustix::process::setsid();
    let project = Project::at(dir);
    let settings = Requested::from_env()?.settings;
    let idle = settings::idle_from_env()?;
    let token_file = project.token_file();
    let token = files::token(&project).ok_or_else(|| DaemonError::NotStarted {
        reason: format!(
            "{} is missing; `ict emulator start` creates it",
            token_file.display()
        ),
        log: project.log_file(),
    })?;
    let me = LockHolder::current("ict emulator daemon");
    // One daemon per project: a second one started by a racing command gives way (its starter
    // then connects to the first).
    let Some(_running) = files::RunLock::take(&project)? else {
        return Err(DaemonError::AlreadyRunning {
            log: project.log_file(),
        });
    };
    let config = settings::emulator_config(&settings, &project, token)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|source| DaemonError::Emulator(EmulatorError::Serve { source }))?;
    let result = runtime.block_on(async {
        let emulator = DaemonEmulator::load(config).await?;
        let listener = bind(port).await?;
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|source| EmulatorError::Serve { source })?
        );
        files::write_holder(&project, &me)?;
        files::write_addr(&project, &url)?;
        tracing::info!(
            pid = me.pid,
            %url,
            project = %project.dir().display(),
            ?settings,
            idle_secs = idle.map(|i| i.as_secs()),
            "the project's emulator started"
        );
        announce(&format!("ready {url}\n"));
        let options = DaemonOptions {
            pid: me.pid,
            started_at: me.started_at.unix(),
            settings,
            idle,
            check_every: Duration::from_secs(1),
            alive: Arc::new(lease_alive),
            still_ours: {
                let project = project.clone();
                let pid = me.pid;
                Arc::new(move || files::holder(&project).is_some_and(|h| h.pid == pid))
            },
        };
        let reason = emulator
            .serve(listener, options, crate::emulator::stop_signal())
            .await?;
        Ok::<_, DaemonError>(reason)
    });
    files::clear_if_ours(&project, me.pid);
    if let Ok(reason) = &result {
        tracing::info!(?reason, "the project's emulator stopped");
    }
    result
}

/// A listener on loopback, on `port` when it is free (a restarted daemon keeps its address).
async fn bind(port: Option<u16>) -> Result<TcpListener, EmulatorError> {
    if let Some(port) = port {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return Ok(listener);
        }
    }
    TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: "127.0.0.1:0".to_owned(),
            source,
        })
}

/// Whether the process holding `lease` still runs.
fn lease_alive(lease: &Lease) -> bool {
    Process::find(lease.pid)
        .is_some_and(|p| lease.process_start.is_none_or(|start| start == p.start))
}
