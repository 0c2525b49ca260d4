//! Rendering of miette diagnostics, with or without colour, at a fixed width so that snapshot
//! tests of rendered errors are stable.

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// Renders one diagnostic (with its source code attached) into `out`.
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
