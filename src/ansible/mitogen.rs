//! Finding Mitogen for Ansible (`pip install mitogen`): its strategy keeps one Python
//! interpreter per host for the whole run instead of starting one for every task, which is most
//! of a run's time when the tasks change nothing. ict uses it when the Python that runs
//! `ansible-playbook` can import `ansible_mitogen` (see `settings`). May depend on nothing else
//! in ict.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the look-up may take (one Python start).
const PROBE_WAIT: Duration = Duration::from_secs(10);

/// Asks the Python that runs `ansible-playbook` where `ansible_mitogen` is, without importing it.
const PROBE: &str = "import importlib.util as u; s = u.find_spec('ansible_mitogen'); \
print(s.submodule_search_locations[0] if s else '')";

/// The folder of Mitogen's strategy plugins (`.../ansible_mitogen/plugins/strategy`), if the
/// Python of the `ansible-playbook` on `PATH` can import them.
pub async fn strategy_plugins() -> Option<PathBuf> {
    let python = python_of(&on_path("ansible-playbook")?);
    let probe = tokio::process::Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PROBE_WAIT, probe).await.ok()?.ok()?;
    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if found.is_empty() {
        return None;
    }
    let plugins = Path::new(&found).join("plugins/strategy");
    plugins
        .join("mitogen_linear.py")
        .is_file()
        .then_some(plugins)
}

/// The first `program` in `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The Python that runs `script`: its `#!` interpreter when that is a Python, else `python3`
/// (a wrapper such as pyenv's shim runs the `python3` of the same `PATH`).
fn python_of(script: &Path) -> PathBuf {
    let first = std::fs::read(script)
        .ok()
        .and_then(|bytes| {
            let line = bytes.split(|b| *b == b'\n').next()?.to_vec();
            String::from_utf8(line).ok()
        })
        .unwrap_or_default();
    let interpreter = first
        .strip_prefix("#!")
        .map(|rest| {
            let mut words = rest.split_whitespace();
            match words.next() {
                Some(env) if env.ends_with("/env") => words.next().unwrap_or_default(),
                other => other.unwrap_or_default(),
            }
        })
        .unwrap_or_default();
    let is_python = Path::new(interpreter)
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("python"));
    PathBuf::from(if is_python { interpreter } else { "python3" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_of_a_script_is_its_interpreter_or_python3() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                "#!/opt/venv/bin/python3.11\nimport sys\n",
                "/opt/venv/bin/python3.11",
            ),
            ("#!/usr/bin/env python3\n", "python3"),
            ("#!/usr/bin/env bash\nexec pyenv\n", "python3"),
            ("no shebang", "python3"),
        ];
        for (text, python) in cases {
            let script = dir.path().join("ansible-playbook");
            std::fs::write(&script, text).expect("write");
            assert_eq!(python_of(&script), PathBuf::from(python), "{text:?}");
        }
    }
}
