//! Script errors: Rhai's parse and runtime errors turned into diagnostics that point into the
//! right file (the entry script, an imported module or a stdlib module).
//!
//! Rhai reports positions as 1-based line and column and nests errors raised inside functions
//! (`ErrorInFunctionCall`) and modules (`ErrorInModule`); [`ScriptError::from_rhai`] unwraps to
//! the innermost error, following the file it happened in, and keeps the call chain as notes.

use miette::{Diagnostic, LabeledSpan};
use rhai::{EvalAltResult, ParseErrorType, Position};

use crate::model::{ModelError, SourceId, Sources, Span};

/// An error raised by ict's own script functions (as opposed to the script's `throw`), carried
/// through Rhai inside `ErrorRuntime`.
#[derive(Debug, Clone)]
pub(crate) struct HostError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) help: Option<String>,
    /// Where exactly, when it is more precise than the call position.
    pub(crate) span: Option<Span>,
}

impl HostError {
    /// Wraps into the Rhai error type at `pos` (Rhai's native functions return it boxed).
    #[allow(clippy::unnecessary_box_returns)]
    pub(crate) fn into_rhai(self, pos: Position) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorRuntime(rhai::Dynamic::from(self), pos))
    }
}

/// A problem found while evaluating a script.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ScriptError {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub at: Span,
    /// The chain of calls that led here, outermost first (`in call to web_tier at main.ict:4:1`).
    pub trace: Vec<String>,
}

impl ScriptError {
    /// An error not tied to a position (e.g. an unreadable entry file).
    pub fn plain(
        code: &'static str,
        message: String,
        help: Option<String>,
        source: SourceId,
    ) -> Self {
        ScriptError {
            code,
            message,
            help,
            at: Span {
                source,
                offset: 0,
                len: 0,
            },
            trace: Vec::new(),
        }
    }

    /// Converts a Rhai error raised while evaluating `source`.
    pub fn from_rhai(error: &EvalAltResult, source: SourceId, sources: &Sources) -> ScriptError {
        let mut current = source;
        let mut trace = Vec::new();
        let mut error = error;
        loop {
            match error {
                EvalAltResult::ErrorInFunctionCall(name, fn_source, inner, pos) => {
                    trace.push(format!(
                        "in call to `{name}` at {}",
                        location(sources, current, *pos)
                    ));
                    if let Some(id) = sources.find(fn_source) {
                        current = id;
                    }
                    error = inner;
                }
                EvalAltResult::ErrorInModule(path, inner, pos) => {
                    trace.push(format!(
                        "in module `{path}` imported at {}",
                        location(sources, current, *pos)
                    ));
                    if let Some(id) = sources.find(path) {
                        current = id;
                    }
                    error = inner;
                }
                _ => break,
            }
        }
        let pos = error.position();
        let at = span(sources, current, pos);
        let (code, message, help, at) = describe(error, at);
        ScriptError {
            code,
            message,
            help,
            at,
            trace,
        }
    }

    /// Converts a parse error in `source`.
    pub fn from_parse(
        error: &rhai::ParseError,
        source: SourceId,
        sources: &Sources,
    ) -> ScriptError {
        let at = span(sources, source, error.1);
        let (message, help) = parse_message(&error.0);
        ScriptError {
            code: "ict::script::syntax",
            message,
            help,
            at,
            trace: Vec::new(),
        }
    }
}

fn location(sources: &Sources, source: SourceId, pos: Position) -> String {
    sources.location(span(sources, source, pos))
}

fn span(sources: &Sources, source: SourceId, pos: Position) -> Span {
    match (pos.line(), pos.position()) {
        (Some(line), column) => sources.span_at(source, line, column.unwrap_or(1), 1),
        _ => Span {
            source,
            offset: 0,
            len: 0,
        },
    }
}

