//! The Rhai script host: the engine factory, module resolution, the script API and the
//! conversion of Rhai errors into diagnostics. May depend on `model`.
//!
//! [`evaluate`] runs a script once, synchronously and without network I/O (DESIGN decision 1),
//! and returns the validated [`Desired`] model, or every problem found.

pub(crate) mod api;
mod engine;
mod error;
mod locate;
mod problems;
mod resolver;
pub mod session;
mod stdlib;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use indexmap::IndexMap;

pub use engine::{MAX_CALL_LEVELS, MAX_OPERATIONS, TIME_LIMIT};
pub use error::{Problem, ScriptError};
pub use problems::{located, Problems};
pub use session::Session;
pub use stdlib::{playbook as stdlib_playbook, PLAYBOOK_PREFIX as STDLIB_PLAYBOOK_PREFIX};

use crate::model::{self, Desired, SourceId, Sources};

/// How to evaluate a script.
#[derive(Debug, Clone)]
pub struct Options {
    /// The selected environment (`--env`).
    pub env: String,
    /// `--var` values.
    pub vars: IndexMap<String, String>,
    /// Extra module folders (`ICT_PATH`).
    pub ict_path: Vec<PathBuf>,
    /// Operation budget.
    pub max_operations: u64,
    /// Wall-clock budget of one evaluation.
    pub time_limit: std::time::Duration,
    /// Whether `secret(NAME)` needs NAME set (`plan`, `apply`, …); `check` validates without
    /// the values.
    pub need_secrets: bool,
}

impl Options {
    /// Options for `env` and `vars`, with module folders from `ICT_PATH`.
    pub fn new(env: &str, vars: IndexMap<String, String>) -> Options {
        let ict_path = std::env::var_os("ICT_PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .filter(|d| !d.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Options {
            env: env.to_owned(),
            vars,
            ict_path,
            max_operations: MAX_OPERATIONS,
            time_limit: TIME_LIMIT,
            need_secrets: true,
        }
    }
}

/// A successfully evaluated and validated script.
#[derive(Debug)]
pub struct Evaluated {
    pub desired: Desired,
    pub sources: Sources,
    /// Problems that do not stop ict (e.g. an image missing from the known catalogue).
    pub warnings: Vec<Problem>,
}

/// Why a script could not be turned into a model: every problem found, with the sources they
/// point into.
#[derive(Debug)]
pub struct Failure {
    pub sources: Sources,
    pub problems: Vec<Problem>,
}

