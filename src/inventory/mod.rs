//! The Ansible inventory, built from the desired model and the values known after apply.
//!
//! [`Inventory::build`] resolves placeholders (a server's IP) through a caller-given function
//! and splits variables in two: plain ones, which go into the inventory, and those holding a
//! secret, which never do — they are resolved and written by the caller into 0600
//! `host_vars/`/`group_vars/` files next to a temporary inventory (see [`Inventory::secret_vars`]).
//! Rendering (YAML, INI, the dynamic-inventory JSON of `--list`/`--host`) is pure and ordered:
//! hosts and groups in declaration order. May depend on `model`.

mod render;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::model::{Desired, Part, Placeholder, Value};

pub use render::{ini, list_json, yaml};

/// Secret variables per (scope, owner), resolved: what goes into 0600 `host_vars`/`group_vars`.
pub type ResolvedSecrets = Vec<(Scope, String, IndexMap<String, Json>)>;

/// One host of the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    /// Plain variables, `ansible_host` and `ansible_user` first.
    pub vars: IndexMap<String, Json>,
}

/// One group: member hosts, child groups and plain variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: IndexMap<String, Json>,
}

/// A variable whose value holds a secret: where it belongs and how to build it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretVar {
    /// `host` or `group`.
    pub scope: Scope,
    pub owner: String,
    pub name: String,
    /// The value, with secrets still as names; resolve with [`Inventory::resolve_secrets`].
    pub value: Value,
}

/// Whether a secret variable belongs to a host or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Host,
    Group,
}

/// An Ansible inventory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inventory {
    /// Variables for every host (`all: vars:`), e.g. ict's SSH settings.
    pub all_vars: IndexMap<String, Json>,
    pub hosts: Vec<Host>,
    pub groups: Vec<Group>,
    pub secret_vars: Vec<SecretVar>,
    /// Placeholders that had no value yet (servers not created), rendered as null.
    pub unresolved: Vec<Placeholder>,
}

impl Inventory {
    /// Builds the inventory; `resolve` gives the value of a placeholder such as
    /// `server.web-1.ip`, or `None` when it is not known yet.
    pub fn build(desired: &Desired, resolve: &dyn Fn(&Placeholder) -> Option<String>) -> Inventory {
        let mut inv = Inventory::default();
        for server in desired.servers.values() {
            let mut vars = IndexMap::new();
            let ip = Placeholder::new("server", &server.name, "ip");
            let host = resolve(&ip).map_or_else(
                || {
                    inv.unresolved.push(ip);
                    Json::Null
                },
                Json::String,
            );
            vars.insert("ansible_host".to_owned(), host);
            vars.insert("ansible_user".to_owned(), Json::String(server.user.clone()));
            for (name, value) in &server.vars {
                inv.add_var(&mut vars, Scope::Host, &server.name, name, value, resolve);
            }
            inv.hosts.push(Host {
                name: server.name.clone(),
                vars,
            });
        }
        for group in desired.groups.values() {
            let hosts = desired
                .servers
                .values()
                .filter(|s| s.groups.iter().any(|g| g.name == group.name))
                .map(|s| s.name.clone())
                .collect();
            let mut vars = IndexMap::new();
            for (name, value) in &group.vars {
                inv.add_var(&mut vars, Scope::Group, &group.name, name, value, resolve);
            }
            let children = group.children.iter().map(|c| c.name.clone()).collect();
            inv.groups.push(Group {
                name: group.name.clone(),
                hosts,
                children,
                vars,
            });
        }
        inv
    }

    fn add_var(
        &mut self,
        vars: &mut IndexMap<String, Json>,
        scope: Scope,
        owner: &str,
        name: &str,
        value: &Value,
        resolve: &dyn Fn(&Placeholder) -> Option<String>,
    ) {
        if value.has_secret() {
            self.secret_vars.push(SecretVar {
                scope,
                owner: owner.to_owned(),
                name: name.to_owned(),
                value: value.clone(),
            });
        } else {
            vars.insert(
                name.to_owned(),
                to_json(value, resolve, &mut self.unresolved),
            );
        }
    }

