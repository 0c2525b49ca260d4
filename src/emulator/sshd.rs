//! Servers you can SSH into, offline: the emulator backs every Active, powered-on server with
//! a real OpenSSH `sshd`, inetd style: it listens on the server's own loopback IP, port 22, and
//! runs `sshd -i` for each connection, with the server's public keys authorized for its user
//! and its own host key. The key is generated once and kept in the server's folder next to the
//! state file (`<state>/servers/<id>/` for `<state>.json`), because ict pins host keys and a
//! key that changed on every restart would be refused. Listening is a `bind`, so restoring
//! the servers of a saved state at every ict command costs next to nothing.
//!
//! Each server has a small task that applies its events in order (listen on Active, stop on
//! power off, listen again on power on, stop and forget on delete), so servers start in
//! parallel while each one's events never overtake each other. Stopping closes the socket and
//! stops the server's live connections; everything is stopped when the emulator shuts down,
//! and a dropped [`inetd::Listening`] stops itself, so no path leaves an sshd behind.
//!
//! Needs Linux, root (port 22) and an OpenSSH `sshd` (`/usr/sbin/sshd`, or `ICT_SSHD`); without
//! them [`SshBacking`] logs one warning (when the first server needs it) and the emulator runs
//! without SSH, saying why through [`SshBacking::unavailable`] so that commands can skip what
//! needs SSH at once instead of waiting for it.
//! Depends on `events`.

mod files;
mod inetd;
mod procfs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::files::{Files, SshdError};
use self::inetd::Listening;
use super::events::{ServerEvent, ServerInfo};

/// Where the emulator keeps server `id`'s SSH files (host key, `authorized_keys`,
/// `sshd_config`, `sshd.log`) for the state file `state_file`: `.ict/emulator.json`
/// gives `.ict/emulator/servers/<id>` (a file without extension, `state`, gives `state.d/...`).
pub fn ssh_server_dir(state_file: &Path, id: u64) -> PathBuf {
    servers_dir(state_file).join(id.to_string())
}

fn servers_dir(state_file: &Path) -> PathBuf {
    let base = if state_file.extension().is_some() {
        state_file.with_extension("")
    } else {
        let mut name = state_file.as_os_str().to_owned();
        name.push(".d");
        PathBuf::from(name)
    };
    base.join("servers")
}

/// Debian's OpenSSH server, the default of [`sshd_program`].
pub(super) const DEFAULT_SSHD: &str = "/usr/sbin/sshd";

/// The OpenSSH server the emulator backs servers with: `ICT_SSHD` when set (an absolute path,
/// because sshd re-executes itself), otherwise `/usr/sbin/sshd`.
pub fn sshd_program() -> PathBuf {
    match std::env::var_os("ICT_SSHD").filter(|p| !p.is_empty()) {
        Some(path) => std::path::absolute(&path).unwrap_or_else(|_| PathBuf::from(path)),
        None => PathBuf::from(DEFAULT_SSHD),
    }
}

/// Why the emulated servers cannot be reached over SSH on this machine, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshUnavailable {
    /// What is missing, e.g. "/usr/sbin/sshd is missing".
    pub reason: String,
    /// The command (or step) that fixes it, e.g. "apt-get install -y openssh-server".
    pub fix: String,
}

impl std::fmt::Display for SshUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.fix)
    }
}

/// Whether this machine can back emulated servers with `sshd`: Linux, the program itself,
/// `ssh-keygen` for their host keys, and root for port 22.
fn check_ssh_backing(sshd: &Path) -> Result<(), SshUnavailable> {
    let missing = |reason: String, fix: &str| SshUnavailable {
        reason,
        fix: fix.to_owned(),
    };
    if !cfg!(target_os = "linux") {
        return Err(missing(
            "SSH backing needs Linux".to_owned(),
            "use the real 1cloud, or a Linux machine",
        ));
    }
    if !sshd.is_file() {
        return Err(missing(
            format!("{} is missing", sshd.display()),
            "apt-get install -y openssh-server",
        ));
    }
    if !Path::new(files::SSH_KEYGEN).is_file() {
        return Err(missing(
            format!("{} is missing", files::SSH_KEYGEN),
            "apt-get install -y openssh-client",
        ));
    }
    if !rustix::process::geteuid().is_root() {
        return Err(missing(
            "listening on port 22 of the servers' IPs needs root".to_owned(),
            "run ict as root",
        ));
    }
    Ok(())
}

