//! Progress and recap of `apply`/`destroy`: on a terminal, an overall bar and one spinner per
//! change in flight (indicatif), with each finished change printed above them; elsewhere one
//! plain line per event (stable in logs and CI). Then Terraform's closing line. With `--json`,
//! JSON lines instead: `{"type":"plan",...}`, one per event (`started`, `finished`, `failed`,
//! `skipped`), then `{"type":"outcome",...}`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::reconcile::{Action, Event, Plan, Report};

/// Shows the events of one apply; cheap to clone into the executor's callback.
#[derive(Clone)]
pub struct ApplyProgress {
    bars: Option<Arc<Bars>>,
    json: bool,
}

/// The terminal display: the overall bar and a spinner per address in flight.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
    failed: Mutex<usize>,
}

impl ApplyProgress {
    /// Bars when both standard output and standard error are terminals, plain lines otherwise.
    pub(super) fn new(steps: usize, color: bool, json: bool) -> ApplyProgress {
        let terminal = !json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bars = terminal.then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let template = if color {
                "{prefix:.bold} [{bar:30.green/dim}] {pos}/{len} {msg} ({elapsed})"
            } else {
                "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})"
            };
            let overall = multi.add(ProgressBar::new(steps as u64));
            overall.set_style(style(template).progress_chars("=> "));
            overall.set_prefix("Applying");
            overall.enable_steady_tick(Duration::from_millis(200));
            Arc::new(Bars {
                multi,
                overall,
                running: Mutex::new(HashMap::new()),
                failed: Mutex::new(0),
            })
        });
        ApplyProgress { bars, json }
    }

    /// Shows one event.
    pub fn event(&self, event: &Event) {
        let Some(bars) = &self.bars else {
            let line = if self.json {
                json_event(event)
            } else {
                event_line(event)
            };
            super::print_out(&format!("{line}\n"));
            return;
        };
        let mut running = bars.running.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            Event::Started { address, .. } => {
                let spinner = bars.multi.add(ProgressBar::new_spinner());
                spinner.set_style(style("  {spinner} {msg} {elapsed}"));
                spinner.set_message(event_line(event));
                spinner.enable_steady_tick(Duration::from_millis(120));
                running.insert(address.to_string(), spinner);
            }
            Event::Finished { address, .. }
            | Event::Failed { address, .. }
            | Event::Skipped { address, .. } => {
                if let Some(spinner) = running.remove(&address.to_string()) {
                    spinner.finish_and_clear();
                    bars.multi.remove(&spinner);
                }
                let _ = bars.multi.println(event_line(event));
                bars.overall.inc(1);
                if !matches!(event, Event::Finished { .. }) {
                    let mut failed = bars.failed.lock().unwrap_or_else(PoisonError::into_inner);
                    *failed += 1;
                    bars.overall.set_message(format!("{failed} failed"));
                }
            }
        }
        let in_flight = running.len();
        if in_flight > 0 {
            bars.overall
                .set_prefix(format!("Applying, {in_flight} in flight"));
        } else {
            bars.overall.set_prefix("Applying");
        }
    }

    /// Removes the bars (before the recap is printed).
    pub fn finish(&self) {
        if let Some(bars) = &self.bars {
            for (_, spinner) in bars
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drain()
            {
                spinner.finish_and_clear();
            }
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

/// A style from a template written in this file.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// One line for an apply event.
pub(super) fn event_line(event: &Event) -> String {
    match event {
        Event::Started { address, action } => {
            let verb = match action {
                Action::Create => "creating",
                Action::Update => "updating",
                Action::Replace => "replacing",
                Action::Delete => "destroying",
                Action::Adopt => "adopting",
            };
            format!("{address}: {verb}…")
        }
        Event::Finished {
            address,
            action,
            elapsed,
            detail,
        } => {
            let verb = match action {
                Action::Create => "created",
                Action::Update => "updated",
                Action::Replace => "replaced",
                Action::Delete => "destroyed",
                Action::Adopt => "adopted",
            };
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            };
            format!("{address}: {verb} in {:.1}s{detail}", elapsed.as_secs_f64())
        }
        Event::Failed { address, message } => {
            format!("{address}: FAILED: {}", super::escape(message))
        }
        Event::Skipped { address, because } => {
            format!("{address}: skipped, because {because} failed")
        }
    }
}

/// The closing lines.
pub(super) fn recap(plan: &Plan, report: &Report, command: &str) -> String {
    if report.complete() {
        let s = plan.summary();
        let title = if command == "destroy" {
            "Destroy complete!"
        } else {
            "Apply complete!"
        };
        return format!(
            "\n{title} Resources: {} added, {} changed, {} destroyed.\n",
            s.add, s.change, s.destroy
        );
    }
    let mut out = format!(
        "\n{command} finished with problems: {} done, {} failed, {} skipped, {} not started.\n",
        report.done.len(),
        report.failed.len(),
        report.skipped.len(),
        report.not_started.len()
    );
    for (address, message) in &report.failed {
        let _ = writeln!(out, "  failed: {address}: {}", super::escape(message));
    }
    out.push_str(
        "Run the same command again to continue: completed changes are saved in the state.\n",
    );
    out
}

/// The first line of `apply --json`: the plan, as `plan --json` shows it.
pub fn json_plan(plan: &Plan) -> String {
    json_line(&serde_json::json!({ "type": "plan", "plan": super::plan::json_value(plan) }))
}

/// One apply event as a JSON object on one line.
fn json_event(event: &Event) -> String {
    let value = match event {
        Event::Started { address, action } => {
            serde_json::json!({ "type": "started", "address": address, "action": action })
        }
        Event::Finished {
            address,
            action,
            elapsed,
            detail,
        } => serde_json::json!({
            "type": "finished",
            "address": address,
            "action": action,
            "seconds": super::json_seconds(*elapsed),
            "detail": detail,
        }),
        Event::Failed { address, message } => {
            serde_json::json!({ "type": "failed", "address": address, "error": message })
        }
        Event::Skipped { address, because } => {
            serde_json::json!({ "type": "skipped", "address": address, "because": because })
        }
    };
    serde_json::to_string(&value).unwrap_or_default()
}

/// The last line of `apply --json`: what was done, what failed, and the exit code.
pub fn json_outcome(plan: &Plan, report: &Report, code: crate::exit::ExitCode) -> String {
    let failed: Vec<serde_json::Value> = report
        .failed
        .iter()
        .map(|(address, error)| serde_json::json!({ "address": address, "error": error }))
        .collect();
    let skipped: Vec<serde_json::Value> = report
        .skipped
        .iter()
        .map(|(address, because)| serde_json::json!({ "address": address, "because": because }))
        .collect();
    json_line(&serde_json::json!({
        "type": "outcome",
        "complete": report.complete(),
        "exit_code": u8::from(code),
        "summary": plan.summary(),
        "done": report.done,
        "failed": failed,
        "skipped": skipped,
        "not_started": report.not_started,
    }))
}

fn json_line(value: &serde_json::Value) -> String {
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}
