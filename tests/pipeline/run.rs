//! `ict pipeline run` deploys the app and records the release; a commit whose unit tests fail
//! stops at `test`, keeps the running release and notifies with the log tail (webhook and
//! command); `ict rollback` switches back atomically; `ict pipeline status` shows it all. A
//! pipeline deploys to two hosts, each its own machine (issue 16).

use std::path::Path;

use super::{http_get, wait_for_app, Hook, Install, Repo};
use crate::deploy::{emulator_with_ssh, project, testable, SshEmulator};
use crate::reconcile::outcome;

const TOKEN: &str = "s3cr3t-token-value";

/// A file the `contained` stage writes into its `/tmp`: private to the stage in a container.
const PROBE: &str = "/tmp/ict-sandbox-probe";

fn script(repo: &Repo, install: &Install, hook: &Hook, notice_file: &str) -> String {
    format!(
        r#"
let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
server("web-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }});
pipeline("hello", #{{
    repo: "{}",
    preset: "python",
    environments: #{{ dev: #{{ refs: ["main"], hosts: "web-1" }} }},
    env: #{{ PORT: "8080", TOKEN: secret("ICT_TEST_TOKEN") }},
    stages: #{{
        smoke: "echo token is $TOKEN",
        slow: "echo early; sleep 2; echo late",
        contained: "echo pid1=$(cat /proc/1/comm); touch {PROBE}; (touch ../probe && rm ../probe) 2>&1; true",
    }},
    path: "{}",
    user: "{}",
    keep: 2,
    notify: #{{ webhook: "{}", command: "cat > {notice_file}" }},
}});
"#,
        repo.url(),
        install.path().display(),
        install.user,
        hook.url
    )
}

fn run(cloud: &SshEmulator, dir: &Path, args: &[&str], code: i32) -> String {
    run_full(cloud, dir, args, code).stdout
}

fn run_full(cloud: &SshEmulator, dir: &Path, args: &[&str], code: i32) -> crate::test::Outcome {
    let out = outcome(
        cloud
            .command(dir, args)
            .env("ICT_TEST_TOKEN", TOKEN)
            .output()
            .expect("run ict"),
    );
    assert_eq!(
        out.status, code,
        "ict {args:?}:\n{}{}",
        out.stdout, out.stderr
    );
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "secret leaked:\n{}",
        out.stdout
    );
    out
}

/// Runs `ict ARGS` (expecting success), checking that `slow`'s first line was printed well
/// before its last; returns the output.
fn run_streamed(cloud: &SshEmulator, dir: &Path, args: &[&str]) -> String {
    use std::io::BufRead as _;
    let mut child = cloud
        .command(dir, args)
        .env("ICT_TEST_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ict");
    let started = std::time::Instant::now();
    let stdout = child.stdout.take().expect("stdout");
    let mut out = String::new();
    let (mut early, mut late) = (None, None);
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if line.ends_with("| slow | early") {
            early = Some(started.elapsed());
        } else if line.ends_with("| slow | late") {
            late = Some(started.elapsed());
        }
        out.push_str(&line);
        out.push('\n');
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "ict {args:?}: {status}\n{out}");
    assert!(!out.contains(TOKEN), "secret leaked:\n{out}");
    let (Some(early), Some(late)) = (early, late) else {
        panic!("no slow stage lines:\n{out}");
    };
    assert!(
        late.saturating_sub(early) >= std::time::Duration::from_millis(1500),
        "printed together ({early:?}, {late:?}):\n{out}"
    );
    out
}

