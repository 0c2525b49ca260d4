//! Pipeline runs and rollbacks on a project's fleet: the [`Deployer`] that `ict pipeline run`,
//! `ict rollback`, `ict watch` (a repository moved) and a schedule's `pipeline` action share.
//!
//! A run holds the environment's state lock from start to end (so runs for one environment
//! are serialised, also against `ict apply`), builds the hosts from the fleet (addresses from
//! the cloud, host keys pinned in the state), marks the commit as tried before starting, and
//! records the finished run in the state before notifying. What happens is told to a [`Show`];
//! nothing here prints. Depends on `pipeline`, `model`, `ssh`, `state` and the rest of `app`.

mod db;

use std::fmt::Display;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::hosts::{self, Host as FleetHost};
use super::{Error, Session};
use crate::model::{pattern, Desired, Pipeline, PipelineEnv};
use crate::pipeline::record::{
    log_file, logs_dir, release_id, short_commit, Action, History, NoTarget, Outcome, Record,
};
use crate::pipeline::run::{self, Event, Host, Job, Report};
use crate::pipeline::{git, notice, Resolved};
use crate::ssh::{Auth, PinnedKeys};
use crate::state::{Store, Timestamp};

/// Time limit of each notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit of asking the repository for its refs.
const LS_REMOTE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a run's progress goes: the terminal for the CLI, nowhere for a schedule.
pub trait Show: Send + Sync {
    /// Something taking the lock found (a stale lock taken over, ...).
    fn note(&self, note: &str);
    /// A deploy starts: which commit, as which release, on which hosts.
    fn started(&self, run: &Started<'_>);
    /// A rollback to `release` starts.
    fn rolling_back(&self, pipeline: &str, env: &str, release: &str);
    /// A stage started, printed a line or ended on a host.
    fn event(&self, event: &Event);
    /// The run ended and was recorded.
    fn finished(&self, pipeline: &str, env: &str, record: &Record);
    /// `target` was notified (or could not be).
    fn notified(&self, target: &str, error: Option<&dyn Display>);
}

/// What a deploy is about to do, for [`Show::started`].
pub struct Started<'a> {
    pub pipeline: &'a str,
    pub env: &'a str,
    pub ref_name: &'a str,
    pub commit: &'a str,
    pub release: &'a str,
    pub hosts: &'a [String],
}

/// A [`Show`] that shows nothing: the run's record keeps what happened.
pub struct Quiet;

impl Show for Quiet {
    fn note(&self, _: &str) {}
    fn started(&self, _: &Started<'_>) {}
    fn rolling_back(&self, _: &str, _: &str, _: &str) {}
    fn event(&self, _: &Event) {}
    fn finished(&self, _: &str, _: &str, _: &Record) {}
    fn notified(&self, _: &str, _: Option<&dyn Display>) {}
}

/// The commit `pipeline` deploys to `environment`: `git_ref`'s, or the newest of the
/// environment's branch or tag.
pub async fn resolve(
    pipeline: &Pipeline,
    environment: &PipelineEnv,
    git_ref: Option<&str>,
) -> Result<Resolved, Error> {
    let refs = git::ls_remote(&pipeline.repo, LS_REMOTE_TIMEOUT).await?;
    Ok(git::resolve(&refs, environment, git_ref)?)
}

/// What a run needs besides the pipeline: where, how to log in, and where progress goes.
pub struct Deployer<'a> {
    pub session: Session<'a>,
    pub auth: Auth,
    pub stage_timeout: Duration,
    pub show: Arc<dyn Show>,
}

