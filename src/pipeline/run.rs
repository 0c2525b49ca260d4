//! Running a pipeline over SSH: set up the declared database on its host, then on every host
//! at once prepare the user and folders, fetch the one resolved commit into a new release,
//! write its env file and run the stages; only when every stage passed on every host, switch
//! `current`, restart the service and check its health on each (`activate`, which puts the
//! previous release back if that fails), then prune old releases. A failing stage discards the
//! new release everywhere and leaves `current` and the running service untouched. Rollback is
//! the switch + restart + health check alone.
//!
//! Progress is reported as [`Event`]s through a callback (only `ui` prints). Stage output
//! arrives when the stage ends (the SSH layer collects a command's output), each line named
//! with its host and stage; secret values are replaced by `(sensitive)` before anything leaves
//! this module. Depends on `ssh`, `model` and `pipeline::{remote, record}`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::activate::activate;
use super::record::StageLog;
use super::remote::{Scripts, SANDBOX_READY};
use crate::model::{Pipeline, SENSITIVE};
use crate::ssh::{Auth, ExecResult, HostKeyVerifier, Session, SshError, Target};

/// How many lines of a failing step are kept and sent.
pub const TAIL_LINES: usize = 30;

/// One host to deploy to.
#[derive(Debug, Clone)]
pub struct Host {
    pub target: Target,
    /// The app's environment on this host (`ICT_*` and the declared `env`, secrets resolved).
    pub vars: Vec<(String, String)>,
}

/// Everything one run needs.
#[derive(Clone)]
pub struct Job {
    pub pipeline: Arc<Pipeline>,
    pub release: String,
    pub ref_name: String,
    pub commit: String,
    pub hosts: Vec<Host>,
    pub auth: Auth,
    pub verifier: Arc<dyn HostKeyVerifier>,
    /// Values to hide from logs (resolved secrets).
    pub secrets: Vec<String>,
    pub stage_timeout: Duration,
    /// The database to set up before the stages, if the pipeline declares one.
    pub database: Option<DbJob>,
}

/// The database host and the setup script for it (`pipeline::database::setup`).
#[derive(Clone)]
pub struct DbJob {
    pub target: Target,
    /// Contains the password: never shown (its output is redacted like every step's).
    pub script: String,
}

/// Something a run reports.
#[derive(Debug, Clone)]
pub enum Event {
    StageStarted {
        host: String,
        stage: String,
    },
    Line {
        host: String,
        stage: String,
        line: String,
    },
    StageDone {
        host: String,
        stage: String,
        ok: bool,
        seconds: f64,
    },
    Switched {
        host: String,
        release: String,
    },
    Restarted {
        host: String,
    },
    /// A release did not go live: the host is back on `release` (`None`: nothing runs).
    Reverted {
        host: String,
        release: Option<String>,
    },
}

/// One line of progress, as the terminal shows it and the run's log keeps it: `host | stage |
/// output line`, or a stage starting or ending.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::StageStarted { host, stage } => write!(f, "{host} | {stage} | ▶ started"),
            Event::Line { host, stage, line } => write!(f, "{host} | {stage} | {line}"),
            Event::StageDone {
                host,
                stage,
                ok,
                seconds,
            } => {
                let mark = if *ok { "✓ passed" } else { "✗ FAILED" };
                write!(f, "{host} | {stage} | {mark} ({seconds:.1}s)")
            }
            Event::Switched { host, release } => write!(f, "{host} | current → {release}"),
            Event::Restarted { host } => write!(f, "{host} | service restarted"),
            Event::Reverted {
                host,
                release: Some(release),
            } => write!(f, "{host} | current → {release} again (automatic rollback)"),
            Event::Reverted {
                host,
                release: None,
            } => write!(
                f,
                "{host} | service stopped: no earlier release to go back to"
            ),
        }
    }
}

/// Where and why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub host: String,
    /// A declared stage, or one of ict's steps (`connect`, `prepare`, `fetch`, `switch`, ...).
    pub stage: String,
    pub tail: String,
}

/// What a run did on the hosts.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub stages: Vec<StageLog>,
    /// `None` when every step passed everywhere.
    pub failure: Option<Failure>,
}

pub(super) type Emit = Arc<dyn Fn(Event) + Send + Sync>;

