//! One emulator per project (issue 16): the first command starts the project's emulator as a
//! background daemon and every later command, in any process, uses it; `ict emulator status |
//! stop | logs` manage it; racing starters end with one daemon; a killed one is replaced.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::child::{http_get, spawn, Lines, Running};
use crate::support::daemon::{daemon_pid, daemons_of, process_tree, wait_gone};
use crate::test::{Outcome, Test};

const SCRIPT: &str = r#"
server("web-1", #{ cpu: 1, ram: 1024, disk: 20 });
server("web-2", #{ cpu: 1, ram: 1024, disk: 20 });
"#;

/// `ict ARGS` in `dir`.
fn ict(dir: &Path, args: &[&str]) -> Outcome {
    Test::new().current_dir(dir).args(args).run()
}

#[track_caller]
fn ict_ok(dir: &Path, args: &[&str]) -> Outcome {
    let out = ict(dir, args);
    assert_eq!(out.status, 0, "ict {args:?}:\n{}{}", out.stdout, out.stderr);
    out
}

/// The server names `ict cloud servers --json` lists.
fn server_names(out: &Outcome) -> Vec<String> {
    let servers: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    servers
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

/// `ict_watch_ticks` from a watch's `/metrics`.
fn ticks(addr: &str) -> f64 {
    ict::metrics::parse(&http_get(addr, "/metrics"))
        .ok()
        .and_then(|s| s.value("ict_watch_ticks", &[]))
        .unwrap_or(0.0)
}

/// `ict watch infra.ict ARGS` in `dir`, with `env`.
fn watch(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (Running, Lines) {
    let mut test = Test::new()
        .current_dir(dir)
        .args(&["watch", "infra.ict"])
        .args(args);
    for (key, value) in env {
        test = test.env(key, value);
    }
    spawn(test.command())
}

#[test]
fn power_stop_in_one_process_is_seen_by_watch_in_another_within_one_interval() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    let (_watch, mut lines) = watch(
        dir,
        &[],
        &[
            "--interval",
            "0.5",
            "--drift-every",
            "0",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let addr = lines.metrics_address();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ticks(&addr) < 2.0 {
        assert!(Instant::now() < deadline, "watch does not sample");
        std::thread::sleep(Duration::from_millis(50));
    }
    lines.drain();
    assert!(
        !lines.seen.iter().any(|l| l.contains("does not answer")),
        "both servers answer at first:\n{}",
        lines.seen.join("\n")
    );

    ict_ok(dir, &["power", "infra.ict", "stop", "-l", "web-1"]);
    let before = ticks(&addr);
    let down = lines.wait_for("does not answer");
    let after = ticks(&addr);
    assert!(down.starts_with("web-1 does not answer: "), "{down}");
    // The round under way when the power changed may have scraped web-1 before; the next one
    // sees it off.
    assert!(
        after <= before + 2.0,
        "seen {} rounds after the power change:\n{}",
        after - before,
        lines.seen.join("\n")
    );
}

#[test]
fn cloud_servers_from_a_sub_folder_shows_the_projects_servers() {
    let test = Test::new()
        .write("infra.ict", SCRIPT)
        .write("docs/notes/readme.txt", "");
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    let sub = dir.join("docs/notes");
    let listed = ict_ok(&sub, &["cloud", "servers", "--json"]);
    assert_eq!(server_names(&listed), ["web-1", "web-2"]);
    let state = std::fs::canonicalize(dir)
        .expect("dir")
        .join(".ict/emulator.json");
    assert_eq!(
        listed.stderr,
        format!(
            "provider: local 1cloud emulator ({}) — set ONECLOUD_TOKEN to use 1cloud\n",
            state.display()
        )
    );
    // A script or a folder names the project from anywhere.
    let elsewhere = Test::new();
    for place in [dir.join("infra.ict"), dir.to_path_buf()] {
        let place = place.display().to_string();
        let out = ict_ok(elsewhere.path(), &["cloud", "servers", &place, "--json"]);
        assert_eq!(server_names(&out), ["web-1", "web-2"]);
    }
    assert!(!elsewhere.path().join(".ict").exists());
}

#[test]
fn emulator_stop_leaves_no_process_it_started() {
    let ssh = crate::deploy::testable();
    let test = crate::deploy::project(
        r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
server("web-1", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
"#,
        &[],
    );
    let dir = test.path();
    let on = if ssh { "1" } else { "0" };
    let run = |args: &[&str]| {
        Test::new()
            .current_dir(dir)
            .env("ICT_EMULATOR_SSH", on)
            .args(args)
    };
    let applied = run(&["apply", "infra.ict", "--yes"]).run();
    assert_eq!(applied.status, 0, "{}", applied.stderr);
    let pid = daemon_pid(dir).expect("a daemon runs");
    // With SSH, a session keeps processes below the daemon: its sshd and the command.
    let _session = ssh.then(|| {
        let child = run(&["exec", "infra.ict", "--", "sleep", "60"])
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ict exec");
        let deadline = Instant::now() + Duration::from_secs(30);
        // The machine's own init sleeps too (`sleep 2147483647`): wait for the command itself,
        // or a slow `ict exec` could still be starting a daemon after the stop below.
        let running_sleep = || {
            process_tree(pid).iter().any(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|cmd| cmd == b"sleep\x0060\x00")
            })
        };
        while !running_sleep() {
            assert!(Instant::now() < deadline, "no session below the daemon");
            std::thread::sleep(Duration::from_millis(20));
        }
        Running(child)
    });
    let tree = process_tree(pid);

    let stopped = ict_ok(dir, &["emulator", "stop"]);
    let project = std::fs::canonicalize(dir).expect("dir");
    assert_eq!(
        stopped.stdout,
        format!(
            "stopped the emulator of {} (pid {pid})\n",
            project.display()
        )
    );
    for process in &tree {
        assert!(
            wait_gone(*process, Duration::ZERO),
            "process {process} of the daemon's {tree:?} is still running"
        );
    }
    assert_eq!(daemon_pid(dir), None, "the lock names no daemon");
    assert!(!dir.join(".ict/emulator.addr").exists());
    let status = ict_ok(dir, &["emulator", "status"]);
    assert_eq!(
        status.stdout,
        format!("the emulator of {} is not running\n", project.display())
    );
    let again = ict_ok(dir, &["emulator", "stop"]);
    assert_eq!(
        again.stdout,
        format!("the emulator of {} is not running\n", project.display())
    );
}

#[test]
fn two_commands_racing_to_start_the_daemon_end_with_one_daemon() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    let children: Vec<Child> = (0..4)
        .map(|_| {
            Test::new()
                .current_dir(dir)
                .args(&["cloud", "servers", "--json"])
                .command()
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("ict cloud servers")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("ict ends");
        assert!(output.status.success(), "{output:?}");
    }
    let daemons = daemons_of(dir);
    assert_eq!(daemons.len(), 1, "daemons: {daemons:?}");
    assert_eq!(daemon_pid(dir), Some(daemons[0]));
}

#[test]
fn a_killed_daemon_is_replaced() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    let old = daemon_pid(dir).expect("a daemon runs");
    let killed = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(wait_gone(old, Duration::from_secs(10)));

    let status = ict_ok(dir, &["emulator", "status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(json["state"], "stopped");
    assert_eq!(json["crashed_pid"], old);

    let listed = ict_ok(dir, &["cloud", "servers", "--json"]);
    assert_eq!(server_names(&listed), ["web-1", "web-2"]);
    let new = daemon_pid(dir).expect("a new daemon runs");
    assert_ne!(new, old);
    assert_eq!(
        listed.stderr.lines().nth(1),
        Some(
            format!(
                "note: the project's emulator (pid {old}) is gone without stopping (crashed or \
                 killed): starting a new one; its log is {}",
                std::fs::canonicalize(dir)
                    .expect("dir")
                    .join(".ict/emulator.log")
                    .display()
            )
            .as_str()
        ),
        "{}",
        listed.stderr
    );
    assert_eq!(daemons_of(dir), [new]);
}

#[test]
fn status_and_logs_describe_the_running_daemon() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    let pid = daemon_pid(dir).expect("a daemon runs");
    let status = ict_ok(dir, &["emulator", "status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(json["state"], "running");
    assert_eq!(json["pid"], pid);
    assert_eq!(json["servers"], 2);
    assert_eq!(json["idle_timeout_secs"], 120);
    assert_eq!(
        json["settings"],
        serde_json::json!({"ssh": false, "metrics": true, "task_delay_ms": 50, "dns_quirk": "none"})
    );
    let url = std::fs::read_to_string(dir.join(".ict/emulator.addr")).expect("address file");
    assert_eq!(json["url"], url.trim());
    let text = ict_ok(dir, &["emulator", "status"]).stdout;
    assert!(
        text.lines()
            .any(|l| l == format!("  url       {}", url.trim())),
        "{text}"
    );
    assert!(text.lines().any(|l| l == "  servers   2"), "{text}");

    let logs = ict_ok(dir, &["emulator", "logs"]);
    assert!(
        logs.stdout
            .contains(&format!("the project's emulator started pid={pid}")),
        "{}",
        logs.stdout
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join(".ict/emulator.token"))
            .expect("token")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_daemon_with_other_settings_is_restarted_on_the_same_address() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    let old = daemon_pid(dir).expect("a daemon runs");
    let url = std::fs::read_to_string(dir.join(".ict/emulator.addr")).expect("address");
    let out = Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_TASK_DELAY_MS", "60")
        .args(&["cloud", "servers", "--json"])
        .run();
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(server_names(&out), ["web-1", "web-2"]);
    assert_eq!(
        out.stderr.lines().nth(1),
        Some(
            format!(
                "note: restarting the project's emulator (pid {old}) with the settings asked \
                 for: ICT_EMULATOR_TASK_DELAY_MS=60 (it ran with 50 ms tasks)"
            )
            .as_str()
        ),
        "{}",
        out.stderr
    );
    assert!(wait_gone(old, Duration::ZERO));
    let new = daemon_pid(dir).expect("a new daemon runs");
    assert_ne!(new, old);
    let same = std::fs::read_to_string(dir.join(".ict/emulator.addr")).expect("address");
    assert_eq!(same, url, "a restart keeps the address");
    // Unset variables accept what runs.
    let plain = Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_TASK_DELAY_MS", "")
        .args(&["cloud", "servers"])
        .run();
    assert_eq!(plain.status, 0, "{}", plain.stderr);
    assert_eq!(daemon_pid(dir), Some(new));
}

#[test]
fn an_idle_daemon_stops_on_its_own() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    let out = Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_IDLE", "1s")
        .args(&["cloud", "servers"])
        .run();
    assert_eq!(out.status, 0, "{}", out.stderr);
    let pid = daemon_pid(dir).expect("a daemon runs");
    assert!(
        wait_gone(pid, Duration::from_secs(30)),
        "still running after 30 s"
    );
    assert_eq!(daemon_pid(dir), None);
    let logs = ict_ok(dir, &["emulator", "logs"]);
    assert!(
        logs.stdout
            .contains("no request for 1 s and no command using it: stopping"),
        "{}",
        logs.stdout
    );
}

#[test]
fn a_running_watch_keeps_an_idle_daemon_alive_until_it_ends() {
    let test = Test::new().write("infra.ict", SCRIPT);
    let dir = test.path();
    ict_ok(dir, &["apply", "infra.ict", "--yes"]);
    ict_ok(dir, &["emulator", "stop"]);
    // One sampling round a minute and no drift checks: no API request after it connects.
    let (watch, mut lines) = watch(
        dir,
        &[("ICT_EMULATOR_IDLE", "1s")],
        &["--interval", "60", "--drift-every", "0"],
    );
    lines.wait_for("watching 2 servers");
    let pid = daemon_pid(dir).expect("watch started the daemon");
    assert!(
        !wait_gone(pid, Duration::from_secs(4)),
        "the daemon stopped while watch was running"
    );
    drop(watch);
    assert!(
        wait_gone(pid, Duration::from_secs(30)),
        "the daemon outlived watch by more than its idle period"
    );
}
