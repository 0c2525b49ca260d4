//! Real OpenSSH `sshd` daemons on 127.0.0.1 for tests: a tempdir with a generated client key,
//! an `authorized_keys` file and one config + ed25519 host key per daemon.
//!
//! Each daemon runs in the foreground (`sshd -D -e`) as a child of the test process and is
//! killed and reaped on drop. Like shared/bench/sshd-farm.sh, it runs in a private mount
//! namespace (when `unshare -m` is permitted) with Debian's stock `/etc/skel/.bashrc` bound over
//! the user's `~/.bashrc`: on the dev machines root's `.bashrc` runs `pyenv init`, which costs
//! ~150 ms per remote command and may print to stderr. Nothing on the host is changed. Needs Debian's `openssh-server` (for `/usr/sbin/sshd`) and
//! `openssh-client` (for `ssh-keygen`); running as root, because sshd's privilege separation
//! needs it (`/run/sshd` is created when missing).

#![allow(dead_code)] // each test uses a different part of the fixture

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// A directory of keys shared by the daemons started from it.
pub(crate) struct SshdFarm {
    dir: tempfile::TempDir,
    /// The client's private key (ed25519), authorized on every daemon.
    pub(crate) client_key: PathBuf,
}

impl SshdFarm {
    /// Creates the tempdir, a client key and the `authorized_keys` file.
    pub(crate) fn new() -> Self {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install it with `apt-get install -y openssh-server`"
        );
        std::fs::create_dir_all("/run/sshd").expect("create sshd's privilege-separation dir");
        let dir = tempfile::tempdir().expect("tempdir");
        let client_key = dir.path().join("client_ed25519");
        keygen("ed25519", &client_key, "ict-test-client");
        std::fs::copy(
            with_ext(&client_key, "pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("write authorized_keys");
        Self { dir, client_key }
    }

    /// The farm's directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Generates another key pair of `kind` (`ed25519`, `rsa`) in the farm's directory; when
    /// `authorize` is set, appends its public half to `authorized_keys`. Returns the private key.
    pub(crate) fn new_client_key(&self, name: &str, kind: &str, authorize: bool) -> PathBuf {
        let key = self.dir.path().join(name);
        keygen(kind, &key, name);
        if authorize {
            let public = std::fs::read_to_string(with_ext(&key, "pub")).expect("read pub key");
            let path = self.dir.path().join("authorized_keys");
            let mut all = std::fs::read_to_string(&path).expect("read authorized_keys");
            all.push_str(&public);
            std::fs::write(&path, all).expect("write authorized_keys");
        }
        key
    }

    /// Starts a daemon named `name` on a free loopback port.
    pub(crate) fn start(&self, name: &str) -> Sshd {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("daemon dir");
        let mut sshd = Sshd {
            name: name.to_owned(),
            dir,
            authorized_keys: self.dir.path().join("authorized_keys"),
            port: free_port(),
            child: None,
        };
        sshd.new_host_key();
        sshd.spawn();
        sshd
    }
}

/// One running sshd.
pub(crate) struct Sshd {
    /// Its name (also the host key's comment).
    pub(crate) name: String,
    dir: PathBuf,
    authorized_keys: PathBuf,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    child: Option<Child>,
}

impl Sshd {
    /// `ssh-ed25519 AAAA…` of its current host key.
    pub(crate) fn host_public_key(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("ssh_host_ed25519_key.pub"))
            .expect("read host key");
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `SHA256:…` of its current host key, computed by `ssh-keygen -l` (independent of ict).
    pub(crate) fn host_fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .arg("-l")
            .arg("-E")
            .arg("sha256")
            .arg("-f")
            .arg(self.dir.join("ssh_host_ed25519_key.pub"))
            .output()
            .expect("run ssh-keygen -l");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .nth(1)
            .expect("fingerprint field")
            .to_owned()
    }

