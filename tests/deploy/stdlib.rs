//! The stdlib modules that declare playbooks shipped inside ict (`ict/node_exporter`,
//! `ict/base`): they resolve to the embedded YAML, pass `ansible-playbook --syntax-check`, and
//! run (in check mode, without installing packages) against emulated servers.

use std::process::Command;

use super::{ict_code, project, testable};
use crate::test::Test;

const SCRIPT: &str = r#"
import "ict/node_exporter" as ne;
import "ict/base" as base;
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
server("web-1", #{ cpu: 1, ram: 1024, disk: 20, groups: [group("web")], ssh_keys: [k] });
ne::install_with("web", #{ packages: false });
base::harden_with("web", #{ packages: false });
"#;

#[test]
fn shipped_playbooks_pass_ansible_syntax_check() {
    if !testable() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Both in one `ansible-playbook`, which checks each file it is given.
    let files: Vec<std::path::PathBuf> = ["node_exporter", "base"]
        .iter()
        .map(|name| {
            let path = format!("{}{name}.yml", ict::script::STDLIB_PLAYBOOK_PREFIX);
            let text = ict::script::stdlib_playbook(&path).unwrap_or_else(|| panic!("{path}"));
            let file = dir.path().join(format!("{name}.yml"));
            std::fs::write(&file, text).expect("write playbook");
            file
        })
        .collect();
    let out = Command::new("ansible-playbook")
        .env("PATH", crate::test::path())
        .args(["-i", "localhost,", "--syntax-check"])
        .args(&files)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in &files {
        assert!(
            stdout.contains(&format!("playbook: {}", file.display())),
            "{stdout}"
        );
    }
}

#[test]
fn stdlib_modules_declare_embedded_playbooks() {
    let test = Test::new()
        .write("infra.ict", SCRIPT)
        .write("keys/deploy.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test\n")
        .args(&["check", "infra.ict"]);
    let out = test.success();
    assert!(!out.stdout.contains("problem"), "{}", out.stdout);

    // A path under ict/playbooks/ never reads the script's folder.
    let missing = Test::new()
        .write("ict/playbooks/mine.yml", "- hosts: all\n")
        .write("infra.ict", r#"playbook("ict/playbooks/mine.yml");"#)
        .args(&["check", "infra.ict"])
        .failure();
    let text = format!("{}{}", missing.stdout, missing.stderr);
    assert!(text.contains("ict::model::file"), "{text}");
    assert!(text.contains("ict/playbooks/node_exporter.yml"), "{text}");
}

#[test]
fn node_exporter_and_base_run_in_check_mode_on_emulated_servers() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[]);
    // `run --check` changes nothing in the cloud: the server is made by `apply` first.
    ict_code(test.path(), true, &["apply", "infra.ict", "--yes"], 0);
    let out = ict_code(
        test.path(),
        true,
        &["run", "infra.ict", "--yes", "--check"],
        0,
    );
    for name in ["node_exporter", "base"] {
        let recap = out
            .stdout
            .split(&format!("Recap of playbook {name}:\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no recap of {name}:\n{}", out.stdout));
        let line = recap.lines().next().unwrap_or_default();
        assert!(
            line.trim_start().starts_with("web-1 ")
                && line.contains("failed=0")
                && line.contains("unreachable=0"),
            "{name}: {line}\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.contains("127.0.0.1:9100"),
        "the listen address is configured:\n{}",
        out.stdout
    );
}
