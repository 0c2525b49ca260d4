//! `ict plan`, `ict apply` and `ict destroy`: evaluate the script, then (in a tokio runtime built
//! only now) connect to the provider, read the cloud and the state, plan, confirm and apply.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::metrics::Look;
use super::{evaluate, Error};
use crate::config::{ApplyOptions, Config, DestroyOptions, PlanOptions, Scope, SshOptions};
use crate::connect::{self, Connection};
use crate::exit::ExitCode;
use crate::model::{self, Desired};
use crate::provider::{DcLocation, Image, Observed, Provider};
use crate::reconcile::{self, Plan, Report};
use crate::script::{Evaluated, Failure};
use crate::state::{Address, Lock, State, StateDir, Store};
use crate::ui::{self, Ui};

/// Version tag of saved plans.
const SAVED_PLAN_VERSION: u32 = 1;

pub(super) fn plan(config: &Config, ui: &Ui, args: &PlanOptions) -> Result<ExitCode, Error> {
    let pending = connect::start(config.provider, &args.file);
    let evaluated = evaluate(config, ui, &args.file)?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if !args.json {
            ui.out(&format!("{}\n\n", conn.banner));
        }
        let dir = StateDir::for_script(&args.file, &config.env)?;
        let state = State::load(&dir)?;
        let result = make_plan(&conn, &evaluated, &evaluated.desired, &state, &args.scope).await;
        let (plan, observed) = match result {
            Ok(planned) => planned,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
        if args.json {
            ui.out(&ui::plan::json(&plan));
        } else {
            // Next to each resize: what the server uses now.
            let look = Look {
                conn: &conn,
                ui,
                script: &args.file,
                desired: &evaluated.desired,
                ssh: &SshOptions::default(),
            };
            let usage = look.resize_usage(&plan, (&state, &observed)).await;
            ui.out(&ui::plan::text_with_usage(&plan, ui.color(), &usage));
        }
        conn.close().await;
        if let Some(out) = &args.out {
            save_plan(out, &args.file, config, &args.scope, &plan)?;
            ui.note(&format!(
                "Saved the plan to {}. Apply it exactly with: ict apply {}",
                out.display(),
                out.display()
            ));
        }
        Ok(if args.detailed_exitcode && !plan.is_empty() {
            ExitCode::ChangesPending
        } else {
            ExitCode::Success
        })
    })
}

pub(super) fn apply(
    config: &Config,
    ui: &Ui,
    args: &ApplyOptions,
    json: bool,
) -> Result<ExitCode, Error> {
    // A saved plan names the script, environment and variables it was made from.
    let (script, config_override, scope, saved) = match read_saved_plan(&args.file)? {
        Some(saved) => {
            let mut vars = indexmap::IndexMap::new();
            for (k, v) in &saved.vars {
                vars.insert(k.clone(), v.clone());
            }
            (
                saved.script.clone(),
                Some((saved.env.clone(), vars)),
                saved.scope.clone(),
                Some(saved.plan),
            )
        }
        None => (args.file.clone(), None, args.scope.clone(), None),
    };
    let (env, vars) = config_override.unwrap_or_else(|| (config.env.clone(), config.vars.clone()));
    let config = Config {
        env,
        vars,
        ..config.clone()
    };
    let pending = connect::start(config.provider, &script);
    let evaluated = evaluate(&config, ui, &script)?;
    let options = reconcile::Options {
        parallelism: args.parallelism,
        ..reconcile::Options::default()
    };
    // A saved plan was reviewed when it was made (Terraform's convention): no second question.
    let mode = Mode::new(args.yes || saved.is_some(), json, "--yes or a saved plan")?;
    run_apply(
        &config,
        ui,
        (&script, pending),
        &evaluated,
        (&evaluated.desired, None),
        &scope,
        saved,
        mode,
        options,
        "apply",
    )
}

