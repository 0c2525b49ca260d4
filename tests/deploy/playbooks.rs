//! Issue 23: `ict run` runs all its playbooks in one `ansible-playbook` (unless one is
//! `separate`), each still with its own hosts, vars and recap; Ansible's settings are ict's
//! where the user's own `ansible.cfg` leaves them open, with Mitogen unless
//! `ICT_ANSIBLE_MITOGEN=0`.

use std::path::Path;

use super::{project, testable};
use crate::test::{Outcome, Test};

/// Writes a file per host (changed on the first run only).
const WRITE: &str = r#"
- name: Write
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the file
      ansible.builtin.copy:
        dest: "/tmp/ict-playbooks-{{ word }}-{{ inventory_hostname }}"
        content: "{{ word }}\n"
        mode: "0644"
"#;

/// Changes nothing, and reports the settings the run uses: the strategy (Mitogen's or
/// Ansible's), Mitogen's SSH compression, the fact gathering and pipelining.
const LOOK: &str = r#"
- name: Look
  hosts: all
  gather_facts: false
  tasks:
    - name: Show the settings
      ansible.builtin.debug:
        msg: "strategy={{ lookup('ansible.builtin.config', 'DEFAULT_STRATEGY') }} compression={{ mitogen_ssh_compression }} gathering={{ lookup('ansible.builtin.config', 'DEFAULT_GATHERING') }} pipelining={{ lookup('ansible.builtin.config', 'pipelining', plugin_type='connection', plugin_name='ssh') }}"
"#;

