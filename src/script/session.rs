//! A persistent evaluation session, for `ict repl`: one sandboxed engine (the same factory and
//! script API as file mode), one `Scope` and one accumulated `AST`.
//!
//! Each input is compiled against the scope (strict variables still apply), merged into the AST,
//! evaluated, and the AST's statements are then cleared: functions stay callable, statements do
//! not run twice. An input that fails leaves nothing behind: declarations, variables and
//! functions are rolled back to what they were before it, so the input can simply be retyped.
//!
//! Every input is appended to one virtual file, `<repl>`, and compiled with its own line numbers
//! in that file, so diagnostics (also those raised inside functions defined in earlier inputs)
//! point at the right text. FILE is evaluated on its own: its functions join the engine as a
//! module named after FILE, so that an error points into FILE only when it happens in FILE's
//! text, and at `<repl>` otherwise. Depends on `model` and the rest of `script`; prints nothing.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use indexmap::IndexMap;
use rhai::{Dynamic, Engine, Scope, AST};

mod declared;
mod incomplete;
mod shown;

pub use declared::Declared;
pub use incomplete::is_incomplete;
pub use shown::Shown;
use shown::{show, summary};

use super::api::{self, Builder, Shared};
use super::engine::new_engine;
use super::{Failure, Options, Problem, ScriptError};
use crate::model::{Desired, ModelError, SourceId, Sources};

/// The name of the virtual file that holds everything typed in a session.
pub const REPL_SOURCE: &str = "<repl>";

/// A hook that registers extra functions on the session's engine (e.g. live cloud queries).
/// Hooks are kept and applied again whenever the engine is rebuilt (`:reload`); they get the
/// session's [`Declared`] so that functions such as `plan()` can read what is declared so far.
pub type LiveHook = Rc<dyn Fn(&mut Engine, &Declared)>;

/// What became of one input.
#[derive(Debug)]
pub enum Outcome {
    /// The input is not finished (an open bracket or string): read more lines.
    Incomplete,
    /// Evaluated; the value of the last statement, and any warnings.
    Value {
        value: Shown,
        warnings: Vec<Problem>,
        sources: Sources,
    },
}

/// An evaluation session. Not `Send`: run it on one thread (DESIGN decision 2: the REPL engine
/// has its own thread and sends live queries to the runtime).
pub struct Session {
    options: Options,
    file: Option<PathBuf>,
    hooks: Vec<LiveHook>,
    builder: Shared,
    engine: Engine,
    scope: Scope<'static>,
    /// What was typed: its functions (statements are cleared once run).
    ast: AST,
    /// FILE's functions (also registered on the engine).
    loaded: AST,
    /// Everything typed so far (the text of `<repl>`).
    typed: String,
}

impl Session {
    /// An empty session (no FILE).
    pub fn new(options: Options) -> Session {
        let builder = Rc::new(RefCell::new(Builder::new(options.clone())));
        let engine = new_engine(&builder, options.max_operations);
        let mut session = Session {
            options,
            file: None,
            hooks: Vec::new(),
            builder,
            engine,
            scope: Scope::new(),
            ast: AST::empty(),
            loaded: AST::empty(),
            typed: String::new(),
        };
        session.reset();
        session
    }

    /// A session that starts by evaluating `file`: its functions and top-level variables are in
    /// scope. The session exists even if the file fails; the failure says why.
    pub fn with_file(options: Options, file: &Path) -> (Session, Result<Vec<Problem>, Failure>) {
        let mut session = Session::new(options);
        session.file = Some(file.to_path_buf());
        let loaded = session.reload();
        (session, loaded)
    }

    /// Registers functions on the engine now and after every reload.
    pub fn register_live(&mut self, hook: impl Fn(&mut Engine, &Declared) + 'static) {
        let hook: LiveHook = Rc::new(hook);
        let declared = self.handle();
        hook(&mut self.engine, &declared);
        self.hooks.push(hook);
    }

    /// The FILE this session was started with.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Forgets everything and evaluates FILE again from scratch (just resets without a FILE).
    /// Ok carries the file's warnings.
    pub fn reload(&mut self) -> Result<Vec<Problem>, Failure> {
        self.reset();
        let Some(path) = self.file.clone() else {
            return Ok(Vec::new());
        };
        let name = path.display().to_string();
        let text = match super::read_script(&path) {
            Ok(text) => text,
            Err(e) => {
                let id = self.builder.borrow_mut().sources.add(&name, "");
                let error = ScriptError::plain(
                    "ict::script::read",
                    format!("cannot read {name}: {e}"),
                    Some("check the path; scripts usually end in .ict".into()),
                    id,
                );
                return Err(self.failure(vec![error.into()]));
            }
        };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let id = {
            let mut b = self.builder.borrow_mut();
            let id = b.sources.add(&name, &text);
            b.dirs.insert(id, dir.clone());
            // What is typed resolves relative paths (keys, playbooks, imports) like FILE does.
            let repl = b.sources.find(REPL_SOURCE).unwrap_or_default();
            b.dirs.insert(repl, dir);
            b.importing = vec![(super::resolver::file_key(&path), name.clone())];
            id
        };
        let outcome = self.run_file(&name, &text, id);
        self.builder.borrow_mut().importing.clear();
        outcome.map_err(|problems| self.failure(problems))
    }

