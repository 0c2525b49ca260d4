//! Finding Mitogen for Ansible (`pip install mitogen`): its strategy keeps one Python
//! interpreter per host for the whole run instead of starting one for every task, which is most
//! of a run's time when the tasks change nothing. One Python start ([`find`]) asks the Python
//! that runs `ansible-playbook` for its Mitogen and ansible-core versions; ict uses Mitogen only
//! in a version it knows to work with that ansible-core ([`decide`], pure), so a Mitogen too old
//! or an Ansible too new for it means a run with ict's other settings, not a failed run.
//! `ICT_ANSIBLE_MITOGEN=0` turns it off, `=1` uses whatever imports. May depend on nothing else
//! in ict.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Mitogen releases ict uses: from the one it is measured and tested with
/// (`scripts/install.sh` installs the newest of them) to the end of the 0.3 series.
const MITOGEN_FROM: [u32; 3] = [0, 3, 54];
const MITOGEN_BELOW: [u32; 3] = [0, 4, 0];
/// The ansible-core releases those Mitogen releases support: 2.10 to 2.21 (Mitogen 0.3.54 has
/// code for each; ict's tests run it on 2.19).
const ANSIBLE_FROM: [u32; 2] = [2, 10];
const ANSIBLE_TO: [u32; 2] = [2, 21];

/// The pip requirement for a Mitogen ict uses (`scripts/install.sh` pins the same).
pub const REQUIREMENT: &str = "mitogen>=0.3.54,<0.4";

/// The variable that turns Mitogen off (`0`) or on whatever the versions (`1`).
pub const SWITCH: &str = "ICT_ANSIBLE_MITOGEN";

/// How long the look-up may take (one Python start).
const PROBE_WAIT: Duration = Duration::from_secs(10);

/// Prints the Python that runs `ansible-playbook`, then, when it can import `ansible_mitogen`,
/// the folder of Mitogen's strategy plugins, Mitogen's version and ansible-core's.
const PROBE: &str = "\
import importlib.util as u, os, sys
print(sys.executable)
s = u.find_spec('ansible_mitogen')
if s:
    import mitogen, ansible.release
    print(os.path.join(s.submodule_search_locations[0], 'plugins', 'strategy'))
    print('.'.join(map(str, mitogen.__version__)))
    print(ansible.release.__version__)
";

/// What `ICT_ANSIBLE_MITOGEN` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Unset (or another value): Mitogen when it is there in a version ict knows to work.
    Auto,
    /// `0`, `false`, `off`, `no`: never.
    Off,
    /// `1`, `true`, `on`, `yes`: whenever `ansible_mitogen` imports, whatever its version.
    On,
}

impl Switch {
    pub fn from_setting(value: Option<&str>) -> Switch {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("0" | "false" | "off" | "no") => Switch::Off,
            Some("1" | "true" | "on" | "yes") => Switch::On,
            _ => Switch::Auto,
        }
    }
}

/// What the Python that runs `ansible-playbook` has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// That Python (`sys.executable`).
    pub python: String,
    /// Mitogen, when `ansible_mitogen` imports.
    pub mitogen: Option<Versions>,
}

/// An importable Mitogen, and the ansible-core beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// `.../ansible_mitogen/plugins/strategy`.
    pub plugins: PathBuf,
    pub mitogen: String,
    pub ansible: String,
}

/// Whether a run uses Mitogen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mitogen {
    /// It does: the strategy plugins' folder, and which Mitogen and Ansible.
    Used {
        plugins: PathBuf,
        python: String,
        mitogen: String,
        ansible: String,
    },
    /// `ICT_ANSIBLE_MITOGEN=0`.
    Off,
    /// `ansible-playbook`'s Python (when it answered) cannot import `ansible_mitogen`.
    Absent { python: Option<String> },
    /// It is there, but not in a version ict knows to work with this ansible-core: why.
    Unsupported { python: String, why: String },
}

impl Mitogen {
    /// The folder of the strategy plugins, when the run uses Mitogen.
    pub fn plugins(&self) -> Option<&Path> {
        match self {
            Mitogen::Used { plugins, .. } => Some(plugins),
            _ => None,
        }
    }
}

/// Mitogen for the `ansible-playbook` on `PATH`, as `ICT_ANSIBLE_MITOGEN` allows.
pub async fn find() -> Mitogen {
    let switch = Switch::from_setting(std::env::var(SWITCH).ok().as_deref());
    if switch == Switch::Off {
        return Mitogen::Off;
    }
    decide(switch, probe().await)
}

