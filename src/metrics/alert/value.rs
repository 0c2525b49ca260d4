//! The value of a figure for one host and the truth of a condition, with "unknown" kept apart
//! from "false": a figure the exporter did not report, or any figure but `up` of an unreachable
//! host, is unknown, and a comparison with an unknown value is unknown.

use crate::metrics::NodeFigures;
use crate::model::alert::{Condition, Figure};

/// What one tick knows about a host.
#[derive(Debug, Clone, Copy)]
pub enum Reading<'a> {
    /// The host answered: its figures.
    Up(&'a NodeFigures),
    /// The host did not answer (`up` is 0, every other figure unknown).
    Down,
}

/// The value of `f` for a host, or `None` when unknown.
pub fn figure(f: Figure, reading: Reading<'_>) -> Option<f64> {
    let figures = match reading {
        Reading::Up(figures) => figures,
        Reading::Down => return (f == Figure::Up).then_some(0.0),
    };
    match f {
        Figure::Up => Some(1.0),
        Figure::Cpu => figures.cpu_busy_percent,
        Figure::Load1 => figures.load1,
        Figure::Load5 => figures.load5,
        Figure::Load15 => figures.load15,
        Figure::Memory => figures.memory_used_percent,
        Figure::Swap => figures.swap_used_percent,
        Figure::Disk => figures
            .mounts
            .iter()
            .filter_map(|m| m.used_percent)
            .reduce(f64::max),
        Figure::DiskReadonly => {
            let known: Vec<bool> = figures.mounts.iter().filter_map(|m| m.readonly).collect();
            (!known.is_empty()).then(|| f64::from(u8::from(known.contains(&true))))
        }
        Figure::NetRx => figures.network_rx_bytes_per_second,
        Figure::NetTx => figures.network_tx_bytes_per_second,
        Figure::DiskRead => figures.disk_read_bytes_per_second,
        Figure::DiskWrite => figures.disk_write_bytes_per_second,
    }
}

/// Whether `condition` holds: `None` when it depends on an unknown value (`and` with a false
/// side is false, `or` with a true side is true, whatever the other side).
pub fn holds(condition: &Condition, reading: Reading<'_>) -> Option<bool> {
    match condition {
        Condition::Compare {
            figure: f,
            op,
            value,
        } => figure(*f, reading).map(|v| op.holds(v, *value)),
        Condition::And(a, b) => match (holds(a, reading), holds(b, reading)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Condition::Or(a, b) => match (holds(a, reading), holds(b, reading)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MountFigures;
    use crate::model::alert::condition::parse;

    fn mount(point: &str, used: Option<f64>, readonly: Option<bool>) -> MountFigures {
        MountFigures {
            mountpoint: point.into(),
            device: "/dev/vda1".into(),
            fstype: "ext4".into(),
            size_bytes: 1e9,
            used_percent: used,
            readonly,
        }
    }

    #[test]
    fn conditions_over_readings() {
        let figures = NodeFigures {
            cpu_busy_percent: Some(95.0),
            load5: Some(1.5),
            memory_used_percent: Some(40.0),
            mounts: vec![
                mount("/", Some(50.0), Some(false)),
                mount("/data", Some(97.0), Some(true)),
            ],
            ..NodeFigures::default()
        };
        let up = Reading::Up(&figures);
        let cases: &[(&str, Reading<'_>, Option<bool>)] = &[
            ("cpu > 90", up, Some(true)),
            ("cpu > 95", up, Some(false)),
            ("disk >= 97", up, Some(true)),
            ("disk_readonly == 1", up, Some(true)),
            ("up == 1", up, Some(true)),
            ("swap > 10", up, None),
            ("swap > 10 and cpu < 50", up, Some(false)),
            ("swap > 10 or cpu > 50", up, Some(true)),
            ("swap > 10 or cpu < 50", up, None),
            ("up == 0", Reading::Down, Some(true)),
            ("cpu > 90", Reading::Down, None),
            ("up == 0 or cpu > 90", Reading::Down, Some(true)),
            ("up == 1 and cpu > 90", Reading::Down, Some(false)),
        ];
        for (text, reading, expected) in cases {
            let condition = parse(text).expect("valid");
            assert_eq!(holds(&condition, *reading), *expected, "{text}");
        }
        assert_eq!(figure(Figure::Disk, up), Some(97.0));
        assert_eq!(
            figure(Figure::Disk, Reading::Up(&NodeFigures::default())),
            None
        );
    }
}
