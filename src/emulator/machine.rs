//! An emulated server is a small isolated machine: its own mount, PID, UTS (its hostname) and
//! IPC namespaces, and its own root filesystem — a copy-on-write overlay whose lower layer is
//! this computer's root filesystem (seen, never written) and whose upper layer lives on the
//! server's own disk: a sparse ext4 image of the declared size (`disk.img` in the server's
//! folder, see `disk`), loop-mounted inside the machine only, so `df /` on the server shows its
//! declared disk and writes stop when it is full. Whatever runs on the server — sshd sessions,
//! playbooks, users and packages they add, pipeline apps, databases — writes into that layer,
//! never into this computer's files.
//!
//! Built from util-linux and coreutils rather than by hand: `unshare` makes the namespaces and
//! runs the boot script as their PID 1, which mounts the disk and the overlay, `/proc`, `/sys`,
//! `/dev` and `/run`, `pivot_root`s into the overlay and becomes a small init (see `boot`);
//! connections enter with `nsenter`. Powering off sends the init SIGTERM: it stops every
//! process of the machine, and when it exits the kernel kills whatever is left in the PID
//! namespace; with the last process go the mount namespace, its mounts and the loop device. The
//! disk stays, so the next boot finds the same files; a rebuild deletes it, a delete removes
//! the whole folder. A machine dies with the emulator that booted it (even one killed with
//! SIGKILL: parent-death signal), and a machine left behind anyway is found by its PID file
//! and stopped before its disk is booted again.
//!
//! The network is this computer's: a server still listens on its own loopback IP. Root on a
//! server is root of this computer's kernel: the isolation keeps playbooks and pipelines from
//! changing this computer by accident; it is not a security boundary.
//! Depends on `events` and `procfs`.

mod boot;
mod disk;
mod needs;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

pub(crate) use self::boot::{Tools, SSHD_CONFIG};
pub(crate) use self::needs::first_missing;
pub use self::needs::{needs, Need};
use super::events::ServerInfo;
use super::procfs;

/// How long a boot may take (mounting, switching root) before it counts as failed.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping machine gets (its init gives its processes 2 s) before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a killed machine's init to be gone.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(5);

/// The file in a server's folder that holds its running machine's init PID.
pub const PID_FILE: &str = "machine.pid";

/// The disk of the account's template `image` in `templates`.
pub(super) fn template_disk(templates: &Path, image: u64) -> PathBuf {
    templates.join(format!("{image}.img"))
}

/// Why a server's machine cannot run. Logged as a warning; the emulator carries on.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(super) enum MachineError {
    #[error("cannot make the server's disk {}: {reason}", path.display())]
    #[diagnostic(
        code(ict::emulator::machine_disk),
        help("check the free space and the permissions of the folder next to the emulator state file")
    )]
    Disk { path: PathBuf, reason: String },

    #[error("the server's machine did not boot: {reason}")]
    #[diagnostic(
        code(ict::emulator::machine_boot),
        help("its boot log is {}; `ict doctor` lists what isolated servers need", log.display())
    )]
    Boot { reason: String, log: PathBuf },

    #[error("the server is powered off")]
    #[diagnostic(code(ict::emulator::machine_off))]
    Off,
}

/// One server's machine: booted on demand while the server is powered on.
pub(super) struct Machine {
    dir: PathBuf,
    host_key: PathBuf,
    /// Where the account's template disks are (`<image ID>.img`).
    templates: PathBuf,
    tools: Tools,
    inner: tokio::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// What to boot; `None` while the server is powered off.
    info: Option<ServerInfo>,
    running: Option<Running>,
}

/// A booted machine: the `unshare` process (its child is the machine's init) and the init's
/// PID in this computer's numbering.
struct Running {
    pid: i32,
    unshare: Child,
    pid_file: PathBuf,
}

