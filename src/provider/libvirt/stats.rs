//! The hypervisor's own figures for each domain — CPU time, memory, block and network I/O —
//! for `ict metrics` on machines that run no `node_exporter`. Counters, as libvirt keeps them;
//! rates are the metrics layer's business. May depend on `provider` only.

use super::sys::Domain;
use serde::Serialize;

use super::{id_of, lv, xml, Inner};
use crate::provider::{ProviderError, ServerId};

/// One domain's counters at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct DomainStats {
    pub id: ServerId,
    pub name: String,
    pub running: bool,
    pub vcpus: u32,
    /// CPU time used by all vCPUs since the machine started, in nanoseconds.
    pub cpu_time_ns: u64,
    /// Memory given to the machine, in bytes.
    pub memory_bytes: u64,
    /// Of it, what the machine's process holds on the host (resident set), in bytes.
    pub rss_bytes: Option<u64>,
    /// Bytes read and written by all disks.
    pub disk_read_bytes: u64,
    pub disk_written_bytes: u64,
    /// Bytes received and sent by all network interfaces.
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
}

impl DomainStats {
    /// The figures in `node_exporter`'s names and text format, so that the metrics layer
    /// computes CPU, memory and I/O rates for a machine with no exporter as for any other.
    /// CPU: each vCPU's share of the CPU time as `user`, and as `idle` the rest of the wall
    /// time `now` (seconds since the epoch) — so busy% over an interval is the CPU time used
    /// over the time that passed. Memory in use is what the machine's process holds.
    pub fn exposition(&self, now: f64) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let vcpus = self.vcpus.max(1);
        let used = self.cpu_time_ns as f64 / 1e9 / f64::from(vcpus);
        for cpu in 0..vcpus {
            let _ = writeln!(
                out,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"user\"}} {used}"
            );
            let idle = (now - used).max(0.0);
            let _ = writeln!(
                out,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"idle\"}} {idle}"
            );
        }
        let total = self.memory_bytes;
        let held = self.rss_bytes.unwrap_or(0).min(total);
        let _ = writeln!(out, "node_memory_MemTotal_bytes {total}");
        let _ = writeln!(out, "node_memory_MemAvailable_bytes {}", total - held);
        let _ = writeln!(
            out,
            "node_disk_read_bytes_total{{device=\"vd\"}} {}",
            self.disk_read_bytes
        );
        let _ = writeln!(
            out,
            "node_disk_written_bytes_total{{device=\"vd\"}} {}",
            self.disk_written_bytes
        );
        let _ = writeln!(
            out,
            "node_network_receive_bytes_total{{device=\"vnet\"}} {}",
            self.net_rx_bytes
        );
        let _ = writeln!(
            out,
            "node_network_transmit_bytes_total{{device=\"vnet\"}} {}",
            self.net_tx_bytes
        );
        let _ = writeln!(out, "node_time_seconds {now}");
        out
    }
}

/// `VIR_DOMAIN_MEMORY_STAT_RSS`.
const MEMORY_STAT_RSS: i32 = 7;

pub(super) fn all(inner: &Inner) -> Result<Vec<DomainStats>, ProviderError> {
    inner.domains()?.iter().map(one).collect()
}

pub(super) fn of(inner: &Inner, id: ServerId) -> Result<DomainStats, ProviderError> {
    one(&inner.domain(id)?)
}

fn one(domain: &Domain) -> Result<DomainStats, ProviderError> {
    let name = domain.name().map_err(lv("read a domain's name"))?;
    let uuid = domain.uuid().map_err(lv("read a domain's UUID"))?;
    let info = domain
        .info()
        .map_err(lv(format!("read the statistics of {name:?}")))?;
    let running = domain.is_active().unwrap_or(false);
    let mut stats = DomainStats {
        id: ServerId(id_of(&uuid)),
        name,
        running,
        vcpus: info.nr_virt_cpu,
        cpu_time_ns: info.cpu_time,
        memory_bytes: info.memory << 10,
        rss_bytes: None,
        disk_read_bytes: 0,
        disk_written_bytes: 0,
        net_rx_bytes: 0,
        net_tx_bytes: 0,
    };
    if !running {
        return Ok(stats);
    }
    stats.rss_bytes = domain
        .memory_stats(0)
        .ok()
        .and_then(|all| all.into_iter().find(|s| s.tag == MEMORY_STAT_RSS))
        .map(|s| s.val << 10);
    // The live definition names the devices the counters are kept by.
    let live = domain
        .xml_desc(0)
        .ok()
        .and_then(|text| xml::Domain::parse(&text).ok());
    for disk in live.iter().flat_map(|d| &d.devices.disks) {
        if let Ok(block) = domain.block_stats(&disk.target.dev) {
            stats.disk_read_bytes += u64::try_from(block.rd_bytes).unwrap_or(0);
            stats.disk_written_bytes += u64::try_from(block.wr_bytes).unwrap_or(0);
        }
    }
    for device in live.iter().flat_map(|d| &d.devices.interfaces) {
        let Some(target) = device.target.as_ref() else {
            continue;
        };
        if let Ok(net) = domain.interface_stats(&target.dev) {
            stats.net_rx_bytes += u64::try_from(net.rx_bytes).unwrap_or(0);
            stats.net_tx_bytes += u64::try_from(net.tx_bytes).unwrap_or(0);
        }
    }
    Ok(stats)
}
