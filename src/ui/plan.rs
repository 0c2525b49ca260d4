//! Plans for people, in Terraform's conventions: `+` create, `~` update in place, `-/+`
//! replace, `-` destroy, `<=` adopt; `old → new` per attribute; `(known after apply)`; and the
//! summary line `Plan: 2 to add, 1 to change, 0 to destroy.` A server being resized can carry a
//! `# now: CPU 91% of 2 · ...` line: what it uses at the moment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape;
use crate::reconcile::{Action, Plan};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The whole plan as text.
pub fn text(plan: &Plan, color: bool) -> String {
    text_with_usage(plan, color, &BTreeMap::new())
}

/// The whole plan as text, with what a server uses now (by address, see
/// `commands::metrics::resize_usage`) under its step.
pub fn text_with_usage(plan: &Plan, color: bool, usage: &BTreeMap<String, String>) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(BOLD, "No changes. The infrastructure matches the script.")
        );
    } else {
        let _ = writeln!(out, "ict will perform these actions (env {}):\n", plan.env);
        for moved in &plan.moves {
            let _ = writeln!(
                out,
                "  {} {} → {}  (moved: the same object, ID {}, is kept)",
                paint(YELLOW, "  ~"),
                paint(BOLD, &moved.from.to_string()),
                paint(BOLD, &moved.to.to_string()),
                moved.id
            );
        }
        for step in &plan.steps {
            let colour = match step.action {
                Action::Create => GREEN,
                Action::Update => YELLOW,
                Action::Replace | Action::Delete => RED,
                Action::Adopt => CYAN,
            };
            let reason = step
                .reason
                .as_ref()
                .map_or_else(String::new, |r| format!("  ({r})"));
            let _ = writeln!(
                out,
                "  {} {}{reason}",
                paint(colour, &format!("{:>3}", step.action.symbol())),
                paint(BOLD, &step.address.to_string())
            );
            let width = step.changes.iter().map(|c| c.attr.len()).max().unwrap_or(0);
            for c in &step.changes {
                let value = match &c.before {
                    Some(before) if step.action != Action::Create => {
                        format!("{} → {}", escape(before), escape(&c.after))
                    }
                    _ => escape(&c.after).into_owned(),
                };
                let forces = if c.forces_replacement {
                    paint(RED, "  # forces replacement")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "        {:<width$}  {value}{forces}", c.attr);
            }
            if let Some(now) = usage.get(&step.address.to_string()) {
                let _ = writeln!(out, "        {}", paint(CYAN, &format!("# now: {now}")));
            }
        }
        let s = plan.summary();
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                BOLD,
                &if s.moved > 0 {
                    format!(
                        "Plan: {} to add, {} to change, {} to destroy, {} to move.",
                        s.add, s.change, s.destroy, s.moved
                    )
                } else {
                    format!(
                        "Plan: {} to add, {} to change, {} to destroy.",
                        s.add, s.change, s.destroy
                    )
                }
            )
        );
    }
    if !plan.notes.is_empty() {
        out.push('\n');
    }
    for note in &plan.notes {
        let _ = writeln!(out, "{}", paint(CYAN, &format!("# {}", escape(note))));
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "\n{} {warning}", paint(YELLOW, "warning:"));
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "\n{} object(s) in the account are not managed by ict and will not be touched:",
            plan.unmanaged.len()
        );
        for u in &plan.unmanaged {
            let _ = writeln!(out, "  {:<10} {} (ID {})", u.kind, escape(&u.name), u.id);
        }
    }
    out
}

/// The plan as JSON for machines.
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(&json_value(plan)).unwrap_or_default();
    text.push('\n');
    text
}

/// The plan as `plan --json` prints it (also the `plan` line of `apply --json`).
pub fn json_value(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "format_version": "1",
        "env": plan.env,
        "summary": plan.summary(),
        "steps": plan.steps,
        "unmanaged": plan.unmanaged,
        "moves": plan.moves,
        "warnings": plan.warnings,
        "notes": plan.notes,
    })
}
