//! A session: a project with its provider connected and its script evaluated — what plan,
//! apply, exec and every other front end work on. The same code paths for `ict plan`/`apply`/
//! `exec` and the REPL's `plan()`, `:apply` and `exec()`, cut so that a caller can ask for
//! confirmation between planning and applying.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::hosts::{self, Host};
use super::plan::target;
use super::{Error, Locked, Project};
use crate::config::Scope;
use crate::connect::Connection;
use crate::model::{self, pattern, Desired};
use crate::provider::{DcLocation, Image, Kinds, Observed, Provider as _};
use crate::reconcile::{self, Event, Plan, Report};
use crate::script::{Evaluated, Failure};
use crate::ssh::{self, ExecResult, FanoutOptions, HostKeyVerifier, PinnedKeys};
use crate::state::{State, Store};

/// A project, connected and evaluated.
#[derive(Clone, Copy)]
pub struct Session<'a> {
    pub project: &'a Project,
    pub conn: &'a Connection,
    pub evaluated: &'a Evaluated,
}

/// One server's answer to a command.
#[derive(Debug)]
pub struct HostOutput {
    pub name: String,
    /// The command's output, or why the server could not run it.
    pub outcome: Result<ExecResult, String>,
}

/// What to run where, for [`Session::exec`].
#[derive(Debug, Clone)]
pub struct ExecJob {
    /// Servers, as `ict exec --limit` takes them (`web`, `web-1`, `all:!db`).
    pub limit: String,
    pub command: String,
    /// Limit for the command on each server.
    pub timeout: Duration,
    /// Sessions to reuse and leave open (a front end that runs commands again and again: the
    /// REPL); `None`: a connection per server, closed after the command.
    pub connections: Option<ssh::Pool>,
}

