//! Where a state is kept: the [`Backend`] seam between the [`Store`] (what a commit means) and
//! the storage (how it is made durable and who may write). The local `.ict/<env>/` folder is
//! [`Local`]; `postgres.rs` keeps the same document in a database shared by a team.
//!
//! Every backend stores one environment's state as a snapshot plus an append-only list of
//! commits (see `log.rs`), so the cost of a commit does not grow with the state, and guards it
//! with one lock naming its holder. A backend's [`Held`] is a taken lock: only it writes.

use std::fmt;

use super::dir::StateDir;
use super::document::State;
use super::error::StateError;
use super::file;
use super::holder::LockHolder;
use super::lock::{Broken, Lock, LockStatus, TakenOver};
use super::log::{self, Change};
use super::scratch;
use super::store::Store;

/// A place that keeps the state of one environment, and its lock.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// The local folder of the environment (work folders, `known_hosts`), also for a remote
    /// backend: it names the script and the environment.
    fn dir(&self) -> &StateDir;

    /// Where the state is, for messages: a path, or a server and a key — never credentials.
    fn location(&self) -> String;

    /// The state as it is now, without the lock (`None` if none was saved yet).
    fn load(&self) -> Result<Option<State>, StateError>;

    /// Takes the lock for `command` (failing fast on a live holder, taking over a dead one).
    fn hold(&self, command: &str) -> Result<(Box<dyn Held>, Option<TakenOver>), StateError>;

    /// Who holds the lock, if anyone.
    fn status(&self) -> Result<LockStatus, StateError>;

    /// Removes the lock (a live holder's only with `force`) and says whose it was.
    fn break_lock(&self, force: bool) -> Result<Broken, StateError>;

    /// The command that breaks this state's lock.
    fn break_hint(&self) -> String {
        self.dir().break_hint()
    }

    /// Takes the lock and opens the writable state, removing the work folders crashed
    /// commands left ([`scratch::sweep`]).
    fn open(&self, command: &str) -> Result<Opened, StateError> {
        let (held, taken_over) = self.hold(command)?;
        let store = Store::with(self.dir().clone(), held, false)?;
        Ok(Opened {
            store,
            taken_over,
            swept: scratch::sweep(self.dir()),
        })
    }
}

/// A lock taken by [`Backend::open`], with the state it guards open.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    /// Set when a stale lock was taken over.
    pub taken_over: Option<TakenOver>,
    /// Work folders of commands that are gone (they may have held secrets), now removed.
    pub swept: Vec<std::path::PathBuf>,
}

/// A backend's lock, held: the only writer of the state while it lives.
pub(crate) trait Held: Send + fmt::Debug {
    /// Reads the state under the lock, tidying what a crashed writer left; and whether
    /// commits are waiting to be folded into the snapshot.
    fn load(&mut self) -> Result<(Option<State>, bool), StateError>;

    /// Makes one commit's changes durable, in order after the earlier ones.
    fn append(&mut self, changes: &[Change]) -> Result<(), StateError>;

    /// Replaces the snapshot with `state` and drops the commits it includes; `retired`: as
    /// a read-only copy (the state was migrated elsewhere).
    fn save(&mut self, state: &State, retired: bool) -> Result<(), StateError>;

    /// Releases the lock, if it is still this process's.
    fn release(self: Box<Self>) -> Result<(), StateError>;

    /// What the cloud client asks before it sends each change: whether the lock is still
    /// surely this process's — not lost, and its lease renewed within two thirds of its length
    /// (a process paused or cut off longer may have been taken over). `None` for a local lock,
    /// which cannot be taken over.
    fn send_guard(&self) -> Option<LeaseGuard> {
        None
    }
}

/// Whether this process still surely holds a lock (see [`Held::send_guard`]); the cloud client
/// asks it before each change it sends.
pub type LeaseGuard = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// When a shared backend's lease was last renewed, on this computer's monotonic clock (the
/// time the renewal was sent: the lease runs from no earlier than that). A holder whose
/// process was paused past two thirds of its lease stops before its next cloud call, since the
/// lock may have been taken over meanwhile and that holder may have settled the call's journal
/// entry as never sent.
#[derive(Debug, Clone)]
pub(super) struct Lease {
    length: std::time::Duration,
    renewed: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
}