/// The pipeline `name` and its entry for the selected environment.
pub fn find<'a>(
    desired: &'a Desired,
    name: &str,
    script: &Path,
) -> Result<(&'a Pipeline, &'a PipelineEnv), Error> {
    let Some(pipeline) = desired.pipelines.get(name) else {
        let names: Vec<&str> = desired.pipelines.keys().map(String::as_str).collect();
        return Err(if names.is_empty() {
            Error::NoPipelines {
                file: script.to_path_buf(),
            }
        } else {
            Error::UnknownPipeline {
                name: name.to_owned(),
                file: script.to_path_buf(),
                declared: names.join(", "),
            }
        });
    };
    let environment = pipeline.environments.get(&desired.env).ok_or_else(|| {
        let envs: Vec<&str> = pipeline.environments.keys().map(String::as_str).collect();
        Error::PipelineEnvironment {
            name: name.to_owned(),
            env: desired.env.clone(),
            environments: envs.join(", "),
        }
    })?;
    Ok((pipeline, environment))
}
impl Deployer<'_> {
    /// Runs `pipeline` for `resolved` under the state lock; the finished run's record.
    pub async fn deploy(&self, pipeline: &Pipeline, resolved: &Resolved) -> Result<Record, Error> {
        let mut store = self.locked("pipeline run")?;
        let result = self.deploy_locked(&mut store, pipeline, resolved).await;
        let closed = store.close();
        let record = result?;
        closed?;
        Ok(record)
    }

    /// Runs `pipeline` for the newest commit of its environment's branch or tag, the lock
    /// already held as `store`.
    pub async fn deploy_newest(
        &self,
        store: &mut Store,
        pipeline: &Pipeline,
        environment: &PipelineEnv,
    ) -> Result<Record, Error> {
        let resolved = resolve(pipeline, environment, None).await?;
        self.deploy_locked(store, pipeline, &resolved).await
    }

    /// Takes the environment's lock for `command`, showing what taking it found.
    fn locked(&self, command: &str) -> Result<Store, Error> {
        let super::Locked { store, notes } = self.session.project.lock(command)?;
        for note in notes {
            self.show.note(&note);
        }
        Ok(store)
    }

    /// [`Deployer::deploy`] with the lock held as `store`.
    pub async fn deploy_locked(
        &self,
        store: &mut Store,
        pipeline: &Pipeline,
        resolved: &Resolved,
    ) -> Result<Record, Error> {
        let started_at = Timestamp::now();
        let release = release_id(started_at, &resolved.commit);
        update(store, &pipeline.name, |h| h.mark_tried(&resolved.commit))?;
        let prepared = self.job(store, pipeline, &release, resolved).await?;
        let names: Vec<String> = prepared
            .job
            .hosts
            .iter()
            .map(|h| h.target.name.clone())
            .collect();
        self.show.started(&Started {
            pipeline: &pipeline.name,
            env: &self.session.evaluated.desired.env,
            ref_name: &resolved.name,
            commit: &resolved.commit,
            release: &release,
            hosts: &names,
        });
        let log = Transcript::open(store, pipeline, &release, Action::Deploy, started_at);
        let report = run::deploy(&prepared.job, self.emitter(&log)).await;
        let run = (Action::Deploy, started_at, report);
        self.finish(store, &prepared, pipeline, run, &log).await
    }

    /// Switches `pipeline` back to release `to` (or the one before the current).
    pub async fn rollback(&self, pipeline: &Pipeline, to: Option<&str>) -> Result<Record, Error> {
        let mut store = self.locked("rollback")?;
        let result = async {
            let history = History::load(store.state(), &pipeline.name);
            let keep = usize::try_from(pipeline.keep).unwrap_or(usize::MAX);
            let target = history
                .rollback_target(to, keep)
                .cloned()
                .map_err(|miss| no_rollback_target(&history, pipeline, to, keep, miss))?;
            let resolved = Resolved {
                name: target.ref_name.clone(),
                commit: target.commit.clone(),
            };
            let prepared = self
                .job(&store, pipeline, &target.release, &resolved)
                .await?;
            let env = &self.session.evaluated.desired.env;
            self.show.rolling_back(&pipeline.name, env, &target.release);
            let started_at = Timestamp::now();
            let log = Transcript::open(
                &store,
                pipeline,
                &target.release,
                Action::Rollback,
                started_at,
            );
            let report = run::rollback(&prepared.job, self.emitter(&log)).await;
            let run = (Action::Rollback, started_at, report);
            self.finish(&mut store, &prepared, pipeline, run, &log)
                .await
        }
        .await;
        let closed = store.close();
        let record = result?;
        closed?;
        Ok(record)
    }

    /// The hosts of the environment, with their addresses, pinned keys and app environment.
    async fn job(
        &self,
        store: &Store,
        pipeline: &Pipeline,
        release: &str,
        resolved: &Resolved,
    ) -> Result<Prepared, Error> {
        let env = &self.session.evaluated.desired.env;
        let hosts_pattern = pipeline
            .environments
            .get(env)
            .map_or("all", |e| e.hosts.as_str());
        let fleet = self.session.fleet(store.state()).await?;
        let selected = pattern::select(hosts_pattern, &self.session.evaluated.desired);
        let resolve = hosts::resolver(&fleet);
        let secret = |n: &str| std::env::var(n).ok();
        let mut hosts = Vec::new();
        let mut secrets = Vec::new();
        for host in fleet.iter().filter(|h| selected.contains(&h.name.as_str())) {
            let (Some(target), Some(ip)) = (host.target(), host.ip.clone()) else {
                return Err(Error::NoAddress {
                    role: "server",
                    name: host.name.clone(),
                });
            };
            let mut vars = vec![
                ("ICT_PIPELINE".to_owned(), pipeline.name.clone()),
                ("ICT_ENV".to_owned(), env.clone()),
                ("ICT_HOST".to_owned(), host.name.clone()),
                ("ICT_HOST_IP".to_owned(), ip),
                ("ICT_RELEASE".to_owned(), release.to_owned()),
                ("ICT_REF".to_owned(), resolved.name.clone()),
                ("ICT_COMMIT".to_owned(), resolved.commit.clone()),
            ];
            for (key, value) in &pipeline.env {
                let json = crate::inventory::resolve_value(value, &secret, &resolve)
                    .map_err(|name| Error::SecretNotSet { name })?;
                let text = match json {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                if value.has_secret() {
                    secrets.push(text.clone());
                }
                vars.push((key.clone(), text));
            }
            hosts.push(Host { target, vars });
        }
        drop(resolve);
        let database = db::prepare(
            pipeline,
            &self.session.evaluated.desired,
            &fleet,
            store.dir().path(),
            &mut hosts,
            &mut secrets,
        )?;
        let pins = hosts::pins(store.state(), &fleet);
        let job = Job {
            pipeline: Arc::new(pipeline.clone()),
            release: release.to_owned(),
            ref_name: resolved.name.clone(),
            commit: resolved.commit.clone(),
            hosts,
            auth: self.auth.clone(),
            verifier: pins.clone(),
            secrets,
            stage_timeout: self.stage_timeout,
            database,
        };
        Ok(Prepared { fleet, pins, job })
    }

    /// Where a run's events go: the [`Show`], and the run's kept log.
    fn emitter(&self, log: &Arc<Transcript>) -> Arc<dyn Fn(Event) + Send + Sync> {
        let show = self.show.clone();
        let log = log.clone();
        Arc::new(move |event: Event| {
            log.write(&event);
            show.event(&event);
        })
    }

    /// Pins new host keys, records the run, prints the summary and notifies.
    async fn finish(
        &self,
        store: &mut Store,
        prepared: &Prepared,
        pipeline: &Pipeline,
        (action, started_at, report): (Action, Timestamp, Report),
        log: &Transcript,
    ) -> Result<Record, Error> {
        hosts::save_pins(store, &prepared.pins, &prepared.fleet)?;
        let job = &prepared.job;
        let failure = report.failure;
        let record = Record {
            release: job.release.clone(),
            action,
            ref_name: job.ref_name.clone(),
            commit: job.commit.clone(),
            started_at,
            finished_at: Timestamp::now(),
            outcome: if failure.is_some() {
                Outcome::Failed
            } else {
                Outcome::Success
            },
            hosts: job.hosts.iter().map(|h| h.target.name.clone()).collect(),
            failed_host: failure.as_ref().map(|f| f.host.clone()),
            failed_stage: failure.as_ref().map(|f| f.stage.clone()),
            error: failure.map(|f| f.tail),
            stages: report.stages,
            log_file: log.kept(),
        };
        update(store, &pipeline.name, |h| h.push(record.clone()))?;
        Transcript::prune(store, &pipeline.name);
        let env = &self.session.evaluated.desired.env;
        self.show.finished(&pipeline.name, env, &record);
        let notice = notice::Notice::new(&pipeline.name, env, &record);
        for (target, result) in notice::notify_all(&pipeline.notify, &notice, NOTIFY_TIMEOUT).await
        {
            let error = result.err();
            self.show
                .notified(&target, error.as_ref().map(|e| e as &dyn Display));
        }
        Ok(record)
    }
}

