//! Making a release live on every host: remember what `current` was, switch it atomically,
//! restart the service and check its health; prune old releases once every host is healthy.
//! If the switch, the restart or the health check fails anywhere, every host already
//! switched goes back to its previous release (switch + restart), or — for a first release —
//! has its service stopped and `current` removed: an automatic rollback. Depends on `ssh` and
//! `pipeline::{remote, health, run}`.

use std::time::Duration;

use super::record::StageLog;
use super::remote::Scripts;
use super::run::{reported_stage, step_ok, Emit, Event, Failure, Job};
use crate::ssh::Session;

/// What activating a release did.
#[derive(Debug, Default)]
pub(super) struct Activated {
    pub failure: Option<Failure>,
    /// The health checks, one per host checked.
    pub logs: Vec<StageLog>,
}

/// Switch + restart + health on every host (in order), then prune; reverts on failure.
/// `discard`: remove the release from the hosts if it does not go live (a new deploy).
pub(super) async fn activate(
    job: &Job,
    sessions: &[(Session, bool)],
    emit: &Emit,
    discard: bool,
) -> Activated {
    let mut out = Activated::default();
    let timeout = Duration::from_secs(120);
    // (session index, the release that was current before) of each host switched.
    let mut switched: Vec<(usize, Option<String>)> = Vec::new();
    for (i, (session, root)) in sessions.iter().enumerate() {
        let host = session.target().name.clone();
        let scripts = Scripts {
            pipeline: &job.pipeline,
            root: *root,
        };
        let previous = match session.exec(&scripts.current(), timeout).await {
            Ok(r) if r.success() => Some(r.stdout.trim().to_owned()).filter(|p| !p.is_empty()),
            _ => None,
        };
        if let Err(tail) = step_ok(
            session.exec(&scripts.switch(&job.release), timeout).await,
            job,
        ) {
            out.failure = Some(fail(host, "switch", tail));
            break;
        }
        switched.push((i, previous));
        emit(Event::Switched {
            host: host.clone(),
            release: job.release.clone(),
        });
        let Some(service) = &job.pipeline.service else {
            continue;
        };
        if let Err(tail) = step_ok(
            session
                .exec(&scripts.restart(&service.command), timeout)
                .await,
            job,
        ) {
            out.failure = Some(fail(host, "restart", tail));
            break;
        }
        emit(Event::Restarted { host: host.clone() });
        if let Some(script) = scripts.health(service) {
            let log = health(job, session, &script, emit, service.timeout).await;
            let ok = log.ok;
            let tail = log.tail.clone();
            out.logs.push(log);
            if !ok {
                out.failure = Some(fail(host, "health", tail));
                break;
            }
        }
    }
    if out.failure.is_none() {
        for (session, root) in sessions {
            let scripts = Scripts {
                pipeline: &job.pipeline,
                root: *root,
            };
            let _ = session.exec(&scripts.prune(), timeout).await;
        }
        return out;
    }
    for (i, previous) in switched {
        let (session, root) = &sessions[i];
        revert(job, session, *root, previous, emit).await;
    }
    if discard {
        for (session, root) in sessions {
            let scripts = Scripts {
                pipeline: &job.pipeline,
                root: *root,
            };
            let _ = session.exec(&scripts.discard(&job.release), timeout).await;
        }
    }
    out
}

/// Runs the health check on one host, reporting it like a stage.
async fn health(
    job: &Job,
    session: &Session,
    script: &str,
    emit: &Emit,
    limit: Duration,
) -> StageLog {
    let work = session.exec(script, limit + Duration::from_secs(30));
    reported_stage(job, session.target().name.clone(), "health", emit, work).await
}

/// Puts one host back as it was: the previous release live again, or nothing running.
async fn revert(job: &Job, session: &Session, root: bool, previous: Option<String>, emit: &Emit) {
    let host = session.target().name.clone();
    let scripts = Scripts {
        pipeline: &job.pipeline,
        root,
    };
    let timeout = Duration::from_secs(120);
    let Some(previous) = previous else {
        let _ = session.exec(&scripts.stop(), timeout).await;
        emit(Event::Reverted {
            host,
            release: None,
        });
        return;
    };
    if previous == job.release {
        return;
    }
    if session
        .exec(&scripts.switch(&previous), timeout)
        .await
        .is_ok_and(|r| r.success())
    {
        if let Some(service) = &job.pipeline.service {
            let _ = session
                .exec(&scripts.restart(&service.command), timeout)
                .await;
        }
        emit(Event::Reverted {
            host,
            release: Some(previous),
        });
    }
}

fn fail(host: String, stage: &str, tail: String) -> Failure {
    Failure {
        host,
        stage: stage.to_owned(),
        tail,
    }
}
