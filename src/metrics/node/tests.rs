//! Node figures from hand-made scrapes with known answers.

use std::time::Duration;

use super::{figures, instant, MountFigures};
use crate::metrics::parse;

const PREVIOUS: &str = r#"# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="iowait"} 10
node_cpu_seconds_total{cpu="0",mode="user"} 50
node_cpu_seconds_total{cpu="0",mode="system"} 40
node_cpu_seconds_total{cpu="1",mode="idle"} 200
node_cpu_seconds_total{cpu="1",mode="iowait"} 0
node_cpu_seconds_total{cpu="1",mode="user"} 0
node_cpu_seconds_total{cpu="1",mode="system"} 0
# TYPE node_disk_read_bytes_total counter
node_disk_read_bytes_total{device="vda"} 1000
node_disk_read_bytes_total{device="dm-0"} 1000
# TYPE node_disk_written_bytes_total counter
node_disk_written_bytes_total{device="vda"} 5000
node_disk_written_bytes_total{device="nvme0n1"} 0
node_disk_written_bytes_total{device="dm-0"} 0
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 1e+06
node_network_receive_bytes_total{device="eth1"} 0
node_network_receive_bytes_total{device="lo"} 0
# TYPE node_network_transmit_bytes_total counter
node_network_transmit_bytes_total{device="eth0"} 100
node_network_transmit_bytes_total{device="lo"} 0
"#;

/// Ten seconds later. vda's written counter went down: the exporter restarted.
const CURRENT: &str = r#"# HELP node_boot_time_seconds Node boot time, in unixtime.
# TYPE node_boot_time_seconds gauge
node_boot_time_seconds 400
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 106
node_cpu_seconds_total{cpu="0",mode="iowait"} 12
node_cpu_seconds_total{cpu="0",mode="user"} 55
node_cpu_seconds_total{cpu="0",mode="system"} 47
node_cpu_seconds_total{cpu="1",mode="idle"} 210
node_cpu_seconds_total{cpu="1",mode="iowait"} 0
node_cpu_seconds_total{cpu="1",mode="user"} 5
node_cpu_seconds_total{cpu="1",mode="system"} 5
# TYPE node_disk_read_bytes_total counter
node_disk_read_bytes_total{device="vda"} 11000
node_disk_read_bytes_total{device="dm-0"} 99000
# TYPE node_disk_written_bytes_total counter
node_disk_written_bytes_total{device="vda"} 3000
node_disk_written_bytes_total{device="nvme0n1"} 2000
node_disk_written_bytes_total{device="dm-0"} 7000
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/vda1",fstype="ext4",mountpoint="/"} 40
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 10
node_filesystem_avail_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 50
# TYPE node_filesystem_readonly gauge
node_filesystem_readonly{device="/dev/vda1",fstype="ext4",mountpoint="/"} 0
node_filesystem_readonly{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 0
node_filesystem_readonly{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 1
# TYPE node_filesystem_size_bytes gauge
node_filesystem_size_bytes{device="/dev/vda1",fstype="ext4",mountpoint="/"} 100
node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 20
node_filesystem_size_bytes{device="/dev/vdb",fstype="xfs",mountpoint="/data"} 200
node_filesystem_size_bytes{device="/dev/vdc",fstype="ext4",mountpoint="/empty"} 0
# TYPE node_load1 gauge
node_load1 0.5
# TYPE node_load15 gauge
node_load15 2.5
# TYPE node_load5 gauge
node_load5 1.5
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 250
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1000
# TYPE node_memory_SwapFree_bytes gauge
node_memory_SwapFree_bytes 150
# TYPE node_memory_SwapTotal_bytes gauge
node_memory_SwapTotal_bytes 200
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 1.5e+06
node_network_receive_bytes_total{device="eth1"} 100000
node_network_receive_bytes_total{device="lo"} 1e+09
# TYPE node_network_transmit_bytes_total counter
node_network_transmit_bytes_total{device="eth0"} 200
node_network_transmit_bytes_total{device="lo"} 5e+08
# TYPE node_time_seconds gauge
node_time_seconds 1000
"#;

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|actual| (actual - expected).abs() < 1e-9)
}

