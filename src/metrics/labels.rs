//! Label sets: the text between `{` and `}` of a sample line.
//!
//! The parser validates a label set once ([`label_set`]) and stores only its span; [`Labels`]
//! walks that span again when a caller asks, decoding a value (`\\`, `\"`, `\n`) only when it
//! holds an escape. Storing spans instead of decoded pairs keeps parsing free of per-label
//! writes, which is most of what a large scrape would otherwise cost.
//!
//! Depends on `metrics::error` and `memchr` only.

use std::borrow::Cow;

use super::error::Reason;

/// One `name="value"` pair. The value is borrowed unless it contained an escape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// The labels of one sample, in input order.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    rest: &'a str,
}

impl<'a> Labels<'a> {
    /// Walks a span that [`label_set`] accepted.
    pub(crate) fn new(span: &'a str) -> Self {
        Self { rest: span }
    }

    /// The value of label `name`, if present.
    pub fn get(self, name: &str) -> Option<Cow<'a, str>> {
        self.into_iter()
            .find(|label| label.name == name)
            .map(|label| label.value)
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = Label<'a>;

    fn next(&mut self) -> Option<Label<'a>> {
        let (name, raw, after) = raw_label(skip_blank(self.rest)).ok()?;
        let after = skip_blank(after);
        self.rest = after.strip_prefix(',').unwrap_or(after);
        Some(Label {
            name,
            value: unescape(raw),
        })
    }
}

/// Validates the label set after `{`; returns its span (without the braces) and the text
/// after the closing `}`.
pub(crate) fn label_set(inner: &str) -> Result<(&str, &str), Reason> {
    let span = |after: &str| {
        let end = inner.len().checked_sub(after.len() + 1);
        end.and_then(|end| inner.get(..end)).unwrap_or_default()
    };
    let mut rest = inner;
    loop {
        rest = skip_blank(rest);
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((span(after), after));
        }
        let (_, _, after) = raw_label(rest)?;
        let after = skip_blank(after);
        if let Some(next) = after.strip_prefix(',') {
            rest = next;
        } else if let Some(next) = after.strip_prefix('}') {
            return Ok((span(next), next));
        } else {
            return Err(Reason::LabelSeparator);
        }
    }
}

/// `name = "raw value"` at the start of `text`: the name, the value as written (escapes
/// included) and the text after the closing quote.
fn raw_label(text: &str) -> Result<(&str, &str, &str), Reason> {
    let len = label_name_len(text.as_bytes());
    if len == 0 {
        return Err(Reason::LabelName);
    }
    let (name, after) = text.split_at_checked(len).ok_or(Reason::LabelName)?;
    let after = skip_blank(after)
        .strip_prefix('=')
        .ok_or(Reason::LabelEquals)?;
    let value = skip_blank(after)
        .strip_prefix('"')
        .ok_or(Reason::LabelQuote)?;
    let bytes = value.as_bytes();
    let mut at = 0;
    loop {
        let tail = bytes.get(at..).unwrap_or_default();
        let stop =
            memchr::memchr3(b'"', b'\\', b'\n', tail).ok_or(Reason::UnterminatedLabelValue)?;
        at += stop;
        match bytes.get(at) {
            Some(b'"') => {
                let raw = value.get(..at).ok_or(Reason::UnterminatedLabelValue)?;
                let rest = value.get(at + 1..).ok_or(Reason::UnterminatedLabelValue)?;
                return Ok((name, raw, rest));
            }
            Some(b'\\') => match bytes.get(at + 1) {
                Some(b'\\' | b'"' | b'n') => at += 2,
                _ => return Err(Reason::InvalidEscape),
            },
            _ => return Err(Reason::UnterminatedLabelValue),
        }
    }
}

/// Decodes `\\`, `\"` and `\n`; borrows when there is nothing to decode.
fn unescape(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut owned = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            owned.push(c);
            continue;
        }
        owned.push(match chars.next() {
            Some('n') => '\n',
            Some(other) => other,
            None => '\\',
        });
    }
    Cow::Owned(owned)
}

/// Length of the label name (`[a-zA-Z_][a-zA-Z0-9_]*`) at the start of `bytes`, 0 if none.
fn label_name_len(bytes: &[u8]) -> usize {
    let mut iter = bytes.iter();
    match iter.next() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return 0,
    }
    1 + iter
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

fn skip_blank(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}
