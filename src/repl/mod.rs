//! `ict repl [FILE]`: an interactive session on the same sandboxed engine and script API as
//! file mode. Inputs are evaluated by a [`Session`]; a terminal gets a rustyline editor
//! (history, multi-line input, completion, hints, colours), anything else (a pipe, a file) is
//! read whole and evaluated input by input.
//!
//! May depend on every layer (DESIGN: the REPL sits on top); prints only through [`Ui`].
//! Live functions (cloud queries, metrics, exec) plug in through [`Session::register_live`] and
//! [`live::Live`], which runs their futures on a tokio runtime on other threads.

mod batch;
pub mod commands;
pub mod complete;
pub mod display;
mod helper;
mod interactive;
pub mod live;

use std::io::IsTerminal as _;
use std::path::Path;

use crate::config::Config;
use crate::exit::ExitCode;
use crate::model::Sources;
use crate::script::session::Outcome as Evaluated;
use crate::script::{Failure, Options, Problem, Session};
use crate::ui::{self, Ui};

pub use batch::inputs;

/// Runs the REPL; with `file`, evaluates it first. Without a terminal on stdin, the exit code
/// is 1 if any input (or FILE) failed.
pub fn run(config: &Config, ui: &Ui, file: Option<&Path>) -> ExitCode {
    let options = Options::new(&config.env, config.vars.clone());
    let printer = Printer { ui };
    let (mut session, loaded) = match file {
        Some(path) => {
            let (session, loaded) = Session::with_file(options, path);
            (session, loaded)
        }
        None => (Session::new(options), Ok(Vec::new())),
    };
    let mut ok = match loaded {
        Ok(warnings) => {
            printer.warnings(&warnings, &session.sources());
            true
        }
        Err(failure) => {
            printer.problems(&failure);
            false
        }
    };
    if std::io::stdin().is_terminal() {
        let color = config.color && std::io::stdout().is_terminal();
        interactive::run(&mut session, &printer, color);
        ExitCode::Success
    } else {
        ok &= batch::run(&mut session, &printer);
        if ok {
            ExitCode::Success
        } else {
            ExitCode::Error
        }
    }
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Done,
    Failed,
    Incomplete,
    Quit,
}

/// Evaluates one input (script text or a meta-command) and shows the result.
fn step(input: &str, session: &mut Session, printer: &Printer<'_>) -> Step {
    if commands::is_command(input) {
        return match commands::handle(input.trim(), session) {
            commands::Outcome::Print(text) => {
                printer.text(&text);
                Step::Done
            }
            commands::Outcome::Problems(failure) => {
                printer.problems(&failure);
                Step::Failed
            }
            commands::Outcome::Error(message) => {
                printer.ui.note(&format!("error: {message}"));
                Step::Failed
            }
            commands::Outcome::Quit => Step::Quit,
        };
    }
    match session.eval(input) {
        Ok(Evaluated::Incomplete) => Step::Incomplete,
        Ok(Evaluated::Value {
            value,
            warnings,
            sources,
        }) => {
            printer.warnings(&warnings, &sources);
            printer.text(&display::show(&value));
            Step::Done
        }
        Err(failure) => {
            printer.problems(&failure);
            Step::Failed
        }
    }
}

/// Output through the [`Ui`]: values on stdout, diagnostics on stderr.
struct Printer<'a> {
    ui: &'a Ui,
}

impl Printer<'_> {
    fn text(&self, text: &str) {
        if !text.is_empty() {
            self.ui.out(&format!("{text}\n"));
        }
    }

    fn problems(&self, failure: &Failure) {
        self.warnings(&failure.problems, &failure.sources);
    }

    fn warnings(&self, problems: &[Problem], sources: &Sources) {
        for problem in problems {
            let mut out = String::new();
            ui::render_problem(problem, sources, self.ui.color(), &mut out);
            self.ui.note(out.trim_end());
        }
    }
}
