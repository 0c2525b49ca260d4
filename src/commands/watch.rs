//! `ict watch FILE`: evaluate the script, then run the watch loop ([`crate::watch`]) until
//! SIGTERM or Ctrl-C: sampling, alerts, notifications, drift checks (the plan of `ict plan`,
//! every `--drift-every` rounds), the dashboard and `/metrics` on `--listen` (with the
//! dashboard's board kept current and its actions carried out, [`crate::dashboard`]) and
//! `targets.json`; the script's schedules as they fall due (`app::scheduler`).
//!
//! Figures come from the `node_exporter` scraper; `ICT_WATCH_SOURCE=FILE` reads them from a
//! JSON file instead (see `watch::FileSource`), for trying rules and for tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{show_warnings, Error};
use crate::app::scheduler::Clock;
use crate::app::{Project, Session};
use crate::config::{Config, WatchOptions};
use crate::dashboard::{self, Board, Dashboard};
use crate::exit::ExitCode;
use crate::ui::Ui;
use crate::watch::{Drift, Event, FileSource, Listen, Sample, Settings, Source, Watch};

/// Environment variable naming a JSON file of figures to watch instead of scraping.
const SOURCE_VAR: &str = "ICT_WATCH_SOURCE";

pub(super) fn watch(config: &Config, ui: &Ui, args: &WatchOptions) -> Result<ExitCode, Error> {
    let interval = args.interval;
    let project = Project::new(config, &args.file);
    let evaluated = show_warnings(ui, project.evaluate()?);
    let dir = project.state_dir()?;
    let file_source = std::env::var_os(SOURCE_VAR).map(|path| FileSource {
        path: PathBuf::from(path),
    });
    let settings = Settings {
        dir: dir.path().join("watch"),
        interval,
        history: args.history.max(1),
        drift_every: args.drift_every,
        notify_timeout: Duration::from_secs(10),
    };
    let board = Arc::new(Board::default());
    let (actions, requests) = tokio::sync::mpsc::channel(8);
    let token = dashboard::token(args.token.clone());
    crate::app::runtime()?.block_on(async {
        let listen = match args.listen {
            Some(addr) => Some(Listen {
                listener: tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|error| Error::Listen { addr, error })?,
                routes: dashboard::routes(Dashboard {
                    board: board.clone(),
                    token: token.clone(),
                    actions,
                    declared: evaluated.desired.servers.keys().cloned().collect(),
                    state_dir: project.state_dir().ok().map(|dir| dir.path().to_owned()),
                }),
            }),
            None => None,
        };
        let pipelines = evaluated
            .desired
            .pipelines
            .values()
            .any(|p| p.environments.contains_key(&config.env));
        let schedules = !evaluated.desired.schedules.is_empty();
        let needs_cloud = args.drift_every > 0
            || file_source.is_none()
            || pipelines
            || schedules
            || listen.is_some();
        let conn = if needs_cloud {
            let conn = project.connect().connect().await?;
            ui.note(&conn.banner);
            Some(conn)
        } else {
            None
        };
        let source = match (file_source, &conn) {
            (Some(file), _) => Either::File(file),
            (None, Some(conn)) => {
                let session = Session {
                    project: &project,
                    conn,
                    evaluated: &evaluated,
                };
                let fleet = crate::app::scrape::Fleet::prepare(session, &args.scrape).await?;
                Either::Scrape(Box::new(ScrapeSource {
                    fleet: tokio::sync::Mutex::new(fleet),
                    previous: tokio::sync::Mutex::new(Vec::new()),
                    session,
                }))
            }
            (None, None) => unreachable!("a connection is made when there is no file source"),
        };
        let drift = PlanDrift {
            session: conn.as_ref().map(|conn| Session {
                project: &project,
                conn,
                evaluated: &evaluated,
            }),
            board: &board,
        };
        let watch = Watch {
            settings,
            desired: &evaluated.desired,
            source: &source,
            drift: &drift,
        };
        ui.note(&format!(
            "watching {} servers, {} alert rules, every {}s (Ctrl-C or SIGTERM to stop)",
            evaluated.desired.servers.len(),
            evaluated.desired.alerts.len(),
            interval.as_secs_f64()
        ));
        // One signal stops both the sampling loop and the pipeline trigger (which finishes a
        // run in progress first).
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let signal = async {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let dashboard_line = |addr: std::net::SocketAddr| match &args.token {
            Some(_) => format!(
                "dashboard on http://{addr}/ (its actions need the token of --token or {})",
                dashboard::TOKEN_VAR
            ),
            None => {
                format!("dashboard on http://{addr}/#token={token} (its actions need this token)")
            }
        };
        // The dashboard's first answer already has the facts.
        if let (Some(conn), Some(_)) = (conn.as_ref(), listen.as_ref()) {
            let session = Session {
                project: &project,
                conn,
                evaluated: &evaluated,
            };
            dashboard::refresh(session, &board).await;
        }
        let sampling = watch.run(listen, until_stopped(stopped.clone()), |event| {
            ui.note(&describe(&event));
            if let Event::Listening(addr) = event {
                ui.note(&dashboard_line(addr));
            }
        });
        // The dashboard's board and actions, while there is a dashboard.
        let dashboard = async {
            let (Some(conn), Some(_)) = (conn.as_ref(), args.listen) else {
                return;
            };
            let session = Session {
                project: &project,
                conn,
                evaluated: &evaluated,
            };
            tokio::join!(
                dashboard::keep(session, &board, interval, until_stopped(stopped.clone())),
                dashboard::act(session, &board, requests, until_stopped(stopped.clone())),
            );
        };
        let triggering = async {
            let (Some(conn), true) = (conn.as_ref(), pipelines) else {
                return;
            };
            let auth = match crate::app::hosts::auth(
                args.scrape.ssh.identity.as_deref(),
                &evaluated.desired,
                &args.file,
            ) {
                Ok(auth) => auth,
                Err(e) => {
                    ui.note(&format!("pipelines are not watched: {e}"));
                    return;
                }
            };
            let runner = super::pipeline::Runner {
                deployer: crate::app::deploy::Deployer {
                    session: Session {
                        project: &project,
                        conn,
                        evaluated: &evaluated,
                    },
                    auth,
                    stage_timeout: Duration::from_secs(1800),
                    show: std::sync::Arc::new(super::pipeline::Terminal(ui.clone())),
                },
                ui,
            };
            crate::pipeline::trigger::watch(
                &evaluated.desired,
                &runner,
                until_stopped(stopped.clone()),
                |event| {
                    ui.note(&crate::ui::pipeline::trigger(&event));
                },
            )
            .await;
        };
        let scheduling = async {
            let Some(conn) = conn.as_ref() else {
                return;
            };
            let session = Session {
                project: &project,
                conn,
                evaluated: &evaluated,
            };
            let clock = Clock::starting_at(project.now());
            let stop = until_stopped(stopped.clone());
            session
                .keep_schedules(clock, interval, stop, |event| {
                    ui.note(&crate::ui::schedule::event(&event));
                })
                .await;
        };
        let (result, (), (), (), ()) = tokio::join!(
            async {
                let result = sampling.await;
                // The loop may also end on an error: stop the trigger too.
                let _ = stop.send(true);
                result
            },
            triggering,
            scheduling,
            dashboard,
            async {
                tokio::select! {
                    () = signal => {}
                    () = until_stopped(stopped.clone()) => {}
                }
            }
        );
        if let Either::Scrape(scrape) = &source {
            let fleet = scrape.fleet.lock().await;
            fleet.scraper.close().await;
            for note in fleet.save_pins(&project) {
                ui.note(&note);
            }
        }
        if let Some(conn) = conn {
            conn.close().await;
        }
        result?;
        Ok(ExitCode::Success)
    })
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Drift = a non-empty plan, as `ict plan` would show it.
struct PlanDrift<'a> {
    /// `None` when watch reads its figures from a file and checks no drift.
    session: Option<Session<'a>>,
    /// The dashboard's board, told which addresses drifted.
    board: &'a Board,
}

