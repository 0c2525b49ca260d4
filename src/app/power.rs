//! Powering servers on, off or rebooting them through the provider, in parallel, waiting for
//! each task: what `ict power` and a power schedule do.

use std::time::Duration;

use super::{Error, Session};
use crate::provider::{PowerOp, Provider as _, ServerId};
use crate::state::State;

/// What became of one server.
#[derive(Debug)]
pub enum Powered {
    /// Done: the provider's task finished.
    Done,
    /// Nothing sent: it already was on (`"on"`) or off (`"off"`).
    Already(&'static str),
    /// It cannot be reached: not created yet, or deleted outside ict.
    Absent(&'static str),
    Failed(String),
}

impl Session<'_> {
    /// Sends `op` to each server of `selected` that needs it and waits for the tasks; the
    /// results in fleet order.
    pub async fn power(
        &self,
        state: &State,
        selected: &[String],
        op: PowerOp,
    ) -> Result<Vec<(String, Powered)>, Error> {
        let fleet = self.fleet(state).await?;
        let mut out = Vec::new();
        let mut jobs = tokio::task::JoinSet::new();
        for (i, host) in fleet
            .iter()
            .filter(|h| selected.contains(&h.name))
            .enumerate()
        {
            let Some(id) = host.id else {
                let why = host.absence().unwrap_or("not created yet");
                out.push((i, host.name.clone(), Powered::Absent(why)));
                continue;
            };
            let already = match op {
                PowerOp::On if host.power_on => Some("on"),
                PowerOp::Off if !host.power_on => Some("off"),
                _ => None,
            };
            if let Some(power) = already {
                out.push((i, host.name.clone(), Powered::Already(power)));
                continue;
            }
            let client = self.conn.client.clone();
            let name = host.name.clone();
            jobs.spawn(async move {
                let id = ServerId(id);
                let result = async {
                    let action = client.power(id, op).await?;
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
                    client.wait_action(id, action.id, deadline).await
                }
                .await;
                let powered = match result {
                    Ok(_) => Powered::Done,
                    Err(e) => Powered::Failed(e.to_string()),
                };
                (i, name, powered)
            });
        }
        while let Some(joined) = jobs.join_next().await {
            if let Ok(done) = joined {
                out.push(done);
            }
        }
        out.sort_by_key(|(i, _, _)| *i);
        Ok(out.into_iter().map(|(_, name, p)| (name, p)).collect())
    }
}
