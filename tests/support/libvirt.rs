//! A corner of the machine's real libvirt daemon for one test: a temporary folder for its
//! storage pool, and a name prefix unique to the test that every domain and pool it makes
//! carries. When the guard drops, every domain and pool with that prefix is removed, so nothing
//! outlives the test (parallel tests each have their own prefix).
//!
//! scripts/install.sh installs libvirt with QEMU and starts its daemons; without them the test
//! is skipped (and fails under `CI=true`).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Numbers the labs of this test process.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The daemon the tests use.
pub const URI: &str = "qemu:///system";

/// A test's pool and prefix on the real libvirtd.
pub struct Lab {
    pub prefix: String,
    dir: tempfile::TempDir,
}

impl Lab {
    /// A fresh prefix, or `None` (the test is skipped) when libvirtd is not installed or does
    /// not answer.
    pub fn start() -> Option<Lab> {
        if !Path::new("/usr/sbin/libvirtd").is_file() {
            crate::test::skipped_without(
                "libvirtd",
                "bash scripts/install.sh installs libvirt with QEMU",
            );
            return None;
        }
        if !virsh(&["version"]).status.success() {
            crate::test::skipped_without(
                "a running libvirtd",
                "bash scripts/install.sh starts virtlogd and libvirtd",
            );
            return None;
        }
        let prefix = format!(
            "ict-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = tempfile::Builder::new()
            .prefix("ict-libvirt-")
            .tempdir()
            .expect("temporary folder");
        Some(Lab { prefix, dir })
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

    /// Runs `virsh` on the test daemon and returns its output; panics if it fails.
    #[track_caller]
    #[allow(clippy::unused_self, reason = "a lab's daemon, although there is one")]
    pub fn virsh_ok(&self, args: &[&str]) -> String {
        let out = virsh(args);
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

impl Drop for Lab {
    fn drop(&mut self) {
        let listed = virsh(&["list", "--all", "--name"]);
        for name in String::from_utf8_lossy(&listed.stdout).lines() {
            if name.starts_with(&self.prefix) {
                let _ = virsh(&["destroy", name]);
                let _ = virsh(&["undefine", name, "--nvram"]);
            }
        }
        let listed = virsh(&["pool-list", "--all", "--name"]);
        for name in String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(str::trim)
        {
            if name.starts_with(&self.prefix) {
                let _ = virsh(&["pool-destroy", name]);
                let _ = virsh(&["pool-undefine", name]);
            }
        }
    }
}

fn virsh(args: &[&str]) -> Output {
    Command::new("virsh")
        .arg("-c")
        .arg(URI)
        .args(args)
        .output()
        .expect("run virsh")
}
