//! Facts about processes and this machine, read from `/proc` (the crate denies `unsafe`, so
//! no `kill(pid, 0)`): whether a PID is alive and when it started (to see through PID reuse),
//! the host name and the user name.

use std::fs;
use std::io;
use std::path::Path;

/// What `/proc` says about a PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A live (non-zombie) process, with its start time in clock ticks since boot.
    Running { start_ticks: u64 },
    /// No such process, or a zombie that has already exited.
    Gone,
    /// `/proc` is unavailable or unreadable: liveness cannot be judged.
    Unknown,
}

/// Looks up `pid` in `/proc`.
pub(crate) fn probe(pid: u32) -> Probe {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(text) => match parse_stat(&text) {
            Some(('Z' | 'X', _)) => Probe::Gone,
            Some((_, start_ticks)) => Probe::Running { start_ticks },
            None => Probe::Unknown,
        },
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if Path::new("/proc/self/stat").exists() {
                Probe::Gone
            } else {
                Probe::Unknown
            }
        }
        Err(_) => Probe::Unknown,
    }
}

/// The state letter and start time (field 22) of a `/proc/<pid>/stat` line. The command name
/// (field 2) is in parentheses and may itself contain spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 is the state; field 22 is 19 fields further.
    let start_ticks = fields.nth(18)?.parse().ok()?;
    Some((state, start_ticks))
}

/// This process's PID and start time.
pub(crate) fn current() -> (u32, Option<u64>) {
    let pid = std::process::id();
    let start = match probe(pid) {
        Probe::Running { start_ticks } => Some(start_ticks),
        Probe::Gone | Probe::Unknown => None,
    };
    (pid, start)
}

/// The host name, as the kernel knows it.
pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The user name from the environment.
pub(crate) fn user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_command_names() {
        let line = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 987_654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) R 1 2"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_running_and_a_reaped_child_is_gone() {
        let (pid, start) = current();
        assert!(start.is_some());
        assert!(matches!(probe(pid), Probe::Running { .. }));

        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let child_pid = child.id();
        child.wait().expect("wait for true");
        assert_eq!(probe(child_pid), Probe::Gone);
    }

    #[test]
    fn host_and_user_are_never_empty() {
        assert!(!hostname().is_empty());
        assert!(!user().is_empty());
    }
}
