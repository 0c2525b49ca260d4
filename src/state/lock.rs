//! One lock per state (DESIGN decision 5): `.ict/<env>/state.lock`, holding who took it.
//!
//! The lock file is written completely under a temporary name and then hard-linked into place,
//! which fails if a lock exists (the same exclusivity as `O_EXCL`, and nobody ever sees a
//! half-written lock). A lock whose process is gone — same host, and no such PID or a PID with
//! a different start time — is taken over and reported; a live holder makes
//! [`Lock::acquire`] fail at once with who holds it and how to break it. The lock is released
//! when the [`Lock`] is dropped, and only if the file is still ours.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic;

use super::dir::StateDir;
use super::error::StateError;
use super::holder::{Liveness, LockHolder};
use super::scratch;

/// The state of a lock, for `ict lock status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockStatus {
    Unlocked,
    Held {
        holder: LockHolder,
        liveness: Liveness,
    },
}

/// What [`Lock::break_lock`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// There was no lock.
    NotLocked,
    /// The lock of this holder.
    Held(LockHolder),
    /// A lock file that could not be read.
    Unreadable,
}

/// A stale lock that [`Lock::acquire`] took over; print it as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenOver {
    pub previous: LockHolder,
    /// Where the lock is: the lock file, or the backend's lock.
    pub lock: String,
    /// Why it could be taken: its process is gone ([`Liveness::Dead`]) or its lease ran out
    /// ([`Liveness::Expired`]).
    pub why: Liveness,
}

impl fmt::Display for TakenOver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "took over the lock {} left by {}, {}; \
             its unfinished operations will be checked against the cloud",
            self.lock,
            self.previous,
            match self.why {
                Liveness::Expired => "whose lease ran out",
                _ => "which is no longer running",
            }
        )
    }
}

/// A held lock. Dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    dir: StateDir,
    holder: LockHolder,
    released: bool,
}

/// The result of [`Lock::acquire`].
#[derive(Debug)]
pub struct Acquired {
    pub lock: Lock,
    /// Set when a stale lock was taken over.
    pub taken_over: Option<TakenOver>,
    /// Work folders of commands that are gone (they may have held secrets), now removed.
    pub swept: Vec<PathBuf>,
}

/// How often acquisition retries when the lock file changes under it (another process taking
/// over or releasing at the same moment).
const ATTEMPTS: usize = 3;

impl Lock {
    /// Takes the lock of `dir` for `command` (e.g. `ict apply infra.ict`), creating the state
    /// directory if needed, then removes the work folders crashed commands left
    /// ([`scratch::sweep`]). Fails fast if a live process holds it.
    pub fn acquire(dir: &StateDir, command: &str) -> Result<Acquired, StateError> {
        let (lock, taken_over) = Lock::take(dir, command)?;
        Ok(Acquired {
            lock,
            taken_over,
            swept: scratch::sweep(dir),
        })
    }

    /// Takes the lock of `dir` for `command`, creating the state directory if needed; says
    /// which stale lock it took over, if any.
    pub(crate) fn take(
        dir: &StateDir,
        command: &str,
    ) -> Result<(Lock, Option<TakenOver>), StateError> {
        dir.ensure()?;
        let path = dir.lock_file();
        let holder = LockHolder::current(command);
        let mut taken_over = None;
        for _ in 0..ATTEMPTS {
            if create_exclusive(dir, &holder)? {
                let lock = Lock {
                    dir: dir.clone(),
                    holder,
                    released: false,
                };
                return Ok((lock, taken_over));
            }
            let Some(other) = read_holder(dir)? else {
                continue; // Released in the meantime.
            };
            match other.liveness() {
                Liveness::Dead => {
                    if take_away(&path, &other)? {
                        taken_over = Some(TakenOver {
                            previous: other,
                            lock: path.display().to_string(),
                            why: Liveness::Dead,
                        });
                    }
                }
                liveness => return Err(locked(dir, other, liveness, dir.break_hint())),
            }
        }
        match read_holder(dir)? {
            Some(other) => {
                let liveness = other.liveness();
                Err(locked(dir, other, liveness, dir.break_hint()))
            }
            None => Err(StateError::io(
                "take the lock",
                path,
                io::Error::other("the lock file kept changing; try again"),
            )),
        }
    }

    /// Who holds the lock of `dir`, if anyone.
    pub fn status(dir: &StateDir) -> Result<LockStatus, StateError> {
        Ok(match read_holder(dir)? {
            None => LockStatus::Unlocked,
            Some(holder) => {
                let liveness = holder.liveness();
                LockStatus::Held { holder, liveness }
            }
        })
    }

