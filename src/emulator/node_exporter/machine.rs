//! The synthetic machine behind an emulated server's `/metrics`: counters and gauges that are
//! pure functions of the time since boot, shaped by a per-server load pattern and sized by the
//! server's declared CPU, RAM and disk.
//!
//! The CPU busy share follows `b(t) = base + amp · sin(ω t + φ)`, whose integral `B(t)` has a
//! closed form, so every counter (CPU seconds, disk and network bytes) is exact, monotonic and
//! consistent between scrapes and across emulator restarts, and load averages are means of
//! `b` over their windows. Nothing is stored; nothing is random at run time (the pattern comes
//! from the server's ID). Depends on `events` only.

use std::f64::consts::TAU;
use std::fmt::Write as _;

use super::super::events::ServerInfo;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// CPU modes and their shares of busy time (`idle` takes the rest). `iowait` is part of the
/// busy pattern here, as on a real server under I/O.
const BUSY_MODES: [(&str, f64); 7] = [
    ("user", 0.68),
    ("system", 0.19),
    ("iowait", 0.05),
    ("softirq", 0.03),
    ("nice", 0.02),
    ("irq", 0.02),
    ("steal", 0.01),
];

/// One emulated server's hardware and load pattern.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    cpus: u32,
    ram_bytes: f64,
    disk_bytes: f64,
    /// Unix seconds of the last boot.
    boot: f64,
    hostname: String,
    /// Mean busy share (0..1) and its swing.
    base: f64,
    amp: f64,
    /// Angular frequency (rad/s) and phase of the load wave.
    omega: f64,
    phase: f64,
    /// Resting memory use (share of RAM) and disk use (share of the root filesystem).
    memory: f64,
    disk_used: f64,
    /// Bytes per second of disk reads and writes, and of network receive, at full load.
    disk_rate: f64,
    net_rate: f64,
}

/// A deterministic stream of numbers in [0, 1) from a seed (`SplitMix64`).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next()
    }
}

/// How often an emulated server that was already running "reboots" in its own schedule (see
/// [`Machine::restored`]).
const REBOOT_CYCLE: f64 = 7.0 * 24.0 * 3600.0;

impl Machine {
    /// A machine for `server` that booted at `boot` (Unix seconds).
    pub(crate) fn new(server: &ServerInfo, boot: f64) -> Machine {
        let mut dice = Dice(server.id ^ 0x1C7_0000_0000);
        let base = dice.between(0.05, 0.55);
        // The swing keeps busy within [0.1·base, 0.75]: never negative, never a full CPU.
        let amp = dice.between(0.02, 0.2_f64.min(0.75 - base).min(0.9 * base));
        Machine {
            cpus: server.cpu.max(1),
            ram_bytes: f64::from(server.ram_mb.max(1)) * MIB,
            disk_bytes: f64::from(server.disk_gb.max(1)) * GIB,
            boot,
            hostname: server.name.clone(),
            base,
            amp,
            omega: TAU / dice.between(60.0, 600.0),
            phase: dice.between(0.0, TAU),
            memory: dice.between(0.2, 0.55),
            disk_used: dice.between(0.15, 0.6),
            disk_rate: dice.between(0.5, 20.0) * MIB,
            net_rate: dice.between(0.1, 10.0) * MIB,
        }
    }

    /// A machine for a server that was already running when the emulator started: its boot
    /// time follows a fixed weekly schedule with a per-server offset, never before the server
    /// was created, so uptime and counters keep growing across the short-lived emulators of
    /// successive `ict` commands.
    pub(crate) fn restored(server: &ServerInfo, now: f64) -> Machine {
        let offset = Dice(server.id).next() * REBOOT_CYCLE;
        let boot = ((now - offset) / REBOOT_CYCLE).floor() * REBOOT_CYCLE + offset;
        Machine::new(server, boot.max(server.created as f64).min(now))
    }

    /// Busy share of one CPU at `t` seconds after boot.
    fn busy(&self, t: f64) -> f64 {
        self.base + self.amp * (self.omega * t + self.phase).sin()
    }

    /// ∫₀ᵗ busy: busy CPU-seconds of one CPU since boot.
    fn busy_seconds(&self, t: f64) -> f64 {
        self.base * t
            - self.amp / self.omega * ((self.omega * t + self.phase).cos() - self.phase.cos())
    }

    /// Mean busy share over the last `window` seconds (shorter right after boot).
    fn mean_busy(&self, t: f64, window: f64) -> f64 {
        let window = window.min(t);
        if window <= 0.0 {
            return self.busy(t);
        }
        (self.busy_seconds(t) - self.busy_seconds(t - window)) / window
    }

    /// CPU `index`'s share of the load: CPUs are not loaded evenly.
    fn cpu_factor(index: u32) -> f64 {
        0.85 + 0.3 * (f64::from(index) * 0.618_034).fract()
    }

    /// The exposition at Unix time `now`, in the Prometheus text format `node_exporter` uses.
    pub(crate) fn exposition(&self, now: f64) -> String {
        let t = (now - self.boot).max(0.0);
        let busy = self.busy_seconds(t);
        let mut out = String::with_capacity(4096 + 700 * self.cpus as usize);
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };

