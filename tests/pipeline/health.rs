//! The health check after a restart: a commit whose app starts but never listens passes its
//! stages, fails `health`, and is rolled back automatically — `current` points at the
//! previous release again, which keeps serving, the run exits 3 and is recorded (and
//! notified) as failed at `health` with the app log's tail.

use std::path::Path;

use super::{http_get, wait_for_app, Install, Repo};
use crate::deploy::{cloud_ict, emulator_with_ssh, project, testable};

fn script(repo: &Repo, install: &Install, notice_file: &Path) -> String {
    format!(
        r#"
let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
server("web-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }});
pipeline("hello", #{{
    repo: "{}",
    preset: "python",
    environments: #{{ dev: #{{ refs: ["main"], hosts: "web-1" }} }},
    env: #{{ PORT: "8082" }},
    service: #{{ command: "echo starting; exec python3 app.py", health: "http", path: "/", timeout: "4s" }},
    path: "{}",
    user: "{}",
    notify: #{{ command: "cat > {}" }},
}});
"#,
        repo.url(),
        install.path().display(),
        install.user,
        notice_file.display()
    )
}

#[test]
fn an_app_that_never_answers_is_rolled_back_automatically() {
    if !testable() {
        return;
    }
    let sources = tempfile::tempdir().expect("tmp");
    let repo = Repo::new(sources.path());
    let install = Install::new("ictpipehealth");
    let notice_file = sources.path().join("notice.json");
    let test = project(&script(&repo, &install, &notice_file), &[]);
    let dir = test.path();
    let cloud = emulator_with_ssh(dir);
    let ict = |args: &[&str], code| cloud_ict(&cloud, dir, args, code).stdout;
    ict(&["apply", "infra.ict", "--yes"], 0);
    let inventory: serde_json::Value =
        serde_json::from_str(&ict(&["inventory", "--list", "infra.ict"], 0)).expect("inventory");
    let ip = inventory["_meta"]["hostvars"]["web-1"]["ansible_host"]
        .as_str()
        .expect("ip")
        .to_owned();
    let addr = format!("{ip}:8082");

    let out = ict(&["pipeline", "run", "infra.ict", "hello"], 0);
    assert!(out.contains("web-1 | health | ✓ passed"), "{out}");
    let first = install.current(dir);
    assert_eq!(wait_for_app(&addr), format!("hello from {first}"));

    // The app starts (and stays up) but never listens: its tests still pass.
    repo.edit(
        "app.py",
        "http.server.HTTPServer(address, Handler).serve_forever()",
        "import time; time.sleep(3600)",
    );
    repo.commit("forget to listen");
    let out = ict(&["pipeline", "run", "infra.ict", "hello"], 3);
    assert!(out.contains("web-1 | test | ✓ passed"), "{out}");
    assert!(out.contains("web-1 | health | ✗ FAILED"), "{out}");
    assert!(
        out.contains(&format!("web-1 | current → {first} again")),
        "{out}"
    );
    assert!(out.contains("FAILED at stage `health` on web-1"), "{out}");
    assert_eq!(install.current(dir), first);
    assert_eq!(install.releases(dir), std::slice::from_ref(&first));
    assert_eq!(wait_for_app(&addr), format!("hello from {first}"));
    assert_eq!(
        http_get(&addr).as_deref(),
        Some(format!("hello from {first}").as_str())
    );

    let notice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&notice_file).expect("notified"))
            .expect("json");
    assert_eq!(
        (notice["outcome"].as_str(), notice["failed_stage"].as_str()),
        (Some("failed"), Some("health"))
    );
    let tail = notice["log_tail"].as_str().unwrap_or_default();
    assert!(
        tail.contains("did not answer (HTTP)") && tail.contains("the end of the app log"),
        "{tail}"
    );
    let out = ict(&["pipeline", "status", "infra.ict", "hello"], 0);
    assert!(out.contains(&format!("current release {first}")), "{out}");
    assert!(out.contains("failed: health on web-1"), "{out}");
}