fn script(separate: bool) -> String {
    format!(
        r#"let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
let web = group("web");
for i in 1..=2 {{
    server(`web-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 20, groups: [web], ssh_keys: [k] }});
}}
server("db-1", #{{ cpu: 1, ram: 1024, disk: 20, groups: [group("db")], ssh_keys: [k] }});
playbook("playbooks/write.yml", #{{ hosts: "web", vars: #{{ word: "web" }} }});
playbook("playbooks/look.yml", #{{ hosts: "all" }});
playbook("playbooks/write.yml", #{{ hosts: "db", vars: #{{ word: "db" }}, separate: {separate} }});
"#
    )
}

/// A project whose `ansible-playbook` (first on `PATH`) logs each time it starts to
/// `ansible-runs.log`, then runs the real one.
fn counted(script: &str, files: &[(&str, &str)]) -> Test {
    let test = project(script, files);
    let real = std::env::split_paths(crate::test::path())
        .map(|dir| dir.join("ansible-playbook"))
        .find(|p| p.is_file())
        .expect("ansible-playbook on PATH");
    let log = test.path().join("ansible-runs.log");
    let shim = format!(
        "#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.display()
    );
    let test = test.write("bin/ansible-playbook", &shim);
    let bin = test.path().join("bin/ansible-playbook");
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    test
}

/// `ict run infra.ict --yes` in `dir` with the counting `ansible-playbook` first on `PATH`;
/// asserts it succeeds and returns how many `ansible-playbook` processes it started.
fn run(dir: &Path) -> (Outcome, usize) {
    run_with(dir, &[])
}

/// [`run`] with more environment variables.
fn run_with(dir: &Path, vars: &[(&str, &str)]) -> (Outcome, usize) {
    let log = dir.join("ansible-runs.log");
    let _ = std::fs::remove_file(&log);
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        crate::test::path().to_string_lossy()
    );
    let mut test = Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_SSH", "1")
        .env("PATH", &path);
    for (name, value) in vars {
        test = test.env(name, value);
    }
    let out = test
        .args(&["run", "infra.ict", "--yes", "--no-metrics"])
        .run();
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let started = std::fs::read_to_string(&log).unwrap_or_default();
    (out, started.lines().count())
}

/// ict's recaps: each `Recap of playbook` line with the host lines under it.
fn recaps(stdout: &str) -> String {
    let mut recaps = String::new();
    let mut inside = false;
    for line in stdout.lines() {
        inside = line.starts_with("Recap of playbook") || (inside && line.starts_with("  "));
        if inside {
            recaps.push_str(line);
            recaps.push('\n');
        }
    }
    recaps
}

/// The settings line the `look` playbook prints, once per host.
fn settings(strategy: &str, gathering: &str) -> String {
    format!(
        "\"msg\": \"strategy={strategy} compression=False gathering={gathering} pipelining=True\""
    )
}

/// One `ansible-playbook` for three playbooks, each with its own recap, run with ict's Ansible
/// settings and Mitogen where it is installed; then, with the last playbook `separate`, two
/// `ansible-playbook`s, run under `ICT_ANSIBLE_MITOGEN=0` by plain Ansible, where a setting of
/// the user's `ansible.cfg` wins over ict's while ict's others still hold.
#[test]
fn playbooks_run_in_one_ansible_playbook_each_with_its_recap_and_icts_settings_unless_the_user_says_otherwise(
) {
    if !testable() {
        return;
    }
    let test = counted(
        &script(false),
        &[("playbooks/write.yml", WRITE), ("playbooks/look.yml", LOOK)],
    );
    let strategy = if mitogen_installed() {
        "mitogen_linear"
    } else {
        "linear"
    };
    let (first, started) = run(test.path());
    assert_eq!(started, 1, "one ansible-playbook for three playbooks");
    assert!(
        first
            .stdout
            .contains("\nPlaybooks write on `web`, look on `all`, write-db on `db`\n"),
        "{}",
        first.stdout
    );
    assert_eq!(
        first.stdout.matches(&settings(strategy, "smart")).count(),
        3,
        "ict's settings on each host:\n{}",
        first.stdout
    );
    assert_eq!(
        recaps(&first.stdout),
        "\
Recap of playbook write:
  web-1  ok=1 changed=1 unreachable=0 failed=0 skipped=0
  web-2  ok=1 changed=1 unreachable=0 failed=0 skipped=0
Recap of playbook look:
  db-1   ok=1 changed=0 unreachable=0 failed=0 skipped=0
  web-1  ok=1 changed=0 unreachable=0 failed=0 skipped=0
  web-2  ok=1 changed=0 unreachable=0 failed=0 skipped=0
Recap of playbook write-db:
  db-1  ok=1 changed=1 unreachable=0 failed=0 skipped=0
"
    );

    // The last one on its own: two ansible-playbook processes, the same recaps (nothing to do);
    // plain Ansible, with the user's fact gathering and ict's pipelining.
    std::fs::write(test.path().join("infra.ict"), script(true)).expect("write");
    std::fs::write(
        test.path().join("ansible.cfg"),
        "[defaults]\ngathering = explicit\n",
    )
    .expect("write");
    let (second, started) = run_with(test.path(), &[("ICT_ANSIBLE_MITOGEN", "0")]);
    assert_eq!(started, 2, "{}", second.stdout);
    assert!(
        second
            .stdout
            .contains("\nPlaybooks write on `web`, look on `all`\n")
            && second.stdout.contains("\nPlaybook write-db on `db`\n"),
        "{}",
        second.stdout
    );
    assert_eq!(
        second
            .stdout
            .matches(&settings("linear", "explicit"))
            .count(),
        3,
        "plain Ansible, the user's gathering, ict's pipelining:\n{}",
        second.stdout
    );
    assert_eq!(
        recaps(&second.stdout),
        recaps(&first.stdout).replace("changed=1", "changed=0")
    );
}

/// Whether `ict doctor` finds Mitogen for the `ansible-playbook` on `PATH`; under `CI=true`
/// it must (scripts/install.sh installs it), so that both of ict's ways of running Ansible are
/// tested there.
fn mitogen_installed() -> bool {
    let doctor = Test::new().args(&["doctor", "--json"]).success();
    let json: serde_json::Value = serde_json::from_str(&doctor.stdout).expect("JSON");
    let installed = json["features"]
        .as_array()
        .expect("features")
        .iter()
        .any(|f| f["name"] == "mitogen" && f["ok"] == true);
    assert!(
        installed || !std::env::var("CI").is_ok_and(|v| v == "true"),
        "CI=true, but Mitogen is not installed for ansible-playbook (bash scripts/install.sh)"
    );
    installed
}
