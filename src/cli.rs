//! Command-line definitions (clap). Nothing here is used past `config.rs`, which turns these raw
//! arguments into a validated [`crate::config::Config`].

// Doc comments here are `--help` text for users, not rustdoc.
#![allow(clippy::doc_markdown)]

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

    /// Do not use colours (also when `NO_COLOR` is set).
    #[arg(long, global = true)]
    pub no_color: bool,

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

    /// Print a shell completion script, e.g. `ict completions bash > ~/.local/share/bash-completion/completions/ict`.
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `ict lock …`: the state lock of the environment selected with `--env`.
#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Show who holds the lock (user, host, PID, command, since when), or "unlocked".
    Status(FileArgs),
    /// Remove the lock, e.g. after a crashed run on another machine. Make sure its holder is
    /// really gone: two commands changing one environment at once can create servers twice.
    Break(FileArgs),
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
