//! `ict exec --hosts FILE`: hosts no script declares (like `ansible -i`), against real OpenSSH
//! daemons on 127.0.0.1 (see `support::sshd`). Host keys come only from `--known-hosts`: an
//! unknown or changed key is refused; the others still run. Same output, recap and exit codes
//! as the script form.

use std::path::Path;

use crate::deploy::exec_lines;
use crate::support::sshd::{Sshd, SshdFarm};
use crate::test::{Outcome, Test};

/// Runs `ict exec --hosts hosts.txt --known-hosts known_hosts -i KEY ARGS -- COMMAND` in `dir`.
fn exec(dir: &Path, key: &Path, args: &[&str], command: &str) -> Outcome {
    let key = key.display().to_string();
    let mut all = vec![
        "exec",
        "--hosts",
        "hosts.txt",
        "--known-hosts",
        "known_hosts",
        "--identity",
        &key,
    ];
    all.extend(args);
    all.extend(["--", command]);
    Test::new().current_dir(dir).args(&all).run()
}

fn known_hosts_line(sshd: &Sshd) -> String {
    format!("[127.0.0.1]:{} {}\n", sshd.port, sshd.host_public_key())
}

fn sorted_lines(out: &Outcome) -> Vec<(String, String)> {
    let mut lines = exec_lines(&out.stdout);
    lines.sort();
    lines
}

#[test]
fn exec_on_listed_hosts_checks_keys_selects_and_reports_each_host() {
    let farm = SshdFarm::new();
    let mut daemons: Vec<Sshd> = ["h1", "h2", "h3"].iter().map(|n| farm.start(n)).collect();
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    // The farm's format (`name addr port`), a comment, and the `user@addr:port` form.
    let hosts = format!(
        "# three hosts\nh1 127.0.0.1 {}\nh2 127.0.0.1 {}  # second\nroot@127.0.0.1:{}\n",
        daemons[0].port, daemons[1].port, daemons[2].port
    );
    std::fs::write(dir.join("hosts.txt"), hosts).expect("hosts.txt");
    let third = format!("127.0.0.1:{}", daemons[2].port);
    let known: String = daemons.iter().map(known_hosts_line).collect();
    std::fs::write(dir.join("known_hosts"), &known).expect("known_hosts");
    let key = farm.client_key.clone();

    // Every host answers; the recap has one ok line per host.
    let out = exec(dir, &key, &[], "echo hi from $((6*7))");
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let mut expected = vec![
        ("h1".to_owned(), "hi from 42".to_owned()),
        ("h2".to_owned(), "hi from 42".to_owned()),
        (third.clone(), "hi from 42".to_owned()),
    ];
    expected.sort();
    assert_eq!(sorted_lines(&out), expected, "{}", out.stdout);
    let recap = out.stdout.split("\nRecap:\n").nth(1).expect("recap");
    assert_eq!(
        recap.lines().filter(|l| l.contains(" ok (")).count(),
        3,
        "{recap}"
    );

    // --limit patterns work on the names; -f bounds the parallelism.
    let out = exec(dir, &key, &["-l", "h*:!h2", "-f", "1"], "echo x");
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let names: Vec<String> = sorted_lines(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["h1"]);
    let out = exec(dir, &key, &["-l", "web"], "true");
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("matches no host in hosts.txt"),
        "{}",
        out.stderr
    );

    // A failing command on one host (h1: the daemon's port ends its SSH_CONNECTION): exit 3,
    // its exit code in the recap, the other host fine.
    let fails_on_h1 = format!("test \"${{SSH_CONNECTION##* }}\" != {}", daemons[0].port);
    let out = exec(dir, &key, &["-l", "h1,h2"], &fails_on_h1);
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let recap = out.stdout.split("\nRecap:\n").nth(1).expect("recap");
    let h1 = recap
        .lines()
        .find(|l| l.trim_start().starts_with("h1 "))
        .expect("h1 in recap");
    assert!(h1.ends_with("exit 1"), "{recap}");
    let h2 = recap
        .lines()
        .find(|l| l.trim_start().starts_with("h2 "))
        .expect("h2 in recap");
    assert!(h2.contains(" ok ("), "{recap}");

    // A host missing from known_hosts is refused (and says where ict looked); a changed key
    // is refused naming both fingerprints; the remaining host still runs.
    let without_h1: String = daemons[1..].iter().map(known_hosts_line).collect();
    std::fs::write(dir.join("known_hosts"), without_h1).expect("known_hosts");
    let old = daemons[1].host_fingerprint();
    daemons[1].restart_with_new_host_key();
    let new = daemons[1].host_fingerprint();
    let out = exec(dir, &key, &[], "echo still");
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(
        exec_lines(&out.stdout),
        vec![(third, "still".to_owned())],
        "{all}"
    );
    let line = |name: &str| {
        all.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")) && l.contains("unreachable"))
            .unwrap_or_else(|| panic!("{name} is not refused:\n{all}"))
            .to_owned()
    };
    assert!(line("h1").contains("is not in known_hosts"), "{all}");
    let h2 = line("h2");
    assert!(h2.contains(&old) && h2.contains(&new), "{h2}");
}

#[test]
fn a_bad_host_list_or_a_bad_invocation_is_an_error_before_any_connection() {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();
    std::fs::write(
        dir.join("hosts.txt"),
        "h1 127.0.0.1 22001\nh2 127.0.0.1 not-a-port\nh1 127.0.0.1 22003\n",
    )
    .expect("hosts.txt");
    std::fs::write(dir.join("known_hosts"), "").expect("known_hosts");
    let key = dir.join("no-key");
    let out = exec(dir, &key, &[], "true");
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("hosts.txt:2: `not-a-port` is not a TCP port"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hosts.txt:3: host `h1` is already listed on line 1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ict::ssh::host_list"), "{}", out.stderr);

    // FILE and --hosts exclude each other; one of them is required; --known-hosts needs --hosts
    // (usage errors exit 1: ict keeps 2 for "changes pending").
    let run = |args: &[&str]| Test::new().current_dir(dir).args(args).run();
    let both = run(&["exec", "infra.ict", "--hosts", "hosts.txt", "--", "true"]);
    assert_eq!(both.status, 1, "{}", both.stderr);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    let neither = run(&["exec", "--", "true"]);
    assert_eq!(neither.status, 1, "{}", neither.stderr);
    assert!(neither.stderr.contains("required"), "{}", neither.stderr);
    let stray = run(&["exec", "infra.ict", "--known-hosts", "kh", "--", "true"]);
    assert_eq!(stray.status, 1, "{}", stray.stderr);
}
