//! The dashboard of `ict watch --listen`: a page at `/` (HTML, JS and CSS embedded in the
//! binary: no CDN, works offline) built on a JSON API under `/api/` (docs/dashboard.md): the
//! servers with their live figures, each server's history as charts, the alerts, the pipelines
//! with their runs and logs, the schedules with their next times, and server-sent events at
//! `/api/events` so the page follows each round without reloading.
//!
//! Two sources feed it. The watch loop's [`Live`] view (figures, history, alerts), shared with
//! the server. And a [`Board`] of what the cloud and the state say (power, IP, managed or not,
//! drift, pipeline runs, schedules), which [`keep`] refreshes through the `app` layer. An action (power) is a [`Request`] the page posts with the token `ict watch` printed;
//! [`act`] carries it out through `app` like `ict power`, under the environment's lock.
//!
//! A front end like `commands`: may depend on `app`, `watch`, `pipeline::record`, `ui` (for the
//! JSON shapes the commands print too) and below; prints nothing. Secrets never reach it: the
//! figures have none, pipeline logs are redacted when recorded, and server rows carry no
//! password.

mod act;
mod api;
mod assets;
mod events;
mod keep;

use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;
use tokio::sync::mpsc;

pub use act::{act, Request};
pub use keep::{keep, refresh};

use crate::pipeline::record::{History, Record};
use crate::watch::{Live, Routes};

/// Environment variable (or `--token`) holding the actions' token.
pub const TOKEN_VAR: &str = "ICT_WATCH_TOKEN";

/// What the cloud and the state say, as of the last refresh.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub env: String,
    /// When the board was last refreshed (Unix seconds; `None`: not yet).
    pub refreshed_at: Option<u64>,
    /// Why the last refresh failed, if it did (the rest is from the refresh before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub servers: Vec<ServerFacts>,
    /// The addresses the last drift check would change (`None`: not checked).
    pub drift: Option<Vec<String>>,
    pub pipelines: Vec<PipelineFacts>,
    /// `ict schedule list --json`'s `schedules`.
    pub schedules: serde_json::Value,
}

/// One server in the cloud: declared by the script (managed) or not.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFacts {
    pub name: String,
    pub managed: bool,
    /// `on`, `off`, or `absent` (declared, but not in the cloud).
    pub power: &'static str,
    pub ip: Option<String>,
}

/// One pipeline in this environment.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFacts {
    pub name: String,
    /// The release `current` points at.
    pub current: Option<String>,
    /// The kept releases, newest first.
    pub releases: Vec<String>,
    /// The remembered runs, newest first.
    pub runs: Vec<Record>,
    #[serde(skip)]
    pub history: History,
}

/// The shared [`Facts`].
#[derive(Debug, Default)]
pub struct Board {
    facts: RwLock<Facts>,
}

impl Board {
    pub fn facts(&self) -> Facts {
        self.facts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut Facts)) {
        f(&mut self.facts.write().unwrap_or_else(PoisonError::into_inner));
    }

    /// Records the result of a drift check: the addresses it would change.
    pub fn set_drift(&self, addresses: Vec<String>) {
        self.update(|facts| facts.drift = Some(addresses));
    }
}

/// Everything the routes need besides the watch loop's view.
pub struct Dashboard {
    pub board: Arc<Board>,
    /// Actions need it: `Authorization: Bearer <token>`.
    pub token: String,
    pub actions: mpsc::Sender<Request>,
    /// The servers the script declares (the only ones actions touch).
    pub declared: Vec<String>,
    /// The environment's state folder, where pipeline runs keep their whole logs.
    pub state_dir: Option<std::path::PathBuf>,
}

/// The token from `--token`/[`TOKEN_VAR`], or a fresh random one.
pub fn token(given: Option<String>) -> String {
    given
        .filter(|t| !t.is_empty())
        .unwrap_or_else(crate::daemon::random_token)
}

/// The page, its assets and the API, to serve next to `/metrics`.
pub fn routes(dashboard: Dashboard) -> Routes {
    Box::new(move |live: Arc<Live>| {
        let shared = Arc::new(api::Shared { live, dashboard });
        assets::router()
            .merge(api::router())
            .merge(events::router())
            .layer(axum::middleware::from_fn(api::addressed_by_ip))
            .with_state(shared)
    })
}
