//! Checks that need the whole model: references between declarations, host patterns, data
//! centres of attached networks and dependency cycles. Each declaration's own fields were
//! checked when the script declared it; here every remaining problem is collected, not just the
//! first.

use super::{graph, group, pattern, Desired, ModelError, NameRef, Span};

/// Every cross-declaration problem in `desired`, in declaration order.
pub fn validate(desired: &Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    let key_names: Vec<&str> = desired.ssh_keys.keys().map(String::as_str).collect();
    let network_names: Vec<&str> = desired.networks.keys().map(String::as_str).collect();
    let group_names: Vec<&str> = desired.groups.keys().map(String::as_str).collect();
    let server_names: Vec<&str> = desired.servers.keys().map(String::as_str).collect();

    for server in desired.servers.values() {
        check_refs(&server.ssh_keys, "ssh key", &key_names, &mut errors);
        check_refs(&server.networks, "network", &network_names, &mut errors);
        check_refs(&server.groups, "group", &group_names, &mut errors);
        check_refs(&server.depends_on, "server", &server_names, &mut errors);
        for net_ref in &server.networks {
            if let Some(net) = desired.networks.get(&net_ref.name) {
                if net.dc != server.dc {
                    errors.push(ModelError::InvalidValue {
                        field: "networks".into(),
                        message: format!(
                            "server `{}` is in data centre {} but network `{}` is in {}",
                            server.name, server.dc, net.name, net.dc
                        ),
                        help: Some(
                            "a private network only reaches servers in its own data centre; \
                             set the same `dc` on both"
                                .into(),
                        ),
                        at: net_ref.span,
                    });
                }
            }
        }
    }
    for group in desired.groups.values() {
        check_refs(&group.children, "group", &group_names, &mut errors);
        if let Some(server) = desired.servers.get(&group.name) {
            errors.push(named_twice(
                ("group", group.span),
                ("server", server.span),
                &group.name,
            ));
        }
    }
    errors.extend(group::cycles(desired));
    for playbook in &desired.playbooks {
        if pattern::select(&playbook.hosts, desired).is_empty() {
            let at = playbook
                .fields
                .get("hosts")
                .copied()
                .unwrap_or(playbook.span);
            let names = pattern::names(desired);
            let help = match suggest(&playbook.hosts, names.iter().copied()) {
                Some(s) => format!(
                    "did you mean `{s}`? groups and servers: {}",
                    names.join(", ")
                ),
                None if names.is_empty() => "no servers are declared".to_owned(),
                None => format!("groups and servers: {}", names.join(", ")),
            };
            errors.push(ModelError::NoMatch {
                pattern: playbook.hosts.clone(),
                at,
                help,
            });
        }
    }
    errors.extend(super::alert::validate(desired));
    errors.extend(super::pipeline::validate(desired));
    errors.extend(moves(desired));
    if let Err(cycle) = graph::Graph::check_cycles(desired) {
        errors.push(cycle);
    }
    errors
}

/// Each `moved(from, to)` names a declared target, and its source is no longer declared.
fn moves(desired: &Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    let declared = |kind: &str, name: &str| match kind {
        "server" => desired.servers.contains_key(name),
        "network" => desired.networks.contains_key(name),
        "ssh_key" => desired.ssh_keys.contains_key(name),
        "dns_record" => desired.dns_records.iter().any(|r| r.id == name),
        _ => false,
    };
    let kinds = ["server", "network", "ssh_key", "dns_record"];
    for m in &desired.moves {
        let targets: Vec<&str> = kinds
            .iter()
            .copied()
            .filter(|k| m.kind.as_deref().is_none_or(|want| want == *k) && declared(k, &m.to))
            .collect();
        match targets.as_slice() {
            [] => {
                let all: Vec<&str> = desired
                    .servers
                    .keys()
                    .chain(desired.networks.keys())
                    .chain(desired.ssh_keys.keys())
                    .map(String::as_str)
                    .collect();
                errors.push(ModelError::UnknownRef {
                    kind: "moved target",
                    name: m.to.clone(),
                    at: m.span,
                    suggestion: suggest(&m.to, all.iter().copied()),
                    declared: all.iter().map(|s| (*s).to_owned()).collect(),
                });
            }
            [kind] => {
                if m.from == m.to {
                    errors.push(ModelError::InvalidValue {
                        field: "moved".into(),
                        message: format!("`moved` from `{}` to itself", m.from),
                        help: Some("name the old and the new name".into()),
                        at: m.span,
                    });
                } else if declared(kind, &m.from) {
                    errors.push(ModelError::InvalidValue {
                        field: "moved".into(),
                        message: format!("{kind} `{}` is still declared", m.from),
                        help: Some(
                            "a move renames a declaration: remove the old one, or drop the `moved`"
                                .into(),
                        ),
                        at: m.span,
                    });
                }
            }
            _ => errors.push(ModelError::InvalidValue {
                field: "moved".into(),
                message: format!("several kinds of resource are named `{}`", m.to),
                help: Some(format!(
                    "say which one: `moved(\"{}.{}\", ...)`",
                    targets[0], m.from
                )),
                at: m.span,
            }),
        }
    }
    errors
}

/// `name` declared as two kinds (a group and a server: both are Ansible host patterns): the
/// error is at the later declaration, whichever kind it is.
fn named_twice(a: (&'static str, Span), b: (&'static str, Span), name: &str) -> ModelError {
    let (first, later) = if (a.1.source, a.1.offset) <= (b.1.source, b.1.offset) {
        (a, b)
    } else {
        (b, a)
    };
    ModelError::Duplicate {
        kind: later.0,
        name: name.to_owned(),
        at: later.1,
        first: first.1,
        first_kind: first.0,
    }
}

fn check_refs(refs: &[NameRef], kind: &'static str, known: &[&str], errors: &mut Vec<ModelError>) {
    for r in refs {
        if !known.contains(&r.name.as_str()) {
            errors.push(ModelError::UnknownRef {
                kind,
                name: r.name.clone(),
                at: r.span,
                suggestion: suggest(&r.name, known.iter().copied()),
                declared: known.iter().map(|s| (*s).to_owned()).collect(),
            });
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
    if let Some(s) = found {
        return format!("did you mean `{s}`?");
    }
    let mut all: Vec<&str> = candidates.into_iter().collect();
    all.sort_unstable();
    all.dedup();
    match all.len() {
        0 => "there is nothing to choose from".to_owned(),
        n if n > 10 => format!("choose from: {}, … ({n} in all)", all[..10].join(", ")),
        _ => format!("choose from: {}", all.join(", ")),
    }
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
    use super::suggest;

    #[test]
    fn command_line_names_match_a_name_or_an_address() {
        let known = ["server.web-1".to_owned(), "network.lan".to_owned()];
        let unknown = |n: &str| {
            super::unknown_name(&[n.to_owned()], &known)
                .err()
                .map(|e| (e.name, e.choices))
        };
        let unknown = |n: &str| unknown(n).map(|(name, choices)| format!("{name}: {choices}"));
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
}
