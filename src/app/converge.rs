//! Converging the cloud to the script: plan against the locked state, show the plan, ask,
//! apply in dependency order, record the outputs — `ict apply`, `ict destroy`, `ict run`'s
//! first step and the REPL's `:apply`. What is shown and how the question is asked belong to
//! the front end, through [`Talk`]; the order of things, and what each outcome means, is here.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{only_deletions, outputs, Error, Session};
use crate::config::Scope;
use crate::exit::ExitCode;
use crate::model::Desired;
use crate::provider::Observed;
use crate::reconcile::{self, Event, Plan, Report};
use crate::state::{Address, State, Store};

/// What to converge to, and how.
pub struct Converge<'a> {
    /// The script, or what `destroy` keeps of it.
    pub desired: &'a Desired,
    /// A targeted destroy: only these addresses (and their deposed objects) are deleted.
    pub only: Option<&'a BTreeSet<Address>>,
    pub scope: &'a Scope,
    /// A plan saved with `--out`: the plan made now must be the same, or nothing is done.
    pub saved: Option<serde_json::Value>,
    pub mode: Mode,
    pub options: reconcile::Options,
}

/// What kind of converge this is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Apply without asking.
    pub yes: bool,
    /// Show the plan and change nothing (`ict run --check`).
    pub dry_run: bool,
    /// Delete only (`ict destroy`): nothing is created or changed, no outputs are recorded.
    pub destroy: bool,
    /// Part of `ict run` (which goes on to SSH and playbooks).
    pub run: bool,
}

impl Mode {
    /// The command, as the lock, the question and the recap name it.
    pub fn command(self) -> &'static str {
        if self.destroy {
            "destroy"
        } else if self.run {
            "run"
        } else {
            "apply"
        }
    }
}

/// How a converge talks to whoever asked for it (a terminal, JSON lines, the REPL).
pub trait Talk {
    /// Shows the plan about to be applied; `known` is what it was made from.
    fn plan(&self, plan: &Plan, known: (&State, &Observed)) -> impl Future<Output = ()>;
    /// `--check`: the plan was shown and nothing is done.
    fn checked(&self, plan: &Plan);
    /// Asks for approval of a non-empty plan; an error cancels it.
    fn confirm(&self) -> Result<(), Error>;
    /// Applying starts: `stop` may be set to start nothing new (an interrupt); the events of
    /// the apply go to the function returned.
    fn applying(
        &self,
        plan: &Plan,
        stop: &Arc<AtomicBool>,
    ) -> impl Fn(Event) + Send + Sync + 'static;
    /// Applying ended (or there was nothing to apply) with `code`.
    fn applied(&self, plan: &Plan, report: &Report, code: ExitCode);
    /// The script's outputs, recorded after a complete apply (an error is a warning: the apply
    /// itself succeeded).
    fn outputs(&self, recorded: Result<Vec<(String, String)>, Error>);
}

impl Session<'_> {
    /// Plans against the locked `store`, shows the plan, asks, applies and records the
    /// outputs. Always gives the store back.
    pub async fn converge(
        &self,
        job: &Converge<'_>,
        store: Store,
        talk: &impl Talk,
    ) -> (Store, Result<ExitCode, Error>) {
        let mut store = store;
        let (plan, observed) = match self.plan(job.desired, store.state(), job.scope).await {
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
        talk.plan(&plan, (store.state(), &observed)).await;
        if job.mode.dry_run {
            talk.checked(&plan);
            return (store, Ok(ExitCode::Success));
        }
        if plan.is_empty() {
            // Nothing to change in the cloud; close what an interrupted run left in the journal.
            if let Err(e) = reconcile::settle(&plan, &mut store) {
                return (store, Err(e.into()));
            }
            if !job.mode.destroy {
                talk.outputs(outputs::record(*self, &mut store).await);
            }
            talk.applied(&plan, &Report::default(), ExitCode::Success);
            return (store, Ok(ExitCode::Success));
        }
        if !job.mode.yes {
            if let Err(e) = talk.confirm() {
                return (store, Err(e));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let events = talk.applying(&plan, &stop);
        let (mut store, applied) = self
            .apply(store, &plan, job.options.clone(), stop.clone(), events)
            .await;
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
        talk.applied(&plan, &report, code);
        if report.complete() && !job.mode.destroy {
            talk.outputs(outputs::record(*self, &mut store).await);
        }
        (store, Ok(code))
    }
}
