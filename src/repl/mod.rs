//! `ict repl [FILE]`: an interactive session on the same sandboxed engine and script API as
//! file mode. Inputs are evaluated by a [`Session`]; a terminal gets a rustyline editor
//! (history, multi-line input, completion, hints, colours), anything else (a pipe, a file) is
//! read whole and evaluated input by input.
//!
//! May depend on every layer (DESIGN: the REPL sits on top); prints only through [`Ui`].
//! Live functions (cloud queries, metrics, exec) plug in through [`Session::register_live`] and
//! [`live::Live`], which runs their futures on a tokio runtime on other threads.

mod apply;
mod batch;
pub mod cloud;
pub mod commands;
pub mod complete;
pub mod display;
mod helper;
mod interactive;
pub mod live;
mod values;

use std::io::IsTerminal as _;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use crate::config::Config;
use crate::exit::ExitCode;
use crate::model::Sources;
use crate::script::session::Outcome as Evaluated;
use crate::script::{Failure, Problem, Session};
use crate::ui::{self, Ui};
use cloud::Cloud;

pub use batch::inputs;

/// The project a REPL without FILE works on: `./infra.ict` (its state and emulator account).
const DEFAULT_SCRIPT: &str = "infra.ict";

/// Runs the REPL; with `file`, evaluates it first. Without a terminal on stdin, the exit code
/// is 1 if any input (or FILE) failed.
pub fn run(config: &Config, ui: &Ui, file: Option<&Path>) -> ExitCode {
    let options = config.script_options();
    let printer = Printer { ui };
    let (mut session, loaded) = match file {
        Some(path) => {
            let (session, loaded) = Session::with_file(options, path);
            (session, loaded)
        }
        None => (Session::new(options), Ok(Vec::new())),
    };
    let ok = match loaded {
        Ok(warnings) => {
            printer.warnings(&warnings, &session.sources());
            true
        }
        Err(failure) => {
            printer.problems(&failure);
            false
        }
    };
    let cloud = start_cloud(config, ui, file);
    if let Some(cloud) = &cloud {
        cloud::register(cloud, &mut session);
    }
    let code = if std::io::stdin().is_terminal() {
        let color = config.color && std::io::stdout().is_terminal();
        interactive::run(&mut session, &printer, cloud.as_deref(), color);
        ExitCode::Success
    } else {
        if let Some(cloud) = &cloud {
            cloud.listen_for_ctrl_c();
        }
        match batch::run(&mut session, &printer, cloud.as_deref()) {
            batch::End::Interrupted => ExitCode::Interrupted,
            batch::End::Done { ok: true } if ok => ExitCode::Success,
            batch::End::Done { .. } => ExitCode::Error,
        }
    };
    // The engine's functions hold the other references to `cloud`.
    drop(session);
    if let Some(cloud) = cloud.and_then(|c| Rc::try_unwrap(c).ok()) {
        cloud.close();
    }
    code
}

/// The live side (runtime, lazy provider connection); `None`, with a warning, if the runtime
/// cannot start: the REPL then works without live functions.
fn start_cloud(config: &Config, ui: &Ui, file: Option<&Path>) -> Option<Rc<Cloud>> {
    let live = match live::Live::new() {
        Ok(live) => live,
        Err(e) => {
            ui.note(&format!(
                "warning: live functions are off: cannot start the async runtime: {e}"
            ));
            return None;
        }
    };
    let script = file.unwrap_or(Path::new(DEFAULT_SCRIPT));
    let project = crate::app::Project::new(config, script);
    let spinner = std::io::stderr().is_terminal();
    let cloud = Cloud::new(live, project, ui.clone(), spinner);
    cloud.set_metrics(Arc::new(|target: cloud::MetricsTarget| {
        Box::pin(http_metrics(target))
    }));
    Some(Rc::new(cloud))
}

/// `metrics(name)`: two scrapes of the server's `node_exporter` at `http://<ip>:9100/metrics`, a
/// second apart (the built-in emulator's servers, and servers declaring `metrics: #{ via:
/// "http" }`). Servers whose `node_exporter` listens on localhost only are reached by `ict
/// metrics`/`ict top`, which tunnel over SSH.
async fn http_metrics(target: cloud::MetricsTarget) -> Result<Vec<(String, f64)>, String> {
    use crate::metrics::{Endpoint, ScrapeOptions, ScrapeTarget, Scraper};
    let verifier: Arc<dyn crate::ssh::HostKeyVerifier> = Arc::new(crate::ssh::PinnedKeys::new());
    let scraper = Scraper::new(
        Err("metrics() scrapes over HTTP".to_owned()),
        verifier,
        ScrapeOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let targets = [ScrapeTarget {
        name: target.name.clone(),
        endpoint: Endpoint::http(&target.ip, 9100),
    }];
    let mut rows = scraper
        .sample(&targets, std::time::Duration::from_secs(1))
        .await;
    scraper.close().await;
    let row = rows.pop().ok_or_else(|| "no answer".to_owned())?;
    let figures = row.figures.ok_or_else(|| {
        format!(
            "{} (node_exporter at {}:9100 over HTTP; `ict metrics` also reaches servers over SSH)",
            row.error.unwrap_or_default(),
            target.ip
        )
    })?;
    let serde_json::Value::Object(map) =
        serde_json::to_value(&figures).map_err(|e| e.to_string())?
    else {
        return Err("unexpected figures".to_owned());
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
        .collect())
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
fn step(input: &str, session: &mut Session, printer: &Printer<'_>, cloud: Option<&Cloud>) -> Step {
    if let Some(cloud) = cloud {
        cloud.begin_input();
    }
    if commands::is_command(input) {
        if let Some(step) = cloud.and_then(|c| apply::handle(input, session, c, printer)) {
            return step;
        }
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
