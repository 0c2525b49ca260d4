//! Choosing and starting the provider: the real 1cloud API when `ONECLOUD_TOKEN` is set (or
//! `--provider 1cloud`), otherwise ict's built-in 1cloud emulator, started in-process on an
//! ephemeral loopback port with its account saved under `.ict/` next to the script, and driven
//! through the same HTTP client (DESIGN decision 9). May depend on `emulator` and `provider`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::emulator::{self, EmulatorConfig, EmulatorHandle};
use crate::provider::onecloud::{Client, ClientConfig, PollPolicy, Token};
use crate::provider::ProviderError;

/// Which cloud to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderChoice {
    /// The built-in 1cloud emulator (the default without `ONECLOUD_TOKEN`).
    Emulator,
    /// The real 1cloud API (needs `ONECLOUD_TOKEN`).
    #[value(name = "1cloud")]
    OneCloud,
}

/// A connected provider; keeps the in-process emulator alive while it is in use.
pub struct Connection {
    pub client: Client,
    /// First line of output: which provider this is.
    pub banner: String,
    emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Whether this is ict's built-in emulator (whose servers serve `/metrics` over plain HTTP).
    pub fn is_emulator(&self) -> bool {
        self.emulator.is_some()
    }

    /// Why the servers cannot be reached over SSH from here: the built-in emulator's SSH
    /// backing was wanted but cannot work on this machine (no sshd, not root). `None` for the
    /// real cloud, or when the emulator's servers answer SSH (or `ICT_EMULATOR_SSH=0` turned it
    /// off, when another emulator on the same project may serve them).
    pub fn ssh_unavailable(&self) -> Option<&emulator::SshUnavailable> {
        self.emulator
            .as_ref()
            .and_then(EmulatorHandle::ssh_unavailable)
    }

    /// Stops the in-process emulator (saving its account).
    pub async fn close(self) {
        if let Some(handle) = self.emulator {
            if let Err(e) = handle.shutdown().await {
                tracing::warn!("the built-in emulator did not stop cleanly: {e}");
            }
        }
    }
}

/// The emulator's account file for a script: `.ict/emulator.json` next to it (shared by all
/// environments, like one 1cloud account).
pub fn emulator_state_file(script: &Path) -> PathBuf {
    match script.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join(".ict").join("emulator.json"),
        None => PathBuf::from(".ict").join("emulator.json"),
    }
}

/// A provider being prepared: for the built-in emulator, its account file is read on another
/// thread while the caller evaluates the script (see [`start`]).
pub struct Pending {
    choice: ProviderChoice,
    script: PathBuf,
    preloaded: Option<oneshot::Receiver<emulator::Preloaded>>,
}

/// Starts preparing the chosen provider for `script`; call before evaluating the script, then
/// [`Pending::connect`] inside the runtime. Nothing listens until then.
pub fn start(choice: Option<ProviderChoice>, script: &Path) -> Pending {
    let has_token = std::env::var_os("ONECLOUD_TOKEN").is_some_and(|t| !t.is_empty());
    let choice = choice.unwrap_or(if has_token {
        ProviderChoice::OneCloud
    } else {
        ProviderChoice::Emulator
    });
    let preloaded = (choice == ProviderChoice::Emulator).then(|| {
        let (send, receive) = oneshot::channel();
        let state_file = emulator_state_file(script);
        std::thread::spawn(move || {
            let _ = send.send(emulator::preload(&state_file));
        });
        receive
    });
    Pending {
        choice,
        script: script.to_owned(),
        preloaded,
    }
}

/// Connects to the chosen provider. Must run inside a tokio runtime.
pub async fn connect(
    choice: Option<ProviderChoice>,
    script: &Path,
) -> Result<Connection, ProviderError> {
    start(choice, script).connect().await
}

