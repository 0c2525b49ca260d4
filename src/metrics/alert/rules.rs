//! The declared alert rules with one [`Track`] per (rule, host), advanced one tick at a time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::machine::{step, Phase, Transition};
use super::value::{figure, holds, Reading};
use crate::model::{pattern, Alert, Desired};

/// The state of one rule on one host.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Track {
    #[serde(flatten)]
    pub phase: Phase,
    /// The last known value of the rule's first figure.
    pub value: Option<f64>,
}

/// A notification to send: an alert fired or resolved on a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The rule, as declared (its targets, severity, summary template).
    pub rule: Alert,
    pub host: String,
    pub transition: Transition,
    /// The rule's first figure at the time of the change (unknown for an unreachable host).
    pub value: Option<f64>,
    /// When the condition started to hold (Unix seconds).
    pub started_at: u64,
    /// When the alert fired or resolved (Unix seconds).
    pub at: u64,
}

impl Notice {
    /// `firing` or `resolved`.
    pub fn state(&self) -> &'static str {
        match self.transition {
            Transition::Fired => "firing",
            Transition::Resolved => "resolved",
        }
    }

    /// The rule's summary with `{host}`, `{rule}` and `{value}` filled in, or a default line.
    pub fn summary(&self) -> String {
        let value = self.value.map_or_else(
            || "unknown".to_owned(),
            |v| format!("{}", (v * 100.0).round() / 100.0),
        );
        match &self.rule.summary {
            Some(template) => template
                .replace("{host}", &self.host)
                .replace("{rule}", &self.rule.name)
                .replace("{value}", &value),
            None => format!(
                "{} on {}: {} (value {value})",
                self.rule.name, self.host, self.rule.when_text
            ),
        }
    }
}

/// Every rule with the hosts it watches and its tracks.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<(Alert, Vec<String>)>,
    tracks: BTreeMap<(String, String), Track>,
}

impl Rules {
    /// The rules `desired` declares, each with the servers its `hosts` pattern selects.
    pub fn from_desired(desired: &Desired) -> Rules {
        let rules = desired
            .alerts
            .values()
            .map(|a| {
                let hosts = pattern::select(&a.hosts, desired)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                (a.clone(), hosts)
            })
            .collect();
        Rules {
            rules,
            tracks: BTreeMap::new(),
        }
    }

    /// The rules and the hosts each watches.
    pub fn rules(&self) -> &[(Alert, Vec<String>)] {
        &self.rules
    }

    /// Every (rule, host) track, sorted.
    pub fn tracks(&self) -> &BTreeMap<(String, String), Track> {
        &self.tracks
    }

    /// Takes over tracks saved earlier (those of rules or hosts no longer declared are dropped).
    pub fn restore(&mut self, tracks: impl IntoIterator<Item = ((String, String), Track)>) {
        for ((rule, host), track) in tracks {
            let known = self
                .rules
                .iter()
                .any(|(a, hosts)| a.name == rule && hosts.contains(&host));
            if known {
                self.tracks.insert((rule, host), track);
            }
        }
    }

