//! `ict emulator`: the command-line options — the standalone server's (`ict emulator [serve]
//! --listen …`) and the subcommands that manage the project's emulator daemon (`start`,
//! `status`, `stop`, `logs`) — and the blocking entry point that runs the standalone emulator
//! until Ctrl-C or SIGTERM. Kept next to the emulator because it is the only user of these
//! options. Depends on clap and the emulator itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;

use super::dns_shape::DNS_QUIRK_ENV;
use super::{DnsQuirk, Emulator, EmulatorConfig, EmulatorError};

/// `ict emulator`: a subcommand, or the standalone server's options (the same as `serve`).
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EmulatorCommandArgs {
    #[command(subcommand)]
    pub command: Option<EmulatorCommand>,

    #[command(flatten)]
    pub serve: EmulatorArgs,
}

/// What `ict emulator` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum EmulatorCommand {
    /// Run a standalone emulator in the foreground until Ctrl-C, e.g. for other tools or
    /// fault-injection tests (`ict emulator --listen …` without `serve` does the same).
    Serve(EmulatorArgs),

    /// Start the project's emulator in the background unless it runs, and show its status.
    Start(ProjectArgs),

    /// Whether the project's emulator runs: its PID, URL, uptime, number of servers, settings,
    /// and what keeps it alive.
    Status {
        #[command(flatten)]
        project: ProjectArgs,

        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },

    /// Stop the project's emulator gracefully (its account is saved) and wait until it and its
    /// servers' processes are gone.
    Stop(ProjectArgs),

    /// Print the project's emulator log (`.ict/emulator.log`).
    Logs {
        #[command(flatten)]
        project: ProjectArgs,

        /// Keep printing what it logs, until Ctrl-C.
        #[arg(long, short = 'f')]
        follow: bool,
    },

    /// Run as the project's emulator daemon (started by other commands, not by hand).
    #[command(hide = true)]
    Daemon {
        /// The project folder.
        dir: PathBuf,

        /// Listen on this loopback port when it is free (a restart keeps the address).
        #[arg(long)]
        port: Option<u16>,
    },
}

/// Which project's emulator.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectArgs {
    /// A script or a project folder (default: the nearest folder upward from here that holds
    /// `.ict/` or a `*.ict` script).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

/// Run the built-in 1cloud API emulator until Ctrl-C.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8680")]
    pub listen: SocketAddr,

    /// Keep the emulated account in this file (created if missing).
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// How long create, resize, power, network and DNS tasks take, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub task_delay: u64,

    /// Latency added to every request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// Share of requests (0 to 1) that fail: 500 or 429 before handling, 500 after handling,
    /// or a long delay.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub fail_rate: f64,

    /// Seed for fault injection: the same seed and requests give the same faults.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// How long an injected delay lasts, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 15_000)]
    pub fault_delay: u64,

    /// Accept only this bearer token (default: any non-empty token).
    #[arg(
        long,
        value_name = "T",
        env = "ICT_EMULATOR_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Make every running server an isolated machine with a real sshd on its IP, port 22, so
    /// `ssh root@<IP>` works with the server's keys (needs root, openssh-server and what
    /// `ict doctor` lists under emulator-isolation; `ICT_SSHD` names another sshd than
    /// /usr/sbin/sshd).
    #[arg(long)]
    pub ssh: bool,

    /// Make every request to this path fail with 500 (e.g. `--broken-path /dns`), to see
    /// how clients cope with one broken part of the API. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub broken_path: Vec<String>,

    /// Do not serve a node_exporter-style `/metrics` on port 9100 of each running server's IP.
    #[arg(long)]
    pub no_metrics: bool,

    /// Answer DNS in another shape published clients saw: `lego` gives TXT text bare (not
    /// quoted) and answers record creation with a list.
    #[arg(
        long,
        value_enum,
        value_name = "QUIRK",
        env = DNS_QUIRK_ENV,
        ignore_case = true,
        default_value_t = DnsQuirk::Off
    )]
    pub dns_quirk: DnsQuirk,
}

impl EmulatorArgs {
    /// The emulator settings these options describe.
    pub fn to_config(&self) -> EmulatorConfig {
        EmulatorConfig {
            state_file: self.state.clone(),
            token: self.token.clone(),
            task_delay: Duration::from_millis(self.task_delay),
            latency: Duration::from_millis(self.latency),
            fail_rate: self.fail_rate,
            seed: self.seed,
            fault_delay: Duration::from_millis(self.fault_delay),
            ssh_backing: self.ssh,
            sshd: super::sshd_program(),
            node_exporter: !self.no_metrics,
            broken_paths: self.broken_path.clone(),
            dns_quirk: self.dns_quirk,
            ..EmulatorConfig::default()
        }
    }
}

/// Checks the settings and loads the account, builds a runtime, binds `listen`, then calls
/// `on_listening` with the bound address (so the caller announces it only once start-up
/// succeeded) and serves until Ctrl-C or SIGTERM; the state is saved on the way out. For
/// `ict emulator`; in-process users call [`super::spawn`] instead.
pub fn run_until_signal(
    listen: SocketAddr,
    config: EmulatorConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), EmulatorError> {
    let runtime =
        tokio::runtime::Runtime::new().map_err(|source| EmulatorError::Serve { source })?;
    runtime.block_on(async move {
        // Inside the runtime: restoring servers may start their sshds and exporters.
        let emulator = Emulator::new(config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: listen.to_string(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: listen.to_string(),
                source,
            })?;
        on_listening(addr);
        emulator.run(listener, stop_signal(), |app| app).await
    })
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub(crate) async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