/// A run's whole log, kept in the state folder while the run is remembered: every event as
/// the terminal shows it (the lines are redacted before they are emitted). A log that cannot
/// be written is not kept; the run goes on (its record keeps each stage's last lines).
struct Transcript {
    /// Relative to the state folder.
    file: String,
    out: Mutex<Option<std::fs::File>>,
}

impl Transcript {
    fn open(
        store: &Store,
        pipeline: &Pipeline,
        release: &str,
        action: Action,
        started: Timestamp,
    ) -> Arc<Transcript> {
        let file = log_file(&pipeline.name, release, action, started);
        let path = store.dir().path().join(&file);
        let opened = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&path)
            });
        let out = opened
            .map_err(|e| tracing::warn!(log = %path.display(), "the run's log is not kept: {e}"))
            .ok();
        Arc::new(Transcript {
            file,
            out: Mutex::new(out),
        })
    }

    fn write(&self, event: &Event) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(file) = out.as_mut() {
            if writeln!(file, "{event}").is_err() {
                *out = None;
            }
        }
    }

    /// The log's file, if it was written.
    fn kept(&self) -> Option<String> {
        let out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.is_some().then(|| self.file.clone())
    }

    /// Removes the logs of `pipeline`'s runs the state no longer remembers.
    fn prune(store: &Store, pipeline: &str) {
        let history = History::load(store.state(), pipeline);
        let kept: Vec<&str> = history
            .records
            .iter()
            .filter_map(|r| r.log_file.as_deref())
            .collect();
        let dir = store.dir().path().join(logs_dir(pipeline));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = format!(
                "{}/{}",
                logs_dir(pipeline),
                entry.file_name().to_string_lossy()
            );
            let is_log = entry.path().extension().is_some_and(|e| e == "log");
            if is_log && !kept.contains(&name.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A run's hosts, ready to go.
struct Prepared {
    fleet: Vec<FleetHost>,
    pins: Arc<PinnedKeys>,
    job: Job,
}

/// Why `ict rollback` has nothing to go back to: what `--to` matched, or what is kept.
fn no_rollback_target(
    history: &History,
    pipeline: &Pipeline,
    to: Option<&str>,
    keep: usize,
    miss: NoTarget<'_>,
) -> Error {
    let kept: Vec<String> = history
        .releases()
        .iter()
        .take(keep)
        .map(|r| r.release.clone())
        .collect();
    match (to, miss) {
        (Some(id), NoTarget::Ambiguous(matches)) => {
            let matches: Vec<String> = matches
                .iter()
                .map(|r| format!("{} (commit {})", r.release, short_commit(&r.commit)))
                .collect();
            Error::AmbiguousRelease {
                to: id.to_owned(),
                pipeline: pipeline.name.clone(),
                matches: matches.join(", "),
            }
        }
        (Some(id), NoTarget::NotFound) => Error::UnknownRelease {
            to: id.to_owned(),
            pipeline: pipeline.name.clone(),
            kept: list(&kept),
        },
        (None, _) => Error::NoEarlierRelease {
            pipeline: pipeline.name.clone(),
            kept: list(&kept),
        },
    }
}

/// Changes the pipeline's history in the state, durably.
fn update(
    store: &mut Store,
    pipeline: &str,
    change: impl FnOnce(&mut History),
) -> Result<(), Error> {
    store.commit(|state| {
        let mut history = History::load(state, pipeline);
        change(&mut history);
        history.save(state, pipeline);
        Ok(())
    })?;
    Ok(())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
