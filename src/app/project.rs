//! A project: one script in one environment, with its variables and its state folder, and how
//! it is opened — evaluated, connected to its provider, its state read or locked.

use std::path::{Path, PathBuf};

use super::Error;
use crate::config::Config;
use crate::connect::{self, Pending, ProviderChoice};
use crate::script::{self, Evaluated};
use crate::state::{Lock, State, StateDir, Store};

/// One script in one environment.
#[derive(Debug, Clone)]
pub struct Project {
    /// The script, as the user named it.
    pub script: PathBuf,
    /// The provider asked for (`--provider`), or `None` to choose by `ONECLOUD_TOKEN`.
    pub provider: Option<ProviderChoice>,
    /// How the script is evaluated: the environment (`--env`), variables, limits.
    pub options: script::Options,
    /// The time to take as now (`--now`), if not the clock's.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// The environment's lock, taken, with its state open; and what taking it found worth saying
/// (a lock taken over from a process that is gone, work folders swept).
pub struct Locked {
    pub store: Store,
    pub notes: Vec<String>,
}

impl Project {
    /// `script` in the environment, with the variables and provider `config` names.
    pub fn new(config: &Config, script: &Path) -> Project {
        Project {
            script: script.to_path_buf(),
            provider: config.provider,
            options: config.script_options(),
            now: config.now,
        }
    }

    /// Now: the clock's time, or `--now`'s (which schedules are in force, which are due).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now.unwrap_or_else(chrono::Utc::now)
    }

    /// The environment (`--env`).
    pub fn env(&self) -> &str {
        &self.options.env
    }

    /// Starts reaching the provider (for the emulator, its daemon is found or started on
    /// another thread): call before evaluating, then connect inside the runtime.
    pub fn connect(&self) -> Pending {
        connect::start(self.provider, &self.script)
    }

    /// Evaluates and validates the script; warnings come back in [`Evaluated::warnings`].
    pub fn evaluate(&self) -> Result<Evaluated, Error> {
        Ok(script::evaluate(&self.script, self.options.clone())?)
    }

    /// Where the environment's state lives.
    pub fn state_dir(&self) -> Result<StateDir, Error> {
        Ok(StateDir::for_script(&self.script, self.env())?)
    }

    /// The state as it is now, without taking the lock.
    pub fn state(&self) -> Result<State, Error> {
        Ok(State::load(&self.state_dir()?)?)
    }

    /// Takes the environment's lock for `command` (e.g. `"apply"`) and opens its state.
    pub fn lock(&self, command: &str) -> Result<Locked, Error> {
        let dir = self.state_dir()?;
        let acquired = Lock::acquire(&dir, &format!("ict {command} {}", self.script.display()))?;
        let mut notes = Vec::new();
        if let Some(taken) = &acquired.taken_over {
            notes.push(format!("warning: {taken}"));
        }
        for folder in &acquired.swept {
            notes.push(format!(
                "removed {}: the work folder of an ict that is no longer running",
                folder.display()
            ));
        }
        Ok(Locked {
            store: Store::open(acquired.lock)?,
            notes,
        })
    }
}

/// The tokio runtime a command runs its async part on, built only when needed (there is no
/// global runtime).
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
