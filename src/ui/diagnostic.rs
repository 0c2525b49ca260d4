//! Rendering of diagnostics: each problem with the text of the file it points into, at a fixed
//! width so that snapshot tests of rendered errors are stable.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, Report};

use crate::model::Sources;
use crate::script::Problem;

/// Renders one diagnostic that carries its own source code (or none) into `out`.
pub fn render_diagnostic(diagnostic: &dyn Diagnostic, color: bool, out: &mut String) {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    if handler.render_report(out, diagnostic).is_err() {
        out.push_str(&diagnostic.to_string());
        out.push('\n');
    }
}

/// Renders a script problem with the file it points into.
pub fn render_problem(problem: &Problem, sources: &Sources, color: bool, out: &mut String) {
    let span = problem.span();
    let report = match sources.get(span.source) {
        Some(file) => Report::new(problem.clone())
            .with_source_code(NamedSource::new(file.name.clone(), file.text.to_string())),
        None => Report::new(problem.clone()),
    };
    render_diagnostic(report.as_ref(), color, out);
}