impl Drift for PlanDrift<'_> {
    async fn check(&self) -> Result<Option<String>, String> {
        let Some(session) = &self.session else {
            return Ok(None);
        };
        let plan = session.plan_unlocked().await.map_err(|e| e.to_string())?;
        self.board
            .set_drift(plan.steps.iter().map(|s| s.address.to_string()).collect());
        if plan.is_empty() {
            return Ok(None);
        }
        let s = plan.summary();
        let steps: Vec<String> = plan.steps.iter().map(|s| s.address.to_string()).collect();
        Ok(Some(format!(
            "{} to add, {} to change, {} to destroy ({})",
            s.add,
            s.change,
            s.destroy,
            steps.join(", ")
        )))
    }
}

/// One line per event.
fn describe(event: &Event) -> String {
    match event {
        Event::Listening(addr) => format!("serving Prometheus metrics on http://{addr}/metrics"),
        Event::HostDown { host, error } => format!("{host} does not answer: {error}"),
        Event::HostUp { host } => format!("{host} answers again"),
        Event::Alert(p) => format!(
            "alert {} is {} on {} ({}): {}",
            p.rule, p.state, p.host, p.severity, p.summary
        ),
        Event::Notified { payload, target } => format!(
            "notified {target} of {} {} on {}",
            payload.rule, payload.state, payload.host
        ),
        Event::NotifyFailed { payload, error } => format!(
            "could not notify {} {} on {}: {error}",
            payload.rule, payload.state, payload.host
        ),
        Event::Drift(changes) => {
            format!("drift: the cloud differs from the script: {changes}; run `ict plan` to see it")
        }
        Event::DriftResolved => "drift resolved: the cloud matches the script again".into(),
        Event::DriftCheckFailed(e) => format!("drift check failed: {e}"),
        Event::Stopped { ticks } => format!("stopped after {ticks} rounds; history saved"),
    }
}

