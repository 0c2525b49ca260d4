//! `:plan` and `:apply [--yes]`: what is declared so far against the cloud, like `ict plan` and
//! `ict apply`. `:apply` takes the state lock, plans against the locked state, shows the plan,
//! asks for `yes` (on a terminal; `--yes` skips the question) and applies with the same progress
//! lines and recap. Ctrl-C during the apply starts nothing new and lets changes in flight finish,
//! as in `ict apply`; the session goes on.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::cloud::{Cloud, QUERY_TIMEOUT};
use super::live::{query, TICK};
use super::{Printer, Step};
use crate::app;
use crate::script::Session;
use crate::ui;

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
    let evaluated = Arc::new(super::cloud::evaluated(desired, session.sources()));
    let project = cloud.project().clone();
    let (locked, plan) = {
        let (project, evaluated) = (project.clone(), evaluated.clone());
        cloud.ask(
            "planning",
            Some(QUERY_TIMEOUT * 2),
            move |conn| async move {
                let session = app::Session {
                    project: &project,
                    conn: &conn,
                    evaluated: &evaluated,
                };
                session.plan_locked("repl :apply").await
            },
        )?
    };
    for note in &locked.notes {
        printer.ui.note(note);
    }
    let store = locked.store;
    printer.text(ui::plan::text(&plan, printer.ui.color()).trim_end());
    if plan.is_empty() {
        return store.close().map_err(|e| e.to_string());
    }
    if !yes {
        if let Err(e) = confirm(printer, project.env()) {
            let _ = store.close();
            return Err(e);
        }
    }
    let conn = cloud.connection()?;
    let interrupts = cloud.interrupts();
    let ui = cloud.ui().clone();
    let applied = query(
        &cloud.runtime(),
        async move {
            let stop = Arc::new(AtomicBool::new(false));
            let watcher = {
                let (stop, ui, interrupts) = (stop.clone(), ui.clone(), interrupts.clone());
                let seen = interrupts.count();
                tokio::spawn(async move {
                    while interrupts.count() == seen {
                        tokio::time::sleep(TICK).await;
                    }
                    stop.store(true, Ordering::SeqCst);
                    ui.note("Interrupted: starting nothing new, letting changes in flight finish, then saving the state.");
                })
            };
            let session = app::Session {
                project: &project,
                conn: &conn,
                evaluated: &evaluated,
            };
            let progress = ui.apply_progress(plan.steps.len(), false);
            let events = progress.clone();
            let (store, applied) = session
                .apply(
                    store,
                    &plan,
                    crate::reconcile::Options::default(),
                    stop,
                    move |e| {
                        events.event(&e);
                    },
                )
                .await;
            watcher.abort();
            progress.finish();
            let closed = store.close();
            let report = applied?;
            ui.apply_recap(&plan, &report, "apply");
            closed?;
            Ok::<bool, app::Error>(report.complete())
        },
        None::<Duration>,
        None,
        |_| {},
    );
    match applied {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err("some changes were not applied (see above)".into()),
        Ok(Err(e)) => Err(e.one_line()),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks for `yes` on the terminal; without one, refuses instead of hanging.
fn confirm(printer: &Printer<'_>, env: &str) -> Result<(), String> {
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to confirm on; use `:apply --yes` to apply without asking".into());
    }
    printer.ui.prompt(&format!(
        "Do you want to perform these actions in environment `{env}`? Only 'yes' will be accepted: "
    ));
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err("apply cancelled".into())
    }
}
