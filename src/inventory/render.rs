//! Inventory formats: YAML and INI for files, JSON for Ansible's dynamic-inventory protocol
//! (`--list`). Values are written as JSON, which is valid YAML flow syntax, so no YAML library is
//! needed and strings are always quoted safely.

use std::fmt::Write as _;

use serde_json::{json, Map, Value as Json};

use super::Inventory;

/// The YAML inventory (`all: hosts: ... children: ...`).
pub fn yaml(inv: &Inventory) -> String {
    let mut out = String::from("# Ansible inventory rendered by ict\nall:\n");
    if !inv.all_vars.is_empty() {
        out.push_str("  vars:\n");
        for (k, v) in &inv.all_vars {
            let _ = writeln!(out, "    {}: {}", key(k), v);
        }
    }
    if !inv.hosts.is_empty() {
        out.push_str("  hosts:\n");
        for host in &inv.hosts {
            let _ = writeln!(out, "    {}:", key(&host.name));
            for (k, v) in &host.vars {
                let _ = writeln!(out, "      {}: {}", key(k), v);
            }
        }
    }
    if !inv.groups.is_empty() {
        out.push_str("  children:\n");
        for group in &inv.groups {
            let _ = writeln!(out, "    {}:", key(&group.name));
            if !group.hosts.is_empty() {
                out.push_str("      hosts:\n");
                for h in &group.hosts {
                    let _ = writeln!(out, "        {}: {{}}", key(h));
                }
            }
            if !group.children.is_empty() {
                out.push_str("      children:\n");
                for c in &group.children {
                    let _ = writeln!(out, "        {}: {{}}", key(c));
                }
            }
            if !group.vars.is_empty() {
                out.push_str("      vars:\n");
                for (k, v) in &group.vars {
                    let _ = writeln!(out, "        {}: {}", key(k), v);
                }
            }
        }
    }
    out
}

/// The INI inventory.
pub fn ini(inv: &Inventory) -> String {
    let mut out = String::from("# Ansible inventory rendered by ict\n");
    for host in &inv.hosts {
        out.push_str(&host.name);
        for (k, v) in &host.vars {
            let _ = write!(out, " {k}={}", ini_value(v));
        }
        out.push('\n');
    }
    if !inv.all_vars.is_empty() {
        out.push_str("\n[all:vars]\n");
        for (k, v) in &inv.all_vars {
            let _ = writeln!(out, "{k}={}", ini_value(v));
        }
    }
    for group in &inv.groups {
        let _ = writeln!(out, "\n[{}]", group.name);
        for h in &group.hosts {
            let _ = writeln!(out, "{h}");
        }
        if !group.children.is_empty() {
            let _ = writeln!(out, "\n[{}:children]", group.name);
            for c in &group.children {
                let _ = writeln!(out, "{c}");
            }
        }
        if !group.vars.is_empty() {
            let _ = writeln!(out, "\n[{}:vars]", group.name);
            for (k, v) in &group.vars {
                let _ = writeln!(out, "{k}={}", ini_value(v));
            }
        }
    }
    out
}

/// `--list` output of the dynamic-inventory protocol, with `_meta.hostvars` so that Ansible
/// never calls `--host`.
pub fn list_json(inv: &Inventory) -> Json {
    let mut root = Map::new();
    let mut hostvars = Map::new();
    for host in &inv.hosts {
        hostvars.insert(
            host.name.clone(),
            Json::Object(host.vars.clone().into_iter().collect()),
        );
    }
    let grouped: Vec<&str> = inv
        .groups
        .iter()
        .flat_map(|g| g.hosts.iter().map(String::as_str))
        .collect();
    let ungrouped: Vec<&str> = inv
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .filter(|h| !grouped.contains(h))
        .collect();
    let mut all_children: Vec<&str> = vec!["ungrouped"];
    all_children.extend(inv.groups.iter().map(|g| g.name.as_str()));
    root.insert("_meta".into(), json!({ "hostvars": hostvars }));
    let all_vars: Map<String, Json> = inv.all_vars.clone().into_iter().collect();
    root.insert(
        "all".into(),
        json!({ "children": all_children, "vars": all_vars }),
    );
    root.insert("ungrouped".into(), json!({ "hosts": ungrouped }));
    for group in &inv.groups {
        let vars: Map<String, Json> = group.vars.clone().into_iter().collect();
        root.insert(
            group.name.clone(),
            json!({ "hosts": group.hosts, "children": group.children, "vars": vars }),
        );
    }
    Json::Object(root)
}

/// A YAML mapping key: bare when safe, JSON-quoted otherwise.
fn key(k: &str) -> String {
    let bare = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if bare {
        k.to_owned()
    } else {
        Json::String(k.to_owned()).to_string()
    }
}

/// An INI value: strings bare when they have no spaces or quotes, everything else as JSON.
fn ini_value(v: &Json) -> String {
    match v {
        Json::String(s) if !s.is_empty() && !s.contains([' ', '"', '\'', '=', '#', ';']) => {
            s.clone()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::super::{Group, Host, Inventory};
    use super::*;

    fn sample() -> Inventory {
        let mut vars = IndexMap::new();
        vars.insert("ansible_host".to_owned(), json!("127.1.0.10"));
        vars.insert("ansible_user".to_owned(), json!("root"));
        vars.insert("motd".to_owned(), json!("hello world"));
        let mut gvars = IndexMap::new();
        gvars.insert("http_port".to_owned(), json!(8080));
        Inventory {
            hosts: vec![
                Host {
                    name: "web-1".into(),
                    vars,
                },
                Host {
                    name: "lonely".into(),
                    vars: IndexMap::new(),
                },
            ],
            groups: vec![
                Group {
                    name: "web".into(),
                    hosts: vec!["web-1".into()],
                    children: vec![],
                    vars: gvars,
                },
                Group {
                    name: "prod".into(),
                    hosts: vec![],
                    children: vec!["web".into()],
                    vars: IndexMap::new(),
                },
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn yaml_shape() {
        let text = yaml(&sample());
        assert!(
            text.contains("  hosts:\n    web-1:\n      ansible_host: \"127.1.0.10\"\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    web:\n      hosts:\n        web-1: {}\n      vars:\n        http_port: 8080\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("    prod:\n      children:\n        web: {}\n"),
            "{text}"
        );
    }

    #[test]
    fn ini_shape() {
        let text = ini(&sample());
        assert!(
            text.contains("web-1 ansible_host=127.1.0.10 ansible_user=root motd=\"hello world\"\n"),
            "{text}"
        );
        assert!(
            text.contains("[web]\nweb-1\n\n[web:vars]\nhttp_port=8080\n"),
            "{text}"
        );
        assert!(text.contains("[prod:children]\nweb\n"), "{text}");
    }

    #[test]
    fn list_has_meta_and_ungrouped() {
        let list = list_json(&sample());
        assert_eq!(
            list["_meta"]["hostvars"]["web-1"]["ansible_host"],
            "127.1.0.10"
        );
        assert_eq!(list["ungrouped"]["hosts"], json!(["lonely"]));
        assert_eq!(list["prod"]["children"], json!(["web"]));
        assert_eq!(list["all"]["children"], json!(["ungrouped", "web", "prod"]));
    }
}
