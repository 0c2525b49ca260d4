//! The inventory: `ict inventory --script` writes an Ansible dynamic-inventory script that
//! `ansible-inventory` reads (the `--list`/`--host` protocol); `--list` is JSON with `_meta`.

use std::process::Command;

use super::{ict_code, ips, project, testable};

const SCRIPT: &str = r#"
let web = group("web", #{ vars: #{ http_port: 8080 } });
let db = group("db");
group("prod", #{ children: [web, db] });
for i in 1..=2 {
    server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 20, groups: [web], vars: #{ index: i } });
}
server("db-1", #{ cpu: 1, ram: 1024, disk: 20, groups: [db] });
server("lone", #{ cpu: 1, ram: 1024, disk: 20 });
"#;

#[test]
fn ansible_inventory_reads_the_dynamic_inventory_with_the_declared_groups() {
    if !testable() {
        return;
    }
    // No SSH is needed: the emulator runs without sshds, so no lock either.
    let test = project(SCRIPT, &[]);
    ict_code(test.path(), false, &["apply", "infra.ict", "--yes"], 0);

    let list = ict_code(test.path(), false, &["inventory", "--list", "infra.ict"], 0);
    let json: serde_json::Value = serde_json::from_str(&list.stdout).expect("valid JSON");
    let hostvars = json["_meta"]["hostvars"]
        .as_object()
        .expect("_meta.hostvars");
    assert_eq!(hostvars.len(), 4, "{json}");
    assert_eq!(json["web"]["hosts"], serde_json::json!(["web-1", "web-2"]));
    assert_eq!(json["web"]["vars"]["http_port"], 8080);
    assert_eq!(hostvars["web-2"]["index"], 2);

    let host = ict_code(
        test.path(),
        false,
        &["inventory", "--host", "web-1", "infra.ict"],
        0,
    );
    let vars: serde_json::Value = serde_json::from_str(&host.stdout).expect("valid JSON");
    let ips = ips(test.path());
    let web1 = &ips.iter().find(|(n, _)| n == "web-1").expect("web-1").1;
    assert_eq!(vars["ansible_host"].as_str(), Some(web1.as_str()));

    let script = ict_code(
        test.path(),
        false,
        &["inventory", "--script", "infra.ict"],
        0,
    );
    let path = test.path().join(script.stdout.trim());
    assert!(path.is_file(), "{}", path.display());
    let run = |args: &[&str]| {
        let out = Command::new("ansible-inventory")
            .arg("-i")
            .arg(&path)
            .args(args)
            .current_dir(test.path())
            .env("ICT_EMULATOR_SSH", "0")
            .env("ANSIBLE_INVENTORY_ENABLED", "script")
            .env("ANSIBLE_NOCOLOR", "1")
            .output()
            .expect("ansible-inventory runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(!stderr.contains("WARNING"), "{stderr}");
        stdout
    };
    let graph = run(&["--graph"]);
    for expected in [
        "  |--@ungrouped:\n  |  |--lone\n",
        "  |--@prod:\n  |  |--@web:\n  |  |  |--web-1\n  |  |  |--web-2\n  |  |--@db:\n  |  |  |--db-1\n",
    ] {
        assert!(graph.contains(expected), "`{expected}` missing:\n{graph}");
    }
    let listed: serde_json::Value = serde_json::from_str(&run(&["--host", "web-2"])).expect("JSON");
    assert_eq!(listed["index"], 2);
    assert_eq!(listed["http_port"], 8080, "group vars reach the host");
}
