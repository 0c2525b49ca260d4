//! The inventory: `ict inventory --script` writes an Ansible dynamic-inventory script that
//! `ansible-inventory` reads (the `--list`/`--host` protocol); `--list` is JSON with `_meta`.
//! `ict run` writes it too, and pins every host key, so Ansible works from it at once.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use super::{cloud_ict, emulator_with_ssh, ict_code, ips, project, testable};

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
            .env("PATH", crate::test::path())
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
    // One `ansible-inventory --list`: the groups as declared, and each host's variables with
    // its groups' merged in.
    let listed: serde_json::Value = serde_json::from_str(&run(&["--list"])).expect("JSON");
    assert_eq!(listed["ungrouped"]["hosts"], serde_json::json!(["lone"]));
    assert_eq!(listed["prod"]["children"], serde_json::json!(["web", "db"]));
    assert_eq!(
        listed["web"]["hosts"],
        serde_json::json!(["web-1", "web-2"])
    );
    assert_eq!(listed["db"]["hosts"], serde_json::json!(["db-1"]));
    let web2 = &listed["_meta"]["hostvars"]["web-2"];
    assert_eq!(web2["index"], 2);
    assert_eq!(web2["http_port"], 8080, "group vars reach the host");
}

/// Issue 16 item 4: after `ict run` of a script with no playbook, `ansible -i
/// .ict/dev/inventory all -m ping` works with no other step: the inventory script is there,
/// every host key is pinned, and the key it names is private (a 0600 copy of the 0644 key the
/// project holds, which stays as it was).
#[test]
fn ansible_pings_every_server_from_the_inventory_ict_run_wrote() {
    if !testable() {
        return;
    }
    let test = project(
        r#"let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
for i in 1..=2 { server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] }); }
"#,
        &[],
    );
    let dir = test.path();
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path).expect("file").permissions().mode() & 0o777
    };
    assert_eq!(mode(&dir.join("keys/deploy")), 0o644, "as checked out");
    // The servers keep answering after `ict run` ends (as with the project's emulator).
    let cloud = emulator_with_ssh(dir);
    cloud_ict(
        &cloud,
        dir,
        &["run", "infra.ict", "--yes", "--no-metrics"],
        0,
    );
    let known_hosts = std::fs::read_to_string(dir.join(".ict/dev/known_hosts")).expect("pins");
    assert_eq!(known_hosts.lines().count(), 2, "{known_hosts}");

    let out = Command::new("ansible")
        .env("PATH", crate::test::path())
        .args(["-i", ".ict/dev/inventory", "all", "-m", "ping", "-o"])
        .current_dir(dir)
        .env("ONECLOUD_API_URL", &cloud.url)
        .env("ONECLOUD_TOKEN", crate::reconcile::TOKEN)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let mut pongs: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" | SUCCESS => ") && l.contains("\"ping\": \"pong\""))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    pongs.sort_unstable();
    assert_eq!(pongs, ["web-1", "web-2"], "{text}");

    let list = cloud_ict(&cloud, dir, &["inventory", "--list", "infra.ict"], 0);
    let json: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let key = json["all"]["vars"]["ansible_ssh_private_key_file"]
        .as_str()
        .expect("a key file");
    assert_eq!(key, dir.join(".ict/dev/identity").display().to_string());
    assert_eq!(mode(std::path::Path::new(key)), 0o600);
    assert_eq!(
        mode(&dir.join("keys/deploy")),
        0o644,
        "the project's key is untouched"
    );
}
