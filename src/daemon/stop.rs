//! Stopping the project's daemon: under the start lock, SIGTERM (it finishes in-flight
//! requests, stops its servers' sshds and saves the account), then a bounded wait until it and
//! every process below it are gone; what is left after the wait is killed.

use std::time::Duration;

use rustix::process::Signal;

use super::files::{self, StartLock};
use super::process::{wait_gone, Process};
use super::{DaemonError, Project};

/// How long a daemon may take to stop before it is killed.
const STOP_WAIT: Duration = Duration::from_secs(30);
/// How long killed processes may take to disappear.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// A daemon that was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub pid: u32,
    /// It did not stop on SIGTERM in time and was killed.
    pub killed: bool,
}

/// Stops the project's daemon; `None` when none was running.
pub fn stop(project: &Project) -> Result<Option<Stopped>, DaemonError> {
    if !project.lock_file().exists() {
        return Ok(None);
    }
    let lock = StartLock::take(project)?;
    stop_locked(project, &lock)
}

/// [`stop`], with the start lock already held.
pub(super) fn stop_locked(
    project: &Project,
    lock: &StartLock,
) -> Result<Option<Stopped>, DaemonError> {
    let daemon = files::live_holder(project).and_then(|holder| {
        Process::find(holder.pid)
            .filter(|p| holder.process_start.is_none_or(|start| start == p.start))
    });
    let stopped = match daemon {
        None => None,
        Some(daemon) => {
            let tree = daemon.tree();
            daemon.signal(Signal::TERM);
            let killed = !wait_gone(&tree, STOP_WAIT);
            if killed {
                for process in &tree {
                    process.signal(Signal::KILL);
                }
                if !wait_gone(&tree, KILL_WAIT) {
                    return Err(DaemonError::Stuck {
                        pid: daemon.pid,
                        waited: (STOP_WAIT + KILL_WAIT).as_secs(),
                    });
                }
            }
            Some(Stopped {
                pid: daemon.pid,
                killed,
            })
        }
    };
    lock.clear();
    let _ = std::fs::remove_file(project.addr_file());
    Ok(stopped)
}
