//! What the user asked ict to do: the subcommand and its options, validated — plain values
//! (paths, durations, enums) that the commands, the REPL and tests can build without clap.
//! [`super::Config::from_args`] makes them from the raw `cli` arguments once; the `--help`
//! text of every option is in `cli.rs`. Depends on `emulator` (the standalone emulator's
//! settings) only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::EmulatorConfig;

/// The subcommand, with its options.
#[derive(Debug)]
pub enum Command {
    /// `ict check FILE`.
    Check { file: PathBuf },
    /// `ict graph FILE`.
    Graph { file: PathBuf, format: GraphFormat },
    /// `ict repl [FILE]`.
    Repl { file: Option<PathBuf> },
    /// `ict lock status|break`.
    Lock(LockCommand),
    /// `ict state …`.
    State(StateCommand),
    /// `ict plan`.
    Plan(PlanOptions),
    /// `ict apply`: what to apply, and whether to print JSON lines.
    Apply { apply: ApplyOptions, json: bool },
    /// `ict destroy`.
    Destroy(DestroyOptions),
    /// `ict output`.
    Output(OutputOptions),
    /// `ict run` / `ict deploy`.
    Run(RunOptions),
    /// `ict inventory`.
    Inventory(InventoryOptions),
    /// `ict exec`.
    Exec(ExecOptions),
    /// `ict power`.
    Power(PowerOptions),
    /// `ict metrics`.
    Metrics(MetricsOptions),
    /// `ict top`.
    Top(TopOptions),
    /// `ict cloud …`.
    Cloud(CloudOptions),
    /// `ict watch`.
    Watch(WatchOptions),
    /// `ict pipeline run|status`.
    Pipeline(PipelineCommand),
    /// `ict pipeline logs`.
    PipelineLogs(PipelineLogsOptions),
    /// `ict rollback`.
    Rollback(RollbackOptions),
    /// `ict schedule list|run`.
    Schedule(ScheduleCommand),
    /// `ict emulator …`.
    Emulator(EmulatorCommand),
    /// `ict doctor`.
    Doctor { json: bool },
    /// `ict completions SHELL`: the completion script, already generated from the clap
    /// definitions (which only `config` may read).
    Completions { script: String },
}

/// How `ict graph` prints the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Json,
    Dot,
}

/// `ict lock …`: the state lock of the environment selected with `--env`.
#[derive(Debug)]
pub enum LockCommand {
    /// Show who holds the lock.
    Status { file: PathBuf },
    /// Remove the lock (`force`: even though its holder may still be running).
    Break { file: PathBuf, force: bool },
}

/// `ict state …`: edits of the state of the environment selected with `--env`.
#[derive(Debug)]
pub enum StateCommand {
    /// What ict owns in this environment.
    List { file: PathBuf, json: bool },
    /// Stop managing these objects without touching the cloud.
    Forget {
        file: PathBuf,
        addresses: Vec<String>,
    },
    /// Rebind what ict owns under one address to another.
    Mv {
        file: PathBuf,
        from: String,
        to: String,
    },
    /// Take over an existing cloud object by its ID.
    Import {
        file: PathBuf,
        name: String,
        id: u64,
    },
    /// Move the state between `.ict/<env>/` and the declared backend.
    Migrate { file: PathBuf, to_local: bool },
    /// Forget the host key pinned for a server.
    ForgetHostKey { file: PathBuf, name: String },
}

/// `ict plan`.
#[derive(Debug)]
pub struct PlanOptions {
    pub file: PathBuf,
    pub json: bool,
    /// Exit 2 when there are changes.
    pub detailed_exitcode: bool,
    /// Save the plan to this file.
    pub out: Option<PathBuf>,
    pub scope: Scope,
}

/// What narrows or forces parts of a plan (`--replace`, `--target`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Servers to recreate even if nothing changed.
    pub replace: Vec<String>,
    /// Resources (names or addresses) to change, with what they need; empty: all.
    pub target: Vec<String>,
}

/// What `ict apply` and `ict run` apply, and how.
#[derive(Debug)]
pub struct ApplyOptions {
    /// The script, or a plan saved with `ict plan --out`.
    pub file: PathBuf,
    /// Do not ask for confirmation.
    pub yes: bool,
    /// How many changes to make at once.
    pub parallelism: usize,
    pub scope: Scope,
}

/// `ict destroy`.
#[derive(Debug)]
pub struct DestroyOptions {
    pub file: PathBuf,
    pub yes: bool,
    pub json: bool,
    /// Only these resources and what depends on them; empty: everything.
    pub target: Vec<String>,
    pub parallelism: usize,
}

/// `ict output`.
#[derive(Debug)]
pub struct OutputOptions {
    pub file: PathBuf,
    /// Only this output, printed raw.
    pub name: Option<String>,
    pub json: bool,
}

/// `ict run` / `ict deploy`.
#[derive(Debug)]
pub struct RunOptions {
    pub apply: ApplyOptions,
    /// Dry run: change nothing, run the playbooks in check mode.
    pub check: bool,
    /// Show Ansible's diffs.
    pub diff: bool,
    /// Skip the last step, one look at the live metrics.
    pub no_metrics: bool,
    pub ssh: SshOptions,
}

/// `ict inventory`.
#[derive(Debug)]
pub struct InventoryOptions {
    pub file: PathBuf,
    /// Static inventory format.
    pub format: InventoryFormat,
    /// The dynamic-inventory `--list` answer.
    pub list: bool,
    /// The dynamic-inventory `--host NAME` answer.
    pub host: Option<String>,
    /// Write an executable inventory script and print its path.
    pub script: bool,
}

