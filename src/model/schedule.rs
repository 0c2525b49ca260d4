//! A declared schedule: an action (power, image, apply, pipeline, command) run at set times, in
//! a time zone, on the servers a pattern selects.
//!
//! Declared with `schedule(name, #{ cron | every, tz, action, servers, keep, pipeline, command,
//! catch_up, notify })`; its times are computed by `crate::schedule` and it is run by `ict schedule run`
//! and `ict watch`. The cron expression and the zone are parsed when declared (croner,
//! chrono-tz), so a bad one is reported by `ict check`. Pure: no I/O.

use std::time::Duration;

use serde::Serialize;

use super::{pattern, suggest, FieldSpans, ModelError, Span};

/// What a schedule does when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    PowerOff,
    PowerOn,
    Reboot,
    /// An image of each server, the newest `keep` kept.
    Image {
        keep: u32,
    },
    /// Converge the script, as `ict apply --yes`.
    Apply,
    /// Run a declared pipeline.
    Pipeline {
        pipeline: String,
    },
    /// A shell command on the selected servers.
    Command {
        command: String,
    },
}

impl Action {
    /// The names accepted in scripts.
    pub const NAMES: [&'static str; 7] = [
        "power_off",
        "power_on",
        "reboot",
        "image",
        "apply",
        "pipeline",
        "command",
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Action::PowerOff => "power_off",
            Action::PowerOn => "power_on",
            Action::Reboot => "reboot",
            Action::Image { .. } => "image",
            Action::Apply => "apply",
            Action::Pipeline { .. } => "pipeline",
            Action::Command { .. } => "command",
        }
    }

    /// Whether the action works on servers (and so needs `servers`).
    pub fn on_servers(&self) -> bool {
        !matches!(self, Action::Apply | Action::Pipeline { .. })
    }

    /// The power this action leaves its servers in, for a power action.
    pub fn power(&self) -> Option<bool> {
        match self {
            Action::PowerOff => Some(false),
            Action::PowerOn => Some(true),
            _ => None,
        }
    }
}

/// When a schedule is due.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// A cron expression (5 fields, or 6 with seconds first), in the schedule's zone.
    Cron {
        text: String,
        cron: Box<croner::Cron>,
    },
    /// Every period, at the multiples of it since 1970-01-01 00:00 UTC (so `1h` is on the
    /// hour and `1d` at midnight UTC, whenever watch was started).
    Every(Duration),
}

impl Serialize for When {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(1))?;
        match self {
            When::Cron { text, .. } => map.serialize_entry("cron", text)?,
            When::Every(d) => map.serialize_entry("every", &d.as_secs())?,
        }
        map.end()
    }
}

/// `schedule(name, #{ ... })`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub name: String,
    #[serde(flatten)]
    pub when: When,
    /// The zone of the cron expression (UTC unless `tz` is given).
    #[serde(serialize_with = "serialize_tz")]
    pub tz: chrono_tz::Tz,
    #[serde(flatten)]
    pub action: Action,
    /// Host pattern of the servers the action works on (power, reboot, image, command).
    pub servers: Option<String>,
    /// Whether a run missed while watch was down is run once when it starts.
    pub catch_up: bool,
    /// Where a failed or missed run is reported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<super::Notify>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's `serialize_with` passes a reference"
)]
fn serialize_tz<S: serde::Serializer>(tz: &chrono_tz::Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// Parses a cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first.
pub fn parse_cron(text: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| format!("\"{text}\" is not a cron expression: {e}"))
}

/// Parses an IANA time zone name (`Europe/Moscow`, `UTC`); the error carries a "did you mean".
pub fn parse_tz(text: &str) -> Result<chrono_tz::Tz, (String, Option<String>)> {
    text.parse::<chrono_tz::Tz>().map_err(|_| {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        let help = suggest(text, names).map(|s| format!("did you mean \"{s}\"?"));
        (
            format!("unknown time zone \"{text}\""),
            help.or_else(|| {
                Some("write an IANA zone name, e.g. \"Europe/Moscow\" or \"UTC\"".into())
            }),
        )
    })
}

/// Problems of schedules that need the whole model: server patterns that select nothing and
/// pipelines that are not declared.
pub fn validate(desired: &super::Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    for schedule in desired.schedules.values() {
        let at = |field: &str| schedule.fields.get(field).copied().unwrap_or(schedule.span);
        if let Some(servers) = &schedule.servers {
            if pattern::select(servers, desired).is_empty() {
                errors.push(pattern::no_match(servers, at("servers"), desired));
            }
        }
        if let Action::Pipeline { pipeline } = &schedule.action {
            if !desired.pipelines.contains_key(pipeline) {
                errors.push(ModelError::UnknownRef {
                    kind: "pipeline",
                    name: pipeline.clone(),
                    at: at("pipeline"),
                    suggestion: suggest(pipeline, desired.pipelines.keys().map(String::as_str)),
                    declared: desired.pipelines.keys().cloned().collect(),
                });
            }
        }
    }
    errors
}
