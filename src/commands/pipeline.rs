//! `ict pipeline run|status` and `ict rollback`: the commands around [`crate::pipeline`], and
//! the [`Deployer`] that `ict watch` uses to run a pipeline when its repository moves.
//!
//! A run holds the environment's state lock from start to end (so runs for one environment
//! are serialised, also against `ict apply`), builds the hosts from the fleet (addresses from
//! the cloud, host keys pinned in the state), marks the commit as tried before starting, and
//! records the finished run in the state before notifying.

mod db;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::doctor::Skipped;
use super::Error;
use crate::app::hosts::{self, Host as FleetHost};
use crate::app::{Project, Session};
use crate::config::{
    Config, PipelineCommand, PipelineRunOptions, PipelineStatusOptions, RollbackOptions, SshOptions,
};
use crate::exit::ExitCode;
use crate::model::{pattern, Desired, Pipeline, PipelineEnv};
use crate::pipeline::record::{
    release_id, short_commit, Action, History, NoTarget, Outcome, Record,
};
use crate::pipeline::run::{self, Event, Host, Job, Report};
use crate::pipeline::{git, notice, trigger, Resolved};
use crate::ssh::{Auth, PinnedKeys};
use crate::state::{Store, Timestamp};
use crate::ui::{self, Ui};

/// Time limit of each notification.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn command(
    config: &Config,
    ui: &Ui,
    command: &PipelineCommand,
) -> Result<ExitCode, Error> {
    match command {
        PipelineCommand::Run(args) => run_command(config, ui, args),
        PipelineCommand::Status(args) => status(config, ui, args),
    }
}

/// What a run needs besides the pipeline: who runs it, where, and how to log in.
pub(super) struct Deployer<'a> {
    pub(super) session: Session<'a>,
    pub(super) ui: &'a Ui,
    pub(super) auth: Auth,
    pub(super) stage_timeout: Duration,
}

fn run_command(config: &Config, ui: &Ui, args: &PipelineRunOptions) -> Result<ExitCode, Error> {
    let target = (args.file.as_path(), args.name.as_str());
    with_deployer(
        config,
        ui,
        target,
        &args.ssh,
        args.stage_timeout,
        async |deployer, pipeline, env| {
            let refs = git::ls_remote(&pipeline.repo, Duration::from_secs(60)).await?;
            let resolved = git::resolve(&refs, env, args.git_ref.as_deref())?;
            deployer.deploy(pipeline, &resolved).await
        },
    )
}

pub(super) fn rollback(
    config: &Config,
    ui: &Ui,
    args: &RollbackOptions,
) -> Result<ExitCode, Error> {
    let timeout = Duration::from_secs(600);
    let target = (args.file.as_path(), args.name.as_str());
    with_deployer(
        config,
        ui,
        target,
        &args.ssh,
        timeout,
        async |deployer, pipeline, _| deployer.rollback(pipeline, args.to.as_deref()).await,
    )
}

