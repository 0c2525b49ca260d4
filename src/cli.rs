//! Command-line definitions (clap): the raw arguments, whose doc comments are the `--help` text.
//! Nothing here is used past `config`, which turns them into the project's own validated
//! options ([`crate::config::Config`] and [`crate::config::Command`]) once; no other module
//! names clap or this module (a test in `config` checks it). May depend on nothing but the
//! constants it shows in help (`script::TIME_LIMIT`, the emulator's environment variables).

// Doc comments here are `--help` text for users, not rustdoc.
#![allow(clippy::doc_markdown)]

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ict turns a Rhai script (`infra.ict`) into running, configured, monitored 1cloud servers.
///
/// Start with `ict check infra.ict` to validate a script and `ict graph infra.ict` to see what
/// it declares. Without `ONECLOUD_TOKEN`, ict works against its built-in 1cloud emulator.
#[derive(Debug, Parser)]
#[command(name = "ict", version, about, long_about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Environment to work on, as declared by `environments(...)` in the script.
    #[arg(
        long = "env",
        short = 'e',
        global = true,
        default_value = "dev",
        value_name = "NAME"
    )]
    pub env: String,

    /// Set a script variable, read with `variable("KEY")` (repeatable).
    #[arg(long = "var", global = true, value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Seconds one evaluation of the script may take before it is stopped with an error.
    #[arg(
        long,
        global = true,
        value_name = "S",
        env = "ICT_TIME_LIMIT",
        default_value_t = crate::script::TIME_LIMIT.as_secs_f64()
    )]
    pub time_limit: f64,

    /// Do not use colours (also when `NO_COLOR` is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Which cloud to use: the real 1cloud API (default when ONECLOUD_TOKEN is set), the
    /// built-in emulator (default otherwise), or a libvirt daemon (ICT_LIBVIRT_URI, default
    /// qemu:///system). Overrides the script's provider(...).
    #[arg(long, global = true, value_enum, env = "ICT_PROVIDER")]
    pub provider: Option<ProviderChoice>,

    /// The time ict takes as now (RFC 3339, e.g. `2026-12-07T18:00:00Z`): which schedules are
    /// in force and when they are next due. For tests and for trying a schedule out.
    #[arg(long, global = true, hide = true, env = "ICT_NOW", value_name = "TIME")]
    pub now: Option<String>,

    /// Say more: -v for details, -vv for debugging.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a script: evaluate it and report every problem at once.
    Check(FileArgs),

    /// Show the desired-state graph a script declares (resources and their dependencies).
    Graph {
        #[command(flatten)]
        file: FileArgs,

        /// Output format: a readable list, JSON for tools, or DOT for Graphviz.
        #[arg(long, short = 'f', value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },

    /// Evaluate script statements interactively, on the same engine as the other commands.
    ///
    /// With FILE, the script is evaluated first and its functions and variables are in scope.
    /// Without a terminal, reads all of standard input and prints each result on its own line.
    Repl {
        /// A script to evaluate first, e.g. `infra.ict`.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },

    /// Show or break the lock that keeps two ict commands from changing one environment at once.
    #[command(subcommand)]
    Lock(LockCommand),

    /// Show or repair what ict remembers about an environment (`--env`).
    #[command(subcommand)]
    State(StateCommand),
    /// Show what `apply` would change: create (+), update (~), replace (-/+), destroy (-).
    Plan(PlanArgs),

    /// Change the cloud to match the script, after showing the plan and asking for `yes`.
    Apply(ApplyCommandArgs),

    /// Delete everything ict created for this environment (never unmanaged or protected servers).
    Destroy(DestroyArgs),

    /// The values the script declares with `output(...)`, as the last apply recorded them
    /// (read from the state; the cloud is not called).
    Output(OutputArgs),

    /// The main job: plan, confirm, apply, wait for SSH, run the playbooks, show live metrics.
    #[command(visible_alias = "deploy")]
    Run(RunArgs),

    /// Print the Ansible inventory of the servers (YAML, INI, or the dynamic-inventory JSON).
    Inventory(InventoryArgs),

    /// Run a command on many servers at once over SSH: `ict exec infra.ict -l web -- uptime`,
    /// or on hosts listed in a file: `ict exec --hosts hosts.txt -- uptime`.
    Exec(ExecArgs),

    /// Start, stop or reboot servers (`--limit` selects which).
    Power(PowerArgs),

    /// Scrape node_exporter on the servers: CPU, load, memory, swap, disk, network, uptime.
    ///
    /// Over SSH (a tunnel to the exporter on the server's 127.0.0.1:9100) unless a server
    /// declares `metrics: #{ via: "http" }`; the built-in emulator's servers are scraped over
    /// HTTP. An unreachable server is a row saying why.
    Metrics(MetricsArgs),

    /// A live view of the servers' metrics with sparklines (keys: c/m/n/d sort, / filter, q quit).
    Top(TopArgs),

    /// Look at what exists in the 1cloud account (read-only): servers, images, data centres,
    /// networks, SSH keys, DNS, balance. Uses `ONECLOUD_TOKEN` and `ONECLOUD_API_URL`.
    Cloud(CloudArgs),
    /// Watch the servers: sample their figures, evaluate the script's alerts and notify, report
    /// drift from the script, serve Prometheus `/metrics`, until SIGTERM or Ctrl-C.
    Watch(WatchArgs),

    /// Deploy pipelines declared with `pipeline(...)`: run one, or show releases.
    ///
    /// The environment is `--env`: a pipeline's `environments` name ict environments, and its
    /// releases are recorded in that environment's state.
    #[command(subcommand)]
    Pipeline(PipelineCommand),

    /// Switch a pipeline back to a kept release, atomically, and restart its service.
    Rollback(RollbackArgs),

    /// Schedules declared with `schedule(...)`: their next times and last runs, or run one now.
    #[command(subcommand)]
    Schedule(ScheduleCommand),

    /// The built-in 1cloud API emulator (the default provider without `ONECLOUD_TOKEN`): manage
    /// the project's emulator (`start`, `status`, `stop`, `logs`), or run a standalone one in
    /// the foreground (`ict emulator --listen ADDR ...`, the same as `serve`).
    Emulator(EmulatorCommandArgs),

    /// List what this machine has and lacks for each feature (SSH to the emulator's servers,
    /// their isolation, Ansible, node_exporter, PostgreSQL, libvirt, a browser, the contract
    /// clients), with the command that installs each missing piece. Always exits 0.
    Doctor {
        /// Print JSON: `{"features": [{"name", "needed_for", "ok", "checks": [...]}]}`.
        #[arg(long)]
        json: bool,
    },

    /// Print a shell completion script, e.g. `ict completions bash > ~/.local/share/bash-completion/completions/ict`.
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Which cloud to talk to (`--provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderChoice {
    /// The built-in 1cloud emulator (the default without `ONECLOUD_TOKEN`).
    Emulator,
    /// The real 1cloud API (needs `ONECLOUD_TOKEN`).
    #[value(name = "1cloud")]
    OneCloud,
    /// A libvirt daemon (`ICT_LIBVIRT_URI`, or the script's `uri`).
    Libvirt,
}

/// `ict emulator`: a subcommand, or the standalone server's options (the same as `serve`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EmulatorCommandArgs {
    #[command(subcommand)]
    pub command: Option<EmulatorCommand>,

    #[command(flatten)]
    pub serve: EmulatorArgs,
}

/// What `ict emulator` does.
#[derive(Debug, Subcommand)]
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
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// A script or a project folder (default: the nearest folder upward from here that holds
    /// `.ict/` or a `*.ict` script).
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

/// Run the built-in 1cloud API emulator until Ctrl-C.
#[derive(Debug, Args)]
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
        env = crate::emulator::DNS_QUIRK_ENV,
        ignore_case = true,
        default_value_t = DnsQuirk::None
    )]
    pub dns_quirk: DnsQuirk,
}

/// `--dns-quirk`: which of the observed shapes the emulator's DNS answers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DnsQuirk {
    /// No quirk: TXT `Text` quoted with a trailing space (`"\"value\" "`), as
    /// certbot-dns-onecloud relies on; record creation answers with the record.
    None,
    /// As go-acme/lego's fixtures show: TXT `Text` bare, and record creation answers with a
    /// list holding the record.
    Lego,
}

/// `ict lock …`: the state lock of the environment selected with `--env`.
#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds the lock (user, host, PID, command, since when), or "unlocked".
    Status(FileArgs),
    /// Remove the lock, e.g. after a crashed run on another machine. Refused while its holder
    /// is running (or cannot be checked from this host) unless `--force`: two commands changing
    /// one environment at once can create servers twice.
    Break(LockBreakArgs),
}

/// `ict lock break`.
#[derive(Debug, Args)]
pub struct LockBreakArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Break the lock even though its holder may still be running.
    #[arg(long)]
    pub force: bool,
}

/// `ict pipeline ...`.
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Fetch a ref into a new release on every host of the environment, run the stages, and
    /// only if all pass everywhere switch `current` and restart the service. Exit 3 when a
    /// stage failed (the running release stays).
    Run(PipelineRunArgs),
    /// The releases of each pipeline in this environment: which is current, what failed.
    Status(PipelineStatusArgs),
    /// A run's log as recorded: what each stage printed on each host (its last lines, secrets
    /// removed) and why the run failed. The dashboard of `ict watch` shows the same.
    Logs(PipelineLogsArgs),
}

/// `ict pipeline logs`.
#[derive(Debug, Args)]
pub struct PipelineLogsArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// The pipeline's name.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The run: its release id (or the start of one) or commit, as `ict pipeline status`
    /// shows them (default: the newest run).
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
}

/// `ict pipeline run`.
#[derive(Debug, Args)]
pub struct PipelineRunArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// The pipeline's name.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Branch, tag or commit to deploy (default: the environment's first ref without a glob).
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,

    /// Seconds one stage may run on one host.
    #[arg(long, default_value_t = 1800, value_name = "S")]
    pub stage_timeout: u64,

    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `ict pipeline status`.
#[derive(Debug, Args)]
pub struct PipelineStatusArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Only this pipeline, with every remembered run.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Print the recorded history as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ict schedule ...`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Each schedule with its next five times (in its time zone and UTC) and its last run.
    List(ScheduleListArgs),
    /// Run one schedule now, as `ict watch` would, under the environment's lock. Exit 3 when it
    /// failed on some servers.
    Run(ScheduleRunArgs),
}

/// `ict schedule list`.
#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Print the schedules as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ict schedule run`.
#[derive(Debug, Args)]
pub struct ScheduleRunArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// The schedule's name.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// `ict rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// The pipeline's name.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The release to go back to: its id or a prefix of it, or its commit (full or short, as
    /// `ict pipeline status` shows it); default: the one before the current.
    #[arg(long, value_name = "RELEASE")]
    pub to: Option<String>,

    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `ict state …`: edits of the state of the environment selected with `--env`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List what ict owns in this environment: each resource's cloud ID, whether ict created or
    /// adopted it, its last known attributes and pinned host key (read-only, no lock).
    List {
        #[command(flatten)]
        file: FileArgs,

        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },

    /// Stop managing an object without touching the cloud: its ownership record, the old
    /// objects a replacement left, its pinned host key and the unfinished operations about it
    /// are dropped from the state. The object stays in the cloud and is listed as unmanaged.
    #[command(visible_alias = "rm")]
    Forget {
        #[command(flatten)]
        file: FileArgs,

        /// The object: an address (`server.web-1`, `ssh_key.deploy`) or a name.
        #[arg(value_name = "ADDRESS", required = true)]
        addresses: Vec<String>,
    },

    /// Rebind what ict owns under one address to another, without touching the cloud (what
    /// `moved(...)` does in a script).
    Mv {
        #[command(flatten)]
        file: FileArgs,

        /// The old address or name (`server.web-1`, `web-1`).
        #[arg(value_name = "OLD")]
        from: String,

        /// The new name or address (`shop-web-1`, `server.shop-web-1`).
        #[arg(value_name = "NEW")]
        to: String,
    },

    /// Take over an existing cloud object by its ID (the cloud is not changed): the next plan
    /// shows what making it match the script would change.
    Import {
        #[command(flatten)]
        file: FileArgs,

        /// The declaration to bind it to: a name or address (`db-1`, `server.db-1`).
        #[arg(value_name = "NAME")]
        name: String,

        /// The object's cloud ID (`ict cloud servers` lists them).
        #[arg(value_name = "ID")]
        id: u64,
    },

    /// Move the state from `.ict/<env>/` into the backend the script declares with
    /// `backend(...)` (or back with `--to-local`), under both locks. Refused when the target
    /// already holds a state of the environment; the source is kept as a read-only copy.
    Migrate {
        #[command(flatten)]
        file: FileArgs,

        /// Move the declared backend's state back into `.ict/<env>/` (then remove
        /// `backend(...)` from the script).
        #[arg(long)]
        to_local: bool,
    },

    /// Forget the host key pinned for a server (after rebuilding it on purpose): it is removed
    /// from the state and from the known_hosts file ict keeps for Ansible, and the next
    /// connection pins the key the server presents then.
    ForgetHostKey {
        #[command(flatten)]
        file: FileArgs,

        /// The server, as named in the script (e.g. `web-1`).
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// The script file argument shared by most commands.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The script to read, e.g. `infra.ict`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// How `ict graph` prints the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Json,
    Dot,
}

/// `ict cloud ...`.
#[derive(Debug, Args)]
pub struct CloudArgs {
    #[command(subcommand)]
    pub what: CloudCommand,

    /// Print JSON (an array of objects, every field) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,

    /// The project: a script (whose `provider(...)` is used) or a project folder (default: the
    /// nearest folder upward from here that holds `.ict/` or a `*.ict` script).
    #[arg(global = true, value_name = "PATH")]
    pub project: Option<PathBuf>,
}

/// What `ict cloud` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum CloudCommand {
    /// Servers: state, power, size, image, data centre, addresses.
    Servers,
    /// Images (OS templates) servers can be created from.
    Images,
    /// Data centres and the pools they offer.
    Dcs,
    /// Private networks and the servers attached to them.
    Networks,
    /// Uploaded SSH keys.
    Keys,
    /// DNS domains and their records.
    Dns,
    /// The account balance.
    Balance,
    /// Storage pools (libvirt).
    Pools,
    /// Storage volumes and the servers they are disks of (libvirt).
    Volumes,
}

/// `ict plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,

    /// Exit 0 when there are no changes, 2 when there are, 1 on errors (for CI drift checks).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Save the plan to FILE; `ict apply FILE` executes exactly it, or refuses if it is stale.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// Options that narrow or force parts of a plan.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Recreate this server even if nothing changed (repeatable).
    #[arg(long, value_name = "NAME")]
    pub replace: Vec<String>,

    /// Only change this resource (a name, or an address such as `server.web-1`) and what it
    /// needs (repeatable).
    #[arg(long, value_name = "NAME")]
    pub target: Vec<String>,
}

