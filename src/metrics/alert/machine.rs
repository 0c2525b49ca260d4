//! The state machine of one alert on one host.
//!
//! ```text
//!            holds                 held for `during`
//! Inactive ─────────► Pending ───────────────────► Firing ──┐
//!    ▲  ▲               │ no longer holds            │      │ no longer holds
//!    │  └───────────────┘                            ▼      │
//!    └──────────────────────────────────────────── Resolved ◄┘
//!              next tick (or Pending/Firing again if it holds)
//! ```
//!
//! A condition that is *unknown* (the figure is missing, or the host is unreachable and the
//! rule is not about `up`) changes nothing: a firing alert keeps firing, a pending one keeps
//! its start time. With `during` 0 an alert fires on the first tick the condition holds.
//! Times are Unix seconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where an alert stands for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Inactive,
    /// The condition holds since `since`, not yet for long enough.
    Pending { since: u64 },
    /// The condition holds since `since`; the alert fired at `fired_at`.
    Firing { since: u64, fired_at: u64 },
    /// The alert stopped firing at `resolved_at`.
    Resolved {
        since: u64,
        fired_at: u64,
        resolved_at: u64,
    },
}

impl Phase {
    /// `inactive`, `pending`, `firing` or `resolved`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Inactive => "inactive",
            Phase::Pending { .. } => "pending",
            Phase::Firing { .. } => "firing",
            Phase::Resolved { .. } => "resolved",
        }
    }
}

/// A change worth a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Fired,
    Resolved,
}

/// The next phase, given whether the condition holds now (`None`: unknown).
pub fn step(
    phase: Phase,
    holds: Option<bool>,
    now: u64,
    during: Duration,
) -> (Phase, Option<Transition>) {
    let fire = |since: u64| {
        if now.saturating_sub(since) >= during.as_secs() {
            (
                Phase::Firing {
                    since,
                    fired_at: now,
                },
                Some(Transition::Fired),
            )
        } else {
            (Phase::Pending { since }, None)
        }
    };
    match (phase, holds) {
        (Phase::Resolved { .. }, None) => (Phase::Inactive, None),
        (phase, None) | (phase @ Phase::Firing { .. }, Some(true)) => (phase, None),
        (Phase::Inactive | Phase::Resolved { .. }, Some(true)) => fire(now),
        (Phase::Pending { since }, Some(true)) => fire(since),
        (Phase::Firing { since, fired_at }, Some(false)) => (
            Phase::Resolved {
                since,
                fired_at,
                resolved_at: now,
            },
            Some(Transition::Resolved),
        ),
        (Phase::Inactive | Phase::Pending { .. } | Phase::Resolved { .. }, Some(false)) => {
            (Phase::Inactive, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN5: Duration = Duration::from_secs(300);

    /// (from, holds, now, during, to, transition)
    type Row = (
        Phase,
        Option<bool>,
        u64,
        Duration,
        Phase,
        Option<Transition>,
    );

    #[test]
    fn transitions() {
        use Phase::{Firing, Inactive, Pending, Resolved};
        let resolved = Resolved {
            since: 100,
            fired_at: 400,
            resolved_at: 500,
        };
        let firing = Firing {
            since: 100,
            fired_at: 400,
        };
        // (from, holds, now, during, to, transition)
        let table: &[Row] = &[
            (Inactive, Some(false), 100, MIN5, Inactive, None),
            (Inactive, None, 100, MIN5, Inactive, None),
            (
                Inactive,
                Some(true),
                100,
                MIN5,
                Pending { since: 100 },
                None,
            ),
            (
                Inactive,
                Some(true),
                100,
                Duration::ZERO,
                Firing {
                    since: 100,
                    fired_at: 100,
                },
                Some(Transition::Fired),
            ),
            (
                Pending { since: 100 },
                Some(true),
                399,
                MIN5,
                Pending { since: 100 },
                None,
            ),
            (
                Pending { since: 100 },
                Some(true),
                400,
                MIN5,
                firing,
                Some(Transition::Fired),
            ),
            (
                Pending { since: 100 },
                Some(false),
                200,
                MIN5,
                Inactive,
                None,
            ),
            (
                Pending { since: 100 },
                None,
                900,
                MIN5,
                Pending { since: 100 },
                None,
            ),
            (firing, Some(true), 900, MIN5, firing, None),
            (firing, None, 900, MIN5, firing, None),
            (
                firing,
                Some(false),
                500,
                MIN5,
                resolved,
                Some(Transition::Resolved),
            ),
            (resolved, Some(false), 600, MIN5, Inactive, None),
            (resolved, None, 600, MIN5, Inactive, None),
            (
                resolved,
                Some(true),
                600,
                MIN5,
                Pending { since: 600 },
                None,
            ),
            (
                resolved,
                Some(true),
                600,
                Duration::ZERO,
                Firing {
                    since: 600,
                    fired_at: 600,
                },
                Some(Transition::Fired),
            ),
        ];
        for (i, (from, holds, now, during, to, transition)) in table.iter().enumerate() {
            assert_eq!(
                step(*from, *holds, *now, *during),
                (*to, *transition),
                "row {i}: {from:?} {holds:?} at {now}"
            );
        }
    }

    #[test]
    fn a_flapping_condition_notifies_once_per_change() {
        let mut phase = Phase::Inactive;
        let mut notices = Vec::new();
        let pattern = [true, true, true, true, false, false, true, true, false];
        for (tick, holds) in pattern.into_iter().enumerate() {
            let now = 60 * tick as u64;
            let (next, t) = step(phase, Some(holds), now, Duration::from_secs(60));
            phase = next;
            notices.extend(t.map(|t| (tick, t)));
        }
        assert_eq!(
            notices,
            vec![
                (1, Transition::Fired),
                (4, Transition::Resolved),
                (7, Transition::Fired),
                (8, Transition::Resolved)
            ]
        );
    }
}
