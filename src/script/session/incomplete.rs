//! Whether an input is finished: the parser ran out of text in the middle of a statement (an
//! open bracket, block or string), so the REPL should read another line instead of reporting
//! an error. Rhai says so with `ParseErrorType::UnexpectedEOF`, or with a missing token or bad
//! input at the very end of the text.

use rhai::{Engine, LexError, ParseErrorType};

/// Whether `input` is an unfinished statement (an unclosed bracket, string or block), so that
/// the REPL should read another line rather than report an error.
pub fn is_incomplete(input: &str) -> bool {
    thread_local! {
        static SYNTAX: Engine = const { Engine::new_raw() };
    }
    if input.trim().is_empty() {
        return false;
    }
    SYNTAX.with(|engine| match engine.compile(input) {
        Ok(_) => false,
        Err(e) => match &*e.0 {
            ParseErrorType::UnexpectedEOF
            | ParseErrorType::BadInput(LexError::UnterminatedString) => true,
            ParseErrorType::MissingToken(..) | ParseErrorType::BadInput(_) => at_end(input, e.1),
            _ => false,
        },
    })
}

/// Whether a parse error position is at the very end of `input` (the parser ran out of text).
fn at_end(input: &str, pos: rhai::Position) -> bool {
    let lines = input.split('\n').count();
    let last = input.rsplit('\n').next().unwrap_or("").chars().count();
    match (pos.line(), pos.position()) {
        (Some(line), Some(col)) => line > lines || (line == lines && col > last),
        (Some(line), None) => line >= lines,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_inputs_continue() {
        for input in [
            "fn web(n) {",
            "fn web(n) {\n  server(n, #{",
            "let x = [1, 2,",
            "let s = `multi\nline",
            "let s = \"open",
            "server(\"a\",",
            "if true { 1 } else {",
            "let m = #{ a: 1",
            "1 +",
        ] {
            assert!(is_incomplete(input), "should continue: {input:?}");
        }
    }

    #[test]
    fn complete_or_wrong_inputs_do_not_continue() {
        for input in [
            "",
            "1 + 2",
            "fn web(n) { n }",
            "let x = [1, 2];",
            "let x = )",
            "server(\"a\", #{ cpu: 2 })",
            "let = 5;",
            "}",
        ] {
            assert!(!is_incomplete(input), "should not continue: {input:?}");
        }
    }
}
