//! Why a Prometheus exposition did not parse: the 1-based line number and a short reason.
//!
//! Depends on `thiserror` and `miette` only.

/// A parse failure at one line of the exposition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("metrics line {line}: {reason}")]
#[diagnostic(
    code(ict::metrics::parse),
    help("the scrape is not valid Prometheus text format; check the exporter's /metrics output")
)]
pub struct ParseError {
    /// 1-based line number in the input.
    pub line: usize,
    pub reason: Reason,
}

/// The short reason of a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("expected a metric name")]
    MetricName,
    #[error("expected a label name")]
    LabelName,
    #[error("expected `=` after the label name")]
    LabelEquals,
    #[error("expected `\"` to open the label value")]
    LabelQuote,
    #[error("label value is not closed by `\"`")]
    UnterminatedLabelValue,
    #[error("invalid escape in label value (only \\\\, \\\" and \\n are allowed)")]
    InvalidEscape,
    #[error("expected `,` or `}}` after the label value")]
    LabelSeparator,
    #[error("expected a value after the metric name")]
    MissingValue,
    #[error("the value is not a number")]
    InvalidValue,
    #[error("the timestamp is not an integer")]
    InvalidTimestamp,
    #[error("unexpected text after the value and timestamp")]
    TrailingText,
    #[error("expected a metric name after # HELP or # TYPE")]
    CommentMetricName,
    #[error("unknown metric type in # TYPE")]
    UnknownType,
    #[error("text after # EOF")]
    AfterEof,
}
