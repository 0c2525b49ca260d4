//! The power the schedules give each server now: of the `power_off`/`power_on` schedules that
//! select a server, the one due last (at or before now) says whether it is on, until the next
//! time one of the other power is due. Plan and apply take that as the declared power, so a
//! server stopped for the night is not drift and the hourly apply does not start it again.

use chrono::{DateTime, Utc};

use crate::model::{pattern, Desired, Power, Schedule};

/// A server whose power a schedule sets now, against what the script declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerBySchedule {
    pub server: String,
    pub on: bool,
    pub schedule: String,
    /// When a schedule of the other power is next due, in that schedule's zone, as people
    /// read it (`08:00`, or `Mon 08:00` when it is not within a day).
    pub until: Option<String>,
}

impl std::fmt::Display for PowerBySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let power = if self.on { "on" } else { "off" };
        write!(f, "power {power} by schedule {}", self.schedule)?;
        if let Some(until) = &self.until {
            write!(f, " until {until}")?;
        }
        Ok(())
    }
}

/// `desired` with each server's power as the schedules set it at `now`, and the servers whose
/// declared power that changed.
pub fn declared_power(desired: &Desired, now: DateTime<Utc>) -> (Desired, Vec<PowerBySchedule>) {
    let mut out = desired.clone();
    let mut changed = Vec::new();
    for server in out.servers.values_mut() {
        let Some(by) = power_of(desired, &server.name, now) else {
            continue;
        };
        let declared = server.power == Power::On;
        if by.on != declared {
            server.power = if by.on { Power::On } else { Power::Off };
            changed.push(by);
        }
    }
    (out, changed)
}

/// What the power schedules selecting `server` say at `now`, if any has been due.
fn power_of(desired: &Desired, server: &str, now: DateTime<Utc>) -> Option<PowerBySchedule> {
    let power: Vec<(&Schedule, bool)> = desired
        .schedules
        .values()
        .filter_map(|s| Some((s, s.action.power()?)))
        .filter(|(s, _)| {
            s.servers
                .as_deref()
                .is_some_and(|p| pattern::select(p, desired).contains(&server))
        })
        .collect();
    // The last due wins; of two due at the same time, the one declared later.
    let (last, on) = power
        .iter()
        .filter_map(|&(s, on)| Some((super::last_at_or_before(s, now)?, s, on)))
        .max_by_key(|(at, _, _)| *at)
        .map(|(_, s, on)| (s, on))?;
    let until = power
        .iter()
        .filter(|(_, other)| *other != on)
        .filter_map(|(s, _)| Some((super::next_after(s, now)?, *s)))
        .min_by_key(|(at, _)| *at)
        .map(|(at, s)| {
            let local = at.with_timezone(&s.tz);
            if at - now < chrono::TimeDelta::days(1) {
                local.format("%H:%M").to_string()
            } else {
                local.format("%a %H:%M").to_string()
            }
        });
    Some(PowerBySchedule {
        server: server.to_owned(),
        on,
        schedule: last.name.clone(),
        until,
    })
}
