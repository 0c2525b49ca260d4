//! `ict plan`, `ict apply` and `ict destroy`: evaluate the script, then (in a tokio runtime built
//! only now) connect to the provider, read the cloud and the state, plan, confirm and apply.

use std::cell::RefCell;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::metrics::Look;
use super::{locked, show_warnings, Error};
use crate::app::{
    self, protected_only, without, Converge, Mode, Project, SavedPlan, Session, Talk,
};
use crate::config::{ApplyOptions, Config, DestroyOptions, PlanOptions, Scope, SshOptions};
use crate::connect;
use crate::exit::ExitCode;
use crate::model;
use crate::provider::Observed;
use crate::reconcile::{self, Event, Plan, Report};
use crate::script::Evaluated;
use crate::state::{Kind, State, Store};
use crate::ui::apply::ApplyProgress;
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
    let yes = approved(args.yes || saved.is_some(), json, "--yes or a saved plan")?;
    let job = Converge {
        desired: &evaluated.desired,
        only: None,
        scope: &scope,
        saved,
        mode: Mode {
            yes,
            ..Mode::default()
        },
        options,
    };
    run_apply(ui, (&project, pending), &evaluated, &job, json)
}

pub(super) fn destroy(config: &Config, ui: &Ui, args: &DestroyOptions) -> Result<ExitCode, Error> {
    let yes = approved(args.yes, args.json, "--yes")?;
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
    let job = Converge {
        desired: &keep,
        only: doomed.as_ref(),
        scope: &Scope::default(),
        saved: None,
        mode: Mode {
            yes,
            destroy: true,
            ..Mode::default()
        },
        options,
    };
    run_apply(ui, (&project, pending), &evaluated, &job, args.json)
}

/// Connects, takes the lock and converges; `json`: JSON lines on standard output.
fn run_apply(
    ui: &Ui,
    (project, pending): (&Project, connect::Pending),
    evaluated: &Evaluated,
    job: &Converge<'_>,
    json: bool,
) -> Result<ExitCode, Error> {
    let runtime = app::runtime()?;
    runtime.block_on(async {
        let conn = pending.connect().await?;
        if json {
            ui.note(&conn.banner);
        } else {
            ui.out(&format!("{}\n\n", conn.banner));
        }
        let result = async {
            let store = locked(ui, project, job.mode.command())?;
            let session = Session {
                project,
                conn: &conn,
                evaluated,
            };
            let (store, result) = converge(session, ui, json, job, store).await;
            store.close()?;
            result
        }
        .await;
        conn.close().await;
        result
    })
}

/// Refuses JSON output without approval given up front: there is no question in that mode
/// (`approval` says what gives it).
fn approved(yes: bool, json: bool, approval: &'static str) -> Result<bool, Error> {
    if json && !yes {
        return Err(Error::JsonNeedsApproval { approval });
    }
    Ok(yes)
}

/// [`Session::converge`] on this terminal (bars or plain lines, and the question) or as JSON
/// lines. Always gives the store back.
pub(super) async fn converge(
    session: Session<'_>,
    ui: &Ui,
    json: bool,
    job: &Converge<'_>,
    store: Store,
) -> (Store, Result<ExitCode, Error>) {
    let talk = Terminal {
        session,
        ui,
        json,
        mode: job.mode,
        applying: RefCell::new(None),
    };
    session.converge(job, store, &talk).await
}

/// How `apply`, `destroy` and `run` talk to their user.
struct Terminal<'a> {
    session: Session<'a>,
    ui: &'a Ui,
    json: bool,
    mode: Mode,
    /// While applying: the progress display and the Ctrl-C watcher.
    applying: RefCell<Option<(ApplyProgress, tokio::task::JoinHandle<()>)>>,
}

impl Talk for Terminal<'_> {
    async fn plan(&self, plan: &Plan, known: (&State, &Observed)) {
        let ui = self.ui;
        if self.json {
            ui.out(&ui::apply::json_plan(plan));
            return;
        }
        // Next to each resize: what the server uses now.
        let look = Look {
            session: self.session,
            ui,
            ssh: &SshOptions::default(),
        };
        let usage = look.resize_usage(plan, known).await;
        ui.out(&ui::plan::text_with_usage(plan, ui.color(), &usage));
    }

    fn checked(&self, plan: &Plan) {
        if !plan.is_empty() {
            self.ui.note("--check: nothing was changed in the cloud.");
        }
    }

    fn confirm(&self) -> Result<(), Error> {
        confirm(self.ui, self.session.project.env(), self.mode.command())
    }

    fn applying(
        &self,
        plan: &Plan,
        stop: &Arc<AtomicBool>,
    ) -> impl Fn(Event) + Send + Sync + 'static {
        let watcher = {
            let stop = stop.clone();
            let ui = self.ui.clone();
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
        let progress = self.ui.apply_progress(plan.steps.len(), self.json);
        let events = progress.clone();
        *self.applying.borrow_mut() = Some((progress, watcher));
        move |e| events.event(&e)
    }

    fn applied(&self, plan: &Plan, report: &Report, code: ExitCode) {
        if let Some((progress, watcher)) = self.applying.borrow_mut().take() {
            watcher.abort();
            progress.finish();
        }
        if self.json {
            self.ui.out(&ui::apply::json_outcome(plan, report, code));
        } else if !plan.is_empty() {
            self.ui.apply_recap(plan, report, self.mode.command());
        }
    }

    fn outputs(&self, recorded: Result<Vec<(String, String)>, Error>) {
        match recorded {
            Ok(shown) if !self.json => self.ui.outputs(&shown),
            Ok(_) => {}
            Err(e) => self
                .ui
                .note(&format!("warning: the outputs could not be recorded: {e}")),
        }
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
