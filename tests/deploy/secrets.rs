//! Secrets reach the playbook and nothing else: not the inventory ict prints, not its output,
//! not a file under `.ict`.

use std::path::Path;

use crate::test::Test;

use super::{exec_lines, output_dir, project, testable};

const PLAYBOOK: &str = r#"
- name: Write the secrets
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the password the playbook got
      ansible.builtin.copy:
        dest: "{{ out_dir }}/{{ inventory_hostname }}"
        content: "{{ db_password }} {{ api_token }} {{ group_secret }}\n"
        mode: "0600"
"#;

/// Every file under `dir` whose bytes contain `needle`, except the emulated servers' own
/// folders (their disks hold what the playbook wrote on them, as a real server's would).
pub(super) fn files_containing(dir: &Path, needle: &str, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.ends_with("emulator/servers") {
            continue;
        }
        if path.is_dir() {
            files_containing(&path, needle, found);
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path.display().to_string());
            }
        }
    }
}

#[test]
fn secrets_reach_the_playbook_but_no_inventory_output_or_state() {
    if !testable() {
        return;
    }
    let out_dir = output_dir();
    let secret = format!("s3cr3t-{}-{}", std::process::id(), rand_suffix());
    let script = format!(
        r#"let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
let db = group("db", #{{ vars: #{{ group_secret: `g-${{secret("ICT_TEST_SECRET")}}` }} }});
server("db-1", #{{ cpu: 1, ram: 1024, disk: 20, groups: [db], ssh_keys: [k],
                   vars: #{{ db_password: secret("ICT_TEST_SECRET") }} }});
playbook("playbooks/secret.yml", #{{ hosts: "db",
    vars: #{{ out_dir: "{}", api_token: secret("ICT_TEST_SECRET") }} }});
"#,
        out_dir.path().display()
    );
    let test = project(&script, &[("playbooks/secret.yml", PLAYBOOK)]);
    let dir = test.path();
    let with_secret = |args: &[&str]| {
        let out = Test::new()
            .current_dir(dir)
            .env("ICT_EMULATOR_SSH", "1")
            .env("ICT_TEST_SECRET", &secret)
            .args(args)
            .run();
        assert_eq!(out.status, 0, "ict {args:?}:\n{}{}", out.stdout, out.stderr);
        format!("{}{}", out.stdout, out.stderr)
    };
    let mut printed = with_secret(&["run", "infra.ict", "--yes", "-v"]);
    // What the playbook wrote on db-1 (this output shows the secret, so it is not checked).
    let cat = format!("cat {}/db-1", out_dir.path().display());
    let written = Test::new()
        .current_dir(dir)
        .env("ICT_EMULATOR_SSH", "1")
        .env("ICT_TEST_SECRET", &secret)
        .args(&["exec", "infra.ict", "-l", "db-1", "--", &cat])
        .success();
    assert_eq!(
        exec_lines(&written.stdout),
        [("db-1".to_owned(), format!("{secret} {secret} g-{secret}"))]
    );

    printed.push_str(&with_secret(&["plan", "infra.ict"]));
    for args in [
        &["inventory", "infra.ict"][..],
        &["inventory", "--format", "ini", "infra.ict"],
        &["inventory", "--list", "infra.ict"],
        &["inventory", "--host", "db-1", "infra.ict"],
    ] {
        printed.push_str(&with_secret(args));
    }
    assert!(
        !printed.contains(&secret),
        "the secret was printed:\n{printed}"
    );
    let mut found = Vec::new();
    files_containing(&dir.join(".ict"), &secret, &mut found);
    assert!(found.is_empty(), "the secret is stored in {found:?}");
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
