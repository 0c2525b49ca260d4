//! Issue 16's acceptance: a playbook run by `ict run` on three emulated servers writes into
//! each server's own root filesystem — a file in `/etc`, a user, a program in `/usr/local/bin`
//! — and nothing of it reaches this computer; each server has its own hostname.

use std::path::Path;

use super::{exec_lines, ict_code, project, testable};
use crate::emulator::machine::assert_no_user;

const PLAYBOOK: &str = r##"
- name: Make each server a little different
  hosts: all
  gather_facts: false
  tasks:
    - name: Write a probe in /etc
      ansible.builtin.copy:
        dest: /etc/ict-probe
        content: "probe of {{ inventory_hostname }}\n"
        mode: "0644"
    - name: Add a user
      ansible.builtin.user:
        name: ictisolated
        create_home: false
    - name: Install a program
      ansible.builtin.copy:
        dest: /usr/local/bin/ict-isolated-hello
        content: "#!/bin/sh\necho hello from $(hostname)\n"
        mode: "0755"
"##;

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
for i in 1..=3 { server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }); }
playbook("playbooks/probe.yml", #{ hosts: "all" });
"#;

const WRITTEN: [&str; 2] = ["/etc/ict-probe", "/usr/local/bin/ict-isolated-hello"];

/// `ict exec infra.ict -- COMMAND` on every server, its lines sorted by host (each host's in
/// the order printed).
fn on_every_server(dir: &Path, command: &str) -> Vec<(String, String)> {
    let out = ict_code(dir, true, &["exec", "infra.ict", "--", command], 0);
    let mut lines = exec_lines(&out.stdout);
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    lines
}

fn lines(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(host, text)| ((*host).to_owned(), (*text).to_owned()))
        .collect()
}

#[test]
fn a_playbook_writes_each_server_and_never_this_computer() {
    if !testable() {
        return;
    }
    for path in WRITTEN {
        assert!(
            !Path::new(path).exists(),
            "{path} is already on this computer"
        );
    }
    let test = project(SCRIPT, &[("playbooks/probe.yml", PLAYBOOK)]);
    let dir = test.path();
    let run = ict_code(dir, true, &["run", "infra.ict", "--yes", "--no-metrics"], 0);
    assert!(
        run.stdout.contains("Recap of playbook probe:"),
        "{}",
        run.stdout
    );

    // What each server has: its probe, its hostname, its user and its program.
    assert_eq!(
        on_every_server(
            dir,
            "cat /etc/ict-probe && hostname && id -un ictisolated && ict-isolated-hello"
        ),
        lines(&[
            ("web-1", "probe of web-1"),
            ("web-1", "web-1"),
            ("web-1", "ictisolated"),
            ("web-1", "hello from web-1"),
            ("web-2", "probe of web-2"),
            ("web-2", "web-2"),
            ("web-2", "ictisolated"),
            ("web-2", "hello from web-2"),
            ("web-3", "probe of web-3"),
            ("web-3", "web-3"),
            ("web-3", "ictisolated"),
            ("web-3", "hello from web-3")
        ])
    );
    for path in WRITTEN {
        assert!(
            !Path::new(path).exists(),
            "{path} was written on this computer"
        );
    }
    assert_no_user("ictisolated");
}
