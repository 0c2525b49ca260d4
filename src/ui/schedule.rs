//! Schedules for people and machines: `ict schedule list` (text and `--json`), what a run did
//! (`ict schedule run`), and the lines of `ict power`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::escape;
use crate::app::schedule::{Listed, Ran, Run};
use crate::app::scheduler::Event;
use crate::app::{Imaged, Powered};
use crate::model::schedule::{Action, When};
use crate::model::Schedule;
use crate::provider::PowerOp;
use crate::schedule::{local, LastRun, Outcome};

/// One line per server of a power operation; `undone(name)` adds a note before a server the
/// next apply will start again.
pub fn powered(
    powered: &[(String, Powered)],
    op: PowerOp,
    undone: impl Fn(&str) -> bool,
) -> String {
    let mut out = String::new();
    for (name, p) in powered {
        if matches!(p, Powered::Done | Powered::Failed(_)) && undone(name) {
            let _ = writeln!(
                out,
                "{name}: note: declared power \"on\"; the next apply will start it again"
            );
        }
        let _ = match p {
            Powered::Done => writeln!(out, "{name}: {}", op.api_name()),
            Powered::Already(power) => writeln!(out, "{name}: already {power}; nothing sent"),
            Powered::Absent(why) => writeln!(out, "{name}: {why}"),
            Powered::Failed(e) => writeln!(out, "{name}: FAILED: {}", escape(e)),
        };
    }
    out
}

/// `cron "0 20 * * 1-5" Europe/Moscow` or `every 1h`.
fn when(s: &Schedule) -> String {
    match &s.when {
        When::Cron { text, .. } => format!("cron \"{text}\" {}", s.tz.name()),
        When::Every(d) => format!("every {}", every(d.as_secs())),
    }
}

fn every(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}m", s / 60),
    }
}

/// `power_off dev-*`, `pipeline shop`, `command "…" on all`.
fn what(s: &Schedule) -> String {
    let on = s
        .servers
        .as_deref()
        .map_or_else(String::new, |p| format!(" on {p}"));
    match &s.action {
        Action::Pipeline { pipeline } => format!("pipeline {pipeline}"),
        Action::Command { command } => format!("command \"{}\"{on}", escape(command)),
        Action::Image { keep } => format!("image{on}, keep {keep}"),
        a => format!("{}{on}", a.as_str()),
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn last_line(last: Option<&LastRun>, with_message: bool) -> String {
    let Some(last) = last else {
        return "never run".to_owned();
    };
    let outcome = match last.outcome {
        Outcome::Ok => "ok",
        Outcome::Failed => "FAILED",
        Outcome::Missed => "missed",
    };
    let message = if last.message.is_empty() || !with_message {
        String::new()
    } else {
        format!(": {}", escape(&last.message))
    };
    format!("{outcome} (due {}){message}", utc(last.due))
}

/// `ict schedule list`.
pub fn list(listed: &[Listed<'_>]) -> String {
    if listed.is_empty() {
        return "The script declares no schedules.\n".to_owned();
    }
    let mut out = String::new();
    for (i, l) in listed.iter().enumerate() {
        let s = l.schedule;
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}  {}  {}", s.name, when(s), what(s));
        for (j, t) in l.next.iter().enumerate() {
            let label = if j == 0 { "next" } else { "" };
            let _ = writeln!(out, "  {label:<5} {}  ({})", local(s, *t), utc(*t));
        }
        let _ = writeln!(out, "  {:<5} {}", "last", last_line(l.last.as_ref(), true));
    }
    out
}

/// `ict schedule list --json`: the shape docs/schedules.md documents.
pub fn list_json(listed: &[Listed<'_>]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = listed
        .iter()
        .map(|l| {
            let mut item = serde_json::to_value(l.schedule).unwrap_or_default();
            let next: Vec<serde_json::Value> = l
                .next
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "local": t.with_timezone(&l.schedule.tz).to_rfc3339(),
                        "utc": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    })
                })
                .collect();
            if let Some(map) = item.as_object_mut() {
                map.insert("next".into(), next.into());
                map.insert(
                    "last_run".into(),
                    serde_json::to_value(&l.last).unwrap_or_default(),
                );
                map.insert(
                    "runs".into(),
                    serde_json::to_value(&l.history).unwrap_or_default(),
                );
            }
            item
        })
        .collect();
    serde_json::json!({ "schedules": items })
}