pub(super) fn destroy(config: &Config, ui: &Ui, args: &DestroyOptions) -> Result<ExitCode, Error> {
    let mode = Mode::new(args.yes, args.json, "--yes")?;
    let pending = connect::start(config.provider, &args.file);
    let evaluated = evaluate(config, ui, &args.file)?;
    let desired = &evaluated.desired;
    // `--target`: the targets and what depends on them; otherwise everything.
    let doomed = if args.target.is_empty() {
        None
    } else {
        let state = State::load(&StateDir::for_script(&args.file, &config.env)?)?;
        let doomed = reconcile::doomed(&args.target, desired, &state).map_err(|unmatched| {
            let mut known: Vec<String> = desired.servers.keys().cloned().collect();
            known.extend(desired.networks.keys().cloned());
            known.extend(desired.ssh_keys.keys().cloned());
            model::unknown_name(&unmatched, &known).err().map_or_else(
                || Error::NoMatch {
                    flag: "--target",
                    name: unmatched.join(", "),
                    choices: None,
                },
                Error::no_match("--target"),
            )
        })?;
        Some(doomed)
    };
    let keep = match &doomed {
        None => protected_only(desired),
        Some(doomed) => without(desired, doomed),
    };
    for (name, server) in &keep.servers {
        let targeted = doomed
            .as_ref()
            .is_none_or(|d| d.iter().any(|a| a.kind() == "server" && a.name() == name));
        if server.protect && targeted {
            ui.note(&format!(
                "server.{name} is protected (protect: true) and will be kept"
            ));
        }
    }
    let options = reconcile::Options {
        parallelism: args.parallelism,
        ..reconcile::Options::default()
    };
    run_apply(
        config,
        ui,
        (&args.file, pending),
        &evaluated,
        (&keep, doomed.as_ref()),
        &Scope::default(),
        None,
        mode,
        options,
        "destroy",
    )
}

/// The script without the `doomed` resources, except protected servers (which stay, with what
/// they use).
fn without(desired: &Desired, doomed: &BTreeSet<Address>) -> Desired {
    let gone = |kind: &str, name: &str| doomed.iter().any(|a| a.kind() == kind && a.name() == name);
    let mut keep = desired.clone();
    keep.servers
        .retain(|name, server| server.protect || !gone("server", name));
    let used: BTreeSet<(&'static str, String)> = keep
        .servers
        .values()
        .flat_map(|s| {
            s.ssh_keys
                .iter()
                .map(|k| ("ssh_key", k.name.clone()))
                .chain(s.networks.iter().map(|n| ("network", n.name.clone())))
        })
        .collect();
    keep.ssh_keys
        .retain(|name, _| used.contains(&("ssh_key", name.clone())) || !gone("ssh_key", name));
    keep.networks
        .retain(|name, _| used.contains(&("network", name.clone())) || !gone("network", name));
    keep.dns_records.retain(|r| !gone("dns_record", &r.id));
    keep
}

#[allow(clippy::too_many_arguments)]
fn run_apply(
    config: &Config,
    ui: &Ui,
    (script, pending): (&Path, connect::Pending),
    evaluated: &Evaluated,
    (desired, only): (&Desired, Option<&BTreeSet<Address>>),
    scope: &Scope,
    saved: Option<serde_json::Value>,
    mode: Mode,
    options: reconcile::Options,
    command: &str,
) -> Result<ExitCode, Error> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if mode.json {
            ui.note(&conn.banner);
        } else {
            ui.out(&format!("{}\n\n", conn.banner));
        }
        let result = async {
            let store = open_store(config, ui, script, command)?;
            let job = Converge {
                conn: &conn,
                config,
                ui,
                evaluated,
                desired,
                only,
                scope,
                script,
                saved,
                mode,
                options,
                command,
            };
            let (store, result) = converge(&job, store).await;
            store.close()?;
            result
        }
        .await;
        conn.close().await;
        result
    })
}

