//! The last run of each schedule, kept in the state's `extra` section under `schedules`, and
//! whether a schedule is due: run now, missed while nobody looked, or not due.
//!
//! A run is recorded with the due time it was for, so a watch restarted around a due time
//! neither runs it twice nor skips it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Schedule;
use crate::state::State;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    /// Due while watch was not running, and not caught up (`catch_up: false`).
    Missed,
}

/// The last run of one schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// The due time it ran for (the time it ran, for a run asked for by hand).
    pub due: DateTime<Utc>,
    pub started: DateTime<Utc>,
    pub outcome: Outcome,
    /// What happened, in a line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The last run of every schedule, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runs(pub BTreeMap<String, LastRun>);

const KEY: &str = "schedules";
/// Where the newest runs of each schedule are kept, newest first.
const HISTORY_KEY: &str = "schedule_history";
/// How many runs of each schedule the history keeps.
pub const HISTORY: usize = 20;

impl Runs {
    /// The runs recorded in `state` (none when the section is missing or unreadable).
    pub fn read(state: &State) -> Runs {
        state
            .extra(KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// Records `run` as the last of `name` in `state`, and at the head of its history.
    pub fn record(state: &mut State, name: &str, run: LastRun) {
        let mut history = all_history(state);
        let runs_of = history.entry(name.to_owned()).or_default();
        runs_of.insert(0, run.clone());
        runs_of.truncate(HISTORY);
        state.set_extra(HISTORY_KEY, serde_json::to_value(&history).ok());
        let mut runs = Runs::read(state);
        runs.0.insert(name.to_owned(), run);
        state.set_extra(KEY, serde_json::to_value(&runs).ok());
    }

    /// The newest runs of `name` (at most [`HISTORY`]), newest first.
    pub fn history(state: &State, name: &str) -> Vec<LastRun> {
        all_history(state).remove(name).unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&LastRun> {
        self.0.get(name)
    }
}

fn all_history(state: &State) -> BTreeMap<String, Vec<LastRun>> {
    state
        .extra(HISTORY_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Whether a schedule is due at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    No,
    /// Run it now, for this due time.
    Now(DateTime<Utc>),
    /// It was due at this time while nobody looked; report it, do not run it.
    Missed(DateTime<Utc>),
}

/// Whether `schedule`, last run for `last` and looked at before at `since` (the previous check,
/// or when watch started), is due at `now`. A time that passed before `since` is run only when
/// the schedule asks to `catch_up` (once, however many times were missed), and only if it has
/// run before: a new schedule starts with its next time.
pub fn due(
    schedule: &Schedule,
    last: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Due {
    let Some(at) = super::last_at_or_before(schedule, now) else {
        return Due::No;
    };
    if last.is_some_and(|last| last >= at) {
        return Due::No;
    }
    if at > since {
        return Due::Now(at);
    }
    match last {
        None => Due::No,
        Some(_) if schedule.catch_up => Due::Now(at),
        Some(_) => Due::Missed(at),
    }
}

/// What a failed or missed run sends to the schedule's `notify` targets: the JSON a webhook
/// receives and a command reads on stdin, and its `ICT_SCHEDULE_*` variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Always `schedule`, so one receiver can tell schedules from alerts and pipelines.
    pub kind: &'static str,
    pub schedule: String,
    pub env: String,
    pub action: &'static str,
    #[serde(flatten)]
    pub run: LastRun,
}

impl crate::watch::Message for Notice {
    fn env(&self) -> Vec<(&'static str, String)> {
        let outcome = match self.run.outcome {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Missed => "missed",
        };
        vec![
            ("ICT_SCHEDULE", self.schedule.clone()),
            ("ICT_SCHEDULE_ENV", self.env.clone()),
            ("ICT_SCHEDULE_ACTION", self.action.to_owned()),
            ("ICT_SCHEDULE_OUTCOME", outcome.to_owned()),
            ("ICT_SCHEDULE_DUE", self.run.due.to_rfc3339()),
            ("ICT_SCHEDULE_MESSAGE", self.run.message.clone()),
        ]
    }
}
