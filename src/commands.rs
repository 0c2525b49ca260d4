//! Command execution: one function per subcommand, taking the validated [`Config`] and the
//! [`Ui`], returning an exit code or a typed [`Error`]. May depend on every layer.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::{Cli, CloudArgs, CloudCommand, Command};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::provider::onecloud::Client;
use crate::provider::ProviderError;
use crate::ui::{table, Ui};

/// Why a command failed. Each variant knows its exit code and how to render itself.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plain message with no source location.
    #[error("{0}")]
    Message(String),

    /// The cloud API (or the client's setup) failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
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
            Error::Provider(error) => crate::ui::render_diagnostic(error, ui.color(), out),
        }
    }
}

/// Runs the configured command.
pub fn execute(config: &Config, ui: &Ui) -> Result<ExitCode, Error> {
    match &config.command {
        Command::Check(_) | Command::Graph { .. } => {
            Err(Error::Message("not available yet".to_owned()))
        }
        Command::Cloud(args) => cloud(args, ui),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "ict", &mut buffer);
            ui.out(&String::from_utf8_lossy(&buffer));
            Ok(ExitCode::Success)
        }
    }
}

/// `ict cloud ...`: read-only listings from the 1cloud API, as tables or JSON. The tokio runtime
/// is built here, after argument parsing (there is no global runtime).
fn cloud(args: &CloudArgs, ui: &Ui) -> Result<ExitCode, Error> {
    let client = Client::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::Message(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(cloud_listing(args, ui, &client))?;
    Ok(ExitCode::Success)
}

async fn cloud_listing(args: &CloudArgs, ui: &Ui, client: &Client) -> Result<(), Error> {
    match args.what {
        CloudCommand::Servers => {
            let mut servers = client.servers().await?;
            servers.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &servers);
            }
            ui.table(&table::servers(&servers));
        }
        CloudCommand::Images => {
            let mut images = client.images().await?;
            images.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &images);
            }
            ui.table(&table::images(&images));
        }
        CloudCommand::Dcs => {
            let mut dcs = client.dc_locations().await?;
            dcs.sort_by(|a, b| a.tech_title.cmp(&b.tech_title));
            if args.json {
                return print_json(ui, &dcs);
            }
            ui.table(&table::dcs(&dcs));
        }
        CloudCommand::Networks => {
            let mut networks = client.networks().await?;
            networks.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &networks);
            }
            ui.table(&table::networks(&networks));
        }
        CloudCommand::Keys => {
            let mut keys = client.ssh_keys().await?;
            keys.sort_by(|a, b| (&a.title, a.id).cmp(&(&b.title, b.id)));
            if args.json {
                return print_json(ui, &keys);
            }
            ui.table(&table::ssh_keys(&keys));
        }
        CloudCommand::Dns => {
            let mut domains = client.domains().await?;
            domains.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            for domain in &mut domains {
                domain
                    .records
                    .sort_by(|a, b| (&a.name, &a.kind, a.id).cmp(&(&b.name, &b.kind, b.id)));
            }
            if args.json {
                return print_json(ui, &domains);
            }
            ui.table(&table::domains(&domains));
        }
        CloudCommand::Balance => {
            let balance = client.balance().await?;
            if args.json {
                return print_json(ui, &serde_json::json!({ "balance": balance }));
            }
            ui.out(&format!("balance: {balance:.2}\n"));
        }
    }
    Ok(())
}

/// Prints a listing as JSON for `--json`.
fn print_json<T: serde::Serialize + ?Sized>(ui: &Ui, value: &T) -> Result<(), Error> {
    ui.json(value)
        .map_err(|error| Error::Message(format!("cannot write JSON: {error}")))
}