    /// Stops the daemon (kill + wait). The port stays reserved in name only.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it, replaces its host key and starts it again on the same port.
    pub(crate) fn restart_with_new_host_key(&mut self) {
        self.stop();
        self.new_host_key();
        self.spawn();
    }

    fn new_host_key(&self) {
        let key = self.dir.join("ssh_host_ed25519_key");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(with_ext(&key, "pub"));
        keygen("ed25519", &key, &self.name);
    }

    fn spawn(&mut self) {
        let config = self.dir.join("sshd_config");
        std::fs::write(&config, self.config()).expect("write sshd_config");
        let log = std::fs::File::create(self.dir.join("sshd.log")).expect("sshd log");
        let mut command = if namespaces_allowed() {
            // `unshare` execs the shell, which execs sshd: the child's PID is sshd's.
            let mut command = Command::new("unshare");
            command.args([
                "-m",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                NS_LAUNCHER,
                "sshd",
            ]);
            command.arg(SSHD).arg(&config);
            command
        } else {
            let mut command = Command::new(SSHD);
            command.arg("-D").arg("-e").arg("-f").arg(&config);
            command
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn sshd");
        self.child = Some(child);
        self.wait_listening();
    }

    fn config(&self) -> String {
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/ssh_host_ed25519_key\n\
             PidFile none\nAuthorizedKeysFile {keys}\nPermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nUseDNS no\nMaxStartups 100\nMaxSessions 20\n\
             LoginGraceTime 20\nPrintMotd no\nPrintLastLog no\nX11Forwarding no\n\
             AllowTcpForwarding yes\nAllowAgentForwarding no\nLogLevel ERROR\n",
            port = self.port,
            dir = self.dir.display(),
            keys = self.authorized_keys.display(),
        )
    }

    /// Bounded wait (5 s) for the port to accept; panics with the log if sshd died.
    fn wait_listening(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default();
                    panic!("sshd {} exited with {status}: {log}", self.name);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "sshd {} did not listen on port {} within 5 s",
            self.name, self.port
        );
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs in the private mount namespace: hide the user's `.bashrc` behind Debian's stock one,
/// then become sshd (`$1` = sshd, `$2` = config).
const NS_LAUNCHER: &str = r#"
if [ -f /etc/skel/.bashrc ] && [ -f "$HOME/.bashrc" ]; then
  mount --bind /etc/skel/.bashrc "$HOME/.bashrc"
fi
exec "$1" -D -e -f "$2"
"#;

/// Whether `unshare -m` works here (root with `CAP_SYS_ADMIN`); checked once.
fn namespaces_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| {
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A port that was free a moment ago (bind :0, read, release).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn keygen(kind: &str, path: &Path, comment: &str) {
    let mut command = Command::new("ssh-keygen");
    command
        .args(["-q", "-t", kind, "-N", "", "-C", comment, "-f"])
        .arg(path);
    if kind == "rsa" {
        command.args(["-b", "2048"]);
    }
    let status = command.status().expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen -t {kind} failed");
}

fn with_ext(path: &Path, ext: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// An `ssh-agent` in the foreground on a socket in `dir`, killed and reaped on drop.
pub(crate) struct Agent {
    /// Its socket (what `SSH_AUTH_SOCK` would hold).
    pub(crate) socket: PathBuf,
    child: Child,
}

impl Agent {
    /// Starts the agent; bounded wait (5 s) for its socket.
    pub(crate) fn start(dir: &Path) -> Self {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ssh-agent");
        let agent = Self { socket, child };
        // The socket file appears at bind(), before listen(): wait until it takes connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&agent.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not listen on its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    /// `ssh-add key`.
    pub(crate) fn add(&self, key: &Path) {
        let status = Command::new("ssh-add")
            .arg("-q")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(Stdio::null())
            .status()
            .expect("run ssh-add");
        assert!(status.success(), "ssh-add {} failed", key.display());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
