//! Issue 15 (and issue 13 item 22): on a machine without sshd or `ansible-playbook`, `ict run`
//! on the built-in emulator does what does not need them, then ends at once with a summary of
//! what it skipped and how to install it (exit 4); `exec`, `metrics` over SSH and pipelines do
//! the same; against the real cloud, `run` refuses before it changes anything. sshd is hidden
//! with `ICT_SSHD` pointing nowhere, Ansible with a `PATH` that has no `ansible-playbook`.
//! Nothing here starts an sshd, so these tests need no root.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::project;
use crate::reconcile::Cloud;
use crate::test::{root, Outcome, Test};

/// A machine without the prerequisites: no sshd where ict looks for it, nothing on `PATH`.
struct Bare {
    /// An empty folder, the whole `PATH`.
    path: tempfile::TempDir,
}

impl Bare {
    fn new() -> Bare {
        Bare {
            path: tempfile::tempdir().expect("empty PATH folder"),
        }
    }

    fn sshd(&self) -> PathBuf {
        self.path.path().join("no-such-sshd")
    }

    /// `ict ARGS` in `dir` with SSH backing wanted but impossible and no `ansible-playbook`.
    fn ict(&self, dir: &Path, args: &[&str]) -> Outcome {
        Test::new()
            .current_dir(dir)
            .env("ICT_EMULATOR_SSH", "1")
            .env("ICT_SSHD", &self.sshd().display().to_string())
            .env("PATH", &self.path.path().display().to_string())
            .args(args)
            .run()
    }

    /// Runs `ict ARGS`, which must do nothing but skip `step` for lack of sshd, exiting 4.
    #[track_caller]
    fn skips_only(&self, dir: &Path, args: &[&str], step: &str) {
        let out = self.ict(dir, args);
        assert_exit(&out, 4);
        assert_eq!(out.stdout, format!("{HEADER}{}{FOOTER}", self.no_ssh(step)));
    }

    /// The summary line pair for a step skipped for lack of sshd.
    fn no_ssh(&self, step: &str) -> String {
        format!(
            "  {step}: the emulator's servers have no SSH: {} is missing\n    install: apt-get install -y openssh-server\n",
            self.sshd().display()
        )
    }
}

const HEADER: &str = "\nSkipped, because this machine lacks what they need:\n";
const FOOTER: &str =
    "`ict doctor` lists what this machine has; `bash scripts/install.sh` installs it all.\n";
const NO_ANSIBLE: &str =
    "  2 playbooks: ansible-playbook is not on PATH\n    install: python3 -m pip install ansible-core\n";

#[track_caller]
fn assert_exit(out: &Outcome, code: i32) {
    assert_eq!(
        out.status, code,
        "expected exit {code}:\n{}{}",
        out.stdout, out.stderr
    );
}

/// The README's main job on a copy of `examples/`, as on a fresh machine before the install
/// step: the servers are created and measured, SSH and the playbooks are skipped at once.
#[test]
fn run_without_sshd_or_ansible_creates_the_servers_and_skips_the_rest_at_once() {
    let bare = Bare::new();
    let dir = crate::test::TempProject::new();
    super::run::copy_tree(&root().join("examples"), dir.path());

    let started = Instant::now();
    let out = bare.ict(dir.path(), &["run", "quickstart.ict", "--yes"]);
    let took = started.elapsed();

    assert_exit(&out, 4);
    // No 180 s wait for SSH that cannot come up.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(
        out.stdout
            .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed.\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("Waiting for SSH"), "{}", out.stdout);
    assert!(out.stdout.contains("\nLive metrics"), "{}", out.stdout);
    let summary = format!(
        "{HEADER}{}{NO_ANSIBLE}{FOOTER}",
        bare.no_ssh("waiting for SSH, pinning host keys and 2 playbooks")
    );
    assert!(
        out.stdout.ends_with(&summary),
        "the summary ends the output:\n{}",
        out.stdout
    );
    // Said before anything changed, too.
    let notes: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("note: "))
        .collect();
    assert_eq!(
        notes,
        [
            format!(
                "note: waiting for SSH, pinning host keys and 2 playbooks will be skipped: the \
                 emulator's servers have no SSH: {} is missing (install: apt-get install -y \
                 openssh-server)",
                bare.sshd().display()
            ),
            "note: 2 playbooks will be skipped: ansible-playbook is not on PATH (install: \
             python3 -m pip install ansible-core)"
                .to_owned(),
        ],
        "{}",
        out.stderr
    );
}