/// What `ict schedule run` did, and its closing line (an error is reported on its own).
pub fn run(schedule: &Schedule, run: &Run) -> String {
    let mut out = String::new();
    match &run.ran {
        Ok(Ran::Power(p)) => {
            let op = match schedule.action {
                Action::PowerOn => PowerOp::On,
                Action::Reboot => PowerOp::Reboot,
                _ => PowerOp::Off,
            };
            out.push_str(&powered(p, op, |_| false));
        }
        Ok(Ran::Command(outputs)) => {
            for o in outputs {
                match &o.outcome {
                    Ok(r) => {
                        for line in r.stdout.lines().chain(r.stderr.lines()) {
                            let _ = writeln!(out, "{}: {}", o.name, escape(line));
                        }
                        let status = r
                            .exit_status
                            .map_or_else(|| "killed".to_owned(), |c| format!("exit {c}"));
                        let _ = writeln!(out, "{}: {status}", o.name);
                    }
                    Err(e) => {
                        let _ = writeln!(out, "{}: FAILED: {}", o.name, escape(e));
                    }
                }
            }
        }
        Ok(Ran::Apply(r)) => {
            let _ = writeln!(
                out,
                "apply: {} done, {} failed, {} skipped",
                r.done.len(),
                r.failed.len(),
                r.skipped.len()
            );
            for (address, e) in &r.failed {
                let _ = writeln!(out, "{address}: FAILED: {}", escape(e));
            }
        }
        Ok(Ran::Image(imaged)) => {
            for (name, i) in imaged {
                let _ = match i {
                    Imaged::Made(image) => writeln!(out, "{name}: image {image} made"),
                    Imaged::Deleted(image) => {
                        writeln!(out, "{name}: image {image} deleted (beyond keep)")
                    }
                    Imaged::Absent(why) => writeln!(out, "{name}: {why}"),
                    Imaged::Failed(e) => writeln!(out, "{name}: FAILED: {}", escape(e)),
                };
            }
        }
        Ok(Ran::Pipeline {
            pipeline,
            env,
            record,
        }) => out.push_str(&super::pipeline::summary(pipeline, env, record)),
        Err(_) => {}
    }
    let _ = writeln!(
        out,
        "schedule {}: {}",
        schedule.name,
        last_line(Some(&run.record), false)
    );
    out
}

/// One line per scheduler event, for `ict watch`'s output.
pub fn event(event: &Event<'_>) -> String {
    match event {
        Event::Waiting { schedule, holder } => format!(
            "schedule {}: waiting for the lock held by {holder}",
            schedule.name
        ),
        Event::Ran { schedule, run } => format!(
            "schedule {}: {}",
            schedule.name,
            last_line(Some(&run.record), true)
        ),
        Event::Missed { schedule, due } => format!(
            "schedule {}: missed the run due {} while watch was not running (`catch_up: true` \
             runs it once on start)",
            schedule.name,
            utc(*due)
        ),
        Event::Notified {
            schedule,
            target,
            result: Ok(()),
        } => format!("schedule {}: notified {target}", schedule.name),
        Event::Notified {
            schedule,
            target,
            result: Err(e),
        } => format!(
            "schedule {}: could not notify {target}: {}",
            schedule.name,
            escape(&e.to_string())
        ),
        Event::Failed { schedule, error } => {
            format!(
                "schedule {}: FAILED: {}",
                schedule.name,
                escape(&error.to_string())
            )
        }
    }
}
