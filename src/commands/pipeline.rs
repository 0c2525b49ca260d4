//! `ict pipeline run|status` and `ict rollback`: thin adapters over [`crate::app::deploy`],
//! showing a run's progress in the terminal ([`Terminal`]); `ict watch` uses the same
//! [`Runner`] to run a pipeline when its repository moves.

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::doctor::Skipped;
use super::Error;
use crate::app::deploy::{self, find, Deployer, Show, Started};
use crate::app::hosts;
use crate::app::{Project, Session};
use crate::config::{
    Config, PipelineCommand, PipelineRunOptions, PipelineStatusOptions, RollbackOptions, SshOptions,
};
use crate::exit::ExitCode;
use crate::model::{Pipeline, PipelineEnv};
use crate::pipeline::record::{History, Outcome, Record};
use crate::pipeline::run::Event;
use crate::pipeline::{trigger, Resolved};
use crate::ui::{self, Ui};

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

/// A run's progress in the terminal.
pub(super) struct Terminal(pub(super) Ui);

impl Show for Terminal {
    fn note(&self, note: &str) {
        self.0.note(note);
    }

    fn started(&self, run: &Started<'_>) {
        self.0.out(&ui::pipeline::header(
            run.pipeline,
            run.env,
            run.ref_name,
            run.commit,
            run.release,
            run.hosts,
        ));
    }

    fn rolling_back(&self, pipeline: &str, env: &str, release: &str) {
        self.0.out(&format!(
            "Rolling {pipeline} ({env}) back to release {release}\n"
        ));
    }

    fn event(&self, event: &Event) {
        self.0.out(&ui::pipeline::event(event));
    }

    fn finished(&self, pipeline: &str, env: &str, record: &Record) {
        self.0.out(&ui::pipeline::summary(pipeline, env, record));
    }

    fn notified(&self, target: &str, error: Option<&dyn Display>) {
        self.0
            .note(ui::pipeline::notified(target, error).trim_end());
    }
}

/// What `ict watch` runs when a repository moves: a [`Deployer`] showing in the terminal.
pub(super) struct Runner<'a> {
    pub(super) deployer: Deployer<'a>,
    pub(super) ui: &'a Ui,
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
            let resolved = deploy::resolve(pipeline, env, args.git_ref.as_deref()).await?;
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
            auth,
            stage_timeout,
            show: Arc::new(Terminal(ui.clone())),
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

impl trigger::Runner for Runner<'_> {
    fn history(&self, pipeline: &str) -> History {
        self.deployer
            .session
            .project
            .state()
            .ok()
            .map(|state| History::load(&state, pipeline))
            .unwrap_or_default()
    }

    async fn deploy(&self, pipeline: &Pipeline, resolved: &Resolved) -> Result<Outcome, String> {
        match self.deployer.deploy(pipeline, resolved).await {
            Ok(record) => Ok(record.outcome),
            Err(e) => Err(self.ui.report_text(&e).trim().to_owned()),
        }
    }
}
