//! `ict state forget-host-key`: a server whose key changed is refused until its pin is
//! forgotten; then the next `ict exec` pins the new key, in the state and in the `known_hosts`
//! file kept for Ansible. An unknown name is a clear error.

use std::path::Path;

use super::{exec_lines, exec_on, ict_code, ips, project, server_dir, testable};

const SCRIPT: &str = r#"
let k = ssh_key("deploy", #{ public_key_file: "keys/deploy.pub" });
server("web-1", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
server("web-2", #{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k] });
"#;

/// `ssh-ed25519 AAAA…` of a public key file.
fn key_text(public_key: &Path) -> String {
    let text = std::fs::read_to_string(public_key).expect("public key");
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `known_hosts` line ict keeps for `ip`, without the name.
fn known_key(dir: &Path, ip: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".ict/dev/known_hosts")).expect("known_hosts");
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(ip))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
}

#[test]
fn a_forgotten_key_is_pinned_afresh_and_unknown_names_are_refused() {
    if !testable() {
        return;
    }
    let test = project(SCRIPT, &[]);
    let dir = test.path();
    ict_code(dir, true, &["apply", "infra.ict", "--yes"], 0);
    ict_code(dir, true, &["exec", "infra.ict", "--", "true"], 0);
    let ips: std::collections::BTreeMap<String, String> = ips(dir).into_iter().collect();
    let old = key_text(&server_dir(dir, "web-1").join("ssh_host_ed25519_key.pub"));
    assert_eq!(known_key(dir, &ips["web-1"]), Some(old.clone()));

    // The server gets a new host key (as a rebuilt one would): refused.
    let new = exec_on(
        dir,
        "infra.ict",
        "web-1",
        "rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub \
         && ssh-keygen -q -t ed25519 -N '' -C rebuilt -f /etc/ssh/ssh_host_ed25519_key \
         && cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub",
    )
    .trim()
    .to_owned();
    assert_ne!(old, new);
    let refused = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "x"], 3);
    let all = format!("{}{}", refused.stdout, refused.stderr);
    assert!(all.contains("has changed"), "{all}");
    assert!(
        all.contains("ict state forget-host-key"),
        "the help names the command: {all}"
    );

    // Unknown names are refused and the pins are listed; nothing changes.
    let unknown = ict_code(
        dir,
        false,
        &["state", "forget-host-key", "infra.ict", "web-9"],
        1,
    );
    assert!(
        unknown.stderr.contains(
            "no host key is pinned for server `web-9` in environment `dev` (pinned: web-1, web-2)"
        ),
        "{}",
        unknown.stderr
    );

    // Forget: gone from known_hosts (web-2's line stays), and the next exec pins the new key.
    let forgot = ict_code(
        dir,
        false,
        &["state", "forget-host-key", "infra.ict", "web-1"],
        0,
    );
    assert!(
        forgot.stdout.contains("Forgot the host key of web-1"),
        "{}",
        forgot.stdout
    );
    assert_eq!(known_key(dir, &ips["web-1"]), None);
    assert!(known_key(dir, &ips["web-2"]).is_some());
    let again = ict_code(dir, true, &["exec", "infra.ict", "--", "echo", "back"], 0);
    let mut lines = exec_lines(&again.stdout);
    lines.sort();
    assert_eq!(
        lines,
        [
            ("web-1".to_owned(), "back".to_owned()),
            ("web-2".to_owned(), "back".to_owned())
        ]
    );
    assert_eq!(known_key(dir, &ips["web-1"]), Some(new));
    // The new key is pinned in the state too: the next exec accepts it.
    ict_code(
        dir,
        true,
        &["exec", "infra.ict", "-l", "web-1", "--", "true"],
        0,
    );
}
