//! Command execution: one function per subcommand, taking the validated [`Config`], the
//! command's own options (from `config`, never clap's) and the [`Ui`], returning an exit code
//! or a typed [`Error`]. May depend on every layer but `cli`.

use std::path::Path;

mod deploy;
mod emulator;
mod exec;
mod infra;
mod metrics;
mod output;
mod pipeline;
mod pipeline_logs;
mod schedule;
mod state;
mod watch;

use crate::config::{
    CloudListing, CloudOptions, Command, Config, GraphFormat, LockCommand, StateCommand,
};
use crate::connect::Pending;
use crate::exit::ExitCode;
use crate::model::Graph;
use crate::provider::{Cloud, Kinds, Provider as _};
use crate::script::{self, Evaluated, Failure};

pub use crate::app::Error;
use crate::app::{doctor, Locked, Project};
use crate::state::{State, Store};
use crate::ui::{self, table, Ui};

/// Runs `command`.
pub fn execute(config: &Config, command: &Command, ui: &Ui) -> Result<ExitCode, Error> {
    match command {
        Command::Check { file } => {
            // Validating needs no secret values (CI has none); plan and apply do.
            let options = script::Options {
                need_secrets: false,
                ..config.script_options()
            };
            let evaluated = evaluate_with(ui, file, options)?;
            let d = &evaluated.desired;
            ui.out(&format!(
                "{}: ok (env {}): {}\n",
                file.display(),
                d.env,
                summary(&[
                    (d.servers.len(), "server"),
                    (d.ssh_keys.len(), "ssh key"),
                    (d.networks.len(), "network"),
                    (d.pools.len(), "pool"),
                    (d.volumes.len(), "volume"),
                    (d.groups.len(), "group"),
                    (d.playbooks.len(), "playbook"),
                    (d.dns_records.len(), "DNS record"),
                    (d.alerts.len(), "alert"),
                    (d.pipelines.len(), "pipeline"),
                ])
            ));
            Ok(ExitCode::Success)
        }
        Command::Graph { file, format } => {
            let evaluated = evaluate(config, ui, file)?;
            let graph = Graph::build(&evaluated.desired).map_err(|e| {
                Error::from(Failure {
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
        Command::State(StateCommand::List { file, json }) => {
            let backend = Project::new(config, file).backend()?;
            let state = backend.load()?.unwrap_or_else(|| State::new(&config.env));
            if *json {
                ui.json(&crate::ui::state::owned(&state))
                    .map_err(Error::Json)?;
            } else {
                ui.out(&crate::ui::state::text(&state, &backend.location()));
            }
            Ok(ExitCode::Success)
        }
        Command::State(StateCommand::Forget { file, addresses }) => {
            state::forget(config, ui, file, addresses)
        }
        Command::State(StateCommand::Mv { file, from, to }) => {
            state::mv(config, ui, file, (from, to))
        }
        Command::State(StateCommand::Import { file, name, id }) => {
            state::import(config, ui, file, (name, *id))
        }
        Command::State(StateCommand::Migrate { file, to_local }) => {
            state::migrate(config, ui, file, *to_local)
        }
        Command::Output(args) => output::output(config, ui, args),
        Command::State(StateCommand::ForgetHostKey { file, name }) => {
            state::forget_host_key(config, ui, file, name)
        }
        Command::Cloud(args) => cloud(config, args, ui),
        Command::Emulator(args) => emulator::emulator(ui, args),
        Command::Doctor { json } => {
            // Always exits 0: what is missing is in the report.
            let mitogen = crate::app::runtime()?.block_on(crate::ansible::mitogen::find());
            let features = doctor::features(&mitogen);
            if *json {
                ui.json(&serde_json::json!({ "features": features }))
                    .map_err(Error::Json)?;
            } else {
                ui.doctor(&features);
            }
            Ok(ExitCode::Success)
        }
        Command::Run(args) => deploy::run(config, ui, args),
        Command::Inventory(args) => deploy::inventory(config, ui, args),
        Command::Exec(args) => exec::exec(config, ui, args),
        Command::Power(args) => deploy::power(config, ui, args),
        Command::Metrics(args) => metrics::metrics(config, ui, args),
        Command::Top(args) => metrics::top(config, ui, args),
        Command::Plan(args) => infra::plan(config, ui, args),
        Command::Apply { apply, json } => infra::apply(config, ui, apply, *json),
        Command::Destroy(args) => infra::destroy(config, ui, args),
        Command::Watch(args) => watch::watch(config, ui, args),
        Command::Pipeline(command) => pipeline::command(config, ui, command),
        Command::PipelineLogs(args) => pipeline_logs::logs(config, ui, args),
        Command::Rollback(args) => pipeline::rollback(config, ui, args),
        Command::Schedule(command) => schedule::command(config, ui, command),
        Command::Completions { script } => {
            ui.out(script);
            Ok(ExitCode::Success)
        }
    }
}

/// Takes the environment's lock (see [`Project::lock`]), showing what taking it found.
fn locked(ui: &Ui, project: &Project, command: &str) -> Result<Store, Error> {
    let Locked { store, notes } = project.lock(command)?;
    for note in notes {
        ui.note(&note);
    }
    Ok(store)
}

/// Opens `script`'s project: starts reaching its provider (for the emulator, on another thread)
/// while the script is evaluated and validated; warnings are printed, errors returned.
fn open(config: &Config, ui: &Ui, script: &Path) -> Result<(Project, Pending, Evaluated), Error> {
    let project = Project::new(config, script);
    let pending = project.connect();
    let evaluated = show_warnings(ui, project.evaluate()?);
    Ok((project, pending, evaluated))
}

/// Evaluates and validates the script; warnings are printed, errors returned.
fn evaluate(config: &Config, ui: &Ui, file: &Path) -> Result<Evaluated, Error> {
    evaluate_with(ui, file, config.script_options())
}

fn evaluate_with(ui: &Ui, file: &Path, options: script::Options) -> Result<Evaluated, Error> {
    Ok(show_warnings(ui, script::evaluate(file, options)?))
}

/// Prints the script's warnings.
fn show_warnings(ui: &Ui, evaluated: Evaluated) -> Evaluated {
    for warning in &evaluated.warnings {
        let mut out = String::new();
        ui::render_problem(warning, &evaluated.sources, ui.color(), &mut out);
        ui.note(&out);
    }
    evaluated
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
        LockCommand::Status { file } => {
            let backend = Project::new(config, file).backend()?;
            ui.lock_status(&backend.break_hint(), &backend.status()?);
        }
        LockCommand::Break { file, force } => {
            let backend = Project::new(config, file).backend()?;
            let broken = backend.break_lock(*force)?;
            ui.lock_broken(backend.dir().env(), &backend.location(), &broken);
        }
    }
    Ok(ExitCode::Success)
}
/// `ict cloud ...`: read-only listings from the 1cloud API, as tables or JSON. The tokio runtime
/// is built here, after argument parsing (there is no global runtime).
/// Without a token this looks at the built-in emulator of the project given (a script or a
/// folder) or found upward from the current directory.
fn cloud(config: &Config, args: &CloudOptions, ui: &Ui) -> Result<ExitCode, Error> {
    // A script names its project, and may declare its provider (libvirt).
    let pending = if let Some(script) = args.project.as_deref().filter(|p| p.is_file()) {
        Project::new(config, script).connect()
    } else {
        let project =
            crate::daemon::Project::find(args.project.as_deref()).map_err(Error::Project)?;
        let shown = shown_state_file(&project);
        crate::connect::start_project(config.provider, &project, shown)
    };
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        ui.note(&conn.banner);
        let result = cloud_listing(args, ui, &conn.client).await;
        conn.close().await;
        result
    })?;
    Ok(ExitCode::Success)
}

/// The project's emulator account file as the banner shows it: relative to the current
/// directory when it is inside it, absolute otherwise.
fn shown_state_file(project: &crate::daemon::Project) -> std::path::PathBuf {
    let file = project.state_file();
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| file.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(file)
}

async fn cloud_listing(args: &CloudOptions, ui: &Ui, client: &Cloud) -> Result<(), Error> {
    match args.what {
        CloudListing::Servers => {
            let mut servers = client.servers().await?;
            servers.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &servers);
            }
            ui.table(&table::servers(&servers));
        }
        CloudListing::Images => {
            let mut images = client.images().await?;
            images.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &images);
            }
            ui.table(&table::images(&images));
        }
        CloudListing::Dcs => {
            let mut dcs = client.dc_locations().await?;
            dcs.sort_by(|a, b| a.tech_title.cmp(&b.tech_title));
            if args.json {
                return print_json(ui, &dcs);
            }
            ui.table(&table::dcs(&dcs));
        }
        CloudListing::Networks => {
            let mut networks = client.networks().await?;
            networks.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
            if args.json {
                return print_json(ui, &networks);
            }
            ui.table(&table::networks(&networks));
        }
        CloudListing::Keys => {
            let mut keys = client.ssh_keys().await?;
            keys.sort_by(|a, b| (&a.title, a.id).cmp(&(&b.title, b.id)));
            if args.json {
                return print_json(ui, &keys);
            }
            ui.table(&table::ssh_keys(&keys));
        }
        CloudListing::Dns => {
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
        CloudListing::Pools => {
            let mut pools = client.observe(Kinds::STORAGE).await?.pools;
            pools.sort_by(|a, b| a.name.cmp(&b.name));
            if args.json {
                return print_json(ui, &pools);
            }
            ui.table(&table::pools(&pools));
        }
        CloudListing::Volumes => {
            let observed = client
                .observe(Kinds {
                    servers: true,
                    storage: true,
                    ..Kinds::NONE
                })
                .await?;
            let mut volumes = observed.volumes;
            volumes.sort_by(|a, b| (&a.pool_name, &a.name).cmp(&(&b.pool_name, &b.name)));
            if args.json {
                return print_json(ui, &volumes);
            }
            ui.table(&table::volumes(&volumes, &observed.servers));
        }
        CloudListing::Balance => {
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
    ui.json(value).map_err(Error::Json)
}
