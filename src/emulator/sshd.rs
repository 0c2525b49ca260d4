//! Servers you can SSH into, offline: the emulator backs every Active, powered-on server with
//! a small isolated machine (see `machine`: its own namespaces and copy-on-write root
//! filesystem on a disk of its own) and a real OpenSSH `sshd` inside it, inetd style: the
//! emulator listens on the server's own loopback IP, port 22, and runs `sshd -i` inside the
//! machine for each connection, with the server's public keys authorized for its user and its
//! own host key. The host key is generated once and kept in the server's folder next to the
//! state file (`<state>/servers/<id>/` for `<state>.json`), because ict pins host keys and a
//! key that changed on every restart would be refused; it is installed on the server's disk
//! when the disk is made.
//!
//! Each server has a small task that applies its events in order (listen and boot on Active,
//! stop on power off, listen and boot again on power on, stop and forget on delete), so servers
//! start in parallel while each one's events never overtake each other. A server restored when
//! the emulator starts only listens: its machine boots with the first connection, so starting
//! an emulator with many servers costs a `bind` each. Stopping closes the socket, stops the
//! server's live connections and its machine; everything is stopped when the emulator shuts
//! down, and dropped [`inetd::Listening`]s and machines stop themselves, so no path leaves an
//! sshd or a machine behind.
//!
//! Needs Linux, root, an OpenSSH `sshd` (`/usr/sbin/sshd`, or `ICT_SSHD`, a path that the
//! servers see too) and what isolation needs (`machine::needs`); without them
//! [`SshBacking`] logs one warning (when the first server needs it) and the emulator runs
//! without SSH — never with servers unisolated on this computer —, saying why through
//! [`SshBacking::unavailable`] so that commands can skip what needs SSH at once instead of
//! waiting for it.
//! Depends on `events` and `machine`.

mod files;
mod inetd;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::files::{Files, SshdError};
use self::inetd::Listening;
use super::events::{ServerEvent, ServerInfo};
use super::machine::{self, Machine, Tools};

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

/// Whether this computer can back emulated servers with `sshd` in isolated machines: Linux,
/// the program itself, `ssh-keygen` for their host keys, root, and what isolation needs.
fn check_ssh_backing(sshd: &Path) -> Result<Tools, SshUnavailable> {
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
            "isolating each server and listening on port 22 of its IP need root".to_owned(),
            "run ict as root",
        ));
    }
    if let Some((reason, fix)) = machine::first_missing() {
        return Err(missing(
            format!("servers cannot be isolated: {reason}"),
            fix,
        ));
    }
    Tools::find().ok_or_else(|| {
        missing(
            "servers cannot be isolated: util-linux is incomplete".to_owned(),
            "apt-get install -y util-linux",
        )
    })
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
    tools: Tools,
    root: PathBuf,
    actors: Mutex<HashMap<u64, Actor>>,
    /// Commands queued by events and not yet applied: while there are none, [`Live::settle`]
    /// has nothing to wait for.
    pending: Arc<AtomicUsize>,
    /// Holds the folders when there is no state file; removed when the backing is dropped.
    _temp: Option<tempfile::TempDir>,
}

/// The queue and task of one server.
struct Actor {
    queue: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

enum Command {
    Start {
        server: ServerInfo,
        restored: bool,
    },
    Power(bool),
    Resize(ServerInfo),
    /// Copy the disk to this template's.
    Image(u64),
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
                        "emulated servers run API-only, without SSH (ict exec, Ansible), \
                         rather than unisolated on this computer: {reason}"
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
        let tools = check_ssh_backing(sshd)?;
        let failed = |reason: String| SshUnavailable {
            reason,
            fix: "see the log above (-v)".to_owned(),
        };
        let runtime = Handle::try_current()
            .map_err(|_| failed("the emulator was started outside a tokio runtime".to_owned()))?;
        let (root, temp) = if let Some(file) = state_file {
            (servers_dir(file), None)
        } else {
            let temp = tempfile::Builder::new()
                .prefix("ict-emulator-ssh-")
                .tempdir()
                .map_err(|e| failed(format!("cannot create a temporary folder: {e}")))?;
            (temp.path().join("servers"), Some(temp))
        };
        // Machines boot with their folder as working directory and are recognised by it.
        let root = std::path::absolute(&root)
            .map_err(|e| failed(format!("cannot resolve {}: {e}", root.display())))?;
        Ok(Live {
            runtime,
            sshd: sshd.to_owned(),
            tools,
            root,
            actors: Mutex::new(HashMap::new()),
            pending: Arc::new(AtomicUsize::new(0)),
            _temp: temp,
        })
    }

    /// Where the account's template disks are: next to the servers' folders.
    fn templates(&self) -> PathBuf {
        self.root.with_file_name("images")
    }

