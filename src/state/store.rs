//! [`Store`]: the writable state of one environment, owned together with its lock. Every
//! journal step and every ownership change is durable before the call returns: each commit
//! appends one line to `state.log` (see `log.rs`) and fsyncs it, which costs the same for ten
//! resources as for ten thousand; the full `state.json` is rewritten when the store opens,
//! closes, and every [`COMPACT_AFTER`] commits.

use super::backend::{Held, LeaseGuard, LocalHeld};
use super::document::State;
use super::error::StateError;
use super::journal::{JournalEntry, JournalOp, Outcome, Seq};
use super::lock::Lock;
use super::StateDir;

/// How many commits the log may hold before the full state is rewritten.
pub const COMPACT_AFTER: usize = 1_000;

/// The locked, writable state of one environment. Dropping it releases the lock (the log keeps
/// every commit; the next run compacts it).
#[derive(Debug)]
pub struct Store {
    state: State,
    dir: StateDir,
    held: Box<dyn Held>,
    /// Whether the backend held a state when the store opened.
    found: bool,
    logged_commits: usize,
    /// An append failed (and may have left a partial line): the next commit saves in full.
    log_damaged: bool,
}

impl Store {
    /// Loads the local state protected by `lock` (an empty one if none was saved yet), folds a
    /// log left by an earlier run into `state.json`, and removes temporary files a crashed save
    /// left behind. Unfinished journal entries are kept: see [`super::Journal::unfinished`].
    pub fn open(lock: Lock) -> Result<Store, StateError> {
        Store::with(lock.dir().clone(), Box::new(LocalHeld::new(lock)), false)
    }

    /// Opens the state a backend's lock guards; `dir` is the environment's local folder. A
    /// state migrated elsewhere is refused, unless `replacing` it (as empty).
    pub(crate) fn with(
        dir: StateDir,
        mut held: Box<dyn Held>,
        replacing: bool,
    ) -> Result<Store, StateError> {
        let (loaded, pending) = match held.load() {
            Err(StateError::Migrated { .. }) if replacing => (None, false),
            loaded => loaded?,
        };
        let found = loaded.is_some();
        let mut state = loaded.unwrap_or_else(|| State::new(dir.env()));
        state.take_changes();
        if pending {
            held.save(&state, false)?;
        }
        Ok(Store {
            state,
            dir,
            held,
            found,
            logged_commits: 0,
            log_damaged: false,
        })
    }

    /// The current state (everything in it is stored, unless a commit just failed).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The environment's local folder (work folders, `known_hosts`).
    pub fn dir(&self) -> &StateDir {
        &self.dir
    }

    /// Whether the backend held a saved state when the store opened.
    pub fn found(&self) -> bool {
        self.found
    }

    /// Records an operation's intent and makes it durable, before the API call is made.
    pub fn begin(&mut self, op: JournalOp) -> Result<Seq, StateError> {
        self.commit(|state| Ok(state.begin(op)))
    }

    /// Records how an operation ended, with its effect on ownership (see [`State::finish`]),
    /// and makes it durable.
    pub fn finish(&mut self, seq: Seq, outcome: &Outcome) -> Result<JournalEntry, StateError> {
        self.commit(|state| state.finish(seq, outcome))
    }

    /// Applies several changes and makes them durable together (one log line: after a crash
    /// either all of them are there or none), e.g. finishing a journal entry and recording
    /// the attributes the API returned:
    ///
    /// ```ignore
    /// store.commit(|state| {
    ///     state.finish(seq, &Outcome::Done { id })?;
    ///     state.set_attributes(&address, attributes);
    ///     Ok(())
    /// })?;
    /// ```
    ///
    /// If `change` fails, whatever it changed before failing is still written, so the file
    /// always matches memory. If writing fails, the changes stay in memory and are written by
    /// the next successful commit.
    pub fn commit<T>(
        &mut self,
        change: impl FnOnce(&mut State) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let result = change(&mut self.state);
        let changes = self.state.take_changes();
        if changes.is_empty() && !self.log_damaged {
            return result;
        }
        if self.log_damaged || self.logged_commits >= COMPACT_AFTER {
            self.save()?;
            return result;
        }
        if let Err(error) = self.held.append(&changes) {
            self.log_damaged = true;
            self.state.restore_changes(changes);
            return Err(error);
        }
        self.logged_commits += 1;
        result
    }

    /// What the cloud client asks before it sends each change under this lock (see
    /// [`Held::send_guard`]); `None` for local state.
    pub fn send_guard(&self) -> Option<LeaseGuard> {
        self.held.send_guard()
    }

    /// Writes the whole state atomically and empties the log.
    pub fn save(&mut self) -> Result<(), StateError> {
        self.held.save(&self.state, false)?;
        self.state.take_changes();
        self.logged_commits = 0;
        self.log_damaged = false;
        Ok(())
    }

    /// Replaces the whole state with `state` (`ict state migrate` into this backend).
    pub fn replace(&mut self, state: State) -> Result<(), StateError> {
        self.state = state;
        self.save()
    }

    /// Keeps the state only as a read-only copy and releases the lock: it was migrated to
    /// another backend, and nobody may go on from this copy by mistake.
    pub fn retire(mut self) -> Result<(), StateError> {
        self.held.save(&self.state, true)?;
        self.held.release()
    }

