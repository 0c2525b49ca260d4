//! The 1cloud emulator: an HTTP server with the routes and JSON of the real 1cloud API
//! (docs/1cloud-api.md §1–§6), asynchronous tasks that complete after a
//! delay, fault injection and an optional persisted state. It is the default provider when no
//! `ONECLOUD_TOKEN` is set, the target of the integration tests, and a way to try a change
//! before paying for it.
//!
//! Start it with [`serve`] on a listener you bound, or [`spawn`] on `127.0.0.1:0`. Tasks
//! complete lazily (on every request and on a background tick) from due times stored in the
//! state, so behaviour is deterministic and survives restarts. [`ServerHooks`] are told when a
//! server becomes Active, changes power or is deleted. With `ssh_backing`, every running
//! server is also an isolated machine (`machine`) with a real sshd inside, answering on its
//! loopback IP, port 22 (see `sshd`); with `node_exporter`,
//! it serves `/metrics` on port 9100 of that IP (see `node_exporter`).
//!
//! May depend on `model::limits` (validation) and on no other ict module. Prints nothing: it
//! logs with `tracing`.

mod account;
mod catalogue;
mod clock;
pub mod daemon;
mod dns;
mod dns_shape;
mod error;
mod events;
mod faults;
mod http;
mod images;
mod input;
mod listen;
pub mod machine;
mod networks;
mod node_exporter;
mod persist;
mod procfs;
mod reply;
mod router;
mod servers;
mod sshd;
mod standalone;
mod tasks;
mod types;
mod world;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;

pub use dns_shape::DnsQuirk;
pub(crate) use dns_shape::DNS_QUIRK_ENV;
pub use error::EmulatorError;
pub use events::{ServerEvent, ServerHooks, ServerInfo};
pub use faults::Fault;
pub use node_exporter::NODE_EXPORTER_PORT;
pub use sshd::{ssh_server_dir, sshd_program, SshUnavailable};
pub use standalone::run_until_signal;
pub(crate) use standalone::stop_signal;
pub use world::ip_base_for;

/// How the emulator behaves. `Default` is a fresh in-memory account with 2 s tasks.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Load the state from this file at start and save it after every change.
    pub state_file: Option<PathBuf>,
    /// The only accepted bearer token; `None` accepts any non-empty token.
    pub token: Option<String>,
    /// How long create, resize, power, network and DNS tasks take.
    pub task_delay: Duration,
    /// Added to every request.
    pub latency: Duration,
    /// Share of requests (0 to 1) that fail with an injected [`Fault`].
    pub fail_rate: f64,
    /// Seed of the fault RNG: the same seed and request sequence give the same faults.
    pub seed: u64,
    /// How long a [`Fault::Delay`] holds a request.
    pub fault_delay: Duration,
    /// How often due tasks are completed when no request comes in.
    pub tick: Duration,
    /// Told about server lifecycle events.
    pub hooks: Option<Arc<dyn ServerHooks>>,
    /// First public IP handed out in a new account (default 127.1.0.10).
    pub ip_base: Option<std::net::Ipv4Addr>,
    /// Make every Active, powered-on server an isolated machine with a real sshd on its IP,
    /// port 22 (needs root, `sshd` and what `machine::needs` lists; without them one warning
    /// is logged and servers have no SSH — they never run unisolated).
    pub ssh_backing: bool,
    /// The OpenSSH server program for `ssh_backing` (default `/usr/sbin/sshd`; see
    /// [`sshd_program`]).
    pub sshd: PathBuf,
    /// Serve a `node_exporter`-style `/metrics` on port 9100 of every running server's IP.
    pub node_exporter: bool,
    /// Paths (e.g. `/dns`) whose every request answers 500: a broken part of the API.
    pub broken_paths: Vec<String>,
    /// Which of the observed shapes DNS answers take (see [`DnsQuirk`]).
    pub dns_quirk: DnsQuirk,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            state_file: None,
            token: None,
            task_delay: Duration::from_secs(2),
            latency: Duration::ZERO,
            fail_rate: 0.0,
            seed: 0,
            fault_delay: Duration::from_secs(15),
            tick: Duration::from_millis(100),
            hooks: None,
            ssh_backing: false,
            sshd: PathBuf::from(sshd::DEFAULT_SSHD),
            node_exporter: false,
            ip_base: None,
            broken_paths: Vec::new(),
            dns_quirk: DnsQuirk::Off,
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("state_file", &self.state_file)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("task_delay", &self.task_delay)
            .field("latency", &self.latency)
            .field("fail_rate", &self.fail_rate)
            .field("seed", &self.seed)
            .field("fault_delay", &self.fault_delay)
            .field("tick", &self.tick)
            .field("hooks", &self.hooks.is_some())
            .field("ssh_backing", &self.ssh_backing)
            .field("sshd", &self.sshd)
            .field("node_exporter", &self.node_exporter)
            .field("ip_base", &self.ip_base)
            .field("broken_paths", &self.broken_paths)
            .field("dns_quirk", &self.dns_quirk)
            .finish()
    }
}

