//! Schedules for the front ends: each with its next times and last run (`ict schedule list`),
//! and running one now under the environment's lock, its run recorded in the state
//! (`ict schedule run`, and `ict watch` when one is due).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deploy::{self, Deployer};
use super::{hosts, Error, ExecJob, HostOutput, Imaged, Locked, Powered, Project, Session};
use crate::config::Scope;
use crate::model::schedule::Action;
use crate::model::{pattern, suggest, Schedule};
use crate::pipeline::record::{Outcome as PipelineOutcome, Record};
use crate::provider::PowerOp;
use crate::reconcile::{self, Report};
use crate::schedule::{next_times, LastRun, Outcome, Runs};
use crate::script::Evaluated;
use crate::ssh::FanoutOptions;

/// How long one stage of a scheduled pipeline run may take on a host (as in `ict watch`).
const PIPELINE_STAGE_TIMEOUT: Duration = Duration::from_secs(1800);

/// How many next times `ict schedule list` shows.
pub const NEXT: usize = 5;

/// How long a schedule's `command` may run on one server.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3600);

/// One schedule as `ict schedule list` shows it.
#[derive(Debug)]
pub struct Listed<'a> {
    pub schedule: &'a Schedule,
    pub next: Vec<DateTime<Utc>>,
    pub last: Option<LastRun>,
    /// The newest runs, newest first (the last run is the first).
    pub history: Vec<LastRun>,
}

/// The script's schedules with their next times after `project.now()` and their last runs.
pub fn list<'a>(project: &Project, evaluated: &'a Evaluated) -> Result<Vec<Listed<'a>>, Error> {
    let state = project.state()?;
    let runs = Runs::read(&state);
    let now = project.now();
    Ok(evaluated
        .desired
        .schedules
        .values()
        .map(|schedule| Listed {
            schedule,
            next: next_times(schedule, now, NEXT),
            last: runs.get(&schedule.name).cloned(),
            history: Runs::history(&state, &schedule.name),
        })
        .collect())
}

/// The schedule `name`, or an error listing the declared ones.
pub fn find<'a>(
    project: &Project,
    evaluated: &'a Evaluated,
    name: &str,
) -> Result<&'a Schedule, Error> {
    let schedules = &evaluated.desired.schedules;
    schedules.get(name).ok_or_else(|| {
        let names = schedules.keys().map(String::as_str);
        let hint = match suggest(name, names) {
            Some(close) => format!("did you mean `{close}`?"),
            None if schedules.is_empty() => "the script declares no schedules".to_owned(),
            None => format!(
                "declared: {}",
                schedules.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        Error::UnknownSchedule {
            name: name.to_owned(),
            file: project.script.clone(),
            hint,
        }
    })
}

/// What one run did.
#[derive(Debug)]
pub enum Ran {
    Power(Vec<(String, Powered)>),
    Command(Vec<HostOutput>),
    Apply(Report),
    Image(Vec<(String, Imaged)>),
    Pipeline {
        pipeline: String,
        env: String,
        record: Box<Record>,
    },
}

impl Ran {
    /// Whether something failed.
    pub fn failed(&self) -> bool {
        match self {
            Ran::Power(powered) => powered.iter().any(|(_, p)| matches!(p, Powered::Failed(_))),
            Ran::Command(outputs) => outputs.iter().any(|o| {
                o.outcome
                    .as_ref()
                    .map_or(true, |r| r.exit_status != Some(0))
            }),
            Ran::Apply(report) => !report.complete(),
            Ran::Image(imaged) => imaged.iter().any(|(_, i)| i.failed()),
            Ran::Pipeline { record, .. } => record.outcome == PipelineOutcome::Failed,
        }
    }
}

/// A run, as recorded: when, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub record: LastRun,
    pub ran: Result<Ran, Error>,
}

