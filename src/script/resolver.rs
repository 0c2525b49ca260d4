//! Module resolution for `import`:
//!
//! - `import "ict/NAME"` — a stdlib module embedded in the binary (`stdlib/NAME.ict`);
//! - `import "./path"` / `"../path"` — relative to the importing file (`.ict` implied);
//! - `import "NAME"` — the project's `modules/` folder (next to the entry script), then each
//!   folder of `ICT_PATH`.
//!
//! A module that cannot be found is an error at the import naming every place looked at.
//! Each import evaluates the module afresh, so a module may be imported under two names; an
//! import of a module that is still being evaluated (a cycle, or a file importing itself) is an
//! error at that import, and so is a chain of imports deeper than [`MAX_IMPORT_DEPTH`] (each
//! level evaluates a module inside the one importing it: unbounded, it would exhaust the stack).

use std::path::{Component, Path, PathBuf};

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope};

type SharedModule = rhai::Shared<Module>;

use super::api::Shared;
use super::error::HostError;
use super::stdlib;

/// Deepest chain of imports (a module importing a module importing …) allowed.
pub(crate) const MAX_IMPORT_DEPTH: usize = 32;

pub(crate) struct Resolver {
    builder: Shared,
}

impl Resolver {
    pub(crate) fn new(builder: Shared) -> Resolver {
        Resolver { builder }
    }

    /// Finds the module; or the places looked at.
    fn locate(&self, source: Option<&str>, path: &str) -> Result<Found, Vec<String>> {
        if let Some(name) = path.strip_prefix("ict/") {
            return stdlib::module(name)
                .map(|text| Found {
                    name: format!("ict/{name}.ict"),
                    key: format!("ict/{name}"),
                    text: text.to_owned(),
                    dir: PathBuf::new(),
                })
                .ok_or_else(|| {
                    vec![format!(
                        "ict's standard library ({})",
                        stdlib::names().join(", ")
                    )]
                });
        }
        let b = self.builder.borrow();
        let file = if Path::new(path).extension().is_some() {
            path.to_owned()
        } else {
            format!("{path}.ict")
        };
        let candidates: Vec<PathBuf> =
            if path.starts_with("./") || path.starts_with("../") || Path::new(path).is_absolute() {
                let from = source.and_then(|s| b.sources.find(s)).unwrap_or(b.entry);
                let dir = b.dirs.get(&from).cloned().unwrap_or_default();
                vec![normalize(&dir.join(&file))]
            } else {
                let root = b.dirs.get(&b.entry).cloned().unwrap_or_default();
                let mut c = vec![normalize(&root.join("modules").join(&file))];
                c.extend(b.options.ict_path.iter().map(|d| normalize(&d.join(&file))));
                c
            };
        drop(b);
        for candidate in &candidates {
            if let Ok(text) = super::read_script(candidate) {
                let dir = candidate
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                return Ok(Found {
                    name: candidate.display().to_string(),
                    key: file_key(candidate),
                    text,
                    dir,
                });
            }
        }
        Err(candidates.iter().map(|c| c.display().to_string()).collect())
    }
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let Found {
            name,
            key,
            text,
            dir,
        } = self.locate(source, path).map_err(|looked| {
            HostError {
                code: "ict::script::module_not_found",
                message: format!("module `{path}` not found"),
                help: Some(format!("looked in: {}", looked.join(", "))),
                span: None,
            }
            .into_rhai(pos)
        })?;
        {
            let mut b = self.builder.borrow_mut();
            if let Some(error) = refuse_import(&b.importing, &key, &name) {
                return Err(error.into_rhai(pos));
            }
            let id = b.sources.add(&name, &text);
            b.dirs.insert(id, dir);
            b.importing.push((key, name.clone()));
        }
        let in_module =
            |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.clone(), e, pos));
        let module = engine
            .compile(&text)
            .map_err(|e| in_module(Box::new(EvalAltResult::ErrorParsing(*e.0, e.1))))
            .and_then(|mut ast| {
                ast.set_source(name.as_str());
                Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)
            });
        self.builder.borrow_mut().importing.pop();
        Ok(module?.into())
    }
}

/// A module found for an import.
struct Found {
    /// As shown in messages.
    name: String,
    /// What identifies it in the chain of imports being evaluated.
    key: String,
    text: String,
    /// Its folder, for its own relative paths.
    dir: PathBuf,
}

/// What identifies a module file in the chain of imports: its canonical path, so that `./a`
/// and `../x/a` are one file.
pub(crate) fn file_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Why the module `key` (shown as `name`) cannot be imported while `chain` (keys and names,
/// outermost first) is being evaluated: it is part of the chain (a cycle), or the chain is
/// already as deep as allowed.
fn refuse_import(chain: &[(String, String)], key: &str, name: &str) -> Option<HostError> {
    if let Some(start) = chain.iter().position(|(k, _)| k == key) {
        let message = if start + 1 == chain.len() {
            format!("import cycle: `{name}` imports itself")
        } else {
            let path: Vec<&str> = chain[start..].iter().map(|(_, n)| n.as_str()).collect();
            format!("import cycle: {} → {name}", path.join(" → "))
        };
        return Some(HostError {
            code: "ict::script::import_cycle",
            message,
            help: Some(
                "a module cannot import a module that is still loading; move what both need \
                 into a module that imports neither"
                    .into(),
            ),
            span: None,
        });
    }
    (chain.len() >= MAX_IMPORT_DEPTH).then(|| HostError {
        code: "ict::script::import_depth",
        message: format!("imports nested more than {MAX_IMPORT_DEPTH} deep"),
        help: Some("flatten the chain of modules importing each other".into()),
        span: None,
    })
}

/// Removes `.` and resolves `..` lexically, so that names in messages stay readable.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() && !out.ends_with("..") => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    fn chain(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), format!("{n}.ict")))
            .collect()
    }

    #[test]
    fn an_import_cycle_is_refused_naming_the_chain() {
        let refused = |c: &[&str], key: &str| {
            super::refuse_import(&chain(c), key, &format!("{key}.ict")).map(|e| e.message)
        };
        assert_eq!(
            refused(&["a"], "a").as_deref(),
            Some("import cycle: `a.ict` imports itself")
        );
        assert_eq!(
            refused(&["main", "a", "b"], "a").as_deref(),
            Some("import cycle: a.ict → b.ict → a.ict")
        );
        assert_eq!(refused(&["main", "a"], "b"), None);
        let deep: Vec<String> = (0..super::MAX_IMPORT_DEPTH)
            .map(|i| i.to_string())
            .collect();
        let deep: Vec<&str> = deep.iter().map(String::as_str).collect();
        assert_eq!(
            refused(&deep, "x").as_deref(),
            Some("imports nested more than 32 deep")
        );
    }

    #[test]
    fn normalize() {
        assert_eq!(
            super::normalize("a/./b/../c.ict".as_ref()),
            std::path::PathBuf::from("a/c.ict")
        );
        assert_eq!(
            super::normalize("../x.ict".as_ref()),
            std::path::PathBuf::from("../x.ict")
        );
    }
}
