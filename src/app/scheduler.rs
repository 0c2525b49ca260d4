//! `ict watch`'s schedules: at every tick the schedules due since the last tick run, one after
//! the other, under the environment's lock (waiting while another command holds it); a run
//! missed while watch was down runs once with `catch_up: true`, or is recorded as missed. The
//! last run of each schedule is in the state, so a restart neither repeats nor skips one.
//!
//! Time comes from a [`Clock`]: tokio's clock offset from a start time, so tests pause tokio's
//! time or start it at a chosen instant (`--now`) instead of waiting for a cron time.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::schedule::{lock_command, record_in, Run};
use super::{Error, Locked, Session};
use crate::model::{Notify, Schedule};
use crate::schedule::{due, Due, LastRun, Notice, Outcome, Runs};
use crate::state::StateError;

/// How long one notification may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait before asking again for a lock another command holds.
const LOCK_RETRY: Duration = Duration::from_secs(2);

/// Wall-clock time that advances with tokio's clock from a chosen start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: DateTime<Utc>,
    at: tokio::time::Instant,
}

impl Clock {
    /// A clock that reads `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock {
            start,
            at: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::TimeDelta::from_std(self.at.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// What the scheduler reports.
#[derive(Debug)]
pub enum Event<'a> {
    /// A run is waiting for the lock another command holds.
    Waiting {
        schedule: &'a Schedule,
        holder: String,
    },
    /// A run finished (its outcome is in it).
    Ran { schedule: &'a Schedule, run: Run },
    /// A time passed while watch was down, not caught up.
    Missed {
        schedule: &'a Schedule,
        due: DateTime<Utc>,
    },
    /// A failed or missed run was sent to a `notify` target (`Err`: it could not be).
    Notified {
        schedule: &'a Schedule,
        target: String,
        result: Result<(), crate::watch::NotifyError>,
    },
    /// A run could not be started or recorded.
    Failed {
        schedule: &'a Schedule,
        error: Error,
    },
}

impl<'s> Session<'s> {
    /// Runs the script's schedules as they fall due, every `tick`, until `stop` completes.
    pub async fn keep_schedules(
        &self,
        clock: Clock,
        tick: Duration,
        stop: impl Future<Output = ()>,
        on_event: impl Fn(Event<'s>),
    ) {
        let schedules = &self.evaluated.desired.schedules;
        if schedules.is_empty() {
            return;
        }
        tokio::pin!(stop);
        let mut since = clock.now();
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = interval.tick() => {}
            }
            let now = clock.now();
            let runs = self.project.state().map(|state| Runs::read(&state));
            for schedule in schedules.values() {
                let last = match &runs {
                    Ok(runs) => runs.get(&schedule.name).map(|r| r.due),
                    // Without the state nothing is known to have run: wait for it.
                    Err(_) => continue,
                };
                let due = due(schedule, last, since, now);
                if due == Due::No {
                    continue;
                }
                let locked = tokio::select! {
                    () = &mut stop => return,
                    locked = self.lock_waiting(schedule, &on_event) => locked,
                };
                let locked = match locked {
                    Ok(locked) => locked,
                    Err(error) => {
                        on_event(Event::Failed { schedule, error });
                        continue;
                    }
                };
                // Another watch may have run it while this one waited for the lock.
                let (Due::Now(at) | Due::Missed(at)) = due else {
                    continue;
                };
                let runs = Runs::read(locked.store.state());
                if runs.get(&schedule.name).is_some_and(|r| r.due >= at) {
                    if let Err(error) = locked.store.close() {
                        on_event(Event::Failed {
                            schedule,
                            error: error.into(),
                        });
                    }
                    continue;
                }
                let mut missed = None;
                let event = match due {
                    Due::Now(at) => match self.run_locked(schedule, at, now, locked).await {
                        Ok(run) => Event::Ran { schedule, run },
                        Err(error) => Event::Failed { schedule, error },
                    },
                    Due::Missed(at) => {
                        let record = LastRun {
                            due: at,
                            started: now,
                            outcome: Outcome::Missed,
                            message: "watch was not running".into(),
                        };
                        match record_in(locked, &schedule.name, record.clone()) {
                            Ok(()) => {
                                missed = Some(record);
                                Event::Missed { schedule, due: at }
                            }
                            Err(error) => Event::Failed { schedule, error },
                        }
                    }
                    Due::No => continue,
                };
                let record = match &event {
                    Event::Ran { run, .. } if run.record.outcome == Outcome::Failed => {
                        Some(run.record.clone())
                    }
                    _ => missed,
                };
                on_event(event);
                if let Some(record) = record {
                    self.notify(schedule, record, &on_event).await;
                }
            }
            if runs.is_ok() {
                since = now;
            }
        }
    }

    /// Sends a failed or missed run to the schedule's `notify` targets.
    async fn notify(&self, schedule: &'s Schedule, run: LastRun, on_event: &impl Fn(Event<'s>)) {
        if schedule.notify.is_empty() {
            return;
        }
        let notice = Notice {
            kind: "schedule",
            schedule: schedule.name.clone(),
            env: self.project.env().to_owned(),
            action: schedule.action.as_str(),
            run,
        };
        let client = crate::http::client();
        for target in &schedule.notify {
            let result = crate::watch::send(&client, target, &notice, NOTIFY_TIMEOUT).await;
            let target = match target {
                Notify::Webhook { url } => format!("webhook {url}"),
                Notify::Command { command } => format!("command `{command}`"),
            };
            on_event(Event::Notified {
                schedule,
                target,
                result,
            });
        }
    }

    /// Takes the lock for a run of `schedule`, waiting while another command holds it.
    async fn lock_waiting(
        &self,
        schedule: &'s Schedule,
        on_event: &impl Fn(Event<'s>),
    ) -> Result<Locked, Error> {
        let mut told = false;
        loop {
            match self.project.lock(&lock_command(schedule)) {
                Err(Error::State(StateError::Locked { holder, .. })) => {
                    if !told {
                        on_event(Event::Waiting {
                            schedule,
                            holder: holder.to_string(),
                        });
                        told = true;
                    }
                    tokio::time::sleep(LOCK_RETRY).await;
                }
                other => return other,
            }
        }
    }
}
