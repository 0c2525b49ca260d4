//! The rustyline helper: Tab completion and hints (from [`super::complete`]), syntax colouring
//! of keywords, strings, numbers and comments (off with `NO_COLOR`/`--no-color`), and the
//! validator that keeps reading lines while the input is incomplete.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::commands::is_command;
use super::complete::{self, Words};
use crate::script::session::is_incomplete;

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "do", "until", "return",
    "break", "continue", "import", "export", "as", "private", "throw", "try", "catch", "switch",
    "true", "false", "this",
];

const KEYWORD: &str = "\x1b[35m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The helper given to the editor; `words` is refreshed by the loop after each input.
pub(super) struct ReplHelper {
    pub(super) words: Rc<RefCell<Words>>,
    pub(super) color: bool,
}

impl Helper for ReplHelper {}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete::complete(line, pos, &mut self.words.borrow_mut()))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        complete::hint(line, pos, &mut self.words.borrow_mut())
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color && !is_command(line) {
            Cow::Owned(colour(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.color {
            Cow::Owned(format!("{COMMENT}{hint}{RESET}"))
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if !is_command(input) && is_incomplete(input) {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

/// `line` with ANSI colours; the visible text (and so its width) is unchanged.
pub(super) fn colour(line: &str) -> String {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let byte_at = |index: usize| chars.get(index).map_or(line.len(), |(b, _)| *b);
    let mut out = String::with_capacity(line.len() * 2);
    let mut index = 0;
    while index < chars.len() {
        let first = chars[index].1;
        let (style, stop) = if first == '/' && chars.get(index + 1).is_some_and(|(_, n)| *n == '/')
        {
            (Some(COMMENT), chars.len())
        } else if first == '"' || first == '`' {
            (Some(STRING), string_end(&chars, index))
        } else if first.is_ascii_digit() {
            let end = scan(&chars, index, |ch| {
                ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'
            });
            (Some(NUMBER), end)
        } else if first.is_alphabetic() || first == '_' {
            let end = scan(&chars, index, |ch| ch.is_alphanumeric() || ch == '_');
            let word = &line[byte_at(index)..byte_at(end)];
            (KEYWORDS.contains(&word).then_some(KEYWORD), end)
        } else {
            (None, index + 1)
        };
        let text = &line[byte_at(index)..byte_at(stop)];
        match style {
            Some(style) => {
                out.push_str(style);
                out.push_str(text);
                out.push_str(RESET);
            }
            None => out.push_str(text),
        }
        index = stop;
    }
    out
}

/// Index just past the characters from `start` that satisfy `part`.
fn scan(chars: &[(usize, char)], start: usize, part: impl Fn(char) -> bool) -> usize {
    let mut end = start;
    while end < chars.len() && part(chars[end].1) {
        end += 1;
    }
    end
}

/// Index just past the closing quote of the string opening at `start` (or the end).
fn string_end(chars: &[(usize, char)], start: usize) -> usize {
    let quote = chars[start].1;
    let mut end = start + 1;
    let mut escaped = false;
    while end < chars.len() {
        let ch = chars[end].1;
        end += 1;
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == quote {
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn colouring_keeps_the_text_and_marks_tokens() {
        let line = r#"let web = server("web-1", #{ cpu: 2 }); // é "x""#;
        let coloured = colour(line);
        assert_eq!(strip(&coloured), line);
        assert!(coloured.starts_with(&format!("{KEYWORD}let{RESET}")));
        assert!(coloured.contains(&format!("{STRING}\"web-1\"{RESET}")));
        assert!(coloured.contains(&format!("{NUMBER}2{RESET}")));
        assert!(coloured.contains(&format!("{COMMENT}// é \"x\"{RESET}")));
        assert!(!coloured.contains(&format!("{KEYWORD}server")));
        let open = r#"let s = "unterminated \" still"#;
        assert_eq!(strip(&colour(open)), open);
    }
}
