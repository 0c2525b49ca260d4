//! Text ict did not write — names and messages from the cloud (the 1cloud panel lets anyone
//! name a server anything), the state file, host lists — made safe for a terminal before it is
//! printed: control characters (an escape sequence could retitle the terminal, move the cursor
//! or hide text) and bidirectional overrides are shown as Rust-style escapes (`\u{1b}`, `\n`).
//! JSON output needs none of this: serde escapes control characters itself. Pure.

use std::borrow::Cow;
use std::fmt;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};

/// `text` with every control character and bidirectional override escaped.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] line by line: a message's own line breaks stay.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.split('\n').map(escape).collect::<Vec<_>>().join("\n"))
}

/// C0 and C1 control characters, DEL, and the marks and overrides that reorder text.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A diagnostic shown with its message and help escaped line by line (they may quote the
/// cloud); everything else is the wrapped diagnostic's.
pub(super) struct Escaped<'a>(pub(super) &'a dyn Diagnostic);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_lines(&self.0.to_string()))
    }
}

impl std::error::Error for Escaped<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Diagnostic for Escaped<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.code()
    }

    fn severity(&self) -> Option<Severity> {
        self.0.severity()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = self.0.help()?.to_string();
        Some(Box::new(escape_lines(&help).into_owned()))
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.url()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.0.related()
    }

    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.0.diagnostic_source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_the_cloud_are_escaped() {
        assert_eq!(escape("web-1"), Cow::Borrowed("web-1"));
        assert_eq!(escape("сервер 1"), "сервер 1", "Cyrillic and spaces stay");
        assert_eq!(
            escape("evil\u{1b}]0;pwned\u{7}"),
            "evil\\u{1b}]0;pwned\\u{7}",
            "an OSC sequence that would retitle the terminal"
        );
        assert_eq!(escape("a\nb\tc\0d\u{7f}"), "a\\nb\\tc\\0d\\u{7f}");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m", "the one-byte CSI");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape_lines("one\ntwo\u{1b}[2J"), "one\ntwo\\u{1b}[2J");
    }

    #[test]
    fn diagnostics_are_shown_escaped() {
        #[derive(Debug, thiserror::Error, Diagnostic)]
        #[error("server \"x\u{1b}]0;t\u{7}\" is busy\nsecond line")]
        #[diagnostic(code(ict::test), help("rename \u{1b}[8mit"))]
        struct Busy;
        let escaped = Escaped(&Busy);
        assert_eq!(
            escaped.to_string(),
            "server \"x\\u{1b}]0;t\\u{7}\" is busy\nsecond line"
        );
        assert_eq!(
            escaped.help().map(|h| h.to_string()).as_deref(),
            Some("rename \\u{1b}[8mit")
        );
        assert_eq!(
            escaped.code().map(|c| c.to_string()).as_deref(),
            Some("ict::test")
        );
    }
}