/// Everything `apply` needs besides the store.
pub(super) struct Converge<'a> {
    pub(super) conn: &'a Connection,
    pub(super) config: &'a Config,
    pub(super) ui: &'a Ui,
    pub(super) evaluated: &'a Evaluated,
    pub(super) desired: &'a Desired,
    /// A targeted destroy: only these addresses (and their deposed objects) are deleted.
    pub(super) only: Option<&'a BTreeSet<Address>>,
    pub(super) scope: &'a Scope,
    pub(super) script: &'a Path,
    pub(super) saved: Option<serde_json::Value>,
    pub(super) mode: Mode,
    pub(super) options: reconcile::Options,
    pub(super) command: &'a str,
}

/// How an apply talks to its user.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    /// Apply without asking.
    pub(super) yes: bool,
    /// JSON lines on standard output instead of text (see `ui::apply::json_*`).
    pub(super) json: bool,
    /// Show the plan and change nothing (`ict run --check`).
    pub(super) dry_run: bool,
}

impl Mode {
    /// Refuses JSON output without `yes`: there is no question in that mode (`approval` says
    /// what gives it).
    pub(super) fn new(yes: bool, json: bool, approval: &'static str) -> Result<Mode, Error> {
        if json && !yes {
            return Err(Error::JsonNeedsApproval { approval });
        }
        Ok(Mode {
            yes,
            json,
            dry_run: false,
        })
    }
}

/// Takes the environment's lock and opens its state.
pub(super) fn open_store(
    config: &Config,
    ui: &Ui,
    script: &Path,
    command: &str,
) -> Result<Store, Error> {
    let dir = StateDir::for_script(script, &config.env)?;
    let acquired = Lock::acquire(&dir, &format!("ict {command} {}", script.display()))?;
    if let Some(taken) = &acquired.taken_over {
        ui.note(&format!("warning: {taken}"));
    }
    for folder in &acquired.swept {
        ui.note(&format!(
            "removed {}: the work folder of an ict that is no longer running",
            folder.display()
        ));
    }
    Ok(Store::open(acquired.lock)?)
}

