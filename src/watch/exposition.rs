//! `/metrics` of `ict watch`, in the Prometheus text format: the figures of every server from
//! the last tick, the state of every alert on every host, and whether the infrastructure
//! drifted from the script.
//!
//! Families are written in a fixed order and series sorted by host, so the output is
//! deterministic. Every value is a gauge.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::metrics::alert::Track;
use crate::metrics::NodeFigures;

/// What one tick knew, rendered by [`render`].
#[derive(Debug, Default)]
pub struct Snapshot<'a> {
    /// Each host's figures, or `None` when it did not answer.
    pub hosts: BTreeMap<&'a str, Option<&'a NodeFigures>>,
    /// (rule, host) → track, with each rule's severity.
    pub alerts: Vec<(&'a str, &'a str, &'a str, Track)>,
    /// Whether the last drift check found changes (`None`: not checked yet).
    pub drift: Option<bool>,
    /// Ticks since start.
    pub ticks: u64,
}

type Getter = fn(&NodeFigures) -> Option<f64>;

const FIGURES: &[(&str, &str, Getter)] = &[
    (
        "cpu_busy_percent",
        "CPU busy percent over the last interval.",
        |f| f.cpu_busy_percent,
    ),
    (
        "cpu_iowait_percent",
        "CPU iowait percent over the last interval.",
        |f| f.cpu_iowait_percent,
    ),
    ("load1", "1-minute load average.", |f| f.load1),
    ("load5", "5-minute load average.", |f| f.load5),
    ("load15", "15-minute load average.", |f| f.load15),
    (
        "memory_used_percent",
        "Memory used percent (total minus available).",
        |f| f.memory_used_percent,
    ),
    ("swap_used_percent", "Swap used percent.", |f| {
        f.swap_used_percent
    }),
    (
        "disk_read_bytes_per_second",
        "Disk read bytes per second.",
        |f| f.disk_read_bytes_per_second,
    ),
    (
        "disk_write_bytes_per_second",
        "Disk written bytes per second.",
        |f| f.disk_write_bytes_per_second,
    ),
    (
        "network_receive_bytes_per_second",
        "Network received bytes per second (not lo).",
        |f| f.network_rx_bytes_per_second,
    ),
    (
        "network_transmit_bytes_per_second",
        "Network sent bytes per second (not lo).",
        |f| f.network_tx_bytes_per_second,
    ),
    ("uptime_seconds", "Seconds since boot.", |f| {
        f.uptime_seconds
    }),
];

/// The exposition text of `snapshot`.
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "ict_up",
        "Whether the server answered the last scrape (1) or not (0).",
    );
    for (host, figures) in &snapshot.hosts {
        let up = u8::from(figures.is_some());
        let _ = writeln!(out, "ict_up{{host=\"{}\"}} {up}", escape(host));
    }
    for (name, help, get) in FIGURES {
        let series: Vec<(&str, f64)> = snapshot
            .hosts
            .iter()
            .filter_map(|(host, f)| Some((*host, get((*f)?)?)))
            .collect();
        if series.is_empty() {
            continue;
        }
        let metric = format!("ict_{name}");
        family(&mut out, &metric, help);
        for (host, value) in series {
            let _ = writeln!(
                out,
                "{metric}{{host=\"{}\"}} {}",
                escape(host),
                number(value)
            );
        }
    }
    mounts(&mut out, snapshot);
    family(
        &mut out,
        "ict_alert_state",
        "1 for the current state of each alert on each host (inactive, pending, firing, resolved).",
    );
    for (rule, host, severity, track) in &snapshot.alerts {
        let _ = writeln!(
            out,
            "ict_alert_state{{alert=\"{}\",host=\"{}\",severity=\"{severity}\",state=\"{}\"}} 1",
            escape(rule),
            escape(host),
            track.phase.name()
        );
    }
    if let Some(drift) = snapshot.drift {
        family(
            &mut out,
            "ict_drift",
            "1 when the cloud differs from the script (the plan is not empty).",
        );
        let _ = writeln!(out, "ict_drift {}", u8::from(drift));
    }
    family(
        &mut out,
        "ict_watch_ticks",
        "Sampling rounds since ict watch started.",
    );
    let _ = writeln!(out, "ict_watch_ticks {}", snapshot.ticks);
    out
}

fn mounts(out: &mut String, snapshot: &Snapshot<'_>) {
    let mut used = String::new();
    let mut readonly = String::new();
    for (host, figures) in &snapshot.hosts {
        for m in figures.iter().flat_map(|f| &f.mounts) {
            let labels = format!(
                "host=\"{}\",mountpoint=\"{}\"",
                escape(host),
                escape(&m.mountpoint)
            );
            if let Some(v) = m.used_percent {
                let _ = writeln!(used, "ict_disk_used_percent{{{labels}}} {}", number(v));
            }
            if let Some(r) = m.readonly {
                let _ = writeln!(readonly, "ict_disk_readonly{{{labels}}} {}", u8::from(r));
            }
        }
    }
    if !used.is_empty() {
        family(
            out,
            "ict_disk_used_percent",
            "Used percent of each real filesystem.",
        );
        out.push_str(&used);
    }
    if !readonly.is_empty() {
        family(
            out,
            "ict_disk_readonly",
            "1 when the filesystem is mounted read-only.",
        );
        out.push_str(&readonly);
    }
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::alert::Phase;
    use crate::metrics::{parse, MountFigures};

    #[test]
    fn the_exposition_parses_back() {
        let web = NodeFigures {
            cpu_busy_percent: Some(42.5),
            load1: Some(0.25),
            mounts: vec![MountFigures {
                mountpoint: "/data \"x\"".into(),
                device: "/dev/vdb".into(),
                fstype: "ext4".into(),
                size_bytes: 1e9,
                used_percent: Some(91.0),
                readonly: Some(true),
            }],
            ..NodeFigures::default()
        };
        let firing = Track {
            phase: Phase::Firing {
                since: 1,
                fired_at: 2,
            },
            value: Some(42.5),
        };
        let snapshot = Snapshot {
            hosts: BTreeMap::from([("web-1", Some(&web)), ("db-1", None)]),
            alerts: vec![("hot", "web-1", "warning", firing)],
            drift: Some(true),
            ticks: 7,
        };
        let text = render(&snapshot);
        let scrape = parse(&text).expect("valid exposition");
        let value = |name: &str, labels: &[(&str, &str)]| scrape.value(name, labels);
        assert_eq!(value("ict_up", &[("host", "web-1")]), Some(1.0));
        assert_eq!(value("ict_up", &[("host", "db-1")]), Some(0.0));
        assert_eq!(
            value("ict_cpu_busy_percent", &[("host", "web-1")]),
            Some(42.5)
        );
        assert_eq!(value("ict_cpu_busy_percent", &[("host", "db-1")]), None);
        assert_eq!(
            value("ict_disk_used_percent", &[("mountpoint", "/data \"x\"")]),
            Some(91.0)
        );
        assert_eq!(
            value("ict_alert_state", &[("alert", "hot"), ("state", "firing")]),
            Some(1.0)
        );
        assert_eq!(value("ict_drift", &[]), Some(1.0));
        assert_eq!(value("ict_watch_ticks", &[]), Some(7.0));
    }
}