    /// Evaluates FILE (source `id`) and registers its functions on the engine.
    fn run_file(
        &mut self,
        name: &str,
        text: &str,
        id: SourceId,
    ) -> Result<Vec<Problem>, Vec<Problem>> {
        let mut ast = self.compile(text, id)?;
        ast.set_source(name);
        self.builder.borrow().clock.start();
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &ast);
        let warnings = match self.outcome(result.map(|_| ()), id) {
            Ok(((), warnings)) => warnings,
            Err(problems) => {
                // Like a failed input, a failed FILE leaves nothing behind.
                self.builder.borrow_mut().desired = Desired::new(&self.options.env);
                self.scope = Scope::new();
                return Err(problems);
            }
        };
        let mut functions = ast.clone_functions_only();
        functions.set_source(name);
        // Evaluating only functions runs nothing: it makes them a module.
        if let Ok(mut module) =
            rhai::Module::eval_ast_as_new(Scope::new(), &functions, &self.engine)
        {
            module.set_id(name);
            self.engine.register_global_module(module.into());
        }
        self.loaded = functions;
        Ok(warnings)
    }

    /// Compiles `text` (source `id`) against the variables in scope.
    fn compile(&self, text: &str, id: SourceId) -> Result<AST, Vec<Problem>> {
        self.engine
            .compile_with_scope(&self.scope, text)
            .map_err(|e| {
                let error = ScriptError::from_parse(&e, id, &self.builder.borrow().sources);
                vec![error.into()]
            })
    }

    fn reset(&mut self) {
        self.builder = Rc::new(RefCell::new(Builder::new(self.options.clone())));
        self.engine = new_engine(&self.builder, self.options.max_operations);
        let builder = self.builder.clone();
        self.engine
            .register_fn("declared", move || summary(&builder.borrow().desired));
        let declared = self.handle();
        for hook in &self.hooks {
            hook(&mut self.engine, &declared);
        }
        self.scope = Scope::new();
        self.ast = AST::empty();
        // Statements typed at the prompt, and functions defined there, are in `<repl>`.
        self.ast.set_source(REPL_SOURCE);
        self.loaded = AST::empty();
        self.typed.clear();
        let mut b = self.builder.borrow_mut();
        let id = b.sources.add(REPL_SOURCE, "");
        b.dirs.insert(id, PathBuf::new());
        b.entry = id;
    }

    /// Evaluates one input. A failed input changes nothing in the session.
    pub fn eval(&mut self, input: &str) -> Result<Outcome, Failure> {
        if is_incomplete(input) {
            return Ok(Outcome::Incomplete);
        }
        // Compile the input at its own lines of `<repl>`.
        let first_line = if self.typed.is_empty() {
            0
        } else {
            self.typed.matches('\n').count() + 1
        };
        if !self.typed.is_empty() {
            self.typed.push('\n');
        }
        self.typed.push_str(input);
        let padded = format!("{}{input}", "\n".repeat(first_line));
        let id = {
            let mut b = self.builder.borrow_mut();
            b.sources = replace_source(&b.sources, REPL_SOURCE, &self.typed);
            b.sources.find(REPL_SOURCE).unwrap_or_default()
        };
        match self.run(&padded, id) {
            Ok((value, warnings)) => Ok(Outcome::Value {
                value,
                warnings,
                sources: self.sources(),
            }),
            Err(problems) => Err(self.failure(problems)),
        }
    }

    /// Compiles and runs input `text` (source `id`, `<repl>`); rolls everything back on failure.
    fn run(&mut self, text: &str, id: SourceId) -> Result<(Shown, Vec<Problem>), Vec<Problem>> {
        let ast = self.compile(text, id)?;
        let saved_desired = self.builder.borrow().desired.clone();
        let saved_scope = self.scope.clone();
        let saved_ast = self.ast.clone();
        self.ast += ast;
        self.builder.borrow().clock.start();
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &self.ast);
        self.ast.clear_statements();
        let result = result.map(|v| show(&self.engine, &v));
        let outcome = self.outcome(result, id);
        if outcome.is_err() {
            self.builder.borrow_mut().desired = saved_desired;
            self.scope = saved_scope;
            self.ast = saved_ast;
        }
        outcome
    }

    /// The problems the builder recorded plus the evaluation's own error (in source
    /// `id`): the value and the warnings, or every problem.
    fn outcome<T>(
        &self,
        result: Result<T, Box<rhai::EvalAltResult>>,
        id: SourceId,
    ) -> Result<(T, Vec<Problem>), Vec<Problem>> {
        let mut problems: Vec<Problem> = std::mem::take(&mut self.builder.borrow_mut().problems);
        if let Err(e) = &result {
            let b = self.builder.borrow();
            problems.push(ScriptError::from_rhai(e, id, &b.sources).into());
        }
        let (warnings, mut errors): (Vec<Problem>, Vec<Problem>) =
            problems.into_iter().partition(Problem::is_warning);
        match result {
            Ok(value) if errors.is_empty() => Ok((value, warnings)),
            _ => {
                errors.extend(warnings);
                Err(errors)
            }
        }
    }

    fn failure(&self, problems: Vec<Problem>) -> Failure {
        Failure {
            sources: self.sources(),
            problems,
        }
    }

    /// The loaded sources (FILE, `<repl>`, imported modules), for rendering diagnostics.
    pub fn sources(&self) -> Sources {
        self.builder.borrow().sources.clone()
    }

    /// What has been declared so far.
    pub fn declared(&self) -> Desired {
        self.builder.borrow().desired.clone()
    }

    /// Validates what has been declared so far, like `ict check` does at the end of a script.
    pub fn check(&self) -> Result<Desired, Failure> {
        self.handle().check()
    }

    /// What is declared, as live functions see it.
    pub fn handle(&self) -> Declared {
        Declared::new(self.builder.clone())
    }

    /// The variables in scope with their values, in the order they were defined.
    pub fn variables(&self) -> Vec<(String, Shown)> {
        let mut out: Vec<(String, Shown)> = Vec::new();
        for (name, _, value) in self.scope.iter() {
            // A shadowed variable appears twice; the later one is the visible one.
            out.retain(|(n, _)| n != name);
            out.push((name.to_owned(), show(&self.engine, &value)));
        }
        out
    }

    /// Names of the functions the script has defined (FILE and earlier inputs).
    pub fn script_functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ast
            .iter_functions()
            .chain(self.loaded.iter_functions())
            .map(|f| f.name.to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The options map fields a declaration function accepts (`server` → `cpu`, `ram`, ...),
    /// as the script API itself reports them: the function is called with an unknown field in
    /// its `options` parameter, and the error lists the known ones.
    pub fn fields_of(function: &str) -> &'static [&'static str] {
        let Some(declaration) = api::functions()
            .find(|(name, _)| *name == function)
            .and_then(|(_, overloads)| overloads.into_iter().find(|o| o.param("options")))
        else {
            return &[];
        };
        let args: Vec<&str> = declaration
            .params
            .iter()
            .map(|p| match p.name.as_deref() {
                Some("options") => "#{ zzz_probe: 1 }",
                _ => "\"probe\"",
            })
            .collect();
        let probe = format!("{function}({})", args.join(", "));
        let options = Options::new("dev", IndexMap::new());
        let builder = Rc::new(RefCell::new(Builder::new(options)));
        let engine = new_engine(&builder, 10_000);
        let _ = engine.run(&probe);
        let b = builder.borrow();
        b.problems
            .iter()
            .find_map(|p| match p {
                Problem::Model(ModelError::UnknownField { allowed, .. }) => Some(*allowed),
                _ => None,
            })
            .unwrap_or(&[])
    }
}

