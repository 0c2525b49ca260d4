//! `kill -9` of ict in the middle of an apply: the journal, the plan's recovery of unfinished
//! creates by name and the client's "look before re-creating" leave no duplicates.

use std::process::Stdio;
use std::time::Duration;

use super::{expect, fleet, unique_names, Cloud, Running};

#[tokio::test]
async fn killing_apply_at_any_point_then_rerunning_gives_exactly_the_declared_servers() {
    const COUNT: usize = 30;
    let dir = fleet(COUNT);
    // 30 servers, 10 at a time, 400 ms per task: an undisturbed apply takes about 1.5 s.
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "400"]);
    for after_ms in [300, 800, 1500] {
        let mut apply = Running(
            cloud
                .command(dir.path(), &["apply", "infra.ict", "--yes"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start apply"),
        );
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        apply.0.kill().expect("kill -9");
        apply.0.wait().expect("reaped");
        unique_names(&cloud.servers().await);
    }
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
    // Every server is owned by its own address, and the journal is empty.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".ict/dev/state.json")).expect("state"),
    )
    .expect("state JSON");
    let text = state.to_string();
    for server in &servers {
        assert!(
            text.contains(&server["ID"].to_string()),
            "{} not owned: {text}",
            server["ID"]
        );
    }
}