impl Session<'_> {
    /// Observes the cloud and plans `desired` (the script's, or a part of it) against `state`;
    /// plan problems become script diagnostics. Also gives back the observation, for what the
    /// caller shows next to the plan.
    pub async fn plan(
        &self,
        desired: &Desired,
        state: &State,
        scope: &Scope,
    ) -> Result<(Plan, Observed), Error> {
        let (conn, evaluated) = (self.conn, self.evaluated);
        let servers: Vec<String> = evaluated.desired.servers.keys().cloned().collect();
        model::unknown_name(&scope.replace, &servers).map_err(Error::no_match("--replace"))?;
        // Only what this plan needs is read: a kind the script does not use cannot fail it.
        let kinds = reconcile::kinds(desired, state);
        let placed = !desired.servers.is_empty() || !desired.networks.is_empty();
        let images = async {
            if desired.servers.is_empty() {
                Ok(Vec::new())
            } else {
                conn.client.images().await
            }
        };
        let dcs = async {
            if placed {
                conn.client.dc_locations().await
            } else {
                Ok(Vec::new())
            }
        };
        let (observed, images, dcs): (Observed, Vec<Image>, Vec<DcLocation>) =
            tokio::try_join!(conn.client.observe(kinds), images, dcs)?;
        let input = reconcile::Input {
            desired,
            observed: &observed,
            images: &images,
            dcs: &dcs,
            state,
            replace: &scope.replace,
        };
        let plan = reconcile::plan(&input).map_err(|errors| {
            Error::from(Failure {
                sources: evaluated.sources.clone(),
                problems: errors.into_iter().map(Into::into).collect(),
            })
        })?;
        // A target may also be something only the state still has (the plan deletes it).
        let mut known = evaluated.desired.addresses();
        known.extend(plan.steps.iter().map(|s| s.address.to_string()));
        model::unknown_name(&scope.target, &known).map_err(Error::no_match("--target"))?;
        Ok((target(plan, &scope.target), observed))
    }

    /// The plan of the whole script against the cloud and the state, without taking the lock.
    pub async fn plan_unlocked(&self) -> Result<Plan, Error> {
        let state = self.project.state()?;
        let (plan, _) = self
            .plan(&self.evaluated.desired, &state, &Scope::default())
            .await?;
        Ok(plan)
    }

    /// Takes the environment's lock for `command`, then plans the whole script against the
    /// locked state: what [`Session::apply`] will do. On error the lock is released.
    pub async fn plan_locked(&self, command: &str) -> Result<(Locked, Plan), Error> {
        let locked = self.project.lock(command)?;
        let planned = self
            .plan(
                &self.evaluated.desired,
                locked.store.state(),
                &Scope::default(),
            )
            .await;
        match planned {
            Ok((plan, _)) => Ok((locked, plan)),
            Err(e) => {
                locked.store.close()?;
                Err(e)
            }
        }
    }

    /// Closes what an interrupted run left in the journal, then applies `plan` with `store`,
    /// reporting each event to `on_event`. Setting `stop` starts nothing new. Always gives
    /// the store back.
    pub async fn apply(
        &self,
        mut store: Store,
        plan: &Plan,
        options: reconcile::Options,
        stop: Arc<AtomicBool>,
        on_event: impl Fn(Event) + Send + Sync + 'static,
    ) -> (Store, Result<Report, Error>) {
        if let Err(e) = reconcile::settle(plan, &mut store) {
            return (store, Err(e.into()));
        }
        let (store, report) = reconcile::apply(
            plan,
            self.conn.client.clone(),
            store,
            options,
            stop,
            on_event,
        )
        .await;
        (store, Ok(report))
    }

    /// The declared servers with what the cloud reports about them now.
    pub async fn fleet(&self, state: &State) -> Result<Vec<Host>, Error> {
        let observed = self.conn.client.observe(Kinds::SERVERS).await?;
        Ok(hosts::fleet(&self.evaluated.desired, state, &observed))
    }

    /// Runs the job's command over SSH on the declared servers matching its limit (as `ict
    /// exec`), checking and pinning host keys. Servers come back in declaration order, with the
    /// notes of recording new keys.
    pub async fn exec(&self, job: &ExecJob) -> Result<(Vec<HostOutput>, Vec<String>), Error> {
        let desired = &self.evaluated.desired;
        let (limit, command) = (job.limit.as_str(), job.command.as_str());
        let selected: Vec<String> = pattern::select(limit, desired)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if selected.is_empty() {
            return Err(Error::PatternMatchesNothing {
                pattern: limit.to_owned(),
            });
        }
        let auth = hosts::auth(None, desired, &self.project.script)?;
        let state = self.project.state()?;
        let fleet = self.fleet(&state).await?;
        let chosen: Vec<&Host> = fleet
            .iter()
            .filter(|h| selected.contains(&h.name))
            .collect();
        let targets: Vec<ssh::Target> = chosen.iter().filter_map(|h| h.target()).collect();
        let pins = hosts::pins(&state, &fleet);
        let verifier: Arc<dyn HostKeyVerifier> = pins.clone();
        let options = FanoutOptions {
            command_timeout: job.timeout,
            pool: job.connections.clone(),
            ..FanoutOptions::default()
        };
        let mut results = ssh::exec_many(&targets, &auth, verifier, command, &options).await;
        let notes = self.project.save_pins_if_unlocked(&pins, &fleet, "exec");
        let outputs = chosen
            .iter()
            .map(|host| {
                let found = results.iter().position(|r| r.target.name == host.name);
                let outcome = match found.map(|i| results.remove(i)) {
                    Some(result) => result.outcome.map_err(|e| e.to_string()),
                    None => Err("not created yet (no IP address)".to_owned()),
                };
                HostOutput {
                    name: host.name.clone(),
                    outcome,
                }
            })
            .collect();
        Ok((outputs, notes))
    }
}

impl Project {
    /// Records host keys pinned on first contact, if the state is not locked by another
    /// command (then they are pinned again next time: nothing is lost but the record). Gives
    /// back the notes to show: what taking the lock found, or why the keys were not recorded.
    pub fn save_pins_if_unlocked(
        &self,
        pins: &PinnedKeys,
        fleet: &[Host],
        command: &str,
    ) -> Vec<String> {
        if pins.newly_pinned().is_empty() {
            return Vec::new();
        }
        match self.lock(command) {
            Ok(Locked {
                mut store,
                mut notes,
            }) => {
                if let Err(e) = hosts::save_pins(&mut store, pins, fleet) {
                    notes.push(format!("warning: could not record host keys: {e}"));
                }
                let _ = store.close();
                notes
            }
            Err(_) => vec![
                "note: the state is locked by another command; new host keys were not \
                 recorded this time"
                    .to_owned(),
            ],
        }
    }
}
