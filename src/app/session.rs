//! A session: a project with its provider connected and its script evaluated — what plan,
//! apply, exec and every other front end work on. The same code paths for `ict plan`/`apply`/
//! `exec` and the REPL's `plan()`, `:apply` and `exec()`, cut so that a caller can ask for
//! confirmation between planning and applying.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::hosts::{self, Host};
use super::plan::target;
use super::{Error, Locked, Project};
use crate::config::Scope;
use crate::connect::Connection;
use crate::model::{self, Desired};
use crate::provider::{DcLocation, Image, Kinds, Observed, Provider as _};
use crate::reconcile::{self, Event, Plan, Report};
use crate::schedule;
use crate::script::{Evaluated, Failure};
use crate::ssh::{self, Auth, ExecResult, FanoutOptions, HostKeyVerifier, HostResult, PinnedKeys};
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

/// A command to run on some declared servers, for [`Session::exec`].
#[derive(Clone)]
pub struct ExecJob {
    /// The servers, by name (what `--limit` selected).
    pub servers: Vec<String>,
    pub command: String,
    /// How to log in ([`hosts::auth`]).
    pub auth: Auth,
    pub options: FanoutOptions,
}

/// What [`Session::exec`] did.
#[derive(Debug)]
pub struct Executed {
    /// One per server that has an address, in declaration order.
    pub results: Vec<HostResult>,
    /// The servers that could not be tried, and why (not created, deleted outside ict).
    pub missing: Vec<(String, &'static str)>,
    /// What recording new host keys found worth saying.
    pub notes: Vec<String>,
}

impl Executed {
    /// Every server's answer, tried or not, in declaration order.
    pub fn outputs(self, servers: &[String]) -> Vec<HostOutput> {
        let mut results = self.results;
        servers
            .iter()
            .map(|name| {
                let found = results.iter().position(|r| r.target.name == *name);
                let outcome = match found.map(|i| results.remove(i)) {
                    Some(result) => result.outcome.map_err(|e| e.to_string()),
                    None => Err(self
                        .missing
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("has no public IP yet", |(_, why)| why)
                        .to_owned()),
                };
                HostOutput {
                    name: name.clone(),
                    outcome,
                }
            })
            .collect()
    }
}

impl Session<'_> {
    /// Observes the cloud and plans `desired` (the script's, or a part of it) against `state`;
    /// plan problems become script diagnostics. Also gives back the observation, for what the
    /// caller shows next to the plan. A server's power is what its schedules say now, when they
    /// say otherwise than the script (a note in the plan says so).
    pub async fn plan(
        &self,
        desired: &Desired,
        state: &State,
        scope: &Scope,
    ) -> Result<(Plan, Observed), Error> {
        let (conn, evaluated) = (self.conn, self.evaluated);
        let (desired, by_schedule) = schedule::declared_power(desired, self.project.now());
        let desired = &desired;
        let servers: Vec<String> = evaluated.desired.servers.keys().cloned().collect();
        model::unknown_name(&scope.replace, &servers).map_err(Error::no_match("--replace"))?;
        // Only what this plan needs is read: a kind the script does not use cannot fail it.
        let kinds = reconcile::kinds(desired, state);
        let placed = !desired.servers.is_empty() || !desired.networks.is_empty();
        let catalogue = reconcile::needs_catalogue(desired, state);
        let images = async {
            if catalogue {
                conn.client.images().await
            } else {
                Ok(Vec::new())
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
        let mut plan = reconcile::plan(&input).map_err(|errors| {
            Error::from(Failure {
                sources: evaluated.sources.clone(),
                problems: errors.into_iter().map(Into::into).collect(),
            })
        })?;
        plan.notes = by_schedule
            .iter()
            .map(|by| format!("server.{}: {by}", by.server))
            .collect();
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
        // Under a shared backend's lease, a holder paused past it sends nothing more: another
        // may have taken over and settled its unfinished creates as never sent.
        let client = self.conn.client.with_send_guard(store.send_guard());
        let (store, report) = reconcile::apply(plan, client, store, options, stop, on_event).await;
        (store, Ok(report))
    }

    /// The declared servers with what the cloud reports about them now.
    pub async fn fleet(&self, state: &State) -> Result<Vec<Host>, Error> {
        let observed = self.conn.client.observe(Kinds::SERVERS).await?;
        Ok(hosts::fleet(&self.evaluated.desired, state, &observed))
    }

    /// [`Session::fleet`] once every created, running server has an address, or `within` has
    /// passed: on libvirt a machine's address comes from its network's DHCP after it boots.
    pub async fn fleet_addressed(
        &self,
        state: &State,
        within: std::time::Duration,
    ) -> Result<Vec<Host>, Error> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let fleet = self.fleet(state).await?;
            let waiting = fleet.iter().any(Host::awaits_address);
            if !waiting || tokio::time::Instant::now() >= deadline {
                return Ok(fleet);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// Runs the job's command over SSH on its servers (as `ict exec`), checking host keys
    /// and pinning them on first contact (recorded unless another command holds the lock).
    pub async fn exec(&self, job: &ExecJob) -> Result<Executed, Error> {
        let state = self.project.state()?;
        let fleet = self.fleet(&state).await?;
        let chosen: Vec<&Host> = fleet
            .iter()
            .filter(|h| job.servers.contains(&h.name))
            .collect();
        let targets: Vec<ssh::Target> = chosen.iter().filter_map(|h| h.target()).collect();
        let missing = chosen
            .iter()
            .filter(|h| h.ip.is_none())
            .map(|h| {
                let why = h.no_address();
                (h.name.clone(), why)
            })
            .collect();
        let pins = hosts::pins(&state, &fleet);
        let verifier: Arc<dyn HostKeyVerifier> = pins.clone();
        let results =
            ssh::exec_many(&targets, &job.auth, verifier, &job.command, &job.options).await;
        let notes = self.project.save_pins_if_unlocked(&pins, &fleet, "exec");
        Ok(Executed {
            results,
            missing,
            notes,
        })
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
