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
