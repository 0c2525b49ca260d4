//! The daemon's files in `.ict/`: the lock (who runs it: a [`LockHolder`] as JSON, empty when
//! none; starters hold an advisory `flock` on it while they start or stop one, so two commands
//! never start two daemons), the address file (its URL), and the token (0600).
//!
//! The lock file is never removed or replaced, only rewritten in place: a `flock` belongs to
//! the file, and a new file under the same name would let a second starter in.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::time::{Duration, Instant};

use rustix::fs::{flock, FlockOperation};

use crate::atomic::atomic_write;
use crate::state::{Liveness, LockHolder};

use super::{DaemonError, Project};

/// How long a command waits for another one that is starting or stopping the daemon.
const START_WAIT: Duration = Duration::from_secs(90);

/// The start lock: held while a daemon is checked, started or stopped; released on drop.
#[derive(Debug)]
pub(super) struct StartLock {
    file: File,
}

impl StartLock {
    /// Takes the lock of `project`, waiting (bounded) for another holder.
    pub(super) fn take(project: &Project) -> Result<StartLock, DaemonError> {
        let dir = project.ict_dir();
        std::fs::create_dir_all(&dir).map_err(DaemonError::io("create", &dir))?;
        let path = project.lock_file();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(DaemonError::io("open", &path))?;
        let began = Instant::now();
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(StartLock { file }),
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {}
                Err(error) => return Err(DaemonError::io("lock", &path)(error.into())),
            }
            if began.elapsed() > START_WAIT {
                return Err(DaemonError::Busy {
                    waited: START_WAIT.as_secs(),
                    lock: path,
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Empties the lock file (no daemon runs).
    pub(super) fn clear(&self) {
        let _ = self.file.set_len(0);
    }
}

/// The lock a daemon holds for its whole life (on [`Project::run_file`]): two daemons of one
/// project can never both run, even when two starters race.
pub(super) struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the run lock, or `None` when another daemon holds it.
    pub(super) fn take(project: &Project) -> Result<Option<RunLock>, DaemonError> {
        let path = project.run_file();
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(DaemonError::io("open", &path))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(error) => Err(DaemonError::io("lock", &path)(error.into())),
        }
    }

    /// Whether a daemon of the project runs (perhaps still loading its account).
    pub(super) fn held(project: &Project) -> bool {
        matches!(RunLock::take(project), Ok(None))
    }
}

/// The daemon named by the lock file, if it names one.
pub(super) fn holder(project: &Project) -> Option<LockHolder> {
    let mut text = String::new();
    File::open(project.lock_file())
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// The daemon named by the lock file, if its process runs (on this host).
pub(super) fn live_holder(project: &Project) -> Option<LockHolder> {
    holder(project).filter(|h| h.liveness() == Liveness::Alive)
}

/// Writes `holder` into the lock file, in place.
pub(super) fn write_holder(project: &Project, holder: &LockHolder) -> Result<(), DaemonError> {
    let path = project.lock_file();
    let text = serde_json::to_string_pretty(holder).unwrap_or_default() + "\n";
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(DaemonError::io("open", &path))?;
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .map_err(DaemonError::io("write", &path))
}

/// Empties the lock file and removes the address file if they still name `pid`.
pub(super) fn clear_if_ours(project: &Project, pid: u32) {
    if holder(project).is_some_and(|h| h.pid == pid) {
        if let Ok(file) = OpenOptions::new().write(true).open(project.lock_file()) {
            let _ = file.set_len(0);
        }
        let _ = std::fs::remove_file(project.addr_file());
    }
}

/// The daemon's URL, as its address file says.
pub(super) fn addr(project: &Project) -> Option<String> {
    let text = std::fs::read_to_string(project.addr_file()).ok()?;
    let url = text.trim();
    url.starts_with("http://").then(|| url.to_owned())
}

/// Writes the address file (whole, under a temporary name first).
pub(super) fn write_addr(project: &Project, url: &str) -> Result<(), DaemonError> {
    let path = project.addr_file();
    atomic_write(&path, format!("{url}\n").as_bytes(), 0o644)
        .map_err(DaemonError::io("write", &path))
}

/// The project's token, if it has one.
pub(super) fn token(project: &Project) -> Option<String> {
    let text = std::fs::read_to_string(project.token_file()).ok()?;
    let token = text.trim();
    (token.len() == 64).then(|| token.to_owned())
}

/// The project's token, created (random, 0600) when missing. Call with the [`StartLock`].
pub(super) fn ensure_token(project: &Project) -> Result<String, DaemonError> {
    if let Some(token) = token(project) {
        return Ok(token);
    }
    let path = project.token_file();
    let token = random_token();
    atomic_write(&path, format!("{token}\n").as_bytes(), 0o600)
        .map_err(DaemonError::io("write", &path))?;
    Ok(token)
}

/// A fresh 64-hex-digit token (the real API's format).
pub fn random_token() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..64)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_token_is_kept_private_and_reused() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = Project::at(root.path());
        let _lock = StartLock::take(&project).expect("lock");
        let first = ensure_token(&project).expect("token");
        assert_eq!(first.len(), 64);
        assert_eq!(ensure_token(&project).expect("token"), first);
        let mode = std::fs::metadata(project.token_file())
            .expect("token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_second_start_lock_waits_for_the_first() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = Project::at(root.path());
        let first = StartLock::take(&project).expect("lock");
        let file = File::open(project.lock_file()).expect("open");
        assert!(flock(&file, FlockOperation::NonBlockingLockExclusive).is_err());
        drop(first);
        assert!(flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok());
    }

    #[test]
    fn an_empty_or_garbled_lock_names_no_daemon() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = Project::at(root.path());
        assert_eq!(holder(&project), None);
        let lock = StartLock::take(&project).expect("lock");
        assert_eq!(holder(&project), None);
        std::fs::write(project.lock_file(), "{not json").expect("write");
        assert_eq!(holder(&project), None);
        let me = LockHolder::current("ict test");
        write_holder(&project, &me).expect("write");
        assert_eq!(live_holder(&project), Some(me));
        lock.clear();
        assert_eq!(holder(&project), None);
    }
}
