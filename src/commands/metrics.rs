//! `ict metrics` and `ict top`: scrape `node_exporter` on the selected servers and show the
//! figures once (a table or JSON) or live.
//!
//! Where each server's exporter is: over SSH (a tunnel to `127.0.0.1:<port>` on the server) by
//! default, over HTTP to `<ip>:<port>` when the server declares `metrics: #{ via: "http" }`, and
//! on the built-in emulator (which serves `/metrics` itself) over HTTP to `<ip>:9100` unless the
//! server declares `metrics`.
//! A server that is not created or powered off is a row saying so. [`Look`] is the same, once,
//! inside other commands: the last step of `ict run`, and the usage shown next to a resize.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::deploy::save_pins_if_unlocked;
use super::doctor::Skipped;
use super::hosts::{self, Host};
use super::{evaluate, infra, Error};
use crate::config::{Config, MetricsOptions, Scrape, SshOptions, TopOptions};
use crate::connect::{self, Connection};
use crate::emulator::{SshUnavailable, NODE_EXPORTER_PORT};
use crate::exit::ExitCode;
use crate::metrics::{
    figures_between, Endpoint, HostFigures, ScrapeOptions, ScrapeTarget, Scraper,
};
use crate::model::{pattern, Desired, MetricsVia};
use crate::provider::Observed;
use crate::provider::Provider as _;
use crate::reconcile::{Action, Plan};
use crate::ssh::{HostKeyVerifier, PinnedKeys};
use crate::state::{State, StateDir, Store};
use crate::ui::Ui;

pub(super) fn metrics(config: &Config, ui: &Ui, args: &MetricsOptions) -> Result<ExitCode, Error> {
    let interval = args.interval;
    let script = &args.file;
    let pending = connect::start(config.provider, script);
    let evaluated = evaluate(config, ui, script)?;
    let runtime = infra::runtime()?;
    runtime.block_on(async {
        let (conn, fleet) =
            Fleet::connect(pending, config, script, &evaluated.desired, &args.scrape).await?;
        let rows = fleet.scraper.sample(&fleet.targets, interval).await;
        let skipped = fleet.skipped.clone();
        fleet.close(conn, config, ui, script).await;
        if args.json {
            ui.json(&rows).map_err(Error::Json)?;
        } else {
            ui.metrics_table(&rows);
        }
        Ok(match skipped {
            Some(skipped) => {
                ui.skipped(&[skipped], args.json);
                ExitCode::Skipped
            }
            None => ExitCode::Success,
        })
    })
}

pub(super) fn top(config: &Config, ui: &Ui, args: &TopOptions) -> Result<ExitCode, Error> {
    let interval = args.interval;
    let script = &args.file;
    let pending = connect::start(config.provider, script);
    let evaluated = evaluate(config, ui, script)?;
    let runtime = infra::runtime()?;
    runtime.block_on(async {
        let (conn, fleet) =
            Fleet::connect(pending, config, script, &evaluated.desired, &args.scrape).await?;
        let (sender, updates) = tokio::sync::mpsc::channel(1);
        let scraping = {
            let scraper = fleet.scraper.clone();
            let targets = fleet.targets.clone();
            tokio::spawn(async move {
                let mut previous = Vec::new();
                loop {
                    let started = tokio::time::Instant::now();
                    let current = scraper.scrape_all(&targets).await;
                    if sender
                        .send(figures_between(&previous, &current))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    previous = current;
                    tokio::time::sleep_until(started + interval).await;
                }
            })
        };
        let title = format!("{} (env {})", script.display(), config.env);
        let shown = crate::ui::top::run(updates, title).await;
        scraping.abort();
        let _ = scraping.await;
        fleet.close(conn, config, ui, script).await;
        shown.map_err(Error::Top)?;
        Ok(ExitCode::Success)
    })
}

/// One look at some servers' exporters from a command that already holds what a fleet needs
/// (the connection, the state, an observation of the cloud): the last step of `ict run`
/// ([`Look::show_all`]) and the usage `ict plan` and `apply` print next to a resize
/// ([`Look::resize_usage`]). Never fails the command: what cannot be scraped is a row, a note,
/// or left out.
pub(super) struct Look<'a> {
    pub conn: &'a Connection,
    pub ui: &'a Ui,
    pub script: &'a Path,
    pub desired: &'a Desired,
    pub ssh: &'a SshOptions,
}

