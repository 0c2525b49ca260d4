//! `ict watch` on `examples/pipeline.ict`: a commit pushed to the watched branch while watch
//! runs is deployed exactly once; SIGTERM stops watch cleanly. A schedule's `pipeline` action
//! deploys the branch's newest commit as `ict pipeline run` would (issue 21).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{wait_for_app, Install, Repo};
use crate::deploy::{ict, ips, project, testable};
use crate::test::{root, Test};

/// Environment that points the example at the test's repository and folder.
fn env(repo: &Repo, install: &Install) -> Vec<(&'static str, String)> {
    vec![
        ("ICT_HELLO_REPO", repo.url()),
        ("ICT_HELLO_PATH", install.path().display().to_string()),
        ("ICT_HELLO_USER", install.user.clone()),
        ("ICT_HELLO_POLL", "1s".to_owned()),
        ("ICT_EMULATOR_SSH", "1".to_owned()),
    ]
}

fn ict_with(dir: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> crate::test::Outcome {
    let mut test = Test::new().current_dir(dir).args(args);
    for (k, v) in env {
        test = test.env(k, v);
    }
    test.run()
}

/// Deploy records of `commit` in the state.
fn deploys_of(dir: &std::path::Path, env: &[(&str, String)], commit: &str) -> usize {
    let out = ict_with(
        dir,
        env,
        &["pipeline", "status", "--json", "infra.ict", "hello"],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("status JSON");
    json["hello"]["records"].as_array().map_or(0, |r| {
        r.iter()
            .filter(|r| r["commit"] == commit && r["action"] == "deploy")
            .count()
    })
}

#[test]
fn watch_deploys_a_pushed_commit_exactly_once() {
    if !testable() {
        return;
    }
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictwatch");
    let example = std::fs::read_to_string(root().join("examples/pipeline.ict")).expect("example");
    // Tuesdays at 10:00 in Vladivostok: never due while this test's watch runs.
    let release = r#"schedule("release", #{ cron: "0 10 * * 2", tz: "Asia/Vladivostok", action: "pipeline", pipeline: "hello" });"#;
    let test = project(&format!("{example}\n{release}\n"), &[]);
    let dir = test.path();
    let env = env(&repo, &install);
    let applied = ict_with(dir, &env, &["apply", "infra.ict", "--yes"]);
    assert_eq!(applied.status, 0, "{}{}", applied.stdout, applied.stderr);
    let ip = ips(dir)
        .into_iter()
        .find(|(n, _)| n == "web-1")
        .expect("ip")
        .1;
    let first = ict_with(dir, &env, &["pipeline", "run", "infra.ict", "hello"]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);

    let log = sources.path().join("watch.log");
    let mut child = Command::new(crate::test::ict())
        .args([
            "watch",
            "infra.ict",
            "--interval",
            "1",
            "--drift-every",
            "0",
        ])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ONECLOUD_TOKEN")
        .env("ICT_EMULATOR_TASK_DELAY_MS", "50")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("ict watch");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                read_log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait("watch to start polling", &|| {
        read_log().contains("watching the repositories")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !read_log().contains("moved to"),
        "the deployed commit is not run again:\n{}",
        read_log()
    );

    repo.edit(
        "app.py",
        "return \"hello from \"",
        "return \"hello, pushed, from \"",
    );
    let commit = repo.commit("a pushed change");
    let short = &commit[..7];
    wait("the new release", &|| {
        install
            .deployed(dir)
            .is_some_and(|release| release.ends_with(short))
    });
    // `current` moves before the service restarts: the old app may answer a moment longer.
    wait("the new app to answer", &|| {
        wait_for_app(&format!("{ip}:8080")).starts_with("hello, pushed, from ")
    });
    // Several more polls: the commit is not deployed again.
    std::thread::sleep(Duration::from_secs(4));

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ict watch did not stop on SIGTERM:\n{}", read_log());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}:\n{}", read_log());
    let text = read_log();
    assert_eq!(
        text.matches(&format!("moved to {short}")).count(),
        1,
        "{text}"
    );
    assert_eq!(deploys_of(dir, &env, &commit), 1, "{text}");

    let scheduled = ict_with(dir, &env, &["schedule", "run", "infra.ict", "release"]);
    assert_eq!(
        scheduled.status, 0,
        "{}{}",
        scheduled.stdout, scheduled.stderr
    );
    let last = scheduled.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("schedule release: ok"),
        "{}",
        scheduled.stdout
    );
    assert_eq!(deploys_of(dir, &env, &commit), 2, "{}", scheduled.stdout);
    drop(ict(dir, false, &["lock", "status", "infra.ict"]));
}