#[test]
fn deploy_fail_and_roll_back_on_a_loopback_host() {
    if !testable() {
        return;
    }
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictpipe");
    let hook = Hook::start();
    let notice_file = sources.path().join("notice.json");
    let test = project(
        &script(&repo, &install, &hook, &notice_file.display().to_string()),
        &[],
    );
    let dir = test.path();
    let cloud = emulator_with_ssh(dir);
    let cloud = &cloud;
    run(cloud, dir, &["apply", "infra.ict", "--yes"], 0);
    let inventory: serde_json::Value =
        serde_json::from_str(&run(cloud, dir, &["inventory", "--list", "infra.ict"], 0))
            .expect("inventory");
    let ip = inventory["_meta"]["hostvars"]["web-1"]["ansible_host"]
        .as_str()
        .expect("ip")
        .to_owned();
    let addr = format!("{ip}:8080");

    // 1. The first release: every stage passes, the app answers, the release is recorded.
    // Each line shows as the stage prints it, not when the stage ends.
    let out = run_streamed(cloud, dir, &["pipeline", "run", "infra.ict", "hello"]);
    assert!(out.contains("web-1 | test | ✓ passed"), "{out}");
    // The stages ran in a bubblewrap container (inside the server's machine).
    if super::bwrap_works() {
        for line in [
            "web-1 | prepare | stages run in a bubblewrap container",
            "web-1 | contained | pid1=bwrap",
            "web-1 | contained | touch: cannot touch '../probe': Read-only file system",
        ] {
            assert!(out.contains(line), "{line}:\n{out}");
        }
        let on_server = crate::deploy::machine_root(dir, "web-1").join(&PROBE[1..]);
        assert!(!on_server.exists(), "the stage's /tmp is its own");
        assert!(!Path::new(PROBE).exists(), "nor this computer's");
    } else {
        eprintln!("bubblewrap cannot make a container here: stages ran as the user only");
        assert!(!out.contains("bubblewrap"), "{out}");
    }
    assert!(
        out.contains("web-1 | smoke | token is (sensitive)"),
        "{out}"
    );
    let first = install.current(dir);
    assert_eq!(wait_for_app(&addr), format!("hello from {first}"));
    assert_eq!(hook.next()["outcome"], "success");
    let state = std::fs::read_to_string(dir.join(".ict/dev/state.json")).expect("state");
    assert!(state.contains(&first) && !state.contains(TOKEN), "{state}");
    let env_file = install
        .on_server(dir)
        .join("releases")
        .join(&first)
        .join(".ict-env");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&env_file)
            .expect("env file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // 2. A commit whose unit tests fail: exit 3 at `test`, the first release keeps serving.
    repo.edit("app.py", "return \"hello from \"", "return \"bye from \"");
    repo.commit("break the greeting");
    let out = run(cloud, dir, &["pipeline", "run", "infra.ict", "hello"], 3);
    assert!(out.contains("web-1 | test | ✗ FAILED"), "{out}");
    assert!(out.contains("FAILED at stage `test` on web-1"), "{out}");
    assert!(
        !out.contains("web-1 | smoke"),
        "no stage runs after a failure:\n{out}"
    );
    assert_eq!(install.current(dir), first);
    assert_eq!(
        http_get(&addr).as_deref(),
        Some(format!("hello from {first}").as_str())
    );
    assert_eq!(
        install.releases(dir),
        std::slice::from_ref(&first),
        "the failed release is discarded"
    );
    let failed = hook.next();
    assert_eq!(
        (failed["outcome"].as_str(), failed["failed_stage"].as_str()),
        (Some("failed"), Some("test"))
    );
    assert!(
        failed["log_tail"]
            .as_str()
            .is_some_and(|t| t.contains("AssertionError")),
        "{failed}"
    );
    let from_command: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&notice_file).expect("command hook ran"))
            .expect("json");
    assert_eq!(from_command["failed_stage"], "test");
    assert!(from_command["log_tail"]
        .as_str()
        .is_some_and(|t| t.contains("AssertionError")));
    // Issue 22: `ict pipeline logs` prints the recorded log of the failed run (the newest), and
    // of the first one, whose `smoke` stage printed the secret, redacted.
    let log = run(cloud, dir, &["pipeline", "logs", "infra.ict", "hello"], 0);
    let header = log.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("hello ") && header.ends_with(", failed"),
        "{log}"
    );
    // The whole log, as the run printed it, then why it failed.
    assert!(log.contains("\nweb-1 | test | ✗ FAILED ("), "{log}");
    assert!(log.contains("AssertionError"), "{log}");
    assert!(log.contains("\n== "), "{log}");
    let log = run(
        cloud,
        dir,
        &["pipeline", "logs", "infra.ict", "hello", &first],
        0,
    );
    assert!(
        log.contains("web-1 | smoke | token is (sensitive)\n"),
        "{log}"
    );
    assert!(
        log.contains("web-1 | slow | early\nweb-1 | slow | late\n"),
        "{log}"
    );

    // 3. Fixed: a second release goes live; rollback returns to the first, atomically.
    repo.edit(
        "app.py",
        "return \"bye from \"",
        "return \"hello again from \"",
    );
    repo.edit(
        "test_app.py",
        "startswith(\"hello\")",
        "startswith(\"hello again\")",
    );
    repo.commit("a new greeting");
    run(cloud, dir, &["pipeline", "run", "infra.ict", "hello"], 0);
    let second = install.current(dir);
    assert_ne!(second, first);
    assert_eq!(wait_for_app(&addr), format!("hello again from {second}"));
    let _ = hook.next();
    let out = run(cloud, dir, &["rollback", "infra.ict", "hello"], 0);
    assert!(
        out.contains(&format!("rolled back to release {first}")),
        "{out}"
    );
    assert_eq!(install.current(dir), first);
    assert_eq!(wait_for_app(&addr), format!("hello from {first}"));
    assert_eq!(hook.next()["action"], "rollback");

    // Status: the current release is marked, the failure named.
    let out = run(cloud, dir, &["pipeline", "status", "infra.ict", "hello"], 0);
    assert!(out.contains(&format!("current release {first}")), "{out}");
    assert!(out.contains("failed: test on web-1"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("rollback")).count(),
        1,
        "{out}"
    );
    // Nothing kept before the oldest release: a second rollback is refused.
    let refused = run_full(cloud, dir, &["rollback", "infra.ict", "hello"], 1);
    assert!(
        refused
            .stderr
            .contains("no kept release before the current one"),
        "{}",
        refused.stderr
    );
}

