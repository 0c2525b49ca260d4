//! Plan, apply and exec for callers other than the subcommands: the REPL's `plan()`, `:plan`,
//! `:apply` and `exec()`. The same code paths as `ict plan`, `ict apply` and `ict exec`
//! (`make_plan`, the state lock, the fleet and pinned host keys), cut so that the caller can ask
//! for confirmation between planning and applying, and run each half as a cancellable query on
//! its own runtime. Nothing here builds a runtime or reads stdin.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::hosts::{self, Host};
use super::infra::{make_plan, open_store};
use super::{deploy, Error};
use crate::config::Config;
use crate::connect::Connection;
use crate::model::{pattern, Desired, Sources};
use crate::provider::Provider as _;
use crate::reconcile::{self, Plan};
use crate::script::Evaluated;
use crate::ssh::{self, ExecResult, FanoutOptions, HostKeyVerifier};
use crate::state::{State, StateDir, Store};
use crate::ui::Ui;

/// The plan of `desired` against the cloud and the state, without taking the lock.
pub(crate) async fn plan(
    conn: &Connection,
    config: &Config,
    script: &Path,
    desired: &Desired,
    sources: &Sources,
) -> Result<Plan, Error> {
    let dir = StateDir::for_script(script, &config.env)?;
    let state = State::load(&dir)?;
    let evaluated = evaluated(desired, sources);
    let (plan, _) = make_plan(
        conn,
        &evaluated,
        desired,
        &state,
        &crate::config::Scope::default(),
    )
    .await?;
    Ok(plan)
}

/// Takes the environment's lock, then plans against the locked state: what [`apply`] will do.
/// On error the lock is released.
pub(crate) async fn plan_locked(
    conn: &Connection,
    config: &Config,
    ui: &Ui,
    script: &Path,
    desired: &Desired,
    sources: &Sources,
) -> Result<(Store, Plan), Error> {
    let store = open_store(config, ui, script, "repl :apply")?;
    let evaluated = evaluated(desired, sources);
    let planned = make_plan(
        conn,
        &evaluated,
        desired,
        store.state(),
        &crate::config::Scope::default(),
    )
    .await;
    match planned {
        Ok((plan, _)) => Ok((store, plan)),
        Err(e) => {
            store.close()?;
            Err(e)
        }
    }
}

/// Applies `plan` (from [`plan_locked`], with its store), showing progress and the recap like
/// `ict apply`, then releases the lock. Setting `stop` starts nothing new. True if every step
/// was done.
pub(crate) async fn apply(
    conn: &Connection,
    ui: &Ui,
    mut store: Store,
    plan: &Plan,
    stop: Arc<AtomicBool>,
) -> Result<bool, Error> {
    reconcile::settle(plan, &mut store)?;
    let progress = ui.apply_progress(plan.steps.len(), false);
    let events = progress.clone();
    let (store, report) = reconcile::apply(
        plan,
        conn.client.clone(),
        store,
        reconcile::Options::default(),
        stop,
        move |e| events.event(&e),
    )
    .await;
    progress.finish();
    ui.apply_recap(plan, &report, "apply");
    store.close()?;
    Ok(report.complete())
}

/// One server's answer to a command.
#[derive(Debug)]
pub(crate) struct HostOutput {
    pub name: String,
    /// The command's output, or why the server could not run it.
    pub outcome: Result<ExecResult, String>,
}

/// What to run where, for [`exec`].
#[derive(Debug, Clone)]
pub(crate) struct ExecJob {
    /// Servers, as `ict exec --limit` takes them (`web`, `web-1`, `all:!db`).
    pub limit: String,
    pub command: String,
    /// Limit for the command on each server.
    pub timeout: Duration,
}

/// Runs the job's command over SSH on the declared servers matching its limit (as `ict exec`),
/// checking and pinning host keys. Servers come back in declaration order.
pub(crate) async fn exec(
    conn: &Connection,
    config: &Config,
    ui: &Ui,
    script: &Path,
    desired: &Desired,
    job: &ExecJob,
) -> Result<Vec<HostOutput>, Error> {
    let (limit, command) = (job.limit.as_str(), job.command.as_str());
    let selected: Vec<String> = pattern::select(limit, desired)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if selected.is_empty() {
        return Err(Error::PatternMatchesNothing {
            pattern: limit.to_owned(),
        });
    }
    let auth = hosts::auth(None, desired, script)?;
    let dir = StateDir::for_script(script, &config.env)?;
    let state = State::load(&dir)?;
    let observed = conn.client.observe(crate::provider::Kinds::SERVERS).await?;
    let fleet = hosts::fleet(desired, &state, &observed);
    let chosen: Vec<&Host> = fleet
        .iter()
        .filter(|h| selected.contains(&h.name))
        .collect();
    let targets: Vec<ssh::Target> = chosen.iter().filter_map(|h| h.target()).collect();
    let pins = hosts::pins(&state, &fleet);
    let verifier: Arc<dyn HostKeyVerifier> = pins.clone();
    let options = FanoutOptions {
        command_timeout: job.timeout,
        ..FanoutOptions::default()
    };
    let mut results = ssh::exec_many(&targets, &auth, verifier, command, &options).await;
    if !pins.newly_pinned().is_empty() {
        deploy::save_pins_if_unlocked(config, ui, script, &pins, &fleet);
    }
    Ok(chosen
        .iter()
        .map(|host| {
            let found = results.iter().position(|r| r.target.name == host.name);
            let outcome = match found.map(|i| results.remove(i)) {
                Some(result) => result.outcome.map_err(|e| e.to_string()),
                None => Err("not created yet (no IP address)".to_owned()),
            };
            HostOutput {
                name: host.name.clone(),
                outcome,
            }
        })
        .collect())
}

/// A one-line description of `error` with its hint, for a REPL diagnostic.
pub(crate) fn describe(error: &Error) -> String {
    use miette::Diagnostic as _;
    if let Error::Script(problems) = error {
        return format!(
            "what is declared has problems: {} (`:check` shows them all)",
            problems.first_error()
        );
    }
    match error.help() {
        Some(help) => format!("{error} (hint: {help})"),
        None => error.to_string(),
    }
}

fn evaluated(desired: &Desired, sources: &Sources) -> Evaluated {
    Evaluated {
        desired: desired.clone(),
        sources: sources.clone(),
        warnings: Vec::new(),
    }
}
