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

/// Reads every `PLAY RECAP` block in `output`, in order. Ansible prints one after each playbook
/// file of a run, each counting from the start of the run (see [`per_playbook`]). Lines that do
/// not look like recap lines are ignored.
pub(super) fn blocks(output: &str) -> Vec<BTreeMap<String, HostRecap>> {
    let mut blocks: Vec<BTreeMap<String, HostRecap>> = Vec::new();
    let mut in_recap = false;
    for line in output.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            blocks.push(BTreeMap::new());
            continue;
        }
        let Some(hosts) = blocks.last_mut().filter(|_| in_recap) else {
            continue;
        };
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
            if let Some(slot) = entry.counter(k) {
                *slot += n;
            }
        }
    }
    blocks
}

/// What each playbook file of a run did, from the run's recap [`blocks`] (one per playbook that
/// ran, each counting from the start of the run): each block less the one before it. A host
/// that did nothing in a playbook (it ran in an earlier one only) is left out of it.
pub(super) fn per_playbook(
    blocks: &[BTreeMap<String, HostRecap>],
) -> Vec<BTreeMap<String, HostRecap>> {
    let none = BTreeMap::new();
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            let before = if i == 0 { &none } else { &blocks[i - 1] };
            block
                .iter()
                .filter_map(|(host, now)| {
                    let Some(then) = before.get(host) else {
                        return Some((host.clone(), *now));
                    };
                    let done = now.since(then);
                    (done != HostRecap::default()).then(|| (host.clone(), done))
                })
                .collect()
        })
        .collect()
}

impl HostRecap {
    fn counter(&mut self, name: &str) -> Option<&mut u32> {
        Some(match name {
            "ok" => &mut self.ok,
            "changed" => &mut self.changed,
            "unreachable" => &mut self.unreachable,
            "failed" => &mut self.failed,
            "skipped" => &mut self.skipped,
            "rescued" => &mut self.rescued,
            "ignored" => &mut self.ignored,
            _ => return None,
        })
    }

    /// The counts added since `then` (an earlier recap of the same run).
    fn since(&self, then: &Self) -> Self {
        Self {
            ok: self.ok.saturating_sub(then.ok),
            changed: self.changed.saturating_sub(then.changed),
            unreachable: self.unreachable.saturating_sub(then.unreachable),
            failed: self.failed.saturating_sub(then.failed),
            skipped: self.skipped.saturating_sub(then.skipped),
            rescued: self.rescued.saturating_sub(then.rescued),
            ignored: self.ignored.saturating_sub(then.ignored),
        }
    }
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
        let blocks = blocks(OUTPUT);
        assert_eq!(blocks.len(), 1);
        let recap = &blocks[0];
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
        assert!(blocks("changed: [a]\nweb : ok=1\n").is_empty());
    }

    /// One `ansible-playbook` run of two playbook files prints two recaps, the second counting
    /// from the start of the run: the second playbook's own counts are the difference.
    #[test]
    fn each_playbook_of_a_run_gets_its_own_recap() {
        let run = "\
PLAY RECAP *********************************************************************
a                          : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
b                          : ok=0    changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0


PLAY [all] *********************************************************************

TASK [debug] *******************************************************************
ok: [b]

PLAY RECAP *********************************************************************
a                          : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
b                          : ok=1    changed=0    unreachable=0    failed=1    skipped=2    rescued=0    ignored=0
c                          : ok=3    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
";
        let recaps = per_playbook(&blocks(run));
        let counts = |ok, changed, failed, skipped| HostRecap {
            ok,
            changed,
            failed,
            skipped,
            ..HostRecap::default()
        };
        assert_eq!(
            recaps,
            [
                BTreeMap::from([
                    ("a".to_owned(), counts(2, 1, 0, 0)),
                    ("b".to_owned(), counts(0, 0, 0, 2)),
                ]),
                BTreeMap::from([
                    ("b".to_owned(), counts(1, 0, 1, 0)),
                    ("c".to_owned(), counts(3, 0, 0, 0)),
                ]),
            ]
        );
    }
}
