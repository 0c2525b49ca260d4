//! Non-interactive use (`echo '1 + 2' | ict repl`): all of stdin is read, cut into inputs by
//! the same incomplete-input rule as the editor, and each is evaluated in turn; results go to
//! stdout one per line, errors to stderr, and the session goes on after an error.

use std::io::Read as _;

use super::cloud::Cloud;
use super::commands::is_command;
use super::{step, Printer, Step};
use crate::script::session::is_incomplete;
use crate::script::Session;

/// Cuts `text` into inputs: a meta-command line, or lines up to the first point where the
/// statements collected are complete. Blank lines between inputs are skipped.
pub fn inputs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut buffer = String::new();
    for line in text.lines() {
        if buffer.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            if is_command(line) {
                out.push(line.trim().to_owned());
                continue;
            }
        } else {
            buffer.push('\n');
        }
        buffer.push_str(line);
        if !is_incomplete(&buffer) {
            out.push(std::mem::take(&mut buffer));
        }
    }
    if !buffer.is_empty() {
        out.push(buffer);
    }
    out
}

/// How a non-interactive run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Every input ran (or `:quit`); `ok` is false if any failed.
    Done { ok: bool },
    /// Ctrl-C: the input under way was stopped and the rest not run.
    Interrupted,
}

/// Evaluates all of stdin.
pub(super) fn run(session: &mut Session, printer: &Printer<'_>, cloud: Option<&Cloud>) -> End {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        printer
            .ui
            .note(&format!("error: cannot read standard input: {e}"));
        return End::Done { ok: false };
    }
    let mut ok = true;
    for input in inputs(&text) {
        let step = step(&input, session, printer, cloud);
        if cloud.is_some_and(Cloud::interrupted) {
            return End::Interrupted;
        }
        match step {
            Step::Done => {}
            Step::Failed | Step::Incomplete => ok = false,
            Step::Quit => break,
        }
    }
    End::Done { ok }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_cut_where_statements_are_complete() {
        let text = "let a = 1;\n\nfn f(x) {\n  x + a\n}\n:vars\nlet m = #{\n  b: [1,\n 2],\n};\nf(1) ; 2\nlet broken = (";
        assert_eq!(
            inputs(text),
            [
                "let a = 1;",
                "fn f(x) {\n  x + a\n}",
                ":vars",
                "let m = #{\n  b: [1,\n 2],\n};",
                "f(1) ; 2",
                "let broken = (",
            ]
        );
    }
}
