//! Choosing and reaching the provider: a libvirt daemon when the script declares
//! `provider("libvirt", ...)` (or `--provider libvirt`), the real 1cloud API when
//! `ONECLOUD_TOKEN` is set (or `--provider 1cloud`), otherwise the project's built-in 1cloud
//! emulator — a background daemon shared by every command and shell (`crate::daemon`), started
//! by the first command that needs it, with its account in `.ict/emulator.json` next to the
//! script — driven through the same HTTP client (DESIGN decision 9). May depend on `daemon`,
//! `emulator`, `model` (the declaration) and `provider`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::daemon::{self, DaemonError, Link, Project, Requested};
use crate::emulator;
use crate::model;
use crate::provider::libvirt::{self, Libvirt};
use crate::provider::onecloud::{Client, ClientConfig, PollPolicy, Token};
use crate::provider::{Cloud, ProviderError};

/// Why no provider could be reached.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConnectError {
    /// The 1cloud client could not be set up.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Provider(#[from] ProviderError),
    /// The project's emulator could not be started or reached.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] DaemonError),
}

/// Which cloud to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderChoice {
    /// The built-in 1cloud emulator (the default without `ONECLOUD_TOKEN`).
    Emulator,
    /// The real 1cloud API (needs `ONECLOUD_TOKEN`).
    OneCloud,
    /// A libvirt daemon.
    Libvirt,
}

/// The script's `provider(...)`, once it is evaluated.
pub type Declared = Arc<OnceLock<Option<model::Provider>>>;

/// Evaluates the script for its `provider(...)`, when the caller connects before evaluating.
pub type Declare = Box<dyn FnOnce() -> Option<model::Provider> + Send>;

/// A connected provider.
pub struct Connection {
    pub client: Cloud,
    /// First line of output: which provider this is (and, for the emulator, anything that
    /// happened to the project's daemon on the way, on further lines).
    pub banner: String,
    emulator: Option<Emulated>,
}

/// What a connection to the project's emulator knows about it.
struct Emulated {
    ssh_unavailable: Option<emulator::SshUnavailable>,
}

impl Connection {
    /// Whether this is ict's built-in emulator (whose servers serve `/metrics` over plain HTTP).
    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }

    /// Why the servers cannot be reached over SSH from here: the built-in emulator's SSH
    /// backing was wanted but cannot work on this machine (no sshd, not root). `None` for the
    /// real cloud, or when the emulator's servers answer SSH (or it runs without SSH backing,
    /// `ICT_EMULATOR_SSH=0`).
    pub fn ssh_unavailable(&self) -> Option<&emulator::SshUnavailable> {
        self.emulator
            .as_ref()
            .and_then(|e| e.ssh_unavailable.as_ref())
    }

    /// Ends the connection. The project's emulator keeps running for other commands; this
    /// process's lease on it ends with the process.
    #[allow(
        clippy::unused_async,
        reason = "every front end ends a connection the same way, whatever the provider needs"
    )]
    pub async fn close(self) {}
}

/// The emulator's account file for a script: `.ict/emulator.json` next to it (shared by all
/// environments, like one 1cloud account), as shown to the user.
pub fn emulator_state_file(script: &Path) -> PathBuf {
    match script.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join(".ict").join("emulator.json"),
        None => PathBuf::from(".ict").join("emulator.json"),
    }
}

/// A provider being prepared: for the built-in emulator, the project's daemon is found (or
/// started) on another thread while the caller evaluates the script (see [`start`]).
pub enum Pending {
    OneCloud,
    Emulator {
        /// The account file, as the banner names it.
        shown: PathBuf,
        link: oneshot::Receiver<Result<Link, DaemonError>>,
    },
    /// Chosen once the script is evaluated, because it may declare its provider (or libvirt
    /// was asked for, whose settings the script may give).
    Later {
        choice: Option<ProviderChoice>,
        project: Project,
        shown: PathBuf,
        declared: Declared,
        /// Finds the declaration when nothing evaluated the script before connecting.
        declare: Option<Declare>,
    },
}

/// [`start`] for a script that may declare its provider: when its text calls `provider(` (or
/// libvirt is asked for), nothing is started until it is evaluated and `declared` is set (or,
/// if it was not evaluated by then, `declare` evaluates it).
pub fn start_declared(
    choice: Option<ProviderChoice>,
    script: &Path,
    declared: Declared,
    declare: Declare,
) -> Pending {
    let declares = std::fs::read_to_string(script).is_ok_and(|text| text.contains("provider("));
    if declares || choice == Some(ProviderChoice::Libvirt) {
        return Pending::Later {
            choice,
            project: Project::of_script(script),
            shown: emulator_state_file(script),
            declared,
            declare: Some(declare),
        };
    }
    start(choice, script)
}

/// Starts preparing the chosen provider for `script`; call before evaluating the script, then
/// [`Pending::connect`] inside the runtime.
pub fn start(choice: Option<ProviderChoice>, script: &Path) -> Pending {
    start_project(
        choice,
        &Project::of_script(script),
        emulator_state_file(script),
    )
}

/// [`start`] for a project folder; `shown` is its account file as the banner names it.
pub fn start_project(choice: Option<ProviderChoice>, project: &Project, shown: PathBuf) -> Pending {
    if choice == Some(ProviderChoice::Libvirt) {
        return Pending::Later {
            choice,
            project: project.clone(),
            shown,
            declared: Declared::default(),
            declare: None,
        };
    }
    let has_token = std::env::var_os("ONECLOUD_TOKEN").is_some_and(|t| !t.is_empty());
    let choice = choice.unwrap_or(if has_token {
        ProviderChoice::OneCloud
    } else {
        ProviderChoice::Emulator
    });
    if choice == ProviderChoice::OneCloud {
        return Pending::OneCloud;
    }
    let (send, link) = oneshot::channel();
    let project = project.clone();
    std::thread::spawn(move || {
        let found = Requested::from_env().and_then(|asked| daemon::ensure(&project, &asked));
        let _ = send.send(found);
    });
    Pending::Emulator { shown, link }
}

