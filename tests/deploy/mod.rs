//! Issue 5's acceptance: `ict run`, `ict inventory`, `ict exec` and `ict power` against the
//! built-in emulator with SSH backing (a real sshd per server on its loopback IP) and real
//! ansible-core. Each test works in its own temporary folder, and its emulator's servers on a
//! loopback block of their own (hashed from the folder, like the built-in emulator's), so the
//! tests that start sshds run in parallel like the others. Needs root, openssh-server and ansible-playbook: skipped with a message otherwise,
//! except under `CI=true`, where they must run.

mod crash;
mod doctor;
mod exec;
mod forget_host_key;
mod host_key;
mod inventory;
mod isolation;
mod metrics;
mod playbooks;
mod power;
mod prerequisites;
mod run;
mod secrets;
mod stdlib;
mod template;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::reconcile::{outcome, TOKEN};
use crate::test::{root, Outcome, Test};

/// Whether this machine can run these tests; panics under `CI=true` if not.
#[allow(
    clippy::print_stderr,
    reason = "a skipped test says why in the test output"
)]
pub fn testable() -> bool {
    // Asked once per test run: each start of Ansible's Python costs half a second of CPU.
    static ANSIBLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ansible = || {
        *ANSIBLE.get_or_init(|| {
            Command::new("ansible-playbook")
                .env("PATH", crate::test::path())
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    };
    let reason = if !Path::new("/usr/sbin/sshd").is_file() {
        Some("/usr/sbin/sshd is missing (apt-get install openssh-server)")
    } else if !rustix::process::geteuid().is_root() {
        Some("not running as root (sshd must bind port 22)")
    } else if !ansible() {
        Some("ansible-playbook is missing (pip install ansible-core)")
    } else {
        None
    };
    match reason {
        None => true,
        Some(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true, but the deploy tests cannot run: {reason}")
        }
        Some(reason) => {
            eprintln!("skipped: deploy test: {reason}");
            false
        }
    }
}

/// A project folder: `infra.ict` plus the example deploy key pair (`keys/deploy{,.pub}`) and
/// any other files given.
pub fn project(script: &str, files: &[(&str, &str)]) -> Test {
    let keys = root().join("examples/keys");
    let read = |name: &str| std::fs::read_to_string(keys.join(name)).expect("example key");
    let mut test = Test::new()
        .write("infra.ict", script)
        .write("keys/deploy", &read("deploy"))
        .write("keys/deploy.pub", &read("deploy.pub"));
    for (path, text) in files {
        test = test.write(path, text);
    }
    test
}

/// Runs `ict ARGS` in `dir` with SSH backing on (`ssh`) or off.
pub fn ict(dir: &Path, ssh: bool, args: &[&str]) -> Outcome {
    Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_SSH", if ssh { "1" } else { "0" })
        .args(args)
        .run()
}

/// Runs `ict ARGS` and asserts it exits with `code`.
#[track_caller]
pub fn ict_code(dir: &Path, ssh: bool, args: &[&str], code: i32) -> Outcome {
    let out = ict(dir, ssh, args);
    check_code(dir, args, code, &out);
    out
}

/// An emulator with SSH backing, in this test process, serving the project in `dir` (its
/// account where the built-in emulator keeps it, `.ict/emulator.json`) while it lives, so that
/// the servers keep running between commands (as with the project's emulator daemon); `ict`
/// reaches it as "the 1cloud API" ([`SshEmulator::command`], [`cloud_ict`]). Its servers get
/// addresses of their own, chosen from the folder, so that emulators of other test runs on this
/// machine do not answer for them. Stopped (with its servers' machines) on drop.
pub struct SshEmulator {
    pub url: String,
    handle: Option<ict::emulator::EmulatorHandle>,
    runtime: tokio::runtime::Runtime,
}

impl SshEmulator {
    /// `ict ARGS` in `dir` against this emulator, not started yet.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = crate::reconcile::base_command(dir, args);
        command
            .env("ONECLOUD_API_URL", &self.url)
            .env("ONECLOUD_TOKEN", TOKEN);
        command
    }
}

impl Drop for SshEmulator {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = self.runtime.block_on(handle.shutdown());
        }
    }
}

pub fn emulator_with_ssh(dir: &Path) -> SshEmulator {
    std::fs::create_dir_all(dir.join(".ict")).expect("state folder");
    // Its log goes where the project's emulator daemon keeps its own, for [`cloud_ict`] to show.
    let log = std::fs::File::create(dir.join(".ict/emulator.log")).expect("emulator log");
    let log: tracing::Dispatch = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(log))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish()
        .into();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || {
            // For the thread's whole life.
            std::mem::forget(tracing::dispatcher::set_default(&log));
        })
        .build()
        .expect("runtime");
    let handle = runtime
        .block_on(ict::emulator::spawn(ict::emulator::EmulatorConfig {
            state_file: Some(dir.join(".ict/emulator.json")),
            token: Some(TOKEN.to_owned()),
            task_delay: std::time::Duration::from_millis(20),
            tick: std::time::Duration::from_millis(10),
            ssh_backing: true,
            ip_base: Some(crate::support::ips::ip_base()),
            ..ict::emulator::EmulatorConfig::default()
        }))
        .expect("the emulator starts");
    SshEmulator {
        url: handle.base_url(),
        handle: Some(handle),
        runtime,
    }
}

