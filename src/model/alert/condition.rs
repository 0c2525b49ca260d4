//! The `when` expression of an alert: comparisons of figure names with numbers, joined by `and`
//! and `or` (`and` binds tighter), with parentheses.
//!
//! ```text
//! cpu > 90 and (load5 >= 4 or memory > 95)
//! disk_readonly == 1
//! up == 0
//! net_rx > 50M
//! ```
//!
//! Numbers may end in `%` (ignored: percentages are already 0–100) or in `k`, `M`, `G`, `T`
//! (×1000 each step, for byte rates). Parsed when the script declares the alert, so a typo is
//! an error with its position inside the string. Pure: no I/O, depends on `model::suggest`.

use std::fmt;

use serde::Serialize;

use super::super::DidYouMean;

/// A figure a condition can name. Values come from the watched server's node figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// CPU busy percent (0–100).
    Cpu,
    Load1,
    Load5,
    Load15,
    /// Memory used percent.
    Memory,
    /// Swap used percent.
    Swap,
    /// Used percent of the fullest mount.
    Disk,
    /// 1 when any mount is read-only, else 0.
    DiskReadonly,
    /// Network receive bytes per second (all interfaces but `lo`).
    NetRx,
    NetTx,
    /// Disk read bytes per second.
    DiskRead,
    DiskWrite,
    /// 1 when the server answered the last scrape, else 0.
    Up,
}

impl Figure {
    /// Every figure, in documentation order.
    pub const ALL: [Figure; 13] = [
        Figure::Cpu,
        Figure::Load1,
        Figure::Load5,
        Figure::Load15,
        Figure::Memory,
        Figure::Swap,
        Figure::Disk,
        Figure::DiskReadonly,
        Figure::NetRx,
        Figure::NetTx,
        Figure::DiskRead,
        Figure::DiskWrite,
        Figure::Up,
    ];

    /// The name used in `when` expressions.
    pub fn name(self) -> &'static str {
        match self {
            Figure::Cpu => "cpu",
            Figure::Load1 => "load1",
            Figure::Load5 => "load5",
            Figure::Load15 => "load15",
            Figure::Memory => "memory",
            Figure::Swap => "swap",
            Figure::Disk => "disk",
            Figure::DiskReadonly => "disk_readonly",
            Figure::NetRx => "net_rx",
            Figure::NetTx => "net_tx",
            Figure::DiskRead => "disk_read",
            Figure::DiskWrite => "disk_write",
            Figure::Up => "up",
        }
    }

    /// The figure called `name`.
    pub fn from_name(name: &str) -> Option<Figure> {
        Figure::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// `left op right`.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Op::Gt => left > right,
            Op::Ge => left >= right,
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Eq => (left - right).abs() < f64::EPSILON,
            Op::Ne => (left - right).abs() >= f64::EPSILON,
        }
    }
}

/// A parsed `when` expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Condition {
    Compare { figure: Figure, op: Op, value: f64 },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

impl Condition {
    /// The figure of the first comparison (the value a notification reports).
    pub fn primary(&self) -> Figure {
        match self {
            Condition::Compare { figure, .. } => *figure,
            Condition::And(a, _) | Condition::Or(a, _) => a.primary(),
        }
    }

    /// Whether the condition names `figure` anywhere.
    pub fn mentions(&self, figure: Figure) -> bool {
        match self {
            Condition::Compare { figure: f, .. } => *f == figure,
            Condition::And(a, b) | Condition::Or(a, b) => a.mentions(figure) || b.mentions(figure),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Compare { figure, op, value } => {
                write!(f, "{} {} {value}", figure.name(), op.symbol())
            }
            Condition::And(a, b) => write!(f, "({a} and {b})"),
            Condition::Or(a, b) => write!(f, "({a} or {b})"),
        }
    }
}

/// A mistake in a `when` expression, at a byte range of the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    pub help: Option<String>,
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Number(f64),
    Op(Op),
    Open,
    Close,
}

/// Parses a `when` expression.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: text.len(),
    };
    let condition = parser.or()?;
    if let Some((_, start, len)) = parser.tokens.get(parser.pos) {
        return Err(error(
            "expected `and`, `or` or the end of the condition",
            None,
            *start,
            *len,
        ));
    }
    Ok(condition)
}

fn error(message: &str, help: Option<String>, offset: usize, len: usize) -> ConditionError {
    ConditionError {
        message: message.to_owned(),
        help,
        offset,
        len: len.max(1),
    }
}