impl Lease {
    /// A lease of `length`, taken by a request sent at `sent`.
    pub(super) fn new(length: std::time::Duration, sent: std::time::Instant) -> Lease {
        Lease {
            length,
            renewed: std::sync::Arc::new(std::sync::Mutex::new(sent)),
        }
    }

    /// A renewal sent at `sent` succeeded.
    pub(super) fn renewed(&self, sent: std::time::Instant) {
        let mut renewed = self
            .renewed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *renewed = (*renewed).max(sent);
    }

    pub(super) fn length(&self) -> std::time::Duration {
        self.length
    }

    /// The send guard of a holder with this lease and `lost` flag (see [`Held::send_guard`]).
    pub(super) fn guard(&self, lost: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> LeaseGuard {
        let (lease, lost) = (self.clone(), lost.clone());
        std::sync::Arc::new(move || {
            !lost.load(std::sync::atomic::Ordering::SeqCst) && lease.fresh()
        })
    }

    /// Whether the last renewal is recent enough to act on.
    pub(super) fn fresh(&self) -> bool {
        let renewed = *self
            .renewed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        renewed.elapsed() < self.length * 2 / 3
    }
}

/// A holder of a shared backend's lock (this process, running `command`), and the random token
/// that tells its writes from any other holder's.
pub(super) fn new_holder(command: &str) -> (LockHolder, String) {
    let holder = LockHolder::current(command);
    let token = format!("{:016x}{:08x}", rand::random::<u64>(), holder.pid);
    (holder, token)
}

/// The error naming `holder` of the lock of the shared backend at `location`: its liveness
/// cannot be checked from here, only its lease.
pub(super) fn held_by(
    dir: &StateDir,
    location: &str,
    holder: LockHolder,
    break_hint: String,
) -> StateError {
    StateError::Locked {
        env: dir.env().to_owned(),
        lock: format!("the lock of {location}"),
        holder: Box::new(holder),
        liveness: super::holder::Liveness::Unknown,
        break_hint,
    }
}

/// The warning about `previous`, whose lease on the lock of `location` ran out.
pub(super) fn expired(previous: LockHolder, location: &str) -> TakenOver {
    TakenOver {
        previous,
        lock: format!("of {location}"),
        why: super::holder::Liveness::Expired,
    }
}

/// The state in `.ict/<env>/` next to the script.
#[derive(Debug, Clone)]
pub struct Local {
    dir: StateDir,
}

impl Local {
    pub fn new(dir: StateDir) -> Local {
        Local { dir }
    }
}

impl Backend for Local {
    fn dir(&self) -> &StateDir {
        &self.dir
    }

    fn location(&self) -> String {
        self.dir.state_file().display().to_string()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        file::load(&self.dir)
    }

    fn hold(&self, command: &str) -> Result<(Box<dyn Held>, Option<TakenOver>), StateError> {
        let (lock, taken_over) = Lock::take(&self.dir, command)?;
        Ok((Box::new(LocalHeld::new(lock)), taken_over))
    }

    fn status(&self) -> Result<LockStatus, StateError> {
        Lock::status(&self.dir)
    }

    fn break_lock(&self, force: bool) -> Result<Broken, StateError> {
        Lock::break_lock(&self.dir, force)
    }
}

/// The local lock, with the open `state.log`.
#[derive(Debug)]
pub(crate) struct LocalHeld {
    lock: Lock,
    log: Option<std::fs::File>,
}

impl LocalHeld {
    pub(crate) fn new(lock: Lock) -> LocalHeld {
        LocalHeld { lock, log: None }
    }
}

impl Held for LocalHeld {
    fn load(&mut self) -> Result<(Option<State>, bool), StateError> {
        let dir = self.lock.dir();
        file::remove_stale_temp_files(dir)?;
        let state = file::load(dir)?;
        Ok((state, dir.log_file().exists()))
    }

