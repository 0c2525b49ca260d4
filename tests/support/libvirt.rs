//! A libvirt daemon of the tests' own: the machine's real `libvirtd` (QEMU), started in new
//! mount, network and PID namespaces, with its configuration, state, logs and sockets in a
//! temporary folder. Its networks' bridges and `dnsmasq` live in its network namespace, its
//! VMs' QEMU processes in its PID namespace, and nothing it does reaches the machine's own
//! libvirt, `/etc`, `/run` or cgroups. The tests that run at the same time share one daemon
//! (starting one costs about a CPU-second), each in a [`Lab`] of its own: a folder, and a name
//! prefix for everything it makes. When the last of them ends (or the test process dies), the
//! namespace's first process is killed, which ends every process in it.
//!
//! scripts/install.sh installs libvirt with QEMU; without it the test is skipped (and fails
//! under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// Numbers the labs of this test process.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The daemon of the labs that are running, if any.
static DAEMON: Mutex<Weak<Daemon>> = Mutex::new(Weak::new());

/// A test's place on the shared libvirtd: its folder, and a name prefix for what it makes.
pub struct Lab {
    pub prefix: String,
    dir: tempfile::TempDir,
    daemon: Arc<Daemon>,
}

/// A running libvirtd and its folder.
struct Daemon {
    dir: tempfile::TempDir,
    /// The `setpriv` that became `unshare`.
    pid: u32,
    /// Stops the daemon when dropped, and the thread that does it.
    keeper: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl Lab {
    /// Joins the running daemon or starts one, or gives `None` (the test is skipped) when
    /// libvirtd is not installed.
    pub fn start() -> Option<Lab> {
        if !Path::new("/usr/sbin/libvirtd").is_file() {
            crate::test::skipped_without(
                "libvirtd",
                "bash scripts/install.sh installs libvirt with QEMU",
            );
            return None;
        }
        let root = std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata("/proc/self").expect("/proc/self"),
        ) == 0;
        if !root {
            crate::test::skipped_without(
                "root (a libvirtd of the test's own needs new mount, network and PID namespaces)",
                "run the libvirt tests as root",
            );
            return None;
        }
        let daemon = {
            let mut shared = DAEMON.lock().unwrap_or_else(PoisonError::into_inner);
            shared.upgrade().unwrap_or_else(|| {
                let daemon = Arc::new(Daemon::start());
                *shared = Arc::downgrade(&daemon);
                daemon
            })
        };
        let prefix = format!(
            "ict-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::Builder::new()
            .prefix("ict-libvirt-lab-")
            .tempdir()
            .expect("temporary folder");
        // QEMU runs as libvirt-qemu and must reach the disks below.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        std::fs::create_dir(dir.path().join("pool")).expect("mkdir");
        Some(Lab {
            prefix,
            dir,
            daemon,
        })
    }

    /// The URI of the test's daemon.
    pub fn uri(&self) -> String {
        self.daemon.uri()
    }

    /// `command` run in the test daemon's network namespace, where its networks' bridges are
    /// (to reach the VMs).
    pub fn in_netns(&self, command: &Command) -> Command {
        let init = std::fs::read_to_string(format!(
            "/proc/{pid}/task/{pid}/children",
            pid = self.daemon.pid
        ))
        .expect("the namespace's first process");
        let init = init.split_whitespace().next().expect("a child of unshare");
        let mut wrapped = Command::new("nsenter");
        wrapped
            .arg(format!("--net=/proc/{init}/ns/net"))
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        wrapped
    }

    /// The name of the test's pool.
    pub fn pool(&self) -> String {
        format!("{}-pool", self.prefix)
    }

    /// Where the test's pool keeps its volumes.
    pub fn pool_path(&self) -> String {
        self.dir.path().join("pool").display().to_string()
    }

    /// The test's temporary folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `virsh` on the test's daemon.
    pub fn virsh(&self, args: &[&str]) -> Output {
        self.daemon.virsh(args)
    }

    /// Runs `virsh` on the test's daemon and returns its output; panics if it fails.
    #[track_caller]
    pub fn virsh_ok(&self, args: &[&str]) -> String {
        let out = self.virsh(args);
        assert!(
            out.status.success(),
            "virsh {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The names of the domains with this test's prefix, sorted, and whether each runs.
    pub fn domains(&self) -> Vec<(String, bool)> {
        let running = self.virsh_ok(&["list", "--name", "--state-running"]);
        let mut all: Vec<(String, bool)> = self
            .virsh_ok(&["list", "--all", "--name"])
            .lines()
            .filter(|name| name.starts_with(&self.prefix))
            .map(|name| (name.to_owned(), running.lines().any(|r| r == name)))
            .collect();
        all.sort();
        all
    }

    /// The test's pools, sorted.
    pub fn pools(&self) -> Vec<String> {
        let mut pools: Vec<String> = self
            .virsh_ok(&["pool-list", "--all", "--name"])
            .lines()
            .map(str::trim)
            .filter(|name| name.starts_with(&self.prefix))
            .map(str::to_owned)
            .collect();
        pools.sort();
        pools
    }

    /// The test's networks (active or not), sorted.
    pub fn networks(&self) -> Vec<String> {
        let mut networks: Vec<String> = self
            .virsh_ok(&["net-list", "--all", "--name"])
            .lines()
            .map(str::trim)
            .filter(|name| name.starts_with(&self.prefix))
            .map(str::to_owned)
            .collect();
        networks.sort();
        networks
    }

    /// Defines and starts an isolated network by hand, as someone who does not use ict would.
    pub fn define_network_by_hand(&self, name: &str) {
        let xml = format!(
            "<network><name>{name}</name><ip address='192.168.250.1' netmask='255.255.255.0'/>\
             </network>"
        );
        let file = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write network XML");
        self.virsh_ok(&["net-define", &file.display().to_string()]);
        self.virsh_ok(&["net-start", name]);
    }

    /// Defines and starts a folder pool by hand.
    pub fn define_pool_by_hand(&self, name: &str) {
        let path = self.dir.path().join(name);
        std::fs::create_dir(&path).expect("mkdir pool");
        self.virsh_ok(&[
            "pool-define-as",
            name,
            "dir",
            "--target",
            &path.display().to_string(),
        ]);
        self.virsh_ok(&["pool-start", name]);
    }

    /// The volumes in the test's pool, sorted.
    pub fn volumes(&self) -> Vec<String> {
        let pool = self.pool();
        self.virsh_ok(&["pool-refresh", &pool]);
        let mut volumes: Vec<String> = self
            .virsh_ok(&["vol-list", &pool])
            .lines()
            .skip(2)
            .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
            .collect();
        volumes.sort();
        volumes
    }

    /// Defines a domain by hand, as someone who does not use ict would (a 1 GB disk file in the
    /// test's folder, not started).
    pub fn define_by_hand(&self, name: &str) {
        let disk = self.dir.path().join(format!("{name}.qcow2"));
        let made = Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&disk)
            .arg("1G")
            .status()
            .expect("qemu-img");
        assert!(made.success(), "qemu-img create");
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>\
             <driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/>\
             </disk></devices></domain>",
            disk.display()
        );
        let file = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write domain XML");
        self.virsh_ok(&["define", &file.display().to_string()]);
    }
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("ict-libvirt-")
            .tempdir()
            .expect("temporary folder");
        let root = dir.path();
        // QEMU runs as libvirt-qemu and must reach the daemon's folders below.
        std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        for sub in ["run", "lib", "log", "cache", "etc"] {
            std::fs::create_dir(root.join(sub)).expect("mkdir");
        }
        // The machine's libvirt configuration, without its domains, networks and pools.
        let copied = Command::new("cp")
            .arg("-a")
            .arg("/etc/libvirt/.")
            .arg(root.join("etc"))
            .status()
            .expect("cp");
        assert!(copied.success(), "copy /etc/libvirt");
        for defined in ["qemu", "storage", "secrets"] {
            let _ = std::fs::remove_dir_all(root.join("etc").join(defined));
            std::fs::create_dir(root.join("etc").join(defined)).expect("mkdir");
        }
        share_capabilities(&shared_capabilities(), &root.join(CAPABILITIES));
        let qemu_conf = root.join("etc/qemu.conf");
        let mut conf = std::fs::read_to_string(&qemu_conf).unwrap_or_default();
        // The machine's cgroups are not the test's to change.
        conf.push_str("\ncgroup_controllers = [ ]\n");
        std::fs::write(&qemu_conf, conf).expect("write qemu.conf");
        let at = |sub: &str| root.join(sub).display().to_string();
        let script = format!(
            "set -e\n\
             mount --make-rprivate /\n\
             mount --bind {run} /run\n\
             mount --bind {lib} /var/lib/libvirt\n\
             mount --bind {log} /var/log/libvirt\n\
             mount --bind {cache} /var/cache/libvirt\n\
             mount --bind {etc} /etc/libvirt\n\
             ip link set lo up\n\
             virtlogd -d\n\
             libvirtd &\n\
             wait $!\n",
            run = at("run"),
            lib = at("lib"),
            log = at("log"),
            cache = at("cache"),
            etc = at("etc"),
        );
        let log = std::fs::File::create(root.join("libvirtd.log")).expect("log");
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "KILL", "--", "unshare"])
            .args([
                "--mount",
                "--net",
                "--pid",
                "--fork",
                "--kill-child",
                "--mount-proc",
            ])
            .args(["bash", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        let (keeper, pid, exited) = keep(command);
        let daemon = Daemon {
            dir,
            pid,
            keeper: Some(keeper),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !daemon.socket().exists() {
            let exited = exited.try_recv().ok();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the test's libvirtd did not start ({exited:?}): {}",
                std::fs::read_to_string(daemon.dir.path().join("libvirtd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Answers once its drivers are up.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !daemon.virsh(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the test's libvirtd does not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/libvirt/libvirt-sock")
    }

    fn uri(&self) -> String {
        format!("qemu+unix:///system?socket={}", self.socket().display())
    }

    fn virsh(&self, args: &[&str]) -> Output {
        Command::new("virsh")
            .arg("-c")
            .arg(self.uri())
            .args(args)
            .output()
            .expect("run virsh")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // The keeper kills the namespace's first process: its end ends QEMU, dnsmasq, virtlogd
        // and libvirtd.
        if let Some((stop, thread)) = self.keeper.take() {
            drop(stop);
            let _ = thread.join();
        }
        share_capabilities(&self.dir.path().join(CAPABILITIES), &shared_capabilities());
    }
}

/// Starts `command` on a thread of its own that keeps it until told to stop (the sender is
/// dropped), then kills and reaps it. The daemon's parent-death signal is sent when the thread
/// that started it ends, not the process, so it must not be a test's thread: the daemon
/// outlives the test that started it while others use it. Returns the keeper, the child's PID
/// and a receiver of its exit status should it end by itself.
fn keep(
    mut command: Command,
) -> (
    (mpsc::Sender<()>, std::thread::JoinHandle<()>),
    u32,
    mpsc::Receiver<std::process::ExitStatus>,
) {
    let (stop, stopped) = mpsc::channel::<()>();
    let (started, pid) = mpsc::channel();
    let (ended, exited) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut child = command.spawn().expect("start unshare");
        let _ = started.send(child.id());
        while let Err(mpsc::RecvTimeoutError::Timeout) =
            stopped.recv_timeout(Duration::from_millis(50))
        {
            if let Ok(Some(status)) = child.try_wait() {
                let _ = ended.send(status);
                return;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    });
    let pid = pid.recv().expect("unshare started");
    ((stop, thread), pid, exited)
}

/// Where a libvirtd keeps what it learnt by probing each QEMU binary (a second or two of CPU
/// per daemon), below the test's own folder.
const CAPABILITIES: &str = "cache/qemu/capabilities";

/// The probes of the first lab to finish, kept for the next labs of this build: libvirtd
/// reads them instead of probing again, and probes anyway if QEMU or libvirt changed since.
fn shared_capabilities() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libvirt-qemu-capabilities")
}

/// Copies the probe files of `from` into `to`, each written under a temporary name first (labs
/// run in parallel); files `to` has already are kept.
fn share_capabilities(from: &Path, to: &Path) {
    let Ok(files) = std::fs::read_dir(from) else {
        return;
    };
    let _ = std::fs::create_dir_all(to);
    for file in files.filter_map(Result::ok) {
        let target = to.join(file.file_name());
        if target.exists() {
            continue;
        }
        let partial = to.join(format!(
            ".{}.{}",
            file.file_name().to_string_lossy(),
            std::process::id()
        ));
        if std::fs::copy(file.path(), &partial).is_ok() {
            let _ = std::fs::rename(&partial, &target);
        }
    }
}
