//! Team state (issue 19): two checkouts of one project — two team members — sharing their state
//! in a real `PostgreSQL` server ([`Postgres`]) and one emulated 1cloud account ([`Cloud`]).

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod migrate;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::reconcile::{expect, unique_names, Cloud, Running};
use crate::support::postgres::Postgres;
use crate::test::{Outcome, TempProject};

/// The environment variable the scripts read the database URL from.
const URL_VAR: &str = "ICT_STATE_URL";

/// `count` small servers, their state in the `PostgreSQL` backend with a `lease_secs` lease.
fn script(count: usize, lease_secs: u32) -> String {
    format!(
        "backend(\"postgres\", #{{ url: secret(\"{URL_VAR}\"), project: \"shop\", lease: {lease_secs} }});\n\
         for i in 1..={count} {{\n    server(`app-${{i}}`, #{{ cpu: 1, ram: 1024, disk: 10 }});\n}}\n"
    )
}

/// A checkout: a folder holding `script`.
fn checkout(script: &str) -> TempProject {
    let dir = TempProject::new();
    std::fs::write(dir.path().join("infra.ict"), script).unwrap();
    dir
}

/// `ict ARGS` in `dir` against `cloud`, with the database's URL.
fn ict(cloud: &Cloud, pg: &Postgres, dir: &Path, args: &[&str]) -> Outcome {
    let output = cloud
        .command(dir, args)
        .env(URL_VAR, pg.url())
        .output()
        .unwrap();
    crate::reconcile::outcome(output)
}

