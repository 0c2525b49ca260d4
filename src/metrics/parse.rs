//! The Prometheus text exposition parser: `&str` in, [`Scrape`] out, zero-copy.
//!
//! Accepts the Prometheus text format 0.0.4 and the parts of `OpenMetrics` text that node
//! exporters emit: `# HELP` / `# TYPE` lines, other comments (ignored), blank lines, samples
//! `name{label="value",...} value [timestamp]` with the escapes `\\`, `\"` and `\n` in label
//! values, the values `NaN`, `+Inf` and `-Inf`, integer millisecond timestamps, `OpenMetrics`
//! exemplars (` # {...} ...` after the value, ignored) and a final `# EOF`.
//!
//! Samples join the family declared just before them when their name is the family's name or
//! the family's name plus a suffix its type allows (`_total`/`_created` for counters,
//! `_bucket`/`_sum`/`_count`/`_created` for histograms, ...). Any other sample starts an untyped
//! family of its own name, as in the Prometheus text format.
//!
//! Invariant: no input makes it panic. It slices strings only through `get`/`split_at_checked`
//! at positions of ASCII bytes, and every failure is a [`ParseError`] with the line number.
//! `fuzz/fuzz_targets/parse.rs` and the randomized unit test hold it to that.
//!
//! Depends on `metrics::{scrape, labels, error}` and `memchr` only.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::error::{ParseError, Reason};
use super::labels::label_set;
use super::scrape::{FamilyData, MetricType, SampleData, Scrape, NO_TIMESTAMP};

/// Parses a whole exposition.
///
/// ```
/// let scrape = ict::metrics::parse("# TYPE up gauge\nup{job=\"node\"} 1\n").unwrap();
/// assert_eq!(scrape.value("up", &[("job", "node")]), Some(1.0));
/// ```
pub fn parse(text: &str) -> Result<Scrape<'_>, ParseError> {
    let mut parser = Parser::with_capacity(text.len());
    let mut rest = text;
    let mut line = 0;
    while !rest.is_empty() {
        line += 1;
        let step = match rest.as_bytes().first() {
            Some(b'\n') => Ok((Step::Next, rest.get(1..).unwrap_or_default())),
            // Samples, the bulk of the text, are parsed straight from the remaining text.
            Some(&b) if !matches!(b, b'#' | b' ' | b'\t' | b'\r') => {
                parser.sample(rest).map(|after| (Step::Next, after))
            }
            _ => {
                let (whole, after) = split_line(rest);
                parser.line(whole).map(|step| (step, after))
            }
        };
        match step {
            Ok((Step::Next, after)) => rest = after,
            Ok((Step::Eof, after)) => {
                for extra in after.split('\n') {
                    line += 1;
                    if !extra.trim().is_empty() {
                        return Err(ParseError {
                            line,
                            reason: Reason::AfterEof,
                        });
                    }
                }
                break;
            }
            Err(reason) => return Err(ParseError { line, reason }),
        }
    }
    Ok(parser.finish())
}

/// Splits off the first line (without its `\n` or `\r\n`) from the rest of the text.
fn split_line(text: &str) -> (&str, &str) {
    let (line, rest) = match memchr::memchr(b'\n', text.as_bytes()) {
        Some(end) => (
            text.get(..end).unwrap_or_default(),
            text.get(end + 1..).unwrap_or_default(),
        ),
        None => (text, ""),
    };
    (line.strip_suffix('\r').unwrap_or(line), rest)
}

/// What the line loop does after a line.
enum Step {
    Next,
    Eof,
}

/// Accumulates the flat storage of a [`Scrape`].
struct Parser<'a> {
    families: Vec<FamilyData<'a>>,
    samples: Vec<SampleData<'a>>,
}

impl<'a> Parser<'a> {
    /// Pre-sizes the vectors from typical `node_exporter` line lengths (about 100 bytes per
    /// sample, 200 per family), so large scrapes rarely reallocate.
    fn with_capacity(bytes: usize) -> Self {
        Self {
            families: Vec::with_capacity(bytes / 200 + 1),
            samples: Vec::with_capacity(bytes / 100 + 1),
        }
    }

