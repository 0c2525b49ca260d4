//! The emulator settings a command asks for, read from the environment once: `ICT_EMULATOR_SSH`,
//! `ICT_EMULATOR_METRICS`, `ICT_EMULATOR_TASK_DELAY_MS`, `ICT_EMULATOR_DNS_QUIRK` (what the
//! daemon runs with) and `ICT_EMULATOR_IDLE` (when it stops on its own). A running daemon
//! whose settings differ from those a command sets explicitly is restarted with them; unset
//! variables accept whatever runs.

use std::time::Duration;

use crate::emulator::daemon::DaemonSettings;
use crate::emulator::{self, DnsQuirk, EmulatorConfig};

use super::{DaemonError, Project};

const SSH: &str = "ICT_EMULATOR_SSH";
const METRICS: &str = "ICT_EMULATOR_METRICS";
const TASK_DELAY: &str = "ICT_EMULATOR_TASK_DELAY_MS";
const DNS_QUIRK: &str = "ICT_EMULATOR_DNS_QUIRK";
const IDLE: &str = "ICT_EMULATOR_IDLE";

/// How long a daemon waits without requests before it stops, unless `ICT_EMULATOR_IDLE` says.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);

/// The settings a command asks for, and which of them it asked for explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub settings: DaemonSettings,
    /// The variables that were set, with their value as given.
    explicit: Vec<(&'static str, String)>,
}

impl Requested {
    /// From this process's environment.
    pub fn from_env() -> Result<Requested, DaemonError> {
        Requested::from_vars(|key| std::env::var(key).ok())
    }

    /// From `var` (the environment, or a table in tests).
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Requested, DaemonError> {
        let ssh = var(SSH);
        let metrics = var(METRICS);
        let task_delay = var(TASK_DELAY).filter(|v| v.trim().parse::<u64>().is_ok());
        let dns_quirk =
            DnsQuirk::from_setting(var(DNS_QUIRK).as_deref()).map_err(DaemonError::Setting)?;
        let settings = DaemonSettings {
            // Servers answer SSH for `ict exec` and Ansible. `ICT_EMULATOR_SSH=0` turns it off
            // (e.g. tests running many emulators at once).
            ssh: wanted(ssh.as_deref()),
            // Every running server serves `/metrics` on its IP, port 9100 (`ict metrics`).
            metrics: wanted(metrics.as_deref()),
            task_delay_ms: task_delay
                .as_deref()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(500),
            dns_quirk: dns_quirk.name().to_owned(),
        };
        let explicit = [
            (SSH, ssh),
            (METRICS, metrics),
            (TASK_DELAY, task_delay),
            (DNS_QUIRK, var(DNS_QUIRK)),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
        Ok(Requested { settings, explicit })
    }

    /// What the explicitly set variables ask for that `running` does not have, e.g.
    /// `ICT_EMULATOR_SSH=1 (it runs with SSH off)`; empty when it fits.
    pub fn differences(&self, running: &DaemonSettings) -> Vec<String> {
        let asked = &self.settings;
        self.explicit
            .iter()
            .filter_map(|(key, value)| {
                let now = match *key {
                    SSH if asked.ssh != running.ssh => format!("SSH {}", on_off(running.ssh)),
                    METRICS if asked.metrics != running.metrics => {
                        format!("metrics {}", on_off(running.metrics))
                    }
                    TASK_DELAY if asked.task_delay_ms != running.task_delay_ms => {
                        format!("{} ms tasks", running.task_delay_ms)
                    }
                    DNS_QUIRK if asked.dns_quirk != running.dns_quirk => {
                        format!("DNS quirk {}", running.dns_quirk)
                    }
                    _ => return None,
                };
                Some(format!("{key}={value} (it ran with {now})"))
            })
            .collect()
    }
}

/// The emulator a daemon with `settings` runs for `project`.
pub(super) fn emulator_config(
    settings: &DaemonSettings,
    project: &Project,
    token: String,
) -> Result<EmulatorConfig, DaemonError> {
    let dns_quirk =
        DnsQuirk::from_setting(Some(&settings.dns_quirk)).map_err(DaemonError::Setting)?;
    let state_file = project.state_file();
    Ok(EmulatorConfig {
        ip_base: Some(emulator::ip_base_for(&state_file)),
        state_file: Some(state_file),
        token: Some(token),
        task_delay: Duration::from_millis(settings.task_delay_ms),
        ssh_backing: settings.ssh,
        sshd: emulator::sshd_program(),
        node_exporter: settings.metrics,
        dns_quirk,
        ..EmulatorConfig::default()
    })
}

/// `ICT_EMULATOR_IDLE`: seconds (`600`, `600s`), minutes (`10m`) or hours (`1h`); `0`, `off`
/// or `never` keep the daemon running until it is stopped. Unset: [`DEFAULT_IDLE`].
pub(super) fn idle_from_env() -> Result<Option<Duration>, DaemonError> {
    match std::env::var(IDLE) {
        Err(_) => Ok(Some(DEFAULT_IDLE)),
        Ok(value) => parse_idle(&value).map_err(|()| {
            DaemonError::Setting(format!(
                "{IDLE}={value} is not a duration (expected e.g. 600s, 10m, 1h or off)"
            ))
        }),
    }
}

/// An idle period; `None` for never.
fn parse_idle(text: &str) -> Result<Option<Duration>, ()> {
    let text = text.trim().to_ascii_lowercase();
    if matches!(text.as_str(), "off" | "never") {
        return Ok(None);
    }
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text.as_str(), "s"),
    };
    let scale = match unit.trim() {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(()),
    };
    let seconds = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or(())?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds)))
}

