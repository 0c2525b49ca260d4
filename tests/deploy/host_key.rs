//! A server whose host key changes after ict pinned it is refused, by `ict exec` (naming both
//! fingerprints) and by Ansible (through the `known_hosts` file ict keeps for it).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{exec_lines, ict, ict_code, project, serial, server_dir, testable};

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

/// An sshd started by hand from a server's own `sshd_config`; stopped on drop.
struct Sshd {
    pid_file: PathBuf,
}

impl Sshd {
    fn start(server: &Path) -> Sshd {
        let status = Command::new("/usr/sbin/sshd")
            .arg("-f")
            .arg(server.join("sshd_config"))
            .status()
            .expect("sshd runs");
        assert!(status.success(), "sshd did not start");
        Sshd {
            pid_file: server.join("sshd.pid"),
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // sshd writes its pid file after it daemonizes; read it for at most 5 s.
        for _ in 0..50 {
            if let Ok(pid) = std::fs::read_to_string(&self.pid_file) {
                let _ = Command::new("kill").arg(pid.trim()).status();
                let _ = std::fs::remove_file(&self.pid_file);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn a_changed_host_key_is_refused_by_exec_and_by_ansible() {
    if !testable() {
        return;
    }
    let _serial = serial();
    let test = project(SCRIPT, &[("ping.yml", PING)]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    // First contact pins both keys.
    let first = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "pinned"], 0);
    assert_eq!(exec_lines(&first.stdout).len(), 2, "{}", first.stdout);
    let known_hosts =
        std::fs::read_to_string(dir.join(".ict/dev/known_hosts")).expect("known_hosts");
    assert_eq!(known_hosts.lines().count(), 2, "{known_hosts}");

    // web-1 gets a new host key, then a power cycle.
    let server = server_dir(dir, "web-1");
    let key = server.join("ssh_host_ed25519_key");
    let old = fingerprint(&key.with_extension("pub"));
    std::fs::remove_file(&key).expect("remove key");
    std::fs::remove_file(key.with_extension("pub")).expect("remove public key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "impostor", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let new = fingerprint(&key.with_extension("pub"));
    assert_ne!(old, new);
    ict_code(dir, true, &["power", "infra.ict", "stop", "-l", "web-1"], 0);
    ict_code(
        dir,
        true,
        &["power", "infra.ict", "start", "-l", "web-1"],
        0,
    );

    let refused = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "again"], 3);
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
    let again = ict(
        dir,
        true,
        &["exec", "infra.ict", "-l", "web-1", "--", "true"],
    );
    assert_eq!(again.status, 3, "{}{}", again.stdout, again.stderr);

    // Ansible, with ict's inventory (and so its known_hosts), refuses web-1 too.
    let inventory = ict_code(dir, false, &["inventory", "infra.ict"], 0);
    std::fs::write(dir.join("hosts.yml"), &inventory.stdout).expect("write inventory");
    set_private(&dir.join("keys/deploy"));
    let _sshd = Sshd::start(&server);
    let out = Command::new("ansible-playbook")
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