/// `sources` with the text of `name` replaced (ids unchanged), or added.
fn replace_source(sources: &Sources, name: &str, text: &str) -> Sources {
    let mut out = Sources::default();
    let mut id = 0;
    while let Some(file) = sources.get(SourceId(id)) {
        if file.name == name {
            out.add(name, text);
        } else {
            out.add(&file.name, &file.text);
        }
        id += 1;
    }
    out.add(name, text);
    out
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::model::{self, Value};

    fn session() -> Session {
        Session::new(Options::new("dev", IndexMap::new()))
    }

    fn value(session: &mut Session, input: &str) -> Shown {
        match session.eval(input) {
            Ok(Outcome::Value { value, .. }) => value,
            Ok(Outcome::Incomplete) => panic!("incomplete: {input}"),
            Err(f) => panic!("{input} failed: {:?}", f.problems),
        }
    }

    #[test]
    fn functions_and_variables_persist_and_statements_do_not_rerun() {
        let mut s = session();
        value(&mut s, "fn web(n) { server(n, #{ cpu: 2 }) }");
        value(&mut s, "let count = 40;");
        assert_eq!(value(&mut s, "count + 2"), Shown::Value(Value::Int(42)));
        assert_eq!(
            value(&mut s, "web(\"web-1\")"),
            Shown::Handle {
                type_name: "Server".into(),
                name: "web-1".into()
            }
        );
        value(&mut s, "web(\"web-2\");");
        let names: Vec<String> = s.declared().servers.keys().cloned().collect();
        assert_eq!(names, ["web-1", "web-2"]);
        assert_eq!(s.script_functions(), ["web"]);
        assert_eq!(
            value(&mut s, "declared().servers"),
            Shown::List(vec![
                Shown::Value(Value::Str("web-1".into())),
                Shown::Value(Value::Str("web-2".into()))
            ])
        );
        assert_eq!(
            s.variables(),
            [("count".to_owned(), Shown::Value(Value::Int(40)))]
        );
    }

    #[test]
    fn a_failed_input_changes_nothing() {
        let mut s = session();
        value(&mut s, "let x = 1;");
        let failure = s
            .eval("x = 5; server(\"a\", #{ rma: 2 }); fn f() { 1 }")
            .expect_err("unknown field");
        assert!(matches!(
            failure.problems[0],
            Problem::Model(ModelError::UnknownField { .. })
        ));
        assert!(s.declared().servers.is_empty());
        assert_eq!(value(&mut s, "x"), Shown::Value(Value::Int(1)));
        assert!(s.script_functions().is_empty());
        let failure = s.eval("\n\nnope(1)").expect_err("unknown function");
        let at = failure.problems[0].span();
        // `<repl>` holds every input, so the error points at the third line of this input.
        assert_eq!(failure.sources.location(at), "<repl>:6:1");
    }

    #[test]
    fn placeholders_and_secrets_show_as_such() {
        let mut s = session();
        value(&mut s, "let web = server(\"web-1\");");
        assert_eq!(
            value(&mut s, "web.ip"),
            Shown::Value(Value::from_script_string(
                &model::Placeholder::new("server", "web-1", "ip").token()
            ))
        );
        let shown = value(
            &mut s,
            "#{ list: [1, \"a\"], key: env(\"ICT_NOT_SET_ANYWHERE\", \"d\") }",
        );
        let Shown::Map(map) = shown else {
            panic!("a map")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["key", "list"]);
    }

    #[test]
    fn file_is_evaluated_first_and_reload_starts_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("infra.ict");
        std::fs::write(
            &path,
            "let size = 4;\nfn web(n) { server(n, #{ cpu: 4 }) }\nweb(\"w1\");",
        )
        .expect("write");
        let (mut s, loaded) = Session::with_file(Options::new("dev", IndexMap::new()), &path);
        assert!(loaded.is_ok(), "{loaded:?}");
        value(&mut s, "web(\"w2\")");
        assert_eq!(s.declared().servers.len(), 2);
        assert!(s.reload().is_ok());
        assert_eq!(s.declared().servers.len(), 1);
        assert_eq!(value(&mut s, "size"), Shown::Value(Value::Int(4)));
    }

    #[test]
    fn fields_come_from_the_api() {
        assert!(Session::fields_of("server").contains(&"ram"));
        assert!(!Session::fields_of("network").is_empty());
        assert!(Session::fields_of("print").is_empty());
        // Every declaration with an options map, without a list of them to keep up to date.
        assert!(Session::fields_of("alert").contains(&"during"));
        assert!(Session::fields_of("pipeline").contains(&"repo"));
        assert!(Session::fields_of("variable").is_empty());
    }

    #[test]
    fn a_hook_that_stops_evaluation_says_why() {
        let mut s = session();
        s.register_live(|_, declared| {
            let calls = Cell::new(0);
            declared.interrupt_when(move || {
                calls.set(calls.get() + 1);
                calls.get() > 100
            });
        });
        let failure = s.eval("let i = 0;\nloop { i += 1; }").expect_err("stopped");
        let text = failure.problems[0].to_string();
        assert!(text.contains("interrupted (Ctrl-C)"), "{text}");
        let at = failure.sources.location(failure.problems[0].span());
        assert!(at.starts_with("<repl>:2:"), "{at}");
    }

    #[test]
    fn live_hooks_survive_reload() {
        let mut s = session();
        s.register_live(|engine, _| {
            engine.register_fn("answer", || 42_i64);
        });
        assert_eq!(value(&mut s, "answer()"), Shown::Value(Value::Int(42)));
        assert!(s.reload().is_ok());
        assert_eq!(value(&mut s, "answer()"), Shown::Value(Value::Int(42)));
    }
}
