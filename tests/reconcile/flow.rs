//! The everyday flow on the quickstart: apply is idempotent, destroy keeps what it must,
//! confirmation without a terminal, the state lock, and saved plans.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{expect, local, quickstart, unique_names, Cloud, Running};

#[test]
fn apply_then_plan_has_no_changes() {
    let dir = quickstart();
    let out = local(dir.path(), &["apply", "quickstart.ict", "--yes"]);
    expect(&out, 0);
    assert!(
        out.stdout
            .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."),
        "{}",
        out.stdout
    );

    let out = local(
        dir.path(),
        &["plan", "quickstart.ict", "--detailed-exitcode"],
    );
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);

    // Applying again changes nothing either.
    let out = local(dir.path(), &["apply", "quickstart.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    let state = std::fs::read_to_string(dir.path().join(".ict/dev/state.json")).expect("state");
    for name in [
        "server.db-1",
        "server.web-3",
        "network.backend",
        "ssh_key.deploy",
    ] {
        assert!(state.contains(name), "{name} not in the state: {state}");
    }
    // `ict state list` shows the same, with each server's address.
    let out = local(dir.path(), &["state", "list", "quickstart.ict", "--json"]);
    expect(&out, 0);
    let owned: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let addresses: Vec<&str> = owned
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["address"].as_str().expect("address"))
        .collect();
    assert_eq!(
        addresses,
        [
            "network.backend",
            "server.db-1",
            "server.web-1",
            "server.web-2",
            "server.web-3",
            "ssh_key.deploy"
        ]
    );
    assert!(owned[1]["attributes"]["ip"]
        .as_str()
        .is_some_and(|ip| ip.starts_with("127.")));
    let out = local(dir.path(), &["state", "list", "quickstart.ict"]);
    expect(&out, 0);
    assert!(out.stdout.starts_with("ADDRESS "), "{}", out.stdout);
}