        family(
            &mut out,
            "node_boot_time_seconds",
            "gauge",
            "Node boot time, in unixtime.",
        );
        let _ = writeln!(out, "node_boot_time_seconds {:.0}", self.boot);

        family(
            &mut out,
            "node_cpu_seconds_total",
            "counter",
            "Seconds the CPUs spent in each mode.",
        );
        for cpu in 0..self.cpus {
            let spent = busy * Machine::cpu_factor(cpu);
            let idle = t - spent;
            let _ = writeln!(
                out,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"idle\"}} {idle:.2}"
            );
            for (mode, share) in BUSY_MODES {
                let _ = writeln!(
                    out,
                    "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {:.2}",
                    spent * share
                );
            }
        }

        let reads = self.disk_rate * (0.2 * t + busy);
        let writes = self.disk_rate * 0.6 * (0.3 * t + busy);
        family(
            &mut out,
            "node_disk_read_bytes_total",
            "counter",
            "The total number of bytes read successfully.",
        );
        let _ = writeln!(
            out,
            "node_disk_read_bytes_total{{device=\"vda\"}} {reads:.0}"
        );
        family(
            &mut out,
            "node_disk_written_bytes_total",
            "counter",
            "The total number of bytes written successfully.",
        );
        let _ = writeln!(
            out,
            "node_disk_written_bytes_total{{device=\"vda\"}} {writes:.0}"
        );

        let root_size = (self.disk_bytes * 0.98).floor();
        let used = (self.disk_used + t * 2e-8).min(0.97);
        let avail = (root_size * (1.0 - used)).floor();
        let free = (avail + root_size * 0.05).min(root_size);
        let root = "device=\"/dev/vda1\",fstype=\"ext4\",mountpoint=\"/\"";
        let run = "device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run\"";
        let run_size = (self.ram_bytes * 0.1).floor();
        family(
            &mut out,
            "node_filesystem_avail_bytes",
            "gauge",
            "Filesystem space available to non-root users in bytes.",
        );
        let _ = writeln!(out, "node_filesystem_avail_bytes{{{root}}} {avail:.0}");
        let _ = writeln!(
            out,
            "node_filesystem_avail_bytes{{{run}}} {:.0}",
            run_size * 0.99
        );
        family(
            &mut out,
            "node_filesystem_free_bytes",
            "gauge",
            "Filesystem free space in bytes.",
        );
        let _ = writeln!(out, "node_filesystem_free_bytes{{{root}}} {free:.0}");
        let _ = writeln!(
            out,
            "node_filesystem_free_bytes{{{run}}} {:.0}",
            run_size * 0.99
        );
        family(
            &mut out,
            "node_filesystem_readonly",
            "gauge",
            "Filesystem read-only status.",
        );
        let _ = writeln!(out, "node_filesystem_readonly{{{root}}} 0");
        let _ = writeln!(out, "node_filesystem_readonly{{{run}}} 0");
        family(
            &mut out,
            "node_filesystem_size_bytes",
            "gauge",
            "Filesystem size in bytes.",
        );
        let _ = writeln!(out, "node_filesystem_size_bytes{{{root}}} {root_size:.0}");
        let _ = writeln!(out, "node_filesystem_size_bytes{{{run}}} {run_size:.0}");

        let cpus = f64::from(self.cpus);
        for (name, window) in [
            ("node_load1", 60.0),
            ("node_load5", 300.0),
            ("node_load15", 900.0),
        ] {
            family(&mut out, name, "gauge", "Load average.");
            let _ = writeln!(out, "{name} {:.2}", cpus * 1.1 * self.mean_busy(t, window));
        }

