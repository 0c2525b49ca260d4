//! ict: infrastructure as code for 1cloud.ru.
//!
//! A `.ict` script (Rhai) is evaluated into a desired-state [`model::Desired`], which the later
//! stages plan against the cloud, apply, configure with Ansible and monitor. See
//! `docs/architecture.md` for the data flow and `src/README.md` for the map of modules.
//!
//! This file only wires the layers together: [`run`] parses the arguments into a
//! [`config::Config`] and [`config::Command`], executes the command and turns the outcome into an exit code.

pub mod ansible;
pub mod app;
pub mod atomic;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod daemon;
pub mod dashboard;
pub mod emulator;
pub mod exit;
pub mod http;
pub mod inventory;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod provider;
pub mod reconcile;
pub mod repl;
pub mod schedule;
pub mod script;
pub mod shell;
pub mod ssh;
pub mod state;
pub mod ui;
pub mod watch;

use std::ffi::OsString;

/// Runs ict with the given command-line arguments (the first one is the program name) and
/// returns the process exit code. Callable more than once, from tests as from `main`.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let (config, command) = match config::Config::from_args(args) {
        Ok(parsed) => parsed,
        Err(outcome) => return outcome,
    };
    let ui = ui::Ui::new(&config);
    ui.init_logging(config.verbosity);
    match commands::execute(&config, &command, &ui) {
        Ok(code) => code.into(),
        Err(error) => {
            ui.report(&error);
            error.exit_code().into()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_can_be_called_more_than_once() {
        assert_eq!(super::run(["ict", "--version"]), 0);
        assert_eq!(super::run(["ict", "--version"]), 0);
    }
}
