//! `ict run` on the README's quickstart: servers on the emulator, playbooks that write a file on
//! every host (each in its own machine, none on this computer), and a second run that changes
//! nothing, in the cloud or on the hosts; then the README's tour, command by command.

use super::{exec_lines, ict_code, testable};

/// The README's first command, `ict run examples/quickstart.ict --yes`, on a copy of
/// `examples/`: it creates the servers and runs both playbooks, each host gets its file (with
/// the playbook's and the host's variables) on its own machine, never on this
/// computer, and the live metrics of every server close the run. A second run changes nothing,
/// in the cloud or on the hosts, and no private work folder is left.
#[test]
fn the_readme_quickstart_runs_and_a_second_run_changes_nothing() {
    if !testable() {
        return;
    }
    let dir = crate::test::TempProject::new();
    copy_tree(&crate::test::root().join("examples"), dir.path());

    let first = ict_code(dir.path(), true, &["run", "quickstart.ict", "--yes"], 0);
    assert!(
        first.stdout.contains("Apply complete! Resources: 6 added"),
        "{}",
        first.stdout
    );
    for playbook in ["db", "web"] {
        let recap = first
            .stdout
            .split_once(&format!("Recap of playbook {playbook}:\n"))
            .unwrap_or_else(|| panic!("no recap of {playbook}:\n{}", first.stdout))
            .1;
        assert!(
            recap
                .lines()
                .next()
                .unwrap_or_default()
                .contains("ok=1 changed=1"),
            "{recap}"
        );
    }
    let read = ict_code(
        dir.path(),
        true,
        &[
            "exec",
            "quickstart.ict",
            "--",
            "cat /tmp/ict-quickstart-*.txt",
        ],
        0,
    );
    let mut lines = exec_lines(&read.stdout);
    lines.sort();
    let db_host = lines
        .iter()
        .find_map(|(_, text)| text.strip_prefix("hello from ict on web-1, database at "))
        .unwrap_or_else(|| panic!("{}", read.stdout));
    assert!(db_host.parse::<std::net::Ipv4Addr>().is_ok(), "{db_host}");
    let expected: Vec<(String, String)> = [
        ("db-1", "database db-1".to_owned()),
        (
            "web-1",
            format!("hello from ict on web-1, database at {db_host}"),
        ),
        (
            "web-2",
            format!("hello from ict on web-2, database at {db_host}"),
        ),
        (
            "web-3",
            format!("hello from ict on web-3, database at {db_host}"),
        ),
    ]
    .into_iter()
    .map(|(host, text)| (host.to_owned(), text))
    .collect();
    assert_eq!(lines, expected, "{}", read.stdout);
    for host in ["db", "web-1", "web-2", "web-3"] {
        let file = format!("/tmp/ict-quickstart-{host}.txt");
        assert!(
            !std::path::Path::new(&file).exists(),
            "{file} on this computer"
        );
    }

    let second = ict_code(dir.path(), true, &["run", "quickstart.ict", "--yes"], 0);
    assert!(second.stdout.contains("No changes"), "{}", second.stdout);
    let recaps: Vec<&str> = second
        .stdout
        .lines()
        // ict's recaps, one line per host and playbook (Ansible's own are not indented).
        .filter(|l| l.starts_with("  ") && l.contains(" changed="))
        .collect();
    assert!(
        recaps.len() == 4
            && recaps
                .iter()
                .all(|l| l.contains("ok=1") && l.contains("changed=0") && l.contains("failed=0")),
        "{recaps:?}\n{}",
        second.stdout
    );
    // The last step: every server's live metrics, scraped from its node_exporter.
    let (_, table) = second
        .stdout
        .split_once("Live metrics")
        .unwrap_or_else(|| panic!("no live metrics:\n{}", second.stdout));
    for host in ["db-1", "web-1", "web-2", "web-3"] {
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
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join(".ict/dev"))
        .expect("state folder")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ansible-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
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