/// Figures from a file (`ICT_WATCH_SOURCE`) or scraped from the servers' `node_exporter`.
enum Either<'a> {
    File(FileSource),
    Scrape(Box<ScrapeSource<'a>>),
}

impl Source for Either<'_> {
    async fn sample(&self) -> Vec<Sample> {
        match self {
            Either::File(file) => file.sample().await,
            Either::Scrape(scrape) => scrape.sample().await,
        }
    }
}

/// Scrapes every selected server once per round; rates come from the previous round. A round
/// that finds a server with nothing to scrape (powered off, not created yet) first looks the
/// servers up again, so a server started after watch began is sampled from then on.
struct ScrapeSource<'a> {
    fleet: tokio::sync::Mutex<crate::app::scrape::Fleet>,
    previous: tokio::sync::Mutex<Vec<crate::metrics::HostScrape>>,
    /// For looking the servers up again.
    session: Session<'a>,
}

impl ScrapeSource<'_> {
    async fn sample(&self) -> Vec<Sample> {
        let mut fleet = self.fleet.lock().await;
        if fleet.has_unavailable() {
            if let Err(e) = fleet.look_again(self.session).await {
                // The servers keep the endpoints they had; the next round tries again.
                tracing::warn!("cannot look the servers up again: {e}");
            }
        }
        let current = fleet.scraper.scrape_all(&fleet.targets).await;
        let mut previous = self.previous.lock().await;
        let rows = crate::metrics::figures_between(&previous, &current);
        *previous = current;
        rows.into_iter()
            .map(|row| Sample {
                address: fleet
                    .hosts
                    .iter()
                    .find(|h| h.name == row.name)
                    .and_then(|h| h.ip.clone()),
                host: row.name,
                figures: row
                    .figures
                    .ok_or_else(|| row.error.unwrap_or_else(|| "no figures".to_owned())),
            })
            .collect()
    }
}
