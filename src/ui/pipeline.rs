//! Text for `ict pipeline run|status`, `ict rollback` and the pipeline lines of `ict watch`:
//! stage progress and log lines named by host and stage, the closing summary (with the failing
//! stage's log tail), and the release table. Pure: returns strings for `Ui` to print.

use std::fmt::Write as _;

use super::Table;
use crate::pipeline::record::{short_commit, Action, History, Outcome, Record};
use crate::pipeline::trigger::TriggerEvent;
use crate::pipeline::Event;

/// The line a run prints before it starts.
pub fn header(
    pipeline: &str,
    env: &str,
    record_ref: &str,
    commit: &str,
    release: &str,
    hosts: &[String],
) -> String {
    format!(
        "Pipeline {pipeline} ({env}): {record_ref} at {} → release {release} on {}\n",
        short_commit(commit),
        hosts.join(", ")
    )
}

/// One line of progress: `host | stage | output line`, or a stage starting or ending (the
/// same line the run's kept log has).
pub fn event(event: &Event) -> String {
    format!("{event}\n")
}

/// The closing lines of a run or rollback.
pub fn summary(pipeline: &str, env: &str, record: &Record) -> String {
    let mut out = String::new();
    let seconds = record
        .finished_at
        .unix()
        .saturating_sub(record.started_at.unix());
    match (record.outcome, record.action) {
        (Outcome::Success, Action::Deploy) => {
            let _ = writeln!(
                out,
                "\n{pipeline} ({env}): release {} is live on {} ({seconds}s)",
                record.release,
                record.hosts.join(", ")
            );
        }
        (Outcome::Success, Action::Rollback) => {
            let _ = writeln!(
                out,
                "\n{pipeline} ({env}): rolled back to release {}",
                record.release
            );
        }
        (Outcome::Failed, action) => {
            let what = if action == Action::Deploy {
                "run"
            } else {
                "rollback"
            };
            let _ = writeln!(
                out,
                "\n{pipeline} ({env}): {what} FAILED at stage `{}` on {}; the running release is unchanged",
                record.failed_stage.as_deref().unwrap_or("?"),
                record.failed_host.as_deref().unwrap_or("?"),
            );
            if let Some(tail) = &record.error {
                let _ = writeln!(out, "last lines:");
                for line in tail.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
        }
    }
    out
}

/// A notification that was or was not delivered.
pub fn notified(target: &str, error: Option<&dyn std::fmt::Display>) -> String {
    match error {
        None => format!("notified {target}\n"),
        Some(e) => format!("could not notify {target}: {e}\n"),
    }
}

/// `ict pipeline status`: one table per pipeline, newest run first.
pub fn status(pipeline: &str, env: &str, history: &History, all: bool) -> String {
    let mut out = format!(
        "{pipeline} ({env}): current release {}\n",
        history.current.as_deref().unwrap_or("none")
    );
    if history.records.is_empty() {
        out.push_str("  no runs yet\n");
        return out;
    }
    let mut table = Table::new(&[
        "", "RELEASE", "ACTION", "REF", "COMMIT", "FINISHED", "RESULT",
    ]);
    let shown = if all { history.records.len() } else { 5 };
    for r in history.records.iter().rev().take(shown) {
        let current =
            history.current.as_deref() == Some(r.release.as_str()) && r.outcome == Outcome::Success;
        let result = match r.outcome {
            Outcome::Success => "success".to_owned(),
            Outcome::Failed => format!(
                "failed: {} on {}",
                r.failed_stage.as_deref().unwrap_or("?"),
                r.failed_host.as_deref().unwrap_or("?")
            ),
        };
        table.row(vec![
            if current { "*".into() } else { String::new() },
            r.release.clone(),
            match r.action {
                Action::Deploy => "deploy".into(),
                Action::Rollback => "rollback".into(),
            },
            r.ref_name.clone(),
            short_commit(&r.commit).to_owned(),
            r.finished_at.to_string(),
            result,
        ]);
    }
    out.push_str(&table.render());
    out
}

/// `ict pipeline logs`: a line saying which run, then its `log`.
pub fn run_log(pipeline: &str, r: &Record, log: &str) -> String {
    let action = match r.action {
        Action::Deploy => "deploy",
        Action::Rollback => "rollback",
    };
    let seconds = r.finished_at.unix().saturating_sub(r.started_at.unix());
    format!(
        "{pipeline} {}: {action} of {} at {}, started {}, took {seconds}s, {}\n{}",
        r.release,
        r.ref_name,
        short_commit(&r.commit),
        r.started_at,
        r.outcome.as_str(),
        log
    )
}

/// One line per trigger event of `ict watch`.
pub fn trigger(event: &TriggerEvent) -> String {
    match event {
        TriggerEvent::Watching { pipelines } => {
            format!(
                "watching the repositories of pipeline(s) {}",
                pipelines.join(", ")
            )
        }
        TriggerEvent::Moved { pipeline, resolved } => format!(
            "pipeline {pipeline}: {} moved to {}; running",
            resolved.name,
            resolved.short()
        ),
        TriggerEvent::Ran {
            pipeline,
            resolved,
            outcome,
        } => format!(
            "pipeline {pipeline}: {} at {}: {}",
            resolved.name,
            resolved.short(),
            outcome.as_str()
        ),
        TriggerEvent::Deferred { pipeline, reason } => {
            format!("pipeline {pipeline}: could not start a run ({reason}); trying again at the next poll")
        }
        TriggerEvent::PollFailed { pipeline, error } => format!("pipeline {pipeline}: {error}"),
    }
}