fn lex(text: &str) -> Result<Vec<(Token<'_>, usize, usize)>, ConditionError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((Token::Word(&text[start..i]), start, i - start));
        } else if c.is_ascii_digit() || c == b'.' {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let mut value: f64 = text[start..i].parse().map_err(|_| {
                error(
                    &format!("`{}` is not a number", &text[start..i]),
                    None,
                    start,
                    i - start,
                )
            })?;
            match bytes.get(i) {
                Some(b'%') => i += 1,
                Some(b'k' | b'K') => (value, i) = (value * 1e3, i + 1),
                Some(b'M') => (value, i) = (value * 1e6, i + 1),
                Some(b'G') => (value, i) = (value * 1e9, i + 1),
                Some(b'T') => (value, i) = (value * 1e12, i + 1),
                _ => {}
            }
            if i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                let mut end = i;
                while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
                    end += 1;
                }
                return Err(error(
                    &format!("unknown unit `{}`", &text[i..end]),
                    Some("a number may end in %, k, M, G or T (×1000 each)".into()),
                    i,
                    end - i,
                ));
            }
            out.push((Token::Number(value), start, i - start));
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let (token, len) = match (c, two) {
                (_, ">=") => (Token::Op(Op::Ge), 2),
                (_, "<=") => (Token::Op(Op::Le), 2),
                (_, "==") => (Token::Op(Op::Eq), 2),
                (_, "!=") => (Token::Op(Op::Ne), 2),
                (b'>', _) => (Token::Op(Op::Gt), 1),
                (b'<', _) => (Token::Op(Op::Lt), 1),
                (b'(', _) => (Token::Open, 1),
                (b')', _) => (Token::Close, 1),
                (_, "&&" | "||") => {
                    let word = if two == "&&" { "and" } else { "or" };
                    return Err(error(
                        &format!("`{two}` is written `{word}` here"),
                        Some(format!("write `{word}`")),
                        i,
                        2,
                    ));
                }
                (b'=', _) => {
                    return Err(error(
                        "`=` is not a comparison",
                        DidYouMean::found(Some("==".into()), []).help(),
                        i,
                        1,
                    ))
                }
                _ => {
                    let ch = text[i..].chars().next().unwrap_or(' ');
                    return Err(error(
                        &format!("unexpected `{ch}`"),
                        Some(
                            "use figure names, numbers, >, >=, <, <=, ==, !=, and, or, ( )".into(),
                        ),
                        i,
                        ch.len_utf8(),
                    ));
                }
            };
            out.push((token, i, len));
            i += len;
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<(Token<'a>, usize, usize)>,
    pos: usize,
    end: usize,
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some((Token::Word(w), _, _)) if *w == word)
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut left = self.atom()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.atom()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn next(&mut self, what: &str) -> Result<(Token<'_>, usize, usize), ConditionError> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return Err(error(
                &format!("the condition ends where {what} was expected"),
                Some("a condition looks like `cpu > 90` or `up == 0 or disk > 95`".into()),
                self.end.saturating_sub(1),
                1,
            ));
        };
        self.pos += 1;
        Ok(token)
    }

    fn atom(&mut self) -> Result<Condition, ConditionError> {
        let (token, start, len) = self.next("a figure name")?;
        let figure = match token {
            Token::Open => {
                let inner = self.or()?;
                match self.next("`)`")? {
                    (Token::Close, _, _) => return Ok(inner),
                    (_, s, l) => return Err(error("expected `)`", None, s, l)),
                }
            }
            Token::Word(word) => Figure::from_name(word).ok_or_else(|| unknown(word, start))?,
            _ => {
                return Err(error(
                    "expected a figure name",
                    Some(figure_list()),
                    start,
                    len,
                ))
            }
        };
        let op = match self.next("a comparison (>, >=, <, <=, ==, !=)")? {
            (Token::Op(op), _, _) => op,
            (_, s, l) => {
                return Err(error(
                    "expected a comparison (>, >=, <, <=, ==, !=)",
                    None,
                    s,
                    l,
                ))
            }
        };
        let value = match self.next("a number")? {
            (Token::Number(value), _, _) => value,
            (_, s, l) => return Err(error("expected a number", None, s, l)),
        };
        Ok(Condition::Compare { figure, op, value })
    }
}

fn unknown(word: &str, start: usize) -> ConditionError {
    let names = Figure::ALL.map(Figure::name);
    let help = DidYouMean::new(word, names).listed("figures").to_string();
    error(
        &format!("unknown figure `{word}`"),
        Some(help),
        start,
        word.len(),
    )
}

fn figure_list() -> String {
    format!("figures: {}", Figure::ALL.map(Figure::name).join(", "))
}

#[cfg(test)]
mod tests;
