//! One server's SSH files in its folder on this computer: the ed25519 host key (generated once:
//! ict pins host keys, so it must survive restarts; the machine's disk gets a copy when it is
//! made), the `sshd_config` that every boot installs as `/etc/ict/sshd_config` in the machine
//! and `sshd -i` reads for every connection, and the `sshd.log` its connections append to.
//! Depends on `events` (for [`ServerInfo`]).

use std::fmt::Write as _;
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::emulator::ServerInfo;

/// Generates host keys (part of openssh-client, which openssh-server depends on).
pub(super) const SSH_KEYGEN: &str = "/usr/bin/ssh-keygen";

/// Why a server cannot be reached over SSH. Logged as a warning; the emulator carries on.
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

    #[error("cannot listen on {ip}:22")]
    #[diagnostic(
        code(ict::emulator::sshd_listen),
        help("another process may listen on {ip}:22 or on 0.0.0.0:22 (see `ss -ltnp`)")
    )]
    Listen {
        ip: Ipv4Addr,
        #[source]
        source: io::Error,
    },
}

/// The SSH files of one server, all inside its own folder.
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
    pub(super) fn log(&self) -> PathBuf {
        self.dir.join("sshd.log")
    }

    /// Creates the folder (0700), the host key (once: it must survive restarts because ict
    /// pins host keys) and `sshd_config`.
    pub(super) async fn prepare(&self, info: &ServerInfo) -> Result<(), SshdError> {
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
        std::fs::write(self.config(), config_text(info)).map_err(files_error(&self.config()))
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

/// The configuration (paths inside the machine): key-only login with the keys in each user's
/// `~/.ssh/authorized_keys` (the server's disk starts with the keys given at create in its
/// login user's), and the host key installed on the disk.
fn config_text(info: &ServerInfo) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Written by ict's 1cloud emulator for server {} ({}); rewritten at every power-on.",
        info.id,
        info.name.replace('\n', " ")
    );
    text.push_str(
        "HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
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
SetEnv SHLVL=1
",
    );
    text
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
            created: 0,
            template: None,
        }
    }

    #[test]
    fn config_takes_keys_only_from_inside_the_machine() {
        let text = config_text(&info());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("server 7 (web-1); rewritten at every power-on."),
            "{text}"
        );
        assert!(lines.contains(&"HostKey /etc/ssh/ssh_host_ed25519_key"));
        assert!(lines.contains(&"AuthorizedKeysFile .ssh/authorized_keys"));
        assert!(lines.contains(&"PasswordAuthentication no"));
        assert!(lines.contains(&"UsePAM no"));
        assert!(
            !text.contains("secret12"),
            "the password never reaches the files"
        );
    }
}
