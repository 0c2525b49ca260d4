//! The daemon's processes, from Linux's `/proc`: every process below it (its sshds and
//! servers), signals (with `rustix`; the crate forbids `unsafe`), and a bounded wait until a set
//! of processes is gone. A zombie counts as gone: an orphaned daemon's zombie stays until its
//! new parent reaps it, which some containers' init never does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// A process, told apart from a later one with the same PID by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Process {
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start: u64,
}

/// `(parent, start time, running)` of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may hold spaces and parentheses, so fields are counted after the
/// last `)`.
fn parse_stat(text: &str) -> Option<(u32, u64, bool)> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let running = !matches!(fields.first()?.chars().next()?, 'Z' | 'X' | 'x');
    Some((
        fields.get(1)?.parse().ok()?,
        fields.get(19)?.parse().ok()?,
        running,
    ))
}

fn stat(pid: u32) -> Option<(u32, u64, bool)> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

impl Process {
    /// The running process `pid`, if there is one.
    pub(super) fn find(pid: u32) -> Option<Process> {
        match stat(pid)? {
            (_, start, true) => Some(Process { pid, start }),
            _ => None,
        }
    }

    /// Whether it still runs.
    pub(super) fn alive(self) -> bool {
        stat(self.pid).is_some_and(|(_, start, running)| running && start == self.start)
    }

    /// It and every process below it, from one pass over `/proc`.
    pub(super) fn tree(self) -> Vec<Process> {
        let mut children: HashMap<u32, Vec<Process>> = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some((parent, start, true)) = stat(pid) {
                children
                    .entry(parent)
                    .or_default()
                    .push(Process { pid, start });
            }
        }
        let mut tree = vec![self];
        let mut next = 0;
        while let Some(&process) = tree.get(next) {
            next += 1;
            for &child in children.get(&process.pid).map_or(&[][..], Vec::as_slice) {
                if !tree.contains(&child) {
                    tree.push(child);
                }
            }
        }
        tree
    }

    /// Sends `signal` (if it still runs).
    pub(super) fn signal(self, signal: Signal) {
        if self.alive() {
            if let Some(pid) = i32::try_from(self.pid).ok().and_then(Pid::from_raw) {
                let _ = kill_process(pid, signal);
            }
        }
    }
}

/// Waits until none of `processes` runs, at most `limit`; whether they are all gone.
pub(super) fn wait_gone(processes: &[Process], limit: Duration) -> bool {
    let began = Instant::now();
    loop {
        if !processes.iter().any(|p| p.alive()) {
            return true;
        }
        if began.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_command_names() {
        let line = "4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100";
        assert_eq!(parse_stat(line), Some((17, 987_654, true)));
        let zombie = line.replace(") S ", ") Z ");
        assert_eq!(parse_stat(&zombie), Some((17, 987_654, false)));
        assert_eq!(parse_stat("1 (x) R 1 2"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_is_in_the_tree_and_gone_once_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let me = Process::find(std::process::id()).expect("this process");
        let sleeper = Process::find(child.id()).expect("the child");
        assert!(me.tree().contains(&sleeper));
        sleeper.signal(Signal::KILL);
        child.wait().expect("reap");
        assert!(wait_gone(&[sleeper], Duration::from_secs(5)));
    }
}
