//! What the state remembers of a pipeline in one environment: each run (ref, commit, times,
//! result, the failing stage and its log tail), which release is current, and which commits
//! were already tried (so `ict watch` never runs one twice). Kept in the state's `extra`
//! section under `pipeline/<name>`; bounded to the last [`MAX_RECORDS`] runs. Pure data.

use std::fmt::Write as _;

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
    /// The file holding everything the run printed (secrets removed), relative to the
    /// environment's state folder ([`log_file`]); kept while the run is remembered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

/// The folder, in the environment's state folder, of `pipeline`'s run logs.
pub fn logs_dir(pipeline: &str) -> String {
    format!("pipelines/{pipeline}")
}

/// Where the full log of `pipeline`'s run of `release` (`action`, started at `started`) is
/// kept, relative to the environment's state folder.
pub fn log_file(pipeline: &str, release: &str, action: Action, started: Timestamp) -> String {
    let action = match action {
        Action::Deploy => "deploy",
        Action::Rollback => "rollback",
    };
    format!(
        "{}/{}-{release}-{action}.log",
        logs_dir(pipeline),
        started.unix()
    )
}

impl Record {
    /// The run's whole log when its file is kept in `state_dir` (every line each stage
    /// printed on each host, secrets removed, then why it failed), else [`Record::log`].
    pub fn full_log(&self, state_dir: &std::path::Path) -> String {
        let kept = self
            .log_file
            .as_ref()
            .and_then(|file| std::fs::read_to_string(state_dir.join(file)).ok());
        let Some(mut out) = kept else {
            return self.log();
        };
        out.push_str(&self.failure());
        out
    }

