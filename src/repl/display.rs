//! How the REPL shows values: maps as `#{ key: value }` (one field per line when long), arrays
//! of maps as aligned tables, handles as `Server("web-1")`, placeholders as
//! `${server.web-1.ip}`, secrets as `(sensitive)`. Pure: returns text, prints nothing.

use std::fmt::Write as _;

use crate::model::{Part, Style, Value};
use crate::script::session::Shown;

/// Widest single-line rendering before a map or list is spread over several lines.
const WIDTH: usize = 80;

/// The text the REPL prints for a value (empty for `()`).
pub fn show(value: &Shown) -> String {
    match value {
        Shown::Unit => String::new(),
        Shown::List(items) if is_table(items) => table(items),
        _ => pretty(value, 0),
    }
}

/// One line, no matter how long.
pub fn compact(value: &Shown) -> String {
    match value {
        Shown::Unit => "()".to_owned(),
        Shown::Value(v) => scalar(v),
        Shown::Handle { type_name, name } => format!("{type_name}({name:?})"),
        Shown::Other { type_name, text } if text == type_name => format!("<{type_name}>"),
        Shown::Other { text, .. } => text.clone(),
        Shown::List(items) => {
            let items: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", items.join(", "))
        }
        Shown::Map(map) if map.is_empty() => "#{}".to_owned(),
        Shown::Map(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), compact(v)))
                .collect();
            format!("#{{ {} }}", fields.join(", "))
        }
    }
}

fn pretty(value: &Shown, indent: usize) -> String {
    let one_line = compact(value);
    if one_line.len() + indent <= WIDTH {
        return one_line;
    }
    let pad = " ".repeat(indent + 4);
    let mut out = String::new();
    match value {
        Shown::List(items) => {
            out.push_str("[\n");
            for item in items {
                let _ = writeln!(out, "{pad}{},", pretty(item, indent + 4));
            }
            let _ = write!(out, "{}]", " ".repeat(indent));
        }
        Shown::Map(map) => {
            out.push_str("#{\n");
            for (k, v) in map {
                let _ = writeln!(out, "{pad}{}: {},", key(k), pretty(v, indent + 4));
            }
            let _ = write!(out, "{}}}", " ".repeat(indent));
        }
        _ => out = one_line,
    }
    out
}

/// Strings quoted; a value that is only a placeholder or a secret as is.
fn scalar(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("{s:?}"),
        Value::Template(parts) if parts.len() == 1 && !matches!(parts[0], Part::Text(_)) => {
            value.display(Style::References)
        }
        Value::Template(_) => format!("\"{}\"", value.display(Style::References)),
        other => other.display(Style::References),
    }
}

fn key(k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_alphanumeric() || c == '_');
    if plain {
        k.to_owned()
    } else {
        format!("{k:?}")
    }
}

fn is_table(items: &[Shown]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| matches!(i, Shown::Map(m) if !m.is_empty()))
}

/// Columns are every key, in order of first appearance (but `id` and `name` first, as script
/// maps keep their keys sorted); missing cells and `()` stay empty.
fn table(rows: &[Shown]) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        if let Shown::Map(map) = row {
            for k in map.keys() {
                if !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
    }
    columns.sort_by_key(|c| match *c {
        "id" => 0,
        "name" => 1,
        _ => 2,
    });
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match row {
                    Shown::Map(map) => map.get(*c).map(cell).unwrap_or_default(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    for row in std::iter::once(&header).chain(cells.iter()) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(text, width)| format!("{text:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out.pop();
    out
}

/// A table cell: strings without quotes.
fn cell(value: &Shown) -> String {
    match value {
        Shown::Unit => String::new(),
        Shown::Value(Value::Str(s)) => s.clone(),
        Shown::Value(v @ Value::Template(_)) => v.display(Style::References),
        other => compact(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{secret_token, Placeholder};
    use indexmap::IndexMap;

    fn map(fields: &[(&str, Shown)]) -> Shown {
        Shown::Map(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<IndexMap<_, _>>(),
        )
    }

    fn int(i: i64) -> Shown {
        Shown::Value(Value::Int(i))
    }

    fn text(s: &str) -> Shown {
        Shown::Value(Value::from_script_string(s))
    }

    #[test]
    fn scalars_handles_placeholders_and_secrets() {
        let ip = Placeholder::new("server", "web-1", "ip").token();
        let cases = [
            (Shown::Unit, ""),
            (int(3), "3"),
            (text("hi"), "\"hi\""),
            (text(&ip), "${server.web-1.ip}"),
            (
                text(&format!("http://{ip}/")),
                "\"http://${server.web-1.ip}/\"",
            ),
            (text(&secret_token("PW")), "(sensitive)"),
            (
                Shown::Handle {
                    type_name: "Server".into(),
                    name: "web-1".into(),
                },
                "Server(\"web-1\")",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(show(&value), expected);
        }
    }

    #[test]
    fn short_maps_stay_on_one_line_and_long_ones_spread() {
        assert_eq!(
            show(&map(&[("cpu", int(2)), ("my-key", text("x"))])),
            "#{ cpu: 2, \"my-key\": \"x\" }"
        );
        let long = map(&[
            ("description", text(&"x".repeat(60))),
            ("nested", map(&[("a", int(1))])),
        ]);
        assert_eq!(
            show(&long),
            format!(
                "#{{\n    description: \"{}\",\n    nested: #{{ a: 1 }},\n}}",
                "x".repeat(60)
            )
        );
    }

    #[test]
    fn arrays_of_maps_are_tables() {
        let rows = Shown::List(vec![
            map(&[("name", text("web-1")), ("cpu", int(2))]),
            map(&[("name", text("db")), ("ram", int(4096))]),
        ]);
        assert_eq!(show(&rows), "name   cpu  ram\nweb-1  2\ndb          4096");
        let rows = Shown::List(vec![
            map(&[
                ("cpu", int(2)),
                ("id", int(7)),
                ("ip", Shown::Unit),
                ("name", text("a")),
            ]),
            map(&[
                ("cpu", int(1)),
                ("id", int(8)),
                ("ip", text("10.0.0.8")),
                ("name", text("b")),
            ]),
        ]);
        assert_eq!(
            show(&rows),
            "id  name  cpu  ip\n7   a     2\n8   b     1    10.0.0.8"
        );
    }
}
