//! The servers a metrics command scrapes: the ones `--limit` selects, where each one's
//! `node_exporter` is, and the host keys pinned on the way. Where an exporter is: over SSH (a
//! tunnel to `127.0.0.1:<port>` on the server) by default, over HTTP to `<ip>:<port>` when the
//! server declares `metrics: #{ via: "http" }`, and on the built-in emulator (which serves
//! `/metrics` itself) over HTTP to `<ip>:9100` unless the server declares `metrics`; on libvirt,
//! from the hypervisor's own statistics unless the server declares `metrics`. A server that is
//! not created or powered off is a target saying so.

use std::sync::Arc;

use super::doctor::Skipped;
use super::hosts::{self, Host};
use super::{Error, Project, Session};
use crate::config::Scrape;
use crate::emulator::{SshUnavailable, NODE_EXPORTER_PORT};
use crate::metrics::{Endpoint, Hypervisor, ScrapeOptions, ScrapeTarget, Scraper};
use crate::model::{pattern, Desired, MetricsVia};
use crate::provider::libvirt::Libvirt;
use crate::provider::{Kinds, Observed, Provider as _, ServerId};
use crate::ssh::{HostKeyVerifier, PinnedKeys};
use crate::state::{State, Store};

/// The selected servers, how to scrape each, and the pins to save afterwards.
pub struct Fleet {
    pub targets: Vec<ScrapeTarget>,
    pub scraper: Scraper,
    pins: Arc<PinnedKeys>,
    pub hosts: Vec<Host>,
    /// The servers scraped over SSH, skipped because the emulator's servers have no SSH here.
    pub skipped: Option<Skipped>,
    /// The names `--limit` selected, and whether the provider is the built-in emulator: what
    /// [`Fleet::look_again`] needs to work the targets out again.
    selected: Vec<String>,
    source: Source,
}

/// Where servers that declare no `metrics` are scraped from.
#[derive(Clone)]
enum Source {
    /// Their `node_exporter`, over SSH.
    Exporter,
    /// The built-in emulator, which serves every server's `/metrics` over HTTP.
    Emulator,
    /// Their hypervisor (named so in reports).
    Hypervisor(String),
}

impl Fleet {
    /// The servers `args` selects, looked up in the state and the cloud now.
    pub async fn prepare(session: Session<'_>, args: &Scrape) -> Result<Fleet, Error> {
        let state = session.project.state()?;
        let observed = session.conn.client.observe(Kinds::SERVERS).await?;
        Fleet::new(session, args, (&state, &observed))
    }

    /// The fleet from a state and an observation of the cloud the caller already has.
    pub fn new(
        session: Session<'_>,
        args: &Scrape,
        (state, observed): (&State, &Observed),
    ) -> Result<Fleet, Error> {
        let (desired, conn) = (&session.evaluated.desired, session.conn);
        let script = &session.project.script;
        let selected = pattern::select(&args.limit, desired);
        if selected.is_empty() {
            return Err(Error::LimitMatchesNothing {
                limit: args.limit.clone(),
                what: "server",
                file: script.clone(),
            });
        }
        let timeout = args.timeout;
        let selected: Vec<String> = selected.into_iter().map(str::to_owned).collect();
        let hosts = hosts::fleet(desired, state, observed);
        let source = if conn.is_emulator() {
            Source::Emulator
        } else if let Some(libvirt) = conn.client.libvirt() {
            Source::Hypervisor(format!("libvirt {}", libvirt.settings().uri))
        } else {
            Source::Exporter
        };
        let mut targets = targets(&hosts, &selected, desired, &source);
        let skipped = conn
            .ssh_unavailable()
            .and_then(|why| skip_ssh(&mut targets, why));
        let needs_ssh = targets
            .iter()
            .any(|t| matches!(t.endpoint, Endpoint::Ssh { .. }));
        let auth = if needs_ssh {
            hosts::auth(args.ssh.identity.as_deref(), desired, script).map_err(|e| e.to_string())
        } else {
            Err("no SSH needed".to_owned())
        };
        let pins = hosts::pins(state, &hosts);
        let verifier: Arc<dyn HostKeyVerifier> = pins.clone();
        let mut scraper = Scraper::new(auth, verifier, ScrapeOptions { timeout })?;
        if let Some(libvirt) = conn.client.libvirt() {
            scraper = scraper.with_hypervisor(Arc::new(Figures(libvirt.clone())));
        }
        Ok(Fleet {
            targets,
            scraper,
            pins,
            hosts,
            skipped,
            selected,
            source,
        })
    }