impl Machine {
    /// The machine of the server whose folder is `dir`, with the host key pair at `host_key`
    /// (installed on its disk when the disk is made).
    pub(super) fn new(
        dir: PathBuf,
        host_key: PathBuf,
        templates: PathBuf,
        tools: Tools,
    ) -> Machine {
        Machine {
            dir,
            host_key,
            templates,
            tools,
            inner: tokio::sync::Mutex::new(Inner::default()),
        }
    }

    /// The server is powered on as `info`: [`Machine::start`] may boot it. A `fresh` server
    /// (created or rebuilt) gets a new disk: anything running stops and the old disk goes.
    pub(super) async fn power_on(&self, info: ServerInfo, fresh: bool) {
        let mut inner = self.inner.lock().await;
        if fresh {
            if let Some(running) = inner.running.take() {
                running.stop().await;
            }
            let image = disk::image(&self.dir);
            if let Err(e) = std::fs::remove_file(&image) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(disk = %image.display(), "cannot remove a rebuilt server's disk: {e}");
                }
            }
        }
        inner.info = Some(info);
    }

    /// The server was resized: a powered-on machine gets the new disk size at its next boot.
    pub(super) async fn resize(&self, info: ServerInfo) {
        let mut inner = self.inner.lock().await;
        if inner.info.is_some() {
            inner.info = Some(info);
        }
    }

    /// Copies the server's disk as it is now to template `image`'s (nothing when the machine
    /// never booted: a template of an untouched server is a fresh disk too).
    pub(super) async fn copy_disk(&self, image: u64) -> Result<(), MachineError> {
        let _inner = self.inner.lock().await;
        disk::copy_disk(
            &disk::image(&self.dir),
            &template_disk(&self.templates, image),
        )
        .await
    }

    /// Powers off: stops every process of the machine and waits until they are gone.
    pub(super) async fn power_off(&self) {
        let mut inner = self.inner.lock().await;
        inner.info = None;
        if let Some(running) = inner.running.take() {
            running.stop().await;
        }
    }

    /// The running machine's init PID, booting it first if needed (once: concurrent callers
    /// wait for the same boot).
    pub(super) async fn start(&self) -> Result<i32, MachineError> {
        let mut inner = self.inner.lock().await;
        let Some(info) = inner.info.clone() else {
            return Err(MachineError::Off);
        };
        if let Some(running) = inner.running.as_mut() {
            if running.alive() {
                return Ok(running.pid);
            }
            tracing::info!(server = %info.name, "the server's machine stopped by itself; booting it again");
        }
        inner.running = None;
        let running = self.boot(&info).await?;
        let pid = running.pid;
        inner.running = Some(running);
        Ok(pid)
    }

    /// A command that runs `command` inside the machine whose init is `pid`, in an empty
    /// environment but for the system `PATH`.
    pub(super) fn enter(&self, pid: i32, command: &[&OsStr]) -> Command {
        let (program, args) = boot::enter(&self.tools, pid, command);
        let mut enter = Command::new(program);
        enter.args(args).env_clear().env("PATH", needs::SYSTEM_PATH);
        enter
    }

    async fn boot(&self, info: &ServerInfo) -> Result<Running, MachineError> {
        let log = self.dir.join("boot.log");
        let failed = |reason: String| MachineError::Boot {
            reason,
            log: log.clone(),
        };
        let pid_file = self.dir.join(PID_FILE);
        stop_leftover(&pid_file, &self.dir).await;
        let template = info.template.map(|id| template_disk(&self.templates, id));
        disk::ensure(&self.dir, info, &self.host_key, template.as_deref()).await?;
        for mount_point in ["disk", "root"] {
            let path = self.dir.join(mount_point);
            std::fs::create_dir_all(&path)
                .map_err(|e| failed(format!("cannot create {}: {e}", path.display())))?;
        }
        let log_file = std::fs::File::create(&log)
            .map_err(|e| failed(format!("cannot write {}: {e}", log.display())))?;
        let (program, args) = boot::boot(&self.tools, &hostname(&info.name), &self.dir);
        let mut unshare = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", needs::SYSTEM_PATH)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(format!("cannot run unshare: {e}")))?;
        let ready = match unshare.stdout.take() {
            Some(stdout) => tokio::time::timeout(BOOT_TIMEOUT, async {
                tokio::io::BufReader::new(stdout).lines().next_line().await
            })
            .await
            .ok()
            .and_then(Result::ok)
            .flatten(),
            None => None,
        };
        let pid = ready
            .as_deref()
            .and_then(|line| line.strip_prefix("ready "))
            .and_then(|pid| pid.trim().parse::<i32>().ok());
        let Some(pid) = pid else {
            let _ = unshare.start_kill();
            let _ = unshare.wait().await;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let reason = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map_or_else(
                    || format!("no answer within {} s", BOOT_TIMEOUT.as_secs()),
                    str::to_owned,
                );
            return Err(failed(reason));
        };
        if let Err(e) = std::fs::write(&pid_file, format!("{pid}\n")) {
            tracing::warn!(file = %pid_file.display(), "cannot record the machine's PID: {e}");
        }
        tracing::debug!(server = %info.name, pid, "machine booted");
        Ok(Running {
            pid,
            unshare,
            pid_file,
        })
    }
}

