//! Finding each host's Python before Ansible runs. ict sets `interpreter_python` to
//! `auto_silent`, and Ansible's discovery looks for the first of its list of Pythons on the
//! host. Under Mitogen that search costs a full connection per Python tried: on a host with
//! Python 3.11, two failed logins (`python3.13`, `python3.12`) and a second start of Mitogen,
//! on every host's first run. ict already logs in to every host just before Ansible (to pin its
//! host key), so it asks there, with Ansible's own command, and puts what it found at the head
//! of the host's `ansible_interpreter_python_fallback`: discovery then finds the same Python,
//! through the first connection. A Python the user chose (`interpreter_python`,
//! `ansible_python_interpreter`) skips discovery, and with it this list. May depend on nothing.

/// ansible-core's `INTERPRETER_PYTHON_FALLBACK` (2.19), in its order.
pub const PYTHONS: [&str; 8] = [
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
    "/usr/bin/python3",
    "python3",
];

/// The variable discovery reads its list from.
pub const FALLBACK_VAR: &str = "ansible_interpreter_python_fallback";

/// The shell command Ansible's discovery runs: the path of each Python there, between markers.
pub fn discovery_command() -> String {
    let found: Vec<String> = PYTHONS
        .iter()
        .map(|python| format!("command -v '{python}'"))
        .collect();
    format!("echo FOUND; {}; echo ENDFOUND", found.join("; "))
}

/// The Python discovery would pick from the command's output: the first path it printed.
pub fn discovered(stdout: &str) -> Option<&str> {
    let (_, rest) = stdout.split_once("FOUND\n")?;
    let (found, _) = rest.split_once("ENDFOUND")?;
    found
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with('/'))
}

/// The host's discovery list: `found` first, then Ansible's.
pub fn fallback(found: &str) -> Vec<String> {
    std::iter::once(found)
        .chain(PYTHONS.iter().copied().filter(|p| *p != found))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_python_found_heads_the_list() {
        let command = discovery_command();
        assert!(command.starts_with("echo FOUND; command -v 'python3.13'; "));
        assert!(command.ends_with("command -v 'python3'; echo ENDFOUND"));
        let out = "FOUND\n/usr/bin/python3.11\n/usr/bin/python3\n/usr/bin/python3\nENDFOUND\n";
        assert_eq!(discovered(out), Some("/usr/bin/python3.11"));
        assert_eq!(discovered("FOUND\nENDFOUND\n"), None);
        assert_eq!(discovered("motd\n"), None);
        assert_eq!(
            fallback("/usr/bin/python3")[..3],
            ["/usr/bin/python3", "python3.13", "python3.12"]
        );
        assert_eq!(fallback("/usr/bin/python3").len(), PYTHONS.len());
        assert_eq!(fallback("/opt/py/bin/python3").len(), PYTHONS.len() + 1);
    }
}
