//! Output of `ict exec` (per-host prefixed lines or grouped blocks, then a recap of exit codes)
//! and of playbook runs (the per-host PLAY RECAP summary).

use std::fmt::Write as _;

use crate::ansible::Outcome;
use crate::ssh::HostResult;

/// Renders exec results; returns the text and whether any host failed.
pub(super) fn results(results: &[HostResult], missing: &[&str], grouped: bool) -> (String, bool) {
    let mut out = String::new();
    let width = results
        .iter()
        .map(|r| r.target.name.len())
        .max()
        .unwrap_or(0);
    for r in results {
        let name = &r.target.name;
        if let Ok(done) = &r.outcome {
            if grouped {
                let _ = writeln!(out, "── {name} ──");
                out.push_str(&done.stdout);
                out.push_str(&done.stderr);
                if !done.stdout.ends_with('\n') && !done.stdout.is_empty() {
                    out.push('\n');
                }
            } else {
                for line in done.stdout.lines().chain(done.stderr.lines()) {
                    let _ = writeln!(out, "{name:<width$} | {line}");
                }
            }
        }
    }
    let mut failed = !missing.is_empty();
    let _ = writeln!(out, "\nRecap:");
    for r in results {
        let name = &r.target.name;
        let status = match &r.outcome {
            Ok(done) if done.exit_status == Some(0) => {
                format!("ok ({:.2}s)", r.elapsed.as_secs_f64())
            }
            Ok(done) => {
                failed = true;
                match (&done.exit_status, &done.exit_signal) {
                    (Some(code), _) => format!("exit {code}"),
                    (None, Some(signal)) => format!("killed by {signal}"),
                    (None, None) => "no exit status".to_owned(),
                }
            }
            Err(e) => {
                failed = true;
                format!("unreachable: {e}")
            }
        };
        let _ = writeln!(out, "  {name:<width$}  {status}");
    }
    for name in missing {
        let _ = writeln!(out, "  {name:<width$}  not created yet (run `ict apply`)");
    }
    (out, failed)
}

/// Per-host summary of one playbook.
pub(super) fn playbook_recap(name: &str, outcome: &Outcome) -> String {
    let mut out = format!("\nRecap of playbook {name}:\n");
    let width = outcome.hosts.keys().map(String::len).max().unwrap_or(0);
    for (host, r) in &outcome.hosts {
        let _ = writeln!(
            out,
            "  {host:<width$}  ok={} changed={} unreachable={} failed={} skipped={}",
            r.ok, r.changed, r.unreachable, r.failed, r.skipped
        );
    }
    if outcome.hosts.is_empty() {
        let _ = writeln!(
            out,
            "  (no hosts ran; ansible-playbook exited with {:?})",
            outcome.exit_code
        );
    }
    out
}