/// Polls `done` every 50 ms for at most `limit`.
fn poll(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_second_checkout_sees_the_first_ones_apply() {
    let Some(pg) = Postgres::start() else { return };
    let first = checkout(&script(3, 30));
    let second = checkout(&script(3, 30));
    let cloud = Cloud::start(&first.path().join("cloud.json"), &["--task-delay", "20"]);

    expect(
        &ict(&cloud, &pg, first.path(), &["apply", "infra.ict", "--yes"]),
        0,
    );
    let plan = ict(
        &cloud,
        &pg,
        second.path(),
        &["plan", "infra.ict", "--detailed-exitcode"],
    );
    expect(&plan, 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    for dir in [first.path(), second.path()] {
        assert!(!dir.join(".ict/dev/state.json").exists(), "no local state");
        assert!(!dir.join(".ict/dev/state.log").exists(), "no local log");
    }
    let listed = ict(&cloud, &pg, second.path(), &["state", "list", "infra.ict"]);
    expect(&listed, 0);
    assert!(listed.stdout.contains("app-3"), "{}", listed.stdout);
    assert_eq!(
        pg.psql("SELECT project, env, document IS NOT NULL FROM ict_state"),
        "shop|dev|t\n"
    );
}

#[tokio::test]
async fn an_apply_while_another_holds_the_lock_is_refused_and_a_killed_holder_is_taken_over_after_its_lease(
) {
    const COUNT: usize = 6;
    let Some(pg) = Postgres::start() else { return };
    let first = checkout(&script(COUNT, 2));
    let second = checkout(&script(COUNT, 2));
    // Slow tasks: the first apply is still creating when it is killed.
    let cloud = Cloud::start(
        &first.path().join("cloud.json"),
        &["--task-delay", "3000", "--latency", "20"],
    );
    let log = first.path().join("apply.log");
    let mut apply = Running(
        cloud
            .command(first.path(), &["apply", "infra.ict", "--yes"])
            .env(URL_VAR, pg.url())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // Killed once a create is journaled and not finished.
    poll(Duration::from_secs(30), "a create in flight", || {
        assert!(
            apply.0.try_wait().unwrap().is_none(),
            "the apply ended early:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        let open: i64 = pg
            .psql(
                "SELECT count(*) FILTER (WHERE changes LIKE '[{\"begin\"%') - \
                 count(*) FILTER (WHERE changes LIKE '%\"finish\"%') FROM ict_state_log",
            )
            .trim()
            .parse()
            .unwrap_or(0);
        open > 0
    });

    let refused = ict(&cloud, &pg, second.path(), &["apply", "infra.ict", "--yes"]);
    expect(&refused, 1);
    let text = crate::test::unwrapped(&refused.stderr);
    assert!(
        text.contains(&format!(
            "the state of environment `dev` is locked by {}@",
            whoami()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("(pid {}, `ict apply infra.ict`", apply.0.id())),
        "{text}"
    );
    let status = ict(&cloud, &pg, second.path(), &["lock", "status", "infra.ict"]);
    expect(&status, 0);
    assert!(
        status
            .stdout
            .starts_with(&format!("locked by {}@", whoami())),
        "{}",
        status.stdout
    );

    apply.0.kill().unwrap();
    apply.0.wait().unwrap();

    // The second checkout gets the lock once the lease (2 s) ran out, and finishes the work.
    let mut finished = None;
    poll(Duration::from_secs(30), "the lease to run out", || {
        let out = ict(&cloud, &pg, second.path(), &["apply", "infra.ict", "--yes"]);
        let done = out.status != 1 || !out.stderr.contains("is locked by");
        if done {
            finished = Some(out);
        }
        done
    });
    let finished = finished.unwrap();
    expect(&finished, 0);
    assert!(
        finished.stderr.contains("whose lease ran out"),
        "{}",
        finished.stderr
    );
    let names = unique_names(&cloud.servers().await);
    let expected: Vec<String> = {
        let mut names: Vec<String> = (1..=COUNT).map(|i| format!("app-{i}")).collect();
        names.sort();
        names
    };
    assert_eq!(names, expected);
    let plan = ict(
        &cloud,
        &pg,
        first.path(),
        &["plan", "infra.ict", "--detailed-exitcode"],
    );
    expect(&plan, 0);
    assert!(
        !plan.stdout.contains("not managed by ict"),
        "{}",
        plan.stdout
    );
}

#[tokio::test]
async fn lock_status_and_break_work_on_postgres() {
    let Some(pg) = Postgres::start() else { return };
    let dir = checkout(&script(1, 60));
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "5000"]);
    let mut apply = Running(
        cloud
            .command(dir.path(), &["apply", "infra.ict", "--yes"])
            .env(URL_VAR, pg.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    poll(Duration::from_secs(20), "the lock", || {
        pg.psql("SELECT count(*) FROM ict_lock") == "1\n"
    });
    let pid = apply.0.id();
    apply.0.kill().unwrap();
    apply.0.wait().unwrap();

    // Killed, but its lease (60 s) has not run out: only --force breaks it.
    let status = ict(&cloud, &pg, dir.path(), &["lock", "status", "infra.ict"]);
    expect(&status, 0);
    let first_line = status.stdout.lines().next().unwrap();
    assert!(
        first_line.starts_with(&format!("locked by {}@", whoami()))
            && first_line.contains(&format!("(pid {pid}, `ict apply infra.ict`, since ")),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.ends_with(
            "ict cannot check from here whether it is still running; to break the lock: \
             ict lock break infra.ict --env dev\n"
        ),
        "{}",
        status.stdout
    );
    let refused = ict(&cloud, &pg, dir.path(), &["lock", "break", "infra.ict"]);
    expect(&refused, 1);
    assert!(
        crate::test::unwrapped(&refused.stderr)
            .contains("ict lock break infra.ict --env dev --force"),
        "{}",
        refused.stderr
    );
    let broken = ict(
        &cloud,
        &pg,
        dir.path(),
        &["lock", "break", "infra.ict", "--force"],
    );
    expect(&broken, 0);
    assert!(
        broken
            .stdout
            .starts_with("broke the lock of environment `dev` held by "),
        "{}",
        broken.stdout
    );
    let status = ict(&cloud, &pg, dir.path(), &["lock", "status", "infra.ict"]);
    assert_eq!(status.stdout, "unlocked\n");
}

/// The user name ict records in a lock.
fn whoami() -> String {
    ict::state::LockHolder::current("").user
}