    /// Removes the lock of `dir` and says what it removed. A holder that is still running (or
    /// whose liveness cannot be checked from here) keeps its lock unless `force`: the error
    /// names it.
    pub fn break_lock(dir: &StateDir, force: bool) -> Result<Broken, StateError> {
        let broken = match read_holder(dir) {
            Ok(Some(holder)) => match holder.liveness() {
                Liveness::Dead => Broken::Held(holder),
                _ if force => Broken::Held(holder),
                liveness => {
                    let hint = format!("{} --force", dir.break_hint());
                    return Err(locked(dir, holder, liveness, hint));
                }
            },
            Ok(None) => return Ok(Broken::NotLocked),
            Err(StateError::LockUnreadable { .. }) => Broken::Unreadable,
            Err(error) => return Err(error),
        };
        let path = dir.lock_file();
        match fs::remove_file(&path) {
            Ok(()) => Ok(broken),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Broken::NotLocked),
            Err(error) => Err(StateError::io("remove the lock", path, error)),
        }
    }

    /// The state directory this lock protects.
    pub fn dir(&self) -> &StateDir {
        &self.dir
    }

    /// This lock's holder record (this process).
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// Releases the lock now, reporting failures that dropping would ignore. The lock file is
    /// removed only if it is still this process's (it may have been broken by hand).
    pub fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        release(&self.dir, &self.holder)
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if !self.released {
            let _ = release(&self.dir, &self.holder);
        }
    }
}

fn release(dir: &StateDir, ours: &LockHolder) -> Result<(), StateError> {
    match read_holder(dir) {
        Ok(Some(holder)) if holder == *ours => {
            let path = dir.lock_file();
            match fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(StateError::io("remove the lock", path, error)),
            }
        }
        // Gone, or broken and retaken by someone else: not ours to remove.
        Ok(_) | Err(StateError::LockUnreadable { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The error naming the live `holder`; `break_hint` is the command that breaks the lock.
fn locked(
    dir: &StateDir,
    holder: LockHolder,
    liveness: Liveness,
    break_hint: String,
) -> StateError {
    StateError::Locked {
        env: dir.env().to_owned(),
        lock: dir.lock_file().display().to_string(),
        holder: Box::new(holder),
        liveness,
        break_hint,
    }
}

/// Reads the lock file: `None` if there is none.
fn read_holder(dir: &StateDir) -> Result<Option<LockHolder>, StateError> {
    let path = dir.lock_file();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(StateError::io("read the lock", path, error)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| StateError::LockUnreadable {
            path,
            reason: error.to_string(),
            break_hint: dir.break_hint(),
        })
}

/// Creates the lock file holding `holder`, complete, if no lock file exists. `Ok(false)` if
/// one does.
fn create_exclusive(dir: &StateDir, holder: &LockHolder) -> Result<bool, StateError> {
    let path = dir.lock_file();
    let mut bytes = serde_json::to_vec_pretty(holder)
        .map_err(|error| StateError::io("write the lock", &path, error.into()))?;
    bytes.push(b'\n');
    let temp = atomic::stage(dir.path(), ".state.lock.", "", &bytes, 0o600)
        .map_err(|error| StateError::io("write a temporary file in", dir.path(), error))?;
    match fs::hard_link(temp.path(), &path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // No hard links on this file system: fall back to O_EXCL.
        Err(_) => create_new(&path, &bytes),
    }
}

fn create_new(path: &Path, bytes: &[u8]) -> Result<bool, StateError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|error| StateError::io("write the lock", path, error))?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(StateError::io("create the lock", path, error)),
    }
}

