//! What Tab offers at the cursor: meta-commands after `:`, declared names inside a string,
//! option fields inside `server("x", #{ ... })` and the like, otherwise functions and variables.
//! Pure: works on the line and a snapshot of the session's names.

use std::collections::HashMap;

use crate::script::{api, Session};

use super::cloud::LIVE_FUNCTIONS;
use super::commands::COMMANDS;

/// The names the session knows, refreshed after every input.
#[derive(Debug, Clone, Default)]
pub struct Words {
    /// Script API functions and functions the script has defined.
    pub functions: Vec<String>,
    /// Variables in scope.
    pub variables: Vec<String>,
    /// Declared server, group, key and network names.
    pub names: Vec<String>,
    /// Option fields per declaration function, filled in on first use.
    fields: HashMap<String, &'static [&'static str]>,
}

impl Words {
    /// A snapshot of `session`.
    pub fn of(session: &Session) -> Words {
        let declared = session.declared();
        let mut functions: Vec<String> = api::FUNCTIONS
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        functions.push("declared".to_owned());
        functions.extend(LIVE_FUNCTIONS.iter().map(|(n, _)| (*n).to_owned()));
        functions.extend(session.script_functions());
        let names = declared
            .servers
            .keys()
            .chain(declared.groups.keys())
            .chain(declared.ssh_keys.keys())
            .chain(declared.networks.keys())
            .cloned()
            .collect();
        Words {
            functions,
            variables: session.variables().into_iter().map(|(n, _)| n).collect(),
            names,
            fields: HashMap::new(),
        }
    }

    fn fields(&mut self, function: &str) -> &'static [&'static str] {
        self.fields
            .entry(function.to_owned())
            .or_insert_with(|| Session::fields_of(function))
    }
}

/// The start of the word being completed, and the candidates, sorted.
pub fn complete(line: &str, pos: usize, words: &mut Words) -> (usize, Vec<String>) {
    let before = &line[..pos];
    if before.trim_start().starts_with(':') && !before.contains(' ') {
        let start = before.len() - before.trim_start().len();
        return (
            start,
            matching(before.trim_start(), COMMANDS.iter().map(|(n, _)| *n)),
        );
    }
    let context = context(before);
    if let Some(quote) = context.open_string {
        let prefix = &before[quote + 1..];
        return (
            quote + 1,
            matching(prefix, words.names.iter().map(String::as_str)),
        );
    }
    let word_start = |end: usize| {
        before[..end]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(end, |(i, _)| i)
    };
    let mut start = word_start(pos);
    // A namespaced name (`cloud::se`) is one word.
    if before[..start].ends_with("::") {
        start = word_start(start - 2);
    }
    let prefix = &before[start..];
    if let Some(function) = context.map_of.filter(|_| context.at_key) {
        let fields = words.fields(&function);
        return (start, matching(prefix, fields.iter().copied()));
    }
    if prefix.is_empty() {
        return (pos, Vec::new());
    }
    let all = words
        .functions
        .iter()
        .chain(words.variables.iter())
        .map(String::as_str);
    (start, matching(prefix, all))
}

/// The rest of the only candidate, shown greyed after the cursor.
pub fn hint(line: &str, pos: usize, words: &mut Words) -> Option<String> {
    if pos < line.len() {
        return None;
    }
    let (start, candidates) = complete(line, pos, words);
    match candidates.as_slice() {
        [only] if pos > start && only.len() > pos - start => Some(only[pos - start..].to_owned()),
        _ => None,
    }
}

fn matching<'a>(prefix: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = candidates
        .filter(|c| c.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Where the cursor is, syntactically.
#[derive(Debug, Default, PartialEq)]
struct Context {
    /// Byte index of the quote of a string still open at the cursor.
    open_string: Option<usize>,
    /// The declaration function whose options map `#{` encloses the cursor.
    map_of: Option<String>,
    /// Whether the cursor is where a map key goes (after `#{` or `,`).
    at_key: bool,
}

fn context(before: &str) -> Context {
    // Open brackets: (kind, byte index).
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    let bytes: Vec<(usize, char)> = before.char_indices().collect();
    for (k, &(i, c)) in bytes.iter().enumerate() {
        if let Some((q, _)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' => quote = Some((c, i)),
            '(' | '[' => stack.push((c, i)),
            '{' => {
                let map = k > 0 && bytes[k - 1].1 == '#';
                stack.push((if map { '#' } else { '{' }, i));
            }
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    if let Some((_, at)) = quote {
        return Context {
            open_string: Some(at),
            ..Context::default()
        };
    }
    let mut context = Context::default();
    if let [.., ('(', paren), ('#', brace)] = stack.as_slice() {
        let name: String = before[..*paren]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if api::FUNCTIONS.iter().any(|(n, _)| *n == name) {
            let word_start = before.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
            let last = word_start[brace + 1..].trim_end().chars().last();
            context.at_key = matches!(last, None | Some(','));
            context.map_of = Some(name);
        }
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        Words {
            functions: vec![
                "server".into(),
                "ssh_key".into(),
                "secret".into(),
                "web".into(),
                "cloud::server".into(),
                "cloud::servers".into(),
                "cloud::balance".into(),
            ],
            variables: vec!["size".into(), "web_count".into()],
            names: vec!["web-1".into(), "web-2".into(), "db".into()],
            fields: HashMap::new(),
        }
    }

    fn complete_at_end(line: &str) -> (usize, Vec<String>) {
        complete(line, line.len(), &mut words())
    }

    #[test]
    fn live_functions_are_offered() {
        let s = Session::new(crate::script::Options::new(
            "dev",
            indexmap::IndexMap::new(),
        ));
        let mut words = Words::of(&s);
        let (_, got) = complete("cloud::net", 10, &mut words);
        assert_eq!(got, ["cloud::networks"]);
    }

    #[test]
    fn table_of_completions() {
        let cases: &[(&str, usize, &[&str])] = &[
            (":gr", 0, &[":graph"]),
            (
                ":",
                0,
                &[
                    ":apply", ":check", ":graph", ":help", ":plan", ":quit", ":reload", ":vars",
                ],
            ),
            ("let x = se", 8, &["secret", "server"]),
            ("we", 0, &["web", "web_count"]),
            ("let n = cloud::se", 8, &["cloud::server", "cloud::servers"]),
            ("cloud::b", 0, &["cloud::balance"]),
            ("group(\"g\", #{ servers: [\"we", 25, &["web-1", "web-2"]),
            ("server(\"a\", #{ ra", 15, &["ram"]),
            ("server(\"a\", #{ cpu: 2, di", 23, &["disk", "disk_type"]),
            ("server(\"a\", #{ cpu: si", 20, &["size"]),
            ("let m = #{ ra", 11, &[]),
            ("1 + ", 4, &[]),
        ];
        for (line, start, expected) in cases {
            let (s, got) = complete_at_end(line);
            assert_eq!(
                (s, got.iter().map(String::as_str).collect::<Vec<_>>()),
                (*start, expected.to_vec()),
                "{line}"
            );
        }
    }

    #[test]
    fn hints_show_the_rest_of_a_unique_candidate() {
        assert_eq!(hint(":rel", 4, &mut words()), Some("oad".into()));
        assert_eq!(hint("se", 2, &mut words()), None);
        assert_eq!(hint("ssh", 3, &mut words()), Some("_key".into()));
        assert_eq!(hint("ssh", 1, &mut words()), None);
    }
}
