//! One server's OpenSSH daemon: its folder (host key, `authorized_keys`, `sshd_config`, PID
//! file, log), starting `sshd -D` on the server's loopback IP, and stopping it together with
//! its connections. A [`Daemon`] that is dropped without [`Daemon::stop`] stops its process
//! synchronously, so no exit path leaves an sshd behind. Depends on `events` and `procfs`.

use std::fmt::Write as _;
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::procfs;
use crate::emulator::ServerInfo;

/// Debian's OpenSSH server; an absolute path because sshd re-executes itself per connection.
pub(super) const SSHD: &str = "/usr/sbin/sshd";
/// Generates host keys (part of openssh-client, which openssh-server depends on).
pub(super) const SSH_KEYGEN: &str = "/usr/bin/ssh-keygen";
/// sshd's privilege-separation folder (compiled into Debian's sshd).
pub(super) const PRIVSEP_DIR: &str = "/run/sshd";
/// util-linux's `setpriv`: used, when present, to give sshd a parent-death signal, so even a
/// killed (SIGKILL) emulator leaves no listening daemon behind.
const SETPRIV: &str = "/usr/bin/setpriv";
/// How long a daemon gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long a starting daemon may take to write its PID file (it does so once listening).
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);

/// Why a server's sshd could not be started. Logged as a warning; the emulator carries on.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(super) enum SshdError {
    #[error("cannot write {}", path.display())]
    #[diagnostic(
        code(ict::emulator::sshd_files),
        help("check that the folder next to the emulator state file is writable")
    )]
    Files {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("ssh-keygen could not create the host key {}: {reason}", path.display())]
    #[diagnostic(
        code(ict::emulator::sshd_host_key),
        help("install openssh-client (ssh-keygen), or start the emulator without SSH backing")
    )]
    HostKey { path: PathBuf, reason: String },

    #[error("cannot run {SSHD}")]
    #[diagnostic(
        code(ict::emulator::sshd_spawn),
        help("install openssh-server, or start the emulator without SSH backing")
    )]
    Spawn {
        #[source]
        source: io::Error,
    },

    #[error("sshd for {ip} stopped while starting ({status}): {log}")]
    #[diagnostic(
        code(ict::emulator::sshd_exited),
        help("another process may listen on {ip}:22 or on 0.0.0.0:22 (see `ss -ltnp`)")
    )]
    Exited {
        ip: Ipv4Addr,
        status: String,
        log: String,
    },

    #[error("sshd for {ip} did not listen within {} s", READY_TIMEOUT.as_secs())]
    #[diagnostic(
        code(ict::emulator::sshd_timeout),
        help("the machine may be overloaded; see the sshd.log in the server's folder")
    )]
    Timeout { ip: Ipv4Addr },
}

/// The files of one server's daemon, all inside its own folder.
#[derive(Debug, Clone)]
pub(super) struct Files {
    pub(super) dir: PathBuf,
}

impl Files {
    pub(super) fn config(&self) -> PathBuf {
        self.dir.join("sshd_config")
    }
    pub(super) fn host_key(&self) -> PathBuf {
        self.dir.join("ssh_host_ed25519_key")
    }
    pub(super) fn pid_file(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }
    fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }
    fn log(&self) -> PathBuf {
        self.dir.join("sshd.log")
    }

    /// Creates the folder (0700), the host key (once: it must survive restarts because ict
    /// pins host keys), `authorized_keys` and `sshd_config`.
    async fn prepare(&self, info: &ServerInfo) -> Result<(), SshdError> {
        let files_error = |path: &Path| {
            let path = path.to_owned();
            move |source| SshdError::Files { path, source }
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(files_error(&self.dir))?;
        let key = self.host_key();
        if !key.exists() {
            generate_host_key(&key, &info.name).await?;
        }
        let mut keys = String::new();
        for line in info.public_keys.iter().flat_map(|k| k.lines()) {
            let line = line.trim();
            if !line.is_empty() {
                keys.push_str(line);
                keys.push('\n');
            }
        }
        std::fs::write(self.authorized_keys(), keys)
            .map_err(files_error(&self.authorized_keys()))?;
        std::fs::write(self.config(), config_text(self, info)).map_err(files_error(&self.config()))
    }
}

