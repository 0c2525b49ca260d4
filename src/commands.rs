//! Command execution: one function per subcommand, taking the validated [`Config`] and the
//! [`Ui`], returning an exit code or a typed [`Error`]. May depend on every layer.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::ui::Ui;

/// Why a command failed. Each variant knows its exit code and how to render itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plain message with no source location.
    #[error("{0}")]
    Message(String),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Error
    }

    /// Renders the error for people.
    pub fn render(&self, _ui: &Ui, out: &mut String) {
        match self {
            Error::Message(message) => {
                let _ = writeln!(out, "error: {message}");
            }
        }
    }
}

/// Runs the configured command.
pub fn execute(config: &Config, ui: &Ui) -> Result<ExitCode, Error> {
    match &config.command {
        Command::Check(_) | Command::Graph { .. } => {
            Err(Error::Message("not available yet".to_owned()))
        }
        Command::Emulator(args) => {
            crate::emulator::run_until_signal(args.listen, args.to_config(), |addr| {
                ui.note(&format!(
                    "1cloud emulator listening on http://{addr} (Ctrl-C to stop)"
                ));
            })
            .map(|()| ExitCode::Success)
            .map_err(|e| {
                let cause = std::error::Error::source(&e)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                let help = miette::Diagnostic::help(&e)
                    .map(|h| format!("\nhelp: {h}"))
                    .unwrap_or_default();
                Error::Message(format!("{e}{cause}{help}"))
            })
        }
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "ict", &mut buffer);
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(ExitCode::Success)
        }
    }
}