impl Session<'_> {
    /// Runs `schedule` now, for its time `due`, under the environment's lock, and records the
    /// run in the state. A failure of the action is in the run; an error taking the lock or
    /// writing the state is the error.
    pub async fn run_schedule(
        &self,
        schedule: &Schedule,
        due: DateTime<Utc>,
    ) -> Result<Run, Error> {
        let locked = self.project.lock(&lock_command(schedule))?;
        self.run_locked(schedule, due, self.project.now(), locked)
            .await
    }

    /// [`Session::run_schedule`] with the lock taken.
    pub(super) async fn run_locked(
        &self,
        schedule: &Schedule,
        due: DateTime<Utc>,
        started: DateTime<Utc>,
        mut locked: Locked,
    ) -> Result<Run, Error> {
        let (store, ran) = self.act(schedule, due, locked.store).await;
        locked.store = store;
        let (outcome, message) = match &ran {
            Ok(ran) if ran.failed() => (Outcome::Failed, "failed on some servers".to_owned()),
            Ok(_) => (Outcome::Ok, String::new()),
            Err(e) => (Outcome::Failed, e.to_string()),
        };
        let record = LastRun {
            due,
            started,
            outcome,
            message,
        };
        record_in(locked, &schedule.name, record.clone())?;
        Ok(Run { record, ran })
    }

    /// Does what `schedule` says, with the locked `store`; gives the store back.
    async fn act(
        &self,
        schedule: &Schedule,
        due: DateTime<Utc>,
        mut store: crate::state::Store,
    ) -> (crate::state::Store, Result<Ran, Error>) {
        let servers = schedule.servers.as_deref().unwrap_or("all");
        let op = match &schedule.action {
            Action::PowerOff => PowerOp::Off,
            Action::PowerOn => PowerOp::On,
            Action::Reboot => PowerOp::Reboot,
            Action::Command { command } => {
                let selected: Vec<String> = pattern::select(servers, &self.evaluated.desired)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let desired = &self.evaluated.desired;
                let auth = match hosts::auth(None, desired, &self.project.script) {
                    Ok(auth) => auth,
                    Err(e) => return (store, Err(e)),
                };
                let job = ExecJob {
                    servers: selected,
                    command: command.clone(),
                    auth,
                    options: FanoutOptions {
                        command_timeout: COMMAND_TIMEOUT,
                        ..FanoutOptions::default()
                    },
                };
                let ran = self
                    .exec(&job)
                    .await
                    .map(|executed| Ran::Command(executed.outputs(&job.servers)));
                return (store, ran);
            }
            Action::Apply => return self.apply_now(store).await,
            Action::Image { keep } => {
                let selected: Vec<String> = pattern::select(servers, &self.evaluated.desired)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let ran = self
                    .take_images(&mut store, schedule, &selected, *keep, due)
                    .await
                    .map(Ran::Image);
                return (store, ran);
            }
            Action::Pipeline { pipeline } => return self.deploy_now(pipeline, store).await,
        };
        let selected: Vec<String> = pattern::select(servers, &self.evaluated.desired)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let ran = self
            .power(store.state(), &selected, op)
            .await
            .map(Ran::Power);
        (store, ran)
    }

    /// `ict pipeline run FILE NAME` with the locked `store`, its progress kept in the run's
    /// record only.
    async fn deploy_now(
        &self,
        name: &str,
        mut store: crate::state::Store,
    ) -> (crate::state::Store, Result<Ran, Error>) {
        let desired = &self.evaluated.desired;
        let script = &self.project.script;
        let found = deploy::find(desired, name, script)
            .and_then(|found| Ok((found, hosts::auth(None, desired, script)?)));
        let ((pipeline, environment), auth) = match found {
            Ok(found) => found,
            Err(e) => return (store, Err(e)),
        };
        let deployer = Deployer {
            session: *self,
            auth,
            stage_timeout: PIPELINE_STAGE_TIMEOUT,
            show: Arc::new(deploy::Quiet),
        };
        let record = deployer
            .deploy_newest(&mut store, pipeline, environment)
            .await;
        let ran = record.map(|record| Ran::Pipeline {
            pipeline: name.to_owned(),
            env: desired.env.clone(),
            record: Box::new(record),
        });
        (store, ran)
    }

    /// `ict apply --yes` with the locked `store`, without its question or progress.
    async fn apply_now(
        &self,
        store: crate::state::Store,
    ) -> (crate::state::Store, Result<Ran, Error>) {
        let desired = &self.evaluated.desired;
        let plan = match self.plan(desired, store.state(), &Scope::default()).await {
            Ok((plan, _)) => plan,
            Err(e) => return (store, Err(e)),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let options = reconcile::Options::default();
        let (mut store, report) = self.apply(store, &plan, options, stop, |_| {}).await;
        // As `ict apply --yes`: a complete apply records the script's outputs (a failure to
        // is logged; the apply itself succeeded).
        if report.as_ref().is_ok_and(Report::complete) {
            if let Err(e) = super::outputs::record(*self, &mut store).await {
                tracing::warn!("the outputs could not be recorded: {e}");
            }
        }
        (store, report.map(Ran::Apply))
    }
}

/// The holder name of the lock a run of `schedule` takes.
pub(super) fn lock_command(schedule: &Schedule) -> String {
    format!("schedule run {}", schedule.name)
}

/// Records `record` as the last run of `name` in the locked state, and releases the lock.
pub(super) fn record_in(mut locked: Locked, name: &str, record: LastRun) -> Result<(), Error> {
    let saved = locked.store.commit(|state| {
        Runs::record(state, name, record);
        Ok(())
    });
    let closed = locked.store.close();
    saved?;
    closed?;
    Ok(())
}