fn parse_message(error: &ParseErrorType) -> (String, Option<String>) {
    match error {
        ParseErrorType::VariableUndefined(name) => (
            format!("unknown variable `{name}`"),
            Some("declare it with `let` before using it (ict scripts use strict variables)".into()),
        ),
        ParseErrorType::UnexpectedEOF => (
            "the script ends in the middle of a statement".into(),
            Some("look for a missing `}`, `)` or `;`".into()),
        ),
        ParseErrorType::Reserved(word) if word == "eval" => (
            "`eval` is not available in ict scripts".into(),
            Some("scripts are sandboxed; use functions and modules instead".into()),
        ),
        other => (other.to_string(), None),
    }
}

fn describe(error: &EvalAltResult, at: Span) -> (&'static str, String, Option<String>, Span) {
    match error {
        EvalAltResult::ErrorRuntime(value, _) | EvalAltResult::ErrorTerminated(value, _)
            if value.is::<HostError>() =>
        {
            let host = value.clone_cast::<HostError>();
            (host.code, host.message, host.help, host.span.unwrap_or(at))
        }
        EvalAltResult::ErrorRuntime(value, _) => (
            "ict::script::thrown",
            format!("script error: {value}"),
            None,
            at,
        ),
        EvalAltResult::ErrorTerminated(value, _) => (
            "ict::script::stopped",
            format!("stopped: {value}"),
            None,
            at,
        ),
        EvalAltResult::ErrorParsing(kind, _) => {
            let (message, help) = parse_message(kind);
            ("ict::script::syntax", message, help, at)
        }
        EvalAltResult::ErrorTooManyOperations(_) => (
            "ict::script::too_many_operations",
            "the script ran too long and was stopped".into(),
            Some(
                "is there an endless loop? ict stops scripts after a fixed number of operations"
                    .into(),
            ),
            at,
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            "ict::script::stack_overflow",
            "calls nested too deeply and the script was stopped".into(),
            Some("is there a recursion without an end?".into()),
            at,
        ),
        EvalAltResult::ErrorFunctionNotFound(signature, _) => {
            let name = signature.split([' ', '(']).next().unwrap_or(signature);
            let help = crate::script::api::signature_help(name).or_else(|| {
                let functions = crate::script::api::FUNCTIONS.iter().map(|(n, _)| *n);
                crate::model::DidYouMean::new(name, functions).help()
            });
            (
                "ict::script::unknown_function",
                format!("no function matches `{signature}`"),
                help,
                at,
            )
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => (
            "ict::script::unknown_variable",
            format!("unknown variable `{name}`"),
            None,
            at,
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            "ict::script::too_large",
            format!("{what} grew past ict's limit"),
            Some("scripts have size limits for strings, arrays and maps".into()),
            at,
        ),
        other => (
            "ict::script::runtime",
            other
                .to_string()
                .split(" (line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
            None,
            at,
        ),
    }
}

impl Diagnostic for ScriptError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let mut lines: Vec<String> = self.help.iter().cloned().collect();
        lines.extend(self.trace.iter().cloned());
        (!lines.is_empty()).then(|| Box::new(lines.join("\n")) as Box<dyn std::fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some("here".into()), self.at.source_span()),
        )))
    }
}

/// Any problem a script evaluation can report.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl Problem {
    /// The main span, whose file is shown with the error.
    pub fn span(&self) -> Span {
        match self {
            Problem::Script(e) => e.at,
            Problem::Model(e) => e.span(),
        }
    }

    /// The same problem as a miette diagnostic.
    pub fn diagnostic(&self) -> &dyn Diagnostic {
        match self {
            Problem::Script(e) => e,
            Problem::Model(e) => e,
        }
    }

    /// Whether this is only a warning.
    pub fn is_warning(&self) -> bool {
        matches!(
            self.diagnostic().severity(),
            Some(miette::Severity::Warning)
        )
    }
}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diagnostic().code()
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.diagnostic().severity()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diagnostic().help()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.diagnostic().labels()
    }
}
