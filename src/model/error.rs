//! Problems found in a script's declarations, each pointing at the user's text.
//!
//! Every variant carries the [`Span`]s it is about; `miette::Diagnostic` is implemented by hand
//! so that codes stay stable (`ict::model::...`) and labels come from the spans. The source text
//! is attached when the error is rendered (`ui`), since a span names its file.

use miette::{Diagnostic, LabeledSpan, Severity};

use super::{DidYouMean, Span};

/// A problem in the declarations.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("unknown field `{field}` in {decl}(...)")]
    UnknownField {
        decl: &'static str,
        field: String,
        at: Span,
        suggestion: Option<String>,
        allowed: &'static [&'static str],
    },

    #[error("`{field}` must be {expected}, not {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: String,
        at: Span,
    },

    #[error("{message}")]
    InvalidValue {
        field: String,
        message: String,
        help: Option<String>,
        at: Span,
    },

    #[error("{message}")]
    Limit {
        field: String,
        message: String,
        at: Span,
    },

    #[error("missing `{field}` in {decl}(...)")]
    MissingField {
        decl: &'static str,
        field: &'static str,
        at: Span,
        help: &'static str,
    },

    #[error("{kind} `{name}` is declared twice")]
    Duplicate {
        kind: &'static str,
        name: String,
        at: Span,
        first: Span,
        first_kind: &'static str,
    },

    #[error("unknown {kind} `{name}`")]
    UnknownRef {
        kind: &'static str,
        name: String,
        at: Span,
        suggestion: Option<String>,
        declared: Vec<String>,
    },

    #[error("hosts pattern `{pattern}` matches no server")]
    NoMatch {
        pattern: String,
        at: Span,
        help: String,
    },

    #[error("{} cycle: {}", if *via == "children" { "group" } else { "dependency" }, path.join(" -> "))]
    Cycle {
        /// The field whose entries make the cycle: `depends_on` (servers) or `children` (groups).
        via: &'static str,
        path: Vec<String>,
        at: Span,
        others: Vec<Span>,
    },

    #[error("cannot read `{path}`: {reason}")]
    File {
        path: String,
        reason: String,
        at: Span,
    },

    /// A value that must be one of the cloud's live choices (an image, a data centre) and
    /// is not.
    #[error("{what} `{value}` is not in 1cloud's catalogue")]
    NotInCatalogue {
        /// `image` or `data centre`.
        what: &'static str,
        value: String,
        at: Span,
        suggestion: Option<String>,
        /// The valid choices, for the help line.
        valid: Vec<String>,
    },

    /// Several cloud objects could be the one meant, and ict will not guess (a name is not an
    /// identity on 1cloud).
    #[error("{message}")]
    Ambiguous {
        message: String,
        /// One line per candidate: ID, name, creation date.
        candidates: Vec<String>,
        help: String,
        at: Span,
    },
}

impl ModelError {
    /// The span the error is mainly about (its file is the one shown).
    pub fn span(&self) -> Span {
        match self {
            ModelError::UnknownField { at, .. }
            | ModelError::WrongType { at, .. }
            | ModelError::InvalidValue { at, .. }
            | ModelError::Limit { at, .. }
            | ModelError::MissingField { at, .. }
            | ModelError::Duplicate { at, .. }
            | ModelError::UnknownRef { at, .. }
            | ModelError::NoMatch { at, .. }
            | ModelError::Cycle { at, .. }
            | ModelError::File { at, .. }
            | ModelError::NotInCatalogue { at, .. }
            | ModelError::Ambiguous { at, .. } => *at,
        }
    }

    /// Other places the error mentions, with their labels.
    pub fn secondary(&self) -> Vec<(Span, String)> {
        match self {
            ModelError::Duplicate {
                first, first_kind, ..
            } => {
                vec![(*first, format!("first declared here as a {first_kind}"))]
            }
            ModelError::Cycle { others, via, .. } => {
                let label = if *via == "children" {
                    "…which contains this"
                } else {
                    "…which depends on this"
                };
                others.iter().map(|s| (*s, label.to_owned())).collect()
            }
            _ => Vec::new(),
        }
    }

