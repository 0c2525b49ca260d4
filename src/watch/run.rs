//! The watch loop: every interval, sample, record, evaluate, notify; every few intervals,
//! check drift; always keep `/metrics`, `targets.json` and `alerts.json` current. Stops when
//! the injected shutdown future completes, after flushing the history and saving alert states.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::exposition::{render, Snapshot};
use super::history::{Entry, History};
use super::live::{AlertNow, HostNow, Live};
use super::notify::{send, NotifyError, Payload};
use super::server::Listen;
use super::{targets, Drift, Sample, Source};
use crate::metrics::alert::{Phase, Reading, Rules, Track};
use crate::model::Desired;

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `.ict/<env>/watch`.
    pub dir: PathBuf,
    pub interval: Duration,
    /// Samples kept per host.
    pub history: usize,
    /// Check drift every this many rounds (0: never).
    pub drift_every: u64,
    /// Time limit of each webhook or command.
    pub notify_timeout: Duration,
}

/// Something the loop reports; the caller decides how to show it.
#[derive(Debug)]
pub enum Event {
    /// `/metrics` (and whatever else the [`Listen`] routes) is served at this address.
    Listening(SocketAddr),
    /// A host stopped or started answering.
    HostDown {
        host: String,
        error: String,
    },
    HostUp {
        host: String,
    },
    /// An alert changed state (`firing` / `resolved`).
    Alert(Payload),
    /// A notification was delivered.
    Notified {
        payload: Payload,
        target: String,
    },
    NotifyFailed {
        payload: Payload,
        error: NotifyError,
    },
    /// The cloud differs from the script (reported once per distinct change).
    Drift(String),
    /// The cloud matches the script again.
    DriftResolved,
    DriftCheckFailed(String),
    /// Clean stop: history flushed, states saved, listener closed.
    Stopped {
        ticks: u64,
    },
}

/// Why the loop could not go on.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write {}: {source}", path.display())]
#[diagnostic(
    code(ict::watch::io),
    help("ict watch keeps its files under .ict/<env>/watch next to the script; check space and permissions")
)]
pub struct WatchError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WatchError + '_ {
    move |source| WatchError {
        path: path.to_owned(),
        source,
    }
}

/// One `ict watch` run.
pub struct Watch<'a, S, D> {
    pub settings: Settings,
    pub desired: &'a Desired,
    pub source: &'a S,
    pub drift: &'a D,
}

/// An alert state as saved in `alerts.json`.
#[derive(Debug, Serialize, Deserialize)]
struct SavedTrack {
    rule: String,
    host: String,
    #[serde(flatten)]
    track: Track,
}

struct Loop<'a> {
    settings: &'a Settings,
    desired: &'a Desired,
    live: Arc<Live>,
    rules: Rules,
    client: reqwest::Client,
    down: BTreeMap<String, bool>,
    addresses: BTreeMap<String, String>,
    drift: Option<Result<Option<String>, String>>,
    ticks: u64,
}

impl<S: Source, D: Drift> Watch<'_, S, D> {
    /// Runs until `shutdown` completes. `listen`, when given, serves `/metrics` and its routes.
    pub async fn run(
        self,
        listen: Option<Listen>,
        shutdown: impl Future<Output = ()>,
        mut on_event: impl FnMut(Event),
    ) -> Result<(), WatchError> {
        let settings = &self.settings;
        std::fs::create_dir_all(&settings.dir).map_err(io(&settings.dir))?;
        let history_dir = settings.dir.join("history");
        let history = History::open(&history_dir, settings.history).map_err(io(&history_dir))?;
        let mut rules = Rules::from_desired(self.desired);
        rules.restore(load_tracks(&settings.dir.join("alerts.json")));
        let mut state = Loop {
            settings,
            desired: self.desired,
            live: Arc::new(Live::new(history, settings.interval.as_secs_f64())),
            rules,
            client: crate::http::client(),
            down: BTreeMap::new(),
            addresses: BTreeMap::new(),
            drift: None,
            ticks: 0,
        };
        let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = match listen {
            Some(listen) => {
                if let Ok(addr) = listen.listener.local_addr() {
                    on_event(Event::Listening(addr));
                }
                let live = state.live.clone();
                Some(tokio::spawn(listen.serve(live, async {
                    let _ = stopped.await;
                })))
            }
            None => None,
        };
        let mut ticker = tokio::time::interval(settings.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        let result = loop {
            tokio::select! {
                () = &mut shutdown => break Ok(()),
                _ = ticker.tick() => {}
            }
            if let Err(e) = state.tick(self.source, self.drift, &mut on_event).await {
                break Err(e);
            }
        };
        let _ = stop_server.send(());
        if let Some(server) = server {
            let _ = server.await;
        }
        let flushed = state
            .live
            .with_history(History::flush)
            .map_err(io(&history_dir));
        state.save_tracks()?;
        result.and(flushed)?;
        on_event(Event::Stopped { ticks: state.ticks });
        Ok(())
    }
}

