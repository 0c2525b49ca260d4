//! Command execution: one function per subcommand, taking the validated [`Config`] and the
//! [`Ui`], returning an exit code or a typed [`Error`]. May depend on every layer.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::{Cli, Command, LockCommand};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::state::{Lock, StateDir, StateError};
use crate::ui::Ui;

/// Why a command failed. Each variant knows its exit code and how to render itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plain message with no source location.
    #[error("{0}")]
    Message(String),

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
            Error::State(error) => crate::ui::render_diagnostic(error, ui.color(), out),
        }
    }
}

/// Runs the configured command.
pub fn execute(config: &Config, ui: &Ui) -> Result<ExitCode, Error> {
    match &config.command {
        Command::Check(_) | Command::Graph { .. } => {
            Err(Error::Message("not available yet".to_owned()))
        }
        Command::Lock(command) => lock(config, ui, command),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "ict", &mut buffer);
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(ExitCode::Success)
        }
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