/// Plans, shows the plan, confirms and applies. Always gives the store back.
pub(super) async fn converge(job: &Converge<'_>, store: Store) -> (Store, Result<ExitCode, Error>) {
    let ui = job.ui;
    let (plan, observed) = match make_plan(
        job.conn,
        job.evaluated,
        job.desired,
        store.state(),
        job.scope,
    )
    .await
    {
        // Destroy only deletes: a protected server that is missing is not created, and one
        // changed by hand is left as it is.
        Ok((plan, observed)) if job.command == "destroy" => {
            (only_deletions(plan, job.only), observed)
        }
        Ok(planned) => planned,
        Err(e) => return (store, Err(e)),
    };
    if let Some(saved) = &job.saved {
        if serde_json::to_value(&plan).ok().as_ref() != Some(saved) {
            return (store, Err(Error::StalePlan));
        }
    }
    let json = job.mode.json;
    let mut store = store;
    if json {
        ui.out(&ui::apply::json_plan(&plan));
    } else {
        // Next to each resize: what the server uses now.
        let look = Look {
            conn: job.conn,
            ui,
            script: job.script,
            desired: &job.evaluated.desired,
            ssh: &SshOptions::default(),
        };
        let usage = look.resize_usage(&plan, (store.state(), &observed)).await;
        ui.out(&ui::plan::text_with_usage(&plan, ui.color(), &usage));
    }
    if job.mode.dry_run {
        if !plan.is_empty() {
            ui.note("--check: nothing was changed in the cloud.");
        }
        return (store, Ok(ExitCode::Success));
    }
    if plan.is_empty() {
        // Nothing to change in the cloud; close what an interrupted run left in the journal.
        let settled = reconcile::settle(&plan, &mut store).map_err(Error::from);
        if settled.is_ok() && job.command != "destroy" {
            show_outputs(job, &mut store).await;
        }
        if json && settled.is_ok() {
            ui.out(&ui::apply::json_outcome(
                &plan,
                &Report::default(),
                ExitCode::Success,
            ));
        }
        return (store, settled.map(|()| ExitCode::Success));
    }
    if !job.mode.yes {
        if let Err(e) = confirm(ui, &job.config.env, job.command) {
            return (store, Err(e));
        }
    }
    if let Err(e) = reconcile::settle(&plan, &mut store) {
        return (store, Err(e.into()));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let ui = ui.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                ui.note("Interrupted: starting nothing new, letting changes in flight finish, then saving the state. (Ctrl-C again to stop at once.)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    };
    let progress = ui.apply_progress(plan.steps.len(), json);
    let events = progress.clone();
    let (mut store, report) = reconcile::apply(
        &plan,
        job.conn.client.clone(),
        store,
        job.options.clone(),
        stop.clone(),
        move |e| events.event(&e),
    )
    .await;
    watcher.abort();
    progress.finish();
    let code = if stop.load(Ordering::SeqCst) {
        ExitCode::Interrupted
    } else if report.complete() {
        ExitCode::Success
    } else {
        ExitCode::PartialFailure
    };
    if json {
        ui.out(&ui::apply::json_outcome(&plan, &report, code));
    } else {
        ui.apply_recap(&plan, &report, job.command);
    }
    if report.complete() && job.command != "destroy" {
        show_outputs(job, &mut store).await;
    }
    (store, Ok(code))
}

/// Records the script's outputs after a complete apply and prints them (a failure to compute
/// them is a warning: the apply itself succeeded).
async fn show_outputs(job: &Converge<'_>, store: &mut Store) {
    match super::output::record(job.conn, &job.evaluated.desired, store).await {
        Ok(shown) if !job.mode.json => job.ui.outputs(&shown),
        Ok(_) => {}
        Err(e) => job
            .ui
            .note(&format!("warning: the outputs could not be recorded: {e}")),
    }
}

/// Observes the cloud and plans; plan problems become script diagnostics. Also gives back the
/// observation, for what the caller shows next to the plan.
pub(super) async fn make_plan(
    conn: &Connection,
    evaluated: &Evaluated,
    desired: &Desired,
    state: &State,
    scope: &Scope,
) -> Result<(Plan, Observed), Error> {
    let servers: Vec<String> = evaluated.desired.servers.keys().cloned().collect();
    model::unknown_name(&scope.replace, &servers).map_err(Error::no_match("--replace"))?;
    // Only what this plan needs is read: a kind the script does not use cannot fail it.
    let kinds = reconcile::kinds(desired, state);
    let placed = !desired.servers.is_empty() || !desired.networks.is_empty();
    let images = async {
        if desired.servers.is_empty() {
            Ok(Vec::new())
        } else {
            conn.client.images().await
        }
    };
    let dcs = async {
        if placed {
            conn.client.dc_locations().await
        } else {
            Ok(Vec::new())
        }
    };
    let (observed, images, dcs): (Observed, Vec<Image>, Vec<DcLocation>) =
        tokio::try_join!(conn.client.observe(kinds), images, dcs)?;
    let input = reconcile::Input {
        desired,
        observed: &observed,
        images: &images,
        dcs: &dcs,
        state,
        replace: &scope.replace,
    };
    let plan = reconcile::plan(&input).map_err(|errors| {
        Error::from(Failure {
            sources: evaluated.sources.clone(),
            problems: errors.into_iter().map(Into::into).collect(),
        })
    })?;
    // A target may also be something only the state still has (the plan deletes it).
    let mut known = evaluated.desired.addresses();
    known.extend(plan.steps.iter().map(|s| s.address.to_string()));
    model::unknown_name(&scope.target, &known).map_err(Error::no_match("--target"))?;
    Ok((target(plan, &scope.target), observed))
}

/// Keeps only the steps for `targets` (names or addresses) and the steps they depend on.
fn target(mut plan: Plan, targets: &[String]) -> Plan {
    if targets.is_empty() {
        return plan;
    }
    let mut keep: std::collections::BTreeSet<String> = plan
        .steps
        .iter()
        .filter(|s| {
            targets
                .iter()
                .any(|t| *t == s.address.to_string() || t == s.address.name())
        })
        .map(|s| s.address.to_string())
        .collect();
    loop {
        let before = keep.len();
        for step in &plan.steps {
            if keep.contains(&step.address.to_string()) {
                keep.extend(step.after.iter().map(ToString::to_string));
            }
        }
        if keep.len() == before {
            break;
        }
    }
    plan.steps.retain(|s| keep.contains(&s.address.to_string()));
    plan
}

/// Keeps only the deletions of a plan (of `only`, when given).
fn only_deletions(mut plan: Plan, only: Option<&BTreeSet<Address>>) -> Plan {
    plan.steps.retain(|s| {
        s.action == reconcile::Action::Delete
            && only.is_none_or(|only| match &s.work {
                reconcile::Work::Delete { object, .. } => only.contains(object),
                _ => false,
            })
    });
    plan.moves.clear();
    plan
}

/// What `destroy` keeps: protected servers and the keys and networks they use.
fn protected_only(desired: &Desired) -> Desired {
    let mut keep = Desired::new(&desired.env);
    keep.environments.clone_from(&desired.environments);
    for server in desired.servers.values().filter(|s| s.protect) {
        let _ = keep.add_server(server.clone());
        for k in &server.ssh_keys {
            if let Some(key) = desired.ssh_keys.get(&k.name) {
                let _ = keep.add_ssh_key(key.clone());
            }
        }
        for n in &server.networks {
            if let Some(net) = desired.networks.get(&n.name) {
                let _ = keep.add_network(net.clone());
            }
        }
    }
    // Groups the kept servers name stay declared (they are not cloud resources).
    keep.groups.clone_from(&desired.groups);
    keep
}

/// Asks for `yes` on a terminal; without one, refuses instead of hanging.
fn confirm(ui: &Ui, env: &str, command: &str) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::NoTerminal {
            command: command.to_owned(),
        });
    }
    ui.prompt(&format!("Do you want to perform these actions in environment `{env}`? Only 'yes' will be accepted: "));
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Cancelled {
            command: command.to_owned(),
        })
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A plan saved with `--out`.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedPlan {
    ict_plan: u32,
    script: std::path::PathBuf,
    env: String,
    vars: Vec<(String, String)>,
    #[serde(skip)]
    scope: Scope,
    replace: Vec<String>,
    target: Vec<String>,
    plan: serde_json::Value,
}

