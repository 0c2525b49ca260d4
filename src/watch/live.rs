//! What the watch loop knows now, shared with the HTTP server it runs (`/metrics`, and the
//! dashboard's API when `ict watch` serves one): the last exposition, the kept history, the
//! last round's figures, the alert states and the recent alert changes, and a broadcast of
//! each change for live pages (server-sent events).
//!
//! The loop writes, servers read; every lock is held only to copy or push a value. Pure data
//! besides the locks and the channel; depends on `metrics` and this module's siblings.

use std::collections::VecDeque;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use serde::Serialize;
use tokio::sync::broadcast;

use super::history::{Entry, History};
use super::notify::Payload;
use crate::metrics::alert::Track;
use crate::metrics::NodeFigures;

/// How many alert changes are kept for the dashboard.
const KEPT_CHANGES: usize = 100;

/// The shared view of one `ict watch` run.
#[derive(Debug)]
pub struct Live {
    exposition: RwLock<String>,
    history: RwLock<History>,
    now: RwLock<Now>,
    changes: broadcast::Sender<Change>,
}

/// The last round, the alert states and the recent alert changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Now {
    /// Rounds since start.
    pub ticks: u64,
    /// When the last round ran (Unix seconds; 0 before the first).
    pub at: u64,
    pub interval_seconds: f64,
    pub hosts: Vec<HostNow>,
    /// Every rule on every host that is not inactive.
    pub alerts: Vec<AlertNow>,
    /// Alerts that fired or resolved, oldest first (the last [`KEPT_CHANGES`]).
    pub changes: VecDeque<Payload>,
}

/// One host in the last round.
#[derive(Debug, Clone, Serialize)]
pub struct HostNow {
    pub host: String,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<NodeFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One alert rule on one host: `state` (`pending`, `firing`, `resolved`) and its times.
#[derive(Debug, Clone, Serialize)]
pub struct AlertNow {
    pub rule: String,
    pub host: String,
    pub severity: String,
    #[serde(flatten)]
    pub track: Track,
}

/// Something a live page wants to hear about at once.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A round ended.
    Tick { ticks: u64, at: u64 },
    /// An alert fired or resolved.
    Alert(Payload),
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    pub fn new(history: History, interval_seconds: f64) -> Live {
        Live {
            exposition: RwLock::default(),
            history: RwLock::new(history),
            now: RwLock::new(Now {
                interval_seconds,
                ..Now::default()
            }),
            changes: broadcast::channel(64).0,
        }
    }

    /// The Prometheus exposition of the last round.
    pub fn exposition(&self) -> String {
        read(&self.exposition).clone()
    }

    /// The last round, the alerts and their recent changes.
    pub fn now(&self) -> Now {
        read(&self.now).clone()
    }

    /// The kept entries of `host` at or after `since` (Unix seconds), oldest first.
    pub fn history(&self, host: &str, since: u64) -> Vec<Entry> {
        read(&self.history)
            .entries(host)
            .filter(|e| e.at >= since)
            .cloned()
            .collect()
    }

    /// Hears every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Runs `f` on the history (the loop's writes).
    pub(super) fn with_history<R>(&self, f: impl FnOnce(&mut History) -> R) -> R {
        let mut history = self.history.write().unwrap_or_else(PoisonError::into_inner);
        f(&mut history)
    }

    /// Records an alert change and tells the listeners.
    pub(super) fn alert(&self, payload: &Payload) {
        {
            let mut now = self.now.write().unwrap_or_else(PoisonError::into_inner);
            now.changes.push_back(payload.clone());
            while now.changes.len() > KEPT_CHANGES {
                now.changes.pop_front();
            }
        }
        let _ = self.changes.send(Change::Alert(payload.clone()));
    }

    /// Publishes a finished round.
    pub(super) fn publish(
        &self,
        exposition: String,
        at: u64,
        hosts: Vec<HostNow>,
        alerts: Vec<AlertNow>,
    ) {
        *self
            .exposition
            .write()
            .unwrap_or_else(PoisonError::into_inner) = exposition;
        let ticks = {
            let mut now = self.now.write().unwrap_or_else(PoisonError::into_inner);
            now.ticks += 1;
            now.at = at;
            now.hosts = hosts;
            now.alerts = alerts;
            now.ticks
        };
        let _ = self.changes.send(Change::Tick { ticks, at });
    }
}