/// Whether to use Mitogen, from what `ICT_ANSIBLE_MITOGEN` asks (`switch`) and what the Python
/// of `ansible-playbook` has (`installed`; `None` when there is no `ansible-playbook` or its
/// Python did not answer).
pub fn decide(switch: Switch, installed: Option<Installed>) -> Mitogen {
    if switch == Switch::Off {
        return Mitogen::Off;
    }
    let Some(Installed { python, mitogen }) = installed else {
        return Mitogen::Absent { python: None };
    };
    let Some(Versions {
        plugins,
        mitogen,
        ansible,
    }) = mitogen
    else {
        return Mitogen::Absent {
            python: Some(python),
        };
    };
    match unsupported(&mitogen, &ansible) {
        Some(why) if switch == Switch::Auto => Mitogen::Unsupported { python, why },
        _ => Mitogen::Used {
            plugins,
            python,
            mitogen,
            ansible,
        },
    }
}

/// Why ict does not use Mitogen `mitogen` with ansible-core `ansible` (versions as `x.y.z`),
/// or `None` when it does.
fn unsupported(mitogen: &str, ansible: &str) -> Option<String> {
    let m = numbers(mitogen);
    let a = numbers(ansible);
    let dotted = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
    if m.as_slice() < MITOGEN_FROM.as_slice() {
        Some(format!(
            "Mitogen {mitogen} is older than {}, the first ict uses",
            dotted(&MITOGEN_FROM)
        ))
    } else if m.as_slice() >= MITOGEN_BELOW.as_slice() {
        Some(format!(
            "Mitogen {mitogen} is newer than the 0.3 series ict knows to work"
        ))
    } else if a.as_slice() < ANSIBLE_FROM.as_slice() {
        Some(format!(
            "ansible-core {ansible} is older than {}, the first Mitogen {} supports",
            dotted(&ANSIBLE_FROM),
            dotted(&MITOGEN_FROM)
        ))
    } else if a.get(..2) > Some(ANSIBLE_TO.as_slice()) {
        Some(format!(
            "ansible-core {ansible} is newer than {}, the last Mitogen {mitogen} is known to support",
            dotted(&ANSIBLE_TO)
        ))
    } else {
        None
    }
}