/// The SSH service of all servers, or why there is none.
pub(crate) enum SshBacking {
    Live(Live),
    /// SSH backing cannot work here; the reason is logged once, when a server first needs it.
    Unavailable {
        reason: SshUnavailable,
        warned: AtomicBool,
    },
}

/// Working SSH backing.
pub(crate) struct Live {
    runtime: Handle,
    sshd: PathBuf,
    root: PathBuf,
    actors: Mutex<HashMap<u64, Actor>>,
    /// Holds the folders when there is no state file; removed when the backing is dropped.
    _temp: Option<tempfile::TempDir>,
}

/// The queue and task of one server.
struct Actor {
    queue: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

enum Command {
    Start(ServerInfo),
    Power(bool),
    Delete,
    Barrier(oneshot::Sender<()>),
    Stop,
}

impl SshBacking {
    /// SSH backing for an emulator with this state file (a temporary folder without one).
    /// When it cannot work on this machine, one warning says why as soon as a server is Active.
    pub(crate) fn new(state_file: Option<&Path>, sshd: &Path) -> SshBacking {
        match Live::new(state_file, sshd) {
            Ok(live) => SshBacking::Live(live),
            Err(reason) => SshBacking::Unavailable {
                reason,
                warned: AtomicBool::new(false),
            },
        }
    }

    /// Why servers have no SSH here (`None` when they have).
    pub(crate) fn unavailable(&self) -> Option<&SshUnavailable> {
        match self {
            SshBacking::Live(_) => None,
            SshBacking::Unavailable { reason, .. } => Some(reason),
        }
    }

    /// Queues the SSH work for an event; returns at once.
    pub(crate) fn on_event(&self, event: &ServerEvent) {
        match self {
            SshBacking::Live(live) => live.on_event(event),
            SshBacking::Unavailable { reason, warned } => {
                if matches!(event, ServerEvent::Active { .. })
                    && !warned.swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(
                        "emulated servers are not backed by sshd, so SSH (ict exec, Ansible) \
                         cannot reach them: {reason}"
                    );
                }
            }
        }
    }

    /// Waits until every event queued so far has been applied (servers listening or stopped).
    pub(crate) async fn settle(&self) {
        if let SshBacking::Live(live) = self {
            live.settle().await;
        }
    }

    /// Stops every server's SSH (in parallel) and waits for it.
    pub(crate) async fn shutdown(&self) {
        if let SshBacking::Live(live) = self {
            live.shutdown().await;
        }
    }
}

impl Live {
    fn new(state_file: Option<&Path>, sshd: &Path) -> Result<Live, SshUnavailable> {
        check_ssh_backing(sshd)?;
        let failed = |reason: String| SshUnavailable {
            reason,
            fix: "see the log above (-v)".to_owned(),
        };
        let runtime = Handle::try_current()
            .map_err(|_| failed("the emulator was started outside a tokio runtime".to_owned()))?;
        // sshd refuses to start without its privilege-separation folder (made by systemd
        // on a normal boot, missing in containers).
        std::fs::create_dir_all(inetd::PRIVSEP_DIR)
            .map_err(|e| failed(format!("cannot create {}: {e}", inetd::PRIVSEP_DIR)))?;
        let (root, temp) = if let Some(file) = state_file {
            (servers_dir(file), None)
        } else {
            let temp = tempfile::Builder::new()
                .prefix("ict-emulator-ssh-")
                .tempdir()
                .map_err(|e| failed(format!("cannot create a temporary folder: {e}")))?;
            (temp.path().join("servers"), Some(temp))
        };
        // sshd resolves the paths in its configuration from its own working directory.
        let root = std::path::absolute(&root)
            .map_err(|e| failed(format!("cannot resolve {}: {e}", root.display())))?;
        Ok(Live {
            runtime,
            sshd: sshd.to_owned(),
            root,
            actors: Mutex::new(HashMap::new()),
            _temp: temp,
        })
    }

