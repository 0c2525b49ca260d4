//! Output of `ict exec` (per-host prefixed lines or grouped blocks, then a recap of exit codes;
//! or one JSON array) and of playbook runs (the per-host PLAY RECAP summary).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ansible::HostRecap;
use crate::ssh::HostResult;

/// How `ict exec` shows what each host printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecStyle {
    /// `host | line`, as the lines come.
    Prefixed,
    /// One block per host.
    Grouped,
    /// One JSON array (see [`json`]).
    Json,
}

/// Renders exec results; returns the text and whether any host failed (or was missing).
pub(super) fn results(
    results: &[HostResult],
    missing: &[(&str, &str)],
    style: ExecStyle,
) -> (String, bool) {
    let failed = !missing.is_empty()
        || results.iter().any(|r| {
            !r.outcome
                .as_ref()
                .is_ok_and(|done| done.exit_status == Some(0))
        });
    if style == ExecStyle::Json {
        return (json(results, missing), failed);
    }
    let grouped = style == ExecStyle::Grouped;
    let mut out = String::new();
    // Host labels may come from a host list or the cloud: escaped (see `escape`).
    let label = |r: &HostResult| super::escape(&r.target.name).into_owned();
    let width = results
        .iter()
        .map(|r| label(r).chars().count())
        .max()
        .unwrap_or(0);
    for r in results {
        let name = label(r);
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
    let _ = writeln!(out, "\nRecap:");
    for r in results {
        let name = label(r);
        let status = match &r.outcome {
            Ok(done) if done.exit_status == Some(0) => {
                format!("ok ({:.2}s)", r.elapsed.as_secs_f64())
            }
            Ok(done) => match (&done.exit_status, &done.exit_signal) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(signal)) => format!("killed by {signal}"),
                (None, None) => "no exit status".to_owned(),
            },
            Err(e) => format!("unreachable: {}", super::escape(&e.to_string())),
        };
        let _ = writeln!(out, "  {name:<width$}  {status}");
    }
    for (name, why) in missing {
        let name = super::escape(name);
        let _ = writeln!(out, "  {name:<width$}  {why}");
    }
    (out, failed)
}

/// `[{"host", "ok", "exit_status", "exit_signal", "stdout", "stderr", "seconds", "error"}]`, in
/// the order of the hosts; a server not created yet (or deleted outside ict) has only `host`,
/// `ok: false` and `error`.
fn json(results: &[HostResult], missing: &[(&str, &str)]) -> String {
    let mut rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let seconds = super::json_seconds(r.elapsed);
            match &r.outcome {
                Ok(done) => serde_json::json!({
                    "host": r.target.name,
                    "ok": done.exit_status == Some(0),
                    "exit_status": done.exit_status,
                    "exit_signal": done.exit_signal,
                    "stdout": done.stdout,
                    "stderr": done.stderr,
                    "seconds": seconds,
                    "error": null,
                }),
                Err(e) => serde_json::json!({
                    "host": r.target.name,
                    "ok": false,
                    "seconds": seconds,
                    "error": format!("unreachable: {e}"),
                }),
            }
        })
        .collect();
    rows.extend(
        missing
            .iter()
            .map(|(name, why)| serde_json::json!({ "host": name, "ok": false, "error": why })),
    );
    let mut text = serde_json::to_string_pretty(&rows).unwrap_or_default();
    text.push('\n');
    text
}

/// Per-host summary of one playbook.
pub(super) fn playbook_recap(
    name: &str,
    hosts: &BTreeMap<String, HostRecap>,
    exit_code: Option<i32>,
) -> String {
    let mut out = format!("\nRecap of playbook {name}:\n");
    let width = hosts.keys().map(String::len).max().unwrap_or(0);
    for (host, r) in hosts {
        let _ = writeln!(
            out,
            "  {host:<width$}  ok={} changed={} unreachable={} failed={} skipped={}",
            r.ok, r.changed, r.unreachable, r.failed, r.skipped
        );
    }
    if hosts.is_empty() {
        let _ = writeln!(
            out,
            "  (no hosts ran; ansible-playbook exited with {exit_code:?})"
        );
    }
    out
}
