//! The few process facts the emulated servers need, read from Linux's `/proc`, and signals sent
//! with `rustix` (safe wrappers; the crate denies `unsafe`). Used to stop a connection's
//! `sshd -i` together with everything below it (the session's shell starts its own session,
//! so a process-group signal would miss it), and to recognise a server's init process left
//! behind by an emulator that was killed. Depends on nothing else in ict.

use std::collections::HashMap;
use std::fs;

use rustix::process::{kill_process, Pid, Signal};

/// Whether `pid` runs. A zombie counts as gone: in a container whose init does not reap,
/// an orphan's zombie stays forever.
pub(super) fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_state(&stat))
        .is_some_and(|state| !matches!(state, 'Z' | 'X' | 'x'))
}

/// The parent of `pid`, if `pid` exists.
fn parent(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_parent(&stat)
}

/// The PPID field of a `/proc/<pid>/stat` line. The command name (2nd field, in parentheses)
/// may contain spaces and parentheses, so fields are counted after the last `)`.
fn parse_parent(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The state letter of a `/proc/<pid>/stat` line (R, S, D, Z, ...).
fn parse_state(stat: &str) -> Option<char> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next()?.chars().next()
}

/// Every process below the `roots` (children, grandchildren, ...), from one pass over `/proc`.
pub(super) fn descendants(roots: &[i32]) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = parent(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = roots.to_vec();
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).map_or(&[][..], Vec::as_slice) {
            // A PID cannot be its own ancestor, but /proc is read non-atomically: guard anyway.
            if !roots.contains(&child) && !found.contains(&child) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// The command line of `pid`, its arguments joined by NUL bytes (empty for a zombie).
pub(super) fn cmdline(pid: i32) -> Option<Vec<u8>> {
    fs::read(format!("/proc/{pid}/cmdline")).ok()
}

/// Sends `signal` to each PID, ignoring those already gone.
pub(super) fn signal_all(pids: &[i32], signal: Signal) {
    for &pid in pids {
        if let Some(pid) = Pid::from_raw(pid) {
            let _ = kill_process(pid, signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_field_after_a_tricky_command_name() {
        assert_eq!(parse_parent("42 (sshd) S 7 42 42 0"), Some(7));
        assert_eq!(parse_parent("42 (a) b) (c) S 9 1 1"), Some(9));
        assert_eq!(parse_parent("42 (sshd"), None);
        assert_eq!(parse_parent(""), None);
        assert_eq!(parse_state("42 (sshd) Z 7 42"), Some('Z'));
        assert_eq!(parse_state("42 (a) S) R 7 42"), Some('R'));
    }

    #[test]
    fn this_process_and_its_children() {
        let me = i32::try_from(std::process::id()).expect("pid fits");
        assert!(alive(me));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep runs");
        let pid = i32::try_from(child.id()).expect("pid fits");
        assert_eq!(parent(pid), Some(me));
        assert!(descendants(&[me]).contains(&pid));
        assert!(
            !descendants(&[pid]).contains(&me),
            "parents are not descendants"
        );
        signal_all(&[pid], Signal::KILL);
        child.wait().expect("reaped");
        assert!(!alive(pid));
    }
}
