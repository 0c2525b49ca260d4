//! `kill -9` of `ict run` while ansible-playbook runs: ansible-playbook (and the workers it
//! forked) stop with ict, and the next command that takes the lock removes the work folder the
//! killed run left, secret values and all.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use super::secrets::files_containing;
use super::{output_dir, project, testable};
use crate::test::Test;

const PLAYBOOK: &str = r#"
- name: Wait
  hosts: all
  gather_facts: false
  connection: local
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Say it started
      ansible.builtin.file:
        path: "{{ out_dir }}/started"
        state: touch
    - name: Sleep
      ansible.builtin.command: sleep 297
"#;

/// The task's process (`sleep 297`) as `/proc/PID/cmdline` spells it.
const SLEEP: &str = "sleep\x00297";

/// Live processes whose command line contains `needle` (a zombie's command line is empty).
fn processes(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
        })
        .collect()
}

/// What the test started: `ict run`, and whatever of the playbook's processes outlive it if the
/// test fails; all killed on drop.
struct Started {
    ict: Child,
    needles: [String; 2],
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.ict.kill();
        let _ = self.ict.wait();
        for needle in &self.needles {
            for pid in processes(needle) {
                if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
        }
    }
}

/// Polls `done` every 50 ms for at most `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn secret_files(dir: &Path, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    files_containing(&dir.join(".ict"), secret, &mut found);
    found
}

#[test]
fn a_killed_run_stops_ansible_playbook_and_the_next_command_removes_its_secrets() {
    if !testable() {
        return;
    }
    let out_dir = output_dir();
    let secret = format!("crash-s3cret-{}", std::process::id());
    let script = format!(
        r#"let k = ssh_key("deploy", #{{ public_key_file: "keys/deploy.pub" }});
server("web-1", #{{ cpu: 1, ram: 1024, disk: 20, ssh_keys: [k],
                    vars: #{{ db_password: secret("ICT_TEST_SECRET") }} }});
playbook("playbooks/wait.yml", #{{ hosts: "all", vars: #{{ out_dir: "{}" }} }});
"#,
        out_dir.path().display()
    );
    let test = project(&script, &[("playbooks/wait.yml", PLAYBOOK)]);
    let dir = test.path();
    let ict = |args: &[&str]| {
        Test::new()
            .current_dir(dir)
            .env("ICT_EMULATOR_SSH", "1")
            .env("ICT_TEST_SECRET", &secret)
            .args(args)
    };
    // ansible-playbook's command line names the files of the run's private folder.
    let playbook = dir.join(".ict/dev/ansible-").display().to_string();
    let mut command = ict(&["run", "infra.ict", "--yes"]).command();
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let mut started = Started {
        ict: command.spawn().expect("start ict run"),
        needles: [playbook.clone(), SLEEP.to_owned()],
    };
    let running = wait_until(Duration::from_secs(240), || {
        out_dir.path().join("started").exists() || started.ict.try_wait().ok().flatten().is_some()
    });
    assert!(
        running && out_dir.path().join("started").exists(),
        "the playbook did not start"
    );
    // Quiet, in the middle of a task (a run killed while ansible-playbook prints would also
    // end it through the broken pipe).
    assert!(
        wait_until(Duration::from_secs(60), || !processes(SLEEP).is_empty()),
        "the task did not start"
    );
    assert!(!processes(&playbook).is_empty(), "ansible-playbook runs");
    assert!(
        !secret_files(dir, &secret).is_empty(),
        "host_vars hold the secret"
    );

    started.ict.kill().expect("kill -9 ict");
    started.ict.wait().expect("reaped");
    assert!(
        wait_until(Duration::from_secs(30), || processes(&playbook).is_empty()
            && processes(SLEEP).is_empty()),
        "ansible-playbook outlived ict: {:?}",
        processes(&playbook)
    );
    // The secrets stay on disk until the next command takes the lock.
    assert!(!secret_files(dir, &secret).is_empty());

    let next = ict(&["apply", "infra.ict", "--yes"]).run();
    assert_eq!(next.status, 0, "{}{}", next.stdout, next.stderr);
    let removed: Vec<&str> = next
        .stderr
        .lines()
        .filter(|l| l.ends_with(": the work folder of an ict that is no longer running"))
        .collect();
    assert_eq!(removed.len(), 1, "{}", next.stderr);
    assert!(
        removed[0].starts_with("removed ./.ict/dev/ansible-"),
        "{}",
        next.stderr
    );
    assert_eq!(secret_files(dir, &secret), Vec::<String>::new());
}
