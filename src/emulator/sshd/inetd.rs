//! One server's SSH service, inetd style: a listening socket on the server's `<ip>:22` and,
//! for every accepted connection, `sshd -i -f /etc/ict/sshd_config` inside the server's
//! machine (`nsenter` into it; the first connection boots it if needed) with the socket as
//! standard input and output. Listening costs one `bind`, so restoring 50 servers is quick;
//! each connection costs what a daemon's per-connection re-exec costs, plus `nsenter`.
//!
//! [`Listening::stop`] closes the socket, then stops every live connection together with the
//! processes below it (SIGTERM, then SIGKILL after a grace period). A [`Listening`] dropped
//! without `stop` (a dropped runtime) does the same synchronously, so no exit path leaves an
//! sshd behind. An emulator killed outright (SIGKILL) takes its sockets with it, so nothing
//! listens any more; a connection still open then ends when its client does (ict's in-process
//! emulator dies with its client). No parent-death signal is set: Linux sends it when the
//! spawning *thread* ends, and tokio may retire a worker thread while the connection lives.
//! Depends on `files`, `listen`, `machine` and `procfs`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::Signal;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::files::{Files, SshdError};
use crate::emulator::machine::{Machine, SSHD_CONFIG};
use crate::emulator::procfs;
use crate::emulator::ServerInfo;

/// How long a connection's processes get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(5);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A server that answers SSH: its listening task and its live connections.
#[derive(Debug)]
pub(super) struct Listening {
    ip: Ipv4Addr,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Connections>,
}

/// The PIDs of the live `sshd -i` processes of one server. Once closed, a connection that is
/// still being accepted is stopped at once instead of being added.
#[derive(Debug, Default)]
struct Connections {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    closed: bool,
    pids: BTreeSet<i32>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Single inserts and removals cannot leave the set half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a connection; false when the server stopped meanwhile.
    fn add(&self, pid: i32) -> bool {
        let mut inner = self.lock();
        !inner.closed && inner.pids.insert(pid)
    }

    fn remove(&self, pid: i32) {
        self.lock().pids.remove(&pid);
    }

    /// Refuses further connections; returns the live ones.
    fn close(&self) -> Vec<i32> {
        let mut inner = self.lock();
        inner.closed = true;
        std::mem::take(&mut inner.pids).into_iter().collect()
    }
}

/// Prepares the server's files and listens on `<ip>:22` for its `machine`.
/// `sshd` is the OpenSSH server program (an absolute path: sshd re-executes itself).
pub(super) async fn listen(
    files: &Files,
    info: &ServerInfo,
    sshd: &Path,
    machine: Arc<Machine>,
) -> Result<Listening, SshdError> {
    files.prepare(info).await?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(files.log())
        .map_err(|source| SshdError::Files {
            path: files.log(),
            source,
        })?;
    let listener = crate::emulator::listen::listen((info.ip, 22).into())
        .await
        .map_err(|source| SshdError::Listen {
            ip: info.ip,
            source,
        })?;
    let connections = Arc::new(Connections::default());
    let service = Service {
        machine,
        sshd: sshd.to_owned(),
        log,
        connections: Arc::clone(&connections),
        boot_failed: AtomicBool::new(false),
    };
    let accept = tokio::spawn(accept_loop(listener, Arc::new(service)));
    Ok(Listening {
        ip: info.ip,
        accept: Some(accept),
        connections,
    })
}

/// What each connection of one server needs.
struct Service {
    machine: Arc<Machine>,
    sshd: PathBuf,
    log: File,
    connections: Arc<Connections>,
    /// Whether a failed boot was logged already (once is enough).
    boot_failed: AtomicBool,
}

