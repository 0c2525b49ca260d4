//! Project emulator daemons in tests: every ict command that needs the emulator starts one for
//! its project in the background, so each test stops the daemons of its folders when it ends
//! (`Test` and `TempProject` do it on drop) — with `ict emulator stop`, then by PID if one is
//! still there. Also what the daemon tests look at: the lock file, processes by PID.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::test::ict;

/// The PID the project's lock file names, if any.
pub fn daemon_pid(project: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(project.join(".ict/emulator.lock")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["pid"].as_u64().and_then(|pid| u32::try_from(pid).ok())
}

/// Whether `pid` runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| !matches!(state, "Z" | "X"))
    })
}

/// Waits (bounded) until `pid` is gone; whether it is.
pub fn wait_gone(pid: u32, limit: Duration) -> bool {
    let began = Instant::now();
    while alive(pid) {
        if began.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// `pid` and every process below it.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = processes()
        .filter_map(|(child, dir)| {
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            let (_, fields) = stat.rsplit_once(')')?;
            Some((child, fields.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut tree = vec![pid];
    let mut next = 0;
    while let Some(&at) = tree.get(next) {
        next += 1;
        tree.extend(
            parents
                .iter()
                .filter(|(child, parent)| *parent == at && !tree.contains(child))
                .map(|(child, _)| *child)
                .collect::<Vec<_>>(),
        );
    }
    tree
}

/// Project folders under `root` (itself included, three levels down) whose lock names a daemon.
fn projects_with_daemons(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut queue = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = queue.pop() {
        if daemon_pid(&dir).is_some() {
            found.push(dir.clone());
        }
        if depth == 3 {
            continue;
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && entry.file_name() != ".ict" {
                queue.push((entry.path(), depth + 1));
            }
        }
    }
    found
}

/// Stops every daemon of the projects under `root`.
pub fn stop_daemons_under(root: &Path) {
    for project in projects_with_daemons(root) {
        let Some(pid) = daemon_pid(&project) else {
            continue;
        };
        let _ = Command::new(ict())
            .args(["emulator", "stop"])
            .arg(&project)
            .env("NO_COLOR", "1")
            .output();
        if !wait_gone(pid, Duration::from_secs(5)) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// The PIDs of the `ict emulator daemon` processes serving `project`.
pub fn daemons_of(project: &Path) -> Vec<u32> {
    let project = std::fs::canonicalize(project).expect("project folder");
    let wanted = format!("emulator\0daemon\0{}\0", project.display());
    processes()
        .filter_map(|(pid, dir)| {
            let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
            (String::from_utf8_lossy(&cmdline).contains(&wanted) && alive(pid)).then_some(pid)
        })
        .collect()
}

/// Every process: its PID and `/proc/<pid>`.
fn processes() -> impl Iterator<Item = (u32, PathBuf)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path())))
}