    fn label(&self) -> String {
        match self {
            ModelError::UnknownField { .. } => "unknown field".into(),
            ModelError::WrongType { expected, .. } => format!("expected {expected}"),
            ModelError::InvalidValue { field, .. } | ModelError::Limit { field, .. } => {
                format!("invalid `{field}`")
            }
            ModelError::MissingField { field, .. } => format!("`{field}` is required here"),
            ModelError::Duplicate { .. } => "declared again here".into(),
            ModelError::UnknownRef { kind, .. } => format!("no {kind} of this name"),
            ModelError::NoMatch { .. } => "matches nothing".into(),
            ModelError::Cycle { via, .. } if *via == "children" => {
                "this child closes the cycle".into()
            }
            ModelError::Cycle { .. } => "this dependency closes the cycle".into(),
            ModelError::File { .. } => "named here".into(),
            ModelError::NotInCatalogue { what, .. } => format!("unknown {what}"),
            ModelError::Ambiguous { .. } => "declared here".into(),
        }
    }
}

impl Diagnostic for ModelError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let code = match self {
            ModelError::UnknownField { .. } => "ict::model::unknown_field",
            ModelError::WrongType { .. } => "ict::model::wrong_type",
            ModelError::InvalidValue { .. } => "ict::model::invalid_value",
            ModelError::Limit { .. } => "ict::model::limit",
            ModelError::MissingField { .. } => "ict::model::missing_field",
            ModelError::Duplicate { .. } => "ict::model::duplicate_name",
            ModelError::UnknownRef { .. } => "ict::model::dangling_reference",
            ModelError::NoMatch { .. } => "ict::model::pattern_matches_nothing",
            ModelError::Cycle { .. } => "ict::model::cycle",
            ModelError::File { .. } => "ict::model::file",
            ModelError::NotInCatalogue { .. } => "ict::model::not_in_catalogue",
            ModelError::Ambiguous { .. } => "ict::model::ambiguous",
        };
        Some(Box::new(code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(Severity::Error)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = match self {
            ModelError::UnknownField {
                suggestion,
                allowed,
                ..
            } => DidYouMean::found(suggestion.clone(), allowed.iter().copied())
                .listed_otherwise("known fields")
                .to_string(),
            ModelError::WrongType { .. } | ModelError::Limit { .. } => return None,
            ModelError::InvalidValue { help, .. } => return help.as_ref().map(boxed),
            ModelError::MissingField { help, .. } => (*help).to_owned(),
            ModelError::Duplicate { kind, .. } => {
                format!("give each {kind} its own name (names are how ict finds them again)")
            }
            ModelError::UnknownRef {
                kind,
                suggestion,
                declared,
                ..
            } => DidYouMean::found(suggestion.clone(), declared.iter().map(String::as_str))
                .listed("declared")
                .when_empty(format!("no {kind} is declared; declare it before using it"))
                .to_string(),
            ModelError::NoMatch { help, .. } => help.clone(),
            ModelError::Cycle { via, .. } if *via == "children" => {
                "a group cannot contain itself, directly or through its children; remove one of \
                 the `children` entries in the cycle"
                    .into()
            }
            ModelError::Cycle { via, .. } => {
                format!("remove one of the `{via}` entries in the cycle")
            }
            ModelError::File { .. } => "paths are relative to the script's folder".into(),
            ModelError::NotInCatalogue {
                suggestion, valid, ..
            } => DidYouMean::found(suggestion.clone(), valid.iter().map(String::as_str))
                .listed("valid")
                .to_string(),
            ModelError::Ambiguous {
                candidates, help, ..
            } => format!("{}\n{help}", candidates.join("\n")),
        };
        Some(Box::new(help))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = self.span();
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(self.label()),
            primary.source_span(),
        )];
        for (span, text) in self.secondary() {
            if span.source == primary.source {
                labels.push(LabeledSpan::new_with_span(Some(text), span.source_span()));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
}

fn boxed(s: &String) -> Box<dyn std::fmt::Display + '_> {
    Box::new(s)
}
