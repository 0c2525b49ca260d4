//! Checks that need the whole model: references between declarations, host patterns, data
//! centres of attached networks and dependency cycles. Each declaration's own fields were
//! checked when the script declared it; here every remaining problem is collected, not just the
//! first.

use super::{graph, group, pattern, suggest, Desired, ModelError, NameRef, Span};

/// Every cross-declaration problem in `desired`, in declaration order.
pub fn validate(desired: &Desired) -> Vec<ModelError> {
    let mut errors = Vec::new();
    let key_names: Vec<&str> = desired.ssh_keys.keys().map(String::as_str).collect();
    let network_names: Vec<&str> = desired.networks.keys().map(String::as_str).collect();
    let group_names: Vec<&str> = desired.groups.keys().map(String::as_str).collect();
    let server_names: Vec<&str> = desired.servers.keys().map(String::as_str).collect();

    let pool_names: Vec<&str> = desired.pools.keys().map(String::as_str).collect();
    for volume in desired.volumes.values() {
        check_refs(
            std::slice::from_ref(&volume.pool),
            "pool",
            &pool_names,
            &mut errors,
        );
        check_refs(
            volume.attach_to.as_slice(),
            "server",
            &server_names,
            &mut errors,
        );
    }
    for image in desired.images.values() {
        match &image.source {
            super::ImageSource::Server(from) => {
                check_refs(
                    std::slice::from_ref(from),
                    "server",
                    &server_names,
                    &mut errors,
                );
            }
            super::ImageSource::File { pool, .. } => {
                check_refs(std::slice::from_ref(pool), "pool", &pool_names, &mut errors);
            }
        }
    }
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
            errors.push(pattern::no_match(&playbook.hosts, at, desired));
        }
    }
    errors.extend(super::alert::validate(desired));
    errors.extend(super::pipeline::validate(desired));
    errors.extend(super::schedule::validate(desired));
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
