//! `ict lock status` and `ict lock break`, run through the real binary against state
//! directories prepared with the library.

use std::path::Path;
use std::process::Command;

use ict::state::{Lock, LockHolder, StateDir};

use crate::test::{unwrapped, Outcome, Test};

/// `ict ARGS SCRIPT`.
fn ict(script: &Path, args: &[&str]) -> Outcome {
    let script = script.display().to_string();
    Test::new().args(args).args(&[&script]).run()
}

#[test]
fn status_of_a_fresh_project_is_unlocked() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let output = ict(&script, &["lock", "status"]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "unlocked\n");
}

#[test]
fn lock_break_refuses_while_the_holder_is_alive_and_force_removes_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let dir = StateDir::for_script(&script, "prod").expect("valid env");
    let acquired = Lock::acquire(&dir, "ict apply infra.ict").expect("free");
    let holder = acquired.lock.holder().clone();

    let output = ict(&script, &["lock", "status", "--env", "prod"]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    let text = output.stdout;
    let expected_first_line = format!(
        "locked by {}@{} (pid {}, `ict apply infra.ict`, since {})",
        holder.user,
        holder.host,
        std::process::id(),
        holder.started_at
    );
    assert_eq!(
        text.lines().next(),
        Some(expected_first_line.as_str()),
        "{text}"
    );
    assert!(text.contains("it is still running"), "{text}");
    assert!(
        text.contains(&format!("ict lock break {} --env prod", script.display())),
        "{text}"
    );

    // Another environment's lock is separate.
    let other = ict(&script, &["lock", "status", "--env", "dev"]);
    assert_eq!(other.stdout, "unlocked\n");

    // The holder (this test) is running: breaking needs `--force`.
    let refused = ict(&script, &["lock", "break", "--env", "prod"]);
    assert_eq!(refused.status, 1, "{}", refused.stdout);
    assert_eq!(refused.stdout, "");
    let text = unwrapped(&refused.stderr);
    assert!(
        text.contains(&format!(
            "the state of environment `prod` is locked by {holder}, still running"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ict lock break {} --env prod --force",
            script.display()
        )),
        "{text}"
    );
    assert!(dir.lock_file().exists());

    let output = ict(&script, &["lock", "break", "--env", "prod", "--force"]);
    assert_eq!(output.status, 0, "{}", output.stderr);
    assert_eq!(
        output.stdout,
        format!("broke the lock of environment `prod` held by {holder}\n")
    );
    assert!(!dir.lock_file().exists());
    assert_eq!(
        ict(&script, &["lock", "status", "--env", "prod"]).stdout,
        "unlocked\n"
    );
    assert_eq!(
        ict(&script, &["lock", "break", "--env", "prod"]).stdout,
        "environment `prod` was not locked\n"
    );
    // Releasing a lock someone broke is harmless.
    acquired.lock.release().expect("release after break");
}

#[cfg(target_os = "linux")]
#[test]
fn status_says_when_the_holder_is_gone() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let dir = StateDir::for_script(&script, "dev").expect("valid env");
    let mut child = Command::new("true").spawn().expect("spawn true");
    let mut holder = LockHolder::current("ict apply infra.ict");
    holder.pid = child.id();
    child.wait().expect("wait for true");
    std::fs::create_dir_all(dir.path()).expect("state dir");
    std::fs::write(
        dir.lock_file(),
        serde_json::to_string(&holder).expect("serializes"),
    )
    .expect("lock written");

    let text = ict(&script, &["lock", "status"]).stdout;
    assert!(text.contains(&format!("pid {}", holder.pid)), "{text}");
    assert!(text.contains("no longer running"), "{text}");

    let acquired = Lock::acquire(&dir, "ict apply infra.ict").expect("taken over");
    assert_eq!(
        acquired.taken_over.map(|taken| taken.previous),
        Some(holder)
    );
}

#[test]
fn an_invalid_environment_name_is_a_diagnostic() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let output = ict(&script, &["lock", "status", "--env", "../etc"]);
    assert_eq!(output.status, 1);
    assert_eq!(output.stdout, "");
    assert_eq!(
        output.stderr,
        "ict::state::env_name\n\n  × `../etc` is not a valid environment name\n  help: use letters, \
         digits, `-`, `_` and `.` (not only dots), at most 64 characters\n"
    );
    assert!(!root.path().join(".ict").exists());
}
