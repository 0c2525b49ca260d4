//! What two team members do with one shared state, written once for every backend.

use std::process::Stdio;
use std::time::Duration;

use super::{checkout, command, ict, in_flight, poll, script, whoami, Shared};
use crate::reconcile::{expect, unique_names, Cloud, Running};
use crate::test::TempProject;

pub use super::migrate::{
    no_secret_reaches_the_backend, state_migrate_round_trips_local_to_the_backend_and_back,
};

pub async fn a_second_checkout_sees_the_first_ones_apply(shared: &dyn Shared) {
    let first = checkout(&script(shared, 3, 30));
    let second = checkout(&script(shared, 3, 30));
    let cloud = Cloud::start(&first.path().join("cloud.json"), &["--task-delay", "20"]);

    expect(
        &ict(
            &cloud,
            shared,
            first.path(),
            &["apply", "infra.ict", "--yes"],
        ),
        0,
    );
    let plan = ict(
        &cloud,
        shared,
        second.path(),
        &["plan", "infra.ict", "--detailed-exitcode"],
    );
    expect(&plan, 0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    for dir in [first.path(), second.path()] {
        assert!(!dir.join(".ict/dev/state.json").exists(), "no local state");
        assert!(!dir.join(".ict/dev/state.log").exists(), "no local log");
    }
    let listed = ict(
        &cloud,
        shared,
        second.path(),
        &["state", "list", "infra.ict"],
    );
    expect(&listed, 0);
    assert!(listed.stdout.contains("app-3"), "{}", listed.stdout);
    assert!(
        shared.dump().contains("server.app-3"),
        "the state is in the backend"
    );
}

pub async fn an_apply_while_another_holds_the_lock_is_refused_and_a_killed_holder_is_taken_over_after_its_lease(
    shared: &dyn Shared,
) {
    const COUNT: usize = 6;
    // Killed once a create is journaled and not finished.
    let Slow {
        first,
        second,
        cloud,
        log: _,
        mut apply,
    } = apply_in_flight(shared, COUNT);

    let refused = ict(
        &cloud,
        shared,
        second.path(),
        &["apply", "infra.ict", "--yes"],
    );
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
    let status = ict(
        &cloud,
        shared,
        second.path(),
        &["lock", "status", "infra.ict"],
    );
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
        let out = ict(
            &cloud,
            shared,
            second.path(),
            &["apply", "infra.ict", "--yes"],
        );
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
    let mut expected: Vec<String> = (1..=COUNT).map(|i| format!("app-{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    let plan = ict(
        &cloud,
        shared,
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

pub async fn lock_status_and_break_work_on_a_shared_backend(shared: &dyn Shared) {
    let dir = checkout(&script(shared, 1, 60));
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "5000"]);
    let mut apply = Running(
        command(&cloud, shared, dir.path(), &["apply", "infra.ict", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The lock is held once the first commit is there.
    poll(Duration::from_secs(20), "a commit", || {
        !shared.commits().is_empty()
    });
    let pid = apply.0.id();
    apply.0.kill().unwrap();
    apply.0.wait().unwrap();

    // Killed, but its lease (60 s) has not run out: only --force breaks it.
    let status = ict(&cloud, shared, dir.path(), &["lock", "status", "infra.ict"]);
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
    let refused = ict(&cloud, shared, dir.path(), &["lock", "break", "infra.ict"]);
    expect(&refused, 1);
    assert!(
        crate::test::unwrapped(&refused.stderr)
            .contains("ict lock break infra.ict --env dev --force"),
        "{}",
        refused.stderr
    );
    let broken = ict(
        &cloud,
        shared,
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
    let status = ict(&cloud, shared, dir.path(), &["lock", "status", "infra.ict"]);
    assert_eq!(status.stdout, "unlocked\n");
}

pub async fn a_holder_whose_lease_ran_out_writes_nothing_after_a_takeover(shared: &dyn Shared) {
    const COUNT: usize = 2;
    let Slow {
        first: _first,
        second,
        cloud,
        log,
        apply: mut stalled,
    } = apply_in_flight(shared, COUNT);
    // Its creates have reached the cloud. (A process paused between its last check of the
    // lease and the send of a request would still send it when woken: 1cloud takes no fencing
    // token; docs/state.md says so. Under load, the test stopped it there now and then.)
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cloud.servers().await.len() < COUNT {
        assert!(
            std::time::Instant::now() < deadline,
            "the creates never reached the cloud"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stalled (as by a long pause or a cut network): its lease runs out, nobody renews it.
    signal(stalled.0.id(), "STOP");
    let mut finished = None;
    poll(Duration::from_secs(30), "the lease to run out", || {
        let out = ict(
            &cloud,
            shared,
            second.path(),
            &["apply", "infra.ict", "--yes"],
        );
        let done = out.status != 1 || !out.stderr.contains("is locked by");
        if done {
            finished = Some(out);
        }
        done
    });
    expect(&finished.unwrap(), 0);

    // Woken up, the first apply finds its lock gone at its next write and stops there.
    signal(stalled.0.id(), "CONT");
    let status = stalled.0.wait().unwrap();
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(
        crate::test::unwrapped(&said).contains("lost the lock of environment `dev`"),
        "{said}"
    );
    let names = unique_names(&cloud.servers().await);
    assert_eq!(names, ["app-1", "app-2"]);
    let plan = ict(
        &cloud,
        shared,
        second.path(),
        &["plan", "infra.ict", "--detailed-exitcode"],
    );
    expect(&plan, 0);
}

/// Two checkouts of `count` servers on one slow emulator (tasks take 1.5 s, answers 200 ms),
/// with the first's apply running until a create is journaled and not finished.
struct Slow {
    first: TempProject,
    second: TempProject,
    cloud: Cloud,
    /// The first apply's standard error.
    log: std::path::PathBuf,
    apply: Running,
}

fn apply_in_flight(shared: &dyn Shared, count: usize) -> Slow {
    let first = checkout(&script(shared, count, 2));
    let second = checkout(&script(shared, count, 2));
    let cloud = Cloud::start(
        &first.path().join("cloud.json"),
        &["--task-delay", "1500", "--latency", "200"],
    );
    let log = first.path().join("apply.log");
    let mut apply = Running(
        command(
            &cloud,
            shared,
            first.path(),
            &["apply", "infra.ict", "--yes"],
        )
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap(),
    );
    poll(Duration::from_secs(30), "a create in flight", || {
        assert!(
            apply.0.try_wait().unwrap().is_none(),
            "the apply ended early:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        in_flight(shared)
    });
    Slow {
        first,
        second,
        cloud,
        log,
        apply,
    }
}

/// Sends `SIGNAL` (`STOP`, `CONT`) to `pid`.
fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}
