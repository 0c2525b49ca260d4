//! A failed evaluation as one diagnostic, for the front ends: every problem bound to the text of
//! the file it points into (miette's `related`), under a one-line summary ("2 problems in
//! infra.ict"). `ui` renders it like any other diagnostic. Depends on `model` (the sources).

use std::fmt;

use miette::{Diagnostic, NamedSource, Report};

use super::{Failure, Problem};
use crate::model::{SourceId, Sources};

/// The problems of a failed evaluation (warnings included), each with its file.
#[derive(Debug)]
pub struct Problems {
    located: Vec<Report>,
    /// How many of them are errors.
    errors: usize,
    /// The entry script, as the summary names it.
    file: String,
}

impl Problems {
    /// The first error's message (for one-line descriptions, e.g. in the REPL).
    pub fn first_error(&self) -> String {
        self.located
            .iter()
            .find(|p| p.severity() != Some(miette::Severity::Warning))
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// `problem` with the text of the file it points into, when `sources` has it.
pub fn located(problem: &Problem, sources: &Sources) -> Report {
    let report = Report::new(problem.clone());
    match sources.get(problem.span().source) {
        Some(file) => {
            report.with_source_code(NamedSource::new(file.name.clone(), file.text.to_string()))
        }
        None => report,
    }
}

impl From<Failure> for Problems {
    fn from(failure: Failure) -> Problems {
        Problems {
            errors: failure.problems.iter().filter(|p| !p.is_warning()).count(),
            file: failure.sources.name(SourceId(0)).to_owned(),
            located: failure
                .problems
                .iter()
                .map(|p| located(p, &failure.sources))
                .collect(),
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.errors == 1 {
            "problem"
        } else {
            "problems"
        };
        write!(f, "{} {noun} in {}", self.errors, self.file)
    }
}

impl std::error::Error for Problems {}

impl Diagnostic for Problems {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.located.iter().map(|r| &**r as &'a dyn Diagnostic),
        ))
    }
}
