//! Rendering of diagnostics: each problem with the text of the file it points into, at a fixed
//! width so that snapshot tests of rendered errors are stable. Any error a command reports is
//! rendered here, whatever its layer: nothing but `miette::Diagnostic` is known about it.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use super::escape::{escape_lines, Escaped};
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

/// Renders the error a command failed with: a diagnostic as it is, or one that gathers several
/// (a script's problems, its `related`) as each of them and then its own message as the
/// summary line (`error: 2 problems in infra.ict`).
pub fn render_report(error: &dyn Diagnostic, color: bool, out: &mut String) {
    let parts: Vec<&dyn Diagnostic> = error.related().into_iter().flatten().collect();
    if parts.is_empty() {
        render_diagnostic(error, color, out);
        return;
    }
    for part in parts {
        render_diagnostic(part, color, out);
        out.push('\n');
    }
    out.push_str("error: ");
    out.push_str(&escape_lines(&error.to_string()));
    out.push('\n');
}

/// Renders a script problem with the file it points into.
pub fn render_problem(problem: &Problem, sources: &Sources, color: bool, out: &mut String) {
    render_diagnostic(
        crate::script::located(problem, sources).as_ref(),
        color,
        out,
    );
}

#[cfg(test)]
mod tests {
    use miette::Diagnostic;

    /// Two problems gathered under a summary, as a failed evaluation is.
    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("2 problems in infra.ict")]
    struct Gathered {
        #[related]
        problems: Vec<Problem>,
    }

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("problem {0}")]
    #[diagnostic(code(ict::test::problem))]
    struct Problem(u8);

    #[test]
    fn a_diagnostic_that_gathers_others_is_shown_as_each_then_a_summary() {
        let mut out = String::new();
        let gathered = Gathered {
            problems: vec![Problem(1), Problem(2)],
        };
        super::render_report(&gathered, false, &mut out);
        assert_eq!(
            out,
            "ict::test::problem\n\n  × problem 1\n\nict::test::problem\n\n  × problem 2\n\n\
             error: 2 problems in infra.ict\n"
        );
    }

    /// Issue 17 item 3: `ui` renders any diagnostic; it does not know the commands' error type
    /// (which made a `ui` → `commands` import cycle).
    #[test]
    fn ui_does_not_know_the_command_error_type() {
        let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let named = ["commands", "::Error"].concat();
        for entry in std::fs::read_dir(&ui).expect("src/ui is readable") {
            let path = entry.expect("src/ui is readable").path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.contains(&named), "{} names {named}", path.display());
        }
    }
}