/// Runs `ict ARGS` in `dir` against `emulator` and asserts it exits with `code`.
#[track_caller]
pub fn cloud_ict(emulator: &SshEmulator, dir: &Path, args: &[&str], code: i32) -> Outcome {
    let out = outcome(emulator.command(dir, args).output().expect("run ict"));
    check_code(dir, args, code, &out);
    out
}

/// Panics unless `out` exited with `code`, showing the project's emulator log (a rare failure
/// is explained there).
#[track_caller]
fn check_code(dir: &Path, args: &[&str], code: i32, out: &Outcome) {
    if out.status != code {
        let log = std::fs::read_to_string(dir.join(".ict/emulator.log")).unwrap_or_default();
        panic!(
            "ict {args:?} should exit with {code}, not {}:\n{}{}\n.ict/emulator.log:\n{log}",
            out.status, out.stdout, out.stderr
        );
    }
}

/// A fresh folder for playbooks to write into on the servers (each server sees this computer's
/// files beneath its own layer, so the path is free there too), removed on drop.
pub fn output_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ict-test-")
        .tempdir_in("/tmp")
        .expect("output dir")
}

/// Public IPs by server name, from `ict inventory --list`.
pub fn ips(dir: &Path) -> Vec<(String, String)> {
    let out = ict_code(dir, false, &["inventory", "--list", "infra.ict"], 0);
    ips_in(&out.stdout)
}

/// Public IPs by server name, from the output of `ict inventory --list`.
pub fn ips_in(inventory: &str) -> Vec<(String, String)> {
    let json: serde_json::Value = serde_json::from_str(inventory).expect("inventory JSON");
    json["_meta"]["hostvars"]
        .as_object()
        .expect("hostvars")
        .iter()
        .map(|(name, vars)| {
            let ip = vars["ansible_host"].as_str().expect("ansible_host");
            (name.clone(), ip.to_owned())
        })
        .collect()
}

/// The emulator folder of server `name` (host key, `sshd_config`), found by the comment the
/// emulator writes at the top of each `sshd_config`.
pub fn server_dir(dir: &Path, name: &str) -> PathBuf {
    find_server_dir(dir, name).unwrap_or_else(|| {
        panic!(
            "no emulator folder for {name} in {}",
            dir.join(".ict/emulator/servers").display()
        )
    })
}

/// [`server_dir`], or `None` while server `name`'s machine has not written its `sshd_config`.
pub fn find_server_dir(dir: &Path, name: &str) -> Option<PathBuf> {
    let tag = format!("({name})");
    std::fs::read_dir(dir.join(".ict/emulator/servers"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p.join("sshd_config"))
                .is_ok_and(|t| t.lines().next().is_some_and(|l| l.contains(&tag)))
        })
}

/// What `command` prints on server `host` (run with `ict exec`, which must succeed), a `\n`
/// after each line.
#[track_caller]
pub fn exec_on(dir: &Path, script: &str, host: &str, command: &str) -> String {
    let out = ict_code(dir, true, &["exec", script, "-l", host, "--", command], 0);
    exec_lines(&out.stdout)
        .into_iter()
        .filter(|(name, _)| name == host)
        .fold(String::new(), |mut all, (_, text)| {
            all.push_str(&text);
            all.push('\n');
            all
        })
}

/// Server `name`'s root filesystem as its running machine sees it (`/proc/<init>/root`), to
/// read its files from this computer while the emulator that runs it is up.
#[track_caller]
pub fn machine_root(dir: &Path, name: &str) -> PathBuf {
    running_root(dir, name).unwrap_or_else(|| panic!("{name}'s machine is not running"))
}

/// [`machine_root`], or `None` while the server's machine is not running.
pub fn running_root(dir: &Path, name: &str) -> Option<PathBuf> {
    let file = server_dir(dir, name).join(ict::emulator::machine::PID_FILE);
    let pid = std::fs::read_to_string(file).ok()?;
    Some(PathBuf::from(format!("/proc/{}/root", pid.trim())))
}

/// Lines `name | text` of `ict exec` output, as (name, text).
pub fn exec_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .map(|(name, text)| (name.trim().to_owned(), text.to_owned()))
        .collect()
}