        // Memory follows the load a little, plus a slow drift.
        let in_use =
            (self.memory + 0.1 * self.busy(t) + 0.05 * (t / 3600.0).sin()).clamp(0.05, 0.95);
        let total = (self.ram_bytes * 0.96 / 4096.0).floor() * 4096.0;
        let available = (total * (1.0 - in_use)).floor();
        let swap_total = self.ram_bytes.min(2.0 * GIB);
        let swap_free = (swap_total * (0.97 - 0.02 * (t / 1800.0).sin())).floor();
        for (name, help, value) in [
            (
                "node_memory_MemTotal_bytes",
                "Memory information field MemTotal_bytes.",
                total,
            ),
            (
                "node_memory_MemAvailable_bytes",
                "Memory information field MemAvailable_bytes.",
                available,
            ),
            (
                "node_memory_MemFree_bytes",
                "Memory information field MemFree_bytes.",
                (available * 0.4).floor(),
            ),
            (
                "node_memory_Cached_bytes",
                "Memory information field Cached_bytes.",
                (available * 0.5).floor(),
            ),
            (
                "node_memory_Buffers_bytes",
                "Memory information field Buffers_bytes.",
                (available * 0.1).floor(),
            ),
            (
                "node_memory_SwapTotal_bytes",
                "Memory information field SwapTotal_bytes.",
                swap_total,
            ),
            (
                "node_memory_SwapFree_bytes",
                "Memory information field SwapFree_bytes.",
                swap_free,
            ),
        ] {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value:.0}");
        }

        let received = self.net_rate * (0.5 * t + busy);
        let sent = 0.6 * received;
        let local = 2048.0 * t;
        family(
            &mut out,
            "node_network_receive_bytes_total",
            "counter",
            "Network device statistic receive_bytes.",
        );
        let _ = writeln!(
            out,
            "node_network_receive_bytes_total{{device=\"eth0\"}} {received:.0}"
        );
        let _ = writeln!(
            out,
            "node_network_receive_bytes_total{{device=\"lo\"}} {local:.0}"
        );
        family(
            &mut out,
            "node_network_transmit_bytes_total",
            "counter",
            "Network device statistic transmit_bytes.",
        );
        let _ = writeln!(
            out,
            "node_network_transmit_bytes_total{{device=\"eth0\"}} {sent:.0}"
        );
        let _ = writeln!(
            out,
            "node_network_transmit_bytes_total{{device=\"lo\"}} {local:.0}"
        );

        family(
            &mut out,
            "node_time_seconds",
            "gauge",
            "System time in seconds since epoch (1970).",
        );
        let _ = writeln!(out, "node_time_seconds {now:.3}");
        family(
            &mut out,
            "node_uname_info",
            "gauge",
            "Labeled system information as provided by the uname system call.",
        );
        let _ = writeln!(
            out,
            "node_uname_info{{machine=\"x86_64\",nodename=\"{}\",release=\"5.15.0-ict\",sysname=\"Linux\"}} 1",
            self.hostname.replace(['\\', '"', '\n'], "_")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn info(id: u64, cpu: u32, ram_mb: u32, disk_gb: u32) -> ServerInfo {
        ServerInfo {
            id,
            name: format!("s-{id}"),
            ip: Ipv4Addr::LOCALHOST,
            user: "root".into(),
            password: String::new(),
            public_keys: vec![],
            cpu,
            ram_mb,
            disk_gb,
            created: 0,
            template: None,
        }
    }

    #[test]
    fn counters_only_grow_and_busy_stays_within_bounds() {
        for id in 0..50 {
            let m = Machine::new(&info(id, 2, 2048, 20), 0.0);
            let mut last = 0.0;
            for step in 0..2000 {
                let t = f64::from(step) * 7.3;
                let b = m.busy(t);
                assert!((0.0..=0.76).contains(&b), "id {id} t {t}: busy {b}");
                let s = m.busy_seconds(t);
                assert!(s >= last - 1e-9, "id {id}: busy seconds fell at {t}");
                assert!(s <= t + 1e-9);
                last = s;
            }
        }
    }

    #[test]
    fn restored_boot_is_stable_and_in_the_past() {
        let server = info(42, 1, 1024, 20);
        let now = 1_700_000_000.0;
        let a = Machine::restored(&server, now);
        let b = Machine::restored(&server, now + 60.0);
        assert!(
            (a.boot - b.boot).abs() < 1e-6,
            "one boot time across restarts"
        );
        assert!(a.boot <= now && now - a.boot < REBOOT_CYCLE);
        let new = ServerInfo {
            created: 1_699_999_900,
            ..server
        };
        let c = Machine::restored(&new, now);
        assert!(
            (c.boot - 1_699_999_900.0).abs() < 1e-6,
            "never booted before it was created"
        );
    }

    #[test]
    fn exposition_parses_and_matches_the_declared_size() {
        let server = info(7, 4, 8192, 80);
        let m = Machine::new(&server, 1_000.0);
        let first = m.exposition(1_600.0);
        let second = m.exposition(1_610.0);
        let (a, b) = (
            crate::metrics::parse(&first).expect("valid text"),
            crate::metrics::parse(&second).expect("valid text"),
        );
        let f = crate::metrics::figures(&a, &b, std::time::Duration::from_secs(10));
        assert_eq!(f.cpu_count, Some(4));
        let total = f.memory_total_bytes.expect("MemTotal");
        assert!(
            total > 0.9 * 8192.0 * MIB && total <= 8192.0 * MIB,
            "{total}"
        );
        let root = f.mounts.iter().find(|m| m.mountpoint == "/").expect("/");
        assert!(root.size_bytes > 0.95 * 80.0 * GIB && root.size_bytes <= 80.0 * GIB);
        assert_eq!(root.readonly, Some(false));
        assert_eq!(
            f.mounts.len(),
            1,
            "tmpfs is not a real mount: {:?}",
            f.mounts
        );
        let cpu = f.cpu_busy_percent.expect("cpu busy");
        assert!((1.0..=80.0).contains(&cpu), "{cpu}");
        assert!(f.network_rx_bytes_per_second.expect("rx") > 0.0);
        assert!(f.disk_write_bytes_per_second.expect("write") > 0.0);
        assert!(f.uptime_seconds.is_some_and(|u| (u - 610.0).abs() < 1e-6));
        let load1 = f.load1.expect("load1");
        assert!(load1 > 0.0 && load1 < 4.0, "{load1}");
    }
}
