//! Command execution: one function per subcommand, taking the validated [`Config`] and the
//! [`Ui`], returning an exit code or a typed [`Error`]. May depend on every layer.

use std::fmt::Write as _;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, Command, GraphFormat, LockCommand};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::model::Graph;
use crate::script::{self, Evaluated, Failure};
use crate::state::{Lock, StateDir, StateError};
use crate::ui::{self, Ui};

/// Why a command failed. Each variant knows its exit code and how to render itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plain message with no source location.
    #[error("{0}")]
    Message(String),
    /// The script has problems.
    #[error("the script has problems")]
    Script(Failure),

    /// Reading, writing or locking the state failed.
    #[error(transparent)]
    State(#[from] StateError),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Error
    }

    /// Renders the error for people.
    pub fn render(&self, ui: &Ui, out: &mut String) {
        match self {
            Error::Message(message) => {
                let _ = writeln!(out, "error: {message}");
            }
            Error::Script(failure) => {
                for problem in &failure.problems {
                    ui::render_problem(problem, &failure.sources, ui.color(), out);
                    out.push('\n');
                }
                let errors = failure.problems.iter().filter(|p| !p.is_warning()).count();
                let file = failure.sources.name(crate::model::SourceId(0));
                let noun = if errors == 1 { "problem" } else { "problems" };
                let _ = writeln!(out, "error: {errors} {noun} in {file}");
            }
            Error::State(error) => crate::ui::render_diagnostic(error, ui.color(), out),
        }
    }
}

/// Runs the configured command.
pub fn execute(config: &Config, ui: &Ui) -> Result<ExitCode, Error> {
    match &config.command {
        Command::Check(args) => {
            let evaluated = evaluate(config, ui, &args.file)?;
            let d = &evaluated.desired;
            ui.out(&format!(
                "{}: ok (env {}): {}\n",
                args.file.display(),
                d.env,
                summary(&[
                    (d.servers.len(), "server"),
                    (d.ssh_keys.len(), "ssh key"),
                    (d.networks.len(), "network"),
                    (d.groups.len(), "group"),
                    (d.playbooks.len(), "playbook"),
                    (d.dns_records.len(), "DNS record"),
                ])
            ));
            Ok(ExitCode::Success)
        }
        Command::Graph { file, format } => {
            let evaluated = evaluate(config, ui, &file.file)?;
            let graph = Graph::build(&evaluated.desired).map_err(|e| {
                Error::Script(Failure {
                    sources: evaluated.sources.clone(),
                    problems: vec![e.into()],
                })
            })?;
            let text = match format {
                GraphFormat::Text => ui::graph::text(&graph),
                GraphFormat::Json => ui::graph::json(&graph),
                GraphFormat::Dot => ui::graph::dot(&graph),
            };
            ui.out(&text);
            Ok(ExitCode::Success)
        }
        Command::Repl { file } => Ok(crate::repl::run(config, ui, file.as_deref())),
        Command::Lock(command) => lock(config, ui, command),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "ict", &mut buffer);
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(ExitCode::Success)
        }
    }
}

/// Evaluates and validates the script; warnings are printed, errors returned.
fn evaluate(config: &Config, ui: &Ui, file: &Path) -> Result<Evaluated, Error> {
    let options = script::Options::new(&config.env, config.vars.clone());
    let evaluated = script::evaluate(file, options).map_err(Error::Script)?;
    for warning in &evaluated.warnings {
        let mut out = String::new();
        ui::render_problem(warning, &evaluated.sources, ui.color(), &mut out);
        ui.note(&out);
    }
    Ok(evaluated)
}

/// "3 servers, 1 ssh key" (zero counts left out).
fn summary(counts: &[(usize, &str)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| {
            if *n == 1 {
                format!("1 {what}")
            } else {
                format!("{n} {what}s")
            }
        })
        .collect();
    if parts.is_empty() {
        "nothing declared".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `ict lock status|break FILE`.
fn lock(config: &Config, ui: &Ui, command: &LockCommand) -> Result<ExitCode, Error> {
    match command {
        LockCommand::Status(file) => {
            let dir = StateDir::for_script(&file.file, &config.env)?;
            ui.lock_status(&dir, &Lock::status(&dir)?);
        }
        LockCommand::Break(file) => {
            let dir = StateDir::for_script(&file.file, &config.env)?;
            let broken = Lock::break_lock(&dir)?;
            ui.lock_broken(&dir, &broken);
        }
    }
    Ok(ExitCode::Success)
}
