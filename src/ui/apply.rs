//! Progress and recap of `apply`/`destroy`: one plain line per event (stable in logs and CI),
//! and Terraform's closing line.

use std::fmt::Write as _;

use crate::reconcile::{Action, Event, Plan, Report};

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
        Event::Failed { address, message } => format!("{address}: FAILED: {message}"),
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
        let _ = writeln!(out, "  failed: {address}: {message}");
    }
    out.push_str(
        "Run the same command again to continue: completed changes are saved in the state.\n",
    );
    out
}