/// A running emulator started by [`spawn`].
#[derive(Debug)]
pub struct EmulatorHandle {
    /// Where it listens (127.0.0.1 and a free port).
    pub addr: SocketAddr,
    /// Why its servers have no SSH although `ssh_backing` asked for it.
    ssh_unavailable: Option<SshUnavailable>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), EmulatorError>>>,
}

impl EmulatorHandle {
    /// The API base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Why the servers cannot be reached over SSH although SSH backing was asked for (`None`
    /// when they can, or when it was not asked for).
    pub fn ssh_unavailable(&self) -> Option<&SshUnavailable> {
        self.ssh_unavailable.as_ref()
    }

    /// Stops the server gracefully (in-flight requests finish, state is saved) and waits.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|e| EmulatorError::Serve {
                source: std::io::Error::other(e),
            })?,
            None => Ok(()),
        }
    }
}

impl Drop for EmulatorHandle {
    /// A handle dropped without [`EmulatorHandle::shutdown`] still stops its server.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and runs the emulator in a tokio task until the handle is shut down.
/// Configuration and state-file errors are returned here, before anything listens.
pub async fn spawn(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let emulator = Emulator::new(config)?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: "127.0.0.1:0".to_owned(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: "127.0.0.1:0".to_owned(),
            source,
        })?;
    let ssh_unavailable = emulator
        .shared
        .ssh
        .as_ref()
        .and_then(|ssh| ssh.unavailable().cloned());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(emulator.run(
        listener,
        async {
            let _ = stopped.await;
        },
        |app| app,
    ));
    Ok(EmulatorHandle {
        addr,
        ssh_unavailable,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Runs the emulator on `listener` until `shutdown` completes, then saves the state.
pub async fn serve(
    listener: TcpListener,
    config: EmulatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EmulatorError> {
    Emulator::new(config)?
        .run(listener, shutdown, |app| app)
        .await
}

/// A validated, loaded emulator that is not listening yet.
struct Emulator {
    shared: Arc<http::Shared>,
    tick: Duration,
}

impl Emulator {
    fn new(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        if !(0.0..=1.0).contains(&config.fail_rate) {
            return Err(EmulatorError::Config(format!(
                "fail rate must be between 0 and 1, got {}",
                config.fail_rate
            )));
        }
        if config.token.as_ref().is_some_and(|t| t.trim().is_empty()) {
            return Err(EmulatorError::Config("the token is empty".to_owned()));
        }
        let mut world = match &config.state_file {
            Some(path) => persist::load(path)?,
            None => world::World::default(),
        };
        if world.servers.is_empty() && world.ips_used == 0 {
            world.ip_base = config.ip_base;
        }
        world.announce_restored();
        let restored = std::mem::take(&mut world.events);
        let ssh = config
            .ssh_backing
            .then(|| sshd::SshBacking::new(config.state_file.as_deref(), &config.sshd));
        let shared = Arc::new(http::Shared {
            world: Mutex::new(world),
            token: config.token,
            task_delay: config.task_delay,
            latency: config.latency,
            fault_delay: config.fault_delay,
            unsaved: std::sync::atomic::AtomicBool::new(
                config
                    .state_file
                    .as_ref()
                    .is_some_and(|path| !path.exists()),
            ),
            state_file: config.state_file,
            faults: faults::Faults::new(config.fail_rate, config.seed),
            broken_paths: config.broken_paths.clone(),
            hooks: config.hooks,
            ssh,
            node_exporters: config
                .node_exporter
                .then(|| node_exporter::NodeExporters::new(NODE_EXPORTER_PORT))
                .flatten(),
            dns_quirk: config.dns_quirk,
        });
        // Restored servers are reported before anything listens (their SSH sockets open in
        // parallel; `run` waits for them before serving).
        shared.dispatch_servers(&restored);
        shared.dispatch_hooks(&restored);
        Ok(Emulator {
            shared,
            tick: config.tick.max(Duration::from_millis(1)),
        })
    }

    /// Serves the API (passed through `wrap`, which may add routes and layers around it) on
    /// `listener` until `shutdown` completes, then saves the state.
    async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Result<(), EmulatorError> {
        let shared = self.shared;
        if let Some(ssh) = &shared.ssh {
            ssh.settle().await;
        }
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "1cloud emulator listening");
        }
        let ticker = {
            let shared = Arc::clone(&shared);
            let period = self.tick;
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(period);
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    interval.tick().await;
                    shared.tick().await;
                }
            })
        };
        let served = axum::serve(listener, wrap(http::app(Arc::clone(&shared))))
            .with_graceful_shutdown(shutdown)
            .await;
        ticker.abort();
        if let Some(ssh) = &shared.ssh {
            ssh.shutdown().await;
        }
        if let Some(exporters) = &shared.node_exporters {
            exporters.shutdown();
        }
        let world = shared.world.lock().await;
        let saved = if shared.unsaved.load(std::sync::atomic::Ordering::SeqCst) {
            shared.save(&world)
        } else {
            Ok(())
        };
        tracing::info!("1cloud emulator stopped");
        served.map_err(|source| EmulatorError::Serve { source })?;
        saved
    }
}
