//! `ict emulator start|status|stop`: the project's emulator daemon as text and JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use crate::daemon::{Found, Link, Stopped};

/// `ict emulator status` (and `start`) as text.
pub fn status_text(project: &Path, log: &Path, found: &Found) -> String {
    let project = project.display();
    match found {
        Found::None { gone: None } => format!("the emulator of {project} is not running\n"),
        Found::None { gone: Some(holder) } => format!(
            "the emulator of {project} is not running: pid {} ended without stopping (crashed \
             or killed); the next command starts a new one; its log is {}\n",
            holder.pid,
            log.display()
        ),
        Found::Silent {
            holder,
            url,
            reason,
        } => format!(
            "the emulator of {project} (pid {}, {}) runs but does not answer: {reason}\n\
             `ict emulator stop` stops it; its log is {}\n",
            holder.pid,
            url.as_deref().unwrap_or("no address yet"),
            log.display()
        ),
        Found::Running(link) => running(&project.to_string(), log, link),
    }
}

fn running(project: &str, log: &Path, link: &Link) -> String {
    let status = &link.status;
    let settings = &status.settings;
    let on_off = |on: bool| if on { "on" } else { "off" };
    let mut out = format!("the emulator of {project} is running\n");
    let _ = writeln!(
        out,
        "  pid       {} (since {}, up {})",
        status.pid,
        link.holder.started_at,
        duration(status.uptime_secs)
    );
    let _ = writeln!(out, "  url       {}", link.url);
    let _ = writeln!(out, "  servers   {}", status.servers);
    let _ = writeln!(
        out,
        "  settings  SSH {}, metrics {}, tasks {} ms, DNS quirk {}",
        on_off(settings.ssh),
        on_off(settings.metrics),
        settings.task_delay_ms,
        settings.dns_quirk
    );
    if let Some(missing) = &status.ssh_unavailable {
        let _ = writeln!(
            out,
            "  ssh       unavailable: {} ({})",
            missing.reason, missing.fix
        );
    }
    let idle = match status.idle_timeout_secs {
        Some(limit) => format!(
            "stops after {} without requests (idle for {})",
            duration(limit),
            duration(status.idle_secs)
        ),
        None => "never stops for being idle".to_owned(),
    };
    let _ = writeln!(out, "  idle      {idle}");
    if !status.leases.is_empty() {
        let users: Vec<String> = status
            .leases
            .iter()
            .map(|l| format!("{} (pid {})", l.command, l.pid))
            .collect();
        let _ = writeln!(out, "  used by   {}", users.join(", "));
    }
    let _ = writeln!(out, "  log       {}", log.display());
    out
}

/// `ict emulator status --json`: `state` is `running`, `stopped` or `not answering`.
pub fn status_json(project: &Path, log: &Path, found: &Found) -> serde_json::Value {
    let mut value = json!({
        "project": project,
        "log": log,
    });
    let extra = match found {
        Found::None { gone } => json!({
            "state": "stopped",
            "crashed_pid": gone.as_ref().map(|h| h.pid),
        }),
        Found::Silent {
            holder,
            url,
            reason,
        } => json!({
            "state": "not answering",
            "pid": holder.pid,
            "url": url,
            "reason": reason,
        }),
        Found::Running(link) => {
            let mut running = serde_json::to_value(&link.status).unwrap_or_default();
            running["state"] = json!("running");
            running["url"] = json!(link.url);
            running
        }
    };
    if let (Some(all), Some(more)) = (value.as_object_mut(), extra.as_object()) {
        all.extend(more.clone());
    }
    value
}

/// `ict emulator stop`.
pub fn stopped_text(project: &Path, stopped: Option<&Stopped>) -> String {
    let project = project.display();
    match stopped {
        None => format!("the emulator of {project} is not running\n"),
        Some(Stopped { pid, killed: false }) => {
            format!("stopped the emulator of {project} (pid {pid})\n")
        }
        Some(Stopped { pid, killed: true }) => {
            format!("killed the emulator of {project} (pid {pid}): it did not stop in time\n")
        }
    }
}

/// `3h 2m`, `30m`, `4m 5s`, `12s`.
fn duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) if s == 0 => format!("{m}m"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_uptimes() {
        assert_eq!(duration(12), "12s");
        assert_eq!(duration(245), "4m 5s");
        assert_eq!(duration(1800), "30m");
        assert_eq!(duration(10_920), "3h 2m");
    }
}