/// Connects to the chosen provider. Must run inside a tokio runtime.
pub async fn connect(
    choice: Option<ProviderChoice>,
    script: &Path,
) -> Result<Connection, ConnectError> {
    start(choice, script).connect().await
}

impl Pending {
    /// Connects: builds the 1cloud client, for the emulator once its daemon answered. Must
    /// run inside a tokio runtime.
    pub async fn connect(self) -> Result<Connection, ConnectError> {
        let pending = match self {
            Pending::Later {
                choice,
                project,
                shown,
                declared,
                declare,
            } => {
                let declared = match declared.get() {
                    Some(found) => found.clone(),
                    None => declare.and_then(|declare| declare()),
                };
                let libvirt = match choice {
                    Some(choice) => choice == ProviderChoice::Libvirt,
                    None => declared
                        .as_ref()
                        .is_some_and(|p| p.kind == model::ProviderKind::Libvirt),
                };
                if libvirt {
                    return libvirt_connection(declared.as_ref()).await;
                }
                start_project(choice, &project, shown)
            }
            ready => ready,
        };
        match pending {
            Pending::Later { .. } => unreachable!("resolved above"),
            Pending::OneCloud => {
                let client = Client::from_env()?;
                let banner = format!("provider: 1cloud API ({})", client.base_url());
                Ok(Connection {
                    client: Cloud::OneCloud(client),
                    banner,
                    emulator: None,
                })
            }
            Pending::Emulator { shown, link } => {
                let link = link.await.unwrap_or_else(|_| {
                    Err(DaemonError::Setting(
                        "the thread starting the emulator ended without an answer".to_owned(),
                    ))
                })?;
                Ok(emulator_connection(&link, &shown)?)
            }
        }
    }
}

/// The libvirt settings: the script's, with `ICT_LIBVIRT_URI` over its `uri`.
pub fn libvirt_settings(declared: Option<&model::Provider>) -> libvirt::Settings {
    let mut settings = libvirt::Settings::default();
    if let Some(declared) = declared.filter(|p| p.kind == model::ProviderKind::Libvirt) {
        if let Some(uri) = &declared.uri {
            settings.uri.clone_from(uri);
        }
        if let Some(pool) = &declared.pool {
            settings.pool.clone_from(pool);
        }
        if let Some(secs) = declared.shutdown_timeout {
            settings.shutdown_timeout = Duration::from_secs(u64::from(secs));
        }
        settings.virt_type.clone_from(&declared.virt_type);
        settings.network.clone_from(&declared.network);
    }
    if let Some(uri) = std::env::var("ICT_LIBVIRT_URI")
        .ok()
        .filter(|u| !u.is_empty())
    {
        settings.uri = uri;
    }
    settings
}

async fn libvirt_connection(
    declared: Option<&model::Provider>,
) -> Result<Connection, ConnectError> {
    let settings = libvirt_settings(declared);
    let banner = format!(
        "provider: libvirt ({}, storage pool {})",
        settings.uri, settings.pool
    );
    Ok(Connection {
        client: Cloud::Libvirt(Libvirt::open(settings).await?),
        banner,
        emulator: None,
    })
}

/// A client of the project's emulator daemon behind `link`.
fn emulator_connection(link: &Link, shown: &Path) -> Result<Connection, ProviderError> {
    let task_delay = Duration::from_millis(link.status.settings.task_delay_ms);
    let client = Client::with_config(
        &link.url,
        Token::new(link.token.clone()),
        emulator_client_config(task_delay),
    )?;
    let mut banner = format!(
        "provider: local 1cloud emulator ({}) — set ONECLOUD_TOKEN to use 1cloud",
        shown.display()
    );
    for note in &link.notes {
        banner.push_str("\nnote: ");
        banner.push_str(note);
    }
    let ssh_unavailable =
        link.status
            .ssh_unavailable
            .as_ref()
            .map(|missing| emulator::SshUnavailable {
                reason: missing.reason.clone(),
                fix: missing.fix.clone(),
            });
    Ok(Connection {
        client: Cloud::OneCloud(client),
        banner,
        emulator: Some(Emulated { ssh_unavailable }),
    })
}

/// Client settings for the emulator, whose tasks all take `task_delay`: polls at a
/// quarter of that at most (the default backs off to 2 s, tuned for real servers that take
/// minutes, and would add up to a second to every emulated task).
fn emulator_client_config(task_delay: Duration) -> ClientConfig {
    let default = ClientConfig::default();
    let max = (task_delay / 4).clamp(Duration::from_millis(10), default.poll.max);
    ClientConfig {
        poll: PollPolicy {
            initial: default.poll.initial.min(max),
            max,
        },
        ..default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulator_is_polled_at_a_pace_that_suits_its_tasks() {
        let poll = |ms| emulator_client_config(Duration::from_millis(ms)).poll;
        let one_second = poll(1000);
        assert_eq!(one_second.max, Duration::from_millis(250));
        assert_eq!(one_second.initial, Duration::from_millis(100));
        let fast = poll(20);
        assert_eq!(
            (fast.initial, fast.max),
            (Duration::from_millis(10), Duration::from_millis(10))
        );
        // Slow tasks back off no further than for the real API.
        assert_eq!(poll(60_000).max, PollPolicy::default().max);
    }
}