/// With sshd but no `ansible-playbook`, `ict run` still logs in and pins every host key; only
/// the playbooks are skipped.
#[test]
fn run_without_ansible_pins_host_keys_and_skips_only_the_playbooks() {
    if !super::testable() {
        return;
    }
    let bare = Bare::new();
    let dir = crate::test::TempProject::new();
    super::run::copy_tree(&root().join("examples"), dir.path());
    let out = Test::new()
        .current_dir(dir.path())
        .env("ICT_EMULATOR_SSH", "1")
        .env("PATH", &bare.path.path().display().to_string())
        .args(&["run", "quickstart.ict", "--yes"])
        .run();
    assert_exit(&out, 4);
    assert!(
        out.stdout.contains("\nWaiting for SSH on 4 server(s)…\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with(&format!("{HEADER}{NO_ANSIBLE}{FOOTER}")),
        "{}",
        out.stdout
    );
    let state = Test::new()
        .current_dir(dir.path())
        .args(&["state", "list", "quickstart.ict", "--json"])
        .success();
    let pinned = state.stdout.matches("SHA256:").count();
    assert_eq!(
        pinned, 4,
        "every server's host key is pinned:\n{}",
        state.stdout
    );
}

/// Issue 13 item 22: against the real cloud (here `ict emulator` behind the 1cloud client),
/// `ict run` of a script with playbooks checks for `ansible-playbook` before it creates anything.
#[tokio::test]
async fn run_against_the_cloud_refuses_without_ansible_before_it_changes_anything() {
    let bare = Bare::new();
    let state = crate::test::TempProject::new();
    let cloud = Cloud::start(&state.path().join("cloud.json"), &["--task-delay", "20"]);
    let test = project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         server(\"web-1\", #{ ssh_keys: [k] });\n\
         playbook(\"site.yml\", #{ hosts: \"all\" });\n",
        &[("site.yml", "- hosts: all\n  tasks: []\n")],
    );
    let output = cloud
        .command(test.path(), &["run", "infra.ict", "--yes"])
        .env("PATH", bare.path.path())
        .output()
        .expect("run ict");
    let out = crate::reconcile::outcome(output);
    assert_exit(&out, 1);
    let error = out
        .stderr
        .find("ict::command::no_ansible")
        .map(|at| &out.stderr[at..]);
    assert_eq!(
        error.map(crate::test::unwrapped).as_deref(),
        Some(
            "ict::command::no_ansible × the script declares 1 playbook but ansible-playbook is not \
             on PATH; nothing was changed help: install it with `python3 -m pip install \
             ansible-core`, or change only the cloud with `ict apply`"
        ),
        "{}",
        out.stderr
    );
    assert!(cloud.servers().await.is_empty(), "a server was created");
}

#[test]
fn exec_without_sshd_on_the_emulator_skips_at_once_with_exit_4() {
    let bare = Bare::new();
    let test = project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         for i in 1..=2 { server(`web-${i}`, #{ ssh_keys: [k] }); }\n",
        &[],
    );
    assert_exit(&bare.ict(test.path(), &["apply", "infra.ict", "--yes"]), 0);
    bare.skips_only(
        test.path(),
        &["exec", "infra.ict", "--", "uptime"],
        "`uptime` on 2 servers",
    );
}

#[test]
fn metrics_over_ssh_without_sshd_on_the_emulator_are_skipped_rows_and_exit_4() {
    let bare = Bare::new();
    let test = project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         server(\"web-1\", #{ ssh_keys: [k], metrics: #{ via: \"ssh\" } });\n\
         server(\"web-2\", #{ ssh_keys: [k] });\n",
        &[],
    );
    assert_exit(&bare.ict(test.path(), &["apply", "infra.ict", "--yes"]), 0);
    let out = bare.ict(test.path(), &["metrics", "infra.ict", "--interval", "0"]);
    assert_exit(&out, 4);
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", out.stdout))
            .to_owned()
    };
    // web-1 is scraped over SSH: skipped; web-2 from the emulator's own endpoint.
    assert!(
        row("web-1").ends_with(&format!(
            "skipped: no SSH to the emulator's servers ({} is missing)",
            bare.sshd().display()
        )),
        "{}",
        out.stdout
    );
    assert!(row("web-2").ends_with(" -"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with(&format!(
            "{HEADER}{}{FOOTER}",
            bare.no_ssh("scraping 1 server over SSH")
        )),
        "{}",
        out.stdout
    );
    // With --json the summary goes to standard error: standard output stays JSON.
    let json = bare.ict(
        test.path(),
        &["metrics", "infra.ict", "--interval", "0", "--json"],
    );
    assert_exit(&json, 4);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON rows");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{}", json.stdout);
    assert!(json.stderr.contains(HEADER), "{}", json.stderr);
}

#[test]
fn pipeline_run_without_sshd_on_the_emulator_skips_at_once_with_exit_4() {
    let bare = Bare::new();
    let test = project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         server(\"web-1\", #{ ssh_keys: [k] });\n\
         pipeline(\"hello\", #{ repo: \"file:///nonexistent.git\", preset: \"python\",\n\
             environments: #{ dev: #{ refs: [\"main\"], hosts: \"web-1\" } } });\n",
        &[],
    );
    bare.skips_only(
        test.path(),
        &["pipeline", "run", "infra.ict", "hello"],
        "pipeline `hello`",
    );
}

/// Issue 13 item 22: the inventory warns about a server that has no address yet.
#[test]
fn inventory_warns_for_a_host_with_no_address_yet() {
    let test = project("server(\"web-1\");\nserver(\"web-2\");\n", &[]);
    let out = test.args(&["inventory", "infra.ict"]).success();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: `web-1` has no address yet (`ict apply` gives it one): Ansible cannot reach it",
            "warning: `web-2` has no address yet (`ict apply` gives it one): Ansible cannot reach it",
        ]
    );
}

