//! `node_exporter` figures for one server, from two scrapes taken an interval apart.
//!
//! Gauges are read from the current scrape; rates are counter increases between the previous
//! and the current scrape divided by the caller's measured interval. A figure whose metrics are
//! missing is `None`, never a panic. Formulas:
//!
//! | figure | formula |
//! |---|---|
//! | `cpu_count` | distinct `cpu` labels of `node_cpu_seconds_total` |
//! | `cpu_busy_percent` | 100 × (1 − Δ(idle + iowait) / Δ(all modes)), summed over CPUs |
//! | `cpu_iowait_percent` | 100 × Δiowait / Δ(all modes) |
//! | `load1`/`load5`/`load15` | `node_load1`, `node_load5`, `node_load15` |
//! | `memory_used_percent` | 100 × (`MemTotal` − `MemAvailable`) / `MemTotal` (`node_memory_*_bytes`) |
//! | `swap_used_percent` | 100 × (`SwapTotal` − `SwapFree`) / `SwapTotal`; `None` without swap |
//! | `mounts[].used_percent` | 100 × (1 − `node_filesystem_avail_bytes` / `node_filesystem_size_bytes`) |
//! | `mounts[].readonly` | `node_filesystem_readonly` == 1 |
//! | `disk_{read,write}_bytes_per_second` | Σ Δ`node_disk_{read,written}_bytes_total` / interval |
//! | `network_{rx,tx}_bytes_per_second` | Σ Δ`node_network_{receive,transmit}_bytes_total` / interval |
//! | `uptime_seconds` | `node_time_seconds` − `node_boot_time_seconds` |
//!
//! Choices:
//! - **iowait counts as idle** in `cpu_busy_percent`: a CPU waiting on I/O could run other
//!   work, so it is not busy; I/O pressure shows in `cpu_iowait_percent` and the disk rates.
//!   (`guest` time is already inside `user`, and `node_exporter` reports it in another metric.)
//! - **Counter resets**: a counter lower than before restarted from zero (reboot, exporter
//!   restart), so its increase is its current value, as in Prometheus' `rate()`.
//! - Series are matched between scrapes by their identifying labels; a series present in only
//!   one scrape is left out of the sums.
//! - Mounts skip pseudo and memory filesystems ([`IGNORED_FSTYPES`]) and zero-sized ones.
//!   `used_percent` counts root-reserved blocks as used, as the free space users see.
//! - Disk rates skip devices that re-count other devices' I/O ([`is_stacked_disk`]: device
//!   mapper, md RAID, loop, ram, zram). Network rates skip only `lo`, so bridges and veth pairs
//!   of containers are counted as their own interfaces.
//!
//! Depends on `metrics::scrape` and `serde` only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::scrape::{SampleRef, Scrape};

/// Filesystem types that hold no disk space worth watching.
pub const IGNORED_FSTYPES: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "ramfs",
    "squashfs",
    "overlay",
    "nsfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "securityfs",
    "debugfs",
    "tracefs",
    "configfs",
    "fusectl",
    "pstore",
    "bpf",
    "autofs",
    "hugetlbfs",
    "efivarfs",
    "binfmt_misc",
    "rpc_pipefs",
    "fuse.lxcfs",
];

/// The figures of one server. `None` means the exporter did not report what the figure needs
/// (or, for rates, there was no usable previous scrape).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeFigures {
    pub cpu_count: Option<usize>,
    pub cpu_busy_percent: Option<f64>,
    pub cpu_iowait_percent: Option<f64>,
    pub load1: Option<f64>,
    pub load5: Option<f64>,
    pub load15: Option<f64>,
    pub memory_total_bytes: Option<f64>,
    pub memory_used_percent: Option<f64>,
    pub swap_used_percent: Option<f64>,
    pub disk_read_bytes_per_second: Option<f64>,
    pub disk_write_bytes_per_second: Option<f64>,
    pub network_rx_bytes_per_second: Option<f64>,
    pub network_tx_bytes_per_second: Option<f64>,
    pub uptime_seconds: Option<f64>,
    /// Real filesystems, sorted by mount point.
    pub mounts: Vec<MountFigures>,
}

/// Space and state of one mounted filesystem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MountFigures {
    pub mountpoint: String,
    pub device: String,
    pub fstype: String,
    pub size_bytes: f64,
    /// `None` when `node_filesystem_avail_bytes` is missing for this mount.
    pub used_percent: Option<f64>,
    /// `None` when `node_filesystem_readonly` is missing for this mount.
    pub readonly: Option<bool>,
}

/// All figures: gauges from `current`, rates from the counters' increase since `previous`
/// over `elapsed` (the time between the two scrapes, as the caller measured it).
pub fn figures(previous: &Scrape<'_>, current: &Scrape<'_>, elapsed: Duration) -> NodeFigures {
    let mut figures = instant(current);
    if let Some(cpu) = cpu_times(previous, current) {
        if cpu.total > 0.0 {
            figures.cpu_busy_percent = Some(100.0 * (1.0 - (cpu.idle + cpu.iowait) / cpu.total));
            figures.cpu_iowait_percent = Some(100.0 * cpu.iowait / cpu.total);
        }
    }
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        let rate = |name: &str, keep: fn(&str) -> bool| {
            summed_increase(previous, current, name, "device", keep).map(|sum| sum / seconds)
        };
        let real_disk = |device: &str| !is_stacked_disk(device);
        let real_nic = |device: &str| device != "lo";
        figures.disk_read_bytes_per_second = rate("node_disk_read_bytes_total", real_disk);
        figures.disk_write_bytes_per_second = rate("node_disk_written_bytes_total", real_disk);
        figures.network_rx_bytes_per_second = rate("node_network_receive_bytes_total", real_nic);
        figures.network_tx_bytes_per_second = rate("node_network_transmit_bytes_total", real_nic);
    }
    figures
}