/// Whether a feature is on: yes unless the variable says no (`0`, `false`, `off`, `no`).
fn wanted(setting: Option<&str>) -> bool {
    !setting.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        )
    })
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(vars: &[(&str, &str)]) -> Requested {
        Requested::from_vars(|key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("valid settings")
    }

    #[test]
    fn features_are_on_unless_turned_off() {
        assert!(wanted(None));
        assert!(wanted(Some("1")));
        assert!(wanted(Some("")));
        for off in ["0", "false", "OFF", " no "] {
            assert!(!wanted(Some(off)), "{off}");
        }
    }

    #[test]
    fn defaults_are_ssh_and_metrics_on_and_half_second_tasks() {
        let settings = requested(&[]).settings;
        assert_eq!(
            settings,
            DaemonSettings {
                ssh: true,
                metrics: true,
                task_delay_ms: 500,
                dns_quirk: "none".to_owned(),
            }
        );
    }

    #[test]
    fn only_explicit_settings_that_differ_ask_for_a_restart() {
        let running = requested(&[("ICT_EMULATOR_SSH", "0")]).settings;
        assert!(requested(&[]).differences(&running).is_empty());
        assert!(requested(&[("ICT_EMULATOR_SSH", "off")])
            .differences(&running)
            .is_empty());
        assert_eq!(
            requested(&[
                ("ICT_EMULATOR_SSH", "1"),
                ("ICT_EMULATOR_TASK_DELAY_MS", "50")
            ])
            .differences(&running),
            [
                "ICT_EMULATOR_SSH=1 (it ran with SSH off)",
                "ICT_EMULATOR_TASK_DELAY_MS=50 (it ran with 500 ms tasks)"
            ]
        );
    }

    #[test]
    fn a_bad_dns_quirk_is_an_error_naming_the_choices() {
        let error = Requested::from_vars(|key| {
            (key == "ICT_EMULATOR_DNS_QUIRK").then(|| "bogus".to_owned())
        })
        .expect_err("bogus quirk");
        assert_eq!(
            error.to_string(),
            "ICT_EMULATOR_DNS_QUIRK=bogus is not a DNS quirk (expected none or lego)"
        );
    }

    #[test]
    fn idle_periods_take_units_and_can_be_off() {
        let secs = |s| Ok(Some(Duration::from_secs(s)));
        assert_eq!(parse_idle("600"), secs(600));
        assert_eq!(parse_idle("600s"), secs(600));
        assert_eq!(parse_idle(" 10m "), secs(600));
        assert_eq!(parse_idle("2h"), secs(7200));
        assert_eq!(parse_idle("0"), Ok(None));
        assert_eq!(parse_idle("off"), Ok(None));
        assert_eq!(parse_idle("ten"), Err(()));
        assert_eq!(parse_idle("5d"), Err(()));
    }
}
