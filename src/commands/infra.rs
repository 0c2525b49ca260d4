//! `ict plan`, `ict apply` and `ict destroy`: evaluate the script, then (in a tokio runtime built
//! only now) connect to the provider, read the cloud and the state, plan, confirm and apply.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::metrics::Look;
use super::{locked, show_warnings, Error};
use crate::app::{self, only_deletions, protected_only, without, Project, SavedPlan, Session};
use crate::config::{ApplyOptions, Config, DestroyOptions, PlanOptions, Scope, SshOptions};
use crate::connect;
use crate::exit::ExitCode;
use crate::model::{self, Desired};
use crate::reconcile::{self, Report};
use crate::script::Evaluated;
use crate::state::Kind;
use crate::state::{Address, Store};
use crate::ui::{self, Ui};

pub(super) fn plan(config: &Config, ui: &Ui, args: &PlanOptions) -> Result<ExitCode, Error> {
    let project = Project::new(config, &args.file);
    let pending = project.connect();
    let evaluated = show_warnings(ui, project.evaluate()?);
    let runtime = app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if !args.json {
            ui.out(&format!("{}\n\n", conn.banner));
        }
        let session = Session {
            project: &project,
            conn: &conn,
            evaluated: &evaluated,
        };
        let state = project.state()?;
        let result = session.plan(&evaluated.desired, &state, &args.scope).await;
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
                session,
                ui,
                ssh: &SshOptions::default(),
            };
            let usage = look.resize_usage(&plan, (&state, &observed)).await;
            ui.out(&ui::plan::text_with_usage(&plan, ui.color(), &usage));
        }
        conn.close().await;
        if let Some(out) = &args.out {
            SavedPlan::save(out, &project, &args.scope, &plan)?;
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
    let (script, config_override, scope, saved) = match SavedPlan::read(&args.file)? {
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
    let project = Project::new(&config, &script);
    let pending = project.connect();
    let evaluated = show_warnings(ui, project.evaluate()?);
    let options = reconcile::Options {
        parallelism: args.parallelism,
        ..reconcile::Options::default()
    };
    // A saved plan was reviewed when it was made (Terraform's convention): no second question.
    let mode = Mode::new(args.yes || saved.is_some(), json, "--yes or a saved plan")?;
    run_apply(
        ui,
        (&project, pending),
        &evaluated,
        (&evaluated.desired, None),
        &scope,
        saved,
        mode,
        options,
    )
}

pub(super) fn destroy(config: &Config, ui: &Ui, args: &DestroyOptions) -> Result<ExitCode, Error> {
    let mode = Mode {
        destroy: true,
        ..Mode::new(args.yes, args.json, "--yes")?
    };
    let project = Project::new(config, &args.file);
    let pending = project.connect();
    let evaluated = show_warnings(ui, project.evaluate()?);
    let desired = &evaluated.desired;
    // `--target`: the targets and what depends on them; otherwise everything.
    let doomed = if args.target.is_empty() {
        None
    } else {
        let state = project.state()?;
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
        let targeted = doomed.as_ref().is_none_or(|d| {
            d.iter()
                .any(|a| a.kind() == Kind::Server && a.name() == name)
        });
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
        ui,
        (&project, pending),
        &evaluated,
        (&keep, doomed.as_ref()),
        &Scope::default(),
        None,
        mode,
        options,
    )
}

#[allow(clippy::too_many_arguments)]
fn run_apply(
    ui: &Ui,
    (project, pending): (&Project, connect::Pending),
    evaluated: &Evaluated,
    (desired, only): (&Desired, Option<&BTreeSet<Address>>),
    scope: &Scope,
    saved: Option<serde_json::Value>,
    mode: Mode,
    options: reconcile::Options,
) -> Result<ExitCode, Error> {
    let runtime = app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if mode.json {
            ui.note(&conn.banner);
        } else {
            ui.out(&format!("{}\n\n", conn.banner));
        }
        let result = async {
            let store = locked(ui, project, mode.command())?;
            let job = Converge {
                session: Session {
                    project,
                    conn: &conn,
                    evaluated,
                },
                ui,
                desired,
                only,
                scope,
                saved,
                mode,
                options,
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
    pub(super) session: Session<'a>,
    pub(super) ui: &'a Ui,
    /// What to converge to: the script, or what `destroy` keeps of it.
    pub(super) desired: &'a Desired,
    /// A targeted destroy: only these addresses (and their deposed objects) are deleted.
    pub(super) only: Option<&'a BTreeSet<Address>>,
    pub(super) scope: &'a Scope,
    pub(super) saved: Option<serde_json::Value>,
    pub(super) mode: Mode,
    pub(super) options: reconcile::Options,
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
    /// Delete only (`ict destroy`): nothing is created or changed, no outputs are recorded.
    pub(super) destroy: bool,
    /// Part of `ict run` (which goes on to SSH and playbooks).
    pub(super) run: bool,
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
            destroy: false,
            run: false,
        })
    }

    /// The command, as the lock, the question and the recap name it.
    pub(super) fn command(self) -> &'static str {
        if self.destroy {
            "destroy"
        } else if self.run {
            "run"
        } else {
            "apply"
        }
    }
}

/// Plans, shows the plan, confirms and applies. Always gives the store back.
pub(super) async fn converge(job: &Converge<'_>, store: Store) -> (Store, Result<ExitCode, Error>) {
    let ui = job.ui;
    let (plan, observed) = match job
        .session
        .plan(job.desired, store.state(), job.scope)
        .await
    {
        // Destroy only deletes: a protected server that is missing is not created, and one
        // changed by hand is left as it is.
        Ok((plan, observed)) if job.mode.destroy => (only_deletions(plan, job.only), observed),
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
            session: job.session,
            ui,
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
        if settled.is_ok() && !job.mode.destroy {
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
        if let Err(e) = confirm(ui, job.session.project.env(), job.mode.command()) {
            return (store, Err(e));
        }
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
    let (mut store, applied) = job
        .session
        .apply(store, &plan, job.options.clone(), stop.clone(), move |e| {
            events.event(&e);
        })
        .await;
    watcher.abort();
    progress.finish();
    let report = match applied {
        Ok(report) => report,
        Err(e) => return (store, Err(e)),
    };
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
        ui.apply_recap(&plan, &report, job.mode.command());
    }
    if report.complete() && !job.mode.destroy {
        show_outputs(job, &mut store).await;
    }
    (store, Ok(code))
}

/// Records the script's outputs after a complete apply and prints them (a failure to compute
/// them is a warning: the apply itself succeeded).
async fn show_outputs(job: &Converge<'_>, store: &mut Store) {
    let session = &job.session;
    match app::outputs::record(*session, store).await {
        Ok(shown) if !job.mode.json => job.ui.outputs(&shown),
        Ok(_) => {}
        Err(e) => job
            .ui
            .note(&format!("warning: the outputs could not be recorded: {e}")),
    }
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