impl Look<'_> {
    /// Scrapes the servers `limit` selects twice, `interval` apart (for rates), giving each
    /// server `timeout` seconds; returns the figures and the fleet (for its new pins).
    async fn sample(
        &self,
        limit: String,
        (interval, timeout): (Duration, Duration),
        known: (&State, &Observed),
    ) -> Result<(Vec<HostFigures>, Fleet), Error> {
        let args = Scrape {
            limit,
            timeout,
            ssh: self.ssh.clone(),
        };
        let fleet = Fleet::new(self.script, self.desired, &args, self.conn, known)?;
        let rows = fleet.scraper.sample(&fleet.targets, interval).await;
        fleet.scraper.close().await;
        Ok((rows, fleet))
    }

    /// `ict run`'s last step: every server's figures, as the `ict metrics` table. Host keys
    /// pinned on first contact go into `store`, which the run holds.
    pub(super) async fn show_all(&self, store: &mut Store) {
        let ui = self.ui;
        let sampled = match self
            .conn
            .client
            .observe(crate::provider::Kinds::SERVERS)
            .await
        {
            Ok(observed) => {
                let known = (store.state(), &observed);
                self.sample(
                    "all".to_owned(),
                    (Duration::from_secs(1), Duration::from_secs(5)),
                    known,
                )
                .await
            }
            Err(e) => Err(e.into()),
        };
        let (rows, fleet) = match sampled {
            Ok(sampled) => sampled,
            Err(e) => {
                ui.note(&format!("live metrics skipped: {e}"));
                return;
            }
        };
        if let Err(e) = hosts::save_pins(store, &fleet.pins, &fleet.hosts) {
            ui.note(&format!("warning: host keys not saved: {e}"));
        }
        ui.out("\nLive metrics (`ict top` follows them):\n");
        ui.metrics_table(&rows);
        if rows.iter().all(|r| r.figures.is_none()) {
            ui.note("no server's node_exporter answered: install it with the stdlib module `ict/node_exporter` (docs/metrics.md), or skip this step with `--no-metrics`");
        }
    }

    /// What the servers `plan` resizes (CPU, RAM or disk) use now, by address, as a short text
    /// (`CPU 91% of 2 · memory 80% of 2.0 GiB · disk 48% · load 1.20`), from the state and
    /// observation the plan was made from; half a second between the two scrapes, at most 2 s
    /// per server. Servers that cannot be scraped are left out. Writes nothing: a host key seen
    /// here for the first time is pinned by the next command that logs in.
    pub(super) async fn resize_usage(
        &self,
        plan: &Plan,
        known: (&State, &Observed),
    ) -> BTreeMap<String, String> {
        let resized: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.action == Action::Update && s.address.kind() == "server")
            .filter(|s| {
                s.changes
                    .iter()
                    .any(|c| matches!(c.attr.as_str(), "cpu" | "ram" | "disk"))
            })
            .map(|s| s.address.name())
            .collect();
        if resized.is_empty() {
            return BTreeMap::new();
        }
        let Ok((rows, _)) = self
            .sample(
                resized.join(","),
                (Duration::from_millis(500), Duration::from_secs(2)),
                known,
            )
            .await
        else {
            return BTreeMap::new();
        };
        rows.iter()
            .filter_map(|row| {
                let figures = row.figures.as_ref()?;
                Some((
                    format!("server.{}", row.name),
                    crate::ui::metrics::usage(figures),
                ))
            })
            .collect()
    }
}

/// The selected servers, how to scrape each, and the pins to save afterwards.
pub(super) struct Fleet {
    pub(super) targets: Vec<ScrapeTarget>,
    pub(super) scraper: Scraper,
    pins: Arc<PinnedKeys>,
    pub(super) hosts: Vec<Host>,
    /// The servers scraped over SSH, skipped because the emulator's servers have no SSH here.
    pub(super) skipped: Option<Skipped>,
    /// The names `--limit` selected, and whether the provider is the built-in emulator: what
    /// [`Fleet::look_again`] needs to work the targets out again.
    selected: Vec<String>,
    emulator: bool,
}

impl Fleet {
    /// Connects to the provider and prepares the fleet (closing the connection again if that
    /// fails).
    async fn connect(
        pending: connect::Pending,
        config: &Config,
        script: &Path,
        desired: &Desired,
        args: &Scrape,
    ) -> Result<(Connection, Fleet), Error> {
        let conn = pending.connect().await?;
        match Fleet::prepare(config, script, desired, args, &conn).await {
            Ok(fleet) => Ok((conn, fleet)),
            Err(error) => {
                conn.close().await;
                Err(error)
            }
        }
    }

    /// Closes the scraper's sessions and the connection, then saves the pins.
    async fn close(self, conn: Connection, config: &Config, ui: &Ui, script: &Path) {
        self.scraper.close().await;
        conn.close().await;
        self.save_pins(config, ui, script);
    }

    pub(super) async fn prepare(
        config: &Config,
        script: &Path,
        desired: &Desired,
        args: &Scrape,
        conn: &Connection,
    ) -> Result<Fleet, Error> {
        let dir = StateDir::for_script(script, &config.env)?;
        let state = State::load(&dir)?;
        let observed = conn.client.observe(crate::provider::Kinds::SERVERS).await?;
        Fleet::new(script, desired, args, conn, (&state, &observed))
    }

    /// The fleet from a state and an observation of the cloud the caller already has.
    fn new(
        script: &Path,
        desired: &Desired,
        args: &Scrape,
        conn: &Connection,
        (state, observed): (&State, &Observed),
    ) -> Result<Fleet, Error> {
        let selected = pattern::select(&args.limit, desired);
        if selected.is_empty() {
            return Err(Error::LimitMatchesNothing {
                limit: args.limit.clone(),
                what: "server",
                file: script.to_path_buf(),
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
    pub(super) fn has_unavailable(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.endpoint, Endpoint::Unavailable { .. }))
    }

    /// Looks the servers up again in the state and the cloud (a server off or missing when a
    /// long-running command started may be running now), keeping the scraper's sessions.
    pub(super) async fn look_again(
        &mut self,
        config: &Config,
        script: &Path,
        desired: &Desired,
        conn: &Connection,
    ) -> Result<(), Error> {
        let state = State::load(&StateDir::for_script(script, &config.env)?)?;
        let observed = conn.client.observe(crate::provider::Kinds::SERVERS).await?;
        self.hosts = hosts::fleet(desired, &state, &observed);
        self.targets = targets(&self.hosts, &self.selected, desired, self.emulator);
        if let Some(why) = conn.ssh_unavailable() {
            skip_ssh(&mut self.targets, why);
        }
        Ok(())
    }

    /// Records host keys pinned on first contact (unless another command holds the lock).
    pub(super) fn save_pins(&self, config: &Config, ui: &Ui, script: &Path) {
        if !self.pins.newly_pinned().is_empty() {
            save_pins_if_unlocked(config, ui, script, &self.pins, &self.hosts);
        }
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