    fn finish(self) -> Scrape<'a> {
        Scrape {
            families: self.families,
            samples: self.samples,
            index: OnceLock::new(),
        }
    }

    fn new_family(&mut self, name: &'a str, help: Option<Cow<'a, str>>, kind: Option<MetricType>) {
        let at = self.samples.len();
        self.families.push(FamilyData {
            name,
            help,
            kind: kind.unwrap_or(MetricType::Untyped),
            typed: kind.is_some(),
            samples: at..at,
        });
    }

    /// A line that starts with `#`, a blank or `\r`.
    fn line(&mut self, line: &'a str) -> Result<Step, Reason> {
        match skip_blank(line) {
            "" => Ok(Step::Next),
            rest if rest.starts_with('#') => self.comment(rest),
            rest => match self.sample(rest)? {
                "" => Ok(Step::Next),
                _ => Err(Reason::TrailingText),
            },
        }
    }

    /// A `#` line: HELP, TYPE, EOF or a comment.
    fn comment(&mut self, line: &'a str) -> Result<Step, Reason> {
        let (word, rest) = token(skip_blank(line.get(1..).unwrap_or_default()));
        match word {
            "HELP" => {
                let (name, rest) = token(skip_blank(rest));
                if metric_name_len(name.as_bytes()) != name.len() || name.is_empty() {
                    return Err(Reason::CommentMetricName);
                }
                let help = unescape_help(skip_blank(rest));
                match self.families.last_mut() {
                    Some(last)
                        if last.name == name && last.help.is_none() && last.samples.is_empty() =>
                    {
                        last.help = Some(help);
                    }
                    _ => self.new_family(name, Some(help), None),
                }
            }
            "TYPE" => {
                let (name, rest) = token(skip_blank(rest));
                if metric_name_len(name.as_bytes()) != name.len() || name.is_empty() {
                    return Err(Reason::CommentMetricName);
                }
                let (word, rest) = token(skip_blank(rest));
                let kind = MetricType::from_word(word).ok_or(Reason::UnknownType)?;
                if !skip_blank(rest).is_empty() {
                    return Err(Reason::TrailingText);
                }
                match self.families.last_mut() {
                    Some(last) if last.name == name && !last.typed && last.samples.is_empty() => {
                        last.kind = kind;
                        last.typed = true;
                    }
                    _ => self.new_family(name, None, Some(kind)),
                }
            }
            "EOF" if skip_blank(rest).is_empty() => return Ok(Step::Eof),
            _ => {}
        }
        Ok(Step::Next)
    }

    /// A sample line `name{labels} value [timestamp] [# exemplar]` at the start of `text`;
    /// returns the text after the line's end.
    fn sample(&mut self, text: &'a str) -> Result<&'a str, Reason> {
        let name_len = metric_name_len(text.as_bytes());
        if name_len == 0 {
            return Err(Reason::MetricName);
        }
        let (name, rest) = text.split_at_checked(name_len).ok_or(Reason::MetricName)?;
        let mut rest = skip_blank(rest);
        let mut labels = "";
        if let Some(inner) = rest.strip_prefix('{') {
            let (span, after) = label_set(inner)?;
            labels = span;
            rest = skip_blank(after);
        }
        let (value, rest) = token(rest);
        if value.is_empty() {
            return Err(Reason::MissingValue);
        }
        let value = parse_value(value)?;
        let mut rest = skip_blank(rest);
        let mut timestamp = NO_TIMESTAMP;
        if !matches!(rest.as_bytes().first(), None | Some(b'\n' | b'\r' | b'#')) {
            let (stamp, after) = token(rest);
            timestamp = match stamp.parse::<i64>() {
                Ok(NO_TIMESTAMP) | Err(_) => return Err(Reason::InvalidTimestamp),
                Ok(stamp) => stamp,
            };
            rest = skip_blank(after);
        }
        let after = if rest.starts_with('#') {
            split_line(rest).1 // an OpenMetrics exemplar: ignored
        } else if let Some(after) = rest.strip_prefix('\n') {
            after
        } else if let Some(after) = rest.strip_prefix("\r\n") {
            after
        } else if rest.is_empty() {
            rest
        } else {
            return Err(Reason::TrailingText);
        };
        match self.families.last() {
            Some(last) if last.kind.owns(last.name, name) => {}
            _ => self.new_family(name, None, None),
        }
        self.samples.push(SampleData {
            name,
            labels,
            value,
            timestamp,
        });
        let end = self.samples.len();
        if let Some(last) = self.families.last_mut() {
            last.samples.end = end;
        }
        Ok(after)
    }
}

/// HELP text with `\\` and `\n` unescaped; any other backslash is kept as written.
fn unescape_help(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut owned = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            owned.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => owned.push('\n'),
            Some(other) if other != '\\' => {
                owned.push('\\');
                owned.push(other);
            }
            // `\\` is one backslash; a lone `\` at the end stays as written.
            Some(_) | None => owned.push('\\'),
        }
    }
    Cow::Owned(owned)
}

/// A sample value: a float, `NaN`, `+Inf`, `-Inf` (case-insensitive, as Go's `ParseFloat`).
/// Counters are mostly plain integers, which take a fast path (exact below 2^53).
fn parse_value(text: &str) -> Result<f64, Reason> {
    let digits = text.as_bytes();
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let number = digits
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        return Ok(number as f64);
    }
    text.parse::<f64>().map_err(|_| Reason::InvalidValue)
}

/// Byte classes for metric names: bit 1 = may start one, 2 = may continue one.
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        let colon = c == b':';
        table[b] =
            (if alpha || colon { 1 } else { 0 }) | (if alpha || colon || digit { 2 } else { 0 });
        b += 1;
    }
    table
};

/// Length of the metric name at the start of `bytes` (0 if there is none).
fn metric_name_len(bytes: &[u8]) -> usize {
    name_len(bytes, 1, 2)
}

fn name_len(bytes: &[u8], first: u8, rest: u8) -> usize {
    let mut iter = bytes.iter();
    match iter.next() {
        Some(&b) if CLASS[usize::from(b)] & first != 0 => {}
        _ => return 0,
    }
    1 + iter
        .take_while(|&&b| CLASS[usize::from(b)] & rest != 0)
        .count()
}

/// Skips spaces and tabs.
fn skip_blank(text: &str) -> &str {
    text.trim_start_matches([' ', '\t'])
}

/// Splits off the text up to the first space, tab or line end.
fn token(text: &str) -> (&str, &str) {
    let end = text
        .bytes()
        .position(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let end = end.unwrap_or(text.len());
    text.split_at_checked(end).unwrap_or((text, ""))
}

#[cfg(test)]
mod tests;