    /// Why the run failed, in lines (empty when it did not).
    fn failure(&self) -> String {
        let mut out = String::new();
        if let Some(error) = &self.error {
            let place: Vec<&str> = [self.failed_host.as_deref(), self.failed_stage.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let _ = writeln!(out, "== {} failed: {}", self.release, place.join(" "));
            out.push_str(error);
            out.push('\n');
        }
        out
    }

    /// The run's log as recorded: what each stage printed on each host (its last lines,
    /// secrets removed), then why the run failed, if it did.
    pub fn log(&self) -> String {
        let mut out = String::new();
        for s in &self.stages {
            let result = if s.ok { "ok" } else { "failed" };
            let _ = writeln!(
                out,
                "== {} {} ({result}, {:.1}s)",
                s.host, s.stage, s.seconds
            );
            if !s.tail.is_empty() {
                out.push_str(&s.tail);
                out.push('\n');
            }
        }
        out.push_str(&self.failure());
        out
    }
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

    /// The run `id` names (a release id or a prefix of one, or a commit, full or short; the
    /// newest match), or the newest run without `id`.
    pub fn run(&self, id: Option<&str>) -> Option<&Record> {
        let mut newest_first = self.records.iter().rev();
        match id {
            None => newest_first.next(),
            Some("") => None,
            Some(id) => {
                newest_first.find(|r| r.release.starts_with(id) || r.commit.starts_with(id))
            }
        }
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

    /// The release to roll back to: the kept release `to` names, or the newest kept release
    /// before the current one. `to` is a release id or a prefix of one, or a commit (full or
    /// short, as `ict pipeline status` shows it); an exact release id always wins, and several
    /// releases of one commit mean its newest.
    pub fn rollback_target(&self, to: Option<&str>, keep: usize) -> Result<&Record, NoTarget<'_>> {
        let kept: Vec<&Record> = self.releases().into_iter().take(keep).collect();
        let Some(to) = to else {
            let current = self.current.as_deref();
            return kept
                .into_iter()
                .find(|r| {
                    Some(r.release.as_str()) != current
                        && current.is_none_or(|c| r.release.as_str() < c)
                })
                .ok_or(NoTarget::NotFound);
        };
        if let Some(exact) = kept.iter().find(|r| r.release == to) {
            return Ok(exact);
        }
        let matches: Vec<&Record> = kept
            .into_iter()
            .filter(|r| !to.is_empty() && (r.release.starts_with(to) || r.commit.starts_with(to)))
            .collect();
        match matches.first() {
            None => Err(NoTarget::NotFound),
            Some(newest) if matches.iter().all(|r| r.commit == newest.commit) => Ok(newest),
            Some(_) => Err(NoTarget::Ambiguous(matches)),
        }
    }
}

/// Why [`History::rollback_target`] found no release to go back to.
#[derive(Debug, PartialEq)]
pub enum NoTarget<'a> {
    /// No kept release matches (or none is older than the current one).
    NotFound,
    /// The kept releases `--to` matches, of different commits, newest first.
    Ambiguous(Vec<&'a Record>),
}

/// The release id of a run started at `at` for `commit`: `20250301T120000Z-abc1234`.
pub fn release_id(at: Timestamp, commit: &str) -> String {
    let time: String = at
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{time}-{}", short_commit(commit))
}

/// A commit as people see it (and `ict pipeline status` shows it): its first 7 characters.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
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
            log_file: None,
        }
    }

    #[test]
    fn a_run_is_found_by_release_or_commit_and_its_log_lists_every_stage() {
        let mut h = History::default();
        h.push(record("20250301T120000Z-aaa", Outcome::Success));
        h.push(Record {
            failed_host: Some("web-1".into()),
            failed_stage: Some("test".into()),
            error: Some("boom\n(exit status 1)".into()),
            stages: vec![StageLog {
                host: "web-1".into(),
                stage: "test".into(),
                ok: false,
                seconds: 1.5,
                tail: "boom\n(exit status 1)".into(),
            }],
            ..record("20250302T120000Z-bbb", Outcome::Failed)
        });
        let release = |id: Option<&str>| h.run(id).map(|r| r.release.as_str());
        assert_eq!(release(None), Some("20250302T120000Z-bbb"));
        assert_eq!(release(Some("20250301")), Some("20250301T120000Z-aaa"));
        assert_eq!(
            release(Some("20250301T120000Z-aaa-commit")),
            Some("20250301T120000Z-aaa")
        );
        assert_eq!(
            release(Some("2025")),
            Some("20250302T120000Z-bbb"),
            "the newest match"
        );
        assert_eq!(release(Some("zzz")), None);
        assert_eq!(release(Some("")), None);
        assert_eq!(
            h.run(None).map(Record::log).unwrap_or_default(),
            "== web-1 test (failed, 1.5s)\nboom\n(exit status 1)\n\
             == 20250302T120000Z-bbb failed: web-1 test\nboom\n(exit status 1)\n"
        );
        assert_eq!(
            h.run(Some("20250301")).map(Record::log),
            Some(String::new())
        );
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
        let target = |to: Option<&str>, keep: usize| {
            h.rollback_target(to, keep)
                .map(|r| r.release.as_str())
                .map_err(|e| e == NoTarget::NotFound)
        };
        assert_eq!(target(None, 5), Ok("r1"));
        assert_eq!(target(Some("r2"), 5), Ok("r2"));
        assert_eq!(target(None, 1), Err(true), "r1 is no longer kept");
        assert_eq!(target(Some("r3"), 5), Err(true), "r3 failed");
        let mut state = State::new("dev");
        h.save(&mut state, "app");
        assert_eq!(History::load(&state, "app"), h);
        for i in 0..(MAX_RECORDS + 5) {
            h.push(record(&format!("x{i}"), Outcome::Failed));
        }
        assert_eq!(h.records.len(), MAX_RECORDS);
    }

    #[test]
    fn rollback_to_accepts_a_commit_or_an_unambiguous_release_prefix() {
        let deploy = |release: &str, commit: &str| Record {
            commit: commit.into(),
            ..record(release, Outcome::Success)
        };
        let mut h = History::default();
        h.push(deploy("20250301T120000Z-abc1234", "abc1234aaaa"));
        h.push(deploy("20250301T130000Z-abd5678", "abd5678bbbb"));
        h.push(deploy("20250302T090000Z-abc1234", "abc1234aaaa"));
        h.push(deploy("20250302T100000Z-fff0000", "fff0000cccc"));
        let target = |to: &str| {
            h.rollback_target(Some(to), 10)
                .map(|r| r.release.as_str())
                .map_err(|e| match e {
                    NoTarget::NotFound => Vec::new(),
                    NoTarget::Ambiguous(matches) => {
                        matches.iter().map(|r| r.release.as_str()).collect()
                    }
                })
        };
        // A commit, full or as `pipeline status` shows it: its newest release.
        assert_eq!(target("abd5678bbbb"), Ok("20250301T130000Z-abd5678"));
        assert_eq!(target("abd5678"), Ok("20250301T130000Z-abd5678"));
        assert_eq!(target("abc1234"), Ok("20250302T090000Z-abc1234"));
        // A release id, whole or an unambiguous prefix.
        assert_eq!(
            target("20250301T120000Z-abc1234"),
            Ok("20250301T120000Z-abc1234")
        );
        assert_eq!(target("20250301T13"), Ok("20250301T130000Z-abd5678"));
        assert_eq!(target("20250302T1"), Ok("20250302T100000Z-fff0000"));
        // Ambiguous: every match is listed, newest first.
        assert_eq!(
            target("ab"),
            Err(vec![
                "20250302T090000Z-abc1234",
                "20250301T130000Z-abd5678",
                "20250301T120000Z-abc1234"
            ])
        );
        assert_eq!(
            target("20250301"),
            Err(vec!["20250301T130000Z-abd5678", "20250301T120000Z-abc1234"])
        );
        assert_eq!(target("0123"), Err(Vec::new()));
        assert_eq!(target(""), Err(Vec::new()));
    }
}
