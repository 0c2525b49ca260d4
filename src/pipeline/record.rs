//! What the state remembers of a pipeline in one environment: each run (ref, commit, times,
//! result, the failing stage and its log tail), which release is current, and which commits
//! were already tried (so `ict watch` never runs one twice). Kept in the state's `extra`
//! section under `pipeline/<name>`; bounded to the last [`MAX_RECORDS`] runs. Pure data.

use serde::{Deserialize, Serialize};

use crate::state::{State, Timestamp};

/// How many runs are remembered.
pub const MAX_RECORDS: usize = 50;
/// How many tried commits are remembered.
const MAX_TRIED: usize = 200;

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Deploy,
    Rollback,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }
}

/// One stage on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLog {
    pub host: String,
    pub stage: String,
    pub ok: bool,
    pub seconds: f64,
    /// The last lines of its output (secrets removed).
    pub tail: String,
}

/// One run of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The release: `<UTC time>-<short commit>`, also its folder name on the hosts.
    pub release: String,
    pub action: Action,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub commit: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: Outcome,
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_stage: Option<String>,
    /// The failing step's last lines, or why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageLog>,
}

/// A pipeline's history in one environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The release `current` points at on the hosts.
    #[serde(default)]
    pub current: Option<String>,
    /// Oldest first.
    #[serde(default)]
    pub records: Vec<Record>,
    /// Commits a run was started for (newest last).
    #[serde(default)]
    pub tried: Vec<String>,
}

impl History {
    fn key(pipeline: &str) -> String {
        format!("pipeline/{pipeline}")
    }

    /// The history saved in `state` (empty if none, or unreadable).
    pub fn load(state: &State, pipeline: &str) -> History {
        state
            .extra(&History::key(pipeline))
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// Writes the history into `state` (the caller commits).
    pub fn save(&self, state: &mut State, pipeline: &str) {
        state.set_extra(&History::key(pipeline), serde_json::to_value(self).ok());
    }

    /// Adds a finished run; a successful one becomes current.
    pub fn push(&mut self, record: Record) {
        if record.outcome == Outcome::Success {
            self.current = Some(record.release.clone());
        }
        if record.action == Action::Deploy {
            self.mark_tried(&record.commit);
        }
        self.records.push(record);
        let excess = self.records.len().saturating_sub(MAX_RECORDS);
        self.records.drain(..excess);
    }

    /// Remembers that a run was started for `commit`.
    pub fn mark_tried(&mut self, commit: &str) {
        if !self.was_tried(commit) {
            self.tried.push(commit.to_owned());
        }
        let excess = self.tried.len().saturating_sub(MAX_TRIED);
        self.tried.drain(..excess);
    }

    pub fn was_tried(&self, commit: &str) -> bool {
        self.tried.iter().any(|c| c == commit)
    }

    /// The deploy record of `release`, if remembered.
    pub fn deploy_of(&self, release: &str) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.release == release && r.action == Action::Deploy)
    }

    /// Successful deploys, newest first, each release once: what may still be on the hosts.
    pub fn releases(&self) -> Vec<&Record> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for r in self.records.iter().rev() {
            if r.action == Action::Deploy
                && r.outcome == Outcome::Success
                && !seen.contains(&&r.release)
            {
                seen.push(&r.release);
                out.push(r);
            }
        }
        out
    }

    /// The release to roll back to: `to`, or the newest kept release before the current one.
    pub fn rollback_target(&self, to: Option<&str>, keep: usize) -> Option<&Record> {
        let kept: Vec<&Record> = self.releases().into_iter().take(keep).collect();
        if let Some(id) = to {
            return kept
                .into_iter()
                .find(|r| r.release == id || r.release.starts_with(id));
        }
        let current = self.current.as_deref();
        kept.into_iter().find(|r| {
            Some(r.release.as_str()) != current && current.is_none_or(|c| r.release.as_str() < c)
        })
    }
}

/// The release id of a run started at `at` for `commit`: `20250301T120000Z-abc1234`.
pub fn release_id(at: Timestamp, commit: &str) -> String {
    let time: String = at
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{time}-{}", commit.get(..7).unwrap_or(commit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(release: &str, outcome: Outcome) -> Record {
        Record {
            release: release.into(),
            action: Action::Deploy,
            ref_name: "main".into(),
            commit: format!("{release}-commit"),
            started_at: Timestamp::from_unix(0),
            finished_at: Timestamp::from_unix(1),
            outcome,
            hosts: vec!["web-1".into()],
            failed_host: None,
            failed_stage: None,
            error: None,
            stages: Vec::new(),
        }
    }

    #[test]
    fn ids_sort_by_time() {
        let a = release_id(Timestamp::from_unix(1_700_000_000), "0123456789abcdef");
        let b = release_id(Timestamp::from_unix(1_700_000_100), "fedcba");
        assert_eq!(a, "20231114T221320Z-0123456");
        assert!(a < b);
    }

    #[test]
    fn history_tracks_current_tried_and_rollback_targets() {
        let mut h = History::default();
        h.push(record("r1", Outcome::Success));
        h.push(record("r2", Outcome::Success));
        h.push(record("r3", Outcome::Failed));
        assert_eq!(h.current.as_deref(), Some("r2"));
        assert!(h.was_tried("r3-commit"));
        assert_eq!(
            h.rollback_target(None, 5).map(|r| r.release.as_str()),
            Some("r1")
        );
        assert_eq!(
            h.rollback_target(Some("r2"), 5).map(|r| r.release.as_str()),
            Some("r2")
        );
        assert!(h.rollback_target(None, 1).is_none(), "r1 is no longer kept");
        assert!(h.rollback_target(Some("r3"), 5).is_none(), "r3 failed");
        let mut state = State::new("dev");
        h.save(&mut state, "app");
        assert_eq!(History::load(&state, "app"), h);
        for i in 0..(MAX_RECORDS + 5) {
            h.push(record(&format!("x{i}"), Outcome::Failed));
        }
        assert_eq!(h.records.len(), MAX_RECORDS);
    }
}