    /// Advances every track by one tick. A host missing from `readings` (not scraped this
    /// tick) keeps its tracks as they are.
    pub fn tick(&mut self, now: u64, readings: &BTreeMap<String, Reading<'_>>) -> Vec<Notice> {
        let mut notices = Vec::new();
        for (rule, hosts) in &self.rules {
            for host in hosts {
                let Some(reading) = readings.get(host) else {
                    continue;
                };
                let key = (rule.name.clone(), host.clone());
                let track = self.tracks.entry(key).or_default();
                let value = figure(rule.when.primary(), *reading);
                let (phase, transition) =
                    step(track.phase, holds(&rule.when, *reading), now, rule.for_);
                if value.is_some() || matches!(reading, Reading::Down) {
                    track.value = value;
                }
                if let Some(transition) = transition {
                    let started_at = match phase {
                        Phase::Firing { since, .. } | Phase::Resolved { since, .. } => since,
                        Phase::Inactive | Phase::Pending { .. } => now,
                    };
                    notices.push(Notice {
                        rule: rule.clone(),
                        host: host.clone(),
                        transition,
                        value: track.value,
                        started_at,
                        at: now,
                    });
                }
                track.phase = phase;
            }
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::metrics::NodeFigures;

    fn desired(rules: &[(&str, &str, u64)]) -> Desired {
        let mut script = String::from("server(\"web-1\"); server(\"web-2\");\n");
        for (name, when, during) in rules {
            let _ = writeln!(
                script,
                "alert(\"{name}\", #{{ when: \"{when}\", during: \"{during}s\", \
                 summary: \"{{rule}} on {{host}}: {{value}}\" }});"
            );
        }
        crate::script::evaluate_text(&script).expect("valid script")
    }

    fn cpu(v: f64) -> NodeFigures {
        NodeFigures {
            cpu_busy_percent: Some(v),
            ..NodeFigures::default()
        }
    }

    #[test]
    fn unreachable_hosts_fire_up_rules_and_keep_the_others() {
        let d = desired(&[("hot", "cpu > 90", 0), ("down", "up == 0", 60)]);
        let mut rules = Rules::from_desired(&d);
        let (hot, cool) = (cpu(95.0), cpu(10.0));
        let tick = |rules: &mut Rules, now, web1: Reading<'_>, web2: Reading<'_>| {
            let readings = BTreeMap::from([("web-1".to_owned(), web1), ("web-2".to_owned(), web2)]);
            rules
                .tick(now, &readings)
                .into_iter()
                .map(|n| format!("{} {} {} {}", n.rule.name, n.host, n.state(), n.summary()))
                .collect::<Vec<_>>()
        };
        let up = Reading::Up;
        assert_eq!(
            tick(&mut rules, 0, up(&hot), up(&cool)),
            ["hot web-1 firing hot on web-1: 95"]
        );
        // web-1 goes away: `hot` keeps firing (unknown), `down` becomes pending.
        assert!(tick(&mut rules, 30, Reading::Down, up(&cool)).is_empty());
        let key = |r: &str, h: &str| (r.to_owned(), h.to_owned());
        assert_eq!(rules.tracks()[&key("hot", "web-1")].phase.name(), "firing");
        assert_eq!(
            rules.tracks()[&key("down", "web-1")].phase.name(),
            "pending"
        );
        assert_eq!(
            tick(&mut rules, 90, Reading::Down, up(&cool)),
            ["down web-1 firing down on web-1: 0"]
        );
        // Back, and cool: both resolve, once.
        assert_eq!(
            tick(&mut rules, 120, up(&cool), up(&cool)),
            [
                "hot web-1 resolved hot on web-1: 10",
                "down web-1 resolved down on web-1: 1"
            ]
        );
        assert!(tick(&mut rules, 150, up(&cool), up(&cool)).is_empty());
        assert_eq!(
            rules.tracks()[&key("hot", "web-1")].phase.name(),
            "inactive"
        );
    }

    #[test]
    fn restore_keeps_only_declared_tracks() {
        let d = desired(&[("hot", "cpu > 90", 0)]);
        let mut rules = Rules::from_desired(&d);
        let firing = Track {
            phase: Phase::Firing {
                since: 1,
                fired_at: 2,
            },
            value: Some(99.0),
        };
        rules.restore([
            (("hot".to_owned(), "web-1".to_owned()), firing),
            (("gone".to_owned(), "web-1".to_owned()), firing),
            (("hot".to_owned(), "db-9".to_owned()), firing),
        ]);
        assert_eq!(rules.tracks().len(), 1);
        let nothing = NodeFigures::default();
        let readings = BTreeMap::from([("web-1".to_owned(), Reading::Up(&nothing))]);
        assert!(
            rules.tick(5, &readings).is_empty(),
            "unknown cpu keeps it firing"
        );
    }
}
