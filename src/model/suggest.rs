//! "Did you mean …?": the help of a name that matches nothing, in one wording everywhere —
//! a close candidate if there is one, then (or else) the names there are to choose from:
//! "did you mean `web-1`? groups and servers: db, web-1".
//!
//! Pure; depends on nothing but `strsim`. Every "unknown X" error of ict builds its help with
//! [`DidYouMean`] (and finds the close candidate with [`suggest`]).

use std::fmt;

/// The help of an unknown name: "did you mean `x`?" and/or "`label`: a, b, c".
///
/// ```
/// use ict::model::DidYouMean;
/// let hint = DidYouMean::new("wbe", ["db", "web"]).listed("groups and servers");
/// assert_eq!(hint.to_string(), "did you mean `web`? groups and servers: db, web");
/// let hint = DidYouMean::new("zzz", ["db", "web"]).listed_otherwise("known fields");
/// assert_eq!(hint.to_string(), "known fields: db, web");
/// ```
#[derive(Debug, Clone)]
pub struct DidYouMean<'a> {
    suggestion: Option<String>,
    candidates: Vec<&'a str>,
    label: Option<&'a str>,
    /// List the candidates after a suggestion too (not only when there is none).
    always: bool,
    /// Said instead of an empty list.
    empty: Option<String>,
    /// Listed at most this many, then "… (N in all)".
    most: Option<usize>,
}

impl<'a> DidYouMean<'a> {
    /// For `name` among `candidates`: the closest one, if it is close enough ([`suggest`]).
    /// Says only "did you mean `x`?" (or nothing) until a list is asked for.
    pub fn new(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> Self {
        DidYouMean::found(suggest(name, candidates.clone()), candidates)
    }

    /// With a suggestion found earlier (an error that keeps it, or a search of its own).
    pub fn found(
        suggestion: Option<String>,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        DidYouMean {
            suggestion,
            candidates: candidates.into_iter().collect(),
            label: None,
            always: false,
            empty: None,
            most: None,
        }
    }

    /// Lists the candidates after the suggestion: "did you mean `x`? `label`: a, b".
    #[must_use]
    pub fn listed(mut self, label: &'a str) -> Self {
        self.label = Some(label);
        self.always = true;
        self
    }

    /// Lists the candidates only when none is close: "did you mean `x`?" or "`label`: a, b".
    #[must_use]
    pub fn listed_otherwise(mut self, label: &'a str) -> Self {
        self.label = Some(label);
        self.always = false;
        self
    }

    /// What to say instead of the list when there are no candidates ("no servers are
    /// declared").
    #[must_use]
    pub fn when_empty(mut self, text: impl Into<String>) -> Self {
        self.empty = Some(text.into());
        self
    }

    /// Lists at most `most` candidates, then how many there are in all.
    #[must_use]
    pub fn at_most(mut self, most: usize) -> Self {
        self.most = Some(most);
        self
    }

    /// The close candidate, if any.
    pub fn suggestion(&self) -> Option<&str> {
        self.suggestion.as_deref()
    }

    /// The help as text, `None` when there is nothing to say.
    pub fn help(&self) -> Option<String> {
        Some(self.to_string()).filter(|text| !text.is_empty())
    }
}

impl fmt::Display for DidYouMean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut space = "";
        if let Some(s) = &self.suggestion {
            write!(f, "did you mean `{s}`?")?;
            space = " ";
        }
        let Some(label) = self.label else {
            return Ok(());
        };
        if self.suggestion.is_some() && !self.always {
            return Ok(());
        }
        let all = &self.candidates;
        if all.is_empty() {
            return match &self.empty {
                Some(text) => write!(f, "{space}{text}"),
                None => Ok(()),
            };
        }
        match self.most {
            Some(most) if all.len() > most => write!(
                f,
                "{space}{label}: {}, … ({} in all)",
                all[..most].join(", "),
                all.len()
            ),
            _ => write!(f, "{space}{label}: {}", all.join(", ")),
        }
    }
}

/// A name given on the command line that matches nothing, with a did-you-mean or the choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub name: String,
    /// "did you mean `web-1`?", or the choices there are.
    pub choices: String,
}