/// Removes the stale lock left by `expected`, unless another process replaced it meanwhile:
/// the file is renamed away first (atomic), then checked. Returns whether it was removed.
fn take_away(path: &Path, expected: &LockHolder) -> Result<bool, StateError> {
    let aside = path.with_extension(format!("lock.stale.{}", std::process::id()));
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(StateError::io("take over the lock", path, error)),
    }
    let moved: Option<LockHolder> = fs::read_to_string(&aside)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let ours_to_remove = moved.as_ref() == Some(expected);
    if !ours_to_remove {
        // A live lock was taken in between: put it back (unless yet another one appeared).
        let _ = fs::hard_link(&aside, path);
    }
    let _ = fs::remove_file(&aside);
    Ok(ours_to_remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_in(root: &tempfile::TempDir) -> StateDir {
        StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid env")
    }

    fn write_lock(dir: &StateDir, holder: &LockHolder) {
        dir.ensure().expect("dir");
        fs::write(
            dir.lock_file(),
            serde_json::to_vec(holder).expect("serializes"),
        )
        .expect("written");
    }

    /// The PID of a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait for true");
        pid
    }

    #[test]
    fn a_second_acquire_fails_fast_naming_the_holder() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let first = Lock::acquire(&dir, "ict apply infra.ict").expect("free");
        assert!(first.taken_over.is_none());

        let error = Lock::acquire(&dir, "ict plan infra.ict").expect_err("held");
        let StateError::Locked {
            holder, liveness, ..
        } = &error
        else {
            panic!("expected Locked, got {error:?}");
        };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "ict apply infra.ict");
        assert_eq!(*liveness, Liveness::Alive);
        let message = error.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("ict apply infra.ict"), "{message}");
        let help = miette::Diagnostic::help(&error).expect("help").to_string();
        assert!(help.contains("ict lock break"), "{help}");
        assert!(help.contains("infra.ict --env dev"), "{help}");

        drop(first);
        assert!(!dir.lock_file().exists(), "released on drop");
        Lock::acquire(&dir, "ict plan infra.ict").expect("free again");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_whose_process_is_gone_is_taken_over_with_a_warning() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let mut stale = LockHolder::current("ict apply infra.ict");
        stale.pid = dead_pid();
        write_lock(&dir, &stale);
        assert_eq!(
            Lock::status(&dir).expect("readable"),
            LockStatus::Held {
                holder: stale.clone(),
                liveness: Liveness::Dead
            }
        );

        let acquired = Lock::acquire(&dir, "ict apply infra.ict").expect("taken over");
        let taken = acquired.taken_over.as_ref().expect("a warning");
        assert_eq!(taken.previous, stale);
        assert!(taken.to_string().contains("no longer running"));
        let now: LockHolder =
            serde_json::from_str(&fs::read_to_string(dir.lock_file()).expect("lock"))
                .expect("a lock");
        assert_eq!(now.pid, std::process::id());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("listable")
            .flatten()
            .map(|entry| entry.file_name())
            .filter(|name| name != "state.lock")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_reused_pid_does_not_keep_a_lock_alive() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let mut stale = LockHolder::current("ict apply");
        // Our own PID, but "started" at another time: the original holder is gone.
        stale.process_start = stale.process_start.map(|ticks| ticks + 1);
        write_lock(&dir, &stale);
        assert_eq!(stale.liveness(), Liveness::Dead);
        let acquired = Lock::acquire(&dir, "ict apply").expect("taken over");
        assert!(acquired.taken_over.is_some());
    }

    #[test]
    fn a_lock_from_another_host_is_never_taken_over() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let mut remote = LockHolder::current("ict apply");
        remote.host = format!("not-{}", remote.host);
        remote.pid = dead_pid();
        write_lock(&dir, &remote);
        assert!(matches!(
            Lock::acquire(&dir, "ict apply"),
            Err(StateError::Locked {
                liveness: Liveness::Unknown,
                ..
            })
        ));
    }

    #[test]
    fn lock_break_refuses_while_the_holder_is_alive() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let held = Lock::acquire(&dir, "ict apply infra.ict").expect("free");
        let error = Lock::break_lock(&dir, false).expect_err("a live holder");
        let StateError::Locked {
            holder,
            liveness: Liveness::Alive,
            ..
        } = &error
        else {
            panic!("expected Locked, got {error:?}");
        };
        assert_eq!(**holder, *held.lock.holder());
        let help = miette::Diagnostic::help(&error).expect("help").to_string();
        assert!(help.contains("infra.ict --env dev --force`"), "{help}");
        assert!(dir.lock_file().exists(), "kept");

        // Another host's holder cannot be checked from here: refused too.
        let mut remote = LockHolder::current("ict apply");
        remote.host = format!("not-{}", remote.host);
        write_lock(&dir, &remote);
        assert!(matches!(
            Lock::break_lock(&dir, false),
            Err(StateError::Locked {
                liveness: Liveness::Unknown,
                ..
            })
        ));
        assert_eq!(
            Lock::break_lock(&dir, true).expect("forced"),
            Broken::Held(remote)
        );

        // A dead holder's lock is broken without `--force`.
        let mut stale = LockHolder::current("ict apply");
        stale.pid = dead_pid();
        write_lock(&dir, &stale);
        assert_eq!(
            Lock::break_lock(&dir, false).expect("dead holder"),
            Broken::Held(stale)
        );
    }

    #[test]
    fn break_removes_any_lock_and_names_the_holder() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        assert_eq!(
            Lock::break_lock(&dir, false).expect("nothing to break"),
            Broken::NotLocked
        );
        assert_eq!(Lock::status(&dir).expect("readable"), LockStatus::Unlocked);

        let held = Lock::acquire(&dir, "ict apply").expect("free");
        let broken = Lock::break_lock(&dir, true).expect("broken");
        assert_eq!(broken, Broken::Held(held.lock.holder().clone()));
        assert_eq!(Lock::status(&dir).expect("readable"), LockStatus::Unlocked);

        // Someone else takes it; our late release must not remove their lock.
        let theirs = Lock::acquire(&dir, "ict plan").expect("free");
        held.lock.release().expect("release is a no-op");
        assert!(dir.lock_file().exists());
        drop(theirs);
        assert!(!dir.lock_file().exists());

        fs::write(dir.lock_file(), "").expect("written");
        assert!(matches!(
            Lock::acquire(&dir, "ict apply"),
            Err(StateError::LockUnreadable { .. })
        ));
        assert_eq!(
            Lock::break_lock(&dir, false).expect("broken"),
            Broken::Unreadable
        );
        assert!(!dir.lock_file().exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("tempdir");
        let dir = dir_in(&root);
        let _held = Lock::acquire(&dir, "ict apply").expect("free");
        let mode = fs::metadata(dir.lock_file())
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