/// Writes a new ed25519 key pair under a temporary name, then renames it into place, so a
/// half-written key is never used.
async fn generate_host_key(key: &Path, comment: &str) -> Result<(), SshdError> {
    let tmp = key.with_extension("tmp");
    let tmp_pub = tmp.with_extension("tmp.pub");
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_file(&tmp_pub);
    let failed = |reason: String| SshdError::HostKey {
        path: key.to_owned(),
        reason,
    };
    let output = tokio::process::Command::new(SSH_KEYGEN)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&tmp)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    std::fs::rename(&tmp_pub, key.with_extension("pub"))
        .and_then(|()| std::fs::rename(&tmp, key))
        .map_err(|e| failed(e.to_string()))
}

/// The daemon's configuration: key-only login for the server's user on `<ip>:22`.
fn config_text(files: &Files, info: &ServerInfo) -> String {
    let quoted = |path: PathBuf| format!("\"{}\"", path.display());
    let user = if info.user.is_empty() {
        "root"
    } else {
        &info.user
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Written by ict's 1cloud emulator for server {} ({}); rewritten at every start.",
        info.id,
        info.name.replace('\n', " ")
    );
    let _ = writeln!(text, "ListenAddress {}:22", info.ip);
    let _ = writeln!(text, "HostKey {}", quoted(files.host_key()));
    let _ = writeln!(text, "PidFile {}", quoted(files.pid_file()));
    // `%` starts a token in AuthorizedKeysFile.
    let _ = writeln!(
        text,
        "AuthorizedKeysFile {}",
        quoted(files.authorized_keys()).replace('%', "%%")
    );
    let _ = writeln!(text, "AllowUsers {user}");
    text.push_str(
        "PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
Subsystem sftp internal-sftp
LogLevel INFO
# bash reads ~/.bashrc for commands run over SSH only when SHLVL is unset (it becomes 1).
# A fresh server's .bashrc returns at once for them; this machine's may not (pyenv, ...).
SetEnv SHLVL=1
",
    );
    text
}

/// A running `sshd -D` for one server.
#[derive(Debug)]
pub(super) struct Daemon {
    child: Child,
    reaped: bool,
    ip: Ipv4Addr,
}

/// What [`start`] found.
#[derive(Debug)]
pub(super) enum Started {
    /// Our daemon listens.
    Running(Daemon),
    /// A live daemon of another emulator on the same state already serves this server.
    ServedElsewhere { pid: i32 },
}

/// Prepares the folder and starts the server's sshd; returns once it listens.
pub(super) async fn start(files: &Files, info: &ServerInfo) -> Result<Started, SshdError> {
    files.prepare(info).await?;
    if let Some(pid) = stale_daemon(files).await {
        return Ok(Started::ServedElsewhere { pid });
    }
    let _ = std::fs::remove_file(files.pid_file());
    let log = std::fs::File::create(files.log()).map_err(|source| SshdError::Files {
        path: files.log(),
        source,
    })?;
    let mut command = if Path::new(SETPRIV).exists() {
        let mut c = Command::new(SETPRIV);
        c.args(["--pdeathsig", "TERM", "--", SSHD]);
        c
    } else {
        Command::new(SSHD)
    };
    command
        .args(["-D", "-e", "-f"])
        .arg(files.config())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal reaches ict, which stops it in order.
        .process_group(0);
    let child = command
        .spawn()
        .map_err(|source| SshdError::Spawn { source })?;
    let mut daemon = Daemon {
        child,
        reaped: false,
        ip: info.ip,
    };
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            daemon.reaped = true;
            return Err(SshdError::Exited {
                ip: info.ip,
                status: status.to_string(),
                log: log_tail(&files.log()),
            });
        }
        if std::fs::read_to_string(files.pid_file()).is_ok_and(|p| !p.trim().is_empty()) {
            return Ok(Started::Running(daemon));
        }
        if Instant::now() >= deadline {
            daemon.stop().await;
            return Err(SshdError::Timeout { ip: info.ip });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Looks at the PID file left from an earlier run. An sshd of ours whose parent is gone (an
/// emulator killed without cleanup, on a system without `setpriv`) is stopped; one whose
/// parent lives belongs to another emulator on the same state and is left alone (its PID is
/// returned).
async fn stale_daemon(files: &Files) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(files.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let config = files.config();
    if !procfs::alive(pid) || !procfs::cmdline(pid).contains(&*config.to_string_lossy()) {
        return None;
    }
    let orphaned = procfs::parent(pid).is_none_or(|ppid| ppid <= 1 || !procfs::alive(ppid));
    if !orphaned {
        return Some(pid);
    }
    tracing::info!(pid, config = %config.display(), "stopping a stale sshd left by an earlier emulator");
    let mut pids = vec![pid];
    pids.extend(procfs::descendants(pid));
    procfs::signal_all(&pids, Signal::TERM);
    let deadline = Instant::now() + GRACE;
    while pids.iter().any(|&p| procfs::alive(p)) && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
    procfs::signal_all(&pids, Signal::KILL);
    None
}

/// The last lines of a daemon's log, for a warning.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        format!("no output (see {})", path.display())
    } else {
        tail
    }
}

