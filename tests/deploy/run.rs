//! `ict run`: servers on the emulator, a playbook that writes a file on every host (each in its
//! own machine, none on this computer), and a second run that changes nothing, in the cloud or
//! on the hosts.

use super::{exec_on, ict_code, output_dir, project, testable};

const PLAYBOOK: &str = r#"
- name: Write a file per host
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the file
      ansible.builtin.copy:
        dest: "{{ out_dir }}/{{ inventory_hostname }}"
        content: "{{ word }} {{ greeting | default('none') }} {{ inventory_hostname }} {{ index | default(0) }}\n"
        mode: "0644"
"#;

fn script(out: &str, word: &str) -> String {
    format!(
        r#"let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
let web = group("web", #{{ vars: #{{ greeting: "hello" }} }});
for i in 1..=3 {{
    server(`web-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 20, groups: [web], ssh_keys: [k], vars: #{{ index: i }} }});
}}
server("db-1", #{{ cpu: 1, ram: 1024, disk: 20, groups: [group("db")], ssh_keys: [k] }});
playbook("playbooks/write.yml", #{{ hosts: "all", vars: #{{ out_dir: "{out}", word: "{word}" }} }});
"#
    )
}

#[test]
fn run_creates_servers_configures_every_host_and_a_second_run_changes_nothing() {
    if !testable() {
        return;
    }
    let out_dir = output_dir();
    let out = out_dir.path().display().to_string();
    let word = format!("w{}", std::process::id());
    let test = project(&script(&out, &word), &[("playbooks/write.yml", PLAYBOOK)]);

    let first = ict_code(test.path(), true, &["run", "infra.ict", "--yes"], 0);
    assert!(first.stdout.contains("5 added"), "{}", first.stdout);
    for (host, expected) in [
        ("web-1", format!("{word} hello web-1 1\n")),
        ("web-2", format!("{word} hello web-2 2\n")),
        ("web-3", format!("{word} hello web-3 3\n")),
        ("db-1", format!("{word} none db-1 0\n")),
    ] {
        let text = exec_on(test.path(), "infra.ict", host, &format!("cat {out}/*"));
        assert_eq!(text, expected, "{host}");
    }
    assert_eq!(
        std::fs::read_dir(out_dir.path())
            .expect("output folder")
            .count(),
        0,
        "nothing was written on this computer"
    );
    let recap = |stdout: &str, host: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{host} ")) && l.contains("changed="))
            .unwrap_or_else(|| panic!("no recap line for {host}:\n{stdout}"))
            .to_owned()
    };
    assert!(recap(&first.stdout, "web-1").contains("changed=1"));

    let second = ict_code(test.path(), true, &["run", "infra.ict", "--yes"], 0);
    assert!(second.stdout.contains("No changes"), "{}", second.stdout);
    for host in ["web-1", "web-2", "web-3", "db-1"] {
        let line = recap(&second.stdout, host);
        assert!(
            line.contains("ok=1") && line.contains("changed=0") && line.contains("failed=0"),
            "{line}\n{}",
            second.stdout
        );
    }
    // The last step: every server's live metrics, scraped from its node_exporter.
    let (_, table) = second
        .stdout
        .split_once("Live metrics")
        .unwrap_or_else(|| panic!("no live metrics:\n{}", second.stdout));
    for host in ["web-1", "web-2", "web-3", "db-1"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("{host} ")))
            .unwrap_or_else(|| panic!("no metrics row for {host}:\n{table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cells[1].parse::<f64>().is_ok() && cells.last() == Some(&"-"),
            "CPU% and no error: {row}"
        );
    }
    // The private work folder (inventory, secrets, key copy) is gone.
    let leftovers: Vec<_> = std::fs::read_dir(test.path().join(".ict/dev"))
        .expect("state folder")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ansible-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The README's first command, `ict run examples/quickstart.ict --yes`, on a copy of
/// `examples/`: it creates the servers and runs both playbooks; a second run changes nothing.
#[test]
fn the_readme_quickstart_runs_and_a_second_run_changes_nothing() {
    if !testable() {
        return;
    }
    let dir = crate::test::TempProject::new();
    copy_tree(&crate::test::root().join("examples"), dir.path());
    let written: Vec<String> = (1..=3)
        .map(|i| format!("/tmp/ict-quickstart-web-{i}.txt"))
        .chain(["/tmp/ict-quickstart-db.txt".to_owned()])
        .collect();

    let first = ict_code(dir.path(), true, &["run", "quickstart.ict", "--yes"], 0);
    assert!(first.stdout.contains("Apply complete!"), "{}", first.stdout);
    assert!(
        first.stdout.contains("Recap of playbook db:")
            && first.stdout.contains("Recap of playbook web:"),
        "{}",
        first.stdout
    );
    // Each on its own server (`isolation.rs` checks that such files never reach this computer).
    for (host, file) in ["web-1", "web-2", "web-3", "db-1"].iter().zip(&written) {
        let text = exec_on(dir.path(), "quickstart.ict", host, &format!("cat {file}"));
        assert!(text.contains(host), "{host}: {text}\n{}", first.stdout);
    }
    let second = ict_code(dir.path(), true, &["run", "quickstart.ict", "--yes"], 0);
    assert!(second.stdout.contains("No changes"), "{}", second.stdout);
    let changed: Vec<&str> = second
        .stdout
        .lines()
        .filter(|l| l.contains("changed=") && !l.contains("changed=0"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}\n{}", second.stdout);
}

/// The README's tour of the commands, line by line, on a copy of `examples/` (the test answers
/// `apply` and `destroy` with `--yes`, as it has no terminal).
#[test]
fn the_readme_tour_runs_command_by_command() {
    if !testable() {
        return;
    }
    let readme = std::fs::read_to_string(crate::test::root().join("README.md")).expect("README");
    let (_, tour) = readme
        .split_once("```sh\nict check examples/quickstart.ict")
        .expect("the tour block");
    let tour = format!("ict check examples/quickstart.ict{tour}");
    let (tour, _) = tour.split_once("```").expect("the block's end");
    let dir = crate::test::TempProject::new();
    std::fs::create_dir(dir.path().join("examples")).expect("mkdir");
    copy_tree(
        &crate::test::root().join("examples"),
        &dir.path().join("examples"),
    );
    let mut ran = Vec::new();
    for line in tour.lines() {
        let command = line.split_once(" # ").map_or(line, |(c, _)| c).trim();
        let Some(args) = command.strip_prefix("ict ") else {
            continue;
        };
        let mut args: Vec<&str> = args.split_whitespace().collect();
        if matches!(args[0], "apply" | "destroy") {
            args.push("--yes");
        }
        let out = ict_code(dir.path(), true, &args, 0);
        match args[0] {
            "exec" => assert_eq!(
                out.stdout.matches("load average").count(),
                3,
                "{}",
                out.stdout
            ),
            "metrics" => assert_eq!(out.stdout.lines().count(), 5, "{}", out.stdout),
            "state" => assert!(out.stdout.contains("server.db-1"), "{}", out.stdout),
            "destroy" => assert!(out.stdout.contains("3 destroyed"), "{}", out.stdout),
            _ => {}
        }
        ran.push(args[0]);
    }
    assert_eq!(
        ran,
        [
            "check",
            "graph",
            "plan",
            "apply",
            "exec",
            "inventory",
            "metrics",
            "state",
            "destroy"
        ]
    );
}

/// Copies a folder tree (files and folders only), leaving out ict's own `.ict` folders.
pub(super) fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from)
        .expect("read folder")
        .filter_map(Result::ok)
    {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == ".ict" {
            continue;
        }
        if source.is_dir() {
            std::fs::create_dir_all(&target).expect("create folder");
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copy file");
        }
    }
}