fn save_plan(
    out: &Path,
    script: &Path,
    config: &Config,
    scope: &Scope,
    plan: &Plan,
) -> Result<(), Error> {
    let saved = SavedPlan {
        ict_plan: SAVED_PLAN_VERSION,
        script: std::path::absolute(script).unwrap_or_else(|_| script.to_path_buf()),
        env: config.env.clone(),
        vars: config
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        scope: scope.clone(),
        replace: scope.replace.clone(),
        target: scope.target.clone(),
        plan: serde_json::to_value(plan).map_err(Error::Json)?,
    };
    let text = serde_json::to_string_pretty(&saved).map_err(Error::Json)?;
    crate::atomic::atomic_write(out, text.as_bytes(), 0o600).map_err(|error| Error::Write {
        what: out.display().to_string(),
        error,
    })
}

/// The saved plan in `file`, or `None` if `file` is a script.
fn read_saved_plan(file: &Path) -> Result<Option<SavedPlan>, Error> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    if !text.trim_start().starts_with('{') || !text.contains("\"ict_plan\"") {
        return Ok(None);
    }
    let mut saved: SavedPlan =
        serde_json::from_str(&text).map_err(|error| Error::BadSavedPlan {
            path: file.to_path_buf(),
            error,
        })?;
    if saved.ict_plan != SAVED_PLAN_VERSION {
        return Err(Error::SavedPlanVersion {
            path: file.to_path_buf(),
        });
    }
    saved.scope = Scope {
        replace: saved.replace.clone(),
        target: saved.target.clone(),
    };
    Ok(Some(saved))
}
