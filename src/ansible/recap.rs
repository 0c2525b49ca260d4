//! Parsing Ansible's `PLAY RECAP` into a per-host summary.

use std::collections::BTreeMap;

/// The counters Ansible prints for one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HostRecap {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

impl HostRecap {
    /// Whether the host failed or could not be reached.
    pub fn is_failure(&self) -> bool {
        self.failed > 0 || self.unreachable > 0
    }
}

/// Reads every `PLAY RECAP` block in `output` (a run may have several plays); later blocks add
/// to earlier ones. Lines that do not look like recap lines are ignored.
pub fn parse(output: &str) -> BTreeMap<String, HostRecap> {
    let mut hosts: BTreeMap<String, HostRecap> = BTreeMap::new();
    let mut in_recap = false;
    for line in output.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if !in_recap {
            continue;
        }
        let Some((host, counters)) = line.split_once(" : ") else {
            if !line.trim().is_empty() {
                in_recap = false;
            }
            continue;
        };
        let entry = hosts.entry(host.trim().to_owned()).or_default();
        for field in counters.split_whitespace() {
            let Some((k, v)) = field.split_once('=') else {
                continue;
            };
            let Ok(n) = v.parse::<u32>() else { continue };
            let slot = match k {
                "ok" => &mut entry.ok,
                "changed" => &mut entry.changed,
                "unreachable" => &mut entry.unreachable,
                "failed" => &mut entry.failed,
                "skipped" => &mut entry.skipped,
                "rescued" => &mut entry.rescued,
                "ignored" => &mut entry.ignored,
                _ => continue,
            };
            *slot += n;
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
PLAY [all] *********************************************************************

TASK [Write the greeting] ******************************************************
changed: [web-1]
ok: [web-2]

PLAY RECAP *********************************************************************
web-1                      : ok=1    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
web-2                      : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
web-3                      : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0

";

    #[test]
    fn recap_lines() {
        let recap = parse(OUTPUT);
        assert_eq!(recap.len(), 3);
        assert_eq!(
            recap["web-1"],
            HostRecap {
                ok: 1,
                changed: 1,
                ..HostRecap::default()
            }
        );
        assert!(recap["web-3"].is_failure());
        assert!(!recap["web-2"].is_failure());
    }

    #[test]
    fn text_without_recap_is_empty() {
        assert!(parse("changed: [a]\nweb : ok=1\n").is_empty());
    }
}