    /// Compacts the log into the snapshot and releases the lock.
    pub fn close(mut self) -> Result<(), StateError> {
        if self.logged_commits > 0 || self.log_damaged {
            self.save()?;
        }
        self.held.release()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Kind;
    use crate::state::{Action, Address};

    fn open(dir: &StateDir) -> Store {
        let acquired = Lock::acquire(dir, "ict apply").expect("free");
        Store::open(acquired.lock).expect("opens")
    }

    #[test]
    fn journal_entries_survive_a_crash_and_finishing_them_is_saved() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid");
        let web = Address::new(Kind::Server, "web").expect("valid");
        let db = Address::new(Kind::Server, "db").expect("valid");

        let mut store = open(&dir);
        let done = store
            .begin(JournalOp::new(db.clone(), Action::Create))
            .expect("saved");
        store
            .commit(|state| {
                state.finish(done, &Outcome::Done { id: 5 })?;
                state.set_attributes(&db, serde_json::json!({"ip": "10.0.0.5"}));
                Ok(())
            })
            .expect("saved");
        let in_flight = store
            .begin(JournalOp::new(web.clone(), Action::Create).with("cpu", 1))
            .expect("saved");
        // A crash: the store is dropped without finishing (the lock file goes with it, as it
        // would be taken over from a dead process).
        drop(store);

        let reloaded = State::load(&dir).expect("loads");
        let unfinished = reloaded.journal().unfinished();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].seq, in_flight);
        assert_eq!(unfinished[0].op.address, web);
        assert_eq!(reloaded.resource(&db).map(|r| r.id), Some(5));
        assert_eq!(
            reloaded.resource(&db).expect("owned").attributes["ip"],
            "10.0.0.5"
        );

        // The next run finds the server by name and finishes the entry.
        let mut store = open(&dir);
        assert_eq!(store.state().journal().unfinished().len(), 1);
        store
            .finish(in_flight, &Outcome::Done { id: 9 })
            .expect("saved");
        store.close().expect("released");

        let reloaded = State::load(&dir).expect("loads");
        assert!(reloaded.journal().is_empty());
        assert_eq!(reloaded.resource(&web).map(|r| r.id), Some(9));
        assert!(!dir.lock_file().exists());
    }

    #[test]
    fn a_failed_change_saves_nothing() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::at(root.path().join("state"), "dev").expect("valid");
        let mut store = open(&dir);
        let result =
            store.commit(|state| state.finish(crate::state::Seq(99), &Outcome::Done { id: 1 }));
        assert!(matches!(result, Err(StateError::UnknownSeq { .. })));
        assert!(!dir.state_file().exists());
    }
}

/// Save cost of a large state. Run with
/// `cargo test --release --lib state::store::bench -- --ignored --nocapture`.
#[cfg(test)]
mod bench {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::state::{Action, Address, HostKey, Kind};

    #[test]
    #[ignore = "a measurement, not a check; run explicitly"]
    #[allow(clippy::print_stderr)] // The measurement is the output.
    fn save_10000_resources() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::at(root.path().join("state"), "dev").expect("valid");
        let mut store = {
            let acquired = Lock::acquire(&dir, "bench").expect("free");
            Store::open(acquired.lock).expect("opens")
        };
        store
            .commit(|state| {
                for index in 0..10_000_u64 {
                    let address =
                        Address::new(Kind::Server, &format!("web-{index:05}")).expect("ok");
                    state.record_created(
                        &address,
                        1_000_000 + index,
                        serde_json::json!({
                            "cpu": 2, "ram": 2048, "hdd": 40, "hdd_type": "SSD",
                            "image": "ubuntu-24.04-x64", "dc": "SdnSpb",
                            "ip": format!("10.0.{}.{}", index / 256, index % 256),
                            "state": "on",
                        }),
                    );
                    state.check_host_key(
                        &address,
                        HostKey::new("ssh-ed25519", &"A".repeat(68), &"S".repeat(50)),
                    );
                }
                Ok(())
            })
            .expect("saved");
        store.save().expect("full save");
        let bytes = std::fs::metadata(dir.state_file()).expect("saved").len();

        let rounds = 50_u32;
        let mut total = Duration::ZERO;
        let mut worst = Duration::ZERO;
        let address = Address::new(Kind::Server, "web-00000").expect("ok");
        for _ in 0..rounds {
            let start = Instant::now();
            let seq = store
                .begin(JournalOp::new(address.clone(), Action::Power).on_id(1))
                .expect("logged");
            let elapsed = start.elapsed();
            total += elapsed;
            worst = worst.max(elapsed);
            let start = Instant::now();
            store.finish(seq, &Outcome::Done { id: 1 }).expect("logged");
            let elapsed = start.elapsed();
            total += elapsed;
            worst = worst.max(elapsed);
        }
        let start = Instant::now();
        store.save().expect("full save");
        let full = start.elapsed();
        eprintln!(
            "10000 resources + 10000 host keys ({bytes} bytes of state.json): \
             commit (log append + fsync) mean {:?}, worst {worst:?}; full save {full:?}",
            total / (2 * rounds),
        );
        assert!(!dir.log_file().exists());
    }
}
