//! How server metrics read: the `ict metrics` table and the cell formats `ict top` shares
//! (percentages, byte rates, uptime). Pure functions over [`HostFigures`]; depends on
//! `metrics` types and `ui::table`.

use super::table::Table;
use crate::metrics::{HostFigures, NodeFigures};

/// Column headers, in order; `ict top` uses the same.
pub const HEADERS: [&str; 13] = [
    "SERVER", "CPU%", "LOAD1", "MEM%", "SWAP%", "DISK%", "RO", "DISK R/s", "DISK W/s", "NET RX/s",
    "NET TX/s", "UPTIME", "ERROR",
];

/// Columns holding numbers (right-aligned).
const NUMERIC: [&str; 10] = [
    "CPU%", "LOAD1", "MEM%", "SWAP%", "DISK%", "DISK R/s", "DISK W/s", "NET RX/s", "NET TX/s",
    "UPTIME",
];

/// The table `ict metrics` prints: one row per server, in the order given.
pub fn table(rows: &[HostFigures]) -> Table {
    let mut table = Table::new(&HEADERS).right_align(&NUMERIC);
    for row in rows {
        table.row(cells(row));
    }
    table
}

/// One server's cells, matching [`HEADERS`]; a failed scrape has blanks and its error.
pub fn cells(row: &HostFigures) -> Vec<String> {
    let mut cells = vec![row.name.clone()];
    if let Some(f) = &row.figures {
        let (disk, readonly) = worst_disk(f);
        cells.extend([
            percent(f.cpu_busy_percent),
            f.load1.map(|l| format!("{l:.2}")).unwrap_or_default(),
            percent(f.memory_used_percent),
            percent(f.swap_used_percent),
            percent(disk),
            if readonly {
                "ro".to_owned()
            } else {
                String::new()
            },
            rate(f.disk_read_bytes_per_second),
            rate(f.disk_write_bytes_per_second),
            rate(f.network_rx_bytes_per_second),
            rate(f.network_tx_bytes_per_second),
            f.uptime_seconds.map(uptime).unwrap_or_default(),
            String::new(),
        ]);
    } else {
        cells.resize(HEADERS.len() - 1, String::new());
        cells.push(row.error.clone().unwrap_or_default());
    }
    cells
}

/// The fullest filesystem's used % and whether any filesystem is read-only.
pub fn worst_disk(figures: &NodeFigures) -> (Option<f64>, bool) {
    let worst = figures
        .mounts
        .iter()
        .filter_map(|m| m.used_percent)
        .fold(None, |acc: Option<f64>, p| {
            Some(acc.map_or(p, |a| a.max(p)))
        });
    let readonly = figures.mounts.iter().any(|m| m.readonly == Some(true));
    (worst, readonly)
}

/// One line of what a server uses now, for the plan next to a resize:
/// `CPU 91% of 2 · memory 80% of 2.0 GiB · disk 48% · load 1.20` (unknown figures left out).
pub fn usage(f: &NodeFigures) -> String {
    let mut parts = Vec::new();
    if let Some(busy) = f.cpu_busy_percent {
        let of = f.cpu_count.map_or_else(String::new, |n| format!(" of {n}"));
        parts.push(format!("CPU {busy:.0}%{of}"));
    }
    if let Some(used) = f.memory_used_percent {
        let of = f.memory_total_bytes.map_or_else(String::new, |b| {
            format!(" of {:.1} GiB", b / 1_073_741_824.0)
        });
        parts.push(format!("memory {used:.0}%{of}"));
    }
    if let (Some(disk), _) = worst_disk(f) {
        parts.push(format!("disk {disk:.0}%"));
    }
    if let Some(load) = f.load1 {
        parts.push(format!("load {load:.2}"));
    }
    parts.join(" · ")
}

/// `42.1`, or blank when unknown.
pub fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_default()
}

/// Bytes per second in binary units: `0B`, `512B`, `12.3K`, `4.5M`, `1.2G`.
pub fn rate(value: Option<f64>) -> String {
    let Some(mut v) = value else {
        return String::new();
    };
    if v < 1024.0 {
        return format!("{v:.0}B");
    }
    for unit in ["K", "M", "G", "T"] {
        v /= 1024.0;
        if v < 1024.0 || unit == "T" {
            return format!("{v:.1}{unit}");
        }
    }
    unreachable!("the loop returns at T")
}

/// `45s`, `7m 3s`, `5h 12m`, `3d 4h`.
pub fn uptime(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {}s", s % 60),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MountFigures;

    #[test]
    fn formats() {
        assert_eq!(rate(Some(0.0)), "0B");
        assert_eq!(rate(Some(1536.0)), "1.5K");
        assert_eq!(rate(Some(5.0 * 1024.0 * 1024.0)), "5.0M");
        assert_eq!(rate(None), "");
        assert_eq!(uptime(45.9), "45s");
        assert_eq!(uptime(423.0), "7m 3s");
        assert_eq!(uptime(5.0 * 3600.0 + 720.0), "5h 12m");
        assert_eq!(uptime(3.0 * 86_400.0 + 4.0 * 3600.0 + 5.0), "3d 4h");
    }

    #[test]
    fn rows_show_figures_or_the_error() {
        let mount = |point: &str, used: f64, ro: bool| MountFigures {
            mountpoint: point.into(),
            device: "/dev/vda1".into(),
            fstype: "ext4".into(),
            size_bytes: 1e9,
            used_percent: Some(used),
            readonly: Some(ro),
        };
        let ok = HostFigures {
            name: "web-1".into(),
            endpoint: "http://127.0.0.1:9100/metrics".into(),
            figures: Some(NodeFigures {
                cpu_busy_percent: Some(12.345),
                load1: Some(0.5),
                mounts: vec![mount("/", 40.0, false), mount("/data", 91.0, true)],
                uptime_seconds: Some(90.0),
                ..NodeFigures::default()
            }),
            error: None,
            scrape_ms: 1.0,
        };
        let down = HostFigures {
            name: "db-1".into(),
            endpoint: "-".into(),
            figures: None,
            error: Some("powered off".into()),
            scrape_ms: 0.0,
        };
        let text = table(&[ok, down]).render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SERVER"), "{text}");
        let web: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            web[..7],
            ["web-1", "12.3", "0.50", "-", "-", "91.0", "ro"],
            "{text}"
        );
        assert!(lines[1].contains("1m 30s"), "{text}");
        assert!(
            lines[2].starts_with("db-1") && lines[2].ends_with("powered off"),
            "{text}"
        );
    }
}
