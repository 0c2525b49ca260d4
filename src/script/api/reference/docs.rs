//! docs/language.md against the engine. Its function index, between two markers, is generated
//! from the registered functions: the test fails, naming the functions missing, extra or
//! changed, when it differs, and `UPDATE_DOCS=1 cargo test --lib script::api::reference`
//! rewrites it. Each declaration's hand-written section must name exactly the fields the
//! declaration reads (its `FIELDS`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{functions, properties};
use crate::script::Session;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md");
const BEGIN: &str = "<!-- function index: generated from the registered functions by \
                     `UPDATE_DOCS=1 cargo test --lib script::api::reference`; do not edit -->";
const END: &str = "<!-- end of the function index -->";

fn code_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The function index: one row per function, with its overloads, documentation, options and
/// the properties of what it returns.
fn index() -> String {
    let mut out = String::from("| function | what it does |\n|---|---|\n");
    for (name, overloads) in functions() {
        let signatures = overloads
            .iter()
            .map(|o| format!("`{}`", o.signature))
            .collect::<Vec<_>>()
            .join("<br>");
        let mut text: Vec<String> = Vec::new();
        for doc in overloads.iter().map(|o| o.doc()) {
            if !text.contains(&doc) {
                text.push(doc);
            }
        }
        let fields = Session::fields_of(name);
        if !fields.is_empty() {
            text.push(format!("Options: {}.", code_list(fields.iter().copied())));
        }
        let returns: BTreeSet<&str> = overloads.iter().map(|o| o.return_type.as_str()).collect();
        for type_name in returns {
            let properties = properties(type_name);
            if !properties.is_empty() {
                text.push(format!(
                    "`{type_name}` properties: {}.",
                    code_list(properties)
                ));
            }
        }
        let _ = writeln!(
            out,
            "| {signatures} | {} |",
            text.join(" ").replace('|', "\\|")
        );
    }
    out
}

/// The rows of an index, each with the function it is about.
fn rows(table: &str) -> Vec<(&str, &str)> {
    table
        .lines()
        .filter_map(|row| Some((row.strip_prefix("| `")?.split('(').next()?, row)))
        .collect()
}

#[test]
fn the_function_index_in_language_md_is_the_registered_functions() {
    let text = std::fs::read_to_string(FILE).expect("read docs/language.md");
    let (head, rest) = text
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("docs/language.md has no line\n{BEGIN}"));
    let (old, tail) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("docs/language.md has no line\n{END}"));
    let new = format!("\n{}", index());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(FILE, format!("{head}{BEGIN}{new}{END}{tail}")).expect("write");
        return;
    }
    if old == new {
        return;
    }
    let (old, new) = (rows(old), rows(&new));
    let names = |rows: &[(&str, &str)]| -> BTreeSet<String> {
        rows.iter().map(|(n, _)| (*n).to_owned()).collect()
    };
    let (documented, registered) = (names(&old), names(&new));
    let changed: Vec<&str> = new
        .iter()
        .filter(|row| documented.contains(row.0) && !old.contains(row))
        .map(|(n, _)| *n)
        .collect();
    panic!(
        "docs/language.md: the function index is not what the engine registers\n  \
         registered, not documented: {}\n  documented, not registered: {}\n  \
         documented differently: {}\n\
         run `UPDATE_DOCS=1 cargo test --lib script::api::reference` and review the diff",
        code_list(registered.difference(&documented).map(String::as_str)),
        code_list(documented.difference(&registered).map(String::as_str)),
        code_list(changed),
    );
}

/// The backquoted words of `text` (`` `cpu` `` → `cpu`; `` `"for"` `` → `for`).
fn quoted(text: &str) -> impl Iterator<Item = &str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|w| w.trim_matches('"'))
}

#[test]
fn each_declaration_section_in_language_md_names_exactly_its_fields() {
    let text = std::fs::read_to_string(FILE).expect("read docs/language.md");
    let sections: Vec<(&str, &str)> = text
        .split("\n### ")
        .skip(1)
        .map(|s| s.split_once('\n').unwrap_or((s, "")))
        .map(|(heading, body)| (heading, body.split("\n## ").next().unwrap_or(body)))
        .collect();
    let registered: BTreeSet<&str> = functions().map(|(name, _)| name).collect();
    let mut problems = Vec::new();
    for (heading, _) in &sections {
        let called = heading
            .strip_prefix('`')
            .and_then(|h| h.split_once('('))
            .map(|(name, _)| name);
        if let Some(name) = called.filter(|n| !registered.contains(n)) {
            problems.push(format!(
                "`### {heading}`: no function `{name}` is registered"
            ));
        }
    }
    for name in &registered {
        let fields = Session::fields_of(name);
        if fields.is_empty() {
            continue;
        }
        let Some((heading, body)) = sections
            .iter()
            .find(|(h, _)| h.starts_with(&format!("`{name}(")))
        else {
            problems.push(format!(
                "no `### `{name}(...)`` section documents its fields"
            ));
            continue;
        };
        // Named: the heading's `#{ a, b | c }` list and the first column of a field table.
        let listed = heading
            .split_once("#{")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map_or("", |(list, _)| list);
        let named: BTreeSet<&str> = listed
            .split([',', '|'])
            .map(str::trim)
            .filter(|f| !f.is_empty() && *f != "...")
            .chain(body.lines().filter_map(|row| {
                row.strip_prefix("| `")
                    .and_then(|r| r.split_once('`'))
                    .map(|(field, _)| field)
            }))
            .collect();
        let mentioned: BTreeSet<&str> = quoted(body).chain(named.iter().copied()).collect();
        for extra in named.iter().filter(|f| !fields.contains(f)) {
            problems.push(format!(
                "`{name}(...)` section: documents field `{extra}`, which `{name}` does not read"
            ));
        }
        for missing in fields.iter().filter(|f| !mentioned.contains(*f)) {
            problems.push(format!(
                "`{name}(...)` section: field `{missing}` is not documented"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/language.md:\n  {}",
        problems.join("\n  ")
    );
}