    /// The variables of host `name`, as `ansible-inventory --host` shows them.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Secret variables with their values read by `secret` (from the environment) and
    /// placeholders resolved, grouped by (scope, owner). `Err` names a secret that is not set.
    pub fn resolve_secrets(
        &self,
        secret: &dyn Fn(&str) -> Option<String>,
        resolve: &dyn Fn(&Placeholder) -> Option<String>,
    ) -> Result<ResolvedSecrets, String> {
        let mut out: ResolvedSecrets = Vec::new();
        for var in &self.secret_vars {
            let value = resolve_value(&var.value, secret, resolve)?;
            if let Some((_, _, vars)) = out
                .iter_mut()
                .find(|(s, o, _)| *s == var.scope && *o == var.owner)
            {
                vars.insert(var.name.clone(), value);
            } else {
                let mut vars = IndexMap::new();
                vars.insert(var.name.clone(), value);
                out.push((var.scope, var.owner.clone(), vars));
            }
        }
        Ok(out)
    }
}

/// Converts a model value to JSON, resolving placeholders (unknown ones become null).
fn to_json(
    value: &Value,
    resolve: &dyn Fn(&Placeholder) -> Option<String>,
    unresolved: &mut Vec<Placeholder>,
) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| to_json(v, resolve, unresolved))
                .collect(),
        ),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_json(v, resolve, unresolved)))
                .collect(),
        ),
        Value::Template(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    Part::Text(t) => text.push_str(t),
                    Part::Ref(p) => {
                        if let Some(v) = resolve(p) {
                            text.push_str(&v);
                        } else {
                            unresolved.push(p.clone());
                            return Json::Null;
                        }
                    }
                    // Values with secrets never get here (see `add_var`).
                    Part::Secret(_) => return Json::Null,
                }
            }
            Json::String(text)
        }
    }
}

/// A value with secrets read by `secret` and placeholders resolved (`Err` names a missing secret).
pub fn resolve_value(
    value: &Value,
    secret: &dyn Fn(&str) -> Option<String>,
    resolve: &dyn Fn(&Placeholder) -> Option<String>,
) -> Result<Json, String> {
    Ok(match value {
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| resolve_value(v, secret, resolve))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| resolve_value(v, secret, resolve).map(|v| (k.clone(), v)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Template(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    Part::Text(t) => text.push_str(t),
                    Part::Ref(p) => text.push_str(&resolve(p).unwrap_or_default()),
                    Part::Secret(name) => text.push_str(&secret(name).ok_or_else(|| name.clone())?),
                }
            }
            Json::String(text)
        }
        other => to_json(other, resolve, &mut Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(script: &str) -> Desired {
        std::env::set_var("ICT_INVENTORY_TEST_SECRET", "s3cret");
        crate::script::evaluate_text(script).expect("valid script")
    }

    #[test]
    fn placeholders_resolve_and_secrets_stay_out() {
        let d = desired(
            r#"let db = server("db-1", #{ groups: [group("db")] });
               server("web-1", #{ vars: #{ db: db.ip, url: `http://${db.ip}:5432`, pw: secret("ICT_INVENTORY_TEST_SECRET"), later: db.private_ip } });"#,
        );
        let resolve =
            |p: &Placeholder| (p.attr == "ip").then(|| format!("127.1.0.{}", p.name.len()));
        let inv = Inventory::build(&d, &resolve);
        let web = inv.host("web-1").expect("host");
        assert_eq!(web.vars["ansible_host"], "127.1.0.5");
        assert_eq!(web.vars["db"], "127.1.0.4");
        assert_eq!(web.vars["url"], "http://127.1.0.4:5432");
        assert_eq!(web.vars["later"], Json::Null);
        assert!(!web.vars.contains_key("pw"));
        assert_eq!(
            inv.unresolved,
            vec![Placeholder::new("server", "db-1", "private_ip")]
        );
        assert!(!yaml(&inv).contains("s3cret") && !ini(&inv).contains("s3cret"));
        let secrets = inv
            .resolve_secrets(&|n| std::env::var(n).ok(), &resolve)
            .expect("secret is set");
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].1, "web-1");
        assert_eq!(secrets[0].2["pw"], "s3cret");
        assert_eq!(
            inv.resolve_secrets(&|_| None, &resolve).err().as_deref(),
            Some("ICT_INVENTORY_TEST_SECRET")
        );
        assert_eq!(inv.groups[0].hosts, ["db-1"]);
    }
}