impl Pending {
    /// Connects: builds the 1cloud client, or starts the in-process emulator. Must run inside a
    /// tokio runtime.
    pub async fn connect(self) -> Result<Connection, ProviderError> {
        match self.choice {
            ProviderChoice::OneCloud => {
                let client = Client::from_env()?;
                let banner = format!("provider: 1cloud API ({})", client.base_url());
                Ok(Connection {
                    client,
                    banner,
                    emulator: None,
                })
            }
            ProviderChoice::Emulator => {
                let preloaded = match self.preloaded {
                    Some(receive) => receive.await.ok(),
                    None => None,
                };
                start_emulator(&self.script, preloaded).await
            }
        }
    }
}

/// Starts the in-process emulator for `script`'s project.
async fn start_emulator(
    script: &Path,
    preloaded: Option<emulator::Preloaded>,
) -> Result<Connection, ProviderError> {
    let state_file = emulator_state_file(script);
    if let Some(dir) = state_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ProviderError::Config {
            reason: format!("cannot create {}: {e}", dir.display()),
        })?;
    }
    let token = random_token();
    let task_delay = std::env::var("ICT_EMULATOR_TASK_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_millis(500), Duration::from_millis);
    let config = EmulatorConfig {
        state_file: Some(state_file.clone()),
        token: Some(token.clone()),
        task_delay,
        // Servers answer SSH for `ict exec` and Ansible; each ict command restores
        // (starts) their sshds and stops them when it ends. `ICT_EMULATOR_SSH=0` turns
        // it off (e.g. tests running many emulators at once, whose servers share IPs).
        ssh_backing: ssh_backing_wanted(std::env::var("ICT_EMULATOR_SSH").ok().as_deref()),
        sshd: emulator::sshd_program(),
        ip_base: Some(ip_base(&state_file)),
        // Every running server serves `/metrics` on its IP, port 9100 (`ict metrics`).
        // `ICT_EMULATOR_METRICS=0` turns it off.
        node_exporter: ssh_backing_wanted(std::env::var("ICT_EMULATOR_METRICS").ok().as_deref()),
        // `ICT_EMULATOR_DNS_QUIRK=lego`: DNS answers in lego's shape (see `ict emulator --help`).
        dns_quirk: emulator::DnsQuirk::from_env()
            .map_err(|reason| ProviderError::Config { reason })?,
        ..EmulatorConfig::default()
    };
    let handle = emulator::spawn_preloaded(config, preloaded)
        .await
        .map_err(|e| ProviderError::Config {
            reason: e.to_string(),
        })?;
    let client = Client::with_config(
        &handle.base_url(),
        Token::new(token),
        emulator_client_config(task_delay),
    )?;
    let banner = format!(
        "provider: local 1cloud emulator ({}) — set ONECLOUD_TOKEN to use 1cloud",
        state_file.display()
    );
    Ok(Connection {
        client,
        banner,
        emulator: Some(handle),
    })
}

/// Whether the in-process emulator backs servers with sshd: yes unless `ICT_EMULATOR_SSH` says
/// no (`0`, `false`, `off`, `no`).
fn ssh_backing_wanted(setting: Option<&str>) -> bool {
    !setting.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        )
    })
}

/// Client settings for the in-process emulator, whose tasks all take `task_delay`: polls at a
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

/// A fresh 64-hex-digit token (the real API's format) for the in-process emulator.
fn random_token() -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..64)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// The first server IP of a new emulated account: a loopback block chosen from the account
/// file's path, so that two projects' emulators on one machine give their servers (and their
/// sshds) different addresses.
fn ip_base(state_file: &Path) -> std::net::Ipv4Addr {
    use std::hash::{Hash as _, Hasher as _};
    let path = std::path::absolute(state_file).unwrap_or_else(|_| state_file.to_path_buf());
    let mut hasher = std::hash::DefaultHasher::new();
    path.hash(&mut hasher);
    let h = hasher.finish();
    let a = 2 + (h % 250) as u8;
    let b = ((h >> 16) % 200) as u8;
    std::net::Ipv4Addr::new(127, a, b, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_backing_is_on_unless_turned_off() {
        assert!(ssh_backing_wanted(None));
        assert!(ssh_backing_wanted(Some("1")));
        assert!(ssh_backing_wanted(Some("")));
        for off in ["0", "false", "OFF", " no "] {
            assert!(!ssh_backing_wanted(Some(off)), "{off}");
        }
    }

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