    fn on_event(&self, event: &ServerEvent) {
        let mut actors = self
            .actors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            ServerEvent::Active { server, restored } => {
                let actor = actors.entry(server.id).or_insert_with(|| {
                    let files = Files {
                        dir: self.root.join(server.id.to_string()),
                    };
                    let machine = Machine::new(
                        files.dir.clone(),
                        files.host_key(),
                        self.templates(),
                        self.tools.clone(),
                    );
                    let (queue, commands) = mpsc::unbounded_channel();
                    let task = self.runtime.spawn(run(
                        Server {
                            files,
                            machine: Arc::new(machine),
                            sshd: self.sshd.clone(),
                            pending: Arc::clone(&self.pending),
                        },
                        commands,
                    ));
                    Actor { queue, task }
                });
                self.queue(
                    actor,
                    Command::Start {
                        server: server.clone(),
                        restored: *restored,
                    },
                );
            }
            ServerEvent::Power { id, on, .. } => {
                if let Some(actor) = actors.get(id) {
                    self.queue(actor, Command::Power(*on));
                }
            }
            ServerEvent::Resized { server } => {
                if let Some(actor) = actors.get(&server.id) {
                    self.queue(actor, Command::Resize(server.clone()));
                }
            }
            ServerEvent::Deleted { id, .. } => {
                if let Some(actor) = actors.get(id) {
                    self.queue(actor, Command::Delete);
                }
            }
            ServerEvent::Imaged { id, image } => {
                if let Some(actor) = actors.get(id) {
                    self.queue(actor, Command::Image(*image));
                }
            }
            ServerEvent::ImageDeleted { image } => {
                let disk = machine::template_disk(&self.templates(), *image);
                if let Err(e) = std::fs::remove_file(&disk) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(disk = %disk.display(), "cannot remove a deleted template's disk: {e}");
                    }
                }
            }
        }
    }

    /// Queues an event's command for a server's task, counted in [`Live::pending`].
    fn queue(&self, actor: &Actor, command: Command) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if actor.queue.send(command).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    async fn settle(&self) {
        if self.pending.load(Ordering::SeqCst) == 0 {
            return;
        }
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

/// What one server's task works with.
struct Server {
    files: Files,
    machine: Arc<Machine>,
    sshd: PathBuf,
    /// [`Live::pending`].
    pending: Arc<AtomicUsize>,
}

/// One server's task: applies its commands in order and stops its SSH and its machine when it
/// ends (a cancelled task drops the [`Listening`] and the last handle on the [`Machine`],
/// which stop them too).
async fn run(server: Server, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut info: Option<ServerInfo> = None;
    let mut listening: Option<Listening> = None;
    while let Some(command) = commands.recv().await {
        // An event's command counts as applied once this iteration ends, however it ends.
        let _applied = (!matches!(command, Command::Barrier(_) | Command::Stop))
            .then(|| Applied(&server.pending));
        match command {
            Command::Start {
                server: new,
                restored,
            } => {
                stop(&mut listening, &server.machine).await;
                server.machine.power_on(new.clone(), !restored).await;
                listening = launch(&server, &new, !restored).await;
                info = Some(new);
            }
            Command::Power(on) => {
                stop(&mut listening, &server.machine).await;
                if let Some(new) = info.as_ref().filter(|_| on) {
                    server.machine.power_on(new.clone(), false).await;
                    listening = launch(&server, new, true).await;
                }
            }
            Command::Resize(new) => {
                server.machine.resize(new.clone()).await;
                info = Some(new);
            }
            Command::Image(image) => {
                if let Err(e) = server.machine.copy_disk(image).await {
                    tracing::warn!(image, "the template's disk is not copied: {e}");
                }
            }
            Command::Delete => {
                stop(&mut listening, &server.machine).await;
                let dir = &server.files.dir;
                if let Err(e) = std::fs::remove_dir_all(dir) {
                    tracing::warn!(dir = %dir.display(), "cannot remove a deleted server's folder: {e}");
                }
                break;
            }
            Command::Barrier(done) => {
                let _ = done.send(());
            }
            Command::Stop => break,
        }
    }
    stop(&mut listening, &server.machine).await;
}

/// Counts one queued command as applied when dropped.
struct Applied<'a>(&'a AtomicUsize);

impl Drop for Applied<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Stops the machine (its sessions with it), then listening and what is left of the
/// connections: once the address refuses connections, nothing of the server runs.
async fn stop(listening: &mut Option<Listening>, machine: &Machine) {
    machine.power_off().await;
    if let Some(listening) = listening.take() {
        let ip = listening.ip();
        listening.stop().await;
        tracing::debug!(%ip, "sshd stopped");
    }
}

/// Listens on the server's address; with `boot`, boots its machine at once (as a powered-on
/// server starts its services) rather than with the first connection.
async fn launch(server: &Server, info: &ServerInfo, boot: bool) -> Option<Listening> {
    let listening = match inetd::listen(
        &server.files,
        info,
        &server.sshd,
        Arc::clone(&server.machine),
    )
    .await
    {
        Ok(listening) => {
            tracing::debug!(id = info.id, ip = %info.ip, "sshd listening (inetd mode)");
            listening
        }
        Err(SshdError::Listen { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse => {
            // Usually another ict command on the same project (`ict watch` in another
            // terminal): its emulator serves this server (and runs its machine).
            tracing::info!(
                id = info.id,
                ip = %info.ip,
                "{}:22 is already in use, probably by another emulator on the same state",
                info.ip
            );
            return None;
        }
        Err(error) => {
            warn_no_ssh(info, &error);
            return None;
        }
    };
    if boot {
        if let Err(error) = server.machine.start().await {
            warn_no_ssh(info, &error);
        }
    }
    Some(listening)
}

fn warn_no_ssh(info: &ServerInfo, error: &(dyn miette::Diagnostic + Send + Sync)) {
    let help = error.help().map(|h| format!(" ({h})")).unwrap_or_default();
    let cause = std::error::Error::source(error)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    tracing::warn!(
        "server {} ({}) has no SSH: {error}{cause}{help}",
        info.name,
        info.ip
    );
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
