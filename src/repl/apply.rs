//! `:plan` and `:apply [--yes]`: what is declared so far against the cloud, like `ict plan` and
//! `ict apply`. `:apply` takes the state lock, plans against the locked state, shows the plan,
//! asks for `yes` (on a terminal; `--yes` skips the question) and applies with the same progress
//! lines and recap. Ctrl-C during the apply starts nothing new and lets changes in flight finish,
//! as in `ict apply`; the session goes on.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::cloud::Cloud;
use super::live::{query, Interrupts, TICK};
use super::{Printer, Step};
use crate::app::{self, Converge, Locked, Mode, Talk};
use crate::config::Scope;
use crate::exit::ExitCode;
use crate::provider::Observed;
use crate::reconcile::{self, Event, Plan, Report};
use crate::script::Session;
use crate::state::State;
use crate::ui::{self, Ui};

/// Handles `:plan` and `:apply`; `None` for any other command.
pub(super) fn handle(
    input: &str,
    session: &Session,
    cloud: &Cloud,
    printer: &Printer<'_>,
) -> Option<Step> {
    let mut words = input.split_whitespace();
    let name = words.next()?;
    let rest: Vec<&str> = words.collect();
    let result = match name {
        ":plan" if rest.is_empty() => plan(session, cloud, printer),
        ":apply" if rest.is_empty() => apply(session, cloud, printer, false),
        ":apply" if rest == ["--yes"] => apply(session, cloud, printer, true),
        ":plan" | ":apply" => Err(format!(
            "usage: `:plan` or `:apply [--yes]`, not `{}`",
            input.trim()
        )),
        _ => return None,
    };
    Some(match result {
        Ok(()) => Step::Done,
        Err(message) => {
            printer.ui.note(&format!("error: {message}"));
            Step::Failed
        }
    })
}

fn plan(session: &Session, cloud: &Cloud, printer: &Printer<'_>) -> Result<(), String> {
    let plan = cloud.make_plan(&session.handle())?;
    printer.text(ui::plan::text(&plan, printer.ui.color()).trim_end());
    Ok(())
}

fn apply(session: &Session, cloud: &Cloud, printer: &Printer<'_>, yes: bool) -> Result<(), String> {
    let desired = match session.check() {
        Ok(desired) => desired,
        Err(failure) => {
            printer.problems(&failure);
            return Err("nothing applied: what is declared has problems".into());
        }
    };
    let evaluated = super::cloud::evaluated(desired, session.sources());
    let project = cloud.project().clone();
    let conn = cloud.connection()?;
    let talk = Repl {
        ui: cloud.ui().clone(),
        interrupts: cloud.interrupts(),
        env: project.env().to_owned(),
        watcher: Mutex::new(None),
    };
    // No Ctrl-C cancels this query: during the apply, Ctrl-C starts nothing new and lets
    // changes in flight finish (see `Repl::applying`).
    let applied = query(
        &cloud.runtime(),
        async move {
            let Locked { store, notes } = project.lock("repl :apply")?;
            for note in &notes {
                talk.ui.note(note);
            }
            let job = Converge {
                desired: &evaluated.desired,
                only: None,
                scope: &Scope::default(),
                saved: None,
                mode: Mode {
                    yes,
                    ..Mode::default()
                },
                options: reconcile::Options::default(),
            };
            let session = app::Session {
                project: &project,
                conn: &conn,
                evaluated: &evaluated,
            };
            let (store, result) = session.converge(&job, store, &talk).await;
            let closed = store.close();
            let code = result?;
            closed?;
            Ok::<ExitCode, app::Error>(code)
        },
        None::<Duration>,
        None,
        |_| {},
    );
    match applied {
        Ok(Ok(ExitCode::Success)) => Ok(()),
        Ok(Ok(_)) => Err("some changes were not applied (see above)".into()),
        Ok(Err(e)) => Err(e.one_line()),
        Err(e) => Err(e.to_string()),
    }
}

/// How `:apply` talks: the plan and the recap as `ict apply` prints them, the question on the
/// terminal, Ctrl-C counted by the session.
struct Repl {
    ui: Ui,
    interrupts: Interrupts,
    env: String,
    /// While applying: the task that turns a Ctrl-C into a stop.
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Talk for Repl {
    async fn plan(&self, plan: &Plan, _known: (&State, &Observed)) {
        let text = ui::plan::text(plan, self.ui.color());
        self.ui.out(&format!("{}\n", text.trim_end()));
    }

    fn checked(&self, _plan: &Plan) {}

    fn confirm(&self) -> Result<(), app::Error> {
        confirm(&self.ui, &self.env)
    }

    fn applying(
        &self,
        plan: &Plan,
        stop: &Arc<AtomicBool>,
    ) -> impl Fn(Event) + Send + Sync + 'static {
        let (stop, ui, interrupts) = (stop.clone(), self.ui.clone(), self.interrupts.clone());
        let seen = interrupts.count();
        let watcher = tokio::spawn(async move {
            while interrupts.count() == seen {
                tokio::time::sleep(TICK).await;
            }
            stop.store(true, Ordering::SeqCst);
            ui.note("Interrupted: starting nothing new, letting changes in flight finish, then saving the state.");
        });
        *self.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some(watcher);
        let progress = self.ui.apply_progress(plan.steps.len(), false);
        move |e| progress.event(&e)
    }

    fn applied(&self, plan: &Plan, report: &Report, _code: ExitCode) {
        if let Some(watcher) = self
            .watcher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            watcher.abort();
        }
        if !plan.is_empty() {
            self.ui.apply_recap(plan, report, "apply");
        }
    }

    fn outputs(&self, recorded: Result<Vec<(String, String)>, app::Error>) {
        match recorded {
            Ok(shown) => self.ui.outputs(&shown),
            Err(e) => self
                .ui
                .note(&format!("warning: the outputs could not be recorded: {e}")),
        }
    }
}

/// Asks for `yes` on the terminal; without one, refuses instead of hanging.
fn confirm(ui: &Ui, env: &str) -> Result<(), app::Error> {
    if !std::io::stdin().is_terminal() {
        return Err(app::Error::NoTerminalInRepl);
    }
    ui.prompt(&format!(
        "Do you want to perform these actions in environment `{env}`? Only 'yes' will be accepted: "
    ));
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(app::Error::Answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(app::Error::Cancelled {
            command: "apply".to_owned(),
        })
    }
}