/// `ict output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Only this output, printed raw (a secret's value is shown when asked for by name).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ict apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The script, or a plan saved with `ict plan --out`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// How many changes to make at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// `ict apply`: [`ApplyArgs`] and machine-readable output.
#[derive(Debug, Args)]
pub struct ApplyCommandArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,

    /// Print the plan, every change and the outcome as JSON lines instead of text (needs
    /// `--yes` or a saved plan: there is no question in this mode).
    #[arg(long)]
    pub json: bool,
}

/// `ict destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print the plan, every deletion and the outcome as JSON lines instead of text (needs
    /// `--yes`).
    #[arg(long)]
    pub json: bool,

    /// Destroy only this resource and what depends on it (a name, an address such as
    /// `network.backend`, or a host pattern like `-l`; repeatable).
    #[arg(long, value_name = "NAME")]
    pub target: Vec<String>,

    /// How many deletions to make at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
}

/// `ict watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Seconds between two sampling rounds (fractions allowed).
    #[arg(long, default_value_t = 15.0, value_name = "S")]
    pub interval: f64,

    /// Serve the dashboard at http://ADDR/ (its JSON API under /api/) and Prometheus metrics
    /// (ict's figures per server, alert states) at http://ADDR/metrics. `--listen` alone:
    /// 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
    pub listen: Option<std::net::SocketAddr>,

    /// The token the dashboard's actions (power) need; without it, a new one each start,
    /// printed once. Prefer the environment variable: others can read a command line.
    #[arg(
        long,
        value_name = "T",
        env = "ICT_WATCH_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Samples kept per server in .ict/<env>/watch/history (survives restarts).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub history: usize,

    /// Check for drift (a non-empty plan) every N rounds; 0 turns it off.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub drift_every: u64,

    #[command(flatten)]
    pub scrape: ScrapeArgs,
}

