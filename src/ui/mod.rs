//! The only place that prints: diagnostics, tables, graphs, colour (`NO_COLOR`, `--no-color`)
//! and the log subscriber. May depend on `model`, `script` and the types it shows; errors it
//! knows only as `miette::Diagnostic`. Nothing else in ict writes to stdout or stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod apply;
mod diagnostic;
pub mod doctor;
pub mod emulator;
mod escape;
mod exec;
pub mod graph;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub mod schedule;
mod spinner;
pub mod state;
pub mod table;
pub mod top;

use std::io::{self, Write};

use crate::config::Config;
use crate::state::{Broken, Liveness, LockStatus};

pub use apply::ApplyProgress;
pub use diagnostic::{render_diagnostic, render_problem, render_report};
pub use escape::{escape, escape_lines};
pub use exec::ExecStyle;
pub use table::Table;

/// Output settings for one invocation.
#[derive(Debug, Clone)]
pub struct Ui {
    color: bool,
    /// Log lines carry the time (the project's emulator daemon, whose log is a file).
    timestamps: bool,
}

impl Ui {
    /// Output settings from the validated configuration.
    pub fn new(config: &Config) -> Ui {
        Ui {
            color: config.color && io::IsTerminal::is_terminal(&io::stderr()),
            timestamps: config.log_times,
        }
    }