#[test]
fn apply_without_yes_and_without_a_terminal_refuses_at_once() {
    let dir = quickstart();
    let started = Instant::now();
    // stdin is /dev/null: no terminal.
    let out = local(dir.path(), &["apply", "quickstart.ict"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    expect(&out, 1);
    assert!(
        out.stderr.contains("no terminal to confirm on"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    // Nothing was created.
    let out = local(
        dir.path(),
        &["plan", "quickstart.ict", "--detailed-exitcode"],
    );
    expect(&out, 2);
    assert!(out.stdout.contains("Plan: 6 to add"), "{}", out.stdout);

    let out = local(dir.path(), &["destroy", "quickstart.ict"]);
    // Nothing to destroy: no question either.
    expect(&out, 0);
}

#[tokio::test]
async fn unmanaged_servers_survive_apply_and_destroy_which_keeps_protected_ones() {
    let dir = quickstart();
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let stranger = cloud.create_by_hand("hand-made").await;

    let out = cloud.ict(dir.path(), &["plan", "quickstart.ict"]);
    expect(&out, 0);
    let listed = format!(
        "1 object(s) in the account are not managed by ict and will not be touched:\n  server     hand-made (ID {})\n",
        stranger["ID"]
    );
    assert!(out.stdout.contains(&listed), "{}", out.stdout);

    expect(
        &cloud.ict(dir.path(), &["apply", "quickstart.ict", "--yes"]),
        0,
    );
    let names = unique_names(&cloud.servers().await);
    assert_eq!(names, ["db-1", "hand-made", "web-1", "web-2", "web-3"]);
    let out = cloud.ict(dir.path(), &["plan", "quickstart.ict", "--json"]);
    expect(&out, 0);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON plan");
    assert_eq!(plan["steps"], json!([]));
    assert_eq!(
        plan["unmanaged"],
        json!([{"kind": "server", "id": stranger["ID"], "name": "hand-made"}])
    );

    let out = cloud.ict(dir.path(), &["destroy", "quickstart.ict", "--yes"]);
    expect(&out, 0);
    assert!(
        out.stderr.contains("server.db-1 is protected"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("3 destroyed"), "{}", out.stdout);
    let names = unique_names(&cloud.servers().await);
    assert_eq!(names, ["db-1", "hand-made"]);
    // The network and key the protected server uses are kept too.
    let networks = cloud.ok(Method::GET, "/network", None).await;
    assert_eq!(networks.as_array().map(Vec::len), Some(1), "{networks}");
    let keys = cloud.ok(Method::GET, "/sshkey", None).await;
    assert_eq!(keys.as_array().map(Vec::len), Some(1), "{keys}");

    // A second destroy has nothing left to do.
    let out = cloud.ict(dir.path(), &["destroy", "quickstart.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
}

#[test]
fn a_second_apply_fails_at_once_and_names_the_holder() {
    let dir = super::fleet(4);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "3000"]);
    let mut first = Running(
        cloud
            .command(dir.path(), &["apply", "infra.ict", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the first apply"),
    );
    let lock = dir.path().join(".ict/dev/state.lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lock.exists() {
        assert!(
            Instant::now() < deadline,
            "the first apply never took the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    let took = started.elapsed();
    expect(&out, 1);
    assert!(
        took < Duration::from_secs(2),
        "the second apply took {took:?}"
    );
    assert!(out.stderr.contains("ict::state::locked"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("pid {}", first.0.id())),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ict apply infra.ict"), "{}", out.stderr);

    // The first one is unharmed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = first.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the first apply never finished");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!lock.exists());
}

#[tokio::test]
async fn a_saved_plan_applies_and_refuses_once_the_cloud_changed() {
    let dir = quickstart();
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let out = cloud.ict(
        dir.path(),
        &["plan", "quickstart.ict", "--out", "first.plan"],
    );
    expect(&out, 0);
    let out = cloud.ict(dir.path(), &["apply", "first.plan"]);
    expect(&out, 0);
    assert!(out.stdout.contains("Resources: 6 added"), "{}", out.stdout);

    // Change the script's mind about web-1's size, save that plan, then resize web-1 by hand.
    let script = std::fs::read_to_string(dir.path().join("quickstart.ict")).expect("script");
    let changed = script.replace("cpu: 1, ram: 2048", "cpu: 2, ram: 2048");
    assert_ne!(script, changed);
    std::fs::write(dir.path().join("quickstart.ict"), changed).expect("write script");
    let out = cloud.ict(
        dir.path(),
        &["plan", "quickstart.ict", "--out", "second.plan"],
    );
    expect(&out, 0);
    assert!(out.stdout.contains("3 to change"), "{}", out.stdout);
    let web1 = cloud.server("web-1").await;
    let id = web1["ID"].to_string();
    cloud
        .ok(
            Method::PUT,
            &format!("/server/{id}"),
            Some(json!({"RAM": 4096})),
        )
        .await;
    cloud
        .wait_server(&id, |s| s["RAM"] == 4096 && s["State"] == "Active")
        .await;

    let out = cloud.ict(dir.path(), &["apply", "second.plan"]);
    expect(&out, 1);
    assert!(
        out.stderr.contains("the saved plan is stale"),
        "{}",
        out.stderr
    );
    // Nothing was done: web-1 still has 1 CPU and the RAM set by hand.
    let web1 = cloud.server("web-1").await;
    assert_eq!(
        (web1["CPU"].as_u64(), web1["RAM"].as_u64()),
        (Some(1), Some(4096))
    );
}

/// `apply --json` and `destroy --json`: JSON lines — the plan, one line per event, the
/// outcome — and no question, so they need `--yes`.
#[test]
fn apply_and_destroy_json_print_the_plan_every_change_and_the_outcome() {
    let dir = quickstart();
    let out = local(dir.path(), &["apply", "quickstart.ict", "--json"]);
    expect(&out, 1);
    assert!(out.stderr.contains("--json needs --yes"), "{}", out.stderr);

    let lines = |stdout: &str| -> Vec<serde_json::Value> {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let out = local(dir.path(), &["apply", "quickstart.ict", "--json", "--yes"]);
    expect(&out, 0);
    let events = lines(&out.stdout);
    assert_eq!(events[0]["type"], "plan");
    assert_eq!(events[0]["plan"]["summary"]["add"], 6);
    let count = |kind: &str| events.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(
        (count("started"), count("finished")),
        (6, 6),
        "{}",
        out.stdout
    );
    let outcome = events.last().expect("lines");
    assert_eq!(outcome["type"], "outcome");
    assert_eq!(outcome["complete"], true);
    assert_eq!(outcome["exit_code"], 0);
    assert_eq!(outcome["done"].as_array().map(Vec::len), Some(6));

    // db-1 is protected: destroy deletes the web servers, keeps it and what it uses.
    let out = local(
        dir.path(),
        &["destroy", "quickstart.ict", "--json", "--yes"],
    );
    expect(&out, 0);
    let events = lines(&out.stdout);
    assert_eq!(events[0]["plan"]["summary"]["destroy"], 3, "{}", out.stdout);
    assert!(events
        .iter()
        .filter(|e| e["type"] == "finished")
        .all(|e| e["action"] == "delete"));
    assert_eq!(events.last().expect("lines")["complete"], true);
}

/// Next to a resize, `plan` and `apply` show what the server uses now (its exporter, scraped
/// once).
#[test]
fn a_resize_in_the_plan_shows_what_the_server_uses_now() {
    let dir = crate::test::TempProject::new();
    let script = |cpu: u32| {
        format!(
            "server(\"app-1\", #{{ cpu: {cpu}, ram: 1024, disk: 20 }});\n\
             server(\"app-2\", #{{ cpu: 1, ram: 1024, disk: 20 }});\n"
        )
    };
    let file = dir.path().join("infra.ict");
    std::fs::write(&file, script(1)).expect("write");
    expect(&local(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    std::fs::write(&file, script(2)).expect("write");
    let out = local(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    let (_, step) = out
        .stdout
        .split_once("~ server.app-1\n")
        .unwrap_or_else(|| panic!("no resize:\n{}", out.stdout));
    let now = step
        .lines()
        .find(|l| l.trim_start().starts_with("# now:"))
        .unwrap_or_else(|| panic!("no usage line:\n{}", out.stdout));
    assert!(
        now.contains("CPU ") && now.contains("% of 1") && now.contains("memory "),
        "{now}"
    );
    assert_eq!(out.stdout.matches("# now:").count(), 1, "{}", out.stdout);
    let json = local(dir.path(), &["plan", "infra.ict", "--json"]);
    assert!(!json.stdout.contains("now:"), "{}", json.stdout);
    // `apply` shows the same plan before it acts.
    let out = local(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert_eq!(
        out.stdout.matches("# now: CPU ").count(),
        1,
        "{}",
        out.stdout
    );
}

#[test]
fn a_saved_plan_is_private_even_where_a_readable_file_was() {
    use std::os::unix::fs::PermissionsExt as _;
    let test = crate::test::Test::new()
        .write("s.ict", r#"server("web-1");"#)
        .write("saved.plan", "an older plan, readable by all\n")
        .args(&["plan", "s.ict", "--out", "saved.plan"]);
    let saved = test.path().join("saved.plan");
    std::fs::set_permissions(&saved, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    test.success();
    let mode = std::fs::metadata(&saved)
        .expect("saved")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&saved).expect("read");
    assert!(text.starts_with("{\n  \"ict_plan\": "), "{text}");
    let mut names: Vec<String> = std::fs::read_dir(test.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".ict", "s.ict", "saved.plan"],
        "no temporary file left"
    );
}
