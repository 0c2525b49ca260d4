//! Starting the project's daemon: the fast path finds a running one and checks it with one
//! request; otherwise, under the start lock (one starter at a time), a daemon that is gone is
//! replaced, one that runs with other settings than asked for is restarted (on the same port,
//! so other commands using it carry on), and a new one is spawned — this same program as
//! `ict emulator daemon DIR` in its own session — and waited for until it says `ready URL` (or
//! `error WHY`) on its standard output.

use std::fs::OpenOptions;
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{find, Found, Http, Link};
use super::files::{self, StartLock};
use super::settings::Requested;
use super::{stop, DaemonError, Project};

/// How long a new daemon may take to load its account and listen.
const READY_WAIT: Duration = Duration::from_secs(60);
/// How long a daemon whose process runs may stay silent before it is replaced.
const SILENCE_WAIT: Duration = Duration::from_secs(10);
/// The log is started afresh when a daemon starts and it is larger than this.
const LOG_LIMIT: u64 = 1 << 20;

/// The project's daemon, started if needed, with this process holding a lease on it. Blocking;
/// call it from a plain thread, not from inside a tokio runtime.
pub fn ensure(project: &Project, requested: &Requested) -> Result<Link, DaemonError> {
    let http = Http::new()?;
    if let Found::Running(link) = find(project, &http, true) {
        if requested.differences(&link.status.settings).is_empty() {
            return Ok(*link);
        }
    }
    let lock = StartLock::take(project)?;
    let mut notes = Vec::new();
    let mut port = None;
    match settle(project, &http) {
        Found::Running(link) => {
            let differences = requested.differences(&link.status.settings);
            if differences.is_empty() {
                return Ok(*link);
            }
            notes.push(format!(
                "restarting the project's emulator (pid {}) with the settings asked for: {}",
                link.holder.pid,
                differences.join(", ")
            ));
            port = port_of(&link.url);
            stop::stop_locked(project, &lock)?;
        }
        Found::Silent {
            holder,
            url,
            reason,
        } => {
            notes.push(format!(
                "the project's emulator (pid {}) did not answer ({reason}): replacing it",
                holder.pid
            ));
            port = url.as_deref().and_then(port_of);
            stop::stop_locked(project, &lock)?;
        }
        // A daemon still loading its account (started by a command that then ended): wait
        // for it rather than start a second one.
        Found::None { .. } if files::RunLock::held(project) => {
            return wait_running(project, &http, notes);
        }
        Found::None { gone: Some(holder) } => notes.push(format!(
            "the project's emulator (pid {}) is gone without stopping (crashed or killed): \
             starting a new one; its log is {}",
            holder.pid,
            project.log_file().display()
        )),
        Found::None { gone: None } => {}
    }
    lock.clear();
    let _ = std::fs::remove_file(project.addr_file());
    files::ensure_token(project)?;
    let Some(pid) = spawn(project, port)? else {
        // Another daemon won a race to start: use it.
        return wait_running(project, &http, notes);
    };
    match find(project, &http, true) {
        Found::Running(link) if link.holder.pid == pid => Ok(Link { notes, ..*link }),
        Found::Running(_) | Found::None { .. } => Err(not_started(
            project,
            format!("the process it started (pid {pid}) is not the one running"),
        )),
        Found::Silent { reason, .. } => Err(not_started(project, reason)),
    }
}

/// The daemon that runs (or is starting), waited for until it answers.
fn wait_running(project: &Project, http: &Http, notes: Vec<String>) -> Result<Link, DaemonError> {
    let began = Instant::now();
    loop {
        if let Found::Running(link) = find(project, http, true) {
            return Ok(Link { notes, ..*link });
        }
        if began.elapsed() >= READY_WAIT || !files::RunLock::held(project) {
            return Err(not_started(
                project,
                "another start of it did not finish".to_owned(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`find`], waiting a little for a daemon whose process runs but does not answer yet.
fn settle(project: &Project, http: &Http) -> Found {
    let began = Instant::now();
    loop {
        let found = find(project, http, true);
        if !matches!(found, Found::Silent { .. }) || began.elapsed() >= SILENCE_WAIT {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `ict emulator daemon DIR` and waits for its `ready` line; returns its PID, or
/// `None` when it gave way to another daemon of the project (`busy`).
fn spawn(project: &Project, port: Option<u16>) -> Result<Option<u32>, DaemonError> {
    let log_path = project.log_file();
    let log = open_log(&log_path)?;
    let log_start = log.metadata().map_or(0, |m| m.len());
    let exe = std::env::current_exe().map_err(DaemonError::io("find", Path::new("ict")))?;
    let mut command = Command::new(exe);
    command
        .args(["--verbose", "--no-color", "emulator", "daemon"])
        .arg(project.dir());
    if let Some(port) = port {
        command.args(["--port", &port.to_string()]);
    }
    let mut child = command
        .current_dir(project.dir())
        .env_remove("ICT_EMULATOR_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| not_started(project, format!("cannot run ict: {e}")))?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if let Some(stdout) = stdout {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let _ = send.send(line);
    });
    match receive.recv_timeout(READY_WAIT) {
        Ok(line) if line.starts_with("ready ") => Ok(Some(pid)),
        Ok(line) if line.trim() == "busy" => {
            let _ = child.wait();
            Ok(None)
        }
        Ok(line) if line.starts_with("error ") => {
            let _ = child.wait();
            Err(not_started(
                project,
                line["error ".len()..].trim().to_owned(),
            ))
        }
        Ok(_) => {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            let logged = log_since(&log_path, log_start);
            let reason = if logged.is_empty() {
                format!("it ended ({status})")
            } else {
                logged
            };
            Err(not_started(project, reason))
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(not_started(
                project,
                format!("it was not ready after {} s", READY_WAIT.as_secs()),
            ))
        }
    }
}

/// The log file, appended to (emptied first when it has grown large).
fn open_log(path: &Path) -> Result<std::fs::File, DaemonError> {
    let large = std::fs::metadata(path).is_ok_and(|m| m.len() > LOG_LIMIT);
    OpenOptions::new()
        .create(true)
        .append(!large)
        .write(true)
        .truncate(large)
        .open(path)
        .map_err(DaemonError::io("open", path))
}

/// What the log says after byte `start`: the daemon's last words, trimmed.
fn log_since(path: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        if file.seek(SeekFrom::Start(start)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

fn not_started(project: &Project, reason: String) -> DaemonError {
    DaemonError::NotStarted {
        reason,
        log: project.log_file(),
    }
}

/// The port of `http://127.0.0.1:PORT`.
fn port_of(url: &str) -> Option<u16> {
    url.rsplit(':').next()?.trim_end_matches('/').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_comes_from_the_url() {
        assert_eq!(port_of("http://127.0.0.1:41234"), Some(41234));
        assert_eq!(port_of("http://127.0.0.1:41234/"), Some(41234));
        assert_eq!(port_of("http://localhost"), None);
    }
}