/// Deploys `job.commit` to every host (see the module comment).
pub async fn deploy(job: &Job, emit: Emit) -> Report {
    let mut report = Report::default();
    if let Some(db) = &job.database {
        let log = database(job, db, &emit).await;
        let failed = (!log.ok).then(|| Failure {
            host: log.host.clone(),
            stage: log.stage.clone(),
            tail: log.tail.clone(),
        });
        report.stages.push(log);
        if failed.is_some() {
            report.failure = failed;
            return report;
        }
    }
    let mut sessions = Vec::new();
    let mut tasks = JoinSet::new();
    for host in job.hosts.clone() {
        let (job, emit) = (job.clone(), emit.clone());
        tasks.spawn(async move { build_one(&job, host, &emit).await });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((session, logs, failure)) = joined else {
            continue;
        };
        report.stages.extend(logs);
        if let Some(f) = failure {
            report.failure.get_or_insert(f);
        }
        if let Some(s) = session {
            sessions.push(s);
        }
    }
    report.stages.sort_by(|a, b| a.host.cmp(&b.host));
    if report.failure.is_some() {
        for (session, scripts_root) in &sessions {
            let scripts = Scripts {
                pipeline: &job.pipeline,
                root: *scripts_root,
            };
            let _ = session
                .exec(&scripts.discard(&job.release), Duration::from_secs(60))
                .await;
        }
    } else {
        let activated = activate(job, &sessions, &emit, true).await;
        report.failure = activated.failure;
        report.stages.extend(activated.logs);
    }
    for (session, _) in sessions {
        session.close().await;
    }
    report
}

/// Sets the database up on its host, reported as the stage `database`.
async fn database(job: &Job, db: &DbJob, emit: &Emit) -> StageLog {
    let work = async {
        let session = connect(job, &db.target).await?;
        let scripts = Scripts {
            pipeline: &job.pipeline,
            root: db.target.user == "root",
        };
        // The script holds the role's password: it goes over standard input.
        let result = session
            .exec_streaming(
                &scripts.stdin_script(),
                Some(db.script.as_bytes()),
                Duration::from_secs(900),
                |_, _| {},
            )
            .await;
        session.close().await;
        result
    };
    reported_stage(job, db.target.name.clone(), "database", emit, work).await
}

/// Runs `work` reported as stage `stage` on `host`: started, its output (secrets removed),
/// done.
pub(super) async fn reported_stage(
    job: &Job,
    host: String,
    stage: &str,
    emit: &Emit,
    work: impl std::future::Future<Output = Result<ExecResult, SshError>>,
) -> StageLog {
    let stage = stage.to_owned();
    emit(Event::StageStarted {
        host: host.clone(),
        stage: stage.clone(),
    });
    let started = Instant::now();
    let result = work.await;
    let seconds = started.elapsed().as_secs_f64();
    let (ok, output) = match &result {
        Ok(r) => (r.success(), format!("{}{}", r.stdout, r.stderr)),
        Err(e) => (false, e.to_string()),
    };
    let output = redact(&output, &job.secrets);
    for line in output.lines() {
        emit(Event::Line {
            host: host.clone(),
            stage: stage.clone(),
            line: line.to_owned(),
        });
    }
    emit(Event::StageDone {
        host: host.clone(),
        stage: stage.clone(),
        ok,
        seconds,
    });
    StageLog {
        host,
        stage,
        ok,
        seconds,
        tail: tail(&output),
    }
}

/// Points `current` at `release` on every host (which must all still have it) and restarts.
pub async fn rollback(job: &Job, emit: Emit) -> Report {
    let mut sessions = Vec::new();
    let mut report = Report::default();
    for host in &job.hosts {
        match connect(job, &host.target).await {
            Ok(session) => {
                let root = host.target.user == "root";
                let scripts = Scripts {
                    pipeline: &job.pipeline,
                    root,
                };
                let kept = session
                    .exec(&scripts.has_release(&job.release), Duration::from_secs(30))
                    .await;
                if !kept.as_ref().is_ok_and(ExecResult::success) {
                    report.failure = Some(Failure {
                        host: host.target.name.clone(),
                        stage: "rollback".into(),
                        tail: format!("release {} is no longer on this host", job.release),
                    });
                }
                sessions.push((session, root));
            }
            Err(e) => {
                report.failure = Some(Failure {
                    host: host.target.name.clone(),
                    stage: "connect".into(),
                    tail: e.to_string(),
                });
            }
        }
    }
    if report.failure.is_none() {
        let activated = activate(job, &sessions, &emit, false).await;
        report.failure = activated.failure;
        report.stages.extend(activated.logs);
    }
    for (session, _) in sessions {
        session.close().await;
    }
    report
}

async fn connect(job: &Job, target: &Target) -> Result<Session, SshError> {
    Session::connect(
        target,
        &job.auth,
        job.verifier.as_ref(),
        Duration::from_secs(20),
    )
    .await
}

