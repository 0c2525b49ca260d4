//! A [`Source`] that reads each round's figures from a JSON file, re-read every round: for
//! trying alert rules by hand and for driving `ict watch` in tests (`ICT_WATCH_SOURCE=FILE`).
//!
//! ```json
//! { "web-1": { "address": "10.0.0.5", "cpu": 95, "memory": 40, "disk": 97 },
//!   "web-2": { "error": "connection refused" } }
//! ```
//!
//! Keys are the figure names of alert conditions (`disk` and `disk_readonly` describe one
//! mount, `/`). A host that is not in the file is not sampled; an unreadable file samples
//! nothing (and an invalid one logs a warning).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{Sample, Source};
use crate::metrics::{MountFigures, NodeFigures};

/// Figures from a JSON file.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub path: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Host {
    address: Option<String>,
    error: Option<String>,
    cpu: Option<f64>,
    load1: Option<f64>,
    load5: Option<f64>,
    load15: Option<f64>,
    memory: Option<f64>,
    swap: Option<f64>,
    disk: Option<f64>,
    disk_readonly: Option<bool>,
    net_rx: Option<f64>,
    net_tx: Option<f64>,
    disk_read: Option<f64>,
    disk_write: Option<f64>,
    uptime: Option<f64>,
}

impl Source for FileSource {
    async fn sample(&self) -> Vec<Sample> {
        let Ok(text) = tokio::fs::read_to_string(&self.path).await else {
            return Vec::new();
        };
        let hosts = match serde_json::from_str::<BTreeMap<String, Host>>(&text) {
            Ok(hosts) => hosts,
            Err(error) => {
                tracing::warn!(
                    "{}: {error}; sampling nothing this round",
                    self.path.display()
                );
                return Vec::new();
            }
        };
        hosts
            .into_iter()
            .map(|(host, h)| Sample {
                host,
                address: h.address.clone(),
                figures: match h.error {
                    Some(error) => Err(error),
                    None => Ok(figures(&h)),
                },
            })
            .collect()
    }
}

fn figures(h: &Host) -> NodeFigures {
    let mounts = if h.disk.is_some() || h.disk_readonly.is_some() {
        vec![MountFigures {
            mountpoint: "/".into(),
            device: "/dev/vda1".into(),
            fstype: "ext4".into(),
            size_bytes: 0.0,
            used_percent: h.disk,
            readonly: h.disk_readonly,
        }]
    } else {
        Vec::new()
    };
    NodeFigures {
        cpu_busy_percent: h.cpu,
        load1: h.load1,
        load5: h.load5,
        load15: h.load15,
        memory_used_percent: h.memory,
        swap_used_percent: h.swap,
        network_rx_bytes_per_second: h.net_rx,
        network_tx_bytes_per_second: h.net_tx,
        disk_read_bytes_per_second: h.disk_read,
        disk_write_bytes_per_second: h.disk_write,
        uptime_seconds: h.uptime,
        mounts,
        ..NodeFigures::default()
    }
}
