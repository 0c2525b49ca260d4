//! A declared alert rule: a condition over a server's figures that must hold for some time
//! before the alert fires, the hosts it watches and where notifications go.
//!
//! Declared with `alert(name, #{ when, for, hosts, severity, notify, summary })`; evaluated by
//! `ict watch` (`metrics::alert` holds the state machine). Pure: no I/O.

pub mod condition;

use std::time::Duration;

use serde::Serialize;

pub use condition::{Condition, ConditionError, Figure, Op};

use super::{pattern, FieldSpans, ModelError, Span};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// The names accepted in scripts, in the order of [`Severity::from_index`].
    pub const NAMES: [&'static str; 3] = ["info", "warning", "critical"];

    pub fn from_index(i: usize) -> Severity {
        match i {
            0 => Severity::Info,
            2 => Severity::Critical,
            _ => Severity::Warning,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Where a notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// A JSON `POST` to this `http://` or `https://` URL.
    Webhook { url: String },
    /// A shell command run with `sh -c`; the alert is in `ICT_ALERT_*` environment variables.
    Command { command: String },
}

/// `alert(name, #{ ... })`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub name: String,
    /// The parsed `when` expression.
    pub when: Condition,
    /// The expression as written.
    pub when_text: String,
    /// How long the condition must hold before the alert fires (0: at once).
    #[serde(rename = "for", serialize_with = "super::serialize_seconds")]
    pub for_: Duration,
    /// Ansible host pattern of the servers to watch.
    pub hosts: String,
    pub severity: Severity,
    pub notify: Vec<Notify>,
    /// A line for people; `{host}` and `{value}` are replaced when notifying.
    pub summary: Option<String>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

/// Parses `30s`, `5m`, `1h`, `1d`, or several joined (`1h30m`); at most 30 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("\"{text}\" is not a duration");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    if total > 30 * 86_400 {
        return Err(format!("\"{text}\" is longer than 30 days"));
    }
    Ok(Duration::from_secs(total))
}

/// Problems of alerts that need the whole model: host patterns that select no server.
pub fn validate(desired: &super::Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    for alert in desired.alerts.values() {
        if pattern::select(&alert.hosts, desired).is_empty() {
            let at = alert.fields.get("hosts").copied().unwrap_or(alert.span);
            errors.push(pattern::no_match(&alert.hosts, at, desired));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1h30m", 5400),
            ("0s", 0),
            ("2d", 172_800),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in ["", "5", "5x", "m", "31d", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