/// Checks names given on the command line (`--target`) against `known` (addresses such as
/// `server.web-1`, or plain names): each must be one of them, or the name in an address. The
/// first that is not is returned, with a did-you-mean.
pub fn unknown_name(given: &[String], known: &[String]) -> Result<(), UnknownName> {
    let names = known
        .iter()
        .map(|k| k.split_once('.').map_or(k.as_str(), |(_, n)| n));
    let matches = |name: &String| known.contains(name) || names.clone().any(|n| n == name);
    match given.iter().find(|name| !matches(name)) {
        None => Ok(()),
        Some(name) => Err(UnknownName {
            name: name.clone(),
            choices: choices(name, known.iter().map(String::as_str).chain(names)),
        }),
    }
}

/// "did you mean `web-1`?", or the choices there are (the first ten).
pub fn choices<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    // `server.web-1` for `web-1`, or the other way round, is also a likely slip.
    let short = name.split_once('.').map_or(name, |(_, n)| n);
    let same_name = || {
        let mut all = candidates.clone().into_iter();
        all.find(|c| *c == short && c != &name).map(str::to_owned)
    };
    let found = suggest(name, candidates.clone())
        .or_else(same_name)
        .or_else(|| suggest(short, candidates.clone()));
    let mut all: Vec<&str> = candidates.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    DidYouMean::found(found, all)
        .listed_otherwise("choose from")
        .at_most(10)
        .when_empty("there is nothing to choose from")
        .to_string()
}

/// The candidate closest to `name`, if it is close enough to be a likely typo: few edits
/// (transpositions count as one) or a high Jaro-Winkler similarity.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            (
                strsim::damerau_levenshtein(name, c),
                strsim::jaro_winkler(name, c),
                c,
            )
        })
        .filter(|(edits, jw, c)| *edits <= (name.len().max(c.len()) / 3).max(1) || *jw >= 0.85)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_names_match_a_name_or_an_address() {
        let known = ["server.web-1".to_owned(), "network.lan".to_owned()];
        let unknown = |n: &str| {
            super::unknown_name(&[n.to_owned()], &known)
                .err()
                .map(|e| format!("{}: {}", e.name, e.choices))
        };
        assert_eq!(unknown("web-1"), None);
        assert_eq!(unknown("network.lan"), None);
        assert_eq!(
            unknown("wbe-1").as_deref(),
            Some("wbe-1: did you mean `web-1`?")
        );
        assert_eq!(
            unknown("netwrok.lan").as_deref(),
            Some("netwrok.lan: did you mean `network.lan`?")
        );
        assert_eq!(
            unknown("zzz").as_deref(),
            Some("zzz: choose from: lan, network.lan, server.web-1, web-1")
        );
        let servers = ["web-1".to_owned()];
        assert_eq!(
            super::unknown_name(&["server.web-1".to_owned()], &servers),
            Err(super::UnknownName {
                name: "server.web-1".to_owned(),
                choices: "did you mean `web-1`?".to_owned()
            })
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("rma", ["cpu", "ram", "disk"]).as_deref(),
            Some("ram")
        );
        assert_eq!(
            suggest("deplyo", ["deploy", "web"]).as_deref(),
            Some("deploy")
        );
        assert_eq!(suggest("zzz", ["cpu", "ram"]), None);
    }

    #[test]
    fn did_you_mean_says_the_close_name_then_or_else_the_choices() {
        let names = ["web", "web-1", "db"];
        let listed = |name| {
            DidYouMean::new(name, names)
                .listed("groups and servers")
                .when_empty("no servers are declared")
                .to_string()
        };
        assert_eq!(
            listed("wbe"),
            "did you mean `web`? groups and servers: web, web-1, db"
        );
        assert_eq!(listed("zzz"), "groups and servers: web, web-1, db");
        let none: [&str; 0] = [];
        let empty = DidYouMean::new("web", none)
            .listed("groups and servers")
            .when_empty("no servers are declared");
        assert_eq!(empty.to_string(), "no servers are declared");
        let otherwise = |name| {
            DidYouMean::new(name, names)
                .listed_otherwise("known fields")
                .to_string()
        };
        assert_eq!(otherwise("wbe"), "did you mean `web`?");
        assert_eq!(otherwise("zzz"), "known fields: web, web-1, db");
        assert_eq!(
            DidYouMean::new("wbe", names).help().as_deref(),
            Some("did you mean `web`?")
        );
        assert_eq!(DidYouMean::new("zzz", names).help(), None);
        let many: Vec<String> = (1..=12).map(|i| format!("s{i:02}")).collect();
        let capped = DidYouMean::new("zzz", many.iter().map(String::as_str))
            .listed_otherwise("choose from")
            .at_most(3);
        assert_eq!(
            capped.to_string(),
            "choose from: s01, s02, s03, … (12 in all)"
        );
    }
}
