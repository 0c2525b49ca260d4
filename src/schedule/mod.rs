//! When declared schedules are due, and the power they give each server now.
//!
//! Pure: the time is always an argument (`now`), so the tests set it and never wait. A cron
//! expression is read in its schedule's zone (croner over chrono-tz: a time that a DST change
//! skips runs at the first minute after the gap, a time it repeats runs once); `every` is at the
//! multiples of its period since 1970-01-01 00:00 UTC. Depends on `model`, `state` (the last
//! runs) and `watch` (the notification message).

pub mod images;
pub mod power;
pub mod runs;

use chrono::{DateTime, SubsecRound as _, TimeZone as _, Utc};

use crate::model::schedule::When;
use crate::model::Schedule;

pub use power::{declared_power, PowerBySchedule};
pub use runs::{due, Due, LastRun, Notice, Outcome, Runs};

/// The first `n` times the schedule is due strictly after `after`.
pub fn next_times(schedule: &Schedule, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut at = after;
    while out.len() < n {
        let Some(next) = next_after(schedule, at) else {
            break;
        };
        out.push(next);
        at = next;
    }
    out
}

/// The first time the schedule is due strictly after `after` (`None` for a cron expression
/// that never matches again, such as 30 February).
pub fn next_after(schedule: &Schedule, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Due times are whole seconds, so that the same time computed twice is equal.
    let after = after.trunc_subsecs(0);
    match &schedule.when {
        When::Cron { cron, .. } => cron
            .find_next_occurrence(&after.with_timezone(&schedule.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        When::Every(period) => {
            let p = period_secs(*period);
            let next = (after.timestamp().div_euclid(p) + 1) * p;
            Utc.timestamp_opt(next, 0).single()
        }
    }
}

/// The last time the schedule was due at or before `at`.
pub fn last_at_or_before(schedule: &Schedule, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let at = at.trunc_subsecs(0);
    match &schedule.when {
        When::Cron { cron, .. } => cron
            .find_previous_occurrence(&at.with_timezone(&schedule.tz), true)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        When::Every(period) => {
            let p = period_secs(*period);
            Utc.timestamp_opt(at.timestamp().div_euclid(p) * p, 0)
                .single()
        }
    }
}

fn period_secs(period: std::time::Duration) -> i64 {
    i64::try_from(period.as_secs()).unwrap_or(i64::MAX).max(1)
}

/// `time` in the schedule's zone, as people read it: `Mon 2026-12-07 08:00 MSK`.
pub fn local(schedule: &Schedule, time: DateTime<Utc>) -> String {
    time.with_timezone(&schedule.tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
pub(crate) mod tests;
