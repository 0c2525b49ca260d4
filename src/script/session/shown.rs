//! Script values turned into [`Shown`], what the REPL displays, so that `rhai::Dynamic` does
//! not leave `script`; and the `declared()` summary map.

use indexmap::IndexMap;
use rhai::{Dynamic, Engine, Scope};

use crate::model::{Desired, Value};
use crate::script::api;

/// A script value as the REPL shows it. `rhai::Dynamic` does not leave `script`.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// `()`: nothing to show.
    Unit,
    /// Plain data, placeholders (`${server.web-1.ip}`) and secrets (`(sensitive)`).
    Value(Value),
    /// A declaration handle: `Server("web-1")`.
    Handle {
        type_name: String,
        name: String,
    },
    List(Vec<Shown>),
    Map(IndexMap<String, Shown>),
    /// Anything else (a function pointer, say), by its type and Rhai's text for it.
    Other {
        type_name: String,
        text: String,
    },
}

/// Converts a script value for display.
pub(super) fn show(engine: &Engine, value: &Dynamic) -> Shown {
    if value.is_unit() {
        return Shown::Unit;
    }
    if let Ok(b) = value.as_bool() {
        return Shown::Value(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Shown::Value(Value::Int(i));
    }
    if let Ok(f) = value.as_float() {
        return Shown::Value(Value::Float(f));
    }
    if value.is_string() || value.is_char() {
        return Shown::Value(Value::from_script_string(&value.to_string()));
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return Shown::List(array.iter().map(|v| show(engine, v)).collect());
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        return Shown::Map(
            map.iter()
                .map(|(k, v)| (k.to_string(), show(engine, v)))
                .collect(),
        );
    }
    let type_name = engine.map_type_name(value.type_name()).to_owned();
    if api::properties(&type_name).contains(&"name") {
        let mut scope = Scope::new();
        scope.push("value", value.clone());
        if let Ok(name) = engine.eval_with_scope::<String>(&mut scope, "value.name") {
            return Shown::Handle { type_name, name };
        }
    }
    Shown::Other {
        type_name,
        text: value.to_string(),
    }
}

/// `declared()` in the REPL: the names declared so far, by kind.
pub(super) fn summary(desired: &Desired) -> rhai::Map {
    let names = |names: Vec<&String>| -> Dynamic {
        Dynamic::from_array(
            names
                .into_iter()
                .map(|n| Dynamic::from(n.clone()))
                .collect(),
        )
    };
    let mut map = rhai::Map::new();
    map.insert("servers".into(), names(desired.servers.keys().collect()));
    map.insert("ssh_keys".into(), names(desired.ssh_keys.keys().collect()));
    map.insert("networks".into(), names(desired.networks.keys().collect()));
    map.insert("groups".into(), names(desired.groups.keys().collect()));
    map.insert(
        "playbooks".into(),
        names(desired.playbooks.iter().map(|p| &p.name).collect()),
    );
    map.insert(
        "dns_records".into(),
        names(desired.dns_records.iter().map(|r| &r.id).collect()),
    );
    map
}