/// Issue 16: without root the emulator cannot isolate its servers, so it says so and runs
/// them API-only (no SSH) — it never runs them unisolated on this computer.
#[test]
fn without_root_the_servers_are_api_only_and_exec_says_why_with_exit_4() {
    if !rustix::process::geteuid().is_root() {
        return; // the test drops to `nobody`, which takes root
    }
    let test = project(
        "let k = ssh_key(\"deploy\", #{ public_key_file: \"keys/deploy.pub\" });\n\
         for i in 1..=2 { server(`web-${i}`, #{ ssh_keys: [k] }); }\n",
        &[],
    );
    let dir = test.path();
    open_to_everyone(dir);
    let as_nobody = |args: &[&str]| {
        let ict = Test::new()
            .current_dir(dir)
            .env("ICT_EMULATOR_SSH", "1")
            .env("HOME", &dir.display().to_string())
            .args(args)
            .command();
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(ict.get_program())
            .args(ict.get_args())
            .current_dir(dir);
        for (key, value) in ict.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        crate::reconcile::outcome(command.output().expect("setpriv runs"))
    };
    assert_exit(&as_nobody(&["apply", "infra.ict", "--yes"]), 0);
    let out = as_nobody(&["exec", "infra.ict", "--", "uptime"]);
    assert_exit(&out, 4);
    assert_eq!(
        out.stdout,
        format!(
            "{HEADER}  `uptime` on 2 servers: the emulator's servers have no SSH: isolating \
             each server and listening on port 22 of its IP need root\n    install: run ict as \
             root\n{FOOTER}"
        )
    );
}

/// Lets any user read and write `dir` and everything in it.
fn open_to_everyone(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path| {
        let bits = if path.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits)).expect("chmod");
    };
    mode(dir);
    for entry in std::fs::read_dir(dir).expect("project").flatten() {
        if entry.path().is_dir() {
            open_to_everyone(&entry.path());
        } else {
            mode(&entry.path());
        }
    }
}