impl Running {
    fn alive(&mut self) -> bool {
        matches!(self.unshare.try_wait(), Ok(None))
    }

    /// SIGTERM to the init, which stops the machine's processes; SIGKILL if it takes too long.
    async fn stop(mut self) {
        procfs::signal_all(&[self.pid], Signal::TERM);
        if tokio::time::timeout(STOP_TIMEOUT, self.unshare.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pid = self.pid,
                "an emulated server's init ignored SIGTERM; killing it"
            );
            procfs::signal_all(&[self.pid], Signal::KILL);
            let _ = self.unshare.start_kill();
            let _ = self.unshare.wait().await;
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

impl Drop for Running {
    /// A machine dropped without [`Running::stop`] (a dropped runtime) is killed at once and
    /// waited for, so no exit path leaves one behind.
    fn drop(&mut self) {
        if self.alive() {
            procfs::signal_all(&[self.pid], Signal::KILL);
            let _ = self.unshare.start_kill();
            wait_gone(self.pid);
            let _ = std::fs::remove_file(&self.pid_file);
        }
    }
}

/// Stops a machine of this folder that an emulator left running (its PID file names a live
/// init of this folder), so that its disk is never mounted twice.
async fn stop_leftover(pid_file: &Path, dir: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok())
    else {
        return;
    };
    let mut name = format!("\0{}\0{pid}\0", boot::INIT_NAME).into_bytes();
    name.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    name.push(0);
    let init = procfs::cmdline(pid).is_some_and(|c| c.windows(name.len()).any(|w| w == name));
    if init {
        tracing::warn!(pid, dir = %dir.display(), "stopping a server's machine left running by an earlier emulator");
        procfs::signal_all(&[pid], Signal::KILL);
        tokio::task::spawn_blocking(move || wait_gone(pid))
            .await
            .ok();
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Waits (bounded) until `pid` is gone.
fn wait_gone(pid: i32) {
    let deadline = Instant::now() + KILL_TIMEOUT;
    while procfs::alive(pid) && Instant::now() < deadline {
        std::thread::sleep(POLL);
    }
}

/// The hostname for a server name: letters, digits and inner hyphens, at most 63 characters.
pub(super) fn hostname(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "server".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_keep_to_letters_digits_and_hyphens() {
        assert_eq!(hostname("web-1"), "web-1");
        assert_eq!(hostname("db_main.eu"), "db-main-eu");
        assert_eq!(hostname("-x-"), "x");
        assert_eq!(hostname("ß"), "server");
        assert_eq!(hostname(&"a".repeat(80)).len(), 63);
    }
}