#[test]
fn figures_from_two_scrapes_have_the_known_answers() {
    let previous = parse(PREVIOUS).unwrap();
    let current = parse(CURRENT).unwrap();
    let got = figures(&previous, &current, Duration::from_secs(10));
    assert_eq!(got.cpu_count, Some(2));
    // Δ over both CPUs: total 40 s, idle 16 s, iowait 2 s -> busy 22/40, iowait 2/40.
    assert!(
        close(got.cpu_busy_percent, 55.0),
        "{:?}",
        got.cpu_busy_percent
    );
    assert!(
        close(got.cpu_iowait_percent, 5.0),
        "{:?}",
        got.cpu_iowait_percent
    );
    assert_eq!(
        (got.load1, got.load5, got.load15),
        (Some(0.5), Some(1.5), Some(2.5))
    );
    assert!(close(got.memory_used_percent, 75.0));
    assert_eq!(got.memory_total_bytes, Some(1000.0));
    assert!(close(got.swap_used_percent, 25.0));
    // vda 10000 B in 10 s; dm-0 is stacked on it and not counted.
    assert!(close(got.disk_read_bytes_per_second, 1000.0));
    // vda reset 5000 -> 3000 counts 3000, nvme0n1 2000: 5000 B in 10 s.
    assert!(close(got.disk_write_bytes_per_second, 500.0));
    // eth0 500000 + eth1 100000 in 10 s; lo left out.
    assert!(close(got.network_rx_bytes_per_second, 60_000.0));
    assert!(close(got.network_tx_bytes_per_second, 10.0));
    assert!(close(got.uptime_seconds, 600.0));
    let mount = |mountpoint: &str, device: &str, fstype: &str, size, used, readonly| MountFigures {
        mountpoint: mountpoint.into(),
        device: device.into(),
        fstype: fstype.into(),
        size_bytes: size,
        used_percent: Some(used),
        readonly: Some(readonly),
    };
    assert_eq!(
        got.mounts,
        [
            mount("/", "/dev/vda1", "ext4", 100.0, 60.0, false),
            mount("/data", "/dev/vdb", "xfs", 200.0, 75.0, true)
        ]
    );
}

#[test]
fn a_reboot_between_scrapes_counts_cpu_time_since_boot() {
    let previous = parse(PREVIOUS).unwrap();
    // Every CPU counter restarted: the increases are the new values.
    let rebooted = "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 3\n\
                    node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 1\n\
                    node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"} 4\n\
                    node_cpu_seconds_total{cpu=\"1\",mode=\"system\"} 2\n";
    let current = parse(rebooted).unwrap();
    let got = figures(&previous, &current, Duration::from_secs(10));
    assert!(
        close(got.cpu_busy_percent, 30.0),
        "{:?}",
        got.cpu_busy_percent
    );
    assert!(close(got.cpu_iowait_percent, 0.0));
}

#[test]
fn missing_metrics_give_none_not_a_panic() {
    let empty = parse("").unwrap();
    let only_load = parse("node_load1 0.25\nnode_memory_SwapTotal_bytes 0\n").unwrap();
    let got = figures(&empty, &only_load, Duration::from_secs(10));
    assert_eq!(got.load1, Some(0.25));
    assert_eq!(got.swap_used_percent, None, "no swap configured");
    let none = [
        got.cpu_busy_percent,
        got.memory_used_percent,
        got.disk_read_bytes_per_second,
        got.network_rx_bytes_per_second,
        got.uptime_seconds,
        got.load5,
    ];
    assert_eq!(none, [None; 6]);
    assert_eq!((got.cpu_count, got.mounts.len()), (None, 0));
    // Rates need a previous scrape and a positive interval.
    let current = parse(CURRENT).unwrap();
    let previous = parse(PREVIOUS).unwrap();
    let got = figures(&previous, &current, Duration::ZERO);
    assert_eq!(got.disk_read_bytes_per_second, None);
    assert!(
        got.cpu_busy_percent.is_some(),
        "CPU % is a ratio and needs no interval"
    );
    assert_eq!(
        figures(&empty, &current, Duration::from_secs(1)).cpu_busy_percent,
        None
    );
    assert_eq!(instant(&current).network_tx_bytes_per_second, None);
}

#[test]
fn figures_serialize_to_json() {
    let got = figures(
        &parse(PREVIOUS).unwrap(),
        &parse(CURRENT).unwrap(),
        Duration::from_secs(10),
    );
    let json = serde_json::to_value(&got).unwrap();
    assert_eq!(json["cpu_count"], 2);
    assert_eq!(json["load15"], 2.5);
    assert_eq!(json["mounts"][1]["mountpoint"], "/data");
    assert_eq!(json["mounts"][1]["readonly"], true);
    let alone = serde_json::to_value(instant(&parse("").unwrap())).unwrap();
    assert!(alone["cpu_busy_percent"].is_null());
}

#[test]
fn the_real_scrape_gives_every_instant_figure() {
    let text = include_str!("../../../tests/data/node_exporter_sample.prom");
    let got = instant(&parse(text).unwrap());
    let cpus = text
        .lines()
        .filter(|l| l.starts_with("node_cpu_seconds_total{") && l.contains("mode=\"idle\""))
        .count();
    assert_eq!(got.cpu_count, Some(cpus));
    assert!(got
        .memory_used_percent
        .is_some_and(|p| (0.0..=100.0).contains(&p)));
    assert!(got.uptime_seconds.is_some_and(|s| s > 0.0));
    assert!(got.load1.is_some());
    assert!(!got.mounts.is_empty());
    assert!(got
        .mounts
        .iter()
        .all(|m| !super::IGNORED_FSTYPES.contains(&m.fstype.as_str())));
}
