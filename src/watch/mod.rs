//! `ict watch`: a long-running loop that samples every server each interval, keeps a bounded
//! history on disk, evaluates the script's alert rules and sends their notifications, checks
//! for infrastructure drift every few intervals, serves `/metrics` (and the dashboard's routes,
//! from the shared [`Live`] view) and writes a Prometheus `file_sd` targets file.
//!
//! Effects sit behind two small traits so the loop is tested without a network: [`Source`]
//! (where figures come from: the `node_exporter` scraper in production, a fake in tests, a
//! JSON file with `ICT_WATCH_SOURCE`) and [`Drift`] (the plan of `ict plan`). Everything the
//! loop wants to tell people is an [`Event`] handed to the caller (only `ui` prints).
//! Files live under `.ict/<env>/watch/`: `history/<host>.jsonl`, `alerts.json` (alert states,
//! so a restart neither forgets a firing alert nor notifies it again) and `targets.json`.
//!
//! May depend on `model`, `metrics`, `state` (timestamps) and the HTTP/process crates.

mod exposition;
mod file_source;
mod history;
mod live;
mod notify;
mod run;
mod server;
mod targets;

use std::future::Future;

pub use exposition::{render, Snapshot};
pub use file_source::FileSource;
pub use history::{Entry, History};
pub use live::{AlertNow, Change, HostNow, Live, Now};
pub use notify::{send, Message, NotifyError, Payload};
pub use run::{Event, Settings, Watch, WatchError};
pub use server::{router, Listen, Routes};
pub use targets::{file_sd, write as write_targets, NODE_EXPORTER_PORT};

use crate::metrics::NodeFigures;

/// One host's result of one sampling round.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub host: String,
    /// The address its `node_exporter` is reached at, when known (for `targets.json`).
    pub address: Option<String>,
    /// The figures, or why the host could not be sampled (it counts as down: `up == 0`).
    pub figures: Result<NodeFigures, String>,
}

/// Where the figures of every server come from.
pub trait Source {
    /// One sampling round over every server (hosts not returned are "not sampled", and keep
    /// their alert states).
    fn sample(&self) -> impl Future<Output = Vec<Sample>>;
}

/// Whether the cloud still matches the script.
pub trait Drift {
    /// A one-line description of the pending changes, `None` when there are none.
    fn check(&self) -> impl Future<Output = Result<Option<String>, String>>;
}

/// No drift detection (`--drift-every 0`, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDrift;

impl Drift for NoDrift {
    async fn check(&self) -> Result<Option<String>, String> {
        Ok(None)
    }
}