/// The numbers of a version (`2.20.0rc1` → 2, 20, 0): each dot-separated part's leading digits.
fn numbers(version: &str) -> Vec<u32> {
    version
        .split('.')
        .map_while(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Asks the Python of the `ansible-playbook` on `PATH` ([`PROBE`]).
async fn probe() -> Option<Installed> {
    let python = python_of(&super::on_path("ansible-playbook")?);
    let probe = tokio::process::Command::new(python)
        .arg("-c")
        .arg(PROBE)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PROBE_WAIT, probe).await.ok()?.ok()?;
    let mut installed = parse(&String::from_utf8_lossy(&output.stdout))?;
    // A Mitogen without its strategy (a broken install) is none.
    if let Some(found) = &installed.mitogen {
        if !found.plugins.join("mitogen_linear.py").is_file() {
            installed.mitogen = None;
        }
    }
    Some(installed)
}

/// [`PROBE`]'s answer.
fn parse(stdout: &str) -> Option<Installed> {
    let mut lines = stdout.lines().map(str::trim);
    let python = lines.next().filter(|l| !l.is_empty())?.to_owned();
    let mitogen = match (lines.next(), lines.next(), lines.next()) {
        (Some(plugins), Some(mitogen), Some(ansible)) => Some(Versions {
            plugins: PathBuf::from(plugins),
            mitogen: mitogen.to_owned(),
            ansible: ansible.to_owned(),
        }),
        _ => None,
    };
    Some(Installed { python, mitogen })
}

/// The Python that runs `script`: its `#!` interpreter when that is a Python, else `python3`
/// (a wrapper such as pyenv's shim runs the `python3` of the same `PATH`).
fn python_of(script: &Path) -> PathBuf {
    let first = std::fs::read(script)
        .ok()
        .and_then(|bytes| {
            let line = bytes.split(|b| *b == b'\n').next()?.to_vec();
            String::from_utf8(line).ok()
        })
        .unwrap_or_default();
    let interpreter = first
        .strip_prefix("#!")
        .map(|rest| {
            let mut words = rest.split_whitespace();
            match words.next() {
                Some(env) if env.ends_with("/env") => words.next().unwrap_or_default(),
                other => other.unwrap_or_default(),
            }
        })
        .unwrap_or_default();
    let is_python = Path::new(interpreter)
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("python"));
    PathBuf::from(if is_python { interpreter } else { "python3" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(mitogen: &str, ansible: &str) -> Installed {
        Installed {
            python: "/venv/bin/python3".to_owned(),
            mitogen: Some(Versions {
                plugins: PathBuf::from("/m/plugins/strategy"),
                mitogen: mitogen.to_owned(),
                ansible: ansible.to_owned(),
            }),
        }
    }

    fn why(mitogen: &str, ansible: &str) -> Option<String> {
        match decide(Switch::Auto, Some(installed(mitogen, ansible))) {
            Mitogen::Used { .. } => None,
            Mitogen::Unsupported { why, .. } => Some(why),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mitogen_is_used_only_in_a_version_known_to_work_with_the_ansible_core_beside_it() {
        for (mitogen, ansible) in [
            ("0.3.54", "2.19.14"),
            ("0.3.54", "2.10.0"),
            ("0.3.99", "2.21.3"),
            ("0.3.54", "2.20.0rc1"),
        ] {
            assert_eq!(why(mitogen, ansible), None, "{mitogen} {ansible}");
        }
        let cases = [
            ("0.3.53", "2.19.14", "Mitogen 0.3.53 is older than 0.3.54, the first ict uses"),
            ("0.4.0", "2.19.14", "Mitogen 0.4.0 is newer than the 0.3 series ict knows to work"),
            (
                "0.3.54",
                "2.9.27",
                "ansible-core 2.9.27 is older than 2.10, the first Mitogen 0.3.54 supports",
            ),
            (
                "0.3.54",
                "2.22.0",
                "ansible-core 2.22.0 is newer than 2.21, the last Mitogen 0.3.54 is known to support",
            ),
        ];
        for (mitogen, ansible, expected) in cases {
            assert_eq!(why(mitogen, ansible).as_deref(), Some(expected));
        }
    }

    #[test]
    fn ict_ansible_mitogen_turns_mitogen_off_or_on_whatever_the_versions() {
        assert_eq!(Switch::from_setting(Some("0")), Switch::Off);
        assert_eq!(Switch::from_setting(Some(" Off ")), Switch::Off);
        assert_eq!(Switch::from_setting(Some("1")), Switch::On);
        assert_eq!(Switch::from_setting(Some("")), Switch::Auto);
        assert_eq!(Switch::from_setting(None), Switch::Auto);
        assert_eq!(
            decide(Switch::Off, Some(installed("0.3.54", "2.19.1"))),
            Mitogen::Off
        );
        assert_eq!(decide(Switch::Off, None), Mitogen::Off);
        let forced = decide(Switch::On, Some(installed("0.3.40", "2.22.0")));
        assert_eq!(forced.plugins(), Some(Path::new("/m/plugins/strategy")));
        assert_eq!(decide(Switch::On, None), Mitogen::Absent { python: None });
    }

    #[test]
    fn the_probe_s_answer_is_the_python_then_mitogen_if_it_imports() {
        assert_eq!(
            parse("/usr/bin/python3\n/m/plugins/strategy\n0.3.54\n2.19.14\n"),
            Some(Installed {
                python: "/usr/bin/python3".to_owned(),
                ..installed("0.3.54", "2.19.14")
            })
        );
        let without = parse("/usr/bin/python3\n");
        assert_eq!(
            decide(Switch::Auto, without),
            Mitogen::Absent {
                python: Some("/usr/bin/python3".to_owned())
            }
        );
        assert_eq!(parse(""), None);
    }

    #[test]
    fn install_sh_pins_the_mitogen_ict_uses() {
        let script = include_str!("../../scripts/install.sh");
        assert!(script.contains(&format!("mitogen_pin='{REQUIREMENT}'")));
        assert!(script.contains("(0, 3, 54) <= mitogen.__version__ < (0, 4)"));
        assert_eq!(REQUIREMENT, "mitogen>=0.3.54,<0.4");
        assert_eq!((MITOGEN_FROM, MITOGEN_BELOW), ([0, 3, 54], [0, 4, 0]));
    }

    #[test]
    fn the_python_of_a_script_is_its_interpreter_or_python3() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                "#!/opt/venv/bin/python3.11\nimport sys\n",
                "/opt/venv/bin/python3.11",
            ),
            ("#!/usr/bin/env python3\n", "python3"),
            ("#!/usr/bin/env bash\nexec pyenv\n", "python3"),
            ("no shebang", "python3"),
        ];
        for (text, python) in cases {
            let script = dir.path().join("ansible-playbook");
            std::fs::write(&script, text).expect("write");
            assert_eq!(python_of(&script), PathBuf::from(python), "{text:?}");
        }
    }
}
