//! `ict doctor`'s report, and the summary a command prints when it skipped steps because this
//! machine lacks what they need. Plain text; `--json` goes through [`super::Ui::json`].

use std::fmt::Write as _;

use crate::app::doctor::{Feature, Skipped};

/// The command that installs everything ict and its tests need.
const INSTALL_ALL: &str = "bash scripts/install.sh";

/// One block per feature: its name, whether it is ready and what for, then a line per check
/// (missing ones with their install command), and a closing count.
pub fn report(features: &[Feature]) -> String {
    let width = features
        .iter()
        .flat_map(|f| &f.checks)
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for feature in features {
        let status = if feature.ok { "ready" } else { "MISSING" };
        let _ = writeln!(
            out,
            "{}: {status} — for {}",
            feature.name, feature.needed_for
        );
        for check in &feature.checks {
            let (mark, install) = if check.ok {
                ("ok ", String::new())
            } else {
                ("no ", format!(" — install: {}", check.install))
            };
            let _ = writeln!(
                out,
                "  {mark} {:width$}  {}{install}",
                check.name, check.detail
            );
        }
    }
    let ready = features.iter().filter(|f| f.ok).count();
    let _ = write!(out, "\n{ready} of {} features ready", features.len());
    if ready < features.len() {
        let _ = write!(out, "; `{INSTALL_ALL}` installs what ict's tests need");
    }
    out.push('\n');
    out
}

/// What a command skipped and how to install what it needed, e.g.
///
/// ```text
/// Skipped, because this machine lacks what they need:
///   2 playbooks: ansible-playbook is not on PATH
///     install: python3 -m pip install ansible-core
/// `ict doctor` lists what this machine has; `bash scripts/install.sh` installs it all.
/// ```
pub fn skipped(skipped: &[Skipped]) -> String {
    let mut out = String::from("\nSkipped, because this machine lacks what they need:\n");
    for s in skipped {
        let _ = writeln!(out, "  {}: {}", s.step, s.reason);
        let _ = writeln!(out, "    install: {}", s.install);
    }
    let _ = writeln!(
        out,
        "`ict doctor` lists what this machine has; `{INSTALL_ALL}` installs it all."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::doctor::Check;

    fn check(name: &'static str, ok: bool, detail: &str) -> Check {
        Check {
            name,
            ok,
            detail: detail.to_owned(),
            install: format!("apt-get install -y {name}"),
        }
    }

    #[test]
    fn the_report_shows_each_check_and_how_to_install_what_is_missing() {
        let features = [
            Feature {
                name: "emulator-ssh",
                needed_for: "SSH",
                ok: true,
                checks: vec![check("sshd", true, "/usr/sbin/sshd")],
            },
            Feature {
                name: "browser",
                needed_for: "dashboard tests",
                ok: false,
                checks: vec![check("chromium", false, "not on PATH")],
            },
        ];
        assert_eq!(
            report(&features),
            "emulator-ssh: ready — for SSH\n\
             \x20 ok  sshd      /usr/sbin/sshd\n\
             browser: MISSING — for dashboard tests\n\
             \x20 no  chromium  not on PATH — install: apt-get install -y chromium\n\
             \n1 of 2 features ready; `bash scripts/install.sh` installs what ict's tests need\n"
        );
    }

    #[test]
    fn the_skipped_summary_names_each_step_and_its_install_command() {
        let text = skipped(&[Skipped {
            step: "2 playbooks".to_owned(),
            reason: "ansible-playbook is not on PATH".to_owned(),
            install: "python3 -m pip install ansible-core".to_owned(),
        }]);
        assert_eq!(
            text,
            "\nSkipped, because this machine lacks what they need:\n\
             \x20 2 playbooks: ansible-playbook is not on PATH\n\
             \x20   install: python3 -m pip install ansible-core\n\
             `ict doctor` lists what this machine has; `bash scripts/install.sh` installs it all.\n"
        );
    }
}