/// Prepare, fetch, env file and stages on one host; the session is kept for the switch.
async fn build_one(
    job: &Job,
    host: Host,
    emit: &Emit,
) -> (Option<(Session, bool)>, Vec<StageLog>, Option<Failure>) {
    let name = host.target.name.clone();
    let fail = |stage: &str, tail: String| {
        Some(Failure {
            host: name.clone(),
            stage: stage.to_owned(),
            tail,
        })
    };
    let session = match connect(job, &host.target).await {
        Ok(s) => s,
        Err(e) => return (None, Vec::new(), fail("connect", e.to_string())),
    };
    let root = host.target.user == "root";
    let scripts = Scripts {
        pipeline: &job.pipeline,
        root,
    };
    let delimiter = format!("ICT_ENV_{}", rand::random::<u64>());
    // The env file holds secrets: its script goes over standard input, never on a command line.
    let steps = [
        ("prepare", scripts.prepare(), None),
        (
            "fetch",
            scripts.fetch(&job.release, &job.pipeline.repo, &job.ref_name, &job.commit),
            None,
        ),
        (
            "env",
            scripts.stdin_script(),
            Some(scripts.env_file(&job.release, &host.vars, &delimiter)),
        ),
    ];
    let mut sandboxed = false;
    for (step, command, input) in steps {
        let input = input.as_ref().map(String::as_bytes);
        let result = session
            .exec_streaming(&command, input, Duration::from_secs(600), |_, _| {})
            .await;
        if let Ok(r) = &result {
            sandboxed |= step == "prepare" && r.stdout.lines().any(|l| l == SANDBOX_READY);
        }
        if let Err(tail) = step_ok(result, job) {
            return (Some((session, root)), Vec::new(), fail(step, tail));
        }
    }
    if sandboxed {
        emit(Event::Line {
            host: name.clone(),
            stage: "prepare".to_owned(),
            line: "stages run in a bubblewrap container".to_owned(),
        });
    }
    let mut logs = Vec::new();
    for stage in &job.pipeline.stages {
        emit(Event::StageStarted {
            host: name.clone(),
            stage: stage.name.clone(),
        });
        let started = Instant::now();
        // Each line is shown as the stage prints it.
        let result = session
            .exec_streaming(
                &scripts.stage(&job.release, &stage.command, sandboxed),
                None,
                job.stage_timeout,
                |_, line| {
                    emit(Event::Line {
                        host: name.clone(),
                        stage: stage.name.clone(),
                        line: redact(line, &job.secrets),
                    });
                },
            )
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let (ok, output) = match &result {
            Ok(r) => (r.success(), format!("{}{}", r.stdout, r.stderr)),
            Err(e) => {
                let message = e.to_string();
                emit(Event::Line {
                    host: name.clone(),
                    stage: stage.name.clone(),
                    line: message.clone(),
                });
                (false, message)
            }
        };
        let output = redact(&output, &job.secrets);
        emit(Event::StageDone {
            host: name.clone(),
            stage: stage.name.clone(),
            ok,
            seconds,
        });
        let mut tail = tail(&output);
        if let Ok(ExecResult {
            exit_status: Some(code),
            ..
        }) = &result
        {
            if *code != 0 {
                let _ = write!(tail, "\n(exit status {code})");
            }
        }
        logs.push(StageLog {
            host: name.clone(),
            stage: stage.name.clone(),
            ok,
            seconds,
            tail: tail.clone(),
        });
        if !ok {
            return (Some((session, root)), logs, fail(&stage.name, tail));
        }
    }
    (Some((session, root)), logs, None)
}

/// `Ok` when the step succeeded, else the tail of its output (secrets removed).
pub(super) fn step_ok(result: Result<ExecResult, SshError>, job: &Job) -> Result<(), String> {
    match result {
        Ok(r) if r.success() => Ok(()),
        Ok(r) => {
            let text = redact(&format!("{}{}", r.stdout, r.stderr), &job.secrets);
            let status = r.exit_status.map_or_else(
                || "no exit status".to_owned(),
                |c| format!("exit status {c}"),
            );
            Err(format!("{}\n({status})", tail(&text))
                .trim_start()
                .to_owned())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The last [`TAIL_LINES`] lines of `text`.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// `text` with every secret value replaced by `(sensitive)` (values shorter than 4
/// characters are left alone: they would mangle ordinary text and protect little).
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), SENSITIVE);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_and_redaction() {
        let text = (1..=40).fold(String::new(), |mut t, i| {
            let _ = writeln!(t, "line {i}");
            t
        });
        let t = tail(&text);
        assert!(t.starts_with("line 11\n") && t.ends_with("line 40"), "{t}");
        assert_eq!(
            redact("key=hunter22 and abc", &["hunter22".into(), "abc".into()]),
            "key=(sensitive) and abc"
        );
    }
}
