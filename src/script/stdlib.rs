//! ict's standard library: `.ict` modules shipped inside the binary (from `stdlib/`), imported
//! with `import "ict/NAME" as x;`.

const MODULES: &[(&str, &str)] = &[("sizes", include_str!("../../stdlib/sizes.ict"))];

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
