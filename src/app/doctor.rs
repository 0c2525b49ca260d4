//! What this machine has and lacks for each feature, with the command that
//! installs what is missing (`scripts/install.sh` installs it all). Also the two prerequisites
//! other commands look for before they start — `ansible-playbook` on `PATH`, an sshd (in an
//! isolated machine) behind the built-in emulator's servers — so that they skip what cannot
//! work, at once, and say how to fix it ([`Skipped`]) instead of failing half-way or waiting
//! minutes for SSH. Looks at files and `PATH` only: runs nothing (the caller asks `ansible`
//! for Mitogen, one Python start). May depend on `emulator` (its sshd and isolation checks) and
//! `ansible::mitogen`.

use std::path::{Path, PathBuf};

use crate::ansible::mitogen::{self, Mitogen};
use crate::emulator::{self, SshUnavailable};

/// How to install `ansible-playbook`.
pub const INSTALL_ANSIBLE: &str = "python3 -m pip install ansible-core";

/// One feature and what it needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feature {
    /// A short stable name (`emulator-ssh`, `ansible`, …).
    pub name: &'static str,
    /// What the feature is for.
    pub needed_for: &'static str,
    /// Whether every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// One thing a feature needs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was found (a path, a setting), or why it is missing.
    pub detail: String,
    /// The command (or step) that installs or enables it.
    pub install: String,
}

/// A step a command skipped because this machine lacks what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// What was not done, e.g. "2 playbooks".
    pub step: String,
    /// Why, e.g. "ansible-playbook is not on PATH".
    pub reason: String,
    /// The command that installs the missing piece.
    pub install: String,
}

impl Skipped {
    /// `step` skipped because the emulator's servers have no SSH.
    pub fn no_ssh(step: String, why: &SshUnavailable) -> Skipped {
        Skipped {
            step,
            reason: format!("the emulator's servers have no SSH: {}", why.reason),
            install: why.fix.clone(),
        }
    }

    /// `step` skipped because `ansible-playbook` is not on `PATH`.
    pub fn no_ansible(step: String) -> Skipped {
        Skipped {
            step,
            reason: "ansible-playbook is not on PATH".to_owned(),
            install: INSTALL_ANSIBLE.to_owned(),
        }
    }
}

/// The `ansible-playbook` ict would run: the first on `PATH`.
pub fn ansible_playbook() -> Option<PathBuf> {
    on_path("ansible-playbook")
}

/// The first executable file called `name` in a folder of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Every feature, in the order `ict doctor` shows them; `mitogen` is what [`mitogen::find`]
/// found.
pub fn features(mitogen: &Mitogen) -> Vec<Feature> {
    let contract = contract_venv();
    vec![
        feature(
            "emulator-ssh",
            "SSH to the built-in emulator's servers: `ict run`'s host keys and playbooks, `exec`, pipelines",
            ssh_checks(&emulator::sshd_program()),
        ),
        feature(
            "emulator-isolation",
            "each emulated server an isolated machine (its own namespaces and copy-on-write root filesystem), and pipeline stage containers inside it",
            isolation_checks(),
        ),
        feature(
            "ansible",
            "the playbooks of `ict run`",
            vec![program("ansible-playbook", INSTALL_ANSIBLE)],
        ),
        feature(
            "mitogen",
            "faster playbooks: one Python per host for the whole run instead of one per task (a run on 50 hosts that changes nothing: 40 % less time)",
            vec![mitogen_check(mitogen)],
        ),
        feature(
            "node-exporter",
            "the live-metrics tests against Debian's node_exporter",
            vec![file(
                "prometheus-node-exporter",
                Path::new("/usr/bin/prometheus-node-exporter"),
                "apt-get install -y prometheus-node-exporter",
            )],
        ),
        feature(
            "postgresql",
            "a pipeline's `database` on the emulator, and its test",
            vec![postgres()],
        ),
        feature(
            "libvirt",
            "the libvirt provider: VMs, storage pools and volumes on a libvirt daemon (docs/libvirt.md), and its tests",
            vec![
                program("virsh", "apt-get install -y libvirt-clients libvirt-daemon-system"),
                program("qemu-system-x86_64", "apt-get install -y qemu-system-x86"),
                libvirtd(),
            ],
        ),
        feature(
            "browser",
            "the dashboard tests, in a headless Chromium",
            vec![browser()],
        ),
        feature(
            "contract-clients",
            "contract tests with published 1cloud clients",
            vec![file(
                "contract venv",
                &contract.join("ict-contract-clients.txt"),
                "bash scripts/install-contract-clients.sh",
            )],
        ),
    ]
}

fn feature(name: &'static str, needed_for: &'static str, checks: Vec<Check>) -> Feature {
    Feature {
        name,
        needed_for,
        ok: checks.iter().all(|c| c.ok),
        checks,
    }
}

fn check(name: &'static str, found: Option<String>, missing: &str, install: &str) -> Check {
    Check {
        name,
        ok: found.is_some(),
        detail: found.unwrap_or_else(|| missing.to_owned()),
        install: install.to_owned(),
    }
}

/// A program found on `PATH`.
fn program(name: &'static str, install: &str) -> Check {
    let found = on_path(name).map(|p| p.display().to_string());
    check(name, found, "not on PATH", install)
}

