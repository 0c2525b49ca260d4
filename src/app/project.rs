//! A project: one script in one environment, with its variables and its state folder, and how
//! it is opened — evaluated, connected to its provider, its state read or locked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::Error;
use crate::config::Config;
use crate::connect::{self, Pending, ProviderChoice};
use crate::model;
use crate::script::{self, Evaluated};
use crate::state::{self, Backend, Opened, State, StateDir, Store};

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
    /// The `backend(...)` the script declares, once known (evaluating tells).
    declared: Arc<OnceLock<Option<model::Backend>>>,
    /// The `provider(...)` it declares, once evaluated.
    provider_declared: connect::Declared,
    /// Where the state is kept, once opened.
    backend: Arc<OnceLock<Arc<dyn Backend>>>,
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
            declared: Arc::default(),
            provider_declared: Arc::default(),
            backend: Arc::default(),
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
        let (script, options) = (self.script.clone(), self.options.clone());
        let declare = Box::new(move || {
            let options = script::Options {
                need_secrets: false,
                ..options
            };
            script::evaluate(&script, options)
                .ok()
                .and_then(|evaluated| evaluated.desired.provider)
        });
        connect::start_declared(
            self.provider,
            &self.script,
            self.provider_declared.clone(),
            declare,
        )
    }

    /// Evaluates and validates the script; warnings come back in [`Evaluated::warnings`].
    /// On libvirt, servers and networks that name no data centre are placed on the host.
    pub fn evaluate(&self) -> Result<Evaluated, Error> {
        let mut evaluated = script::evaluate(&self.script, self.options.clone())?;
        let _ = self.declared.set(evaluated.desired.backend.clone());
        let _ = self
            .provider_declared
            .set(evaluated.desired.provider.clone());
        if self.on_libvirt(&evaluated.desired) {
            model::on_host(&mut evaluated.desired, crate::provider::libvirt::LOCATION);
        }
        Ok(evaluated)
    }

    /// Whether the environment lives on libvirt: `--provider libvirt`, or the script says so
    /// and no other provider is asked for.
    pub fn on_libvirt(&self, desired: &model::Desired) -> bool {
        match self.provider {
            Some(choice) => choice == ProviderChoice::Libvirt,
            None => desired
                .provider
                .as_ref()
                .is_some_and(|p| p.kind == model::ProviderKind::Libvirt),
        }
    }

    /// The environment's local folder: its state unless the script declares a `backend(...)`,
    /// and always its work folders and `known_hosts`.
    pub fn state_dir(&self) -> Result<StateDir, Error> {
        Ok(StateDir::for_script(&self.script, self.env())?)
    }

    /// Where the environment's state is kept: the declared `backend(...)` (the script is
    /// evaluated to find it, unless it was already), or `.ict/<env>/`. Only the backend's own
    /// secrets are needed (`ict output` in a shell without the script's other secrets).
    pub(crate) fn backend(&self) -> Result<Arc<dyn Backend>, Error> {
        if let Some(backend) = self.backend.get() {
            return Ok(backend.clone());
        }
        let declared = match self.declared.get() {
            Some(declared) => declared.clone(),
            // A script that is not there yet has no backend; its (empty) state is local.
            None if !self.script.exists() => None,
            None => {
                let options = script::Options {
                    need_secrets: false,
                    ..self.options.clone()
                };
                let declared = script::evaluate(&self.script, options)?.desired.backend;
                self.declared.get_or_init(|| declared).clone()
            }
        };
        let opened = state::backend(declared.as_ref(), self.state_dir()?)?;
        Ok(self.backend.get_or_init(|| opened).clone())
    }

    /// `ict state migrate`: moves the state from `.ict/<env>/` into the declared backend, or
    /// back into `.ict/<env>/` when `to_local`.
    pub fn migrate(&self, to_local: bool) -> Result<state::Migrated, Error> {
        let declared = self.backend()?;
        if self.declared.get().is_none_or(Option::is_none) {
            return Err(state::StateError::NoBackend {
                env: self.env().to_owned(),
            }
            .into());
        }
        let local = state::Local::new(self.state_dir()?);
        let command = format!("ict state migrate {}", self.script.display());
        let (from, to): (&dyn Backend, &dyn Backend) = if to_local {
            (declared.as_ref(), &local)
        } else {
            (&local, declared.as_ref())
        };
        Ok(state::migrate(from, to, &command)?)
    }

    /// The state as it is now, without taking the lock.
    pub fn state(&self) -> Result<State, Error> {
        let backend = self.backend()?;
        Ok(backend
            .load()?
            .unwrap_or_else(|| State::new(backend.dir().env())))
    }

    /// Takes the environment's lock for `command` (e.g. `"apply"`) and opens its state.
    pub fn lock(&self, command: &str) -> Result<Locked, Error> {
        let opened = self
            .backend()?
            .open(&format!("ict {command} {}", self.script.display()))?;
        Ok(Locked::from(opened))
    }
}

impl From<Opened> for Locked {
    fn from(opened: Opened) -> Locked {
        let mut notes = Vec::new();
        if let Some(taken) = &opened.taken_over {
            notes.push(format!("warning: {taken}"));
        }
        for folder in &opened.swept {
            notes.push(format!(
                "removed {}: the work folder of an ict that is no longer running",
                folder.display()
            ));
        }
        Locked {
            store: opened.store,
            notes,
        }
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
