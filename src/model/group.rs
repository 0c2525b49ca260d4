//! A declared Ansible group: servers join it with `groups: [...]`; it can nest other groups.

use indexmap::IndexMap;

use super::{Desired, FieldSpans, ModelError, NameRef, Span, Value};

/// `group(name, #{ vars, children })`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    pub name: String,
    pub vars: IndexMap<String, Value>,
    pub children: Vec<NameRef>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub fields: FieldSpans,
}

/// One error per cycle in groups' `children` (Ansible refuses a group that contains itself), at
/// the child entry that closes it. Iterative depth-first search: nesting depth is not bounded.
pub(super) fn cycles(desired: &Desired) -> Vec<ModelError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let groups: Vec<&Group> = desired.groups.values().collect();
    let index = |name: &str| desired.groups.get_index_of(name);
    let mut mark = vec![Mark::New; groups.len()];
    let mut errors = Vec::new();
    for root in 0..groups.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // The path being explored: (group, next child to look at).
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (g, ref mut next)) = path.last_mut() {
            let Some(child) = groups[g].children.get(*next) else {
                mark[g] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            let Some(c) = index(&child.name) else {
                continue; // an unknown group: reported as a dangling reference
            };
            match mark[c] {
                Mark::New => {
                    mark[c] = Mark::Open;
                    path.push((c, 0));
                }
                Mark::Open => {
                    let start = path.iter().position(|&(p, _)| p == c).unwrap_or(0);
                    let cycle = &path[start..];
                    let mut names: Vec<String> = cycle
                        .iter()
                        .map(|&(p, _)| format!("group.{}", groups[p].name))
                        .collect();
                    names.push(format!("group.{}", groups[c].name));
                    // The entry followed out of each group of the cycle but the last.
                    let others = cycle[..cycle.len() - 1]
                        .iter()
                        .filter_map(|&(p, n)| groups[p].children.get(n - 1).map(|r| r.span))
                        .collect();
                    errors.push(ModelError::Cycle {
                        via: "children",
                        path: names,
                        at: child.span,
                        others,
                    });
                }
                Mark::Done => {}
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pattern::tests::group;

    fn cycles_of(groups: &[(&str, &[&str])]) -> Vec<String> {
        let mut desired = Desired::new("dev");
        for (name, children) in groups {
            desired.add_group(group(name, children)).expect("unique");
        }
        cycles(&desired).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn group_children_cycles_are_found() {
        assert_eq!(
            cycles_of(&[("a", &["b"]), ("b", &["a"])]),
            ["group cycle: group.a -> group.b -> group.a"]
        );
        assert_eq!(
            cycles_of(&[("a", &["a"])]),
            ["group cycle: group.a -> group.a"]
        );
        assert_eq!(
            cycles_of(&[("all", &["web", "db"]), ("web", &["db"]), ("db", &["nope"])]),
            Vec::<String>::new()
        );
        assert_eq!(
            cycles_of(&[("x", &["y"]), ("y", &["z"]), ("z", &["y"])]),
            ["group cycle: group.y -> group.z -> group.y"]
        );
    }
}