/// Mitogen for Ansible, in the Python that runs `ansible-playbook`.
fn mitogen_check(found: &Mitogen) -> Check {
    let pip = |python: &str| format!("{python} -m pip install '{}'", mitogen::REQUIREMENT);
    let (ok, detail, install) = match found {
        Mitogen::Used {
            python,
            mitogen,
            ansible,
            ..
        } => (
            true,
            format!("{mitogen} for ansible-core {ansible} in {python}"),
            String::new(),
        ),
        Mitogen::Off => (
            false,
            format!("turned off ({}=0)", mitogen::SWITCH),
            format!("unset {}", mitogen::SWITCH),
        ),
        Mitogen::Absent {
            python: Some(python),
        } => (false, format!("not installed in {python}"), pip(python)),
        Mitogen::Absent { python: None } => (
            false,
            "no ansible-playbook to use it".to_owned(),
            format!("{INSTALL_ANSIBLE} '{}'", mitogen::REQUIREMENT),
        ),
        Mitogen::Unsupported { python, why } => (
            false,
            format!("{why}; ict runs Ansible without it"),
            format!(
                "{} (or {}=1 to use it anyway)",
                pip(python),
                mitogen::SWITCH
            ),
        ),
    };
    Check {
        name: "mitogen",
        ok,
        detail,
        install,
    }
}

/// A file at a fixed place.
/// The system libvirt daemon, running (its socket is there).
fn libvirtd() -> Check {
    let socket = Path::new("/run/libvirt/libvirt-sock");
    check(
        "libvirtd",
        socket
            .exists()
            .then(|| format!("running ({})", socket.display())),
        "not running (no /run/libvirt/libvirt-sock)",
        "start it: `virtlogd -d && libvirtd -d` (bash scripts/install.sh does)",
    )
}

fn file(name: &'static str, path: &Path, install: &str) -> Check {
    let found = path.is_file().then(|| path.display().to_string());
    check(
        name,
        found,
        &format!("{} is missing", path.display()),
        install,
    )
}

/// What the emulator's SSH backing needs, one check each (the emulator itself tells commands
/// the first that fails, through `Connection::ssh_unavailable`).
fn ssh_checks(sshd: &Path) -> Vec<Check> {
    let root = rustix::process::geteuid().is_root();
    vec![
        file("sshd", sshd, "apt-get install -y openssh-server"),
        file(
            "ssh-keygen",
            Path::new("/usr/bin/ssh-keygen"),
            "apt-get install -y openssh-client",
        ),
        check(
            "root",
            root.then(|| "running as root".to_owned()),
            "not root: isolating the servers and listening on port 22 need root",
            "run ict as root",
        ),
    ]
}

/// What the emulator needs to isolate its servers (the same list it checks before it backs
/// them with sshd), then bubblewrap for pipeline stages in a container.
fn isolation_checks() -> Vec<Check> {
    let mut checks: Vec<Check> = emulator::machine::needs()
        .into_iter()
        .map(|need| Check {
            name: need.name,
            ok: need.found.is_ok(),
            detail: need.found.unwrap_or_else(|missing| missing),
            install: need.fix.to_owned(),
        })
        .collect();
    checks.push(program("bwrap", "apt-get install -y bubblewrap"));
    checks
}

/// A `postgres` server binary of any version (Debian: `/usr/lib/postgresql/<v>/bin/postgres`).
fn postgres() -> Check {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            let mut binaries: Vec<PathBuf> = versions
                .filter_map(Result::ok)
                .map(|v| v.path().join("bin/postgres"))
                .filter(|p| p.is_file())
                .collect();
            binaries.sort();
            binaries.pop().map(|p| p.display().to_string())
        });
    check(
        "postgres",
        found,
        "no /usr/lib/postgresql/<version>/bin/postgres",
        "apt-get install -y postgresql",
    )
}

/// Chromium (or Chrome) on `PATH`.
fn browser() -> Check {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(on_path)
        .map(|p| p.display().to_string());
    check(
        "chromium",
        found,
        "no chromium, chromium-browser or google-chrome on PATH",
        "apt-get install -y chromium",
    )
}

/// Where `scripts/install-contract-clients.sh` puts its virtual environment.
fn contract_venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("ICT_CONTRACT_VENV").filter(|v| !v.is_empty()) {
        return PathBuf::from(venv);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default();
    cache.join("ict").join("contract-venv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_is_ok_only_when_every_check_is() {
        let yes = check("a", Some("here".to_owned()), "gone", "install a");
        let no = check("b", None, "gone", "install b");
        assert_eq!((yes.ok, yes.detail.as_str()), (true, "here"));
        assert_eq!((no.ok, no.detail.as_str()), (false, "gone"));
        assert!(feature("x", "y", vec![yes.clone()]).ok);
        assert!(!feature("x", "y", vec![yes, no]).ok);
    }

    #[test]
    fn a_missing_sshd_is_reported_with_its_install_command() {
        let checks = ssh_checks(Path::new("/nonexistent/sshd"));
        assert_eq!(checks[0].name, "sshd");
        assert!(!checks[0].ok);
        assert_eq!(checks[0].detail, "/nonexistent/sshd is missing");
        assert_eq!(checks[0].install, "apt-get install -y openssh-server");
    }
}
