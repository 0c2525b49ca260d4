//! `ict exec` on 20 servers: every host's output and exit code, `--json`, `--group-output`, and `-l`
//! patterns (a group, a glob, an exclusion).

use std::collections::BTreeMap;
use std::path::Path;

use super::{exec_lines, ict_code, ips, project, testable};

/// `web-1`..`web-12` (only the first 6 in group `web`) and `db-1`..`db-8`.
const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
let web = group("web");
let other = group("other");
let db = group("db");
for i in 1..=12 {
    server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 20, groups: [if i <= 6 { web } else { other }], ssh_keys: [k] });
}
for i in 1..=8 {
    server(`db-${i}`, #{ cpu: 1, ram: 1024, disk: 20, groups: [db], ssh_keys: [k] });
}
"#;

/// Prints the server IP the SSH connection arrived at (each server has its own).
const WHERE: &str = r#"echo "at $(echo $SSH_CONNECTION | cut -d' ' -f3)""#;

fn names(prefix: &str, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

/// Host names that printed a line, sorted.
fn hosts_in(stdout: &str) -> Vec<String> {
    let mut hosts: Vec<String> = exec_lines(stdout).into_iter().map(|(n, _)| n).collect();
    hosts.sort();
    hosts
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn exec(dir: &Path, limit: &str, command: &str, code: i32) -> String {
    ict_code(
        dir,
        true,
        &["exec", "infra.ict", "-l", limit, "--", command],
        code,
    )
    .stdout
}

#[test]
fn exec_on_twenty_servers_returns_every_output_and_exit_code() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    let ips: BTreeMap<String, String> = ips(dir).into_iter().collect();
    assert_eq!(ips.len(), 20);

    // Every host answers from its own address.
    let out = exec(dir, "all", WHERE, 0);
    let lines: BTreeMap<String, String> = exec_lines(&out).into_iter().collect();
    assert_eq!(lines.len(), 20, "{out}");
    for (name, ip) in &ips {
        assert_eq!(lines.get(name), Some(&format!("at {ip}")), "{name}:\n{out}");
    }
    let recap = out.split("\nRecap:\n").nth(1).expect("recap");
    assert_eq!(
        recap.lines().filter(|l| l.contains(" ok (")).count(),
        20,
        "{out}"
    );

    // One host's command fails: exit 3, its exit code in the recap, the others fine.
    let failing = format!(
        "{WHERE}; [ \"$(echo $SSH_CONNECTION | cut -d' ' -f3)\" != \"{}\" ] || exit 7",
        ips["web-3"]
    );
    let out = exec(dir, "all", &failing, 3);
    assert_eq!(exec_lines(&out).len(), 20, "{out}");
    let recap = out.split("\nRecap:\n").nth(1).expect("recap");
    let bad: Vec<&str> = recap
        .lines()
        .filter(|l| !l.contains(" ok ("))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(bad.len(), 1, "{out}");
    assert!(
        bad[0].trim_start().starts_with("web-3 ") && bad[0].ends_with("exit 7"),
        "{out}"
    );

    // The same as JSON: one object per host, with its output and exit status.
    let out = ict_code(
        dir,
        true,
        &["exec", "infra.ict", "-l", "all", "--json", "--", &failing],
        3,
    )
    .stdout;
    let rows: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 20, "{out}");
    for row in rows {
        let host = row["host"].as_str().expect("host");
        assert_eq!(row["stdout"], format!("at {}\n", ips[host]), "{row}");
        let (ok, status) = if host == "web-3" {
            (false, 7)
        } else {
            (true, 0)
        };
        assert_eq!(
            (row["ok"].as_bool(), row["exit_status"].as_u64()),
            (Some(ok), Some(status)),
            "{row}"
        );
    }

    // Grouped output: one block per host, headed by its name.
    let out = exec(dir, "db", &format!("{WHERE}; echo second"), 0);
    assert!(exec_lines(&out).len() == 16, "{out}");
    let out = ict_code(
        dir,
        true,
        &[
            "exec",
            "infra.ict",
            "-l",
            "db",
            "--group-output",
            "--",
            &format!("{WHERE}; echo second"),
        ],
        0,
    )
    .stdout;
    for name in names("db", 1..=8) {
        let block = format!("── {name} ──\nat {}\nsecond\n", ips[&name]);
        assert!(out.contains(&block), "missing block {block:?}:\n{out}");
    }
    assert!(!out.contains(" | "), "{out}");

    // Patterns: a group, a glob, a group minus a host.
    assert_eq!(
        hosts_in(&exec(dir, "web", WHERE, 0)),
        sorted(names("web", 1..=6))
    );
    assert_eq!(
        hosts_in(&exec(dir, "web-*", WHERE, 0)),
        sorted(names("web", 1..=12))
    );
    let mut expected = names("web", 1..=6);
    expected.retain(|n| n != "web-3");
    assert_eq!(
        hosts_in(&exec(dir, "web:!web-3", WHERE, 0)),
        sorted(expected)
    );
}