    /// Whether a selected server had nothing to scrape (not created, powered off, no address)
    /// when the fleet was last looked up.
    pub fn has_unavailable(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.endpoint, Endpoint::Unavailable { .. }))
    }

    /// Looks the servers up again in the state and the cloud (a server off or missing when a
    /// long-running command started may be running now), keeping the scraper's sessions.
    pub async fn look_again(&mut self, session: Session<'_>) -> Result<(), Error> {
        let (desired, conn) = (&session.evaluated.desired, session.conn);
        let state = session.project.state()?;
        let observed = conn.client.observe(Kinds::SERVERS).await?;
        self.hosts = hosts::fleet(desired, &state, &observed);
        self.targets = targets(&self.hosts, &self.selected, desired, &self.source);
        if let Some(why) = conn.ssh_unavailable() {
            skip_ssh(&mut self.targets, why);
        }
        Ok(())
    }

    /// Records host keys pinned on first contact (unless another command holds the lock); the
    /// notes to show.
    pub fn save_pins(&self, project: &Project) -> Vec<String> {
        project.save_pins_if_unlocked(&self.pins, &self.hosts, "metrics")
    }

    /// Saves the pins into a state the caller holds locked.
    pub fn save_pins_into(&self, store: &mut Store) -> Result<(), Error> {
        hosts::save_pins(store, &self.pins, &self.hosts)
    }
}

/// Turns the targets to be scraped over SSH into rows saying why they cannot be, when the
/// emulator's servers have no SSH; what was skipped, if anything.
fn skip_ssh(targets: &mut [ScrapeTarget], why: &SshUnavailable) -> Option<Skipped> {
    let mut count = 0;
    for target in targets {
        if matches!(target.endpoint, Endpoint::Ssh { .. }) {
            count += 1;
            target.endpoint = Endpoint::Unavailable {
                reason: format!("skipped: no SSH to the emulator's servers ({})", why.reason),
            };
        }
    }
    let servers = if count == 1 { "server" } else { "servers" };
    (count > 0).then(|| Skipped::no_ssh(format!("scraping {count} {servers} over SSH"), why))
}

/// The selected hosts and where each one's exporter is.
fn targets(
    hosts: &[Host],
    selected: &[String],
    desired: &Desired,
    source: &Source,
) -> Vec<ScrapeTarget> {
    hosts
        .iter()
        .filter(|h| selected.contains(&h.name))
        .map(|h| ScrapeTarget {
            name: h.name.clone(),
            endpoint: endpoint(h, desired, source),
        })
        .collect()
}

/// Where one server's exporter is (see the module docs).
fn endpoint(host: &Host, desired: &Desired, source: &Source) -> Endpoint {
    let declared = desired.servers.get(&host.name);
    let declares = declared.is_some_and(|s| s.fields.contains_key("metrics"));
    if let (Source::Hypervisor(source), false) = (source, declares) {
        return match host.id {
            None => Endpoint::Unavailable {
                reason: host.absence().unwrap_or("not created yet").to_owned(),
            },
            Some(_) if !host.power_on => Endpoint::Unavailable {
                reason: "powered off".to_owned(),
            },
            Some(server) => Endpoint::Hypervisor {
                server,
                source: source.clone(),
            },
        };
    }
    let Some(ip) = &host.ip else {
        return Endpoint::Unavailable {
            reason: host.no_address().to_owned(),
        };
    };
    if !host.power_on {
        return Endpoint::Unavailable {
            reason: "powered off".to_owned(),
        };
    }
    // The emulator serves every server's exporter itself, unless the script says otherwise.
    if matches!(source, Source::Emulator) && !declares {
        return Endpoint::http(ip, NODE_EXPORTER_PORT);
    }
    let source = declared.map(|s| s.metrics).unwrap_or_default();
    match (source.via, host.target()) {
        (MetricsVia::Http, _) => Endpoint::http(ip, source.port),
        (MetricsVia::Ssh, Some(target)) => Endpoint::Ssh {
            target,
            port: source.port,
        },
        (MetricsVia::Ssh, None) => Endpoint::Unavailable {
            reason: "has no address to log in to".to_owned(),
        },
    }
}

/// The libvirt daemon's statistics of its machines, as expositions.
struct Figures(Libvirt);

impl Hypervisor for Figures {
    fn exposition(
        &self,
        server: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>
    {
        Box::pin(async move {
            let stats = self
                .0
                .domain_stats_of(ServerId(server))
                .await
                .map_err(|e| e.to_string())?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            Ok(stats.exposition(now))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{figures, parse};
    use crate::provider::libvirt::DomainStats;
    use crate::provider::ServerId;

    #[test]
    fn a_machines_hypervisor_figures_give_busy_cpu_as_cpu_time_over_wall_time() {
        let at = |cpu_seconds: u64, now: f64| {
            DomainStats {
                id: ServerId(1),
                name: "vm-1".to_owned(),
                running: true,
                vcpus: 2,
                cpu_time_ns: cpu_seconds * 1_000_000_000,
                memory_bytes: 1 << 30,
                rss_bytes: Some(1 << 28),
                disk_read_bytes: 0,
                disk_written_bytes: 4096,
                net_rx_bytes: 0,
                net_tx_bytes: 0,
            }
            .exposition(now)
        };
        let (before, after) = (at(100, 1000.0), at(110, 1010.0));
        let (before, after) = (parse(&before).unwrap(), parse(&after).unwrap());
        let figures = figures(&before, &after, std::time::Duration::from_secs(10));
        // 10 s of CPU time on 2 vCPUs over 10 s: half busy.
        assert_eq!(figures.cpu_busy_percent, Some(50.0));
        assert_eq!(figures.cpu_count, Some(2));
        assert_eq!(figures.memory_used_percent, Some(25.0));
        assert_eq!(figures.disk_write_bytes_per_second, Some(0.0));
    }
}
