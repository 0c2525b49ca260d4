//! `kill -9` of ict in the middle of an apply: the journal, the plan's recovery of unfinished
//! creates by name and the client's "look before re-creating" leave no duplicates.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ict::state::{Action, JournalOp, Kind, Lock, State, StateDir, Store};

use super::{expect, fleet, unique_names, Cloud, Running};

/// When to kill the apply.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after it started.
    Time(u64),
    /// This long after the state log first shows an operation begun and not finished (a create
    /// whose POST is about to be sent, in flight, or answered but not yet recorded).
    InFlight(u64),
}

/// Whether `state.log` holds a journal entry that has begun and not finished.
pub(super) fn open_entry(state_dir: &Path) -> bool {
    let log = std::fs::read_to_string(state_dir.join("state.log")).unwrap_or_default();
    log.matches("{\"begin\"").count() > log.matches("{\"finish\"").count()
}

#[tokio::test]
async fn killing_apply_at_any_point_then_rerunning_gives_exactly_the_declared_servers() {
    const COUNT: usize = 30;
    let dir = fleet(COUNT);
    let state_dir = dir.path().join(".ict/dev");
    // 30 servers, 10 at a time, 400 ms per task and 60 ms per request: an undisturbed apply
    // takes about 2 s, and each create's POST is in flight long enough to be cut.
    let cloud = Cloud::start(
        &dir.path().join("cloud.json"),
        &["--task-delay", "400", "--latency", "60"],
    );
    let mut unfinished_creates = 0;
    let kills = [
        KillAt::InFlight(0),
        KillAt::InFlight(40),
        KillAt::InFlight(90),
        KillAt::Time(300),
        KillAt::Time(800),
        KillAt::Time(1500),
    ];
    for kill in kills {
        let mut apply = Running(
            cloud
                .command(dir.path(), &["apply", "infra.ict", "--yes"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start apply"),
        );
        let started = Instant::now();
        match kill {
            KillAt::Time(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            KillAt::InFlight(ms) => {
                while !open_entry(&state_dir) {
                    let exited = apply.0.try_wait().expect("wait").is_some();
                    if exited || started.elapsed() > Duration::from_secs(10) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        apply.0.kill().expect("kill -9");
        apply.0.wait().expect("reaped");
        let dir = StateDir::at(state_dir.clone(), "dev").expect("state dir");
        let state = State::load(&dir).expect("the state loads after a kill");
        unfinished_creates += state
            .journal()
            .unfinished()
            .iter()
            .filter(|e| e.op.action == Action::Create)
            .count();
        unique_names(&cloud.servers().await);
    }
    assert!(
        unfinished_creates > 0,
        "no kill landed during a create: the test proves nothing"
    );

    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);

    let servers = cloud.servers().await;
    let names = unique_names(&servers);
    let mut expected: Vec<String> = (1..=COUNT).map(|i| format!("app-{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);

    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    assert!(!out.stdout.contains("not managed by ict"), "{}", out.stdout);
    // Every server is owned under its own name, and the journal is closed.
    let state = State::load(&StateDir::at(state_dir, "dev").expect("dir")).expect("state");
    assert!(
        state.journal().is_empty(),
        "{:?}",
        state.journal().unfinished()
    );
    for server in &servers {
        let name = server["Name"].as_str().expect("name");
        let address = ict::state::Address::new(Kind::Server, name).expect("address");
        assert_eq!(
            state.resource(&address).map(|r| r.id),
            server["ID"].as_u64(),
            "{name}"
        );
    }
}

/// An entry a crashed run left behind for a server it never made must not, later, make ict
/// adopt (and then delete) a server of that name that somebody else created by hand.
#[tokio::test]
async fn a_stale_journal_entry_never_claims_a_server_made_later() {
    let dir = fleet(1);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let state_dir = StateDir::at(dir.path().join(".ict/dev"), "dev").expect("state dir");
    {
        let lock = Lock::acquire(&state_dir, "test").expect("lock").lock;
        let mut store = Store::open(lock).expect("store");
        let address = ict::state::Address::new(Kind::Server, "ghost").expect("address");
        store
            .begin(JournalOp::new(address, Action::Create))
            .expect("begin");
        store.close().expect("close");
    }
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let state = State::load(&state_dir).expect("state");
    assert!(
        state.journal().is_empty(),
        "{:?}",
        state.journal().unfinished()
    );

    cloud.create_by_hand("ghost").await;
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    assert!(
        out.stdout.contains("ghost"),
        "listed as unmanaged: {}",
        out.stdout
    );
    let names = unique_names(&cloud.servers().await);
    assert!(names.contains(&"ghost".to_owned()), "{names:?}");
}

/// The first Ctrl-C of an apply: nothing new starts, the creates in flight finish and are
/// recorded, the state is saved and the lock released; the next apply finishes the job.
#[tokio::test]
async fn ctrl_c_lets_changes_in_flight_finish_saves_the_state_and_releases_the_lock() {
    const COUNT: usize = 30;
    let dir = fleet(COUNT);
    let state_dir = dir.path().join(".ict/dev");
    // 30 servers, 5 at a time, 400 ms per task: an undisturbed apply takes about 2.5 s.
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "400"]);
    let mut apply = cloud
        .command(
            dir.path(),
            &["apply", "infra.ict", "--yes", "--parallelism", "5"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    let started = Instant::now();
    while !open_entry(&state_dir) && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if !open_entry(&state_dir) {
        let _ = apply.kill();
        let _ = apply.wait();
        panic!("no create began within 10 s");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = std::process::Command::new("kill")
        .args(["-INT", &apply.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let out = super::outcome(apply.wait_with_output().expect("apply ends"));
    expect(&out, 130);
    assert!(out.stderr.contains("Interrupted"), "{}", out.stderr);

    let made = unique_names(&cloud.servers().await);
    assert!(
        !made.is_empty() && made.len() < COUNT,
        "the creates in flight finish and nothing new starts: {made:?}"
    );
    let state = State::load(&StateDir::at(state_dir, "dev").expect("dir")).expect("state");
    assert!(
        state.journal().is_empty(),
        "every change in flight finished and was recorded: {:?}",
        state.journal().unfinished()
    );
    for name in &made {
        let address = ict::state::Address::new(Kind::Server, name).expect("address");
        assert!(state.resource(&address).is_some(), "{name} is owned");
    }
    let status = cloud.ict(dir.path(), &["lock", "status", "infra.ict"]);
    expect(&status, 0);
    assert_eq!(status.stdout.trim(), "unlocked");

    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    assert_eq!(unique_names(&cloud.servers().await).len(), COUNT);
}
