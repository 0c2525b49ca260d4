//! Who holds a state lock ([`LockHolder`], the lock file's JSON) and whether that process is
//! still running ([`Liveness`]), judged from `/proc` on the same host.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::process::{self, Probe};
use super::timestamp::Timestamp;

/// Who holds a lock. Stored as the lock file's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// What the holder is doing, e.g. `ict apply infra.ict`.
    pub command: String,
    pub started_at: Timestamp,
    /// The holder's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), to
    /// tell a reused PID from the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
}

impl LockHolder {
    /// This process, running `command`.
    pub fn current(command: &str) -> LockHolder {
        let (pid, process_start) = process::current();
        LockHolder {
            user: process::user(),
            host: process::hostname(),
            pid,
            command: command.to_owned(),
            started_at: Timestamp::now(),
            process_start,
        }
    }

    /// Whether the holder's process is still running, as far as this machine can tell.
    pub fn liveness(&self) -> Liveness {
        if self.host != process::hostname() {
            return Liveness::Unknown;
        }
        match process::probe(self.pid) {
            Probe::Gone => Liveness::Dead,
            Probe::Running { start_ticks } => match self.process_start {
                Some(recorded) if recorded != start_ticks => Liveness::Dead,
                _ => Liveness::Alive,
            },
            Probe::Unknown => Liveness::Unknown,
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, `{}`, since {})",
            self.user, self.host, self.pid, self.command, self.started_at
        )
    }
}

/// Whether a lock holder's process is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    /// Gone from this host (or its PID now belongs to another process).
    Dead,
    /// Another host, or `/proc` cannot be read: treated as alive.
    Unknown,
    /// A holder of a shared backend's lock that stopped renewing its lease in time: taken over
    /// like a dead one.
    Expired,
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Liveness::Alive => "still running",
            Liveness::Dead => "no longer running",
            Liveness::Unknown => "cannot check whether it is running from this host",
            Liveness::Expired => "its lease ran out",
        })
    }
}
