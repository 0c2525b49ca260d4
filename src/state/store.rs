//! [`Store`]: the writable state of one environment, owned together with its lock. Every
//! journal step and every ownership change is saved before the call returns, in one atomic
//! write, so the file on disk always says what the cloud may have done.

use super::document::State;
use super::error::StateError;
use super::file;
use super::journal::{JournalEntry, JournalOp, Outcome, Seq};
use super::lock::Lock;
use super::StateDir;

/// The locked, writable state of one environment. Dropping it releases the lock.
#[derive(Debug)]
pub struct Store {
    state: State,
    lock: Lock,
}

impl Store {
    /// Loads the state protected by `lock` (an empty one if none was saved yet) and removes
    /// temporary files a crashed save left behind. Unfinished journal entries are kept: see
    /// [`super::Journal::unfinished`].
    pub fn open(lock: Lock) -> Result<Store, StateError> {
        let dir = lock.dir();
        file::remove_stale_temp_files(dir)?;
        let state = file::load(dir)?.unwrap_or_else(|| State::new(dir.env()));
        Ok(Store { state, lock })
    }

    /// The state as last saved (or about to be).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state directory.
    pub fn dir(&self) -> &StateDir {
        self.lock.dir()
    }

    /// Records an operation's intent and saves, before the API call is made.
    pub fn begin(&mut self, op: JournalOp) -> Result<Seq, StateError> {
        self.commit(|state| Ok(state.begin(op)))
    }

    /// Records how an operation ended, with its effect on ownership (see [`State::finish`]),
    /// and saves.
    pub fn finish(&mut self, seq: Seq, outcome: &Outcome) -> Result<JournalEntry, StateError> {
        self.commit(|state| state.finish(seq, outcome))
    }

    /// Applies several changes and saves them in one atomic write, e.g. finishing a journal
    /// entry and recording attributes:
    ///
    /// ```ignore
    /// store.commit(|state| {
    ///     state.finish(seq, &Outcome::Done { id })?;
    ///     state.set_attributes(&address, attributes);
    ///     Ok(())
    /// })?;
    /// ```
    ///
    /// Nothing is saved if `change` fails. If the save itself fails, the change stays in
    /// memory and is written by the next successful save.
    pub fn commit<T>(
        &mut self,
        change: impl FnOnce(&mut State) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let value = change(&mut self.state)?;
        self.save()?;
        Ok(value)
    }

    /// Writes the state to disk atomically.
    pub fn save(&self) -> Result<(), StateError> {
        file::save(self.lock.dir(), &self.state)
    }

    /// Releases the lock, keeping the state as saved.
    pub fn close(self) -> Result<(), StateError> {
        self.lock.release()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Action, Address};

    fn open(dir: &StateDir) -> Store {
        let acquired = Lock::acquire(dir, "ict apply").expect("free");
        Store::open(acquired.lock).expect("opens")
    }

    #[test]
    fn journal_entries_survive_a_crash_and_finishing_them_is_saved() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::for_script(&root.path().join("infra.ict"), "dev").expect("valid");
        let web = Address::new("server", "web").expect("valid");
        let db = Address::new("server", "db").expect("valid");

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
        assert_eq!(reloaded.resource(&db).expect("owned").attributes["ip"], "10.0.0.5");

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
        let result = store.commit(|state| state.finish(crate::state::Seq(99), &Outcome::Done { id: 1 }));
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
    use crate::state::{Action, Address, HostKey};

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
                    let address = Address::new("server", &format!("web-{index:05}")).expect("ok");
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
        let bytes = std::fs::metadata(dir.state_file()).expect("saved").len();

        let rounds = 20_u32;
        let mut total = Duration::ZERO;
        let mut worst = Duration::ZERO;
        let address = Address::new("server", "web-00000").expect("ok");
        for _ in 0..rounds {
            let start = Instant::now();
            let seq = store
                .begin(JournalOp::new(address.clone(), Action::Power).on_id(1))
                .expect("saved");
            store
                .finish(seq, &Outcome::Done { id: 1 })
                .expect("saved");
            let elapsed = start.elapsed() / 2;
            total += elapsed;
            worst = worst.max(elapsed);
        }
        let start = Instant::now();
        let serialized = serde_json::to_vec_pretty(store.state()).expect("serializes");
        let serialize = start.elapsed();
        eprintln!(
            "state of 10000 resources + 10000 host keys: {bytes} bytes; \
             save mean {:?}, worst {worst:?} (of which serialization {serialize:?}, {} bytes)",
            total / rounds,
            serialized.len()
        );
    }
}
