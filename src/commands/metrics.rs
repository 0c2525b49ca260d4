//! `ict metrics` and `ict top`: scrape `node_exporter` on the selected servers
//! ([`app::scrape::Fleet`]) and show the figures once (a table or JSON) or live.
//! A server that is not created or powered off is a row saying so. [`Look`] is the same, once,
//! inside other commands: the last step of `ict run`, and the usage shown next to a resize.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Error;
use crate::app::scrape::Fleet;
use crate::app::{Project, Session};
use crate::config::{Config, MetricsOptions, Scrape, SshOptions, TopOptions};
use crate::connect::{self, Connection};
use crate::exit::ExitCode;
use crate::metrics::{figures_between, HostFigures};
use crate::provider::Observed;
use crate::provider::Provider as _;
use crate::reconcile::{Action, Plan};
use crate::script::Evaluated;
use crate::state::Kind;
use crate::state::{State, Store};
use crate::ui::Ui;

pub(super) fn metrics(config: &Config, ui: &Ui, args: &MetricsOptions) -> Result<ExitCode, Error> {
    let interval = args.interval;
    let script = &args.file;
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let (conn, fleet) = connect_fleet(pending, &project, &evaluated, &args.scrape).await?;
        let rows = fleet.scraper.sample(&fleet.targets, interval).await;
        let skipped = fleet.skipped.clone();
        close_fleet(fleet, conn, ui, &project).await;
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
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let runtime = crate::app::runtime()?;
    runtime.block_on(async {
        let (conn, fleet) = connect_fleet(pending, &project, &evaluated, &args.scrape).await?;
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
        close_fleet(fleet, conn, ui, &project).await;
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
    pub session: Session<'a>,
    pub ui: &'a Ui,
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
        let fleet = Fleet::new(self.session, &args, known)?;
        let rows = fleet.scraper.sample(&fleet.targets, interval).await;
        fleet.scraper.close().await;
        Ok((rows, fleet))
    }

    /// `ict run`'s last step: every server's figures, as the `ict metrics` table. Host keys
    /// pinned on first contact go into `store`, which the run holds.
    pub(super) async fn show_all(&self, store: &mut Store) {
        let ui = self.ui;
        let sampled = match self
            .session
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
        if let Err(e) = fleet.save_pins_into(store) {
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
            .filter(|s| s.action == Action::Update && s.address.kind() == Kind::Server)
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

/// Connects to the provider and prepares the fleet (closing the connection again if that
/// fails).
async fn connect_fleet(
    pending: connect::Pending,
    project: &Project,
    evaluated: &Evaluated,
    args: &Scrape,
) -> Result<(Connection, Fleet), Error> {
    let conn = pending.connect().await?;
    let session = Session {
        project,
        conn: &conn,
        evaluated,
    };
    match Fleet::prepare(session, args).await {
        Ok(fleet) => Ok((conn, fleet)),
        Err(error) => {
            conn.close().await;
            Err(error)
        }
    }
}

/// Closes the scraper's sessions and the connection, then saves the pins.
async fn close_fleet(fleet: Fleet, conn: Connection, ui: &Ui, project: &Project) {
    fleet.scraper.close().await;
    conn.close().await;
    for note in fleet.save_pins(project) {
        ui.note(&note);
    }
}
