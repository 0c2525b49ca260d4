//! `ict lock status` and `ict lock break`, run through the real binary against state
//! directories prepared with the library.

use std::path::Path;
use std::process::{Command, Output};

use ict::state::{Lock, LockHolder, StateDir};

fn ict(script: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ict"))
        .args(args)
        .arg(script)
        .env("NO_COLOR", "1")
        .env_remove("ONECLOUD_TOKEN")
        .output()
        .expect("ict runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn status_of_a_fresh_project_is_unlocked() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let output = ict(&script, &["lock", "status"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "unlocked\n");
}

#[test]
fn status_names_a_live_holder_and_break_removes_it() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = root.path().join("infra.ict");
    let dir = StateDir::for_script(&script, "prod").expect("valid env");
    let acquired = Lock::acquire(&dir, "ict apply infra.ict").expect("free");
    let holder = acquired.lock.holder().clone();

    let output = ict(&script, &["lock", "status", "--env", "prod"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
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
    assert_eq!(stdout(&other), "unlocked\n");

    let output = ict(&script, &["lock", "break", "--env", "prod"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!("broke the lock of environment `prod` held by {holder}\n")
    );
    assert!(!dir.lock_file().exists());
    assert_eq!(
        stdout(&ict(&script, &["lock", "status", "--env", "prod"])),
        "unlocked\n"
    );
    assert_eq!(
        stdout(&ict(&script, &["lock", "break", "--env", "prod"])),
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

    let text = stdout(&ict(&script, &["lock", "status"]));
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
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("ict::state::env_name"), "{text}");
    assert!(
        text.contains("`../etc` is not a valid environment name"),
        "{text}"
    );
    assert!(!root.path().join(".ict").exists());
}