impl Daemon {
    pub(super) fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// SIGTERM to the daemon and its connections; SIGKILL to whatever is left after the
    /// grace period; the daemon is reaped.
    pub(super) async fn stop(mut self) {
        let pids = self.terminate();
        let deadline = Instant::now() + GRACE;
        while !self.finished(&pids) && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        self.kill(&pids);
    }

    /// The same as [`Daemon::stop`], blocking (for `Drop`).
    fn stop_blocking(&mut self) {
        let pids = self.terminate();
        let deadline = Instant::now() + GRACE;
        while !self.finished(&pids) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        self.kill(&pids);
    }

    /// Sends SIGTERM to the daemon and everything below it; returns those PIDs (the
    /// connections' processes start their own sessions, so a group signal would miss them).
    fn terminate(&mut self) -> Vec<i32> {
        if self.reap() {
            return Vec::new();
        }
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return Vec::new();
        };
        let mut pids = vec![pid];
        pids.extend(procfs::descendants(pid));
        procfs::signal_all(&pids, Signal::TERM);
        pids
    }

    fn finished(&mut self, pids: &[i32]) -> bool {
        self.reap() && pids.iter().skip(1).all(|&p| !procfs::alive(p))
    }

    fn kill(&mut self, pids: &[i32]) {
        if self.finished(pids) {
            return;
        }
        let survivors: Vec<i32> = pids
            .iter()
            .skip(usize::from(self.reaped))
            .copied()
            .filter(|&p| procfs::alive(p))
            .collect();
        tracing::warn!(ip = %self.ip, ?survivors, "sshd ignored SIGTERM; sending SIGKILL");
        procfs::signal_all(&survivors, Signal::KILL);
        if !self.reaped {
            let _ = self.child.wait();
            self.reaped = true;
        }
    }

    /// Whether the daemon has exited (and was reaped).
    fn reap(&mut self) -> bool {
        if !self.reaped {
            self.reaped = !matches!(self.child.try_wait(), Ok(None));
        }
        self.reaped
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.reaped {
            self.stop_blocking();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ServerInfo {
        ServerInfo {
            id: 7,
            name: "web-1".to_owned(),
            ip: Ipv4Addr::new(127, 1, 0, 10),
            user: "root".to_owned(),
            password: "secret12".to_owned(),
            public_keys: vec!["ssh-ed25519 AAAA a@b".to_owned()],
            cpu: 1,
            ram_mb: 1024,
            disk_gb: 20,
        }
    }

    #[test]
    fn config_listens_on_the_server_ip_with_keys_only() {
        let files = Files {
            dir: PathBuf::from("/st/100% done/servers/7"),
        };
        let text = config_text(&files, &info());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&"ListenAddress 127.1.0.10:22"), "{text}");
        assert!(lines.contains(&"HostKey \"/st/100% done/servers/7/ssh_host_ed25519_key\""));
        assert!(lines.contains(&"AuthorizedKeysFile \"/st/100%% done/servers/7/authorized_keys\""));
        assert!(lines.contains(&"PidFile \"/st/100% done/servers/7/sshd.pid\""));
        assert!(lines.contains(&"AllowUsers root"));
        assert!(lines.contains(&"PasswordAuthentication no"));
        assert!(lines.contains(&"UsePAM no"));
        assert!(
            !text.contains("secret12"),
            "the password never reaches the files"
        );
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sshd.log");
        std::fs::write(&path, "a\n\nb\nc\nd\n").expect("write");
        assert_eq!(log_tail(&path), "b / c / d");
        assert!(log_tail(&dir.path().join("missing")).starts_with("no output"));
    }
}
