//! Values a script can put into `vars` and other free-form fields: plain data, plus values that
//! are only known after apply (placeholders such as a server's IP) and secrets.
//!
//! Placeholders and secrets survive string concatenation and interpolation in scripts: their
//! string form is a token between two private-use characters (`\u{E000}server.web-1.ip\u{E001}`)
//! which [`Value::from_script_string`] turns back into a [`Value::Template`]. The token never
//! reaches a user: every printer goes through [`Value::display`]. Depends on nothing.

use std::fmt::{self, Write as _};

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
const SECRET_PREFIX: &str = "secret:";

/// How a secret value is shown, everywhere.
pub const SENSITIVE: &str = "(sensitive)";
/// How a value known only after apply is shown in plans.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// A value that exists only once the cloud has created something, e.g. `server.web-1.ip`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placeholder {
    /// Kind of the resource (`server`, `network`, ...).
    pub kind: String,
    /// Name of the resource.
    pub name: String,
    /// Attribute (`ip`, `id`, `private_ip`, ...).
    pub attr: String,
}

impl Placeholder {
    /// A new placeholder.
    pub fn new(kind: &str, name: &str, attr: &str) -> Placeholder {
        Placeholder {
            kind: kind.to_owned(),
            name: name.to_owned(),
            attr: attr.to_owned(),
        }
    }

    /// The graph id of the resource it belongs to (`server.web-1`).
    pub fn node_id(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }

    /// The token that stands for this placeholder inside script strings.
    pub fn token(&self) -> String {
        format!("{OPEN}{}.{}.{}{CLOSE}", self.kind, self.name, self.attr)
    }

    fn parse(inner: &str) -> Option<Placeholder> {
        let (kind, rest) = inner.split_once('.')?;
        let (name, attr) = rest.rsplit_once('.')?;
        Some(Placeholder::new(kind, name, attr))
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.kind, self.name, self.attr)
    }
}

/// The token that stands for a secret read from environment variable `name`.
pub fn secret_token(name: &str) -> String {
    format!("{OPEN}{SECRET_PREFIX}{name}{CLOSE}")
}

/// One piece of a [`Value::Template`].
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A value known after apply.
    Ref(Placeholder),
    /// A secret, by the name of the environment variable that holds it.
    Secret(String),
}

/// A script value, converted from Rhai at the script boundary.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `()` in the script.
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
    /// A string with placeholders or secrets in it (or only one of them).
    Template(Vec<Part>),
}

/// How [`Value::display`] renders placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `${server.web-1.ip}`: says where the value comes from (graph, check).
    References,
    /// `(known after apply)`: Terraform's plan convention.
    Plan,
}

impl Value {
    /// Converts a string coming out of the script, turning embedded tokens into a template.
    pub fn from_script_string(s: &str) -> Value {
        if !s.contains(OPEN) {
            return Value::Str(s.to_owned());
        }
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len_utf8()..];
            let Some(end) = after.find(CLOSE) else { break };
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let inner = &after[..end];
            if let Some(name) = inner.strip_prefix(SECRET_PREFIX) {
                parts.push(Part::Secret(name.to_owned()));
            } else if let Some(p) = Placeholder::parse(inner) {
                parts.push(Part::Ref(p));
            }
            rest = &after[end + CLOSE.len_utf8()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Value::Template(parts)
    }

    /// All placeholders inside this value, in order.
    pub fn placeholders(&self) -> Vec<&Placeholder> {
        let mut out = Vec::new();
        self.visit(&mut |part| {
            if let Part::Ref(p) = part {
                out.push(p);
            }
        });
        out
    }

    /// Whether a secret is anywhere inside this value.
    pub fn has_secret(&self) -> bool {
        let mut found = false;
        self.visit(&mut |part| found |= matches!(part, Part::Secret(_)));
        found
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Part)) {
        match self {
            Value::Template(parts) => parts.iter().for_each(f),
            Value::List(items) => items.iter().for_each(|v| v.visit(f)),
            Value::Map(map) => map.values().for_each(|v| v.visit(f)),
            _ => {}
        }
    }

    /// The plain string, if this is a string without placeholders.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Renders the value for people; secrets always show as `(sensitive)`.
    pub fn display(&self, style: Style) -> String {
        let mut out = String::new();
        self.write(&mut out, style, true);
        out
    }

    fn write(&self, out: &mut String, style: Style, top: bool) {
        match self {
            Value::Null => out.push_str("()"),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(x) => {
                let _ = write!(out, "{x}");
            }
            Value::Str(s) if top => out.push_str(s),
            Value::Str(s) => {
                let _ = write!(out, "{s:?}");
            }
            Value::Template(parts) => write_template(parts, out, style, top),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, style, false);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push_str("#{");
                for (i, (k, v)) in map.iter().enumerate() {
                    out.push_str(if i > 0 { ", " } else { " " });
                    let _ = write!(out, "{k}: ");
                    v.write(out, style, false);
                }
                out.push_str(if map.is_empty() { "}" } else { " }" });
            }
        }
    }
}

fn write_template(parts: &[Part], out: &mut String, style: Style, top: bool) {
    if style == Style::Plan {
        let secret = parts.iter().any(|p| matches!(p, Part::Secret(_)));
        out.push_str(if secret { SENSITIVE } else { KNOWN_AFTER_APPLY });
        return;
    }
    let quoted = !top;
    if quoted {
        out.push('"');
    }
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Ref(p) => {
                let _ = write!(out, "${{{p}}}");
            }
            Part::Secret(_) => out.push_str(SENSITIVE),
        }
    }
    if quoted {
        out.push('"');
    }
}

/// JSON form: plain data as JSON; templates as strings with `${kind.name.attr}` references;
/// anything holding a secret as `"(sensitive)"`.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Template(_) => serializer.serialize_str(&self.display(Style::References)),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_become_templates() {
        let ip = Placeholder::new("server", "web-1", "ip");
        let s = format!("http://{}:8080/?k={}", ip.token(), secret_token("API_KEY"));
        let v = Value::from_script_string(&s);
        assert_eq!(v.placeholders(), vec![&ip]);
        assert!(v.has_secret());
        assert_eq!(
            v.display(Style::References),
            "http://${server.web-1.ip}:8080/?k=(sensitive)"
        );
        assert_eq!(v.display(Style::Plan), SENSITIVE);
        let only = Value::from_script_string(&ip.token());
        assert_eq!(only.display(Style::References), "${server.web-1.ip}");
        assert_eq!(only.display(Style::Plan), KNOWN_AFTER_APPLY);
        assert_eq!(
            serde_json::to_string(&only).expect("json"),
            "\"${server.web-1.ip}\""
        );
    }

    #[test]
    fn names_with_dots_keep_their_dots() {
        let p = Placeholder::new("dns_record", "www.example.com", "fqdn");
        assert_eq!(
            Value::from_script_string(&p.token()).placeholders(),
            vec![&p]
        );
    }

    #[test]
    fn plain_values_display() {
        let mut map = IndexMap::new();
        map.insert(
            "a".to_owned(),
            Value::List(vec![Value::Int(1), Value::Str("x".into())]),
        );
        assert_eq!(Value::Map(map).display(Style::Plan), "#{ a: [1, \"x\"] }");
    }
}