/// `ict inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Static inventory format.
    #[arg(long, short = 'f', value_enum, default_value_t = InventoryFormat::Yaml)]
    pub format: InventoryFormat,

    /// Ansible dynamic-inventory protocol: all groups and host variables as JSON.
    #[arg(long, conflicts_with = "host")]
    pub list: bool,

    /// Ansible dynamic-inventory protocol: the variables of one host as JSON.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Write an executable `.ict/<env>/inventory` that Ansible can use directly
    /// (`ansible-playbook -i .ict/dev/inventory ...`) and print its path.
    #[arg(long)]
    pub script: bool,
}

/// Static inventory formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Yaml,
    Ini,
}

/// How to log in over SSH.
#[derive(Debug, Args, Clone, Default)]
pub struct SshArgs {
    /// Private key to log in with (default: ICT_SSH_KEY, the private half of a declared
    /// public_key_file, the ssh agent, then ~/.ssh/id_ed25519).
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

/// `ict exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The script whose servers to reach, e.g. `infra.ict` (or --hosts).
    #[arg(
        value_name = "FILE",
        required_unless_present = "hosts",
        conflicts_with = "hosts"
    )]
    pub file: Option<PathBuf>,

    /// Reach hosts no script declares, listed in a file like `ansible -i`: one `name address
    /// [port]`, `name [user@]address[:port]` or `[user@]address[:port]` per line.
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,

    /// With --hosts: the OpenSSH known_hosts file the host keys must be in (default
    /// ~/.ssh/known_hosts). Unknown or changed keys are refused.
    #[arg(long, value_name = "FILE", requires = "hosts")]
    pub known_hosts: Option<PathBuf>,

    /// With --hosts: the user to log in as on lines that name none (default root).
    #[arg(long, short = 'u', value_name = "USER", requires = "hosts")]
    pub user: Option<String>,

    /// Ansible-style host pattern: `web`, `web-*`, `web:!web-3` (default: all servers).
    #[arg(long, short = 'l', default_value = "all", value_name = "PATTERN")]
    pub limit: String,

    /// How many hosts at once.
    #[arg(
        long,
        short = 'f',
        visible_alias = "forks",
        default_value_t = 50,
        value_name = "N"
    )]
    pub parallelism: usize,

    /// Seconds a command may run on one host.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub timeout: u64,

    /// Print each host's output as one block instead of line by line with a prefix.
    #[arg(long, conflicts_with = "json")]
    pub group_output: bool,

    /// Print one JSON array: per host its output, exit status, time or error.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub ssh: SshArgs,

    /// The command to run (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `ict run` / `ict deploy`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,

    /// Dry run: show the plan, change nothing in the cloud, and run the playbooks in check
    /// mode (`ansible-playbook --check`) on the servers that exist.
    #[arg(long)]
    pub check: bool,

    /// Show Ansible's diffs (`ansible-playbook --diff`).
    #[arg(long)]
    pub diff: bool,

    /// Skip the last step: one look at every server's live metrics (node_exporter).
    #[arg(long)]
    pub no_metrics: bool,

    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `ict power`.
#[derive(Debug, Args)]
pub struct PowerArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// What to do.
    #[arg(value_enum)]
    pub action: PowerAction,

    /// Ansible-style host pattern (default: all servers).
    #[arg(long, short = 'l', default_value = "all", value_name = "PATTERN")]
    pub limit: String,
}

/// Power operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PowerAction {
    Start,
    Stop,
    Reboot,
}

/// Which servers to scrape and how.
#[derive(Debug, Args, Clone)]
pub struct ScrapeArgs {
    /// Ansible-style host pattern: `web`, `web-*`, `web:!web-3` (default: all servers).
    #[arg(long, short = 'l', default_value = "all", value_name = "PATTERN")]
    pub limit: String,

    /// Seconds one server's scrape may take, SSH login included.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    pub timeout: f64,

    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `ict metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub scrape: ScrapeArgs,

    /// Seconds between the two scrapes that give rates (0: one scrape, no rates).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub interval: f64,

    /// Print JSON (one object per server) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ict top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub file: FileArgs,

    #[command(flatten)]
    pub scrape: ScrapeArgs,

    /// Seconds between refreshes.
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    pub interval: f64,
}