/// Static inventory formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    Yaml,
    Ini,
}

/// How to log in over SSH.
#[derive(Debug, Clone, Default)]
pub struct SshOptions {
    /// The private key to log in with, when given (`--identity`).
    pub identity: Option<PathBuf>,
}

/// `ict exec`.
#[derive(Debug)]
pub struct ExecOptions {
    /// Which hosts: a script's servers or a host list.
    pub hosts: ExecHosts,
    /// Ansible-style host pattern.
    pub limit: String,
    /// How many hosts at once.
    pub parallelism: usize,
    /// How long the command may run on one host.
    pub timeout: Duration,
    /// Each host's output as one block.
    pub group_output: bool,
    pub json: bool,
    pub ssh: SshOptions,
    /// The command to run, word by word.
    pub command: Vec<String>,
}

/// The hosts `ict exec` reaches.
#[derive(Debug)]
pub enum ExecHosts {
    /// The servers this script declares.
    Declared(PathBuf),
    /// Hosts listed in a file (`--hosts`), whose keys must be in a `known_hosts` file.
    Listed {
        list: PathBuf,
        /// The `known_hosts` file (default `~/.ssh/known_hosts`).
        known_hosts: Option<PathBuf>,
        /// The user for lines that name none.
        user: Option<String>,
    },
}

/// `ict power`.
#[derive(Debug)]
pub struct PowerOptions {
    pub file: PathBuf,
    pub action: PowerAction,
    /// Ansible-style host pattern.
    pub limit: String,
}

/// Power operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    Start,
    Stop,
    Reboot,
}

/// Which servers to scrape and how.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// Ansible-style host pattern.
    pub limit: String,
    /// How long one server's scrape may take, SSH login included (above 0).
    pub timeout: Duration,
    pub ssh: SshOptions,
}

/// `ict metrics`.
#[derive(Debug)]
pub struct MetricsOptions {
    pub file: PathBuf,
    pub scrape: Scrape,
    /// Between the two scrapes that give rates (zero: one scrape, no rates).
    pub interval: Duration,
    pub json: bool,
}

/// `ict top`.
#[derive(Debug)]
pub struct TopOptions {
    pub file: PathBuf,
    pub scrape: Scrape,
    /// Between refreshes (above 0).
    pub interval: Duration,
}

/// `ict cloud …`.
#[derive(Debug)]
pub struct CloudOptions {
    pub what: CloudListing,
    pub json: bool,
    /// Whose built-in emulator to look at: a script or a project folder.
    pub project: Option<PathBuf>,
}

/// What `ict cloud` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudListing {
    Servers,
    Images,
    Dcs,
    Networks,
    Keys,
    Dns,
    Balance,
    Pools,
    Volumes,
}

/// `ict watch`.
#[derive(Debug)]
pub struct WatchOptions {
    pub file: PathBuf,
    /// Between two sampling rounds (at least 10 ms).
    pub interval: Duration,
    /// Where to serve the dashboard and Prometheus `/metrics`.
    pub listen: Option<SocketAddr>,
    /// The dashboard actions' token, if given (`--token`, `ICT_WATCH_TOKEN`).
    pub token: Option<String>,
    /// Samples kept per server.
    pub history: usize,
    /// Check for drift every N rounds; 0: never.
    pub drift_every: u64,
    pub scrape: Scrape,
}

/// `ict pipeline logs`.
#[derive(Debug)]
pub struct PipelineLogsOptions {
    pub file: PathBuf,
    pub name: String,
    /// A release id, its start, or a commit; the newest run without it.
    pub run: Option<String>,
}

/// `ict pipeline …`.
#[derive(Debug)]
pub enum PipelineCommand {
    Run(PipelineRunOptions),
    Status(PipelineStatusOptions),
}

/// `ict pipeline run`.
#[derive(Debug)]
pub struct PipelineRunOptions {
    pub file: PathBuf,
    /// The pipeline's name.
    pub name: String,
    /// Branch, tag or commit to deploy.
    pub git_ref: Option<String>,
    /// How long one stage may run on one host (at least a second).
    pub stage_timeout: Duration,
    pub ssh: SshOptions,
}

/// `ict pipeline status`.
#[derive(Debug)]
pub struct PipelineStatusOptions {
    pub file: PathBuf,
    /// Only this pipeline, with every remembered run.
    pub name: Option<String>,
    pub json: bool,
}

/// `ict schedule …`.
#[derive(Debug)]
pub enum ScheduleCommand {
    List { file: PathBuf, json: bool },
    Run { file: PathBuf, name: String },
}

/// `ict rollback`.
#[derive(Debug)]
pub struct RollbackOptions {
    pub file: PathBuf,
    /// The pipeline's name.
    pub name: String,
    /// The release to go back to (an id or its prefix, or a commit); default: the previous one.
    pub to: Option<String>,
    pub ssh: SshOptions,
}

/// `ict emulator …`.
#[derive(Debug)]
pub enum EmulatorCommand {
    /// A standalone emulator in the foreground, on `listen`.
    Serve {
        listen: SocketAddr,
        settings: Box<EmulatorConfig>,
    },
    /// Start the project's emulator unless it runs.
    Start { project: Option<PathBuf> },
    /// Whether the project's emulator runs.
    Status {
        project: Option<PathBuf>,
        json: bool,
    },
    /// Stop the project's emulator.
    Stop { project: Option<PathBuf> },
    /// Print (`follow`: and keep printing) the project's emulator log.
    Logs {
        project: Option<PathBuf>,
        follow: bool,
    },
    /// Run as the project's emulator daemon.
    Daemon { dir: PathBuf, port: Option<u16> },
}
