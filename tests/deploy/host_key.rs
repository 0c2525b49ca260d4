//! A server whose host key changes after ict pinned it is refused, by `ict exec` (naming both
//! fingerprints) and by Ansible (through the `known_hosts` file ict keeps for it).

use std::path::Path;
use std::process::Command;

use super::{cloud_ict, emulator_with_ssh, exec_lines, project, server_dir, testable};

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
let web = group("web");
for i in 1..=2 {
    server(`web-${i}`, #{ cpu: 1, ram: 1024, disk: 20, groups: [web], ssh_keys: [k] });
}
"#;

const PING: &str = r"
- name: Ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
";

fn fingerprint(public_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public_key)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_owned()
}

/// Replaces the host key of the server the exec runs on and prints the new fingerprint.
const NEW_HOST_KEY: &str = "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub \
     && ssh-keygen -q -t ed25519 -N '' -C impostor -f /etc/ssh/ssh_host_ed25519_key \
     && ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2";

#[test]
fn a_changed_host_key_is_refused_by_exec_and_by_ansible() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[("ping.yml", PING)]);
    let dir = test.path();
    // One emulator for the whole test: the servers answer Ansible between ict commands.
    let cloud = emulator_with_ssh(dir);
    let ict = |args: &[&str], code| cloud_ict(&cloud, dir, args, code);
    ict(&["apply", "infra.ict", "--yes"], 0);
    // First contact pins both keys.
    let first = ict(&["exec", "infra.ict", "--", "echo", "pinned"], 0);
    assert_eq!(exec_lines(&first.stdout).len(), 2, "{}", first.stdout);
    let known_hosts =
        std::fs::read_to_string(dir.join(".ict/dev/known_hosts")).expect("known_hosts");
    assert_eq!(known_hosts.lines().count(), 2, "{known_hosts}");

    // web-1 gets a new host key, then a power cycle.
    let old = fingerprint(&server_dir(dir, "web-1").join("ssh_host_ed25519_key.pub"));
    let changed = ict(&["exec", "infra.ict", "-l", "web-1", "--", NEW_HOST_KEY], 0);
    let new = exec_lines(&changed.stdout)
        .pop()
        .expect("the new fingerprint")
        .1;
    assert_ne!(old, new);
    ict(&["power", "infra.ict", "stop", "-l", "web-1"], 0);
    ict(&["power", "infra.ict", "start", "-l", "web-1"], 0);

    let refused = ict(&["exec", "infra.ict", "--", "echo", "again"], 3);
    let all = format!("{}{}", refused.stdout, refused.stderr);
    let line = all
        .lines()
        .find(|l| l.trim_start().starts_with("web-1 ") && l.contains("unreachable"))
        .unwrap_or_else(|| panic!("web-1 is not refused:\n{all}"));
    assert!(line.contains(&old) && line.contains(&new), "{line}");
    assert_eq!(
        exec_lines(&refused.stdout),
        vec![("web-2".to_owned(), "again".to_owned())],
        "web-2 still answers"
    );
    // The state keeps the old key: the refusal is not a one-off.
    ict(&["exec", "infra.ict", "-l", "web-1", "--", "true"], 3);

    // Ansible, with ict's inventory (and so its known_hosts), refuses web-1 too.
    let inventory = ict(&["inventory", "infra.ict"], 0);
    std::fs::write(dir.join("hosts.yml"), &inventory.stdout).expect("write inventory");
    set_private(&dir.join("keys/deploy"));
    let out = Command::new("ansible-playbook")
        .env("PATH", crate::test::path())
        .args(["-i", "hosts.yml", "--limit", "web-1", "ping.yml"])
        .current_dir(dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .output()
        .expect("ansible-playbook runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || text.contains("Host key verification failed"),
        "{text}"
    );
    assert!(text.contains("unreachable=1"), "{text}");
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}
