//! A template of an emulated server carries its disk: a file written on `db-1` before an
//! `image` schedule ran is on `db-2`, made from that template, while `db-2` has its own
//! hostname, host key and login keys (issue 21's `image` action, issue 20 item 6).

use super::{exec_on, ict_code, project, testable};

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
server("db-1", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
schedule("db-image", #{ cron: "30 3 * * *", action: "image", servers: "db-1", keep: 1 });
"#;

#[test]
fn a_server_made_from_a_template_starts_with_its_disk() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    exec_on(dir, "infra.ict", "db-1", "echo kept > /root/marker");
    let run = ict_code(
        dir,
        true,
        &[
            "--now",
            "2026-12-07T03:30:00Z",
            "schedule",
            "run",
            "infra.ict",
            "db-image",
        ],
        0,
    );
    assert!(
        run.stdout
            .contains("db-1: image db-1-db-image-20261207-0330 made\n"),
        "{}",
        run.stdout
    );
    let with_copy = format!(
        "{SCRIPT}server(\"db-2\", #{{ cpu: 1, ram: 1024, disk: 30, ssh_keys: [k], image: \"db-1-db-image-20261207-0330\" }});\n"
    );
    std::fs::write(dir.join("infra.ict"), with_copy).expect("write");
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    let probe = "cat /root/marker; hostname; cat /etc/hostname; df --output=size -BG / | tail -1 | tr -d ' '";
    assert_eq!(
        exec_on(dir, "infra.ict", "db-2", probe),
        "kept\ndb-2\ndb-2\n30G\n"
    );
    let key = "cat /etc/ssh/ssh_host_ed25519_key.pub";
    assert_ne!(
        exec_on(dir, "infra.ict", "db-2", key),
        exec_on(dir, "infra.ict", "db-1", key)
    );
    ict_code(dir, true, &["destroy", "infra.ict", "--yes"], 0);
}
