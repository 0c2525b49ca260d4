//! What isolating an emulated server needs from this computer, one [`Need`] each: the programs
//! the boot runs (looked up in the system folders, not in `PATH`, because the boot runs with
//! the system `PATH`), the kernel's overlay and ext4 filesystems and loop devices, namespaces,
//! and the right to mount (root with `CAP_SYS_ADMIN`, which an unprivileged container lacks).
//! Looks at files only: runs nothing, so the emulator can check at every start. `ict doctor`
//! shows the same list. Depends on nothing else in ict.

use std::path::{Path, PathBuf};

/// The folders programs are looked up in, and the `PATH` of everything the machine runs.
pub(crate) const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One thing isolation needs, and whether this computer has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// A short name: `unshare`, `overlayfs`, `mount rights`, …
    pub name: &'static str,
    /// What was found, or `Err` with what is missing.
    pub found: Result<String, String>,
    /// The command (or step) that provides it.
    pub fix: &'static str,
}

/// The programs the boot script and the connections run, with the Debian package of each.
const PROGRAMS: [(&str, &str); 12] = [
    ("unshare", "apt-get install -y util-linux"),
    ("nsenter", "apt-get install -y util-linux"),
    ("setpriv", "apt-get install -y util-linux"),
    ("setsid", "apt-get install -y util-linux"),
    ("flock", "apt-get install -y util-linux"),
    ("mount", "apt-get install -y mount"),
    ("pivot_root", "apt-get install -y util-linux"),
    ("chroot", "apt-get install -y coreutils"),
    ("mkfs.ext4", "apt-get install -y e2fsprogs"),
    ("e2fsck", "apt-get install -y e2fsprogs"),
    ("resize2fs", "apt-get install -y e2fsprogs"),
    ("bash", "apt-get install -y bash"),
];

/// The namespaces each server gets.
const NAMESPACES: [&str; 4] = ["mnt", "pid", "uts", "ipc"];

/// `CAP_SYS_ADMIN`'s bit in `/proc/self/status`'s `CapEff`.
const CAP_SYS_ADMIN: u32 = 21;

/// Everything isolation needs, in the order they are checked.
pub fn needs() -> Vec<Need> {
    let mut needs: Vec<Need> = PROGRAMS
        .iter()
        .map(|&(name, fix)| Need {
            name,
            found: program(name)
                .map(|p| p.display().to_string())
                .ok_or_else(|| format!("{name} is not in {SYSTEM_PATH}")),
            fix,
        })
        .collect();
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    for (name, fs, fix) in [
        ("overlayfs", "overlay", "modprobe overlay"),
        ("ext4", "ext4", "modprobe ext4"),
    ] {
        needs.push(Need {
            name,
            found: listed(&filesystems, fs)
                .then(|| format!("{fs} in /proc/filesystems"))
                .ok_or_else(|| {
                    format!("the kernel has no {fs} filesystem (not in /proc/filesystems)")
                }),
            fix,
        });
    }
    needs.push(Need {
        name: "loop devices",
        found: Path::new("/dev/loop-control")
            .exists()
            .then(|| "/dev/loop-control".to_owned())
            .ok_or_else(|| {
                "the kernel has no loop devices (/dev/loop-control is missing)".to_owned()
            }),
        fix: "modprobe loop",
    });
    let missing: Vec<&str> = NAMESPACES
        .into_iter()
        .filter(|ns| !Path::new("/proc/self/ns").join(ns).exists())
        .collect();
    needs.push(Need {
        name: "namespaces",
        found: if missing.is_empty() {
            Ok("mount, PID, UTS and IPC namespaces".to_owned())
        } else {
            Err(format!(
                "the kernel has no {} namespaces",
                missing.join(", ")
            ))
        },
        fix: "use a kernel built with namespaces (CONFIG_NAMESPACES)",
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    needs.push(Need {
        name: "mount rights",
        found: mount_rights(rustix::process::geteuid().is_root(), &status),
        fix: "run ict as root (in a container: --privileged)",
    });
    needs
}

/// The first thing isolation lacks here, if any.
pub(crate) fn first_missing() -> Option<(String, &'static str)> {
    needs()
        .into_iter()
        .find_map(|need| need.found.err().map(|reason| (reason, need.fix)))
}

/// `name` in the system folders of [`SYSTEM_PATH`].
pub(crate) fn program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    SYSTEM_PATH
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether `/proc/filesystems` text lists `fs`.
fn listed(filesystems: &str, fs: &str) -> bool {
    filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some(fs))
}

/// Root with `CAP_SYS_ADMIN` in the effective set (from `/proc/self/status` text).
fn mount_rights(root: bool, status: &str) -> Result<String, String> {
    if !root {
        return Err("mounting a server's disk and root filesystem needs root".to_owned());
    }
    let admin = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0);
    if admin {
        Ok("root with CAP_SYS_ADMIN".to_owned())
    } else {
        Err(
            "root here lacks CAP_SYS_ADMIN (an unprivileged container?), so it cannot mount"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_are_read_from_the_last_column() {
        let text = "nodev\tsysfs\n\text4\nnodev\toverlay\n";
        assert!(listed(text, "overlay"));
        assert!(listed(text, "ext4"));
        assert!(!listed(text, "sysfs2"));
        assert!(!listed("", "overlay"));
    }

    #[test]
    fn mounting_needs_root_with_cap_sys_admin() {
        let full = "Name:\tict\nCapEff:\t000001fffeffffff\n";
        let docker = "CapEff:\t00000000a80425fb\n";
        assert_eq!(
            mount_rights(true, full),
            Ok("root with CAP_SYS_ADMIN".to_owned())
        );
        assert!(mount_rights(true, docker).is_err_and(|e| e.contains("lacks CAP_SYS_ADMIN")));
        assert!(mount_rights(false, full).is_err_and(|e| e.contains("needs root")));
        assert!(mount_rights(true, "").is_err());
    }
}
