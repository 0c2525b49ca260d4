//! Keeps the dashboard's [`Board`] current: at start, every round (at most every
//! [`AT_MOST_EVERY`], to spare the cloud's API) and after each action, it reads the state and
//! looks at the cloud through the `app` layer:
//! the servers (declared or not, power, IP), each pipeline's runs and releases in this
//! environment, and the schedules with their next times.

use std::future::Future;
use std::time::Duration;

use super::{Board, Facts, PipelineFacts, ServerFacts};
use crate::app::{hosts, Error, Session};
use crate::pipeline::record::History;
use crate::provider::{Kinds, Provider as _};
use crate::state::{Kind, Timestamp};

/// The shortest time between two looks at the cloud.
pub(super) const AT_MOST_EVERY: Duration = Duration::from_secs(10);

/// Refreshes `board` every `interval` (at least [`AT_MOST_EVERY`]) until `stop` completes; the
/// first time one interval after the [`refresh`] that comes before the dashboard answers.
pub async fn keep(
    session: Session<'_>,
    board: &Board,
    interval: Duration,
    stop: impl Future<Output = ()>,
) {
    let every = interval.max(AT_MOST_EVERY);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(every) => {}
        }
        refresh(session, board).await;
    }
}

/// Refreshes `board` now (keeping the last drift check's result).
pub async fn refresh(session: Session<'_>, board: &Board) {
    let result = facts(session).await;
    board.update(|facts| match result {
        Ok(fresh) => {
            let drift = facts.drift.take();
            *facts = Facts { drift, ..fresh };
        }
        Err(e) => facts.error = Some(e.to_string()),
    });
}

/// What the state and the cloud say now.
async fn facts(session: Session<'_>) -> Result<Facts, Error> {
    let desired = &session.evaluated.desired;
    let state = session.project.state()?;
    let observed = session.conn.client.observe(Kinds::SERVERS).await?;
    let mut servers: Vec<ServerFacts> = hosts::fleet(desired, &state, &observed)
        .into_iter()
        .map(|h| ServerFacts {
            power: match (h.id, h.power_on) {
                (None, _) => "absent",
                (Some(_), true) => "on",
                (Some(_), false) => "off",
            },
            name: h.name,
            managed: true,
            ip: h.ip,
        })
        .collect();
    servers.extend(
        observed
            .servers
            .iter()
            .filter(|s| state.find_by_id(Kind::Server, s.id.0).is_none())
            .map(|s| ServerFacts {
                name: s.name.clone(),
                managed: false,
                power: if s.power_on { "on" } else { "off" },
                ip: s.ip.clone(),
            }),
    );
    let pipelines = desired
        .pipelines
        .values()
        .filter(|p| p.environments.contains_key(&desired.env))
        .map(|p| {
            let history = History::load(&state, &p.name);
            PipelineFacts {
                name: p.name.clone(),
                current: history.current.clone(),
                releases: history
                    .releases()
                    .into_iter()
                    .take(usize::try_from(p.keep).unwrap_or(usize::MAX))
                    .map(|r| r.release.clone())
                    .collect(),
                runs: history.records.iter().rev().cloned().collect(),
                history,
            }
        })
        .collect();
    let listed = crate::app::schedule::list(session.project, session.evaluated)?;
    let mut listed = crate::ui::schedule::list_json(&listed);
    let schedules = listed["schedules"].take();
    Ok(Facts {
        env: desired.env.clone(),
        refreshed_at: Some(Timestamp::now().unix()),
        error: None,
        servers,
        drift: None,
        pipelines,
        schedules,
    })
}
