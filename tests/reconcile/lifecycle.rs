//! Issue 18: change the script without losing servers — `moved`, adoption by ID, outputs,
//! targeted destroy, `ict state mv | import | rm`.

use reqwest::Method;
use serde_json::Value;

use ict::state::{State, StateDir};

use super::{expect, Cloud};

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn rewrite(dir: &tempfile::TempDir, script: &str) {
    std::fs::write(dir.path().join("infra.ict"), script).unwrap();
}

fn owned(dir: &tempfile::TempDir) -> State {
    State::load(&StateDir::at(dir.path().join(".ict/dev"), "dev").unwrap()).unwrap()
}

fn id_of(state: &State, kind: &str, name: &str) -> Option<u64> {
    let kind: ict::state::Kind = kind.parse().unwrap();
    state
        .resource(&ict::state::Address::new(kind, name).unwrap())
        .map(|r| r.id)
}

#[tokio::test]
async fn moved_keeps_the_server_its_id_and_ip_also_for_a_server_made_by_a_module() {
    let module = "fn web(name) { server(name, #{ cpu: 1 }) }\n";
    let dir = project(&[
        ("modules/tier.ict", module),
        (
            "infra.ict",
            "import \"tier\" as t;\nt::web(\"web-1\");\nserver(\"db\", #{});\n",
        ),
    ]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let before = cloud.server("web-1").await;
    rewrite(
        &dir,
        "import \"tier\" as t;\nlet w = t::web(\"shop-web-1\");\nmoved(\"web-1\", w);\nserver(\"db\", #{});\n",
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(
        out.stdout
            .contains("~ server.web-1 → server.shop-web-1  (moved: the same object"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to move."),
        "{}",
        out.stdout
    );
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let state = owned(&dir);
    assert_eq!(id_of(&state, "server", "shop-web-1"), before["ID"].as_u64());
    assert_eq!(id_of(&state, "server", "web-1"), None);
    // The same server, same IP, nothing created or deleted.
    let servers = cloud.servers().await;
    assert_eq!(servers.len(), 2);
    let same = cloud
        .ok(Method::GET, &format!("/server/{}", before["ID"]), None)
        .await;
    assert_eq!(same["IP"], before["IP"]);
    let actions = cloud
        .ok(
            Method::GET,
            &format!("/server/{}/action", before["ID"]),
            None,
        )
        .await;
    let kinds: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["Type"].as_str())
        .collect();
    assert_eq!(kinds, ["Create"], "only its own creation: {actions}");
    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);
}

#[tokio::test]
async fn state_mv_rebinds_by_hand() {
    let dir = project(&[("infra.ict", "server(\"web-1\", #{});\n")]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let id = id_of(&owned(&dir), "server", "web-1").unwrap();
    rewrite(&dir, "server(\"shop-web-1\", #{});\n");
    let out = cloud.ict(
        dir.path(),
        &["state", "mv", "infra.ict", "web-1", "shop-web-1"],
    );
    expect(&out, 0);
    assert_eq!(
        out.stdout,
        format!("Moved server.web-1 to server.shop-web-1 (ID {id}): the cloud object is kept.\n")
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&out, 0);
}

#[tokio::test]
async fn adoption_by_id_of_a_server_whose_name_is_shared_and_by_an_ambiguous_name_is_refused() {
    let dir = project(&[("infra.ict", "server(\"db\", #{ adopt: true });\n")]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let one = cloud.create_by_hand("db").await;
    let two = cloud.create_by_hand("db").await;
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 1);
    for server in [&one, &two] {
        assert!(
            out.stderr
                .contains(&format!("candidate: ID {}, created", server["ID"])),
            "{}",
            out.stderr
        );
    }
    rewrite(
        &dir,
        &format!("server(\"db\", #{{ adopt: {} }});\n", two["ID"]),
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(
        out.stdout
            .contains(&format!("<= server.db  (adopted by ID {})", two["ID"])),
        "{}",
        out.stdout
    );
    // The plan shows what adopting changes; nothing changes before apply.
    assert!(
        out.stdout.contains("cpu  1 → 1") || out.stdout.contains("ram"),
        "{}",
        out.stdout
    );
    assert!(owned(&dir).resources().is_empty());
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    assert_eq!(id_of(&owned(&dir), "server", "db"), two["ID"].as_u64());
    let untouched = cloud
        .ok(Method::GET, &format!("/server/{}", one["ID"]), None)
        .await;
    assert_eq!(untouched, one, "the other `db` is untouched");
}

#[tokio::test]
async fn state_import_takes_over_by_id_and_state_rm_lets_go() {
    let dir = project(&[("infra.ict", "server(\"db\", #{});\n")]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let panel = cloud.create_by_hand("legacy").await;
    let out = cloud.ict(
        dir.path(),
        &[
            "state",
            "import",
            "infra.ict",
            "db",
            &panel["ID"].to_string(),
        ],
    );
    expect(&out, 0);
    assert!(
        out.stdout.starts_with(&format!(
            "Imported server \"legacy\" (ID {}) as server.db.",
            panel["ID"]
        )),
        "{}",
        out.stdout
    );
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    expect(&out, 0);
    assert!(!out.stdout.contains("+ server.db"), "{}", out.stdout);
    // `state rm`: the server stays, running, and is listed as unmanaged.
    let out = cloud.ict(dir.path(), &["state", "rm", "infra.ict", "db"]);
    expect(&out, 0);
    let still = cloud
        .ok(Method::GET, &format!("/server/{}", panel["ID"]), None)
        .await;
    assert_eq!(still["IsPowerOn"], Value::Bool(true));
    let out = cloud.ict(dir.path(), &["plan", "infra.ict"]);
    assert!(
        out.stdout
            .contains(&format!("  server     legacy (ID {})", panel["ID"])),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn outputs_survive_a_fresh_shell_and_a_secret_is_sensitive() {
    let script = "let db = server(\"db\", #{});\noutput(\"db_ip\", db.ip);\noutput(\"dsn\", `postgres://app:${secret(\"DB_PASSWORD\")}@${db.ip}/app`);\noutput(\"size\", 3);\n";
    let dir = project(&[("infra.ict", script)]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    let mut apply = cloud.command(dir.path(), &["apply", "infra.ict", "--yes"]);
    apply.env("DB_PASSWORD", "s3cret-pw");
    let out = super::outcome(apply.output().unwrap());
    expect(&out, 0);
    let ip = cloud.server("db").await["IP"].as_str().unwrap().to_owned();
    assert!(
        out.stdout.ends_with(&format!(
            "Outputs:\n\n  db_ip = {ip}\n  dsn   = (sensitive)\n  size  = 3\n"
        )),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("s3cret-pw"));
    let state_text = std::fs::read_to_string(dir.path().join(".ict/dev/state.json")).unwrap();
    assert!(!state_text.contains("s3cret-pw"), "no secret in the state");
    // A fresh shell: no token, no cloud — the state is enough.
    let out = super::local(dir.path(), &["output", "infra.ict"]);
    expect(&out, 0);
    assert_eq!(
        out.stdout,
        format!("\nOutputs:\n\n  db_ip = {ip}\n  dsn   = (sensitive)\n  size  = 3\n")
    );
    let out = super::local(dir.path(), &["output", "infra.ict", "db_ip"]);
    assert_eq!(out.stdout, format!("{ip}\n"));
    let out = super::local(dir.path(), &["output", "infra.ict", "--json"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["dsn"]["value"], "(sensitive)");
    assert_eq!(json["size"]["value"], 3);
    let mut by_name = super::base_command(dir.path(), &["output", "infra.ict", "dsn"]);
    by_name.env("DB_PASSWORD", "s3cret-pw");
    let out = super::outcome(by_name.output().unwrap());
    assert_eq!(out.stdout, format!("postgres://app:s3cret-pw@{ip}/app\n"));
}

#[tokio::test]
async fn targeted_destroy_removes_exactly_the_targets_and_what_depends_on_them() {
    let script = r#"
let n = network("backend");
network("spare");
let web = server("web", #{ networks: [n] });
server("api", #{ depends_on: [web] });
server("db", #{ networks: [n], protect: true });
server("lone", #{});
dns_record(#{ zone: "example.org", name: "www", type: "A", value: web.ip });
"#;
    let dir = project(&[("infra.ict", script)]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let out = cloud.ict(
        dir.path(),
        &[
            "destroy",
            "infra.ict",
            "--yes",
            "--target",
            "network.backend",
        ],
    );
    expect(&out, 0);
    assert!(
        out.stderr.contains("server.db is protected"),
        "{}",
        out.stderr
    );
    let mut names: Vec<String> = cloud
        .servers()
        .await
        .iter()
        .map(|s| s["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["db", "lone"],
        "web (uses backend) and api (depends on web) are gone"
    );
    let state = owned(&dir);
    let mut left: Vec<String> = state.resources().keys().map(ToString::to_string).collect();
    left.sort();
    assert_eq!(
        left,
        [
            "dns_zone.example.org",
            "network.backend",
            "network.spare",
            "server.db",
            "server.lone"
        ],
        "backend stays: the protected db still uses it; the DNS record of web went with web"
    );
    let out = cloud.ict(
        dir.path(),
        &["destroy", "infra.ict", "--yes", "--target", "nothing-here"],
    );
    expect(&out, 1);
    assert!(
        out.stderr
            .contains("`--target nothing-here` matches nothing"),
        "{}",
        out.stderr
    );
}

/// Issue 20 item 6: `image(name, #{ from })` makes a template of a server once it exists, a
/// server is created from it in the same apply, the next plan has nothing to do, and the
/// template is deleted when no longer declared (and by `destroy`).
#[tokio::test]
async fn a_declared_image_is_made_used_and_deleted() {
    let script = "let db = server(\"db-1\", #{});\nlet golden = image(\"db-golden\", #{ from: db });\nserver(\"db-2\", #{ image: golden });\n";
    let dir = project(&[("infra.ict", script)]);
    let cloud = Cloud::start(&dir.path().join("cloud.json"), &["--task-delay", "20"]);
    expect(&cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]), 0);
    let template = id_of(&owned(&dir), "image", "db-golden").expect("the image is owned");
    let copy = cloud.server("db-2").await;
    assert_eq!(copy["Image"], "db-golden");
    let plan = cloud.ict(dir.path(), &["plan", "infra.ict", "--detailed-exitcode"]);
    expect(&plan, 0);

    rewrite(
        &dir,
        "server(\"db-1\", #{});\nserver(\"db-2\", #{ image: \"db-golden\" });\n",
    );
    let out = cloud.ict(dir.path(), &["apply", "infra.ict", "--yes"]);
    expect(&out, 0);
    assert!(out.stdout.contains("- image.db-golden\n"), "{}", out.stdout);
    let images = cloud.ok(Method::GET, "/image", None).await;
    let ids: Vec<&Value> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["ID"])
        .collect();
    assert!(!ids.contains(&&Value::from(template)), "{images}");
    assert_eq!(id_of(&owned(&dir), "image", "db-golden"), None);
}
