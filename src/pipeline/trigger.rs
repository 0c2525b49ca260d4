//! The `ict watch` side of pipelines: poll each pipeline's repository with `git ls-remote`
//! (every pipeline's `poll`), and run the pipeline when a ref its environment deploys points
//! at a commit never tried before. Runs happen one after the other (one environment per watch,
//! so runs for it are serialised); a commit is never run twice, across restarts too, because
//! tried commits are kept in the state's history. A run that could not start (the state is
//! locked by another command) is tried again at the next poll.
//!
//! The run itself is behind [`Runner`], implemented by the commands layer (it owns the cloud
//! connection, the state lock and SSH), so this loop is tested without a network.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::git::{self, Resolved};
use super::record::{History, Outcome};
use crate::model::{Desired, Pipeline};

/// Runs pipelines for the trigger.
pub trait Runner {
    /// The pipeline's history in this environment.
    fn history(&self, pipeline: &str) -> History;
    /// Deploys `resolved`; `Err` when the run could not start at all (try again later).
    fn deploy(
        &self,
        pipeline: &Pipeline,
        resolved: &Resolved,
    ) -> impl Future<Output = Result<Outcome, String>>;
}

/// What the trigger reports.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerEvent {
    /// Watching these pipelines in this environment.
    Watching {
        pipelines: Vec<String>,
    },
    /// A watched ref points at a new commit: a run starts.
    Moved {
        pipeline: String,
        resolved: Resolved,
    },
    /// The run ended.
    Ran {
        pipeline: String,
        resolved: Resolved,
        outcome: Outcome,
    },
    /// The run could not start; it is tried again at the next poll.
    Deferred {
        pipeline: String,
        reason: String,
    },
    PollFailed {
        pipeline: String,
        error: String,
    },
}

/// Polls until `shutdown` completes; a run in progress is finished first.
pub async fn watch(
    desired: &Desired,
    runner: &impl Runner,
    shutdown: impl Future<Output = ()>,
    mut on_event: impl FnMut(TriggerEvent),
) {
    let pipelines: Vec<&Pipeline> = desired
        .pipelines
        .values()
        .filter(|p| p.environments.contains_key(&desired.env))
        .collect();
    if pipelines.is_empty() {
        return;
    }
    on_event(TriggerEvent::Watching {
        pipelines: pipelines.iter().map(|p| p.name.clone()).collect(),
    });
    let mut due: BTreeMap<&str, Instant> = pipelines
        .iter()
        .map(|p| (p.name.as_str(), Instant::now()))
        .collect();
    tokio::pin!(shutdown);
    loop {
        let next = due.values().min().copied().unwrap_or_else(Instant::now);
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep_until(next) => {}
        }
        for pipeline in &pipelines {
            if due
                .get(pipeline.name.as_str())
                .is_some_and(|d| *d <= Instant::now())
            {
                poll(pipeline, &desired.env, runner, &mut on_event).await;
                due.insert(&pipeline.name, Instant::now() + pipeline.poll);
            }
        }
    }
}

/// One poll of one pipeline: every moved ref is run, oldest branch first, each commit once.
async fn poll(
    pipeline: &Pipeline,
    env: &str,
    runner: &impl Runner,
    on_event: &mut impl FnMut(TriggerEvent),
) {
    let Some(environment) = pipeline.environments.get(env) else {
        return;
    };
    let refs = match git::ls_remote(&pipeline.repo, Duration::from_secs(60)).await {
        Ok(refs) => refs,
        Err(e) => {
            on_event(TriggerEvent::PollFailed {
                pipeline: pipeline.name.clone(),
                error: e.to_string(),
            });
            return;
        }
    };
    for found in git::matching(&refs, environment) {
        let history = runner.history(&pipeline.name);
        let current_commit = history
            .current
            .as_deref()
            .and_then(|c| history.deploy_of(c))
            .map(|r| r.commit.as_str());
        if history.was_tried(&found.commit) || current_commit == Some(found.commit.as_str()) {
            continue;
        }
        let resolved = Resolved {
            name: found.name.clone(),
            commit: found.commit.clone(),
        };
        on_event(TriggerEvent::Moved {
            pipeline: pipeline.name.clone(),
            resolved: resolved.clone(),
        });
        match runner.deploy(pipeline, &resolved).await {
            Ok(outcome) => on_event(TriggerEvent::Ran {
                pipeline: pipeline.name.clone(),
                resolved,
                outcome,
            }),
            Err(reason) => on_event(TriggerEvent::Deferred {
                pipeline: pipeline.name.clone(),
                reason,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::pipeline::record::{Action, Record};
    use crate::state::Timestamp;

    /// Records runs in memory like the state would; the first `locked` deploys cannot start.
    struct Fake {
        history: RefCell<History>,
        locked: RefCell<u32>,
        runs: RefCell<Vec<String>>,
    }

    impl Runner for Fake {
        fn history(&self, _: &str) -> History {
            self.history.borrow().clone()
        }
        async fn deploy(&self, _: &Pipeline, resolved: &Resolved) -> Result<Outcome, String> {
            if *self.locked.borrow() > 0 {
                *self.locked.borrow_mut() -= 1;
                return Err("locked".into());
            }
            self.runs.borrow_mut().push(resolved.commit.clone());
            self.history.borrow_mut().push(Record {
                release: resolved.commit.clone(),
                action: Action::Deploy,
                ref_name: resolved.name.clone(),
                commit: resolved.commit.clone(),
                started_at: Timestamp::from_unix(0),
                finished_at: Timestamp::from_unix(0),
                outcome: Outcome::Failed,
                hosts: Vec::new(),
                failed_host: None,
                failed_stage: None,
                error: None,
                stages: Vec::new(),
                log_file: None,
            });
            Ok(Outcome::Failed)
        }
    }

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    #[tokio::test]
    async fn each_new_commit_runs_once_and_locked_runs_are_retried() {
        let dir = tempfile::tempdir().expect("tmp");
        let bare = dir.path().join("r.git");
        git(dir.path(), &["init", "-q", "--bare", "r.git"]);
        git(dir.path(), &["clone", "-q", "r.git", "w"]);
        let work = dir.path().join("w");
        git(&work, &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(&work, &["push", "-q", "origin", "HEAD:main", "HEAD:dev"]);
        let first = git(&work, &["rev-parse", "HEAD"]);
        let script = format!(
            r#"server("web-1");
            pipeline("app", #{{ repo: "file://{}", poll: "1s", environments: #{{ dev: #{{ refs: ["main", "dev"] }} }} }});"#,
            bare.display()
        );
        let mut desired = crate::script::evaluate_text(&script).expect("valid");
        // Polls every 100 ms instead of the 1 s a script may ask for at least: the test
        // waits a few polls, not seconds.
        for pipeline in desired.pipelines.values_mut() {
            pipeline.poll = Duration::from_millis(100);
        }
        let fake = Fake {
            history: RefCell::default(),
            locked: RefCell::new(1),
            runs: RefCell::default(),
        };
        let mut events = Vec::new();
        let push_second = async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            git(&work, &["commit", "-q", "--allow-empty", "-m", "two"]);
            git(&work, &["push", "-q", "origin", "HEAD:main"]);
            tokio::time::sleep(Duration::from_millis(600)).await;
        };
        watch(&desired, &fake, push_second, |e| events.push(e)).await;
        let second = git(&work, &["rev-parse", "HEAD"]);
        // main and dev share the first commit: one run (after one deferred try), then the second.
        assert_eq!(*fake.runs.borrow(), [first, second], "{events:?}");
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, TriggerEvent::Deferred { .. }))
                .count(),
            1
        );
    }
}