/// The figures one scrape gives on its own (every rate is `None`).
pub fn instant(current: &Scrape<'_>) -> NodeFigures {
    let gauge = |name: &str| current.value(name, &[]);
    let mut cpus: Vec<Cow<'_, str>> = current
        .samples("node_cpu_seconds_total")
        .filter_map(|s| s.label("cpu"))
        .collect();
    cpus.sort_unstable();
    cpus.dedup();
    let memory_total = gauge("node_memory_MemTotal_bytes");
    let swap_total = gauge("node_memory_SwapTotal_bytes");
    NodeFigures {
        cpu_count: (!cpus.is_empty()).then_some(cpus.len()),
        load1: gauge("node_load1"),
        load5: gauge("node_load5"),
        load15: gauge("node_load15"),
        memory_total_bytes: memory_total,
        memory_used_percent: used_percent(memory_total, gauge("node_memory_MemAvailable_bytes")),
        swap_used_percent: used_percent(swap_total, gauge("node_memory_SwapFree_bytes")),
        uptime_seconds: gauge("node_time_seconds")
            .zip(gauge("node_boot_time_seconds"))
            .map(|(now, boot)| now - boot),
        mounts: mounts(current),
        ..NodeFigures::default()
    }
}

/// Whether a block device's I/O is already counted on the devices beneath it.
pub fn is_stacked_disk(device: &str) -> bool {
    ["dm-", "md", "loop", "ram", "zram"]
        .iter()
        .any(|prefix| device.starts_with(prefix))
}

/// 100 × (total − free) / total, when total is positive.
fn used_percent(total: Option<f64>, free: Option<f64>) -> Option<f64> {
    let (total, free) = (total?, free?);
    (total > 0.0).then(|| 100.0 * (total - free) / total)
}

fn mounts(current: &Scrape<'_>) -> Vec<MountFigures> {
    let mut mounts: Vec<MountFigures> = current
        .samples("node_filesystem_size_bytes")
        .filter_map(|size| {
            let mountpoint = size.label("mountpoint")?;
            let device = size.label("device").unwrap_or_default();
            let fstype = size.label("fstype").unwrap_or_default();
            if IGNORED_FSTYPES.contains(&fstype.as_ref()) || size.value() <= 0.0 {
                return None;
            }
            let same = [
                ("mountpoint", mountpoint.as_ref()),
                ("device", device.as_ref()),
                ("fstype", fstype.as_ref()),
            ];
            let avail = current.value("node_filesystem_avail_bytes", &same);
            let readonly = current.value("node_filesystem_readonly", &same);
            Some(MountFigures {
                mountpoint: mountpoint.into_owned(),
                device: device.into_owned(),
                fstype: fstype.into_owned(),
                size_bytes: size.value(),
                used_percent: avail.map(|avail| 100.0 * (1.0 - avail / size.value())),
                readonly: readonly.map(|flag| flag >= 0.5),
            })
        })
        .collect();
    mounts.sort_by(|a, b| {
        a.mountpoint
            .cmp(&b.mountpoint)
            .then(a.device.cmp(&b.device))
    });
    mounts
}

/// The increase of a counter between two readings; a lower reading means a restart from zero.
fn increase(before: f64, after: f64) -> f64 {
    if after >= before {
        after - before
    } else {
        after
    }
}

/// CPU seconds spent between two scrapes, summed over CPUs.
struct CpuTimes {
    total: f64,
    idle: f64,
    iowait: f64,
}

/// The identity of a CPU time series: its cpu and mode.
fn cpu_key<'a>(sample: SampleRef<'_, 'a>) -> (Cow<'a, str>, Option<Cow<'a, str>>) {
    (
        sample.label("cpu").unwrap_or_default(),
        sample.label("mode"),
    )
}

fn cpu_times(previous: &Scrape<'_>, current: &Scrape<'_>) -> Option<CpuTimes> {
    const NAME: &str = "node_cpu_seconds_total";
    let before: HashMap<_, f64> = previous
        .samples(NAME)
        .map(|s| (cpu_key(s), s.value()))
        .collect();
    let mut times = CpuTimes {
        total: 0.0,
        idle: 0.0,
        iowait: 0.0,
    };
    let mut matched = false;
    for sample in current.samples(NAME) {
        let Some(&was) = before.get(&cpu_key(sample)) else {
            continue;
        };
        let spent = increase(was, sample.value());
        matched = true;
        times.total += spent;
        match sample.label("mode").as_deref() {
            Some("idle") => times.idle += spent,
            Some("iowait") => times.iowait += spent,
            _ => {}
        }
    }
    matched.then_some(times)
}

/// Σ increase of the counter `name` over series whose `label` passes `keep`, matched between
/// the scrapes by that label; `None` if no series is in both.
fn summed_increase(
    previous: &Scrape<'_>,
    current: &Scrape<'_>,
    name: &str,
    label: &str,
    keep: impl Fn(&str) -> bool,
) -> Option<f64> {
    let before: HashMap<Cow<'_, str>, f64> = previous
        .samples(name)
        .filter_map(|s| Some((s.label(label)?, s.value())))
        .collect();
    let mut sum = None;
    for sample in current.samples(name) {
        let Some(key) = sample.label(label).filter(|key| keep(key)) else {
            continue;
        };
        if let Some(&was) = before.get(&key) {
            *sum.get_or_insert(0.0) += increase(was, sample.value());
        }
    }
    sum
}

#[cfg(test)]
mod tests;
