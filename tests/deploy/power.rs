//! `ict power stop` on a server declared "on": a note that the next apply starts it again, a
//! plan that says so, and an apply that does it.

use super::{exec_lines, ict_code, project, testable};

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
server("web-1", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
server("web-2", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
"#;

#[test]
fn stopping_a_server_declared_on_is_undone_by_the_next_apply() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);

    let stop = ict_code(dir, true, &["power", "infra.ict", "stop", "-l", "web-1"], 0);
    assert!(
        stop.stdout
            .contains("web-1: note: declared power \"on\"; the next apply will start it again"),
        "{}",
        stop.stdout
    );
    assert!(!stop.stdout.contains("web-2"), "{}", stop.stdout);

    let plan = ict_code(dir, false, &["plan", "infra.ict"], 0);
    let lines: Vec<&str> = plan.stdout.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "~ server.web-1")
        .unwrap_or_else(|| panic!("no update of web-1:\n{}", plan.stdout));
    assert!(
        lines[at + 1].starts_with("power") && lines[at + 1].ends_with("off → on"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("0 to add, 1 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );

    // While it is off, it does not answer; web-2 does.
    let exec = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "up"], 3);
    assert_eq!(
        exec_lines(&exec.stdout),
        vec![("web-2".to_owned(), "up".to_owned())]
    );

    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    let plan = ict_code(dir, false, &["plan", "infra.ict"], 0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    let exec = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "up"], 0);
    assert_eq!(exec_lines(&exec.stdout).len(), 2, "{}", exec.stdout);
}

const ON_AND_OFF: &str = r#"
server("web-1", #{ cpu: 1, ram: 1024, disk: 20 });
server("web-2", #{ cpu: 1, ram: 1024, disk: 20, power: "off" });
"#;

/// The power actions `ict -vv power` sent, from its request log.
fn actions_sent(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("1cloud request method=POST") && l.ends_with("/action"))
        .collect()
}

#[test]
fn power_with_a_limit_that_matches_nothing_says_so_and_fails() {
    let test = project(ON_AND_OFF, &[]);
    let out = ict_code(
        test.path(),
        false,
        &["power", "infra.ict", "stop", "-l", "db-*"],
        1,
    );
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "ict::command::limit\n\n  × `--limit db-*` matches no server in infra.ict\n  help: a \
         pattern is a name, a group, a glob or a combination: `web`, `web-*`, `web:!web-3`\n"
    );
}

#[test]
fn power_sends_nothing_to_a_server_already_in_that_state() {
    let test = project(ON_AND_OFF, &[]);
    let dir = test.path();
    ict_code(dir, false, &["apply", "infra.ict", "--yes"], 0);

    let stop = ict_code(
        dir,
        false,
        &["-vv", "power", "infra.ict", "stop", "-l", "web-2"],
        0,
    );
    assert_eq!(
        stop.stdout.lines().skip(1).collect::<Vec<_>>(),
        ["web-2: already off; nothing sent"]
    );
    assert_eq!(
        actions_sent(&stop.stderr),
        Vec::<&str>::new(),
        "{}",
        stop.stderr
    );

    let start = ict_code(dir, false, &["-vv", "power", "infra.ict", "start"], 0);
    assert_eq!(
        start.stdout.lines().skip(1).collect::<Vec<_>>(),
        ["web-1: already on; nothing sent", "web-2: PowerOn"]
    );
    assert_eq!(actions_sent(&start.stderr).len(), 1, "{}", start.stderr);
}
