//! The servers a metrics command scrapes: the ones `--limit` selects, where each one's
//! `node_exporter` is, and the host keys pinned on the way. Where an exporter is: over SSH (a
//! tunnel to `127.0.0.1:<port>` on the server) by default, over HTTP to `<ip>:<port>` when the
//! server declares `metrics: #{ via: "http" }`, and on the built-in emulator (which serves
//! `/metrics` itself) over HTTP to `<ip>:9100` unless the server declares `metrics`. A server
//! that is not created or powered off is a target saying so.

use std::sync::Arc;

use super::doctor::Skipped;
use super::hosts::{self, Host};
use super::{Error, Project, Session};
use crate::config::Scrape;
use crate::emulator::{SshUnavailable, NODE_EXPORTER_PORT};
use crate::metrics::{Endpoint, ScrapeOptions, ScrapeTarget, Scraper};
use crate::model::{pattern, Desired, MetricsVia};
use crate::provider::{Kinds, Observed, Provider as _};
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
    emulator: bool,
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
        let emulator = conn.is_emulator();
        let mut targets = targets(&hosts, &selected, desired, emulator);
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
        let scraper = Scraper::new(auth, verifier, ScrapeOptions { timeout })?;
        Ok(Fleet {
            targets,
            scraper,
            pins,
            hosts,
            skipped,
            selected,
            emulator,
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
        self.targets = targets(&self.hosts, &self.selected, desired, self.emulator);
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
    emulator: bool,
) -> Vec<ScrapeTarget> {
    hosts
        .iter()
        .filter(|h| selected.contains(&h.name))
        .map(|h| ScrapeTarget {
            name: h.name.clone(),
            endpoint: endpoint(h, desired, emulator),
        })
        .collect()
}

/// Where one server's exporter is (see the module docs).
fn endpoint(host: &Host, desired: &Desired, emulator: bool) -> Endpoint {
    let Some(ip) = &host.ip else {
        return Endpoint::Unavailable {
            reason: host.absence().unwrap_or("has no public IP yet").to_owned(),
        };
    };
    if !host.power_on {
        return Endpoint::Unavailable {
            reason: "powered off".to_owned(),
        };
    }
    let declared = desired.servers.get(&host.name);
    // The emulator serves every server's exporter itself, unless the script says otherwise.
    if emulator && !declared.is_some_and(|s| s.fields.contains_key("metrics")) {
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
