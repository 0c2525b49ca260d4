//! The script API as the engine describes it. Every function is registered through
//! [`super::function`] with its parameter names, result type and documentation, which Rhai's
//! `metadata` feature keeps; this file reads them back. Signature help in errors, `:help` and
//! completion in the REPL, and the function index of docs/language.md (compared, or rewritten
//! with `UPDATE_DOCS=1`, by `reference/docs.rs`) all come from here, so none of them can differ
//! from what a script can call. Depends on `api` and rhai.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::LazyLock;

use serde::Deserialize;

use super::Builder;
use crate::script::Options;

/// One registered function (one overload), as Rhai's metadata describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Overload {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) params: Vec<Param>,
    #[serde(default)]
    pub(crate) return_type: String,
    /// `server(name: string, options: map) -> Server`.
    pub(crate) signature: String,
    /// Read by the docs test (`reference/docs.rs`) only.
    #[cfg_attr(not(test), allow(dead_code))]
    #[serde(default)]
    doc_comments: Vec<String>,
    pub(crate) num_params: usize,
}

/// A parameter: its name and type, when the registration gave them.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Param {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(rename = "type", default)]
    pub(crate) typ: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    functions: Vec<Overload>,
}

impl Overload {
    /// The documentation, without the `///` of each line.
    #[cfg(test)]
    pub(crate) fn doc(&self) -> String {
        self.doc_comments
            .iter()
            .flat_map(|block| block.lines())
            .map(|line| line.trim_start_matches("///").trim())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A method of a handle type (a property getter, `to_string`), not a script function.
    pub(crate) fn is_method(&self) -> bool {
        self.params
            .first()
            .and_then(|p| p.typ.as_deref())
            .is_some_and(|t| t.starts_with("&mut "))
    }

    /// The property name, for a getter (`get$ip` → `ip`).
    fn property(&self) -> Option<&str> {
        self.name.strip_prefix("get$")
    }

    /// Whether it has a parameter called `name`.
    pub(crate) fn param(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.name.as_deref() == Some(name))
    }

    fn param_names(&self) -> Vec<&str> {
        self.params
            .iter()
            .map(|p| p.name.as_deref().unwrap_or("_"))
            .collect()
    }
}

/// Every function the script API registers, handle methods included, sorted by name, then by
/// number of parameters, then by signature. Read from `Engine::gen_fn_metadata_to_json`, the one
/// public view of the metadata that includes doc comments; the tests below fail if it ever
/// yields nothing.
pub(crate) fn metadata() -> &'static [Overload] {
    static METADATA: LazyLock<Vec<Overload>> = LazyLock::new(|| {
        let builder = Rc::new(RefCell::new(Builder::new(Options::new(
            "dev",
            indexmap::IndexMap::new(),
        ))));
        let mut engine = rhai::Engine::new_raw();
        super::register(&mut engine, &builder);
        let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
        let mut functions = serde_json::from_str::<Metadata>(&json)
            .map(|m| m.functions)
            .unwrap_or_default();
        functions.sort_by(|a, b| {
            (&a.name, a.num_params, &a.signature).cmp(&(&b.name, b.num_params, &b.signature))
        });
        functions
    });
    &METADATA
}

/// The script functions (not the handle methods), grouped by name.
pub(crate) fn functions() -> impl Iterator<Item = (&'static str, Vec<&'static Overload>)> {
    let mut groups: Vec<(&'static str, Vec<&'static Overload>)> = Vec::new();
    for overload in metadata().iter().filter(|o| !o.is_method()) {
        match groups.last_mut() {
            Some((name, list)) if *name == overload.name => list.push(overload),
            _ => groups.push((&overload.name, vec![overload])),
        }
    }
    groups.into_iter()
}

/// The read-only properties of handle type `type_name` (`Server`): its getters, sorted.
pub(crate) fn properties(type_name: &str) -> Vec<&'static str> {
    let receiver = format!("&mut {type_name}");
    metadata()
        .iter()
        .filter(|o| o.params.first().and_then(|p| p.typ.as_deref()) == Some(receiver.as_str()))
        .filter_map(Overload::property)
        .collect()
}

/// How to call a function, in one line: its overloads joined by ", or ", leaving out one whose
/// parameters begin another's with the same result (`server(name)` is in
/// `server(name: string, options: map) -> Server`).
fn usage(overloads: &[&Overload]) -> String {
    let covered = |o: &Overload| {
        overloads.iter().any(|longer| {
            longer.num_params > o.num_params
                && longer.return_type == o.return_type
                && longer.param_names().starts_with(&o.param_names())
        })
    };
    overloads
        .iter()
        .filter(|o| !covered(o))
        .map(|o| o.signature.as_str())
        .collect::<Vec<_>>()
        .join(", or ")
}

/// The script API's functions, each with its usage line, by name: read from the engine's
/// metadata once, on first use. Iterates over `(name, usage)` pairs like a slice of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Functions;

/// Every function of the script API with its usage, for error hints, `:help` and completion.
pub(crate) const FUNCTIONS: Functions = Functions;

impl Functions {
    #[expect(
        clippy::unused_self,
        reason = "the unit value stands for the table, so `FUNCTIONS.iter()` reads like a slice's"
    )]
    pub(crate) fn iter(self) -> std::slice::Iter<'static, (&'static str, &'static str)> {
        static USAGES: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
            functions()
                .map(|(name, overloads)| (name, usage(&overloads)))
                .collect()
        });
        static TABLE: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
            USAGES
                .iter()
                .map(|(name, usage)| (*name, usage.as_str()))
                .collect()
        });
        TABLE.iter()
    }
}

impl IntoIterator for Functions {
    type Item = &'static (&'static str, &'static str);
    type IntoIter = std::slice::Iter<'static, (&'static str, &'static str)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// "usage: server(name: string, options: map) -> Server" for a function of the script API.
pub(crate) fn signature_help(name: &str) -> Option<String> {
    FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, usage)| format!("usage: {usage}"))
}

#[cfg(test)]
mod docs;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lines_come_from_the_registrations() {
        let usage = |name| signature_help(name).expect(name);
        assert_eq!(
            usage("server"),
            "usage: server(name: string, options: map) -> Server"
        );
        assert_eq!(
            usage("variable"),
            "usage: variable(name: string) -> string, or variable(name: string, default)"
        );
        assert_eq!(
            usage("environments"),
            "usage: environments(names: array), or environments(settings: map) -> map"
        );
        assert!(signature_help("print").is_none());
        assert!(FUNCTIONS.iter().all(|(n, _)| !n.starts_with("get$")));
    }

    #[test]
    fn every_script_function_is_documented_with_named_parameters() {
        let mut problems = Vec::new();
        for (name, overloads) in functions() {
            for o in overloads {
                if o.doc().is_empty() {
                    problems.push(format!("{}: no documentation", o.signature));
                }
                if o.params.len() != o.num_params || o.params.iter().any(|p| p.name.is_none()) {
                    problems.push(format!(
                        "{}: name each of its {} parameters (and give the result type) in \
                         `api::function(\"{name}\", ...)`",
                        o.signature, o.num_params
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "register script functions with `api::function(name, params, returns, doc)`:\n{}",
            problems.join("\n")
        );
    }
}
