//! Rendering of diagnostics: each problem with the text of the file it points into, at a fixed
//! width so that snapshot tests of rendered errors are stable.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, Report};

use super::escape::Escaped;
use crate::model::Sources;
use crate::script::Problem;

/// Renders one diagnostic that carries its own source code (or none) into `out`, its message
/// and help escaped (see `escape`).
pub fn render_diagnostic(diagnostic: &dyn Diagnostic, color: bool, out: &mut String) {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    // Messages may quote the cloud (an error naming a server): escape what is not text.
    let escaped = Escaped(diagnostic);
    if handler.render_report(out, &escaped).is_err() {
        out.push_str(&escaped.to_string());
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