    fn append(&mut self, changes: &[Change]) -> Result<(), StateError> {
        let path = self.lock.dir().log_file();
        let appended = log::append(&mut self.log, &path, changes);
        if appended.is_err() {
            self.log = None;
        }
        appended
    }

    fn save(&mut self, state: &State, retired: bool) -> Result<(), StateError> {
        self.log = None;
        if retired {
            file::retire(self.lock.dir(), state)
        } else {
            file::save(self.lock.dir(), state)
        }
    }

    fn release(self: Box<Self>) -> Result<(), StateError> {
        self.lock.release()
    }
}

/// The backend `declared` by the script (`None`: the local folder `dir`). Secrets in its
/// settings are read from the process environment now, and kept only in memory.
pub(crate) fn backend(
    declared: Option<&crate::model::Backend>,
    dir: StateDir,
) -> Result<std::sync::Arc<dyn Backend>, StateError> {
    use crate::model::BackendKind;
    let Some(declared) = declared else {
        return Ok(std::sync::Arc::new(Local::new(dir)));
    };
    let setting = |name: &str| setting(declared, name);
    let lease = std::time::Duration::from_secs(u64::from(declared.lease_secs));
    match declared.kind {
        BackendKind::Postgres => {
            let url = setting("url")?.unwrap_or_default();
            let project = setting("project")?.unwrap_or_else(|| "default".to_owned());
            Ok(std::sync::Arc::new(super::postgres::Postgres::new(
                dir, url, project, lease,
            )))
        }
        BackendKind::S3 => {
            let settings = super::s3::Settings {
                bucket: setting("bucket")?.unwrap_or_default(),
                prefix: setting("prefix")?.unwrap_or_default(),
                endpoint: setting("endpoint")?,
                region: setting("region")?,
                access_key: setting("access_key")?,
                secret_key: setting("secret_key")?,
            };
            Ok(std::sync::Arc::new(super::s3::S3::new(
                dir, settings, lease,
            )))
        }
    }
}

/// The text of setting `name`, with the secrets in it read from the environment.
fn setting(declared: &crate::model::Backend, name: &str) -> Result<Option<String>, StateError> {
    use crate::model::{Part, Value};
    let kind = declared.kind.name();
    let Some(value) = declared.settings.get(name) else {
        return Ok(None);
    };
    let parts = match value {
        Value::Str(text) => return Ok(Some(text.clone())),
        Value::Template(parts) => parts,
        _ => unreachable!("the script API keeps only strings"),
    };
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Text(literal) => text.push_str(literal),
            Part::Secret(variable) => match std::env::var(variable) {
                Ok(value) if !value.is_empty() => text.push_str(&value),
                _ => {
                    return Err(StateError::Config {
                        kind: kind.to_owned(),
                        message: format!("secret `{variable}` for `{name}` is not set"),
                        help: Some(format!("export {variable}=... before running ict")),
                    })
                }
            },
            Part::Ref(placeholder) => {
                return Err(StateError::Config {
                    kind: kind.to_owned(),
                    message: format!(
                        "`{name}` cannot use {placeholder}: the state is needed before anything \
                         is created"
                    ),
                    help: None,
                })
            }
        }
    }
    Ok(Some(text))
}

#[cfg(test)]
mod lease_tests {
    use std::time::{Duration, Instant};

    use super::Lease;

    #[test]
    fn a_lease_not_renewed_for_two_thirds_of_its_length_is_not_acted_on() {
        let length = Duration::from_secs(30);
        let now = Instant::now();
        let ago = |secs| {
            now.checked_sub(Duration::from_secs(secs))
                .expect("a past instant")
        };
        assert!(Lease::new(length, now).fresh());
        assert!(Lease::new(length, ago(19)).fresh());
        let paused = Lease::new(length, ago(21));
        assert!(!paused.fresh());
        // A renewal sent later makes it fresh again; an older one changes nothing.
        paused.renewed(ago(25));
        assert!(!paused.fresh());
        paused.renewed(ago(1));
        assert!(paused.fresh());
    }
}