/// Issue 16: two hosts of one pipeline each get their own folders, user and app (before, they
/// shared this computer's and the second fetch failed).
#[test]
fn a_pipeline_deploys_to_two_hosts_each_its_own_machine() {
    if !testable() {
        return;
    }
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictpipetwo");
    let script = format!(
        r#"
let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
let web = group("web");
for i in 1..=2 {{ server(`web-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 20, groups: [web], ssh_keys: [k] }}); }}
pipeline("hello", #{{
    repo: "{}",
    preset: "python",
    environments: #{{ dev: #{{ refs: ["main"], hosts: "web" }} }},
    env: #{{ PORT: "8083" }},
    path: "{}",
    user: "{}",
}});
"#,
        repo.url(),
        install.path().display(),
        install.user
    );
    let test = project(&script, &[]);
    let dir = test.path();
    let cloud = emulator_with_ssh(dir);
    run(&cloud, dir, &["apply", "infra.ict", "--yes"], 0);
    let out = run(&cloud, dir, &["pipeline", "run", "infra.ict", "hello"], 0);
    for host in ["web-1", "web-2"] {
        assert!(
            out.contains(&format!("{host} | health | ✓ passed")),
            "{out}"
        );
    }
    let release = install.current(dir);
    let inventory = run(&cloud, dir, &["inventory", "--list", "infra.ict"], 0);
    for (host, ip) in crate::deploy::ips_in(&inventory) {
        assert_eq!(
            wait_for_app(&format!("{ip}:8083")),
            format!("hello from {release}"),
            "{host}"
        );
        let root = crate::deploy::machine_root(dir, &host);
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("its users");
        assert!(passwd.contains("\nictpipetwo:"), "{host}'s user");
    }
    assert!(!install.path().exists(), "nothing on this computer");
    crate::emulator::machine::assert_no_user("ictpipetwo");
}