    /// Whether colours are in use.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Installs the log subscriber: warnings by default, `-v` info, `-vv` debug. Script
    /// `print` is always shown; `RUST_LOG` overrides everything.
    pub fn init_logging(&self, verbosity: u8) {
        let level = match verbosity {
            0 => "warn,ict::script::print=info",
            1 => "info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
        // A second call (tests call `run` twice) keeps the first subscriber.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(io::stderr)
            .with_ansi(self.color)
            .with_target(false);
        let _ = if self.timestamps {
            builder.try_init()
        } else {
            builder.without_time().try_init()
        };
    }

    /// Prints the error a command failed with (see [`render_report`]).
    pub fn report(&self, error: &dyn miette::Diagnostic) {
        eprint!("{}", self.report_text(error));
    }

    /// The error a command failed with, rendered as [`Ui::report`] prints it.
    pub fn report_text(&self, error: &dyn miette::Diagnostic) -> String {
        let mut out = String::new();
        render_report(error, self.color, &mut out);
        out
    }

    /// Writes text to standard output. A closed pipe (`ict graph | head`) is not an error.
    pub fn out(&self, text: &str) {
        print_out(text);
    }

    /// Writes a line to standard error, for progress and notices.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// Prints outputs as `name = value` lines (after apply, and `ict output`).
    pub fn outputs(&self, outputs: &[(String, String)]) {
        if outputs.is_empty() {
            return;
        }
        let width = outputs.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let mut text = String::from("\nOutputs:\n\n");
        for (name, value) in outputs {
            let _ = std::fmt::Write::write_fmt(
                &mut text,
                format_args!("  {name:<width$} = {}\n", escape(value)),
            );
        }
        self.out(&text);
    }

    /// Prints `ict lock status`: "unlocked", or who holds the lock and what to do about it.
    pub fn lock_status(&self, break_hint: &str, status: &LockStatus) {
        let text = match status {
            LockStatus::Unlocked => "unlocked\n".to_owned(),
            LockStatus::Held { holder, liveness } => {
                let advice = match liveness {
                    Liveness::Alive => "it is still running",
                    Liveness::Dead => {
                        "it is no longer running; the next ict command takes the lock over"
                    }
                    Liveness::Unknown => "ict cannot check from here whether it is still running",
                    Liveness::Expired => {
                        "it stopped renewing its lease; the next ict command takes the lock over"
                    }
                };
                format!("locked by {holder}\n{advice}; to break the lock: {break_hint}\n")
            }
        };
        self.out(&text);
    }

    /// Prints the outcome of `ict lock break`.
    pub fn lock_broken(&self, env: &str, location: &str, broken: &Broken) {
        let text = match broken {
            Broken::Held(holder) => {
                format!("broke the lock of environment `{env}` held by {holder}\n")
            }
            Broken::Unreadable => {
                format!("broke the unreadable lock of environment `{env}` in {location}\n")
            }
            Broken::NotLocked => format!("environment `{env}` was not locked\n"),
        };
        self.out(&text);
    }

    /// Prints a table to standard output.
    pub fn table(&self, table: &Table) {
        self.out(&table.render());
    }

    /// Prints a value as pretty JSON to standard output (for `--json`).
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<(), serde_json::Error> {
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        self.out(&text);
        Ok(())
    }

    /// The progress display of an apply of `steps` changes (bars on a terminal).
    pub fn apply_progress(&self, steps: usize, json: bool) -> ApplyProgress {
        ApplyProgress::new(steps, self.color, json)
    }

    /// Prints the closing lines of an apply or destroy.
    pub fn apply_recap(
        &self,
        plan: &crate::reconcile::Plan,
        report: &crate::reconcile::Report,
        command: &str,
    ) {
        self.out(&apply::recap(plan, report, command));
    }

    /// Prints a question without a newline.
    pub fn prompt(&self, text: &str) {
        self.out(text);
    }

    /// Prints `ict exec` results; returns whether any host failed.
    pub fn exec_results(
        &self,
        results: &[crate::ssh::HostResult],
        missing: &[(&str, &str)],
        style: ExecStyle,
    ) -> bool {
        let (text, failed) = exec::results(results, missing, style);
        self.out(&text);
        failed
    }

    /// Prints the `ict metrics` table.
    pub fn metrics_table(&self, rows: &[crate::metrics::HostFigures]) {
        self.table(&metrics::table(rows));
    }

    /// Warns, on standard error, about each host of an inventory that has no address yet.
    pub fn inventory_warnings(&self, inventory: &crate::inventory::Inventory) {
        for host in &inventory.hosts {
            if host
                .vars
                .get("ansible_host")
                .is_none_or(serde_json::Value::is_null)
            {
                self.note(&format!(
                    "warning: `{}` has no address yet (`ict apply` gives it one): Ansible \
                     cannot reach it",
                    host.name
                ));
            }
        }
    }

    /// Prints `ict doctor`'s report.
    pub fn doctor(&self, features: &[crate::app::doctor::Feature]) {
        self.out(&doctor::report(features));
    }

    /// Prints what a command skipped for lack of a prerequisite, and how to install it: on
    /// standard output after the command's report, or on standard error when that is `json`.
    pub fn skipped(&self, skipped: &[crate::app::doctor::Skipped], json: bool) {
        let text = doctor::skipped(skipped);
        if json {
            eprint!("{text}");
        } else {
            self.out(&text);
        }
    }

    /// Announces, before anything changes, a step that will be skipped.
    pub fn will_skip(&self, skipped: &crate::app::doctor::Skipped) {
        self.note(&format!(
            "note: {} will be skipped: {} (install: {})",
            skipped.step, skipped.reason, skipped.install
        ));
    }

    /// Prints the per-host recap of a playbook run.
    /// What each playbook of `outcome` did on each host (`names`: the playbooks of the run).
    /// When Ansible failed with no host failing, the first playbook it did not finish is named
    /// too, with no hosts and the exit code.
    pub fn playbook_recaps(&self, names: &[&str], outcome: &crate::ansible::Outcome) {
        for (name, hosts) in &outcome.recaps {
            self.out(&exec::playbook_recap(name, hosts, outcome.exit_code));
        }
        let host_failed = outcome
            .recaps
            .iter()
            .flat_map(|(_, hosts)| hosts.values())
            .any(crate::ansible::HostRecap::is_failure);
        if outcome.exit_code != Some(0) && !host_failed {
            if let Some(name) = names.get(outcome.recaps.len()) {
                let none = std::collections::BTreeMap::new();
                self.out(&exec::playbook_recap(name, &none, outcome.exit_code));
            }
        }
    }
}

/// A duration in seconds, to the millisecond (for JSON output).
fn json_seconds(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Writes text to standard output. A closed pipe (`ict graph | head`) is not an error.
fn print_out(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