impl Loop<'_> {
    async fn tick(
        &mut self,
        source: &impl Source,
        drift: &impl Drift,
        on_event: &mut impl FnMut(Event),
    ) -> Result<(), WatchError> {
        let samples = source.sample().await;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.record(&samples, now, on_event)?;
        let readings: BTreeMap<String, Reading<'_>> = samples
            .iter()
            .map(|s| {
                let reading = s.figures.as_ref().map_or(Reading::Down, Reading::Up);
                (s.host.clone(), reading)
            })
            .collect();
        let notices = self.rules.tick(now, &readings);
        let mut sends = JoinSet::new();
        for notice in &notices {
            let payload = Payload::new(notice);
            self.live.alert(&payload);
            on_event(Event::Alert(payload.clone()));
            for target in notice.rule.notify.clone() {
                let (client, payload) = (self.client.clone(), payload.clone());
                let timeout = self.settings.notify_timeout;
                sends.spawn(async move {
                    let result = send(&client, &target, &payload, timeout).await;
                    (payload, target, result)
                });
            }
        }
        while let Some(done) = sends.join_next().await {
            let Ok((payload, target, result)) = done else {
                continue;
            };
            on_event(match result {
                Ok(()) => Event::Notified {
                    payload,
                    target: describe(&target),
                },
                Err(error) => Event::NotifyFailed { payload, error },
            });
        }
        let every = self.settings.drift_every;
        if every > 0 && self.ticks.is_multiple_of(every) {
            let result = drift.check().await;
            if self.drift.as_ref() != Some(&result) {
                match &result {
                    Ok(Some(changes)) => on_event(Event::Drift(changes.clone())),
                    Ok(None) if self.drift.is_some() => on_event(Event::DriftResolved),
                    Ok(None) => {}
                    Err(e) => on_event(Event::DriftCheckFailed(e.clone())),
                }
                self.drift = Some(result);
            }
        }
        self.publish(&samples, now);
        self.save_tracks()?;
        self.ticks += 1;
        Ok(())
    }

    /// History, host up/down changes, known addresses and `targets.json`.
    fn record(
        &mut self,
        samples: &[Sample],
        now: u64,
        on_event: &mut impl FnMut(Event),
    ) -> Result<(), WatchError> {
        for s in samples {
            let entry = Entry {
                at: now,
                up: s.figures.is_ok(),
                figures: s
                    .figures
                    .as_ref()
                    .ok()
                    .and_then(|f| serde_json::to_value(f).ok()),
                error: s.figures.as_ref().err().cloned(),
            };
            let dir = self.settings.dir.join("history");
            self.live
                .with_history(|h| h.push(&s.host, entry))
                .map_err(io(&dir))?;
            let was_down = self.down.insert(s.host.clone(), s.figures.is_err());
            match (&s.figures, was_down) {
                (Err(error), Some(false) | None) => on_event(Event::HostDown {
                    host: s.host.clone(),
                    error: error.clone(),
                }),
                (Ok(_), Some(true)) => on_event(Event::HostUp {
                    host: s.host.clone(),
                }),
                _ => {}
            }
            if let Some(address) = &s.address {
                self.addresses.insert(s.host.clone(), address.clone());
            }
        }
        let doc = targets::file_sd(self.desired, |h| self.addresses.get(h).map(String::as_str));
        let path = self.settings.dir.join("targets.json");
        targets::write(&path, &doc).map_err(io(&path))
    }

    fn publish(&self, samples: &[Sample], now: u64) {
        let severity = |rule: &str| {
            self.desired
                .alerts
                .get(rule)
                .map_or("warning", |a| a.severity.as_str())
        };
        let snapshot = Snapshot {
            hosts: samples
                .iter()
                .map(|s| (s.host.as_str(), s.figures.as_ref().ok()))
                .collect(),
            alerts: self
                .rules
                .tracks()
                .iter()
                .map(|((rule, host), t)| (rule.as_str(), host.as_str(), severity(rule), *t))
                .collect(),
            drift: match &self.drift {
                Some(Ok(d)) => Some(d.is_some()),
                _ => None,
            },
            ticks: self.ticks + 1,
        };
        let text = render(&snapshot);
        let hosts = samples
            .iter()
            .map(|s| HostNow {
                host: s.host.clone(),
                up: s.figures.is_ok(),
                figures: s.figures.as_ref().ok().cloned(),
                error: s.figures.as_ref().err().cloned(),
            })
            .collect();
        let alerts = snapshot
            .alerts
            .iter()
            .filter(|(.., track)| track.phase != Phase::Inactive)
            .map(|(rule, host, severity, track)| AlertNow {
                rule: (*rule).to_owned(),
                host: (*host).to_owned(),
                severity: (*severity).to_owned(),
                track: *track,
            })
            .collect();
        self.live.publish(text, now, hosts, alerts);
    }

    fn save_tracks(&self) -> Result<(), WatchError> {
        let saved: Vec<SavedTrack> = self
            .rules
            .tracks()
            .iter()
            .map(|((rule, host), track)| SavedTrack {
                rule: rule.clone(),
                host: host.clone(),
                track: *track,
            })
            .collect();
        let path = self.settings.dir.join("alerts.json");
        let text = serde_json::to_string_pretty(&saved).map_err(|e| io(&path)(e.into()))?;
        crate::atomic::atomic_write(&path, text.as_bytes(), 0o644).map_err(io(&path))
    }
}

fn load_tracks(path: &Path) -> Vec<((String, String), Track)> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<Vec<SavedTrack>>(&text).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|s| ((s.rule, s.host), s.track))
        .collect()
}

fn describe(target: &crate::model::Notify) -> String {
    match target {
        crate::model::Notify::Webhook { url } => format!("webhook {url}"),
        crate::model::Notify::Command { command } => format!("command `{command}`"),
    }
}
