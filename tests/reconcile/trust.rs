//! Issue 13, "Trust": ict never touches what it does not own, never loses a server, and a
//! plan means what it says. One test per item, named after what it guards; the randomized
//! crash test is in `crash_random.rs`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use ict::state::{Kind, State, StateDir};

use super::{expect, Cloud, Running};

/// A project folder with `script` as `infra.ict`.
fn project(script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("infra.ict"), script).expect("write script");
    dir
}

fn state(dir: &std::path::Path) -> State {
    State::load(&StateDir::at(dir.join(".ict/dev"), "dev").expect("state dir")).expect("state")
}

/// Polls `check` every 10 ms for at most `limit`.
async fn until(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Every server's JSON, by ID.
async fn servers_by_id(cloud: &Cloud) -> std::collections::BTreeMap<u64, Value> {
    cloud
        .servers()
        .await
        .into_iter()
        .map(|s| (s["ID"].as_u64().unwrap(), s))
        .collect()
}

#[tokio::test]
async fn a_crash_during_a_create_never_takes_over_a_panel_made_server_of_that_name() {
    let dir = project(r#"server("legacy-db", #{ cpu: 2, ram: 2048, disk: 20 });"#);
    // Slow requests, so that the kill lands while ict's POST /server is in flight.
    let cloud = Cloud::start(
        &dir.path().join("cloud.json"),
        &["--task-delay", "300", "--latency", "150"],
    );
    let legacy = cloud.create_by_hand("legacy-db").await;
    let legacy_id = legacy["ID"].as_u64().unwrap();
    let before = cloud
        .ok(Method::GET, &format!("/server/{legacy_id}"), None)
        .await;
    let mut interrupted_creates = 0;
    // Killed while the create is being journaled, in flight, or just answered.
    for kill_after in [0, 60, 140] {
        let spawned = std::time::SystemTime::now();
        let mut apply = Running(
            cloud
                .command(dir.path(), &["apply", "infra.ict", "--yes"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start apply"),
        );
        let state_dir = dir.path().join(".ict/dev");
        // This apply's own create: the log it writes (an earlier kill's log is folded into
        // the state when the store opens).
        let fresh_log = || {
            std::fs::metadata(state_dir.join("state.log"))
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= spawned)
        };
        let create_open = until(Duration::from_secs(10), async || {
            (fresh_log() && super::crash::open_entry(&state_dir))
                || apply.0.try_wait().ok().flatten().is_some()
        })
        .await;
        assert!(create_open, "the apply never began its create");
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        apply.0.kill().expect("kill -9");
        apply.0.wait().expect("reaped");
        interrupted_creates += state(dir.path())
            .journal()
            .unfinished()
            .iter()
            .filter(|e| e.op.action == ict::state::Action::Create)
            .count();
        let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
        expect(&out, 0);
        assert!(
            !out.stdout.contains(&format!("ID {legacy_id})"))
                || out.stdout.contains(&format!("legacy-db (ID {legacy_id})")),
            "the plan never names the panel's server as ict's: {}",
            out.stdout
        );
        assert!(!out.stdout.contains("cpu      1 → 2"), "{}", out.stdout);
    }
    assert!(
        interrupted_creates > 0,
        "no kill landed during a create: the test proves nothing"
    );
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    let after = cloud
        .ok(Method::GET, &format!("/server/{legacy_id}"), None)
        .await;
    assert_eq!(after, before, "the panel's server is untouched");
    let owned = state(dir.path());
    let address = ict::state::Address::new(Kind::Server, "legacy-db").unwrap();
    let mine = owned
        .resource(&address)
        .expect("ict owns its own legacy-db")
        .id;
    assert_ne!(mine, legacy_id);
    // No orphan: every server is the panel's or ict's.
    let ids: Vec<u64> = servers_by_id(&cloud).await.into_keys().collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let out = cloud.ict(dir.path(), &["destroy", "infra.ict", "--yes"]);
    expect(&out, 0);
    let ids: Vec<u64> = servers_by_id(&cloud).await.into_keys().collect();
    assert_eq!(ids, [legacy_id], "destroy deletes only ict's server");
}

#[tokio::test]
async fn an_ambiguous_recovery_is_refused_naming_the_candidates_and_state_forget_resolves_it() {
    let dir = project(r#"server("web", #{});"#);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    // A journal entry of a create begun when no `web` existed; since then two appeared.
    {
        let state_dir = StateDir::at(dir.path().join(".ict/dev"), "dev").unwrap();
        let lock = ict::state::Lock::acquire(&state_dir, "test").unwrap().lock;
        let mut store = ict::state::Store::open(lock).unwrap();
        let address = ict::state::Address::new(Kind::Server, "web").unwrap();
        let op = ict::state::JournalOp::new(address, ict::state::Action::Create)
            .with("name", "web")
            .with_existing([]);
        store.begin(op).unwrap();
        store.close().unwrap();
    }
    let one = cloud.create_by_hand("web").await;
    let two = cloud.create_by_hand("web").await;
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 1);
    for server in [&one, &two] {
        assert!(
            out.stderr.contains(&format!(
                "candidate: ID {}, server \"web\", created",
                server["ID"]
            )),
            "{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("ict state forget FILE server.web"),
        "{}",
        out.stderr
    );
    let out = cloud.ict(dir.path(), &["state", "forget", "infra.ict", "server.web"]);
    expect(&out, 0);
    assert_eq!(
        out.stdout,
        "Forgot server.web (1 unfinished operation(s)). ict no longer manages it: whatever exists in the cloud stays there and is listed as unmanaged.\n"
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(out.stdout.contains("+ server.web"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("2 object(s) in the account are not managed"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn servers_still_being_created_are_shown_as_such_and_apply_waits_for_them() {
    let dir = project("for i in 1..=3 { server(`app-${i}`, #{}); }");
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "1500"]);
    let mut apply = Running(
        cloud
            .command(dir.path(), &["apply", "infra.ict", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apply"),
    );
    let all_posted = until(Duration::from_secs(10), async || {
        let owned = state(dir.path()).resources().len();
        owned == 3
    })
    .await;
    assert!(all_posted, "the three creates were recorded");
    // A plan made now (during the apply) sees three servers in state New.
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(!out.stdout.contains("power"), "{}", out.stdout);
    assert_eq!(
        out.stdout
            .matches("being created: apply waits until it is active")
            .count(),
        3,
        "{}",
        out.stdout
    );
    // Killed before the servers are active: the next apply waits and records their IPs.
    apply.0.kill().unwrap();
    apply.0.wait().unwrap();
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(!out.stderr.contains("task in progress"), "{}", out.stderr);
    for (address, record) in state(dir.path()).resources() {
        assert!(
            record.attributes["ip"].is_string(),
            "{address}: {:?}",
            record.attributes
        );
    }
    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);
}

#[tokio::test]
async fn destroy_forgets_objects_already_gone_and_says_so() {
    let dir = project("server(\"a\", #{}); server(\"b\", #{}); network(\"net\");");
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let b = cloud.server("b").await;
    cloud
        .ok(Method::DELETE, &format!("/server/{}", b["ID"]), None)
        .await;
    let out = cloud.ict(dir.path(), &["destroy", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(
        out.stdout
            .contains("- server.b  (already deleted outside ict: forgotten from the state)"),
        "{}",
        out.stdout
    );
    assert!(state(dir.path()).resources().is_empty());
    let out = cloud.ict(dir.path(), &["destroy", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
}

#[tokio::test]
async fn destroy_deletes_servers_before_the_network_they_use_in_one_run() {
    let dir = project(
        r#"let n = network("backend");
           for i in 1..=3 { server(`app-${i}`, #{ networks: [n] }); }"#,
    );
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let out = cloud.ict(dir.path(), &["destroy", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(cloud.servers().await.is_empty());
    assert_eq!(cloud.ok(Method::GET, "/network", None).await, json!([]));
    assert!(state(dir.path()).resources().is_empty());
}

#[tokio::test]
async fn run_check_shows_the_plan_and_changes_nothing_in_the_cloud() {
    let dir = project(r#"server("web", #{ cpu: 1 });"#);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(
        &cloud.ict(dir.path(), &["run", "infra.ict", "--yes", "--no-metrics"]),
        0,
    );
    let before = servers_by_id(&cloud).await;
    std::fs::write(
        dir.path().join("infra.ict"),
        r#"server("web", #{ cpu: 2 }); server("new", #{});"#,
    )
    .unwrap();
    for flags in [&["--check"][..], &["--check", "--diff"][..]] {
        let mut args = vec!["run", "infra.ict", "--yes", "--no-metrics"];
        args.extend(flags);
        let out = cloud.ict(dir.path(), &args);
        expect(&out, 0);
        assert!(out.stdout.contains("~ server.web"), "{}", out.stdout);
        assert!(out.stdout.contains("+ server.new"), "{}", out.stdout);
        assert!(
            out.stderr
                .contains("--check: nothing was changed in the cloud."),
            "{}",
            out.stderr
        );
        assert_eq!(servers_by_id(&cloud).await, before, "{flags:?}");
    }
}

#[tokio::test]
async fn an_unknown_data_centre_pool_or_image_is_a_plan_error_listing_the_choices() {
    let cloud = Cloud::start(&tempfile::tempdir().unwrap().path().join("c.json"), &[]);
    let cases = [
        (
            r#"server("a", #{ dc: "Mars" });"#,
            "data centre `Mars` is not in 1cloud's catalogue",
            "valid: SdnSpb,",
        ),
        (
            r#"server("a", #{ dc: "SdnSpb2" });"#,
            "data centre `SdnSpb2` has no base pool for server `a`",
            "set `high_performance: true`",
        ),
        (
            r#"server("a", #{ image: "Ubuntu20.04x65" });"#,
            "image `Ubuntu20.04x65` is not in 1cloud's catalogue",
            "did you mean `Ubuntu20.04x64`?",
        ),
    ];
    for (script, message, help) in cases {
        let dir = project(script);
        let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
        expect(&out, 1);
        assert!(out.stderr.contains(message), "{script}: {}", out.stderr);
        assert!(out.stderr.contains(help), "{script}: {}", out.stderr);
        assert!(!out.stderr.contains("0 problems"), "{}", out.stderr);
        assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    }
}

#[tokio::test]
async fn a_failed_replacement_create_keeps_the_old_server() {
    let dir = project(r#"server("web", #{ image: "Ubuntu20.04x64" });"#);
    let state_file = dir.path().join("cloud.json");
    let mut cloud = Cloud::start(&state_file, &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let old = cloud.server("web").await;
    std::fs::write(
        dir.path().join("infra.ict"),
        r#"server("web", #{ image: "Debian11x64" });"#,
    )
    .unwrap();
    cloud.restart_with(&["--task-delay", "20", "--broken-path", "POST /server"]);
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 3);
    assert!(
        out.stdout
            .contains("the new server is created before the old one"),
        "{}",
        out.stdout
    );
    let now = cloud.server("web").await;
    assert_eq!(now["ID"], old["ID"], "the old server is still there");
    let owned = state(dir.path());
    let address = ict::state::Address::new(Kind::Server, "web").unwrap();
    assert_eq!(owned.resource(&address).map(|r| r.id), old["ID"].as_u64());
    // Once creates work again, the replacement completes: one server, the new one.
    cloud.restart_with(&["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let new = cloud.server("web").await;
    assert_ne!(new["ID"], old["ID"]);
    assert_eq!(new["Image"], "Debian11x64");
    assert!(state(dir.path()).deposed().is_empty());
}

#[tokio::test]
async fn a_failing_list_of_a_kind_the_script_does_not_use_does_not_block() {
    let dir = project(r#"server("web", #{});"#);
    let cloud = Cloud::start(
        &dir.path().join("cloud.json"),
        &["--task-delay", "20", "--broken-path", "/dns"],
    );
    for command in [
        &["plan", "infra.ict"][..],
        &["apply", "infra.ict", "--yes"],
        &["destroy", "infra.ict", "--yes"],
    ] {
        let out = cloud.ict(dir.path(), command);
        expect(&out, 0);
    }
    std::fs::write(
        dir.path().join("infra.ict"),
        r#"dns_record(#{ zone: "example.org", name: "www", type: "A", value: "203.0.113.7" });"#,
    )
    .unwrap();
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 1);
    assert!(
        out.stderr.contains("cannot read the account's DNS domains"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("deleted outside ict"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_server_deleted_outside_ict_is_reported_as_deleted_not_as_not_created() {
    let dir = project(r#"server("web", #{}); server("later", #{});"#);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(
        &cloud.ict(
            dir.path(),
            &["apply", "infra.ict", "--yes", "--target", "web"],
        ),
        0,
    );
    let web = cloud.server("web").await;
    cloud
        .ok(Method::DELETE, &format!("/server/{}", web["ID"]), None)
        .await;
    let out = cloud.ict(dir.path(), &["metrics", "infra.ict", "--json"]);
    expect(&out, 0);
    let rows: Value = serde_json::from_str(&out.stdout).expect("JSON rows");
    let errors: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        errors,
        [
            "deleted outside ict (run `ict apply` to create it again)",
            "not created yet (run `ict apply`)"
        ]
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    assert!(
        out.stdout.contains("+ server.web  (deleted outside ict)"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn servers_named_in_cyrillic_or_with_spaces_can_be_adopted_and_shown() {
    let dir =
        project(r#"server("db server", #{ adopt: true }); server("Сервер-1", #{ adopt: true });"#);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    for name in ["db server", "Сервер-1"] {
        cloud.create_by_hand(name).await;
    }
    let before = servers_by_id(&cloud).await;
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("<= server.db server"), "{}", out.stdout);
    assert!(out.stdout.contains("<= server.Сервер-1"), "{}", out.stdout);
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
    assert!(
        !out.stdout.contains("not managed by ict"),
        "adopted, so not unmanaged: {}",
        out.stdout
    );
    let listed = cloud.ict(dir.path(), &["cloud", "servers"]);
    for name in ["db server", "Сервер-1"] {
        assert!(listed.stdout.contains(name), "{}", listed.stdout);
    }
    let inventory = cloud.ict(dir.path(), &["inventory", "infra.ict"]);
    assert!(
        inventory.stdout.contains("    \"db server\":\n"),
        "{}",
        inventory.stdout
    );
    assert!(
        inventory.stdout.contains("    \"Сервер-1\":\n"),
        "{}",
        inventory.stdout
    );
    let ids: Vec<u64> = before.into_keys().collect();
    let owned: Vec<u64> = state(dir.path())
        .resources()
        .values()
        .map(|r| r.id)
        .collect();
    assert_eq!(owned.len(), 2);
    assert!(owned.iter().all(|id| ids.contains(id)));
}
