//! ict's standard library: `.ict` modules shipped inside the binary (from `stdlib/`), imported
//! with `import "ict/NAME" as x;`, and the Ansible playbooks they declare (from
//! `stdlib/playbooks/`), named `ict/playbooks/NAME.yml` in `playbook(...)` and written by
//! `ict run` into its private work folder before Ansible runs. Depends on nothing.

const MODULES: &[(&str, &str)] = &[
    ("base", include_str!("../../stdlib/base.ict")),
    (
        "node_exporter",
        include_str!("../../stdlib/node_exporter.ict"),
    ),
    ("sizes", include_str!("../../stdlib/sizes.ict")),
];

/// Playbooks shipped with the stdlib, by file name under `ict/playbooks/`.
const PLAYBOOKS: &[(&str, &str)] = &[
    ("base.yml", include_str!("../../stdlib/playbooks/base.yml")),
    (
        "node_exporter.yml",
        include_str!("../../stdlib/playbooks/node_exporter.yml"),
    ),
];

/// The prefix of a playbook path that names a playbook shipped inside ict.
pub const PLAYBOOK_PREFIX: &str = "ict/playbooks/";

/// The text of stdlib module `name`.
pub(crate) fn module(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Names of all stdlib modules.
pub(crate) fn names() -> Vec<&'static str> {
    MODULES.iter().map(|(n, _)| *n).collect()
}

/// The YAML of a shipped playbook, by its path in a script: `ict/playbooks/node_exporter.yml`.
/// `None` for any other path (a playbook file next to the script).
pub fn playbook(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix(PLAYBOOK_PREFIX)?;
    PLAYBOOKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Paths of all shipped playbooks (`ict/playbooks/NAME.yml`).
pub(crate) fn playbook_paths() -> Vec<String> {
    PLAYBOOKS
        .iter()
        .map(|(n, _)| format!("{PLAYBOOK_PREFIX}{n}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_and_playbook_is_reachable_by_its_name() {
        for name in names() {
            assert!(module(name).is_some_and(|t| !t.is_empty()), "{name}");
        }
        assert_eq!(module("missing"), None);
        for path in playbook_paths() {
            assert!(
                playbook(&path).is_some_and(|t| t.contains("hosts:")),
                "{path}"
            );
        }
        assert_eq!(playbook("playbooks/node_exporter.yml"), None);
        assert_eq!(playbook("ict/playbooks/missing.yml"), None);
    }
}