/// Accepts connections until the task is aborted; each one is served by a task of its own
/// (see [`serve`]), so that connections never wait for each other.
async fn accept_loop(listener: TcpListener, service: Arc<Service>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream, Arc::clone(&service)));
            }
            Err(error) => {
                tracing::warn!("emulated sshd: accept failed: {error}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// One connection: its own `sshd -i` inside the machine (booted first if it is not running;
/// a connection the machine cannot take is closed), started on a blocking thread — starting a
/// process waits for it to load, which must not hold up the others — and forgotten when it
/// exits.
async fn serve(stream: TcpStream, service: Arc<Service>) {
    let pid = match service.machine.start().await {
        Ok(pid) => pid,
        Err(error) => {
            if !service.boot_failed.swap(true, Ordering::Relaxed) {
                let help = miette::Diagnostic::help(&error)
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                tracing::warn!(
                    "emulated server at {:?}: {error}{help}",
                    stream.local_addr().ok()
                );
            }
            return;
        }
    };
    let spawning = Arc::clone(&service);
    let spawned = tokio::task::spawn_blocking(move || {
        spawn_sshd(
            stream,
            (&spawning.machine, pid, &spawning.sshd),
            &spawning.log,
        )
    })
    .await;
    let mut child = match spawned {
        Ok(Ok(child)) => child,
        Ok(Err(error)) => {
            tracing::warn!(
                "cannot run {} -i in the server's machine: {error}",
                service.sshd.display()
            );
            return;
        }
        Err(_) => return,
    };
    let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    if !service.connections.add(pid) {
        // The server stopped while this connection was accepted: stop it too.
        tokio::task::spawn_blocking(move || terminate_blocking(&[pid]));
    }
    let _ = child.wait().await;
    service.connections.remove(pid);
}

/// `sshd -i -e -f /etc/ict/sshd_config` inside the machine whose init is `pid`, on the accepted
/// socket (blocking mode, as sshd expects), its log appended to the server's `sshd.log`. Its
/// own session (see `machine`), so a Ctrl-C in the terminal reaches only ict, which then stops
/// it in order.
fn spawn_sshd(
    stream: TcpStream,
    (machine, pid, sshd): (&Machine, i32, &Path),
    log: &File,
) -> io::Result<tokio::process::Child> {
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    let output = stream.try_clone()?;
    let config = std::ffi::OsStr::new(SSHD_CONFIG);
    let mut command = machine.enter(
        pid,
        &[
            sshd.as_os_str(),
            "-i".as_ref(),
            "-e".as_ref(),
            "-f".as_ref(),
            config,
        ],
    );
    command
        .stdin(Stdio::from(OwnedFd::from(stream)))
        .stdout(Stdio::from(OwnedFd::from(output)))
        .stderr(Stdio::from(log.try_clone()?));
    command.spawn()
}

impl Listening {
    pub(super) fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Stops listening (new connections are refused), then stops the live connections.
    pub(super) async fn stop(mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        terminate(&self.connections.close()).await;
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            terminate_blocking(&self.connections.close());
        }
    }
}

/// The roots and every process below them.
fn tree(roots: &[i32]) -> Vec<i32> {
    let mut pids = roots.to_vec();
    pids.extend(procfs::descendants(roots));
    pids
}

/// SIGTERM to the connections and everything below them; SIGKILL to what is left after the
/// grace period (looking again for processes started meanwhile).
async fn terminate(roots: &[i32]) {
    if roots.is_empty() {
        return;
    }
    let pids = tree(roots);
    procfs::signal_all(&pids, Signal::TERM);
    let deadline = Instant::now() + GRACE;
    while pids.iter().any(|&p| procfs::alive(p)) && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    kill_survivors(roots, &pids);
}

/// [`terminate`], blocking (for `Drop`).
fn terminate_blocking(roots: &[i32]) {
    if roots.is_empty() {
        return;
    }
    let pids = tree(roots);
    procfs::signal_all(&pids, Signal::TERM);
    let deadline = Instant::now() + GRACE;
    while pids.iter().any(|&p| procfs::alive(p)) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
    kill_survivors(roots, &pids);
}

fn kill_survivors(roots: &[i32], signalled: &[i32]) {
    let mut survivors: BTreeSet<i32> = signalled.iter().copied().collect();
    survivors.extend(tree(roots));
    survivors.retain(|&p| procfs::alive(p));
    if !survivors.is_empty() {
        let survivors: Vec<i32> = survivors.into_iter().collect();
        tracing::warn!(?survivors, "emulated sshd ignored SIGTERM; sending SIGKILL");
        procfs::signal_all(&survivors, Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_set_refuses_new_connections_and_hands_back_the_live_ones() {
        let connections = Connections::default();
        assert!(connections.add(10));
        assert!(connections.add(11));
        connections.remove(10);
        assert_eq!(connections.close(), vec![11]);
        assert!(!connections.add(12), "added after close");
        assert!(connections.close().is_empty());
    }
}
