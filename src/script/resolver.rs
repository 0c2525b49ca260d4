//! Module resolution for `import`:
//!
//! - `import "ict/NAME"` — a stdlib module embedded in the binary (`stdlib/NAME.ict`);
//! - `import "./path"` / `"../path"` — relative to the importing file (`.ict` implied);
//! - `import "NAME"` — the project's `modules/` folder (next to the entry script), then each
//!   folder of `ICT_PATH`.
//!
//! A module that cannot be found is an error at the import naming every place looked at.
//! Each import evaluates the module afresh, so a module may be imported under two names.

use std::path::{Component, Path, PathBuf};

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope};

type SharedModule = rhai::Shared<Module>;

use super::api::Shared;
use super::error::HostError;
use super::stdlib;

pub(crate) struct Resolver {
    builder: Shared,
}

impl Resolver {
    pub(crate) fn new(builder: Shared) -> Resolver {
        Resolver { builder }
    }

    /// Finds the module: its display name, text and folder; or the places looked at.
    fn locate(
        &self,
        source: Option<&str>,
        path: &str,
    ) -> Result<(String, String, PathBuf), Vec<String>> {
        if let Some(name) = path.strip_prefix("ict/") {
            return stdlib::module(name)
                .map(|text| (format!("ict/{name}.ict"), text.to_owned(), PathBuf::new()))
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
            if let Ok(text) = std::fs::read_to_string(candidate) {
                let dir = candidate
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                return Ok((candidate.display().to_string(), text, dir));
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
        let (name, text, dir) = self.locate(source, path).map_err(|looked| {
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
            let id = b.sources.add(&name, &text);
            b.dirs.insert(id, dir);
        }
        let in_module =
            |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.clone(), e, pos));
        let mut ast = engine
            .compile(&text)
            .map_err(|e| in_module(Box::new(EvalAltResult::ErrorParsing(*e.0, e.1))))?;
        ast.set_source(name.as_str());
        let module = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)?;
        Ok(module.into())
    }
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