/// Evaluates the script (while the provider starts), finds pipeline `name`, connects, runs
/// `work` with a [`Deployer`], closes the connection, and turns the report into an exit code.
/// On the built-in emulator without an sshd behind its servers, nothing is tried: exit 4 with
/// a summary saying how to install it.
fn with_deployer(
    config: &Config,
    ui: &Ui,
    (script, name): (&Path, &str),
    ssh: &SshOptions,
    stage_timeout: Duration,
    work: impl AsyncFnOnce(&Deployer<'_>, &Pipeline, &PipelineEnv) -> Result<Record, Error>,
) -> Result<ExitCode, Error> {
    let (project, pending, evaluated) = super::open(config, ui, script)?;
    let desired = &evaluated.desired;
    let (pipeline, environment) = find(desired, name, script)?;
    let auth = hosts::auth(ssh.identity.as_deref(), desired, script)?;
    crate::app::runtime()?.block_on(async {
        let conn = pending.connect().await?;
        ui.note(&conn.banner);
        if let Some(why) = conn.ssh_unavailable() {
            let skipped = Skipped::no_ssh(format!("pipeline `{name}`"), why);
            conn.close().await;
            ui.skipped(&[skipped], false);
            return Ok(ExitCode::Skipped);
        }
        let deployer = Deployer {
            session: Session {
                project: &project,
                conn: &conn,
                evaluated: &evaluated,
            },
            ui,
            auth,
            stage_timeout,
        };
        let result = work(&deployer, pipeline, environment).await;
        conn.close().await;
        Ok(exit_code(&result?))
    })
}

fn status(config: &Config, ui: &Ui, args: &PipelineStatusOptions) -> Result<ExitCode, Error> {
    let script = &args.file;
    let project = Project::new(config, script);
    let evaluated = super::show_warnings(ui, project.evaluate()?);
    let desired = &evaluated.desired;
    if let Some(name) = &args.name {
        find(desired, name, script)?;
    }
    let state = project.state()?;
    let chosen: Vec<&Pipeline> = desired
        .pipelines
        .values()
        .filter(|p| args.name.as_ref().is_none_or(|n| *n == p.name))
        .collect();
    if args.json {
        let all: serde_json::Map<String, serde_json::Value> = chosen
            .iter()
            .map(|p| {
                let history =
                    serde_json::to_value(History::load(&state, &p.name)).unwrap_or_default();
                (p.name.clone(), history)
            })
            .collect();
        ui.json(&all).map_err(Error::Json)?;
        return Ok(ExitCode::Success);
    }
    if chosen.is_empty() {
        ui.out(&format!("{} declares no pipelines\n", script.display()));
    }
    for p in chosen {
        let history = History::load(&state, &p.name);
        ui.out(&ui::pipeline::status(
            &p.name,
            &config.env,
            &history,
            args.name.is_some(),
        ));
    }
    Ok(ExitCode::Success)
}

fn exit_code(record: &Record) -> ExitCode {
    match record.outcome {
        Outcome::Success => ExitCode::Success,
        Outcome::Failed => ExitCode::PartialFailure,
    }
}

/// The pipeline `name` and its entry for the selected environment.
fn find<'a>(
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
    pub(super) async fn deploy(
        &self,
        pipeline: &Pipeline,
        resolved: &Resolved,
    ) -> Result<Record, Error> {
        let mut store = super::locked(self.ui, self.session.project, "pipeline run")?;
        let result = self.deploy_locked(&mut store, pipeline, resolved).await;
        let closed = store.close();
        let record = result?;
        closed?;
        Ok(record)
    }

    async fn deploy_locked(
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
        self.ui.out(&ui::pipeline::header(
            &pipeline.name,
            &self.session.evaluated.desired.env,
            &resolved.name,
            &resolved.commit,
            &release,
            &names,
        ));
        let report = run::deploy(&prepared.job, self.emitter()).await;
        self.finish(
            store,
            &prepared,
            pipeline,
            Action::Deploy,
            started_at,
            report,
        )
        .await
    }

    /// Switches `pipeline` back to release `to` (or the one before the current).
    pub(super) async fn rollback(
        &self,
        pipeline: &Pipeline,
        to: Option<&str>,
    ) -> Result<Record, Error> {
        let mut store = super::locked(self.ui, self.session.project, "rollback")?;
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
            self.ui.out(&format!(
                "Rolling {} ({}) back to release {}\n",
                pipeline.name, self.session.evaluated.desired.env, target.release
            ));
            let report = run::rollback(&prepared.job, self.emitter()).await;
            self.finish(
                &mut store,
                &prepared,
                pipeline,
                Action::Rollback,
                Timestamp::now(),
                report,
            )
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

    fn emitter(&self) -> Arc<dyn Fn(Event) + Send + Sync> {
        let ui = self.ui.clone();
        Arc::new(move |event: Event| ui.out(&ui::pipeline::event(&event)))
    }

    /// Pins new host keys, records the run, prints the summary and notifies.
    async fn finish(
        &self,
        store: &mut Store,
        prepared: &Prepared,
        pipeline: &Pipeline,
        action: Action,
        started_at: Timestamp,
        report: Report,
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
        };
        update(store, &pipeline.name, |h| h.push(record.clone()))?;
        let env = &self.session.evaluated.desired.env;
        self.ui
            .out(&ui::pipeline::summary(&pipeline.name, env, &record));
        let notice = notice::Notice::new(&pipeline.name, env, &record);
        for (target, result) in notice::notify_all(&pipeline.notify, &notice, NOTIFY_TIMEOUT).await
        {
            let error = result.err();
            self.ui.note(
                ui::pipeline::notified(
                    &target,
                    error.as_ref().map(|e| e as &dyn std::fmt::Display),
                )
                .trim_end(),
            );
        }
        Ok(record)
    }
}

/// A run's hosts, ready to go.
struct Prepared {
    fleet: Vec<FleetHost>,
    pins: Arc<PinnedKeys>,
    job: Job,
}

impl trigger::Runner for Deployer<'_> {
    fn history(&self, pipeline: &str) -> History {
        self.session
            .project
            .state()
            .ok()
            .map(|state| History::load(&state, pipeline))
            .unwrap_or_default()
    }

    async fn deploy(&self, pipeline: &Pipeline, resolved: &Resolved) -> Result<Outcome, String> {
        match Deployer::deploy(self, pipeline, resolved).await {
            Ok(record) => Ok(record.outcome),
            Err(e) => Err(self.ui.report_text(&e).trim().to_owned()),
        }
    }
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