    fn on_event(&self, event: &ServerEvent) {
        let mut actors = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            ServerEvent::Active { server, .. } => {
                let actor = actors.entry(server.id).or_insert_with(|| {
                    let files = Files {
                        dir: self.root.join(server.id.to_string()),
                    };
                    let (queue, commands) = mpsc::unbounded_channel();
                    let task = self.runtime.spawn(run(files, self.sshd.clone(), commands));
                    Actor { queue, task }
                });
                let _ = actor.queue.send(Command::Start(server.clone()));
            }
            ServerEvent::Power { id, on, .. } => {
                if let Some(actor) = actors.get(id) {
                    let _ = actor.queue.send(Command::Power(*on));
                }
            }
            ServerEvent::Deleted { id, .. } => {
                if let Some(actor) = actors.get(id) {
                    let _ = actor.queue.send(Command::Delete);
                }
            }
        }
    }

    async fn settle(&self) {
        let barriers: Vec<oneshot::Receiver<()>> = {
            let actors = self
                .actors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            actors
                .values()
                .filter_map(|actor| {
                    let (done, wait) = oneshot::channel();
                    actor.queue.send(Command::Barrier(done)).ok().map(|()| wait)
                })
                .collect()
        };
        for barrier in barriers {
            let _ = barrier.await;
        }
    }

    async fn shutdown(&self) {
        let actors: Vec<Actor> = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .map(|(_, actor)| actor)
            .collect();
        for actor in &actors {
            let _ = actor.queue.send(Command::Stop);
        }
        for actor in actors {
            let _ = actor.task.await;
        }
    }
}

/// One server's task: applies its commands in order and stops its SSH when it ends (a
/// cancelled task drops the [`Listening`], which stops it too).
async fn run(files: Files, sshd: PathBuf, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut info: Option<ServerInfo> = None;
    let mut listening: Option<Listening> = None;
    while let Some(command) = commands.recv().await {
        match command {
            Command::Start(server) => {
                stop(&mut listening).await;
                listening = launch(&files, &server, &sshd).await;
                info = Some(server);
            }
            Command::Power(on) => {
                stop(&mut listening).await;
                if let Some(server) = info.as_ref().filter(|_| on) {
                    listening = launch(&files, server, &sshd).await;
                }
            }
            Command::Delete => {
                stop(&mut listening).await;
                if let Err(e) = std::fs::remove_dir_all(&files.dir) {
                    tracing::warn!(dir = %files.dir.display(), "cannot remove a deleted server's SSH folder: {e}");
                }
                break;
            }
            Command::Barrier(done) => {
                let _ = done.send(());
            }
            Command::Stop => break,
        }
    }
    stop(&mut listening).await;
}

async fn stop(listening: &mut Option<Listening>) {
    if let Some(listening) = listening.take() {
        let ip = listening.ip();
        listening.stop().await;
        tracing::debug!(%ip, "sshd stopped");
    }
}

async fn launch(files: &Files, server: &ServerInfo, sshd: &Path) -> Option<Listening> {
    match inetd::listen(files, server, sshd).await {
        Ok(listening) => {
            tracing::debug!(id = server.id, ip = %server.ip, "sshd listening (inetd mode)");
            Some(listening)
        }
        Err(SshdError::Listen { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse => {
            // Usually another ict command on the same project (`ict watch` in another
            // terminal): its emulator serves this server.
            tracing::info!(
                id = server.id,
                ip = %server.ip,
                "{}:22 is already in use, probably by another emulator on the same state",
                server.ip
            );
            None
        }
        Err(error) => {
            let help = miette::Diagnostic::help(&error)
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            let cause = std::error::Error::source(&error)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            tracing::warn!(
                "server {} ({}) has no SSH: {error}{cause}{help}",
                server.name,
                server.ip
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_folders_sit_next_to_the_state_file() {
        assert_eq!(
            ssh_server_dir(Path::new("proj/.ict/emulator.json"), 42),
            Path::new("proj/.ict/emulator/servers/42")
        );
        assert_eq!(
            ssh_server_dir(Path::new("/tmp/state"), 1),
            Path::new("/tmp/state.d/servers/1")
        );
    }
}
