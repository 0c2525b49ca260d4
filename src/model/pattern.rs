//! Ansible-style host patterns over the declared servers and groups.
//!
//! A pattern is a list of terms separated by `:` or `,`. A plain term adds hosts, `&term` keeps
//! only hosts also matched by it, `!term` removes hosts. A term is `all`/`*`, a group name (its
//! servers and those of its child groups), or a glob (`*`, `?`) over server and group names —
//! as in `ansible-playbook --limit`. Used by playbook validation, `--limit` and alerts.

use std::collections::BTreeSet;

use super::{Desired, DidYouMean, ModelError, Span};

/// The servers `pattern` selects, in declaration order.
pub fn select<'a>(pattern: &str, desired: &'a Desired) -> Vec<&'a str> {
    let chosen = combine(pattern, |term| term_hosts(term, desired));
    desired
        .servers
        .keys()
        .enumerate()
        .filter(|(i, _)| chosen.contains(i))
        .map(|(_, name)| name.as_str())
        .collect()
}

/// The `names` that `pattern` selects, in their order, for hosts without groups (`ict exec
/// --hosts`): a term is `all`/`*` or a glob over the names.
pub fn select_names<'a>(pattern: &str, names: &[&'a str]) -> Vec<&'a str> {
    let chosen = combine(pattern, |term| {
        names
            .iter()
            .enumerate()
            .filter(|(_, name)| term == "all" || glob(term, name))
            .map(|(i, _)| i)
            .collect()
    });
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| chosen.contains(i))
        .map(|(_, name)| *name)
        .collect()
}

/// Applies the terms of `pattern` (plain, `&` intersect, `!` exclude) to the host indexes
/// each term selects.
fn combine(pattern: &str, term_hosts: impl Fn(&str) -> BTreeSet<usize>) -> BTreeSet<usize> {
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut intersect: Vec<BTreeSet<usize>> = Vec::new();
    let mut exclude: BTreeSet<usize> = BTreeSet::new();
    for term in pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if let Some(t) = term.strip_prefix('!') {
            exclude.extend(term_hosts(t));
        } else if let Some(t) = term.strip_prefix('&') {
            intersect.push(term_hosts(t));
        } else {
            chosen.extend(term_hosts(term));
        }
    }
    chosen.retain(|i| !exclude.contains(i) && intersect.iter().all(|s| s.contains(i)));
    chosen
}

/// Every name a pattern term could refer to (servers and groups), for "did you mean" hints.
fn names(desired: &Desired) -> Vec<&str> {
    let mut names: Vec<&str> = desired.groups.keys().map(String::as_str).collect();
    names.extend(desired.servers.keys().map(String::as_str));
    names
}

/// The error of `pattern` (written at `at`) selecting no server: "did you mean `web`? groups
/// and servers: web, web-1".
pub fn no_match(pattern: &str, at: Span, desired: &Desired) -> ModelError {
    ModelError::NoMatch {
        pattern: pattern.to_owned(),
        at,
        help: DidYouMean::new(pattern, names(desired))
            .listed("groups and servers")
            .when_empty("no servers are declared")
            .to_string(),
    }
}

fn term_hosts(term: &str, desired: &Desired) -> BTreeSet<usize> {
    if term == "all" || term == "*" {
        return (0..desired.servers.len()).collect();
    }
    let mut groups = BTreeSet::new();
    for name in desired.groups.keys() {
        if glob(term, name) {
            collect_group(name, desired, &mut groups);
        }
    }
    desired
        .servers
        .values()
        .enumerate()
        .filter(|(_, s)| glob(term, &s.name) || s.groups.iter().any(|g| groups.contains(&g.name)))
        .map(|(i, _)| i)
        .collect()
}

/// Adds `name` and, recursively, its child groups to `out`.
fn collect_group(name: &str, desired: &Desired, out: &mut BTreeSet<String>) {
    if !out.insert(name.to_owned()) {
        return;
    }
    if let Some(group) = desired.groups.get(name) {
        for child in &group.children {
            collect_group(&child.name, desired, out);
        }
    }
}

/// Shell-style glob with `*` and `?`, iterative (no recursion, no blow-up).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{defaults, DiskType, Group, ImageRef, NameRef, Power, Server, Span};

    fn server(name: &str, groups: &[&str]) -> Server {
        Server {
            name: name.into(),
            cpu: 1,
            ram: 1024,
            disk: 20,
            disk_type: DiskType::Ssd,
            image: ImageRef::Name(defaults::IMAGE.into()),
            dc: "SdnSpb".into(),
            high_performance: false,
            backup: None,
            groups: groups
                .iter()
                .map(|g| NameRef {
                    name: (*g).into(),
                    span: Span::default(),
                })
                .collect(),
            ssh_keys: vec![],
            networks: vec![],
            depends_on: vec![],
            vars: indexmap::IndexMap::new(),
            power: Power::On,
            protect: false,
            adopt: crate::model::Adopt::No,
            user: "root".into(),
            metrics: crate::model::MetricsSource::default(),
            span: Span::default(),
            fields: indexmap::IndexMap::new(),
        }
    }

    /// A group with `children`, for tests of the model.
    pub(in crate::model) fn group(name: &str, children: &[&str]) -> Group {
        Group {
            name: name.into(),
            vars: indexmap::IndexMap::new(),
            children: children
                .iter()
                .map(|g| NameRef {
                    name: (*g).into(),
                    span: Span::default(),
                })
                .collect(),
            span: Span::default(),
            fields: indexmap::IndexMap::new(),
        }
    }

    #[test]
    fn patterns() {
        let mut d = Desired::new("dev");
        for (name, groups) in [
            ("web-1", &["web"][..]),
            ("web-2", &["web"]),
            ("web-3", &["web"]),
            ("db-1", &["db"]),
        ] {
            d.add_server(server(name, groups)).expect("unique");
        }
        for g in [
            group("web", &[]),
            group("db", &[]),
            group("prod", &["web", "db"]),
        ] {
            d.add_group(g).expect("unique");
        }
        let cases: &[(&str, &[&str])] = &[
            ("all", &["web-1", "web-2", "web-3", "db-1"]),
            ("web", &["web-1", "web-2", "web-3"]),
            ("web-*", &["web-1", "web-2", "web-3"]),
            ("web:!web-3", &["web-1", "web-2"]),
            ("db-1,web-2", &["web-2", "db-1"]),
            ("prod:&db", &["db-1"]),
            ("prod:!web", &["db-1"]),
            ("w?b-1", &["web-1"]),
            ("nothing", &[]),
        ];
        for (pattern, expected) in cases {
            assert_eq!(&select(pattern, &d), expected, "{pattern}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b", "aXXc"));
        assert!(glob("*-1", "web-1"));
    }

    #[test]
    fn names_without_groups_are_selected_by_globs_and_exclusions() {
        let names = ["h001", "h002", "h010", "db"];
        let cases: [(&str, &[&str]); 6] = [
            ("all", &["h001", "h002", "h010", "db"]),
            ("*", &["h001", "h002", "h010", "db"]),
            ("h00*", &["h001", "h002"]),
            ("h*:!h002", &["h001", "h010"]),
            ("db,h010", &["h010", "db"]),
            ("h*:&*1*", &["h001", "h010"]),
        ];
        for (pattern, expected) in cases {
            assert_eq!(select_names(pattern, &names), expected, "{pattern}");
        }
        assert!(select_names("web", &names).is_empty());
    }
}