/// Reads a script or module file; a UTF-8 byte order mark at its start is not part of the text.
pub(crate) fn read_script(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Reads, evaluates and validates the script at `path`.
pub fn evaluate(path: &Path, options: Options) -> Result<Evaluated, Failure> {
    let name = path.display().to_string();
    match read_script(path) {
        Ok(text) => {
            let entry = Entry {
                name: &name,
                text: &text,
                dir: path.parent().unwrap_or(Path::new("")),
                key: Some(resolver::file_key(path)),
            };
            evaluate_entry(&entry, options)
        }
        Err(e) => {
            let mut sources = Sources::default();
            let id = sources.add(&name, "");
            let help = (e.kind() == std::io::ErrorKind::NotFound)
                .then(|| "check the path; scripts usually end in .ict".to_owned());
            let error = ScriptError::plain(
                "ict::script::read",
                format!("cannot read {name}: {e}"),
                help,
                id,
            );
            Err(Failure {
                sources,
                problems: vec![error.into()],
            })
        }
    }
}

/// Evaluates script `text`, shown as `name`, whose relative paths start at `dir`.
pub fn evaluate_source(
    name: &str,
    text: &str,
    dir: &Path,
    options: Options,
) -> Result<Evaluated, Failure> {
    let entry = Entry {
        name,
        text,
        dir,
        key: None,
    };
    evaluate_entry(&entry, options)
}

/// For tests: the model of script `text` (environment `dev`, no variables), or its problems
/// as text.
#[cfg(test)]
pub(crate) fn evaluate_text(text: &str) -> Result<Desired, Vec<String>> {
    let options = Options::new("dev", indexmap::IndexMap::new());
    evaluate_source("t.ict", text, Path::new("."), options)
        .map(|evaluated| evaluated.desired)
        .map_err(|failure| failure.problems.iter().map(ToString::to_string).collect())
}

/// `--env` names an environment the script does not declare: without `environments(...)`, only
/// `dev` exists (declared environments are checked by `environments(...)` itself).
pub(crate) fn undeclared_env(desired: &Desired, entry: SourceId) -> Option<ScriptError> {
    (desired.environments.is_none() && desired.env != "dev").then(|| {
        ScriptError::plain(
            "ict::script::unknown_env",
            format!("unknown environment `{}` (from --env)", desired.env),
            Some("this script declares no environments, so only `dev` exists; declare them with environments(#{ dev: #{...}, prod: #{...} })".into()),
            entry,
        )
    })
}

/// `--var` values for variables the script never reads: not at run time, nor literally in a
/// `variable("NAME")` call of any file it loaded (so that a read in a branch not taken in this
/// environment counts).
fn unread_vars(
    vars: &IndexMap<String, String>,
    mut read: BTreeSet<String>,
    sources: &Sources,
    entry: SourceId,
) -> Vec<Problem> {
    let files = (0..).map_while(|i| sources.get(SourceId(i)));
    read.extend(files.flat_map(|f| locate::variable_names(&f.text)));
    vars.keys()
        .filter(|name| !read.contains(*name))
        .map(|name| {
            let help = if read.is_empty() {
                "the script reads no variables; it would read this one with variable(\"NAME\")"
                    .to_owned()
            } else {
                model::choices(name, read.iter().map(String::as_str))
            };
            ScriptError::plain(
                "ict::script::unknown_var",
                format!("`--var {name}=…` sets a variable the script does not read"),
                Some(help),
                entry,
            )
            .into()
        })
        .collect()
}

/// The script evaluated at top level.
struct Entry<'a> {
    /// As shown in messages.
    name: &'a str,
    text: &'a str,
    /// Where its relative paths start.
    dir: &'a Path,
    /// What identifies its file among modules (see `resolver`), when it is a file.
    key: Option<String>,
}

fn evaluate_entry(source: &Entry<'_>, options: Options) -> Result<Evaluated, Failure> {
    let Entry {
        name, text, dir, ..
    } = *source;
    let max_operations = options.max_operations;
    let builder = Rc::new(RefCell::new(api::Builder::new(options)));
    let entry = {
        let mut b = builder.borrow_mut();
        let id = b.sources.add(name, text);
        b.dirs.insert(id, dir.to_path_buf());
        b.entry = id;
        b.importing
            .extend(source.key.clone().map(|key| (key, name.to_owned())));
        id
    };
    let engine = engine::new_engine(&builder, max_operations);
    builder.borrow().clock.start();
    let outcome = match engine.compile(text) {
        Ok(mut ast) => {
            ast.set_source(name);
            engine.run_ast(&ast).map_err(|e| {
                let b = builder.borrow();
                ScriptError::from_rhai(&e, entry, &b.sources)
            })
        }
        Err(e) => Err(ScriptError::from_parse(
            &e,
            entry,
            &builder.borrow().sources,
        )),
    };
    drop(engine);
    let builder =
        Rc::try_unwrap(builder).map_or_else(|rc| rc.borrow().clone(), RefCell::into_inner);
    let api::Builder {
        desired,
        mut problems,
        sources,
        options,
        vars_read,
        ..
    } = builder;
    if let Err(error) = outcome {
        problems.push(error.into());
    } else {
        problems.extend(undeclared_env(&desired, entry).map(Problem::from));
        problems.extend(unread_vars(&options.vars, vars_read, &sources, entry));
        problems.extend(model::validate(&desired).into_iter().map(Problem::from));
    }
    problems.sort_by_key(|p| (p.span().source, p.span().offset));
    let (warnings, errors): (Vec<Problem>, Vec<Problem>) =
        problems.into_iter().partition(Problem::is_warning);
    if errors.is_empty() {
        Ok(Evaluated {
            desired,
            sources,
            warnings,
        })
    } else {
        let mut problems = errors;
        problems.extend(warnings);
        Err(Failure { sources, problems })
    }
}
